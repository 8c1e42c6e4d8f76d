// SPDX-License-Identifier: GPL-2.0
/*
 * upin_bench_dma: the benchmark's peer for mapping a pinned region for a
 * device (tools/bench/upin-bench, "dma" rows). Never installed.
 *
 * It is also the smallest out-of-tree consumer of upin's in-kernel API:
 * built on its own (make -C KDIR M=tools/bench) with
 * KBUILD_EXTRA_SYMBOLS=<upin's build>/Module.symvers, so that modpost
 * knows upin's exports, and MODULE_IMPORT_NS(UPIN_NS).
 *
 * Both ways map the same pages for the same device and unmap them, timed
 * with ktime around the mapping alone (the pinning is the same GUP for
 * both and is not counted):
 *
 *   upin   upin_dma_map() + upin_dma_unmap(): a scatterlist built from the
 *          region's runs
 *   umem   what ib_umem_get() does after pinning: a page array,
 *          sg_alloc_table_from_pages_segment() capped at the device's
 *          segment size, dma_map_sgtable(); then dma_unmap_sgtable() and
 *          sg_free_table()
 *
 * The device is a root device of the module's own with a 64-bit mask, no
 * IOMMU (dma-direct) and no limit on segments but a scatterlist entry's
 * (UINT_MAX, as RDMA devices set): a THP is one entry either way.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/upin.h>
#include <linux/upin_dma.h>

#include "upin_bench_dma.h"

static struct device *upin_bench_dev;
static struct device_dma_parameters upin_bench_dma_parms;

static int upin_bench_dma_upin(struct upin_bench_dma *arg)
{
	struct upin_kregion *region;
	struct upin_dma *map;
	ktime_t t;

	region = upin_region_get_fd(arg->upin_fd, arg->handle);
	if (IS_ERR(region))
		return PTR_ERR(region);
	t = ktime_get();
	map = upin_dma_map(region, upin_bench_dev, 0);
	if (!IS_ERR(map)) {
		arg->entries = map->sgt.orig_nents;
		arg->segments = map->sgt.nents;
		upin_dma_unmap(map);
	}
	arg->ns = ktime_to_ns(ktime_sub(ktime_get(), t));
	upin_region_put(region);
	return PTR_ERR_OR_ZERO(map);
}

static int upin_bench_dma_umem(struct upin_bench_dma *arg)
{
	unsigned long npages = arg->length >> PAGE_SHIFT;
	struct device *dev = upin_bench_dev;
	struct sg_table sgt;
	struct page **pages;
	long pinned;
	ktime_t t;
	int ret;

	if (!npages || !PAGE_ALIGNED(arg->addr | arg->length) ||
	    npages > INT_MAX)
		return -EINVAL;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	pinned = pin_user_pages_fast(arg->addr, npages,
				     FOLL_WRITE | FOLL_LONGTERM, pages);
	if (pinned != npages) {
		ret = pinned < 0 ? pinned : -EFAULT;
		goto out;
	}

	t = ktime_get();
	ret = sg_alloc_table_from_pages_segment(&sgt, pages, npages, 0,
						arg->length,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		goto out;
	ret = dma_map_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	if (!ret) {
		arg->entries = sgt.orig_nents;
		arg->segments = sgt.nents;
		dma_unmap_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	}
	sg_free_table(&sgt);
	arg->ns = ktime_to_ns(ktime_sub(ktime_get(), t));
out:
	if (pinned > 0)
		unpin_user_pages_dirty_lock(pages, pinned, true);
	kvfree(pages);
	return ret;
}

static long upin_bench_dma_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long uarg)
{
	void __user *ubuf = (void __user *)uarg;
	struct upin_bench_dma arg;
	int ret;

	if (cmd != UPIN_BENCH_DMA_MAP_UNMAP)
		return -ENOTTY;
	if (copy_from_user(&arg, ubuf, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~UPIN_BENCH_DMA_UMEM)
		return -EOPNOTSUPP;
	if (arg.flags & UPIN_BENCH_DMA_UMEM)
		ret = upin_bench_dma_umem(&arg);
	else
		ret = upin_bench_dma_upin(&arg);
	if (!ret && copy_to_user(ubuf, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations upin_bench_dma_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = upin_bench_dma_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice upin_bench_dma_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "upin_bench_dma",
	.fops = &upin_bench_dma_fops,
	.mode = 0600,
};

static int __init upin_bench_dma_init(void)
{
	int ret;

	upin_bench_dev = root_device_register("upin_bench_dma");
	if (IS_ERR(upin_bench_dev))
		return PTR_ERR(upin_bench_dev);
	upin_bench_dev->dma_mask = &upin_bench_dev->coherent_dma_mask;
	/* Segments as long as a scatterlist entry, as RDMA devices take. */
	upin_bench_dev->dma_parms = &upin_bench_dma_parms;
	dma_set_max_seg_size(upin_bench_dev, UINT_MAX);
	ret = dma_set_mask_and_coherent(upin_bench_dev, DMA_BIT_MASK(64));
	if (!ret)
		ret = misc_register(&upin_bench_dma_misc);
	if (ret)
		root_device_unregister(upin_bench_dev);
	return ret;
}

static void __exit upin_bench_dma_exit(void)
{
	misc_deregister(&upin_bench_dma_misc);
	root_device_unregister(upin_bench_dev);
}

module_init(upin_bench_dma_init);
module_exit(upin_bench_dma_exit);

MODULE_IMPORT_NS(UPIN_NS);
MODULE_DESCRIPTION("upin benchmark peer: DMA-mapping a region the ib_umem way");
MODULE_LICENSE("GPL");

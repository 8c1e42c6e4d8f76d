// SPDX-License-Identifier: GPL-2.0
/*
 * upin_bench_raw: the peer upin is measured against in tools/bench. A misc
 * device, /dev/upin_bench_raw, whose single command pins a user range with
 * pin_user_pages_fast() into a page array and unpins it again: what any
 * driver has to do at least, with no accounting, no handle and no storage
 * beyond the array. For benchmarks only; never installed.
 */
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/upin.h>

#include "upin_bench_raw.h"

static int upin_bench_raw_run(struct upin_bench_raw *arg)
{
	unsigned long npages = arg->length >> PAGE_SHIFT, done = 0;
	unsigned int gup_flags = 0;
	struct page **pages;
	int ret = 0;

	if (!npages || offset_in_page(arg->addr | arg->length) ||
	    npages > INT_MAX || arg->__reserved ||
	    arg->flags & ~(UPIN_PIN_WRITE | UPIN_PIN_LONGTERM))
		return -EINVAL;
	if (arg->flags & UPIN_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (arg->flags & UPIN_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	while (done < npages) {
		ret = pin_user_pages_fast(arg->addr + (done << PAGE_SHIFT),
					  npages - done, gup_flags,
					  pages + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			break;
		}
		done += ret;
		ret = 0;
	}
	unpin_user_pages_dirty_lock(pages, done, arg->flags & UPIN_PIN_WRITE);
	kvfree(pages);
	return ret;
}

static long upin_bench_raw_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long arg)
{
	struct upin_bench_raw raw;

	if (cmd != UPIN_BENCH_RAW_PIN_UNPIN)
		return -ENOTTY;
	if (copy_from_user(&raw, (void __user *)arg, sizeof(raw)))
		return -EFAULT;
	return upin_bench_raw_run(&raw);
}

static const struct file_operations upin_bench_raw_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = upin_bench_raw_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice upin_bench_raw_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "upin_bench_raw",
	.fops = &upin_bench_raw_fops,
	.mode = 0600,
};
module_misc_device(upin_bench_raw_misc);

MODULE_DESCRIPTION("Raw pin_user_pages_fast() peer for the upin benchmark");
MODULE_LICENSE("GPL");

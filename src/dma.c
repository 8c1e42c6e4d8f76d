// SPDX-License-Identifier: GPL-2.0
/*
 * upin for drivers: a region mapped for a device (include/linux/upin_dma.h).
 *
 * This is the half of the pinning pattern that happens in the driver that
 * owns the device. The pages are already pinned, FOLL_LONGTERM, and
 * charged; what is left is what ib_umem_get() and iommufd do next:
 *
 *  - a scatterlist of the pinned runs, capped at what the device takes in
 *    one segment: dma_get_max_seg_size(), and dma_max_mapping_size(),
 *    which is swiotlb's slot limit when the device may need bounce
 *    buffers (a DMA mask below the memory, or swiotlb=force); and split
 *    at the device's segment boundary (dma_get_seg_boundary(), 4 GiB for
 *    PCI), which ib_umem learnt the hard way;
 *  - dma_map_sgtable() in the direction the pin allows: a read-only pin is
 *    DMA_TO_DEVICE, so an IOMMU refuses the device's writes;
 *  - syncs around every transfer: without an IOMMU or cache coherence,
 *    or with bounce buffers, the device and the CPU see the same bytes
 *    only across dma_sync_*_for_device() and _for_cpu();
 *  - dma_unmap_sgtable(), then the region's reference goes, and with the
 *    last one the pages are unpinned, dirtied if the pin was writable.
 *
 * A mapping holds a reference on the region, which holds one on its
 * context, which holds the mm and the user that were charged: the pages
 * stay pinned and charged until the mapping goes, whether the process
 * unpinned, closed the file or exited first. A mapping also holds a
 * reference on the struct device; the driver must unmap in remove().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "upin_private.h"

/* The longest scatterlist entry @dev takes, in bytes. */
static size_t upin_dma_max_seg(struct device *dev)
{
	size_t max = dma_get_max_seg_size(dev);

	return min(max, dma_max_mapping_size(dev));
}

/**
 * upin_dma_map() - map a region for a device
 * @region: a region from upin_region_get() or upin_region_get_fd()
 * @dev: the device that will read (and, for a writable region, write) it
 * @attrs: DMA_ATTR_* for dma_map_sgtable(), usually 0
 *
 * Builds the scatterlist from the region's runs and maps it in the
 * direction its pin allows. The mapping takes its own reference on
 * @region (the caller may put its own at once) and on @dev.
 *
 * Context: process context, may sleep.
 * Return: the mapping, or ERR_PTR(-ENOMEM), -EINVAL (a device whose
 * segments or segment boundary are smaller than a page), or the error of
 * dma_map_sgtable() (-EIO: the device cannot reach the pages, e.g. no
 * IOMMU and no bounce buffer below its DMA mask).
 */
struct upin_dma *upin_dma_map(struct upin_kregion *region, struct device *dev,
			      unsigned long attrs)
{
	struct upin_dma *map;
	int ret;

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	map->dir = region->flags & UPIN_PIN_WRITE ? DMA_BIDIRECTIONAL :
		   DMA_TO_DEVICE;
	map->length = region->length;
	map->offset = offset_in_page(region->addr);
	map->attrs = attrs;

	ret = upin_region_sg_table(region, &map->sgt, upin_dma_max_seg(dev),
				   dma_get_seg_boundary(dev));
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(dev, &map->sgt, map->dir, attrs);
	if (ret) {
		dev_dbg(dev, "upin: mapping %u entries: %d\n",
			map->sgt.orig_nents, ret);
		goto err_table;
	}
	refcount_inc(&region->users);
	map->region = region;
	map->dev = get_device(dev);
	return map;

err_table:
	sg_free_table(&map->sgt);
err_free:
	kfree(map);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(upin_dma_map, UPIN_NS);

/**
 * upin_dma_unmap() - unmap a region from its device and free the mapping
 * @map: the mapping, or NULL
 *
 * Drops the mapping's references: the device's, and the region's, which
 * unpins the pages if the process has already let go of them.
 *
 * Context: process context, may sleep. Never fails.
 */
void upin_dma_unmap(struct upin_dma *map)
{
	if (!map)
		return;
	dma_unmap_sgtable(map->dev, &map->sgt, map->dir, map->attrs);
	sg_free_table(&map->sgt);
	put_device(map->dev);
	upin_region_put(map->region);
	kfree(map);
}
EXPORT_SYMBOL_NS_GPL(upin_dma_unmap, UPIN_NS);

/**
 * upin_dma_sync_for_device() - give the pages to the device
 * @map: the mapping
 *
 * Call before the device reads what the CPU wrote, and before it writes:
 * with bounce buffers this copies the pages into them (a later
 * upin_dma_sync_for_cpu() copies all of them back, so they must hold the
 * CPU's latest data first).
 *
 * The sync covers the whole mapping, as the DMA API requires of a
 * scatterlist (dma_sync_sg_*() take the entries that were mapped, all of
 * them). So with bounce buffers, what the CPU writes into the region
 * between this call and upin_dma_sync_for_cpu() is overwritten by the
 * copy back: the region belongs to the device in between. A driver whose
 * process keeps writing one part of a buffer while the device writes
 * another pins and maps the parts as regions of their own.
 */
void upin_dma_sync_for_device(struct upin_dma *map)
{
	dma_sync_sgtable_for_device(map->dev, &map->sgt, map->dir);
}
EXPORT_SYMBOL_NS_GPL(upin_dma_sync_for_device, UPIN_NS);

/**
 * upin_dma_sync_for_cpu() - give the pages back to the CPU
 * @map: the mapping
 *
 * Call after the device wrote, before the CPU (or the process) reads.
 */
void upin_dma_sync_for_cpu(struct upin_dma *map)
{
	dma_sync_sgtable_for_cpu(map->dev, &map->sgt, map->dir);
}
EXPORT_SYMBOL_NS_GPL(upin_dma_sync_for_cpu, UPIN_NS);

/**
 * upin_dma_addr() - the device address of a byte of the region
 * @map: the mapping
 * @offset: bytes from the start of the region as pinned (&upin_pin.addr)
 * @addr: out, the DMA address of that byte
 * @len: out, bytes from there that are contiguous for the device (to the
 *       end of the DMA segment, at most to the end of the region)
 *
 * A transfer of more than @len bytes continues at upin_dma_addr() of
 * @offset + @len.
 *
 * Return: 0, or -EINVAL when @offset is not within the region.
 */
int upin_dma_addr(const struct upin_dma *map, u64 offset, dma_addr_t *addr,
		  u64 *len)
{
	u64 pos = map->offset + offset, left = map->length - offset;
	struct scatterlist *sg;
	unsigned int i;

	if (offset >= map->length)
		return -EINVAL;
	/* pos: the byte's offset in the mapping, then in the segment. */
	for_each_sgtable_dma_sg(&map->sgt, sg, i) {
		u64 seg = sg_dma_len(sg);

		if (pos < seg) {
			*addr = sg_dma_address(sg) + pos;
			*len = min(seg - pos, left);
			return 0;
		}
		pos -= seg;
	}
	return -EINVAL;
}
EXPORT_SYMBOL_NS_GPL(upin_dma_addr, UPIN_NS);

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin for drivers: take a region that a process pinned through /dev/upin
 * and map it for a device, the way an RDMA driver uses ib_umem_get().
 *
 * The pattern, for a driver whose ioctl receives (upin fd, handle):
 *
 *	region = upin_region_get_fd(fd, handle);	// a reference
 *	map = upin_dma_map(region, &pdev->dev, 0);	// holds its own
 *	upin_region_put(region);
 *	...
 *	upin_dma_sync_for_device(map);	// before the device reads or writes
 *	... program the device with upin_dma_addr(map, offset, ...) ...
 *	upin_dma_sync_for_cpu(map);	// after it wrote, before the CPU reads
 *	...
 *	upin_dma_unmap(map);		// in release, and in remove()
 *
 * Lifetime. A region is refcounted. The process's context holds one
 * reference until UPIN_IOC_UNPIN or the last close() of its file (or exit);
 * upin_region_get_fd() and every mapping hold one more. The pages stay
 * pinned, and charged to the mm and user that pinned them (VmPin,
 * RLIMIT_MEMLOCK, the module-wide count), until the last reference is
 * gone, whatever the order: UNPIN or close() while a device maps the
 * region removes the handle at once (LIST, QUERY and GET_INFO's
 * nr_regions and pinned_pages no longer see it) and the pages go when the
 * driver unmaps; a driver that unmaps first leaves the region to its
 * process. Unpinning never fails and never looks at current, so the last
 * put may come from any context that may sleep: a release(), a remove()
 * at unbind, a workqueue. A driver must unmap every mapping of a device in
 * its remove(): after that the struct device may go.
 *
 * Direction. A mapping follows the pin: a region pinned with
 * UPIN_PIN_WRITE is mapped DMA_BIDIRECTIONAL, a read-only one
 * DMA_TO_DEVICE only, so that behind an IOMMU the device cannot write
 * pages the process only lent for reading. The pages of a writable region
 * are marked dirty when they are unpinned, so what the device wrote
 * reaches a file's page cache (shmem, memfd) and is not lost.
 *
 * Ownership. Between upin_dma_sync_for_device() and upin_dma_sync_for_cpu()
 * the whole region belongs to the device: with bounce buffers (swiotlb),
 * the CPU's writes to it in between are lost. Mapping the same pages for
 * one device twice at once (the same region twice, or overlapping regions)
 * is what the DMA API does not support for writable mappings
 * (CONFIG_DMA_API_DEBUG says "overlapping mappings aren't supported"):
 * map a region once per device.
 *
 * Cost. The scatterlist is built from the region's runs of physically
 * contiguous pages, with no page array: one entry (32 bytes on x86-64)
 * per run, split where a run is longer than the device takes in one
 * segment (dma_get_max_seg_size(), and dma_max_mapping_size() when
 * swiotlb may bounce) or crosses its segment boundary
 * (dma_get_seg_boundary()). A THP or hugetlb folio is one entry, scattered
 * 4 KiB pages one each; entries come in page-sized chunks
 * (sg_alloc_table()). An IOMMU may merge entries into fewer DMA segments
 * (&upin_dma.sgt's nents).
 *
 * Building against upin: Module.symvers of the upin build must be known
 * to the consumer's build (KBUILD_EXTRA_SYMBOLS=/path/to/upin/Module.symvers
 * on the make command line, or in the consumer's Kbuild), and the consumer
 * imports the namespace: MODULE_IMPORT_NS(UPIN_NS).
 */
#ifndef _LINUX_UPIN_DMA_H
#define _LINUX_UPIN_DMA_H

#include <linux/dma-direction.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <linux/version.h>

struct device;
struct file;
struct upin_kregion;

/*
 * The symbol namespace of upin's exports. Linux 6.13 made namespaces
 * string literals; before, they were bare words the macros stringify. (No
 * distribution backports that change: it touched every namespace user.)
 */
#if KERNEL_VERSION(6, 13, 0) <= LINUX_VERSION_CODE
#define UPIN_NS "UPIN"
#else
#define UPIN_NS UPIN
#endif

/**
 * struct upin_dma - a region mapped for a device
 * @sgt: the scatterlist: orig_nents CPU entries, nents DMA segments once
 *       mapped; walk the DMA side with for_each_sgtable_dma_sg()
 * @dev: the device it is mapped for (a reference is held)
 * @dir: DMA_BIDIRECTIONAL for a region pinned with UPIN_PIN_WRITE,
 *       DMA_TO_DEVICE for a read-only one
 * @length: bytes of the region, as pinned (&upin_pin.length)
 * @offset: offset of the region's first byte in the first page of @sgt:
 *          byte @i of the region is byte @offset + @i of the mapping
 * @region: private: the region, referenced
 * @attrs: private: the DMA_ATTR_* it was mapped with
 *
 * Create with upin_dma_map(), free with upin_dma_unmap(). The members
 * above @region are for the driver to read, never to change.
 */
struct upin_dma {
	struct sg_table sgt;
	struct device *dev;
	enum dma_data_direction dir;
	u64 length;
	unsigned int offset;
	struct upin_kregion *region;
	unsigned long attrs;
};

struct upin_kregion *upin_region_get_fd(int fd, u64 handle);
struct upin_kregion *upin_region_get(struct file *file, u64 handle);
void upin_region_put(struct upin_kregion *region);

struct upin_dma *upin_dma_map(struct upin_kregion *region, struct device *dev,
			      unsigned long attrs);
void upin_dma_unmap(struct upin_dma *map);
void upin_dma_sync_for_device(struct upin_dma *map);
void upin_dma_sync_for_cpu(struct upin_dma *map);
int upin_dma_addr(const struct upin_dma *map, u64 offset, dma_addr_t *addr,
		  u64 *len);

#endif /* _LINUX_UPIN_DMA_H */

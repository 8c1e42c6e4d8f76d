/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The one command of the bench-only module upin_bench_dma (never
 * installed): what mapping a pinned region for a device costs through
 * upin's in-kernel API, against the way ib_umem_get() does it, timed in
 * the kernel around the mapping alone.
 */
#ifndef _UPIN_BENCH_DMA_H
#define _UPIN_BENCH_DMA_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * enum upin_bench_dma_flags - flags of &upin_bench_dma.flags
 * @UPIN_BENCH_DMA_UMEM: the ib_umem way: pin [@addr, @addr + @length) into
 *                       a page array (not timed), then time
 *                       sg_alloc_table_from_pages_segment(),
 *                       dma_map_sgtable(), dma_unmap_sgtable() and
 *                       sg_free_table(); without it, time upin_dma_map()
 *                       and upin_dma_unmap() of the region @handle of
 *                       @upin_fd
 */
enum upin_bench_dma_flags {
	UPIN_BENCH_DMA_UMEM = 1 << 0,
};

/**
 * struct upin_bench_dma - ioctl(UPIN_BENCH_DMA_MAP_UNMAP)
 * @upin_fd: in, a /dev/upin file of the caller (upin's way)
 * @flags: in, UPIN_BENCH_DMA_* bits
 * @handle: in, a region of @upin_fd, pinned writable (upin's way)
 * @addr: in, the same range's start, page aligned (the ib_umem way)
 * @length: in, its bytes, a multiple of the page size (the ib_umem way)
 * @ns: out, nanoseconds the mapping and unmapping took
 * @entries: out, scatterlist entries of the mapping (orig_nents)
 * @segments: out, DMA segments of the mapping (nents)
 *
 * The device is one of the module's own, with a 64-bit DMA mask, no
 * IOMMU (dma-direct, so that the time is the driver's work: building the
 * scatterlist, walking it, not an IOMMU's) and segments up to UINT_MAX.
 */
struct upin_bench_dma {
	__s32 upin_fd;
	__u32 flags;
	__aligned_u64 handle;
	__aligned_u64 addr;
	__aligned_u64 length;
	__aligned_u64 ns;
	__u32 entries;
	__u32 segments;
};

#define UPIN_BENCH_DMA_MAP_UNMAP _IOWR(0xbf, 16, struct upin_bench_dma)

#endif /* _UPIN_BENCH_DMA_H */

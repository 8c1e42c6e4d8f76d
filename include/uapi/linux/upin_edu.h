/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_LINUX_UPIN_EDU_H
#define _UAPI_LINUX_UPIN_EDU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * upin_edu: the example driver of upin for QEMU's "edu" PCI device
 * (-device edu), whose DMA engine copies between memory and a 4096-byte
 * buffer of its own, one transfer at a time. Each device is a misc device
 * /dev/upin-edu<N> (mode 0600).
 *
 * Usage: pin a buffer through /dev/upin (UPIN_IOC_PIN with
 * UPIN_PIN_LONGTERM, and UPIN_PIN_WRITE if the device is to write it), map
 * it with UPIN_EDU_IOC_MAP, giving the upin fd and the region's handle, then
 * move bytes with UPIN_EDU_IOC_DMA. A mapping lasts until UNMAP, the last
 * close() of the file, or the removal of the device, whatever the process
 * does with its pin meanwhile: unpinning or closing /dev/upin leaves the
 * pages pinned until the mapping goes.
 *
 * Conventions:
 *
 * - Every command takes one fixed-size struct, its size encoded in the
 *   command. Every __u64 is 8-byte aligned, so the layouts of 32-bit and
 *   64-bit processes are the same.
 * - Unknown flags are EOPNOTSUPP, a reserved member that is not zero is
 *   EINVAL, an unknown command is ENOTTY.
 * - After the device is removed (unplugged, or its driver unbound) every
 *   mapping is gone and every command fails with ENODEV; only close() is
 *   left to do.
 * - The device's buffer holds 4096 bytes, but QEMU 7.2 aborts on a transfer
 *   that reaches its last byte: a transfer must end before it
 *   (dev_offset + length <= 4095), else EINVAL.
 */

#define UPIN_EDU_TYPE 0xbf

/**
 * struct upin_edu_map - ioctl(UPIN_EDU_IOC_MAP)
 * @upin_fd: in, an open /dev/upin of the calling process
 * @flags: must be 0
 * @handle: in, a region of @upin_fd, from UPIN_IOC_PIN
 * @id: out, the mapping: non-zero, unique among this file's mappings and
 *      not given again while the file is open
 * @nr_entries: out, entries of the CPU scatterlist (runs of physically
 *              contiguous pages); 0 without CAP_SYS_ADMIN, as the physical
 *              layout is privileged (see UPIN_IOC_SEGMENTS)
 * @nr_segments: out, DMA segments after mapping; fewer than @nr_entries when
 *               an IOMMU merged entries; 0 without CAP_SYS_ADMIN
 *
 * Maps the region for the device: read-only (the device can only read it)
 * unless it was pinned with UPIN_PIN_WRITE. Errors: EBADF (@upin_fd is not
 * open), EINVAL (not a /dev/upin file), EPERM (the upin file belongs to
 * another process), ENOENT (no such handle), ENOMEM, EIO (the device cannot
 * reach the pages), ENODEV (the device is gone).
 */
struct upin_edu_map {
	__s32 upin_fd;
	__u32 flags;
	__aligned_u64 handle;
	__aligned_u64 id;
	__u32 nr_entries;
	__u32 nr_segments;
};

/**
 * struct upin_edu_unmap - ioctl(UPIN_EDU_IOC_UNMAP)
 * @id: in, a mapping of this open file; ENOENT if there is none
 */
struct upin_edu_unmap {
	__aligned_u64 id;
};

/**
 * enum upin_edu_dma_flags - flags of &upin_edu_dma.flags
 * @UPIN_EDU_DMA_FROM_DEVICE: the device writes memory (from its buffer);
 *                            without it, the device reads memory (into its
 *                            buffer)
 * @UPIN_EDU_DMA_FORCE: with %UPIN_EDU_DMA_FROM_DEVICE, have the device write
 *                      a read-only mapping; CAP_SYS_ADMIN only. For tests:
 *                      behind an IOMMU the write must not reach memory.
 */
enum upin_edu_dma_flags {
	UPIN_EDU_DMA_FROM_DEVICE = 1 << 0,
	UPIN_EDU_DMA_FORCE = 1 << 1,
};

/**
 * struct upin_edu_dma - ioctl(UPIN_EDU_IOC_DMA)
 * @id: in, the mapping
 * @offset: in, bytes from the start of the region as pinned
 * @length: in, bytes to copy, not 0; @offset + @length must lie within the
 *          region
 * @dev_offset: in, bytes from the start of the device's buffer;
 *              @dev_offset + @length must be at most 4095
 * @flags: in, UPIN_EDU_DMA_* bits
 * @transfers: out, DMA transfers this call issued: one per DMA segment the
 *             range crosses
 *
 * Returns when the device is done. Errors: EINVAL (range), EOPNOTSUPP
 * (unknown flag), EPERM (%UPIN_EDU_DMA_FROM_DEVICE into a read-only
 * mapping), ENOENT (no such mapping), ETIMEDOUT (the device did not
 * complete), EIO (a DMA address beyond the device's DMA mask; or the device
 * timed out before and may still be running: it takes no transfer until it
 * is bound again), ENODEV (the device is gone).
 */
struct upin_edu_dma {
	__aligned_u64 id;
	__aligned_u64 offset;
	__u32 length;
	__u32 dev_offset;
	__u32 flags;
	__u32 transfers;
};

/**
 * struct upin_edu_info - ioctl(UPIN_EDU_IOC_INFO)
 * @dma_bits: out, width of the DMA mask the driver set for the device
 * @iommu: out, 1 if the device is behind an IOMMU, else 0
 * @transfers: out, DMA transfers completed since the device was probed
 * @buffer_size: out, bytes of the device's buffer, 4096 (4095 usable)
 * @__reserved: out, 0
 */
struct upin_edu_info {
	__u32 dma_bits;
	__u32 iommu;
	__aligned_u64 transfers;
	__u32 buffer_size;
	__u32 __reserved;
};

#define UPIN_EDU_IOC_MAP _IOWR(UPIN_EDU_TYPE, 1, struct upin_edu_map)
#define UPIN_EDU_IOC_UNMAP _IOW(UPIN_EDU_TYPE, 2, struct upin_edu_unmap)
#define UPIN_EDU_IOC_DMA _IOWR(UPIN_EDU_TYPE, 3, struct upin_edu_dma)
#define UPIN_EDU_IOC_INFO _IOR(UPIN_EDU_TYPE, 4, struct upin_edu_info)

#endif /* _UAPI_LINUX_UPIN_EDU_H */

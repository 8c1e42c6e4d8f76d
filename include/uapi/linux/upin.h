/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_LINUX_UPIN_H
#define _UAPI_LINUX_UPIN_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * upin: pin user memory from a driver, the way a driver should.
 *
 * Userspace ABI of the misc device /dev/upin. The kernel-doc comments of
 * this file are its one description: upin(4), man/upin.4, is generated
 * from them by tools/testing/mkman-upin (make man).
 */

/**
 * DOC: Overview
 *
 * The misc device /dev/upin pins ranges of the calling process's memory with
 * the kernel's pin_user_pages() (FOLL_PIN), as a driver does before a device
 * reads or writes them, and lets "the device" reach the pinned pages through
 * an ioctl. Libraries and programs use libupin (``<libupin.h>``,
 * ``pkg-config upin``) or upinctl(1) rather than the ioctls below.
 *
 * Each open(2) of the device creates a *context*, bound to the memory (mm)
 * of the process that opened it. A context holds *regions*: a region is one
 * successful UPIN_IOC_PIN, every page that overlaps [addr, addr + length),
 * pinned with FOLL_PIN and named by a *handle*. Handles are non-zero, unique
 * within the context and never reused while the file is open; they are
 * issued in increasing order. Overlapping regions are allowed, independent,
 * and each is charged. A pin is all or nothing: on any error no page stays
 * pinned, nothing stays charged and no handle is issued. Closing the last
 * reference to the file, from any process or at exit, unpins every region
 * and returns every page to the mm and user that were charged.
 */

/**
 * DOC: Argument structs
 *
 * Every command takes a pointer to one struct whose first two members are
 * ``__u32 size`` (sizeof() as userspace was compiled) and ``__u32 flags``.
 * The kernel reads it as copy_struct_from_user() does: a size below the
 * struct's first layout is EINVAL, a larger size whose extra bytes are not
 * zero is E2BIG, a smaller size is zero-extended. A size above the page size
 * is E2BIG without the struct being read: no layout will be that large.
 * Results are written back only up to ``size`` bytes. Unknown ``flags`` bits
 * are EOPNOTSUPP; reserved members must be zero, else EINVAL. An unknown
 * command is ENOTTY.
 *
 * User pointers travel as __u64 and every __u64 is 8-byte aligned, so one
 * layout serves 32-bit and 64-bit processes (compat_ioctl is the same code).
 *
 * Every command except UPIN_IOC_GET_INFO fails with EPERM when issued by a
 * process with another mm than the context's (a forked child, a receiver of
 * the fd over SCM_RIGHTS). GET_INFO names neither memory nor pinned ranges,
 * so any holder of the fd may call it.
 */

/**
 * DOC: Charging
 *
 * Pinned memory cannot be reclaimed, so it is charged. A region's pages are
 * added to the opener's mm->pinned_vm (``VmPin`` in /proc/PID/status) and,
 * unless the caller has CAP_IPC_LOCK, charged before any page is pinned to
 * the opener's user_struct locked-memory counter (shared with io_uring and
 * iommufd) against RLIMIT_MEMLOCK. A pin that would pass the limit fails
 * with ENOMEM, nothing charged. Overlapping regions are charged each time.
 */

/**
 * DOC: Longterm pins
 *
 * Every region is a longterm pin (Documentation/core-api/pin_user_pages.rst,
 * case 2): it lives until it is unpinned or its context is closed, as long as
 * userspace wants. A caller without CAP_SYS_ADMIN must pass
 * UPIN_PIN_LONGTERM, else the pin fails with EPERM and nothing is pinned.
 * The check is made after the range is validated (a bad range is still
 * EINVAL), and audited only when the flag is missing. With CAP_SYS_ADMIN, a
 * pin without the flag is a short-term FOLL_PIN held across calls: a
 * diagnostic mode that shows what FOLL_LONGTERM changes, never the default
 * of libupin or upinctl(1).
 */

/**
 * DOC: The file rule
 *
 * UPIN_PIN_WRITE (longterm or not) of a shared mapping of a file whose
 * mapping needs dirty tracking (ext4, xfs, btrfs, ...: the file system
 * writes back or has page_mkwrite) is EOPNOTSUPP on every kernel: the device
 * could write pages the file system believes clean. Linux 6.5 and later
 * refuse longterm ones inside GUP with EFAULT, 6.1 allows them, and no
 * kernel refuses short-term ones. upin decides on the pages actually pinned,
 * batch by batch, and turns GUP's EFAULT for this rule into EOPNOTSUPP, so a
 * file mapped over the range by another thread while the pin runs is refused
 * too, with the same errno whatever the timing. shmem, memfd and hugetlbfs
 * need no dirty tracking and may be write-pinned; a read-only pin of any file
 * mapping is allowed. A refused pin may have write-faulted pages of the file
 * (as a write of the process would); it writes nothing into them.
 */

/**
 * define UPIN_ABI_VERSION - reported in &upin_info.abi_version
 *
 * 1: the first release. 2: every region is a longterm pin (EPERM without
 * UPIN_PIN_LONGTERM unless CAP_SYS_ADMIN), the file rule covers every write
 * pin and is decided on the pinned pages, SEGMENTS needs CAP_SYS_ADMIN. The
 * structs and commands did not change.
 *
 * Version 1 let any caller pin without UPIN_PIN_LONGTERM (short-term),
 * refused only longterm write pins of a shared mapping of a file that needs
 * dirty tracking, answered UPIN_IOC_SEGMENTS for any caller (with ``phys`` 0
 * unless CAP_SYS_ADMIN), counted ``nr_segments`` for any caller, and read a
 * struct of any ``size``. libupin accepts modules of both versions: its
 * upin_pin() always pins longterm unless asked for the short-term
 * diagnostic.
 */
#define UPIN_ABI_VERSION 2

#define UPIN_TYPE 0xbe

/**
 * enum upin_cmd - command numbers, encoded with _IO(UPIN_TYPE, nr)
 * @UPIN_CMD_BASE: first command number
 * @UPIN_CMD_GET_INFO: see UPIN_IOC_GET_INFO
 * @UPIN_CMD_PIN: see UPIN_IOC_PIN
 * @UPIN_CMD_UNPIN: see UPIN_IOC_UNPIN
 * @UPIN_CMD_QUERY: see UPIN_IOC_QUERY
 * @UPIN_CMD_LIST: see UPIN_IOC_LIST
 * @UPIN_CMD_ACCESS: see UPIN_IOC_ACCESS
 * @UPIN_CMD_SEGMENTS: see UPIN_IOC_SEGMENTS
 *
 * The argument size is not encoded in the command: it is the first member of
 * every struct, so a struct can grow without a new command number.
 */
enum upin_cmd {
	UPIN_CMD_BASE = 0x80,
	UPIN_CMD_GET_INFO = UPIN_CMD_BASE,
	UPIN_CMD_PIN,
	UPIN_CMD_UNPIN,
	UPIN_CMD_QUERY,
	UPIN_CMD_LIST,
	UPIN_CMD_ACCESS,
	UPIN_CMD_SEGMENTS,
};

/**
 * enum upin_feature - capability bits reported in &upin_info.features
 * @UPIN_FEATURE_PIN_WRITE: UPIN_PIN_WRITE is supported
 * @UPIN_FEATURE_PIN_LONGTERM: UPIN_PIN_LONGTERM is supported
 * @UPIN_FEATURE_ACCESS_WRITE: UPIN_ACCESS_WRITE is supported
 * @UPIN_FEATURE_SEGMENTS: UPIN_IOC_SEGMENTS is supported
 *
 * Later capabilities get new bits; a bit, once assigned, keeps its meaning.
 */
enum upin_feature {
	UPIN_FEATURE_PIN_WRITE = 1 << 0,
	UPIN_FEATURE_PIN_LONGTERM = 1 << 1,
	UPIN_FEATURE_ACCESS_WRITE = 1 << 2,
	UPIN_FEATURE_SEGMENTS = 1 << 3,
};

/**
 * struct upin_info - ioctl(UPIN_IOC_GET_INFO)
 * @size: sizeof(struct upin_info)
 * @flags: must be 0
 * @abi_version: out, UPIN_ABI_VERSION of the module
 * @page_size: out, the kernel's PAGE_SIZE in bytes
 * @features: out, UPIN_FEATURE_* bits this module supports
 * @nr_regions: out, regions this context holds
 * @max_regions: out, regions one context may hold (module parameter)
 * @pinned_pages: out, pages this context holds pinned, summed over regions
 *                (overlapping regions count each time)
 * @global_pinned_pages: out, pages pinned through upin by every context
 * @global_max_pages: out, module-wide cap on @global_pinned_pages, 0 = none
 * @metadata_bytes: out, kernel memory this context holds to keep track of
 *                  its regions, in bytes: each region's descriptor and the
 *                  storage of its pages (runs of contiguous pages; a huge
 *                  folio is one 8-byte entry, scattered 4 KiB pages at most
 *                  8 bytes each) as the slab and page allocators sized them,
 *                  plus each region's share of the handle index (one hash
 *                  bucket). Not counted: the pinned memory itself, the
 *                  context's own fixed state (a few hundred bytes per open
 *                  file, with the descriptor of the last region freed,
 *                  which the next pin reuses, and the buckets beyond one
 *                  per region: the table keeps the size of the most regions
 *                  held at once until the file is closed), and pins still
 *                  in flight. 0 when the context holds no region. Added in
 *                  the second layout of this struct; callers that pass the
 *                  first one's size (56) do not get it.
 *
 * Reports the module's ABI version, page size, features and limits, and what
 * this context holds. Works from any process holding the file, including one
 * whose mm is not the context's.
 */
struct upin_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 page_size;
	__aligned_u64 features;
	__u32 nr_regions;
	__u32 max_regions;
	__aligned_u64 pinned_pages;
	__aligned_u64 global_pinned_pages;
	__aligned_u64 global_max_pages;
	__aligned_u64 metadata_bytes;
};

#define UPIN_IOC_GET_INFO _IO(UPIN_TYPE, UPIN_CMD_GET_INFO)

/**
 * enum upin_pin_flags - flags of &upin_pin.flags
 * @UPIN_PIN_WRITE: the device may write the pages (FOLL_WRITE); they are
 *                  marked dirty when unpinned. Read-only memory is EFAULT.
 * @UPIN_PIN_LONGTERM: the pin may be held indefinitely (FOLL_LONGTERM): the
 *                     kernel first migrates the pages out of ZONE_MOVABLE and
 *                     CMA, and breaks COW so that the pin stays coherent with
 *                     the process's own writes, also after fork(). Required
 *                     without CAP_SYS_ADMIN (EPERM): every region is held
 *                     across calls, so it is a longterm pin.
 *
 * Without UPIN_PIN_LONGTERM (CAP_SYS_ADMIN only): a short-term FOLL_PIN held
 * across calls, a diagnostic of what FOLL_LONGTERM changes.
 */
enum upin_pin_flags {
	UPIN_PIN_WRITE = 1 << 0,
	UPIN_PIN_LONGTERM = 1 << 1,
};

/**
 * struct upin_pin - ioctl(UPIN_IOC_PIN)
 * @size: sizeof(struct upin_pin)
 * @flags: UPIN_PIN_* bits
 * @addr: in, start of the range; need not be page aligned
 * @length: in, bytes; every page overlapping [@addr, @addr + @length) is
 *          pinned
 * @handle: out, the new region's handle
 * @npages: out, pages pinned
 *
 * Pins every page that overlaps [@addr, @addr + @length) with the
 * UPIN_PIN_* @flags, as the region of a new @handle (see Longterm pins and
 * The file rule above). A pin is all or nothing.
 *
 * Errors: EINVAL (zero length, overflow, range outside the user address
 * space), EPERM (no UPIN_PIN_LONGTERM without CAP_SYS_ADMIN; foreign mm),
 * EFAULT (a page is unmapped, PROT_NONE, or read-only with UPIN_PIN_WRITE),
 * EOPNOTSUPP (unknown flag; write pin of a page of a shared file mapping
 * that needs dirty tracking), ENOMEM (RLIMIT_MEMLOCK), ENOSPC (max_regions
 * or the module-wide max_pages), EINTR (fatal signal).
 */
struct upin_pin {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 length;
	__aligned_u64 handle;
	__aligned_u64 npages;
};

#define UPIN_IOC_PIN _IO(UPIN_TYPE, UPIN_CMD_PIN)

/**
 * struct upin_unpin - ioctl(UPIN_IOC_UNPIN)
 * @size: sizeof(struct upin_unpin)
 * @flags: must be 0
 * @handle: in, the region to unpin; ENOENT if this context does not hold it
 *
 * Unpins the region and returns its charge. Write-pinned pages are marked
 * dirty.
 */
struct upin_unpin {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
};

#define UPIN_IOC_UNPIN _IO(UPIN_TYPE, UPIN_CMD_UNPIN)

/**
 * struct upin_region - ioctl(UPIN_IOC_QUERY)
 * @size: sizeof(struct upin_region)
 * @flags: must be 0
 * @handle: in, the region; ENOENT if this context does not hold it
 * @addr: out, &upin_pin.addr as pinned
 * @length: out, &upin_pin.length as pinned
 * @npages: out, pages pinned
 * @nr_segments: out, physically contiguous runs, as UPIN_IOC_SEGMENTS counts;
 *               0 to a caller without CAP_SYS_ADMIN
 * @pin_flags: out, &upin_pin.flags as pinned
 * @__reserved: must be 0
 *
 * Describes one region of the context. A region has at least one segment,
 * so @nr_segments 0 says only that the caller may not see the physical
 * layout.
 */
struct upin_region {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
	__aligned_u64 addr;
	__aligned_u64 length;
	__aligned_u64 npages;
	__aligned_u64 nr_segments;
	__u32 pin_flags;
	__u32 __reserved;
};

#define UPIN_IOC_QUERY _IO(UPIN_TYPE, UPIN_CMD_QUERY)

/**
 * struct upin_list - ioctl(UPIN_IOC_LIST)
 * @size: sizeof(struct upin_list)
 * @flags: must be 0
 * @handles: in, user pointer to a __u64 array of @capacity entries
 * @capacity: in, entries @handles can take
 * @count: out, regions this context holds
 *
 * Writes min(@capacity, @count) handles in ascending order. When @capacity is
 * smaller than @count the call writes @count and fails with EMSGSIZE;
 * @capacity 0 is the way to ask for @count alone.
 */
struct upin_list {
	__u32 size;
	__u32 flags;
	__aligned_u64 handles;
	__u32 capacity;
	__u32 count;
};

#define UPIN_IOC_LIST _IO(UPIN_TYPE, UPIN_CMD_LIST)

/**
 * enum upin_access_flags - flags of &upin_access.flags
 * @UPIN_ACCESS_WRITE: copy from @buf into the pinned pages; without it, copy
 *                     from the pinned pages into @buf. EPERM on a region
 *                     pinned without UPIN_PIN_WRITE.
 */
enum upin_access_flags {
	UPIN_ACCESS_WRITE = 1 << 0,
};

/**
 * struct upin_access - ioctl(UPIN_IOC_ACCESS)
 * @size: sizeof(struct upin_access)
 * @flags: UPIN_ACCESS_* bits
 * @handle: in, the region; ENOENT if this context does not hold it
 * @offset: in, bytes from the region's &upin_pin.addr
 * @length: in, bytes to copy, not 0; @offset + @length must lie within the
 *          region's &upin_pin.length, else EINVAL
 * @buf: in, user pointer to the buffer to copy from or to
 *
 * Copies @length bytes at @offset of the region into @buf or, with
 * UPIN_ACCESS_WRITE, from @buf into the region. The kernel copies through
 * the pinned pages themselves, as a device would see them, not through the
 * process's current mapping of the range.
 */
struct upin_access {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
	__aligned_u64 offset;
	__aligned_u64 length;
	__aligned_u64 buf;
};

#define UPIN_IOC_ACCESS _IO(UPIN_TYPE, UPIN_CMD_ACCESS)

/**
 * struct upin_segment - one physically contiguous run of a region
 * @phys: physical address of the run's first byte
 * @length: bytes, a multiple of &upin_info.page_size
 */
struct upin_segment {
	__aligned_u64 phys;
	__aligned_u64 length;
};

/**
 * struct upin_segments - ioctl(UPIN_IOC_SEGMENTS)
 * @size: sizeof(struct upin_segments)
 * @flags: must be 0
 * @handle: in, the region; ENOENT if this context does not hold it
 * @segs: in, user pointer to an array of @capacity &struct upin_segment
 * @capacity: in, entries @segs can take
 * @count: out, segments of the region
 *
 * Segments are maximal physically contiguous runs of the region's pages, in
 * the order of the region; their lengths add up to npages * page_size. The
 * EMSGSIZE rule is that of UPIN_IOC_LIST.
 *
 * The physical layout is privileged: EPERM without CAP_SYS_ADMIN, checked
 * before the handle. Even segment lengths tell which pages are physically
 * adjacent, which /proc/PID/pagemap stopped telling unprivileged readers
 * because it helps rowhammer and memory grooming.
 */
struct upin_segments {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
	__aligned_u64 segs;
	__aligned_u64 capacity;
	__aligned_u64 count;
};

#define UPIN_IOC_SEGMENTS _IO(UPIN_TYPE, UPIN_CMD_SEGMENTS)

/**
 * DOC: Errors
 *
 * - EINVAL: A zero length, a range that wraps or leaves the user address
 *   space, an access past the end of the region, a struct size below its
 *   first layout, or a reserved member that is not zero.
 * - EFAULT: A page of the range is unmapped, PROT_NONE, or read-only for
 *   UPIN_PIN_WRITE; nothing stays pinned.
 * - EOPNOTSUPP: An unknown flag, or UPIN_PIN_WRITE (longterm or not) of a
 *   shared mapping of a file that needs dirty tracking (ext4, xfs, ...; not
 *   shmem, memfd or hugetlbfs), refused on every kernel. A read-only pin of
 *   the same mapping works.
 * - ENOMEM: The pin would take the process's pinned memory past
 *   RLIMIT_MEMLOCK and the caller lacks CAP_IPC_LOCK; nothing is charged.
 *   Also: the kernel is out of memory (a pin, or UPIN_IOC_LIST, which
 *   sorts the handles in a buffer of its own).
 * - ENOSPC: The context holds ``max_regions`` regions, or the pin would pass
 *   the module-wide ``max_pages``.
 * - ENOENT: The context holds no region with that handle.
 * - EPERM: The caller is not the process that opened the context;
 *   UPIN_IOC_PIN without UPIN_PIN_LONGTERM and the caller lacks
 *   CAP_SYS_ADMIN (nothing is pinned); UPIN_IOC_SEGMENTS and the caller lacks
 *   CAP_SYS_ADMIN; or UPIN_ACCESS_WRITE on a region pinned without
 *   UPIN_PIN_WRITE.
 * - EMSGSIZE: UPIN_IOC_LIST or UPIN_IOC_SEGMENTS with too small a capacity.
 * - EINTR: A fatal signal arrived while pinning; nothing stays pinned.
 * - E2BIG: The struct is larger than the module knows and its extra bytes
 *   are not zero, or its size is above the page size.
 * - ENOTTY: An unknown command.
 */

/**
 * DOC: Files
 *
 * - /dev/upin: The device, mode 0600 unless the module parameter ``mode`` or
 *   a udev rule says otherwise.
 * - /sys/kernel/debug/upin/regions: Every open context and its regions, for
 *   root.
 * - /sys/module/upin/parameters/: ``mode``, ``max_regions`` (per context,
 *   default 65536) and ``max_pages`` (module-wide, default 0: no cap), set
 *   with ``modprobe upin name=value`` or in /etc/modprobe.d/.
 */

/**
 * DOC: Notes
 *
 * Pinned pages stay pinned, and reachable through UPIN_IOC_ACCESS, after the
 * process unmaps them, forks, or writes to them. A longterm pin of private
 * anonymous memory stays coherent with what the process writes later, also
 * after fork(2).
 */

#endif /* _UAPI_LINUX_UPIN_H */

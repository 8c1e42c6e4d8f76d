/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libupin: pin user memory through /dev/upin without packing ioctl structs.
 *
 * A context (struct upin_ctx) is one open file of /dev/upin: it holds the
 * regions this process pins through it, and closing it unpins them all. A
 * context answers only the process that opened it (a forked child or a
 * receiver of the fd gets -EPERM), but any number of threads of that process
 * may call the functions below on one context at the same time: the library
 * keeps no state that a call changes, and no global state at all.
 *
 * Every function that can fail returns 0 or a negative errno, and sets no
 * errno of its own; upin_strerror() says what an error means for upin.
 * Functions fail with -EOPNOTSUPP, without asking the kernel, when the
 * module does not have the feature they need (see upin_features()).
 *
 * Every region is held until it is unpinned, as long as the program wants,
 * so upin_pin() pins longterm (UPIN_PIN_LONGTERM) unless asked otherwise:
 * a short-term pin (UPIN_PIN_SHORTTERM) is a diagnostic for CAP_SYS_ADMIN.
 *
 * The library works with modules of ABI version UPIN_ABI_VERSION_MIN to
 * UPIN_ABI_VERSION (see upin_abi_version()). A module of version 1 differs
 * from one of version 2 in what it lets a caller without CAP_SYS_ADMIN do:
 * it pins short-term for anyone, its UPIN_IOC_SEGMENTS answers anyone (with
 * &upin_segment.phys 0 unless CAP_SYS_ADMIN) and its UPIN_IOC_QUERY counts
 * the segments for anyone, and it refuses only longterm write pins of a
 * shared mapping of a file that needs dirty tracking (version 2 refuses
 * every such write pin).
 *
 * The structs of <linux/upin.h> that carry results (struct upin_info,
 * struct upin_region) grow at their end in later modules. The functions that
 * fill them take the caller's sizeof(), so a program built against an older
 * or a newer header than the module's gets the members both know, and zeros
 * in the members only it knows.
 *
 * Link with `pkg-config --cflags --libs upin`.
 */
#ifndef LIBUPIN_H
#define LIBUPIN_H

#include <stddef.h>
#include <stdint.h>

#include <linux/upin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A context: one open file of the upin device. Opaque, so that it can grow. */
struct upin_ctx;

/**
 * define UPIN_ABI_VERSION_MIN - the oldest ABI version upin_open() accepts
 *
 * upin_open() accepts a module whose &upin_info.abi_version lies in
 * [UPIN_ABI_VERSION_MIN, UPIN_ABI_VERSION] and fails with -EPROTO outside.
 * Version 1 let anyone pin short-term and read the segments of a region
 * (with &upin_segment.phys 0 unless CAP_SYS_ADMIN), and refused only
 * longterm write pins of a shared mapping of a file that needs dirty
 * tracking; version 2 keeps short-term pins and the physical layout for
 * CAP_SYS_ADMIN and refuses every such write pin. The structs and commands
 * are the same.
 */
#define UPIN_ABI_VERSION_MIN 1

/**
 * define UPIN_PIN_SHORTTERM - upin_pin() flag for a short term pin
 *
 * A flag of the library (bit 31), outside the kernel's UPIN_PIN_* bits and
 * never sent to it: upin_pin() pins longterm (UPIN_PIN_LONGTERM) unless it
 * gets this flag, with which it leaves UPIN_PIN_LONGTERM out. The kernel
 * then takes a short-term FOLL_PIN held across calls, which shows what
 * FOLL_LONGTERM changes (no migration out of ZONE_MOVABLE and CMA, no COW
 * unsharing). Needs CAP_SYS_ADMIN with a module of ABI version 2 (-EPERM
 * without it); a module of version 1 grants it to anyone. Together with
 * UPIN_PIN_LONGTERM it is -EINVAL.
 */
#define UPIN_PIN_SHORTTERM 0x80000000u

/**
 * enum upin_op - which call an error came from, for upin_strerror()
 * @UPIN_OP_OPEN: upin_open()
 * @UPIN_OP_GET_INFO: upin_get_info()
 * @UPIN_OP_PIN: upin_pin()
 * @UPIN_OP_UNPIN: upin_unpin()
 * @UPIN_OP_QUERY: upin_query()
 * @UPIN_OP_LIST: upin_list()
 * @UPIN_OP_ACCESS_READ: upin_access_read()
 * @UPIN_OP_ACCESS_WRITE: upin_access_write()
 * @UPIN_OP_SEGMENTS: upin_segments()
 * @UPIN_OP_PIN_SHORTTERM: upin_pin() with UPIN_PIN_SHORTTERM
 *
 * Values are part of the library's ABI: new ones are added at the end.
 */
enum upin_op {
	UPIN_OP_OPEN,
	UPIN_OP_GET_INFO,
	UPIN_OP_PIN,
	UPIN_OP_UNPIN,
	UPIN_OP_QUERY,
	UPIN_OP_LIST,
	UPIN_OP_ACCESS_READ,
	UPIN_OP_ACCESS_WRITE,
	UPIN_OP_SEGMENTS,
	UPIN_OP_PIN_SHORTTERM,
};

/** define UPIN_DEFAULT_DEVICE - the device upin_open() opens by default */
#define UPIN_DEFAULT_DEVICE "/dev/upin"

/**
 * upin_open() - open a new context
 * @ctxp: out, the new context
 * @path: the device node; NULL means $UPIN_DEVICE when it is set (and the
 *        program is not set-user-ID), else UPIN_DEFAULT_DEVICE
 *
 * Opens the device and asks the module for its ABI version and features.
 *
 * Return: 0, or a negative errno: -ENOENT (no such node: is the module
 * loaded?), -EACCES (the node's mode or group), -ENOTTY (not a upin device),
 * -EPROTO (the module's ABI version is outside [UPIN_ABI_VERSION_MIN,
 * UPIN_ABI_VERSION]), -ENOMEM, -EINVAL (@ctxp is NULL).
 */
int upin_open(struct upin_ctx **ctxp, const char *path);

/**
 * upin_close() - close a context, unpinning every region it holds
 * @ctx: the context, or NULL
 *
 * No call on @ctx may run or follow.
 */
void upin_close(struct upin_ctx *ctx);

/**
 * upin_fd() - the file descriptor of a context
 * @ctx: the context
 *
 * For what the library does not wrap, such as handing the context to
 * another process (which can only issue UPIN_IOC_GET_INFO on it). The
 * descriptor stays owned by @ctx: do not close it.
 *
 * Return: the descriptor.
 */
int upin_fd(const struct upin_ctx *ctx);

/**
 * upin_abi_version() - the module's ABI version
 * @ctx: the context
 *
 * Read once by upin_open(), which accepts UPIN_ABI_VERSION_MIN to
 * UPIN_ABI_VERSION. See UPIN_ABI_VERSION_MIN for what version 1 differs in.
 *
 * Return: &upin_info.abi_version as the module reported it.
 */
uint32_t upin_abi_version(const struct upin_ctx *ctx);

/**
 * upin_features() - the module's UPIN_FEATURE_* bits
 * @ctx: the context
 *
 * Read once by upin_open(); they do not change while the module is loaded.
 *
 * Return: the bits, as &upin_info.features.
 */
uint64_t upin_features(const struct upin_ctx *ctx);

/**
 * upin_get_info() - the module's and this context's state (UPIN_IOC_GET_INFO)
 * @ctx: the context
 * @info: out, zeroed and then filled
 * @size: sizeof(*@info) as the caller was compiled; members the module does
 *        not know stay zero
 *
 * Return: 0, or a negative errno: -EINVAL (@size below the first layout of
 * struct upin_info, or @info NULL), -E2BIG (@size above the page size, with
 * a module of ABI version 2).
 */
int upin_get_info(struct upin_ctx *ctx, struct upin_info *info, size_t size);

/**
 * upin_pin() - pin every page overlapping a range (UPIN_IOC_PIN)
 * @ctx: the context
 * @addr: start of the range, need not be page aligned
 * @length: bytes
 * @flags: UPIN_PIN_WRITE (the device may write) or 0 (read-only), and
 *         UPIN_PIN_SHORTTERM for the short-term diagnostic (CAP_SYS_ADMIN);
 *         UPIN_PIN_LONGTERM is the default and may be given too
 * @handle: out, the new region's handle
 * @npages: out, pages pinned; may be NULL
 *
 * A region is held until it is unpinned, so the pin is longterm: the library
 * adds UPIN_PIN_LONGTERM to @flags (the module must have
 * UPIN_FEATURE_PIN_LONGTERM) unless @flags holds UPIN_PIN_SHORTTERM, which
 * it never sends to the kernel. A pin is all or nothing: on error nothing
 * stays pinned or charged.
 *
 * Return: 0, or a negative errno: -EINVAL (zero length, a range that wraps
 * or leaves the address space, @handle NULL, UPIN_PIN_SHORTTERM with
 * UPIN_PIN_LONGTERM), -EFAULT (a page is unmapped, PROT_NONE, or read-only
 * for a write pin), -EOPNOTSUPP (a write pin of a shared mapping of a file
 * that needs dirty tracking, such as ext4 or xfs but not shmem, memfd or
 * hugetlbfs: refused on every kernel, longterm or not with a module of ABI
 * version 2, longterm only with version 1; or a flag the module lacks),
 * -ENOMEM (RLIMIT_MEMLOCK), -ENOSPC (max_regions, max_pages), -EINTR (a
 * fatal signal), -EPERM (UPIN_PIN_SHORTTERM without CAP_SYS_ADMIN with a
 * module of ABI version 2; or another process's context). upin_strerror()
 * explains them for UPIN_OP_PIN, or UPIN_OP_PIN_SHORTTERM when @flags held
 * UPIN_PIN_SHORTTERM.
 */
int upin_pin(struct upin_ctx *ctx, const void *addr, size_t length,
	     uint32_t flags, uint64_t *handle, uint64_t *npages);

/**
 * upin_unpin() - unpin a region (UPIN_IOC_UNPIN)
 * @ctx: the context
 * @handle: the region
 *
 * Write-pinned pages are marked dirty; the region's charge is returned.
 *
 * Return: 0, or a negative errno: -ENOENT (@ctx holds no such region),
 * -EPERM (another process's context).
 */
int upin_unpin(struct upin_ctx *ctx, uint64_t handle);

/**
 * upin_query() - describe a region (UPIN_IOC_QUERY)
 * @ctx: the context
 * @handle: the region
 * @region: out, zeroed and then filled: addr, length, pin_flags, npages,
 *          nr_segments
 * @size: sizeof(*@region) as the caller was compiled
 *
 * &upin_region.pin_flags holds UPIN_PIN_LONGTERM unless the region was
 * pinned with UPIN_PIN_SHORTTERM. The physical layout is privileged: a
 * module of ABI version 2 reports &upin_region.nr_segments 0 to a caller
 * without CAP_SYS_ADMIN (a region always has at least one segment).
 *
 * Return: 0, or a negative errno: -ENOENT (@ctx holds no such region),
 * -EINVAL (@size too small, @region NULL), -E2BIG (@size above the page
 * size, with a module of ABI version 2), -EPERM (another process's
 * context).
 */
int upin_query(struct upin_ctx *ctx, uint64_t handle,
	       struct upin_region *region, size_t size);

/**
 * upin_list() - the handles of every region of a context (UPIN_IOC_LIST)
 * @ctx: the context
 * @handles: out, a malloc()ed array of handles in ascending order, for the
 *           caller to free(); NULL when there is none
 * @count: out, entries in @handles
 *
 * Sizes the array itself: when regions appear while it asks (-EMSGSIZE from
 * the kernel), it asks again with a larger array. The list is a snapshot:
 * other threads may pin and unpin meanwhile.
 *
 * Return: 0, or a negative errno: -ENOMEM, -EINVAL (@handles or @count
 * NULL), -EPERM (another process's context).
 */
int upin_list(struct upin_ctx *ctx, uint64_t **handles, size_t *count);

/**
 * upin_access_read() - copy out of a region's pinned pages (UPIN_IOC_ACCESS)
 * @ctx: the context
 * @handle: the region
 * @offset: bytes from the start of the range that was pinned
 * @buf: out, @length bytes
 * @length: bytes to copy, at least 1
 *
 * The kernel reads the pinned pages themselves, as a device would, not what
 * the process maps at that address now.
 *
 * Return: 0, or a negative errno: -ENOENT (no such region), -EINVAL
 * (@length 0, or @offset + @length past the region), -EFAULT (@buf),
 * -EPERM (another process's context).
 */
int upin_access_read(struct upin_ctx *ctx, uint64_t handle, uint64_t offset,
		     void *buf, size_t length);

/**
 * upin_access_write() - copy into a region's pinned pages (UPIN_IOC_ACCESS)
 * @ctx: the context
 * @handle: the region, pinned with UPIN_PIN_WRITE
 * @offset: bytes from the start of the range that was pinned
 * @buf: @length bytes to copy
 * @length: bytes to copy, at least 1
 *
 * The kernel writes the pinned pages, as a device would.
 *
 * Return: 0, or a negative errno: as upin_access_read(), and -EPERM (a
 * region pinned without UPIN_PIN_WRITE), -EOPNOTSUPP (the module lacks
 * UPIN_FEATURE_ACCESS_WRITE).
 */
int upin_access_write(struct upin_ctx *ctx, uint64_t handle, uint64_t offset,
		      const void *buf, size_t length);

/**
 * upin_segments() - the physically contiguous runs of a region
 * @ctx: the context
 * @handle: the region
 * @segs: out, a malloc()ed array for the caller to free(): in the region's
 *        order, lengths adding up to its pages, each &upin_segment.phys the
 *        physical address of the run
 * @count: out, entries in @segs
 *
 * UPIN_IOC_SEGMENTS, with the array sized by the library. The physical
 * layout is privileged: a module of ABI version 2 answers only a caller
 * with CAP_SYS_ADMIN (a module of version 1 answers anyone, with
 * &upin_segment.phys 0 unless CAP_SYS_ADMIN).
 *
 * Return: 0, or a negative errno: -EPERM (no CAP_SYS_ADMIN, with a module of
 * ABI version 2; or another process's context), -ENOENT (no such region),
 * -ENOMEM, -EINVAL (@segs or @count NULL), -EOPNOTSUPP (the module lacks
 * UPIN_FEATURE_SEGMENTS).
 */
int upin_segments(struct upin_ctx *ctx, uint64_t handle,
		  struct upin_segment **segs, size_t *count);

/**
 * upin_strerror() - explain an error of a libupin call
 * @err: the negative errno the call returned (a positive one works too)
 * @op: the call
 *
 * Errors that mean something particular to upin get the C library's text
 * and, in parentheses, what it means here, e.g. for -ENOMEM from
 * upin_pin(): "Cannot allocate memory (the pin would take the process's
 * pinned memory past RLIMIT_MEMLOCK ...)". Pass UPIN_OP_PIN_SHORTTERM for
 * an error of upin_pin() with UPIN_PIN_SHORTTERM, whose -EPERM means
 * another rule. Other errors get the C library's text alone.
 *
 * Return: a constant string, never NULL; safe from any thread.
 */
const char *upin_strerror(int err, enum upin_op op);

#ifdef __cplusplus
}
#endif

#endif /* LIBUPIN_H */

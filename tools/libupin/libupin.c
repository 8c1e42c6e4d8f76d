// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libupin: the ioctls of /dev/upin as C functions (see include/libupin.h).
 *
 * A context is the file descriptor, the ABI version and the feature bits the
 * module reported when it was opened. Nothing in it changes after
 * upin_open(), so calls on one context from many threads need no lock: each
 * call builds its own argument struct on its stack and the kernel serialises
 * what it must.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libupin.h"

/* Sizes of the first released layouts: below them the kernel says EINVAL. */
#define UPIN_INFO_SIZE_VER0 \
	(offsetof(struct upin_info, global_max_pages) + sizeof(__u64))
#define UPIN_REGION_SIZE_VER0 \
	(offsetof(struct upin_region, __reserved) + sizeof(__u32))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Entries upin_list() and upin_segments() ask for before they know more. */
#define UPIN_ARRAY_GUESS 64

struct upin_ctx {
	int fd;
	uint32_t abi_version;
	uint64_t features;
};

static int upin_ioctl(const struct upin_ctx *ctx, unsigned long cmd, void *arg)
{
	return ioctl(ctx->fd, cmd, arg) ? -errno : 0;
}

static bool upin_has(const struct upin_ctx *ctx, uint64_t features)
{
	return (ctx->features & features) == features;
}

int upin_open(struct upin_ctx **ctxp, const char *path)
{
	struct upin_info info;
	struct upin_ctx *ctx;
	int ret;

	if (!ctxp)
		return -EINVAL;
	*ctxp = NULL;
	if (!path)
		path = secure_getenv("UPIN_DEVICE");
	if (!path || !*path)
		path = UPIN_DEFAULT_DEVICE;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctx->fd < 0) {
		ret = -errno;
		goto err_free;
	}

	/*
	 * Our own sizeof: an older module that knows fewer members leaves
	 * the others zero, which is all this needs.
	 */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ret = upin_ioctl(ctx, UPIN_IOC_GET_INFO, &info);
	if (ret)
		goto err_close;
	if (info.abi_version < UPIN_ABI_VERSION_MIN ||
	    info.abi_version > UPIN_ABI_VERSION) {
		ret = -EPROTO;
		goto err_close;
	}
	ctx->abi_version = info.abi_version;
	ctx->features = info.features;
	*ctxp = ctx;
	return 0;

err_close:
	close(ctx->fd);
err_free:
	free(ctx);
	return ret;
}

void upin_close(struct upin_ctx *ctx)
{
	if (!ctx)
		return;
	close(ctx->fd);
	free(ctx);
}

int upin_fd(const struct upin_ctx *ctx)
{
	return ctx->fd;
}

uint32_t upin_abi_version(const struct upin_ctx *ctx)
{
	return ctx->abi_version;
}

uint64_t upin_features(const struct upin_ctx *ctx)
{
	return ctx->features;
}

/*
 * Zero the caller's struct of @size bytes (at least @min) and set its size:
 * the kernel fills what it knows of it and leaves the rest zero.
 */
static int upin_out_struct(void *out, size_t size, size_t min)
{
	if (!out || size < min || size > UINT32_MAX)
		return -EINVAL;
	memset(out, 0, size);
	*(__u32 *)out = (__u32)size;
	return 0;
}

int upin_get_info(struct upin_ctx *ctx, struct upin_info *info, size_t size)
{
	int ret = upin_out_struct(info, size, UPIN_INFO_SIZE_VER0);

	return ret ? ret : upin_ioctl(ctx, UPIN_IOC_GET_INFO, info);
}

int upin_pin(struct upin_ctx *ctx, const void *addr, size_t length,
	     uint32_t flags, uint64_t *handle, uint64_t *npages)
{
	struct upin_pin cmd = {
		.size = sizeof(cmd),
		.addr = (uintptr_t)addr,
		.length = length,
	};
	int ret;

	if (!handle)
		return -EINVAL;
	/*
	 * Every region is held across calls: longterm, unless the caller
	 * asks for the short-term diagnostic, whose bit is the library's.
	 */
	if (flags & UPIN_PIN_SHORTTERM) {
		if (flags & UPIN_PIN_LONGTERM)
			return -EINVAL;
		flags &= ~UPIN_PIN_SHORTTERM;
	} else {
		flags |= UPIN_PIN_LONGTERM;
	}
	if (((flags & UPIN_PIN_WRITE) &&
	     !upin_has(ctx, UPIN_FEATURE_PIN_WRITE)) ||
	    ((flags & UPIN_PIN_LONGTERM) &&
	     !upin_has(ctx, UPIN_FEATURE_PIN_LONGTERM)))
		return -EOPNOTSUPP;

	cmd.flags = flags;
	ret = upin_ioctl(ctx, UPIN_IOC_PIN, &cmd);
	if (ret)
		return ret;
	*handle = cmd.handle;
	if (npages)
		*npages = cmd.npages;
	return 0;
}

int upin_unpin(struct upin_ctx *ctx, uint64_t handle)
{
	struct upin_unpin cmd = {
		.size = sizeof(cmd),
		.handle = handle,
	};

	return upin_ioctl(ctx, UPIN_IOC_UNPIN, &cmd);
}

int upin_query(struct upin_ctx *ctx, uint64_t handle,
	       struct upin_region *region, size_t size)
{
	int ret = upin_out_struct(region, size, UPIN_REGION_SIZE_VER0);

	if (ret)
		return ret;
	region->handle = handle;
	return upin_ioctl(ctx, UPIN_IOC_QUERY, region);
}

/*
 * One LIST or SEGMENTS call into @buf of @capacity entries; sets @count to
 * the entries there are, also when it fails with -EMSGSIZE.
 */
typedef int (*upin_fill_fn)(struct upin_ctx *ctx, uint64_t handle, void *buf,
			    uint64_t capacity, uint64_t *count);

/*
 * Call @fill with a larger array until it fits. Entries may appear between
 * two calls (other threads pin), so each retry adds a quarter for them.
 */
static int upin_fetch_array(struct upin_ctx *ctx, uint64_t handle,
			    upin_fill_fn fill, size_t entry_size,
			    uint64_t max_entries, void **out, size_t *countp)
{
	uint64_t capacity = UPIN_ARRAY_GUESS, count = 0;
	void *buf = NULL, *bigger;
	int ret;

	if (!out || !countp)
		return -EINVAL;
	for (;;) {
		if (capacity > max_entries)
			capacity = max_entries;
		if (capacity > SIZE_MAX / entry_size) {
			ret = -ENOMEM;
			goto err;
		}
		bigger = realloc(buf, capacity * entry_size);
		if (!bigger) {
			ret = -ENOMEM;
			goto err;
		}
		buf = bigger;
		ret = fill(ctx, handle, buf, capacity, &count);
		if (ret != -EMSGSIZE)
			break;
		capacity = count + count / 4 + 1;
	}
	if (ret)
		goto err;
	if (!count) {
		free(buf);
		buf = NULL;
	}
	*out = buf;
	*countp = count;
	return 0;

err:
	free(buf);
	return ret;
}

static int upin_list_fill(struct upin_ctx *ctx, uint64_t handle, void *buf,
			  uint64_t capacity, uint64_t *count)
{
	struct upin_list cmd = {
		.size = sizeof(cmd),
		.handles = (uintptr_t)buf,
		.capacity = (__u32)capacity,
	};
	int ret;

	(void)handle;	/* LIST names no region */
	ret = upin_ioctl(ctx, UPIN_IOC_LIST, &cmd);
	*count = cmd.count;
	return ret;
}

int upin_list(struct upin_ctx *ctx, uint64_t **handles, size_t *count)
{
	return upin_fetch_array(ctx, 0, upin_list_fill, sizeof(**handles),
				UINT32_MAX, (void **)handles, count);
}

static int upin_segments_fill(struct upin_ctx *ctx, uint64_t handle, void *buf,
			      uint64_t capacity, uint64_t *count)
{
	struct upin_segments cmd = {
		.size = sizeof(cmd),
		.handle = handle,
		.segs = (uintptr_t)buf,
		.capacity = capacity,
	};
	int ret = upin_ioctl(ctx, UPIN_IOC_SEGMENTS, &cmd);

	*count = cmd.count;
	return ret;
}

int upin_segments(struct upin_ctx *ctx, uint64_t handle,
		  struct upin_segment **segs, size_t *count)
{
	if (!upin_has(ctx, UPIN_FEATURE_SEGMENTS))
		return -EOPNOTSUPP;
	return upin_fetch_array(ctx, handle, upin_segments_fill,
				sizeof(**segs), UINT64_MAX, (void **)segs,
				count);
}

static int upin_access(struct upin_ctx *ctx, uint32_t flags, uint64_t handle,
		       uint64_t offset, const void *buf, size_t length)
{
	struct upin_access cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.handle = handle,
		.offset = offset,
		.length = length,
		.buf = (uintptr_t)buf,
	};

	return upin_ioctl(ctx, UPIN_IOC_ACCESS, &cmd);
}

int upin_access_read(struct upin_ctx *ctx, uint64_t handle, uint64_t offset,
		     void *buf, size_t length)
{
	return upin_access(ctx, 0, handle, offset, buf, length);
}

int upin_access_write(struct upin_ctx *ctx, uint64_t handle, uint64_t offset,
		      const void *buf, size_t length)
{
	if (!upin_has(ctx, UPIN_FEATURE_ACCESS_WRITE))
		return -EOPNOTSUPP;
	return upin_access(ctx, UPIN_ACCESS_WRITE, handle, offset, buf, length);
}

#define UPIN_OPS_ALL		(~0u)
#define UPIN_OP(op)		(1u << (op))
/* upin_pin(), longterm or short-term. */
#define UPIN_OPS_PIN		(UPIN_OP(UPIN_OP_PIN) | \
				 UPIN_OP(UPIN_OP_PIN_SHORTTERM))
/* Every command that names memory or regions: only the opener may call. */
#define UPIN_OPS_OWNER		(UPIN_OPS_ALL & ~UPIN_OP(UPIN_OP_OPEN) & \
				 ~UPIN_OP(UPIN_OP_GET_INFO))
#define UPIN_OPS_HANDLE		(UPIN_OP(UPIN_OP_UNPIN) | \
				 UPIN_OP(UPIN_OP_QUERY) | \
				 UPIN_OP(UPIN_OP_ACCESS_READ) | \
				 UPIN_OP(UPIN_OP_ACCESS_WRITE) | \
				 UPIN_OP(UPIN_OP_SEGMENTS))
#define UPIN_OPS_ACCESS		(UPIN_OP(UPIN_OP_ACCESS_READ) | \
				 UPIN_OP(UPIN_OP_ACCESS_WRITE))
#define UPIN_OPS_FEATURE	(UPIN_OP(UPIN_OP_ACCESS_WRITE) | \
				 UPIN_OP(UPIN_OP_SEGMENTS))
#define UPIN_OPS_STRUCT		(UPIN_OP(UPIN_OP_GET_INFO) | \
				 UPIN_OP(UPIN_OP_QUERY))

/**
 * struct upin_explanation - what an errno means for some calls
 * @err: the errno, positive
 * @ops: UPIN_OP() bits of the calls it applies to
 * @text: the C library's text for @err, then the meaning in parentheses
 */
struct upin_explanation {
	int err;
	unsigned int ops;
	const char *text;
};

/* The first entry that matches wins. */
static const struct upin_explanation upin_explanations[] = {
	{ ENOENT, UPIN_OP(UPIN_OP_OPEN),
	  "No such file or directory (is the upin module loaded?)"
	},
	{ EACCES, UPIN_OP(UPIN_OP_OPEN),
	  "Permission denied (the upin device node is root's by default: see the mode= module parameter and the udev rule example)"
	},
	{ ENOTTY, UPIN_OP(UPIN_OP_OPEN),
	  "Inappropriate ioctl for device (not a upin device)"
	},
	{ EPROTO, UPIN_OP(UPIN_OP_OPEN),
	  "Protocol error (the upin module speaks an ABI version this libupin does not know)"
	},
	{ EINVAL, UPIN_OPS_PIN,
	  "Invalid argument (a zero length, a range that wraps or leaves the user address space, or UPIN_PIN_SHORTTERM with UPIN_PIN_LONGTERM)"
	},
	{ EFAULT, UPIN_OPS_PIN,
	  "Bad address (a page of the range is unmapped, PROT_NONE, or read-only for a write pin)"
	},
	{ EOPNOTSUPP, UPIN_OPS_PIN,
	  "Operation not supported (a write pin of a shared mapping of a file that needs dirty tracking (ext4, xfs, ...: not shmem, memfd or hugetlbfs), which upin refuses on every kernel; or a pin flag the module lacks)"
	},
	{ ENOMEM, UPIN_OPS_PIN,
	  "Cannot allocate memory (the pin would take the process's pinned memory past RLIMIT_MEMLOCK: raise ulimit -l, or pin with CAP_IPC_LOCK)"
	},
	{ ENOSPC, UPIN_OPS_PIN,
	  "No space left on device (the context holds max_regions regions, or the pin would pass the module-wide max_pages)"
	},
	{ EINTR, UPIN_OPS_PIN,
	  "Interrupted system call (a fatal signal arrived while pinning; nothing stays pinned)"
	},
	/* The EPERMs of particular rules come before the owner's. */
	{ EPERM, UPIN_OP(UPIN_OP_PIN_SHORTTERM),
	  "Operation not permitted (a short-term pin, without UPIN_PIN_LONGTERM, is a diagnostic that needs CAP_SYS_ADMIN: every region is held across calls, so it is a longterm pin; or the context belongs to another process)"
	},
	{ EPERM, UPIN_OP(UPIN_OP_SEGMENTS),
	  "Operation not permitted (the physical layout of a region needs CAP_SYS_ADMIN; or the context belongs to another process)"
	},
	{ EPERM, UPIN_OP(UPIN_OP_ACCESS_WRITE),
	  "Operation not permitted (the region was pinned without UPIN_PIN_WRITE, or the context belongs to another process)"
	},
	{ EPERM, UPIN_OPS_OWNER,
	  "Operation not permitted (the context belongs to the process that opened the device, not to a forked child or a receiver of its file descriptor)"
	},
	{ ENOENT, UPIN_OPS_HANDLE,
	  "No such file or directory (the context holds no region with that handle)"
	},
	{ EINVAL, UPIN_OPS_ACCESS,
	  "Invalid argument (a zero length, or offset + length past the end of the region)"
	},
	{ EOPNOTSUPP, UPIN_OPS_FEATURE,
	  "Operation not supported (the upin module lacks this feature)"
	},
	{ EINVAL, UPIN_OPS_STRUCT,
	  "Invalid argument (the struct size is below its first released layout)"
	},
	{ E2BIG, UPIN_OPS_ALL,
	  "Argument list too long (the struct is larger than the module knows and its extra bytes are not zero, or larger than a page)"
	},
	{ ENOTTY, UPIN_OPS_ALL,
	  "Inappropriate ioctl for device (the upin module does not know this command)"
	},
};

const char *upin_strerror(int err, enum upin_op op)
{
	const char *text;
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(upin_explanations); i++) {
		const struct upin_explanation *e = &upin_explanations[i];

		if (e->err == err && (unsigned int)op < 32 &&
		    (e->ops & UPIN_OP(op)))
			return e->text;
	}
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	/* strerror() may use a static buffer; this never does. */
	text = strerrordesc_np(err);
#else
	text = strerror(err);
#endif
	return text ? text : "Unknown error";
}

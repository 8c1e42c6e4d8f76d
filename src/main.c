// SPDX-License-Identifier: GPL-2.0
/*
 * upin: pin user memory from a driver, the way a driver should.
 *
 * The /dev/upin misc device, its module parameters, and table-driven ioctl
 * dispatch: each command is one line in upin_ioctl_ops[]; the dispatcher
 * reads the size-first argument struct with copy_struct_from_user() and the
 * handler answers with upin_ucmd_respond(). See pin.c for the theory of
 * operation and include/uapi/linux/upin.h for the ABI.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "upin_private.h"

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Permissions of /dev/upin (default 0600)");

unsigned int upin_max_regions = 65536;
module_param_named(max_regions, upin_max_regions, uint, 0444);
MODULE_PARM_DESC(max_regions, "Regions one open file may hold (default 65536)");

unsigned long upin_max_pages;
module_param_named(max_pages, upin_max_pages, ulong, 0444);
MODULE_PARM_DESC(max_pages, "Pages all open files may pin together, 0 = no cap (default 0)");

/**
 * struct upin_ucmd - one ioctl call being executed
 * @ctx: the context of the file
 * @ubuffer: the user's argument struct
 * @user_size: its size as userspace sees it
 * @cmd: the kernel's copy, zero-extended to the kernel's size
 */
struct upin_ucmd {
	struct upin_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/*
 * Write the command's struct, @size bytes, back, truncated to what
 * userspace knows; as 64-bit words in one user access window when it is
 * aligned and userspace knows all of it (see upin_ucmd_read()).
 */
static int upin_ucmd_respond(struct upin_ucmd *ucmd, const void *cmd,
			     size_t size)
{
	u64 __user *dst = ucmd->ubuffer;
	const u64 *src = cmd;
	size_t i;

	if (ucmd->user_size < size ||
	    !IS_ALIGNED((unsigned long)dst, sizeof(u64)))
		return copy_to_user(dst, cmd, min_t(size_t, size,
						    ucmd->user_size)) ?
		       -EFAULT : 0;
	if (!user_write_access_begin(dst, size))
		return -EFAULT;
	for (i = 0; i < size / sizeof(u64); i++)
		unsafe_put_user(src[i], &dst[i], efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

static int upin_cmd_get_info(struct upin_ucmd *ucmd)
{
	struct upin_info *cmd = ucmd->cmd;
	struct upin_ctx *ctx = ucmd->ctx;

	if (cmd->flags)
		return -EOPNOTSUPP;

	cmd->abi_version = UPIN_ABI_VERSION;
	cmd->page_size = PAGE_SIZE;
	cmd->features = UPIN_FEATURE_PIN_WRITE | UPIN_FEATURE_PIN_LONGTERM |
			UPIN_FEATURE_ACCESS_WRITE | UPIN_FEATURE_SEGMENTS;
	spin_lock(&ctx->lock);
	cmd->nr_regions = ctx->nr_regions;
	cmd->pinned_pages = ctx->pinned_pages;
	cmd->metadata_bytes = ctx->metadata_bytes;
	spin_unlock(&ctx->lock);
	cmd->max_regions = ctx->max_regions;
	cmd->global_pinned_pages = atomic_long_read(&upin_global_pinned);
	cmd->global_max_pages = upin_max_pages;
	return upin_ucmd_respond(ucmd, cmd, sizeof(*cmd));
}

static int upin_cmd_pin(struct upin_ucmd *ucmd)
{
	struct upin_pin *cmd = ucmd->cmd;
	struct upin_kregion *region;
	int ret;

	if (cmd->flags & ~(UPIN_PIN_WRITE | UPIN_PIN_LONGTERM))
		return -EOPNOTSUPP;

	region = upin_pin(ucmd->ctx, cmd->addr, cmd->length, cmd->flags);
	if (IS_ERR(region))
		return PTR_ERR(region);
	cmd->handle = region->handle;
	cmd->npages = upin_region_npages(region);
	/*
	 * Not published yet, so no other command has seen the region: if
	 * userspace cannot learn its handle, it goes as if never pinned.
	 */
	ret = upin_ucmd_respond(ucmd, cmd, sizeof(*cmd));
	if (ret) {
		upin_ctx_abort(ucmd->ctx, region);
		return ret;
	}
	upin_ctx_finalize(ucmd->ctx, region);
	return 0;
}

static int upin_cmd_unpin(struct upin_ucmd *ucmd)
{
	struct upin_unpin *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	return upin_ctx_unpin(ucmd->ctx, cmd->handle);
}

static int upin_cmd_query(struct upin_ucmd *ucmd)
{
	struct upin_region *cmd = ucmd->cmd;
	struct upin_kregion *region;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	region = upin_ctx_get_region(ucmd->ctx, cmd->handle);
	if (!region)
		return -ENOENT;
	cmd->addr = region->addr;
	cmd->length = region->length;
	cmd->npages = upin_region_npages(region);
	/* The physical layout is privileged (see upin_cmd_segments()). */
	cmd->nr_segments = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN) ?
			   region->nr_segments : 0;
	cmd->pin_flags = region->flags;
	upin_region_put(region);
	return upin_ucmd_respond(ucmd, cmd, sizeof(*cmd));
}

static int upin_cmd_list(struct upin_ucmd *ucmd)
{
	struct upin_list *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ret = upin_ctx_list(ucmd->ctx, u64_to_user_ptr(cmd->handles),
			    cmd->capacity, &cmd->count);
	if (!ret)
		ret = upin_ucmd_respond(ucmd, cmd, sizeof(*cmd));
	if (!ret && cmd->count > cmd->capacity)
		ret = -EMSGSIZE;
	return ret;
}

static int upin_cmd_access(struct upin_ucmd *ucmd)
{
	struct upin_access *cmd = ucmd->cmd;
	bool write = cmd->flags & UPIN_ACCESS_WRITE;
	struct upin_kregion *region;
	u64 end;
	int ret;

	if (cmd->flags & ~UPIN_ACCESS_WRITE)
		return -EOPNOTSUPP;

	region = upin_ctx_get_region(ucmd->ctx, cmd->handle);
	if (!region)
		return -ENOENT;
	if (!cmd->length || check_add_overflow(cmd->offset, cmd->length, &end) ||
	    end > region->length)
		ret = -EINVAL;
	else if (write && !(region->flags & UPIN_PIN_WRITE))
		ret = -EPERM;
	else
		ret = upin_region_access(region, cmd->offset, cmd->length,
					 u64_to_user_ptr(cmd->buf), write);
	upin_region_put(region);
	return ret;
}

static int upin_cmd_segments(struct upin_ucmd *ucmd)
{
	struct upin_segments *cmd = ucmd->cmd;
	struct upin_kregion *region;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	/*
	 * Even the lengths of the segments tell which pages are physically
	 * adjacent, what /proc/PID/pagemap stopped telling unprivileged
	 * readers because it helps rowhammer and memory grooming.
	 */
	if (!capable(CAP_SYS_ADMIN)) {
		pr_info_ratelimited("%s[%d]: SEGMENTS refused: the physical layout needs CAP_SYS_ADMIN\n",
				    current->comm, task_tgid_nr(current));
		return -EPERM;
	}

	region = upin_ctx_get_region(ucmd->ctx, cmd->handle);
	if (!region)
		return -ENOENT;
	ret = upin_region_segments(region, u64_to_user_ptr(cmd->segs),
				   cmd->capacity);
	cmd->count = region->nr_segments;
	upin_region_put(region);

	if (!ret)
		ret = upin_ucmd_respond(ucmd, cmd, sizeof(*cmd));
	if (!ret && cmd->count > cmd->capacity)
		ret = -EMSGSIZE;
	return ret;
}

union upin_ucmd_buffer {
	struct upin_info info;
	struct upin_pin pin;
	struct upin_unpin unpin;
	struct upin_region region;
	struct upin_list list;
	struct upin_access access;
	struct upin_segments segments;
};

/**
 * struct upin_ioctl_op - how to run one command
 * @size: sizeof the command's struct in this kernel
 * @min_size: size of its first released layout; smaller is -EINVAL
 * @name: the command's name, for log lines
 * @any_mm: may be issued by a process whose mm is not the context's
 * @execute: the handler
 */
struct upin_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	const char *name;
	bool any_mm;
	int (*execute)(struct upin_ucmd *ucmd);
};

#define UPIN_IOCTL_OP(_ioctl, _fn, _struct, _last, _any_mm)		\
	[_IOC_NR(_ioctl) - UPIN_CMD_BASE] = {				\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union upin_ucmd_buffer) < \
					  sizeof(_struct)) +		\
			BUILD_BUG_ON_ZERO(sizeof(_struct) % sizeof(u64)), \
		.min_size = offsetofend(_struct, _last),		\
		.name = #_ioctl,					\
		.any_mm = _any_mm,					\
		.execute = _fn,						\
	}

static const struct upin_ioctl_op upin_ioctl_ops[] = {
	UPIN_IOCTL_OP(UPIN_IOC_GET_INFO, upin_cmd_get_info, struct upin_info,
		      global_max_pages, true),
	UPIN_IOCTL_OP(UPIN_IOC_PIN, upin_cmd_pin, struct upin_pin, npages,
		      false),
	UPIN_IOCTL_OP(UPIN_IOC_UNPIN, upin_cmd_unpin, struct upin_unpin, handle,
		      false),
	UPIN_IOCTL_OP(UPIN_IOC_QUERY, upin_cmd_query, struct upin_region,
		      __reserved, false),
	UPIN_IOCTL_OP(UPIN_IOC_LIST, upin_cmd_list, struct upin_list, count,
		      false),
	UPIN_IOCTL_OP(UPIN_IOC_ACCESS, upin_cmd_access, struct upin_access, buf,
		      false),
	UPIN_IOCTL_OP(UPIN_IOC_SEGMENTS, upin_cmd_segments,
		      struct upin_segments, count, false),
};

/*
 * Read the command's struct, as copy_struct_from_user() does: zero-extended
 * when userspace's is smaller, E2BIG when it is larger and has a nonzero
 * byte past the kernel's.
 *
 * The ioctl path is most of what a one-page pin costs, and a get_user() of
 * the size, then a byte copy (rep movsb) checked at run time by hardened
 * usercopy, is a large part of it. So an aligned struct is read in one
 * user access window, as 64-bit words: the first word, which holds the
 * size, then as many more as both structs have. Nothing past userspace's
 * struct is read but the rest of the first word, which an aligned size
 * field shares its page (and tag granule) with. A size that is not a
 * whole number of words takes the usual way, copy_struct_from_user().
 */
static int upin_ucmd_read(struct upin_ucmd *ucmd,
			  const struct upin_ioctl_op *op)
{
	const u64 __user *src = ucmd->ubuffer;
	union upin_ucmd_buffer *buf = ucmd->cmd;
	u64 *dst = ucmd->cmd;
	size_t i, len = 0;
	int ret;

	if (IS_ALIGNED((unsigned long)src, sizeof(u64))) {
		if (!user_read_access_begin(src, op->size))
			return -EFAULT;
		unsafe_get_user(dst[0], &src[0], efault);
		/* Every command's struct begins with its size. */
		ucmd->user_size = buf->info.size;
		len = min_t(size_t, ucmd->user_size, op->size);
		if (len < op->min_size || !IS_ALIGNED(len, sizeof(u64)))
			len = 0;
		for (i = 1; i < len / sizeof(u64); i++)
			unsafe_get_user(dst[i], &src[i], efault);
		user_read_access_end();
	} else if (get_user(ucmd->user_size, (u32 __user *)src)) {
		return -EFAULT;
	}
	/* No struct will be this large: do not scan megabytes for zeroes. */
	if (ucmd->user_size > PAGE_SIZE)
		return -E2BIG;
	if (ucmd->user_size < op->min_size) {
		pr_debug("%s[%d]: %s: size %u below %u\n", current->comm,
			 task_tgid_nr(current), op->name, ucmd->user_size,
			 op->min_size);
		return -EINVAL;
	}
	if (!len)
		return copy_struct_from_user(buf, op->size, ucmd->ubuffer,
					     ucmd->user_size);
	if (len < op->size)
		memset((u8 *)buf + len, 0, op->size - len);
	if (ucmd->user_size > op->size) {
		ret = check_zeroed_user(ucmd->ubuffer + op->size,
					ucmd->user_size - op->size);
		if (ret <= 0)
			return ret ?: -E2BIG;
	}
	return 0;

efault:
	user_read_access_end();
	return -EFAULT;
}

static long upin_fops_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct upin_ctx *ctx = filp->private_data;
	const struct upin_ioctl_op *op;
	union upin_ucmd_buffer buf;
	struct upin_ucmd ucmd = {};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < UPIN_CMD_BASE || nr - UPIN_CMD_BASE >= ARRAY_SIZE(upin_ioctl_ops))
		return -ENOTTY;
	op = &upin_ioctl_ops[nr - UPIN_CMD_BASE];
	if (cmd != _IO(UPIN_TYPE, nr) || !op->execute)
		return -ENOTTY;
	if (!op->any_mm && current->mm != ctx->mm)
		return -EPERM;

	ucmd.ctx = ctx;
	ucmd.ubuffer = (void __user *)arg;
	ucmd.cmd = &buf;
	ret = upin_ucmd_read(&ucmd, op);
	if (!ret)
		/* PIN and UNPIN without a retpoline: they are the hot ones. */
		ret = INDIRECT_CALL_2(op->execute, upin_cmd_pin, upin_cmd_unpin,
				      &ucmd);
	if (ret)
		pr_debug("%s[%d]: %s: error %d\n", current->comm,
			 task_tgid_nr(current), op->name, ret);
	return ret;
}

static int upin_fops_open(struct inode *inode, struct file *filp)
{
	struct upin_ctx *ctx = upin_ctx_create();

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	filp->private_data = ctx;
	return 0;
}

static int upin_fops_release(struct inode *inode, struct file *filp)
{
	upin_ctx_destroy(filp->private_data);
	return 0;
}

static const struct file_operations upin_fops;

/**
 * upin_region_get() - a driver's reference to a region of a upin file
 * @file: an open file of /dev/upin, as the driver got it from the process
 * @handle: a handle of that file's context
 *
 * The same rules as the ioctls: the calling process must be the one whose
 * memory the context pins (a forked child or a receiver of the file over
 * SCM_RIGHTS is refused), and the handle must be the context's. The
 * reference keeps the region pinned after UNPIN or close() until
 * upin_region_put(); see include/linux/upin_dma.h.
 *
 * Return: the region, or ERR_PTR(-EINVAL) (not a upin file), -EPERM
 * (another process's context) or -ENOENT (no such handle).
 */
struct upin_kregion *upin_region_get(struct file *file, u64 handle)
{
	struct upin_ctx *ctx;
	struct upin_kregion *region;

	if (!file || file->f_op != &upin_fops)
		return ERR_PTR(-EINVAL);
	ctx = file->private_data;
	if (current->mm != ctx->mm)
		return ERR_PTR(-EPERM);
	region = upin_ctx_get_region(ctx, handle);
	return region ?: ERR_PTR(-ENOENT);
}
EXPORT_SYMBOL_NS_GPL(upin_region_get, UPIN_NS);

/**
 * upin_region_get_fd() - upin_region_get() of a file descriptor
 * @fd: a descriptor of the calling process, of an open /dev/upin
 * @handle: a handle of that file's context
 *
 * Return: as upin_region_get(), and ERR_PTR(-EBADF) for a descriptor that
 * is not open.
 */
struct upin_kregion *upin_region_get_fd(int fd, u64 handle)
{
	struct upin_kregion *region;
	struct fd f = fdget(fd);

	if (!fd_file(f))
		return ERR_PTR(-EBADF);
	region = upin_region_get(fd_file(f), handle);
	fdput(f);
	return region;
}
EXPORT_SYMBOL_NS_GPL(upin_region_get_fd, UPIN_NS);

static const struct file_operations upin_fops = {
	.owner = THIS_MODULE,
	.open = upin_fops_open,
	.release = upin_fops_release,
	.unlocked_ioctl = upin_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice upin_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "upin",
	.fops = &upin_fops,
};

static int __init upin_init(void)
{
	int ret;

	if (mode & ~0777) {
		pr_err("mode=0%o: not a permission mode\n", mode);
		return -EINVAL;
	}
	upin_misc.mode = mode;
	/* The count of regions is an atomic_t. */
	if (upin_max_regions > INT_MAX) {
		pr_err("max_regions=%u: at most %d\n", upin_max_regions, INT_MAX);
		return -EINVAL;
	}

	ret = upin_region_cache_init();
	if (ret)
		return ret;
	upin_debugfs_init();
	ret = misc_register(&upin_misc);
	if (ret) {
		upin_debugfs_exit();
		upin_region_cache_exit();
		return ret;
	}
	upin_gup_test_init();
	return 0;
}

static void __exit upin_exit(void)
{
	upin_gup_test_exit();
	misc_deregister(&upin_misc);
	upin_debugfs_exit();
	upin_region_cache_exit();
}

module_init(upin_init);
module_exit(upin_exit);

MODULE_DESCRIPTION("Pin user memory through /dev/upin");
MODULE_LICENSE("GPL");

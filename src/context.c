// SPDX-License-Identifier: GPL-2.0
/*
 * upin contexts: the per-open-file state, its handles, and its release.
 *
 * Handles index an xarray. They are issued in increasing order from
 * &upin_ctx.last_handle and never reused while the file is open, also when
 * a pin fails after its handle was reserved. A reserved slot holds NULL, so
 * lookups and LIST skip pins still in flight.
 */
#include <linux/cred.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "upin_private.h"

/**
 * upin_ctx_create() - create the context of a new open file
 *
 * Binds the context to current's mm and user, taking a reference on each.
 *
 * Return: the context, or ERR_PTR(-ENOMEM), or ERR_PTR(-EINVAL) for a task
 * without an mm.
 */
struct upin_ctx *upin_ctx_create(void)
{
	struct upin_ctx *ctx;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	xa_init_flags(&ctx->regions, XA_FLAGS_ACCOUNT);
	ctx->max_regions = upin_max_regions;
	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ctx->user = get_uid(current_user());
	ctx->pid = task_tgid_nr(current);
	get_task_comm(ctx->comm, current);
	upin_debugfs_add(ctx);
	return ctx;
}

/**
 * upin_ctx_destroy() - release everything a context holds, and free it
 * @ctx: a context no command can reach any more (the file's last reference
 *       is gone)
 *
 * Unpins every region and returns its charges to the mm and user that were
 * charged, whatever task runs this: the last closer, or an exiting process
 * that has already dropped its mm.
 */
void upin_ctx_destroy(struct upin_ctx *ctx)
{
	struct upin_kregion *region;
	unsigned long handle;

	upin_debugfs_del(ctx);
	xa_for_each(&ctx->regions, handle, region) {
		xa_erase(&ctx->regions, handle);
		upin_region_put(region);
		cond_resched();
	}
	xa_destroy(&ctx->regions);
	free_uid(ctx->user);
	mmdrop(ctx->mm);
	kfree(ctx);
}

/**
 * upin_ctx_reserve() - reserve a handle and a slot for a new region
 * @ctx: the context
 * @handle: out, the handle
 *
 * Return: 0, -ENOSPC when the context holds max_regions regions or has used
 * up the handle space, or -ENOMEM.
 */
int upin_ctx_reserve(struct upin_ctx *ctx, unsigned long *handle)
{
	int ret;

	xa_lock(&ctx->regions);
	if (ctx->nr_regions >= ctx->max_regions ||
	    ctx->last_handle == ULONG_MAX) {
		xa_unlock(&ctx->regions);
		return -ENOSPC;
	}
	*handle = ++ctx->last_handle;
	ctx->nr_regions++;
	/* Inserting NULL reserves the slot, so the final store cannot fail. */
	ret = __xa_insert(&ctx->regions, *handle, NULL, GFP_KERNEL_ACCOUNT);
	if (ret)
		ctx->nr_regions--;
	xa_unlock(&ctx->regions);
	return ret;
}

/**
 * upin_ctx_unreserve() - give back a slot whose pin failed
 * @ctx: the context
 * @handle: a handle from upin_ctx_reserve(); it is not issued again
 */
void upin_ctx_unreserve(struct upin_ctx *ctx, unsigned long handle)
{
	xa_lock(&ctx->regions);
	__xa_erase(&ctx->regions, handle);
	ctx->nr_regions--;
	xa_unlock(&ctx->regions);
}

/**
 * upin_ctx_commit() - publish a pinned region under its reserved handle
 * @ctx: the context
 * @region: the region; the context takes over its reference
 */
void upin_ctx_commit(struct upin_ctx *ctx, struct upin_kregion *region)
{
	xa_lock(&ctx->regions);
	WARN_ON(__xa_store(&ctx->regions, region->handle, region, 0));
	ctx->pinned_pages += region->npages;
	xa_unlock(&ctx->regions);
}

/**
 * upin_ctx_get_region() - look a handle up and take a reference
 * @ctx: the context
 * @handle: a handle from userspace
 *
 * Return: the region, to be released with upin_region_put(), or NULL when
 * this context does not hold @handle.
 */
struct upin_kregion *upin_ctx_get_region(struct upin_ctx *ctx, u64 handle)
{
	struct upin_kregion *region;

	if (!handle || handle > ULONG_MAX)
		return NULL;
	xa_lock(&ctx->regions);
	region = xa_load(&ctx->regions, handle);
	if (region)
		refcount_inc(&region->users);
	xa_unlock(&ctx->regions);
	return region;
}

/**
 * upin_ctx_unpin() - remove a region from its context and drop it
 * @ctx: the context
 * @handle: a handle from userspace
 *
 * The pages are unpinned now, or when the last command still working on the
 * region finishes.
 *
 * Return: 0, or -ENOENT when this context does not hold @handle.
 */
int upin_ctx_unpin(struct upin_ctx *ctx, u64 handle)
{
	struct upin_kregion *region = NULL;

	if (!handle || handle > ULONG_MAX)
		return -ENOENT;
	xa_lock(&ctx->regions);
	region = xa_load(&ctx->regions, handle);
	if (region) {
		__xa_erase(&ctx->regions, handle);
		ctx->nr_regions--;
		ctx->pinned_pages -= region->npages;
	}
	xa_unlock(&ctx->regions);
	if (!region)
		return -ENOENT;
	upin_region_put(region);
	return 0;
}

/**
 * upin_ctx_list() - copy the context's handles to userspace
 * @ctx: the context
 * @handles: user array of @capacity handles
 * @capacity: entries @handles can take
 * @count: out, regions the context holds
 *
 * Writes the first min(@capacity, @count) handles in ascending order.
 *
 * Return: 0, or -EFAULT.
 */
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count)
{
	struct upin_kregion *region;
	unsigned long handle;
	u32 n = 0;

	xa_for_each(&ctx->regions, handle, region) {
		if (n < capacity && put_user((u64)handle, &handles[n]))
			return -EFAULT;
		n++;
	}
	*count = n;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * upin contexts: the per-open-file state, its handles, and its release.
 *
 * Handles index an xarray. They are issued in increasing order from
 * &upin_ctx.last_handle and never reused while the file is open, also when
 * a pin fails after its handle was reserved.
 *
 * A region is published only when nothing can fail any more, as iommufd
 * does with its objects (iommufd_object_alloc() and _finalize()): before
 * pinning, upin_ctx_reserve() counts the region in &upin_ctx.nr_regions and
 * reserves the slot of its handle (xa_reserve(), an XA_ZERO_ENTRY); once
 * the result is copied out to userspace, upin_ctx_finalize() stores the
 * region in that slot, which needs no memory and cannot fail. A pin that
 * fails before, the copy out included, releases the slot
 * (upin_ctx_unreserve(), upin_ctx_abort()). A reserved slot reads as empty:
 * lookups (xa_load()), LIST and the debugfs listing (xa_for_each()) skip it
 * and UNPIN answers ENOENT, so no command ever sees a region in flight.
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

	refcount_set(&ctx->users, 1);
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
 * upin_ctx_destroy() - release everything a context holds
 * @ctx: a context no command can reach any more (the file's last reference
 *       is gone, so no pin is in flight and no slot is only reserved)
 *
 * Drops every region: each is unpinned now, or when the last driver that
 * maps it lets go, and its charges go back to the mm and user that were
 * charged, whatever task runs this: the last closer, or an exiting process
 * that has already dropped its mm. The context itself is freed with its
 * last region.
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
	upin_ctx_put(ctx);
}

/**
 * upin_ctx_put() - drop a reference to a context; the last one frees it
 * @ctx: the context
 *
 * The last reference is the file's or a region's: by then no region is
 * left, so the mm and the user can go.
 */
void upin_ctx_put(struct upin_ctx *ctx)
{
	if (!refcount_dec_and_test(&ctx->users))
		return;
	free_uid(ctx->user);
	mmdrop(ctx->mm);
	kfree(ctx);
}

/*
 * Is the slot of @handle reserved? Only the pin that was issued @handle
 * fills or releases it, and UNPIN leaves a reserved slot alone, so once
 * this is true it stays true for that pin: a lockless look is enough. The
 * usual case, a slot upin_ctx_finalize() reserved ahead, is told by
 * &upin_ctx.reserved_ahead without a walk; that is written only after the
 * slot is reserved, and only the pin of @handle releases it.
 */
static bool upin_ctx_slot_reserved(struct upin_ctx *ctx, unsigned long handle)
{
	XA_STATE(xas, &ctx->regions, handle);
	void *entry;

	if (READ_ONCE(ctx->reserved_ahead) == handle)
		return true;
	rcu_read_lock();
	entry = xas_load(&xas);
	rcu_read_unlock();
	return xa_is_zero(entry);
}

/**
 * upin_ctx_reserve() - count a new region, issue its handle, reserve its slot
 * @ctx: the context
 * @handle: out, the handle
 *
 * The count and the handle are atomics, taken without the lock. The slot
 * is allocated now, so that upin_ctx_finalize() cannot fail; it reads as
 * empty until then. Usually the previous pin has reserved it already (see
 * upin_ctx_finalize()), and then this takes no lock at all.
 *
 * Return: 0, -ENOSPC when the context holds max_regions regions or has
 * used up the handle space, or -ENOMEM when the xarray cannot grow (the
 * handle is not issued again).
 */
int upin_ctx_reserve(struct upin_ctx *ctx, unsigned long *handle)
{
	long last = atomic_long_read(&ctx->last_handle);
	int ret;

	if (!atomic_add_unless(&ctx->nr_regions, 1, ctx->max_regions))
		return -ENOSPC;
	do {
		if ((unsigned long)last == ULONG_MAX) {
			ret = -ENOSPC;
			goto err;
		}
	} while (!atomic_long_try_cmpxchg(&ctx->last_handle, &last, last + 1));
	*handle = (unsigned long)last + 1;
	if (upin_ctx_slot_reserved(ctx, *handle))
		return 0;
	ret = xa_reserve(&ctx->regions, *handle, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err;
	return 0;

err:
	atomic_dec(&ctx->nr_regions);
	return ret;
}

/**
 * upin_ctx_unreserve() - release the slot of a region that is not published
 * @ctx: the context
 * @handle: a handle from upin_ctx_reserve() that upin_ctx_finalize() was
 *          not called for
 *
 * Uncounts the region. Its handle is not issued again.
 */
void upin_ctx_unreserve(struct upin_ctx *ctx, unsigned long handle)
{
	xa_release(&ctx->regions, handle);
	atomic_dec(&ctx->nr_regions);
}

/**
 * upin_ctx_finalize() - publish a pinned region in its reserved slot
 * @ctx: the context
 * @region: a region from upin_pin() whose result userspace has; the
 *          context takes over its reference
 *
 * The last step of a pin, and one that cannot fail: the slot was allocated
 * by upin_ctx_reserve(). From here on lookups, LIST and UNPIN see the
 * region, and GET_INFO counts its pages and metadata.
 *
 * Under the same lock, the slot of the next handle is reserved ahead, if
 * that handle has not been issued yet and the node is there or can be had
 * without sleeping: handles only grow, so without it a process that pins
 * and unpins one region at a time would have the xarray allocate a node at
 * every pin and free it, through RCU, at every unpin (a third of a
 * one-page pin+unpin in a profile, docs/performance.md), and take the lock
 * once more to reserve. With it, the next pin finds its slot reserved and
 * the node of the handles in use stays until they move past it. A slot
 * reserved ahead whose handle is never issued reads as empty and goes with
 * the context; one that could not be reserved is the next pin's to do.
 */
void upin_ctx_finalize(struct upin_ctx *ctx, struct upin_kregion *region)
{
	size_t bytes = upin_region_metadata(region);
	XA_STATE(xas, &ctx->regions, region->handle);
	void *old;

	xa_lock(&ctx->regions);
	old = xas_store(&xas, region);
	ctx->pinned_pages += region->npages;
	ctx->metadata_bytes += bytes;
	/*
	 * Not issued yet: the pin that will be issued it finds the slot
	 * reserved, or reserves it itself under this lock, after us.
	 */
	if (region->handle != ULONG_MAX &&
	    atomic_long_read(&ctx->last_handle) == region->handle &&
	    !xas_next(&xas)) {
		/* A node, if needed, is allocated GFP_NOWAIT. */
		xas_store(&xas, XA_ZERO_ENTRY);
		if (!xas_error(&xas))
			WRITE_ONCE(ctx->reserved_ahead, region->handle + 1);
	}
	xa_unlock(&ctx->regions);
	/* A store over a reserved slot allocates nothing. */
	WARN_ON_ONCE(old != XA_ZERO_ENTRY);
}

/**
 * upin_ctx_abort() - drop a pinned region instead of publishing it
 * @ctx: the context
 * @region: a region from upin_pin() whose result could not be copied out
 *
 * Releases the region's slot and its reference: the pages are unpinned and
 * the charges returned. No other command has seen the region.
 */
void upin_ctx_abort(struct upin_ctx *ctx, struct upin_kregion *region)
{
	upin_ctx_unreserve(ctx, region->handle);
	upin_region_put(region);
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
	XA_STATE(xas, &ctx->regions, handle);
	struct upin_kregion *region;

	if (!handle || handle > ULONG_MAX)
		return -ENOENT;
	xa_lock(&ctx->regions);
	region = xas_load(&xas);
	/* The reserved slot of a pin in flight stays for upin_ctx_finalize(). */
	if (xa_is_zero(region))
		region = NULL;
	if (region) {
		xas_store(&xas, NULL);
		ctx->pinned_pages -= region->npages;
		ctx->metadata_bytes -= upin_region_metadata(region);
	}
	xa_unlock(&ctx->regions);
	if (!region)
		return -ENOENT;
	atomic_dec(&ctx->nr_regions);
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

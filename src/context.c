// SPDX-License-Identifier: GPL-2.0
/*
 * upin contexts: the per-open-file state, its handles, and its release.
 *
 * Handles index an xarray. They are issued in increasing order from
 * &upin_ctx.last_handle and never reused while the file is open, also when
 * a pin fails after its handle was reserved.
 *
 * A region is published only when nothing can fail any more, as iommufd
 * does with its objects (iommufd_object_alloc() and _finalize()). Before
 * pinning, upin_ctx_reserve() counts the region in &upin_ctx.nr_regions,
 * issues its handle and stores it in its slot, unpublished; once the result
 * is copied out to userspace, upin_ctx_finalize() sets
 * &upin_kregion.published, which needs no memory and cannot fail. A pin
 * that fails before, the copy out included, removes the region
 * (upin_ctx_unreserve(), upin_ctx_abort()). Every command that finds a
 * region takes the xarray's lock and skips one that is not published:
 * lookups, UNPIN (ENOENT), LIST and the debugfs listing, so no command
 * ever sees a region in flight. iommufd reserves the slot with an
 * XA_ZERO_ENTRY and stores the object at finalize; storing the region at
 * once and publishing it with a flag costs one xarray store per pin, not
 * two.
 */
#include <linux/cred.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "upin_private.h"

/* Handles UPIN_IOC_LIST gathers under the lock at a time. */
#define UPIN_LIST_BATCH 32

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

/**
 * upin_ctx_reserve() - count a new region, issue its handle, store it
 * @ctx: the context
 * @region: a region that is not pinned yet; &upin_kregion.handle is set
 *
 * The region is stored in its slot now, unpublished, so that
 * upin_ctx_finalize() needs no memory and cannot fail; until then every
 * command reads the slot as empty. The handle is issued under the lock, so
 * two pins never get the same one, even when the store drops the lock to
 * allocate a node.
 *
 * The slot at the end of the handle's xarray node is reserved as well, once
 * per node (&upin_ctx.keepalive): handles only grow, so without it a
 * process that pins and unpins one region at a time would have the
 * xarray allocate a node at every pin and free it, through RCU, at every
 * unpin (a third of a one-page pin+unpin in a profile,
 * docs/performance.md). With it the node stays until the handles move past
 * it, when the region of its last handle takes that slot over.
 *
 * Return: 0, -ENOSPC when the context holds max_regions regions or has
 * used up the handle space, or -ENOMEM when the xarray cannot grow (the
 * handle is not issued again).
 */
int upin_ctx_reserve(struct upin_ctx *ctx, struct upin_kregion *region)
{
	unsigned long handle, last;
	void *old;

	xa_lock(&ctx->regions);
	if (ctx->nr_regions >= ctx->max_regions ||
	    ctx->last_handle == ULONG_MAX) {
		xa_unlock(&ctx->regions);
		return -ENOSPC;
	}
	handle = ++ctx->last_handle;
	ctx->nr_regions++;
	region->handle = handle;
	old = __xa_store(&ctx->regions, handle, region, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		ctx->nr_regions--;
		xa_unlock(&ctx->regions);
		return xa_err(old);
	}
	last = handle | XA_CHUNK_MASK;
	if (handle > ctx->keepalive && handle != last) {
		/* The node of @handle is there: this allocates nothing. */
		old = __xa_cmpxchg(&ctx->regions, last, NULL, XA_ZERO_ENTRY,
				   GFP_NOWAIT);
		if (!xa_is_err(old))
			ctx->keepalive = last;
	}
	xa_unlock(&ctx->regions);
	return 0;
}

/**
 * upin_ctx_unreserve() - remove a region that is not published
 * @ctx: the context
 * @region: a region stored by upin_ctx_reserve() that upin_ctx_finalize()
 *          was not called for
 *
 * Uncounts the region; the caller keeps its reference. Its handle is not
 * issued again.
 */
void upin_ctx_unreserve(struct upin_ctx *ctx, struct upin_kregion *region)
{
	xa_lock(&ctx->regions);
	__xa_erase(&ctx->regions, region->handle);
	ctx->nr_regions--;
	xa_unlock(&ctx->regions);
}

/**
 * upin_ctx_finalize() - publish a pinned region
 * @ctx: the context
 * @region: a region from upin_pin() whose result userspace has; the
 *          context takes over its reference
 *
 * The last step of a pin, and one that cannot fail: the region is in its
 * slot since upin_ctx_reserve(), and publishing it is a flag, set under the
 * lock every lookup takes. From here on lookups, LIST and UNPIN see the
 * region, and GET_INFO counts its pages and metadata.
 */
void upin_ctx_finalize(struct upin_ctx *ctx, struct upin_kregion *region)
{
	size_t bytes = upin_region_metadata(region);

	xa_lock(&ctx->regions);
	region->published = true;
	ctx->pinned_pages += region->npages;
	ctx->metadata_bytes += bytes;
	xa_unlock(&ctx->regions);
}

/**
 * upin_ctx_abort() - drop a pinned region instead of publishing it
 * @ctx: the context
 * @region: a region from upin_pin() whose result could not be copied out
 *
 * Removes the region and drops its reference: the pages are unpinned and
 * the charges returned. No other command has seen the region.
 */
void upin_ctx_abort(struct upin_ctx *ctx, struct upin_kregion *region)
{
	upin_ctx_unreserve(ctx, region);
	upin_region_put(region);
}

/*
 * The published region at @entry, an entry of @ctx->regions loaded under
 * its lock, or NULL: an empty slot, a reserved one (XA_ZERO_ENTRY) or a pin
 * in flight.
 */
static struct upin_kregion *upin_ctx_published(void *entry)
{
	struct upin_kregion *region = entry;

	if (!region || xa_is_zero(region) || !region->published)
		return NULL;
	return region;
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
	region = upin_ctx_published(xa_load(&ctx->regions, handle));
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
	/* The slot of a pin in flight stays for upin_ctx_finalize(). */
	region = upin_ctx_published(xas_load(&xas));
	if (region) {
		xas_store(&xas, NULL);
		ctx->nr_regions--;
		ctx->pinned_pages -= region->npages;
		ctx->metadata_bytes -= upin_region_metadata(region);
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
 * Writes the first min(@capacity, @count) handles in ascending order. The
 * handles are gathered UPIN_LIST_BATCH at a time under the lock, which
 * tells a published region from a pin in flight, and copied out after.
 *
 * Return: 0, or -EFAULT.
 */
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count)
{
	u64 batch[UPIN_LIST_BATCH];
	unsigned long next = 0;
	unsigned int nr, copy;
	bool more = true;
	void *entry;
	u32 n = 0;

	while (more) {
		XA_STATE(xas, &ctx->regions, next);

		nr = 0;
		more = false;
		xa_lock(&ctx->regions);
		xas_for_each(&xas, entry, ULONG_MAX) {
			if (!upin_ctx_published(entry))
				continue;
			if (nr == UPIN_LIST_BATCH) {
				next = xas.xa_index;
				more = true;
				break;
			}
			batch[nr++] = xas.xa_index;
		}
		xa_unlock(&ctx->regions);
		copy = n < capacity ? min(nr, capacity - n) : 0;
		if (copy && copy_to_user(handles + n, batch,
					 copy * sizeof(*batch)))
			return -EFAULT;
		n += nr;
		cond_resched();
	}
	*count = n;
	return 0;
}

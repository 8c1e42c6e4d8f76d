// SPDX-License-Identifier: GPL-2.0
/*
 * upin contexts: the per-open-file state, its handles, and its release.
 *
 * Handles are issued in increasing order from &upin_ctx.last_handle and
 * never reused while the file is open, also when a pin fails after its
 * handle was issued. A context finds its regions by handle in a red-black
 * tree whose node is part of the region (&upin_kregion.node), under
 * &upin_ctx.lock.
 *
 * Why a tree and not an xarray: handles only grow, so an xarray indexed by
 * handle gets deeper with every pin ever made, not with the regions held,
 * and a process that pins and unpins one region at a time has it allocate
 * and free a node as its handles move on. The tree is as deep as the
 * regions held are many, and inserting needs no memory: it cannot fail.
 *
 * A region is published only when nothing can fail any more, as iommufd
 * does with its objects (iommufd_object_alloc() and _finalize()). Before
 * pinning, upin_ctx_reserve() counts the region in &upin_ctx.nr_regions and
 * issues its handle; once the result is copied out to userspace,
 * upin_ctx_finalize() inserts it in the tree. A pin that fails before, the
 * copy out included, only gives its count back (upin_ctx_unreserve(),
 * upin_ctx_abort()). Until then no command can find the region: lookups,
 * UNPIN (ENOENT), LIST and the debugfs listing see the tree only.
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
	spin_lock_init(&ctx->lock);
	ctx->regions = RB_ROOT;
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
 *       is gone, so no pin is in flight)
 *
 * Drops every region: each is unpinned now, or when the last driver that
 * maps it lets go, and its charges go back to the mm and user that were
 * charged, whatever task runs this: the last closer, or an exiting process
 * that has already dropped its mm. The context itself is freed with its
 * last region.
 */
void upin_ctx_destroy(struct upin_ctx *ctx)
{
	struct upin_kregion *region, *next;

	upin_debugfs_del(ctx);
	/* The tree goes as a whole: no command can look at it any more. */
	rbtree_postorder_for_each_entry_safe(region, next, &ctx->regions,
					     node) {
		upin_region_put(region);
		cond_resched();
	}
	ctx->regions = RB_ROOT;
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
 * upin_ctx_reserve() - count a new region and issue its handle
 * @ctx: the context
 * @region: a region that is not pinned yet; &upin_kregion.handle is set
 *
 * Nothing is stored: upin_ctx_finalize() inserts the region, which needs
 * no memory.
 *
 * Return: 0, or -ENOSPC when the context holds max_regions regions or has
 * used up the handle space.
 */
int upin_ctx_reserve(struct upin_ctx *ctx, struct upin_kregion *region)
{
	int ret = 0;

	spin_lock(&ctx->lock);
	if (ctx->nr_regions < ctx->max_regions &&
	    ctx->last_handle < ULONG_MAX) {
		ctx->nr_regions++;
		region->handle = ++ctx->last_handle;
	} else {
		ret = -ENOSPC;
	}
	spin_unlock(&ctx->lock);
	return ret;
}

/**
 * upin_ctx_unreserve() - give back the count of a region not published
 * @ctx: the context
 * @region: a region from upin_ctx_reserve() that upin_ctx_finalize() was
 *          not called for
 *
 * The caller keeps its reference. The handle is not issued again.
 */
void upin_ctx_unreserve(struct upin_ctx *ctx, struct upin_kregion *region)
{
	spin_lock(&ctx->lock);
	ctx->nr_regions--;
	spin_unlock(&ctx->lock);
}

static bool upin_region_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct upin_kregion, node)->handle <
	       rb_entry(b, struct upin_kregion, node)->handle;
}

static int upin_region_cmp(const void *key, const struct rb_node *node)
{
	u64 handle = *(const u64 *)key;
	unsigned long h = rb_entry(node, struct upin_kregion, node)->handle;

	return handle < h ? -1 : handle > h;
}

/* The published region of @handle. Called under &upin_ctx.lock. */
static struct upin_kregion *upin_ctx_find(struct upin_ctx *ctx, u64 handle)
{
	struct rb_node *node = rb_find(&handle, &ctx->regions,
				       upin_region_cmp);

	return node ? rb_entry(node, struct upin_kregion, node) : NULL;
}

/*
 * The published region with the smallest handle at or above @handle, or
 * NULL. Called under &upin_ctx.lock.
 */
static struct rb_node *upin_ctx_lower_bound(struct upin_ctx *ctx, u64 handle)
{
	struct rb_node *node = ctx->regions.rb_node, *match = NULL;

	while (node) {
		if (rb_entry(node, struct upin_kregion, node)->handle >= handle) {
			match = node;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return match;
}

/**
 * upin_ctx_finalize() - publish a pinned region
 * @ctx: the context
 * @region: a region from upin_pin() whose result userspace has; the
 *          context takes over its reference
 *
 * The last step of a pin, and one that cannot fail: an insert in the tree
 * needs no memory. From here on lookups, LIST and UNPIN see the region,
 * and GET_INFO counts its pages and metadata.
 */
void upin_ctx_finalize(struct upin_ctx *ctx, struct upin_kregion *region)
{
	size_t bytes = upin_region_metadata(region);

	spin_lock(&ctx->lock);
	rb_add(&region->node, &ctx->regions, upin_region_less);
	ctx->pinned_pages += upin_region_npages(region);
	ctx->metadata_bytes += bytes;
	spin_unlock(&ctx->lock);
}

/**
 * upin_ctx_abort() - drop a pinned region instead of publishing it
 * @ctx: the context
 * @region: a region from upin_pin() whose result could not be copied out
 *
 * Gives back its count and drops its reference: the pages are unpinned and
 * the charges returned. No other command has seen the region.
 */
void upin_ctx_abort(struct upin_ctx *ctx, struct upin_kregion *region)
{
	upin_ctx_unreserve(ctx, region);
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

	spin_lock(&ctx->lock);
	region = upin_ctx_find(ctx, handle);
	if (region)
		refcount_inc(&region->users);
	spin_unlock(&ctx->lock);
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
	struct upin_kregion *region;

	spin_lock(&ctx->lock);
	region = upin_ctx_find(ctx, handle);
	if (region) {
		rb_erase(&region->node, &ctx->regions);
		ctx->nr_regions--;
		ctx->pinned_pages -= upin_region_npages(region);
		ctx->metadata_bytes -= upin_region_metadata(region);
	}
	spin_unlock(&ctx->lock);
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
 * Writes the first min(@capacity, @count) handles in ascending order: the
 * tree's order. They are gathered UPIN_LIST_BATCH at a time under the
 * lock and copied out after, each batch from the handle after the last.
 *
 * Return: 0, or -EFAULT.
 */
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count)
{
	u64 batch[UPIN_LIST_BATCH], next = 0;
	unsigned int nr, copy;
	struct rb_node *node;
	u32 n = 0;

	do {
		nr = 0;
		spin_lock(&ctx->lock);
		for (node = upin_ctx_lower_bound(ctx, next);
		     node && nr < UPIN_LIST_BATCH; node = rb_next(node))
			batch[nr++] = rb_entry(node, struct upin_kregion,
					       node)->handle;
		spin_unlock(&ctx->lock);
		copy = n < capacity ? min(nr, capacity - n) : 0;
		if (copy && copy_to_user(handles + n, batch,
					 copy * sizeof(*batch)))
			return -EFAULT;
		n += nr;
		/* @node is not looked at unlocked: it says more follow. */
		if (node)
			next = batch[nr - 1] + 1;
		cond_resched();
	} while (node);
	*count = n;
	return 0;
}

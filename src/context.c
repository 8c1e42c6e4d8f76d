// SPDX-License-Identifier: GPL-2.0
/*
 * upin contexts: the per-open-file state, its handles, and its release.
 *
 * Handles are issued in increasing order from &upin_ctx.last_handle and
 * never reused while the file is open, also when a pin fails after its
 * handle was issued. A context finds its regions by handle in a hash table
 * under &upin_ctx.lock: an array of buckets, a power of two of them and at
 * least as many as the regions counted (&upin_ctx.nr_regions), a region in
 * the bucket of its handle's low bits (&upin_kregion.hnode). Handles are
 * consecutive, so the regions spread evenly and a bucket holds about one.
 * The array doubles, before a pin, when the regions would outnumber it,
 * and never shrinks while the file is open; it starts inline in the
 * context (UPIN_CTX_INLINE_BUCKETS).
 *
 * Why not an xarray indexed by handle, or a tree: handles only grow, so the
 * xarray gets deeper with every pin ever made, not with the regions held
 * (four levels after a million pins), and needs memory to publish; a tree
 * is as deep as the regions held are many (seventeen nodes among 65536).
 * A lookup here reads a bucket and the region, whatever the history and
 * however many regions are held, and publishing allocates nothing. The
 * xarray's walks cost a one-page pin+unpin about a tenth of its time
 * (docs/performance.md).
 *
 * A region is published only when nothing can fail any more, as iommufd
 * does with its objects (iommufd_object_alloc() and _finalize()). Before
 * pinning, upin_ctx_reserve() counts the region in &upin_ctx.nr_regions,
 * grows the table if needed, and issues its handle; once the result is
 * copied out to userspace, upin_ctx_finalize() adds it to its bucket,
 * which needs no memory and cannot fail. A pin that fails before, the copy
 * out included, only gives its count back (upin_ctx_unreserve(),
 * upin_ctx_abort()). Until then no command can find the region: lookups,
 * UNPIN (ENOENT), LIST and the debugfs listing see the table only.
 */
#include <linux/cred.h>
#include <linux/log2.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/sort.h>
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
	spin_lock_init(&ctx->lock);
	/* kzalloc() left the inline buckets empty. */
	ctx->buckets = ctx->inline_buckets;
	ctx->bucket_bits = ilog2(UPIN_CTX_INLINE_BUCKETS);
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
	struct upin_kregion *region;
	struct hlist_node *next;
	unsigned long i;

	upin_debugfs_del(ctx);
	/* The table goes as a whole: no command can look at it any more. */
	for (i = 0; i < BIT(ctx->bucket_bits); i++) {
		hlist_for_each_entry_safe(region, next, &ctx->buckets[i],
					  hnode) {
			upin_region_put(region);
			cond_resched();
		}
	}
	if (ctx->buckets != ctx->inline_buckets)
		kvfree(ctx->buckets);
	ctx->buckets = NULL;
	upin_ctx_put(ctx);
}

/**
 * upin_ctx_free() - free a context whose last reference is gone
 * @ctx: the context
 *
 * Called by upin_ctx_put(). The last reference is the file's or a
 * region's: by then no region is left, so the mm and the user can go.
 */
void upin_ctx_free(struct upin_ctx *ctx)
{
	upin_region_free_spare(ctx);
	free_uid(ctx->user);
	mmdrop(ctx->mm);
	kfree(ctx);
}

/* The bucket of @handle. Called under &upin_ctx.lock. */
static struct hlist_head *upin_ctx_bucket(struct upin_ctx *ctx, u64 handle)
{
	return &ctx->buckets[handle & (BIT(ctx->bucket_bits) - 1)];
}

/*
 * Move every region to @buckets, 2^@bits of them, and return the old
 * array for the caller to free once unlocked (NULL for the inline one).
 * Called under &upin_ctx.lock.
 */
static struct hlist_head *upin_ctx_rehash(struct upin_ctx *ctx,
					  struct hlist_head *buckets,
					  unsigned int bits)
{
	struct hlist_head *old = ctx->buckets;
	unsigned long i, n = BIT(ctx->bucket_bits);
	struct upin_kregion *region;
	struct hlist_node *next;

	for (i = 0; i < n; i++) {
		hlist_for_each_entry_safe(region, next, &old[i], hnode) {
			hlist_del(&region->hnode);
			hlist_add_head(&region->hnode,
				       &buckets[region->handle &
						(BIT(bits) - 1)]);
		}
	}
	ctx->buckets = buckets;
	ctx->bucket_bits = bits;
	return old == ctx->inline_buckets ? NULL : old;
}

/**
 * upin_ctx_reserve() - count a new region and issue its handle
 * @ctx: the context
 * @region: a region that is not pinned yet; &upin_kregion.handle is set
 *
 * Doubles the hash table first if the regions would outnumber its buckets,
 * so that upin_ctx_finalize() needs no memory.
 *
 * Return: 0, -ENOSPC when the context holds max_regions regions or has
 * used up the handle space, or -ENOMEM when the table cannot grow.
 */
int upin_ctx_reserve(struct upin_ctx *ctx, struct upin_kregion *region)
{
	struct hlist_head *buckets = NULL, *old = NULL;
	unsigned int bits = 0;
	int ret = 0;

	spin_lock(&ctx->lock);
	for (;;) {
		if (ctx->nr_regions >= ctx->max_regions ||
		    ctx->last_handle == ULONG_MAX) {
			ret = -ENOSPC;
			break;
		}
		if (ctx->nr_regions < BIT(ctx->bucket_bits)) {
			ctx->nr_regions++;
			region->handle = ++ctx->last_handle;
			break;
		}
		/*
		 * Ours, unless another pin grew the table meanwhile. Then
		 * the regions fit, since they never outnumber the buckets:
		 * one table is replaced at most.
		 */
		if (buckets && bits > ctx->bucket_bits) {
			old = upin_ctx_rehash(ctx, buckets, bits);
			buckets = NULL;
			continue;
		}
		bits = ctx->bucket_bits + 1;
		spin_unlock(&ctx->lock);
		kvfree(buckets);
		buckets = kvcalloc(BIT(bits), sizeof(*buckets),
				   GFP_KERNEL_ACCOUNT);
		if (!buckets)
			return -ENOMEM;
		spin_lock(&ctx->lock);
	}
	spin_unlock(&ctx->lock);
	/* A table we did not use, or the one ours replaced (rarely either). */
	if (unlikely(buckets || old)) {
		kvfree(buckets);
		kvfree(old);
	}
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

/* The published region of @handle. Called under &upin_ctx.lock. */
static inline struct upin_kregion *upin_ctx_find(struct upin_ctx *ctx,
						 u64 handle)
{
	struct upin_kregion *region;

	hlist_for_each_entry(region, upin_ctx_bucket(ctx, handle), hnode)
		if (region->handle == handle)
			return region;
	return NULL;
}

/**
 * upin_ctx_finalize() - publish a pinned region
 * @ctx: the context
 * @region: a region from upin_pin() whose result userspace has; the
 *          context takes over its reference
 *
 * The last step of a pin, and one that cannot fail: adding a region to its
 * bucket needs no memory. From here on lookups, LIST and UNPIN see the
 * region, and GET_INFO counts its pages and metadata.
 */
void upin_ctx_finalize(struct upin_ctx *ctx, struct upin_kregion *region)
{
	size_t bytes = upin_region_metadata(region);

	spin_lock(&ctx->lock);
	hlist_add_head(&region->hnode, upin_ctx_bucket(ctx, region->handle));
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
		hlist_del(&region->hnode);
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

static int upin_handle_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/**
 * upin_ctx_list() - copy the context's handles to userspace
 * @ctx: the context
 * @handles: user array of @capacity handles
 * @capacity: entries @handles can take
 * @count: out, regions the context holds
 *
 * Writes the first min(@capacity, @count) handles in ascending order. The
 * handles of every bucket are gathered under the lock into a buffer sized
 * by &upin_ctx.nr_regions (which counts pins in flight too, so it is
 * enough), then sorted and copied out. @capacity 0 only counts.
 *
 * Return: 0, -ENOMEM or -EFAULT.
 */
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count)
{
	struct upin_kregion *region;
	unsigned int size, n = 0;
	unsigned long i;
	int ret = 0;
	u64 *all;

	spin_lock(&ctx->lock);
	size = ctx->nr_regions;
	if (!capacity) {
		/* The count alone: no buffer, no sort. */
		for (i = 0; i < BIT(ctx->bucket_bits); i++)
			hlist_for_each_entry(region, &ctx->buckets[i], hnode)
				n++;
		spin_unlock(&ctx->lock);
		*count = n;
		return 0;
	}
	spin_unlock(&ctx->lock);
	for (;;) {
		all = kvmalloc_array(max(size, 1U), sizeof(*all), GFP_KERNEL);
		if (!all)
			return -ENOMEM;
		spin_lock(&ctx->lock);
		if (ctx->nr_regions <= size)
			break;
		size = ctx->nr_regions;
		spin_unlock(&ctx->lock);
		kvfree(all);
	}
	for (i = 0; i < BIT(ctx->bucket_bits); i++)
		hlist_for_each_entry(region, &ctx->buckets[i], hnode)
			all[n++] = region->handle;
	spin_unlock(&ctx->lock);

	sort(all, n, sizeof(*all), upin_handle_cmp, NULL);
	if (n && copy_to_user(handles, all, min(n, capacity) * sizeof(*all)))
		ret = -EFAULT;
	kvfree(all);
	*count = n;
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin internal types. See pin.c for the theory of operation.
 */
#ifndef __UPIN_PRIVATE_H
#define __UPIN_PRIVATE_H

#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/upin.h>

#include "compat.h"

struct mm_struct;
struct user_struct;

/* Module parameters, read-only once the module is loaded (main.c). */
extern unsigned int upin_max_regions;
extern unsigned long upin_max_pages;

/* Pages pinned through upin by every context (pin.c). */
extern atomic_long_t upin_global_pinned;

/**
 * struct upin_ctx - one open file of /dev/upin
 * @mm: the opener's mm, mmgrab()ed: the only mm this context pins from, and
 *      the one whose pinned_vm is charged
 * @user: the opener's user, charged for RLIMIT_MEMLOCK
 * @regions: handle -> &struct upin_kregion; a slot holds NULL (reserved)
 *           while its pin is in flight
 * @last_handle: the last handle issued, protected by the @regions lock
 * @nr_regions: regions held or in flight, protected by the @regions lock
 * @max_regions: cap on @nr_regions, upin_max_regions at open time
 * @pinned_pages: pages held by the context's regions, protected by the
 *                @regions lock
 * @pid: tgid of the opener, for the debugfs listing
 * @comm: command name of the opener, for the debugfs listing
 * @node: entry in the list of every context (debugfs.c)
 */
struct upin_ctx {
	struct mm_struct *mm;
	struct user_struct *user;
	struct xarray regions;
	unsigned long last_handle;
	unsigned int nr_regions;
	unsigned int max_regions;
	unsigned long pinned_pages;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	struct list_head node;
};

/**
 * struct upin_kregion - one pinned range, named by a handle: the kernel side
 * of a region (struct upin_region is the uapi argument of UPIN_IOC_QUERY)
 * @users: one reference held by &upin_ctx.regions, one by each command
 *         working on the region; the last put unpins
 * @ctx: the owning context, which outlives the region
 * @handle: the handle, the region's index in &upin_ctx.regions
 * @addr: &upin_pin.addr as given
 * @length: &upin_pin.length as given
 * @flags: UPIN_PIN_* flags as given
 * @charged_user: @npages were charged to &upin_ctx.user's locked_vm
 * @start: @addr untagged and rounded down to a page: where pinning starts
 * @npages: pages pinned, from @addr rounded down to @addr + @length rounded up
 * @nr_pinned: pages pinned so far (== @npages once the region is committed)
 * @nr_segments: physically contiguous runs, counted when committed
 * @pages: storage of the page pointers, see region.c; nothing outside
 *         region.c looks inside
 */
struct upin_kregion {
	refcount_t users;
	struct upin_ctx *ctx;
	unsigned long handle;
	u64 addr;
	u64 length;
	u32 flags;
	bool charged_user;
	unsigned long start;
	unsigned long npages;
	unsigned long nr_pinned;
	unsigned long nr_segments;
	struct page ***pages;
};

/* context.c */
struct upin_ctx *upin_ctx_create(void);
void upin_ctx_destroy(struct upin_ctx *ctx);
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count);
struct upin_kregion *upin_ctx_get_region(struct upin_ctx *ctx, u64 handle);
int upin_ctx_reserve(struct upin_ctx *ctx, unsigned long *handle);
void upin_ctx_unreserve(struct upin_ctx *ctx, unsigned long handle);
void upin_ctx_commit(struct upin_ctx *ctx, struct upin_kregion *region);
int upin_ctx_unpin(struct upin_ctx *ctx, u64 handle);

/* region.c */
struct upin_kregion *upin_region_alloc(struct upin_ctx *ctx, u64 addr,
				       u64 length, u32 flags);
int upin_region_alloc_pages(struct upin_kregion *region);
void upin_region_free(struct upin_kregion *region);
struct page **upin_region_batch(struct upin_kregion *region,
				unsigned long *nr);
void upin_region_unpin(struct upin_kregion *region);
void upin_region_put(struct upin_kregion *region);
unsigned long upin_region_count_segments(struct upin_kregion *region);
int upin_region_access(struct upin_kregion *region, u64 offset, u64 length,
		       void __user *buf, bool write);
int upin_region_segments(struct upin_kregion *region,
			 struct upin_segment __user *segs, u64 capacity,
			 bool show_phys);

/* pin.c */
int upin_pin_region(struct upin_kregion *region);
void upin_unpin_region(struct upin_kregion *region);

/* debugfs.c */
void upin_debugfs_init(void);
void upin_debugfs_exit(void);
void upin_debugfs_add(struct upin_ctx *ctx);
void upin_debugfs_del(struct upin_ctx *ctx);

/* gup_test.c */
void upin_gup_test_init(void);
void upin_gup_test_exit(void);

#endif /* __UPIN_PRIVATE_H */

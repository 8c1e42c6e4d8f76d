/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin internal types. See pin.c for the theory of operation.
 */
#ifndef __UPIN_PRIVATE_H
#define __UPIN_PRIVATE_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/upin.h>
#include <linux/upin_dma.h>

#include "compat.h"

struct dentry;
struct mm_struct;
struct page;
struct sg_table;
struct user_struct;

/* Module parameters, read-only once the module is loaded (main.c). */
extern unsigned int upin_max_regions;
extern unsigned long upin_max_pages;

/* Pages pinned through upin by every context (pin.c). */
extern atomic_long_t upin_global_pinned;

/* Buckets of a context's hash table of handles before it grows (context.c). */
#define UPIN_CTX_INLINE_BUCKETS 4

/**
 * struct upin_ctx - one open file of /dev/upin
 * @users: one reference held by the open file, one by each region (which
 *         may outlive the file while a driver maps it, see upin_dma.h)
 * @lock: protects @buckets and the members after it up to @metadata_bytes
 * @mm: the opener's mm, mmgrab()ed: the only mm this context pins from, and
 *      the one whose pinned_vm is charged
 * @user: the opener's user, charged for RLIMIT_MEMLOCK
 * @buckets: the hash table of published regions, by handle
 *           (&upin_kregion.hnode, context.c), 2^@bucket_bits buckets, at
 *           least @nr_regions
 * @bucket_bits: log2 of the buckets
 * @last_handle: the last handle issued
 * @nr_regions: regions held or in flight, at most @max_regions
 * @max_regions: cap on @nr_regions, upin_max_regions at open time
 * @pinned_pages: pages held by the context's published regions
 * @metadata_bytes: kernel memory held for the context's published regions
 *                  (see upin_region_metadata())
 * @pid: tgid of the opener, for the debugfs listing
 * @comm: command name of the opener, for the debugfs listing
 * @node: entry in the list of every context (debugfs.c)
 * @spare: the descriptor of the last region freed, kept for the next pin
 *         so that a pin+unpin loop allocates none (pin.c); taken and
 *         given back with xchg() and cmpxchg(), not under @lock
 * @inline_buckets: the first buckets, before the table grows
 */
struct upin_ctx {
	refcount_t users;
	spinlock_t lock;	/* protects @buckets to @metadata_bytes */
	struct mm_struct *mm;
	struct user_struct *user;
	struct hlist_head *buckets;
	unsigned int bucket_bits;
	unsigned long last_handle;
	unsigned int nr_regions;
	unsigned int max_regions;
	unsigned long pinned_pages;
	unsigned long metadata_bytes;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	struct list_head node;
	struct upin_kregion *spare;
	struct hlist_head inline_buckets[UPIN_CTX_INLINE_BUCKETS];
};

/**
 * struct upin_chunk - one block of a region's entries (region.c)
 * @entries: UPIN_CHUNK_ENTRIES entries, fewer in the last chunk
 * @first: index in the region of the first page @entries describe
 */
struct upin_chunk {
	u64 *entries;
	unsigned long first;
};

/**
 * struct upin_kregion - one pinned range, named by a handle: the kernel side
 * of a region (struct upin_region is the uapi argument of UPIN_IOC_QUERY)
 * @users: one reference held by the context's table, one by each command
 *         working on the region and each driver holding it (upin_dma.h);
 *         the last put unpins
 * @flags: UPIN_PIN_* flags as given
 * @charged_user: upin_region_npages() were charged to &upin_ctx.user's
 *                locked_vm
 * @ctx: the owning context, referenced: it outlives the region
 * @hnode: in the bucket of @handle of &upin_ctx.buckets, once published
 * @handle: the handle
 * @addr: &upin_pin.addr as given
 * @length: &upin_pin.length as given
 * @nr_segments: physically contiguous runs, counted when pinned
 * @nr_entries: entries describing the pinned pages, see region.c; 0 once
 *              unpinned
 * @entry: the only entry, when @nr_entries is 1
 * @entries: the entries, up to a page of them
 * @chunks: the chunks of entries, when there are more
 *
 * Nothing outside region.c looks at @entry and @chunks.
 */
struct upin_kregion {
	refcount_t users;
	u16 flags;
	bool charged_user;
	struct upin_ctx *ctx;
	struct hlist_node hnode;
	unsigned long handle;
	u64 addr;
	u64 length;
	unsigned long nr_segments;
	unsigned long nr_entries;
	union {
		u64 entry;
		u64 *entries;
		struct upin_chunk *chunks;
	};
};

/**
 * upin_region_npages() - pages a region pins
 * @region: the region
 *
 * From &upin_kregion.addr rounded down to addr + length rounded up: what
 * the offset of addr in its page and the length say, whatever the tag bits
 * of addr (untagged_addr() depends on the task asking). Computed, not
 * stored, to keep the descriptor small (upin_region_metadata()).
 *
 * Return: the number of pages, at least one.
 */
static inline unsigned long upin_region_npages(const struct upin_kregion *region)
{
	return (offset_in_page(region->addr) + region->length + PAGE_SIZE - 1) >>
	       PAGE_SHIFT;
}

/**
 * upin_pages_contiguous() - how many pages follow the first in the memmap
 * @pages: pages as GUP returned them
 * @nr: how many to look at, at least one
 *
 * Counts the pages from @pages[0] on whose struct pages follow one another,
 * comparing the pointers only, four at a time, and reading no struct page.
 * That is what it takes to know that GUP returned consecutive pages of a
 * folio: a PMD-mapped THP or a hugetlb page comes back that way, but a
 * PTE-mapped large folio may have any page in the middle replaced (COW
 * after fork(), mremap() of a part of it), which its ends do not show.
 * Pages that follow in the memmap are physically contiguous too: with
 * classic SPARSEMEM, where each memory section has a memmap of its own, the
 * count stops at the end of the section of @pages[0].
 *
 * Return: 1 to @nr.
 */
static inline unsigned int upin_pages_contiguous(struct page **pages,
						 unsigned int nr)
{
	struct page *first = pages[0];
	unsigned int i = 1;

#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
	nr = min_t(unsigned long, nr, PAGES_PER_SECTION -
		   (page_to_pfn(first) & (PAGES_PER_SECTION - 1)));
#endif
	for (; i + 4 <= nr; i += 4) {
		if ((pages[i] != first + i) | (pages[i + 1] != first + i + 1) |
		    (pages[i + 2] != first + i + 2) |
		    (pages[i + 3] != first + i + 3))
			break;
	}
	while (i < nr && pages[i] == first + i)
		i++;
	return i;
}

/**
 * upin_folio_pages_returned() - the pages of a folio GUP returned in a row
 * @folio: the folio of @pages[0]
 * @pages: pages as GUP returned them
 * @nr: how many to look at, at least one
 *
 * What a walk over a GUP batch passes over at once when it decides per
 * folio: the pages from @pages[0] on that are the next pages of @folio,
 * found by upin_pages_contiguous() and bounded by the folio's end.
 *
 * Return: 1 to @nr.
 */
static inline unsigned int upin_folio_pages_returned(struct folio *folio,
						     struct page **pages,
						     unsigned int nr)
{
	unsigned long left;

	if (!folio_test_large(folio))
		return 1;
	left = folio_nr_pages(folio) - folio_page_idx(folio, pages[0]);
	return upin_pages_contiguous(pages, min_t(unsigned long, left, nr));
}

/* context.c */
struct upin_ctx *upin_ctx_create(void);
void upin_ctx_destroy(struct upin_ctx *ctx);
void upin_ctx_free(struct upin_ctx *ctx);
int upin_ctx_list(struct upin_ctx *ctx, u64 __user *handles, u32 capacity,
		  u32 *count);
struct upin_kregion *upin_ctx_get_region(struct upin_ctx *ctx, u64 handle);
int upin_ctx_reserve(struct upin_ctx *ctx, struct upin_kregion *region);
void upin_ctx_unreserve(struct upin_ctx *ctx, struct upin_kregion *region);
void upin_ctx_finalize(struct upin_ctx *ctx, struct upin_kregion *region);
void upin_ctx_abort(struct upin_ctx *ctx, struct upin_kregion *region);
int upin_ctx_unpin(struct upin_ctx *ctx, u64 handle);

/* region.c: a region's storage, and walks over it */
unsigned int upin_region_add_pages(struct upin_kregion *region,
				   struct page **pages, unsigned int nr);
void upin_region_trim(struct upin_kregion *region);
void upin_region_release_pages(struct upin_kregion *region);
size_t upin_region_entries_bytes(struct upin_kregion *region);
int upin_region_access(struct upin_kregion *region, u64 offset, u64 length,
		       void __user *buf, bool write);
int upin_region_segments(struct upin_kregion *region,
			 struct upin_segment __user *segs, u64 capacity);
int upin_region_sg_table(struct upin_kregion *region, struct sg_table *sgt,
			 size_t max_seg, unsigned long boundary);

/**
 * upin_ctx_put() - drop a reference to a context; the last one frees it
 * @ctx: the context
 */
static inline void upin_ctx_put(struct upin_ctx *ctx)
{
	if (refcount_dec_and_test(&ctx->users))
		upin_ctx_free(ctx);
}

/*
 * The entries of a region of one page or one folio are inline in its
 * descriptor (region.c): the two helpers below answer for those without a
 * call, as they are most of the small pins.
 */

/**
 * upin_region_finish() - complete a region once every page is stored
 * @region: a region that holds all of its pages
 *
 * Trims the storage of its entries to its exact size.
 */
static inline void upin_region_finish(struct upin_kregion *region)
{
	if (region->nr_entries > 1)
		upin_region_trim(region);
}

/**
 * upin_region_metadata() - kernel memory a region holds
 * @region: a finished region
 *
 * Counts the region descriptor (the object size of its slab cache, pin.c),
 * which holds its node in the context's hash table of handles, one bucket
 * of that table, and its entries (chunks and directory) as the allocator
 * sized them.
 *
 * Return: bytes.
 */
static inline size_t upin_region_metadata(struct upin_kregion *region)
{
	size_t bytes = sizeof(struct upin_kregion) + sizeof(struct hlist_head);

	if (region->nr_entries > 1)
		bytes += upin_region_entries_bytes(region);
	return bytes;
}

/*
 * pin.c: a region's lifetime and charges. upin_region_put(), for drivers
 * too, is declared in upin_dma.h.
 */
int upin_region_cache_init(void);
void upin_region_cache_exit(void);
void upin_region_free_spare(struct upin_ctx *ctx);
struct upin_kregion *upin_pin(struct upin_ctx *ctx, u64 addr, u64 length,
			      u32 flags);

/* fault.c: fault injection for tests (UPIN_FAULT_INJECTION=1, see Kbuild) */
#ifdef UPIN_FAULT_INJECTION
void upin_fault_init(struct dentry *dir);
int upin_fault_gup(struct page **pages, int ret);
#else
static inline void upin_fault_init(struct dentry *dir)
{
}

static inline int upin_fault_gup(struct page **pages, int ret)
{
	return ret;
}
#endif

/* debugfs.c */
void upin_debugfs_init(void);
void upin_debugfs_exit(void);
void upin_debugfs_add(struct upin_ctx *ctx);
void upin_debugfs_del(struct upin_ctx *ctx);

/*
 * gup_test.c: /sys/kernel/debug/gup_test for the kernel's GUP selftests,
 * for tests only (UPIN_GUP_TEST=1, see Kbuild)
 */
#ifdef UPIN_GUP_TEST
void upin_gup_test_init(void);
void upin_gup_test_exit(void);
#else
static inline void upin_gup_test_init(void)
{
}

static inline void upin_gup_test_exit(void)
{
}
#endif

#endif /* __UPIN_PRIVATE_H */

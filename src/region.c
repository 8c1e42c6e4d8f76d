// SPDX-License-Identifier: GPL-2.0
/*
 * upin region storage: where a region keeps its pinned pages, and the two
 * ways the "device" reaches them (ACCESS copies, SEGMENTS reports).
 *
 * The pages live in chunks of UPIN_CHUNK_PAGES pointers, one page each, found
 * through a directory of chunk pointers. GUP writes straight into a chunk, so
 * pinning needs no temporary array and no allocation sized by the whole
 * range: the directory is 1/512 of a flat page array and every other
 * allocation is one page. This file is the only one that knows the layout;
 * everything else goes through upin_region_batch() and the walkers below.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "upin_private.h"

#define UPIN_CHUNK_PAGES (PAGE_SIZE / sizeof(struct page *))

static unsigned long upin_region_nr_chunks(struct upin_kregion *region)
{
	return DIV_ROUND_UP(region->npages, UPIN_CHUNK_PAGES);
}

static struct page *upin_region_page(struct upin_kregion *region,
				     unsigned long index)
{
	return region->pages[index / UPIN_CHUNK_PAGES][index % UPIN_CHUNK_PAGES];
}

/**
 * upin_region_alloc() - allocate a region for [addr, addr + length)
 * @ctx: the context the region will belong to
 * @addr: user address, as given to UPIN_IOC_PIN
 * @length: bytes, as given to UPIN_IOC_PIN
 * @flags: UPIN_PIN_* flags, already validated
 *
 * Checks that the range is a non-empty part of the user address space and
 * sizes the region. No page storage is allocated: upin_region_alloc_pages()
 * does that once the pages are charged.
 *
 * Return: the region with one reference, or ERR_PTR(-EINVAL or -ENOMEM).
 */
struct upin_kregion *upin_region_alloc(struct upin_ctx *ctx, u64 addr,
				       u64 length, u32 flags)
{
	struct upin_kregion *region;
	unsigned long start;
	u64 end;

	if (!length || check_add_overflow(addr, length, &end) ||
	    end > ULONG_MAX)
		return ERR_PTR(-EINVAL);
	start = untagged_addr((unsigned long)addr);
	if (start + length > TASK_SIZE)
		return ERR_PTR(-EINVAL);

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return ERR_PTR(-ENOMEM);
	refcount_set(&region->users, 1);
	region->ctx = ctx;
	region->addr = addr;
	region->length = length;
	region->flags = flags;
	region->start = start & PAGE_MASK;
	region->npages = ((start + length - 1) >> PAGE_SHIFT) -
			 (start >> PAGE_SHIFT) + 1;
	return region;
}

/**
 * upin_region_alloc_pages() - allocate the chunk directory of a region
 * @region: a region from upin_region_alloc()
 *
 * Return: 0 or -ENOMEM.
 */
int upin_region_alloc_pages(struct upin_kregion *region)
{
	region->pages = kvcalloc(upin_region_nr_chunks(region),
				 sizeof(*region->pages),
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return region->pages ? 0 : -ENOMEM;
}

/**
 * upin_region_batch() - where GUP stores the next pages of a region
 * @region: the region being pinned
 * @nr: out, how many page pointers the returned array can take (at least 1,
 *      at most the pages still to pin)
 *
 * Return: the slot for page &upin_kregion.nr_pinned, or NULL when a chunk
 * cannot be allocated.
 */
struct page **upin_region_batch(struct upin_kregion *region, unsigned long *nr)
{
	unsigned long chunk = region->nr_pinned / UPIN_CHUNK_PAGES;
	unsigned long slot = region->nr_pinned % UPIN_CHUNK_PAGES;

	if (!region->pages[chunk]) {
		region->pages[chunk] = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
		if (!region->pages[chunk])
			return NULL;
	}
	*nr = min(UPIN_CHUNK_PAGES - slot, region->npages - region->nr_pinned);
	return &region->pages[chunk][slot];
}

/**
 * upin_region_unpin() - unpin every page the region has pinned so far
 * @region: the region
 *
 * Write pins are marked dirty, as the device may have written them.
 * unpin_user_pages_dirty_lock() releases consecutive pages of one folio with
 * a single atomic operation, so a THP or hugetlb run costs one update per
 * folio, not one per page.
 */
void upin_region_unpin(struct upin_kregion *region)
{
	bool dirty = region->flags & UPIN_PIN_WRITE;
	unsigned long done, n;

	for (done = 0; done < region->nr_pinned; done += n) {
		n = min(UPIN_CHUNK_PAGES, region->nr_pinned - done);
		unpin_user_pages_dirty_lock(region->pages[done / UPIN_CHUNK_PAGES],
					    n, dirty);
		cond_resched();
	}
	region->nr_pinned = 0;
}

/**
 * upin_region_free() - free a region's storage and the region
 * @region: a region with no page pinned
 */
void upin_region_free(struct upin_kregion *region)
{
	unsigned long i;

	WARN_ON_ONCE(region->nr_pinned);
	if (region->pages) {
		for (i = 0; i < upin_region_nr_chunks(region); i++)
			kfree(region->pages[i]);
		kvfree(region->pages);
	}
	kfree(region);
}

/**
 * upin_region_put() - drop a reference; the last one unpins and frees
 * @region: the region
 */
void upin_region_put(struct upin_kregion *region)
{
	if (!refcount_dec_and_test(&region->users))
		return;
	upin_unpin_region(region);
	upin_region_free(region);
}

/* A maximal physically contiguous run of a region's pages. */
struct upin_run {
	unsigned long index;
	unsigned long nr;
	struct page *page;
};

/*
 * Advance @run to the region's next run; start from a zeroed run. Return:
 * false past the last one.
 */
static bool upin_region_next_run(struct upin_kregion *region,
				 struct upin_run *run)
{
	unsigned long pfn;

	run->index += run->nr;
	if (run->index >= region->nr_pinned)
		return false;
	run->page = upin_region_page(region, run->index);
	pfn = page_to_pfn(run->page);
	for (run->nr = 1; run->index + run->nr < region->nr_pinned; run->nr++)
		if (page_to_pfn(upin_region_page(region, run->index + run->nr)) !=
		    pfn + run->nr)
			break;
	return true;
}

/**
 * upin_region_count_segments() - count the region's physically contiguous runs
 * @region: a fully pinned region
 *
 * Return: the number of segments UPIN_IOC_SEGMENTS reports.
 */
unsigned long upin_region_count_segments(struct upin_kregion *region)
{
	struct upin_run run = {};
	unsigned long count = 0;

	while (upin_region_next_run(region, &run))
		count++;
	return count;
}

#define UPIN_SEG_BATCH (PAGE_SIZE / sizeof(struct upin_segment))

/**
 * upin_region_segments() - copy the region's segments to userspace
 * @region: a committed region
 * @segs: user array of @capacity entries
 * @capacity: entries @segs can take
 * @show_phys: report physical addresses (the caller has CAP_SYS_ADMIN)
 *
 * Writes the first min(@capacity, &upin_kregion.nr_segments) segments,
 * a page of them per copy_to_user().
 *
 * Return: 0 or -EFAULT, -ENOMEM.
 */
int upin_region_segments(struct upin_kregion *region,
			 struct upin_segment __user *segs, u64 capacity,
			 bool show_phys)
{
	struct upin_segment *batch;
	struct upin_run run = {};
	unsigned int used = 0;
	int ret = 0;

	if (!capacity)
		return 0;
	batch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!batch)
		return -ENOMEM;

	while (capacity && upin_region_next_run(region, &run)) {
		batch[used].phys = show_phys ? PFN_PHYS(page_to_pfn(run.page)) : 0;
		batch[used].length = (u64)run.nr << PAGE_SHIFT;
		capacity--;
		if (++used < UPIN_SEG_BATCH && capacity)
			continue;
		if (copy_to_user(segs, batch, used * sizeof(*batch))) {
			ret = -EFAULT;
			break;
		}
		segs += used;
		used = 0;
	}
	if (!ret && used && copy_to_user(segs, batch, used * sizeof(*batch)))
		ret = -EFAULT;
	kfree(batch);
	return ret;
}

/**
 * upin_region_access() - copy between a user buffer and the pinned pages
 * @region: a committed region
 * @offset: bytes from &upin_kregion.addr
 * @length: bytes to copy, non-zero, within the region (checked by the caller)
 * @buf: the user buffer
 * @write: copy from @buf into the pages, else from the pages into @buf
 *
 * Goes through the pinned pages themselves with kmap_local_page(), as a
 * device would, one page at a time, so a copy may cross page and folio
 * boundaries and the pages may be in highmem. The mapping stays valid across
 * a fault on @buf.
 *
 * A copy that faults on @buf stops there: the pages hold what was copied
 * before the fault and nothing else changes.
 *
 * Return: 0, -EFAULT when @buf faults, -EINTR on a fatal signal.
 */
int upin_region_access(struct upin_kregion *region, u64 offset, u64 length,
		       void __user *buf, bool write)
{
	unsigned long pos = offset_in_page(region->addr) + offset;

	/*
	 * copy_from_user() zero-fills what it could not copy: straight into a
	 * pinned page that would wipe device memory on a bad @buf. Check the
	 * buffer once and use __copy_from_user(), which leaves the rest of the
	 * page as it was.
	 */
	if (!access_ok(buf, length))
		return -EFAULT;

	while (length) {
		struct page *page = upin_region_page(region, pos >> PAGE_SHIFT);
		unsigned long off = offset_in_page(pos);
		unsigned long n = min_t(u64, length, PAGE_SIZE - off);
		unsigned long left;
		void *kaddr;

		kaddr = kmap_local_page(page);
		if (write) {
			left = __copy_from_user(kaddr + off, buf, n);
			flush_dcache_page(page);
		} else {
			left = copy_to_user(buf, kaddr + off, n);
		}
		kunmap_local(kaddr);
		if (left)
			return -EFAULT;

		pos += n;
		buf += n;
		length -= n;
		if (length) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * upin region storage: how a region keeps its pinned pages, and the walks
 * over them (releasing the pages, UPIN_IOC_SEGMENTS, UPIN_IOC_ACCESS, the
 * scatterlist of a DMA mapping).
 *
 * A region keeps no struct page pointers. It keeps *entries* of 64 bits, in
 * the order of the region, each naming one or two *spans* of physically
 * contiguous pages:
 *
 *  - a run (bit 63 clear): the physical address of its first page, the
 *    number of pages minus one in the low PAGE_SHIFT bits. Up to
 *    UPIN_RUN_MAX pages (4096 with 4 KiB pages) that are contiguous both
 *    physically and in the memmap (their struct pages): a THP or hugetlb
 *    folio, part of one, or adjacent folios, in one entry.
 *  - a pair (bit 63 set): two single pages, as two 31-bit pfns. Scattered
 *    4 KiB pages cost 4 bytes each this way; a page at or above pfn 2^31
 *    (8 TiB with 4 KiB pages) is a run of one.
 *
 * Physical addresses are below 2^63 on every architecture (the widest
 * MAX_PHYSMEM_BITS is 52), so bit 63 of a run is always clear.
 *
 * Where the entries live depends on how many there are. One is kept
 * inline in &upin_kregion.entry: a one-page pin, or a THP or hugetlb range
 * that is one contiguous run, costs no allocation besides the region. Up
 * to UPIN_CHUNK_ENTRIES (a page of them) live in one array,
 * &upin_kregion.entries, allocated for at most as many entries as the
 * region has pages. More live in page-sized chunks, all full but the last,
 * listed in a directory, &upin_kregion.chunks, that records the first page
 * index of every chunk, so that ACCESS finds an offset by binary search;
 * the directory grows by doubling. Once pinned, upin_region_finish() trims
 * the last array and the directory to their exact size. Nothing is sized
 * by the length of the range, only by the number of entries.
 *
 * Pages become entries as GUP returns them (upin_region_add_pages()): the
 * last run stays open while pages are contiguous, so a contiguous page
 * costs a pfn compare, and a THP costs one entry whichever way GUP's
 * batches cut it. Entries are written straight into the room left in the
 * last chunk (upin_region_room()); only a new chunk takes a call.
 *
 * Walks go span by span. Unpin calls unpin_user_page_range_dirty_lock()
 * once per run, which releases each folio of it with one atomic operation,
 * and gathers single pages into one unpin_user_pages_dirty_lock() call per
 * UPIN_UNPIN_BATCH. SEGMENTS merges spans that happen to be contiguous
 * across entries.
 *
 * This file is the only one that knows the layout, and it is only storage:
 * the lifetime of a region (its descriptor, references, charges, when its
 * pages are pinned and released) belongs to pin.c, which calls in here.
 * Nothing here calls pin.c.
 */
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "upin_private.h"

#define UPIN_PAIR		BIT_ULL(63)
#define UPIN_PAIR_PFN_BITS	31
#define UPIN_PAIR_PFN_MAX	(BIT(UPIN_PAIR_PFN_BITS) - 1)
#define UPIN_RUN_MAX		BIT(PAGE_SHIFT)
#define UPIN_CHUNK_ENTRIES	(PAGE_SIZE / sizeof(u64))

static u64 upin_run(unsigned long pfn, unsigned long nr)
{
	return ((u64)pfn << PAGE_SHIFT) | (nr - 1);
}

static unsigned long upin_run_pfn(u64 e)
{
	return e >> PAGE_SHIFT;
}

static unsigned long upin_run_pages(u64 e)
{
	return (e & (UPIN_RUN_MAX - 1)) + 1;
}

/* The pair of @pfn0 and then @pfn1, both at most UPIN_PAIR_PFN_MAX. */
static u64 upin_pair(unsigned long pfn0, unsigned long pfn1)
{
	return UPIN_PAIR | ((u64)pfn1 << UPIN_PAIR_PFN_BITS) | pfn0;
}

static unsigned long upin_pair_pfn(u64 e, unsigned int half)
{
	return (e >> (half * UPIN_PAIR_PFN_BITS)) & UPIN_PAIR_PFN_MAX;
}

static unsigned long upin_entry_pages(u64 e)
{
	return e & UPIN_PAIR ? 2 : upin_run_pages(e);
}

/*
 * Does the struct page of @pfn follow that of @pfn - 1 in the memmap? A run
 * is walked by struct page (unpin_user_page_range_dirty_lock(), which warns
 * since 6.18 when they are not contiguous, see page_range_contiguous()),
 * so it must be contiguous there as well as physically. With
 * SPARSEMEM_VMEMMAP (every x86-64 kernel) this is always true and compiles
 * to nothing; with classic SPARSEMEM it fails across a memory section.
 */
static bool upin_memmap_follows(unsigned long pfn)
{
	return pfn_to_page(pfn) == pfn_to_page(pfn - 1) + 1;
}

/*
 * Where the entries are, by their number: up to one inline (@entry), up
 * to UPIN_CHUNK_ENTRIES in one chunk of their own (@entries), more in
 * chunks listed in a directory (@chunks).
 */
static bool upin_region_inline(const struct upin_kregion *region)
{
	return region->nr_entries <= 1;
}

static bool upin_region_has_dir(const struct upin_kregion *region)
{
	return region->nr_entries > UPIN_CHUNK_ENTRIES;
}

static unsigned long upin_region_nr_chunks(const struct upin_kregion *region)
{
	return DIV_ROUND_UP(region->nr_entries, UPIN_CHUNK_ENTRIES) ?: 1;
}

/* Entries of chunk @c, and how many. */
static u64 *upin_region_chunk(const struct upin_kregion *region,
			      unsigned long c, unsigned int *nr)
{
	unsigned long nr_chunks = upin_region_nr_chunks(region);

	if (upin_region_inline(region)) {
		*nr = region->nr_entries;
		return (u64 *)&region->entry;
	}
	*nr = c + 1 < nr_chunks ? UPIN_CHUNK_ENTRIES :
	      region->nr_entries - c * UPIN_CHUNK_ENTRIES;
	return upin_region_has_dir(region) ? region->chunks[c].entries :
	       region->entries;
}

/* Entries the first chunk is allocated for: never more than pages. */
static unsigned long upin_region_first_capacity(struct upin_kregion *region)
{
	return min(upin_region_npages(region), UPIN_CHUNK_ENTRIES);
}

/* Bytes of the directory, as allocated once trimmed. */
static size_t upin_dir_bytes(const struct upin_kregion *region)
{
	size_t size = upin_region_nr_chunks(region) * sizeof(struct upin_chunk);

	return is_vmalloc_addr(region->chunks) ? PAGE_ALIGN(size) :
	       kmalloc_size_roundup(size);
}

/* Make room in the directory, doubling it, for chunk number @c. */
static int upin_region_grow_dir(struct upin_kregion *region, unsigned long c)
{
	struct upin_chunk *dir;

	if (!is_power_of_2(c))
		return 0;
	dir = kvmalloc_array(2 * c, sizeof(*dir), GFP_KERNEL_ACCOUNT);
	if (!dir)
		return -ENOMEM;
	memcpy(dir, region->chunks, c * sizeof(*dir));
	kvfree(region->chunks);
	region->chunks = dir;
	return 0;
}

/*
 * Add chunk number @c (a page) after the full chunk @c - 1; the first time,
 * a directory takes over the region's single chunk.
 */
static int upin_region_add_chunk(struct upin_kregion *region, unsigned long c)
{
	struct upin_chunk *chunk, *prev, *dir;
	unsigned int i;
	u64 *entries;

	entries = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!entries)
		return -ENOMEM;
	if (c == 1) {
		dir = kvmalloc_array(2, sizeof(*dir), GFP_KERNEL_ACCOUNT);
		if (!dir)
			goto err;
		dir[0].entries = region->entries;
		dir[0].first = 0;
		region->chunks = dir;
	} else if (upin_region_grow_dir(region, c)) {
		goto err;
	}
	prev = &region->chunks[c - 1];
	chunk = &region->chunks[c];
	chunk->entries = entries;
	chunk->first = prev->first;
	for (i = 0; i < UPIN_CHUNK_ENTRIES; i++)
		chunk->first += upin_entry_pages(prev->entries[i]);
	return 0;
err:
	kfree(entries);
	return -ENOMEM;
}

/*
 * Append entry @e. Return: false when memory for it cannot be allocated
 * (nothing changes then).
 */
static bool upin_region_push(struct upin_kregion *region, u64 e)
{
	unsigned long n = region->nr_entries;
	unsigned long c = n / UPIN_CHUNK_ENTRIES;
	u64 *entries;

	if (!n) {
		entries = &region->entry;
	} else if (n == 1) {
		/* The inline entry moves to the first chunk. */
		entries = kmalloc_array(upin_region_first_capacity(region),
					sizeof(u64), GFP_KERNEL_ACCOUNT);
		if (!entries)
			return false;
		entries[0] = region->entry;
		region->entries = entries;
	} else if (c && !(n % UPIN_CHUNK_ENTRIES)) {
		if (upin_region_add_chunk(region, c))
			return false;
		entries = region->chunks[c].entries;
	} else {
		entries = c ? region->chunks[c].entries : region->entries;
	}
	entries[n % UPIN_CHUNK_ENTRIES] = e;
	region->nr_entries = n + 1;
	return true;
}

/* The last entry, or NULL. */
static u64 *upin_region_tail(struct upin_kregion *region)
{
	unsigned int nr;
	u64 *entries;

	if (!region->nr_entries)
		return NULL;
	entries = upin_region_chunk(region, upin_region_nr_chunks(region) - 1,
				    &nr);
	return &entries[nr - 1];
}

/*
 * Where the next entry goes, and how many fit there without an allocation:
 * the free slots after the last entry in its chunk. None while the entries
 * are inline, nor in a full chunk: upin_region_push() moves on from there.
 */
static unsigned int upin_region_room(struct upin_kregion *region, u64 **next)
{
	unsigned long n = region->nr_entries;

	if (upin_region_inline(region))
		return 0;
	if (!upin_region_has_dir(region)) {
		*next = region->entries + n;
		return upin_region_first_capacity(region) - n;
	}
	if (!(n % UPIN_CHUNK_ENTRIES))
		return 0;
	*next = region->chunks[n / UPIN_CHUNK_ENTRIES].entries +
		n % UPIN_CHUNK_ENTRIES;
	return UPIN_CHUNK_ENTRIES - n % UPIN_CHUNK_ENTRIES;
}

/*
 * Store @e over the open run's entry **@tail (then forget it), else in the
 * room left in the last chunk (*@next, *@room), else as a new entry, after
 * which the room is that of its chunk. Return: false when memory for a new
 * entry cannot be allocated.
 */
static bool upin_region_store(struct upin_kregion *region, u64 **tail,
			      u64 **next, unsigned int *room, u64 e)
{
	if (*tail) {
		**tail = e;
		*tail = NULL;
	} else if (*room) {
		*(*next)++ = e;
		(*room)--;
		region->nr_entries++;
	} else {
		if (!upin_region_push(region, e))
			return false;
		*room = upin_region_room(region, next);
	}
	return true;
}

/*
 * Single pages, as scattered memory comes: pair them up straight into the
 * room left in the last chunk (*@next, *@room), two pages at a time while
 * neither follows the one before it in the memmap, with the pfn of the
 * page before them in *@last and the segments counted in *@segments. The
 * tight loop of upin_region_add_pages() for its worst case, which it
 * calls when no run is open.
 *
 * Return: how many pages were stored, an even number, 0 to @nr.
 */
static unsigned int upin_region_add_pairs(struct page **pages,
					  unsigned int nr, u64 **next,
					  unsigned int *room,
					  unsigned long *last,
					  unsigned long *segments)
{
	unsigned long pfn0, pfn1, prev = *last, n = *segments;
	unsigned int i, max = min(nr / 2, *room);
	u64 *e = *next;

	for (i = 0; i < max; i++) {
		if (pages[2 * i + 1] == pages[2 * i] + 1)
			break;
		pfn0 = page_to_pfn(pages[2 * i]);
		pfn1 = page_to_pfn(pages[2 * i + 1]);
		if (pfn0 > UPIN_PAIR_PFN_MAX || pfn1 > UPIN_PAIR_PFN_MAX)
			break;
		n += (pfn0 != prev + 1) + (pfn1 != pfn0 + 1);
		*e++ = upin_pair(pfn0, pfn1);
		prev = pfn1;
	}
	*next = e;
	*room -= i;
	*last = prev;
	*segments = n;
	return 2 * i;
}

/**
 * upin_region_add_pages() - store pinned pages in a region
 * @region: the region being pinned
 * @pages: pages GUP just pinned, the next ones of the region
 * @nr: how many
 *
 * Pages extend the open run (the region's last entry, when it is a run)
 * while they are contiguous, physically and in the memmap; a single page
 * and the next single page make a pair. A page that starts a run is looked
 * at by its pfn; the pages that follow it in the memmap join the run at
 * once, found by comparing page pointers (upin_pages_contiguous()), so a
 * 2 MiB folio costs a pointer compare per page and no pfn arithmetic.
 * Single pages, while no run is open, are paired by a loop of their own
 * (upin_region_add_pairs()). An entry is written when its run ends. A
 * page that does not follow the one before it physically starts a segment
 * (a run cut by the memmap alone does not): &upin_kregion.nr_segments is
 * counted here, without a walk of its own.
 *
 * Return: how many pages the region took over, from the first: @nr, or
 * fewer when memory for an entry cannot be allocated. The caller unpins
 * the rest.
 */
unsigned int upin_region_add_pages(struct upin_kregion *region,
				   struct page **pages, unsigned int nr)
{
	unsigned long first = 0, len = 0, last = ULONG_MAX - 1, pfn;
	unsigned long segments = region->nr_segments;
	unsigned int i, step, room, stored = 0;
	u64 *tail, *next = NULL, e = 0;
	bool emit;

	/*
	 * The whole region in one run, at the first batch: one page, or pages
	 * that follow one another in the memmap (a folio), is the inline
	 * entry without the walk below.
	 */
	if (!region->nr_entries && nr == upin_region_npages(region) &&
	    nr <= UPIN_RUN_MAX && upin_pages_contiguous(pages, nr) == nr) {
		region->entry = upin_run(page_to_pfn(pages[0]), nr);
		region->nr_entries = 1;
		region->nr_segments = 1;
		return nr;
	}
	tail = upin_region_tail(region);
	room = upin_region_room(region, &next);

	/*
	 * The open run, stored at *tail, which the next pages may continue;
	 * else the last page of a pair, which they may follow physically.
	 */
	if (tail && !(*tail & UPIN_PAIR)) {
		first = upin_run_pfn(*tail);
		len = upin_run_pages(*tail);
	} else {
		if (tail)
			last = upin_pair_pfn(*tail, 1);
		tail = NULL;
	}
	for (i = 0; i < nr; i += step) {
		if (!len && room) {
			step = upin_region_add_pairs(pages + i, nr - i, &next,
						     &room, &last, &segments);
			if (step) {
				region->nr_entries += step / 2;
				stored = i + step;
				continue;
			}
		}
		pfn = page_to_pfn(pages[i]);
		emit = true;
		if (len && pfn == first + len && len < UPIN_RUN_MAX &&
		    upin_memmap_follows(pfn)) {
			len++;
			emit = false;
		} else if (len == 1 && first <= UPIN_PAIR_PFN_MAX &&
			   pfn <= UPIN_PAIR_PFN_MAX) {
			if (pfn != first + 1)
				segments++;
			e = upin_pair(first, pfn);
			len = 0;
		} else {
			if (pfn != (len ? first + len : last + 1))
				segments++;
			emit = len;
			if (len)
				e = upin_run(first, len);
			first = pfn;
			len = 1;
		}
		last = pfn;
		if (emit) {
			if (!upin_region_store(region, &tail, &next, &room, e))
				goto out;
			stored = len ? i : i + 1;
		}
		/* @pages[i] ends the open run: take those that follow it. */
		step = 1;
		if (len && i + 1 < nr && pages[i + 1] == pages[i] + 1) {
			step = upin_pages_contiguous(pages + i,
						     min_t(unsigned long, nr - i,
							   UPIN_RUN_MAX - len + 1));
			len += step - 1;
		}
	}
	if (!len || upin_region_store(region, &tail, &next, &room,
				      upin_run(first, len)))
		stored = nr;
out:
	/* Counted in a local: a store through @region would reload it all. */
	region->nr_segments = segments;
	return stored;
}

/**
 * upin_region_trim() - give a region's entries their exact size
 * @region: a region that holds all of its pages, in more than one entry
 *
 * Reallocates the last chunk and the directory to what they hold, if that
 * makes them smaller. Called through upin_region_finish().
 */
void upin_region_trim(struct upin_kregion *region)
{
	unsigned long nr_chunks = upin_region_nr_chunks(region), cap;
	struct upin_chunk *dir;
	u64 *last, *entries;
	unsigned int nr;

	if (upin_region_inline(region))
		return;
	last = upin_region_chunk(region, nr_chunks - 1, &nr);
	cap = nr_chunks > 1 ? UPIN_CHUNK_ENTRIES :
	      upin_region_first_capacity(region);
	if (kmalloc_size_roundup(nr * sizeof(u64)) <
	    kmalloc_size_roundup(cap * sizeof(u64))) {
		entries = kmalloc_array(nr, sizeof(u64), GFP_KERNEL_ACCOUNT);
		if (entries) {
			memcpy(entries, last, nr * sizeof(u64));
			kfree(last);
			if (nr_chunks > 1)
				region->chunks[nr_chunks - 1].entries = entries;
			else
				region->entries = entries;
		}
	}
	if (nr_chunks > 1 && !is_power_of_2(nr_chunks)) {
		dir = kvmalloc_array(nr_chunks, sizeof(*dir), GFP_KERNEL_ACCOUNT);
		if (dir) {
			memcpy(dir, region->chunks, nr_chunks * sizeof(*dir));
			kvfree(region->chunks);
			region->chunks = dir;
		}
	}
}

/*
 * A position in a region: entry @i of chunk @chunk, page @k of that entry.
 */
struct upin_cursor {
	const u64 *entries;
	unsigned int nr;
	unsigned int i;
	unsigned long chunk;
	unsigned long k;
};

static bool upin_cursor_load(const struct upin_kregion *region,
			     struct upin_cursor *cur, unsigned long chunk)
{
	if (chunk >= upin_region_nr_chunks(region))
		return false;
	cur->entries = upin_region_chunk(region, chunk, &cur->nr);
	cur->chunk = chunk;
	cur->i = 0;
	cur->k = 0;
	return cur->nr;
}

/*
 * The span at the cursor, from page @k of its entry on, then advance past
 * it. Return: false at the end of the region.
 */
static bool upin_cursor_next(const struct upin_kregion *region,
			     struct upin_cursor *cur, unsigned long *pfn,
			     unsigned long *nr)
{
	u64 e;

	if (cur->i == cur->nr &&
	    !upin_cursor_load(region, cur, cur->chunk + 1))
		return false;
	e = cur->entries[cur->i];
	if (e & UPIN_PAIR) {
		*pfn = upin_pair_pfn(e, cur->k);
		*nr = 1;
		if (!cur->k++)
			return true;
	} else {
		*pfn = upin_run_pfn(e) + cur->k;
		*nr = upin_run_pages(e) - cur->k;
	}
	cur->i++;
	cur->k = 0;
	return true;
}

/* Place the cursor on page @index of the region (which must have it). */
static void upin_cursor_seek(const struct upin_kregion *region,
			     struct upin_cursor *cur, unsigned long index)
{
	unsigned long lo = 0, hi = upin_region_nr_chunks(region), first = 0;
	unsigned long n;

	/* The last chunk whose first page is at or before @index. */
	while (upin_region_has_dir(region) && hi - lo > 1) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (region->chunks[mid].first <= index)
			lo = mid;
		else
			hi = mid;
	}
	if (upin_region_has_dir(region))
		first = region->chunks[lo].first;
	upin_cursor_load(region, cur, lo);
	for (;;) {
		n = upin_entry_pages(cur->entries[cur->i]);
		if (index < first + n)
			break;
		first += n;
		cur->i++;
	}
	cur->k = index - first;
}

/**
 * upin_region_entries_bytes() - memory of a region's entries
 * @region: a finished region whose entries are not inline
 *
 * Counts the chunks and the directory as the allocator sized them. Called
 * through upin_region_metadata().
 *
 * Return: bytes.
 */
size_t upin_region_entries_bytes(struct upin_kregion *region)
{
	unsigned long nr_chunks = upin_region_nr_chunks(region);
	size_t bytes;
	unsigned int nr;

	if (upin_region_inline(region))
		return 0;
	upin_region_chunk(region, nr_chunks - 1, &nr);
	bytes = (nr_chunks - 1) * PAGE_SIZE +
		kmalloc_size_roundup(nr * sizeof(u64));
	if (upin_region_has_dir(region))
		bytes += upin_dir_bytes(region);
	return bytes;
}

/* Single pages unpinned together, by one unpin_user_pages_dirty_lock(). */
#define UPIN_UNPIN_BATCH 32

/**
 * upin_region_release_pages() - unpin a region's pages, free its entries
 * @region: the region
 *
 * One unpin_user_page_range_dirty_lock() per run: each folio of a run is
 * released with one atomic operation. Single pages (of pairs, or runs of
 * one) go UPIN_UNPIN_BATCH at a time to unpin_user_pages_dirty_lock().
 * Write pins are marked dirty, as the device may have written them;
 * read-only pins are not.
 */
void upin_region_release_pages(struct upin_kregion *region)
{
	unsigned long nr_chunks = upin_region_nr_chunks(region), c;
	bool dirty = region->flags & UPIN_PIN_WRITE;
	struct page *singles[UPIN_UNPIN_BATCH];
	unsigned int i, nr, n = 0;
	const u64 *entries;
	struct page *page;
	u64 e;

	/* One run, a page or a folio: what a small pin is. */
	if (region->nr_entries == 1 && !(region->entry & UPIN_PAIR)) {
		e = region->entry;
		unpin_user_page_range_dirty_lock(pfn_to_page(upin_run_pfn(e)),
						 upin_run_pages(e), dirty);
		region->entry = 0;
		region->nr_entries = 0;
		return;
	}
	for (c = 0; c < nr_chunks; c++) {
		entries = upin_region_chunk(region, c, &nr);
		for (i = 0; i < nr; i++) {
			e = entries[i];
			if (e & UPIN_PAIR) {
				singles[n++] = pfn_to_page(upin_pair_pfn(e, 0));
				singles[n++] = pfn_to_page(upin_pair_pfn(e, 1));
			} else if (upin_run_pages(e) == 1) {
				singles[n++] = pfn_to_page(upin_run_pfn(e));
			} else {
				page = pfn_to_page(upin_run_pfn(e));
				unpin_user_page_range_dirty_lock(page,
								 upin_run_pages(e),
								 dirty);
				continue;
			}
			if (n >= ARRAY_SIZE(singles) - 1) {
				unpin_user_pages_dirty_lock(singles, n, dirty);
				n = 0;
			}
		}
		cond_resched();
	}
	if (n)
		unpin_user_pages_dirty_lock(singles, n, dirty);

	if (upin_region_has_dir(region)) {
		for (c = 0; c < nr_chunks; c++)
			kfree(region->chunks[c].entries);
		kvfree(region->chunks);
	} else if (!upin_region_inline(region)) {
		kfree(region->entries);
	}
	region->entry = 0;
	region->nr_entries = 0;
}

/*
 * The scatterlist being built by upin_region_sg_table(): counting entries
 * while @sg is NULL, else filling them.
 */
struct upin_sg_builder {
	struct scatterlist *sg;
	unsigned long nents;
	unsigned long start;
	unsigned long len;
	unsigned long cap;
	unsigned long max;
	unsigned long bound;
};

static void upin_sg_emit(struct upin_sg_builder *b)
{
	if (!b->len)
		return;
	if (b->sg) {
		sg_set_page(b->sg, pfn_to_page(b->start), b->len << PAGE_SHIFT,
			    0);
		b->sg = sg_next(b->sg);
	}
	b->nents++;
	b->len = 0;
}

/*
 * Start an entry at @pfn: at most max pages, and none across a multiple of
 * bound pages (the device's segment boundary; 0: none).
 */
static void upin_sg_start(struct upin_sg_builder *b, unsigned long pfn)
{
	b->start = pfn;
	b->cap = b->max;
	if (b->bound)
		b->cap = min(b->cap, b->bound - (pfn & (b->bound - 1)));
}

/* Spans walked between two cond_resched(). */
#define UPIN_SG_RESCHED 1024

/*
 * Walk the region's spans into entries: merge what touches, split at the
 * device's limits.
 */
static void upin_sg_walk(struct upin_kregion *region,
			 struct upin_sg_builder *b)
{
	unsigned long pfn, nr, n, spans = 0;
	struct upin_cursor cur;

	b->nents = 0;
	b->len = 0;
	if (!upin_cursor_load(region, &cur, 0))
		return;
	while (upin_cursor_next(region, &cur, &pfn, &nr)) {
		if (!(++spans % UPIN_SG_RESCHED))
			cond_resched();
		while (nr) {
			if (!(b->len && pfn == b->start + b->len &&
			      b->len < b->cap && upin_memmap_follows(pfn))) {
				upin_sg_emit(b);
				upin_sg_start(b, pfn);
			}
			n = min(nr, b->cap - b->len);
			b->len += n;
			pfn += n;
			nr -= n;
		}
	}
	upin_sg_emit(b);
}

/**
 * upin_region_sg_table() - a scatterlist of the region's pages
 * @region: a published region
 * @sgt: out, allocated here, to be freed with sg_free_table()
 * @max_seg: the longest entry the device takes, in bytes, at least a page
 * @boundary: the device's segment boundary mask (dma_get_seg_boundary())
 *
 * One entry per stretch of pages contiguous physically and in the memmap
 * (runs that touch are merged), split at @max_seg rounded down to pages
 * and where it would cross a multiple of @boundary + 1 (physical addresses
 * are what a device sees without an IOMMU; an IOMMU keeps to the boundary
 * itself). Built from the entries in two walks, one to count and one to
 * fill: no page array, nothing sized by the range.
 *
 * Return: 0, -EINVAL (@max_seg or @boundary below a page) or -ENOMEM.
 */
int upin_region_sg_table(struct upin_kregion *region, struct sg_table *sgt,
			 size_t max_seg, unsigned long boundary)
{
	struct upin_sg_builder b = {
		.max = min_t(size_t, max_seg, UINT_MAX) >> PAGE_SHIFT,
	};
	unsigned long nents;
	int ret;

	if (!b.max || boundary < PAGE_SIZE - 1)
		return -EINVAL;
	/* Pages per boundary window, 0 when the mask spans all pfns. */
	if (boundary >> PAGE_SHIFT < ULONG_MAX >> PAGE_SHIFT)
		b.bound = (boundary >> PAGE_SHIFT) + 1;

	upin_sg_walk(region, &b);
	nents = b.nents;
	if (!nents || nents > UINT_MAX)
		return -ENOMEM;
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	b.sg = sgt->sgl;
	upin_sg_walk(region, &b);
	WARN_ON_ONCE(b.nents != nents || b.sg);
	return 0;
}

#define UPIN_SEG_BATCH (PAGE_SIZE / sizeof(struct upin_segment))

/**
 * upin_region_segments() - copy the region's segments to userspace
 * @region: a published region
 * @segs: user array of @capacity entries
 * @capacity: entries @segs can take
 *
 * Writes the first min(@capacity, &upin_kregion.nr_segments) segments,
 * a page of them per copy_to_user(). A segment is a maximal physically
 * contiguous range: consecutive spans that touch are merged.
 *
 * Return: 0 or -EFAULT, -ENOMEM.
 */
int upin_region_segments(struct upin_kregion *region,
			 struct upin_segment __user *segs, u64 capacity)
{
	unsigned long pfn = 0, nr = 0, start = 0, end;
	struct upin_segment *batch;
	struct upin_cursor cur;
	unsigned int used = 0;
	bool more;
	int ret = 0;

	if (!capacity || !upin_cursor_load(region, &cur, 0))
		return 0;
	batch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!batch)
		return -ENOMEM;

	upin_cursor_next(region, &cur, &start, &nr);
	end = start + nr;
	do {
		more = upin_cursor_next(region, &cur, &pfn, &nr);
		if (more && pfn == end) {
			end += nr;
			continue;
		}
		batch[used].phys = PFN_PHYS(start);
		batch[used].length = (u64)(end - start) << PAGE_SHIFT;
		start = pfn;
		end = pfn + nr;
		capacity--;
		if (++used < UPIN_SEG_BATCH && capacity && more)
			continue;
		if (copy_to_user(segs, batch, used * sizeof(*batch))) {
			ret = -EFAULT;
			break;
		}
		segs += used;
		used = 0;
	} while (more && capacity);
	kfree(batch);
	return ret;
}

/**
 * upin_region_access() - copy between a user buffer and the pinned pages
 * @region: a published region
 * @offset: bytes from &upin_kregion.addr
 * @length: bytes to copy, non-zero, within the region (checked by the caller)
 * @buf: the user buffer
 * @write: copy from @buf into the pages, else from the pages into @buf
 *
 * Finds the page at @offset by binary search over the chunks, then walks the
 * spans from there, through the pinned pages themselves with
 * kmap_local_page(), as a device would, one page at a time: a copy may cross
 * page and folio boundaries and the pages may be in highmem. The mapping
 * stays valid across a fault on @buf.
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
	unsigned long off = offset_in_page(pos), pfn, nr;
	struct upin_cursor cur;

	/*
	 * copy_from_user() zero-fills what it could not copy: straight into a
	 * pinned page that would wipe device memory on a bad @buf. Check the
	 * buffer once and use __copy_from_user(), which leaves the rest of the
	 * page as it was.
	 */
	if (!access_ok(buf, length))
		return -EFAULT;

	upin_cursor_seek(region, &cur, pos >> PAGE_SHIFT);
	while (length && upin_cursor_next(region, &cur, &pfn, &nr)) {
		for (; nr && length; pfn++, nr--) {
			struct page *page = pfn_to_page(pfn);
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

			off = 0;
			buf += n;
			length -= n;
			if (length) {
				if (fatal_signal_pending(current))
					return -EINTR;
				cond_resched();
			}
		}
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * upin compat: the shims of compat.h that are more than a line of code.
 * Each is compiled only where the kernel needs it, under the same knob as
 * its declaration in compat.h; elsewhere compat.h gives an inline that
 * does nothing or calls the kernel, and this file compiles to nothing.
 */
#include <linux/mm.h>
#include <linux/sched/signal.h>

#include "upin_private.h"

#ifdef UPIN_COMPAT_NO_COW_UNSHARE
/*
 * Linux 6.2, "mm: extend FAULT_FLAG_UNSHARE support to anything in a COW
 * mapping": a read-only FOLL_LONGTERM pin in a private mapping breaks COW of
 * pages that are not anonymous pages (the shared zeropage, page cache), so
 * the pin keeps seeing what the process writes later. Before it, such a pin
 * holds the zeropage and goes stale at the first write. (Anonymous pages
 * shared with a fork child 6.1 unshares itself.)
 *
 * Give older kernels the same result. upin_compat_unshare_cow() looks at
 * each batch of pages GUP has just pinned; at the first page that is not
 * anonymous and lies in a writable private mapping, it unpins the rest of
 * the batch and write-faults the rest of the batch's range, so that GUP,
 * pinning from there again, finds exclusive anonymous copies with the same
 * contents (a write fault writes nothing). Anonymous memory, what nearly
 * every pin is of, costs one folio_test_anon() per folio and nothing else.
 * Shared mappings are left alone: they have no COW to break, and a write
 * fault there would dirty the file and change its mtime for a read-only
 * pin. Unlike 6.2's unshare fault, this cannot reach private mappings
 * without PROT_WRITE, which the process cannot write either. A range is
 * faulted once: pages pinned again below @unshared are kept as they are, so
 * a page that cannot be faulted in, or that a racing munmap() or
 * MADV_DONTNEED replaced, leaves the pin as 6.1 would make it.
 *
 * Knob and probe: UPIN_COMPAT_NO_COW_UNSHARE, see compat.h.
 */

/* Write-fault the pages of [start, end) in writable private mappings. */
static void upin_compat_fault_cow(unsigned long start, unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool unlocked = false;
	unsigned long addr;

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		vma = vma_lookup(mm, addr);
		if (!vma || fatal_signal_pending(current))
			break;
		if (!is_cow_mapping(vma->vm_flags) ||
		    !vma_test(vma, VMA_WRITE_BIT)) {
			addr = vma->vm_end - PAGE_SIZE;
			continue;
		}
		if (fixup_user_fault(mm, addr, FAULT_FLAG_WRITE, &unlocked))
			break;
	}
	mmap_read_unlock(mm);
}

/**
 * upin_compat_unshare_cow() - break COW for a read-only longterm pin (6.1)
 * @pages: pages pin_user_pages_fast() has just pinned
 * @nr: how many
 * @addr: user address of @pages[0]
 * @gup_flags: the flags they were pinned with
 * @unshared: in and out: the end of the range already write-faulted
 *
 * Return: how many pages, from the first, the pin keeps; the others are
 * unpinned, their range write-faulted, and the caller pins them again.
 */
unsigned int upin_compat_unshare_cow(struct page **pages, unsigned int nr,
				     unsigned long addr, unsigned int gup_flags,
				     unsigned long *unshared)
{
	unsigned long end = addr + ((unsigned long)nr << PAGE_SHIFT), next;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned int i = 0, step;
	struct folio *folio;
	bool cow;

	if (gup_flags != FOLL_LONGTERM)
		return nr;
	if (*unshared > addr)
		i = min_t(unsigned long, nr, (*unshared - addr) >> PAGE_SHIFT);
	for (; i < nr; i += step) {
		folio = page_folio(pages[i]);
		step = 1;
		if (folio_test_anon(folio)) {
			/* Skip the pages of the folio that follow. */
			step = upin_folio_pages_returned(folio, pages + i,
							 nr - i);
			continue;
		}
		/* The zeropage or page cache: is its mapping private? */
		next = addr + ((unsigned long)i << PAGE_SHIFT);
		mmap_read_lock(mm);
		vma = vma_lookup(mm, next);
		cow = vma && is_cow_mapping(vma->vm_flags) &&
		      vma_test(vma, VMA_WRITE_BIT);
		if (!cow && vma)
			next = min(end, vma->vm_end);
		else
			next += PAGE_SIZE;
		mmap_read_unlock(mm);
		if (cow) {
			unpin_user_pages(pages + i, nr - i);
			upin_compat_fault_cow(addr + ((unsigned long)i << PAGE_SHIFT),
					      end);
			*unshared = end;
			return i;
		}
		/* Nothing to break up to @next: skip its pages. */
		step = ((next - addr) >> PAGE_SHIFT) - i;
	}
	return nr;
}
#endif /* UPIN_COMPAT_NO_COW_UNSHARE */

/* Only gup_test.c asks, and it is built only with UPIN_GUP_TEST=1. */
#if defined(CONFIG_CMA) && defined(UPIN_GUP_TEST)
/**
 * upin_folio_longterm_pinnable() - folio_is_longterm_pinnable() for a module
 * @folio: a folio just pinned with FOLL_LONGTERM
 *
 * folio_is_longterm_pinnable() is inline, but with CONFIG_CMA it starts by
 * reading the folio's pageblock migratetype through get_pfnblock_flags_mask()
 * (get_pfnblock_migratetype() since 6.17), and neither is exported: a module
 * calling it does not link. Debian's 6.1 and 6.12 kernels have no CMA, its
 * 7.x kernels do. There, gup_test.c gets the rest of the test: a folio in a
 * CMA or isolated pageblock goes unseen by it, but FOLL_LONGTERM has moved
 * such folios out before GUP returns (check_and_migrate_movable_folios()).
 * The helpers used are those of 6.3 and later.
 *
 * Return: whether @folio may stay pinned longterm, but for its pageblock.
 */
bool upin_folio_longterm_pinnable(struct folio *folio)
{
	if (is_zero_folio(folio))
		return true;
	if (folio_is_device_coherent(folio) || folio_is_fsdax(folio))
		return false;
	return !folio_is_zone_movable(folio);
}
#endif /* CONFIG_CMA && UPIN_GUP_TEST */

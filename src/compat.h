/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin compat: every difference between the kernels upin supports lives
 * here, so the driver files read like mainline and contain no version
 * checks. The driver is written against the newest API; this file gives
 * older kernels that API. Where a distro could backport a change, Kbuild
 * probes the headers (see src/Kbuild) instead of trusting
 * LINUX_VERSION_CODE.
 *
 * Supported: Linux 6.1 to 7.3 (Debian bookworm and its backports, sid,
 * experimental).
 *
 * Shims below: UPIN_COMPAT_NO_VMA_TEST (before 7.0),
 * UPIN_COMPAT_NO_FD_FILE (before 6.12),
 * UPIN_COMPAT_NO_COW_UNSHARE (6.1), UPIN_COMPAT_GUP_VMAS (6.1),
 * UPIN_COMPAT_NO_GUP_TEST_LONGTERM (6.1), folio_is_longterm_pinnable()
 * (CONFIG_CMA).
 *
 * Differences that need no shim:
 * - FOLL_LONGTERM | FOLL_WRITE of a file mapping that needs dirty tracking:
 *   6.5 made GUP refuse it with EFAULT, 6.1 allows it. upin decides the
 *   rule itself on the pinned folios and turns GUP's EFAULT there into its
 *   own EOPNOTSUPP (pin.c), so every kernel gives EOPNOTSUPP. The rule
 *   (vma_needs_dirty_tracking(), mm/vma.c; gup_fast_folio_allowed(),
 *   mm/gup.c) is unchanged in 7.3. folio_mapping() and shmem_mapping() are
 *   exported from 6.1 to 7.3.
 * - GUP's vmas argument (removed in 6.5) and class_create()'s owner
 *   argument (removed in 6.4): upin uses pin_user_pages_fast() and a misc
 *   device, whose signatures did not change.
 * - pin_user_pages_fast(), unpin_user_pages*(), unpin_folio(s)(),
 *   fixup_user_fault(), vma_lookup(), FOLL_* and FAULT_FLAG_*,
 *   mmap_read_lock_killable(), kmap_local_page(), copy_struct_from_user(),
 *   the xarray API, misc_register(), user_struct.locked_vm and
 *   mm_struct.pinned_vm: the same from 6.1 to 7.3.
 * - unpin_user_page_range_dirty_lock() warns since 6.18 when its pages are
 *   not contiguous in the memmap (page_range_contiguous()), and 6.18 and
 *   later walk a range with page + i instead of nth_page(): a range handed
 *   to it must be contiguous in the memmap, not only physically. upin's
 *   runs are both on every kernel and memory model (region.c,
 *   upin_memmap_follows()), so no shim is needed.
 * - get_task_comm() copies with strscpy_pad() since 6.13 and accepts any
 *   buffer of at least TASK_COMM_LEN; upin's is exactly that.
 * - debugfs_create_file() became a _Generic macro in 6.14, taking
 *   file_operations or debugfs_short_fops; upin passes file_operations.
 * - is_cow_mapping(vm_flags) became vma_is_cow_mapping(vma) in 7.3; only
 *   the 6.1 shim below calls it.
 */
#ifndef __UPIN_COMPAT_H
#define __UPIN_COMPAT_H

#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>

/*
 * Linux 7.0, "mm: add basic VMA flag operation helper functions": VMA
 * flags are a bitmap (vma_flags_t, 6.19), named by bit number
 * (VMA_WRITE_BIT) and read with vma_test(vma, bit). vma->vm_flags is only
 * an alias kept while the kernel converts (mm_types.h calls it temporary).
 * Give older kernels vma_test() over vm_flags, for the flags upin reads.
 *
 * Probe (src/Kbuild): include/linux/mm.h defines vma_test().
 */
#ifdef UPIN_COMPAT_NO_VMA_TEST
#define VMA_WRITE_BIT	ilog2(VM_WRITE)
#define VMA_SHARED_BIT	ilog2(VM_SHARED)
#define VMA_PFNMAP_BIT	ilog2(VM_PFNMAP)

static inline bool vma_test(const struct vm_area_struct *vma, int bit)
{
	return vma->vm_flags & BIT(bit);
}
#endif

/*
 * Linux 6.12, "introduce fd_file(), convert all accessors to it": struct fd
 * became opaque, its file read with fd_file(). Give older kernels the
 * accessor (main.c, upin_region_get_fd()).
 *
 * Probe (src/Kbuild): include/linux/file.h defines fd_file().
 */
#ifdef UPIN_COMPAT_NO_FD_FILE
#define fd_file(f) ((f).file)
#endif

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
 * Probe (src/Kbuild): 6.1's include/linux/mm.h declares
 * gup_must_unshare(unsigned int flags, ...); 6.2 added a vma argument.
 */
#ifdef UPIN_COMPAT_NO_COW_UNSHARE
/* Write-fault the pages of [start, end) in writable private mappings. */
static inline void upin_compat_fault_cow(unsigned long start,
					 unsigned long end)
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
static inline unsigned int upin_compat_unshare_cow(struct page **pages,
						   unsigned int nr,
						   unsigned long addr,
						   unsigned int gup_flags,
						   unsigned long *unshared)
{
	unsigned long end = addr + ((unsigned long)nr << PAGE_SHIFT), next;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned int i = 0, step;
	struct folio *folio;
	long left;
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
			left = folio_nr_pages(folio) -
			       folio_page_idx(folio, pages[i]);
			while (step < left && i + step < nr &&
			       pages[i + step] == nth_page(pages[i], step))
				step++;
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
#else
static inline unsigned int upin_compat_unshare_cow(struct page **pages,
						   unsigned int nr,
						   unsigned long addr,
						   unsigned int gup_flags,
						   unsigned long *unshared)
{
	return nr;
}
#endif

/*
 * Linux 6.5, "mm/gup: remove vmas parameter from get_user_pages()" and
 * "mm/gup: remove vmas parameter from pin_user_pages()": both lost their
 * last argument. Give older kernels the new signatures (gup_test.c).
 *
 * Probe (src/Kbuild): the declaration of pin_user_pages() in
 * include/linux/mm.h names vmas.
 */
#ifdef UPIN_COMPAT_GUP_VMAS
#define get_user_pages(start, nr_pages, gup_flags, pages) \
	get_user_pages(start, nr_pages, gup_flags, pages, NULL)
#define pin_user_pages(start, nr_pages, gup_flags, pages) \
	pin_user_pages(start, nr_pages, gup_flags, pages, NULL)
#endif

/*
 * Linux 6.2, "mm/gup_test: start/stop/read functionality for PIN LONGTERM
 * test": /sys/kernel/debug/gup_test learnt PIN_LONGTERM_TEST_START, _STOP
 * and _READ. gup_test.c speaks the ABI of the running kernel, so on older
 * kernels it answers them with EINVAL, as their mm/gup_test.c does.
 *
 * Probe (src/Kbuild): mm/gup_test.h when the build tree has it, else the
 * vma argument of gup_must_unshare() that came in the same series.
 */
#ifndef UPIN_COMPAT_NO_GUP_TEST_LONGTERM
#define UPIN_COMPAT_NO_GUP_TEST_LONGTERM 0
#endif

/*
 * folio_is_longterm_pinnable() is inline, but with CONFIG_CMA it starts by
 * reading the folio's pageblock migratetype through get_pfnblock_flags_mask()
 * (get_pfnblock_migratetype() since 6.17), and neither is exported: a module
 * calling it does not link. Debian's 6.1 and 6.12 kernels have no CMA, its
 * 7.x kernels do. There, gup_test.c gets the rest of the test: a folio in a
 * CMA or isolated pageblock goes unseen by it, but FOLL_LONGTERM has moved
 * such folios out before GUP returns (check_and_migrate_movable_folios()).
 * The helpers used are those of 6.3 and later.
 *
 * No probe: this depends on the configuration, not on the version.
 */
#ifdef CONFIG_CMA
static inline bool upin_folio_is_longterm_pinnable(struct folio *folio)
{
	if (is_zero_folio(folio))
		return true;
	if (folio_is_device_coherent(folio) || folio_is_fsdax(folio))
		return false;
	return !folio_is_zone_movable(folio);
}

#define folio_is_longterm_pinnable(folio) upin_folio_is_longterm_pinnable(folio)
#endif

#endif /* __UPIN_COMPAT_H */

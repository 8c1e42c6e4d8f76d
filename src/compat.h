/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin compat: every difference between the kernels upin supports lives
 * here, so the driver files read like mainline and contain no version
 * checks. The driver is written against the newest API; this file gives
 * older kernels that API. Where a distro could backport a change, Kbuild
 * probes the headers (see src/Kbuild) instead of trusting
 * LINUX_VERSION_CODE.
 *
 * Supported: Linux 6.1 to 6.12 (Debian bookworm and bookworm-backports).
 *
 * Shims below: UPIN_COMPAT_NO_COW_UNSHARE (6.1), UPIN_COMPAT_GUP_VMAS (6.1),
 * UPIN_COMPAT_NO_GUP_TEST_LONGTERM (6.1).
 *
 * Differences that need no shim:
 * - FOLL_LONGTERM | FOLL_WRITE of a file mapping that needs dirty tracking:
 *   6.5 made GUP refuse it with EFAULT, 6.1 allows it. upin refuses it
 *   itself, before GUP, on every kernel (pin.c), so both give EOPNOTSUPP.
 * - GUP's vmas argument (removed in 6.5) and class_create()'s owner
 *   argument (removed in 6.4): upin uses pin_user_pages_fast() and a misc
 *   device, whose signatures did not change.
 */
#ifndef __UPIN_COMPAT_H
#define __UPIN_COMPAT_H

#include <linux/mm.h>
#include <linux/sched/signal.h>

/*
 * Linux 6.2, "mm: extend FAULT_FLAG_UNSHARE support to anything in a COW
 * mapping": a read-only FOLL_LONGTERM pin in a private mapping breaks COW of
 * pages that are not exclusive anonymous pages (the shared zeropage, page
 * cache), so the pin keeps seeing what the process writes later. Before
 * it, such a pin holds the zeropage and goes stale at the first write.
 * Give older kernels the same result: write-fault the writable private
 * mappings of the range first. A write fault installs exclusive anonymous
 * copies with the same contents and writes nothing. Shared mappings are
 * left alone: they have no COW to break, and a write fault there would
 * dirty the file and change its mtime for a read-only pin. Unlike 6.2's
 * unshare fault, this cannot reach private mappings without PROT_WRITE,
 * which the process cannot write either. It stops quietly at a hole or a
 * page that cannot be faulted in: GUP reports those right after.
 *
 * Probe (src/Kbuild): 6.1's include/linux/mm.h declares
 * gup_must_unshare(unsigned int flags, ...); 6.2 added a vma argument.
 */
#ifdef UPIN_COMPAT_NO_COW_UNSHARE
static inline void upin_compat_unshare_cow(unsigned long start,
					   unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr, end = start + len;
	struct vm_area_struct *vma;
	bool unlocked = false;

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		vma = vma_lookup(mm, addr);
		if (!vma || fatal_signal_pending(current))
			break;
		if (!is_cow_mapping(vma->vm_flags) ||
		    !(vma->vm_flags & VM_WRITE)) {
			addr = vma->vm_end - PAGE_SIZE;
			continue;
		}
		if (fixup_user_fault(mm, addr, FAULT_FLAG_WRITE, &unlocked))
			break;
	}
	mmap_read_unlock(mm);
}
#else
static inline void upin_compat_unshare_cow(unsigned long start,
					   unsigned long len)
{
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

#endif /* __UPIN_COMPAT_H */

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
 * UPIN_COMPAT_NO_GUP_TEST_LONGTERM (6.1), upin_folio_longterm_pinnable()
 * (CONFIG_CMA).
 *
 * This file holds only shims: macros, one-line inlines and declarations.
 * A shim with more code than that lives in compat.c, compiled only on the
 * kernels that need it; elsewhere its inline here does nothing or calls
 * the kernel. A shim gives older kernels a newer kernel's name, never
 * upin's own code under a kernel name: where upin's code stands in for
 * the kernel's, it has an upin_ name.
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
 *   the hlist API, misc_register(), user_struct.locked_vm and
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
 *   the 6.1 shim in compat.c calls it.
 */
#ifndef __UPIN_COMPAT_H
#define __UPIN_COMPAT_H

#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/mm.h>

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
 * goes stale at the first write. compat.c gives older kernels the same
 * result, on each batch of pages GUP has just pinned (pin.c); elsewhere
 * upin_compat_unshare_cow() keeps every page.
 *
 * Probe (src/Kbuild): 6.1's include/linux/mm.h declares
 * gup_must_unshare(unsigned int flags, ...); 6.2 added a vma argument.
 */
#ifdef UPIN_COMPAT_NO_COW_UNSHARE
unsigned int upin_compat_unshare_cow(struct page **pages, unsigned int nr,
				     unsigned long addr, unsigned int gup_flags,
				     unsigned long *unshared);
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
 * folio_is_longterm_pinnable() does not link into a module on a kernel
 * with CONFIG_CMA: it reads the pageblock migratetype through helpers that
 * are not exported. upin_folio_longterm_pinnable() is the kernel's function
 * without CMA, and compat.c's, which leaves the pageblock out, with it
 * (built for its one caller, gup_test.c, with UPIN_GUP_TEST=1 only).
 *
 * No probe: this depends on the configuration, not on the version.
 */
#ifdef CONFIG_CMA
bool upin_folio_longterm_pinnable(struct folio *folio);
#else
static inline bool upin_folio_longterm_pinnable(struct folio *folio)
{
	return folio_is_longterm_pinnable(folio);
}
#endif

#endif /* __UPIN_COMPAT_H */

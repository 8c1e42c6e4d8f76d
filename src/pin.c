// SPDX-License-Identifier: GPL-2.0
/*
 * upin pinning: a region's lifetime, from its allocation through GUP and
 * its charges to the last put that unpins, uncharges and frees it.
 *
 * Theory of operation
 * ===================
 *
 * A *context* (context.c) is one open file of /dev/upin. It is bound to the
 * mm of the process that opened it and holds two references taken at open:
 * mmgrab() on that mm and get_uid() on that user. Commands from any other mm
 * are refused, so every page a context pins comes from its own mm, and
 * release can return every charge without looking at current, which at exit
 * or after SCM_RIGHTS may be another process or have no mm at all.
 *
 * A *region* is one successful UPIN_IOC_PIN, named by a handle. A region owns:
 *
 *  - one FOLL_PIN reference on each of its npages pages;
 *  - npages of the context mm's pinned_vm (VmPin), always;
 *  - npages of the context user's locked_vm, the RLIMIT_MEMLOCK counter
 *    io_uring and iommufd charge too, unless the pinning task had
 *    CAP_IPC_LOCK (then @charged_user is false);
 *  - npages of upin_global_pinned, capped by the max_pages parameter;
 *  - one unit of the context's nr_regions, taken before the region is
 *    pinned, and its place in the context's table of handles once it is
 *    published;
 *  - its storage: not a page array but *entries* (region.c) of 8 bytes, each
 *    a run of physically contiguous pages (up to 16 MiB with 4 KiB pages: a
 *    THP or hugetlb folio is one entry, not 512) or a pair of single pages.
 *    Scattered 4 KiB pages cost at most 4 bytes each (8 above 8 TiB of
 *    physical addresses), a 2 MiB folio at most 8 bytes, a one-entry region
 *    nothing beyond its descriptor. GET_INFO reports the total as
 *    metadata_bytes.
 *
 * A pin takes these in a fixed order, each step undone in reverse on failure,
 * so a failed pin leaves nothing behind (all or nothing):
 *
 *   validate the range          EINVAL       upin_region_alloc()
 *   longterm, or CAP_SYS_ADMIN  EPERM        upin_pin()
 *   count the region, handle    ENOSPC       upin_ctx_reserve()
 *   module-wide page cap        ENOSPC       upin_pin_region()
 *   RLIMIT_MEMLOCK, VmPin       ENOMEM       upin_account()
 *   GUP, in batches, stored     EFAULT EINTR upin_pin_pages()
 *                               ENOMEM
 *   the file rule, per batch    EOPNOTSUPP   upin_check_write_batch()
 *   copy the result out         EFAULT       main.c, upin_ucmd_respond()
 *   publish the handle          cannot fail  upin_ctx_finalize()
 *
 * upin_pin() runs the steps up to the copy out. Its caller copies out, then
 * publishes the region, or drops it with upin_ctx_abort() if the copy
 * failed.
 *
 * Every region is a longterm pin. It lives until UNPIN or close, as long as
 * userspace likes, which is case 2 of Documentation/core-api/
 * pin_user_pages.rst: FOLL_PIN | FOLL_LONGTERM, so that GUP first moves the
 * pages out of ZONE_MOVABLE and CMA (memory offlining and cma_alloc() keep
 * working) and breaks COW (the pin stays coherent with the process). A pin
 * without UPIN_PIN_LONGTERM is a diagnostic that shows what FOLL_LONGTERM
 * changes, for CAP_SYS_ADMIN only.
 *
 * The file rule: a write pin (longterm or not) of a page of a file that
 * needs dirty tracking would let the device write pages the file system
 * believes clean or has under writeback; data is lost and ext4 has crashed
 * on it (see writable_file_mapping_allowed() in mm/gup.c). Since 6.5 GUP
 * refuses longterm ones itself with EFAULT, 6.1 does not, and no kernel
 * refuses short-term ones. upin refuses all of them with EOPNOTSUPP, and
 * decides on the pages GUP has just pinned, batch by batch, not on the VMAs
 * before GUP runs: another thread may map a file over the range between
 * two batches. GUP's own refusal (EFAULT at a VMA the rule covers) becomes
 * EOPNOTSUPP too, so the errno does not depend on the kernel or on timing.
 * A refused pin may have write-faulted pages of the file, as a write of the
 * process would; it writes nothing into them.
 *
 * Capabilities: a missing CAP_IPC_LOCK only means the pin is charged to
 * RLIMIT_MEMLOCK, the everyday case, so it is asked with
 * ns_capable_noaudit(), as io_uring does: no audit record, no LSM denial
 * for every unprivileged pin. CAP_SYS_ADMIN is asked with capable() where
 * its absence refuses a request (a short-term pin, SEGMENTS): an audited
 * denial of a privileged operation, and only then. QUERY, which merely
 * leaves nr_segments 0 without it, asks with ns_capable_noaudit().
 *
 * Everything is charged once, for the whole region, before the first page is
 * pinned. The region is published last, when nothing can fail any more, as
 * iommufd publishes its objects (iommufd_object_finalize()): the region's
 * handle is issued before pinning, and the region is inserted in the
 * context's table of handles only after the result is copied to userspace,
 * an insert that needs no memory (context.c). Until then no other command
 * sees it (UNPIN of its handle is ENOENT), so a failed
 * copy_to_user() drops a region that nobody has seen or used, and every
 * region a command can find is one whose handle userspace was given.
 *
 * GUP runs in batches of at most one page of page pointers (512 pages; on
 * the stack for small pins), one temporary page reused for every batch.
 * Each batch is folded into the region's entries right away: pinning 1 GiB
 * allocates neither an array the size of the range nor, for huge folios,
 * anything the size of the range at all. A fatal signal check and
 * cond_resched() run between batches.
 *
 * Large folios are folded a folio at a time, where contiguity is checked,
 * not assumed. A PMD-mapped THP or a hugetlb page comes back from GUP as
 * consecutive subpages, but a PTE-mapped large folio may have a page in the
 * middle replaced (COW after fork(), mremap() of a part), and its first
 * and last pages do not show that. upin_pages_contiguous() compares the
 * page pointers GUP returned, four at a time, and reads no struct page:
 * the pages that follow one another join the open run at once
 * (upin_region_add_pages()), and the file rule looks at their folio once
 * (upin_check_write_batch()). A 2 MiB THP costs 512 pointer compares and
 * one folio test, where it cost a pfn computation, a compare and a folio
 * lookup per page.
 *
 * The ioctl path is most of what a one-page pin costs, so it is kept
 * short (main.c): the argument struct is read with its size field in one
 * user access window, as 64-bit words, and written back the same way; a
 * pin+unpin adds the region to a bucket of the context's hash table and
 * removes it, which allocates nothing and touches one bucket, where an
 * xarray indexed by handles that only grow walked four levels
 * (context.c); the descriptor of the last region freed is kept as the
 * context's spare and taken by its next pin (upin_region_alloc()), so a
 * pin+unpin loop neither allocates nor zeroes one; and a region that GUP
 * returned as one run, a page or a folio, is stored without the loop over
 * its pages (upin_region_add_pages()).
 *
 * Unpinning walks the entries (upin_region_release_pages(), region.c): one
 * unpin_user_page_range_dirty_lock() per run, which drops the pins of each
 * folio in it with one atomic operation (dirtying it first for a write
 * pin), so a 2 MiB THP costs one call, not 512 page lookups.
 *
 * Locking: the context's spinlock protects its table of handles and its
 * counters (nr_regions, last_handle, pinned_pages, metadata_bytes). A pin
 * takes the lock twice: to count the region and issue its handle
 * (upin_ctx_reserve()), and to publish it (upin_ctx_finalize()); UNPIN
 * takes it once, to remove. No lock is held across GUP or a user copy. A
 * region is refcounted: the context's table holds one reference and every
 * command working on the region holds one while it works; UNPIN erases
 * the region from the table and drops the table's, and the last put unpins
 * and uncharges (upin_region_put(), upin_unpin()). Release runs when no
 * command can be running any more and never fails.
 *
 * Ownership: this file owns a region's lifetime and its charges. It
 * allocates the descriptor (upin_region_alloc()), pins and charges it
 * (upin_pin()), and at the last upin_region_put() unpins, uncharges
 * (upin_unpin()) and frees it. region.c only stores what was pinned and
 * walks it: calls go from here to region.c, never back.
 *
 * Vocabulary: "start" is page aligned, "end" is open, npages counts pages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/backing-dev.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "upin_private.h"

atomic_long_t upin_global_pinned = ATOMIC_LONG_INIT(0);

static struct kmem_cache *upin_region_cache;

/*
 * Add @nr to @counter unless that passes @limit, atomically against other
 * chargers. Return: true if charged.
 */
static bool upin_charge_capped(atomic_long_t *counter, unsigned long nr,
			       unsigned long limit)
{
	long cur = atomic_long_read(counter);

	do {
		if (nr > limit || (unsigned long)cur > limit - nr)
			return false;
	} while (!atomic_long_try_cmpxchg(counter, &cur, cur + nr));
	return true;
}

/*
 * The file half of vma_needs_dirty_tracking() (mm/vma.c, not exported): the
 * file system wants to hear about writes (page_mkwrite) or writes pages
 * back. shmem, memfd and hugetlbfs do neither. The VMA's own flags are left
 * to the caller.
 */
static bool upin_file_needs_dirty_tracking(struct vm_area_struct *vma)
{
	if (vma->vm_ops &&
	    (vma->vm_ops->page_mkwrite || vma->vm_ops->pfn_mkwrite))
		return true;
	if (vma_test(vma, VMA_PFNMAP_BIT))
		return false;
	return vma->vm_file && vma->vm_file->f_mapping &&
	       mapping_can_writeback(vma->vm_file->f_mapping);
}

/* The file rule's log line. Called with the mmap_lock held. */
static void upin_log_file_write(struct vm_area_struct *vma)
{
	pr_info_ratelimited("%s[%d]: write pin of a shared %s file mapping refused: the file system tracks dirty pages\n",
			    current->comm, task_tgid_nr(current),
			    vma && vma->vm_file ?
			    file_inode(vma->vm_file)->i_sb->s_type->name :
			    "(unmapped)");
}

/*
 * GUP refused to pin @addr with EFAULT. Linux 6.5 and later do so for a
 * longterm write pin of a shared file mapping that needs dirty tracking
 * (writable_file_mapping_allowed()): was it that? Then the answer is
 * upin's EOPNOTSUPP, the same as on kernels whose GUP allows the pin.
 */
static int upin_gup_refusal(struct upin_kregion *region, unsigned long addr)
{
	struct mm_struct *mm = region->ctx->mm;
	struct vm_area_struct *vma;
	int ret = -EFAULT;

	if (!(region->flags & UPIN_PIN_WRITE))
		return ret;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, addr);
	if (vma && vma_test(vma, VMA_WRITE_BIT) &&
	    vma_test(vma, VMA_SHARED_BIT) &&
	    upin_file_needs_dirty_tracking(vma)) {
		upin_log_file_write(vma);
		ret = -EOPNOTSUPP;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * May @folio, pinned for writing, stay pinned without asking its VMA? The
 * folio test of gup_fast_folio_allowed() (mm/gup.c): anonymous memory,
 * hugetlb and shmem have no dirty tracking. folio_mapping() reads the
 * mapping once; an inode is freed only after an RCU grace period, which
 * shmem_mapping() needs for its one load.
 */
static bool upin_folio_write_allowed(struct folio *folio)
{
	struct address_space *mapping;
	bool ret;

	/* Before 6.15 an fsdax folio can carry the anon bit: ask its VMA. */
	if (folio_is_zone_device(folio))
		return false;
	if (folio_test_anon(folio) || folio_test_hugetlb(folio))
		return true;
	rcu_read_lock();
	mapping = folio_mapping(folio);
	ret = mapping && shmem_mapping(mapping);
	rcu_read_unlock();
	return ret;
}

/*
 * Any other folio, pinned for writing at @addr: it may stay pinned only if
 * the VMA there maps its file (or it has left the page cache) and that file
 * needs no dirty tracking (a driver's pages inserted into its mapping). The VMA is the one of
 * now, not the one GUP saw, so the folio's own mapping decides which file
 * it is: a file page pinned before another thread mapped something else
 * over it is refused, whatever replaced it. Called with the mmap_lock held.
 */
static bool upin_folio_write_allowed_vma(struct folio *folio,
					 struct vm_area_struct *vma)
{
	struct address_space *mapping = folio_mapping(folio);

	if (!vma || upin_file_needs_dirty_tracking(vma))
		return false;
	return !mapping || (vma->vm_file && vma->vm_file->f_mapping == mapping);
}

/*
 * The file rule, decided on the pages GUP has just pinned for writing:
 * never a page of a file that needs dirty tracking, whatever the VMAs were
 * when the pin began. The decision is per folio: the pages of a large
 * folio that GUP returned one after another (upin_pages_contiguous()) are
 * passed over with it, so a 2 MiB THP costs one folio test, not 512. Most
 * batches are anonymous memory; the mmap_lock is taken only for a folio of
 * a file.
 *
 * Return: 0, -EOPNOTSUPP (a page of such a file; the caller unpins the
 * batch) or -EINTR.
 */
static int upin_check_write_batch(struct upin_kregion *region,
				  struct page **pages, unsigned int nr,
				  unsigned long addr)
{
	struct mm_struct *mm = region->ctx->mm;
	struct folio *folio, *prev = NULL;
	struct vm_area_struct *vma;
	unsigned int i, step;
	bool locked = false;
	int ret = 0;

	for (i = 0; i < nr; i += step) {
		folio = page_folio(pages[i]);
		step = upin_folio_pages_returned(folio, pages + i, nr - i);
		if (folio == prev)
			continue;
		if (!upin_folio_write_allowed(folio)) {
			if (!locked && mmap_read_lock_killable(mm))
				return -EINTR;
			locked = true;
			vma = vma_lookup(mm, addr + ((unsigned long)i << PAGE_SHIFT));
			if (!upin_folio_write_allowed_vma(folio, vma)) {
				upin_log_file_write(vma);
				ret = -EOPNOTSUPP;
				break;
			}
		}
		prev = folio;
	}
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

/* Charge the region to the context's mm and, without CAP_IPC_LOCK, user. */
static int upin_account(struct upin_kregion *region)
{
	unsigned long npages = upin_region_npages(region);
	struct upin_ctx *ctx = region->ctx;

	if (!ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK)) {
		unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

		if (!upin_charge_capped(&ctx->user->locked_vm, npages,
					limit)) {
			pr_info_ratelimited("%s[%d]: pin of %lu pages: RLIMIT_MEMLOCK (%lu pages) reached\n",
					    current->comm, task_tgid_nr(current),
					    npages, limit);
			return -ENOMEM;
		}
		region->charged_user = true;
	}
	atomic64_add(npages, &ctx->mm->pinned_vm);
	return 0;
}

static void upin_unaccount(struct upin_kregion *region)
{
	unsigned long npages = upin_region_npages(region);
	struct upin_ctx *ctx = region->ctx;

	atomic64_sub(npages, &ctx->mm->pinned_vm);
	if (region->charged_user)
		atomic_long_sub(npages, &ctx->user->locked_vm);
	region->charged_user = false;
}

/* Pins this small or smaller use a batch on the stack. */
#define UPIN_STACK_BATCH 16

/*
 * Pin every page of the region, batch by batch, into its entries. On
 * failure the region holds the pages pinned so far; the caller unpins them.
 */
static int upin_pin_pages(struct upin_kregion *region, unsigned long start)
{
	unsigned long npages = upin_region_npages(region);
	struct page *stack[UPIN_STACK_BATCH], **batch = stack;
	unsigned long max = ARRAY_SIZE(stack), done = 0, unshared = 0;
	unsigned int gup_flags = 0;
	int ret = 0;

	if (region->flags & UPIN_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (region->flags & UPIN_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	if (npages > max) {
		batch = (struct page **)__get_free_page(GFP_KERNEL);
		if (!batch)
			return -ENOMEM;
		max = PAGE_SIZE / sizeof(*batch);
	}
	while (done < npages) {
		unsigned long addr = start + (done << PAGE_SHIFT);
		unsigned int nr = min(npages - done, max), kept;

		ret = pin_user_pages_fast(addr, nr, gup_flags, batch);
		ret = upin_fault_gup(batch, ret);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			if (ret == -EFAULT)
				ret = upin_gup_refusal(region, addr);
			break;
		}
		nr = ret;
		if (gup_flags & FOLL_WRITE) {
			ret = upin_check_write_batch(region, batch, nr, addr);
			if (ret) {
				unpin_user_pages(batch, nr);
				break;
			}
		}
		nr = upin_compat_unshare_cow(batch, nr, addr, gup_flags,
					     &unshared);
		kept = upin_region_add_pages(region, batch, nr);
		if (kept < nr) {
			unpin_user_pages(batch + kept, nr - kept);
			ret = -ENOMEM;
			break;
		}
		done += nr;
		ret = 0;
		if (done == npages)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	if (batch != stack)
		free_page((unsigned long)batch);
	return ret;
}

/*
 * Unpin a region and return every charge it holds: the reverse of
 * upin_pin_region(), also of a part of it that failed. Never fails and
 * never looks at current: the charges go back to the context's mm and
 * user, whoever drops the last reference.
 */
static inline void upin_unpin(struct upin_kregion *region)
{
	upin_region_release_pages(region);
	upin_unaccount(region);
	atomic_long_sub(upin_region_npages(region), &upin_global_pinned);
}

/*
 * Charge and pin every page of a region whose handle is issued. Called by
 * the task that owns &upin_ctx.mm. On success the region holds the pins,
 * charges and entries listed at the top of this file; on failure it holds
 * nothing and the caller frees it.
 *
 * Return: 0, or -ENOSPC, -ENOMEM, -EFAULT, -EOPNOTSUPP, -EINTR, or another
 * error from GUP.
 */
static int upin_pin_region(struct upin_kregion *region)
{
	unsigned long start = untagged_addr((unsigned long)region->addr) &
			      PAGE_MASK;
	unsigned long npages = upin_region_npages(region);
	unsigned long max_pages = upin_max_pages;
	int ret;

	if (!upin_charge_capped(&upin_global_pinned, npages,
				max_pages ? max_pages : ULONG_MAX >> 1)) {
		pr_info_ratelimited("%s[%d]: pin of %lu pages: module-wide max_pages (%lu) reached\n",
				    current->comm, task_tgid_nr(current),
				    npages, max_pages);
		return -ENOSPC;
	}

	ret = upin_account(region);
	if (ret) {
		atomic_long_sub(npages, &upin_global_pinned);
		return ret;
	}
	ret = upin_pin_pages(region, start);
	if (ret) {
		upin_unpin(region);
		return ret;
	}

	upin_region_finish(region);
	return 0;
}

/**
 * upin_region_cache_init() - create the slab cache of region descriptors
 *
 * Return: 0 or -ENOMEM.
 */
int upin_region_cache_init(void)
{
	upin_region_cache = KMEM_CACHE(upin_kregion, SLAB_ACCOUNT);
	return upin_region_cache ? 0 : -ENOMEM;
}

/**
 * upin_region_cache_exit() - destroy the slab cache of region descriptors
 */
void upin_region_cache_exit(void)
{
	kmem_cache_destroy(upin_region_cache);
}

/*
 * Allocate a region for [addr, addr + length) of @ctx, with one reference.
 * Checks that the range is a non-empty part of the user address space and
 * sizes the region; its entries are allocated as pages are pinned.
 *
 * Return: the region, or ERR_PTR(-EINVAL or -ENOMEM).
 */
static struct upin_kregion *upin_region_alloc(struct upin_ctx *ctx, u64 addr,
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

	region = xchg(&ctx->spare, NULL);
	if (!region) {
		region = kmem_cache_alloc(upin_region_cache, GFP_KERNEL_ACCOUNT);
		if (!region)
			return ERR_PTR(-ENOMEM);
	}
	/* Every member not named here is zero, as in a new descriptor. */
	*region = (struct upin_kregion){
		.users = REFCOUNT_INIT(1),
		.flags = flags,
		.ctx = ctx,
		.addr = addr,
		.length = length,
	};
	refcount_inc(&ctx->users);
	return region;
}

/*
 * Free a region that holds no pages, and its reference to the context. The
 * descriptor becomes the context's spare if it has none (the context is
 * still referenced here, so it is there to keep it).
 */
static void upin_region_free(struct upin_kregion *region)
{
	struct upin_ctx *ctx = region->ctx;

	WARN_ON_ONCE(region->nr_entries);
	if (cmpxchg(&ctx->spare, NULL, region))
		kmem_cache_free(upin_region_cache, region);
	upin_ctx_put(ctx);
}

/**
 * upin_region_free_spare() - free the descriptor a context keeps in reserve
 * @ctx: a context whose last reference is gone
 *
 * The descriptor of the context's last freed region, kept for its next pin
 * (&upin_ctx.spare), if any.
 */
void upin_region_free_spare(struct upin_ctx *ctx)
{
	if (ctx->spare)
		kmem_cache_free(upin_region_cache, ctx->spare);
}

/**
 * upin_region_put() - drop a reference; the last one unpins and frees
 * @region: the region
 *
 * For drivers: drops the reference of upin_region_get() or
 * upin_region_get_fd(). The last put, which may be a driver's, unpins the
 * pages (dirtying those of a write pin) and returns the charges to the mm
 * and user that pinned them. May sleep.
 */
void upin_region_put(struct upin_kregion *region)
{
	if (!refcount_dec_and_test(&region->users))
		return;
	upin_unpin(region);
	upin_region_free(region);
}
EXPORT_SYMBOL_NS_GPL(upin_region_put, UPIN_NS);

/**
 * upin_pin() - pin a range as a new region of a context, not yet published
 * @ctx: the context, whose mm is current's
 * @addr: user address, as given to UPIN_IOC_PIN
 * @length: bytes, as given to UPIN_IOC_PIN
 * @flags: UPIN_PIN_* flags, already validated
 *
 * Every step of the table at the top of this file up to the copy out: on
 * success the region is pinned and charged, and its handle is issued, but
 * no command sees it yet. The caller reports &upin_kregion.handle and
 * upin_region_npages(), then publishes the region
 * with upin_ctx_finalize(), or drops it with upin_ctx_abort() if it cannot
 * report them. On failure nothing is left behind.
 *
 * Return: the region, with the reference the context takes over when it is
 * published, or ERR_PTR(-EINVAL, -EPERM, -ENOSPC, -ENOMEM, -EFAULT,
 * -EOPNOTSUPP, -EINTR or another error from GUP).
 */
struct upin_kregion *upin_pin(struct upin_ctx *ctx, u64 addr, u64 length,
			      u32 flags)
{
	struct upin_kregion *region;
	int ret;

	region = upin_region_alloc(ctx, addr, length, flags);
	if (IS_ERR(region))
		return region;
	if (!(flags & UPIN_PIN_LONGTERM) && !capable(CAP_SYS_ADMIN)) {
		pr_info_ratelimited("%s[%d]: pin without UPIN_PIN_LONGTERM refused: a region is held across calls, so it is a longterm pin; a short-term one is a diagnostic that needs CAP_SYS_ADMIN\n",
				    current->comm, task_tgid_nr(current));
		ret = -EPERM;
		goto err_free;
	}
	ret = upin_ctx_reserve(ctx, region);
	if (ret)
		goto err_free;
	ret = upin_pin_region(region);
	if (ret)
		goto err_unreserve;
	return region;

err_unreserve:
	upin_ctx_unreserve(ctx, region);
err_free:
	upin_region_free(region);
	return ERR_PTR(ret);
}

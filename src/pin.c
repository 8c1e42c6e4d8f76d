// SPDX-License-Identifier: GPL-2.0
/*
 * upin pinning: the GUP path, its charges, and their undoing.
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
 *  - one unit of the context's nr_regions and, once committed, its slot in
 *    the context's xarray;
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
 *   count the region, handle    ENOSPC       upin_ctx_reserve()
 *   module-wide page cap        ENOSPC       upin_pin_region()
 *   longterm write policy       EOPNOTSUPP   upin_check_longterm_write()
 *   RLIMIT_MEMLOCK, VmPin       ENOMEM       upin_account()
 *   GUP, in batches, stored     EFAULT EINTR upin_pin_pages()
 *                               ENOMEM
 *   publish the handle          ENOMEM       upin_ctx_commit()
 *   copy the result out         EFAULT       main.c, then upin_ctx_unpin()
 *
 * upin_pin() runs the steps up to the publishing.
 *
 * Everything is charged once, for the whole region, before the first page is
 * pinned. The handle is published under one hold of the context's lock; if
 * the result cannot be copied to userspace the region is unpinned again
 * through its handle, so a failed copy_to_user() cannot leak a region nobody
 * knows about.
 *
 * GUP runs in batches of at most one page of page pointers (512 pages; on
 * the stack for small pins), one temporary page reused for every batch.
 * Each batch is folded into the region's entries right away: pinning 1 GiB
 * allocates neither an array the size of the range nor, for huge folios,
 * anything the size of the range at all. A fatal signal check and
 * cond_resched() run between batches.
 *
 * Unpinning walks the entries: one unpin_user_page_range_dirty_lock() per
 * run, which drops the pins of each folio in it with one atomic operation
 * (dirtying it first for a write pin), so a 2 MiB THP costs one call, not
 * 512 page lookups.
 *
 * Locking: the xarray's spinlock protects the handle index and the
 * context's pinned_pages and metadata_bytes; nr_regions and last_handle are
 * atomics, reserved before pinning without the lock. A pin takes the lock
 * once, to publish; UNPIN once, to remove. No lock is held across GUP or a
 * user copy. A region is refcounted: the xarray holds one reference and
 * every command working on the region holds one while it works; UNPIN
 * erases the slot and drops the xarray's, and the last put unpins and
 * uncharges (upin_unpin_region()). Release runs when no command can be
 * running any more and never fails.
 *
 * Vocabulary: "start" is page aligned, "end" is open, npages counts pages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/backing-dev.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>

#include "upin_private.h"

atomic_long_t upin_global_pinned = ATOMIC_LONG_INIT(0);

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
 * Mirrors vma_needs_dirty_tracking() of Linux 6.5 (mm/vma.c since 6.12, not
 * exported): a writable shared mapping whose file system wants to hear about
 * writes (page_mkwrite) or writes pages back. shmem, memfd and hugetlbfs do
 * neither.
 */
static bool upin_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	if (!vma_test(vma, VMA_WRITE_BIT) || !vma_test(vma, VMA_SHARED_BIT))
		return false;
	if (vma->vm_ops &&
	    (vma->vm_ops->page_mkwrite || vma->vm_ops->pfn_mkwrite))
		return true;
	if (vma_test(vma, VMA_PFNMAP_BIT))
		return false;
	return vma->vm_file && vma->vm_file->f_mapping &&
	       mapping_can_writeback(vma->vm_file->f_mapping);
}

/*
 * A longterm writable pin of a file that needs dirty tracking lets the device
 * write pages the file system believes clean, or are under writeback: the
 * data can be lost and ext4 has crashed on it. Linux 6.5 made GUP refuse such
 * pins with EFAULT; upin refuses them itself, with a clearer EOPNOTSUPP, on
 * every kernel. A mapping that appears between this check and GUP is refused
 * by GUP on 6.5+ and, on older kernels, only hurts the process that raced.
 */
static int upin_check_longterm_write(struct upin_kregion *region,
				     unsigned long start)
{
	unsigned long end = start + (region->npages << PAGE_SHIFT);
	struct mm_struct *mm = region->ctx->mm;
	struct vm_area_struct *vma;
	int ret = 0;

	if ((region->flags & (UPIN_PIN_WRITE | UPIN_PIN_LONGTERM)) !=
	    (UPIN_PIN_WRITE | UPIN_PIN_LONGTERM))
		return 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		if (upin_vma_needs_dirty_tracking(vma)) {
			pr_info_ratelimited("%s[%d]: pin 0x%llx+%llu: longterm write pin of a shared %s file mapping refused\n",
					    current->comm, task_tgid_nr(current),
					    region->addr, region->length,
					    vma->vm_file ?
					    file_inode(vma->vm_file)->i_sb->s_type->name :
					    "(no file)");
			ret = -EOPNOTSUPP;
			break;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/* Charge the region to the context's mm and, without CAP_IPC_LOCK, user. */
static int upin_account(struct upin_kregion *region)
{
	struct upin_ctx *ctx = region->ctx;

	if (!capable(CAP_IPC_LOCK)) {
		unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

		if (!upin_charge_capped(&ctx->user->locked_vm, region->npages,
					limit)) {
			pr_info_ratelimited("%s[%d]: pin 0x%llx+%llu: RLIMIT_MEMLOCK (%lu pages) reached\n",
					    current->comm, task_tgid_nr(current),
					    region->addr, region->length, limit);
			return -ENOMEM;
		}
		region->charged_user = true;
	}
	atomic64_add(region->npages, &ctx->mm->pinned_vm);
	return 0;
}

static void upin_unaccount(struct upin_kregion *region)
{
	struct upin_ctx *ctx = region->ctx;

	atomic64_sub(region->npages, &ctx->mm->pinned_vm);
	if (region->charged_user)
		atomic_long_sub(region->npages, &ctx->user->locked_vm);
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
	struct page *stack[UPIN_STACK_BATCH], **batch = stack;
	unsigned long max = ARRAY_SIZE(stack), done = 0, unshared = 0;
	unsigned int gup_flags = 0;
	int ret = 0;

	if (region->flags & UPIN_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (region->flags & UPIN_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	if (region->npages > max) {
		batch = (struct page **)__get_free_page(GFP_KERNEL);
		if (!batch)
			return -ENOMEM;
		max = PAGE_SIZE / sizeof(*batch);
	}
	while (done < region->npages) {
		unsigned long addr = start + (done << PAGE_SHIFT);
		unsigned int nr = min(region->npages - done, max), kept;

		ret = pin_user_pages_fast(addr, nr, gup_flags, batch);
		ret = upin_fault_gup(batch, ret);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			break;
		}
		nr = upin_compat_unshare_cow(batch, ret, addr, gup_flags,
					     &unshared);
		kept = upin_region_add_pages(region, batch, nr);
		if (kept < nr) {
			unpin_user_pages(batch + kept, nr - kept);
			ret = -ENOMEM;
			break;
		}
		done += nr;
		ret = 0;
		if (done == region->npages)
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

/**
 * upin_pin_region() - charge and pin every page of a region
 * @region: a region from upin_region_alloc() whose handle is reserved
 *
 * Called by the task that owns &upin_ctx.mm. On success the region holds
 * the pins, charges and entries listed at the top of this file; on failure
 * it holds nothing and the caller frees it.
 *
 * Return: 0, or -ENOSPC, -EOPNOTSUPP, -ENOMEM, -EFAULT, -EINTR, or another
 * error from GUP.
 */
int upin_pin_region(struct upin_kregion *region)
{
	unsigned long start = untagged_addr((unsigned long)region->addr) &
			      PAGE_MASK;
	unsigned long max_pages = upin_max_pages;
	int ret;

	if (!upin_charge_capped(&upin_global_pinned, region->npages,
				max_pages ? max_pages : ULONG_MAX >> 1)) {
		pr_info_ratelimited("%s[%d]: pin 0x%llx+%llu: module-wide max_pages (%lu) reached\n",
				    current->comm, task_tgid_nr(current),
				    region->addr, region->length, max_pages);
		return -ENOSPC;
	}

	ret = upin_check_longterm_write(region, start);
	if (ret)
		goto err_global;
	ret = upin_account(region);
	if (ret)
		goto err_global;
	ret = upin_pin_pages(region, start);
	if (ret)
		goto err_unpin;

	upin_region_finish(region);
	return 0;

err_unpin:
	upin_region_unpin(region);
	upin_unaccount(region);
err_global:
	atomic_long_sub(region->npages, &upin_global_pinned);
	return ret;
}

/**
 * upin_unpin_region() - unpin a region and return every charge it holds
 * @region: a region that upin_pin_region() pinned
 *
 * Never fails and never looks at current: the charges go back to the
 * context's mm and user, whoever closes the file.
 */
void upin_unpin_region(struct upin_kregion *region)
{
	upin_region_unpin(region);
	upin_unaccount(region);
	atomic_long_sub(region->npages, &upin_global_pinned);
}

/**
 * upin_pin() - pin a range as a new region of a context, and publish it
 * @ctx: the context, whose mm is current's
 * @addr: user address, as given to UPIN_IOC_PIN
 * @length: bytes, as given to UPIN_IOC_PIN
 * @flags: UPIN_PIN_* flags, already validated
 * @handle: out, the new region's handle
 * @npages: out, its pages
 *
 * Every step of the table at the top of this file but the copy out: on
 * success the region is in the context under @handle, and a caller that
 * cannot report it undoes it with upin_ctx_unpin(). On failure nothing is
 * left behind.
 *
 * Return: 0, or -EINVAL, -ENOSPC, -EOPNOTSUPP, -ENOMEM, -EFAULT, -EINTR, or
 * another error from GUP.
 */
int upin_pin(struct upin_ctx *ctx, u64 addr, u64 length, u32 flags,
	     unsigned long *handle, unsigned long *npages)
{
	struct upin_kregion *region;
	int ret;

	region = upin_region_alloc(ctx, addr, length, flags);
	if (IS_ERR(region))
		return PTR_ERR(region);
	ret = upin_ctx_reserve(ctx, &region->handle);
	if (ret)
		goto err_free;
	ret = upin_pin_region(region);
	if (ret)
		goto err_unreserve;
	*handle = region->handle;
	*npages = region->npages;
	ret = upin_ctx_commit(ctx, region);
	if (ret)
		goto err_unpin;
	return 0;

err_unpin:
	upin_unpin_region(region);
err_unreserve:
	upin_ctx_unreserve(ctx);
err_free:
	upin_region_free(region);
	return ret;
}

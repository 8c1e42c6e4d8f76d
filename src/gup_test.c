// SPDX-License-Identifier: GPL-2.0
/*
 * upin gup_test: /sys/kernel/debug/gup_test for kernels without
 * CONFIG_GUP_TEST, so that the kernel's own GUP selftests
 * (tools/testing/selftests/mm: gup_test, cow, gup_longterm) run on the
 * distribution kernels people use. Loaded with gup_test=1, upin creates the
 * file where the tests look for it, unless the kernel has its own.
 *
 * Test code: this file is built only when the module is made with
 * UPIN_GUP_TEST=1 (see src/Kbuild), as fault.c is with
 * UPIN_FAULT_INJECTION=1, and never in production. Without it upin.ko has
 * no gup_test parameter and nothing of this file: upin_gup_test_init() and
 * upin_gup_test_exit() are inlines that do nothing (upin_private.h).
 *
 * The file speaks the ioctl ABI of the running kernel's mm/gup_test.c: the
 * same struct layouts, command numbers, checks and errors.
 *
 *  - struct gup_test and its six commands (GUP_FAST_BENCHMARK,
 *    PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK, GUP_BASIC_TEST,
 *    PIN_BASIC_TEST, DUMP_USER_PAGES_TEST) are the same in every kernel upin
 *    supports, 6.1 to mainline.
 *  - PIN_LONGTERM_TEST_START, _STOP and _READ came with Linux 6.2; an older
 *    kernel answers them with EINVAL, and so does this file there
 *    (UPIN_COMPAT_NO_GUP_TEST_LONGTERM, see compat.h).
 *  - Later kernels (7.x) only add a check that addr + size does not wrap
 *    (EINVAL), which this file has on every kernel.
 *
 * What runs underneath:
 *
 *  - The longterm test commands run on upin's own path. START pins the range
 *    as a region (UPIN_PIN_LONGTERM, with UPIN_PIN_WRITE for
 *    PIN_LONGTERM_TEST_FLAG_USE_WRITE) of a context bound to the caller's
 *    mm, charged like any upin pin; READ copies the region out through its
 *    pinned pages, as UPIN_IOC_ACCESS does; STOP and the last close unpin
 *    it. The cow and gup_longterm selftests check upin's longterm pins with
 *    these commands: that a read-only pin stays coherent with later writes
 *    of the process, and which file systems refuse a writable one.
 *  - The six gup_test commands measure and check the kernel's GUP entry
 *    points themselves, as mm/gup_test.c does: get_user_pages_fast(),
 *    get_user_pages(), pin_user_pages_fast() and pin_user_pages(), called
 *    nr_pages_per_call pages at a time. upin has no FOLL_GET path, no
 *    caller-chosen batch size and no mmap_lock-held GUP, so these do not go
 *    through a region.
 *
 * Where this file differs from mm/gup_test.c, on purpose:
 *
 *  - GUP flags the GUP interface rejects with a kernel warning (FOLL_GET,
 *    FOLL_PIN, internal flags, FOLL_LONGTERM without pinning) are refused
 *    with EINVAL: only FOLL_WRITE, FOLL_FORCE and, for the pinning
 *    commands, FOLL_LONGTERM are passed on.
 *  - The longterm test state belongs to the open file; the kernel's is one
 *    for the whole system.
 *  - PIN_LONGTERM_TEST_FLAG_USE_FAST is accepted and changes nothing: upin
 *    pins with pin_user_pages_fast(), which takes the mmap_lock itself for
 *    what the lockless walk cannot pin.
 *  - upin refuses a writable longterm pin of a file that needs dirty
 *    tracking with EOPNOTSUPP (pin.c); START answers EFAULT there, as GUP
 *    does since Linux 6.5, and passes GUP's own EOPNOTSUPP (fsdax) on.
 *  - A call never pins past the page array: the last one is clamped to
 *    what is left of it, where mm/gup_test.c computes addr + nr * PAGE_SIZE,
 *    which can wrap on 32-bit kernels.
 *  - A size whose page array cannot be allocated fails with ENOMEM without
 *    the allocator's warning.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "upin_private.h"

static bool upin_gup_test_enable;
module_param_named(gup_test, upin_gup_test_enable, bool, 0444);
MODULE_PARM_DESC(gup_test, "Provide /sys/kernel/debug/gup_test for the kernel's GUP selftests when the kernel has none (default 0)");

#define UPIN_GUP_TEST_MAX_PAGES_TO_DUMP 8
#define UPIN_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN 0x1

/**
 * struct upin_gup_test - the argument of the gup_test benchmark and test
 * commands, struct gup_test of the kernel's mm/gup_test.h
 * @get_delta_usec: out, microseconds spent getting or pinning the pages
 * @put_delta_usec: out, microseconds spent putting or unpinning them
 * @addr: in, start of the range, page aligned
 * @size: in, bytes; out, bytes got or pinned
 * @nr_pages_per_call: in, pages per GUP call
 * @gup_flags: in, FOLL_* flags of the running kernel
 * @test_flags: in, UPIN_GUP_TEST_FLAG_* bits
 * @which_pages: in, for DUMP_USER_PAGES_TEST: 1-based indices of pages to
 *               dump with dump_page(), 0 = none
 */
struct upin_gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[UPIN_GUP_TEST_MAX_PAGES_TO_DUMP];
};

#define UPIN_GUP_TEST_LONGTERM_USE_WRITE 1
#define UPIN_GUP_TEST_LONGTERM_USE_FAST 2

/**
 * struct upin_gup_test_longterm - the argument of PIN_LONGTERM_TEST_START,
 * struct pin_longterm_test of the kernel's mm/gup_test.h
 * @addr: in, start of the range, page aligned
 * @size: in, bytes, page aligned, not zero
 * @flags: in, UPIN_GUP_TEST_LONGTERM_* bits
 */
struct upin_gup_test_longterm {
	__u64 addr;
	__u64 size;
	__u32 flags;
};

#define GUP_FAST_BENCHMARK	_IOWR('g', 1, struct upin_gup_test)
#define PIN_FAST_BENCHMARK	_IOWR('g', 2, struct upin_gup_test)
#define PIN_LONGTERM_BENCHMARK	_IOWR('g', 3, struct upin_gup_test)
#define GUP_BASIC_TEST		_IOWR('g', 4, struct upin_gup_test)
#define PIN_BASIC_TEST		_IOWR('g', 5, struct upin_gup_test)
#define DUMP_USER_PAGES_TEST	_IOWR('g', 6, struct upin_gup_test)
#define PIN_LONGTERM_TEST_START	_IOW('g', 7, struct upin_gup_test_longterm)
#define PIN_LONGTERM_TEST_STOP	_IO('g', 8)
#define PIN_LONGTERM_TEST_READ	_IOW('g', 9, __u64)

/**
 * struct upin_gup_test_file - one open file of /sys/kernel/debug/gup_test
 * @lock: serializes the longterm test commands
 * @ctx: the context holding the longterm test pin, NULL when none
 * @handle: the pin's region in @ctx
 */
struct upin_gup_test_file {
	/* Protects @ctx and @handle. */
	struct mutex lock;
	struct upin_ctx *ctx;
	unsigned long handle;
};

static struct dentry *upin_gup_test_dentry;

/* The six gup_test commands: which GUP call each one makes. */
static bool upin_gup_test_pins(unsigned int cmd, u32 test_flags)
{
	switch (cmd) {
	case PIN_FAST_BENCHMARK:
	case PIN_BASIC_TEST:
	case PIN_LONGTERM_BENCHMARK:
		return true;
	case DUMP_USER_PAGES_TEST:
		return test_flags & UPIN_GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
	default:
		return false;
	}
}

static long upin_gup_test_call(unsigned int cmd, unsigned long addr, long nr,
			       unsigned int gup_flags, bool pin,
			       struct page **pages)
{
	switch (cmd) {
	case GUP_FAST_BENCHMARK:
		return get_user_pages_fast(addr, nr, gup_flags, pages);
	case PIN_FAST_BENCHMARK:
		return pin_user_pages_fast(addr, nr, gup_flags, pages);
	case PIN_LONGTERM_BENCHMARK:
		return pin_user_pages(addr, nr, gup_flags | FOLL_LONGTERM,
				      pages);
	default:
		if (pin)
			return pin_user_pages(addr, nr, gup_flags, pages);
		return get_user_pages(addr, nr, gup_flags, pages);
	}
}

/*
 * What mm/gup_test.c checks before it puts the pages back: every pinned page
 * is dma-pinned, and every longterm pinned one may be pinned longterm. A
 * failure is a kernel bug, reported with a warning.
 */
static void upin_gup_test_verify(unsigned int cmd, bool pin,
				 struct page **pages, unsigned long nr)
{
	unsigned long i;

	if (!pin || cmd == DUMP_USER_PAGES_TEST)
		return;
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (WARN(!folio_maybe_dma_pinned(folio),
			 "gup_test: pages[%lu] is not dma-pinned\n", i) ||
		    WARN(cmd == PIN_LONGTERM_BENCHMARK &&
			 !upin_folio_longterm_pinnable(folio),
			 "gup_test: pages[%lu] is pinned longterm but not longterm pinnable\n",
			 i)) {
			dump_page(&folio->page, "gup_test failure");
			return;
		}
	}
}

static void upin_gup_test_dump(struct upin_gup_test *gup, struct page **pages,
			       unsigned long nr)
{
	unsigned int i, index;

	for (i = 0; i < UPIN_GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		index = gup->which_pages[i];
		if (index > nr) {
			pr_warn("gup_test: which_pages[%u] = %u is out of range, ignored\n",
				i, index);
			gup->which_pages[i] = 0;
		} else if (index) {
			pr_info("gup_test: page #%u of the range at 0x%llx\n",
				index - 1, gup->addr);
			dump_page(pages[index - 1], "gup_test: dump_pages() test");
		}
	}
}

static void upin_gup_test_put(bool pin, struct page **pages, unsigned long nr)
{
	unsigned long i;

	if (pin) {
		unpin_user_pages(pages, nr);
		return;
	}
	for (i = 0; i < nr; i++)
		put_page(pages[i]);
}

/*
 * Get or pin [addr, addr + size) nr_pages_per_call pages at a time, stopping
 * at the first short or failed call; time that, check the pages, dump the
 * asked ones, and time putting them back. As in mm/gup_test.c, a GUP failure
 * is no error of the command: @gup->size says how far it got.
 */
static int upin_gup_test_run(unsigned int cmd, struct upin_gup_test *gup)
{
	unsigned int allowed = FOLL_WRITE | FOLL_FORCE;
	bool pin = upin_gup_test_pins(cmd, gup->test_flags);
	bool locked = cmd != GUP_FAST_BENCHMARK && cmd != PIN_FAST_BENCHMARK;
	unsigned long addr, end, next, nr_pages, done = 0;
	long nr = gup->nr_pages_per_call;
	struct mm_struct *mm = current->mm;
	struct page **pages;
	ktime_t start;

	if (pin)
		allowed |= FOLL_LONGTERM;
	if (gup->gup_flags & ~allowed)
		return -EINVAL;
	if (gup->addr > ULONG_MAX || gup->size > ULONG_MAX ||
	    check_add_overflow((unsigned long)gup->addr,
			       (unsigned long)gup->size, &end))
		return -EINVAL;

	nr_pages = gup->size / PAGE_SIZE;
	pages = kvcalloc(nr_pages, sizeof(*pages), GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;
	if (locked && mmap_read_lock_killable(mm)) {
		kvfree(pages);
		return -EINTR;
	}

	start = ktime_get();
	for (addr = gup->addr; addr < end && nr == gup->nr_pages_per_call;
	     addr = next) {
		/*
		 * Never past pages[]: mm/gup_test.c's addr + nr * PAGE_SIZE
		 * can wrap on a 32-bit kernel and then pin past its end.
		 */
		nr = min_t(unsigned long, nr, nr_pages - done);
		next = nr < gup->nr_pages_per_call ? end :
		       addr + nr * PAGE_SIZE;
		if (!nr)
			break;
		nr = upin_gup_test_call(cmd, addr, nr, gup->gup_flags, pin,
					pages + done);
		if (nr <= 0)
			break;
		done += nr;
	}
	gup->get_delta_usec = ktime_us_delta(ktime_get(), start);
	gup->size = addr - gup->addr;

	upin_gup_test_verify(cmd, pin, pages, done);
	if (cmd == DUMP_USER_PAGES_TEST)
		upin_gup_test_dump(gup, pages, done);

	start = ktime_get();
	upin_gup_test_put(pin, pages, done);
	gup->put_delta_usec = ktime_us_delta(ktime_get(), start);

	if (locked)
		mmap_read_unlock(mm);
	kvfree(pages);
	return 0;
}

static void upin_gup_test_stop(struct upin_gup_test_file *gt)
{
	if (gt->ctx)
		upin_ctx_destroy(gt->ctx);
	gt->ctx = NULL;
}

/*
 * Does [start, end) hold an fsdax mapping? GUP refuses any longterm pin of
 * one with EOPNOTSUPP (check_vma_flags()).
 */
static bool upin_gup_test_has_fsdax(unsigned long start, unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool ret = false;

	VMA_ITERATOR(vmi, mm, start);

	mmap_read_lock(mm);
	for_each_vma_range(vmi, vma, end) {
		if (vma_is_fsdax(vma)) {
			ret = true;
			break;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/* PIN_LONGTERM_TEST_START: pin the range as a longterm region of upin. */
static int upin_gup_test_start(struct upin_gup_test_file *gt,
			       void __user *uarg)
{
	struct upin_gup_test_longterm args;
	u32 flags = UPIN_PIN_LONGTERM;
	struct upin_kregion *region;
	struct upin_ctx *ctx;
	int ret;

	if (gt->ctx)
		return -EINVAL;
	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(UPIN_GUP_TEST_LONGTERM_USE_WRITE |
			   UPIN_GUP_TEST_LONGTERM_USE_FAST))
		return -EINVAL;
	if (!IS_ALIGNED(args.addr | args.size, PAGE_SIZE) || !args.size ||
	    args.size > LONG_MAX)
		return -EINVAL;
	if (args.flags & UPIN_GUP_TEST_LONGTERM_USE_WRITE)
		flags |= UPIN_PIN_WRITE;

	ctx = upin_ctx_create();
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	region = upin_pin(ctx, args.addr, args.size, flags);
	if (IS_ERR(region)) {
		ret = PTR_ERR(region);
		upin_ctx_destroy(ctx);
		/*
		 * upin's file rule is EOPNOTSUPP where GUP says EFAULT (since
		 * Linux 6.5); GUP's own EOPNOTSUPP, for fsdax, stays.
		 */
		if (ret == -EOPNOTSUPP &&
		    !upin_gup_test_has_fsdax(args.addr, args.addr + args.size))
			ret = -EFAULT;
		return ret;
	}
	gt->ctx = ctx;
	gt->handle = region->handle;
	upin_ctx_finalize(ctx, region);
	return 0;
}

/* PIN_LONGTERM_TEST_READ: copy the pinned pages to a user buffer. */
static int upin_gup_test_read(struct upin_gup_test_file *gt,
			      void __user *uarg)
{
	struct upin_kregion *region;
	u64 buf;
	int ret;

	if (!gt->ctx)
		return -EINVAL;
	if (copy_from_user(&buf, uarg, sizeof(buf)))
		return -EFAULT;
	region = upin_ctx_get_region(gt->ctx, gt->handle);
	if (WARN_ON_ONCE(!region))
		return -EINVAL;
	ret = upin_region_access(region, 0, region->length,
				 u64_to_user_ptr(buf), false);
	upin_region_put(region);
	return ret;
}

static long upin_gup_test_longterm(struct upin_gup_test_file *gt,
				   unsigned int cmd, void __user *uarg)
{
	long ret = 0;

	if (UPIN_COMPAT_NO_GUP_TEST_LONGTERM)
		return -EINVAL;
	if (mutex_lock_killable(&gt->lock))
		return -EINTR;
	if (cmd == PIN_LONGTERM_TEST_START)
		ret = upin_gup_test_start(gt, uarg);
	else if (cmd == PIN_LONGTERM_TEST_READ)
		ret = upin_gup_test_read(gt, uarg);
	else
		upin_gup_test_stop(gt);
	mutex_unlock(&gt->lock);
	return ret;
}

static long upin_gup_test_ioctl(struct file *filp, unsigned int cmd,
				unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct upin_gup_test gup;
	int ret;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
	case PIN_FAST_BENCHMARK:
	case PIN_LONGTERM_BENCHMARK:
	case GUP_BASIC_TEST:
	case PIN_BASIC_TEST:
	case DUMP_USER_PAGES_TEST:
		break;
	case PIN_LONGTERM_TEST_START:
	case PIN_LONGTERM_TEST_STOP:
	case PIN_LONGTERM_TEST_READ:
		return upin_gup_test_longterm(filp->private_data, cmd, uarg);
	default:
		return -EINVAL;
	}

	if (copy_from_user(&gup, uarg, sizeof(gup)))
		return -EFAULT;
	ret = upin_gup_test_run(cmd, &gup);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &gup, sizeof(gup)))
		return -EFAULT;
	return 0;
}

static int upin_gup_test_open(struct inode *inode, struct file *filp)
{
	struct upin_gup_test_file *gt;

	gt = kzalloc(sizeof(*gt), GFP_KERNEL_ACCOUNT);
	if (!gt)
		return -ENOMEM;
	mutex_init(&gt->lock);
	filp->private_data = gt;
	return nonseekable_open(inode, filp);
}

static int upin_gup_test_release(struct inode *inode, struct file *filp)
{
	struct upin_gup_test_file *gt = filp->private_data;

	upin_gup_test_stop(gt);
	mutex_destroy(&gt->lock);
	kfree(gt);
	return 0;
}

static const struct file_operations upin_gup_test_fops = {
	.owner = THIS_MODULE,
	.open = upin_gup_test_open,
	.release = upin_gup_test_release,
	.unlocked_ioctl = upin_gup_test_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * upin_gup_test_init() - create /sys/kernel/debug/gup_test if asked to
 *
 * With the gup_test parameter set, creates the file unless the kernel has
 * its own (CONFIG_GUP_TEST, or any file of that name at the debugfs root),
 * and says in the log what it did. Like every debugfs user, upin works on
 * without it.
 */
void upin_gup_test_init(void)
{
	struct dentry *dentry;

	BUILD_BUG_ON(sizeof(struct upin_gup_test) != 80);
	BUILD_BUG_ON(sizeof(struct upin_gup_test_longterm) != 24);

	if (!upin_gup_test_enable)
		return;
	dentry = debugfs_lookup("gup_test", NULL);
	if (dentry || IS_ENABLED(CONFIG_GUP_TEST)) {
		dput(dentry);
		pr_info("gup_test=1: the kernel has its own /sys/kernel/debug/gup_test (CONFIG_GUP_TEST); not adding upin's\n");
		return;
	}
	dentry = debugfs_create_file("gup_test", 0600, NULL, NULL,
				     &upin_gup_test_fops);
	if (IS_ERR(dentry)) {
		pr_warn("gup_test=1: cannot create /sys/kernel/debug/gup_test: %ld\n",
			PTR_ERR(dentry));
		return;
	}
	upin_gup_test_dentry = dentry;
	pr_info("gup_test=1: /sys/kernel/debug/gup_test speaks mm/gup_test.c's ioctls%s\n",
		UPIN_COMPAT_NO_GUP_TEST_LONGTERM ? "" :
		", the longterm pin tests through upin");
}

/**
 * upin_gup_test_exit() - remove /sys/kernel/debug/gup_test if upin made it
 */
void upin_gup_test_exit(void)
{
	debugfs_remove(upin_gup_test_dentry);
}

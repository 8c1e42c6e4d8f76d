// SPDX-License-Identifier: GPL-2.0
/*
 * upin fault injection, for tests only: built when the module is made with
 * UPIN_FAULT_INJECTION=1 against a kernel with CONFIG_FAULT_INJECTION_DEBUG_FS
 * (see src/Kbuild), as iommufd's selftest.c is built only with
 * CONFIG_IOMMUFD_TEST. A production build has no trace of it: without the
 * flag, upin_fault_gup() in upin_private.h is an inline that returns its
 * argument.
 *
 * The failures injected are the ones GUP can produce but a test cannot
 * provoke at will: a short pin (fewer pages than asked, GUP's answer when it
 * meets trouble part way), no page at all, -EAGAIN and -EINTR. Each is one
 * should_fail() call on the fault attribute /sys/kernel/debug/upin/fail_upin,
 * which the kernel's fault injection drives like failslab: by probability,
 * interval and times there, or one task's Nth call through
 * /proc/self/task/TID/fail-nth, which counts every fault site (slab, page
 * allocator, user copies, this one) in the order they are reached.
 */
#include <linux/fault-inject.h>
#include <linux/mm.h>

#include "upin_private.h"

static DECLARE_FAULT_ATTR(upin_fail);

/**
 * upin_fault_init() - create the fail_upin fault attribute in debugfs
 * @dir: upin's debugfs directory
 */
void upin_fault_init(struct dentry *dir)
{
	fault_create_debugfs_attr("fail_upin", dir, &upin_fail);
}

/*
 * Drop the pins on pages[keep..nr-1], as if GUP had stopped after @keep
 * pages.
 */
static int upin_fault_shorten(struct page **pages, int nr, int keep)
{
	unpin_user_pages(pages + keep, nr - keep);
	return keep;
}

/**
 * upin_fault_gup() - maybe turn a GUP result into one of its failures
 * @pages: the pages GUP pinned
 * @ret: what pin_user_pages_fast() returned
 *
 * Each injection point is one should_fail() on fail_upin, tried in this
 * order: a short pin of half the pages (none when GUP pinned one), then
 * -EAGAIN and -EINTR with every page unpinned. An error from GUP itself
 * passes unchanged.
 *
 * Return: @ret, or the injected result.
 */
int upin_fault_gup(struct page **pages, int ret)
{
	static const int errors[] = { -EAGAIN, -EINTR };
	int i;

	if (ret <= 0)
		return ret;
	if (should_fail(&upin_fail, 1))
		return upin_fault_shorten(pages, ret, ret / 2);
	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		if (should_fail(&upin_fail, 1)) {
			upin_fault_shorten(pages, ret, 0);
			return errors[i];
		}
	}
	return ret;
}

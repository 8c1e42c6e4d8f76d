// SPDX-License-Identifier: GPL-2.0
/*
 * upin_bench_raw: the peer upin is measured against in tools/bench. A misc
 * device, /dev/upin_bench_raw, whose commands pin a user range with
 * pin_user_pages_fast() into a page array and unpin it again, in one call
 * or in two: what any driver has to do at least, with no accounting, no
 * handle and no storage beyond the array. For benchmarks only; never
 * installed.
 */
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/upin.h>

#include "upin_bench_raw.h"

/* A pinned range: what a driver keeps between its pin and its unpin. */
struct upin_bench_raw_range {
	struct page **pages;
	unsigned long npages;
	bool dirty;
};

/*
 * One open file: at most one range held between UPIN_BENCH_RAW_PIN and
 * UPIN_BENCH_RAW_UNPIN (held.pages is NULL when none).
 */
struct upin_bench_raw_file {
	struct mutex lock;	/* protects held */
	struct upin_bench_raw_range held;
};

static void upin_bench_raw_unpin(struct upin_bench_raw_range *range)
{
	unpin_user_pages_dirty_lock(range->pages, range->npages, range->dirty);
	kvfree(range->pages);
	range->pages = NULL;
}

/* Pin the range of @arg into @range; on failure nothing stays pinned. */
static int upin_bench_raw_pin(const struct upin_bench_raw *arg,
			      struct upin_bench_raw_range *range)
{
	unsigned long npages = arg->length >> PAGE_SHIFT, done = 0;
	unsigned int gup_flags = 0;
	struct page **pages;
	int ret = 0;

	if (!npages || offset_in_page(arg->addr | arg->length) ||
	    npages > INT_MAX || arg->__reserved ||
	    arg->flags & ~(UPIN_PIN_WRITE | UPIN_PIN_LONGTERM))
		return -EINVAL;
	if (arg->flags & UPIN_PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (arg->flags & UPIN_PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	while (done < npages) {
		ret = pin_user_pages_fast(arg->addr + (done << PAGE_SHIFT),
					  npages - done, gup_flags,
					  pages + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			break;
		}
		done += ret;
		ret = 0;
	}
	range->pages = pages;
	range->npages = done;
	range->dirty = arg->flags & UPIN_PIN_WRITE;
	if (ret)
		upin_bench_raw_unpin(range);
	return ret;
}

static long upin_bench_raw_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long arg)
{
	struct upin_bench_raw_file *f = filp->private_data;
	struct upin_bench_raw_range range;
	struct upin_bench_raw raw;
	int ret;

	switch (cmd) {
	case UPIN_BENCH_RAW_PIN_UNPIN:
		if (copy_from_user(&raw, (void __user *)arg, sizeof(raw)))
			return -EFAULT;
		ret = upin_bench_raw_pin(&raw, &range);
		if (!ret)
			upin_bench_raw_unpin(&range);
		return ret;
	case UPIN_BENCH_RAW_PIN:
		if (copy_from_user(&raw, (void __user *)arg, sizeof(raw)))
			return -EFAULT;
		mutex_lock(&f->lock);
		ret = f->held.pages ? -EBUSY :
			upin_bench_raw_pin(&raw, &f->held);
		mutex_unlock(&f->lock);
		return ret;
	case UPIN_BENCH_RAW_UNPIN:
		mutex_lock(&f->lock);
		ret = f->held.pages ? 0 : -ENOENT;
		if (f->held.pages)
			upin_bench_raw_unpin(&f->held);
		mutex_unlock(&f->lock);
		return ret;
	}
	return -ENOTTY;
}

static int upin_bench_raw_open(struct inode *inode, struct file *filp)
{
	struct upin_bench_raw_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	filp->private_data = f;
	return 0;
}

static int upin_bench_raw_release(struct inode *inode, struct file *filp)
{
	struct upin_bench_raw_file *f = filp->private_data;

	if (f->held.pages)
		upin_bench_raw_unpin(&f->held);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations upin_bench_raw_fops = {
	.owner = THIS_MODULE,
	.open = upin_bench_raw_open,
	.release = upin_bench_raw_release,
	.unlocked_ioctl = upin_bench_raw_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice upin_bench_raw_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "upin_bench_raw",
	.fops = &upin_bench_raw_fops,
	.mode = 0600,
};
module_misc_device(upin_bench_raw_misc);

MODULE_DESCRIPTION("Raw pin_user_pages_fast() peer for the upin benchmark");
MODULE_LICENSE("GPL");

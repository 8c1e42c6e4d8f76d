// SPDX-License-Identifier: GPL-2.0
/*
 * upin debugfs: /sys/kernel/debug/upin/regions lists every open context and
 * its regions, for whoever is hunting a leak. One "context" line per open
 * file, then one "region" line per region it holds (in the order of the
 * context's hash table), as key=value pairs:
 *
 *   context pid=212 comm=upin_abi_test regions=1 pinned_pages=16
 *           metadata_bytes=88
 *   region pid=212 handle=1 addr=0x7f5a3c000000 length=65536
 *          flags=write,longterm npages=16 segments=3
 *
 * (a context and a region are one line each; they are folded here).
 */
#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

#include "upin_private.h"

static LIST_HEAD(upin_contexts);
/* Protects upin_contexts; nests outside a context's lock. */
static DEFINE_MUTEX(upin_contexts_lock);
static struct dentry *upin_debugfs_dir;

static const char *upin_flags_name(u32 flags)
{
	switch (flags & (UPIN_PIN_WRITE | UPIN_PIN_LONGTERM)) {
	case UPIN_PIN_WRITE | UPIN_PIN_LONGTERM:
		return "write,longterm";
	case UPIN_PIN_WRITE:
		return "write";
	case UPIN_PIN_LONGTERM:
		return "read,longterm";
	default:
		return "read";
	}
}

static int upin_regions_show(struct seq_file *m, void *unused)
{
	struct upin_kregion *region;
	struct upin_ctx *ctx;
	unsigned long i;

	mutex_lock(&upin_contexts_lock);
	list_for_each_entry(ctx, &upin_contexts, node) {
		/* Regions leave the table only under this lock: they stay alive. */
		spin_lock(&ctx->lock);
		seq_printf(m, "context pid=%d comm=%s regions=%u pinned_pages=%lu metadata_bytes=%lu\n",
			   ctx->pid, ctx->comm,
			   ctx->nr_regions, ctx->pinned_pages,
			   ctx->metadata_bytes);
		for (i = 0; i < BIT(ctx->bucket_bits); i++)
			hlist_for_each_entry(region, &ctx->buckets[i], hnode)
				seq_printf(m, "region pid=%d handle=%lu addr=0x%llx length=%llu flags=%s npages=%lu segments=%lu\n",
					   ctx->pid, region->handle,
					   region->addr, region->length,
					   upin_flags_name(region->flags),
					   upin_region_npages(region),
					   region->nr_segments);
		spin_unlock(&ctx->lock);
	}
	mutex_unlock(&upin_contexts_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(upin_regions);

/**
 * upin_debugfs_add() - make a new context visible in debugfs
 * @ctx: the context
 */
void upin_debugfs_add(struct upin_ctx *ctx)
{
	mutex_lock(&upin_contexts_lock);
	list_add_tail(&ctx->node, &upin_contexts);
	mutex_unlock(&upin_contexts_lock);
}

/**
 * upin_debugfs_del() - hide a context being destroyed
 * @ctx: the context
 */
void upin_debugfs_del(struct upin_ctx *ctx)
{
	mutex_lock(&upin_contexts_lock);
	list_del(&ctx->node);
	mutex_unlock(&upin_contexts_lock);
}

/**
 * upin_debugfs_init() - create /sys/kernel/debug/upin/
 *
 * Like every debugfs user, upin works on without it.
 */
void upin_debugfs_init(void)
{
	upin_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("regions", 0400, upin_debugfs_dir, NULL,
			    &upin_regions_fops);
	upin_fault_init(upin_debugfs_dir);
}

/**
 * upin_debugfs_exit() - remove /sys/kernel/debug/upin/
 */
void upin_debugfs_exit(void)
{
	debugfs_remove_recursive(upin_debugfs_dir);
}

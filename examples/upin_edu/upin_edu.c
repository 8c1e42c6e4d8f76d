// SPDX-License-Identifier: GPL-2.0
/*
 * upin_edu: an example PCI driver that has its device DMA to and from user
 * memory pinned through /dev/upin. The device is QEMU's "edu"
 * (hw/misc/edu.c, -device edu): a DMA engine that copies between memory
 * and a 4 KiB buffer of its own, one transfer at a time. The ABI is in
 * include/uapi/linux/upin_edu.h.
 *
 * Theory of operation: the process pins, the driver maps, the device moves.
 *
 *  1. The process pins a buffer through /dev/upin: UPIN_IOC_PIN with
 *     UPIN_PIN_LONGTERM (a mapping may live for ever), and UPIN_PIN_WRITE
 *     if the device is to write it. It gets a handle.
 *  2. It hands the upin fd and the handle to the driver, UPIN_EDU_IOC_MAP:
 *     upin_region_get_fd() (in the caller's context: upin checks that the
 *     caller pinned the region), upin_dma_map(), which holds a reference
 *     of its own, upin_region_put(). A read-only pin is mapped
 *     DMA_TO_DEVICE: behind an IOMMU the device cannot write it.
 *  3. Each transfer, UPIN_EDU_IOC_DMA: upin_dma_sync_for_device(); for
 *     each DMA segment of the range, upin_dma_addr() gives the bus address
 *     and how far it is contiguous: program the device, wait for its
 *     interrupt; then upin_dma_sync_for_cpu(), before the process reads.
 *  4. upin_dma_unmap() on UNMAP, in release() and, for every open file, in
 *     remove(): no mapping outlives the binding of the driver.
 *
 * The process may unpin the region, close /dev/upin or exit while it is
 * mapped: nothing breaks. The handle goes at once, but the mapping keeps
 * the pages pinned, and charged to the process, until the driver unmaps.
 * The driver keeps no pointer to the process, its mm or its pages.
 *
 * Lifetime. remove() may run at any time (unbind through sysfs) while files
 * are open and mappings live: it unregisters the misc device, marks the
 * device dead, unmaps every mapping of every open file, and lets go of the
 * hardware. Open files hold a reference to the struct upin_edu, so that
 * their ioctls (all -ENODEV from then on) and release() still find it.
 *
 * Locking. One mutex per device covers the DMA engine (one transfer at a
 * time), the open files, their mappings (so that a transfer never uses a
 * mapping being unmapped, and remove() sees them all) and the flags. User
 * memory is copied outside it: a faulting page must not stall remove().
 *
 * A transfer that does not complete within 5 seconds leaves the device
 * possibly still running: it ignores its registers meanwhile and may yet
 * write the pages. The driver turns its bus mastering off, so that it
 * cannot reach pages that are unmapped and unpinned later, and fails every
 * later transfer with -EIO until the device is bound again. remove() also
 * stops bus mastering before it unmaps. (A driver for real hardware would
 * reset the device; edu has no reset.)
 */
#include <linux/capability.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/upin_dma.h>
#include <linux/upin_edu.h>
#include <linux/xarray.h>

#define EDU_REG_IDENT		0x00
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_IDENT		0xed		/* low byte of EDU_REG_IDENT */
#define EDU_IRQ_DMA		0x100		/* status bit: DMA complete */
#define EDU_DMA_START		BIT(0)
#define EDU_DMA_TO_RAM		BIT(1)		/* else from RAM to the buffer */
#define EDU_DMA_IRQ		BIT(2)		/* raise EDU_IRQ_DMA when done */

#define EDU_BUF_ADDR		0x40000		/* the buffer, as the DMA sees it */
#define EDU_BUF_SIZE		4096
#define EDU_BUF_USABLE		(EDU_BUF_SIZE - 1)	/* QEMU 7.2 aborts past it */
#define EDU_DMA_TIMEOUT		(5 * HZ)	/* a transfer takes 100 ms */

static unsigned int dma_bits = 28;
module_param(dma_bits, uint, 0444);
MODULE_PARM_DESC(dma_bits, "DMA address bits of the device: its dma_mask property");

static DEFINE_IDA(upin_edu_ida);

/* One edu device; freed with the last reference, after remove(). */
struct upin_edu {
	struct kref kref;		/* probe until remove(); each open file */
	struct pci_dev *pdev;		/* not to be used once dead */
	void __iomem *mmio;		/* BAR 0 */
	struct miscdevice misc;
	char name[20];			/* upin-edu<id> */
	int id;				/* from upin_edu_ida */
	struct mutex lock;		/* see "Locking"; protects the below */
	struct list_head files;		/* struct upin_edu_file */
	struct completion done;		/* by the interrupt of a transfer */
	bool dead;			/* removed: every ioctl is -ENODEV */
	bool broken;			/* a transfer timed out */
	bool iommu;			/* device_iommu_mapped() */
	unsigned int dma_bits;		/* of the DMA mask set */
	u64 transfers;			/* completed since probe */
};

/* One open file of a device. */
struct upin_edu_file {
	struct upin_edu *edu;		/* referenced */
	struct list_head node;		/* in edu->files */
	struct xarray maps;		/* struct upin_dma, by id from 1 */
	u32 next_id;			/* ids are not reused while open */
};

static void upin_edu_free(struct kref *kref)
{
	struct upin_edu *edu = container_of(kref, struct upin_edu, kref);

	mutex_destroy(&edu->lock);
	kfree(edu);
}

/* Ids are u32 (xa_limit_32b): a larger one is nobody's. */
static struct upin_dma *upin_edu_lookup(struct upin_edu_file *uf, u64 id)
{
	return id <= U32_MAX ? xa_load(&uf->maps, id) : NULL;
}

static void upin_edu_unmap_all(struct upin_edu_file *uf)
{
	struct upin_dma *map;
	unsigned long id;

	lockdep_assert_held(&uf->edu->lock);
	xa_for_each(&uf->maps, id, map) {
		xa_erase(&uf->maps, id);
		upin_dma_unmap(map);
	}
}

static irqreturn_t upin_edu_irq(int irq, void *data)
{
	struct upin_edu *edu = data;
	u32 status = readl(edu->mmio + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;	/* the line is shared */
	writel(status, edu->mmio + EDU_REG_IRQ_ACK);
	if (status & EDU_IRQ_DMA)
		complete(&edu->done);
	return IRQ_HANDLED;
}

/* One transfer between @addr in memory and @dev_addr in the buffer. */
static int upin_edu_transfer(struct upin_edu *edu, dma_addr_t addr,
			     u64 dev_addr, u64 len, bool to_ram)
{
	void __iomem *mmio = edu->mmio;

	lockdep_assert_held(&edu->lock);
	reinit_completion(&edu->done);
	writeq(to_ram ? dev_addr : addr, mmio + EDU_REG_DMA_SRC);
	writeq(to_ram ? addr : dev_addr, mmio + EDU_REG_DMA_DST);
	writeq(len, mmio + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0),
	       mmio + EDU_REG_DMA_CMD);
	if (!wait_for_completion_timeout(&edu->done, EDU_DMA_TIMEOUT)) {
		/*
		 * It may still write: no more bus mastering, so that pages
		 * unmapped (and unpinned) from now on are safe from it.
		 */
		pci_clear_master(edu->pdev);
		edu->broken = true;
		dev_err(&edu->pdev->dev, "DMA timed out: bus mastering off, refusing further transfers\n");
		return -ETIMEDOUT;
	}
	edu->transfers++;
	return 0;
}

/*
 * The ioctls. Each runs under edu->lock, on the device not yet removed, with
 * the kernel's copy of the argument, which upin_edu_fops_ioctl() copies in
 * and out.
 */
static int upin_edu_map(struct upin_edu_file *uf, struct upin_edu_map *arg)
{
	struct upin_kregion *region;
	struct upin_dma *map;
	u32 id;
	int ret;

	if (arg->flags)
		return -EOPNOTSUPP;
	region = upin_region_get_fd(arg->upin_fd, arg->handle);
	if (IS_ERR(region))
		return PTR_ERR(region);
	map = upin_dma_map(region, &uf->edu->pdev->dev, 0);
	upin_region_put(region);	/* the mapping holds its own */
	if (IS_ERR(map))
		return PTR_ERR(map);
	ret = xa_alloc_cyclic(&uf->maps, &id, map, xa_limit_32b,
			      &uf->next_id, GFP_KERNEL_ACCOUNT);
	if (ret < 0) {
		upin_dma_unmap(map);
		return ret;
	}
	arg->id = id;
	/* How contiguous the pages are is privileged, as for UPIN_IOC_QUERY. */
	arg->nr_entries = 0;
	arg->nr_segments = 0;
	if (ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN)) {
		arg->nr_entries = map->sgt.orig_nents;
		arg->nr_segments = map->sgt.nents;
	}
	return 0;
}

static int upin_edu_unmap(struct upin_edu_file *uf, struct upin_edu_unmap *arg)
{
	struct upin_dma *map = upin_edu_lookup(uf, arg->id);

	if (!map)
		return -ENOENT;
	xa_erase(&uf->maps, arg->id);
	upin_dma_unmap(map);
	return 0;
}

static int upin_edu_dma(struct upin_edu_file *uf, struct upin_edu_dma *arg)
{
	bool to_ram = arg->flags & UPIN_EDU_DMA_FROM_DEVICE;
	struct upin_edu *edu = uf->edu;
	struct device *dev = &edu->pdev->dev;
	u64 done, len, mask = dma_get_mask(dev);
	struct upin_dma *map;
	dma_addr_t addr;
	int ret = 0;

	if (arg->flags & ~(UPIN_EDU_DMA_FROM_DEVICE | UPIN_EDU_DMA_FORCE))
		return -EOPNOTSUPP;
	if (!arg->length || (u64)arg->dev_offset + arg->length > EDU_BUF_USABLE)
		return -EINVAL;
	map = upin_edu_lookup(uf, arg->id);
	if (!map)
		return -ENOENT;
	if (arg->offset >= map->length ||
	    arg->length > map->length - arg->offset)
		return -EINVAL;
	/*
	 * The process pinned the region read-only. FORCE exists only so that
	 * a test can prove the IOMMU blocks the device's write (the mapping
	 * gave it no write access); without an IOMMU the write would land.
	 */
	if (to_ram && map->dir == DMA_TO_DEVICE &&
	    !((arg->flags & UPIN_EDU_DMA_FORCE) && capable(CAP_SYS_ADMIN)))
		return -EPERM;
	if (edu->broken)
		return -EIO;

	arg->transfers = 0;
	upin_dma_sync_for_device(map);
	for (done = 0; done < arg->length; done += len) {
		ret = upin_dma_addr(map, arg->offset + done, &addr, &len);
		if (ret)
			break;
		len = min_t(u64, len, arg->length - done);
		/* The device would clamp the address and hit other memory. */
		if (addr > mask || len - 1 > mask - addr) {
			dev_warn_ratelimited(dev, "DMA address %pad beyond the mask\n",
					     &addr);
			ret = -EIO;
			break;
		}
		ret = upin_edu_transfer(edu, addr,
					EDU_BUF_ADDR + arg->dev_offset + done,
					len, to_ram);
		if (ret)
			break;
		arg->transfers++;
	}
	upin_dma_sync_for_cpu(map);
	return ret;
}

static int upin_edu_info(struct upin_edu_file *uf, struct upin_edu_info *arg)
{
	struct upin_edu *edu = uf->edu;

	*arg = (struct upin_edu_info) {
		.dma_bits = edu->dma_bits,
		.iommu = edu->iommu,
		.transfers = edu->transfers,
		.buffer_size = EDU_BUF_SIZE,
	};
	return 0;
}

static long upin_edu_fops_ioctl(struct file *filp, unsigned int cmd,
				unsigned long uarg)
{
	struct upin_edu_file *uf = filp->private_data;
	struct upin_edu *edu = uf->edu;
	void __user *ubuf = (void __user *)uarg;
	union {
		struct upin_edu_map map;
		struct upin_edu_unmap unmap;
		struct upin_edu_dma dma;
		struct upin_edu_info info;
	} arg;
	int ret;

	switch (cmd) {
	case UPIN_EDU_IOC_MAP:
	case UPIN_EDU_IOC_UNMAP:
	case UPIN_EDU_IOC_DMA:
	case UPIN_EDU_IOC_INFO:
		break;
	default:
		return -ENOTTY;
	}
	/* Outside the lock: a faulting user page must not stall remove(). */
	if ((_IOC_DIR(cmd) & _IOC_WRITE) &&
	    copy_from_user(&arg, ubuf, _IOC_SIZE(cmd)))
		return -EFAULT;

	mutex_lock(&edu->lock);
	if (edu->dead)
		ret = -ENODEV;
	else if (cmd == UPIN_EDU_IOC_MAP)
		ret = upin_edu_map(uf, &arg.map);
	else if (cmd == UPIN_EDU_IOC_UNMAP)
		ret = upin_edu_unmap(uf, &arg.unmap);
	else if (cmd == UPIN_EDU_IOC_DMA)
		ret = upin_edu_dma(uf, &arg.dma);
	else
		ret = upin_edu_info(uf, &arg.info);
	mutex_unlock(&edu->lock);

	if (ret || !(_IOC_DIR(cmd) & _IOC_READ))
		return ret;
	if (copy_to_user(ubuf, &arg, _IOC_SIZE(cmd))) {
		if (cmd == UPIN_EDU_IOC_MAP) {	/* nobody knows the id: undo */
			mutex_lock(&edu->lock);
			upin_dma_unmap(xa_erase(&uf->maps, arg.map.id));
			mutex_unlock(&edu->lock);
		}
		return -EFAULT;
	}
	return 0;
}

static int upin_edu_fops_open(struct inode *inode, struct file *filp)
{
	/* misc_open() set private_data, and holds off misc_deregister(). */
	struct upin_edu *edu = container_of(filp->private_data,
					    struct upin_edu, misc);
	struct upin_edu_file *uf;

	uf = kzalloc(sizeof(*uf), GFP_KERNEL_ACCOUNT);
	if (!uf)
		return -ENOMEM;
	xa_init_flags(&uf->maps, XA_FLAGS_ALLOC1);
	kref_get(&edu->kref);
	uf->edu = edu;
	mutex_lock(&edu->lock);
	list_add(&uf->node, &edu->files);
	mutex_unlock(&edu->lock);
	filp->private_data = uf;
	return 0;
}

static int upin_edu_fops_release(struct inode *inode, struct file *filp)
{
	struct upin_edu_file *uf = filp->private_data;
	struct upin_edu *edu = uf->edu;

	mutex_lock(&edu->lock);
	list_del(&uf->node);
	upin_edu_unmap_all(uf);		/* none left if removed */
	mutex_unlock(&edu->lock);
	xa_destroy(&uf->maps);
	kfree(uf);
	kref_put(&edu->kref, upin_edu_free);
	return 0;
}

static const struct file_operations upin_edu_fops = {
	.owner = THIS_MODULE,
	.open = upin_edu_fops_open,
	.release = upin_edu_fops_release,
	.unlocked_ioctl = upin_edu_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static int upin_edu_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct upin_edu *edu;
	u32 ident;
	int ret;

	if (!dma_bits || dma_bits > 64) {
		dev_err(&pdev->dev, "dma_bits=%u: not 1 to 64\n", dma_bits);
		return -EINVAL;
	}
	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	kref_init(&edu->kref);
	mutex_init(&edu->lock);
	INIT_LIST_HEAD(&edu->files);
	init_completion(&edu->done);
	edu->pdev = pdev;
	edu->dma_bits = dma_bits;

	ret = ida_alloc(&upin_edu_ida, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	edu->id = ret;
	snprintf(edu->name, sizeof(edu->name), "upin-edu%d", edu->id);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_ida;
	ret = pci_request_regions(pdev, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	edu->mmio = pci_iomap(pdev, 0, 0);
	if (!edu->mmio) {
		ret = -ENOMEM;
		goto err_release;
	}
	ident = readl(edu->mmio + EDU_REG_IDENT);
	if ((ident & 0xff) != EDU_IDENT) {
		dev_err(&pdev->dev, "identification %#x: not an edu\n", ident);
		ret = -ENODEV;
		goto err_iounmap;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(dma_bits));
	if (ret)
		goto err_iounmap;
	/*
	 * The engine takes any contiguous range (the driver cuts transfers to
	 * its buffer itself), so one DMA segment per physically contiguous
	 * run: not the PCI core's default of 64 KiB.
	 */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	edu->iommu = device_iommu_mapped(&pdev->dev);
	pci_set_master(pdev);

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		goto err_iounmap;
	ret = request_irq(pci_irq_vector(pdev, 0), upin_edu_irq, IRQF_SHARED,
			  edu->name, edu);
	if (ret)
		goto err_vectors;

	edu->misc.minor = MISC_DYNAMIC_MINOR;
	edu->misc.name = edu->name;
	edu->misc.fops = &upin_edu_fops;
	edu->misc.parent = &pdev->dev;
	edu->misc.mode = 0600;
	pci_set_drvdata(pdev, edu);
	ret = misc_register(&edu->misc);
	if (ret)
		goto err_irq;

	dev_info(&pdev->dev, "%s: %s, %u-bit DMA mask, %s\n", edu->name,
		 pdev->msix_enabled ? "MSI-X" : pdev->msi_enabled ? "MSI" : "INTx",
		 dma_bits, edu->iommu ? "behind an IOMMU" : "no IOMMU");
	return 0;

err_irq:
	free_irq(pci_irq_vector(pdev, 0), edu);
err_vectors:
	pci_free_irq_vectors(pdev);
err_iounmap:
	pci_iounmap(pdev, edu->mmio);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_ida:
	ida_free(&upin_edu_ida, edu->id);
err_free:
	kref_put(&edu->kref, upin_edu_free);
	return ret;
}

static void upin_edu_remove(struct pci_dev *pdev)
{
	struct upin_edu *edu = pci_get_drvdata(pdev);
	struct upin_edu_file *uf;

	misc_deregister(&edu->misc);	/* no new open file */
	mutex_lock(&edu->lock);		/* waits for a transfer to end */
	pci_clear_master(pdev);		/* no DMA into what is unmapped */
	edu->dead = true;
	list_for_each_entry(uf, &edu->files, node)
		upin_edu_unmap_all(uf);
	mutex_unlock(&edu->lock);

	free_irq(pci_irq_vector(pdev, 0), edu);
	pci_free_irq_vectors(pdev);
	pci_iounmap(pdev, edu->mmio);
	pci_release_regions(pdev);
	pci_disable_device(pdev);	/* also stops its bus mastering */
	ida_free(&upin_edu_ida, edu->id);
	kref_put(&edu->kref, upin_edu_free);
}

static const struct pci_device_id upin_edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },	/* QEMU's edu */
	{ }
};
MODULE_DEVICE_TABLE(pci, upin_edu_ids);

static struct pci_driver upin_edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = upin_edu_ids,
	.probe = upin_edu_probe,
	.remove = upin_edu_remove,
};
module_pci_driver(upin_edu_driver);

MODULE_IMPORT_NS(UPIN_NS);
MODULE_DESCRIPTION("Example: DMA of the QEMU edu device to memory pinned through /dev/upin");
MODULE_LICENSE("GPL");

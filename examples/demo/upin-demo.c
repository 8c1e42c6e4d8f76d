// SPDX-License-Identifier: GPL-2.0
/*
 * upin-demo: walk through what /dev/upin does, narrating each step.
 *
 * Pins a 64 KiB buffer of this process for a pretend device, lets the
 * "device" read and write it through the pinned pages (UPIN_IOC_ACCESS),
 * lists the region and its physical segments, and unpins it, showing VmPin
 * of /proc/self/status on the way. Run as root in the VM by
 * `tools/testing/run-tests --demo`, or by hand where upin is loaded:
 *
 *   upin-demo [DEVICE]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/upin.h>

#define BUF_SIZE	(64 * 1024)
#define MAX_SEGS	64

static const char *dev_path = "/dev/upin";

/* Name the operation and what it worked on, add errno's reason, give up. */
static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "upin-demo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

/* VmPin of this process, as the kernel accounts it, in kB. */
static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void show_vm_pin(const char *when)
{
	printf("  VmPin of this process %s: %ld kB\n", when, vm_pin_kb());
}

static void device_read(int fd, __u64 handle, __u64 offset, void *buf,
			size_t len)
{
	struct upin_access acc = {
		.size = sizeof(acc),
		.handle = handle,
		.offset = offset,
		.length = len,
		.buf = (uintptr_t)buf,
	};

	if (ioctl(fd, UPIN_IOC_ACCESS, &acc))
		die("UPIN_IOC_ACCESS read of handle %llu, offset %llu, %zu bytes",
		    (unsigned long long)handle, (unsigned long long)offset, len);
}

static void device_write(int fd, __u64 handle, __u64 offset, const void *buf,
			 size_t len)
{
	struct upin_access acc = {
		.size = sizeof(acc),
		.flags = UPIN_ACCESS_WRITE,
		.handle = handle,
		.offset = offset,
		.length = len,
		.buf = (uintptr_t)buf,
	};

	if (ioctl(fd, UPIN_IOC_ACCESS, &acc))
		die("UPIN_IOC_ACCESS write of handle %llu, offset %llu, %zu bytes",
		    (unsigned long long)handle, (unsigned long long)offset, len);
}

int main(int argc, char **argv)
{
	static const char hello[] = "hello from the process, written before the pin";
	static const char reply[] = "hello from the device, written through the pin";
	struct upin_segment segs[MAX_SEGS];
	struct upin_segments sq = { .size = sizeof(sq) };
	struct upin_info info = { .size = sizeof(info) };
	struct upin_pin pin = { .size = sizeof(pin) };
	struct upin_region region = { .size = sizeof(region) };
	struct upin_unpin unpin = { .size = sizeof(unpin) };
	struct upin_list list = { .size = sizeof(list) };
	__u64 handles[8];
	char got[128];
	char *buf;
	__u64 i;
	int fd;

	if (argc > 1)
		dev_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("upin demo: a process lends 64 KiB of its memory to a device\n\n");

	fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s", dev_path);
	printf("opened %s: one open file is one context\n", dev_path);

	if (ioctl(fd, UPIN_IOC_GET_INFO, &info))
		die("UPIN_IOC_GET_INFO");
	printf("GET_INFO: abi version %u, page size %u, features 0x%llx\n",
	       info.abi_version, info.page_size,
	       (unsigned long long)info.features);
	printf("  limits: %u regions per context, module-wide cap %llu pages%s\n",
	       info.max_regions, (unsigned long long)info.global_max_pages,
	       info.global_max_pages ? "" : " (none)");
	show_vm_pin("before pinning");

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap of %d bytes", BUF_SIZE);
	memcpy(buf, hello, sizeof(hello));
	printf("\nmapped %d KiB of anonymous memory at %p and wrote:\n  \"%s\"\n",
	       BUF_SIZE / 1024, (void *)buf, buf);

	pin.flags = UPIN_PIN_WRITE | UPIN_PIN_LONGTERM;
	pin.addr = (uintptr_t)buf;
	pin.length = BUF_SIZE;
	if (ioctl(fd, UPIN_IOC_PIN, &pin))
		die("UPIN_IOC_PIN write|longterm of [%p, %p)", buf, buf + BUF_SIZE);
	printf("\npinned %llu pages at %p for writing, longterm: handle %llu\n",
	       (unsigned long long)pin.npages, (void *)buf,
	       (unsigned long long)pin.handle);
	show_vm_pin("while pinned");

	memset(got, 0, sizeof(got));
	device_read(fd, pin.handle, 0, got, sizeof(hello));
	printf("\nthe device reads offset 0 through the pinned pages:\n  \"%s\"\n",
	       got);

	device_write(fd, pin.handle, 4096, reply, sizeof(reply));
	printf("the device writes offset 4096 through the pinned pages;\n"
	       "the process reads its own buffer at %p:\n  \"%s\"\n",
	       (void *)(buf + 4096), buf + 4096);
	if (memcmp(buf + 4096, reply, sizeof(reply))) {
		fprintf(stderr, "upin-demo: the process does not see the device's write at %p\n",
			(void *)(buf + 4096));
		return 1;
	}

	list.handles = (uintptr_t)handles;
	list.capacity = sizeof(handles) / sizeof(handles[0]);
	if (ioctl(fd, UPIN_IOC_LIST, &list))
		die("UPIN_IOC_LIST");
	printf("\nthe context holds %u region(s):", list.count);
	for (i = 0; i < list.count && i < list.capacity; i++)
		printf(" %llu", (unsigned long long)handles[i]);
	printf("\n");

	region.handle = pin.handle;
	if (ioctl(fd, UPIN_IOC_QUERY, &region))
		die("UPIN_IOC_QUERY of handle %llu",
		    (unsigned long long)pin.handle);
	printf("region %llu: %llu bytes at 0x%llx, %llu pages, %llu segment(s), flags 0x%x\n",
	       (unsigned long long)region.handle,
	       (unsigned long long)region.length,
	       (unsigned long long)region.addr,
	       (unsigned long long)region.npages,
	       (unsigned long long)region.nr_segments, region.pin_flags);

	sq.handle = pin.handle;
	sq.segs = (uintptr_t)segs;
	sq.capacity = MAX_SEGS;
	if (ioctl(fd, UPIN_IOC_SEGMENTS, &sq) && errno != EMSGSIZE)
		die("UPIN_IOC_SEGMENTS of handle %llu",
		    (unsigned long long)pin.handle);
	printf("its physically contiguous segments%s:\n",
	       sq.count > MAX_SEGS ? " (the first 64)" : "");
	for (i = 0; i < sq.count && i < MAX_SEGS; i++)
		printf("  %2llu: phys 0x%09llx, %llu bytes\n",
		       (unsigned long long)i,
		       (unsigned long long)segs[i].phys,
		       (unsigned long long)segs[i].length);

	unpin.handle = pin.handle;
	if (ioctl(fd, UPIN_IOC_UNPIN, &unpin))
		die("UPIN_IOC_UNPIN of handle %llu",
		    (unsigned long long)pin.handle);
	printf("\nunpinned handle %llu\n", (unsigned long long)pin.handle);
	show_vm_pin("after unpinning");

	munmap(buf, BUF_SIZE);
	close(fd);
	printf("\ndone\n");
	return 0;
}

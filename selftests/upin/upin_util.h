/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the upin selftests: the device, the kernel's own pin
 * counters (the oracle every test ends on), and VmPin.
 */
#ifndef UPIN_SELFTEST_UTIL_H
#define UPIN_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <linux/upin.h>

#define UPIN_DEV "/dev/upin"

/**
 * upin_test_kasan() - whether the tests run on a KASAN kernel
 *
 * tools/testing/vm/init exports UPIN_TEST_KASAN=1 when the kernel log says KASAN is
 * initialized (the debug lane's kernel). KASAN checks every access the
 * kernel makes, which makes every call several times slower under
 * emulation: loops whose worth is the number of their rounds, not the
 * paths they take, run fewer rounds there.
 */
static inline bool upin_test_kasan(void)
{
	const char *s = getenv("UPIN_TEST_KASAN");

	return s && *s && strcmp(s, "0");
}

/* ioctl() returning 0 or -errno, so ASSERT_EQ(-ENOENT, upin_ioctl(...)) reads well. */
static inline int upin_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/**
 * upin_pin_counters() - read nr_foll_pin_acquired/released after a refresh
 * @acquired: out
 * @released: out
 *
 * The counters are batched per CPU: writing /proc/sys/vm/stat_refresh folds
 * them first. Returns 0 or -errno.
 */
static inline int upin_pin_counters(uint64_t *acquired, uint64_t *released)
{
	char name[64];
	unsigned long long val;
	int found = 0;
	FILE *f;
	int fd;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1) {
			close(fd);
			return -errno;
		}
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %llu", name, &val) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired")) {
			*acquired = val;
			found++;
		} else if (!strcmp(name, "nr_foll_pin_released")) {
			*released = val;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
}

/**
 * upin_pins_outstanding() - FOLL_PIN references held system-wide right now
 *
 * Returns acquired - released (0 when balanced), or -1 when the counters
 * cannot be read.
 */
static inline long long upin_pins_outstanding(void)
{
	uint64_t acq = 0, rel = 0;

	if (upin_pin_counters(&acq, &rel))
		return -1;
	return (long long)(acq - rel);
}

/**
 * upin_vmpin_kb() - VmPin of a process in kB, or -1
 * @pid: 0 for the calling process
 */
static inline long upin_vmpin_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Thin wrappers over the commands, each returning 0 or -errno. Output
 * pointers may be NULL when the caller does not need the value. A test of
 * libupin, whose functions have these names, defines UPIN_UTIL_NO_WRAPPERS.
 */
#ifndef UPIN_UTIL_NO_WRAPPERS

/* Opens a new context, or returns -errno. */
static inline int upin_open(void)
{
	int fd = open(UPIN_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int upin_get_info(int fd, struct upin_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return upin_ioctl(fd, UPIN_IOC_GET_INFO, info);
}

static inline int upin_pin(int fd, const void *addr, uint64_t length,
			   uint32_t flags, uint64_t *handle, uint64_t *npages)
{
	struct upin_pin pin = {
		.size = sizeof(pin),
		.flags = flags,
		.addr = (uintptr_t)addr,
		.length = length,
	};
	int ret = upin_ioctl(fd, UPIN_IOC_PIN, &pin);

	if (!ret && handle)
		*handle = pin.handle;
	if (!ret && npages)
		*npages = pin.npages;
	return ret;
}

static inline int upin_unpin(int fd, uint64_t handle)
{
	struct upin_unpin unpin = {
		.size = sizeof(unpin),
		.handle = handle,
	};

	return upin_ioctl(fd, UPIN_IOC_UNPIN, &unpin);
}

static inline int upin_query(int fd, uint64_t handle, struct upin_region *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->handle = handle;
	return upin_ioctl(fd, UPIN_IOC_QUERY, r);
}

/* UPIN_IOC_ACCESS: flags 0 reads the pinned pages into @buf. */
static inline int upin_access(int fd, uint64_t handle, uint32_t flags,
			      uint64_t offset, void *buf, uint64_t length)
{
	struct upin_access acc = {
		.size = sizeof(acc),
		.flags = flags,
		.handle = handle,
		.offset = offset,
		.length = length,
		.buf = (uintptr_t)buf,
	};

	return upin_ioctl(fd, UPIN_IOC_ACCESS, &acc);
}

/* @count is written also on EMSGSIZE, as the kernel writes it back. */
static inline int upin_list(int fd, uint64_t *handles, uint32_t capacity,
			    uint32_t *count)
{
	struct upin_list list = {
		.size = sizeof(list),
		.handles = (uintptr_t)handles,
		.capacity = capacity,
	};
	int ret = upin_ioctl(fd, UPIN_IOC_LIST, &list);

	if ((!ret || ret == -EMSGSIZE) && count)
		*count = list.count;
	return ret;
}

/* @count is written also on EMSGSIZE, as the kernel writes it back. */
static inline int upin_segments(int fd, uint64_t handle,
				struct upin_segment *segs, uint64_t capacity,
				uint64_t *count)
{
	struct upin_segments s = {
		.size = sizeof(s),
		.handle = handle,
		.segs = (uintptr_t)segs,
		.capacity = capacity,
	};
	int ret = upin_ioctl(fd, UPIN_IOC_SEGMENTS, &s);

	if ((!ret || ret == -EMSGSIZE) && count)
		*count = s.count;
	return ret;
}
#endif /* UPIN_UTIL_NO_WRAPPERS */

/* Any command's argument, with room for a page of "future" members. */
union upin_arg {
	struct upin_info info;
	struct upin_pin pin;
	struct upin_unpin unpin;
	struct upin_region region;
	struct upin_list list;
	struct upin_access access;
	struct upin_segments segs;
	uint8_t raw[8192];
};

/**
 * upin_drop_cap() - remove a capability from the calling thread
 * @cap: CAP_* number
 *
 * Clears @cap in the effective, permitted and inheritable sets with the raw
 * capget/capset system calls (no libcap in the guest). Meant for a forked
 * child: the capability cannot be regained. Returns 0 or -errno.
 */
static inline int upin_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(cap);
	__u32 mask = CAP_TO_MASK(cap);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~mask;
	data[i].permitted &= ~mask;
	data[i].inheritable &= ~mask;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/**
 * upin_read_long() - the number a file such as /proc/sys/vm/nr_hugepages
 * holds, or -1
 * @path: the file
 */
static inline long upin_read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/**
 * upin_map_aligned() - private anonymous memory at an aligned address
 * @len: bytes
 * @align: alignment, a power of two (the THP size, for THPs)
 *
 * Returns the memory, or MAP_FAILED with errno set.
 */
static inline char *upin_map_aligned(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return p;
	a = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + align - a);
	return a;
}

/**
 * upin_anon_huge_kb() - AnonHugePages of the mapping that holds @addr
 * @addr: an address in a mapping of the calling process
 *
 * Reads /proc/self/smaps. Returns the value in kB, or -1 when the mapping
 * or the field is not found.
 */
static inline long upin_anon_huge_kb(const void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	bool in_vma = false;
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in_vma = a >= start && a < end;
			continue;
		}
		if (in_vma && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/**
 * struct upin_report - how a forked child tells its parent which check failed
 * @line: source line of the failed check, 0 while every check passed
 * @expected: value the check expected
 * @seen: value the child saw
 * @what: the checked expression
 *
 * A forked child must not use the harness's ASSERT_*() (they would run the
 * fixture's teardown in the child): it checks with UPIN_CHILD_CHECK(), which
 * fills a report in shared memory and exits 1, and the parent collects it
 * with upin_wait_child().
 */
struct upin_report {
	int line;
	long long expected;
	long long seen;
	char what[200];
};

/* A report in memory shared with children forked afterwards, or NULL. */
static inline struct upin_report *upin_report_new(void)
{
	void *p = mmap(NULL, sizeof(struct upin_report), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : (struct upin_report *)p;
}

#define UPIN_CHILD_CHECK(rep, want, got) do {				\
	long long __w = (long long)(want);				\
	long long __g = (long long)(got);				\
	if (__w != __g) {						\
		(rep)->line = __LINE__;					\
		(rep)->expected = __w;					\
		(rep)->seen = __g;					\
		snprintf((rep)->what, sizeof((rep)->what), "%s", #got);	\
		_exit(1);						\
	}								\
} while (0)

/**
 * upin_wait_child() - reap a child and describe how it ended
 * @pid: the child
 * @rep: its report, or NULL
 * @msg: out, a description when the child did not exit 0
 * @len: size of @msg
 *
 * Returns 0 when the child exited 0, else 1 (or -errno if waitpid failed).
 */
static inline int upin_wait_child(pid_t pid, const struct upin_report *rep,
				  char *msg, size_t len)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFSIGNALED(status))
		snprintf(msg, len, "child %d killed by signal %d", (int)pid,
			 WTERMSIG(status));
	else if (rep && rep->line)
		snprintf(msg, len, "child line %d: %s: expected %lld, seen %lld",
			 rep->line, rep->what, rep->expected, rep->seen);
	else
		snprintf(msg, len, "child %d exited %d", (int)pid,
			 WEXITSTATUS(status));
	return 1;
}

/*
 * Test patterns: byte i of pattern @seed is upin_pat(i, seed). Patterns of
 * seeds that differ modulo 256 differ in every byte, so a buffer that holds
 * one pattern cannot pass for another anywhere.
 */
static inline uint8_t upin_pat(size_t i, unsigned int seed)
{
	return (uint8_t)(((uint32_t)i * 2654435761u >> 24) + seed * 37);
}

/* Fill @p with bytes @off .. @off + @len - 1 of pattern @seed. */
static inline void upin_pat_fill(void *p, size_t len, size_t off,
				 unsigned int seed)
{
	uint8_t *c = (uint8_t *)p;
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = upin_pat(off + i, seed);
}

/* Index of the first byte of @p that is not pattern @seed from @off, or -1. */
static inline long upin_pat_mismatch(const void *p, size_t len, size_t off,
				     unsigned int seed)
{
	const uint8_t *c = (const uint8_t *)p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != upin_pat(off + i, seed))
			return (long)i;
	return -1;
}

#endif /* UPIN_SELFTEST_UTIL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the upin selftests: the device, the kernel's own pin
 * counters (the oracle every test ends on), and VmPin.
 */
#ifndef UPIN_SELFTEST_UTIL_H
#define UPIN_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/upin.h>

#define UPIN_DEV "/dev/upin"

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
	uint64_t acq, rel;

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

#endif /* UPIN_SELFTEST_UTIL_H */

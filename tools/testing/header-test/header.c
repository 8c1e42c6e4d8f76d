/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/upin.h> must compile alone, as userspace compiles it: this
 * translation unit includes nothing else. It is written in the common subset
 * of C and C++ and tools/testing/check-static compiles it as C99 and as C++, each
 * with -Wall -Wextra -Werror -pedantic-errors, for -m64 and -m32, against the
 * host's kernel headers in /usr/include and the tree's include/uapi.
 *
 * Everything the header defines is used once, so that every macro expands
 * and every type is complete.
 */
#include <linux/upin.h>

struct upin_header_test {
	struct upin_info info;
	struct upin_pin pin;
	struct upin_unpin unpin;
	struct upin_region region;
	struct upin_list list;
	struct upin_access access;
	struct upin_segment segment[2];
	struct upin_segments segments;
	enum upin_cmd cmd;
	enum upin_feature feature;
	enum upin_pin_flags pin_flags;
	enum upin_access_flags access_flags;
};

unsigned long upin_header_test_cmds[] = {
	UPIN_IOC_GET_INFO,
	UPIN_IOC_PIN,
	UPIN_IOC_UNPIN,
	UPIN_IOC_QUERY,
	UPIN_IOC_LIST,
	UPIN_IOC_ACCESS,
	UPIN_IOC_SEGMENTS,
};

unsigned long upin_header_test_values[] = {
	UPIN_ABI_VERSION,
	UPIN_TYPE,
	UPIN_FEATURE_PIN_WRITE | UPIN_FEATURE_PIN_LONGTERM |
		UPIN_FEATURE_ACCESS_WRITE | UPIN_FEATURE_SEGMENTS,
	UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
	UPIN_ACCESS_WRITE,
	sizeof(struct upin_header_test),
};

int upin_header_test_fill(struct upin_header_test *t);

int upin_header_test_fill(struct upin_header_test *t)
{
	t->pin.size = sizeof(t->pin);
	t->pin.flags = UPIN_PIN_WRITE;
	t->pin.addr = 0;
	t->pin.length = 4096;
	return t->pin.flags == UPIN_PIN_WRITE ? 0 : -1;
}

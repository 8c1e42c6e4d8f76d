/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout of every <linux/upin.h> struct, and every number the header
 * defines, written down once. tools/testing/check-static compiles this file (C11,
 * nothing is run) with -m64 and with -m32: both must agree with the table,
 * so a 32-bit process and a 64-bit kernel see the same bytes and
 * compat_ioctl can share the native code. It also fails when a member or a
 * constant of the header is missing from the table.
 *
 * A change of this table is a change of the ABI: append members, never move
 * one (see "Argument structs" in the header).
 */
#include <stddef.h>
#include <linux/upin.h>

#define UPIN_STRUCT(s, size)						\
	_Static_assert(sizeof(struct s) == (size),			\
		       "sizeof(struct " #s ")");			\
	_Static_assert(_Alignof(struct s) == 8,				\
		       "alignment of struct " #s)

#define UPIN_MEMBER(s, m, off, size)					\
	_Static_assert(offsetof(struct s, m) == (off),			\
		       "offsetof(struct " #s ", " #m ")");		\
	_Static_assert(sizeof(((struct s *)0)->m) == (size),		\
		       "sizeof(struct " #s "." #m ")")

#define UPIN_VALUE(name, value)						\
	_Static_assert((name) == (value), #name)

UPIN_STRUCT(upin_info, 64);
UPIN_MEMBER(upin_info, size, 0, 4);
UPIN_MEMBER(upin_info, flags, 4, 4);
UPIN_MEMBER(upin_info, abi_version, 8, 4);
UPIN_MEMBER(upin_info, page_size, 12, 4);
UPIN_MEMBER(upin_info, features, 16, 8);
UPIN_MEMBER(upin_info, nr_regions, 24, 4);
UPIN_MEMBER(upin_info, max_regions, 28, 4);
UPIN_MEMBER(upin_info, pinned_pages, 32, 8);
UPIN_MEMBER(upin_info, global_pinned_pages, 40, 8);
UPIN_MEMBER(upin_info, global_max_pages, 48, 8);
UPIN_MEMBER(upin_info, metadata_bytes, 56, 8);

UPIN_STRUCT(upin_pin, 40);
UPIN_MEMBER(upin_pin, size, 0, 4);
UPIN_MEMBER(upin_pin, flags, 4, 4);
UPIN_MEMBER(upin_pin, addr, 8, 8);
UPIN_MEMBER(upin_pin, length, 16, 8);
UPIN_MEMBER(upin_pin, handle, 24, 8);
UPIN_MEMBER(upin_pin, npages, 32, 8);

UPIN_STRUCT(upin_unpin, 16);
UPIN_MEMBER(upin_unpin, size, 0, 4);
UPIN_MEMBER(upin_unpin, flags, 4, 4);
UPIN_MEMBER(upin_unpin, handle, 8, 8);

UPIN_STRUCT(upin_region, 56);
UPIN_MEMBER(upin_region, size, 0, 4);
UPIN_MEMBER(upin_region, flags, 4, 4);
UPIN_MEMBER(upin_region, handle, 8, 8);
UPIN_MEMBER(upin_region, addr, 16, 8);
UPIN_MEMBER(upin_region, length, 24, 8);
UPIN_MEMBER(upin_region, npages, 32, 8);
UPIN_MEMBER(upin_region, nr_segments, 40, 8);
UPIN_MEMBER(upin_region, pin_flags, 48, 4);
UPIN_MEMBER(upin_region, __reserved, 52, 4);

UPIN_STRUCT(upin_list, 24);
UPIN_MEMBER(upin_list, size, 0, 4);
UPIN_MEMBER(upin_list, flags, 4, 4);
UPIN_MEMBER(upin_list, handles, 8, 8);
UPIN_MEMBER(upin_list, capacity, 16, 4);
UPIN_MEMBER(upin_list, count, 20, 4);

UPIN_STRUCT(upin_access, 40);
UPIN_MEMBER(upin_access, size, 0, 4);
UPIN_MEMBER(upin_access, flags, 4, 4);
UPIN_MEMBER(upin_access, handle, 8, 8);
UPIN_MEMBER(upin_access, offset, 16, 8);
UPIN_MEMBER(upin_access, length, 24, 8);
UPIN_MEMBER(upin_access, buf, 32, 8);

UPIN_STRUCT(upin_segment, 16);
UPIN_MEMBER(upin_segment, phys, 0, 8);
UPIN_MEMBER(upin_segment, length, 8, 8);

UPIN_STRUCT(upin_segments, 40);
UPIN_MEMBER(upin_segments, size, 0, 4);
UPIN_MEMBER(upin_segments, flags, 4, 4);
UPIN_MEMBER(upin_segments, handle, 8, 8);
UPIN_MEMBER(upin_segments, segs, 16, 8);
UPIN_MEMBER(upin_segments, capacity, 24, 8);
UPIN_MEMBER(upin_segments, count, 32, 8);

UPIN_VALUE(UPIN_ABI_VERSION, 2);
UPIN_VALUE(UPIN_TYPE, 0xbe);

UPIN_VALUE(UPIN_CMD_BASE, 0x80);
UPIN_VALUE(UPIN_CMD_GET_INFO, 0x80);
UPIN_VALUE(UPIN_CMD_PIN, 0x81);
UPIN_VALUE(UPIN_CMD_UNPIN, 0x82);
UPIN_VALUE(UPIN_CMD_QUERY, 0x83);
UPIN_VALUE(UPIN_CMD_LIST, 0x84);
UPIN_VALUE(UPIN_CMD_ACCESS, 0x85);
UPIN_VALUE(UPIN_CMD_SEGMENTS, 0x86);

UPIN_VALUE(UPIN_IOC_GET_INFO, 0xbe80);
UPIN_VALUE(UPIN_IOC_PIN, 0xbe81);
UPIN_VALUE(UPIN_IOC_UNPIN, 0xbe82);
UPIN_VALUE(UPIN_IOC_QUERY, 0xbe83);
UPIN_VALUE(UPIN_IOC_LIST, 0xbe84);
UPIN_VALUE(UPIN_IOC_ACCESS, 0xbe85);
UPIN_VALUE(UPIN_IOC_SEGMENTS, 0xbe86);

UPIN_VALUE(UPIN_FEATURE_PIN_WRITE, 1);
UPIN_VALUE(UPIN_FEATURE_PIN_LONGTERM, 2);
UPIN_VALUE(UPIN_FEATURE_ACCESS_WRITE, 4);
UPIN_VALUE(UPIN_FEATURE_SEGMENTS, 8);

UPIN_VALUE(UPIN_PIN_WRITE, 1);
UPIN_VALUE(UPIN_PIN_LONGTERM, 2);

UPIN_VALUE(UPIN_ACCESS_WRITE, 1);

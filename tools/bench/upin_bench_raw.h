/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The one command of the bench-only module upin_bench_raw (never installed):
 * the least work a driver can do to pin and unpin a user range, in one
 * call or in two, for tools/bench/upin-bench to compare upin against.
 */
#ifndef _UPIN_BENCH_RAW_H
#define _UPIN_BENCH_RAW_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct upin_bench_raw - ioctl(UPIN_BENCH_RAW_PIN_UNPIN)
 * @addr: start of the range, page aligned
 * @length: bytes, a multiple of the page size
 * @flags: UPIN_PIN_WRITE and UPIN_PIN_LONGTERM of <linux/upin.h>
 * @__reserved: must be 0
 *
 * Allocates an array of @length / PAGE_SIZE page pointers, pins the range
 * into it with pin_user_pages_fast(), unpins it with
 * unpin_user_pages_dirty_lock() (dirtying write pins, as upin does), frees
 * the array. Nothing is charged or tracked.
 */
struct upin_bench_raw {
	__aligned_u64 addr;
	__aligned_u64 length;
	__u32 flags;
	__u32 __reserved;
};

#define UPIN_BENCH_RAW_PIN_UNPIN _IOW(0xbf, 1, struct upin_bench_raw)

/*
 * The same work split in two calls, as upin (and any driver whose user
 * pins and unpins in different calls) must do it: UPIN_BENCH_RAW_PIN
 * allocates the array and pins the range into it, keeping both in the
 * open file (-EBUSY while it holds a range); UPIN_BENCH_RAW_UNPIN unpins
 * and frees them (-ENOENT when it holds none). Closing the file unpins
 * what it holds.
 */
#define UPIN_BENCH_RAW_PIN _IOW(0xbf, 2, struct upin_bench_raw)
#define UPIN_BENCH_RAW_UNPIN _IO(0xbf, 3)

#endif /* _UPIN_BENCH_RAW_H */

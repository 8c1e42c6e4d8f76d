/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upin compat: every difference between the kernels upin supports lives
 * here, so the driver files read like mainline and contain no version
 * checks. The driver is written against the newest API; this file gives
 * older kernels that API. Where a distro could backport a change, Kbuild
 * probes the headers (see src/Kbuild) instead of trusting
 * LINUX_VERSION_CODE.
 *
 * Supported: Linux 6.1 to 6.12 (Debian bookworm and bookworm-backports).
 *
 * Differences that need no shim:
 * - FOLL_LONGTERM | FOLL_WRITE of a file mapping that needs dirty tracking:
 *   6.5 made GUP refuse it with EFAULT, 6.1 allows it. upin refuses it
 *   itself, before GUP, on every kernel (pin.c), so both give EOPNOTSUPP.
 * - GUP's vmas argument (removed in 6.5) and class_create()'s owner
 *   argument (removed in 6.4): upin uses pin_user_pages_fast() and a misc
 *   device, whose signatures did not change.
 */
#ifndef __UPIN_COMPAT_H
#define __UPIN_COMPAT_H

#endif /* __UPIN_COMPAT_H */

# SPDX-License-Identifier: GPL-2.0
#
# upin: top-level build.
#
#   make                    build src/upin.ko for the running kernel, and
#                           libupin and upinctl (in build/tools/)
#   make KDIR=/path/to/kernel/build
#   make modules_install    install the module (kbuild runs depmod)
#   make install            install libupin, its headers, upin.pc, upinctl
#                           and the man pages (PREFIX=/usr/local, DESTDIR=)
#   make uninstall          remove what make install installed
#   make man                man/upin.4 from include/uapi/linux/upin.h
#   make demo               boot a VM, pin and read through a buffer
#   make check              the whole test suite, in VMs, on every kernel
#                           (KERNELS="6.12" for one; tools/testing/run-tests)
#   make check-static       the checks that need no kernel (checkpatch,
#                           kernel-doc, the uapi header; seconds)
#   make run_tests          the selftests on this machine, kselftest style,
#                           with upin loaded (selftests/upin/Makefile)
#   make bench              upin against io_uring and raw GUP, in VMs, on
#                           every kernel: build/bench/ (BENCH_ARGS="--runs 9")
#   make profile            perf profiles and flame graphs of small and THP
#                           pins, in VMs: build/profile/ (PROFILE="SPEC...")
#   make matrix             build (no boot) against every Debian headers flavour
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build

all: tools modules

modules modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

tools install uninstall man:
	$(MAKE) -C tools $(patsubst tools,all,$@)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools clean

check:
	tools/testing/run-tests

check-static:
	tools/testing/check-static --only tree

run_tests:
	$(MAKE) -C selftests/upin run_tests

demo:
	tools/testing/run-tests --demo

bench:
	tools/testing/run-tests --bench $(if $(BENCH_ARGS),--bench-args "$(BENCH_ARGS)")

profile:
	tools/testing/run-tests --profile $(if $(PROFILE),"$(PROFILE)")

matrix:
	tools/testing/build-matrix

.PHONY: all modules modules_install tools install uninstall man clean check \
	check-static run_tests demo bench profile matrix

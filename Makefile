# SPDX-License-Identifier: GPL-2.0
#
# upin: top-level build.
#
#   make                    build src/upin.ko for the running kernel
#   make KDIR=/path/to/kernel/build
#   make modules_install    install it (then run depmod)
#   make demo               boot a VM, pin and read through a buffer
#   make check              the whole test suite, in VMs, on every kernel
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules modules_install clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

check:
	tools/run-tests

demo:
	tools/run-tests --demo

.PHONY: all modules modules_install clean check demo

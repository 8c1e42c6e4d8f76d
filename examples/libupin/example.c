// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * upin-example: the smallest complete use of libupin.
 *
 * Pins a buffer for writing (longterm, as upin_pin() always does unless
 * asked for the short-term diagnostic), lets the kernel write into the
 * pinned pages as a device would (upin_access_write()), reads the buffer
 * back through the process's own mapping, and unpins. Build it against an
 * installed libupin:
 *
 *   cc -o upin-example example.c $(pkg-config --cflags --libs upin)
 *
 * and run it where the upin module is loaded: upin-example [DEVICE]
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libupin.h>

#define BUF_SIZE (64 * 1024)

static char buf[BUF_SIZE] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
	static const char msg[] = "written by the device";
	enum upin_op op = UPIN_OP_OPEN;
	uint64_t handle, npages;
	struct upin_ctx *ctx;
	int ret;

	ret = upin_open(&ctx, argc > 1 ? argv[1] : NULL);
	if (ret)
		goto out;

	op = UPIN_OP_PIN;
	ret = upin_pin(ctx, buf, BUF_SIZE, UPIN_PIN_WRITE, &handle, &npages);
	if (ret)
		goto out_close;
	printf("pinned %d bytes: handle %llu, %llu pages\n", BUF_SIZE,
	       (unsigned long long)handle, (unsigned long long)npages);

	/* The "device" writes into the pinned pages, 4 KiB into the buffer. */
	op = UPIN_OP_ACCESS_WRITE;
	ret = upin_access_write(ctx, handle, 4096, msg, sizeof(msg));
	if (ret)
		goto out_close;
	printf("the device wrote; the buffer reads \"%s\"\n", buf + 4096);

	op = UPIN_OP_UNPIN;
	ret = upin_unpin(ctx, handle);
	if (ret)
		goto out_close;
	printf("unpinned\n");

out_close:
	upin_close(ctx);
out:
	if (ret) {
		fprintf(stderr, "upin-example: %s\n", upin_strerror(ret, op));
		return 1;
	}
	if (strcmp(buf + 4096, msg)) {
		fprintf(stderr, "upin-example: the buffer does not hold what the device wrote\n");
		return 1;
	}
	return 0;
}

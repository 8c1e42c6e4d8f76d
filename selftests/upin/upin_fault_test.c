// SPDX-License-Identifier: GPL-2.0
/*
 * upin fault injection selftests: every command, and open and close, with
 * the Nth fault site of the call failing, for N = 1, 2, ... until the call
 * runs through without meeting a fault. This is the kernel's
 * iommufd_fail_nth method: /proc/self/task/TID/fail-nth counts the fault
 * sites the calling task passes (slab and page allocations, user copies,
 * and upin's own GUP sites in /sys/kernel/debug/upin/fail_upin when the
 * module is built with UPIN_FAULT_INJECTION=1) and fails the Nth.
 *
 * After each call: it either succeeded with its whole effect, or failed
 * with an errno the ABI documents and changed nothing; the FOLL_PIN
 * references outstanding are exactly those GUP counts for the pages the
 * context holds (see zero_page_pins); and once the context is closed,
 * nr_foll_pin_acquired equals nr_foll_pin_released, VmPin is 0 and upin's
 * global page count is 0. After the sweeps, a kmemleak scan must find
 * nothing new: one scan for the program, as a scan takes seconds under
 * emulation. kmemleak only reports objects older than 5 s, so a leak of
 * the last iterations shows in the scan tools/testing/vm/init makes after the
 * suite.
 *
 * Needs root and a kernel with CONFIG_FAULT_INJECTION,
 * CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_USERCOPY
 * and CONFIG_FAULT_INJECTION_DEBUG_FS (tools/testing/debug-kernel builds one);
 * elsewhere the program reports one skipped test.
 */
#include <dirent.h>
#include <sys/mman.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define DEBUGFS "/sys/kernel/debug"
#define KMEMLEAK DEBUGFS "/kmemleak"
#define FAIL_UPIN DEBUGFS "/upin/fail_upin"
#define KPAGEFLAGS "/proc/kpageflags"
/* include/uapi/linux/kernel-page-flags.h */
#define KPF_THP 22
#define KPF_ZERO_PAGE 24

/* More sites than any call here passes; a sweep that gets there is stuck. */
#define MAX_NTH 4000

static long page_size;

/* Write @val to @path; 0 or -errno. */
static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

/*
 * Let every allocation be failed (by default failslab and fail_page_alloc
 * leave allocations that may sleep, and highmem pages, alone), and keep the
 * log quiet: a stack dump per injected fault would read as a splat.
 */
static bool setup_fault_injection(char *why, size_t len)
{
	static const char *const quiet[] = {
		DEBUGFS "/failslab/verbose", DEBUGFS "/fail_page_alloc/verbose",
		DEBUGFS "/fail_usercopy/verbose", FAIL_UPIN "/verbose",
	};
	char path[64];
	unsigned int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	if (access(path, W_OK)) {
		snprintf(why, len, "%s: %s (no CONFIG_FAULT_INJECTION)", path,
			 strerror(errno));
		return false;
	}
	if (write_file(DEBUGFS "/failslab/ignore-gfp-wait", "N") ||
	    write_file(DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N") ||
	    write_file(DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N") ||
	    access(DEBUGFS "/fail_usercopy", F_OK)) {
		snprintf(why, len, "%s/{failslab,fail_page_alloc,fail_usercopy}: missing (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_USERCOPY, CONFIG_FAULT_INJECTION_DEBUG_FS)",
			 DEBUGFS);
		return false;
	}
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		write_file(quiet[i], "0");
	return true;
}

/**
 * struct nth - the fail-nth sweep of one call
 * @fd: /proc/self/task/TID/fail-nth
 * @n: the fault site to fail in this iteration, from 1
 * @faults: iterations in which the fault was injected
 * @errors: of those, how many made the call fail (the others were absorbed:
 *          a fallback, a retry)
 */
struct nth {
	int fd;
	unsigned int n;
	unsigned int faults;
	unsigned int errors;
};

static int nth_open(struct nth *s)
{
	char path[64];

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	return s->fd < 0 ? -errno : 0;
}

/* Arm: the task's s->n-th fault site from now on fails. */
static int nth_arm(struct nth *s)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", s->n);

	return pwrite(s->fd, buf, len, 0) == len ? 0 : -errno;
}

/*
 * Disarm and tell whether the fault was injected: fail-nth reads 0 once
 * the countdown ran out. The read itself passes a fault site (its user
 * copy): if the countdown runs out there, the call did not reach it, and
 * that read fails with EFAULT, as in the kernel's iommufd_fail_nth.
 */
static bool nth_disarm(struct nth *s)
{
	char buf[16] = "";
	ssize_t r = pread(s->fd, buf, sizeof(buf) - 1, 0);
	bool injected = r > 0 && atoi(buf) == 0;

	if (r < 0 && errno == EFAULT)
		injected = false;
	/* Disarming may meet the last count too; then once more. */
	if (pwrite(s->fd, "0", 1, 0) != 1)
		pwrite(s->fd, "0", 1, 0);
	return injected;
}

/* Unreported kmemleak records, after a scan; -1 without kmemleak. */
static int kmemleak_new_reports(char *first, size_t len)
{
	char line[256];
	int n = 0;
	FILE *f;

	if (write_file(KMEMLEAK, "scan"))
		return -1;
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return -1;
	first[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "unreferenced object", 19))
			n++;
		if (n == 1 && strlen(first) + strlen(line) < len)
			strcat(first, line);
	}
	fclose(f);
	/* Report each leak once: the scan after the suite shows only newer ones. */
	write_file(KMEMLEAK, "clear");
	return n;
}

/*
 * FOLL_PIN references GUP counts for a pin of the shared zero page: 1
 * before Linux 6.5, 0 since (mm/gup.c: try_grab_folio() and
 * gup_put_folio() leave the zero folio alone; not the huge zero folio). A
 * read-only short-term pin of untouched anonymous memory holds the zero
 * page, so the references outstanding are the pinned pages less, since
 * 6.5, the zero pages among them. main() measures which
 * (probe_zero_page_pins()); -1 until then.
 */
static int zero_page_pins = -1;
static int kpageflags_fd = -1;

/* Zero pages among the @nr pages from @pfn on; -1 on error. */
static long span_zero_pages(uint64_t pfn, uint64_t nr)
{
	uint64_t flags[512], i, n;
	long zero = 0;

	for (; nr; pfn += n, nr -= n) {
		n = nr < 512 ? nr : 512;
		if (pread(kpageflags_fd, flags, n * sizeof(flags[0]),
			  pfn * sizeof(flags[0])) != (ssize_t)(n * sizeof(flags[0])))
			return -1;
		/* The huge zero page is KPF_THP too, and its pins count. */
		for (i = 0; i < n; i++)
			zero += (flags[i] >> KPF_ZERO_PAGE & 1) &&
				!(flags[i] >> KPF_THP & 1);
	}
	return zero;
}

/*
 * Zero pages among the pages of region @handle, by their physical
 * addresses (SEGMENTS, as root) and /proc/kpageflags; -1 on error.
 */
static long region_zero_pages(int fd, uint64_t handle)
{
	struct upin_segment *segs;
	struct upin_region r;
	uint64_t count, i;
	long n = 0, z;

	if (upin_query(fd, handle, &r))
		return -1;
	segs = calloc(r.npages, sizeof(*segs));
	if (!segs)
		return -1;
	if (upin_segments(fd, handle, segs, r.npages, &count))
		n = -1;
	for (i = 0; n >= 0 && i < count; i++) {
		/* No physical address: not CAP_SYS_ADMIN. */
		z = segs[i].phys ? span_zero_pages(segs[i].phys / page_size,
						   segs[i].length / page_size) : -1;
		n = z < 0 ? -1 : n + z;
	}
	free(segs);
	return n;
}

/*
 * The FOLL_PIN references GUP counts for the pages a context holds,
 * @pinned_pages of them: -2 on error.
 */
static long long counted_pins(int fd, uint64_t pinned_pages)
{
	uint64_t handles[4];
	long long zero = 0;
	uint32_t n, i;
	long z;

	if (zero_page_pins || !pinned_pages)
		return pinned_pages;
	if (upin_list(fd, handles, 4, &n))
		return -2;
	for (i = 0; i < n; i++) {
		z = region_zero_pages(fd, handles[i]);
		if (z < 0)
			return -2;
		zero += z;
	}
	return pinned_pages - zero;
}

/*
 * Set zero_page_pins: pin one read-faulted page of fresh anonymous memory,
 * which is the zero page, and see whether nr_foll_pin_acquired moves.
 * Return: false, with the reason in @why, when it cannot tell.
 */
static bool probe_zero_page_pins(char *why, size_t len)
{
	long long before, after;
	volatile char *p;
	uint64_t h;
	int fd, z;
	bool ok = false;

	kpageflags_fd = open(KPAGEFLAGS, O_RDONLY | O_CLOEXEC);
	if (kpageflags_fd < 0) {
		snprintf(why, len, "%s: %s", KPAGEFLAGS, strerror(errno));
		return false;
	}
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = upin_open();
	if (p == MAP_FAILED || fd < 0) {
		snprintf(why, len, "zero page probe: mmap or open failed");
		goto out;
	}
	(void)p[0];	/* a read fault maps the zero page */
	before = upin_pins_outstanding();
	if (upin_pin(fd, (void *)p, page_size, 0, &h, NULL)) {
		snprintf(why, len, "zero page probe: pin failed");
		goto out;
	}
	after = upin_pins_outstanding();
	z = (int)region_zero_pages(fd, h);
	/* A page other than the zero page has its pin counted. */
	if (before < 0 || z < 0 || after < before || after - before > 1 ||
	    (!z && after - before != 1)) {
		snprintf(why, len, "zero page probe: %lld FOLL_PIN references for one page (%s)",
			 after - before, z < 0 ? "no physical address" :
			 z ? "the zero page" : "not the zero page");
		goto out;
	}
	/* Without a zero page here, no pin holds one: nothing to subtract. */
	zero_page_pins = z ? (int)(after - before) : 1;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		munmap((void *)p, page_size);
	return ok;
}

/**
 * struct fstate - what one iteration works on
 * @fd: the context, -1 when closed
 * @map: the mapping that holds @buf
 * @map_len: its length
 * @buf: @pages pages of memory the call pins or copies
 * @pages: size of @buf in pages
 * @out: a second buffer, for ACCESS, LIST and SEGMENTS results
 * @handle: a region pinned before the call, when the case asks for one
 * @ret: the call's result
 * @val: a value the call returns (a new fd, a new handle)
 */
struct fstate {
	int fd;
	char *map;
	size_t map_len;
	char *buf;
	size_t pages;
	char *out;
	uint64_t handle;
	int ret;
	uint64_t val;
};

enum prep {
	P_OPEN = 1 << 0,	/* open a context first */
	P_REGION = 1 << 1,	/* and pin @buf into it (flags: pin_flags) */
	P_FAULTIN = 1 << 2,	/* write every page of @buf first */
	P_THP = 1 << 3,		/* @buf aligned to 2 MiB, MADV_HUGEPAGE */
};

/**
 * struct fcase - one call to sweep
 * @name: for the log
 * @pages: size of the buffer
 * @prep: enum prep bits
 * @pin_flags: flags of the region pinned by P_REGION, or of the pin under
 *             test
 * @call: the call, returning 0 or -errno; stores what it made in the state
 * @errnos: errors the call may return when a fault is injected, 0-ended
 */
struct fcase {
	const char *name;
	size_t pages;
	unsigned int prep;
	uint32_t pin_flags;
	int (*call)(struct fstate *s, const struct fcase *c);
	int errnos[6];
};

static int call_open(struct fstate *s, const struct fcase *c)
{
	int fd = upin_open();

	if (fd >= 0)
		s->fd = fd;
	return fd < 0 ? fd : 0;
}

static int call_close(struct fstate *s, const struct fcase *c)
{
	int ret = close(s->fd) ? -errno : 0;

	s->fd = -1;
	return ret;
}

static int call_get_info(struct fstate *s, const struct fcase *c)
{
	struct upin_info info;

	return upin_get_info(s->fd, &info);
}

static int call_pin(struct fstate *s, const struct fcase *c)
{
	return upin_pin(s->fd, s->buf, s->pages * page_size, c->pin_flags,
			&s->val, NULL);
}

static int call_unpin(struct fstate *s, const struct fcase *c)
{
	return upin_unpin(s->fd, s->handle);
}

static int call_query(struct fstate *s, const struct fcase *c)
{
	struct upin_region r;

	return upin_query(s->fd, s->handle, &r);
}

static int call_list(struct fstate *s, const struct fcase *c)
{
	uint32_t count;

	return upin_list(s->fd, (uint64_t *)s->out, 1, &count);
}

static int call_access_read(struct fstate *s, const struct fcase *c)
{
	return upin_access(s->fd, s->handle, 0, 1, s->out,
			   s->pages * page_size - 1);
}

static int call_access_write(struct fstate *s, const struct fcase *c)
{
	return upin_access(s->fd, s->handle, UPIN_ACCESS_WRITE, 1, s->out,
			   s->pages * page_size - 1);
}

static int call_segments(struct fstate *s, const struct fcase *c)
{
	uint64_t count;

	return upin_segments(s->fd, s->handle, (struct upin_segment *)s->out,
			     s->pages, &count);
}

#define PIN_ERRNOS { ENOMEM, EFAULT, EAGAIN, EINTR }
#define COPY_ERRNOS { EFAULT, ENOMEM }

/*
 * A pin of more than two GUP batches (512 pages each), so that the short
 * pin and the errors upin injects after GUP hit the first, a middle and the
 * last batch.
 */
#define BIG 1100

static const struct fcase cases[] = {
	{ "open", 0, 0, 0, call_open, { ENOMEM, EFAULT } },
	{ "close", 4, P_OPEN | P_REGION | P_FAULTIN, UPIN_PIN_WRITE,
	  call_close, { 0 } },
	{ "get_info", 0, P_OPEN, 0, call_get_info, COPY_ERRNOS },
	{ "pin", 4, P_OPEN, 0, call_pin, PIN_ERRNOS },
	{ "pin_write", 4, P_OPEN, UPIN_PIN_WRITE, call_pin, PIN_ERRNOS },
	{ "pin_longterm", 4, P_OPEN, UPIN_PIN_LONGTERM, call_pin, PIN_ERRNOS },
	{ "pin_write_longterm", 4, P_OPEN, UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
	  call_pin, PIN_ERRNOS },
	{ "pin_batches", BIG, P_OPEN | P_FAULTIN, UPIN_PIN_WRITE, call_pin,
	  PIN_ERRNOS },
	{ "pin_batches_longterm", BIG, P_OPEN | P_FAULTIN,
	  UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, call_pin, PIN_ERRNOS },
	{ "pin_thp", 1024, P_OPEN | P_THP, UPIN_PIN_WRITE, call_pin,
	  PIN_ERRNOS },
	{ "unpin", 4, P_OPEN | P_REGION | P_FAULTIN, UPIN_PIN_WRITE,
	  call_unpin, COPY_ERRNOS },
	{ "query", 4, P_OPEN | P_REGION | P_FAULTIN, 0, call_query,
	  COPY_ERRNOS },
	{ "list", 4, P_OPEN | P_REGION | P_FAULTIN, 0, call_list,
	  COPY_ERRNOS },
	{ "access_read", 4, P_OPEN | P_REGION | P_FAULTIN, 0,
	  call_access_read, COPY_ERRNOS },
	{ "access_write", 4, P_OPEN | P_REGION | P_FAULTIN, UPIN_PIN_WRITE,
	  call_access_write, COPY_ERRNOS },
	{ "segments", 4, P_OPEN | P_REGION | P_FAULTIN, 0, call_segments,
	  COPY_ERRNOS },
};

/* Set up an iteration; 0 or the line of the failed step. */
static int prepare(struct fstate *s, const struct fcase *c)
{
	size_t len = c->pages * page_size, thp = 2ul << 20;
	char *p;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->pages = c->pages;
	if (c->pages) {
		/* Room to align to 2 MiB for P_THP. */
		p = mmap(NULL, len + thp, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return __LINE__;
		s->map = p;
		s->map_len = len + thp;
		s->buf = p;
		if (c->prep & P_THP) {
			s->buf = (char *)(((uintptr_t)p + thp - 1) & ~(thp - 1));
			if (madvise(s->buf, len, MADV_HUGEPAGE))
				return __LINE__;
		} else if (madvise(p, len + thp, MADV_NOHUGEPAGE)) {
			return __LINE__;
		}
		s->out = malloc(len);
		if (!s->out)
			return __LINE__;
		upin_pat_fill(s->out, len, 0, 7);
		if (c->prep & P_FAULTIN)
			upin_pat_fill(s->buf, len, 0, 3);
	}
	if (c->prep & P_OPEN) {
		s->fd = upin_open();
		if (s->fd < 0)
			return __LINE__;
	}
	if ((c->prep & P_REGION) &&
	    upin_pin(s->fd, s->buf, len, c->pin_flags, &s->handle, NULL))
		return __LINE__;
	return 0;
}

/*
 * Check that the call either did all it should or nothing; 0 or the line of
 * the failed check.
 */
static int check_effect(struct fstate *s, const struct fcase *c)
{
	struct upin_region r;
	struct upin_info info;
	uint32_t want_regions = (c->prep & P_REGION) ? 1 : 0;

	if (c->call == call_open || c->call == call_close)
		return 0;	/* checked by the counters once closed */
	if (upin_get_info(s->fd, &info))
		return __LINE__;
	if (c->call == call_pin && !s->ret) {
		size_t len = s->pages * page_size;

		if (upin_query(s->fd, s->val, &r) || r.npages != s->pages)
			return __LINE__;
		/*
		 * The pinned pages are the process's, whole: what it wrote
		 * before, or writes now into a pin that follows its writes.
		 * A read-only short-term pin of untouched memory holds the
		 * zero page instead, and reads zeroes.
		 */
		if (!(c->prep & P_FAULTIN) &&
		    !(c->pin_flags & (UPIN_PIN_WRITE | UPIN_PIN_LONGTERM))) {
			memset(s->out, 1, len);
			if (upin_access(s->fd, s->val, 0, 0, s->out, len))
				return __LINE__;
			while (len--)
				if (s->out[len])
					return __LINE__;
		} else {
			if (!(c->prep & P_FAULTIN))
				upin_pat_fill(s->buf, len, 0, 3);
			if (upin_access(s->fd, s->val, 0, 0, s->out, len) ||
			    upin_pat_mismatch(s->out, len, 0, 3) >= 0)
				return __LINE__;
		}
		want_regions++;
	}
	if (c->call == call_unpin && !s->ret)
		want_regions--;
	if (info.nr_regions != want_regions)
		return __LINE__;
	if (info.pinned_pages != want_regions * s->pages)
		return __LINE__;
	if (upin_pins_outstanding() != counted_pins(s->fd, info.pinned_pages))
		return __LINE__;
	if (upin_vmpin_kb(0) != (long)(info.pinned_pages * page_size / 1024))
		return __LINE__;
	return 0;
}

static void finish(struct fstate *s, const struct fcase *c)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->map)
		munmap(s->map, s->map_len);
	free(s->out);
}

static bool errno_allowed(const struct fcase *c, int err)
{
	unsigned int i;

	for (i = 0; i < sizeof(c->errnos) / sizeof(c->errnos[0]) && c->errnos[i]; i++)
		if (-err == c->errnos[i])
			return true;
	return false;
}

FIXTURE(fail_nth) {
	int monitor;	/* a context of its own, for the global page count */
};

FIXTURE_VARIANT(fail_nth) {
	const struct fcase *c;
};

#define CASE(i, name_)							\
	FIXTURE_VARIANT_ADD(fail_nth, name_) { .c = &cases[i] }

CASE(0, open);
CASE(1, close);
CASE(2, get_info);
CASE(3, pin);
CASE(4, pin_write);
CASE(5, pin_longterm);
CASE(6, pin_write_longterm);
CASE(7, pin_batches);
CASE(8, pin_batches_longterm);
CASE(9, pin_thp);
CASE(10, unpin);
CASE(11, query);
CASE(12, list);
CASE(13, access_read);
CASE(14, access_write);
CASE(15, segments);

static bool have_fault_injection;
static char no_fault_injection[256];
static char no_zero_page_probe[256];

FIXTURE_SETUP(fail_nth)
{
	self->monitor = -1;
	if (!have_fault_injection)
		SKIP(return, "%s", no_fault_injection);
	ASSERT_LE(0, zero_page_pins) TH_LOG("%s", no_zero_page_probe);
	ASSERT_EQ(0, upin_pins_outstanding());
	self->monitor = upin_open();
	ASSERT_LE(0, self->monitor);
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->monitor >= 0)
		close(self->monitor);
}

TEST_F_TIMEOUT(fail_nth, sweep, 600)
{
	const struct fcase *c = variant->c;
	struct upin_info info;
	struct fstate s;
	struct nth nth;
	bool injected;
	int line;

	ASSERT_EQ(0, nth_open(&nth));
	for (nth.n = 1;; nth.n++) {
		ASSERT_GT(MAX_NTH, nth.n) TH_LOG("%s: no end in sight", c->name);
		line = prepare(&s, c);
		ASSERT_EQ(0, line) TH_LOG("%s: setup failed at line %d: %s",
					  c->name, line, strerror(errno));

		ASSERT_EQ(0, nth_arm(&nth));
		s.ret = c->call(&s, c);
		injected = nth_disarm(&nth);

		if (injected) {
			nth.faults++;
			if (s.ret) {
				nth.errors++;
				EXPECT_TRUE(errno_allowed(c, s.ret))
					TH_LOG("%s: fault %u: unexpected error %s",
					       c->name, nth.n, strerror(-s.ret));
			}
		} else {
			ASSERT_EQ(0, s.ret) TH_LOG("%s: failed without a fault: %s",
						   c->name, strerror(-s.ret));
		}
		line = check_effect(&s, c);
		EXPECT_EQ(0, line) TH_LOG("%s: fault %u (%s): inconsistent state, check at line %d",
					  c->name, nth.n,
					  s.ret ? strerror(-s.ret) : "call succeeded",
					  line);
		finish(&s, c);
		/* The oracle: the context closed, nothing stays. */
		ASSERT_EQ(0, upin_pins_outstanding())
			TH_LOG("%s: fault %u", c->name, nth.n);
		ASSERT_EQ(0, upin_vmpin_kb(0)) TH_LOG("%s: fault %u", c->name,
						      nth.n);
		ASSERT_EQ(0, upin_get_info(self->monitor, &info));
		ASSERT_EQ(0, info.global_pinned_pages)
			TH_LOG("%s: fault %u", c->name, nth.n);
		if (!injected)
			break;
	}
	close(nth.fd);
	TH_LOG("%s: %u fault sites, %u made the call fail, then success",
	       c->name, nth.faults, nth.errors);
}

/*
 * After every sweep: kmemleak finds no object that nothing references
 * (older than 5 s: the leaks of the sweeps, or of a program before). A
 * fixture of its own, as the harness runs plain TEST()s first.
 */
FIXTURE(kmemleak) {
};

FIXTURE_SETUP(kmemleak)
{
}

FIXTURE_TEARDOWN(kmemleak)
{
}

TEST_F(kmemleak, after_sweeps)
{
	char leak[1024];
	int leaks;

	if (!have_fault_injection)
		SKIP(return, "%s", no_fault_injection);
	leaks = kmemleak_new_reports(leak, sizeof(leak));
	if (leaks < 0)
		SKIP(return, "%s: %s (no CONFIG_DEBUG_KMEMLEAK)", KMEMLEAK,
		     strerror(errno));
	EXPECT_EQ(0, leaks) TH_LOG("kmemleak: %d suspected leak(s), first:\n%s",
				   leaks, leak);
}

int main(int argc, char **argv)
{
	char path[64];

	page_size = sysconf(_SC_PAGESIZE);
	have_fault_injection = setup_fault_injection(no_fault_injection,
						     sizeof(no_fault_injection));
	if (!have_fault_injection && argc == 1) {
		/* One skipped test, not one per case. */
		printf("TAP version 13\n1..1\nok 1 fail_nth # SKIP %s\n",
		       no_fault_injection);
		return 4;
	}
	snprintf(path, sizeof(path), FAIL_UPIN);
	if (have_fault_injection && access(path, F_OK))
		printf("# %s missing: upin built without UPIN_FAULT_INJECTION=1, its GUP sites are not covered\n",
		       path);
	if (have_fault_injection &&
	    probe_zero_page_pins(no_zero_page_probe, sizeof(no_zero_page_probe)))
		printf("# a pin of the zero page counts %d FOLL_PIN reference(s)\n",
		       zero_page_pins);
	return test_harness_run(argc, argv);
}

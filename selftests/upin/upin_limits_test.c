// SPDX-License-Identifier: GPL-2.0
/*
 * upin limits: the module parameters in force, as GET_INFO, sysfs and the
 * device node report them, and their enforcement: max_regions per context
 * (ENOSPC for one region more) and max_pages module-wide (ENOSPC for a pin
 * that would pass it, nothing charged), also with several contexts racing.
 *
 * run.sh runs this with whatever parameters the module was loaded with
 * (the defaults); upin_params_test.sh reloads the module with small limits
 * and runs it again with what it expects in the environment:
 *
 *   UPIN_TEST_EXPECT_MAX_REGIONS  max_regions (decimal)
 *   UPIN_TEST_EXPECT_MAX_PAGES    max_pages (decimal, 0 = no cap)
 *   UPIN_TEST_EXPECT_MODE         permissions of /dev/upin (octal)
 *
 * Without them the test compares GET_INFO with /sys/module/upin/parameters/.
 * Every test ends on the project's oracle: the FOLL_PIN counters balanced,
 * VmPin 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#define PARAMS "/sys/module/upin/parameters/"
#define NCTX 4
/* Pages the regions of one context cycle over; each is pinned many times. */
#define CYCLE_PAGES 64
/*
 * Beyond this a test would pin for too long under emulation. A KASAN
 * kernel (tools/testing/vm/init sets UPIN_TEST_KASAN=1 there) pins several times
 * slower: contexts that race are kept to what max_regions_enforced fills
 * in one (upin_params_test.sh races them at max_regions=4).
 */
#define MAX_REGIONS_TESTED (1UL << 18)
#define MAX_REGIONS_RACED_KASAN (1UL << 16)
#define MAX_PAGES_TESTED (1UL << 16)

static long page_size;

#define ASSERT_ALL_RELEASED() do {				\
	ASSERT_EQ(0, upin_pins_outstanding());			\
	ASSERT_EQ(0, upin_vmpin_kb(0));				\
} while (0)

/* A module parameter from sysfs (@base 0: as printed), or -1. */
static long long read_param(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* An expectation from the environment, or -1 when not set. */
static long long expected(const char *var, int base)
{
	const char *s = getenv(var);

	return s && *s ? strtoll(s, NULL, base) : -1;
}

static void *map_anon(size_t len, int fill)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, fill, len);
	return p;
}

FIXTURE(limits) {
	int fd;
	struct upin_info info;
	unsigned char *buf;	/* CYCLE_PAGES pages */
};

FIXTURE_SETUP(limits)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
	self->fd = upin_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open " UPIN_DEV ": %s", strerror(-self->fd));
	ASSERT_EQ(0, upin_get_info(self->fd, &self->info));
	ASSERT_EQ(0ULL, self->info.global_pinned_pages);
	self->buf = map_anon(CYCLE_PAGES * page_size, 'l');
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(limits)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* GET_INFO, sysfs, the node and the expectations agree. */
TEST_F(limits, info_matches_parameters)
{
	long long want_regions = expected("UPIN_TEST_EXPECT_MAX_REGIONS", 10);
	long long want_pages = expected("UPIN_TEST_EXPECT_MAX_PAGES", 10);
	long long want_mode = expected("UPIN_TEST_EXPECT_MODE", 8);
	long long p_regions = read_param("max_regions");
	long long p_pages = read_param("max_pages");
	long long p_mode = read_param("mode");
	struct stat st;

	TH_LOG("GET_INFO: max_regions=%u global_max_pages=%llu; sysfs: max_regions=%lld max_pages=%lld mode=%llo",
	       self->info.max_regions,
	       (unsigned long long)self->info.global_max_pages, p_regions,
	       p_pages, p_mode);
	ASSERT_EQ(0, stat(UPIN_DEV, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));

	/* The parameters are 0444: readable, and what GET_INFO reports. */
	ASSERT_LE(0, p_regions);
	ASSERT_LE(0, p_pages);
	ASSERT_LE(0, p_mode);
	EXPECT_EQ(p_regions, self->info.max_regions);
	EXPECT_EQ(p_pages, (long long)self->info.global_max_pages);
	EXPECT_EQ(p_mode, st.st_mode & 07777);
	EXPECT_EQ(0ULL, self->info.pinned_pages);
	EXPECT_EQ(0U, self->info.nr_regions);

	if (want_regions >= 0)
		EXPECT_EQ(want_regions, self->info.max_regions);
	if (want_pages >= 0)
		EXPECT_EQ(want_pages, (long long)self->info.global_max_pages);
	if (want_mode >= 0)
		EXPECT_EQ(want_mode, st.st_mode & 07777);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_ALL_RELEASED();
}

/*
 * Fill one context to max_regions with single pages: one region more is
 * ENOSPC and pins nothing; unpinning one makes room for exactly one.
 */
TEST_F_TIMEOUT(limits, max_regions_enforced, 120)
{
	const uint32_t max = self->info.max_regions;
	uint64_t cap = self->info.global_max_pages;
	struct upin_info info;
	uint64_t handle, first = 0;
	uint32_t i;

	if (max > MAX_REGIONS_TESTED)
		SKIP(return, "max_regions=%u: more regions than this test pins", max);
	if (cap && cap < max)
		SKIP(return, "max_pages=%llu < max_regions=%u: the module-wide cap comes first",
		     (unsigned long long)cap, max);

	for (i = 0; i < max; i++) {
		ASSERT_EQ(0, upin_pin(self->fd,
				      self->buf + (i % CYCLE_PAGES) * page_size,
				      page_size, i & 1 ? UPIN_PIN_WRITE : 0,
				      &handle, NULL)) TH_LOG("region %u", i);
		if (!first)
			first = handle;
	}
	ASSERT_EQ(-ENOSPC, upin_pin(self->fd, self->buf, page_size, 0, NULL,
				    NULL));
	ASSERT_EQ(-ENOSPC, upin_pin(self->fd, self->buf,
				    CYCLE_PAGES * page_size, UPIN_PIN_WRITE,
				    NULL, NULL));
	ASSERT_EQ(max, upin_pins_outstanding());
	ASSERT_EQ(max * page_size / 1024, upin_vmpin_kb(0));
	ASSERT_EQ(0, upin_get_info(self->fd, &info));
	ASSERT_EQ(max, info.nr_regions);
	ASSERT_EQ((uint64_t)max, info.pinned_pages);

	ASSERT_EQ(0, upin_unpin(self->fd, first));
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, page_size, 0, &handle,
			      NULL));
	ASSERT_LT(first, handle);
	ASSERT_EQ(-ENOSPC, upin_pin(self->fd, self->buf, page_size, 0, NULL,
				    NULL));

	/* The limit is per context: another one starts empty. */
	{
		int fd2 = upin_open();

		ASSERT_LE(0, fd2);
		if (!cap || cap >= max + 1ULL)
			ASSERT_EQ(0, upin_pin(fd2, self->buf, page_size, 0,
					      NULL, NULL));
		ASSERT_EQ(0, close(fd2));
	}
	ASSERT_EQ(max, upin_pins_outstanding());
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_ALL_RELEASED();
}

/* ---- several contexts at once ---- */

struct racer {
	pthread_t thread;
	pthread_barrier_t *barrier;
	unsigned char *buf;
	uint32_t regions;	/* pins to try */
	uint64_t pages;		/* pages per pin */
	uint32_t ok, enospc;	/* results */
	char err[128];
};

/* Opens a context, pins ->regions times ->pages pages, holds them. */
static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	uint32_t i;
	int fd, ret;

	fd = upin_open();
	if (fd < 0)
		snprintf(r->err, sizeof(r->err), "open: %d", fd);
	pthread_barrier_wait(r->barrier);
	for (i = 0; fd >= 0 && i < r->regions; i++) {
		ret = upin_pin(fd, r->buf, r->pages * page_size,
			       UPIN_PIN_WRITE, NULL, NULL);
		if (!ret)
			r->ok++;
		else if (ret == -ENOSPC)
			r->enospc++;
		else if (!r->err[0])
			snprintf(r->err, sizeof(r->err), "pin %u: %d", i, ret);
	}
	/* Hold the regions until every racer has finished and been counted. */
	pthread_barrier_wait(r->barrier);
	pthread_barrier_wait(r->barrier);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * Run NCTX racers, check what the main thread sees while they hold their
 * regions, and return the pages they pinned.
 */
static uint64_t race(struct __test_metadata *_metadata, struct racer *r,
		     uint32_t regions, uint64_t pages)
{
	pthread_barrier_t barrier;
	uint64_t total = 0;
	struct upin_info info;
	int i, fd;

	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, NCTX + 1));
	for (i = 0; i < NCTX; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].barrier = &barrier;
		r[i].regions = regions;
		r[i].pages = pages;
		r[i].buf = map_anon(pages * page_size, 'r');
		ASSERT_NE(NULL, r[i].buf);
		ASSERT_EQ(0, pthread_create(&r[i].thread, NULL, racer_fn,
					    &r[i]));
	}
	pthread_barrier_wait(&barrier);		/* go */
	pthread_barrier_wait(&barrier);		/* all done, holding */
	for (i = 0; i < NCTX; i++)
		total += r[i].ok * pages;
	fd = upin_open();
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		EXPECT_EQ(0, upin_get_info(fd, &info));
		EXPECT_EQ(total, info.global_pinned_pages);
		close(fd);
	}
	EXPECT_EQ((long long)total, upin_pins_outstanding());
	EXPECT_EQ((long)(total * page_size / 1024), upin_vmpin_kb(0));
	pthread_barrier_wait(&barrier);		/* release */
	for (i = 0; i < NCTX; i++) {
		ASSERT_EQ(0, pthread_join(r[i].thread, NULL));
		EXPECT_EQ(0, r[i].err[0]) TH_LOG("context %d: %s", i, r[i].err);
		munmap(r[i].buf, pages * page_size);
	}
	pthread_barrier_destroy(&barrier);
	return total;
}

/* Every context, racing the others, gets exactly max_regions regions. */
TEST_F_TIMEOUT(limits, max_regions_concurrent, 120)
{
	const uint32_t max = self->info.max_regions;
	const uint64_t cap = self->info.global_max_pages;
	const bool kasan = upin_test_kasan();
	struct racer r[NCTX];
	int i;

	if ((uint64_t)max * NCTX >
	    (kasan ? MAX_REGIONS_RACED_KASAN : MAX_REGIONS_TESTED))
		SKIP(return, "max_regions=%u: %d contexts would pin %llu regions, too long%s; max_regions_enforced covers one",
		     max, NCTX, (unsigned long long)max * NCTX,
		     kasan ? " on a KASAN kernel" : "");
	if (cap && cap < (uint64_t)max * NCTX)
		SKIP(return, "max_pages=%llu < %d * max_regions=%u: the module-wide cap comes first",
		     (unsigned long long)cap, NCTX, max);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;

	race(_metadata, r, max + 2, 1);
	for (i = 0; i < NCTX; i++) {
		EXPECT_EQ(max, r[i].ok) TH_LOG("context %d", i);
		EXPECT_EQ(2U, r[i].enospc) TH_LOG("context %d", i);
	}
	ASSERT_ALL_RELEASED();
}

/*
 * max_pages across two contexts: pins that fit succeed, one page more is
 * ENOSPC in either context, and a pin that would straddle the cap pins and
 * charges nothing.
 */
TEST_F(limits, max_pages_two_contexts)
{
	const uint64_t cap = self->info.global_max_pages;
	const uint64_t half = cap / 2;
	struct upin_info info;
	unsigned char *buf;
	uint64_t ha, hb;
	long vmpin;
	int fd2;

	if (!cap)
		SKIP(return, "max_pages=0: no module-wide cap in force (upin_params_test.sh reloads with one)");
	if (cap > MAX_PAGES_TESTED || cap < 2)
		SKIP(return, "max_pages=%llu: outside what this test pins",
		     (unsigned long long)cap);
	buf = map_anon((cap + 1) * page_size, 'c');
	ASSERT_NE(NULL, buf);
	fd2 = upin_open();
	ASSERT_LE(0, fd2);

	ASSERT_EQ(0, upin_pin(self->fd, buf, half * page_size, UPIN_PIN_WRITE,
			      &ha, NULL));
	ASSERT_EQ(0, upin_pin(fd2, buf, (cap - half) * page_size, 0, &hb,
			      NULL));
	ASSERT_EQ((long long)cap, upin_pins_outstanding());
	vmpin = upin_vmpin_kb(0);
	ASSERT_EQ((long)(cap * page_size / 1024), vmpin);

	/* Full: one page more fails in either context, nothing charged. */
	ASSERT_EQ(-ENOSPC, upin_pin(self->fd, buf, page_size, 0, NULL, NULL));
	ASSERT_EQ(-ENOSPC, upin_pin(fd2, buf + cap * page_size, page_size,
				    UPIN_PIN_WRITE, NULL, NULL));
	ASSERT_EQ((long long)cap, upin_pins_outstanding());
	ASSERT_EQ(vmpin, upin_vmpin_kb(0));
	ASSERT_EQ(0, upin_get_info(fd2, &info));
	ASSERT_EQ(cap, info.global_pinned_pages);
	ASSERT_EQ(1U, info.nr_regions);
	ASSERT_EQ(cap - half, info.pinned_pages);

	/* Room for half pages: half + 1 is refused whole, half fits. */
	ASSERT_EQ(0, upin_unpin(self->fd, ha));
	ASSERT_EQ(-ENOSPC, upin_pin(self->fd, buf, (half + 1) * page_size, 0,
				    NULL, NULL));
	ASSERT_EQ((long long)(cap - half), upin_pins_outstanding());
	ASSERT_EQ((long)((cap - half) * page_size / 1024), upin_vmpin_kb(0));
	if (half) {
		ASSERT_EQ(0, upin_pin(self->fd, buf + page_size,
				      half * page_size, 0, &ha, NULL));
	}
	ASSERT_EQ(0, upin_get_info(self->fd, &info));
	ASSERT_EQ(cap, info.global_pinned_pages);
	ASSERT_EQ((long long)cap, upin_pins_outstanding());

	/* Closing one context makes room for the other. */
	ASSERT_EQ(0, close(fd2));
	ASSERT_EQ(0, upin_get_info(self->fd, &info));
	ASSERT_EQ(half, info.global_pinned_pages);
	ASSERT_EQ(0, upin_pin(self->fd, buf, (cap - half) * page_size, 0, &hb,
			      NULL));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	munmap(buf, (cap + 1) * page_size);
	ASSERT_ALL_RELEASED();
}

/*
 * NCTX contexts race for max_pages with pins of several pages, asking for
 * twice the cap together: what they get never passes the cap, and a pin
 * failed only because the cap was (nearly) reached.
 */
TEST_F_TIMEOUT(limits, max_pages_concurrent, 120)
{
	const uint64_t cap = self->info.global_max_pages;
	const uint32_t max = self->info.max_regions;
	uint32_t regions = max < 8 ? max : 8;
	struct racer r[NCTX];
	uint64_t pages, total;
	uint32_t enospc = 0;
	int i;

	if (!cap)
		SKIP(return, "max_pages=0: no module-wide cap in force (upin_params_test.sh reloads with one)");
	if (cap > MAX_PAGES_TESTED)
		SKIP(return, "max_pages=%llu: outside what this test pins",
		     (unsigned long long)cap);
	/* NCTX * regions pins of @pages ask for about twice the cap. */
	pages = (2 * cap + NCTX * regions - 1) / (NCTX * regions);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;

	total = race(_metadata, r, regions, pages);
	for (i = 0; i < NCTX; i++)
		enospc += r[i].enospc;
	TH_LOG("%d contexts, %u pins of %llu pages each: %llu of %llu pages pinned, %u ENOSPC",
	       NCTX, regions, (unsigned long long)pages,
	       (unsigned long long)total, (unsigned long long)cap, enospc);
	EXPECT_GE(cap, total);
	EXPECT_LT(cap - pages, total);
	EXPECT_LT(0U, enospc);
	ASSERT_ALL_RELEASED();
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * UPIN_PIN_LONGTERM checked for real: a longterm pin must not hold pages in
 * ZONE_MOVABLE (memory hot-unplug and CMA rely on being able to move them),
 * so the kernel migrates them out first; a short-term pin leaves them where
 * they are.
 *
 * The guest boots with movablecore= (tools/testing/run-tests does), so that part
 * of memory is ZONE_MOVABLE, and the allocator puts user memory there
 * first. Each test fills a buffer, pins it short-term and reads the
 * physical addresses with UPIN_IOC_SEGMENTS (root sees them): every page
 * lies in a ZONE_MOVABLE span of /proc/zoneinfo (start_pfn, spanned). Then
 * it pins the same buffer longterm: no page may lie in ZONE_MOVABLE any
 * more, the data came along, and the process's mapping follows the moved
 * pages (what it writes, the pin sees). A second short-term pin then finds
 * the moved pages, and the FOLL_PIN counters balance at the end. A page
 * that a short-term pin holds cannot move, so a longterm pin of it fails.
 *
 * Without a populated ZONE_MOVABLE the program reports one skipped test.
 */
#include <sys/mman.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define MAX_ZONES 16
#define NPAGES 512
#define THP_SIZE (2ul << 20)

struct span {
	uint64_t start, end;	/* pfns, end open */
};

static struct span movable[MAX_ZONES];
static int nmovable;
static long page_size;
/*
 * Pages of ZONE_MOVABLE, and of those the page allocator's: memory that
 * early boot allocations took (memblock allocates top-down, where
 * movablecore= puts ZONE_MOVABLE: KASAN's shadow, 1/8 of memory, fills a
 * small one) is present but not managed.
 */
static unsigned long long movable_present, movable_managed;

/* Read the ZONE_MOVABLE spans of every node; returns how many are populated. */
static int read_movable_spans(void)
{
	unsigned long long spanned = 0, present = 0, managed, start;
	bool in_movable = false;
	char line[256], zone[32];
	FILE *f = fopen("/proc/zoneinfo", "r");
	int node;

	if (!f)
		return 0;
	nmovable = 0;
	movable_present = movable_managed = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %31s", &node, zone) == 2) {
			in_movable = !strcmp(zone, "Movable");
			spanned = present = 0;
		} else if (in_movable) {
			sscanf(line, " spanned %llu", &spanned);
			if (sscanf(line, " present %llu", &present) == 1)
				movable_present += present;
			if (sscanf(line, " managed %llu", &managed) == 1)
				movable_managed += managed;
			if (sscanf(line, " start_pfn: %llu", &start) == 1 &&
			    present && nmovable < MAX_ZONES) {
				movable[nmovable].start = start;
				movable[nmovable].end = start + spanned;
				nmovable++;
			}
		}
	}
	fclose(f);
	return nmovable;
}

static bool pfn_movable(uint64_t pfn)
{
	int i;

	for (i = 0; i < nmovable; i++)
		if (pfn >= movable[i].start && pfn < movable[i].end)
			return true;
	return false;
}

/* Pages of region @h in ZONE_MOVABLE; -1 on error. @first: first pfn. */
static long movable_pages(int fd, uint64_t h, uint64_t *first)
{
	static struct upin_segment segs[NPAGES * 2];
	uint64_t count, i, p;
	long n = 0;

	if (upin_segments(fd, h, segs, NPAGES * 2, &count))
		return -1;
	*first = segs[0].phys / page_size;
	for (i = 0; i < count; i++) {
		if (!segs[i].phys)
			return -1;	/* no CAP_SYS_ADMIN */
		for (p = 0; p < segs[i].length / page_size; p++)
			n += pfn_movable(segs[i].phys / page_size + p);
	}
	return n;
}

FIXTURE(movable) {
	int fd;
	char *map;
	size_t map_len;
	char *buf;
	int memfd;
};

FIXTURE_VARIANT(movable) {
	uint32_t flags;		/* UPIN_PIN_WRITE or 0, with LONGTERM added */
	int kind;		/* 0: anon, 1: THP, 2: memfd */
};

FIXTURE_VARIANT_ADD(movable, anon_rw) { .flags = UPIN_PIN_WRITE, .kind = 0 };
FIXTURE_VARIANT_ADD(movable, anon_ro) { .flags = 0, .kind = 0 };
FIXTURE_VARIANT_ADD(movable, thp_rw) { .flags = UPIN_PIN_WRITE, .kind = 1 };
FIXTURE_VARIANT_ADD(movable, memfd_rw) { .flags = UPIN_PIN_WRITE, .kind = 2 };

FIXTURE_SETUP(movable)
{
	size_t len = NPAGES * page_size;

	self->fd = -1;
	self->memfd = -1;
	ASSERT_EQ(0, upin_pins_outstanding());
	self->map_len = len + THP_SIZE;
	if (variant->kind == 2) {
		self->memfd = memfd_create("upin-longterm", MFD_CLOEXEC);
		ASSERT_LE(0, self->memfd);
		ASSERT_EQ(0, ftruncate(self->memfd, len));
		self->map_len = len;
		self->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 self->memfd, 0);
	} else {
		self->map = mmap(NULL, self->map_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	ASSERT_NE(MAP_FAILED, self->map);
	self->buf = self->map;
	if (variant->kind == 1) {
		self->buf = (char *)(((uintptr_t)self->map + THP_SIZE - 1) &
				     ~(THP_SIZE - 1));
		ASSERT_EQ(0, madvise(self->buf, len, MADV_HUGEPAGE));
	} else if (variant->kind == 0) {
		ASSERT_EQ(0, madvise(self->map, self->map_len, MADV_NOHUGEPAGE));
	}
	upin_pat_fill(self->buf, len, 0, 1);
	self->fd = upin_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(movable)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->map, self->map_len);
	if (self->memfd >= 0)
		close(self->memfd);
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

TEST_F(movable, longterm_leaves_zone_movable)
{
	const size_t len = NPAGES * page_size;
	uint64_t hs, hl, hs2, pfn_short, pfn_long, pfn;
	static char out[NPAGES * 4096 * 2];
	long n;

	ASSERT_GE(sizeof(out), len);
	/* Short-term: the pages stay in ZONE_MOVABLE, where they were put. */
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, len, variant->flags, &hs,
			      NULL));
	n = movable_pages(self->fd, hs, &pfn_short);
	ASSERT_LE(0, n) TH_LOG("SEGMENTS without physical addresses: not root?");
	ASSERT_EQ(NPAGES, n)
		TH_LOG("only %ld of %d pages were allocated in ZONE_MOVABLE (%llu pages present, %llu managed): nothing to migrate",
		       n, NPAGES, movable_present, movable_managed);
	ASSERT_EQ(0, upin_unpin(self->fd, hs));

	/* Longterm: none of them may stay there. */
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, len,
			      variant->flags | UPIN_PIN_LONGTERM, &hl, NULL));
	n = movable_pages(self->fd, hl, &pfn_long);
	ASSERT_EQ(0, n) TH_LOG("%ld of %d pages still in ZONE_MOVABLE under a longterm pin",
			       n, NPAGES);
	TH_LOG("longterm pin moved the buffer from pfn 0x%llx (ZONE_MOVABLE) to pfn 0x%llx",
	       (unsigned long long)pfn_short, (unsigned long long)pfn_long);

	/* The data moved with the pages, and the mapping follows them. */
	ASSERT_EQ(0, upin_access(self->fd, hl, 0, 0, out, len));
	ASSERT_EQ(-1, upin_pat_mismatch(out, len, 0, 1));
	upin_pat_fill(self->buf, len, 0, 2);
	ASSERT_EQ(0, upin_access(self->fd, hl, 0, 0, out, len));
	ASSERT_EQ(-1, upin_pat_mismatch(out, len, 0, 2));

	/* A short-term pin now finds the moved pages. */
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, len, variant->flags, &hs2,
			      NULL));
	ASSERT_EQ(0, movable_pages(self->fd, hs2, &pfn));
	ASSERT_EQ(pfn_long, pfn);
	ASSERT_EQ(2 * NPAGES, upin_pins_outstanding());
}

/*
 * A page that a short-term pin holds cannot move: a longterm pin of it
 * fails with ENOMEM (GUP's answer when migration fails) and charges
 * nothing; once the short-term pin is gone, the longterm pin works.
 */
TEST_F(movable, longterm_of_short_pinned_pages_enomem)
{
	const size_t len = NPAGES * page_size;
	uint64_t hs, hl, pfn;
	long kb;

	ASSERT_EQ(0, upin_pin(self->fd, self->buf, len, variant->flags, &hs,
			      NULL));
	ASSERT_EQ(NPAGES, movable_pages(self->fd, hs, &pfn))
		TH_LOG("ZONE_MOVABLE: %llu pages present, %llu managed",
		       movable_present, movable_managed);
	kb = upin_vmpin_kb(0);
	ASSERT_EQ(-ENOMEM, upin_pin(self->fd, self->buf, len,
				    variant->flags | UPIN_PIN_LONGTERM, &hl,
				    NULL));
	ASSERT_EQ(kb, upin_vmpin_kb(0));
	ASSERT_EQ(NPAGES, upin_pins_outstanding());
	ASSERT_EQ(0, upin_unpin(self->fd, hs));
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, len,
			      variant->flags | UPIN_PIN_LONGTERM, &hl, NULL));
	ASSERT_EQ(0, movable_pages(self->fd, hl, &pfn));
}

int main(int argc, char **argv)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (!read_movable_spans() && argc == 1) {
		/* One skipped test, not one per variant. */
		printf("TAP version 13\n1..1\nok 1 movable # SKIP no populated ZONE_MOVABLE (boot with movablecore=)\n");
		return 4;
	}
	printf("# ZONE_MOVABLE: %llu pages present, %llu managed\n",
	       movable_present, movable_managed);
	return test_harness_run(argc, argv);
}

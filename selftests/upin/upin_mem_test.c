// SPDX-License-Identifier: GPL-2.0
/*
 * upin memory selftests: every kind of mapping a process may hand to upin,
 * crossed with the four kinds of pin (read-only or writable, short-term or
 * longterm), and the coherence the contract promises for longterm pins of
 * private anonymous memory, also across fork() and for the shared zero page.
 *
 * As in the kernel's tools/testing/selftests/mm/gup_longterm.c, whether a
 * pin must work is derived from a rule, not looked up in a table:
 * mem_pin_result() says that a writable pin (longterm or not) of a shared
 * mapping of a file system that writes pages back (ext4 here) is
 * EOPNOTSUPP, and every other combination works. The file_race tests map
 * such a file over a pin while it runs.
 *
 * Every test ends, once its context is closed, on the pin counters being
 * balanced and VmPin being 0.
 */
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "upin_util.h"
#include "kselftest_harness.h"

/*
 * -Wextra flags the harness's own idioms: ASSERT_EQ(0, unsigned_field)
 * (-Wsign-compare) and the setjmp() in TEST_F() (-Wclobbered).
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define HPAGE		(2ul << 20)	/* x86-64 PMD: THP and hugetlb default */
#define SMALL_PAGES	16
#define EXT4_DIR	"/mnt/ext4"
#define HUGETLBFS_DIR	"/mnt/huge"

enum { SEED_PROC = 1, SEED_DEV, SEED_NEW, SEED_FILE };

enum mem_kind {
	MEM_ANON,		/* private anonymous, 4 KiB pages */
	MEM_ANON_THP,		/* private anonymous, MADV_HUGEPAGE, verified */
	MEM_ANON_SHARED,	/* MAP_SHARED | MAP_ANONYMOUS (shmem) */
	MEM_HUGETLB,		/* MAP_HUGETLB, private */
	MEM_HUGETLBFS,		/* a file in hugetlbfs, MAP_SHARED */
	MEM_MEMFD,		/* memfd_create(), MAP_SHARED */
	MEM_FILE_PRIVATE,	/* an ext4 file, MAP_PRIVATE */
	MEM_FILE_SHARED,	/* an ext4 file, MAP_SHARED */
};

/* What the rule and the checks need to know about a kind of memory. */
static const struct mem_desc {
	const char *name;
	bool shared;		/* MAP_SHARED: writes reach the object */
	bool file;		/* backed by a file we can pread() */
	bool writeback;		/* its file system writes pages back */
	size_t huge;		/* size of the pages backing it, 0 = base */
} mems[] = {
	[MEM_ANON] = { "private anonymous" },
	[MEM_ANON_THP] = { "private anonymous THP", .huge = HPAGE },
	[MEM_ANON_SHARED] = { "shared anonymous", .shared = true },
	[MEM_HUGETLB] = { "private hugetlb", .huge = HPAGE },
	[MEM_HUGETLBFS] = { "shared hugetlbfs file", .shared = true,
			    .file = true, .huge = HPAGE },
	[MEM_MEMFD] = { "shared memfd", .shared = true, .file = true },
	[MEM_FILE_PRIVATE] = { "private ext4 file", .file = true,
			       .writeback = true },
	[MEM_FILE_SHARED] = { "shared ext4 file", .shared = true, .file = true,
			      .writeback = true },
};

/*
 * The rule: a writable pin, longterm or not, of a shared mapping of a file
 * that needs dirty tracking (its file system writes pages back: not shmem,
 * memfd or hugetlbfs) is refused with EOPNOTSUPP. Everything else works
 * (these tests run as root: a pin without UPIN_PIN_LONGTERM is allowed).
 */
static int mem_pin_result(const struct mem_desc *m, uint32_t flags)
{
	if ((flags & UPIN_PIN_WRITE) && m->shared && m->file && m->writeback)
		return -EOPNOTSUPP;
	return 0;
}

static struct upin_info info_of(int fd)
{
	struct upin_info info;

	if (upin_get_info(fd, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

/*
 * @len bytes of private anonymous memory of @kind: MEM_ANON (4 KiB pages),
 * MEM_ANON_THP (aligned and advised; whether it got THPs is for the caller
 * to check) or MEM_HUGETLB. MAP_FAILED with errno set on failure.
 */
static char *map_private_anon(enum mem_kind kind, size_t len)
{
	char *p;

	switch (kind) {
	case MEM_ANON_THP:
		p = upin_map_aligned(len, HPAGE);
		if (p != MAP_FAILED && madvise(p, len, MADV_HUGEPAGE))
			return MAP_FAILED;
		return p;
	case MEM_HUGETLB:
		return mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	default:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, len, MADV_NOHUGEPAGE))
			return MAP_FAILED;
		return p;
	}
}

/*
 * In a fixture setup: self->map = self->size bytes of the variant's private
 * anonymous memory; the test is skipped when the hugetlb pool is short.
 */
#define MAP_PRIVATE_ANON() do {						\
	self->map = map_private_anon(variant->kind, self->size);	\
	if (self->map == MAP_FAILED && variant->kind == MEM_HUGETLB)	\
		SKIP(return, "MAP_HUGETLB of %zu MiB: %s (nr_hugepages %ld)", \
		     self->size >> 20, strerror(errno),			\
		     upin_read_long("/proc/sys/vm/nr_hugepages"));		\
	ASSERT_NE(MAP_FAILED, self->map);				\
} while (0)

/* An unlinked file in @dir, or -errno. */
static int tmpfile_in(const char *dir)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/upin-mem-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* Is @dir a mount of the file system with magic @magic? */
static bool is_fs(const char *dir, long magic)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == magic;
}

/* 2000-01-01, set as the backing file's times once the process wrote. */
static const struct timespec old_times[2] = {
	{ .tv_sec = 946684800 }, { .tv_sec = 946684800 },
};

/* Writes all of @buf at @off of @fd. */
static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}

FIXTURE(mem) {
	long page;
	int fd;			/* the context */
	int file;		/* the backing file, -1 for anonymous memory */
	char *map;
	size_t size;
	uint8_t *expect;	/* what the process saw before pinning */
	const struct mem_desc *m;
	int want;		/* mem_pin_result() of the variant */
};

FIXTURE_VARIANT(mem) {
	enum mem_kind kind;
	uint32_t flags;
};

#define MEM_VARIANTS(kind_, name_)					\
	FIXTURE_VARIANT_ADD(mem, name_##_ro) {				\
		.kind = kind_, .flags = 0 };				\
	FIXTURE_VARIANT_ADD(mem, name_##_ro_longterm) {			\
		.kind = kind_, .flags = UPIN_PIN_LONGTERM };		\
	FIXTURE_VARIANT_ADD(mem, name_##_rw) {				\
		.kind = kind_, .flags = UPIN_PIN_WRITE };		\
	FIXTURE_VARIANT_ADD(mem, name_##_rw_longterm) {			\
		.kind = kind_,						\
		.flags = UPIN_PIN_WRITE | UPIN_PIN_LONGTERM }

MEM_VARIANTS(MEM_ANON, anon);
MEM_VARIANTS(MEM_ANON_THP, thp);
MEM_VARIANTS(MEM_ANON_SHARED, anon_shared);
MEM_VARIANTS(MEM_HUGETLB, hugetlb);
MEM_VARIANTS(MEM_HUGETLBFS, hugetlbfs);
MEM_VARIANTS(MEM_MEMFD, memfd);
MEM_VARIANTS(MEM_FILE_PRIVATE, ext4_private);
MEM_VARIANTS(MEM_FILE_SHARED, ext4_shared);

FIXTURE_SETUP(mem)
{
	size_t i;

	self->fd = -1;
	self->file = -1;
	self->map = MAP_FAILED;
	self->page = sysconf(_SC_PAGESIZE);
	self->m = &mems[variant->kind];
	self->want = mem_pin_result(self->m, variant->flags);
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600 and reading the pin counters writes stat_refresh");
	ASSERT_EQ(0, upin_pins_outstanding())
		TH_LOG("FOLL_PIN pins outstanding before the test started");

	self->size = self->m->huge ? 2 * self->m->huge :
		     SMALL_PAGES * self->page;
	switch (variant->kind) {
	case MEM_ANON:
	case MEM_ANON_THP:
	case MEM_HUGETLB:
		MAP_PRIVATE_ANON();
		break;
	case MEM_ANON_SHARED:
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		break;
	case MEM_HUGETLBFS:
		if (!is_fs(HUGETLBFS_DIR, HUGETLBFS_MAGIC))
			SKIP(return, "no hugetlbfs mounted at %s", HUGETLBFS_DIR);
		self->file = tmpfile_in(HUGETLBFS_DIR);
		ASSERT_LE(0, self->file);
		ASSERT_EQ(0, ftruncate(self->file, self->size));
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, self->file, 0);
		if (self->map == MAP_FAILED)
			SKIP(return, "mmap of a %zu MiB hugetlbfs file: %s (nr_hugepages %ld)",
			     self->size >> 20, strerror(errno),
			     upin_read_long("/proc/sys/vm/nr_hugepages"));
		break;
	case MEM_MEMFD:
		self->file = memfd_create("upin-mem", MFD_CLOEXEC);
		ASSERT_LE(0, self->file);
		ASSERT_EQ(0, ftruncate(self->file, self->size));
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, self->file, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		break;
	case MEM_FILE_PRIVATE:
	case MEM_FILE_SHARED: {
		uint8_t *content;

		if (!is_fs(EXT4_DIR, EXT4_SUPER_MAGIC))
			SKIP(return, "no ext4 mounted at %s", EXT4_DIR);
		self->file = tmpfile_in(EXT4_DIR);
		ASSERT_LE(0, self->file);
		content = malloc(self->size);
		ASSERT_NE(NULL, content);
		upin_pat_fill(content, self->size, 0, SEED_FILE);
		ASSERT_EQ(0, pwrite_all(self->file, content, self->size, 0));
		free(content);
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 variant->kind == MEM_FILE_SHARED ?
				 MAP_SHARED : MAP_PRIVATE, self->file, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		break;
	}
	}

	/*
	 * The process writes its data. In the private file mapping only even
	 * pages, so that odd ones are still the file's page cache pages.
	 */
	for (i = 0; i < self->size; i += self->page)
		if (variant->kind != MEM_FILE_PRIVATE || !(i / self->page % 2))
			upin_pat_fill(self->map + i, self->page, i, SEED_PROC);
	if (variant->kind == MEM_ANON_THP) {
		long kb = upin_anon_huge_kb(self->map);

		if (kb < (long)(self->size >> 10))
			SKIP(return, "no THP: AnonHugePages %ld kB of %zu kB after MADV_HUGEPAGE",
			     kb, self->size >> 10);
	}
	self->expect = malloc(self->size);
	ASSERT_NE(NULL, self->expect);
	memcpy(self->expect, self->map, self->size);
	/* An old mtime, so that any later write to the file shows. */
	if (self->file >= 0)
		ASSERT_EQ(0, futimens(self->file, old_times));

	self->fd = upin_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", UPIN_DEV, strerror(-self->fd));
}

FIXTURE_TEARDOWN(mem)
{
	if (self->fd >= 0)
		EXPECT_EQ(0, close(self->fd));
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->file >= 0)
		close(self->file);
	free(self->expect);
	/* The oracle: nothing pinned, nothing charged. */
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

/* Pin the whole mapping as the variant says; the test's verdict on refusal. */
static int pin_variant(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mem) *self,
		       const FIXTURE_VARIANT(mem) *variant, uint64_t *h)
{
	uint64_t npages = 0;
	int ret;

	ret = upin_pin(self->fd, self->map, self->size, variant->flags, h,
		       &npages);
	EXPECT_EQ(self->want, ret)
		TH_LOG("pin of %s memory, flags 0x%x", self->m->name,
		       variant->flags);
	if (ret == 0) {
		EXPECT_EQ(self->size / self->page, npages);
	}
	return ret;
}

/* The region of the whole mapping holds the pages and charges it should. */
#define ASSERT_REGION_HELD(npages) do {					\
	struct upin_info __i = info_of(self->fd);			\
									\
	ASSERT_EQ(1, __i.nr_regions);					\
	ASSERT_EQ((uint64_t)(npages), __i.pinned_pages);		\
	ASSERT_EQ((long)(npages) * (self->page / 1024), upin_vmpin_kb(0)); \
	ASSERT_EQ((long long)(npages), upin_pins_outstanding());	\
} while (0)

/* Nothing held: the refused pin left no region, pin or charge behind. */
#define ASSERT_NOTHING_HELD() do {					\
	struct upin_info __i = info_of(self->fd);			\
									\
	ASSERT_EQ(0, __i.nr_regions);					\
	ASSERT_EQ(0, __i.pinned_pages);					\
	ASSERT_EQ(0, __i.global_pinned_pages);				\
	ASSERT_EQ(0, upin_vmpin_kb(0));					\
	ASSERT_EQ(0, upin_pins_outstanding());				\
} while (0)

/* Offset of the first byte where @a and @b differ, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i;

	if (!memcmp(a, b, len))
		return -1;
	for (i = 0; a[i] == b[i]; i++)
		;
	return (long)i;
}

/*
 * The device reads what the process wrote before pinning, the pin is
 * accounted exactly, and a read-only pin does not write to the file behind
 * the mapping; or, where the rule says so, the pin is refused and leaves
 * nothing behind.
 */
TEST_F(mem, pin_reads_process_data)
{
	size_t npages = self->size / self->page, off;
	struct upin_region r;
	uint8_t *data;
	uint64_t h;

	if (pin_variant(_metadata, self, variant, &h)) {
		ASSERT_NOTHING_HELD();
		return;
	}
	ASSERT_REGION_HELD(npages);
	ASSERT_EQ(0, upin_query(self->fd, h, &r));
	ASSERT_EQ(variant->flags, r.pin_flags);
	ASSERT_EQ((uintptr_t)self->map, r.addr);
	ASSERT_EQ(self->size, r.length);
	ASSERT_EQ(npages, r.npages);

	data = malloc(self->size);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, upin_access(self->fd, h, 0, 0, data, self->size));
	ASSERT_EQ(-1, first_diff(self->expect, data, self->size));
	/* A read across the middle: a huge page boundary for huge memory. */
	off = self->size / 2 - 100;
	memset(data, 0, 200);
	ASSERT_EQ(0, upin_access(self->fd, h, 0, off, data, 200));
	ASSERT_EQ(-1, first_diff(self->expect + off, data, 200));
	free(data);

	ASSERT_EQ(0, upin_unpin(self->fd, h));
	ASSERT_NOTHING_HELD();

	/* A read-only pin is no write: the file was not touched. */
	if (self->file >= 0 && !(variant->flags & UPIN_PIN_WRITE)) {
		struct stat st;

		ASSERT_EQ(0, fstat(self->file, &st));
		ASSERT_EQ(old_times[1].tv_sec, st.st_mtim.tv_sec)
			TH_LOG("a read-only pin changed the file's mtime");
		ASSERT_EQ(old_times[1].tv_nsec, st.st_mtim.tv_nsec);
	}
}

/*
 * The device's writes through a writable pin are what the process then
 * reads, and for shared file mappings what the file holds (for private
 * ones, never); a read-only pin refuses ACCESS_WRITE. Where the rule
 * refuses the pin, a read-only longterm pin of the same mapping works.
 */
TEST_F(mem, device_write_visible)
{
	size_t off = self->size / 2 - 100, len = self->page + 200;
	uint8_t *data = malloc(len), *file = malloc(len);
	uint64_t h;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, file);
	if (pin_variant(_metadata, self, variant, &h)) {
		ASSERT_NOTHING_HELD();
		ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size,
				      UPIN_PIN_LONGTERM, &h, NULL));
		ASSERT_EQ(0, upin_access(self->fd, h, 0, off, data, len));
		ASSERT_EQ(-1, first_diff(self->expect + off, data, len));
		ASSERT_EQ(0, upin_unpin(self->fd, h));
		goto out;
	}

	upin_pat_fill(data, len, off, SEED_DEV);
	if (!(variant->flags & UPIN_PIN_WRITE)) {
		ASSERT_EQ(-EPERM, upin_access(self->fd, h, UPIN_ACCESS_WRITE,
					      off, data, len));
		ASSERT_EQ(0, upin_unpin(self->fd, h));
		ASSERT_EQ(-1, first_diff(self->expect, (uint8_t *)self->map,
					 self->size));
		if (self->file >= 0 && self->m->shared) {
			ASSERT_EQ(len, pread(self->file, file, len, off));
			ASSERT_EQ(-1, first_diff(self->expect + off, file, len));
		}
		goto out;
	}

	/* Written from just before the middle, across two page boundaries. */
	ASSERT_EQ(0, upin_access(self->fd, h, UPIN_ACCESS_WRITE, off, data,
				 len));
	ASSERT_EQ(-1, first_diff(self->expect, (uint8_t *)self->map, off));
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, len, off, SEED_DEV));
	ASSERT_EQ(-1, first_diff(self->expect + off + len,
				 (uint8_t *)self->map + off + len,
				 self->size - off - len));
	ASSERT_EQ(0, upin_unpin(self->fd, h));
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, len, off, SEED_DEV));

	if (self->file >= 0 && self->m->shared) {
		/* The file has the device's data, also once written back. */
		ASSERT_EQ(len, pread(self->file, file, len, off));
		ASSERT_EQ(-1, upin_pat_mismatch(file, len, off, SEED_DEV));
		if (self->m->writeback) {
			ASSERT_EQ(0, fsync(self->file));
			ASSERT_EQ(len, pread(self->file, file, len, off));
			ASSERT_EQ(-1, upin_pat_mismatch(file, len, off,
							SEED_DEV));
		}
	} else if (self->file >= 0) {
		/* A private mapping's writes never reach the file. */
		ASSERT_EQ(len, pread(self->file, file, len, off));
		ASSERT_EQ(-1, upin_pat_mismatch(file, len, off, SEED_FILE));
	}
out:
	free(data);
	free(file);
}

/*
 * SEGMENTS describes the region: maximal physically contiguous runs whose
 * lengths add up, huge pages as runs of whole huge pages. Where the rule
 * refuses the pin, it does so when any page of the range is such a mapping.
 */
TEST_F(mem, segments_describe_region)
{
	size_t npages = self->size / self->page, huge = self->m->huge;
	struct upin_segment *segs;
	uint64_t h, count, sum = 0, i;
	struct upin_region r;

	if (pin_variant(_metadata, self, variant, &h)) {
		char *two;

		ASSERT_NOTHING_HELD();
		/* One anonymous page, then the file mapping. */
		two = mmap(NULL, self->page + self->size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, two);
		ASSERT_EQ(two + self->page,
			  mmap(two + self->page, self->size,
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       self->file, 0));
		memset(two, 1, self->page);
		ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->fd, two,
						self->page + self->size,
						variant->flags, NULL, NULL));
		ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->fd, two + self->page - 1,
						2, variant->flags, NULL, NULL));
		ASSERT_NOTHING_HELD();
		/* The anonymous page alone is fine. */
		ASSERT_EQ(0, upin_pin(self->fd, two, self->page,
				      variant->flags, &h, NULL));
		ASSERT_EQ(0, upin_unpin(self->fd, h));
		munmap(two, self->page + self->size);
		return;
	}

	ASSERT_EQ(0, upin_query(self->fd, h, &r));
	segs = calloc(npages + 1, sizeof(*segs));
	ASSERT_NE(NULL, segs);
	ASSERT_EQ(0, upin_segments(self->fd, h, segs, npages + 1, &count));
	ASSERT_EQ(r.nr_segments, count);
	ASSERT_LE(1, count);
	for (i = 0; i < count; i++) {
		ASSERT_NE(0, segs[i].length);
		ASSERT_EQ(0, segs[i].length % self->page);
		/* As root: real, page aligned, maximal runs. */
		ASSERT_NE(0, segs[i].phys);
		ASSERT_EQ(0, segs[i].phys % self->page);
		if (i)
			ASSERT_NE(segs[i - 1].phys + segs[i - 1].length,
				  segs[i].phys)
				TH_LOG("segments %llu and %llu are one run",
				       (unsigned long long)i - 1,
				       (unsigned long long)i);
		if (huge) {
			ASSERT_EQ(0, segs[i].length % huge)
				TH_LOG("segment %llu: %llu bytes",
				       (unsigned long long)i,
				       (unsigned long long)segs[i].length);
			ASSERT_EQ(0, segs[i].phys % huge);
		}
		sum += segs[i].length;
	}
	ASSERT_EQ(self->size, sum);
	free(segs);
	ASSERT_REGION_HELD(npages);
	ASSERT_EQ(0, upin_unpin(self->fd, h));
	ASSERT_NOTHING_HELD();
}

/*
 * Coherence of longterm pins of private anonymous memory with the
 * process's own later writes, including after fork() and when the pin was
 * taken on the shared zero page. The memory is not written in setup.
 */
/*
 * Teardown of the fixtures with a context and one mapping: close, unmap,
 * then the oracle: nothing pinned, nothing charged.
 */
#define CLOSE_AND_UNMAP() do {						\
	if (self->fd >= 0)						\
		EXPECT_EQ(0, close(self->fd));				\
	if (self->map != MAP_FAILED)					\
		munmap(self->map, self->size);				\
	ASSERT_EQ(0, upin_pins_outstanding());				\
	ASSERT_EQ(0, upin_vmpin_kb(0));					\
} while (0)

FIXTURE(cow) {
	long page;
	int fd;
	char *map;
	size_t size;
};

FIXTURE_VARIANT(cow) {
	bool thp;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(cow, anon_ro_longterm) {
	.thp = false, .flags = UPIN_PIN_LONGTERM };
FIXTURE_VARIANT_ADD(cow, anon_rw_longterm) {
	.thp = false, .flags = UPIN_PIN_LONGTERM | UPIN_PIN_WRITE };
FIXTURE_VARIANT_ADD(cow, thp_ro_longterm) {
	.thp = true, .flags = UPIN_PIN_LONGTERM };
FIXTURE_VARIANT_ADD(cow, thp_rw_longterm) {
	.thp = true, .flags = UPIN_PIN_LONGTERM | UPIN_PIN_WRITE };

FIXTURE_SETUP(cow)
{
	self->fd = -1;
	self->map = MAP_FAILED;
	self->page = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600 and reading the pin counters writes stat_refresh");
	ASSERT_EQ(0, upin_pins_outstanding())
		TH_LOG("FOLL_PIN pins outstanding before the test started");
	if (variant->thp) {
		self->size = 2 * HPAGE;
		self->map = upin_map_aligned(self->size, HPAGE);
		ASSERT_NE(MAP_FAILED, self->map);
		ASSERT_EQ(0, madvise(self->map, self->size, MADV_HUGEPAGE));
	} else {
		self->size = SMALL_PAGES * self->page;
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		ASSERT_EQ(0, madvise(self->map, self->size, MADV_NOHUGEPAGE));
	}
	self->fd = upin_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s", UPIN_DEV, strerror(-self->fd));
}

FIXTURE_TEARDOWN(cow)
{
	CLOSE_AND_UNMAP();
}

/* The process writes SEED_PROC everywhere (THP variants: verified THPs). */
#define POPULATE() do {							\
	upin_pat_fill(self->map, self->size, 0, SEED_PROC);		\
	if (variant->thp) {						\
		long __kb = upin_anon_huge_kb(self->map);		\
									\
		if (__kb < (long)(self->size >> 10))			\
			SKIP(return, "no THP: AnonHugePages %ld kB of %zu kB after MADV_HUGEPAGE", \
			     __kb, self->size >> 10);			\
	}								\
} while (0)

/* [start, end) of @data is pattern @seed, or zeroes for seed 0. */
static long range_mismatch(const uint8_t *data, size_t start, size_t end,
			   unsigned int seed)
{
	size_t i;

	if (seed)
		return upin_pat_mismatch(data + start, end - start, start, seed);
	for (i = start; i < end; i++)
		if (data[i])
			return (long)(i - start);
	return -1;
}

/*
 * The device's view of [off, off + len) is pattern @seed and, outside it,
 * pattern @rest_seed (0: zeroes).
 */
static void check_device_view(struct __test_metadata *_metadata,
			      FIXTURE_DATA(cow) *self, uint64_t h, size_t off,
			      size_t len, unsigned int seed,
			      unsigned int rest_seed)
{
	uint8_t *data = malloc(self->size);

	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, upin_access(self->fd, h, 0, 0, data, self->size));
	ASSERT_EQ(-1, range_mismatch(data, off, off + len, seed))
		TH_LOG("the device does not see the process's write at %zu+%zu",
		       off, len);
	ASSERT_EQ(-1, range_mismatch(data, 0, off, rest_seed))
		TH_LOG("the device's view before %zu", off);
	ASSERT_EQ(-1, range_mismatch(data, off + len, self->size, rest_seed))
		TH_LOG("the device's view after %zu", off + len);
	free(data);
}

TEST_F(cow, process_write_after_pin_seen)
{
	size_t off = self->size / 2 - 100, len = self->page + 200;
	uint8_t dev[64];
	uint64_t h;

	POPULATE();
	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size, variant->flags,
			      &h, NULL));
	upin_pat_fill(self->map + off, len, off, SEED_NEW);
	check_device_view(_metadata, self, h, off, len, SEED_NEW, SEED_PROC);
	if (variant->flags & UPIN_PIN_WRITE) {
		/* And the other way round. */
		upin_pat_fill(dev, sizeof(dev), 10, SEED_DEV);
		ASSERT_EQ(0, upin_access(self->fd, h, UPIN_ACCESS_WRITE, 10,
					 dev, sizeof(dev)));
		ASSERT_EQ(-1, upin_pat_mismatch(self->map + 10, sizeof(dev), 10,
						SEED_DEV));
	}
	ASSERT_EQ(0, upin_unpin(self->fd, h));
}

/*
 * fork() a child that first waits for the parent: for a byte on @go (read()
 * returns @want, 1) or for the parent to close it (0). Return: fork()'s.
 */
static pid_t fork_waiting(int go[2], struct upin_report *rep, ssize_t want)
{
	pid_t pid;
	char c;

	if (pipe(go))
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(go[1]);
		UPIN_CHILD_CHECK(rep, want, read(go[0], &c, 1));
	} else {
		close(go[0]);
	}
	return pid;
}

/*
 * After fork(), the parent's writes still reach the pinned pages, and the
 * child, which shared them copy-on-write, keeps its own view.
 */
TEST_F(cow, fork_parent_writes_seen)
{
	size_t off = self->size / 2 - 100, len = self->page + 200;
	struct upin_report *rep = upin_report_new();
	int go[2];
	char msg[512] = "";
	uint64_t h;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	POPULATE();
	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size, variant->flags,
			      &h, NULL));
	pid = fork_waiting(go, rep, 1);
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The parent has written: the child still has the old data. */
		UPIN_CHILD_CHECK(rep, -1, upin_pat_mismatch(self->map,
							    self->size, 0,
							    SEED_PROC));
		/* pinned_vm is the parent's, not inherited. */
		UPIN_CHILD_CHECK(rep, 0, upin_vmpin_kb(0));
		_exit(0);
	}
	upin_pat_fill(self->map + off, len, off, SEED_NEW);
	check_device_view(_metadata, self, h, off, len, SEED_NEW, SEED_PROC);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	close(go[1]);
	/* With the child gone, still coherent. */
	upin_pat_fill(self->map + off, len, off, SEED_DEV);
	check_device_view(_metadata, self, h, off, len, SEED_DEV, SEED_PROC);
	ASSERT_EQ(0, upin_unpin(self->fd, h));
}

/* After fork(), the child's writes never reach the parent's pinned pages. */
TEST_F(cow, fork_child_writes_not_seen)
{
	size_t off = self->size / 2 - 100, len = self->page + 200;
	struct upin_report *rep = upin_report_new();
	int go[2], wrote[2];
	char msg[512] = "", c;
	uint64_t h;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	POPULATE();
	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size, variant->flags,
			      &h, NULL));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(wrote));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(go[1]);
		close(wrote[0]);
		upin_pat_fill(self->map, self->size, 0, SEED_NEW);
		UPIN_CHILD_CHECK(rep, 1, write(wrote[1], "w", 1));
		UPIN_CHILD_CHECK(rep, 1, read(go[0], &c, 1));
		/* The parent's later writes do not reach the child either. */
		UPIN_CHILD_CHECK(rep, -1, upin_pat_mismatch(self->map,
							    self->size, 0,
							    SEED_NEW));
		_exit(0);
	}
	close(go[0]);
	close(wrote[1]);
	ASSERT_EQ(1, read(wrote[0], &c, 1));
	/* The child has written everything; neither the device nor we see it. */
	check_device_view(_metadata, self, h, 0, 0, SEED_PROC, SEED_PROC);
	ASSERT_EQ(-1, upin_pat_mismatch(self->map, self->size, 0, SEED_PROC));
	/* The parent's own writes still do reach the device. */
	upin_pat_fill(self->map + off, len, off, SEED_DEV);
	check_device_view(_metadata, self, h, off, len, SEED_DEV, SEED_PROC);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	close(go[1]);
	close(wrote[0]);
	check_device_view(_metadata, self, h, off, len, SEED_DEV, SEED_PROC);
	ASSERT_EQ(0, upin_unpin(self->fd, h));
}

/*
 * A longterm pin of memory the process has only read, so it maps the shared
 * zero page (the huge zero page for THP), then a process write: the
 * contract requires the device to see it. Linux 6.2 made R/O longterm GUP
 * unshare the zero page; on older kernels the module has to do it.
 */
TEST_F(cow, zero_page_then_write_seen)
{
	size_t off = self->size / 2 - 100, len = self->page + 200;
	struct utsname u;
	size_t i;
	uint64_t h;

	/* Read faults map the zero page. */
	for (i = 0; i < self->size; i += self->page)
		ASSERT_EQ(0, ((volatile char *)self->map)[i]);
	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size, variant->flags,
			      &h, NULL));
	upin_pat_fill(self->map + off, len, off, SEED_NEW);
	uname(&u);
	TH_LOG("kernel %s", u.release);
	check_device_view(_metadata, self, h, off, len, SEED_NEW, 0);
	ASSERT_EQ(0, upin_unpin(self->fd, h));
}

/*
 * The file rule against a racing mmap(): while a writable pin of a large
 * anonymous buffer runs, another thread maps one page of a shared ext4 file
 * over the buffer's last page (MAP_FIXED), at a different moment each
 * round: before the pin starts, during it, after it. Every round ends in
 * one of two ways, on every kernel: the pin succeeds and holds the
 * anonymous page that was there (the device reads the process's data
 * through ACCESS), or it fails with EOPNOTSUPP and holds nothing. Never a
 * pinned page of the file, never another errno (Linux 6.5+ GUP refuses
 * such a longterm pin itself with EFAULT, 6.1's pins it, and no kernel
 * refuses a short-term one).
 *
 * The moments are spread by a busy loop of a length calibrated on an
 * unraced pin, from 0 to 1.5 times its duration; no outcome depends on the
 * timing, only which of the two happens. The first and last rounds map
 * before and after the pin, so both outcomes are checked every run.
 */
#define RACE_PAGES	2048	/* 8 MiB: four GUP batches */
#define RACE_ROUNDS	96

FIXTURE(file_race) {
	long page;
	int fd;			/* the context */
	int file;		/* a one-page ext4 file */
	char *buf;
	size_t size;
	char *tail;		/* the buffer's last page */
	pthread_t racer;
	bool racer_started;
	/* Round handshake: the racer maps when go > done, then done = go. */
	volatile unsigned long go, done, spin;
	volatile bool stop;
	int map_err;
};

FIXTURE_VARIANT(file_race) {
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(file_race, rw_longterm) {
	.flags = UPIN_PIN_WRITE | UPIN_PIN_LONGTERM };
FIXTURE_VARIANT_ADD(file_race, rw_short) {
	.flags = UPIN_PIN_WRITE };

static void *file_race_thread(void *arg)
{
	FIXTURE_DATA(file_race) *self = arg;
	unsigned long round = 0, i;
	void *p;

	for (;;) {
		while (__atomic_load_n(&self->go, __ATOMIC_ACQUIRE) == round &&
		       !__atomic_load_n(&self->stop, __ATOMIC_ACQUIRE))
			;
		if (__atomic_load_n(&self->stop, __ATOMIC_ACQUIRE))
			return NULL;
		round = self->go;
		for (i = 0; i < self->spin; i++)
			__asm__ volatile("" ::: "memory");
		p = mmap(self->tail, self->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, self->file, 0);
		if (p != self->tail)
			self->map_err = p == MAP_FAILED ? errno : EADDRNOTAVAIL;
		__atomic_store_n(&self->done, round, __ATOMIC_RELEASE);
	}
}

/* Anonymous memory of the process's own data at the tail again. */
static int file_race_reset_tail(FIXTURE_DATA(file_race) *self)
{
	if (mmap(self->tail, self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != self->tail)
		return -errno;
	upin_pat_fill(self->tail, self->page, self->size - self->page,
		      SEED_PROC);
	return 0;
}

FIXTURE_SETUP(file_race)
{
	uint8_t content[4096];

	self->fd = -1;
	self->file = -1;
	self->buf = MAP_FAILED;
	self->page = sysconf(_SC_PAGESIZE);
	self->size = RACE_PAGES * self->page;
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600 and reading the pin counters writes stat_refresh");
	if (!is_fs(EXT4_DIR, EXT4_SUPER_MAGIC))
		SKIP(return, "no ext4 mounted at %s", EXT4_DIR);
	ASSERT_EQ(0, upin_pins_outstanding())
		TH_LOG("FOLL_PIN pins outstanding before the test started");
	ASSERT_EQ(sizeof(content), self->page);

	self->file = tmpfile_in(EXT4_DIR);
	ASSERT_LE(0, self->file);
	upin_pat_fill(content, sizeof(content), 0, SEED_FILE);
	ASSERT_EQ(0, pwrite_all(self->file, content, sizeof(content), 0));
	self->buf = map_private_anon(MEM_ANON, self->size);
	ASSERT_NE(MAP_FAILED, self->buf);
	upin_pat_fill(self->buf, self->size, 0, SEED_PROC);
	self->tail = self->buf + self->size - self->page;
	self->fd = upin_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pthread_create(&self->racer, NULL, file_race_thread,
				    self));
	self->racer_started = true;
}

FIXTURE_TEARDOWN(file_race)
{
	if (self->racer_started) {
		__atomic_store_n(&self->stop, true, __ATOMIC_RELEASE);
		pthread_join(self->racer, NULL);
	}
	if (self->fd >= 0)
		EXPECT_EQ(0, close(self->fd));
	if (self->buf != MAP_FAILED)
		munmap(self->buf, self->size);
	if (self->file >= 0)
		close(self->file);
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

/* Nanoseconds of CLOCK_MONOTONIC. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Iterations of the racer's busy loop per microsecond, roughly. */
static unsigned long spins_per_us(void)
{
	unsigned long i, n = 1000000;
	uint64_t t = now_ns();

	for (i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	t = now_ns() - t;
	return t ? n * 1000 / t + 1 : 1;
}

TEST_F_TIMEOUT(file_race, mmap_over_tail_while_pinning, 300)
{
	unsigned long rounds = upin_test_kasan() ? RACE_ROUNDS / 4 : RACE_ROUNDS;
	unsigned long r, pinned = 0, refused = 0, pin_us, per_us;
	uint8_t *data = malloc(self->page);
	struct upin_info info;
	uint64_t h, t;
	int ret;

	ASSERT_NE(NULL, data);
	/* How long an unraced pin takes, and the racer's speed. */
	t = now_ns();
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->size, variant->flags,
			      &h, NULL));
	pin_us = (now_ns() - t) / 1000 + 1;
	ASSERT_EQ(0, upin_unpin(self->fd, h));
	per_us = spins_per_us();

	for (r = 1; r <= rounds; r++) {
		bool before = r == 1, after = r == rounds;

		if (before) {
			/* Mapped before the pin starts. */
			self->spin = 0;
			__atomic_store_n(&self->go, r, __ATOMIC_RELEASE);
			while (__atomic_load_n(&self->done, __ATOMIC_ACQUIRE) != r)
				;
		}
		/* From at once to half as long again as the pin takes. */
		self->spin = (r - 1) * pin_us * 3 / 2 / rounds * per_us;
		if (!before && !after)
			__atomic_store_n(&self->go, r, __ATOMIC_RELEASE);
		ret = upin_pin(self->fd, self->buf, self->size, variant->flags,
			       &h, NULL);
		if (after) {
			/* Mapped after the pin returned. */
			self->spin = 0;
			__atomic_store_n(&self->go, r, __ATOMIC_RELEASE);
		}
		while (__atomic_load_n(&self->done, __ATOMIC_ACQUIRE) != r)
			;
		ASSERT_EQ(0, self->map_err)
			TH_LOG("round %lu: mmap of the file: %s", r,
			       strerror(self->map_err));
		if (ret == 0) {
			/* The device sees the process's page, not the file's. */
			ASSERT_EQ(0, upin_access(self->fd, h, 0,
						 self->size - self->page, data,
						 self->page));
			ASSERT_EQ(-1, upin_pat_mismatch(data, self->page,
							self->size - self->page,
							SEED_PROC))
				TH_LOG("round %lu: the pin holds a page of the file (it reads %s)",
				       r, upin_pat_mismatch(data, self->page, 0,
							    SEED_FILE) < 0 ?
				       "the file's data" : "something else");
			ASSERT_EQ(0, upin_unpin(self->fd, h));
			pinned++;
		} else {
			ASSERT_EQ(-EOPNOTSUPP, ret)
				TH_LOG("round %lu: pin of %zu bytes: %s", r,
				       self->size, strerror(-ret));
			ASSERT_EQ(0, upin_get_info(self->fd, &info));
			ASSERT_EQ(0, info.nr_regions);
			ASSERT_EQ(0, info.pinned_pages);
			refused++;
		}
		if (before)
			ASSERT_NE(0, refused);
		if (after)
			ASSERT_EQ(1, ret == 0);
		ASSERT_EQ(0, file_race_reset_tail(self));
	}
	free(data);
	ksft_print_msg("%lu rounds (a pin takes %lu us): %lu pinned the anonymous page, %lu refused with EOPNOTSUPP\n",
		       rounds, pin_us, pinned, refused);
}

/*
 * What upin keeps per pinned page, from upin_info.metadata_bytes, which
 * counts everything: the region's descriptor, its entries, its share of the
 * handle index. Targets: at most 8 bytes per 4 KiB page, also when no two
 * pages are physically contiguous, and at most 100 bytes per 2 MiB folio
 * of THP and hugetlb memory, also for a region of a single folio.
 */
FIXTURE(meta) {
	long page;
	int fd;
	char *map;
	size_t size;
};

FIXTURE_VARIANT(meta) {
	enum mem_kind kind;
	size_t units;		/* 4 KiB pages, or 2 MiB folios */
	bool scatter;		/* put the pages in descending physical order */
};

/*
 * The pfns of the @n pages from @addr on, from /proc/self/pagemap (as
 * root), in one read; a page not present is 0. Return: 0 or -1.
 */
static int pfns_of(const void *addr, size_t n, uint64_t *pfns)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = n * sizeof(*pfns), i;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = pread(fd, pfns, len, (uintptr_t)addr / page * sizeof(*pfns));
	close(fd);
	if (r != (ssize_t)len)
		return -1;
	for (i = 0; i < n; i++)
		pfns[i] = pfns[i] >> 63 ? pfns[i] & ((1ULL << 55) - 1) : 0;
	return 0;
}

static uint64_t *sort_pfns;

static int by_pfn_descending(const void *a, const void *b)
{
	uint64_t x = sort_pfns[*(const size_t *)a];
	uint64_t y = sort_pfns[*(const size_t *)b];

	return x < y ? 1 : x > y ? -1 : 0;
}

FIXTURE_VARIANT_ADD(meta, anon_4k) {
	.kind = MEM_ANON, .units = 1024 };
FIXTURE_VARIANT_ADD(meta, anon_4k_scattered) {
	.kind = MEM_ANON, .units = 3000, .scatter = true };
FIXTURE_VARIANT_ADD(meta, thp_one_folio) {
	.kind = MEM_ANON_THP, .units = 1 };
FIXTURE_VARIANT_ADD(meta, thp) {
	.kind = MEM_ANON_THP, .units = 8 };
FIXTURE_VARIANT_ADD(meta, hugetlb_one_folio) {
	.kind = MEM_HUGETLB, .units = 1 };
FIXTURE_VARIANT_ADD(meta, hugetlb) {
	.kind = MEM_HUGETLB, .units = 4 };

FIXTURE_SETUP(meta)
{
	size_t i, n, *order;
	uint64_t *pfns;
	char *src;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->page = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600 and reading the pin counters writes stat_refresh");
	ASSERT_EQ(0, upin_pins_outstanding());
	self->size = variant->units * (mems[variant->kind].huge ?: self->page);
	n = self->size / self->page;

	MAP_PRIVATE_ANON();
	if (variant->scatter) {
		/*
		 * Fault the pages in, then move them so that their pfns
		 * descend: no two neighbours are physically contiguous, and
		 * no page continues a run.
		 */
		src = self->map;
		memset(src, 0, self->size);
		pfns = calloc(n, sizeof(*pfns));
		order = calloc(n, sizeof(*order));
		ASSERT_NE(NULL, pfns);
		ASSERT_NE(NULL, order);
		ASSERT_EQ(0, pfns_of(src, n, pfns));
		for (i = 0; i < n; i++) {
			ASSERT_NE(0, pfns[i]) TH_LOG("no pfn in /proc/self/pagemap");
			order[i] = i;
		}
		sort_pfns = pfns;
		qsort(order, n, sizeof(*order), by_pfn_descending);
		self->map = mmap(NULL, self->size, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		for (i = 0; i < n; i++)
			ASSERT_EQ(self->map + i * self->page,
				  mremap(src + order[i] * self->page,
					 self->page, self->page,
					 MREMAP_MAYMOVE | MREMAP_FIXED,
					 self->map + i * self->page));
		free(pfns);
		free(order);
	}
	upin_pat_fill(self->map, self->size, 0, SEED_PROC);
	if (variant->kind == MEM_ANON_THP &&
	    upin_anon_huge_kb(self->map) < (long)(self->size >> 10))
		SKIP(return, "no THP: AnonHugePages %ld kB of %zu kB after MADV_HUGEPAGE",
		     upin_anon_huge_kb(self->map), self->size >> 10);
	self->fd = upin_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(meta)
{
	CLOSE_AND_UNMAP();
}

TEST_F_TIMEOUT(meta, bytes_per_page_within_target, 120)
{
	size_t npages = self->size / self->page, off;
	uint64_t h, bytes, limit, segs;
	struct upin_region r;
	uint8_t *data;

	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size,
			      UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h, NULL));
	bytes = info_of(self->fd).metadata_bytes;
	ASSERT_EQ(0, upin_query(self->fd, h, &r));
	segs = r.nr_segments;
	limit = mems[variant->kind].huge ? 100 * variant->units : 8 * npages;
	ksft_print_msg("metadata: %s%s, %zu pages, %llu segments: %llu bytes, %.3f per 4 KiB page, target %llu\n",
		       mems[variant->kind].name,
		       variant->scatter ? " (scattered)" : "", npages,
		       (unsigned long long)segs, (unsigned long long)bytes,
		       (double)bytes / npages, (unsigned long long)limit);
	ASSERT_LT(0, bytes);
	ASSERT_GE(limit, bytes);
	if (variant->scatter)
		ASSERT_EQ(npages, segs);

	/* The device still sees every byte where the process put it. */
	data = malloc(self->size);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, upin_access(self->fd, h, 0, 0, data, self->size));
	ASSERT_EQ(-1, upin_pat_mismatch(data, self->size, 0, SEED_PROC));
	for (off = self->page / 2; off < self->size; off += self->size / 7 + 1) {
		size_t len = self->page < self->size - off ? self->page :
			     self->size - off;

		memset(data, 0, len);
		ASSERT_EQ(0, upin_access(self->fd, h, 0, off, data, len));
		ASSERT_EQ(-1, upin_pat_mismatch(data, len, off, SEED_PROC))
			TH_LOG("ACCESS at %zu", off);
	}
	free(data);

	ASSERT_EQ(0, upin_unpin(self->fd, h));
	ASSERT_EQ(0, info_of(self->fd).metadata_bytes);
}

/*
 * Large folios whose pages GUP does not return in order. upin folds the
 * pages of a large folio into one run only where GUP returned them one
 * after another; a PTE-mapped THP can have a page in the middle that is
 * not its own, or its pages in another order, and its ends do not show it.
 * Each variant builds such a range out of two THPs, pins it writable and
 * longterm, and checks the region against what the process maps: the
 * device reads what the process reads, the segments are the process's
 * pfns (pagemap, as root) in order, and a device write lands where the
 * process sees it.
 */
FIXTURE(fold) {
	long page;
	int fd;
	char *map;
	size_t size;
	char *other;		/* a page of another allocation, or MAP_FAILED */
};

enum fold_kind {
	FOLD_INTACT,		/* two PMD-mapped THPs, as a baseline */
	FOLD_COW_MIDDLE,	/* a page written after fork(): COW'd */
	FOLD_FOREIGN_MIDDLE,	/* a page of another allocation mremap()ed in */
	FOLD_SWAP_PAGES,	/* two neighbouring pages swapped by mremap() */
	FOLD_SWAP_HALVES,	/* the halves of the first THP swapped */
};

FIXTURE_VARIANT(fold) {
	enum fold_kind kind;
	bool mixed;		/* the layout is certain to be out of order */
};

FIXTURE_VARIANT_ADD(fold, intact) { .kind = FOLD_INTACT };
FIXTURE_VARIANT_ADD(fold, cow_middle) {
	.kind = FOLD_COW_MIDDLE, .mixed = true };
FIXTURE_VARIANT_ADD(fold, foreign_middle) {
	.kind = FOLD_FOREIGN_MIDDLE, .mixed = true };
FIXTURE_VARIANT_ADD(fold, swap_pages) {
	.kind = FOLD_SWAP_PAGES, .mixed = true };
FIXTURE_VARIANT_ADD(fold, swap_halves) {
	.kind = FOLD_SWAP_HALVES, .mixed = true };

/* The page in the middle of the first THP that the variants replace. */
static size_t fold_mid_page(long page)
{
	return HPAGE / 2 / page + 3;
}

/* Move @len bytes at @from to @to, over what is there. */
static int move_to(char *from, size_t len, char *to)
{
	return mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) == to ?
	       0 : -1;
}

/* Swap [a, a + len) and [b, b + len) through a scratch reservation. */
static int swap_ranges(char *a, char *b, size_t len)
{
	char *tmp = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	int ret;

	if (tmp == MAP_FAILED)
		return -1;
	ret = move_to(a, len, tmp) || move_to(b, len, a) ||
	      move_to(tmp, len, b) ? -1 : 0;
	if (ret)
		munmap(tmp, len);
	return ret;
}

FIXTURE_SETUP(fold)
{
	size_t mid = fold_mid_page(sysconf(_SC_PAGESIZE)) *
		     sysconf(_SC_PAGESIZE);
	struct upin_report *rep;
	char msg[512] = "";
	int go[2];
	pid_t pid;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->other = MAP_FAILED;
	self->page = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600, and pfns in pagemap");
	ASSERT_EQ(0, upin_pins_outstanding());
	self->size = 2 * HPAGE;
	self->map = upin_map_aligned(self->size, HPAGE);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(0, madvise(self->map, self->size, MADV_HUGEPAGE));
	upin_pat_fill(self->map, self->size, 0, SEED_PROC);
	if (upin_anon_huge_kb(self->map) < (long)(self->size >> 10))
		SKIP(return, "no THP: AnonHugePages %ld kB of %zu kB after MADV_HUGEPAGE",
		     upin_anon_huge_kb(self->map), self->size >> 10);

	switch (variant->kind) {
	case FOLD_INTACT:
		break;
	case FOLD_COW_MIDDLE:
		/*
		 * The child shares only the middle page (MADV_DONTFORK on the
		 * rest), and holds it while the parent writes it: the parent
		 * gets a copy there, and the THP's other pages stay its own,
		 * so that the pin takes them as they are on every kernel.
		 */
		ASSERT_EQ(0, madvise(self->map, mid, MADV_DONTFORK));
		ASSERT_EQ(0, madvise(self->map + mid + self->page,
				     self->size - mid - self->page,
				     MADV_DONTFORK));
		rep = upin_report_new();
		ASSERT_NE(NULL, rep);
		pid = fork_waiting(go, rep, 0);
		ASSERT_LE(0, pid);
		if (!pid)
			_exit(0);
		upin_pat_fill(self->map + mid, self->page, mid, SEED_NEW);
		close(go[1]);
		ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
			TH_LOG("%s", msg);
		ASSERT_EQ(0, madvise(self->map, self->size, MADV_DOFORK));
		break;
	case FOLD_FOREIGN_MIDDLE:
		self->other = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->other);
		upin_pat_fill(self->other, self->page, mid, SEED_NEW);
		ASSERT_EQ(0, move_to(self->other, self->page, self->map + mid));
		self->other = MAP_FAILED;
		break;
	case FOLD_SWAP_PAGES:
		ASSERT_EQ(0, swap_ranges(self->map + mid,
					 self->map + mid + self->page,
					 self->page));
		break;
	case FOLD_SWAP_HALVES:
		ASSERT_EQ(0, swap_ranges(self->map, self->map + HPAGE / 2,
					 HPAGE / 2));
		break;
	}
	self->fd = upin_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(fold)
{
	CLOSE_AND_UNMAP();
}

/* Runs of physically contiguous pages among @n pfns. */
static size_t pfn_runs(const uint64_t *pfns, size_t n)
{
	size_t i, runs = 1;

	for (i = 1; i < n; i++)
		runs += pfns[i] != pfns[i - 1] + 1;
	return runs;
}

TEST_F_TIMEOUT(fold, region_is_what_the_process_maps, 120)
{
	size_t n = self->size / self->page, i, j, k;
	size_t mid = fold_mid_page(self->page);
	uint64_t *pfns = calloc(n, sizeof(*pfns)), h, count, npages;
	struct upin_segment *segs = calloc(n, sizeof(*segs));
	uint8_t *view = malloc(self->size), *dev = malloc(self->size);
	struct upin_region r;

	ASSERT_NE(NULL, pfns);
	ASSERT_NE(NULL, segs);
	ASSERT_NE(NULL, view);
	ASSERT_NE(NULL, dev);
	ASSERT_EQ(0, upin_pin(self->fd, self->map, self->size,
			      UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h, &npages));
	ASSERT_EQ(n, npages);

	/* What the process maps now is what is pinned (longterm: coherent). */
	ASSERT_EQ(0, pfns_of(self->map, n, pfns));
	for (i = 0; i < n; i++)
		ASSERT_NE(0, pfns[i]) TH_LOG("page %zu not present", i);
	if (variant->mixed)
		ASSERT_LT(2, pfn_runs(pfns, n))
			TH_LOG("the layout is in order: %zu runs",
			       pfn_runs(pfns, n));
	TH_LOG("%zu physically contiguous runs in %zu pages",
	       pfn_runs(pfns, n), n);

	/* The segments are exactly those pfns, in order. */
	ASSERT_EQ(0, upin_query(self->fd, h, &r));
	ASSERT_EQ(pfn_runs(pfns, n), r.nr_segments);
	ASSERT_EQ(0, upin_segments(self->fd, h, segs, n, &count));
	ASSERT_EQ(r.nr_segments, count);
	for (i = 0, k = 0; i < count; i++)
		for (j = 0; j < segs[i].length / self->page; j++, k++) {
			ASSERT_GT(n, k);
			ASSERT_EQ(pfns[k], segs[i].phys / self->page + j)
				TH_LOG("page %zu: pinned pfn %#llx, mapped %#llx",
				       k, (unsigned long long)
				       (segs[i].phys / self->page + j),
				       (unsigned long long)pfns[k]);
		}
	ASSERT_EQ(n, k);

	/* The device reads what the process reads... */
	memcpy(view, self->map, self->size);
	ASSERT_EQ(0, upin_access(self->fd, h, 0, 0, dev, self->size));
	ASSERT_EQ(-1, first_diff(view, dev, self->size));
	/* ...and its writes land where the process sees them. */
	for (i = 0; i < n; i += n / 8 - 1) {
		k = i == 0 ? mid : i;
		upin_pat_fill(dev, self->page, k * self->page, SEED_DEV);
		ASSERT_EQ(0, upin_access(self->fd, h, UPIN_ACCESS_WRITE,
					 k * self->page, dev, self->page));
		ASSERT_EQ(-1, upin_pat_mismatch(self->map + k * self->page,
						self->page, k * self->page,
						SEED_DEV))
			TH_LOG("a device write to page %zu", k);
	}
	ASSERT_EQ(0, upin_unpin(self->fd, h));
	free(pfns);
	free(segs);
	free(view);
	free(dev);
}

TEST_HARNESS_MAIN

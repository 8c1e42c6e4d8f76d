// SPDX-License-Identifier: GPL-2.0
/*
 * upin DMA selftests: QEMU's edu device reads and writes memory pinned
 * through /dev/upin and mapped by the example driver upin_edu
 * (include/uapi/linux/upin_edu.h, include/linux/upin_dma.h).
 *
 * The device's 4 KiB buffer is reachable only by DMA: to see what the
 * device read from a region, it writes its buffer into a scratch page
 * (pinned writable and mapped in setup); to write a pattern into a region,
 * it first reads it from the scratch page. A transfer takes 100 ms of
 * QEMU's clock, so each test issues a handful. UPIN_DMA_LANE names the
 * guest: "iommu" (strict VT-d), "direct" (no IOMMU) or "swiotlb"
 * (swiotlb=force: every mapping bounces, a missing sync shows as stale
 * data). The same checks hold in every lane.
 *
 * The rules: a mapping follows its pin (the device may write a writable
 * pin; a read-only one is EPERM and, behind an IOMMU, not even a forced
 * write lands); a region stays pinned and charged while its handle or any
 * mapping of it lives, whatever goes first. Every test ends, its files
 * closed, on balanced pin counters and VmPin 0. The unbind test is last
 * and rebinds the driver in its teardown.
 */
#include <dirent.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/upin_edu.h>

#include "upin_util.h"
#include "kselftest_harness.h"

/*
 * -Wextra flags the harness's own idioms: ASSERT_EQ(0, unsigned_field)
 * (-Wsign-compare) and the setjmp() in TEST_F() (-Wclobbered).
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define EDU_DEV		"/dev/upin-edu0"
#define EDU_DRV		"/sys/bus/pci/drivers/upin_edu"
#define PCI_DEVS	"/sys/bus/pci/devices"
#define EDU_USABLE	4095	/* dev_offset + length must not pass it */
#define XFER		2048	/* bytes of a check */
#define NPAGES		4	/* 4 KiB pages of a test's region */
#define HPAGE		(2ul << 20)
#define SWIOTLB_MAX_MAPPING (256 << 10)	/* IO_TLB_SEGSIZE slots of 2 KiB */
#define RW		(UPIN_PIN_WRITE | UPIN_PIN_LONGTERM)
#define RO		UPIN_PIN_LONGTERM
/* Between these kmsg lines the runner accepts IOMMU faults. */
#define FAULTS_BEGIN	"upin_dma_test: an IOMMU fault is expected now\n"
#define FAULTS_END	"upin_dma_test: no IOMMU fault expected from here\n"

/* Patterns: seeds that differ modulo 256 differ in every byte. */
enum {
	SEED_PROC = 1, SEED_DEV, SEED_NEW, SEED_CHILD, SEED_FILE, SEED_DEV2,
	SEED_STALE,
};

static const char *lane(void)
{
	const char *s = getenv("UPIN_DMA_LANE");

	return s ? s : "(unset)";
}

/* ---- the device's ioctls, returning 0 or -errno ---- */

static int edu_map(int edu, int upin, uint64_t handle, struct upin_edu_map *m)
{
	memset(m, 0, sizeof(*m));
	m->upin_fd = upin;
	m->handle = handle;
	return upin_ioctl(edu, UPIN_EDU_IOC_MAP, m);
}

static int edu_unmap(int edu, uint64_t id)
{
	struct upin_edu_unmap u = { .id = id };

	return upin_ioctl(edu, UPIN_EDU_IOC_UNMAP, &u);
}

static int edu_dma(int edu, uint64_t id, uint64_t off, uint32_t len,
		   uint32_t flags, uint32_t *transfers)
{
	struct upin_edu_dma d = {
		.id = id, .offset = off, .length = len, .flags = flags,
	};
	int ret = upin_ioctl(edu, UPIN_EDU_IOC_DMA, &d);

	if (transfers)
		*transfers = ret ? 0 : d.transfers;
	return ret;
}

static int edu_info(int edu, struct upin_edu_info *info)
{
	memset(info, 0, sizeof(*info));
	return upin_ioctl(edu, UPIN_EDU_IOC_INFO, info);
}

/* ---- sysfs ---- */

/* Writes @s to @path. Returns 0 or -errno. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* The first line of @path, without its newline. Returns 0 or -1. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return -1;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	buf[ok ? strcspn(buf, "\n") : 0] = 0;
	return ok ? 0 : -1;
}

/*
 * The PCI address of the edu device whose misc device is upin-edu0, else
 * of the last edu device found. Returns 0 or -1.
 */
static int find_edu_bdf(char *bdf, size_t len)
{
	char path[512], v[32], d[32];
	DIR *dir = opendir(PCI_DEVS);
	struct dirent *de;
	int found = -1;

	while (dir && (de = readdir(dir))) {
		snprintf(path, sizeof(path), PCI_DEVS "/%s/vendor", de->d_name);
		if (read_line(path, v, sizeof(v)) || strcmp(v, "0x1234"))
			continue;
		snprintf(path, sizeof(path), PCI_DEVS "/%s/device", de->d_name);
		if (read_line(path, d, sizeof(d)) || strcmp(d, "0x11e8"))
			continue;
		snprintf(bdf, len, "%s", de->d_name);
		found = 0;
		snprintf(path, sizeof(path), PCI_DEVS "/%s/misc/upin-edu0",
			 de->d_name);
		if (!access(path, F_OK))
			break;
	}
	if (dir)
		closedir(dir);
	return found;
}

/*
 * Binds the driver to @bdf, then waits (bounded: 5 s) for devtmpfs to
 * create EDU_DEV. Returns 0 or -errno.
 */
static int edu_rebind(const char *bdf)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int ret = write_file(EDU_DRV "/bind", bdf), i;

	for (i = 0; !ret && i < 500; i++) {
		if (!access(EDU_DEV, F_OK))
			return 0;
		nanosleep(&ts, NULL);
	}
	return ret ? ret : -ETIMEDOUT;
}

/* ---- the fixture: a context, the device, a scratch page mapped on it ---- */

FIXTURE(edu) {
	long page;
	int upin;		/* the context */
	int edu;		/* the device */
	struct upin_edu_info info;
	char *scratch;		/* one page, pinned writable and mapped */
	uint64_t scratch_h, scratch_id;
	uint64_t buf_label;	/* what the device's buffer holds, 0 unknown */
	char *map;		/* the test's memory, MAP_FAILED if none */
	size_t size;
	int file;
	char bdf[256];		/* PCI address of the device, "" if not found */
	bool unbound;		/* the driver may be unbound: rebind */
	bool fault_window;	/* "an IOMMU fault is expected" was logged */
};

/* Names what the buffer holds after a load of pattern @seed from @off. */
static uint64_t label(uint64_t off, unsigned int seed)
{
	return (uint64_t)seed << 40 | off;
}

/* Opens the device (again) and maps the scratch page on it. */
static void edu_reopen(struct __test_metadata *_metadata,
		       FIXTURE_DATA(edu) *self)
{
	struct upin_edu_map m;

	if (self->edu >= 0)
		ASSERT_EQ(0, close(self->edu));
	self->edu = open(EDU_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->edu) TH_LOG("open %s: %s", EDU_DEV, strerror(errno));
	ASSERT_EQ(0, edu_info(self->edu, &self->info));
	ASSERT_EQ(0, edu_map(self->edu, self->upin, self->scratch_h, &m));
	self->scratch_id = m.id;
	self->buf_label = 0;
}

static void edu_start(struct __test_metadata *_metadata,
		      FIXTURE_DATA(edu) *self)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->upin = self->edu = self->file = -1;
	self->scratch = self->map = MAP_FAILED;
	if (geteuid())
		SKIP(return, "needs root: the devices are 0600 and reading the pin counters writes stat_refresh");
	if (access(EDU_DEV, F_OK))
		SKIP(return, "no %s (lane %s): no edu device (QEMU -device edu) bound to upin_edu",
		     EDU_DEV, lane());
	ASSERT_EQ(0, upin_pins_outstanding())
		TH_LOG("FOLL_PIN pins outstanding before the test started");
	if (find_edu_bdf(self->bdf, sizeof(self->bdf)))
		self->bdf[0] = 0;
	self->upin = upin_open();
	ASSERT_LE(0, self->upin) TH_LOG("open %s: %s", UPIN_DEV,
					strerror(-self->upin));
	self->scratch = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->scratch);
	memset(self->scratch, 0, self->page);
	ASSERT_EQ(0, upin_pin(self->upin, self->scratch, self->page, RW,
			      &self->scratch_h, NULL));
	edu_reopen(_metadata, self);
}

static void edu_finish(struct __test_metadata *_metadata,
		       FIXTURE_DATA(edu) *self)
{
	if (self->fault_window)
		EXPECT_EQ(0, write_file("/dev/kmsg", FAULTS_END));
	if (self->unbound && access(EDU_DEV, F_OK))
		EXPECT_EQ(0, edu_rebind(self->bdf))
			TH_LOG("rebinding %s to upin_edu", self->bdf);
	if (self->edu >= 0) {
		struct upin_edu_info info;

		if (!edu_info(self->edu, &info))
			ksft_print_msg("edu: %llu DMA transfers since the driver was bound\n",
				       (unsigned long long)info.transfers);
		EXPECT_EQ(0, close(self->edu));
	}
	if (self->upin >= 0)
		EXPECT_EQ(0, close(self->upin));
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->scratch != MAP_FAILED)
		munmap(self->scratch, self->page);
	if (self->file >= 0)
		close(self->file);
	/* The oracle: nothing pinned, nothing charged. */
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

FIXTURE_SETUP(edu)
{
	edu_start(_metadata, self);
}

FIXTURE_TEARDOWN(edu)
{
	edu_finish(_metadata, self);
}

/* Pinned pages system-wide, and VmPin: the scratch page's plus @pages. */
#define ASSERT_HELD(pages) do {						\
	ASSERT_EQ(1 + (long long)(pages), upin_pins_outstanding());	\
	ASSERT_EQ((1 + (long)(pages)) * (self->page / 1024),		\
		  upin_vmpin_kb(0));					\
} while (0)

/* One DMA, which must work: one transfer per (page-granular) segment. */
static void dma(struct __test_metadata *_metadata, FIXTURE_DATA(edu) *self,
		uint64_t id, uint64_t off, uint32_t len, uint32_t flags)
{
	uint32_t n;
	int ret = edu_dma(self->edu, id, off, len, flags, &n);

	ASSERT_EQ(0, ret) TH_LOG("DMA %s mapping %llu at %llu+%u: %s",
				 flags ? "into" : "from", (unsigned long long)id,
				 (unsigned long long)off, len, strerror(-ret));
	ASSERT_LE(1, n);
	ASSERT_GE(len / self->page + 2, n);
}

/*
 * Before the device loads @lbl into its buffer: if the buffer may hold it
 * already, load the stale pattern first, so that a load that silently did
 * nothing cannot pass.
 */
static void poison_if(struct __test_metadata *_metadata,
		      FIXTURE_DATA(edu) *self, uint64_t lbl)
{
	if (self->buf_label && self->buf_label != lbl)
		return;
	upin_pat_fill(self->scratch, EDU_USABLE, 0, SEED_STALE);
	dma(_metadata, self, self->scratch_id, 0, EDU_USABLE, 0);
	self->buf_label = label(0, SEED_STALE);
}

/*
 * The device reads [@off, @off + @len) of mapping @id into its buffer and
 * writes that into the scratch page, which held the stale pattern: then
 * scratch[0, @len) is what the device read, @lbl what the test expects.
 */
static void dev_read(struct __test_metadata *_metadata,
		     FIXTURE_DATA(edu) *self, uint64_t id, uint64_t off,
		     uint32_t len, uint64_t lbl)
{
	poison_if(_metadata, self, lbl);
	dma(_metadata, self, id, off, len, 0);
	self->buf_label = lbl;
	upin_pat_fill(self->scratch, len, 0, SEED_STALE);
	dma(_metadata, self, self->scratch_id, 0, len, UPIN_EDU_DMA_FROM_DEVICE);
}

/* The device reads pattern @seed at @off of mapping @id. */
#define ASSERT_DEVICE_READS(id, off, len, seed) do {			\
	dev_read(_metadata, self, (id), (off), (len), label((off), (seed))); \
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch, (len), (off), (seed))) \
		TH_LOG("the device read at %zu+%u is not pattern %d (lane %s)", \
		       (size_t)(off), (unsigned int)(len), (seed), lane()); \
} while (0)

/* The device's buffer gets pattern @seed of @off, from the scratch page. */
static void dev_seed_buffer(struct __test_metadata *_metadata,
			    FIXTURE_DATA(edu) *self, uint64_t off,
			    uint32_t len, unsigned int seed)
{
	poison_if(_metadata, self, label(off, seed));
	upin_pat_fill(self->scratch, len, off, seed);
	dma(_metadata, self, self->scratch_id, 0, len, 0);
	self->buf_label = label(off, seed);
}

/* The device writes pattern @seed into [@off, @off + @len) of mapping @id. */
static void dev_write(struct __test_metadata *_metadata,
		      FIXTURE_DATA(edu) *self, uint64_t id, uint64_t off,
		      uint32_t len, unsigned int seed)
{
	dev_seed_buffer(_metadata, self, off, len, seed);
	dma(_metadata, self, id, off, len, UPIN_EDU_DMA_FROM_DEVICE);
}

/* The pinned pages of region @h hold pattern @seed at @off (ACCESS). */
#define ASSERT_PINNED_IS(h, off, len, seed) do {			\
	uint8_t __b[XFER];						\
									\
	ASSERT_EQ(0, upin_access(self->upin, (h), 0, (off), __b, (len))); \
	ASSERT_EQ(-1, upin_pat_mismatch(__b, (len), (off), (seed)))	\
		TH_LOG("the pinned pages at %zu are not pattern %d",	\
		       (size_t)(off), (seed));				\
} while (0)

/* Pins [@addr, @addr + @len) with @flags and maps it. Returns the handle. */
static uint64_t pin_map(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, void *addr, size_t len,
			uint32_t flags, struct upin_edu_map *m)
{
	uint64_t h = 0;
	int ret;

	ASSERT_EQ(0, upin_pin(self->upin, addr, len, flags, &h, NULL));
	ret = edu_map(self->edu, self->upin, h, m);
	ASSERT_EQ(0, ret) TH_LOG("UPIN_EDU_IOC_MAP: %s", strerror(-ret));
	ASSERT_NE(0, m->id);
	ASSERT_LE(1, m->nr_segments);
	ASSERT_GE(m->nr_entries, m->nr_segments);
	return h;
}

/* self->map: NPAGES of private anonymous 4 KiB pages holding SEED_PROC. */
static void anon_region(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self)
{
	self->size = NPAGES * self->page;
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(0, madvise(self->map, self->size, MADV_NOHUGEPAGE));
	upin_pat_fill(self->map, self->size, 0, SEED_PROC);
}

/* anon_region(), all of it pinned with @flags and mapped: the handle. */
static uint64_t anon_pin_map(struct __test_metadata *_metadata,
			     FIXTURE_DATA(edu) *self, uint32_t flags,
			     struct upin_edu_map *m)
{
	anon_region(_metadata, self);
	return pin_map(_metadata, self, self->map, self->size, flags, m);
}

/* self->map: NPAGES of @fd, which gets pattern @seed, mapped MAP_SHARED. */
static void shared_file(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, int fd, unsigned int seed)
{
	uint8_t *data;

	self->file = fd;
	self->size = NPAGES * self->page;
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(errno));
	data = malloc(self->size);
	ASSERT_NE(NULL, data);
	upin_pat_fill(data, self->size, 0, seed);
	ASSERT_EQ(self->size, pwrite(fd, data, self->size, 0));
	free(data);
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

/* The normal end: UNMAP, UNPIN, nothing left but the scratch page. */
static void unmap_unpin(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, uint64_t id, uint64_t h)
{
	ASSERT_EQ(0, edu_unmap(self->edu, id));
	ASSERT_EQ(0, upin_unpin(self->upin, h));
	ASSERT_HELD(0);
}

/* ---- the lane ---- */

/*
 * The guest is what UPIN_DMA_LANE says: the device behind a strict-mode
 * IOMMU (its 28-bit mask met by IOVAs), reaching all memory directly with
 * a 48-bit mask, or without an IOMMU and with swiotlb=force.
 */
TEST_F(edu, lane)
{
	char path[512], type[64], cmdline[4096], *tok, *save = NULL;
	const char *l = getenv("UPIN_DMA_LANE");
	bool force = false;

	ASSERT_NE(NULL, l) TH_LOG("UPIN_DMA_LANE is unset, but %s exists", EDU_DEV);
	ASSERT_NE(0, self->bdf[0]) TH_LOG("no edu device under %s", PCI_DEVS);
	ASSERT_EQ(4096, self->info.buffer_size);
	ASSERT_EQ(0, self->info.__reserved);
	ksft_print_msg("lane %s: %s, %u-bit DMA mask, %s\n", l, self->bdf,
		       self->info.dma_bits,
		       self->info.iommu ? "behind an IOMMU" : "no IOMMU");
	snprintf(path, sizeof(path), PCI_DEVS "/%s/iommu_group", self->bdf);
	if (!strcmp(l, "iommu")) {
		ASSERT_EQ(1, self->info.iommu);
		ASSERT_EQ(28, self->info.dma_bits);
		strcat(path, "/type");
		ASSERT_EQ(0, read_line(path, type, sizeof(type))) TH_LOG("%s", path);
		ASSERT_STREQ("DMA", type)
			TH_LOG("the domain must translate strictly: not DMA-FQ, not identity");
		return;
	}
	ASSERT_TRUE(!strcmp(l, "direct") || !strcmp(l, "swiotlb"))
		TH_LOG("unknown UPIN_DMA_LANE \"%s\"", l);
	ASSERT_EQ(0, self->info.iommu);
	ASSERT_NE(0, access(path, F_OK)) TH_LOG("%s exists", path);
	ASSERT_EQ(0, read_line("/proc/cmdline", cmdline, sizeof(cmdline)));
	for (tok = strtok_r(cmdline, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		force |= !strncmp(tok, "swiotlb=", 8) && strstr(tok, "force");
	if (!strcmp(l, "direct")) {
		ASSERT_EQ(48, self->info.dma_bits);
		ASSERT_FALSE(force) TH_LOG("swiotlb=force in the direct lane");
	} else {
		ASSERT_TRUE(force) TH_LOG("no swiotlb=force on the kernel command line");
	}
}

/* ---- coherence of longterm pins of private anonymous memory ---- */

/*
 * The device reads what the process wrote, also through a pin that starts
 * inside a page (offsets count from the pinned address), and then what the
 * process writes into the still-pinned memory: no stale copy.
 */
TEST_F_TIMEOUT(edu, device_reads_process_data, 120)
{
	size_t off = self->page - 1024, skew = 100;
	struct upin_edu_map m;
	uint64_t h;

	anon_region(_metadata, self);
	h = pin_map(_metadata, self, self->map + skew, self->size - 2 * skew,
		    RO, &m);
	ASSERT_HELD(NPAGES);
	dev_read(_metadata, self, m.id, off - skew, XFER, label(off, SEED_PROC));
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch, XFER, off, SEED_PROC))
		TH_LOG("the device did not read the process's data");
	upin_pat_fill(self->map + off, XFER, off, SEED_NEW);
	dev_read(_metadata, self, m.id, off - skew, XFER, label(off, SEED_NEW));
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch, XFER, off, SEED_NEW))
		TH_LOG("the device read stale data after the process wrote");
	unmap_unpin(_metadata, self, m.id, h);
}

/*
 * After fork(), the child writes all of its copy and the parent writes
 * part of the range: the device sees the parent's data, never the
 * child's, while the child lives and after it is gone.
 */
static void fork_coherence(struct __test_metadata *_metadata,
			   FIXTURE_DATA(edu) *self, uint32_t flags)
{
	size_t off = self->page - 1024, half = XFER / 2;
	struct upin_report *rep = upin_report_new();
	struct upin_edu_map m;
	int go[2], wrote[2];
	char msg[512] = "", c;
	uint64_t h;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	h = anon_pin_map(_metadata, self, flags, &m);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(wrote));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		upin_pat_fill(self->map, self->size, 0, SEED_CHILD);
		UPIN_CHILD_CHECK(rep, 1, write(wrote[1], "w", 1));
		UPIN_CHILD_CHECK(rep, 1, read(go[0], &c, 1));
		UPIN_CHILD_CHECK(rep, -1, upin_pat_mismatch(self->map, self->size,
							    0, SEED_CHILD));
		_exit(0);
	}
	ASSERT_EQ(1, read(wrote[0], &c, 1));
	upin_pat_fill(self->map + off + half, half, off + half, SEED_NEW);
	dev_read(_metadata, self, m.id, off, XFER, label(off, 100));
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch, half, off, SEED_PROC))
		TH_LOG("the device sees the child's write");
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch + half, half, off + half,
					SEED_NEW))
		TH_LOG("the device does not see the parent's write after fork()");
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg))) TH_LOG("%s", msg);
	upin_pat_fill(self->map + off, half, off, SEED_DEV2);
	dev_read(_metadata, self, m.id, off, XFER, label(off, 101));
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch, half, off, SEED_DEV2))
		TH_LOG("the child is gone: the device does not see the parent's write");
	ASSERT_EQ(-1, upin_pat_mismatch(self->scratch + half, half, off + half,
					SEED_NEW));
	unmap_unpin(_metadata, self, m.id, h);
}

TEST_F_TIMEOUT(edu, fork_coherence_readonly, 120)
{
	fork_coherence(_metadata, self, RO);
}

TEST_F_TIMEOUT(edu, fork_coherence_writable, 120)
{
	fork_coherence(_metadata, self, RW);
}

/*
 * What the device writes through a writable pin, the process sees in its
 * mapping and through ACCESS; after fork() the parent sees the device's
 * next write, the child keeps what was there when it was forked.
 */
TEST_F_TIMEOUT(edu, device_write_visible, 120)
{
	size_t off = self->page - 1024, end = off + XFER;
	struct upin_report *rep = upin_report_new();
	struct upin_edu_map m;
	char msg[512] = "", c;
	int go[2];
	uint64_t h;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	h = anon_pin_map(_metadata, self, RW, &m);
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV);
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, XFER, off, SEED_DEV))
		TH_LOG("the process does not see the device's write (lane %s)", lane());
	ASSERT_EQ(-1, upin_pat_mismatch(self->map, off, 0, SEED_PROC))
		TH_LOG("the device wrote before the range");
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + end, self->size - end, end,
					SEED_PROC))
		TH_LOG("the device wrote after the range");
	ASSERT_PINNED_IS(h, off, XFER, SEED_DEV);

	ASSERT_EQ(0, pipe(go));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		UPIN_CHILD_CHECK(rep, 1, read(go[0], &c, 1));
		UPIN_CHILD_CHECK(rep, -1, upin_pat_mismatch(self->map + off, XFER,
							    off, SEED_DEV));
		_exit(0);
	}
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV2);
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, XFER, off, SEED_DEV2))
		TH_LOG("after fork() the parent does not see the device's write");
	ASSERT_PINNED_IS(h, off, XFER, SEED_DEV2);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("the child sees the device's write: %s", msg);
	unmap_unpin(_metadata, self, m.id, h);
}

/* ---- other memory: unmapped, shared, file, huge ---- */

/*
 * munmap() of a pinned, mapped range: the pages stay pinned and charged,
 * the device still writes and reads them, ACCESS shows what it wrote.
 */
TEST_F_TIMEOUT(edu, after_munmap, 120)
{
	size_t off = self->page - 1024, off2 = 3 * self->page - 1024;
	struct upin_edu_map m;
	uint64_t h;

	h = anon_pin_map(_metadata, self, RW, &m);
	ASSERT_EQ(0, munmap(self->map, self->size));
	self->map = MAP_FAILED;
	ASSERT_HELD(NPAGES);
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV);
	ASSERT_PINNED_IS(h, off, XFER, SEED_DEV);
	ASSERT_PINNED_IS(h, off2, XFER, SEED_PROC);
	ASSERT_DEVICE_READS(m.id, off2, XFER, SEED_PROC);
	unmap_unpin(_metadata, self, m.id, h);
}

/*
 * memfd (shmem), MAP_SHARED, pinned writable: what the device wrote is in
 * the file once the mapping, the pin and the process's mapping are gone.
 */
TEST_F_TIMEOUT(edu, memfd_dirty, 120)
{
	size_t off = self->page - 1024, end = off + XFER;
	struct upin_edu_map m;
	uint8_t *data;
	uint64_t h;

	shared_file(_metadata, self, memfd_create("upin-dma", MFD_CLOEXEC),
		    SEED_PROC);
	h = pin_map(_metadata, self, self->map, self->size, RW, &m);
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV);
	unmap_unpin(_metadata, self, m.id, h);
	ASSERT_EQ(0, munmap(self->map, self->size));
	self->map = MAP_FAILED;
	data = malloc(self->size);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(self->size, pread(self->file, data, self->size, 0));
	ASSERT_EQ(-1, upin_pat_mismatch(data + off, XFER, off, SEED_DEV))
		TH_LOG("the memfd lost the device's write");
	ASSERT_EQ(-1, upin_pat_mismatch(data, off, 0, SEED_PROC));
	ASSERT_EQ(-1, upin_pat_mismatch(data + end, self->size - end, end,
					SEED_PROC));
	free(data);
}

/*
 * A shared mapping of an ext4 file: the file rule refuses a writable pin
 * (EOPNOTSUPP, nothing held); a read-only longterm pin works and the
 * device reads the file's data.
 */
TEST_F_TIMEOUT(edu, ext4_shared_readonly, 120)
{
	const char *dir = getenv("UPIN_EXT4_DIR");
	size_t off = self->page - 1024;
	struct upin_edu_map m;
	struct statfs sfs;
	char path[256];
	uint64_t h;

	if (!dir || statfs(dir, &sfs) || sfs.f_type != EXT4_SUPER_MAGIC)
		SKIP(return, "no ext4 at UPIN_EXT4_DIR (%s)", dir ? dir : "unset");
	snprintf(path, sizeof(path), "%s/upin-dma-XXXXXX", dir);
	shared_file(_metadata, self, mkstemp(path), SEED_FILE);
	unlink(path);
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->upin, self->map, self->size, RW,
					NULL, NULL));
	ASSERT_HELD(0);
	h = pin_map(_metadata, self, self->map, self->size, RO, &m);
	ASSERT_HELD(NPAGES);
	ASSERT_DEVICE_READS(m.id, off, XFER, SEED_FILE);
	unmap_unpin(_metadata, self, m.id, h);
}

/*
 * 4 MiB of huge pages: the driver takes segments as long as the DMA API
 * allows, so each physically contiguous run is one scatterlist entry; with
 * bounce buffers (swiotlb) entries are at most swiotlb's 256 KiB. Either
 * way far fewer than the 1024 of scattered 4 KiB pages; the device reads
 * across the folios' boundary.
 */
static void huge_few_segments(struct __test_metadata *_metadata,
			      FIXTURE_DATA(edu) *self, bool hugetlb)
{
	size_t npages, off = HPAGE - XFER / 2;
	struct upin_region r;
	struct upin_edu_map m;
	uint64_t h;

	self->size = 2 * HPAGE;
	npages = self->size / self->page;
	if (hugetlb) {
		self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (self->map == MAP_FAILED)
			SKIP(return, "MAP_HUGETLB of 4 MiB: %s (nr_hugepages %ld)",
			     strerror(errno),
			     upin_read_long("/proc/sys/vm/nr_hugepages"));
	} else {
		self->map = upin_map_aligned(self->size, HPAGE);
		ASSERT_NE(MAP_FAILED, self->map);
		ASSERT_EQ(0, madvise(self->map, self->size, MADV_HUGEPAGE));
	}
	upin_pat_fill(self->map, self->size, 0, SEED_PROC);
	if (!hugetlb && upin_anon_huge_kb(self->map) < (long)(self->size >> 10))
		SKIP(return, "no THP: AnonHugePages %ld kB of %zu kB after MADV_HUGEPAGE",
		     upin_anon_huge_kb(self->map), self->size >> 10);
	h = pin_map(_metadata, self, self->map, self->size, RO, &m);
	ASSERT_HELD(npages);
	ASSERT_EQ(0, upin_query(self->upin, h, &r));
	ksft_print_msg("%s: %llu physical runs, %u scatterlist entries, %u DMA segments (lane %s)\n",
		       hugetlb ? "hugetlb" : "THP",
		       (unsigned long long)r.nr_segments, m.nr_entries,
		       m.nr_segments, lane());
	ASSERT_LE(m.nr_segments, m.nr_entries);
	if (strcmp(lane(), "swiotlb")) {
		ASSERT_EQ(r.nr_segments, m.nr_entries)
			TH_LOG("an entry per physically contiguous run");
	} else {
		ASSERT_LE(r.nr_segments, m.nr_entries);
		ASSERT_GE(r.nr_segments + self->size / SWIOTLB_MAX_MAPPING,
			  m.nr_entries)
			TH_LOG("more entries than swiotlb's 256 KiB split 4 MiB into");
	}
	ASSERT_GE(npages / 16, m.nr_entries)
		TH_LOG("the huge folios are mapped about page by page");
	ASSERT_DEVICE_READS(m.id, off, XFER, SEED_PROC);
	unmap_unpin(_metadata, self, m.id, h);
}

TEST_F_TIMEOUT(edu, huge_few_segments_thp, 120)
{
	huge_few_segments(_metadata, self, false);
}

TEST_F_TIMEOUT(edu, huge_few_segments_hugetlb, 120)
{
	huge_few_segments(_metadata, self, true);
}

/* ---- read-only pins ---- */

/*
 * The device may not write a read-only pin's mapping: EPERM in every lane,
 * the memory untouched; reading it still works.
 */
TEST_F_TIMEOUT(edu, readonly_pin_refuses_device_write, 120)
{
	size_t off = self->page - 1024;
	struct upin_edu_map m;
	uint64_t h;

	h = anon_pin_map(_metadata, self, RO, &m);
	ASSERT_EQ(-EPERM, edu_dma(self->edu, m.id, off, XFER,
				  UPIN_EDU_DMA_FROM_DEVICE, NULL));
	ASSERT_EQ(-1, upin_pat_mismatch(self->map, self->size, 0, SEED_PROC));
	ASSERT_PINNED_IS(h, off, XFER, SEED_PROC);
	ASSERT_DEVICE_READS(m.id, off, XFER, SEED_PROC);
	unmap_unpin(_metadata, self, m.id, h);
}

/*
 * Waits, at most @ms, for the IOMMU's fault report in the kernel log; @fd
 * is /dev/kmsg (non-blocking), read from its end. Returns whether it came.
 */
static bool kmsg_wait_dmar_fault(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char rec[2048];
	ssize_t n;

	/* Each read() is one record; EPIPE: records were overwritten. */
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n > 0) {
			rec[n] = 0;
			if (strstr(rec, "DMAR") && strstr(rec, "fault addr"))
				return true;
		} else if (n == 0 || errno != EPIPE) {
			if (ms <= 0)
				return false;
			poll(&pfd, 1, 10);
			ms -= 10;
		}
	}
}

/*
 * Behind an IOMMU a read-only pin is mapped DMA_TO_DEVICE: a device write
 * the driver forces through (UPIN_EDU_DMA_FORCE) faults in the IOMMU and
 * does not reach memory. The runner checks that DMAR faults are logged
 * only between the two kmsg lines written here.
 */
TEST_F_TIMEOUT(edu, iommu_blocks_forced_write, 120)
{
	size_t off = self->page - 1024;
	struct upin_edu_map m;
	uint32_t n = 0;
	int kmsg, ret;
	bool fault;
	uint64_t h;

	if (strcmp(lane(), "iommu") || !self->info.iommu)
		SKIP(return, "lane %s, device %sbehind an IOMMU: a forced write would land",
		     lane(), self->info.iommu ? "" : "not ");
	h = anon_pin_map(_metadata, self, RO, &m);
	dev_seed_buffer(_metadata, self, off, XFER, SEED_DEV);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));
	self->fault_window = true;
	ASSERT_EQ(0, write_file("/dev/kmsg", FAULTS_BEGIN));
	ret = edu_dma(self->edu, m.id, off, XFER,
		      UPIN_EDU_DMA_FROM_DEVICE | UPIN_EDU_DMA_FORCE, &n);
	/* The fault is reported by an interrupt: wait for it, bounded. */
	fault = kmsg_wait_dmar_fault(kmsg, 5000);
	close(kmsg);
	ksft_print_msg("forced device write into a read-only mapping: %s, %u transfers; DMAR fault %s\n",
		       ret ? strerror(-ret) : "returned 0", n,
		       fault ? "logged" : "not seen within 5 s");
	ASSERT_EQ(-1, upin_pat_mismatch(self->map, self->size, 0, SEED_PROC))
		TH_LOG("the IOMMU let the device write a read-only pin");
	ASSERT_PINNED_IS(h, off, XFER, SEED_PROC);
	/* The device works on (and late fault reports have landed). */
	ASSERT_DEVICE_READS(m.id, off, XFER, SEED_PROC);
	ASSERT_EQ(0, write_file("/dev/kmsg", FAULTS_END));
	self->fault_window = false;
	unmap_unpin(_metadata, self, m.id, h);
}

/* ---- lifetime: the mapping and the pin, in every order ---- */

/*
 * A process exits with a region pinned and mapped, cleaning nothing up:
 * its pins are held while it lives and gone once it is reaped.
 */
TEST_F_TIMEOUT(edu, process_exit, 120)
{
	struct upin_report *rep = upin_report_new();
	char msg[512] = "", c;
	int ready[2], go[2];
	uint64_t np = 0;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t len = NPAGES * self->page;
		int u = upin_open(), e = open(EDU_DEV, O_RDWR);
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct upin_edu_map cm;
		uint64_t ch;

		UPIN_CHILD_CHECK(rep, 1, u >= 0 && e >= 0 && p != MAP_FAILED);
		upin_pat_fill(p, len, 0, SEED_CHILD);
		UPIN_CHILD_CHECK(rep, 0, upin_pin(u, p, len, RW, &ch, &np));
		UPIN_CHILD_CHECK(rep, 0, edu_map(e, u, ch, &cm));
		UPIN_CHILD_CHECK(rep, 0, edu_dma(e, cm.id, 0, 64, 0, NULL));
		UPIN_CHILD_CHECK(rep, sizeof(np), write(ready[1], &np, sizeof(np)));
		UPIN_CHILD_CHECK(rep, 1, read(go[0], &c, 1));
		_exit(0);	/* with both files open, the region mapped */
	}
	self->buf_label = 0;	/* the child used the device */
	ASSERT_EQ(sizeof(np), read(ready[0], &np, sizeof(np)));
	ASSERT_EQ(NPAGES, np);
	ASSERT_EQ(1 + NPAGES, upin_pins_outstanding()) TH_LOG("the child's pins");
	ASSERT_EQ(NPAGES * (self->page / 1024), upin_vmpin_kb(pid));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg))) TH_LOG("%s", msg);
	ASSERT_HELD(0);
}

/*
 * The rule: a region's pages stay pinned, and charged, while its handle
 * (until UNPIN or close() of /dev/upin) or a mapping of it (until UNMAP or
 * close() of the device) lives, whichever goes last. Each variant lets one
 * holder go first and checks that the other still works: the device keeps
 * using a live mapping; a live handle is still listed, readable through
 * ACCESS and can be mapped again. Then the other goes and nothing is left.
 */
enum first { UNPIN, CLOSE_UPIN, UNMAP, CLOSE_EDU };

FIXTURE(order) {
	FIXTURE_DATA(edu) e;
};

FIXTURE_VARIANT(order) {
	enum first first;
};

FIXTURE_VARIANT_ADD(order, unpin_while_mapped) { .first = UNPIN };
FIXTURE_VARIANT_ADD(order, close_upin_while_mapped) { .first = CLOSE_UPIN };
FIXTURE_VARIANT_ADD(order, unmap_then_unpin) { .first = UNMAP };
FIXTURE_VARIANT_ADD(order, close_edu_while_mapped) { .first = CLOSE_EDU };

FIXTURE_SETUP(order)
{
	edu_start(_metadata, &self->e);
}

FIXTURE_TEARDOWN(order)
{
	edu_finish(_metadata, &self->e);
}

static void order_body(struct __test_metadata *_metadata,
		       FIXTURE_DATA(edu) *self, enum first first)
{
	bool mapped = first == UNPIN || first == CLOSE_UPIN;
	size_t off = 2 * self->page - 1024;
	uint64_t h, handles[8] = { 0 };
	struct upin_edu_map m;
	struct upin_region r;
	struct upin_info info;
	uint32_t count = 0;

	h = anon_pin_map(_metadata, self, RW, &m);
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV);
	ASSERT_HELD(NPAGES);
	switch (first) {
	case UNPIN:
		ASSERT_EQ(0, upin_unpin(self->upin, h));
		ASSERT_EQ(-ENOENT, upin_unpin(self->upin, h));
		break;
	case CLOSE_UPIN:
		ASSERT_EQ(0, close(self->upin));
		self->upin = -1;
		break;
	case UNMAP:
		ASSERT_EQ(0, edu_unmap(self->edu, m.id));
		ASSERT_EQ(-ENOENT, edu_unmap(self->edu, m.id));
		ASSERT_EQ(-ENOENT, edu_dma(self->edu, m.id, off, XFER, 0, NULL));
		break;
	case CLOSE_EDU:
		ASSERT_EQ(0, close(self->edu));	/* release() unmaps */
		self->edu = -1;
		break;
	}
	ASSERT_HELD(NPAGES);	/* the other holder keeps the pages */
	if (self->upin >= 0) {
		/* The handle is listed while it lives, and only then. */
		ASSERT_EQ(0, upin_get_info(self->upin, &info));
		ASSERT_EQ(mapped ? 1 : 2, info.nr_regions);
		ASSERT_EQ(mapped ? 1 : 1 + NPAGES, info.pinned_pages);
		ASSERT_EQ(0, upin_list(self->upin, handles, 8, &count));
		ASSERT_EQ(mapped ? 1 : 2, count);
		ASSERT_EQ(self->scratch_h, handles[0]);
		ASSERT_EQ(mapped ? -ENOENT : 0, upin_query(self->upin, h, &r));
	}
	if (mapped) {
		/* The device still writes and reads the pages. */
		dev_write(_metadata, self, m.id, off, XFER, SEED_DEV2);
		ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, XFER, off,
						SEED_DEV2));
		ASSERT_DEVICE_READS(m.id, off, XFER, SEED_DEV2);
		ASSERT_EQ(0, edu_unmap(self->edu, m.id));
	} else {
		/* The process's region: readable, and mappable again. */
		ASSERT_PINNED_IS(h, off, XFER, SEED_DEV);
		if (self->edu < 0)
			edu_reopen(_metadata, self);
		ASSERT_EQ(0, edu_map(self->edu, self->upin, h, &m));
		ASSERT_DEVICE_READS(m.id, off, XFER, SEED_DEV);
		ASSERT_EQ(0, edu_unmap(self->edu, m.id));
		ASSERT_HELD(NPAGES);
		ASSERT_EQ(0, upin_unpin(self->upin, h));
	}
	ASSERT_HELD(0);		/* the scratch page's: it too has a holder */
}

TEST_F_TIMEOUT(order, device_keeps_pages, 120)
{
	order_body(_metadata, &self->e, variant->first);
}

/*
 * Last: the driver is unbound while the device's file is open and a
 * mapping lives. Every ioctl of the file is ENODEV from then on, the
 * mappings are gone (pages only they held are unpinned), a region the
 * process still holds stays pinned until UNPIN; once rebound, a fresh map
 * and DMA work. The teardown rebinds, whatever happened.
 */
FIXTURE(unbind) {
	FIXTURE_DATA(edu) e;
};

FIXTURE_VARIANT(unbind) {
	bool unpin_first;	/* UNPIN the region before unbinding */
};

FIXTURE_VARIANT_ADD(unbind, region_unpinned) { .unpin_first = true };
FIXTURE_VARIANT_ADD(unbind, region_pinned) { .unpin_first = false };

FIXTURE_SETUP(unbind)
{
	edu_start(_metadata, &self->e);
	if (_metadata->exit_code)
		return;
	if (!self->e.bdf[0] || access(EDU_DRV "/unbind", W_OK))
		SKIP(return, "no edu device under %s, or no %s/unbind",
		     PCI_DEVS, EDU_DRV);
}

FIXTURE_TEARDOWN(unbind)
{
	edu_finish(_metadata, &self->e);
}

static void unbind_body(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, bool unpin_first)
{
	size_t off = self->page - 1024;
	struct upin_edu_info info;
	struct upin_edu_map m, m2;
	uint64_t h;
	int ret;

	h = anon_pin_map(_metadata, self, RW, &m);
	dev_write(_metadata, self, m.id, off, XFER, SEED_DEV);
	if (unpin_first)
		ASSERT_EQ(0, upin_unpin(self->upin, h));
	ASSERT_HELD(NPAGES);

	self->unbound = true;
	ret = write_file(EDU_DRV "/unbind", self->bdf);
	ASSERT_EQ(0, ret) TH_LOG("unbind %s: %s", self->bdf, strerror(-ret));
	ASSERT_NE(0, access(EDU_DEV, F_OK)) TH_LOG("%s outlived its device", EDU_DEV);
	ASSERT_EQ(-ENODEV, edu_dma(self->edu, m.id, off, XFER, 0, NULL));
	ASSERT_EQ(-ENODEV, edu_dma(self->edu, self->scratch_id, 0, 16,
				   UPIN_EDU_DMA_FROM_DEVICE, NULL));
	ASSERT_EQ(-ENODEV, edu_map(self->edu, self->upin, self->scratch_h, &m2));
	ASSERT_EQ(-ENODEV, edu_unmap(self->edu, m.id));
	ASSERT_EQ(-ENODEV, edu_info(self->edu, &info));
	/* The mappings are gone: what only they held is unpinned. */
	ASSERT_HELD(unpin_first ? 0 : NPAGES);
	ASSERT_EQ(-1, upin_pat_mismatch(self->map + off, XFER, off, SEED_DEV));
	if (!unpin_first) {
		ASSERT_PINNED_IS(h, off, XFER, SEED_DEV);
		ASSERT_EQ(0, upin_unpin(self->upin, h));
		ASSERT_HELD(0);
	}

	ret = edu_rebind(self->bdf);
	ASSERT_EQ(0, ret) TH_LOG("rebind %s: %s", self->bdf, strerror(-ret));
	self->unbound = false;
	edu_reopen(_metadata, self);	/* closes the file of the gone device */
	h = pin_map(_metadata, self, self->map, self->size, RO, &m2);
	ASSERT_DEVICE_READS(m2.id, off, XFER, SEED_DEV);
	unmap_unpin(_metadata, self, m2.id, h);
}

TEST_F_TIMEOUT(unbind, live_mapping, 120)
{
	unbind_body(_metadata, &self->e, variant->unpin_first);
}

TEST_HARNESS_MAIN

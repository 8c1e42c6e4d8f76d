// SPDX-License-Identifier: GPL-2.0
/*
 * libupin selftests: every function of include/libupin.h on its success and
 * error paths, many threads on one context, and the feature check that
 * keeps a call the module lacks from reaching it.
 *
 * The test links the static libupin with -Wl,--wrap=ioctl: every ioctl()
 * of the library passes through __wrap_ioctl() below, which counts the upin
 * commands sent, records the flags of the last UPIN_IOC_PIN, and can make
 * UPIN_IOC_GET_INFO report fewer features or another ABI version, as an
 * older module would.
 *
 * Every test ends on the project's oracle: nr_foll_pin_acquired equals
 * nr_foll_pin_released and VmPin is 0 once the contexts are closed.
 *
 * Needs root and the module loaded with its default parameters.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define UPIN_UTIL_NO_WRAPPERS
#include "upin_util.h"
#include "kselftest_harness.h"

#include <libupin.h>

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define BUF_PAGES	16
#define REQUIRED_FEATURES (UPIN_FEATURE_PIN_WRITE | UPIN_FEATURE_PIN_LONGTERM | \
			   UPIN_FEATURE_ACCESS_WRITE | UPIN_FEATURE_SEGMENTS)
/* libupin's first guess of entries for LIST and SEGMENTS (libupin.c). */
#define LIB_ARRAY_GUESS	64
#define NR_CMDS		(UPIN_CMD_SEGMENTS - UPIN_CMD_BASE + 1)

/* --- the ioctl() wrapper -------------------------------------------------- */

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

static unsigned long sent[NR_CMDS];	/* upin commands that reached ioctl() */
static uint64_t fake_features_clear;	/* GET_INFO: clear these features */
static long long fake_abi_version = -1;	/* GET_INFO: report this, if >= 0 */
static uint32_t last_pin_flags;		/* flags of the last PIN sent */

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	unsigned int nr = _IOC_NR(req);
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (_IOC_TYPE(req) == UPIN_TYPE && nr >= UPIN_CMD_BASE &&
	    nr - UPIN_CMD_BASE < NR_CMDS)
		__atomic_fetch_add(&sent[nr - UPIN_CMD_BASE], 1,
				   __ATOMIC_RELAXED);
	if (req == UPIN_IOC_PIN && arg)
		__atomic_store_n(&last_pin_flags,
				 ((struct upin_pin *)arg)->flags,
				 __ATOMIC_RELAXED);
	ret = __real_ioctl(fd, req, arg);
	if (!ret && req == UPIN_IOC_GET_INFO) {
		struct upin_info *info = arg;

		info->features &= ~fake_features_clear;
		if (fake_abi_version >= 0)
			info->abi_version = (uint32_t)fake_abi_version;
	}
	return ret;
}

static unsigned long sent_of(unsigned long cmd)
{
	return __atomic_load_n(&sent[_IOC_NR(cmd) - UPIN_CMD_BASE],
			       __ATOMIC_RELAXED);
}

static uint32_t pin_flags_sent(void)
{
	return __atomic_load_n(&last_pin_flags, __ATOMIC_RELAXED);
}

/* --- fixture -------------------------------------------------------------- */

FIXTURE(lib) {
	long page;
	struct upin_ctx *ctx;
	char *buf;	/* BUF_PAGES pages of private anonymous memory */
	size_t len;
};

FIXTURE_SETUP(lib)
{
	int ret;

	self->ctx = NULL;
	self->buf = MAP_FAILED;
	if (geteuid())
		SKIP(return, "needs root: /dev/upin is 0600 and reading the pin counters writes stat_refresh");
	self->page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, upin_pins_outstanding());
	self->len = BUF_PAGES * self->page;
	self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, madvise(self->buf, self->len, MADV_NOHUGEPAGE));
	upin_pat_fill(self->buf, self->len, 0, 1);
	unsetenv("UPIN_DEVICE");
	fake_features_clear = 0;
	fake_abi_version = -1;
	ret = upin_open(&self->ctx, NULL);
	ASSERT_EQ(0, ret)
		TH_LOG("upin_open: %s", upin_strerror(ret, UPIN_OP_OPEN));
}

FIXTURE_TEARDOWN(lib)
{
	upin_close(self->ctx);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, self->len);
	if (geteuid())
		return;
	EXPECT_EQ(0, upin_pins_outstanding());
	EXPECT_EQ(0, upin_vmpin_kb(0));
}

/* --- open, close, fd, features ------------------------------------------- */

TEST_F(lib, open_paths)
{
	struct upin_ctx *ctx = (struct upin_ctx *)1;
	int fl;

	ASSERT_EQ(-EINVAL, upin_open(NULL, NULL));

	/* $UPIN_DEVICE is the default; an explicit path wins over it. */
	ASSERT_EQ(0, setenv("UPIN_DEVICE", "/nonexistent/upin", 1));
	ASSERT_EQ(-ENOENT, upin_open(&ctx, NULL));
	ASSERT_EQ(NULL, ctx);
	ASSERT_EQ(0, upin_open(&ctx, UPIN_DEFAULT_DEVICE));
	upin_close(ctx);
	ASSERT_EQ(0, setenv("UPIN_DEVICE", "", 1));
	ASSERT_EQ(0, upin_open(&ctx, NULL));	/* empty: the default */
	upin_close(ctx);
	unsetenv("UPIN_DEVICE");

	/* Something that is not upin answers GET_INFO with ENOTTY. */
	ASSERT_EQ(-ENOTTY, upin_open(&ctx, "/dev/null"));
	ASSERT_EQ(NULL, ctx);

	/* The descriptor is close-on-exec and a upin context. */
	fl = fcntl(upin_fd(self->ctx), F_GETFD);
	ASSERT_LE(0, fl);
	ASSERT_TRUE(fl & FD_CLOEXEC);
	ASSERT_EQ(REQUIRED_FEATURES,
		  upin_features(self->ctx) & REQUIRED_FEATURES);
	ASSERT_EQ(UPIN_ABI_VERSION, upin_abi_version(self->ctx));

	upin_close(NULL);
}

/* A user without access to the node gets EACCES, explained. */
TEST_F(lib, open_eacces)
{
	struct upin_report *rep = upin_report_new();
	struct upin_ctx *ctx;
	char msg[256];
	pid_t pid;

	ASSERT_NE(NULL, rep);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		UPIN_CHILD_CHECK(rep, 0, setgid(65534));
		UPIN_CHILD_CHECK(rep, 0, setuid(65534));
		UPIN_CHILD_CHECK(rep, -EACCES, upin_open(&ctx, NULL));
		UPIN_CHILD_CHECK(rep, 1,
				 !!strstr(upin_strerror(-EACCES, UPIN_OP_OPEN),
					  "udev rule"));
		_exit(0);
	}
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	munmap(rep, sizeof(*rep));
}

/* close() unpins every region the context holds. */
TEST_F(lib, close_unpins)
{
	uint64_t h;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len,
				      UPIN_PIN_WRITE, &h, NULL));
	ASSERT_EQ(3 * self->len / 1024, upin_vmpin_kb(0));
	upin_close(self->ctx);
	self->ctx = NULL;
	ASSERT_EQ(0, upin_vmpin_kb(0));
	ASSERT_EQ(0, upin_pins_outstanding());
}

/* --- get_info ------------------------------------------------------------- */

TEST_F(lib, get_info)
{
	struct {
		struct upin_info info;
		uint64_t newer;	/* a member a later header might add */
	} big;
	struct upin_info info, *huge;
	unsigned long before;
	uint64_t h;

	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len, 0, &h, NULL));
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, upin_get_info(self->ctx, &info, sizeof(info)));
	ASSERT_EQ(UPIN_ABI_VERSION, info.abi_version);
	ASSERT_EQ(self->page, info.page_size);
	ASSERT_EQ(REQUIRED_FEATURES, info.features & REQUIRED_FEATURES);
	ASSERT_EQ(upin_features(self->ctx), info.features);
	ASSERT_EQ(1, info.nr_regions);
	ASSERT_EQ(BUF_PAGES, info.pinned_pages);
	ASSERT_LE(BUF_PAGES, info.global_pinned_pages);
	ASSERT_EQ(0, info.flags);

	/* A caller built against a newer header: unknown members stay 0. */
	memset(&big, 0xa5, sizeof(big));
	ASSERT_EQ(0, upin_get_info(self->ctx, &big.info, sizeof(big)));
	ASSERT_EQ(BUF_PAGES, big.info.pinned_pages);
	ASSERT_EQ(0, big.newer);

	/* A caller built against the first layout (56 bytes) still works. */
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, upin_get_info(self->ctx, &info,
				   offsetof(struct upin_info, metadata_bytes)));
	ASSERT_EQ(BUF_PAGES, info.pinned_pages);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, info.metadata_bytes);

	/* Refused before the kernel: NULL, a size below the first layout. */
	before = sent_of(UPIN_IOC_GET_INFO);
	ASSERT_EQ(-EINVAL, upin_get_info(self->ctx, NULL, sizeof(info)));
	ASSERT_EQ(-EINVAL, upin_get_info(self->ctx, &info,
					 offsetof(struct upin_info,
						  metadata_bytes) - 8));
	ASSERT_EQ(-EINVAL, upin_get_info(self->ctx, &info, 0));
	ASSERT_EQ(before, sent_of(UPIN_IOC_GET_INFO));

	/* ABI 2: a size above the page size is E2BIG, even all zeros. */
	huge = calloc(1, self->page + 8);
	ASSERT_NE(NULL, huge);
	ASSERT_EQ(-E2BIG, upin_get_info(self->ctx, huge, self->page + 8));
	ASSERT_EQ(before + 1, sent_of(UPIN_IOC_GET_INFO));
	ASSERT_EQ(0, upin_get_info(self->ctx, huge, self->page));
	ASSERT_EQ(1, huge->nr_regions);
	free(huge);
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
}

/* --- pin and unpin -------------------------------------------------------- */

TEST_F(lib, pin_unpin)
{
	uint64_t h, h2, npages = 0;
	char *ro;

	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len,
			      UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h, &npages));
	ASSERT_NE(0, h);
	ASSERT_EQ(BUF_PAGES, npages);
	ASSERT_EQ(self->len / 1024, upin_vmpin_kb(0));
	/* npages may be NULL; a range that is not page aligned. */
	ASSERT_EQ(0, upin_pin(self->ctx, self->buf + 1, self->page, 0, &h2,
			      NULL));
	ASSERT_LT(h, h2);
	ASSERT_EQ(0, upin_unpin(self->ctx, h2));
	ASSERT_EQ(-ENOENT, upin_unpin(self->ctx, h2));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	ASSERT_EQ(0, upin_vmpin_kb(0));
	ASSERT_EQ(-ENOENT, upin_unpin(self->ctx, 0));

	/* Errors, each leaving nothing pinned. */
	ASSERT_EQ(-EINVAL, upin_pin(self->ctx, self->buf, 0, 0, &h, NULL));
	ASSERT_EQ(-EINVAL, upin_pin(self->ctx, self->buf, self->len, 0, NULL,
				    NULL));
	ASSERT_EQ(-EINVAL, upin_pin(self->ctx, (void *)-4096L, 8192, 0, &h,
				    NULL));
	/* A flag neither the kernel nor the library knows: the kernel's. */
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->ctx, self->buf, self->len,
					1u << 30, &h, NULL));
	ASSERT_EQ(UPIN_PIN_LONGTERM | (1u << 30), pin_flags_sent());
	ASSERT_EQ(0, munmap(self->buf + 8 * self->page, self->page));
	ASSERT_EQ(-EFAULT, upin_pin(self->ctx, self->buf, self->len, 0, &h,
				    NULL));
	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(-EFAULT, upin_pin(self->ctx, ro, self->page, UPIN_PIN_WRITE,
				    &h, NULL));
	ASSERT_EQ(0, upin_pin(self->ctx, ro, self->page, 0, &h, NULL));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	munmap(ro, self->page);
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

/*
 * upin_pin() pins longterm: it adds UPIN_PIN_LONGTERM unless it gets
 * UPIN_PIN_SHORTTERM, and an explicit UPIN_PIN_LONGTERM changes nothing.
 */
TEST_F(lib, pin_default_longterm)
{
	static const struct {
		uint32_t flags;		/* to upin_pin() */
		uint32_t pinned;	/* to the kernel, and as QUERY says */
	} cases[] = {
		{ 0, UPIN_PIN_LONGTERM },
		{ UPIN_PIN_WRITE, UPIN_PIN_WRITE | UPIN_PIN_LONGTERM },
		{ UPIN_PIN_LONGTERM, UPIN_PIN_LONGTERM },
		{ UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
		  UPIN_PIN_WRITE | UPIN_PIN_LONGTERM },
	};
	struct upin_region r;
	uint64_t h, npages;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len,
				      cases[i].flags, &h, &npages));
		ASSERT_EQ(cases[i].pinned, pin_flags_sent());
		ASSERT_EQ(BUF_PAGES, npages);
		ASSERT_EQ(0, upin_query(self->ctx, h, &r, sizeof(r)));
		ASSERT_EQ(cases[i].pinned, r.pin_flags)
			TH_LOG("flags 0x%x", cases[i].flags);
		ASSERT_EQ(0, upin_unpin(self->ctx, h));
	}
}

/*
 * UPIN_PIN_SHORTTERM (root here): the kernel gets no UPIN_PIN_LONGTERM and
 * never the library's bit; with UPIN_PIN_LONGTERM it is EINVAL, unsent.
 */
TEST_F(lib, pin_shortterm)
{
	struct upin_region r;
	struct upin_info info;
	unsigned long pins;
	uint64_t h, h2;

	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len,
			      UPIN_PIN_SHORTTERM, &h, NULL));
	ASSERT_EQ(0, pin_flags_sent());
	ASSERT_EQ(0, upin_query(self->ctx, h, &r, sizeof(r)));
	ASSERT_EQ(0, r.pin_flags);
	ASSERT_EQ(BUF_PAGES, r.npages);
	ASSERT_LE(1, r.nr_segments);	/* root sees the layout */

	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len,
			      UPIN_PIN_SHORTTERM | UPIN_PIN_WRITE, &h2, NULL));
	ASSERT_EQ(UPIN_PIN_WRITE, pin_flags_sent());
	ASSERT_EQ(0, upin_query(self->ctx, h2, &r, sizeof(r)));
	ASSERT_EQ(UPIN_PIN_WRITE, r.pin_flags);
	ASSERT_EQ(0, upin_unpin(self->ctx, h2));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));

	pins = sent_of(UPIN_IOC_PIN);
	ASSERT_EQ(-EINVAL, upin_pin(self->ctx, self->buf, self->len,
				    UPIN_PIN_SHORTTERM | UPIN_PIN_LONGTERM,
				    &h, NULL));
	ASSERT_EQ(-EINVAL, upin_pin(self->ctx, self->buf, self->len,
				    UPIN_PIN_SHORTTERM | UPIN_PIN_LONGTERM |
				    UPIN_PIN_WRITE, &h, NULL));
	ASSERT_EQ(pins, sent_of(UPIN_IOC_PIN));
	ASSERT_EQ(0, upin_get_info(self->ctx, &info, sizeof(info)));
	ASSERT_EQ(0, info.nr_regions);
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

/*
 * Without CAP_SYS_ADMIN (a forked child that dropped it, on a context of
 * its own): the default longterm pin works, the short-term one is EPERM
 * after the range is checked, the physical layout is EPERM and QUERY
 * counts no segment.
 */
TEST_F(lib, without_cap_sys_admin)
{
	struct upin_report *rep = upin_report_new();
	char msg[256];
	pid_t pid;

	ASSERT_NE(NULL, rep);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct upin_segment *segs = NULL;
		struct upin_region r;
		struct upin_info info;
		struct upin_ctx *ctx;
		uint64_t h, h2;
		size_t n = 7;

		UPIN_CHILD_CHECK(rep, 0, upin_drop_cap(CAP_SYS_ADMIN));
		UPIN_CHILD_CHECK(rep, 0, upin_open(&ctx, NULL));
		UPIN_CHILD_CHECK(rep, -EPERM,
				 upin_pin(ctx, self->buf, self->len,
					  UPIN_PIN_SHORTTERM, &h2, NULL));
		UPIN_CHILD_CHECK(rep, -EPERM,
				 upin_pin(ctx, self->buf, self->len,
					  UPIN_PIN_SHORTTERM | UPIN_PIN_WRITE,
					  &h2, NULL));
		UPIN_CHILD_CHECK(rep, -EINVAL,
				 upin_pin(ctx, self->buf, 0,
					  UPIN_PIN_SHORTTERM, &h2, NULL));
		UPIN_CHILD_CHECK(rep, 0, upin_vmpin_kb(0));
		UPIN_CHILD_CHECK(rep, 0, upin_get_info(ctx, &info,
						       sizeof(info)));
		UPIN_CHILD_CHECK(rep, 0, info.nr_regions);

		UPIN_CHILD_CHECK(rep, 0, upin_pin(ctx, self->buf, self->len,
						  UPIN_PIN_WRITE, &h, NULL));
		UPIN_CHILD_CHECK(rep, self->len / 1024, upin_vmpin_kb(0));
		UPIN_CHILD_CHECK(rep, 0, upin_query(ctx, h, &r, sizeof(r)));
		UPIN_CHILD_CHECK(rep, UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
				 r.pin_flags);
		UPIN_CHILD_CHECK(rep, BUF_PAGES, r.npages);
		UPIN_CHILD_CHECK(rep, 0, r.nr_segments);
		UPIN_CHILD_CHECK(rep, -EPERM, upin_segments(ctx, h, &segs,
							    &n));
		UPIN_CHILD_CHECK(rep, 0, upin_unpin(ctx, h));
		UPIN_CHILD_CHECK(rep, 0, upin_vmpin_kb(0));
		upin_close(ctx);
		_exit(0);
	}
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	munmap(rep, sizeof(*rep));
}

/*
 * The file rule: every write pin of a shared ext4 mapping, longterm (the
 * default) or short-term, is EOPNOTSUPP; read pins of it work.
 */
TEST_F(lib, pin_write_shared_file)
{
	const char *dir = getenv("UPIN_EXT4_DIR");
	char path[256];
	uint64_t h;
	void *map;
	int fd;

	if (!dir)
		SKIP(return, "no ext4 directory (UPIN_EXT4_DIR)");
	snprintf(path, sizeof(path), "%s/upin_lib_test.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(fd, self->len));
	map = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(-EOPNOTSUPP,
		  upin_pin(self->ctx, map, self->len,
			   UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h, NULL));
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->ctx, map, self->len,
					UPIN_PIN_WRITE, &h, NULL));
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(self->ctx, map, self->len,
					UPIN_PIN_WRITE | UPIN_PIN_SHORTTERM,
					&h, NULL));
	ASSERT_EQ(UPIN_PIN_WRITE, pin_flags_sent());
	ASSERT_EQ(0, upin_vmpin_kb(0));
	ASSERT_NE(NULL, strstr(upin_strerror(-EOPNOTSUPP, UPIN_OP_PIN),
			       "write pin of a shared mapping of a file"));
	ASSERT_NE(NULL, strstr(upin_strerror(-EOPNOTSUPP,
					     UPIN_OP_PIN_SHORTTERM),
			       "write pin of a shared mapping of a file"));
	ASSERT_EQ(0, upin_pin(self->ctx, map, self->len, 0, &h, NULL));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	ASSERT_EQ(0, upin_pin(self->ctx, map, self->len, UPIN_PIN_SHORTTERM,
			      &h, NULL));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	munmap(map, self->len);
}

/* RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM, explained. */
TEST_F(lib, pin_memlock)
{
	struct upin_report *rep = upin_report_new();
	struct rlimit rl = { self->page, self->page };
	struct upin_ctx *ctx;
	char msg[256];
	uint64_t h;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		UPIN_CHILD_CHECK(rep, 0, setrlimit(RLIMIT_MEMLOCK, &rl));
		UPIN_CHILD_CHECK(rep, 0, upin_drop_cap(CAP_IPC_LOCK));
		UPIN_CHILD_CHECK(rep, 0, upin_open(&ctx, NULL));
		UPIN_CHILD_CHECK(rep, -ENOMEM,
				 upin_pin(ctx, self->buf, self->len, 0, &h,
					  NULL));
		UPIN_CHILD_CHECK(rep, 0, upin_vmpin_kb(0));
		UPIN_CHILD_CHECK(rep, 0, upin_pin(ctx, self->buf, self->page,
						  0, &h, NULL));
		UPIN_CHILD_CHECK(rep, 1,
				 !!strstr(upin_strerror(-ENOMEM, UPIN_OP_PIN),
					  "RLIMIT_MEMLOCK"));
		upin_close(ctx);
		_exit(0);
	}
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	munmap(rep, sizeof(*rep));
}

/* A forked child cannot use its parent's context, but can ask for info. */
TEST_F(lib, foreign_mm)
{
	struct upin_report *rep = upin_report_new();
	struct upin_segment *segs;
	struct upin_region region;
	struct upin_info info;
	uint64_t h, *handles;
	char msg[256], c;
	size_t n;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len, UPIN_PIN_WRITE,
			      &h, NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct upin_ctx *ctx = self->ctx;
		uint64_t h2;

		UPIN_CHILD_CHECK(rep, 0, upin_get_info(ctx, &info,
						       sizeof(info)));
		UPIN_CHILD_CHECK(rep, 1, info.nr_regions);
		UPIN_CHILD_CHECK(rep, -EPERM, upin_pin(ctx, self->buf,
						       self->len, 0, &h2,
						       NULL));
		UPIN_CHILD_CHECK(rep, -EPERM,
				 upin_pin(ctx, self->buf, self->len,
					  UPIN_PIN_SHORTTERM, &h2, NULL));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_unpin(ctx, h));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_query(ctx, h, &region,
							 sizeof(region)));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_list(ctx, &handles, &n));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_access_read(ctx, h, 0, &c,
							       1));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_access_write(ctx, h, 0, &c,
								1));
		UPIN_CHILD_CHECK(rep, -EPERM, upin_segments(ctx, h, &segs,
							    &n));
		_exit(0);
	}
	ASSERT_EQ(0, upin_wait_child(pid, rep, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	munmap(rep, sizeof(*rep));
}

/* --- query, list, access, segments --------------------------------------- */

TEST_F(lib, query)
{
	struct {
		struct upin_region region;
		uint64_t newer;
	} big;
	struct upin_region r, *huge;
	uint64_t h;

	ASSERT_EQ(0, upin_pin(self->ctx, self->buf + 100, self->len - 200,
			      UPIN_PIN_WRITE, &h, NULL));
	memset(&r, 0xa5, sizeof(r));
	ASSERT_EQ(0, upin_query(self->ctx, h, &r, sizeof(r)));
	ASSERT_EQ(h, r.handle);
	ASSERT_EQ((uintptr_t)self->buf + 100, r.addr);
	ASSERT_EQ(self->len - 200, r.length);
	ASSERT_EQ(UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, r.pin_flags);
	ASSERT_EQ(BUF_PAGES, r.npages);
	ASSERT_LE(1, r.nr_segments);
	ASSERT_GE(BUF_PAGES, r.nr_segments);
	ASSERT_EQ(0, r.__reserved);

	memset(&big, 0xa5, sizeof(big));
	ASSERT_EQ(0, upin_query(self->ctx, h, &big.region, sizeof(big)));
	ASSERT_EQ(BUF_PAGES, big.region.npages);
	ASSERT_EQ(0, big.newer);

	ASSERT_EQ(-ENOENT, upin_query(self->ctx, h + 1, &r, sizeof(r)));
	ASSERT_EQ(-EINVAL, upin_query(self->ctx, h, &r, sizeof(r) - 8));
	ASSERT_EQ(-EINVAL, upin_query(self->ctx, h, NULL, sizeof(r)));

	/* ABI 2: a size above the page size is E2BIG, even all zeros. */
	huge = calloc(1, self->page + 1);
	ASSERT_NE(NULL, huge);
	ASSERT_EQ(-E2BIG, upin_query(self->ctx, h, huge, self->page + 1));
	ASSERT_EQ(0, upin_query(self->ctx, h, huge, self->page));
	ASSERT_EQ(BUF_PAGES, huge->npages);
	free(huge);
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	ASSERT_EQ(-ENOENT, upin_query(self->ctx, h, &r, sizeof(r)));
}

/* list sizes its array itself: more regions than its first guess. */
TEST_F(lib, list)
{
	enum { N = LIB_ARRAY_GUESS + 36 };
	uint64_t want[N], *handles = (uint64_t *)1;
	unsigned long before;
	size_t n = 1, i;

	ASSERT_EQ(0, upin_list(self->ctx, &handles, &n));
	ASSERT_EQ(0, n);
	ASSERT_EQ(NULL, handles);
	ASSERT_EQ(-EINVAL, upin_list(self->ctx, NULL, &n));
	ASSERT_EQ(-EINVAL, upin_list(self->ctx, &handles, NULL));

	for (i = 0; i < N; i++)
		ASSERT_EQ(0, upin_pin(self->ctx, self->buf + (i % BUF_PAGES) *
				      self->page, self->page, 0, &want[i],
				      NULL));
	/* One call with the guess, EMSGSIZE, one call that fits. */
	before = sent_of(UPIN_IOC_LIST);
	ASSERT_EQ(0, upin_list(self->ctx, &handles, &n));
	ASSERT_EQ(before + 2, sent_of(UPIN_IOC_LIST));
	ASSERT_EQ(N, n);
	for (i = 0; i < N; i++)
		ASSERT_EQ(want[i], handles[i]);	/* issued ascending */
	free(handles);

	for (i = 0; i < N; i += 2)
		ASSERT_EQ(0, upin_unpin(self->ctx, want[i]));
	ASSERT_EQ(0, upin_list(self->ctx, &handles, &n));
	ASSERT_EQ(N / 2, n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(want[2 * i + 1], handles[i]);
	free(handles);
	for (i = 1; i < N; i += 2)
		ASSERT_EQ(0, upin_unpin(self->ctx, want[i]));
}

TEST_F(lib, access)
{
	char *out = malloc(self->len), *in = malloc(self->len);
	uint64_t h, ro;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len, UPIN_PIN_WRITE,
			      &h, NULL));
	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len, 0, &ro, NULL));

	/* Read what the process wrote, through the pin. */
	ASSERT_EQ(0, upin_access_read(self->ctx, h, 0, out, self->len));
	ASSERT_EQ(-1, upin_pat_mismatch(out, self->len, 0, 1));

	/* The device writes; the process and the other pin see it. */
	upin_pat_fill(in, self->len, 0, 2);
	ASSERT_EQ(0, upin_access_write(self->ctx, h, self->page, in,
				       2 * self->page));
	ASSERT_EQ(-1, upin_pat_mismatch(self->buf + self->page, 2 * self->page,
					0, 2));
	ASSERT_EQ(0, upin_access_read(self->ctx, ro, self->page + 1, out, 5));
	ASSERT_EQ(-1, upin_pat_mismatch(out, 5, 1, 2));

	/* Errors. */
	ASSERT_EQ(-EPERM, upin_access_write(self->ctx, ro, 0, in, 1));
	ASSERT_EQ(-EINVAL, upin_access_read(self->ctx, h, 0, out, 0));
	ASSERT_EQ(-EINVAL, upin_access_read(self->ctx, h, self->len - 1, out,
					    2));
	ASSERT_EQ(-EINVAL, upin_access_write(self->ctx, h, -1ull, in, 2));
	ASSERT_EQ(-ENOENT, upin_access_read(self->ctx, h + ro, 0, out, 1));
	ASSERT_EQ(-EFAULT, upin_access_read(self->ctx, h, 0, NULL, 1));
	ASSERT_EQ(0, upin_unpin(self->ctx, ro));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	free(out);
	free(in);
}

/*
 * A read-only short-term pin (root's diagnostic) of untouched private
 * anonymous memory pins the shared zero page at every address: no two pages
 * are contiguous, so the region has one segment per page, more than the
 * library's first guess. (A longterm one would unshare the zero page.)
 */
TEST_F(lib, segments)
{
	enum { PAGES = LIB_ARRAY_GUESS + 36 };
	size_t len = PAGES * self->page, n = 1, i;
	struct upin_segment *segs;
	struct upin_region r;
	unsigned long before;
	uint64_t h, total;
	char *zero;

	zero = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, zero);
	ASSERT_EQ(0, madvise(zero, len, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, upin_pin(self->ctx, zero, len, UPIN_PIN_SHORTTERM, &h,
			      NULL));
	ASSERT_EQ(0, upin_query(self->ctx, h, &r, sizeof(r)));
	ASSERT_EQ(0, r.pin_flags);

	before = sent_of(UPIN_IOC_SEGMENTS);
	ASSERT_EQ(0, upin_segments(self->ctx, h, &segs, &n));
	ASSERT_EQ(r.nr_segments, n);
	ASSERT_EQ(PAGES, n);
	ASSERT_EQ(before + 2, sent_of(UPIN_IOC_SEGMENTS));
	for (total = 0, i = 0; i < n; i++) {
		ASSERT_NE(0, segs[i].phys);	/* root has CAP_SYS_ADMIN */
		total += segs[i].length;
	}
	ASSERT_EQ(len, total);
	free(segs);

	/* Written memory: the lengths still add up. */
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	ASSERT_EQ(0, upin_pin(self->ctx, self->buf, self->len, UPIN_PIN_WRITE,
			      &h, NULL));
	ASSERT_EQ(0, upin_segments(self->ctx, h, &segs, &n));
	for (total = 0, i = 0; i < n; i++)
		total += segs[i].length;
	ASSERT_EQ(self->len, total);
	free(segs);

	ASSERT_EQ(-ENOENT, upin_segments(self->ctx, h + 1, &segs, &n));
	ASSERT_EQ(-EINVAL, upin_segments(self->ctx, h, NULL, &n));
	ASSERT_EQ(-EINVAL, upin_segments(self->ctx, h, &segs, NULL));
	ASSERT_EQ(0, upin_unpin(self->ctx, h));
	munmap(zero, len);
}

/* --- an older module ------------------------------------------------------ */

/*
 * A module without a feature: the call that needs it fails with EOPNOTSUPP
 * and is never sent; the calls that do not need it still work.
 */
TEST_F(lib, missing_features)
{
	struct upin_segment *segs;
	struct upin_ctx *ctx;
	unsigned long pins, accesses, segments;
	uint64_t h;
	size_t n;
	char c = 0;

	fake_features_clear = REQUIRED_FEATURES;
	ASSERT_EQ(0, upin_open(&ctx, NULL));
	fake_features_clear = 0;
	ASSERT_EQ(0, upin_features(ctx) & REQUIRED_FEATURES);

	pins = sent_of(UPIN_IOC_PIN);
	accesses = sent_of(UPIN_IOC_ACCESS);
	segments = sent_of(UPIN_IOC_SEGMENTS);
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(ctx, self->buf, self->len,
					UPIN_PIN_WRITE, &h, NULL));
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(ctx, self->buf, self->len,
					UPIN_PIN_LONGTERM, &h, NULL));
	/* The default is longterm: it needs the feature too. */
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(ctx, self->buf, self->len, 0, &h,
					NULL));
	ASSERT_EQ(pins, sent_of(UPIN_IOC_PIN));

	ASSERT_EQ(0, upin_pin(ctx, self->buf, self->len, UPIN_PIN_SHORTTERM,
			      &h, NULL));
	ASSERT_EQ(pins + 1, sent_of(UPIN_IOC_PIN));
	ASSERT_EQ(0, pin_flags_sent());
	ASSERT_EQ(-EOPNOTSUPP, upin_access_write(ctx, h, 0, &c, 1));
	ASSERT_EQ(-EOPNOTSUPP, upin_segments(ctx, h, &segs, &n));
	ASSERT_EQ(accesses, sent_of(UPIN_IOC_ACCESS));
	ASSERT_EQ(segments, sent_of(UPIN_IOC_SEGMENTS));
	ASSERT_EQ(0, upin_access_read(ctx, h, 0, &c, 1));
	ASSERT_EQ(accesses + 1, sent_of(UPIN_IOC_ACCESS));
	ASSERT_NE(NULL, strstr(upin_strerror(-EOPNOTSUPP, UPIN_OP_SEGMENTS),
			       "lacks this feature"));
	upin_close(ctx);

	/* Only the features that are missing are refused. */
	fake_features_clear = UPIN_FEATURE_PIN_LONGTERM;
	ASSERT_EQ(0, upin_open(&ctx, NULL));
	fake_features_clear = 0;
	pins = sent_of(UPIN_IOC_PIN);
	ASSERT_EQ(0, upin_pin(ctx, self->buf, self->len,
			      UPIN_PIN_WRITE | UPIN_PIN_SHORTTERM, &h, NULL));
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(ctx, self->buf, self->len,
					UPIN_PIN_WRITE, &h, NULL));
	ASSERT_EQ(-EOPNOTSUPP, upin_pin(ctx, self->buf, self->len,
					UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
					&h, NULL));
	ASSERT_EQ(pins + 1, sent_of(UPIN_IOC_PIN));
	upin_close(ctx);
}

/*
 * Modules of ABI version 1 and 2 are accepted and upin_abi_version() says
 * which; the library pins longterm with either. Versions outside
 * [UPIN_ABI_VERSION_MIN, UPIN_ABI_VERSION] are refused at open.
 */
TEST_F(lib, abi_versions)
{
	static const uint32_t refused[] = { 0, UPIN_ABI_VERSION + 1, ~0u };
	struct upin_ctx *ctx;
	struct upin_region r;
	uint32_t v;
	uint64_t h;
	size_t i;

	ASSERT_EQ(1, UPIN_ABI_VERSION_MIN);
	ASSERT_EQ(2, UPIN_ABI_VERSION);
	for (v = UPIN_ABI_VERSION_MIN; v <= UPIN_ABI_VERSION; v++) {
		fake_abi_version = v;
		ctx = NULL;
		ASSERT_EQ(0, upin_open(&ctx, NULL));
		fake_abi_version = -1;
		ASSERT_NE(NULL, ctx);
		ASSERT_EQ(v, upin_abi_version(ctx));
		ASSERT_EQ(0, upin_pin(ctx, self->buf, self->len, 0, &h, NULL));
		ASSERT_EQ(UPIN_PIN_LONGTERM, pin_flags_sent());
		ASSERT_EQ(0, upin_query(ctx, h, &r, sizeof(r)));
		ASSERT_EQ(UPIN_PIN_LONGTERM, r.pin_flags);
		upin_close(ctx);
		ASSERT_EQ(0, upin_vmpin_kb(0));
	}

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ctx = (struct upin_ctx *)1;
		fake_abi_version = refused[i];
		ASSERT_EQ(-EPROTO, upin_open(&ctx, NULL))
			TH_LOG("abi_version %u", refused[i]);
		fake_abi_version = -1;
		ASSERT_EQ(NULL, ctx);
	}
	ASSERT_NE(NULL, strstr(upin_strerror(-EPROTO, UPIN_OP_OPEN),
			       "ABI version"));
}

/* --- upin_strerror -------------------------------------------------------- */

TEST(strerror_explains)
{
	static const struct {
		int err;
		enum upin_op op;
		const char *has;
	} cases[] = {
		{ -EOPNOTSUPP, UPIN_OP_PIN, "write pin" },
		{ EOPNOTSUPP, UPIN_OP_PIN, "write pin of a shared mapping" },
		{ -EOPNOTSUPP, UPIN_OP_PIN, "on every kernel" },
		{ -EOPNOTSUPP, UPIN_OP_PIN_SHORTTERM, "write pin" },
		{ -ENOSPC, UPIN_OP_PIN, "max_regions" },
		{ -ENOSPC, UPIN_OP_PIN, "max_pages" },
		{ -ENOMEM, UPIN_OP_PIN, "RLIMIT_MEMLOCK" },
		{ -EFAULT, UPIN_OP_PIN, "PROT_NONE" },
		{ -EINTR, UPIN_OP_PIN, "nothing stays pinned" },
		{ -EINVAL, UPIN_OP_PIN,
		  "UPIN_PIN_SHORTTERM with UPIN_PIN_LONGTERM" },
		{ -EPERM, UPIN_OP_PIN_SHORTTERM, "CAP_SYS_ADMIN" },
		{ -EPERM, UPIN_OP_PIN_SHORTTERM, "short-term pin" },
		{ -EPERM, UPIN_OP_PIN_SHORTTERM, "another process" },
		{ -EPERM, UPIN_OP_SEGMENTS, "CAP_SYS_ADMIN" },
		{ -EPERM, UPIN_OP_SEGMENTS, "another process" },
		{ -EPERM, UPIN_OP_UNPIN, "forked child" },
		{ -EPERM, UPIN_OP_PIN, "forked child" },
		{ -EPERM, UPIN_OP_LIST, "forked child" },
		{ -EPERM, UPIN_OP_QUERY, "forked child" },
		{ -EPERM, UPIN_OP_ACCESS_WRITE, "without UPIN_PIN_WRITE" },
		{ -ENOENT, UPIN_OP_OPEN, "module loaded" },
		{ -ENOENT, UPIN_OP_QUERY, "no region with that handle" },
		{ -EINVAL, UPIN_OP_ACCESS_READ, "past the end of the region" },
		{ -E2BIG, UPIN_OP_GET_INFO, "larger than the module knows" },
		{ -E2BIG, UPIN_OP_PIN_SHORTTERM, "larger than a page" },
		{ -ENOTTY, UPIN_OP_OPEN, "not a upin device" },
		{ -ENOTTY, UPIN_OP_PIN_SHORTTERM,
		  "does not know this command" },
	};
	/* What upin_pin() can fail with means the same, short-term or not. */
	static const int pin_errs[] = {
		EINVAL, EFAULT, EOPNOTSUPP, ENOMEM, ENOSPC, EINTR, E2BIG,
		ENOTTY,
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = upin_strerror(cases[i].err, cases[i].op);

		ASSERT_NE(NULL, strstr(s, cases[i].has))
			TH_LOG("upin_strerror(%d, %d) = \"%s\"", cases[i].err,
			       cases[i].op, s);
		/* The C library's text comes first. */
		ASSERT_EQ(0, strncmp(s, strerror(abs(cases[i].err)),
				     strlen(strerror(abs(cases[i].err)))));
	}
	for (i = 0; i < sizeof(pin_errs) / sizeof(pin_errs[0]); i++) {
		ASSERT_STREQ(upin_strerror(-pin_errs[i], UPIN_OP_PIN),
			     upin_strerror(-pin_errs[i],
					   UPIN_OP_PIN_SHORTTERM));
		ASSERT_STRNE(strerror(pin_errs[i]),
			     upin_strerror(-pin_errs[i],
					   UPIN_OP_PIN_SHORTTERM));
	}
	/* The rules' EPERMs are not the owner's, nor each other's. */
	ASSERT_STRNE(upin_strerror(-EPERM, UPIN_OP_PIN),
		     upin_strerror(-EPERM, UPIN_OP_PIN_SHORTTERM));
	ASSERT_STRNE(upin_strerror(-EPERM, UPIN_OP_QUERY),
		     upin_strerror(-EPERM, UPIN_OP_SEGMENTS));
	ASSERT_STRNE(upin_strerror(-EPERM, UPIN_OP_PIN_SHORTTERM),
		     upin_strerror(-EPERM, UPIN_OP_SEGMENTS));
	ASSERT_EQ(NULL, strstr(upin_strerror(-EPERM, UPIN_OP_PIN),
			       "CAP_SYS_ADMIN"));
	/* No upin meaning: the C library's text alone. */
	ASSERT_STREQ(strerror(EXDEV), upin_strerror(-EXDEV, UPIN_OP_PIN));
	ASSERT_STREQ(strerror(EXDEV),
		     upin_strerror(-EXDEV, UPIN_OP_PIN_SHORTTERM));
	ASSERT_STREQ(strerror(ENOMEM), upin_strerror(-ENOMEM, UPIN_OP_LIST));
	ASSERT_STREQ(strerror(EPERM), upin_strerror(-EPERM, UPIN_OP_OPEN));
	ASSERT_NE(NULL, upin_strerror(-EINVAL, (enum upin_op)999));
	ASSERT_NE(NULL, upin_strerror(-100000, UPIN_OP_PIN));
}

/* --- threads sharing one context ------------------------------------------ */

#define NTHREADS	4
#define ROUNDS		100

struct worker {
	struct upin_ctx *ctx;
	char *buf;		/* this thread's slice */
	size_t len;
	unsigned int seed;
	char err[160];
};

#define WORKER_CHECK(w, cond, ...) do {					\
	if (!(cond)) {							\
		snprintf((w)->err, sizeof((w)->err), __VA_ARGS__);	\
		return NULL;						\
	}								\
} while (0)

/* Pin, query, access, list, segments, unpin, ROUNDS times, on one context. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct upin_segment *segs;
	struct upin_region r;
	uint64_t h, *handles;
	char io[64];
	size_t n, i;
	bool found;
	int round, ret;

	for (round = 0; round < ROUNDS; round++) {
		unsigned int seed = w->seed + round * NTHREADS;

		ret = upin_pin(w->ctx, w->buf, w->len, UPIN_PIN_WRITE, &h,
			       NULL);
		WORKER_CHECK(w, !ret, "round %d: pin: %d", round, ret);
		ret = upin_query(w->ctx, h, &r, sizeof(r));
		WORKER_CHECK(w, !ret && r.addr == (uintptr_t)w->buf,
			     "round %d: query: %d", round, ret);

		upin_pat_fill(io, sizeof(io), round, seed);
		ret = upin_access_write(w->ctx, h, round, io, sizeof(io));
		WORKER_CHECK(w, !ret, "round %d: access write: %d", round,
			     ret);
		memset(io, 0, sizeof(io));
		ret = upin_access_read(w->ctx, h, round, io, sizeof(io));
		WORKER_CHECK(w, !ret && upin_pat_mismatch(io, sizeof(io),
							  round, seed) < 0,
			     "round %d: access read: %d or wrong data", round,
			     ret);

		ret = upin_list(w->ctx, &handles, &n);
		WORKER_CHECK(w, !ret, "round %d: list: %d", round, ret);
		found = false;
		for (i = 0; i < n; i++) {
			found |= handles[i] == h;
			if (i && handles[i - 1] >= handles[i])
				break;
		}
		free(handles);
		WORKER_CHECK(w, found && i == n,
			     "round %d: list: own handle %s, order %s", round,
			     found ? "found" : "missing",
			     i == n ? "ascending" : "broken");

		ret = upin_segments(w->ctx, h, &segs, &n);
		WORKER_CHECK(w, !ret && n == r.nr_segments,
			     "round %d: segments: %d, %zu of %llu", round, ret,
			     n, (unsigned long long)r.nr_segments);
		free(segs);

		ret = upin_unpin(w->ctx, h);
		WORKER_CHECK(w, !ret, "round %d: unpin: %d", round, ret);
	}
	return NULL;
}

TEST_F_TIMEOUT(lib, threads_share_one_context, 120)
{
	size_t slice = self->len / NTHREADS;
	struct worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	struct upin_info info;
	int i;

	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){
			.ctx = self->ctx,
			.buf = self->buf + i * slice,
			.len = slice,
			.seed = 10 + i,
		};
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, worker_run, &w[i]));
	}
	for (i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(tid[i], NULL));
		EXPECT_STREQ("", w[i].err);
	}
	ASSERT_EQ(0, upin_get_info(self->ctx, &info, sizeof(info)));
	ASSERT_EQ(0, info.nr_regions);
	ASSERT_EQ(0, info.pinned_pages);
	ASSERT_EQ(0, upin_vmpin_kb(0));
	/* The last round of each thread wrote its pattern into the buffer. */
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(-1, upin_pat_mismatch(w[i].buf + ROUNDS - 1, 64,
						ROUNDS - 1,
						w[i].seed + (ROUNDS - 1) * NTHREADS));
}

TEST_HARNESS_MAIN

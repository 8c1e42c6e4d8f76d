// SPDX-License-Identifier: GPL-2.0
/*
 * upin-bench: what a pin and an unpin cost through upin, against the two
 * peers a driver author would compare it with, on the same buffer, in the
 * same boot, taking turns (see run_case()):
 *
 *   upin     UPIN_IOC_PIN + UPIN_IOC_UNPIN
 *   io_uring IORING_REGISTER_BUFFERS + IORING_UNREGISTER_BUFFERS of one
 *            iovec (raw syscalls); always FOLL_WRITE | FOLL_LONGTERM, at most
 *            1 GiB per buffer
 *   raw      one ioctl into tools/bench/upin_bench_raw.ko: page array,
 *            pin_user_pages_fast(), unpin_user_pages_dirty_lock(), free
 *   raw2     the same in two ioctls, a pin and an unpin, as upin (and any
 *            driver whose user pins and unpins in different calls) must:
 *            what splitting the work in two syscalls costs by itself
 *
 * Everything is timed from userspace with CLOCK_MONOTONIC around whole
 * calls. A run repeats each operation (more often for small buffers), the
 * methods taking turns, and keeps the median per method; a result is the
 * median of the runs, with their minimum and maximum (the spread).
 *
 *   upin-bench [options]
 *
 *   --smoke          a few small cases, 3 runs, and TAP lines saying whether
 *                    the output is sane (part of make check; no timing
 *                    assertion)
 *   --runs N         runs per case and method (default 11)
 *   --max-size SIZE  largest buffer, with a K/M/G suffix (default 1G)
 *   --regions N      the large context of the scaling case (default 65536;
 *                    the small one holds 64)
 *   --loop METHOD,MEM,SIZE [--seconds N]
 *                    no cases: pin and unpin SIZE of MEM (writable,
 *                    longterm) through METHOD (upin, io_uring, raw, raw2)
 *                    over and over for N seconds (default 10), for a
 *                    profiler to sample (make profile, which runs
 *                    tools/bench/run.sh --profile in the guest)
 *   -h, --help       this text
 *
 * Cases: a size sweep (4 KiB to --max-size, by 16x, and 256 MiB) of
 * four kinds of memory, pinned writable and longterm (what io_uring does):
 *
 *   anon4k     anonymous 4 KiB pages as a fresh process gets them: in a
 *              freshly booted VM mostly physically contiguous, so upin
 *              keeps them as runs
 *   scattered  anonymous 4 KiB pages none of which follows the one before
 *              it in physical memory, as on a long-running machine: upin's
 *              worst case (buffer_scattered())
 *   thp        anonymous memory in 2 MiB transparent huge pages
 *   hugetlb    MAP_HUGETLB memory in 2 MiB huge pages
 *
 * the three other flag combinations at 256 MiB; the cost of one pin,
 * query and unpin in a context holding 64 regions against one holding
 * --regions regions; and what mapping a pinned region for a device costs,
 * upin_dma_map() + upin_dma_unmap() against the ib_umem way (page array,
 * sg_alloc_table_from_pages_segment(), dma_map_sgtable()), timed in the
 * kernel by tools/bench/upin_bench_dma.ko on 64 MiB (2 MiB with --smoke)
 * of anon4k, scattered and thp memory.
 *
 * Output (stdout): "# bench: ..." progress lines, and CSV rows that
 * tools/bench/report turns into tables and plots:
 *
 *   csv-case,KERNEL,GROUP,MEM,SIZE,FLAGS,PAGES,RUNS,ITERS,
 *            UPIN_MED,UPIN_MIN,UPIN_MAX,URING_MED,URING_MIN,URING_MAX,
 *            RAW_MED,RAW_MIN,RAW_MAX,METADATA_BYTES,RATIO_URING,RATIO_RAW,
 *            RAW2_MED,RAW2_MIN,RAW2_MAX,RATIO_RAW2,
 *            UPIN_PIN_MED,UPIN_PIN_MIN,UPIN_PIN_MAX,
 *            RAW2_PIN_MED,RAW2_PIN_MIN,RAW2_PIN_MAX,RATIO_PIN
 *   csv-scaling,KERNEL,OP,SMALL_N,MED,MIN,MAX,LARGE_N,MED,MIN,MAX
 *   csv-dma,KERNEL,MEM,SIZE,PAGES,RUNS,UPIN_MED,UPIN_MIN,UPIN_MAX,
 *           UMEM_MED,UMEM_MIN,UMEM_MAX,RATIO,UPIN_ENTRIES,UMEM_ENTRIES
 *
 * Times are nanoseconds per operation (a pin and its unpin; *_PIN_* are
 * the pin halves alone, the first of the two calls, RATIO_PIN upin's over
 * raw2's, which is raw's pin; for scaling one
 * pin, one query or one unpin, each timed alone: the median of a run's
 * calls is the run's result); an empty field is a method that failed
 * (its error is on a "# bench:" line). METADATA_BYTES is upin_info's
 * metadata_bytes with the case's region pinned. RATIO_* are paired: the
 * median over every operation of the case of upin's time over the time of
 * the peer's operation of the same number in the same run, which load on
 * the host moves much less than the times themselves. A dma row's times are
 * nanoseconds per page of one mapping and unmapping, its ratio paired the
 * same way, its entries the scatterlist's. Needs root,
 * /dev/upin and
 * /dev/upin_bench_raw; hugetlb cases resize /proc/sys/vm/nr_hugepages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/upin.h>

#include "upin_bench_dma.h"
#include "upin_bench_raw.h"
#include "upin_util.h"

#define KIB		1024UL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define HPAGE		(2 * MIB)
#define NR_HUGE_PATH	"/proc/sys/vm/nr_hugepages"

enum mem { MEM_ANON, MEM_SCATTERED, MEM_THP, MEM_HUGETLB, NR_MEMS };
static const char *const mem_names[NR_MEMS] = {
	"anon4k", "scattered", "thp", "hugetlb"
};

enum method { M_UPIN, M_URING, M_RAW, M_RAW2, NR_METHODS };
static const char *const method_names[NR_METHODS] = {
	"upin", "io_uring", "raw", "raw in 2 calls"
};

static struct {
	bool smoke;
	int runs;
	size_t max_size;
	unsigned long regions;
	long page;
	char kernel[65];
	int upin, uring, raw, dma;	/* file descriptors */
	int tap;		/* TAP lines printed (smoke) */
	int failed;		/* cases where upin or raw failed */
	int peer_failed;	/* cases where io_uring failed */
	int no_metadata;	/* cases without metadata_bytes */
	int scaling_failed;
	int dma_failed;
	const char *loop;	/* --loop METHOD,MEM,SIZE */
	int seconds;
	double mid;		/* when the last operation's pin returned */
} bench = { .runs = 11, .max_size = GIB, .regions = 65536, .seconds = 10 };

struct result {
	double med, min, max;	/* ns per operation */
	int err;		/* 0, or the errno of the first failure */
};

static void usage(FILE *f)
{
	static const char *const text[] = {
		"usage: upin-bench [--smoke] [--runs N] [--max-size SIZE] [--regions N]",
		"",
		"Times PIN+UNPIN through /dev/upin against io_uring buffer",
		"registration and raw pin_user_pages_fast() (upin_bench_raw.ko,",
		"in one ioctl and in two),",
		"alternating on the same buffers, and prints CSV rows for",
		"tools/bench/report. See the comment at the top of upin-bench.c.",
		"",
		"  --smoke          small cases, 3 runs, TAP verdicts on the output",
		"  --runs N         runs per case and method (default 11)",
		"  --max-size SIZE  largest buffer, K/M/G suffix (default 1G)",
		"  --regions N      regions of the large scaling context (65536)",
		"  --loop METHOD,MEM,SIZE [--seconds N]",
		"                   only pin+unpin SIZE of MEM through METHOD, for N s",
		"  -h, --help       this text",
	};
	size_t i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		fprintf(f, "%s\n", text[i]);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summarize(double *v, int n, struct result *r)
{
	qsort(v, n, sizeof(*v), cmp_double);
	r->min = v[0];
	r->max = v[n - 1];
	r->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("# bench: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void size_name(size_t size, char *buf, size_t len)
{
	if (size >= GIB && !(size % GIB))
		snprintf(buf, len, "%zu GiB", size / GIB);
	else if (size >= MIB && !(size % MIB))
		snprintf(buf, len, "%zu MiB", size / MIB);
	else
		snprintf(buf, len, "%zu KiB", size / KIB);
}

static const char *flags_name(uint32_t flags)
{
	static const char *const names[] = {
		"ro", "rw", "ro_longterm", "rw_longterm"
	};

	return names[flags & 3];
}

/* --- the methods ------------------------------------------------------- */

static int upin_pin_unpin(char *p, size_t len, uint32_t flags)
{
	struct upin_pin pin = {
		.size = sizeof(pin), .flags = flags,
		.addr = (uintptr_t)p, .length = len,
	};
	struct upin_unpin unpin = { .size = sizeof(unpin) };

	if (ioctl(bench.upin, UPIN_IOC_PIN, &pin))
		return -errno;
	bench.mid = now_ns();
	unpin.handle = pin.handle;
	if (ioctl(bench.upin, UPIN_IOC_UNPIN, &unpin))
		return -errno;
	return 0;
}

static int uring_register_unregister(char *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };

	if (syscall(__NR_io_uring_register, bench.uring,
		    IORING_REGISTER_BUFFERS, &iov, 1))
		return -errno;
	bench.mid = now_ns();
	if (syscall(__NR_io_uring_register, bench.uring,
		    IORING_UNREGISTER_BUFFERS, NULL, 0))
		return -errno;
	return 0;
}

static int raw_pin_unpin(char *p, size_t len, uint32_t flags)
{
	struct upin_bench_raw raw = {
		.addr = (uintptr_t)p, .length = len, .flags = flags,
	};

	int ret = ioctl(bench.raw, UPIN_BENCH_RAW_PIN_UNPIN, &raw) ? -errno : 0;

	/* No pin half to time, but the same three clock reads as the others. */
	bench.mid = now_ns();
	return ret;
}

static int raw2_pin_unpin(char *p, size_t len, uint32_t flags)
{
	struct upin_bench_raw raw = {
		.addr = (uintptr_t)p, .length = len, .flags = flags,
	};

	if (ioctl(bench.raw, UPIN_BENCH_RAW_PIN, &raw))
		return -errno;
	bench.mid = now_ns();
	return ioctl(bench.raw, UPIN_BENCH_RAW_UNPIN) ? -errno : 0;
}

static int run_method(enum method m, char *p, size_t len, uint32_t flags)
{
	switch (m) {
	case M_UPIN:
		return upin_pin_unpin(p, len, flags);
	case M_URING:
		return uring_register_unregister(p, len);
	case M_RAW2:
		return raw2_pin_unpin(p, len, flags);
	default:
		return raw_pin_unpin(p, len, flags);
	}
}

/* --- buffers ----------------------------------------------------------- */

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

/*
 * Anonymous 4 KiB pages none of which is physically next to the page
 * before it: map and fill twice @len, free every other page, and fill @len
 * anew. Order-0 allocations take the order-0 free pages first, and the
 * freed pages cannot merge with their buddies, which are still mapped. The
 * metadata_bytes of the results say whether it worked: 4 bytes per page
 * (a pair of single pages per entry) when it did.
 */
static char *buffer_scattered(size_t len)
{
	char *x, *p;
	size_t off;

	x = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x == MAP_FAILED)
		return MAP_FAILED;
	madvise(x, 2 * len, MADV_NOHUGEPAGE);
	memset(x, 0x3c, 2 * len);
	for (off = bench.page; off < 2 * len; off += 2 * bench.page)
		madvise(x + off, bench.page, MADV_DONTNEED);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		madvise(p, len, MADV_NOHUGEPAGE);
		memset(p, 0x5a, len);
	}
	munmap(x, 2 * len);
	return p;
}

/*
 * @len bytes of @mem, written once so that every page is present, or NULL
 * (said why). THP memory is 2 MiB aligned and checked to be THPs.
 */
static char *buffer_get(enum mem mem, size_t len)
{
	size_t map_len = mem == MEM_THP ? len + HPAGE : len;
	int extra = mem == MEM_HUGETLB ? MAP_HUGETLB : 0;
	char *p, *a;
	long kb;

	if (mem == MEM_HUGETLB && upin_read_long(NR_HUGE_PATH) < (long)(len / HPAGE))
		write_long(NR_HUGE_PATH, len / HPAGE);
	if (mem == MEM_SCATTERED)
		p = buffer_scattered(len);
	else
		p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
	if (p == MAP_FAILED) {
		say("mmap of %zu MiB of %s memory: %s (nr_hugepages %ld)",
		    len / MIB, mem_names[mem], strerror(errno),
		    upin_read_long(NR_HUGE_PATH));
		return NULL;
	}
	a = p;
	if (mem == MEM_THP) {
		a = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
		if (a > p)
			munmap(p, a - p);
		munmap(a + len, p + map_len - (a + len));
	}
	if (mem == MEM_SCATTERED)
		return a;
	madvise(a, len, mem == MEM_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(a, 0x5a, len);
	if (mem == MEM_THP) {
		kb = upin_anon_huge_kb(a);
		if (kb < (long)(len / KIB) * 9 / 10)
			say("THP: only %ld of %zu kB are huge pages", kb,
			    len / KIB);
	}
	return a;
}


/* --- cases --------------------------------------------------------------- */

/*
 * Operations per method in a run: many for small buffers, at least 3, so
 * that a run's median shrugs off a preempted operation, and at most 64:
 * on 6.1 each io_uring operation waits for an RCU grace period (~10 ms).
 */
static int iterations(size_t len)
{
	size_t n = (bench.smoke ? 1 * MIB : 16 * MIB) / len;

	return n < 3 ? 3 : n > 64 ? 64 : (int)n;
}

static uint64_t metadata_with_region(char *p, size_t len, uint32_t flags)
{
	struct upin_pin pin = {
		.size = sizeof(pin), .flags = flags,
		.addr = (uintptr_t)p, .length = len,
	};
	struct upin_unpin unpin = { .size = sizeof(unpin) };
	struct upin_info info = { .size = sizeof(info) };
	uint64_t bytes = 0;

	if (ioctl(bench.upin, UPIN_IOC_PIN, &pin))
		return 0;
	if (!ioctl(bench.upin, UPIN_IOC_GET_INFO, &info))
		bytes = info.metadata_bytes;
	unpin.handle = pin.handle;
	ioctl(bench.upin, UPIN_IOC_UNPIN, &unpin);
	return bytes;
}

static void print_result(const struct result *r)
{
	if (r->err)
		printf(",,,");
	else
		printf(",%.0f,%.0f,%.0f", r->med, r->min, r->max);
}

static void print_ratio(const struct result *r)
{
	if (r->err)
		printf(",");
	else
		printf(",%.3f", r->med);
}

/*
 * Time operation @it of method @m, whole (@ops) and its pin half (@pins:
 * the first of its two calls); the first failure is said and kept.
 */
static void time_op(enum method m, int it, char *p, size_t len,
		    uint32_t flags, double **ops, double **pins,
		    struct result *res, const char *what)
{
	double t0;
	int err;

	if (res[m].err)
		return;
	t0 = now_ns();
	err = run_method(m, p, len, flags);
	ops[m][it] = now_ns() - t0;
	pins[m][it] = bench.mid - t0;
	if (err) {
		res[m].err = -err;
		say("%s of %s (%s): %s", method_names[m], what,
		    m == M_URING ? "rw_longterm" : flags_name(flags),
		    strerror(-err));
	}
}

/*
 * One case: the four methods on the same @len bytes at @p. A run times
 * @iters operations of each: upin, raw and raw2 take turns operation by
 * operation, so that a burst of load on the host hits them alike, and
 * io_uring runs its operations in a block of their own, before them in
 * odd runs and after them in even ones. io_uring is kept apart because on
 * some kernels (6.1) every registration and unregistration waits for an
 * RCU grace period, and the operation that follows one, whichever method
 * it belongs to, then runs many times slower: interleaved, io_uring would
 * mostly measure itself into the others. A run's result per method is the
 * median of its operations. Prints the case's CSV row.
 */
static void run_case(const char *group, enum mem mem, char *p, size_t len,
		     uint32_t flags)
{
	static const enum method turns[] = { M_UPIN, M_RAW, M_RAW2 };
	int runs = bench.runs, iters = iterations(len), run, phase, it, i, k;
	double *samples[NR_METHODS], *ops[NR_METHODS], *pair[NR_METHODS];
	double *pins[NR_METHODS], *pin_samples[NR_METHODS], *pin_pair;
	struct result ratio[NR_METHODS] = {}, pin_ratio = {};
	struct result res[NR_METHODS] = {}, pin_res[NR_METHODS] = {};
	int npin = 0;
	int np[NR_METHODS] = {};
	char sz[32], what[64];
	uint64_t meta;

	size_name(len, sz, sizeof(sz));
	snprintf(what, sizeof(what), "%s of %s memory", sz, mem_names[mem]);
	for (k = 0; k < NR_METHODS; k++) {
		samples[k] = calloc(runs, sizeof(double));
		ops[k] = calloc(iters, sizeof(double));
		pair[k] = calloc((size_t)runs * iters, sizeof(double));
		pins[k] = calloc(iters, sizeof(double));
		pin_samples[k] = calloc(runs, sizeof(double));
		if (!samples[k] || !ops[k] || !pair[k] || !pins[k] ||
		    !pin_samples[k])
			exit(1);
	}
	pin_pair = calloc((size_t)runs * iters, sizeof(double));
	if (!pin_pair)
		exit(1);
	for (run = 0; run < runs; run++) {
		for (phase = 0; phase < 2; phase++) {
			if ((run + phase) % 2) {
				for (it = 0; it < iters; it++)
					time_op(M_URING, it, p, len, flags,
						ops, pins, res, what);
				continue;
			}
			for (it = 0; it < iters; it++)
				for (i = 0; i < 3; i++)
					time_op(turns[(run + it + i) % 3], it,
						p, len, flags, ops, pins, res,
						what);
		}
		/* upin against each peer, operation by operation. */
		for (k = M_URING; k < NR_METHODS; k++)
			for (it = 0; it < iters && !res[M_UPIN].err &&
			     !res[k].err; it++)
				pair[k][np[k]++] = ops[M_UPIN][it] / ops[k][it];
		/* The pin halves: upin's against raw2's. */
		for (it = 0; it < iters && !res[M_UPIN].err &&
		     !res[M_RAW2].err; it++)
			pin_pair[npin++] = pins[M_UPIN][it] / pins[M_RAW2][it];
		for (k = 0; k < NR_METHODS; k++) {
			struct result r;

			if (res[k].err)
				continue;
			summarize(ops[k], iters, &r);
			samples[k][run] = r.med;
			summarize(pins[k], iters, &r);
			pin_samples[k][run] = r.med;
		}
	}
	for (k = 0; k < NR_METHODS; k++) {
		if (!res[k].err) {
			summarize(samples[k], runs, &res[k]);
			summarize(pin_samples[k], runs, &pin_res[k]);
		} else {
			pin_res[k].err = res[k].err;
		}
		if (k != M_UPIN && np[k] && !res[k].err && !res[M_UPIN].err)
			summarize(pair[k], np[k], &ratio[k]);
		else
			ratio[k].err = 1;
		free(samples[k]);
		free(ops[k]);
		free(pair[k]);
		free(pins[k]);
		free(pin_samples[k]);
	}
	if (npin)
		summarize(pin_pair, npin, &pin_ratio);
	else
		pin_ratio.err = 1;
	free(pin_pair);

	printf("csv-case,%s,%s,%s,%zu,%s,%zu,%d,%d", bench.kernel, group,
	       mem_names[mem], len, flags_name(flags), len / bench.page, runs,
	       iters);
	for (k = M_UPIN; k <= M_RAW; k++)
		print_result(&res[k]);
	meta = metadata_with_region(p, len, flags);
	printf(",%llu", (unsigned long long)meta);
	print_ratio(&ratio[M_URING]);
	print_ratio(&ratio[M_RAW]);
	/* raw2's columns come last, after those of the rows before it. */
	print_result(&res[M_RAW2]);
	print_ratio(&ratio[M_RAW2]);
	/* Then the pin halves. */
	print_result(&pin_res[M_UPIN]);
	print_result(&pin_res[M_RAW2]);
	print_ratio(&pin_ratio);
	printf("\n");
	if (!meta)
		bench.no_metadata++;
	if (!res[M_UPIN].err)
		say("%-9s %-11s %8s: upin %.0f ns, %.2fx raw, %.2fx raw in 2 calls, %.2fx io_uring, %.1f metadata bytes/page",
		    mem_names[mem], flags_name(flags), sz, res[M_UPIN].med,
		    ratio[M_RAW].err ? 0 : ratio[M_RAW].med,
		    ratio[M_RAW2].err ? 0 : ratio[M_RAW2].med,
		    ratio[M_URING].err ? 0 : ratio[M_URING].med,
		    (double)meta / (len / bench.page));
	fflush(stdout);
	if (res[M_UPIN].err || res[M_RAW].err || res[M_RAW2].err)
		bench.failed++;
	if (res[M_URING].err)
		bench.peer_failed++;
}

/* --- scaling ------------------------------------------------------------- */

enum scale_op { OP_PIN, OP_QUERY, OP_UNPIN, NR_OPS };
static const char *const op_names[NR_OPS] = { "pin", "query", "unpin" };

/* A context holding @n one-page regions of @buf, one page each. */
static int context_with_regions(char *buf, unsigned long n, uint64_t **handles)
{
	int fd = open("/dev/upin", O_RDWR | O_CLOEXEC);
	unsigned long i;

	*handles = calloc(n, sizeof(**handles));
	if (fd < 0 || !*handles)
		return -1;
	for (i = 0; i < n; i++) {
		struct upin_pin pin = {
			.size = sizeof(pin),
			.addr = (uintptr_t)(buf + i * bench.page),
			.length = bench.page,
		};

		if (ioctl(fd, UPIN_IOC_PIN, &pin)) {
			say("scaling: pin %lu of %lu: %s", i + 1, n,
			    strerror(errno));
			close(fd);
			return -1;
		}
		(*handles)[i] = pin.handle;
	}
	return fd;
}

/*
 * In a context: @ops pins of the pages at @probe, @ops queries of
 * background regions, @ops unpins of the probe regions; each call timed,
 * @t gets the median ns per call of each kind. @v is scratch for @ops.
 */
static int time_ops(int fd, const uint64_t *bg, unsigned long nbg,
		    char *probe, int ops, uint64_t *h, double *v,
		    double t[NR_OPS])
{
	unsigned int x = 12345;
	struct result r;
	double t0;
	int i;

	for (i = 0; i < ops; i++) {
		struct upin_pin pin = {
			.size = sizeof(pin),
			.addr = (uintptr_t)(probe + i * bench.page),
			.length = bench.page,
		};

		t0 = now_ns();
		if (ioctl(fd, UPIN_IOC_PIN, &pin))
			return -errno;
		v[i] = now_ns() - t0;
		h[i] = pin.handle;
	}
	summarize(v, ops, &r);
	t[OP_PIN] = r.med;

	for (i = 0; i < ops; i++) {
		struct upin_region q = { .size = sizeof(q) };

		x = x * 1103515245 + 12345;
		q.handle = bg[(x >> 8) % nbg];
		t0 = now_ns();
		if (ioctl(fd, UPIN_IOC_QUERY, &q))
			return -errno;
		v[i] = now_ns() - t0;
	}
	summarize(v, ops, &r);
	t[OP_QUERY] = r.med;

	for (i = 0; i < ops; i++) {
		struct upin_unpin u = { .size = sizeof(u), .handle = h[i] };

		t0 = now_ns();
		if (ioctl(fd, UPIN_IOC_UNPIN, &u))
			return -errno;
		v[i] = now_ns() - t0;
	}
	summarize(v, ops, &r);
	t[OP_UNPIN] = r.med;
	return 0;
}

/*
 * Return: 0, or -1 when the case could not run. Uses a buffer of its own,
 * a page per region of the large context and per probe.
 */
static int run_scaling(void)
{
	unsigned long n[2] = { 64, bench.regions };
	int ops = bench.smoke ? 64 : 1000, runs = bench.runs, run, s, o;
	size_t buf_len = (n[1] + ops) * bench.page;
	double *samples[2][NR_OPS], t[NR_OPS], *v;
	struct result res[2][NR_OPS];
	uint64_t *bg[2] = {}, *h;
	int fd[2] = { -1, -1 }, ret = -1;
	char *buf, *probe;

	buf = buffer_get(MEM_ANON, buf_len);
	if (!buf)
		return -1;
	probe = buf + n[1] * bench.page;
	h = calloc(ops, sizeof(*h));
	v = calloc(ops, sizeof(*v));
	for (s = 0; s < 2; s++)
		for (o = 0; o < NR_OPS; o++)
			samples[s][o] = calloc(runs, sizeof(double));
	say("scaling: pinning 64 and %lu one-page regions", n[1]);
	for (s = 0; s < 2; s++) {
		fd[s] = context_with_regions(buf, n[s], &bg[s]);
		if (fd[s] < 0)
			goto out;
	}
	for (run = 0; run < runs; run++) {
		for (s = 0; s < 2; s++) {
			int k = (run + s) % 2, err;

			err = time_ops(fd[k], bg[k], n[k], probe, ops, h, v,
				       t);
			if (err) {
				say("scaling: %lu regions: %s", n[k],
				    strerror(-err));
				goto out;
			}
			for (o = 0; o < NR_OPS; o++)
				samples[k][o][run] = t[o];
		}
	}
	for (o = 0; o < NR_OPS; o++) {
		for (s = 0; s < 2; s++)
			summarize(samples[s][o], runs, &res[s][o]);
		printf("csv-scaling,%s,%s,%lu,%.0f,%.0f,%.0f,%lu,%.0f,%.0f,%.0f\n",
		       bench.kernel, op_names[o], n[0], res[0][o].med,
		       res[0][o].min, res[0][o].max, n[1], res[1][o].med,
		       res[1][o].min, res[1][o].max);
		say("scaling: %-5s %.0f ns with %lu regions, %.0f ns with %lu: %.2fx",
		    op_names[o], res[0][o].med, n[0], res[1][o].med, n[1],
		    res[1][o].med / res[0][o].med);
	}
	ret = 0;
out:
	for (s = 0; s < 2; s++) {
		if (fd[s] >= 0)
			close(fd[s]);
		free(bg[s]);
		for (o = 0; o < NR_OPS; o++)
			free(samples[s][o]);
	}
	free(h);
	free(v);
	munmap(buf, buf_len);
	fflush(stdout);
	return ret;
}

/* --- mapping for a device ------------------------------------------------ */

/* One mapping and unmapping of region @h (upin) or of @p (umem), in ns. */
static int dma_map_once(bool umem, uint64_t h, char *p, size_t len,
			double *ns, uint32_t *entries)
{
	struct upin_bench_dma arg = {
		.upin_fd = bench.upin,
		.flags = umem ? UPIN_BENCH_DMA_UMEM : 0,
		.handle = h,
		.addr = (uintptr_t)p,
		.length = len,
	};

	if (ioctl(bench.dma, UPIN_BENCH_DMA_MAP_UNMAP, &arg))
		return -errno;
	*ns = arg.ns;
	*entries = arg.entries;
	return 0;
}

/*
 * Map @len bytes of @mem for a device, both ways taking turns, @runs
 * times, the region pinned once (writable, longterm) for upin and pinned
 * by the module for umem; prints the case's csv-dma row.
 */
static int run_dma(enum mem mem, size_t len)
{
	double *v[2], *ratio;
	uint32_t entries[2] = { 0, 0 };
	struct result r[2], rr;
	size_t pages = len / bench.page;
	uint64_t h;
	int i, w, err = 0;
	char *p;

	p = buffer_get(mem, len);
	if (!p)
		return -ENOMEM;
	v[0] = calloc(bench.runs, sizeof(double));
	v[1] = calloc(bench.runs, sizeof(double));
	ratio = calloc(bench.runs, sizeof(double));
	if (!v[0] || !v[1] || !ratio) {
		err = -ENOMEM;
		goto out;
	}
	err = upin_pin(bench.upin, p, len, UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
		       &h, NULL);
	if (err) {
		say("dma: pin of %s: %s", mem_names[mem], strerror(-err));
		goto out;
	}
	for (i = 0; i < bench.runs && !err; i++) {
		for (w = 0; w < 2 && !err; w++) {
			/* Alternate which goes first. */
			bool umem = (w + i) % 2;

			err = dma_map_once(umem, h, p, len, &v[umem][i],
					   &entries[umem]);
			if (err)
				say("dma: %s mapping of %s: %s",
				    umem ? "umem" : "upin", mem_names[mem],
				    strerror(-err));
		}
		ratio[i] = v[0][i] / v[1][i];
		v[0][i] /= pages;
		v[1][i] /= pages;
	}
	upin_unpin(bench.upin, h);
	if (err)
		goto out;
	summarize(v[0], bench.runs, &r[0]);
	summarize(v[1], bench.runs, &r[1]);
	summarize(ratio, bench.runs, &rr);
	r[0].err = r[1].err = rr.err = 0;
	say("dma map+unmap %s %zu MiB: upin %.2f ns/page (%u entries), umem %.2f ns/page (%u entries), upin/umem %.2f",
	    mem_names[mem], len / MIB, r[0].med, entries[0], r[1].med,
	    entries[1], rr.med);
	printf("csv-dma,%s,%s,%zu,%zu,%d", bench.kernel, mem_names[mem], len,
	       pages, bench.runs);
	print_result(&r[0]);
	print_result(&r[1]);
	print_ratio(&rr);
	printf(",%u,%u\n", entries[0], entries[1]);
	fflush(stdout);
out:
	free(v[0]);
	free(v[1]);
	free(ratio);
	munmap(p, len);
	return err;
}

/* What an ioctl that does nothing much costs here: GET_INFO. */
static void syscall_floor(void)
{
	struct upin_info info = { .size = sizeof(info) };
	double v[15], t0;
	struct result r;
	int i, k;

	for (k = 0; k < 15; k++) {
		t0 = now_ns();
		for (i = 0; i < 1000; i++)
			ioctl(bench.upin, UPIN_IOC_GET_INFO, &info);
		v[k] = (now_ns() - t0) / 1000;
	}
	summarize(v, 15, &r);
	say("one GET_INFO ioctl: %.0f ns (%.0f-%.0f), the floor of every call",
	    r.med, r.min, r.max);
}

/* --- main ---------------------------------------------------------------- */

static size_t parse_size(const char *s)
{
	char *end;
	size_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v *= KIB; end++; break;
	case 'm': case 'M': v *= MIB; end++; break;
	case 'g': case 'G': v *= GIB; end++; break;
	}
	return *end ? 0 : v;
}

static void tap(bool ok, const char *what)
{
	printf("%sok %d bench smoke: %s\n", ok ? "" : "not ", ++bench.tap,
	       what);
	fflush(stdout);
}

static int open_devices(void)
{
	struct io_uring_params params = {};
	struct utsname u;

	bench.upin = open("/dev/upin", O_RDWR | O_CLOEXEC);
	bench.raw = open("/dev/upin_bench_raw", O_RDWR | O_CLOEXEC);
	bench.dma = open("/dev/upin_bench_dma", O_RDWR | O_CLOEXEC);
	bench.uring = syscall(__NR_io_uring_setup, 1, &params);
	if (bench.upin < 0 || bench.raw < 0 || bench.dma < 0 ||
	    bench.uring < 0) {
		say("open /dev/upin: %s, /dev/upin_bench_raw: %s, /dev/upin_bench_dma: %s, io_uring_setup: %s",
		    bench.upin < 0 ? "failed" : "ok",
		    bench.raw < 0 ? "failed" : "ok",
		    bench.dma < 0 ? "failed" : "ok",
		    bench.uring < 0 ? strerror(errno) : "ok");
		return -1;
	}
	uname(&u);
	snprintf(bench.kernel, sizeof(bench.kernel), "%s", u.release);
	bench.page = sysconf(_SC_PAGESIZE);
	return 0;
}

/*
 * --loop: one method on one buffer, over and over, for a profiler. Prints
 * how many pin+unpin pairs ran and what one cost on average.
 */
static int run_loop(const char *spec)
{
	static const char *const loop_names[NR_METHODS] = {
		"upin", "io_uring", "raw", "raw2"
	};
	char method[16], mem[16], size[16];
	int m, k, err = 0;
	double t0, t;
	long n = 0;
	size_t len;
	char *buf;

	if (sscanf(spec, "%15[^,],%15[^,],%15s", method, mem, size) != 3)
		return 2;
	for (m = 0; m < NR_METHODS && strcmp(method, loop_names[m]); m++)
		;
	for (k = 0; k < NR_MEMS && strcmp(mem, mem_names[k]); k++)
		;
	len = parse_size(size);
	if (m == NR_METHODS || k == NR_MEMS || !len)
		return 2;
	buf = buffer_get(k, len < HPAGE ? HPAGE : len);
	if (!buf)
		return 1;
	t0 = now_ns();
	do {
		for (int i = 0; i < 64 && !err; i++, n++)
			err = run_method(m, buf, len,
					 UPIN_PIN_WRITE | UPIN_PIN_LONGTERM);
		t = now_ns();
	} while (!err && t - t0 < bench.seconds * 1e9);
	if (err) {
		say("loop %s: %s", spec, strerror(-err));
		return 1;
	}
	say("loop %s: %ld pin+unpin in %.1f s, %.0f ns each", spec, n,
	    (t - t0) / 1e9, (t - t0) / n);
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[16], len, nsizes = 0, s;
	long nr_huge;
	char *buf;
	int i, m;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			bench.smoke = true;
			bench.runs = 3;
			bench.max_size = 2 * MIB;
			bench.regions = 256;
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			bench.runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--max-size") && i + 1 < argc) {
			bench.max_size = parse_size(argv[++i]);
		} else if (!strcmp(argv[i], "--regions") && i + 1 < argc) {
			bench.regions = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--loop") && i + 1 < argc) {
			bench.loop = argv[++i];
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			bench.seconds = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "upin-bench: unknown argument %s\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (bench.runs < 1 || bench.max_size < 4 * KIB || bench.regions < 64) {
		fprintf(stderr, "upin-bench: --runs >= 1, --max-size >= 4K, --regions >= 64\n");
		return 2;
	}
	if (open_devices()) {
		if (bench.smoke) {
			tap(false, "open /dev/upin, /dev/upin_bench_raw, /dev/upin_bench_dma and an io_uring");
			printf("1..%d\n", bench.tap);
		}
		return 1;
	}
	if (bench.loop) {
		i = run_loop(bench.loop);
		if (i == 2)
			fprintf(stderr, "upin-bench: --loop METHOD,MEM,SIZE: METHOD upin, io_uring, raw or raw2; MEM anon4k, scattered, thp or hugetlb\n");
		return i;
	}

	for (len = 4 * KIB; len <= bench.max_size && nsizes < 15; len *= 16)
		sizes[nsizes++] = len;
	if (bench.smoke)
		sizes[nsizes++] = 2 * MIB;
	else if (bench.max_size >= 256 * MIB && sizes[nsizes - 1] != 256 * MIB)
		sizes[nsizes++] = 256 * MIB;
	if (!bench.smoke && sizes[nsizes - 1] != bench.max_size)
		sizes[nsizes++] = bench.max_size;
	for (s = 1; s < nsizes; s++)	/* ascending, for the plots */
		for (i = s; i > 0 && sizes[i - 1] > sizes[i]; i--) {
			len = sizes[i];
			sizes[i] = sizes[i - 1];
			sizes[i - 1] = len;
		}

	nr_huge = upin_read_long(NR_HUGE_PATH);
	syscall_floor();
	say("kernel %s, %d runs per case, sizes 4 KiB to %zu MiB",
	    bench.kernel, bench.runs, bench.max_size / MIB);
	for (m = 0; m < NR_MEMS; m++) {
		size_t buf_len = bench.max_size < HPAGE ? HPAGE : bench.max_size;
		uint32_t other[] = { 0, UPIN_PIN_WRITE, UPIN_PIN_LONGTERM };

		buf = buffer_get(m, buf_len);
		if (!buf) {
			bench.failed++;
			continue;
		}
		for (s = 0; s < nsizes; s++)
			run_case("sweep", m, buf, sizes[s],
				 UPIN_PIN_WRITE | UPIN_PIN_LONGTERM);
		len = bench.smoke ? 2 * MIB : 256 * MIB;
		if (len > bench.max_size)
			len = bench.max_size;
		for (i = 0; i < 3; i++)
			run_case("flags", m, buf, len, other[i]);
		munmap(buf, buf_len);
	}
	if (run_scaling())
		bench.scaling_failed++;
	for (m = 0; m < NR_MEMS; m++)
		if (m != MEM_HUGETLB &&
		    run_dma(m, bench.smoke ? 2 * MIB : 64 * MIB))
			bench.dma_failed++;
	if (nr_huge >= 0)
		write_long(NR_HUGE_PATH, nr_huge);

	if (bench.smoke) {
		tap(!bench.failed, "upin and raw (in one call and in two) pinned and unpinned every case");
		tap(!bench.peer_failed, "io_uring registered and unregistered every case");
		tap(!bench.no_metadata, "upin reported metadata_bytes for every case");
		tap(!bench.scaling_failed, "the regions scaling case ran");
		tap(!bench.dma_failed, "upin and the ib_umem way mapped and unmapped every dma case");
		printf("1..%d\n", bench.tap);
	}
	return bench.failed || bench.scaling_failed || bench.dma_failed ? 1 : 0;
}

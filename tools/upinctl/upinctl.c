// SPDX-License-Identifier: GPL-2.0
/*
 * upinctl: look at and try out /dev/upin from the shell.
 *
 *   upinctl info   the module's ABI version, features, limits, pinned pages
 *   upinctl pin    pin a buffer (longterm), report the region, unpin it
 *   upinctl stat   every open context and its regions, from debugfs
 *
 * Built on libupin. Exit status: 0 success, 1 failure, 2 usage error.
 * Error lines name the operation, the range and the reason.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <libupin.h>

#ifndef UPINCTL_VERSION
#define UPINCTL_VERSION "unknown"
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXIT_USAGE 2
#define DEBUGFS_REGIONS "/sys/kernel/debug/upin/regions"
#define THP_SIZE (2ul << 20)

static const char *device;	/* --device, or NULL for libupin's default */

static void __attribute__((format(printf, 1, 2))) err_line(const char *fmt, ...)
{
	va_list ap;

	fputs("upinctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: say what is wrong and where help is, exit 2. */
static void __attribute__((format(printf, 2, 3), noreturn))
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "upinctl: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see upinctl %s%s--help)\n", cmd ? cmd : "",
		cmd ? " " : "");
	exit(EXIT_USAGE);
}

/* An option getopt_long() refused (it prints nothing: opterr is 0). */
static void __attribute__((noreturn))
bad_option(const char *cmd, int c, char **argv)
{
	if (c == ':')
		usage_error(cmd, "option %s needs a value", argv[optind - 1]);
	usage_error(cmd, "unknown option %s", argv[optind - 1]);
}

/* "64M" for 64 MiB: the largest binary unit that divides @bytes. */
static const char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int i = -1;

	while (bytes && !(bytes & 1023) && i < (int)sizeof(units) - 2) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[i]);
	return buf;
}

/* Parse "4096", "64K", "64M", "1G", "2T" (also "64MiB", "64MB": binary). */
static int parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	unsigned int shift = 0;
	const char *unit;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unit = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
	if (unit) {
		shift = 10 * (unsigned int)(unit - units + 1);
		end++;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

/* --- info ------------------------------------------------------------- */

static const char * const feature_names[] = {
	"pin_write", "pin_longterm", "access_write", "segments",
};

static void usage_info(FILE *f)
{
	fputs("Usage: upinctl info\n"
	      "\n"
	      "Print what the upin module reports: its ABI version, page size,\n"
	      "features, the per-context region limit, and the pages pinned\n"
	      "through upin by every process together, with the module-wide cap.\n",
	      f);
}

static int open_ctx(struct upin_ctx **ctx)
{
	const char *path = device ? device : getenv("UPIN_DEVICE");
	int ret;

	if (!path || !*path)
		path = UPIN_DEFAULT_DEVICE;
	ret = upin_open(ctx, path);
	if (ret)
		err_line("open %s: %s", path, upin_strerror(ret, UPIN_OP_OPEN));
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *path = device ? device : getenv("UPIN_DEVICE");
	struct upin_info info;
	struct upin_ctx *ctx;
	unsigned int bit;
	bool first = true;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != 'h')
			bad_option("info", c, argv);
		usage_info(stdout);
		return 0;
	}
	if (optind < argc)
		usage_error("info", "unexpected argument '%s'", argv[optind]);

	if (open_ctx(&ctx))
		return 1;
	ret = upin_get_info(ctx, &info, sizeof(info));
	upin_close(ctx);
	if (ret) {
		err_line("info: %s", upin_strerror(ret, UPIN_OP_GET_INFO));
		return 1;
	}

	printf("device               %s\n",
	       path && *path ? path : UPIN_DEFAULT_DEVICE);
	printf("abi_version          %u\n", info.abi_version);
	printf("page_size            %u\n", info.page_size);
	printf("features             0x%llx (", (unsigned long long)info.features);
	for (bit = 0; bit < 64; bit++) {
		if (!(info.features & (1ull << bit)))
			continue;
		if (bit < ARRAY_SIZE(feature_names))
			printf("%s%s", first ? "" : " ", feature_names[bit]);
		else
			printf("%sbit%u", first ? "" : " ", bit);
		first = false;
	}
	printf(")\n");
	printf("max_regions          %u per context\n", info.max_regions);
	printf("global_pinned_pages  %llu\n",
	       (unsigned long long)info.global_pinned_pages);
	if (info.global_max_pages)
		printf("global_max_pages     %llu\n",
		       (unsigned long long)info.global_max_pages);
	else
		printf("global_max_pages     0 (no cap)\n");
	return 0;
}

/* --- pin -------------------------------------------------------------- */

enum mem_kind { MEM_ANON, MEM_THP, MEM_HUGETLB, MEM_MEMFD, MEM_FILE };

static const char * const mem_names[] = {
	[MEM_ANON] = "anonymous",
	[MEM_THP] = "anonymous THP",
	[MEM_HUGETLB] = "hugetlb",
	[MEM_MEMFD] = "memfd",
	[MEM_FILE] = "file",
};

/**
 * struct buffer - the memory upinctl pin maps
 * @kind: what it is
 * @map: the mapping
 * @map_len: its length
 * @addr: what is pinned: @map, or the first 2 MiB boundary in it for THP
 * @size: bytes to pin
 * @path: --file
 */
struct buffer {
	enum mem_kind kind;
	void *map;
	size_t map_len;
	char *addr;
	uint64_t size;
	const char *path;
};

static void usage_pin(FILE *f)
{
	fputs("Usage: upinctl pin --size SIZE [MEMORY] [--write] [--short] [--hold SECONDS]\n"
	      "\n"
	      "Map a buffer, pin it through upin, print the region (handle, pages,\n"
	      "physically contiguous segments: root only) and the process's VmPin,\n"
	      "then unpin.\n"
	      "\n"
	      "  -s, --size SIZE      bytes to pin: 4096, 64K, 64M, 1G (binary units);\n"
	      "                       with --file, the file's size by default\n"
	      "Memory, one of (default --anon):\n"
	      "      --anon           private anonymous memory\n"
	      "      --thp            private anonymous memory in transparent huge\n"
	      "                       pages (2 MiB aligned, MADV_HUGEPAGE)\n"
	      "      --hugetlb        private hugetlb memory (MAP_HUGETLB; needs\n"
	      "                       free huge pages, see vm.nr_hugepages)\n"
	      "      --memfd          a shared mapping of a memfd (shmem)\n"
	      "      --file PATH      a shared mapping of an existing file, writable\n"
	      "                       with --write\n"
	      "Pin:\n"
	      "  -w, --write          the device may write the pages (UPIN_PIN_WRITE)\n"
	      "  -l, --longterm       the pin may be held indefinitely\n"
	      "                       (UPIN_PIN_LONGTERM): the default, since every\n"
	      "                       region is held across calls\n"
	      "      --short          a short-term pin instead (no UPIN_PIN_LONGTERM),\n"
	      "                       the diagnostic of what longterm changes; needs\n"
	      "                       root (CAP_SYS_ADMIN)\n"
	      "      --hold SECONDS   keep the pin so long before unpinning; SIGINT or\n"
	      "                       SIGTERM end the wait early\n"
	      "  -h, --help           this text\n",
	      f);
}

/* The file system of @path by name, for the write pin error. */
static const char *fs_name(const char *path, char *buf, size_t len)
{
	static const struct { long magic; const char *name; } fs[] = {
		{ 0xef53, "ext4" },		/* EXT4_SUPER_MAGIC (ext2/3 too) */
		{ 0x58465342, "xfs" },		/* XFS_SUPER_MAGIC */
		{ 0x9123683e, "btrfs" },	/* BTRFS_SUPER_MAGIC */
		{ 0xf2f52010, "f2fs" },		/* F2FS_SUPER_MAGIC */
		{ 0x6969, "nfs" },		/* NFS_SUPER_MAGIC */
	};
	struct statfs sfs;
	size_t i;

	if (statfs(path, &sfs))
		return "file";
	for (i = 0; i < ARRAY_SIZE(fs); i++)
		if ((long)sfs.f_type == fs[i].magic)
			return fs[i].name;
	snprintf(buf, len, "0x%lx", (long)sfs.f_type);
	return buf;
}

static long huge_page_size(void)
{
	char line[128];
	long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 2l << 20;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb > 0 ? kb << 10 : 2l << 20;
}

static int map_buffer(struct buffer *b, bool write)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char sz[32];
	int fd = -1;
	long huge;

	b->map_len = b->size;
	switch (b->kind) {
	case MEM_ANON:
		break;
	case MEM_THP:
		b->map_len = b->size + THP_SIZE;
		break;
	case MEM_HUGETLB:
		huge = huge_page_size();
		b->map_len = (b->size + huge - 1) / huge * huge;
		flags |= MAP_HUGETLB;
		break;
	case MEM_MEMFD:
		fd = memfd_create("upinctl", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, b->size)) {
			err_line("pin: memfd of %s: %s",
				 fmt_size(b->size, sz, sizeof(sz)),
				 strerror(errno));
			goto err;
		}
		flags = MAP_SHARED;
		break;
	case MEM_FILE: {
		struct stat st;

		fd = open(b->path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			err_line("pin: open %s: %s", b->path, strerror(errno));
			goto err;
		}
		if (!b->size)
			b->size = st.st_size;
		if (!b->size || (uint64_t)st.st_size < b->size) {
			err_line("pin: %s is %lld bytes, %s", b->path,
				 (long long)st.st_size,
				 b->size ? "shorter than --size" :
				 "nothing to pin");
			goto err;
		}
		b->map_len = b->size;
		flags = MAP_SHARED;
		if (!write)
			prot = PROT_READ;
		break;
	}
	}

	b->map = mmap(NULL, b->map_len, prot, flags, fd, 0);
	if (b->map == MAP_FAILED) {
		err_line("pin: mmap of %s of %s memory: %s%s",
			 fmt_size(b->size, sz, sizeof(sz)), mem_names[b->kind],
			 strerror(errno),
			 b->kind == MEM_HUGETLB ?
			 " (not enough free huge pages? see vm.nr_hugepages)" : "");
		goto err;
	}
	if (fd >= 0)
		close(fd);
	b->addr = b->map;
	if (b->kind == MEM_THP) {
		b->addr = (char *)(((uintptr_t)b->map + THP_SIZE - 1) &
				   ~(THP_SIZE - 1));
		if (madvise(b->addr, b->size, MADV_HUGEPAGE))
			err_line("pin: madvise(MADV_HUGEPAGE): %s (pinning small pages)",
				 strerror(errno));
	}
	/* Fault the memory in with data, as a program would have. */
	if (b->kind != MEM_FILE)
		memset(b->addr, 0x5a, b->size);
	return 0;

err:
	if (fd >= 0)
		close(fd);
	return -1;
}

static long vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Wait @seconds, or until SIGINT or SIGTERM. They are blocked before the
 * line that announces the wait, so one sent after reading it is not lost.
 */
static void hold(unsigned long seconds)
{
	struct timespec ts = { .tv_sec = (time_t)seconds };
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	printf("holding   %lu s (SIGINT or SIGTERM unpin now)\n", seconds);
	fflush(stdout);
	while (sigtimedwait(&stop, NULL, &ts) < 0 && errno == EINTR)
		;
}

/* Whether the module has the pin flags upinctl sends: WRITE, LONGTERM. */
static bool has_pin_features(const struct upin_ctx *ctx, bool shortterm)
{
	uint64_t need = UPIN_FEATURE_PIN_WRITE;

	if (!shortterm)
		need |= UPIN_FEATURE_PIN_LONGTERM;
	return (upin_features(ctx) & need) == need;
}

static int cmd_pin(int argc, char **argv)
{
	enum { OPT_ANON = 256, OPT_THP, OPT_HUGETLB, OPT_MEMFD, OPT_FILE,
	       OPT_HOLD, OPT_SHORT };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "anon", no_argument, NULL, OPT_ANON },
		{ "thp", no_argument, NULL, OPT_THP },
		{ "hugetlb", no_argument, NULL, OPT_HUGETLB },
		{ "memfd", no_argument, NULL, OPT_MEMFD },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "write", no_argument, NULL, 'w' },
		{ "longterm", no_argument, NULL, 'l' },
		{ "short", no_argument, NULL, OPT_SHORT },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct buffer b = { .kind = MEM_ANON };
	unsigned long hold_s = 0;
	bool have_size = false, have_kind = false;
	struct upin_region region;
	struct upin_info info;
	uint64_t handle, npages;
	struct upin_ctx *ctx;
	char sz[32], fsbuf[32];
	bool longterm = false, shortterm = false;
	enum upin_op op = UPIN_OP_PIN;
	uint32_t flags = 0;
	int c, ret, rc = 1;
	char *end;

	while ((c = getopt_long(argc, argv, ":s:wlh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &b.size) || !b.size)
				usage_error("pin",
					    "--size %s: not a size such as 4096, 64K, 64M or 1G",
					    optarg);
			have_size = true;
			break;
		case OPT_ANON: case OPT_THP: case OPT_HUGETLB: case OPT_MEMFD:
		case OPT_FILE:
			if (have_kind)
				usage_error("pin",
					    "give one of --anon, --thp, --hugetlb, --memfd, --file");
			have_kind = true;
			b.kind = (enum mem_kind)(MEM_ANON + (c - OPT_ANON));
			if (c == OPT_FILE)
				b.path = optarg;
			break;
		case 'w':
			flags |= UPIN_PIN_WRITE;
			break;
		case 'l':
			longterm = true;
			break;
		case OPT_SHORT:
			shortterm = true;
			break;
		case OPT_HOLD:
			errno = 0;
			hold_s = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-')
				usage_error("pin", "--hold %s: not a number of seconds",
					    optarg);
			break;
		case 'h':
			usage_pin(stdout);
			return 0;
		default:
			bad_option("pin", c, argv);
		}
	}
	if (optind < argc)
		usage_error("pin", "unexpected argument '%s'", argv[optind]);
	if (longterm && shortterm)
		usage_error("pin", "give one of --longterm, --short");
	if (shortterm) {
		/* libupin pins longterm unless told otherwise. */
		flags |= UPIN_PIN_SHORTTERM;
		op = UPIN_OP_PIN_SHORTTERM;
	}
	if (!have_size && b.kind != MEM_FILE)
		usage_error("pin", "--size is required");
	if (b.size > SIZE_MAX - THP_SIZE)
		usage_error("pin", "--size %s: too large",
			    fmt_size(b.size, sz, sizeof(sz)));

	if (open_ctx(&ctx))
		return 1;
	if (map_buffer(&b, flags & UPIN_PIN_WRITE))
		goto out_close;

	fmt_size(b.size, sz, sizeof(sz));
	ret = upin_pin(ctx, b.addr, b.size, flags, &handle, &npages);
	/*
	 * The module has the flags, so EOPNOTSUPP is the file rule: upin
	 * refuses every write pin of a shared mapping of a file whose
	 * pages the file system tracks dirty.
	 */
	if (ret == -EOPNOTSUPP && b.kind == MEM_FILE &&
	    (flags & UPIN_PIN_WRITE) && has_pin_features(ctx, shortterm)) {
		err_line("pin %p+%s: %s (write pin of a shared %s mapping: %s)",
			 (void *)b.addr, sz, strerror(EOPNOTSUPP),
			 fs_name(b.path, fsbuf, sizeof(fsbuf)),
			 "the file system tracks dirty pages");
		goto out_unmap;
	} else if (ret) {
		err_line("pin %p+%s: %s", (void *)b.addr, sz,
			 upin_strerror(ret, op));
		goto out_unmap;
	}

	ret = upin_query(ctx, handle, &region, sizeof(region));
	if (ret) {
		err_line("query handle %llu: %s", (unsigned long long)handle,
			 upin_strerror(ret, UPIN_OP_QUERY));
		goto out_unpin;
	}
	printf("range     %p+%s\n", (void *)b.addr, sz);
	printf("memory    %s%s%s\n", mem_names[b.kind], b.path ? " " : "",
	       b.path ? b.path : "");
	/* As the kernel holds the region. */
	printf("flags     %s,%s\n",
	       region.pin_flags & UPIN_PIN_WRITE ? "write" : "read",
	       region.pin_flags & UPIN_PIN_LONGTERM ?
	       "longterm" : "short-term");
	printf("handle    %llu\n", (unsigned long long)handle);
	printf("pages     %llu\n", (unsigned long long)npages);
	/* A region has a segment at least: 0 is the count withheld. */
	if (region.nr_segments)
		printf("segments  %llu\n",
		       (unsigned long long)region.nr_segments);
	else
		printf("segments  (needs CAP_SYS_ADMIN)\n");
	if (!upin_get_info(ctx, &info, sizeof(info)))
		printf("metadata  %llu bytes\n",
		       (unsigned long long)info.metadata_bytes);
	printf("VmPin     %ld kB\n", vmpin_kb());
	if (hold_s)
		hold(hold_s);
	rc = 0;

out_unpin:
	ret = upin_unpin(ctx, handle);
	if (ret) {
		err_line("unpin handle %llu: %s", (unsigned long long)handle,
			 upin_strerror(ret, UPIN_OP_UNPIN));
		rc = 1;
	} else if (!rc) {
		printf("unpinned  VmPin %ld kB\n", vmpin_kb());
	}
out_unmap:
	munmap(b.map, b.map_len);
out_close:
	upin_close(ctx);
	return rc;
}

/* --- stat ------------------------------------------------------------- */

static void usage_stat(FILE *f)
{
	fputs("Usage: upinctl stat [--file PATH]\n"
	      "\n"
	      "List every open upin context (process id, command, regions, pinned\n"
	      "pages) and each region it holds (handle, range, flags, pages,\n"
	      "physically contiguous segments), from the module's debugfs file.\n"
	      "Needs root and debugfs.\n"
	      "\n"
	      "      --file PATH   read PATH instead of " DEBUGFS_REGIONS "\n"
	      "  -h, --help        this text\n",
	      f);
}

/*
 * The value of " key=" in a debugfs line, up to the next space (or, for
 * the command name, which may hold spaces, up to " regions=").
 */
static const char *kv(const char *line, const char *key, char *buf, size_t len)
{
	char pat[32];
	const char *v, *end;

	snprintf(pat, sizeof(pat), " %s=", key);
	v = strstr(line, pat);
	if (!v)
		return "?";
	v += strlen(pat);
	end = !strcmp(key, "comm") ? strstr(v, " regions=") : NULL;
	if (!end)
		end = v + strcspn(v, "\n ");
	snprintf(buf, len, "%.*s", (int)(end - v), v);
	return buf;
}

static void stat_row(const char *pid, const char *comm, const char *handle,
		     const char *addr, const char *length, const char *flags,
		     const char *pages, const char *segs)
{
	printf("%-7s %-16s %6s %-18s %8s %-16s %8s %8s\n", pid, comm, handle,
	       addr, length, flags, pages, segs);
}

/*
 * debugfs names a region's flags "read" or "write", with ",longterm" for a
 * longterm pin: say "short-term" for the others, as upinctl pin does.
 */
static const char *stat_flags(const char *flags)
{
	if (!strcmp(flags, "read"))
		return "read,short-term";
	if (!strcmp(flags, "write"))
		return "write,short-term";
	return flags;
}

static int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	char pid[16], comm[64], handle[24], addr[24], length[24], flags[24];
	char pages[24], segs[24], ctx_pages[24], line[512];
	const char *path = DEBUGFS_REGIONS;
	unsigned long long contexts = 0, regions = 0, total = 0, v;
	bool pending = false;	/* a context line without regions yet */
	int c;
	FILE *f;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage_stat(stdout);
			return 0;
		default:
			bad_option("stat", c, argv);
		}
	}
	if (optind < argc)
		usage_error("stat", "unexpected argument '%s'", argv[optind]);

	f = fopen(path, "r");
	if (!f) {
		int err = errno;

		err_line("stat: open %s: %s%s", path, strerror(err),
			 err == ENOENT && path == (const char *)DEBUGFS_REGIONS ?
			 " (is the upin module loaded and debugfs mounted at /sys/kernel/debug?)" :
			 err == EACCES ? " (root only)" : "");
		return 1;
	}

	stat_row("PID", "COMMAND", "HANDLE", "ADDRESS", "LENGTH", "FLAGS",
		 "PAGES", "SEGMENTS");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "context ", 8)) {
			if (pending)
				stat_row(pid, comm, "-", "-", "-", "-",
					 ctx_pages, "-");
			kv(line, "pid", pid, sizeof(pid));
			kv(line, "comm", comm, sizeof(comm));
			kv(line, "pinned_pages", ctx_pages, sizeof(ctx_pages));
			contexts++;
			pending = true;
		} else if (!strncmp(line, "region ", 7)) {
			kv(line, "length", length, sizeof(length));
			if (sscanf(length, "%llu", &v) == 1)
				fmt_size(v, length, sizeof(length));
			kv(line, "npages", pages, sizeof(pages));
			if (sscanf(pages, "%llu", &v) == 1)
				total += v;
			stat_row(kv(line, "pid", pid, sizeof(pid)), comm,
				 kv(line, "handle", handle, sizeof(handle)),
				 kv(line, "addr", addr, sizeof(addr)), length,
				 stat_flags(kv(line, "flags", flags,
					       sizeof(flags))),
				 pages, kv(line, "segments", segs, sizeof(segs)));
			regions++;
			pending = false;
		}
	}
	if (pending)
		stat_row(pid, comm, "-", "-", "-", "-", ctx_pages, "-");
	if (ferror(f)) {
		err_line("stat: read %s: %s", path, strerror(errno));
		fclose(f);
		return 1;
	}
	fclose(f);
	printf("%llu context%s, %llu region%s, %llu pages pinned\n", contexts,
	       contexts == 1 ? "" : "s", regions, regions == 1 ? "" : "s",
	       total);
	return 0;
}

/* --- main ------------------------------------------------------------- */

static void usage_main(FILE *f)
{
	fputs("Usage: upinctl [--device PATH] COMMAND [OPTIONS]\n"
	      "\n"
	      "Look at and try out the upin device, which pins user memory for\n"
	      "devices.\n"
	      "\n"
	      "Commands:\n"
	      "  info     the module's ABI version, features, limits, pinned pages\n"
	      "  pin      pin a buffer (longterm), print the region and VmPin,\n"
	      "           unpin it\n"
	      "  stat     every open context and its regions (debugfs, root)\n"
	      "\n"
	      "Options:\n"
	      "  -d, --device PATH   the device (default: $UPIN_DEVICE, else /dev/upin)\n"
	      "  -h, --help          this text; upinctl COMMAND --help for a command\n"
	      "  -V, --version       the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ }
	};
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {
		{ "info", cmd_info },
		{ "pin", cmd_pin },
		{ "stat", cmd_stat },
	};
	size_t i;
	int c;

	opterr = 0;
	/* "+": options after the command are the command's. */
	while ((c = getopt_long(argc, argv, "+:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage_main(stdout);
			return 0;
		case 'V':
			printf("upinctl %s\n", UPINCTL_VERSION);
			return 0;
		default:
			bad_option(NULL, c, argv);
		}
	}
	if (optind >= argc)
		usage_error(NULL, "no command");

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 1;
		return cmds[i].run(argc, argv);
	}
	usage_error(NULL, "unknown command '%s'", argv[optind]);
}

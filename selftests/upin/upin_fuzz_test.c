// SPDX-License-Identifier: GPL-2.0
/*
 * upin fuzz selftest: random and mutated ioctls on one context from
 * NTHREADS threads, while a chaos thread unmaps, remaps, mprotects and
 * MADV_DONTNEEDs the memory they pin, and forks children that try the
 * context too. Commands, argument sizes, flags, handles, capacities, user
 * pointers (the arena, holes, PROT_NONE, read-only, kernel and
 * non-canonical addresses, a struct straddling an unmapped page) and
 * lengths (zero, huge, wrapping) are drawn at random; a third of the calls
 * also get a few bits of their argument flipped.
 *
 * Every call must return 0 or an errno the ABI documents; a pin or query
 * that succeeds must describe a range of user memory; a forked child gets
 * EPERM for everything but GET_INFO. At the end the context's regions must
 * add up (LIST, QUERY, GET_INFO and VmPin agree, the FOLL_PIN counters
 * hold no more than that), and once it is closed nothing stays pinned or
 * charged.
 *
 *   UPIN_FUZZ_SECONDS  time budget (default 20)
 *   UPIN_FUZZ_SEED     the seed (default: from the clock); it is printed,
 *                      and fixes the sequence of calls of every thread
 *   UPIN_FUZZ_CALLS    instead of the time budget, stop each thread after
 *                      this many calls: with the seed, the same calls again
 *                      (the interleaving of the threads is the scheduler's)
 *
 * Pins only ever target the arena and the THP area: ACCESS writes into
 * pinned pages, which must never be memory the program lives in. A call
 * that mutation (or a command drawn at random for an argument made for
 * another) turned into a write through a pointer to the program's own
 * memory, its stacks, heap or code, is not made: in a 32-bit address
 * space one flipped bit of an arena address often lands there.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#define NTHREADS 4
#define SLOTS 32
#define SLOT_PAGES 16
#define ARENA_LEN ((SLOTS + 2) * SLOT_PAGES * page_size)
#define THP_SIZE (4ul << 20)
#define SCRATCH_LEN (4 * SLOTS * SLOT_PAGES * page_size)
#define POOL 256
#define OUT_ENTRIES 64

static long page_size;

/*
 * The main thread's stack, [stack_lo, stack_hi), and how far below it the
 * stack may still grow (RLIMIT_STACK). GUP does not grow a stack any more
 * (6.5) and says so with a stack dump when asked for a page just below it:
 * a pin there tells nothing about upin, so none is made (call_harmless()).
 */
static uint64_t stack_lo, stack_hi;

static void find_stack(void)
{
	unsigned long lo, hi;
	char line[256];
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		return;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[stack]") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			stack_lo = lo;
			stack_hi = hi;
		}
	fclose(maps);
}

/* Whether [addr, addr + len) reaches below the stack, where it may grow. */
static bool near_stack(uint64_t addr, uint64_t len)
{
	const uint64_t below = (8ull << 20) + (64ull << 10);
	uint64_t lo = stack_lo > below ? stack_lo - below : 0;

	return stack_hi && addr < stack_hi && (addr + len < addr || addr + len > lo);
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

static bool chance(uint64_t *s, unsigned int percent)
{
	return rnd(s, 100) < percent;
}

enum kind { K_ANON, K_RO, K_NONE, K_HOLE, K_SHARED, K_KINDS };

/* What every thread shares. */
struct fuzz {
	int fd;
	int memfd;
	char *arena;		/* SLOTS slots, a PROT_NONE guard slot each side */
	char *thp;		/* THP_SIZE, 2 MiB aligned, MADV_HUGEPAGE */
	atomic_ullong pool[POOL];	/* handles of successful pins */
	atomic_bool stop;
	uint64_t seed;
	uint64_t calls_per_thread;
	double deadline;
};

/* What a worker counts, and the first thing it found wrong. */
struct worker {
	struct fuzz *f;
	pthread_t thread;
	uint64_t rng;
	char *scratch;		/* where ACCESS and LIST/SEGMENTS may write */
	char *edge;		/* a page followed by a PROT_NONE page */
	unsigned long calls, ok, pins, unmade, errs[160];
	char msg[256];
};

struct chaos {
	struct fuzz *f;
	pthread_t thread;
	uint64_t rng;
	unsigned long remaps, unmaps, protects, dontneeds, forks;
	char msg[256];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slot_addr(struct fuzz *f, unsigned int i)
{
	return f->arena + (size_t)(i + 1) * SLOT_PAGES * page_size;
}

/* Map slot @i as @k (MAP_FIXED over whatever it was); 0 or -errno. */
static int slot_map(struct fuzz *f, unsigned int i, enum kind k)
{
	size_t len = SLOT_PAGES * page_size;
	char *a = slot_addr(f, i), *p;

	switch (k) {
	case K_HOLE:
		return munmap(a, len) ? -errno : 0;
	case K_SHARED:
		p = mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 f->memfd, (off_t)i * len);
		break;
	default:
		p = mmap(a, len, k == K_NONE ? PROT_NONE :
			 k == K_RO ? PROT_READ : PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		break;
	}
	if (p == MAP_FAILED)
		return -errno;
	if (k == K_ANON)
		memset(p, (int)i, len);
	return 0;
}

/* A user address of the arena or the THP area, page aligned or not. */
static uint64_t arena_addr(struct worker *w)
{
	struct fuzz *f = w->f;
	uint64_t off;

	if (chance(&w->rng, 25)) {
		off = rnd(&w->rng, THP_SIZE);
		if (chance(&w->rng, 70))
			off &= ~(uint64_t)(page_size - 1);
		return (uintptr_t)f->thp + off;
	}
	off = rnd(&w->rng, (uint64_t)(SLOTS + 2) * SLOT_PAGES * page_size);
	if (chance(&w->rng, 70))
		off &= ~(uint64_t)(page_size - 1);
	return (uintptr_t)f->arena + off;
}

/* An address that is never user memory of this process. */
static uint64_t bad_addr(struct worker *w)
{
	static const uint64_t bad[] = {
		0, 1, 0xfff,
		0x00007ffffffff000ull,	/* the top user page, unmapped */
		0x0000800000000000ull,	/* non-canonical */
		0xffff888000000000ull,	/* the direct map */
		0xffffffff81000000ull,	/* kernel text */
		0xffffffffff600000ull,	/* vsyscall */
		~0ull, ~0ull - 4095,
	};

	return bad[rnd(&w->rng, sizeof(bad) / sizeof(bad[0]))];
}

/* A pointer for the kernel to write results to. */
static uint64_t out_ptr(struct worker *w, uint64_t *capacity, size_t entry)
{
	switch (rnd(&w->rng, 6)) {
	case 0:
		return bad_addr(w);
	case 1:
		/* Into the arena: holes, read-only and PROT_NONE slots. */
		return arena_addr(w);
	case 2:
		/* The last entries of the edge page, then PROT_NONE. */
		*capacity = rnd(&w->rng, 4) + 1;
		return (uintptr_t)w->edge + page_size - entry * rnd(&w->rng, 3);
	default:
		if (*capacity > OUT_ENTRIES)
			*capacity = rnd(&w->rng, OUT_ENTRIES + 1);
		return (uintptr_t)w->scratch;
	}
}

static uint64_t rnd_length(struct worker *w)
{
	switch (rnd(&w->rng, 10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return ~0ull - rnd(&w->rng, 2 * page_size);
	case 3:
		return 1ull << (20 + rnd(&w->rng, 40));
	case 4:
		return page_size;
	default:
		return 1 + rnd(&w->rng, 4ull * SLOT_PAGES * page_size);
	}
}

static uint64_t rnd_handle(struct worker *w)
{
	uint64_t h;

	switch (rnd(&w->rng, 8)) {
	case 0:
		return 0;
	case 1:
		return rng_next(&w->rng);
	case 2:
		return ~0ull;
	default:
		h = atomic_load(&w->f->pool[rnd(&w->rng, POOL)]);
		return chance(&w->rng, 10) ? h + 1 : h;
	}
}

static uint32_t rnd_flags(struct worker *w, uint32_t valid)
{
	switch (rnd(&w->rng, 6)) {
	case 0:
		return (uint32_t)rng_next(&w->rng);
	case 1:
		return 1u << rnd(&w->rng, 32);
	case 2:
		return 0;
	default:
		return (uint32_t)rng_next(&w->rng) & valid;
	}
}

static const size_t arg_size[] = {
	sizeof(struct upin_info), sizeof(struct upin_pin),
	sizeof(struct upin_unpin), sizeof(struct upin_region),
	sizeof(struct upin_list), sizeof(struct upin_access),
	sizeof(struct upin_segments),
};

#define NCMDS (sizeof(arg_size) / sizeof(arg_size[0]))

/* Fill @a for command @c with values drawn from the generators. */
static void make_arg(struct worker *w, unsigned int c, union upin_arg *a)
{
	uint64_t cap;

	memset(a, 0, sizeof(*a));
	switch (c) {
	case UPIN_CMD_GET_INFO - UPIN_CMD_BASE:
		a->info.flags = chance(&w->rng, 90) ? 0 : rnd_flags(w, 0);
		break;
	case UPIN_CMD_PIN - UPIN_CMD_BASE:
		a->pin.flags = rnd_flags(w, UPIN_PIN_WRITE | UPIN_PIN_LONGTERM);
		a->pin.addr = chance(&w->rng, 85) ? arena_addr(w) : bad_addr(w);
		a->pin.length = rnd_length(w);
		break;
	case UPIN_CMD_UNPIN - UPIN_CMD_BASE:
		a->unpin.flags = chance(&w->rng, 90) ? 0 : rnd_flags(w, 0);
		a->unpin.handle = rnd_handle(w);
		break;
	case UPIN_CMD_QUERY - UPIN_CMD_BASE:
		a->region.handle = rnd_handle(w);
		a->region.__reserved = chance(&w->rng, 90) ? 0 : 1;
		break;
	case UPIN_CMD_LIST - UPIN_CMD_BASE:
		cap = chance(&w->rng, 20) ? rng_next(&w->rng) & 0xffffffff :
			rnd(&w->rng, OUT_ENTRIES + 1);
		a->list.handles = out_ptr(w, &cap, sizeof(uint64_t));
		a->list.capacity = (uint32_t)cap;
		break;
	case UPIN_CMD_ACCESS - UPIN_CMD_BASE:
		a->access.flags = rnd_flags(w, UPIN_ACCESS_WRITE);
		a->access.handle = rnd_handle(w);
		a->access.offset = chance(&w->rng, 80) ?
			rnd(&w->rng, 2ull * SLOT_PAGES * page_size) :
			rng_next(&w->rng);
		a->access.length = chance(&w->rng, 80) ?
			rnd(&w->rng, 2ull * SLOT_PAGES * page_size) :
			rnd_length(w);
		/* Reads land in scratch or the arena, never in live memory. */
		a->access.buf = chance(&w->rng, 60) ? (uintptr_t)w->scratch :
			chance(&w->rng, 60) ? arena_addr(w) : bad_addr(w);
		break;
	case UPIN_CMD_SEGMENTS - UPIN_CMD_BASE:
		a->segs.handle = rnd_handle(w);
		cap = chance(&w->rng, 20) ? rng_next(&w->rng) :
			rnd(&w->rng, OUT_ENTRIES / 2 + 1);
		a->segs.segs = out_ptr(w, &cap, sizeof(struct upin_segment));
		if (a->segs.segs == (uintptr_t)w->scratch &&
		    cap > OUT_ENTRIES / 2)
			cap = OUT_ENTRIES / 2;
		a->segs.capacity = cap;
		break;
	}
}

/*
 * The size field: mostly right, sometimes the first layout, too small,
 * larger with a zero or non-zero tail, or absurd.
 */
static uint32_t make_size(struct worker *w, unsigned int c, union upin_arg *a)
{
	size_t size = c < NCMDS ? arg_size[c] : 16;
	size_t tail;

	switch (rnd(&w->rng, 12)) {
	case 0:
		return (uint32_t)rnd(&w->rng, size);
	case 1:
		tail = size + rnd(&w->rng, sizeof(a->raw) - size);
		if (tail < sizeof(a->raw))
			a->raw[tail] = 1;
		/* fall through */
	case 2:
		return (uint32_t)(size + rnd(&w->rng, sizeof(a->raw) - size));
	case 3:
		return (uint32_t)rng_next(&w->rng);
	default:
		return (uint32_t)size;
	}
}

/* Errors the ABI names; anything else is a finding. */
static bool documented(int err)
{
	switch (err) {
	case EINVAL: case EFAULT: case ENOENT: case EOPNOTSUPP: case ENOMEM:
	case ENOSPC: case EINTR: case EPERM: case E2BIG: case EMSGSIZE:
	case ENOTTY: case EAGAIN:
		return true;
	}
	return false;
}

#define W_CHECK(w, cond, ...) do {					\
	if (!(cond) && !(w)->msg[0])					\
		snprintf((w)->msg, sizeof((w)->msg), __VA_ARGS__);	\
} while (0)

static bool user_range(uint64_t addr, uint64_t len)
{
	return addr + len >= addr && addr + len <= 0x00007ffffffff000ull;
}

static bool within(uint64_t p, const char *start, size_t len)
{
	return p >= (uintptr_t)start && p - (uintptr_t)start < len;
}

/*
 * Whether the kernel may write from @p on without reaching memory the
 * program lives in: @p is the fuzzer's own memory, which ends in a
 * PROT_NONE guard, or no memory at all (beyond the address space, or not
 * mapped: msync() says ENOMEM; only the chaos thread maps anything, in
 * the arena), where the write or the pin fails at its first page. A @pin
 * start counts as a write: ACCESS writes into pinned pages.
 */
static bool harmless(struct worker *w, uint64_t p, bool pin)
{
	const uint64_t top = sizeof(void *) == 4 ? 1ull << 32 :
			     0x00007ffffffff000ull;
	struct fuzz *f = w->f;

	if (p >= top)
		return true;
	if (within(p, f->arena, ARENA_LEN) || within(p, f->thp, THP_SIZE))
		return true;
	if (!pin && (within(p, w->scratch, SCRATCH_LEN) ||
		     within(p, w->edge, 2 * page_size)))
		return true;
	return msync((void *)(uintptr_t)(p & ~(uint64_t)(page_size - 1)),
		     1, MS_ASYNC) && errno == ENOMEM;
}

/* Whether call @cmd with @a may be made: see harmless(). */
static bool call_harmless(struct worker *w, unsigned long cmd,
			  const union upin_arg *a)
{
	if (cmd == UPIN_IOC_PIN)
		return harmless(w, a->pin.addr, true) &&
		       !near_stack(a->pin.addr, a->pin.length);
	if (cmd == UPIN_IOC_LIST)
		return harmless(w, a->list.handles, false);
	if (cmd == UPIN_IOC_ACCESS)
		return harmless(w, a->access.buf, false);
	if (cmd == UPIN_IOC_SEGMENTS)
		return harmless(w, a->segs.segs, false);
	return true;	/* writes back to argp at most, or ENOTTY */
}

/* One random call. */
static void fuzz_one(struct worker *w)
{
	struct fuzz *f = w->f;
	unsigned int c = rnd(&w->rng, NCMDS + 1);
	unsigned long cmd, argp;
	union upin_arg *a, *edge_arg;
	union upin_arg local;
	int ret, i, flips;
	uint64_t h;

	a = &local;
	make_arg(w, c < NCMDS ? c : 0, a);
	a->info.size = make_size(w, c, a);
	if (chance(&w->rng, 33)) {
		/* Mutate: flip bits anywhere in what the kernel reads. */
		flips = 1 + rnd(&w->rng, 3);
		for (i = 0; i < flips; i++)
			a->raw[rnd(&w->rng, 64)] ^= 1u << rnd(&w->rng, 8);
	}

	if (c < NCMDS && chance(&w->rng, 97))
		cmd = _IO(UPIN_TYPE, UPIN_CMD_BASE + c);
	else if (chance(&w->rng, 50))
		cmd = _IOWR(UPIN_TYPE, UPIN_CMD_BASE + rnd(&w->rng, NCMDS),
			    struct upin_pin);
	else
		cmd = _IO(rnd(&w->rng, 2) ? UPIN_TYPE : 'u',
			  rnd(&w->rng, 256));

	argp = (uintptr_t)a;
	switch (rnd(&w->rng, 20)) {
	case 0:
		argp = (unsigned long)bad_addr(w);
		break;
	case 1:
		/* The struct runs into the PROT_NONE page. */
		edge_arg = (union upin_arg *)(w->edge + page_size -
					      rnd(&w->rng, 2 * sizeof(a->pin)));
		memcpy(edge_arg, a, w->edge + page_size - (char *)edge_arg);
		argp = (uintptr_t)edge_arg;
		break;
	}

	if (!call_harmless(w, cmd, a)) {
		w->unmade++;
		return;
	}
	ret = ioctl(f->fd, cmd, argp) ? errno : 0;
	w->calls++;
	if (ret) {
		W_CHECK(w, documented(ret), "cmd 0x%lx: undocumented error %d (%s)",
			cmd, ret, strerror(ret));
		if (ret < (int)(sizeof(w->errs) / sizeof(w->errs[0])))
			w->errs[ret]++;
		return;
	}
	w->ok++;
	if (argp != (uintptr_t)a || cmd != _IO(UPIN_TYPE, UPIN_CMD_BASE + c))
		return;
	if (c == UPIN_CMD_PIN - UPIN_CMD_BASE) {
		w->pins++;
		W_CHECK(w, a->pin.handle, "pin returned handle 0");
		W_CHECK(w, user_range(a->pin.addr, a->pin.length),
			"pin of 0x%llx+%llu succeeded outside user memory",
			(unsigned long long)a->pin.addr,
			(unsigned long long)a->pin.length);
		/* Keep at most POOL regions: the one displaced goes. */
		h = atomic_exchange(&f->pool[rnd(&w->rng, POOL)], a->pin.handle);
		if (h)
			upin_unpin(f->fd, h);
	} else if (c == UPIN_CMD_QUERY - UPIN_CMD_BASE) {
		W_CHECK(w, user_range(a->region.addr, a->region.length) &&
			a->region.npages && a->region.nr_segments &&
			a->region.nr_segments <= a->region.npages,
			"query of handle %llu: addr 0x%llx length %llu npages %llu segments %llu",
			(unsigned long long)a->region.handle,
			(unsigned long long)a->region.addr,
			(unsigned long long)a->region.length,
			(unsigned long long)a->region.npages,
			(unsigned long long)a->region.nr_segments);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fuzz *f = w->f;

	while (!atomic_load(&f->stop)) {
		fuzz_one(w);
		if (f->calls_per_thread ? w->calls >= f->calls_per_thread :
		    !(w->calls & 63) && now() > f->deadline)
			break;
	}
	return NULL;
}

/* A child of a fork: the context is not its own. */
static void child_main(struct fuzz *f)
{
	struct upin_pin pin = { .size = sizeof(pin), .addr = (uintptr_t)f->thp,
				.length = (uint64_t)page_size };
	struct upin_info info;
	int ret;

	ret = upin_ioctl(f->fd, UPIN_IOC_PIN, &pin);
	if (ret != -EPERM)
		_exit(10);
	if (upin_get_info(f->fd, &info))
		_exit(11);
	_exit(0);
}

static void *chaos_main(void *arg)
{
	struct chaos *ch = arg;
	struct fuzz *f = ch->f;
	unsigned int i;
	int status;
	pid_t pid;

	while (!atomic_load(&f->stop)) {
		i = rnd(&ch->rng, SLOTS);
		switch (rnd(&ch->rng, 10)) {
		case 0: case 1: case 2:
			if (!slot_map(f, i, rnd(&ch->rng, K_KINDS)))
				ch->remaps++;
			break;
		case 3:
			if (!slot_map(f, i, K_HOLE))
				ch->unmaps++;
			break;
		case 4:
			if (!mprotect(slot_addr(f, i), SLOT_PAGES * page_size,
				      rnd(&ch->rng, 2) ? PROT_READ :
				      PROT_READ | PROT_WRITE))
				ch->protects++;
			break;
		case 5: case 6:
			if (!madvise(slot_addr(f, i), SLOT_PAGES * page_size,
				     MADV_DONTNEED))
				ch->dontneeds++;
			break;
		case 7:
			/* Zap part of a THP: splits it under the pins. */
			if (!madvise(f->thp + rnd(&ch->rng, THP_SIZE / page_size) *
				     page_size, page_size * (1 + rnd(&ch->rng, 16)),
				     MADV_DONTNEED))
				ch->dontneeds++;
			break;
		case 8:
			/* Touch memory, so that pins find pages. */
			if (!rnd(&ch->rng, 2))
				memset(f->thp + rnd(&ch->rng, THP_SIZE / page_size) *
				       page_size, 1, page_size);
			break;
		default:
			pid = fork();
			if (pid == 0)
				child_main(f);
			if (pid > 0) {
				ch->forks++;
				if (waitpid(pid, &status, 0) != pid ||
				    !WIFEXITED(status) || WEXITSTATUS(status))
					snprintf(ch->msg, sizeof(ch->msg),
						 "forked child: status 0x%x (10: PIN was not EPERM, 11: GET_INFO failed)",
						 status);
			}
			break;
		}
	}
	return NULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

FIXTURE(fuzz) {
	struct fuzz f;
	char *thp_map;
};

FIXTURE_SETUP(fuzz)
{
	size_t arena_len;
	unsigned int i;

	page_size = sysconf(_SC_PAGESIZE);
	find_stack();
	memset(&self->f, 0, sizeof(self->f));
	self->f.fd = -1;
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
	self->f.fd = upin_open();
	ASSERT_LE(0, self->f.fd);
	self->f.memfd = memfd_create("upin-fuzz", MFD_CLOEXEC);
	ASSERT_LE(0, self->f.memfd);
	ASSERT_EQ(0, ftruncate(self->f.memfd,
			       (off_t)SLOTS * SLOT_PAGES * page_size));

	arena_len = ARENA_LEN;
	self->f.arena = mmap(NULL, arena_len, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->f.arena);
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, slot_map(&self->f, i, K_ANON));

	self->thp_map = mmap(NULL, THP_SIZE + (2ul << 20),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->thp_map);
	self->f.thp = (char *)(((uintptr_t)self->thp_map + (2ul << 20) - 1) &
			       ~((2ul << 20) - 1));
	madvise(self->f.thp, THP_SIZE, MADV_HUGEPAGE);
	memset(self->f.thp, 2, THP_SIZE);
	/* A pin that runs past the THP area stops at a guard, as the arena's. */
	ASSERT_EQ(0, mprotect(self->f.thp + THP_SIZE,
			      self->thp_map + THP_SIZE + (2ul << 20) -
			      (self->f.thp + THP_SIZE), PROT_NONE));
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->f.fd >= 0)
		close(self->f.fd);
}

/*
 * The regions of the context add up everywhere: LIST, QUERY, GET_INFO,
 * VmPin and the FOLL_PIN counters. 0, or -1 with what disagrees in @msg.
 */
static int regions_add_up(struct fuzz *f, uint32_t *nregions, uint64_t *npages,
			  char *msg, size_t len)
{
	static uint64_t handles[65536];
	struct upin_region r;
	struct upin_info info;
	uint64_t sum = 0;
	long long pins;
	uint32_t n, i;
	long kb;
	int ret;

	ret = upin_list(f->fd, handles, sizeof(handles) / sizeof(handles[0]), &n);
	if (ret) {
		snprintf(msg, len, "LIST: %s", strerror(-ret));
		return -1;
	}
	for (i = 0; i < n; i++) {
		ret = upin_query(f->fd, handles[i], &r);
		if (ret) {
			snprintf(msg, len, "QUERY of listed handle %llu: %s",
				 (unsigned long long)handles[i], strerror(-ret));
			return -1;
		}
		sum += r.npages;
	}
	*nregions = n;
	*npages = sum;
	ret = upin_get_info(f->fd, &info);
	kb = upin_vmpin_kb(0);
	pins = upin_pins_outstanding();
	snprintf(msg, len, "LIST: %u regions of %llu pages; GET_INFO: %s, %u regions, %llu pages, %llu global; VmPin %ld kB; FOLL_PIN outstanding %lld",
		 n, (unsigned long long)sum, ret ? strerror(-ret) : "ok",
		 info.nr_regions, (unsigned long long)info.pinned_pages,
		 (unsigned long long)info.global_pinned_pages, kb, pins);
	/*
	 * FOLL_PIN references may be fewer than pinned pages: since Linux 6.5
	 * GUP takes none on the shared zero page (read-only slots), and does
	 * not count it. Once the context is closed they must balance.
	 */
	if (ret || info.nr_regions != n || info.pinned_pages != sum ||
	    info.global_pinned_pages != sum ||
	    kb != (long)(sum * (page_size / 1024)) || pins < 0 ||
	    pins > (long long)sum)
		return -1;
	return 0;
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 900)
{
	struct worker w[NTHREADS];
	struct chaos ch;
	unsigned long calls = 0, ok = 0, pins = 0, unmade = 0, errs[160] = { 0 };
	double seconds = env_u64("UPIN_FUZZ_SECONDS", 20), t0;
	uint32_t nregions = 0;
	uint64_t npages = 0;
	char line[512];
	size_t len;
	int i, e;

	self->f.seed = env_u64("UPIN_FUZZ_SEED",
			       (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
	self->f.calls_per_thread = env_u64("UPIN_FUZZ_CALLS", 0);
	TH_LOG("seed %llu (UPIN_FUZZ_SEED=%llu repeats it), %d threads, %s %g",
	       (unsigned long long)self->f.seed,
	       (unsigned long long)self->f.seed, NTHREADS,
	       self->f.calls_per_thread ? "calls per thread" : "seconds",
	       self->f.calls_per_thread ? (double)self->f.calls_per_thread :
	       seconds);
	t0 = now();
	self->f.deadline = t0 + seconds;

	memset(&ch, 0, sizeof(ch));
	ch.f = &self->f;
	ch.rng = self->f.seed * 0x9e3779b97f4a7c15ull + 1;
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = &self->f;
		w[i].rng = (self->f.seed + i + 1) * 0x9e3779b97f4a7c15ull | 1;
		w[i].scratch = mmap(NULL, SCRATCH_LEN,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, w[i].scratch);
		w[i].edge = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, w[i].edge);
		ASSERT_EQ(0, mprotect(w[i].edge + page_size, page_size,
				      PROT_NONE));
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, worker_main,
					    &w[i]));
	ASSERT_EQ(0, pthread_create(&ch.thread, NULL, chaos_main, &ch));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
	atomic_store(&self->f.stop, true);
	ASSERT_EQ(0, pthread_join(ch.thread, NULL));

	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, w[i].msg[0]) TH_LOG("thread %d: %s", i, w[i].msg);
		calls += w[i].calls;
		unmade += w[i].unmade;
		ok += w[i].ok;
		pins += w[i].pins;
		for (e = 0; e < 160; e++)
			errs[e] += w[i].errs[e];
	}
	EXPECT_EQ(0, ch.msg[0]) TH_LOG("chaos: %s", ch.msg);

	len = snprintf(line, sizeof(line), "%lu calls in %.1f s: %lu ok (%lu pins)",
		       calls, now() - t0, ok, pins);
	for (e = 0; e < 160; e++)
		if (errs[e] && len < sizeof(line))
			len += snprintf(line + len, sizeof(line) - len,
					", %lu %s", errs[e], strerrorname_np(e));
	if (len < sizeof(line))
		snprintf(line + len, sizeof(line) - len,
			 "; %lu not made (would write into the program)",
			 unmade);
	TH_LOG("%s", line);
	TH_LOG("chaos: %lu remaps, %lu unmaps, %lu mprotects, %lu MADV_DONTNEEDs, %lu forks",
	       ch.remaps, ch.unmaps, ch.protects, ch.dontneeds, ch.forks);

	i = regions_add_up(&self->f, &nregions, &npages, line, sizeof(line));
	EXPECT_EQ(0, i) TH_LOG("the regions do not add up: %s", line);
	TH_LOG("at the end: %u regions, %llu pages pinned", nregions,
	       (unsigned long long)npages);
	EXPECT_LT(0, pins) TH_LOG("no pin ever succeeded: the fuzzer is blind");

	ASSERT_EQ(0, close(self->f.fd));
	self->f.fd = -1;
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
}

TEST_HARNESS_MAIN

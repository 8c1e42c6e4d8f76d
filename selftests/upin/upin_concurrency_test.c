// SPDX-License-Identifier: GPL-2.0
/*
 * upin concurrency tests: several threads on one context, close() racing
 * with commands, many regions released at once, several contexts at once.
 *
 * Threads of one process share its mm, so all of them may use a context.
 * Every call either succeeds or fails with the errno the ABI documents for
 * the race at hand (ENOENT for a handle another thread unpinned, EBADF for
 * an fd another thread closed); nothing leaks. Every test ends on the
 * project's oracle: the FOLL_PIN counters balanced, VmPin 0.
 *
 * Worker threads never use the harness's ASSERT and EXPECT macros (they
 * unwind with longjmp() and are not thread-safe): they record the first
 * unexpected result in their own struct and the main thread reports it.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#define NTHREADS 4
/*
 * Rounds of the thread races: a quarter of them on a KASAN kernel, where
 * each costs several times more and the sanitizers see what a bad
 * interleaving does in the rounds that remain.
 */
#define ROUNDS(n) (upin_test_kasan() ? (n) / 4 : (n))
#define OWN_PAGES 4
#define SHARED_PAGES 8
#define MAX_SEGS 16

static long page_size;

/* The oracle, at the end of every test, once every context is closed. */
#define ASSERT_ALL_RELEASED() do {				\
	ASSERT_EQ(0, upin_pins_outstanding());			\
	ASSERT_EQ(0, upin_vmpin_kb(0));				\
} while (0)

/* Worker's record of the first thing that went wrong. */
struct failure {
	char msg[256];
};

static bool fail_at(struct failure *f, int line, const char *what, long long v)
{
	if (!f->msg[0])
		snprintf(f->msg, sizeof(f->msg), "line %d: %s (got %lld)",
			 line, what, v);
	return true;
}

/* In a worker: true, with the failure recorded, when @cond is false. */
#define W_FAILED(f, cond, v) \
	(!(cond) && fail_at(f, __LINE__, #cond, (long long)(v)))

static void *map_anon(size_t len, int fill)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, fill, len);
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool list_ok(const uint64_t *handles, uint32_t n, uint64_t want)
{
	bool found = !want;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (i && handles[i] <= handles[i - 1])
			return false;
		if (handles[i] == want)
			found = true;
	}
	return found;
}

/* ---- threads on one context ---- */

/* What the threads of one test share. */
struct threads_state {
	int fd;
	uint32_t own_flags;
	uint32_t shared_flags;
	unsigned char *shared;
	pthread_barrier_t barrier;
	atomic_ullong slot[NTHREADS];
	atomic_long shared_pins, shared_unpins;
	atomic_ullong race_handle;
	atomic_int race_wins;
	int iterations;
};

FIXTURE(threads) {
	struct threads_state s;
};

FIXTURE_VARIANT(threads) {
	uint32_t own_flags;	/* the thread's own, writable buffer */
	uint32_t shared_flags;	/* the buffer every thread pins */
};

FIXTURE_VARIANT_ADD(threads, shortterm) {
	.own_flags = UPIN_PIN_WRITE,
	.shared_flags = 0,
};

FIXTURE_VARIANT_ADD(threads, longterm) {
	.own_flags = UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
	.shared_flags = UPIN_PIN_LONGTERM,
};

struct worker {
	pthread_t thread;
	int id;
	struct threads_state *t;
	unsigned char *own;
	struct failure f;
};

FIXTURE_SETUP(threads)
{
	struct threads_state *t = &self->s;

	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
	t->fd = upin_open();
	ASSERT_LE(0, t->fd) TH_LOG("open " UPIN_DEV ": %s", strerror(-t->fd));
	t->own_flags = variant->own_flags;
	t->shared_flags = variant->shared_flags;
	t->shared = map_anon(SHARED_PAGES * page_size, 'S');
	ASSERT_NE(NULL, t->shared);
	ASSERT_EQ(0, pthread_barrier_init(&t->barrier, NULL, NTHREADS));
	t->iterations = ROUNDS(1000);
}

FIXTURE_TEARDOWN(threads)
{
	if (self->s.fd >= 0)
		close(self->s.fd);
}

/*
 * One iteration on the thread's own region: every call must succeed, as
 * only this thread knows the handle.
 */
static int own_region(struct worker *w, int i)
{
	const size_t len = OWN_PAGES * page_size;
	struct upin_segment segs[MAX_SEGS];
	uint64_t handles[4 * NTHREADS];
	unsigned char *tmp = NULL;
	uint64_t h, nsegs, total;
	struct upin_region r;
	uint32_t count;
	int ret, fd = w->t->fd;
	uint64_t k;

	tmp = malloc(len);
	if (W_FAILED(&w->f, tmp, 0))
		goto out;
	ret = upin_pin(fd, w->own, len, w->t->own_flags, &h, NULL);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;

	ret = upin_query(fd, h, &r);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	if (W_FAILED(&w->f, r.addr == (uintptr_t)w->own, r.addr))
		goto out;
	if (W_FAILED(&w->f, r.npages == OWN_PAGES, r.npages))
		goto out;
	if (W_FAILED(&w->f, r.pin_flags == w->t->own_flags, r.pin_flags))
		goto out;

	memset(tmp, (w->id << 5) + (i & 31), len);
	ret = upin_access(fd, h, UPIN_ACCESS_WRITE, 0, tmp, len);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	memset(tmp, 0, len);
	ret = upin_access(fd, h, 0, 0, tmp, len);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	if (W_FAILED(&w->f, !memcmp(tmp, w->own, len), i))
		goto out;

	ret = upin_segments(fd, h, segs, MAX_SEGS, &nsegs);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	if (W_FAILED(&w->f, nsegs >= 1 && nsegs <= OWN_PAGES, nsegs))
		goto out;
	for (k = 0, total = 0; k < nsegs; k++)
		total += segs[k].length;
	if (W_FAILED(&w->f, total == len, total))
		goto out;

	/* At most an own and a shared region per thread, and in-flight ones. */
	ret = upin_list(fd, handles, 4 * NTHREADS, &count);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	if (W_FAILED(&w->f, count >= 1 && count <= 2 * NTHREADS, count))
		goto out;
	if (W_FAILED(&w->f, list_ok(handles, count, h), count))
		goto out;
	ret = upin_list(fd, NULL, 0, &count);
	if (W_FAILED(&w->f, ret == -EMSGSIZE, ret))
		goto out;
	if (W_FAILED(&w->f, count >= 1, count))
		goto out;

	ret = upin_unpin(fd, h);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	ret = upin_unpin(fd, h);
	if (W_FAILED(&w->f, ret == -ENOENT, ret))
		goto out;
	ret = upin_query(fd, h, &r);
	if (W_FAILED(&w->f, ret == -ENOENT, ret))
		goto out;
	free(tmp);
	return 0;
out:
	free(tmp);
	return -1;
}

/*
 * One iteration on the shared buffer: pin an overlapping range and publish
 * the handle; use the neighbour's published handle, which its owner or
 * another thread may unpin at any time (ENOENT), and on odd iterations try
 * to unpin it first. Every shared region is unpinned exactly once.
 */
static int shared_region(struct worker *w, int i)
{
	struct threads_state *t = w->t;
	struct upin_segment segs[MAX_SEGS];
	uint64_t h, v, nsegs;
	struct upin_region r;
	unsigned char *tmp;
	int ret;

	tmp = malloc(page_size);
	if (W_FAILED(&w->f, tmp, 0))
		goto out;
	ret = upin_pin(t->fd, t->shared + w->id * page_size + page_size / 2,
		       2 * page_size, t->shared_flags, &h, NULL);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	atomic_fetch_add(&t->shared_pins, 1);
	atomic_store(&t->slot[w->id], h);

	v = atomic_load(&t->slot[(w->id + 1) % NTHREADS]);
	if (v) {
		if (i & 1) {
			ret = upin_unpin(t->fd, v);
			if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
				goto out;
			if (!ret)
				atomic_fetch_add(&t->shared_unpins, 1);
		}
		ret = upin_query(t->fd, v, &r);
		if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
			goto out;
		if (W_FAILED(&w->f, ret || r.npages == 3, r.npages))
			goto out;
		ret = upin_access(t->fd, v, 0, page_size / 2, tmp, page_size);
		if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
			goto out;
		if (W_FAILED(&w->f, ret || tmp[0] == 'S', tmp[0]))
			goto out;
		ret = upin_access(t->fd, v, UPIN_ACCESS_WRITE, 0, tmp,
				  page_size);
		if (W_FAILED(&w->f, ret == -EPERM || ret == -ENOENT, ret))
			goto out;
		ret = upin_segments(t->fd, v, segs, MAX_SEGS, &nsegs);
		if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
			goto out;
	}

	v = atomic_exchange(&t->slot[w->id], 0);
	ret = upin_unpin(t->fd, v);
	if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
		goto out;
	if (!ret)
		atomic_fetch_add(&t->shared_unpins, 1);
	free(tmp);
	return 0;
out:
	free(tmp);
	return -1;
}

static void *threads_worker(void *arg)
{
	struct worker *w = arg;
	int i;

	pthread_barrier_wait(&w->t->barrier);
	for (i = 0; i < w->t->iterations; i++) {
		if (own_region(w, i) || shared_region(w, i))
			break;
	}
	return NULL;
}

static void run_workers(struct __test_metadata *_metadata,
			struct threads_state *t, void *(*fn)(void *))
{
	struct worker w[NTHREADS];
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].t = t;
		w[i].own = map_anon(OWN_PAGES * page_size, 'O');
		ASSERT_NE(NULL, w[i].own);
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, fn, &w[i]));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, w[i].f.msg[0])
			TH_LOG("thread %d: %s", i, w[i].f.msg);
		munmap(w[i].own, OWN_PAGES * page_size);
	}
}

TEST_F_TIMEOUT(threads, mixed_commands, 120)
{
	struct threads_state *t = &self->s;
	struct upin_info info;
	uint32_t count;

	run_workers(_metadata, t, threads_worker);

	/* Each shared region was unpinned exactly once; nothing is left. */
	EXPECT_EQ(atomic_load(&t->shared_pins),
		  atomic_load(&t->shared_unpins));
	ASSERT_EQ(0, upin_get_info(t->fd, &info));
	EXPECT_EQ(0U, info.nr_regions);
	EXPECT_EQ(0ULL, info.pinned_pages);
	EXPECT_EQ(0ULL, info.global_pinned_pages);
	ASSERT_EQ(0, upin_list(t->fd, NULL, 0, &count));
	EXPECT_EQ(0U, count);
	ASSERT_EQ(0, upin_pins_outstanding());
	ASSERT_EQ(0, close(t->fd));
	t->fd = -1;
	ASSERT_ALL_RELEASED();
}

/*
 * All threads unpin the same handle at once: exactly one succeeds, the
 * others see ENOENT. Then all pin at once: every handle is new.
 */
static void *race_worker(void *arg)
{
	struct worker *w = arg;
	struct threads_state *t = w->t;
	uint64_t h, last = 0;
	int i, j, ret;

	for (i = 0; i < t->iterations; i++) {
		if (w->id == 0) {
			ret = upin_pin(t->fd, w->own, page_size,
				       w->t->own_flags, &h, NULL);
			if (W_FAILED(&w->f, ret == 0, ret))
				goto out;
			atomic_store(&t->race_handle, h);
			atomic_store(&t->race_wins, 0);
		}
		pthread_barrier_wait(&t->barrier);
		ret = upin_unpin(t->fd, atomic_load(&t->race_handle));
		if (W_FAILED(&w->f, ret == 0 || ret == -ENOENT, ret))
			goto out;
		if (!ret)
			atomic_fetch_add(&t->race_wins, 1);
		pthread_barrier_wait(&t->barrier);
		if (w->id == 0 &&
		    W_FAILED(&w->f, atomic_load(&t->race_wins) == 1,
			     atomic_load(&t->race_wins)))
			goto out;

		/* Concurrent pins: distinct handles, above every earlier one. */
		ret = upin_pin(t->fd, w->own, page_size, w->t->own_flags, &h,
			       NULL);
		if (W_FAILED(&w->f, ret == 0, ret))
			goto out;
		atomic_store(&t->slot[w->id], h);
		pthread_barrier_wait(&t->barrier);
		for (j = 0; j < NTHREADS; j++) {
			uint64_t other = atomic_load(&t->slot[j]);

			if (W_FAILED(&w->f, other > last, other))
				goto out;
			if (W_FAILED(&w->f, j == w->id || other != h, other))
				goto out;
		}
		/* Nobody starts the next round before every check. */
		pthread_barrier_wait(&t->barrier);
		ret = upin_unpin(t->fd, h);
		if (W_FAILED(&w->f, ret == 0, ret))
			goto out;
		last = h > last ? h : last;
		for (j = 0; j < NTHREADS; j++) {
			uint64_t other = atomic_load(&t->slot[j]);

			last = other > last ? other : last;
		}
		pthread_barrier_wait(&t->barrier);
	}
	return NULL;
out:
	/* The others wait in a barrier this thread will not reach. */
	fprintf(stderr, "# thread %d: %s\n", w->id, w->f.msg);
	abort();
}

TEST_F_TIMEOUT(threads, unpin_exactly_once, 120)
{
	run_workers(_metadata, &self->s, race_worker);
	ASSERT_EQ(0, close(self->s.fd));
	self->s.fd = -1;
	ASSERT_ALL_RELEASED();
}

/* ---- close() racing with commands ---- */

#define CLOSE_ROUNDS 40
#define CLOSE_WARMUP 5	/* iterations each thread runs before the close */

/* What the threads of one round share. */
struct close_state {
	bool self_close;
	sem_t warm;
	pthread_barrier_t barrier;
};

FIXTURE(close_race) {
	struct close_state s;
};

FIXTURE_VARIANT(close_race) {
	bool dup_fds;		/* each thread its own dup()ed fd */
	bool self_close;	/* each thread closes its own fd (last wins) */
};

/* All threads on one fd number, closed by the main thread. */
FIXTURE_VARIANT_ADD(close_race, same_fd) {
	.dup_fds = false,
	.self_close = false,
};

/* One dup()ed fd per thread, closed one by one by the main thread. */
FIXTURE_VARIANT_ADD(close_race, dup_fds) {
	.dup_fds = true,
	.self_close = false,
};

/* One dup()ed fd per thread, each thread closes its own while others run. */
FIXTURE_VARIANT_ADD(close_race, self_close) {
	.dup_fds = true,
	.self_close = true,
};

struct closer {
	pthread_t thread;
	struct close_state *t;
	int fd;
	unsigned char *buf;
	long iterations;
	bool closed;
	struct failure f;
};

FIXTURE_SETUP(close_race)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
}

FIXTURE_TEARDOWN(close_race)
{
}

/*
 * A command's result in close_worker(): 0 goes on; EBADF means the fd was
 * closed under the thread, which ends its loop; anything else is a failure.
 */
static bool closer_stops(struct closer *c, int ret, int line)
{
	if (!ret)
		return false;
	if (ret == -EBADF)
		c->closed = true;
	else
		fail_at(&c->f, line, "command returned 0 or -EBADF", ret);
	return true;
}

static void *close_worker(void *arg)
{
	struct closer *c = arg;
	uint64_t handles[64];
	struct upin_region r;
	uint32_t count;
	uint64_t h;
	int ret;

	pthread_barrier_wait(&c->t->barrier);
	for (;;) {
		ret = upin_pin(c->fd, c->buf, OWN_PAGES * page_size,
			       UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h, NULL);
		if (closer_stops(c, ret, __LINE__))
			break;
		ret = upin_query(c->fd, h, &r);
		if (closer_stops(c, ret, __LINE__))
			break;
		ret = upin_access(c->fd, h, 0, 0, handles, sizeof(handles));
		if (closer_stops(c, ret, __LINE__))
			break;
		/* Regions pile up: past 64 the answer is EMSGSIZE. */
		ret = upin_list(c->fd, handles, 64, &count);
		if (ret != -EMSGSIZE && closer_stops(c, ret, __LINE__))
			break;
		/* Every other region stays: the release has work to do. */
		if (c->iterations & 1) {
			ret = upin_unpin(c->fd, h);
			if (closer_stops(c, ret, __LINE__))
				break;
		}
		if (++c->iterations == CLOSE_WARMUP) {
			sem_post(&c->t->warm);
			if (c->t->self_close &&
			    W_FAILED(&c->f, close(c->fd) == 0, errno))
				break;
		}
	}
	if (c->closed && c->iterations < CLOSE_WARMUP)
		fail_at(&c->f, __LINE__, "EBADF before the close",
			c->iterations);
	return NULL;
}

TEST_F_TIMEOUT(close_race, close_while_busy, 120)
{
	struct close_state *t = &self->s;
	struct closer c[NTHREADS];
	int round, i, fd;

	t->self_close = variant->self_close;
	for (round = 0; round < ROUNDS(CLOSE_ROUNDS); round++) {
		uint64_t h;

		memset(c, 0, sizeof(c));
		ASSERT_EQ(0, sem_init(&t->warm, 0, 0));
		ASSERT_EQ(0, pthread_barrier_init(&t->barrier, NULL, NTHREADS));
		fd = upin_open();
		ASSERT_LE(0, fd);
		for (i = 0; i < NTHREADS; i++) {
			c[i].t = t;
			c[i].fd = variant->dup_fds ? dup(fd) : fd;
			ASSERT_LE(0, c[i].fd);
			c[i].buf = map_anon(OWN_PAGES * page_size, 'c');
			ASSERT_NE(NULL, c[i].buf);
			/* Regions held from the start, too. */
			ASSERT_EQ(0, upin_pin(fd, c[i].buf, page_size, 0, &h,
					      NULL));
		}
		if (variant->dup_fds)
			ASSERT_EQ(0, close(fd));
		for (i = 0; i < NTHREADS; i++)
			ASSERT_EQ(0, pthread_create(&c[i].thread, NULL,
						    close_worker, &c[i]));
		for (i = 0; i < NTHREADS; i++)
			ASSERT_EQ(0, sem_wait(&t->warm));
		/* Every thread is in its loop: pull the fds from under them. */
		if (!variant->dup_fds) {
			ASSERT_EQ(0, close(fd));
		} else if (!variant->self_close) {
			for (i = 0; i < NTHREADS; i++)
				ASSERT_EQ(0, close(c[i].fd));
		}
		for (i = 0; i < NTHREADS; i++)
			ASSERT_EQ(0, pthread_join(c[i].thread, NULL));
		for (i = 0; i < NTHREADS; i++) {
			EXPECT_EQ(0, c[i].f.msg[0])
				TH_LOG("round %d thread %d: %s", round, i,
				       c[i].f.msg);
			munmap(c[i].buf, OWN_PAGES * page_size);
		}
		pthread_barrier_destroy(&t->barrier);
		sem_destroy(&t->warm);
		/* The last reference is gone with the last command. */
		ASSERT_EQ(0, upin_pins_outstanding()) TH_LOG("round %d", round);
		ASSERT_EQ(0, upin_vmpin_kb(0)) TH_LOG("round %d", round);
	}
}

/* ---- many regions ---- */

#define MANY 4096

FIXTURE(many) {
	int fd;
	unsigned char *buf;
	uint64_t *handles;
};

FIXTURE_SETUP(many)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
	self->fd = upin_open();
	ASSERT_LE(0, self->fd);
	self->buf = map_anon(MANY * page_size, 'm');
	ASSERT_NE(NULL, self->buf);
	self->handles = calloc(MANY, sizeof(*self->handles));
	ASSERT_NE(NULL, self->handles);
}

FIXTURE_TEARDOWN(many)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* One single-page region per page of buf, every page written first. */
static void pin_many(struct __test_metadata *_metadata, int fd,
		     unsigned char *buf, uint64_t *handles)
{
	struct upin_info info;
	uint32_t count;
	int i;

	for (i = 0; i < MANY; i++)
		ASSERT_EQ(0, upin_pin(fd, buf + i * page_size, page_size,
				      i & 1 ? UPIN_PIN_WRITE : 0, &handles[i],
				      NULL)) TH_LOG("pin %d", i);
	ASSERT_EQ(0, upin_get_info(fd, &info));
	ASSERT_EQ((uint32_t)MANY, info.nr_regions);
	ASSERT_EQ((uint64_t)MANY, info.pinned_pages);
	ASSERT_EQ(0, upin_list(fd, handles, MANY, &count));
	ASSERT_EQ((uint32_t)MANY, count);
	for (i = 1; i < MANY; i++)
		ASSERT_LT(handles[i - 1], handles[i]);
	ASSERT_EQ(MANY, upin_pins_outstanding());
}

TEST_F_TIMEOUT(many, close_releases_all, 120)
{
	double t0, t;

	pin_many(_metadata, self->fd, self->buf, self->handles);
	ASSERT_EQ(MANY * page_size / 1024, upin_vmpin_kb(0));
	t0 = now();
	ASSERT_EQ(0, close(self->fd));
	t = now() - t0;
	self->fd = -1;
	TH_LOG("close() released %d regions in %.3f s", MANY, t);
	/* Generous for TCG: a linear release takes milliseconds. */
	EXPECT_GT(10.0, t);
	ASSERT_ALL_RELEASED();
}

TEST_F_TIMEOUT(many, exit_releases_all, 120)
{
	int c2p[2], p2c[2], status;
	double t0, t;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int i, fd = upin_open();

		close(c2p[0]);
		close(p2c[1]);
		if (fd < 0)
			_exit(1);
		for (i = 0; i < MANY; i++)
			if (upin_pin(fd, self->buf + i * page_size, page_size,
				     UPIN_PIN_LONGTERM, NULL, NULL))
				_exit(2);
		if (write(c2p[1], "p", 1) != 1 || read(p2c[0], &c, 1) != 1)
			_exit(3);
		_exit(0);	/* with 4096 regions held */
	}
	close(c2p[1]);
	close(p2c[0]);
	ASSERT_EQ(1, read(c2p[0], &c, 1));
	ASSERT_EQ(MANY, upin_pins_outstanding());
	t0 = now();
	ASSERT_EQ(1, write(p2c[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	t = now() - t0;
	ASSERT_EQ(0, status);
	TH_LOG("exit released %d regions in %.3f s", MANY, t);
	EXPECT_GT(10.0, t);
	close(c2p[0]);
	close(p2c[1]);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_ALL_RELEASED();
}

/* ---- several contexts at once ---- */

#define CTX_REGIONS 64

struct ctx_worker {
	pthread_t thread;
	int id;
	pthread_barrier_t *barrier;
	unsigned char *buf;
	uint64_t global_seen;
	struct failure f;
};

/*
 * Each thread opens its own context (same mm), pins CTX_REGIONS regions of
 * 1 to 4 pages, and, once every thread has, checks its own counts and the
 * module-wide one; then half of the threads unpin and all close at once.
 */
static void *ctx_worker(void *arg)
{
	struct ctx_worker *w = arg;
	uint64_t handles[CTX_REGIONS], pages = 0;
	struct upin_info info;
	int fd, i, ret;

	fd = upin_open();
	if (W_FAILED(&w->f, fd >= 0, fd))
		goto out;
	pthread_barrier_wait(w->barrier);
	for (i = 0; i < CTX_REGIONS; i++) {
		size_t n = 1 + i % 4;

		ret = upin_pin(fd, w->buf + (i % 4) * page_size,
			       n * page_size, i & 1 ? UPIN_PIN_WRITE : 0,
			       &handles[i], NULL);
		if (W_FAILED(&w->f, ret == 0, ret))
			goto out;
		pages += n;
	}
	ret = upin_get_info(fd, &info);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	if (W_FAILED(&w->f, info.nr_regions == CTX_REGIONS, info.nr_regions))
		goto out;
	if (W_FAILED(&w->f, info.pinned_pages == pages, info.pinned_pages))
		goto out;
	pthread_barrier_wait(w->barrier);
	/* Everyone has pinned and nobody unpins before the next barrier. */
	ret = upin_get_info(fd, &info);
	if (W_FAILED(&w->f, ret == 0, ret))
		goto out;
	w->global_seen = info.global_pinned_pages;
	pthread_barrier_wait(w->barrier);
	if (w->id & 1)
		for (i = 0; i < CTX_REGIONS; i++) {
			ret = upin_unpin(fd, handles[i]);
			if (W_FAILED(&w->f, ret == 0, ret))
				goto out;
		}
	if (W_FAILED(&w->f, close(fd) == 0, errno))
		goto out;
	return NULL;
out:
	/* The others wait in a barrier this thread will not reach. */
	fprintf(stderr, "# thread %d: %s\n", w->id, w->f.msg);
	abort();
}

TEST(contexts_concurrent)
{
	struct ctx_worker w[NTHREADS];
	pthread_barrier_t barrier;
	struct upin_info info;
	uint64_t per_ctx = 0;
	int i, fd;

	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	ASSERT_EQ(0, upin_pins_outstanding());
	fd = upin_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, upin_get_info(fd, &info));
	close(fd);
	for (i = 0; i < CTX_REGIONS; i++)
		per_ctx += 1 + i % 4;
	if (info.max_regions < CTX_REGIONS ||
	    (info.global_max_pages &&
	     info.global_max_pages < NTHREADS * per_ctx))
		SKIP(return, "limits in force (max_regions=%u max_pages=%llu) are below what %d contexts pin here",
		     info.max_regions,
		     (unsigned long long)info.global_max_pages, NTHREADS);
	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, NTHREADS));
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].barrier = &barrier;
		w[i].buf = map_anon(4 * page_size, 'x');
		ASSERT_NE(NULL, w[i].buf);
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, ctx_worker,
					    &w[i]));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, w[i].f.msg[0])
			TH_LOG("thread %d: %s", i, w[i].f.msg);
		EXPECT_EQ(NTHREADS * per_ctx, w[i].global_seen);
	}
	ASSERT_ALL_RELEASED();
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * upin lifetime tests: who may use a context, and when its pins go away.
 *
 * A context is bound to the mm of the process that opened /dev/upin. A
 * forked child, a receiver of the fd over SCM_RIGHTS and a process that
 * exec()ed with the fd open all have another mm: every command but GET_INFO
 * is EPERM for them. The last reference to the file, dropped by close() or
 * exit in any process, unpins everything and uncharges the opener's mm.
 * Pinned pages outlive munmap() and fork(), and longterm pins of private
 * anonymous memory stay coherent with the opener's writes after fork().
 *
 * Every test ends on the project's oracle: /proc/vmstat's FOLL_PIN counters
 * are balanced and VmPin of every process involved is 0.
 *
 * Children report through their exit status (0 = every check passed) and
 * print what failed; they never use the harness's ASSERT_*, which would
 * unwind into the harness from the wrong process.
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "upin_util.h"
#include "kselftest_harness.h"

#define NPAGES 4
#define DEBUGFS_DIR "/sys/kernel/debug/upin"

/* Environment of the exec()ed image in lifetime.exec_keeps_fd. */
#define EXEC_ENV_FD "UPIN_LIFETIME_EXEC_FD"
#define EXEC_ENV_HANDLE "UPIN_LIFETIME_EXEC_HANDLE"

static long page_size;

/* Checks in child processes: print what failed and exit 1. */
#define CHILD_CHECK_EQ(expected, seen) do {				\
	long long __e = (long long)(expected);				\
	long long __s = (long long)(seen);				\
	if (__e != __s) {						\
		fprintf(stderr, "# child %d: %s:%d: expected %s (%lld) == %s (%lld)\n", \
			(int)getpid(), __FILE__, __LINE__, #expected,	\
			__e, #seen, __s);				\
		_exit(1);						\
	}								\
} while (0)

/* ---- processes, pipes and fd passing ---- */

static void *map_anon(size_t len, int fill)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, fill, len);
	return p;
}

/* Every byte of @buf is @c. */
static bool all_bytes(const void *buf, size_t len, int c)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)c)
			return false;
	return true;
}

/* Sends @fd and @data over the unix socket @sock. Returns 0 or -errno. */
static int send_fd(int sock, int fd, uint64_t data)
{
	struct iovec iov = { .iov_base = &data, .iov_len = sizeof(data) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;

	memset(&u, 0, sizeof(u));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == sizeof(data) ? 0 : -errno;
}

/* Returns the fd from send_fd() and its @data, or -errno (-ENODATA: no fd). */
static int recv_fd(int sock, uint64_t *data)
{
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(*data) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n < 0)
		return -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (n != sizeof(*data) || !cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS)
		return -ENODATA;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* One byte over a pipe or socket: the only synchronisation the tests use. */
static int signal_peer(int fd)
{
	char c = 'S';

	return write(fd, &c, 1) == 1 ? 0 : -1;
}

/* 0 when the peer signalled, -1 on EOF (the peer died) or error. */
static int wait_peer(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* Exit status of @pid, or 256 + signal number, or -1. */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 256 + WTERMSIG(status);
	return -1;
}

static pid_t fork_flushed(void)
{
	fflush(stdout);
	fflush(stderr);
	return fork();
}

/*
 * foreign_checks() - what a process with another mm may do with a context
 * @fd: the context, opened by someone else
 * @handle: a region the opener holds
 * @npages: its pages, the only ones the context holds
 * @buf: NPAGES pages valid in the calling process
 *
 * Runs in the foreign process, exits it with 1 on the first failed check.
 * GET_INFO works and sees the opener's context; every other command is
 * EPERM, also with a handle the context never issued, and changes nothing.
 */
static void foreign_checks(int fd, uint64_t handle, uint64_t npages, void *buf)
{
	struct upin_segment segs[NPAGES];
	struct upin_region r;
	struct upin_info info;
	uint64_t handles[4];
	long long before;

	before = upin_pins_outstanding();
	CHILD_CHECK_EQ(0, upin_get_info(fd, &info));
	CHILD_CHECK_EQ(UPIN_ABI_VERSION, info.abi_version);
	CHILD_CHECK_EQ(1, info.nr_regions);
	CHILD_CHECK_EQ(npages, info.pinned_pages);

	CHILD_CHECK_EQ(-EPERM, upin_pin(fd, buf, NPAGES * page_size, 0,
					NULL, NULL));
	CHILD_CHECK_EQ(-EPERM, upin_pin(fd, buf, page_size,
					UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
					NULL, NULL));
	CHILD_CHECK_EQ(-EPERM, upin_query(fd, handle, &r));
	CHILD_CHECK_EQ(-EPERM, upin_query(fd, handle + 1000, &r));
	CHILD_CHECK_EQ(-EPERM, upin_list(fd, handles, 4, NULL));
	CHILD_CHECK_EQ(-EPERM, upin_list(fd, NULL, 0, NULL));
	CHILD_CHECK_EQ(-EPERM, upin_access(fd, handle, 0, 0, buf, page_size));
	CHILD_CHECK_EQ(-EPERM, upin_access(fd, handle, UPIN_ACCESS_WRITE, 0,
					   buf, page_size));
	CHILD_CHECK_EQ(-EPERM, upin_segments(fd, handle, segs, NPAGES, NULL));
	CHILD_CHECK_EQ(-EPERM, upin_unpin(fd, handle + 1000));
	CHILD_CHECK_EQ(-EPERM, upin_unpin(fd, handle));

	/* Nothing moved: no pin taken, the opener's region still there. */
	CHILD_CHECK_EQ(before, upin_pins_outstanding());
	CHILD_CHECK_EQ(0, upin_get_info(fd, &info));
	CHILD_CHECK_EQ(1, info.nr_regions);
	CHILD_CHECK_EQ(npages, info.pinned_pages);
	CHILD_CHECK_EQ(0, upin_vmpin_kb(0));
}

/*
 * The exec()ed image of lifetime.exec_keeps_fd: same pid, same fd, new mm.
 * Runs before main(), so the harness never sees it.
 */
static void __attribute__((constructor)) exec_child(void)
{
	const char *sfd = getenv(EXEC_ENV_FD);
	const char *sh = getenv(EXEC_ENV_HANDLE);
	uint64_t handle;
	void *buf;
	int fd;

	if (!sfd || !sh)
		return;
	page_size = sysconf(_SC_PAGESIZE);
	fd = atoi(sfd);
	handle = strtoull(sh, NULL, 0);
	buf = map_anon(NPAGES * page_size, 'E');
	CHILD_CHECK_EQ(1, buf != NULL);
	/* The region outlived the mm it was pinned from. */
	CHILD_CHECK_EQ(NPAGES, upin_pins_outstanding());
	foreign_checks(fd, handle, NPAGES, buf);
	CHILD_CHECK_EQ(0, close(fd));
	CHILD_CHECK_EQ(0, upin_pins_outstanding());
	_exit(0);
}

/* The oracle, at the end of every test, once every context is closed. */
#define ASSERT_ALL_RELEASED() do {				\
	ASSERT_EQ(0, upin_pins_outstanding());			\
	ASSERT_EQ(0, upin_vmpin_kb(0));				\
} while (0)

FIXTURE(lifetime) {
	int fd;
	void *buf;
	size_t len;
};

FIXTURE_SETUP(lifetime)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (access(UPIN_DEV, F_OK))
		SKIP(return, UPIN_DEV " does not exist: upin.ko not loaded");
	/* Pins left by an earlier test would make every count here lie. */
	ASSERT_EQ(0, upin_pins_outstanding());
	self->fd = upin_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open " UPIN_DEV ": %s", strerror(-self->fd));
	self->len = NPAGES * page_size;
	self->buf = map_anon(self->len, 'A');
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(lifetime)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Close the fixture's context; the tests then check the oracle. */
static int close_ctx(int *fd)
{
	int ret = close(*fd);

	*fd = -1;
	return ret;
}

TEST_F(lifetime, forked_child_eperm)
{
	struct upin_region r;
	uint64_t handle;
	uint32_t count;
	pid_t pid;

	ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->len, UPIN_PIN_WRITE,
			      &handle, NULL));
	ASSERT_EQ(NPAGES, upin_pins_outstanding());

	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The inherited buf is valid here, but not ours to pin. */
		foreign_checks(self->fd, handle, NPAGES, self->buf);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));

	/* The opener still holds and uses its region. */
	ASSERT_EQ(0, upin_query(self->fd, handle, &r));
	ASSERT_EQ((uint64_t)NPAGES, r.npages);
	ASSERT_EQ(-EMSGSIZE, upin_list(self->fd, NULL, 0, &count));
	ASSERT_EQ(1U, count);
	ASSERT_EQ(NPAGES * page_size / 1024, upin_vmpin_kb(0));
	ASSERT_EQ(0, upin_unpin(self->fd, handle));
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

TEST_F(lifetime, scm_rights_receiver_eperm)
{
	struct upin_region r;
	uint64_t handle;
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *buf = map_anon(NPAGES * page_size, 'R');
		uint64_t h;
		int fd;

		/* Only the fd that comes over the socket. */
		close(self->fd);
		close(sv[0]);
		CHILD_CHECK_EQ(1, buf != NULL);
		fd = recv_fd(sv[1], &h);
		CHILD_CHECK_EQ(1, fd >= 0);
		foreign_checks(fd, h, NPAGES, buf);
		CHILD_CHECK_EQ(0, close(fd));
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->len, UPIN_PIN_WRITE,
			      &handle, NULL));
	ASSERT_EQ(0, send_fd(sv[0], self->fd, handle));
	ASSERT_EQ(0, wait_child(pid));
	close(sv[0]);

	ASSERT_EQ(NPAGES, upin_pins_outstanding());
	ASSERT_EQ(0, upin_query(self->fd, handle, &r));
	ASSERT_EQ((uintptr_t)self->buf, r.addr);
	ASSERT_EQ(0, upin_unpin(self->fd, handle));
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

/* After exec() the fd stays open but the mm the context is bound to is gone. */
TEST_F(lifetime, exec_keeps_fd_eperm)
{
	pid_t pid;

	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char sfd[16], sh[32];
		uint64_t handle;
		int fd;

		close(self->fd);
		fd = open(UPIN_DEV, O_RDWR);	/* survives exec */
		CHILD_CHECK_EQ(1, fd >= 0);
		CHILD_CHECK_EQ(0, upin_pin(fd, self->buf, self->len,
					   UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
					   &handle, NULL));
		snprintf(sfd, sizeof(sfd), "%d", fd);
		snprintf(sh, sizeof(sh), "%llu", (unsigned long long)handle);
		setenv(EXEC_ENV_FD, sfd, 1);
		setenv(EXEC_ENV_HANDLE, sh, 1);
		execl("/proc/self/exe", "upin_lifetime_test", (char *)NULL);
		fprintf(stderr, "# exec /proc/self/exe: %s\n", strerror(errno));
		_exit(3);
	}
	/* exec_child() checks, closes the last reference and exits. */
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

/*
 * The opener pins, hands the file to a child (@scm: over a socket, else by
 * fork()), and closes its own copy; the child closes last. The release
 * uncharges the opener's mm, while the child, which never was charged,
 * still runs.
 */
struct lifetime_ctx {
	int fd;
	void *buf;
	size_t len;
};

static void last_close_in_child(struct __test_metadata *_metadata,
				struct lifetime_ctx *self, bool scm)
{
	const long kb = NPAGES * page_size / 1024;
	uint64_t h1, h2;
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->len,
			      UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h1, NULL));
	ASSERT_EQ(0, upin_pin(self->fd, self->buf, page_size, 0, &h2, NULL));
	ASSERT_EQ(kb + page_size / 1024, upin_vmpin_kb(0));
	ASSERT_EQ(NPAGES + 1, upin_pins_outstanding());

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct upin_info info;
		int fd = self->fd;
		uint64_t dummy;

		close(sv[0]);
		if (scm) {
			close(self->fd);
			fd = recv_fd(sv[1], &dummy);
			CHILD_CHECK_EQ(1, fd >= 0);
		}
		/* The parent has closed its copy: this one is the last. */
		if (wait_peer(sv[1]))
			_exit(2);
		CHILD_CHECK_EQ(0, upin_get_info(fd, &info));
		CHILD_CHECK_EQ(2, info.nr_regions);
		CHILD_CHECK_EQ(NPAGES + 1, info.pinned_pages);
		CHILD_CHECK_EQ(0, upin_vmpin_kb(0));
		CHILD_CHECK_EQ(0, close(fd));
		CHILD_CHECK_EQ(0, upin_vmpin_kb(0));
		if (signal_peer(sv[1]) || wait_peer(sv[1]))
			_exit(2);
		_exit(0);
	}
	close(sv[1]);
	if (scm)
		ASSERT_EQ(0, send_fd(sv[0], self->fd, 0));
	ASSERT_EQ(0, close_ctx(&self->fd));
	/* Still held by the child: nothing released, the charge stays here. */
	ASSERT_EQ(NPAGES + 1, upin_pins_outstanding());
	ASSERT_EQ(kb + page_size / 1024, upin_vmpin_kb(0));

	ASSERT_EQ(0, signal_peer(sv[0]));
	ASSERT_EQ(0, wait_peer(sv[0]));
	/* The child closed, and is still alive: its close released all. */
	EXPECT_EQ(0, upin_pins_outstanding());
	EXPECT_EQ(0, upin_vmpin_kb(0));
	EXPECT_EQ(0, upin_vmpin_kb(pid));
	ASSERT_EQ(0, signal_peer(sv[0]));
	ASSERT_EQ(0, wait_child(pid));
	close(sv[0]);
	ASSERT_ALL_RELEASED();
}

TEST_F(lifetime, last_close_in_forked_child)
{
	struct lifetime_ctx ctx = { self->fd, self->buf, self->len };

	self->fd = -1;	/* the helper closes it */
	last_close_in_child(_metadata, &ctx, false);
}

TEST_F(lifetime, last_close_in_scm_receiver)
{
	struct lifetime_ctx ctx = { self->fd, self->buf, self->len };

	self->fd = -1;	/* the helper closes it */
	last_close_in_child(_metadata, &ctx, true);
}

/* The opener exits without unpinning or closing: exit releases everything. */
TEST_F(lifetime, exit_with_regions)
{
	const long kb = NPAGES * page_size / 1024;
	int c2p[2], p2c[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(c2p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(p2c, O_CLOEXEC));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		close(self->fd);
		fd = upin_open();
		CHILD_CHECK_EQ(1, fd >= 0);
		CHILD_CHECK_EQ(0, upin_pin(fd, self->buf, self->len,
					   UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
					   NULL, NULL));
		CHILD_CHECK_EQ(0, upin_pin(fd, self->buf, self->len, 0,
					   NULL, NULL));
		CHILD_CHECK_EQ(0, upin_pin(fd, self->buf, page_size,
					   UPIN_PIN_WRITE, NULL, NULL));
		if (signal_peer(c2p[1]) || wait_peer(p2c[0]))
			_exit(2);
		_exit(0);	/* fd and regions still held */
	}
	close(c2p[1]);
	close(p2c[0]);
	ASSERT_EQ(0, wait_peer(c2p[0]));
	ASSERT_EQ(2 * NPAGES + 1, upin_pins_outstanding());
	ASSERT_EQ(2 * kb + page_size / 1024, upin_vmpin_kb(pid));
	ASSERT_EQ(0, upin_vmpin_kb(0));
	ASSERT_EQ(0, signal_peer(p2c[1]));
	ASSERT_EQ(0, wait_child(pid));
	close(c2p[0]);
	close(p2c[1]);
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

/*
 * The opener pins, sends the fd to its parent and exits. The pins outlive
 * the opener's mm and are released by the receiver's close.
 */
TEST_F(lifetime, exit_while_other_holds_fd)
{
	struct upin_info info;
	struct upin_region r;
	uint64_t handle;
	int sv[2], fd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t h;

		close(self->fd);
		close(sv[0]);
		fd = upin_open();
		CHILD_CHECK_EQ(1, fd >= 0);
		CHILD_CHECK_EQ(0, upin_pin(fd, self->buf, self->len,
					   UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
					   &h, NULL));
		CHILD_CHECK_EQ(0, send_fd(sv[1], fd, h));
		_exit(0);
	}
	close(sv[1]);
	fd = recv_fd(sv[0], &handle);
	ASSERT_LE(0, fd);
	close(sv[0]);
	ASSERT_EQ(0, wait_child(pid));

	/* The opener is gone; its pages are not. */
	ASSERT_EQ(NPAGES, upin_pins_outstanding());
	ASSERT_EQ(0, upin_vmpin_kb(0));
	ASSERT_EQ(0, upin_get_info(fd, &info));
	ASSERT_EQ(1U, info.nr_regions);
	ASSERT_EQ((uint64_t)NPAGES, info.pinned_pages);
	ASSERT_EQ(-EPERM, upin_query(fd, handle, &r));
	ASSERT_EQ(-EPERM, upin_unpin(fd, handle));
	ASSERT_EQ(-EPERM, upin_pin(fd, self->buf, self->len, 0, NULL, NULL));

	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

/*
 * Longterm pins, read-only and writable, of private anonymous memory are
 * taken before fork(). The child's writes never reach the pinned pages; the
 * parent's writes after fork() do, and the device's writes reach the
 * parent's memory.
 */
TEST_F(lifetime, fork_longterm_coherent)
{
	static const uint32_t flags[2] = {
		UPIN_PIN_LONGTERM,
		UPIN_PIN_LONGTERM | UPIN_PIN_WRITE,
	};
	unsigned char *bufs[2], *tmp;
	int c2p[2], p2c[2];
	uint64_t handles[2];
	pid_t pid;
	int i;

	tmp = malloc(self->len);
	ASSERT_NE(NULL, tmp);
	for (i = 0; i < 2; i++) {
		bufs[i] = map_anon(self->len, 'A');
		ASSERT_NE(NULL, bufs[i]);
		ASSERT_EQ(0, upin_pin(self->fd, bufs[i], self->len, flags[i],
				      &handles[i], NULL));
	}
	ASSERT_EQ(0, pipe2(c2p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(p2c, O_CLOEXEC));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(c2p[0]);
		close(p2c[1]);
		for (i = 0; i < 2; i++)
			memset(bufs[i], 'C', self->len);
		if (signal_peer(c2p[1]) || wait_peer(p2c[0]))
			_exit(2);
		/* Neither the parent's nor the device's writes reach us. */
		for (i = 0; i < 2; i++)
			CHILD_CHECK_EQ(1, all_bytes(bufs[i], self->len, 'C'));
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	ASSERT_EQ(0, wait_peer(c2p[0]));

	for (i = 0; i < 2; i++) {
		/* The child wrote 'C' into its copy only. */
		ASSERT_EQ(0, upin_access(self->fd, handles[i], 0, 0, tmp,
					 self->len));
		EXPECT_TRUE(all_bytes(tmp, self->len, 'A'))
			TH_LOG("region %d (flags %#x) sees the child's writes",
			       i, flags[i]);
		ASSERT_TRUE(all_bytes(bufs[i], self->len, 'A'));

		/* The parent's writes after fork() reach the pinned pages. */
		memset(bufs[i], 'B', self->len);
		ASSERT_EQ(0, upin_access(self->fd, handles[i], 0, 0, tmp,
					 self->len));
		EXPECT_TRUE(all_bytes(tmp, self->len, 'B'))
			TH_LOG("region %d (flags %#x) lost the parent's writes after fork()",
			       i, flags[i]);
	}
	/* The device's writes reach the parent's memory, not the child's. */
	memset(tmp, 'D', self->len);
	ASSERT_EQ(0, upin_access(self->fd, handles[1], UPIN_ACCESS_WRITE, 0,
				 tmp, self->len));
	EXPECT_TRUE(all_bytes(bufs[1], self->len, 'D'));
	ASSERT_EQ(-EPERM, upin_access(self->fd, handles[0], UPIN_ACCESS_WRITE,
				      0, tmp, self->len));

	ASSERT_EQ(0, signal_peer(p2c[1]));
	ASSERT_EQ(0, wait_child(pid));
	close(c2p[0]);
	close(p2c[1]);
	ASSERT_EQ(2 * NPAGES, upin_pins_outstanding());
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, upin_unpin(self->fd, handles[i]));
	ASSERT_EQ(0, close_ctx(&self->fd));
	free(tmp);
	ASSERT_ALL_RELEASED();
}

/*
 * Each kind of pin keeps its pages after munmap() and after another mapping
 * takes the address: ACCESS goes to the pinned pages, not to what the
 * process maps there now. Only close() lets them go.
 */
TEST_F(lifetime, pins_survive_munmap)
{
	static const uint32_t flags[4] = {
		0, UPIN_PIN_WRITE, UPIN_PIN_LONGTERM,
		UPIN_PIN_WRITE | UPIN_PIN_LONGTERM,
	};
	unsigned char *tmp;
	uint64_t handle;
	int i;

	tmp = malloc(self->len);
	ASSERT_NE(NULL, tmp);
	for (i = 0; i < 4; i++) {
		const int old = 'M' + i, new = 'm' + i;
		struct upin_region r;
		void *buf, *again;

		buf = map_anon(self->len, old);
		ASSERT_NE(NULL, buf);
		ASSERT_EQ(0, upin_pin(self->fd, buf, self->len, flags[i],
				      &handle, NULL));
		ASSERT_EQ(0, munmap(buf, self->len));
		ASSERT_EQ((i + 1) * NPAGES, upin_pins_outstanding());
		ASSERT_EQ((i + 1) * NPAGES * page_size / 1024,
			  upin_vmpin_kb(0));

		ASSERT_EQ(0, upin_access(self->fd, handle, 0, 0, tmp,
					 self->len));
		EXPECT_TRUE(all_bytes(tmp, self->len, old));

		/* Another mapping, written, at the same address. */
		again = mmap(buf, self->len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ASSERT_EQ(buf, again);
		memset(again, new, self->len);
		ASSERT_EQ(0, upin_access(self->fd, handle, 0, 0, tmp,
					 self->len));
		EXPECT_TRUE(all_bytes(tmp, self->len, old));

		if (flags[i] & UPIN_PIN_WRITE) {
			memset(tmp, 'W', self->len);
			ASSERT_EQ(0, upin_access(self->fd, handle,
						 UPIN_ACCESS_WRITE, page_size,
						 tmp, page_size));
			ASSERT_EQ(0, upin_access(self->fd, handle, 0, 0, tmp,
						 self->len));
			EXPECT_TRUE(all_bytes(tmp, page_size, old));
			EXPECT_TRUE(all_bytes(tmp + page_size, page_size, 'W'));
			EXPECT_TRUE(all_bytes(tmp + 2 * page_size,
					      self->len - 2 * page_size, old));
		}
		EXPECT_TRUE(all_bytes(again, self->len, new));

		ASSERT_EQ(0, upin_query(self->fd, handle, &r));
		ASSERT_EQ((uintptr_t)buf, r.addr);
		ASSERT_EQ((uint64_t)NPAGES, r.npages);
		ASSERT_EQ(flags[i], r.pin_flags);
		ASSERT_EQ(0, munmap(again, self->len));
	}
	ASSERT_EQ(4 * NPAGES, upin_pins_outstanding());
	ASSERT_EQ(0, close_ctx(&self->fd));
	free(tmp);
	ASSERT_ALL_RELEASED();
}

/* Handles are never reused: 100 pin/unpin cycles give increasing handles. */
TEST_F(lifetime, handles_not_reused)
{
	struct upin_region r;
	uint64_t prev = 0, keep, handle;
	int i;

	ASSERT_EQ(0, upin_pin(self->fd, self->buf, page_size, 0, &keep, NULL));
	ASSERT_NE(0U, keep);
	prev = keep;
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->len,
				      UPIN_PIN_WRITE, &handle, NULL));
		ASSERT_LT(prev, handle) TH_LOG("iteration %d", i);
		ASSERT_EQ(0, upin_unpin(self->fd, handle));
		ASSERT_EQ(-ENOENT, upin_unpin(self->fd, handle));
		ASSERT_EQ(-ENOENT, upin_query(self->fd, handle, &r));
		prev = handle;
	}
	ASSERT_EQ(0, upin_query(self->fd, keep, &r));
	ASSERT_EQ(0, upin_unpin(self->fd, keep));
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_ALL_RELEASED();
}

/*
 * debugfs_find() - look for a line of /sys/kernel/debug/upin/regions
 * @kind: first word of the line, "context" or "region"
 * @pid: value of its pid= field
 * @handle: value of its handle= field, or 0 to match any
 * @key: field to return, e.g. "npages"
 * @val: out, its value (decimal or 0x hexadecimal)
 *
 * The file has one line per open context and one per region, made of
 * key=value fields after the kind. Returns 1 when a matching line has @key,
 * 0 when no line matches, -errno when the file cannot be read.
 */
static int debugfs_find(const char *kind, pid_t pid, uint64_t handle,
			const char *key, unsigned long long *val)
{
	char line[512];
	FILE *f;
	int found = 0;

	f = fopen(DEBUGFS_DIR "/regions", "r");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long lpid = 0, lhandle = 0, v = 0;
		bool has_pid = false, has_handle = false, has_key = false;
		char *save, *tok;

		tok = strtok_r(line, "\n ", &save);
		if (!tok || strcmp(tok, kind))
			continue;
		while ((tok = strtok_r(NULL, "\n ", &save))) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq++ = '\0';
			if (!strcmp(tok, "pid")) {
				lpid = strtoull(eq, NULL, 0);
				has_pid = true;
			} else if (!strcmp(tok, "handle")) {
				lhandle = strtoull(eq, NULL, 0);
				has_handle = true;
			}
			if (!strcmp(tok, key)) {
				v = strtoull(eq, NULL, 0);
				has_key = true;
			}
		}
		if (!has_pid || lpid != (unsigned long long)pid)
			continue;
		if (handle && (!has_handle || lhandle != handle))
			continue;
		*val = v;
		found = has_key ? 1 : -ENODATA;
	}
	fclose(f);
	return found;
}

/* The debugfs listing shows a context's regions while they exist. */
TEST_F(lifetime, debugfs_lists_regions)
{
	unsigned long long v;
	uint64_t h1, h2;
	pid_t pid = getpid();

	if (access(DEBUGFS_DIR, F_OK))
		SKIP(return, DEBUGFS_DIR " missing (debugfs not mounted at /sys/kernel/debug?)");
	ASSERT_EQ(0, access(DEBUGFS_DIR "/regions", R_OK));

	ASSERT_EQ(0, upin_pin(self->fd, self->buf, self->len,
			      UPIN_PIN_WRITE | UPIN_PIN_LONGTERM, &h1, NULL));
	ASSERT_EQ(0, upin_pin(self->fd, (char *)self->buf + page_size / 2,
			      page_size, 0, &h2, NULL));

	ASSERT_EQ(1, debugfs_find("context", pid, 0, "regions", &v));
	ASSERT_EQ(2ULL, v);
	ASSERT_EQ(1, debugfs_find("context", pid, 0, "pinned_pages", &v));
	ASSERT_EQ(NPAGES + 2ULL, v);

	ASSERT_EQ(1, debugfs_find("region", pid, h1, "npages", &v));
	ASSERT_EQ((unsigned long long)NPAGES, v);
	ASSERT_EQ(1, debugfs_find("region", pid, h1, "addr", &v));
	ASSERT_EQ((uintptr_t)self->buf, v);
	ASSERT_EQ(1, debugfs_find("region", pid, h1, "length", &v));
	ASSERT_EQ(self->len, v);
	/* Half a page in, one page long: two pages. */
	ASSERT_EQ(1, debugfs_find("region", pid, h2, "npages", &v));
	ASSERT_EQ(2ULL, v);

	ASSERT_EQ(0, upin_unpin(self->fd, h1));
	ASSERT_EQ(0, debugfs_find("region", pid, h1, "npages", &v));
	ASSERT_EQ(1, debugfs_find("region", pid, h2, "npages", &v));
	ASSERT_EQ(1, debugfs_find("context", pid, 0, "regions", &v));
	ASSERT_EQ(1ULL, v);

	ASSERT_EQ(0, upin_unpin(self->fd, h2));
	ASSERT_EQ(0, debugfs_find("region", pid, 0, "npages", &v));
	ASSERT_EQ(1, debugfs_find("context", pid, 0, "regions", &v));
	ASSERT_EQ(0ULL, v);

	/* A closed context is gone from the listing. */
	ASSERT_EQ(0, close_ctx(&self->fd));
	ASSERT_EQ(0, debugfs_find("context", pid, 0, "regions", &v));
	ASSERT_ALL_RELEASED();
}

TEST_HARNESS_MAIN

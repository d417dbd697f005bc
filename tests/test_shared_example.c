// SPDX-License-Identifier: MIT
/*
 * Shared mode end to end: sgxemu's example program (examples/bigheap) run
 * with `sgxemu run --shared=SOCKET` on a daemon started in this test's
 * process (sgxd_create + sgxd_run in a thread), so the test can read the
 * daemon's platform counters and cgroup files directly. A heap bigger than
 * the daemon's EPC must be verified while the daemon pages (its EWB/ELDU
 * counts rise); two programs at once share the one EPC; a program run with
 * --cgroup is charged there (misc.peak) and leaves nothing (misc.current 0).
 *
 * Until the daemon's side of windows, faults and LPs is in (daemon/client.c
 * stubs answer -ENOSYS), every test here reports itself skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "sgx/platform.h"
#include "tests/harness.h"

#define OUT_MAX		(256 * 1024)
#define RUN_TIMEOUT_MS	170000
#define MIB		(1024ull * 1024)

struct paths {
	char sgxemu[PATH_MAX + 32];
	char example[PATH_MAX + 32];
	char shim[PATH_MAX + 32];
};

struct sdaemon {
	char dir[64], sock[100], log[128];
	struct sgxd *d;
	pthread_t thread;
	int log_fd;
};

struct prog {
	pid_t pid;
	int fd;
	char *out;
	size_t used;
	int status;			/* exit status, 128 + signal, or -1 */
};

/* The build directory is the parent of this binary's directory (O/tests/). */
static void need_paths(struct paths *p)
{
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash;

	SKIP_UNDER_TSAN("the programs run in enclave mode under the preload shim");
	if (n <= 0)
		SKIP("cannot find the build directory");
	dir[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(dir, '/');
		if (!slash)
			SKIP("cannot find the build directory");
		*slash = '\0';
	}
	snprintf(p->sgxemu, sizeof(p->sgxemu), "%s/sgxemu", dir);
	snprintf(p->example, sizeof(p->example), "%s/examples/bigheap", dir);
	snprintf(p->shim, sizeof(p->shim), "%s/libsgxemu-preload.so", dir);
	if (access(p->example, X_OK))
		SKIP("examples/bigheap is not built");
	if (access(p->shim, R_OK) || access(p->sgxemu, X_OK))
		SKIP("the preload shim (libsgxemu-preload.so) is not built");
}

static void *sdaemon_thread(void *arg)
{
	sgxd_run(((struct sdaemon *)arg)->d);
	return NULL;
}

static int sdaemon_start(struct sdaemon *sd, uint64_t epc_bytes)
{
	struct sgxd_config cfg;
	char err[256];
	int ret;

	memset(sd, 0, sizeof(*sd));
	sd->log_fd = -1;
	snprintf(sd->dir, sizeof(sd->dir), "/tmp/sgxemu-shared-test.XXXXXX");
	if (!mkdtemp(sd->dir))
		return -errno;
	snprintf(sd->sock, sizeof(sd->sock), "%s/s.sock", sd->dir);
	snprintf(sd->log, sizeof(sd->log), "%s/log", sd->dir);
	sgxd_default_config(&cfg);
	cfg.socket_path = sd->sock;
	cfg.cpu.epc_size = epc_bytes;
	sd->log_fd = open(sd->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cfg.log_fd = sd->log_fd;
	ret = sgxd_create(&cfg, &sd->d, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "    sgxd_create: %s\n", err);
		sd->d = NULL;
		return ret;
	}
	return -pthread_create(&sd->thread, NULL, sdaemon_thread, sd);
}

static void sdaemon_stop(struct sdaemon *sd)
{
	char p[256];

	if (sd->d) {
		sgxd_stop(sd->d);
		pthread_join(sd->thread, NULL);
		sgxd_destroy(sd->d);
		sd->d = NULL;
	}
	if (sd->log_fd >= 0)
		close(sd->log_fd);
	unlink(sd->log);
	snprintf(p, sizeof(p), "%s.lock", sd->sock);
	unlink(p);
	unlink(sd->sock);
	rmdir(sd->dir);
}

static struct sgxd_client *conn(struct sdaemon *sd, enum sgxd_role role)
{
	struct sgxd_client *c = NULL;
	char err[256];

	if (sgxd_client_connect(sd->sock, role, "test", &c, err, sizeof(err))) {
		fprintf(stderr, "    connect: %s\n", err);
		return NULL;
	}
	return c;
}

/*
 * Skip while the client library's shared-mode calls are the slice-2 stubs:
 * a thread connection then answers -ENOSYS without asking the daemon.
 */
static void need_shared_mode(struct sdaemon *sd)
{
	struct sgxd_client *p = conn(sd, SGXD_ROLE_PROGRAM), *t = NULL;
	int ret;

	if (!p)
		return;
	ret = sgxd_client_connect_thread(sd->sock, SIGRTMIN + 5, &t);
	if (t)
		sgxd_client_close(t);
	sgxd_client_close(p);
	if (ret == -ENOSYS) {
		sdaemon_stop(sd);
		SKIP("the daemon's side of shared mode (windows, faults, LPs) is not in yet");
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int prog_start(struct prog *pr, char *const argv[])
{
	int fds[2];

	memset(pr, 0, sizeof(*pr));
	pr->status = -1;
	pr->out = calloc(1, OUT_MAX);
	if (!pr->out || pipe2(fds, O_CLOEXEC))
		return -1;
	pr->pid = fork();
	if (pr->pid < 0)
		return -1;
	if (pr->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	pr->fd = fds[0];
	return 0;
}

/* Collect the output of every program until all have ended (or the deadline kills them). */
static void prog_wait(struct prog *prs, int n)
{
	double deadline = now_ms() + RUN_TIMEOUT_MS;
	int open_fds = n;

	while (open_fds > 0) {
		struct pollfd pfd[4];
		int left = (int)(deadline - now_ms());

		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = prs[i].fd, .events = POLLIN };
		if (left <= 0 || poll(pfd, (nfds_t)n, left) == 0) {
			for (int i = 0; i < n; i++)
				kill(prs[i].pid, SIGKILL);
			break;
		}
		for (int i = 0; i < n; i++) {
			char sink[4096];
			ssize_t got;

			if (prs[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (prs[i].used + 1 < OUT_MAX)
				got = read(prs[i].fd, prs[i].out + prs[i].used,
					   OUT_MAX - 1 - prs[i].used);
			else
				got = read(prs[i].fd, sink, sizeof(sink));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(prs[i].fd);
				prs[i].fd = -1;
				pfd[i].fd = -1;
				open_fds--;
			} else if (prs[i].used + 1 < OUT_MAX) {
				prs[i].used += (size_t)got;
			}
		}
		/* Closed fds stay in the array with fd -1: poll ignores them. */
		for (int i = 0; i < n; i++)
			if (prs[i].fd < 0)
				pfd[i].fd = -1;
	}
	for (int i = 0; i < n; i++) {
		int st;

		if (prs[i].fd >= 0)
			close(prs[i].fd);
		while (waitpid(prs[i].pid, &st, 0) < 0)
			if (errno != EINTR)
				break;
		prs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

static void prog_check_ok(struct prog *pr, const char *heap)
{
	char want[64];

	CHECK_EQ(pr->status, 0);
	snprintf(want, sizeof(want), "heap of %s", heap);
	CHECK(strstr(pr->out, want) != NULL);
	CHECK(strstr(pr->out, "0 mismatches") != NULL);
	CHECK(strstr(pr->out, "(WRONG)") == NULL);
	CHECK(strstr(pr->out, "bigheap: OK") != NULL);
	if (test_failed())
		fprintf(stderr, "---- output (status %d) ----\n%s\n----\n", pr->status, pr->out);
}

TEST_TIMEOUT(shared_bigheap_bigger_than_daemon_epc, 180)
{
	struct sgx_platform_stats st0, st1;
	char shared[160];
	struct sdaemon sd;
	struct paths p;
	struct prog pr;

	need_paths(&p);
	REQUIRE_EQ(sdaemon_start(&sd, 8 * MIB), 0);
	need_shared_mode(&sd);
	sgx_platform_get_stats(sgxd_platform(sd.d), &st0);
	snprintf(shared, sizeof(shared), "--shared=%s", sd.sock);
	{
		char *const argv[] = { p.sgxemu, "run", shared, "--stats", "--", p.example,
				       "--heap", "24M", "--passes", "2", NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
	}
	prog_wait(&pr, 1);
	prog_check_ok(&pr, "24 MiB");
	/* CPUID 0x12 in the program is the daemon's EPC. */
	CHECK(strstr(pr.out, "EPC 8 MiB") != NULL);
	CHECK(strstr(pr.out, "shared mode") != NULL);	/* the shim's --stats */
	/* 24 MiB through the daemon's 8 MiB: the daemon paged. */
	sgx_platform_get_stats(sgxd_platform(sd.d), &st1);
	CHECK(st1.ewb - st0.ewb >= 24 * 256 / 2);
	CHECK(st1.eldu - st0.eldu >= 24 * 256 / 2);
	free(pr.out);
	sdaemon_stop(&sd);
}

/* Polls the daemon's STATUS: the most enclaves it hosted at once. */
struct watcher {
	struct sdaemon *sd;
	volatile int stop;
	uint64_t max_encls;
};

static void *watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct sgxd_client *c = conn(w->sd, SGXD_ROLE_CLI);
	struct sgxd_status ds;
	int status;

	while (c && !w->stop) {
		if (!sgxd_status(c, &ds, &status) && !status && ds.nr_encls > w->max_encls)
			w->max_encls = ds.nr_encls;
		usleep(5000);
	}
	sgxd_client_close(c);
	return NULL;
}

static uint64_t daemon_encls(struct sdaemon *sd)
{
	struct sgxd_client *c = conn(sd, SGXD_ROLE_CLI);
	struct sgxd_status ds = { 0 };
	int status = -1;

	if (c && sgxd_status(c, &ds, &status))
		status = -1;
	sgxd_client_close(c);
	return status ? 0 : ds.nr_encls;
}

TEST_TIMEOUT(shared_two_programs_share_the_epc, 180)
{
	struct sgx_platform_stats st0, st;
	struct watcher w = { 0 };
	struct sgxd_status ds;
	struct sgxd_client *c;
	char shared[160];
	struct sdaemon sd;
	struct paths p;
	struct prog pr[2];
	pthread_t wt;
	int status = -1, i;

	need_paths(&p);
	REQUIRE_EQ(sdaemon_start(&sd, 8 * MIB), 0);
	need_shared_mode(&sd);
	w.sd = &sd;
	REQUIRE_EQ(pthread_create(&wt, NULL, watch_thread, &w), 0);
	snprintf(shared, sizeof(shared), "--shared=%s", sd.sock);
	/* A long first program; the second starts once the first's enclave is loaded. */
	{
		char *const argv[] = { p.sgxemu, "run", shared, "--", p.example, "--heap", "5M",
				       "--passes", "1000", NULL };

		REQUIRE_EQ(prog_start(&pr[0], argv), 0);
	}
	for (i = 0; i < 3000 && !daemon_encls(&sd); i++)
		usleep(10000);
	sgx_platform_get_stats(sgxd_platform(sd.d), &st0);
	{
		char *const argv[] = { p.sgxemu, "run", shared, "--", p.example, "--heap", "5M",
				       "--passes", "3", "--threads", "2", NULL };

		REQUIRE_EQ(prog_start(&pr[1], argv), 0);
	}
	prog_wait(pr, 2);
	w.stop = 1;
	pthread_join(wt, NULL);
	prog_check_ok(&pr[0], "5 MiB");
	prog_check_ok(&pr[1], "5 MiB");
	free(pr[0].out);
	free(pr[1].out);
	/* Both enclaves at once on one 8 MiB EPC: they evicted each other's pages. */
	CHECK_EQ(w.max_encls, 2);
	sgx_platform_get_stats(sgxd_platform(sd.d), &st);
	CHECK(st.ewb > st0.ewb);
	CHECK(st.eldu > st0.eldu);
	/* Both gone: every page back. */
	c = conn(&sd, SGXD_ROLE_CLI);
	REQUIRE(c);
	for (i = 0; i < 100; i++) {
		CHECK_EQ(sgxd_status(c, &ds, &status), 0);
		if (!status && ds.free_pages == ds.total_pages && !ds.nr_encls)
			break;
		usleep(20000);
	}
	CHECK_EQ(status, 0);
	CHECK_EQ(ds.free_pages, ds.total_pages);
	CHECK_EQ(ds.nr_encls, 0);
	sgxd_client_close(c);
	sdaemon_stop(&sd);
}

/* "sgx_epc N" of a misc file, or -1. */
static long long cg_value(struct sgxd_client *c, const char *path, const char *file)
{
	char buf[128];
	long long v;
	int status = -1;

	if (sgxd_cg_read(c, path, file, buf, sizeof(buf), &status) || status ||
	    sscanf(buf, "sgx_epc %lld", &v) != 1)
		return -1;
	return v;
}

TEST_TIMEOUT(shared_bigheap_charged_to_its_cgroup, 180)
{
	struct sgxd_client *c;
	char shared[160];
	struct sdaemon sd;
	struct paths p;
	struct prog pr;
	int status = -1;
	long long cur = -1;

	need_paths(&p);
	REQUIRE_EQ(sdaemon_start(&sd, 16 * MIB), 0);
	need_shared_mode(&sd);
	c = conn(&sd, SGXD_ROLE_CLI);
	REQUIRE(c);
	REQUIRE_EQ(sgxd_cg_mkdir(c, "/job", &status), 0);
	REQUIRE_EQ(status, 0);
	CHECK_EQ(cg_value(c, "/job", "misc.peak"), 0);
	snprintf(shared, sizeof(shared), "--shared=%s", sd.sock);
	{
		char *const argv[] = { p.sgxemu, "run", shared, "--cgroup", "/job", "--", p.example,
				       "--heap", "4M", "--passes", "1", NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
	}
	prog_wait(&pr, 1);
	prog_check_ok(&pr, "4 MiB");
	free(pr.out);
	/* Charged there while it ran (at least its heap), nothing left after. */
	CHECK(cg_value(c, "/job", "misc.peak") >= (long long)(4 * MIB));
	for (int i = 0; i < 100 && (cur = cg_value(c, "/job", "misc.current")) != 0; i++)
		usleep(20000);
	CHECK_EQ(cur, 0);
	/* The root saw it too (hierarchical), and nothing is left there either. */
	CHECK(cg_value(c, "/", "misc.peak") >= (long long)(4 * MIB));
	sgxd_client_close(c);
	sdaemon_stop(&sd);
}

/* Without a daemon: `sgxemu run --shared` says so and exits 1; usage errors exit 2. */
TEST_TIMEOUT(shared_run_without_daemon_and_usage, 30)
{
	struct paths p;
	struct prog pr;

	need_paths(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--shared=/nonexistent/sgxemu.sock", "--",
				       "/bin/true", NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
		prog_wait(&pr, 1);
		CHECK_EQ(pr.status, 1);
		CHECK(strstr(pr.out, "no sgxemu daemon") != NULL);
		free(pr.out);
	}
	{
		char *const argv[] = { p.sgxemu, "run", "--cgroup", "/a", "--", "/bin/true", NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
		prog_wait(&pr, 1);
		CHECK_EQ(pr.status, 2);
		CHECK(strstr(pr.out, "--cgroup needs --shared") != NULL);
		free(pr.out);
	}
	{
		char *const argv[] = { p.sgxemu, "run", "--shared", "--epc", "16M", "--",
				       "/bin/true", NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
		prog_wait(&pr, 1);
		CHECK_EQ(pr.status, 2);
		free(pr.out);
	}
}

/* The program sees the daemon's platform in CPUID and SGXEMU_SHARED in its environment. */
TEST_TIMEOUT(shared_run_takes_the_daemons_platform, 60)
{
	char shared[160], script[512];
	struct sdaemon sd;
	struct paths p;
	struct prog pr;

	need_paths(&p);
	REQUIRE_EQ(sdaemon_start(&sd, 12 * MIB), 0);
	snprintf(shared, sizeof(shared), "--shared=%s", sd.sock);
	snprintf(script, sizeof(script), "echo EPC=$SGXEMU_EPC SHARED=$SGXEMU_SHARED "
		 "CGROUP=$SGXEMU_CGROUP");
	{
		char *const argv[] = { p.sgxemu, "run", shared, "--cgroup", "/", "--", "/bin/sh",
				       "-c", script, NULL };

		REQUIRE_EQ(prog_start(&pr, argv), 0);
	}
	prog_wait(&pr, 1);
	CHECK_EQ(pr.status, 0);
	{
		char want[256];

		snprintf(want, sizeof(want), "EPC=%llu SHARED=%s CGROUP=/", 12 * MIB, sd.sock);
		CHECK(strstr(pr.out, want) != NULL);
	}
	if (test_failed())
		fprintf(stderr, "---- output ----\n%s\n----\n", pr.out);
	free(pr.out);
	sdaemon_stop(&sd);
}

/* ------------------------------------------------------------------------
 * The shim's edge cases (tests/test_preload.c's helpers) in shared mode:
 * this binary re-executed with the shim preloaded and SGXEMU_SHARED set;
 * test_preload.c's constructor runs the helper named by
 * SGXEMU_PRELOAD_HELPER.
 */

/* The sanitizer runtime this binary uses must come first in LD_PRELOAD. */
static void asan_runtime(char *buf, size_t len)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "r");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *q = strchr(line, '/');

		if (q && strstr(q, "/libasan.so")) {
			q[strcspn(q, "\n")] = '\0';
			snprintf(buf, len, "%s ", q);
			break;
		}
	}
	fclose(f);
}

static int run_helper_shared(const char *name, struct paths *p, struct sdaemon *sd)
{
	char rt[PATH_MAX + 1], preload[2 * PATH_MAX + 64];
	int status;
	pid_t pid;

	asan_runtime(rt, sizeof(rt));
	snprintf(preload, sizeof(preload), "%s%s", rt, p->shim);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		setenv("LD_PRELOAD", preload, 1);
		setenv("SGXEMU_PRELOAD_HELPER", name, 1);
		setenv("SGXEMU_SHARED", sd->sock, 1);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		unsetenv("SGXEMU_CGROUP");
		execl("/proc/self/exe", "sgxemu-tests-helper", (char *)NULL);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* After the helper: the daemon hosts nothing any more. */
static void check_daemon_idle(struct sdaemon *sd)
{
	struct sgxd_client *c = conn(sd, SGXD_ROLE_CLI);
	struct sgxd_status ds = { 0 };
	int status = -1;

	REQUIRE(c);
	for (int i = 0; i < 100; i++) {
		if (sgxd_status(c, &ds, &status))
			status = -1;
		if (!status && !ds.nr_encls && ds.free_pages == ds.total_pages)
			break;
		usleep(20000);
	}
	CHECK_EQ(status, 0);
	CHECK_EQ(ds.nr_encls, 0);
	CHECK_EQ(ds.free_pages, ds.total_pages);
	sgxd_client_close(c);
}

static void shared_helper(const char *name)
{
	struct sdaemon sd;
	struct paths p;

	need_paths(&p);
	REQUIRE_EQ(sdaemon_start(&sd, 8 * MIB), 0);
	need_shared_mode(&sd);
	CHECK_EQ(run_helper_shared(name, &p, &sd), 0);
	check_daemon_idle(&sd);
	sdaemon_stop(&sd);
}

/* fstat, ENOTTY, EFAULT, EACCES (mmap/mprotect past the EPCM), mremap EFAULT, dup. */
TEST_TIMEOUT(shared_preload_device_fd_mmap_ioctl_errors, 60)
{
	shared_helper("device");
}

TEST_TIMEOUT(shared_preload_close_fd_while_mapped, 60)
{
	shared_helper("close_mapped");
}

/*
 * The child of a fork: the inherited fd fails with EIO, its own open
 * reconnects, and the parent's connection (ADD_PAGES after the child is
 * gone) was not disturbed by the child closing its copies.
 */
TEST_TIMEOUT(shared_preload_fork_child_reconnects, 60)
{
	shared_helper("fork");
}

TEST_TIMEOUT(shared_preload_program_signal_handlers_chain, 60)
{
	shared_helper("signals");
}

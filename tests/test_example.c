// SPDX-License-Identifier: MIT
/*
 * sgxemu's own example SGX program (examples/bigheap) run as any SGX
 * program is run on sgxemu: `sgxemu run [--epc SIZE] [--stats] -- bigheap`,
 * both binaries taken from this test binary's build directory. An enclave
 * bigger than the EPC must write and verify its whole heap (so paging ran:
 * the stats show EWB and ELDU), with one TCS or two at once; a SIGSTRUCT
 * with a bad signature or the wrong MRENCLAVE must be refused by EINIT,
 * which the driver reports as -EPERM (facts E.5); without the shim the
 * program must fail cleanly.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define OUT_MAX		(256 * 1024)
#define RUN_TIMEOUT_MS	170000

struct paths {
	char sgxemu[PATH_MAX + 32];
	char example[PATH_MAX + 32];
	char shim[PATH_MAX + 32];
};

/* The build directory is the parent of this binary's directory (O/tests/). */
static int find_paths(struct paths *p)
{
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	dir[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(dir, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	snprintf(p->sgxemu, sizeof(p->sgxemu), "%s/sgxemu", dir);
	snprintf(p->example, sizeof(p->example), "%s/examples/bigheap", dir);
	snprintf(p->shim, sizeof(p->shim), "%s/libsgxemu-preload.so", dir);
	return 0;
}

/* The paths, or the test is skipped when the shim or the example is not built. */
static void need_shim(struct paths *p)
{
	SKIP_UNDER_TSAN("the example runs in enclave mode under the preload shim");
	if (find_paths(p))
		SKIP("cannot find the build directory");
	if (access(p->example, X_OK))
		SKIP("examples/bigheap is not built");
	if (access(p->shim, R_OK) || access(p->sgxemu, X_OK))
		SKIP("the preload shim (libsgxemu-preload.so) is not built");
}

struct result {
	int status;			/* exit status, 128 + signal, or -1 */
	char *out;			/* stdout and stderr, NUL terminated */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run argv, collecting its output; killed after RUN_TIMEOUT_MS. */
static void run(char *const argv[], struct result *r)
{
	double deadline = now_ms() + RUN_TIMEOUT_MS;
	size_t used = 0;
	int fds[2], st;
	pid_t pid;

	r->status = -1;
	r->out = calloc(1, OUT_MAX);
	if (!r->out || pipe(fds))
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int left = (int)(deadline - now_ms());
		char sink[4096];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (used + 1 < OUT_MAX)
			n = read(fds[0], r->out + used, OUT_MAX - 1 - used);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (used + 1 < OUT_MAX)
			used += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* On failure the whole output goes to the log: it says what went wrong. */
static void dump_if_failed(const struct result *r)
{
	if (test_failed() && r->out)
		fprintf(stderr, "---- output (status %d) ----\n%s\n----\n", r->status, r->out);
}

/* The count after "label" in the --stats report, or -1. */
static long long stat_value(const char *out, const char *label)
{
	const char *s = strstr(out, label);
	long long v;

	if (!s || sscanf(s + strlen(label), " %lld", &v) != 1)
		return -1;
	return v;
}

/* "EWB / ELDU / EAUG     a / b / c" */
static int stat_paging(const char *out, long long *ewb, long long *eldu)
{
	const char *s = strstr(out, "EWB / ELDU / EAUG");

	if (!s || sscanf(s, "EWB / ELDU / EAUG %lld / %lld", ewb, eldu) != 2)
		return -1;
	return 0;
}

TEST_TIMEOUT(example_bigheap_bigger_than_epc_verified, 180)
{
	struct paths p;
	struct result r;
	long long ewb = -1, eldu = -1;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--stats", "--", p.example,
				       "--heap", "24M", "--passes", "2", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "heap of 24 MiB") != NULL);
	CHECK(strstr(r.out, "EPC 8 MiB") != NULL);		/* CPUID 0x12, emulated */
	CHECK(strstr(r.out, "pass 1: 24 MiB written and read back") != NULL);
	CHECK(strstr(r.out, "pass 2: 24 MiB written and read back") != NULL);
	CHECK(strstr(r.out, "0 mismatches") != NULL);
	CHECK(strstr(r.out, "(WRONG)") == NULL);
	CHECK(strstr(r.out, "bigheap: OK") != NULL);
	/* A 24 MiB heap through an 8 MiB EPC: pages went out and came back. */
	CHECK(strstr(r.out, "sgxemu stats") != NULL);
	CHECK_EQ(stat_paging(r.out, &ewb, &eldu), 0);
	CHECK(ewb >= 24 * 256 / 2);
	CHECK(eldu >= 24 * 256 / 2);
	CHECK_EQ(stat_value(r.out, "enclaves created"), 1);
	dump_if_failed(&r);
	free(r.out);
}

/* The heap fits: load, EINIT of our own SIGSTRUCT, entries; no paging needed. */
TEST_TIMEOUT(example_bigheap_within_epc_verified, 60)
{
	struct paths p;
	struct result r;
	long long ewb = -1, eldu = -1;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--stats", "--", p.example,
				       "--heap", "2M", "--passes", "3", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "INIT ok") != NULL);
	CHECK(strstr(r.out, "the enclave sees its measured heap") != NULL);
	CHECK(strstr(r.out, "pass 3: 2 MiB written and read back by 1 TCS") != NULL);
	CHECK(strstr(r.out, "bigheap: OK") != NULL);
	CHECK_EQ(stat_paging(r.out, &ewb, &eldu), 0);
	CHECK_EQ(ewb, 0);
	dump_if_failed(&r);
	free(r.out);
}

static void two_tcs(const char *heap, const char *want)
{
	struct paths p;
	struct result r;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--", p.example, "--heap",
				       (char *)heap, "--passes", "2", "--threads", "2", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, want) != NULL);
	CHECK(strstr(r.out, "(verified)") != NULL);
	CHECK(strstr(r.out, "bigheap: OK") != NULL);
	dump_if_failed(&r);
	free(r.out);
}

TEST_TIMEOUT(example_bigheap_two_tcs_concurrently, 60)
{
	two_tcs("4M", "pass 2: 4 MiB written and read back by 2 TCSs");
}

/* Two threads in the enclave while the reclaimer evicts its pages (ETRACK + IPIs). */
TEST_TIMEOUT(example_bigheap_two_tcs_bigger_than_epc, 180)
{
	two_tcs("16M", "pass 2: 16 MiB written and read back by 2 TCSs");
}

/*
 * The enclave fd closed after EINIT: as with the kernel driver the mappings
 * keep the enclave alive, paging included; it is released at munmap.
 */
TEST_TIMEOUT(example_bigheap_runs_after_fd_close, 180)
{
	struct paths p;
	struct result r;
	long long ewb = -1, eldu = -1;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--stats", "--", p.example,
				       "--heap", "12M", "--passes", "2", "--close-fd", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "enclave fd closed") != NULL);
	CHECK(strstr(r.out, "pass 2: 12 MiB written and read back") != NULL);
	CHECK(strstr(r.out, "bigheap: OK") != NULL);
	CHECK_EQ(stat_paging(r.out, &ewb, &eldu), 0);
	CHECK(eldu > 0);
	dump_if_failed(&r);
	free(r.out);
}

/*
 * Signals arriving while threads run enclave code (a 1 ms SIGALRM timer, two
 * TCSs, heap bigger than the EPC so AEXes for faults and reclaimer kicks mix
 * with them): each one is an AEX, the program's handler, then ERESUME; the
 * enclave's work must come out verified and the handler must have run.
 */
TEST_TIMEOUT(example_bigheap_signals_during_enclave_mode, 180)
{
	struct paths p;
	struct result r;
	const char *m;
	long alarms = 0;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--", p.example, "--heap",
				       "12M", "--passes", "3", "--threads", "2", "--signals", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	m = strstr(r.out, "SIGALRM handled");
	CHECK(m != NULL);
	if (m) {
		while (m > r.out && m[-1] != '\n')
			m--;
		CHECK_EQ(sscanf(m, " %ld SIGALRM", &alarms), 1);
	}
	CHECK(alarms > 0);
	CHECK(strstr(r.out, "pass 3: 12 MiB written and read back by 2 TCSs") != NULL);
	CHECK(strstr(r.out, "(WRONG)") == NULL);
	CHECK(strstr(r.out, "bigheap: OK") != NULL);
	dump_if_failed(&r);
	free(r.out);
}

/* A SIGSTRUCT EINIT must refuse: the driver turns the SGX code into -EPERM. */
static void einit_refuses(const char *how)
{
	struct paths p;
	struct result r;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--epc", "8M", "--", p.example, "--heap",
				       "64K", (char *)how, NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 3);
	CHECK(strstr(r.out, "SGX_IOC_ENCLAVE_INIT: refused (EPERM)") != NULL);
	CHECK(strstr(r.out, "pass 1") == NULL);
	dump_if_failed(&r);
	free(r.out);
}

TEST_TIMEOUT(example_bad_signature_refused_by_einit, 60)
{
	einit_refuses("--bad-signature");
}

TEST_TIMEOUT(example_wrong_mrenclave_refused_by_einit, 60)
{
	einit_refuses("--wrong-mrenclave");
}

TEST_TIMEOUT(example_bench_prints_eenter_eexit_metric, 120)
{
	struct paths p;
	struct result r;
	double ns = 0;
	const char *m;

	need_shim(&p);
	{
		char *const argv[] = { p.sgxemu, "run", "--", p.example, "--heap", "64K",
				       "--bench", "20", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 0);
	m = strstr(r.out, "METRIC eenter_eexit_ns ");
	CHECK(m != NULL);
	if (m)
		CHECK_EQ(sscanf(m, "METRIC eenter_eexit_ns %lf ns", &ns), 1);
	CHECK(ns > 0);
	dump_if_failed(&r);
	free(r.out);
}

/* Not under sgxemu (and no SGX driver here): a clear message, exit 1, no crash. */
TEST_TIMEOUT(example_without_sgx_fails_cleanly, 60)
{
	struct paths p;
	struct result r;

	if (find_paths(&p) || access(p.example, X_OK))
		SKIP("examples/bigheap is not built");
	if (!access("/dev/sgx_enclave", F_OK))
		SKIP("this machine has a real SGX driver");
	{
		char *const argv[] = { p.example, "--heap", "64K", NULL };

		run(argv, &r);
	}
	REQUIRE(r.out);
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.out, "sgxemu run") != NULL);
	dump_if_failed(&r);
	free(r.out);
}

TEST_TIMEOUT(example_bad_usage_exit_2, 30)
{
	static const char *const bad[][2] = {
		{ "--threads", "3" }, { "--heap", "100" }, { "--heap", "0" },
		{ "--passes", "0" }, { "--bench", "x" }, { "--nope", NULL },
	};
	struct paths p;

	if (find_paths(&p) || access(p.example, X_OK))
		SKIP("examples/bigheap is not built");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const argv[] = { p.example, (char *)bad[i][0], (char *)bad[i][1], NULL };
		struct result r;

		run(argv, &r);
		REQUIRE(r.out);
		CHECK_EQ(r.status, 2);
		CHECK(strstr(r.out, "usage: bigheap") != NULL);
		dump_if_failed(&r);
		free(r.out);
	}
}

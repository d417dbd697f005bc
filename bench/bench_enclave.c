// SPDX-License-Identifier: MIT
/*
 * Benchmark group "enclave": the cost of entering and leaving an enclave on
 * sgxemu, against the cost floor of the emulation's trap.
 *
 *   eenter_eexit_ns       one EENTER/EEXIT round trip through
 *                         __vdso_sgx_enter_enclave into an enclave that
 *                         EEXITs at once (two ENCLU traps, the CPU model's
 *                         leaves, the FS/GS switches).
 *   trap_ns               the floor: a bare ENCLU executed outside enclave
 *                         mode in this process, caught by a signal handler
 *                         that only skips it (one trap and return).
 *   eenter_eexit_vs_trap  their ratio (two traps is the least an entry and
 *                         an exit can cost, so 2 is the ideal).
 *
 * The entry is measured the honest way, the way an SGX program pays for it:
 * this command runs `sgxemu run -- examples/bigheap --bench N` (its own
 * binary and the example next to it in the build directory), so the round
 * trip goes through the preload shim, the fake vDSO and the trap handlers
 * exactly as for any unmodified program, and parses the METRIC line the
 * example prints. The trap floor is measured here, in the same run.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench/bench.h"

#define ENCLAVE_BENCH_EPC	"16M"
#define ENCLAVE_BENCH_HEAP	"64K"
#define CHILD_OUTPUT_MAX	(64 * 1024)

/* ---- the trap floor ---- */

static void skip_enclu(int sig, siginfo_t *si, void *uc_void)
{
	ucontext_t *uc = uc_void;
	const unsigned char *rip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];

	(void)si;
	if (rip[0] == 0x0f && rip[1] == 0x01 && rip[2] == 0xd7) {
		uc->uc_mcontext.gregs[REG_RIP] += 3;
		return;
	}
	/* Not ours: a real crash. Die of it with the default action. */
	signal(sig, SIG_DFL);
}

static int trap_batch(void *arg, unsigned int iters)
{
	(void)arg;
	for (unsigned int i = 0; i < iters; i++) {
		/* ENCLU[EEXIT] outside an enclave: #GP on SGX hosts, #UD elsewhere. */
		__asm__ volatile(".byte 0x0f, 0x01, 0xd7"
				 : : "a"(4), "b"(0), "c"(0) : "memory");
	}
	return 0;
}

static int measure_trap(struct bench_ctx *ctx, unsigned int iters, double *ns)
{
	struct sigaction sa = { .sa_sigaction = skip_enclu, .sa_flags = SA_SIGINFO };
	struct sigaction old_segv, old_ill;
	int ret;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv))
		return -1;
	if (sigaction(SIGILL, &sa, &old_ill)) {
		sigaction(SIGSEGV, &old_segv, NULL);
		return -1;
	}
	ret = bench_measure(ctx, trap_batch, NULL, iters, ns);
	sigaction(SIGILL, &old_ill, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return ret;
}

/* ---- the entry, through `sgxemu run` ---- */

/* This binary's directory (the build directory) into 'dir'. */
static int exe_dir(char *dir, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;

	if (n <= 0)
		return -1;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

/* Run argv with stdout (and stderr) into 'out'; the exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t len)
{
	size_t used = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
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
		char sink[4096];
		ssize_t n;

		/* Keep draining past 'len' so the child never blocks on a full pipe. */
		if (used + 1 < len)
			n = read(fds[0], out + used, len - 1 - used);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (used + 1 < len)
			used += (size_t)n;
	}
	out[used] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int measure_entry(struct bench_ctx *ctx, unsigned long iters, double *ns)
{
	char dir[PATH_MAX], sgxemu[PATH_MAX + 16], example[PATH_MAX + 32], n[32];
	char *out = malloc(CHILD_OUTPUT_MAX);
	const char *metric;
	int status;

	if (!out)
		return bench_fail(ctx, "enclave: out of memory");
	if (exe_dir(dir, sizeof(dir))) {
		free(out);
		return bench_fail(ctx, "enclave: cannot find the build directory");
	}
	snprintf(sgxemu, sizeof(sgxemu), "%s/sgxemu", dir);
	snprintf(example, sizeof(example), "%s/examples/bigheap", dir);
	snprintf(n, sizeof(n), "%lu", iters);
	if (access(example, X_OK)) {
		free(out);
		return bench_fail(ctx, "enclave: %s is missing (run `make`)", example);
	}
	{
		char *const argv[] = { sgxemu, "run", "--epc", ENCLAVE_BENCH_EPC, "--", example,
				       "--heap", ENCLAVE_BENCH_HEAP, "--bench", n, NULL };

		status = run_capture(argv, out, CHILD_OUTPUT_MAX);
	}
	metric = strstr(out, "METRIC eenter_eexit_ns ");
	if (status != 0 || !metric ||
	    sscanf(metric, "METRIC eenter_eexit_ns %lf", ns) != 1 || !(*ns > 0)) {
		fprintf(stderr, "%s", out);
		free(out);
		return bench_fail(ctx, "enclave: `sgxemu run -- bigheap --bench` failed "
				  "(status %d)", status);
	}
	free(out);
	return 0;
}

BENCH(enclave, "EENTER/EEXIT through the vDSO under sgxemu run, against a bare ENCLU trap")
{
	unsigned int trap_iters = ctx->quick ? 16 : 2000;
	unsigned long entries = ctx->quick ? 20 : 5000;
	double trap_ns = 0, entry_ns = 0;

	if (measure_trap(ctx, trap_iters, &trap_ns) || !(trap_ns > 0))
		return bench_fail(ctx, "enclave: timing the ENCLU trap failed");
	if (measure_entry(ctx, entries, &entry_ns))
		return -1;
	bench_metric("eenter_eexit_ns", entry_ns, "ns");
	bench_metric("trap_ns", trap_ns, "ns");
	bench_metric("eenter_eexit_vs_trap", entry_ns / trap_ns, "x");
	return 0;
}

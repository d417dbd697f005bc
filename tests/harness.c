// SPDX-License-Identifier: MIT
/*
 * The runner behind tests/harness.h. Usage: sgxemu-tests [-l] [SUBSTRING...]
 * runs every test whose name contains one of the substrings (all by default),
 * each in its own child process.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_SKIP 77

static struct test_case *tests;
static int failed;
static uint64_t seed;

void test_register(struct test_case *tc)
{
	struct test_case **p = &tests;

	/* Keep registration order stable: files link in order, tests in order. */
	while (*p)
		p = &(*p)->next;
	*p = tc;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
}

void test_skip(const char *why)
{
	fprintf(stderr, "    skipped: %s\n", why);
	fflush(NULL);
	_exit(EXIT_SKIP);
}

int test_failed(void)
{
	return failed;
}

uint64_t test_seed(void)
{
	return seed;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int passed = 0, nfailed = 0, skipped = 0;
	const char *s = getenv("SGXEMU_TEST_SEED");

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (struct test_case *t = tests; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	for (struct test_case *t = tests; t; t = t->next) {
		int status;
		double t0;
		pid_t pid;

		if (!selected(t->name, argc - 1, argv + 1))
			continue;
		fflush(NULL);
		t0 = now_s();
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			setpgid(0, 0);
			alarm(t->timeout_s);
			t->fn();
			fflush(NULL);
			_exit(test_failed() ? EXIT_FAIL : EXIT_PASS);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		/* Anything the test left behind (helper processes) goes with it. */
		kill(-pid, SIGKILL);
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PASS) {
			passed++;
			printf("ok      %-50s %7.2fs\n", t->name, now_s() - t0);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
			skipped++;
			printf("skip    %-50s\n", t->name);
		} else {
			nfailed++;
			if (WIFSIGNALED(status))
				printf("FAIL    %-50s (signal %d%s, seed %llu)\n", t->name,
				       WTERMSIG(status),
				       WTERMSIG(status) == SIGALRM ? ": timeout" : "",
				       (unsigned long long)seed);
			else
				printf("FAIL    %-50s (seed %llu)\n", t->name,
				       (unsigned long long)seed);
		}
	}
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, nfailed, skipped);
	else
		printf("%d passed, %d failed\n", passed, nfailed);
	return nfailed ? 1 : 0;
}

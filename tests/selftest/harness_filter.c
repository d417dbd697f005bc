// SPDX-License-Identifier: MIT
/*
 * harness_filter - Linux 6.1's test_sgx with the `-t NAME` option of later
 * kselftest harnesses.
 *
 * The EPC cgroup series' test plan (run_epc_cg_selftests.sh, v11..v17) runs
 * `./test_sgx -t unclobbered_vdso_oversubscribed`: one oversubscribed
 * enclave per process, so that N processes under a limit compete exactly
 * with N such enclaves. The series was written against kernels whose
 * kselftest harness filters with -t (Linux 6.7 and later); 6.1's
 * test_harness_run() ignores its arguments and runs all 16 tests, a
 * different workload. This file is sgxemu's code: it includes the selftest's
 * main.c unmodified (its TEST_HARNESS_MAIN's main() renamed by a macro),
 * keeps only the tests named by -t in the harness's lists, and calls that
 * main. It is NOT built by the project Makefile: scripts/build-selftests.sh
 * compiles it at test time in the fetched selftest directory and links it
 * with the selftest's own objects into test_sgx_filter; nothing of the GPL
 * sources is committed.
 *
 * Usage: test_sgx_filter [-t TEST]... (no -t: every test, as test_sgx)
 */
#define main sgxemu_selftest_main
#include "main.c"
#undef main

#include <string.h>

static int wanted(const char *name, int n, char **names)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *names[64];
	int n = 0, kept = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc && n < 64) {
			names[n++] = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [-t TEST]...\n", argv[0]);
			return 2;
		}
	}
	if (n == 0)
		return sgxemu_selftest_main(argc, argv);

	/*
	 * Rebuild each fixture's test list with the wanted tests, in order,
	 * keeping the harness's invariant (next-linked, head->prev = tail).
	 */
	for (struct __fixture_metadata *f = __fixture_list; f; f = f->next) {
		struct __test_metadata *t = f->tests, *next, *head = NULL;

		for (; t; t = next) {
			next = t->next;
			if (!wanted(t->name, n, names))
				continue;
			t->next = NULL;
			if (!head) {
				head = t;
				t->prev = t;
			} else {
				t->prev = head->prev;
				head->prev->next = t;
				head->prev = t;
			}
			kept++;
		}
		f->tests = head;
	}
	if (kept == 0) {
		fprintf(stderr, "%s: no test matches\n", argv[0]);
		return 2;
	}
	return sgxemu_selftest_main(1, argv);
}

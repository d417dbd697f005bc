/* SPDX-License-Identifier: MIT */
/*
 * sgxemu's test harness: TEST(name) { ... } registers a test; every test runs
 * in a forked child with a timeout, so a crash or a hang fails that test
 * only. The runner prints one line per test and ends with
 * "N passed, N failed[, N skipped]".
 *
 * Assertions: CHECK(cond) fails the test (and goes on), REQUIRE(cond) fails
 * and returns from the test, CHECK_EQ/REQUIRE_EQ compare two integers and
 * print both. SKIP("why") ends the test as skipped.
 */
#ifndef SGXEMU_TEST_HARNESS_H
#define SGXEMU_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>

struct test_case {
	const char *name;
	const char *file;
	void (*fn)(void);
	unsigned int timeout_s;
	struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void test_skip(const char *why) __attribute__((noreturn));
int test_failed(void);
/* Seed for randomized tests: SGXEMU_TEST_SEED or time; printed on failure. */
uint64_t test_seed(void);

#define TEST_TIMEOUT(tname, secs)                                              \
	static void test_fn_##tname(void);                                     \
	static struct test_case test_case_##tname = {                          \
		.name = #tname, .file = __FILE__, .fn = test_fn_##tname,       \
		.timeout_s = (secs) };                                         \
	__attribute__((constructor)) static void test_reg_##tname(void)        \
	{ test_register(&test_case_##tname); }                                 \
	static void test_fn_##tname(void)

#define TEST(tname) TEST_TIMEOUT(tname, 60)

/*
 * A fixed address a test maps itself (an enclave's ELRANGE), written as
 * TEST_ADDR(a) with a in 0x300000000000-0x7f0000000000: user memory in the
 * normal build and under ASan (above its shadow gap, below its allocator's
 * heap at 0x600000000000 or above it and below the libraries). gcc 12's
 * ThreadSanitizer keeps that span for its shadow and metainfo and refuses a
 * fixed mapping there ("mmap at bad address"); under it the addresses are
 * divided by 256 into its low application range (below 0x8000000000), which
 * keeps their order and their alignment to any size up to 1 GiB.
 */
#if defined(__SANITIZE_THREAD__)
#define TEST_ADDR(a)	((a) >> 8)
#else
#define TEST_ADDR(a)	(a)
#endif

#define CHECK(cond)                                                            \
	do { if (!(cond)) test_fail_at(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define REQUIRE(cond)                                                          \
	do { if (!(cond)) { test_fail_at(__FILE__, __LINE__, "REQUIRE(%s)", #cond); return; } } while (0)
#define CHECK_EQ(a, b)                                                         \
	do { long long _a = (long long)(a), _b = (long long)(b);               \
	     if (_a != _b) test_fail_at(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld (0x%llx) != %lld (0x%llx)", \
					#a, #b, _a, (unsigned long long)_a, _b, (unsigned long long)_b); } while (0)
#define REQUIRE_EQ(a, b)                                                       \
	do { long long _a = (long long)(a), _b = (long long)(b);               \
	     if (_a != _b) { test_fail_at(__FILE__, __LINE__, "REQUIRE_EQ(%s, %s): %lld (0x%llx) != %lld (0x%llx)", \
					  #a, #b, _a, (unsigned long long)_a, _b, (unsigned long long)_b); return; } } while (0)
#define SKIP(why) test_skip(why)

/*
 * Skips a test that cannot run under ThreadSanitizer: enclave mode runs
 * enclave code natively on the enclave's FS/GS bases and takes its AEXs in
 * signal handlers, where TSan's runtime (its thread state found through FS,
 * its signal handler wrappers) faults; programs run under the preload shim
 * (LD_PRELOAD of an instrumented libsgxemu-preload.so into an uninstrumented
 * program) are in enclave mode as well. The daemon, the manager and the
 * CPU's own threads all run under TSan.
 */
#if defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_TSAN(why) SKIP("not under ThreadSanitizer: " why)
#else
#define SKIP_UNDER_TSAN(why) do { } while (0)
#endif

#endif

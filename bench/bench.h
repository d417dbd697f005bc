/* SPDX-License-Identifier: MIT */
/*
 * sgxemu's benchmark framework. A benchmark group registers itself with
 * BENCH(name, summary) { ... } (like a test) and reports its results as
 * lines
 *     METRIC <name> <value> <unit>
 * on stdout, each next to a floor measured in the same run where one makes
 * sense, so that ratios stay meaningful on noisy machines.
 *
 * Timing: CLOCK_MONOTONIC around a batch of iterations, after warm-up
 * batches, repeated; the median batch is reported (per operation).
 * Benchmarks are never part of the tests: the test suite only checks that
 * `sgxemu bench --list` and `sgxemu bench --quick` run.
 */
#ifndef SGXEMU_BENCH_H
#define SGXEMU_BENCH_H

#include <stdbool.h>
#include <stdint.h>

struct bench_ctx {
	bool quick;			/* smoke mode: tiny counts, numbers meaningless */
	unsigned int reps;		/* measured batches; the median is reported */
	unsigned int warmup;		/* unmeasured batches before */
	unsigned int failures;		/* bench_fail() calls */
};

struct bench {
	const char *name;
	const char *summary;
	/* Returns 0, or -1 after bench_fail() explained why. */
	int (*run)(struct bench_ctx *ctx);
	struct bench *next;
};

void bench_register(struct bench *b);
/* All registered groups, sorted by name. */
const struct bench *bench_list(void);
const struct bench *bench_find(const char *name);

#define BENCH(bname, bsummary)                                                 \
	static int bench_fn_##bname(struct bench_ctx *ctx);                    \
	static struct bench bench_##bname = {                                  \
		.name = #bname, .summary = bsummary, .run = bench_fn_##bname }; \
	__attribute__((constructor)) static void bench_reg_##bname(void)       \
	{ bench_register(&bench_##bname); }                                    \
	static int bench_fn_##bname(struct bench_ctx *ctx)

/*
 * One batch of 'iters' operations; returns 0 or -1 (the operation failed,
 * which aborts the measurement). 'arg' is the benchmark's own state.
 */
typedef int (*bench_batch_fn)(void *arg, unsigned int iters);

/*
 * Run ctx->warmup + ctx->reps batches of 'iters' operations and store the
 * median time per operation in *ns_per_op. Returns 0 or -1.
 */
int bench_measure(struct bench_ctx *ctx, bench_batch_fn fn, void *arg, unsigned int iters,
		  double *ns_per_op);

/* Print "METRIC <name> <value> <unit>". */
void bench_metric(const char *name, double value, const char *unit);
/* Print "bench: <group>: <message>" to stderr, count a failure; returns -1. */
int bench_fail(struct bench_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint64_t bench_now_ns(void);
/* Median of v[0..n-1] (sorts v). n > 0. */
double bench_median(double *v, unsigned int n);

#endif /* SGXEMU_BENCH_H */

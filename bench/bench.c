// SPDX-License-Identifier: MIT
/*
 * The benchmark registry and the timing loop. See bench.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

/* Filled by constructors before main(), read-only afterwards. */
static struct bench *benches;

void bench_register(struct bench *b)
{
	struct bench **p = &benches;

	while (*p && strcmp((*p)->name, b->name) < 0)
		p = &(*p)->next;
	b->next = *p;
	*p = b;
}

const struct bench *bench_list(void)
{
	return benches;
}

const struct bench *bench_find(const char *name)
{
	for (const struct bench *b = benches; b; b = b->next)
		if (!strcmp(b->name, name))
			return b;
	return NULL;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_measure(struct bench_ctx *ctx, bench_batch_fn fn, void *arg, unsigned int iters,
		  double *ns_per_op)
{
	unsigned int reps = ctx->reps ? ctx->reps : 1;
	double *samples;

	if (!iters)
		return -1;
	for (unsigned int i = 0; i < ctx->warmup; i++)
		if (fn(arg, iters))
			return -1;
	samples = calloc(reps, sizeof(*samples));
	if (!samples)
		return -1;
	for (unsigned int i = 0; i < reps; i++) {
		uint64_t t0 = bench_now_ns();

		if (fn(arg, iters)) {
			free(samples);
			return -1;
		}
		samples[i] = (double)(bench_now_ns() - t0) / iters;
	}
	*ns_per_op = bench_median(samples, reps);
	free(samples);
	return 0;
}

void bench_metric(const char *name, double value, const char *unit)
{
	printf("METRIC %s %.*f %s\n", name, value < 10 ? 3 : 1, value, unit);
	fflush(stdout);
}

int bench_fail(struct bench_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctx->failures++;
	return -1;
}

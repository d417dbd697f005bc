// SPDX-License-Identifier: MIT
/*
 * Benchmark group "alloc": the EPC manager's page allocator.
 *
 *   alloc_free_ns      one sgx_alloc_epc_page(reclaim=false) + sgx_free_epc_page
 *                      pair, one thread.
 *   alloc_free_2t_ns   the same pair while a second thread does the same on
 *                      the same node (one section, so both share the node
 *                      lock and the atomic free count): wall time of a batch
 *                      divided by the pairs each thread did, i.e. the
 *                      latency of a pair under contention.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bench/bench.h"
#include "sgx/sgx.h"

#define ALLOC_BENCH_EPC_PAGES	4096

struct alloc_bench {
	struct sgx_platform *p;
	unsigned int iters;
	pthread_barrier_t start;
	int error;
};

static int alloc_pairs(struct sgx_platform *p, unsigned int iters)
{
	for (unsigned int i = 0; i < iters; i++) {
		struct sgx_epc_page *page = sgx_alloc_epc_page(p, NULL, false);

		if (IS_ERR(page))
			return -1;
		sgx_free_epc_page(p, page);
	}
	return 0;
}

static int alloc_batch(void *arg, unsigned int iters)
{
	struct alloc_bench *ab = arg;

	return alloc_pairs(ab->p, iters);
}

static void *alloc_peer(void *arg)
{
	struct alloc_bench *ab = arg;

	pthread_barrier_wait(&ab->start);
	if (alloc_pairs(ab->p, ab->iters))
		ab->error = -1;
	return NULL;
}

static int alloc_batch_2t(void *arg, unsigned int iters)
{
	struct alloc_bench *ab = arg;
	pthread_t t;
	int ret;

	ab->iters = iters;
	if (pthread_create(&t, NULL, alloc_peer, ab))
		return -1;
	pthread_barrier_wait(&ab->start);
	ret = alloc_pairs(ab->p, iters);
	pthread_join(t, NULL);
	return ret || ab->error ? -1 : 0;
}

BENCH(alloc, "EPC page allocator: alloc+free pair, one and two threads")
{
	unsigned int iters = ctx->quick ? 1000 : 200000;
	struct sgx_platform_config c;
	struct alloc_bench ab;
	double one = 0, two = 0;
	int ret;

	memset(&ab, 0, sizeof(ab));
	sgx_platform_default_config(&c);
	c.cpu_config.epc_size = ALLOC_BENCH_EPC_PAGES * 4096ULL;
	c.cpu_config.nr_sections = 1;
	c.no_ksgxd = true;
	ret = sgx_platform_create(&c, &ab.p);
	if (ret)
		return bench_fail(ctx, "alloc: cannot create the platform: %s", strerror(-ret));
	pthread_barrier_init(&ab.start, NULL, 2);
	ret = 0;
	if (bench_measure(ctx, alloc_batch, &ab, iters, &one) ||
	    bench_measure(ctx, alloc_batch_2t, &ab, iters, &two))
		ret = bench_fail(ctx, "alloc: an allocation failed");
	pthread_barrier_destroy(&ab.start);
	sgx_platform_destroy(ab.p);
	if (ret)
		return ret;
	bench_metric("alloc_free_ns", one, "ns");
	bench_metric("alloc_free_2t_ns", two, "ns");
	return 0;
}

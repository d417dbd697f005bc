// SPDX-License-Identifier: MIT
/*
 * CPU tests: concurrency. Threads build and page their own enclaves at the
 * same time (no leaf may fail spuriously when callers follow the kernel's
 * locking), and an LP enters/leaves an enclave while another thread evicts
 * its pages with the kernel's EBLOCK/ETRACK/EWB retry loop.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"

#define NTHREADS	4
#define NPAGES		48
#define ROUNDS		12
#define FRAMES_PER	128

struct worker {
	struct sgx_cpu *cpu;
	unsigned int id;
	struct cpu_pool pool;
	char err[160];
};

static void page_pattern(uint8_t *p, unsigned int id, unsigned int i, unsigned int round)
{
	for (unsigned int k = 0; k < 4096; k++)
		p[k] = (uint8_t)(id * 31 + i * 7 + k + round);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	uint8_t *src = aligned_alloc(4096, 4096), *expect = aligned_alloc(4096, 4096);
	uint64_t base = 0x1000000000ULL * (w->id + 1);
	struct built_encl e;
	uint64_t *va;
	int ret;

	if (!ev || !src || !expect) {
		snprintf(w->err, sizeof(w->err), "oom");
		goto out;
	}
	ret = cpu_encl_create(&e, w->cpu, &w->pool, base, 0x100000, SGX_ATTR_MODE64BIT);
	if (ret) {
		snprintf(w->err, sizeof(w->err), "ECREATE %d", ret);
		goto out;
	}
	for (unsigned int i = 0; i < NPAGES; i++) {
		page_pattern(src, w->id, i, 0);
		ret = cpu_encl_add(&e, i * 4096ULL, src, SGX_SECINFO_REG | 3, i % 2, NULL);
		if (ret) {
			snprintf(w->err, sizeof(w->err), "EADD %u: %d", i, ret);
			goto out;
		}
	}
	ret = cpu_encl_init(&e);
	if (ret) {
		snprintf(w->err, sizeof(w->err), "EINIT %d", ret);
		goto out;
	}
	va = cpu_epa(&w->pool);
	if (!va) {
		snprintf(w->err, sizeof(w->err), "EPA");
		goto out;
	}
	for (unsigned int r = 0; r < ROUNDS; r++) {
		for (unsigned int i = 0; i < NPAGES; i++) {
			struct encl_page *pg = &e.pages[i];
			void *dst;

			ret = cpu_evict(w->cpu, e.secs, pg->epc, base + pg->offset, &va[i], ev);
			if (ret) {
				snprintf(w->err, sizeof(w->err), "evict r%u p%u: %d", r, i, ret);
				goto out;
			}
			cpu_pool_free(&w->pool, pg->epc);
			dst = cpu_pool_alloc(&w->pool);
			ret = cpu_reload(w->cpu, e.secs, dst, ev, false);
			if (ret) {
				snprintf(w->err, sizeof(w->err), "ELDU r%u p%u: %d", r, i, ret);
				goto out;
			}
			pg->epc = dst;
			page_pattern(expect, w->id, i, 0);
			if (memcmp(sgx_epc_data(w->cpu, dst), expect, 4096)) {
				snprintf(w->err, sizeof(w->err), "content r%u p%u", r, i);
				goto out;
			}
		}
	}
	cpu_encl_destroy(&e);
out:
	free(ev);
	free(src);
	free(expect);
	return NULL;
}

TEST_TIMEOUT(cpu_threads_independent_enclaves, 120)
{
	struct sgx_cpu *cpu = cpu_test_create(NTHREADS * FRAMES_PER * 4096ULL, 2);
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];

	REQUIRE(cpu);
	REQUIRE(cpu_test_signer());	/* generate the key before the threads race for it */
	for (unsigned int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].cpu = cpu;
		w[i].id = i;
		REQUIRE_EQ(cpu_pool_init(&w[i].pool, cpu, i * FRAMES_PER, FRAMES_PER), 0);
		REQUIRE_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (unsigned int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err[0])
			test_fail_at(__FILE__, __LINE__, "worker %u: %s", i, w[i].err);
		cpu_pool_destroy(&w[i].pool);
	}
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	{
		struct sgx_cpu_stats st;

		sgx_cpu_get_stats(cpu, &st);
		CHECK(st.encls[EWB] >= NTHREADS * NPAGES * ROUNDS);
		CHECK_EQ(st.encls_faults, 0);
	}
	sgx_cpu_destroy(cpu);
}

/* LP thread: enter/leave the enclave and resolve its pages as ENCLU would. */
struct lp_ctx {
	struct sgx_cpu *cpu;
	int64_t secs, tcs;
	uint64_t base;
	atomic_bool stop;
	atomic_ulong entries;
	unsigned long lookups_hit;
	char err[128];
};

static void *lp_main(void *arg)
{
	struct lp_ctx *c = arg;
	struct sgx_lp *lp = sgx_lp_create(c->cpu);

	if (!lp) {
		snprintf(c->err, sizeof(c->err), "no LP");
		return NULL;
	}
	while (!atomic_load(&c->stop)) {
		if (sgx_lp_enter_enclave(c->cpu, lp, c->secs, c->tcs, c->base)) {
			snprintf(c->err, sizeof(c->err), "enter failed");
			break;
		}
		for (unsigned int i = 0; i < 8; i++) {
			sgx_epcm_read_lock(c->cpu);
			if (sgx_epcm_lookup(c->cpu, c->secs, c->base + 0x1000 * (1 + i % 4)) >= 0)
				c->lookups_hit++;
			sgx_epcm_read_unlock(c->cpu);
		}
		if (sgx_lp_leave_enclave(c->cpu, lp)) {
			snprintf(c->err, sizeof(c->err), "leave failed");
			break;
		}
		atomic_fetch_add(&c->entries, 1);
	}
	sgx_lp_destroy(lp);
	return NULL;
}

TEST_TIMEOUT(cpu_threads_evict_while_lp_enters, 120)
{
	struct sgx_cpu *cpu = cpu_test_create(128 * 4096ULL, 1);
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	struct sgx_tcs *tcs = aligned_alloc(4096, sizeof(*tcs));
	struct lp_ctx c = { 0 };
	struct cpu_pool pool;
	struct built_encl e;
	unsigned long not_tracked = 0, incomplete = 0;
	uint64_t *va;
	pthread_t t;
	void *tcs_epc;

	REQUIRE(cpu && ev && tcs);
	REQUIRE_EQ(cpu_pool_init(&pool, cpu, 0, 128), 0);
	REQUIRE_EQ(cpu_encl_create(&e, cpu, &pool, 0x40000000, 0x10000, SGX_ATTR_MODE64BIT), 0);
	cpu_encl_make_tcs(tcs, 0x8000, 0x1000);
	REQUIRE_EQ(cpu_encl_add(&e, 0, tcs, SGX_SECINFO_TCS, true, &tcs_epc), 0);
	for (unsigned int i = 1; i <= 4; i++)
		REQUIRE_EQ(cpu_encl_add(&e, i * 0x1000ULL, NULL, SGX_SECINFO_REG | 3, true, NULL), 0);
	REQUIRE_EQ(cpu_encl_init(&e), 0);
	va = cpu_epa(&pool);
	c.cpu = cpu;
	c.secs = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)e.secs);
	c.tcs = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)tcs_epc);
	c.base = e.base;
	REQUIRE_EQ(pthread_create(&t, NULL, lp_main, &c), 0);
	/* Let the LP get going, so the evictions really race with it. */
	while (atomic_load(&c.entries) == 0 && !c.err[0])
		sched_yield();

	/* The kernel's sgx_encl_ewb(): EBLOCK, EWB; NOT_TRACKED -> ETRACK, EWB; retry. */
	for (unsigned int n = 0; n < 400 && !test_failed(); n++) {
		struct encl_page *pg = &e.pages[1 + n % 4];
		struct sgx_pageinfo pi = { 0 };
		int ret;
		void *dst;

		REQUIRE_EQ(__eblock(cpu, pg->epc), 0);
		pi.contents = (uint64_t)(uintptr_t)ev->contents;
		pi.metadata = (uint64_t)(uintptr_t)&ev->pcmd;
		for (unsigned int tries = 0;; tries++) {
			ret = __ewb(cpu, &pi, pg->epc, &va[0]);
			if (ret != SGX_NOT_TRACKED)
				break;
			not_tracked++;
			ret = __etrack(cpu, e.secs);
			if (ret == SGX_PREV_TRK_INCMPL)
				incomplete++;
			else
				REQUIRE_EQ(ret, 0);
			REQUIRE(tries < 1000000);
			sched_yield();
		}
		REQUIRE_EQ(ret, 0);
		ev->va_slot = &va[0];
		ev->linaddr = e.base + pg->offset;
		cpu_pool_free(&pool, pg->epc);
		dst = cpu_pool_alloc(&pool);
		REQUIRE_EQ(cpu_reload(cpu, e.secs, dst, ev, false), 0);
		pg->epc = dst;
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	CHECK(c.err[0] == '\0');
	CHECK(atomic_load(&c.entries) > 0);
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	fprintf(stderr, "    (LP entries %lu, NOT_TRACKED %lu, PREV_TRK_INCMPL %lu)\n",
		atomic_load(&c.entries), not_tracked, incomplete);
	free(ev);
	free(tcs);
	sgx_cpu_destroy(cpu);
}

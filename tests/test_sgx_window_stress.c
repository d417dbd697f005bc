// SPDX-License-Identifier: MIT
/*
 * Oversubscription through the real windows: enclaves holding 4x the EPC,
 * touched natively by threads on both CPUs while ksgxd and direct reclaim
 * (run by the faulting threads) evict; and the Nov 2021 free-page
 * accounting scenario with its touches made through a window.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define WS_EPC		1024		/* 4 MiB */
#define WS_THREADS	2
#define WS_ENCLS	4		/* per thread */
#define WS_PAGES	512		/* per enclave: 2 * 4 * 512 = 4096 = 4x the EPC */
#define WS_ROUNDS	4

struct wstress {
	struct sgx_platform *p;
	struct mgr_encl e[WS_THREADS][WS_ENCLS];
	uint64_t gen[WS_THREADS][WS_ENCLS][WS_PAGES];
	pthread_barrier_t barrier;
	atomic_int errors;
};

struct wstress_arg {
	struct wstress *s;
	int id;
	uint64_t seed;
};

static uint64_t ws_base(int id, int k)
{
	return TEST_ADDR(0x7d0000000000ULL) + 0x10000000ULL * (uint64_t)(id * WS_ENCLS + k);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int ws_build(struct wstress *s, int id, int k)
{
	struct mgr_encl *e = &s->e[id][k];

	if (mgr_encl_build(e, s->p, ws_base(id, k), WS_PAGES * 4096, WS_PAGES))
		return -1;
	memset(s->gen[id][k], 0, sizeof(s->gen[id][k]));
	return (int)mgr_encl_map(e, PROT_READ | PROT_WRITE);
}

static void ws_check(struct wstress *s, int id, int k, uint64_t pg)
{
	struct mgr_encl *e = &s->e[id][k];

	if (mgr_check_mem(e, e->base + pg * 4096, s->gen[id][k][pg]))
		atomic_fetch_add(&s->errors, 1);
}

static void *ws_thread(void *a)
{
	struct wstress_arg *sa = a;
	struct wstress *s = sa->s;
	int id = sa->id, round, k, j;
	uint64_t i;

	for (round = 1; round <= WS_ROUNDS; round++) {
		/*
		 * Phase 1: each thread writes its own pages (sequentially, or in
		 * random order on odd rounds) and reads them back at random.
		 */
		for (k = 0; k < WS_ENCLS; k++) {
			struct mgr_encl *e = &s->e[id][k];

			for (i = 0; i < WS_PAGES; i++) {
				uint64_t pg = (round & 1) ? rnd(&sa->seed) % WS_PAGES : i;

				mgr_write_mem(e, e->base + pg * 4096, (uint64_t)round);
				s->gen[id][k][pg] = (uint64_t)round;
			}
			for (i = 0; i < WS_PAGES / 4; i++)
				ws_check(s, id, k, rnd(&sa->seed) % WS_PAGES);
		}
		/* Destroy and rebuild one of its enclaves (windows included). */
		k = round % WS_ENCLS;
		if (mgr_encl_unmap(&s->e[id][k]))
			atomic_fetch_add(&s->errors, 1);
		mgr_encl_close(&s->e[id][k]);
		if (ws_build(s, id, k))
			atomic_fetch_add(&s->errors, 1);
		pthread_barrier_wait(&s->barrier);

		/* Phase 2: everybody reads everything, in random order. */
		for (i = 0; i < WS_THREADS * WS_ENCLS * WS_PAGES / 2; i++) {
			uint64_t r = rnd(&sa->seed);

			j = (int)(r % WS_THREADS);
			k = (int)((r >> 8) % WS_ENCLS);
			ws_check(s, j, k, (r >> 16) % WS_PAGES);
		}
		pthread_barrier_wait(&s->barrier);
	}
	return NULL;
}

static void ws_run(void)
{
	struct wstress *s = calloc(1, sizeof(*s));
	struct wstress_arg args[WS_THREADS];
	struct sgx_platform_stats st;
	pthread_t t[WS_THREADS];
	int id, k;

	REQUIRE(s);
	s->p = mgr_window_platform(WS_EPC, 2, true, true);
	REQUIRE(s->p);
	pthread_barrier_init(&s->barrier, NULL, WS_THREADS);
	for (id = 0; id < WS_THREADS; id++)
		for (k = 0; k < WS_ENCLS; k++)
			REQUIRE_EQ(ws_build(s, id, k), 0);
	for (id = 0; id < WS_THREADS; id++) {
		args[id] = (struct wstress_arg){ s, id, test_seed() * 2654435761ULL + id + 1 };
		pthread_create(&t[id], NULL, ws_thread, &args[id]);
	}
	for (id = 0; id < WS_THREADS; id++)
		pthread_join(t[id], NULL);
	CHECK_EQ(atomic_load(&s->errors), 0);
	sgx_platform_get_stats(s->p, &st);
	CHECK(st.ewb > 4 * WS_EPC);
	CHECK(st.eldu > 4 * WS_EPC);
	CHECK(st.ksgxd_passes > 0);
	CHECK_EQ(st.ewb_lost, 0);
	CHECK_EQ(st.fault_sigbus, 0);
	for (id = 0; id < WS_THREADS; id++) {
		for (k = 0; k < WS_ENCLS; k++) {
			CHECK_EQ(mgr_encl_unmap(&s->e[id][k]), 0);
			mgr_encl_close(&s->e[id][k]);
		}
	}
	CHECK_EQ(mgr_platform_finish(s->p), 0);
	pthread_barrier_destroy(&s->barrier);
	free(s);
}

TEST_TIMEOUT(sgx_window_oversubscription_stress, 90)
{
	ws_run();
}

/*
 * The Nov 2021 free-page accounting scenario through a window: two nodes,
 * threads allocating and freeing on both, while an SGX2 enclave holding more
 * than all the EPC is touched three times: read natively through the window
 * (faults load what ADD_PAGES pushed out), written through the window, and
 * changed to TRIM with MODIFY_TYPES (which reloads evicted pages itself).
 * The removal step that SGX2 now allows is attempted with REMOVE_PAGES: the
 * pages were not EACCEPTed (that needs enclave code), so the kernel's answer
 * is -EPERM for the first page and nothing may leak. With a lost-update
 * counter, ksgxd would starve and the faults would retry forever.
 */
TEST_TIMEOUT(sgx_window_free_accounting_two_nodes, 60)
{
	struct sgx_platform *p = mgr_window_platform(256, 2, true, true);
	struct sgx_enclave_remove_pages rp;
	struct sgx_platform_stats st;
	struct mgr_churn churn;
	struct mgr_encl e;
	uint64_t i, npages = 300;
	int ret;

	REQUIRE(p);
	REQUIRE_EQ(mgr_churn_start(&churn, p, 2), 0);
	REQUIRE_EQ(mgr_encl_build(&e, p, TEST_ADDR(0x7c0000000000ULL), 512 * 4096, npages), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < npages; i++)
		CHECK_EQ(mgr_check_mem(&e, e.base + i * 4096, 0), 0);
	for (i = 0; i < npages; i++)
		mgr_write_mem(&e, e.base + i * 4096, 1);
	for (i = 0; i < npages; i++)
		CHECK_EQ(mgr_check_mem(&e, e.base + i * 4096, 1), 0);
	for (i = 0; i < npages; i++)
		REQUIRE_EQ(mgr_encl_trim_page(&e, i * 4096, NULL), 0);
	do {
		rp = (struct sgx_enclave_remove_pages){ 0, npages * 4096, 0 };
		ret = (int)sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_REMOVE_PAGES, (unsigned long)&rp);
	} while (ret == -EAGAIN);
	CHECK_EQ(ret, -EPERM);
	CHECK_EQ(rp.count, 0);
	CHECK(mgr_churn_stop(&churn));
	CHECK(sgx_platform_free_count_consistent(p));
	sgx_platform_get_stats(p, &st);
	CHECK(st.eldu >= npages / 2);
	CHECK(st.faults >= npages / 2);
	CHECK_EQ(st.fault_sigbus, 0);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK(sgx_platform_free_count_consistent(p));
	CHECK_EQ(mgr_platform_finish(p), 0);
}

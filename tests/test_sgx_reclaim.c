// SPDX-License-Identifier: MIT
/* The reclaimer: EWB/ELDU round trips, SECS eviction, watermarks, races with release. */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	0x400000000ULL
#define RW	(SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W)

TEST(sgx_reclaim_enclave_bigger_than_epc)
{
	struct sgx_platform *p = mgr_platform(128, 1, false, true);
	struct sgx_platform_stats st;
	struct sgx_encl_stats es;
	struct mgr_encl e;
	uint64_t i, n = 300, count;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 512 * 4096), 0);
	/* ADD_PAGES of more than the EPC: direct reclaim makes room. */
	REQUIRE_EQ(mgr_encl_add(&e, 0, n, RW, true, &count), 0);
	CHECK_EQ(count, n * 4096);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.resident_pages + es.evicted_pages, n);
	CHECK(es.evicted_pages > 0);
	CHECK_EQ(es.va_pages, 1);
	REQUIRE_EQ(mgr_encl_init(&e), 0);
	/* Every page comes back through ELDU with its contents. */
	for (i = 0; i < n; i++)
		CHECK_EQ(mgr_check_page(&e, BASE + i * 4096, 0), 0);
	/* Twice, in reverse order, with new contents. */
	for (i = n; i-- > 0;)
		REQUIRE_EQ(mgr_write_page(&e, BASE + i * 4096, 7), 0);
	for (i = 0; i < n; i++)
		CHECK_EQ(mgr_check_page(&e, BASE + i * 4096, 7), 0);
	sgx_platform_get_stats(p, &st);
	CHECK(st.ewb >= n - 128);
	CHECK(st.eldu > 0);
	CHECK_EQ(st.ewb_lost, 0);
	CHECK(sgx_platform_free_count_consistent(p));
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_reclaim_secs_eviction_and_reload)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_platform_stats st;
	struct sgx_encl_stats es;
	struct mgr_encl e, u;
	int i;

	REQUIRE(p);
	/* An uninitialized enclave never loses its SECS. */
	REQUIRE_EQ(mgr_encl_create(&u, p, BASE + 0x10000000, 16 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&u, 0, 4, RW, false, NULL), 0);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 16 * 4096, 4), 0);
	for (i = 0; i < 10; i++)
		sgx_reclaim_pages(p);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.resident_pages, 0);
	CHECK_EQ(es.evicted_pages, 5);	/* 4 children + the SECS */
	CHECK(!es.secs_resident);
	sgx_encl_get_stats(u.encl, &es);
	CHECK_EQ(es.resident_pages, 0);
	CHECK(es.secs_resident);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.secs_ewb, 1);
	/* Only SECS + VA of 'u' and the VA of 'e' stay. */
	CHECK_EQ(mgr_used_pages(p), 3);

	/* Touching a page reloads the SECS first. */
	CHECK_EQ(mgr_check_page(&e, BASE + 2 * 4096, 0), 0);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.secs_eldu, 1);
	sgx_encl_get_stats(e.encl, &es);
	CHECK(es.secs_resident);
	CHECK_EQ(es.resident_pages, 1);
	/* EAUG on an evicted SECS (the 2023 fix): evict again, then augment. */
	for (i = 0; i < 10; i++)
		sgx_reclaim_pages(p);
	sgx_encl_get_stats(e.encl, &es);
	CHECK(!es.secs_resident);
	CHECK_EQ(mgr_write_page(&e, BASE + 9 * 4096, 3), 0);
	CHECK_EQ(mgr_check_page(&e, BASE + 9 * 4096, 3), 0);
	CHECK_EQ(mgr_check_page(&u, BASE + 0x10000000 + 4096, 0), 0);
	mgr_encl_close(&e);
	mgr_encl_close(&u);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_reclaim_young_pages_get_second_chance)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_encl_stats es;
	struct mgr_encl e;
	int i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 64 * 4096, 16), 0);
	/* Evict all, then load 16 pages back: they are young now. */
	for (i = 0; i < 4; i++)
		sgx_reclaim_pages(p);
	for (i = 0; i < 16; i++)
		REQUIRE_EQ(mgr_check_page(&e, BASE + (uint64_t)i * 4096, 0), 0);
	/* One pass only ages them (all young): nothing is written back. */
	CHECK_EQ(sgx_reclaim_pages(p), 0);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.resident_pages, 16);
	/* Touch half again: the next pass takes only the untouched half. */
	for (i = 0; i < 8; i++)
		REQUIRE_EQ(mgr_check_page(&e, BASE + (uint64_t)i * 4096, 0), 0);
	CHECK_EQ(sgx_reclaim_pages(p), 8);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.resident_pages, 8);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_reclaim_ksgxd_high_watermark)
{
	struct sgx_platform *p = mgr_platform(256, 1, true, true);
	struct sgx_epc_page *held[SGX_NR_LOW_PAGES];
	struct sgx_platform_stats st;
	struct mgr_encl e;
	int i, nheld = 0;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 512 * 4096, 300), 0);
	/*
	 * ksgxd is woken below the low watermark and then reclaims until free >=
	 * SGX_NR_HIGH_PAGES. The build may end anywhere between the two marks
	 * with ksgxd asleep (as in the kernel), so dip under the low mark once
	 * more with allocations of our own, which wake it.
	 */
	while (nheld < SGX_NR_LOW_PAGES && sgx_should_reclaim(p, SGX_NR_HIGH_PAGES) &&
	       !sgx_should_reclaim(p, SGX_NR_LOW_PAGES)) {
		struct sgx_epc_page *pg = sgx_alloc_epc_page(p, NULL, false);

		if (IS_ERR(pg))
			break;
		held[nheld++] = pg;
	}
	for (i = 0; i < 2000; i++) {
		sgx_platform_get_stats(p, &st);
		if (st.free_pages >= 64)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	CHECK(st.free_pages >= 64);
	CHECK(st.ksgxd_passes > 0);
	while (nheld)
		sgx_free_epc_page(p, held[--nheld]);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

struct reclaimer_arg {
	struct sgx_platform *p;
	atomic_int stop;
	unsigned long written;
};

static void *reclaimer_thread(void *a)
{
	struct reclaimer_arg *r = a;

	while (!atomic_load(&r->stop))
		r->written += sgx_reclaim_pages(r->p);
	return NULL;
}

TEST_TIMEOUT(sgx_reclaim_release_while_reclaiming, 60)
{
	struct sgx_platform *p = mgr_platform(128, 2, true, true);
	struct reclaimer_arg r = { 0 };
	pthread_t t;
	int round;

	REQUIRE(p);
	r.p = p;
	pthread_create(&t, NULL, reclaimer_thread, &r);
	for (round = 0; round < 40; round++) {
		struct mgr_encl e;
		uint64_t i;

		REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 256 * 4096, 150), 0);
		for (i = 0; i < 150; i += 7)
			CHECK_EQ(mgr_check_page(&e, BASE + i * 4096, 0), 0);
		/* Released while the other thread isolates and writes its pages. */
		mgr_encl_close(&e);
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	CHECK(r.written > 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/*
 * Oversubscription stress without windows: several enclaves with 4x more
 * pages than the EPC, threads on both CPUs reading and writing pages in
 * random and sequential order through the load path while ksgxd and direct
 * reclaim run; enclaves are destroyed and rebuilt during the run. Every read
 * checks the pattern of (enclave, address, generation).
 */
#define ST_ENCLS	3
#define ST_PAGES	180		/* per enclave; EPC is 128 pages -> ~4x */
#define ST_THREADS	2

struct stress {
	struct sgx_platform *p;
	struct mgr_encl e[ST_THREADS][ST_ENCLS];
	uint64_t gen[ST_THREADS][ST_ENCLS][ST_PAGES];
	int errors;
};

struct stress_arg {
	struct stress *s;
	int id;
	uint64_t seed;
};

static uint64_t stress_base(int id, int k)
{
	return 0x1000000000ULL * (uint64_t)(1 + id * ST_ENCLS + k);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *stress_thread(void *a)
{
	struct stress_arg *sa = a;
	struct stress *s = sa->s;
	int id = sa->id, k, round;
	uint64_t i;

	sgx_platform_set_current_node(s->p, id % 2);
	for (round = 0; round < 6; round++) {
		for (k = 0; k < ST_ENCLS; k++) {
			struct mgr_encl *e = &s->e[id][k];

			/* sequential sweep: write new generation, then random reads */
			for (i = 0; i < ST_PAGES; i++) {
				if (mgr_write_page(e, e->base + i * 4096, round + 1))
					s->errors++;
				s->gen[id][k][i] = round + 1;
			}
			for (i = 0; i < ST_PAGES; i++) {
				uint64_t pg = rnd(&sa->seed) % ST_PAGES;

				if (mgr_check_page(e, e->base + pg * 4096, s->gen[id][k][pg]))
					s->errors++;
			}
		}
		/* Destroy and rebuild one enclave while the others keep running. */
		k = round % ST_ENCLS;
		mgr_encl_close(&s->e[id][k]);
		if (mgr_encl_build(&s->e[id][k], s->p, stress_base(id, k), 256 * 4096, ST_PAGES))
			s->errors++;
		for (i = 0; i < ST_PAGES; i++)
			s->gen[id][k][i] = 0;
	}
	return NULL;
}

TEST_TIMEOUT(sgx_reclaim_oversubscription_stress, 60)
{
	struct stress *s = calloc(1, sizeof(*s));
	struct stress_arg args[ST_THREADS];
	struct sgx_platform_stats st;
	pthread_t t[ST_THREADS];
	int id, k;

	s->p = mgr_platform(128, 2, true, true);
	REQUIRE(s->p);
	for (id = 0; id < ST_THREADS; id++)
		for (k = 0; k < ST_ENCLS; k++)
			REQUIRE_EQ(mgr_encl_build(&s->e[id][k], s->p, stress_base(id, k),
						  256 * 4096, ST_PAGES), 0);
	for (id = 0; id < ST_THREADS; id++) {
		args[id] = (struct stress_arg){ s, id, test_seed() + (uint64_t)id * 7919 + 1 };
		pthread_create(&t[id], NULL, stress_thread, &args[id]);
	}
	for (id = 0; id < ST_THREADS; id++)
		pthread_join(t[id], NULL);
	CHECK_EQ(s->errors, 0);
	sgx_platform_get_stats(s->p, &st);
	CHECK(st.ewb > 1000);
	CHECK(st.eldu > 1000);
	CHECK_EQ(st.ewb_lost, 0);
	for (id = 0; id < ST_THREADS; id++)
		for (k = 0; k < ST_ENCLS; k++)
			mgr_encl_close(&s->e[id][k]);
	CHECK_EQ(mgr_platform_finish(s->p), 0);
	free(s);
}

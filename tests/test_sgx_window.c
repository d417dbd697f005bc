// SPDX-License-Identifier: MIT
/*
 * Enclave windows: enclave memory mapped at its linear addresses, read and
 * written natively, with evicted pages loaded back by the SIGBUS fault path.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	TEST_ADDR(0x7e0000000000ULL)
#define NPAGES	16

static uint64_t page_addr(struct mgr_encl *e, uint64_t i)
{
	return e->base + i * 4096;
}

/* Reclaim until the enclave has no resident child (aging needs two passes). */
static void evict_all(struct sgx_platform *p, struct mgr_encl *e)
{
	struct sgx_encl_stats es;
	int i;

	for (i = 0; i < 64; i++) {
		sgx_encl_get_stats(e->encl, &es);
		if (!es.resident_pages)
			return;
		sgx_reclaim_pages(p);
	}
}

TEST(sgx_window_mmap_checks)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct mgr_encl e;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 32 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 0, NPAGES, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
				false, NULL), 0);
	/* Before EINIT: outside ELRANGE is allowed by may_map but is no window. */
	CHECK_EQ(sgx_mmap(e.encl, BASE + 32 * 4096, 4096, PROT_READ, MAP_SHARED), -EINVAL);
	REQUIRE_EQ(mgr_encl_init(&e), 0);
	CHECK_EQ(sgx_mmap(e.encl, BASE, 4096, PROT_READ, MAP_PRIVATE), -EINVAL);
	CHECK_EQ(sgx_mmap(e.encl, BASE - 4096, 8192, PROT_READ, MAP_SHARED), -EACCES);
	CHECK_EQ(sgx_mmap(e.encl, BASE + 31 * 4096, 8192, PROT_READ, MAP_SHARED), -EACCES);
	CHECK_EQ(sgx_mmap(e.encl, BASE + 1, 4096, PROT_READ, MAP_SHARED), -EINVAL);
	/* RWX over RW pages: more than the pages' maximum permissions. */
	CHECK_EQ(sgx_mmap(e.encl, BASE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED),
		 -EACCES);
	/* Where no page exists yet, anything goes (future EAUG pages). */
	CHECK_EQ(sgx_mmap(e.encl, BASE + NPAGES * 4096, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_SHARED), 0);
	CHECK_EQ(sgx_mmap(e.encl, BASE, NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED), 0);
	/* The same range again without MAP_FIXED: it is taken. */
	CHECK_EQ(sgx_mmap(e.encl, BASE, 4096, PROT_READ, MAP_SHARED), -ENOMEM);
	CHECK_EQ(sgx_mmap(e.encl, BASE, 4096, PROT_READ, MAP_SHARED | MAP_FIXED), 0);
	/* mprotect goes through the same check. */
	CHECK_EQ(sgx_mprotect(p, BASE, 4096, PROT_READ | PROT_EXEC), -EACCES);
	CHECK_EQ(sgx_mprotect(p, BASE + 4096, 4096, PROT_READ), 0);
	CHECK_EQ(sgx_munmap(p, BASE, (NPAGES + 1) * 4096), 0);
	CHECK_EQ(sgx_munmap(p, BASE + 1, 4096), -EINVAL);
	CHECK_EQ(sgx_mmap(NULL, BASE, 4096, PROT_READ, MAP_SHARED), -EBADF);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_contents_survive_eviction)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct sgx_platform_stats st;
	struct sgx_encl_stats es;
	struct mgr_encl e;
	uint64_t i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, NPAGES), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	/* EADD put the bytes into the window. */
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_mem(&e, page_addr(&e, i), 0), 0);
	for (i = 0; i < NPAGES; i++)
		mgr_write_mem(&e, page_addr(&e, i), 1);
	/* The manager sees what the window wrote (same bytes, the frame's alias). */
	CHECK_EQ(mgr_check_page(&e, page_addr(&e, 3), 1), 0);

	evict_all(p, &e);
	sgx_encl_get_stats(e.encl, &es);
	REQUIRE_EQ(es.resident_pages, 0);
	CHECK_EQ(es.evicted_pages, NPAGES + 1);		/* and the SECS */
	/* Read back natively: each page faults and is loaded (ELDU). */
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_mem(&e, page_addr(&e, i), 1), 0);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.resident_pages, NPAGES);
	CHECK(es.eldu >= NPAGES);

	/* Write after the reload (stale write-protect markers), evict, read again. */
	for (i = 0; i < NPAGES; i++)
		mgr_write_mem(&e, page_addr(&e, i), 2);
	evict_all(p, &e);
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_mem(&e, page_addr(&e, i), 2), 0);
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_page(&e, page_addr(&e, i), 2), 0);
	sgx_platform_get_stats(p, &st);
	CHECK(st.faults >= 2 * NPAGES);
	CHECK_EQ(st.fault_sigbus, 0);
	CHECK_EQ(st.ewb_lost, 0);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_partial_unmap_and_remap)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct mgr_encl e;
	uint64_t i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, NPAGES), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < NPAGES; i++)
		mgr_write_mem(&e, page_addr(&e, i), 5);
	/* Punch a hole in the middle of the window: two windows remain. */
	REQUIRE_EQ(sgx_munmap(p, page_addr(&e, 4), 4 * 4096), 0);
	evict_all(p, &e);
	CHECK_EQ(mgr_check_mem(&e, page_addr(&e, 3), 5), 0);
	CHECK_EQ(mgr_check_mem(&e, page_addr(&e, 8), 5), 0);
	/* Content survives munmap/mmap of a view, as EPC content does. */
	REQUIRE_EQ(sgx_mmap(e.encl, page_addr(&e, 4), 4 * 4096, PROT_READ, MAP_SHARED), 0);
	for (i = 4; i < 8; i++)
		CHECK_EQ(mgr_check_mem(&e, page_addr(&e, i), 5), 0);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_close_while_mapped)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct sgx_platform_stats st;
	struct mgr_encl e;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, NPAGES), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	REQUIRE_EQ(sgx_munmap(p, page_addr(&e, 8), 4096), 0);	/* two windows now */
	mgr_write_mem(&e, page_addr(&e, 2), 7);
	mgr_encl_close(&e);
	/* The windows hold the enclave file: still alive and usable. */
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 1);
	for (int i = 0; i < 8; i++)
		sgx_reclaim_pages(p);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.active_pages, 0);
	CHECK_EQ(mgr_check_mem(&e, page_addr(&e, 2), 7), 0);
	CHECK_EQ(sgx_munmap(p, e.base, 8 * 4096), 0);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 1);
	/* The last window goes: the enclave is released with it. */
	CHECK_EQ(sgx_munmap(p, page_addr(&e, 9), 23 * 4096), 0);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_secs_reloaded_first)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct sgx_platform_stats st0, st1;
	struct sgx_encl_stats es;
	struct mgr_encl e;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 4), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	mgr_write_mem(&e, page_addr(&e, 1), 9);
	evict_all(p, &e);
	sgx_encl_get_stats(e.encl, &es);
	REQUIRE(!es.secs_resident);		/* the last child took the SECS with it */
	sgx_platform_get_stats(p, &st0);
	CHECK_EQ(mgr_check_mem(&e, page_addr(&e, 1), 9), 0);
	sgx_platform_get_stats(p, &st1);
	sgx_encl_get_stats(e.encl, &es);
	CHECK(es.secs_resident);
	CHECK_EQ(st1.secs_eldu - st0.secs_eldu, 1);
	CHECK_EQ(st1.eldu - st0.eldu, 2);	/* the SECS, then the page */
	CHECK_EQ(es.resident_pages, 1);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/* ---- Faults that end in SIGBUS, and EAUG ---- */

static sigjmp_buf sigbus_jmp;
static volatile sig_atomic_t sigbus_seen;

static void test_sigbus(int sig)
{
	sigbus_seen++;
	siglongjmp(sigbus_jmp, 1);
}

static int touch_expect_sigbus(volatile uint8_t *addr)
{
	sigbus_seen = 0;
	if (!sigsetjmp(sigbus_jmp, 1))
		(void)*addr;
	return sigbus_seen;
}

TEST(sgx_window_sigbus_without_page)
{
	struct sgx_platform *p;
	struct sgx_platform_stats st;
	struct mgr_encl e;

	/* The test's own handler first: the fault path chains failures to it. */
	signal(SIGBUS, test_sigbus);
	p = mgr_window_platform(64, 1, false, false);	/* SGX1: no EAUG */
	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 4), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)page_addr(&e, 10)), 1);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)page_addr(&e, 1)), 0);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.fault_sigbus, 1);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_eaug_on_fault)
{
	struct sgx_platform *p;
	struct sgx_encl_stats es;
	struct mgr_encl e;
	volatile uint64_t *q;

	signal(SIGBUS, test_sigbus);
	p = mgr_window_platform(64, 1, false, true);
	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 32 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 0, 2, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
				false, NULL), 0);
	REQUIRE_EQ(sgx_mmap(e.encl, BASE, 32 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED), 0);
	/* Not initialized yet: no EAUG, SIGBUS. */
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)page_addr(&e, 5)), 1);
	REQUIRE_EQ(mgr_encl_init(&e), 0);
	/* Initialized SGX2 enclave: the fault augments a (PENDING, zeroed) page. */
	q = (volatile uint64_t *)(uintptr_t)page_addr(&e, 5);
	CHECK_EQ(touch_expect_sigbus((volatile uint8_t *)q), 0);
	CHECK_EQ(q[7], 0);
	sgx_encl_get_stats(e.encl, &es);
	CHECK_EQ(es.eaug, 1);
	CHECK_EQ(es.resident_pages, 3);
	/* A written EAUG page is evicted and reloaded like any other. */
	q[7] = 0x1234;
	evict_all(p, &e);
	CHECK_EQ(q[7], 0x1234);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/* ---- A write racing with eviction is never lost ---- */

struct race {
	volatile uint64_t *word;
	atomic_int stop;
	uint64_t last;
	int errors;
};

static void *race_writer(void *a)
{
	struct race *r = a;
	uint64_t v = 0;

	while (!atomic_load(&r->stop)) {
		r->word[0] = ++v;
		r->word[511] = v;
		if (r->word[0] != v || r->word[511] != v)
			r->errors++;
	}
	r->last = v;
	return NULL;
}

TEST_TIMEOUT(sgx_window_write_racing_eviction, 60)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);
	struct sgx_encl_stats es;
	struct race r = { 0 };
	struct mgr_encl e;
	uint64_t got[2];
	pthread_t t;
	int i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 2), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	r.word = (volatile uint64_t *)(uintptr_t)page_addr(&e, 1);
	pthread_create(&t, NULL, race_writer, &r);
	/* Evict the page again each time the writer has faulted it back in. */
	for (i = 0; i < 200000; i++) {
		sgx_encl_get_stats(e.encl, &es);
		if (es.ewb >= 300)
			break;
		if (es.resident_pages)
			sgx_reclaim_pages(p);
		else
			sched_yield();
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	CHECK_EQ(r.errors, 0);
	if (es.ewb < 300) {
		struct sgx_platform_stats st;

		sgx_platform_get_stats(p, &st);
		fprintf(stderr, "ewb %lu eldu %lu faults %lu after %d passes active %lu lost %lu "
			"retries %lu resident %lu\n",
			(unsigned long)es.ewb, (unsigned long)es.eldu, (unsigned long)es.faults, i,
			st.active_pages, st.ewb_lost, st.fault_retries, es.resident_pages);
	}
	CHECK(es.ewb >= 300);
	/* The last write is there, seen by the manager and through the window. */
	REQUIRE_EQ(sgx_encl_access(e.encl, page_addr(&e, 1), &got[0], 8, false), 0);
	REQUIRE_EQ(sgx_encl_access(e.encl, page_addr(&e, 1) + 511 * 8, &got[1], 8, false), 0);
	CHECK_EQ(got[0], r.last);
	CHECK_EQ(got[1], r.last);
	CHECK_EQ(r.word[0], r.last);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

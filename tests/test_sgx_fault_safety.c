// SPDX-License-Identifier: MIT
/*
 * What keeps the fault path async-signal-safe: the mmap()-backed object
 * pools, the deferred release of an enclave whose last reference goes in a
 * fault handler, and SGX_WARN's write()-based formatter.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sgx/encl.h"
#include "sgx/internal.h"
#include "sgx/pool.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	TEST_ADDR(0x7c0000000000ULL)

TEST(sgx_pool_alloc_free_reuse)
{
	struct sgx_pool pool;
	uint8_t *objs[600];
	unsigned int i, j;

	sgx_pool_init(&pool, 100);
	for (i = 0; i < 600; i++) {
		objs[i] = sgx_pool_zalloc(&pool);
		REQUIRE(objs[i]);
		for (j = 0; j < 100; j++)
			CHECK_EQ(objs[i][j], 0);
		memset(objs[i], 0xa5, 100);
		CHECK_EQ((uintptr_t)objs[i] % 64, 0);
	}
	CHECK_EQ(pool.nr_in_use, 600);
	CHECK_EQ(pool.nr_chunks, 2);	/* 64 KiB chunks of 128-byte objects: 511 each */
	for (i = 0; i < 600; i++)
		for (j = i + 1; j < 600; j++)
			CHECK(objs[i] + 128 <= objs[j] || objs[j] + 128 <= objs[i]);
	for (i = 0; i < 600; i += 2)
		sgx_pool_free(&pool, objs[i]);
	sgx_pool_free(&pool, NULL);
	CHECK_EQ(pool.nr_in_use, 300);
	/* Freed objects come back, zeroed. */
	for (i = 0; i < 300; i++) {
		uint8_t *o = sgx_pool_zalloc(&pool);

		REQUIRE(o);
		CHECK_EQ(o[0], 0);
		CHECK_EQ(o[99], 0);
	}
	CHECK_EQ(pool.nr_in_use, 600);
	CHECK_EQ(pool.nr_chunks, 2);
	sgx_pool_destroy(&pool);
}

/* The leak check counts pool objects: EAUG'd pages go back when the enclave goes. */
TEST(sgx_fault_eaug_from_pools)
{
	struct sgx_platform *p = mgr_window_platform(128, 1, false, true);
	struct mgr_encl e;
	unsigned int i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 1024 * 4096, 2), 0);
	REQUIRE_EQ(mgr_encl_map(&e, PROT_READ | PROT_WRITE), 0);
	/* 600 pages by faults alone: several pool chunks, page-array nodes, VA pages. */
	for (i = 16; i < 616; i++)
		((volatile uint8_t *)(uintptr_t)(BASE + i * 4096UL))[8] = (uint8_t)i;
	for (i = 16; i < 616; i++)
		CHECK_EQ(((volatile uint8_t *)(uintptr_t)(BASE + i * 4096UL))[8], (uint8_t)i);
	CHECK(p->encl_page_pool.nr_in_use >= 602);
	CHECK(p->va_page_pool.nr_in_use >= 2);
	CHECK(p->xa_node_pool.nr_in_use >= 6);
	CHECK_EQ(mgr_encl_unmap(&e), 0);
	mgr_encl_close(&e);
	CHECK_EQ(p->encl_page_pool.nr_in_use, 0);
	CHECK_EQ(p->va_page_pool.nr_in_use, 0);
	CHECK_EQ(p->xa_node_pool.nr_in_use, 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_fault_deferred_release)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_platform_stats st;
	struct mgr_encl e;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 4), 0);
	/* The reclaimer's reference, the last one once the file is closed. */
	sgx_encl_get_ref(e.encl);
	REQUIRE_EQ(sgx_release(e.encl), 0);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 1);
	/* Dropped in "signal context": queued, not released. */
	sgx_encl_put_deferred(e.encl);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 1);
	CHECK(atomic_load(&p->release_list) == e.encl);
	/* Process context releases it. */
	sgx_release_deferred(p);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.nr_encls, 0);
	CHECK(atomic_load(&p->release_list) == NULL);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/* With ksgxd running, the queued release happens without any further call. */
TEST(sgx_fault_deferred_release_by_ksgxd)
{
	struct sgx_platform *p = mgr_platform(64, 1, true, true);
	struct sgx_platform_stats st;
	struct mgr_encl e;
	int i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 4), 0);
	sgx_encl_get_ref(e.encl);
	REQUIRE_EQ(sgx_release(e.encl), 0);
	sgx_encl_put_deferred(e.encl);
	for (i = 0; i < 2000; i++) {
		sgx_platform_get_stats(p, &st);
		if (!st.nr_encls)
			break;
		usleep(1000);
	}
	CHECK_EQ(st.nr_encls, 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_warn_formats_without_stdio)
{
	char out[512];
	int fds[2], saved;
	ssize_t n;

	REQUIRE_EQ(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	SGX_WARN("EWB returned %d (%s) at %lx, %lu left, %ld %u%%", -5, "SGX_NOT_TRACKED",
		 0x7f00UL, 18446744073709551615UL, -9223372036854775807L - 1, 7u);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	REQUIRE(n > 0);
	out[n] = 0;
	CHECK(!strcmp(out, "sgx: WARNING: EWB returned -5 (SGX_NOT_TRACKED) at 7f00, "
		      "18446744073709551615 left, -9223372036854775808 7%\n"));
}

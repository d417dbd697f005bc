// SPDX-License-Identifier: MIT
/* EPC allocation, free, NUMA order, poison and the free-page accounting. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	0x200000000ULL
#define RW	(SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W)

TEST(sgx_alloc_enomem_when_nothing_reclaimable)
{
	struct sgx_platform *p = mgr_platform(128, 1, true, true);
	struct sgx_epc_page **pages = calloc(200, sizeof(*pages));
	int n = 0, i;

	REQUIRE(p);
	for (;;) {
		struct sgx_epc_page *pg = sgx_alloc_epc_page(p, NULL, false);

		if (IS_ERR(pg)) {
			CHECK_EQ(PTR_ERR(pg), -ENOMEM);
			break;
		}
		CHECK_EQ(pg->flags, 0);
		pages[n++] = pg;
		REQUIRE(n <= 128);
	}
	CHECK_EQ(n, 128);
	/* reclaim=true changes nothing when the active list is empty: -ENOMEM at once. */
	CHECK_EQ(PTR_ERR(sgx_alloc_epc_page(p, NULL, true)), -ENOMEM);
	CHECK(sgx_platform_free_count_consistent(p));
	for (i = 0; i < n; i++)
		sgx_free_epc_page(p, pages[i]);
	free(pages);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_alloc_ebusy_then_direct_reclaim)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_platform_stats st;
	struct sgx_epc_page *pg;
	struct mgr_encl e;
	uint64_t count;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 256 * 4096), 0);
	/* 62 data pages + SECS + VA = the whole EPC, all reclaimable. */
	REQUIRE_EQ(mgr_encl_add(&e, 0, 62, RW, true, &count), 0);
	CHECK_EQ(count, 62 * 4096);
	CHECK_EQ(mgr_used_pages(p), 64);

	pg = sgx_alloc_epc_page(p, NULL, false);
	CHECK_EQ(PTR_ERR(pg), -EBUSY);
	sgx_platform_set_signal_pending(p, true);
	CHECK_EQ(PTR_ERR(sgx_alloc_epc_page(p, NULL, true)), -512);
	sgx_platform_set_signal_pending(p, false);

	pg = sgx_alloc_epc_page(p, NULL, true);
	REQUIRE(!IS_ERR(pg));
	sgx_platform_get_stats(p, &st);
	CHECK(st.direct_reclaim_passes >= 1);
	CHECK(st.ewb >= 1);
	sgx_free_epc_page(p, pg);
	CHECK(sgx_platform_free_count_consistent(p));
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_alloc_local_node_first_then_round_robin)
{
	struct sgx_platform *p = mgr_platform(64, 2, true, true);	/* 32 pages per node */
	struct sgx_epc_page *pages[64];
	struct sgx_platform_stats st;
	int i;

	REQUIRE(p);
	sgx_platform_get_stats(p, &st);
	REQUIRE_EQ(st.nr_nodes, 2);
	sgx_platform_set_current_node(p, 1);
	for (i = 0; i < 32; i++) {
		pages[i] = sgx_alloc_epc_page(p, NULL, false);
		REQUIRE(!IS_ERR(pages[i]));
		CHECK_EQ(pages[i]->section, 1);
	}
	/* Node 1 empty: the next node in order. */
	pages[32] = sgx_alloc_epc_page(p, NULL, false);
	REQUIRE(!IS_ERR(pages[32]));
	CHECK_EQ(pages[32]->section, 0);
	/* A current node without EPC (the 2024 fix): start at the next node, and stop. */
	sgx_platform_set_current_node(p, 5);
	for (i = 33; i < 64; i++) {
		pages[i] = sgx_alloc_epc_page(p, NULL, false);
		REQUIRE(!IS_ERR(pages[i]));
		CHECK_EQ(pages[i]->section, 0);
	}
	CHECK_EQ(PTR_ERR(sgx_alloc_epc_page(p, NULL, false)), -ENOMEM);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.free_pages, 0);
	CHECK_EQ(st.node[0].free_pages, 0);
	for (i = 0; i < 64; i++)
		sgx_free_epc_page(p, pages[i]);
	/* FIFO: a freed page goes to the tail of its node's list. */
	sgx_platform_set_current_node(p, 0);
	pages[0] = sgx_alloc_epc_page(p, NULL, false);
	REQUIRE(!IS_ERR(pages[0]));
	CHECK_EQ(pages[0]->section, 0);
	sgx_free_epc_page(p, pages[0]);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_alloc_poison)
{
	struct sgx_platform *p = mgr_platform(32, 1, false, true);
	struct sgx_platform_stats st;
	struct sgx_epc_page *pg, *pages[32];
	uint64_t phys;
	int i, n = 0;

	REQUIRE(p);
	CHECK_EQ(sgx_memory_failure(p, 0x1000), -ENXIO);
	/* Poison a free page: it leaves the free list and is never handed out. */
	pg = sgx_alloc_epc_page(p, NULL, false);
	REQUIRE(!IS_ERR(pg));
	sgx_free_epc_page(p, pg);
	phys = sgx_get_epc_phys_addr(p, pg);
	CHECK_EQ(sgx_memory_failure(p, phys), 0);
	CHECK_EQ(sgx_memory_failure(p, phys), 0);	/* twice is harmless */
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.free_pages, 31);
	CHECK_EQ(st.poison_pages, 1);
	CHECK(sgx_platform_free_count_consistent(p));
	while (!IS_ERR(pg = sgx_alloc_epc_page(p, NULL, false))) {
		CHECK(sgx_get_epc_phys_addr(p, pg) != phys);
		pages[n++] = pg;
	}
	CHECK_EQ(n, 31);
	/* Poison a page in use: its free goes to the poison list. */
	CHECK_EQ(sgx_memory_failure(p, sgx_get_epc_phys_addr(p, pages[0])), 0);
	for (i = 0; i < n; i++)
		sgx_free_epc_page(p, pages[i]);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.poison_pages, 2);
	CHECK_EQ(st.free_pages, 30);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/*
 * The Nov 2021 free-page accounting scenario: two nodes, threads allocating
 * and freeing on both, while an SGX2 enclave fills all EPC of both nodes and
 * touches every page three times (read back, write, change the type to
 * TRIM with MODIFY_TYPES, each one reloading evicted pages). With a
 * lost-update counter ksgxd would starve and the faults would spin on -EBUSY
 * forever; here the run completes and the count matches.
 */
TEST_TIMEOUT(sgx_alloc_free_accounting_two_nodes, 60)
{
	struct sgx_platform *p = mgr_platform(256, 2, true, true);
	struct sgx_platform_stats st;
	struct mgr_churn churn;
	struct mgr_encl e;
	uint64_t i, count, npages = 300;	/* all the EPC of both nodes, and more */

	REQUIRE(p);
	REQUIRE_EQ(mgr_churn_start(&churn, p, 2), 0);
	/* More pages than both nodes hold: ADD_PAGES runs direct reclaim meanwhile. */
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 1024 * 4096, npages + 1), 0);
	/* Touch 1: read back (ELDU of the pages ADD_PAGES pushed out). */
	for (i = 1; i <= npages; i++)
		REQUIRE_EQ(mgr_check_page(&e, BASE + i * 4096, 0), 0);
	/* Touch 2: new contents. */
	for (i = 1; i <= npages; i++)
		REQUIRE_EQ(mgr_write_page(&e, BASE + i * 4096, 1), 0);
	for (i = 1; i <= npages; i++)
		REQUIRE_EQ(mgr_check_page(&e, BASE + i * 4096, 1), 0);
	for (i = 1; i <= npages; i++) {
		REQUIRE_EQ(mgr_encl_trim_page(&e, i * 4096, &count), 0);
		CHECK_EQ(count, 4096);
	}
	CHECK(mgr_churn_stop(&churn));
	/* Quiescent: the atomic count equals the lists. */
	CHECK(sgx_platform_free_count_consistent(p));
	sgx_platform_get_stats(p, &st);
	CHECK(st.eldu >= npages);
	CHECK(st.ewb > 0);
	CHECK(st.ksgxd_passes + st.direct_reclaim_passes > 0);
	mgr_encl_close(&e);
	CHECK(sgx_platform_free_count_consistent(p));
	CHECK_EQ(mgr_platform_finish(p), 0);
}

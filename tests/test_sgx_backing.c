// SPDX-License-Identifier: MIT
/*
 * The backing store (encl.c, "Backing store" and "Truncation"): the kernel's
 * layout, PCMD use counts, lazy truncation that never loses a page.
 */
#include <sys/stat.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	TEST_ADDR(0x7b8000000000ULL)
#define NPAGES	40

static long backing_blocks(struct mgr_encl *e)
{
	struct stat st;

	if (fstat(e->encl->backing, &st))
		return -1;
	return (long)st.st_blocks;
}

static void evict_all(struct sgx_platform *p, struct mgr_encl *e)
{
	struct sgx_encl_stats es;
	int i;

	for (i = 0; i < 64; i++) {
		sgx_encl_get_stats(e->encl, &es);
		if (!es.resident_pages && !es.secs_resident)
			return;
		sgx_reclaim_pages(p);
	}
}

TEST(sgx_backing_layout_and_truncation)
{
	struct sgx_platform *p = mgr_platform(128, 1, false, false);
	struct sgx_encl_stats es;
	struct mgr_encl e;
	uint64_t i;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 64 * 4096, NPAGES), 0);
	CHECK_EQ(backing_blocks(&e), 0);
	evict_all(p, &e);
	sgx_encl_get_stats(e.encl, &es);
	REQUIRE_EQ(es.evicted_pages, NPAGES + 1);	/* and the SECS */
	/* 40 contents pages + the SECS + 3 PCMD pages (32 PCMDs each; the SECS is index 64). */
	CHECK_EQ(backing_blocks(&e), (NPAGES + 1 + 3) * 8);
	pthread_mutex_lock(&e.encl->lock);
	CHECK_EQ(e.encl->pcmd_used[0], 32);
	CHECK_EQ(e.encl->pcmd_used[1], NPAGES - 32);
	CHECK_EQ(e.encl->pcmd_used[2], 1);		/* index 64: the SECS's PCMD */
	pthread_mutex_unlock(&e.encl->lock);

	/* Load everything back: every backing page is consumed, none lost. */
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_page(&e, BASE + i * 4096, 0), 0);
	pthread_mutex_lock(&e.encl->lock);
	CHECK_EQ(e.encl->pcmd_used[0], 0);
	CHECK_EQ(e.encl->pcmd_used[1], 0);
	CHECK_EQ(e.encl->pcmd_used[2], 0);
	sgx_encl_truncate_backing(e.encl);
	pthread_mutex_unlock(&e.encl->lock);
	CHECK_EQ(backing_blocks(&e), 0);

	/* Evict, write, load, evict again without truncating in between: reuse is safe. */
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_write_page(&e, BASE + i * 4096, 1), 0);
	evict_all(p, &e);
	for (i = 0; i < NPAGES; i += 2)
		CHECK_EQ(mgr_write_page(&e, BASE + i * 4096, 2), 0);
	evict_all(p, &e);
	for (i = 0; i < NPAGES; i++)
		CHECK_EQ(mgr_check_page(&e, BASE + i * 4096, i % 2 ? 1 : 2), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

// SPDX-License-Identifier: MIT
/*
 * CPU tests: EBLOCK, ETRACK, EWB, ELDU/ELDB - statuses, faults, tracking with
 * simulated LPs, tamper and replay refusal, SECS and VA page eviction, and
 * thousands of pages through a small EPC.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"

#define BASE	0x40000000ULL
#define SIZE	0x10000ULL
#define SMALL_EPC (64 * 4096ULL)

#define GP (SGX_ENCLS_FAULT_FLAG | X86_TRAP_GP)
#define PF (SGX_ENCLS_FAULT_FLAG | X86_TRAP_PF)

struct pfx {
	struct sgx_cpu *cpu;
	struct cpu_pool pool;
	struct built_encl encl;
	void *tcs, *text, *data;
	uint64_t *va;			/* a VA page (its slots) */
	struct sgx_lp *lp;
	struct cpu_evicted *ev;		/* one aligned eviction buffer */
	struct cpu_evicted *ev2;
};

static void fill(uint8_t *p, uint8_t seed)
{
	for (int i = 0; i < 4096; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int pfx_build(struct pfx *fx, uint64_t attributes, bool init)
{
	struct sgx_tcs *tcs = aligned_alloc(4096, sizeof(*tcs));
	uint8_t *text = aligned_alloc(4096, 4096), *data = aligned_alloc(4096, 4096);
	int ret;

	memset(fx, 0, sizeof(*fx));
	fill(text, 1);
	fill(data, 2);
	fx->cpu = cpu_test_create(SMALL_EPC, 1);
	if (!fx->cpu || cpu_pool_init(&fx->pool, fx->cpu, 0, sgx_cpu_nr_frames(fx->cpu)))
		return -1;
	fx->ev = aligned_alloc(4096, sizeof(*fx->ev));
	fx->ev2 = aligned_alloc(4096, sizeof(*fx->ev2));
	memset(fx->ev, 0, sizeof(*fx->ev));
	memset(fx->ev2, 0, sizeof(*fx->ev2));
	ret = cpu_encl_create(&fx->encl, fx->cpu, &fx->pool, BASE, SIZE, attributes);
	cpu_encl_make_tcs(tcs, 0x4000, 0x1000);
	if (!ret)
		ret = cpu_encl_add(&fx->encl, 0, tcs, SGX_SECINFO_TCS, true, &fx->tcs);
	if (!ret)
		ret = cpu_encl_add(&fx->encl, 0x1000, text,
				   SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X, true, &fx->text);
	if (!ret)
		ret = cpu_encl_add(&fx->encl, 0x2000, data,
				   SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W, true, &fx->data);
	if (!ret && init)
		ret = cpu_encl_init(&fx->encl);
	fx->va = cpu_epa(&fx->pool);
	if (!fx->va)
		ret = -1;
	free(tcs);
	free(text);
	free(data);
	return ret;
}

static void pfx_free(struct pfx *fx)
{
	if (fx->lp)
		sgx_lp_destroy(fx->lp);
	free(fx->ev);
	free(fx->ev2);
	cpu_pool_destroy(&fx->pool);
	sgx_cpu_destroy(fx->cpu);
}

static int64_t frame_of(struct pfx *fx, void *epc)
{
	return sgx_epc_frame(fx->cpu, (uint64_t)(uintptr_t)epc);
}

static void lp_enter(struct pfx *fx, struct sgx_lp *lp)
{
	REQUIRE_EQ(sgx_lp_enter_enclave(fx->cpu, lp, frame_of(fx, fx->encl.secs),
					frame_of(fx, fx->tcs), BASE), 0);
}

static int ewb_raw(struct pfx *fx, void *epc, uint64_t *slot, struct cpu_evicted *ev)
{
	return cpu_evict_nochild(fx->cpu, epc, slot, ev);
}

TEST(cpu_paging_roundtrip)
{
	struct pfx fx;
	struct sgx_epcm_info info;
	uint8_t expect[4096];
	void *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	memcpy(expect, sgx_epc_data(fx.cpu, fx.data), 4096);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &fx.va[3], fx.ev), 0);
	CHECK(fx.va[3] != 0);
	CHECK(memcmp(fx.ev->contents, expect, 4096) != 0);	/* encrypted */
	CHECK_EQ(fx.ev->pcmd.secinfo.flags, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.data, &info), 0);
	CHECK(!info.valid);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.encl.secs, &info), 0);
	CHECK_EQ(info.child_count, 2);
	CHECK_EQ(fx.ev->pcmd.enclave_id, info.enclave_id);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);

	dst = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, fx.ev, false), 0);
	CHECK_EQ(fx.va[3], 0);
	CHECK(memcmp(sgx_epc_data(fx.cpu, dst), expect, 4096) == 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, dst, &info), 0);
	CHECK(info.valid);
	CHECK(!info.blocked);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_REG);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_W);
	CHECK_EQ(info.linaddr, BASE + 0x2000);
	CHECK(info.secs == fx.encl.secs);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);

	/* The same page again, now with ELDB: it comes back blocked. */
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, dst, BASE + 0x2000, &fx.va[4], fx.ev), 0);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, fx.data, fx.ev, true), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.data, &info), 0);
	CHECK(info.blocked);
	CHECK_EQ(__eblock(fx.cpu, fx.data), SGX_BLKSTATE);
	/* Blocked by ELDB and no LP inside: it can go straight back out. */
	CHECK_EQ(ewb_raw(&fx, fx.data, &fx.va[5], fx.ev), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

TEST(cpu_eblock_statuses)
{
	struct pfx fx;
	uint8_t *host = aligned_alloc(4096, 4096);

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	CHECK_EQ(__eblock(fx.cpu, (uint8_t *)fx.data + 64), GP);
	CHECK_EQ(__eblock(fx.cpu, host), PF);
	CHECK_EQ(__eblock(fx.cpu, cpu_pool_alloc(&fx.pool)), SGX_PG_INVLD);
	CHECK_EQ(__eblock(fx.cpu, fx.encl.secs), SGX_NOTBLOCKABLE);
	CHECK_EQ(__eblock(fx.cpu, fx.va), SGX_NOTBLOCKABLE);
	REQUIRE(sgx_frame_trylock(fx.cpu, frame_of(&fx, fx.data)));
	CHECK_EQ(__eblock(fx.cpu, fx.data), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, frame_of(&fx, fx.data));
	CHECK_EQ(__eblock(fx.cpu, fx.data), 0);
	CHECK_EQ(__eblock(fx.cpu, fx.data), SGX_BLKSTATE);
	CHECK_EQ(__eblock(fx.cpu, fx.tcs), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(host);
	pfx_free(&fx);
}

static void count_lp(struct sgx_lp *lp, void *arg)
{
	(void)lp;
	++*(unsigned int *)arg;
}

TEST(cpu_etrack_and_tracking_with_lps)
{
	struct pfx fx;
	struct sgx_lp *a, *b;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	a = sgx_lp_create(fx.cpu);
	b = sgx_lp_create(fx.cpu);
	REQUIRE(a && b);
	CHECK(sgx_lp_id(a) != sgx_lp_id(b));
	CHECK_EQ(__etrack(fx.cpu, fx.text), PF);		/* not a SECS */
	CHECK_EQ(__etrack(fx.cpu, (uint8_t *)fx.encl.secs + 8), GP);
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), 0);		/* nobody inside */

	/* LP a inside when the page is blocked. */
	lp_enter(&fx, a);
	CHECK(sgx_lp_enclave(a) == fx.encl.secs);
	CHECK_EQ(sgx_lp_tcs(a), BASE);
	CHECK(sgx_lp_enclave(b) == NULL);
	CHECK_EQ(sgx_lp_enter_enclave(fx.cpu, a, frame_of(&fx, fx.encl.secs),
				      frame_of(&fx, fx.tcs), BASE), -16 /* -EBUSY */);
	REQUIRE_EQ(__eblock(fx.cpu, fx.data), 0);
	CHECK_EQ(ewb_raw(&fx, fx.data, &fx.va[0], fx.ev), SGX_NOT_TRACKED);
	CHECK_EQ(fx.va[0], 0);
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	/* a entered before that ETRACK and is still inside. */
	CHECK_EQ(ewb_raw(&fx, fx.data, &fx.va[0], fx.ev), SGX_NOT_TRACKED);
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), SGX_PREV_TRK_INCMPL);
	/* b enters after the ETRACK: it cannot hold the page; it does not block EWB. */
	lp_enter(&fx, b);
	{
		unsigned int n = 0;

		sgx_cpu_for_each_lp_in(fx.cpu, fx.encl.secs, count_lp, &n);
		CHECK_EQ(n, 2);
	}
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, a), 0);
	CHECK_EQ(sgx_lp_leave_enclave(fx.cpu, a), -22 /* -EINVAL */);
	CHECK_EQ(ewb_raw(&fx, fx.data, &fx.va[0], fx.ev), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	/* b entered in the current epoch: a new ETRACK is fine, the next is not. */
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), SGX_PREV_TRK_INCMPL);
	REQUIRE(sgx_frame_trylock(fx.cpu, frame_of(&fx, fx.encl.secs)));
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, frame_of(&fx, fx.encl.secs));
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, b), 0);
	CHECK_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	sgx_lp_destroy(a);
	sgx_lp_destroy(b);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

TEST(cpu_lp_table_limits)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;
	struct sgx_lp *lps[4];

	sgx_cpu_default_config(&c);
	c.epc_size = SMALL_EPC;
	c.max_lps = 3;
	REQUIRE_EQ(sgx_cpu_create(&c, &cpu), 0);
	for (int i = 0; i < 3; i++) {
		lps[i] = sgx_lp_create(cpu);
		REQUIRE(lps[i]);
	}
	CHECK(sgx_lp_create(cpu) == NULL);
	sgx_lp_destroy(lps[1]);
	lps[3] = sgx_lp_create(cpu);
	CHECK(lps[3] != NULL);
	CHECK_EQ(sgx_lp_id(lps[3]), 1);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_ewb_statuses)
{
	struct pfx fx;
	struct sgx_pageinfo pi = { 0 };
	uint8_t *host = aligned_alloc(4096, 4096);
	struct sgx_pcmd *pcmd = aligned_alloc(128, 256);
	struct sgx_lp *lp;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	pi.contents = (uint64_t)(uintptr_t)host;
	pi.metadata = (uint64_t)(uintptr_t)pcmd;
	/* Operand faults. */
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, (uint8_t *)fx.va + 4), GP);
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, host), PF);		/* slot not EPC */
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.text), PF);		/* slot not VA */
	CHECK_EQ(__ewb(fx.cpu, &pi, host, fx.va), PF);
	CHECK_EQ(__ewb(fx.cpu, &pi, (uint8_t *)fx.data + 8, fx.va), GP);
	pi.addr = BASE;
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), GP);		/* linaddr must be 0 */
	pi.addr = 0;
	pi.metadata += 64;
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), GP);		/* PCMD alignment */
	pi.metadata -= 64;
	pi.contents += 8;
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), GP);
	pi.contents -= 8;
	CHECK_EQ(__ewb(fx.cpu, &pi, cpu_pool_alloc(&fx.pool), fx.va), PF);	/* free page */
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.va, fx.va), GP);		/* own slot */
	/* Architectural statuses. */
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), SGX_PAGE_NOT_BLOCKED);
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.encl.secs, fx.va), SGX_CHILD_PRESENT);
	lp = sgx_lp_create(fx.cpu);
	lp_enter(&fx, lp);
	REQUIRE_EQ(__eblock(fx.cpu, fx.data), 0);
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), SGX_NOT_TRACKED);
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, lp), 0);
	fx.va[0] = 12345;	/* software can't write VA pages; the test can */
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), SGX_VA_SLOT_OCCUPIED);
	fx.va[0] = 0;
	REQUIRE(sgx_frame_trylock(fx.cpu, frame_of(&fx, fx.va)));
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, frame_of(&fx, fx.va));
	REQUIRE(sgx_frame_trylock(fx.cpu, frame_of(&fx, fx.data)));
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, frame_of(&fx, fx.data));
	CHECK_EQ(__ewb(fx.cpu, &pi, fx.data, fx.va), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	sgx_lp_destroy(lp);
	free(host);
	free(pcmd);
	pfx_free(&fx);
}

/* ELDU of fx->ev after corrupting one thing; must fail with nothing loaded. */
static void expect_refused(struct pfx *fx, void *secs, uint64_t *slot, int expect)
{
	struct sgx_epcm_info info;
	void *dst = cpu_pool_alloc(&fx->pool);
	uint64_t before = *slot;

	CHECK_EQ(cpu_reload(fx->cpu, secs, dst, fx->ev2, false), expect);
	REQUIRE_EQ(sgx_epcm_read(fx->cpu, dst, &info), 0);
	CHECK(!info.valid);
	CHECK_EQ(*slot, before);
	cpu_pool_free(&fx->pool, dst);
	*fx->ev2 = *fx->ev;	/* restore the pristine copy */
}

TEST(cpu_eldu_tamper_refused)
{
	struct pfx fx;
	struct built_encl other;
	uint8_t expect[4096];
	void *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	memcpy(expect, sgx_epc_data(fx.cpu, fx.data), 4096);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &fx.va[7], fx.ev), 0);
	*fx.ev2 = *fx.ev;

	fx.ev2->contents[0] ^= 1;
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->contents[4095] ^= 0x80;
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->pcmd.mac[3] ^= 1;
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->pcmd.secinfo.flags |= SGX_SECINFO_X;			/* grant X */
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->pcmd.secinfo.flags = SGX_SECINFO_TCS;			/* retype */
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->pcmd.enclave_id ^= 1;
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->linaddr += 0x1000;					/* another address */
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	fx.ev2->va_slot = &fx.va[8];					/* empty slot */
	expect_refused(&fx, fx.encl.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	/* A slot holding another page's version. */
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.text, BASE + 0x1000, &fx.va[9], fx.ev2), 0);
	*fx.ev2 = *fx.ev;
	fx.ev2->va_slot = &fx.va[9];
	expect_refused(&fx, fx.encl.secs, &fx.va[9], SGX_MAC_COMPARE_FAIL);
	/* The right page presented as another enclave's. */
	REQUIRE_EQ(cpu_encl_create(&other, fx.cpu, &fx.pool, BASE, SIZE, SGX_ATTR_MODE64BIT), 0);
	expect_refused(&fx, other.secs, &fx.va[7], SGX_MAC_COMPARE_FAIL);
	/* PCMD reserved bytes are #GP before any MAC work. */
	fx.ev2->pcmd.reserved[0] = 1;
	expect_refused(&fx, fx.encl.secs, &fx.va[7], GP);

	/* Untouched: loads. */
	dst = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, fx.ev, false), 0);
	CHECK(memcmp(sgx_epc_data(fx.cpu, dst), expect, 4096) == 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

TEST(cpu_eldu_replay_of_old_version_refused)
{
	struct pfx fx;
	uint64_t v = 0xABCDEF;
	void *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG, true), 0);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &fx.va[1], fx.ev), 0);
	dst = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, fx.ev, false), 0);
	REQUIRE_EQ(__edbgwr(fx.cpu, dst, &v), 0);		/* the page changes */
	/* Newer EWB into the very same slot. */
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, dst, BASE + 0x2000, &fx.va[1], fx.ev2), 0);
	CHECK(fx.va[1] != 0);
	{
		struct cpu_evicted *newer = aligned_alloc(4096, sizeof(*newer));

		*newer = *fx.ev2;
		*fx.ev2 = *fx.ev;			/* the old ciphertext + PCMD */
		expect_refused(&fx, fx.encl.secs, &fx.va[1], SGX_MAC_COMPARE_FAIL);
		REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, fx.data, newer, false), 0);
		CHECK_EQ(*(uint64_t *)sgx_epc_data(fx.cpu, fx.data), v);
		/* Once loaded, the same (newest) copy cannot be loaded again. */
		CHECK_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, newer, false),
			 SGX_MAC_COMPARE_FAIL);
		free(newer);
	}
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

TEST(cpu_eld_faults)
{
	struct pfx fx;
	struct sgx_pageinfo pi = { 0 };
	void *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &fx.va[2], fx.ev), 0);
	dst = cpu_pool_alloc(&fx.pool);
	pi.addr = BASE + 0x2000;
	pi.contents = (uint64_t)(uintptr_t)fx.ev->contents;
	pi.metadata = (uint64_t)(uintptr_t)&fx.ev->pcmd;
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	CHECK_EQ(__eldu(fx.cpu, &pi, fx.text, &fx.va[2]), PF);		/* target valid */
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, (uint8_t *)&fx.va[2] + 1), GP);
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, fx.text), PF);			/* slot not VA */
	CHECK_EQ(__eldu(fx.cpu, &pi, (uint8_t *)dst + 16, &fx.va[2]), GP);
	pi.secs = (uint64_t)(uintptr_t)fx.text;
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), PF);			/* not a SECS */
	pi.secs = 0;
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), GP);			/* child, no SECS */
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	pi.addr = BASE + 0x2010;
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), GP);
	pi.addr = BASE + 0x2000;
	{
		/* An all-zero PCMD is type SECS: with a SECS pointer it is #GP (facts D.5). */
		struct sgx_pcmd *zero = aligned_alloc(128, sizeof(*zero));

		memset(zero, 0, sizeof(*zero));
		pi.metadata = (uint64_t)(uintptr_t)zero;
		CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), GP);
		pi.metadata = (uint64_t)(uintptr_t)&fx.ev->pcmd + 64;
		CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), GP);		/* PCMD align */
		pi.metadata = (uint64_t)(uintptr_t)&fx.ev->pcmd;
		free(zero);
	}
	REQUIRE(sgx_frame_trylock(fx.cpu, frame_of(&fx, dst)));
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, frame_of(&fx, dst));
	CHECK(fx.va[2] != 0);
	CHECK_EQ(__eldu(fx.cpu, &pi, dst, &fx.va[2]), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

/* The address is taken by a new page meanwhile: the old copy cannot come back. */
TEST(cpu_eldu_duplicate_address_gp)
{
	struct pfx fx;
	struct sgx_pageinfo pi = { 0 };
	void *aug, *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &fx.va[2], fx.ev), 0);
	aug = cpu_pool_alloc(&fx.pool);
	pi.addr = BASE + 0x2000;
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	REQUIRE_EQ(__eaug(fx.cpu, &pi, aug), 0);
	dst = cpu_pool_alloc(&fx.pool);
	CHECK_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, fx.ev, false), GP);
	CHECK(fx.va[2] != 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	pfx_free(&fx);
}

TEST(cpu_secs_evict_and_reload)
{
	struct pfx fx;
	struct cpu_evicted *pages = aligned_alloc(4096, 3 * sizeof(*pages));
	struct cpu_evicted *secs_ev = aligned_alloc(4096, sizeof(*secs_ev));
	struct sgx_epcm_info before, after;
	uint8_t text[4096];
	struct sgx_secs *s1, s_before;
	uint64_t v;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG, true), 0);
	memcpy(text, sgx_epc_data(fx.cpu, fx.text), 4096);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.encl.secs, &before), 0);
	s1 = sgx_frame_home(fx.cpu, frame_of(&fx, fx.encl.secs));
	memcpy(&s_before, s1, sizeof(s_before));
	/* SECS with children cannot go. */
	CHECK_EQ(cpu_evict_nochild(fx.cpu, fx.encl.secs, &fx.va[100], secs_ev),
		 SGX_CHILD_PRESENT);
	REQUIRE_EQ(cpu_encl_evict_all(&fx.encl, fx.va, pages, secs_ev), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	CHECK_EQ(secs_ev->pcmd.secinfo.flags, SGX_SECINFO_SECS);
	CHECK_EQ(secs_ev->pcmd.enclave_id, before.enclave_id);

	/* A SECS PCMD with a SECS pointer, or a child with none: #GP. */
	{
		struct sgx_pageinfo pi = { 0 };
		void *dst = cpu_pool_alloc(&fx.pool);

		pi.contents = (uint64_t)(uintptr_t)secs_ev->contents;
		pi.metadata = (uint64_t)(uintptr_t)&secs_ev->pcmd;
		pi.secs = (uint64_t)(uintptr_t)sgx_cpu_frame_addr(fx.cpu, 40);
		CHECK_EQ(__eldu(fx.cpu, &pi, dst, secs_ev->va_slot), GP);
		cpu_pool_free(&fx.pool, dst);
	}
	REQUIRE_EQ(cpu_encl_reload_all(&fx.encl, pages, secs_ev), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.encl.secs, &after), 0);
	CHECK(after.valid);
	CHECK(after.initialized);
	CHECK_EQ(after.enclave_id, before.enclave_id);
	CHECK_EQ(after.child_count, 3);
	s1 = sgx_frame_home(fx.cpu, frame_of(&fx, fx.encl.secs));
	/* Architectural part unchanged; hidden state carried (epoch moved on). */
	CHECK(memcmp(&s_before, s1, SGX_SECS_HIDDEN_OFFSET) == 0);
	{
		const struct sgx_secs_hidden *h0 = (const void *)((uint8_t *)&s_before +
								  SGX_SECS_HIDDEN_OFFSET);
		const struct sgx_secs_hidden *h1 = sgx_secs_hidden(fx.cpu,
								   frame_of(&fx, fx.encl.secs));

		CHECK_EQ(h1->enclave_id, h0->enclave_id);
		CHECK(memcmp(&h1->mrenclave, &h0->mrenclave, sizeof(h0->mrenclave)) == 0);
		CHECK(h1->epoch >= h0->epoch + 3);
	}
	/* Still a working enclave: debug read, paging, tracking. */
	CHECK_EQ(__edbgrd(fx.cpu, encl_page_epc(&fx.encl, 0x1000), &v), 0);
	CHECK(memcmp(&v, text, 8) == 0);
	fx.tcs = encl_page_epc(&fx.encl, 0);
	fx.lp = sgx_lp_create(fx.cpu);
	lp_enter(&fx, fx.lp);
	CHECK_EQ(__eremove(fx.cpu, encl_page_epc(&fx.encl, 0x2000)), SGX_ENCLAVE_ACT);
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, fx.lp), 0);
	CHECK_EQ(cpu_evict(fx.cpu, fx.encl.secs, encl_page_epc(&fx.encl, 0x2000),
			   BASE + 0x2000, &fx.va[200], fx.ev), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(pages);
	free(secs_ev);
	pfx_free(&fx);
}

TEST(cpu_va_page_evict_and_reload)
{
	struct pfx fx;
	uint64_t *va2, *va3;
	struct cpu_evicted *va_ev = aligned_alloc(4096, sizeof(*va_ev));
	void *dst;

	REQUIRE_EQ(pfx_build(&fx, SGX_ATTR_MODE64BIT, true), 0);
	va2 = cpu_epa(&fx.pool);
	REQUIRE(va2);
	/* data's version lives in va2; va2 itself is then evicted into fx.va. */
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, fx.data, BASE + 0x2000, &va2[5], fx.ev), 0);
	REQUIRE_EQ(cpu_evict_nochild(fx.cpu, va2, &fx.va[0], va_ev), 0);
	CHECK_EQ(va_ev->pcmd.secinfo.flags, SGX_SECINFO_VA);
	va3 = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, NULL, va3, va_ev, false), 0);
	CHECK(va3[5] != 0);
	fx.ev->va_slot = &va3[5];
	dst = cpu_pool_alloc(&fx.pool);
	CHECK_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, fx.ev, false), 0);
	CHECK_EQ(va3[5], 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(va_ev);
	pfx_free(&fx);
}

/* 4096 pages of one enclave through a 64-frame EPC, every byte kept. */
TEST_TIMEOUT(cpu_paging_thousands_of_pages, 120)
{
	enum { NPAGES = 4096, NVA = NPAGES / 512 + 1 };
	struct sgx_cpu *cpu = cpu_test_create(SMALL_EPC, 2);
	struct cpu_evicted *ev = aligned_alloc(4096, NPAGES * sizeof(*ev));
	uint64_t *va[NVA];
	struct cpu_pool pool;
	struct built_encl e;
	uint8_t *src = aligned_alloc(4096, 4096);
	uint64_t seed = test_seed();
	unsigned int *order = malloc(NPAGES * sizeof(*order));

	REQUIRE(cpu && ev && src && order);
	REQUIRE_EQ(cpu_pool_init(&pool, cpu, 0, sgx_cpu_nr_frames(cpu)), 0);
	for (int i = 0; i < NVA; i++) {
		va[i] = cpu_epa(&pool);
		REQUIRE(va[i]);
	}
	REQUIRE_EQ(cpu_encl_create(&e, cpu, &pool, 0x100000000ULL, NPAGES * 4096ULL,
				   SGX_ATTR_MODE64BIT), 0);
	/* Add every page, evicting it at once: the EPC holds only a few. */
	for (unsigned int i = 0; i < NPAGES; i++) {
		void *epc;

		for (int k = 0; k < 4096; k += 8) {
			uint64_t w = (uint64_t)i << 32 | (uint64_t)k | seed << 48;

			memcpy(src + k, &w, 8);
		}
		REQUIRE_EQ(cpu_encl_add(&e, i * 4096ULL, src, SGX_SECINFO_REG | 3, i < 8, &epc), 0);
		REQUIRE_EQ(cpu_evict(cpu, e.secs, epc, e.base + i * 4096ULL,
				     &va[i / 512][i % 512], &ev[i]), 0);
		cpu_pool_free(&pool, epc);
		e.pages[i].epc = NULL;
	}
	REQUIRE_EQ(cpu_encl_init(&e), 0);
	/* Load them back in a shuffled order, check, and evict again. */
	for (unsigned int i = 0; i < NPAGES; i++)
		order[i] = i;
	for (unsigned int i = NPAGES - 1; i > 0; i--) {
		unsigned int j = (unsigned int)((seed * 6364136223846793005ULL + i) % (i + 1));
		unsigned int t = order[i];

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned int n = 0; n < NPAGES; n++) {
		unsigned int i = order[n];
		void *epc = cpu_pool_alloc(&pool);
		const uint8_t *d;
		uint64_t w;

		REQUIRE(epc);
		REQUIRE_EQ(cpu_reload(cpu, e.secs, epc, &ev[i], false), 0);
		d = sgx_epc_data(cpu, epc);
		memcpy(&w, d + 4088, 8);
		if ((w >> 32 & 0xFFFF) != i || (w & 0xFFFFFFFF) != 4088) {
			CHECK(!"page content lost");
			break;
		}
		REQUIRE_EQ(cpu_evict(cpu, e.secs, epc, e.base + i * 4096ULL,
				     &va[i / 512][i % 512], &ev[i]), 0);
		cpu_pool_free(&pool, epc);
	}
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	free(ev);
	free(src);
	free(order);
	sgx_cpu_destroy(cpu);
}

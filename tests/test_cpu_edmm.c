// SPDX-License-Identifier: MIT
/* CPU tests: SGX2 leaves EAUG, EMODPR, EMODT (and #UD without SGX2). */
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
#define UD (SGX_ENCLS_FAULT_FLAG | X86_TRAP_UD)

struct efx {
	struct sgx_cpu *cpu;
	struct cpu_pool pool;
	struct built_encl encl;
	void *tcs, *text;
};

static int efx_build(struct efx *fx, bool sgx2, bool init)
{
	struct sgx_cpu_config c;
	struct sgx_tcs *tcs = aligned_alloc(4096, sizeof(*tcs));
	int ret;

	memset(fx, 0, sizeof(*fx));
	sgx_cpu_default_config(&c);
	c.epc_size = SMALL_EPC;
	c.sgx2 = sgx2;
	if (sgx_cpu_create(&c, &fx->cpu))
		return -1;
	if (cpu_pool_init(&fx->pool, fx->cpu, 0, sgx_cpu_nr_frames(fx->cpu)))
		return -1;
	cpu_encl_make_tcs(tcs, 0x4000, 0x1000);
	ret = cpu_encl_create(&fx->encl, fx->cpu, &fx->pool, BASE, SIZE, SGX_ATTR_MODE64BIT);
	if (!ret)
		ret = cpu_encl_add(&fx->encl, 0, tcs, SGX_SECINFO_TCS, true, &fx->tcs);
	if (!ret)
		ret = cpu_encl_add(&fx->encl, 0x1000, NULL, SGX_SECINFO_REG | 7, true, &fx->text);
	if (!ret && init)
		ret = cpu_encl_init(&fx->encl);
	free(tcs);
	return ret;
}

static int eaug_at(struct efx *fx, uint64_t linaddr, void **epc_out)
{
	struct sgx_pageinfo pi = { 0 };
	void *epc = cpu_pool_alloc(&fx->pool);

	pi.addr = linaddr;
	pi.secs = (uint64_t)(uintptr_t)fx->encl.secs;
	*epc_out = epc;
	return __eaug(fx->cpu, &pi, epc);
}

TEST(cpu_eaug)
{
	struct efx fx;
	struct sgx_pageinfo pi = { 0 };
	struct sgx_secinfo si = { .flags = SGX_SECINFO_REG };
	struct sgx_epcm_info info;
	uint8_t *host = aligned_alloc(4096, 4096);
	void *epc, *p;

	REQUIRE_EQ(efx_build(&fx, true, false), 0);
	/* Not initialized yet: #GP. */
	CHECK_EQ(eaug_at(&fx, BASE + 0x3000, &p), GP);
	cpu_pool_free(&fx.pool, p);
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	epc = cpu_pool_alloc(&fx.pool);
	memset(sgx_epc_data(fx.cpu, epc), 0xAA, 4096);
	pi.addr = BASE + 0x3000;
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	pi.contents = (uint64_t)(uintptr_t)host;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), GP);		/* no source page allowed */
	pi.contents = 0;
	pi.metadata = (uint64_t)(uintptr_t)&si + 8;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), GP);
	si.flags = SGX_SECINFO_TCS;
	pi.metadata = (uint64_t)(uintptr_t)&si;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), GP);
	si.flags = SGX_SECINFO_REG;
	pi.addr = BASE + SIZE;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), GP);		/* outside ELRANGE */
	pi.addr = BASE + 0x1000;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), GP);		/* address in use */
	pi.addr = BASE + 0x3000;
	CHECK_EQ(__eaug(fx.cpu, &pi, fx.text), PF);		/* target in use */
	CHECK_EQ(__eaug(fx.cpu, &pi, host), PF);
	pi.secs = (uint64_t)(uintptr_t)fx.text;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), PF);		/* not a SECS */
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	CHECK_EQ(__eaug(fx.cpu, &pi, epc), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, epc, &info), 0);
	CHECK(info.valid && info.pending);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_REG);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_W);
	CHECK_EQ(info.linaddr, BASE + 0x3000);
	CHECK_EQ(((uint8_t *)sgx_epc_data(fx.cpu, epc))[77], 0);	/* zeroed */
	pi.metadata = 0;
	CHECK_EQ(eaug_at(&fx, BASE + 0x4000, &p), 0);			/* SECINFO optional */
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(host);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_emodpr)
{
	struct efx fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_R };
	struct sgx_epcm_info info;
	void *aug;

	REQUIRE_EQ(efx_build(&fx, true, true), 0);
	CHECK_EQ(__emodpr(fx.cpu, &si, (uint8_t *)fx.text + 8), GP);
	CHECK_EQ(__emodpr(fx.cpu, (struct sgx_secinfo *)((uint8_t *)&si + 8), fx.text), GP);
	si.flags = SGX_SECINFO_W;
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), GP);		/* W without R */
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R;
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), GP);		/* only permissions */
	si.flags = SGX_SECINFO_R;
	CHECK_EQ(__emodpr(fx.cpu, &si, cpu_pool_alloc(&fx.pool)), PF);	/* free */
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.tcs), PF);		/* not REG */
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.encl.secs), PF);
	REQUIRE_EQ(eaug_at(&fx, BASE + 0x3000, &aug), 0);
	CHECK_EQ(__emodpr(fx.cpu, &si, aug), SGX_PAGE_NOT_MODIFIABLE);	/* PENDING */
	REQUIRE(sgx_frame_trylock(fx.cpu, sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.text)));
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.text));
	si.flags = SGX_SECINFO_R | SGX_SECINFO_X;
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.text, &info), 0);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	CHECK(info.pr);
	/* Restriction only: asking for W back does not grant it. */
	si.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X;
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.text, &info), 0);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_emodpr_before_einit_gp)
{
	struct efx fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_R };

	REQUIRE_EQ(efx_build(&fx, true, false), 0);
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), GP);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_emodt_and_trim_flow)
{
	struct efx fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_TRIM };
	struct sgx_secinfo perms = { .flags = 7 };
	struct sgx_epcm_info info;
	void *aug, *reg;
	int64_t f;

	REQUIRE_EQ(efx_build(&fx, true, true), 0);
	REQUIRE_EQ(cpu_encl_add(&fx.encl, 0x5000, NULL, SGX_SECINFO_REG | 3, false, &reg), GP);
	si.flags = SGX_SECINFO_REG;
	CHECK_EQ(__emodt(fx.cpu, &si, fx.text), GP);		/* REG is no target */
	si.flags = SGX_SECINFO_TRIM | SGX_SECINFO_R;
	CHECK_EQ(__emodt(fx.cpu, &si, fx.text), GP);		/* type only */
	si.flags = SGX_SECINFO_TCS;
	CHECK_EQ(__emodt(fx.cpu, &si, fx.tcs), GP);		/* TCS -> TCS */
	CHECK_EQ(__emodt(fx.cpu, &si, fx.encl.secs), PF);
	CHECK_EQ(__emodt(fx.cpu, &si, cpu_pool_alloc(&fx.pool)), PF);
	REQUIRE_EQ(eaug_at(&fx, BASE + 0x3000, &aug), 0);
	CHECK_EQ(__emodt(fx.cpu, &si, aug), SGX_PAGE_NOT_MODIFIABLE);
	/* REG -> TCS. */
	CHECK_EQ(__emodt(fx.cpu, &si, fx.text), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.text, &info), 0);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_TCS);
	CHECK(info.modified);
	CHECK_EQ(info.perm, 0);
	CHECK_EQ(__emodt(fx.cpu, &si, fx.text), SGX_PAGE_NOT_MODIFIABLE);
	/* TCS -> TRIM; before the enclave accepts it, EMODPR says NOT_MODIFIABLE. */
	si.flags = SGX_SECINFO_TRIM;
	CHECK_EQ(__emodt(fx.cpu, &si, fx.tcs), 0);
	CHECK_EQ(__emodpr(fx.cpu, &perms, fx.tcs), SGX_PAGE_NOT_MODIFIABLE);
	/* Once accepted (EACCEPT clears MODIFIED), EMODPR must #PF: REMOVE_PAGES' probe. */
	f = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.tcs);
	sgx_epcm_write_lock(fx.cpu);
	fx.cpu->epcm[f].modified = false;
	sgx_epcm_write_unlock(fx.cpu);
	CHECK_EQ(__emodpr(fx.cpu, &perms, fx.tcs), PF);
	CHECK_EQ(__eremove(fx.cpu, fx.tcs), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	sgx_cpu_destroy(fx.cpu);
}

/* EMODPR/EMODT stamp the page for EACCEPT's tracking check. */
TEST(cpu_emod_tracking_stamp)
{
	struct efx fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_R };
	struct sgx_lp *lp;
	int64_t s, f, t;

	REQUIRE_EQ(efx_build(&fx, true, true), 0);
	s = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.encl.secs);
	f = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.text);
	t = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.tcs);
	lp = sgx_lp_create(fx.cpu);
	REQUIRE_EQ(sgx_lp_enter_enclave(fx.cpu, lp, s, t, BASE), 0);
	REQUIRE_EQ(__emodpr(fx.cpu, &si, fx.text), 0);
	CHECK(!sgx_track_complete(fx.cpu, s, fx.cpu->epcm[f].mod_epoch));
	REQUIRE_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	CHECK(!sgx_track_complete(fx.cpu, s, fx.cpu->epcm[f].mod_epoch));
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, lp), 0);
	REQUIRE_EQ(sgx_lp_enter_enclave(fx.cpu, lp, s, t, BASE), 0);	/* re-enters */
	CHECK(sgx_track_complete(fx.cpu, s, fx.cpu->epcm[f].mod_epoch));
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, lp), 0);
	sgx_lp_destroy(lp);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_sgx1_has_no_edmm_leaves)
{
	struct efx fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_R };
	uint32_t regs[4];
	void *p;

	REQUIRE_EQ(efx_build(&fx, false, true), 0);
	CHECK_EQ(eaug_at(&fx, BASE + 0x3000, &p), UD);
	CHECK_EQ(__emodpr(fx.cpu, &si, fx.text), UD);
	CHECK_EQ(__emodt(fx.cpu, &si, fx.text), UD);
	REQUIRE(sgx_cpu_cpuid(fx.cpu, 0x12, 0, regs));
	CHECK_EQ(regs[0], 1);
	sgx_cpu_destroy(fx.cpu);
}

/* An EWB'd EDMM page keeps its PENDING/MODIFIED/PR state through ELDU. */
TEST(cpu_edmm_state_survives_paging)
{
	struct efx fx;
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	struct sgx_epcm_info info;
	uint64_t *va;
	void *aug, *dst;

	REQUIRE_EQ(efx_build(&fx, true, true), 0);
	va = cpu_epa(&fx.pool);
	REQUIRE_EQ(eaug_at(&fx, BASE + 0x3000, &aug), 0);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, aug, BASE + 0x3000, &va[0], ev), 0);
	CHECK_EQ(ev->pcmd.secinfo.flags, SGX_SECINFO_REG | 3 | SGX_SECINFO_PENDING);
	dst = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, dst, ev, false), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, dst, &info), 0);
	CHECK(info.pending);
	CHECK_EQ(info.perm, 3);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(ev);
	sgx_cpu_destroy(fx.cpu);
}

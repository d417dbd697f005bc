// SPDX-License-Identifier: MIT
/*
 * ENCLU tests: entering and leaving enclave mode (EENTER, ERESUME, EEXIT,
 * AEX), CSSA/NSSA bookkeeping, TCS busy, faults, and the ETRACK/EWB
 * interplay with LPs inside.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/enclu_internal.h"
#include "tests/harness.h"
#include "tests/test_enclu_fixture.h"

static struct sgx_ssa_gprs *gprs_of(struct efx *fx, uint64_t ssa_off)
{
	return (struct sgx_ssa_gprs *)((uint8_t *)efx_bytes(fx, ssa_off) + 4096 -
				       SGX_SSA_GPRS_SIZE);
}

static struct sgx_tcs *tcs_of(struct efx *fx, uint64_t off)
{
	return efx_bytes(fx, off);
}

/* Enclave registers with a distinct value in each. */
static void enclave_regs(struct sgx_regs *r, uint64_t seed)
{
	uint64_t *v = (uint64_t *)r;

	for (unsigned int i = 0; i < sizeof(*r) / 8; i++)
		v[i] = seed * 0x100 + i;
	r->rip = EBASE + OFF_TEXT + 0x40 + seed;
	r->rflags = 0x2d7;	/* IF plus every arithmetic flag */
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

TEST(enclu_eenter_eexit_registers)
{
	struct sgx_exception exc;
	struct sgx_cpu_stats st;
	struct sgx_regs r;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	CHECK_EQ(r.rax, 0);			/* CSSA */
	CHECK_EQ(r.rcx, HOST_RIP + 3);		/* the instruction after ENCLU */
	CHECK_EQ(r.rip, EBASE + OENTRY);
	CHECK_EQ(r.fsbase, EBASE + OFF_DATA);
	CHECK_EQ(r.gsbase, EBASE + OFF_DATA);
	CHECK_EQ(r.rbx, EBASE + OFF_TCS1);	/* untouched */
	CHECK_EQ(r.rsp, HOST_RSP);
	CHECK_EQ(r.rdx, 0xD0D0);
	CHECK(sgx_lp_enclave(fx.lp) == fx.encl.secs);
	CHECK_EQ(sgx_lp_tcs(fx.lp), EBASE + OFF_TCS1);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->state, 1);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->exit_addr, HOST_AEP);
	CHECK_EQ(gprs_of(&fx, OFF_SSA1)->ursp, HOST_RSP);
	CHECK_EQ(gprs_of(&fx, OFF_SSA1)->urbp, HOST_RBP);

	r.rsp = EBASE + OFF_DATA + 0x800;	/* the enclave's own stack */
	r.rdi = 0x1234;
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	CHECK_EQ(r.rip, HOST_RIP + 3);
	CHECK_EQ(r.rcx, HOST_AEP);		/* SDM: EEXIT returns the AEP in RCX */
	CHECK_EQ(r.fsbase, HOST_FS);
	CHECK_EQ(r.gsbase, HOST_GS);
	CHECK_EQ(r.rdi, 0x1234);		/* other GPRs are the enclave's business */
	CHECK_EQ(r.rsp, EBASE + OFF_DATA + 0x800);
	CHECK(sgx_lp_enclave(fx.lp) == NULL);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->state, 0);
	CHECK(all_zero(tcs_of(&fx, OFF_TCS1)->reserved, sizeof(tcs_of(&fx, OFF_TCS1)->reserved)));

	sgx_cpu_get_stats(fx.cpu, &st);
	CHECK_EQ(st.enclu[EENTER], 1);
	CHECK_EQ(st.enclu[EEXIT], 1);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
}

TEST(enclu_aex_eresume_restores_every_register)
{
	struct sgx_regs r, saved, host;
	struct sgx_exception exc, pf = { X86_TRAP_PF, 0x8007, EBASE + OFF_RODATA + 0x123 };
	struct sgx_ssa_exinfo *x;
	struct sgx_ssa_gprs *g;
	struct sgx_cpu_stats st;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	enclave_regs(&r, 7);
	saved = r;
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, &pf), 0);

	/* The synthetic state. */
	CHECK_EQ(r.rax, ERESUME);
	CHECK_EQ(r.rbx, EBASE + OFF_TCS1);
	CHECK_EQ(r.rcx, HOST_AEP);
	CHECK_EQ(r.rip, HOST_AEP);
	CHECK_EQ(r.rsp, HOST_RSP);
	CHECK_EQ(r.rbp, HOST_RBP);
	CHECK_EQ(r.rdx | r.rsi | r.rdi | r.r8 | r.r9 | r.r10 | r.r11 | r.r12 | r.r13 | r.r14 |
		 r.r15, 0);
	CHECK_EQ(r.fsbase, HOST_FS);
	CHECK_EQ(r.gsbase, HOST_GS);
	CHECK_EQ(r.rflags & X86_EFLAGS_ARITH, 0);
	CHECK(sgx_lp_enclave(fx.lp) == NULL);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->ssa_index, 1);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->state, 0);

	/* The SSA frame: GPRSGX, EXITINFO, EXINFO. */
	g = gprs_of(&fx, OFF_SSA1);
	CHECK_EQ(g->rax, saved.rax);
	CHECK_EQ(g->r15, saved.r15);
	CHECK_EQ(g->rip, saved.rip);
	CHECK_EQ(g->rflags, saved.rflags);
	CHECK_EQ(g->fsbase, saved.fsbase);
	CHECK_EQ(g->exit_info, SGX_EXITINFO_VALID | (3u << 8) | X86_TRAP_PF);
	x = (struct sgx_ssa_exinfo *)g - 1;
	CHECK_EQ(x->maddr, EBASE + OFF_RODATA + 0x123);
	CHECK_EQ(x->errcd, 0x8007);

	/* ERESUME from the AEP, with another untrusted stack. */
	host = r;
	host.rsp = HOST_RSP - 0x100;
	host.rip = HOST_AEP;
	REQUIRE_EQ(sgx_enclu(fx.cpu, fx.lp, &host, &exc), 0);
	CHECK(memcmp(&host, &saved, sizeof(saved)) == 0);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->ssa_index, 0);
	CHECK_EQ(gprs_of(&fx, OFF_SSA1)->ursp, HOST_RSP - 0x100);

	/* A second AEX (an interrupt: no exception info) leaves with that stack. */
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &host, NULL), 0);
	CHECK_EQ(host.rsp, HOST_RSP - 0x100);
	CHECK_EQ(gprs_of(&fx, OFF_SSA1)->exit_info, 0);
	sgx_cpu_get_stats(fx.cpu, &st);
	CHECK_EQ(st.aex, 2);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
}

TEST(enclu_aex_exitinfo_without_exinfo)
{
	struct sgx_exception exc, pf = { X86_TRAP_PF, 0x6, EBASE + 0x9000 };
	struct sgx_exception ud = { X86_TRAP_UD, 0, 0 }, bp = { 3, 0, 0 };
	struct sgx_ssa_exinfo before, *x;
	struct sgx_regs r;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, 0, 0, true), 0);
	x = (struct sgx_ssa_exinfo *)gprs_of(&fx, OFF_SSA2) - 1;
	before = *x;

	/* #PF is not reported to an enclave without MISCSELECT.EXINFO. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r, &exc), 0);
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, &pf), 0);
	CHECK_EQ(gprs_of(&fx, OFF_SSA2)->exit_info, 0);
	CHECK(memcmp(x, &before, sizeof(before)) == 0);

	/* #UD is, as a hardware exception; #BP as a software one (frame 1). */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r, &exc), 0);
	CHECK_EQ(r.rax, 1);
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, &ud), 0);
	CHECK_EQ(gprs_of(&fx, OFF_SSA2 + 0x1000)->exit_info,
		 SGX_EXITINFO_VALID | (3u << 8) | X86_TRAP_UD);
	efx_host_regs(&fx, &r, ERESUME, OFF_TCS2);
	REQUIRE_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), 0);
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, &bp), 0);
	CHECK_EQ(gprs_of(&fx, OFF_SSA2 + 0x1000)->exit_info,
		 SGX_EXITINFO_VALID | (6u << 8) | 3);
}

TEST(enclu_cssa_nssa_bookkeeping)
{
	struct sgx_regs r, s0, s1;
	struct sgx_exception exc;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	/* TCS2 has NSSA = 2: two nested AEXs, then EENTER has no frame left. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r, &exc), 0);
	CHECK_EQ(r.rax, 0);
	enclave_regs(&r, 1);
	s0 = r;
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, NULL), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r, &exc), 0);
	CHECK_EQ(r.rax, 1);			/* the exception handler's entry */
	enclave_regs(&r, 2);
	s1 = r;
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp, &r, NULL), 0);
	CHECK_EQ(tcs_of(&fx, OFF_TCS2)->ssa_index, 2);
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);

	/* ERESUME pops the frames in order. */
	efx_host_regs(&fx, &r, ERESUME, OFF_TCS2);
	REQUIRE_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), 0);
	CHECK(memcmp(&r, &s1, sizeof(r)) == 0);
	CHECK_EQ(tcs_of(&fx, OFF_TCS2)->ssa_index, 1);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	efx_host_regs(&fx, &r, ERESUME, OFF_TCS2);
	REQUIRE_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), 0);
	CHECK(memcmp(&r, &s0, sizeof(r)) == 0);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	CHECK_EQ(tcs_of(&fx, OFF_TCS2)->ssa_index, 0);

	/* Nothing left to resume. */
	efx_host_regs(&fx, &r, ERESUME, OFF_TCS2);
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK(sgx_lp_enclave(fx.lp) == NULL);
}

TEST(enclu_tcs_busy_with_two_lps)
{
	struct sgx_regs r1, r2;
	struct sgx_exception exc;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r1, &exc), 0);
	CHECK_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS1, &r2, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK(sgx_lp_enclave(fx.lp2) == NULL);
	/* The other TCS is free. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS2, &r2, &exc), 0);
	/* An LP in enclave mode cannot EENTER again. */
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS2, &r1, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r1, &exc), -1);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r1, &exc), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS1, &r1, &exc), -1);	/* lp2 inside */
	REQUIRE_EQ(efx_eexit(&fx, fx.lp2, &r2, &exc), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS1, &r2, &exc), 0);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp2, &r2, &exc), 0);
}

TEST(enclu_eenter_faults)
{
	struct sgx_regs r, before;
	struct sgx_exception exc;
	struct efx fx, fx2;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);

	/* A REG page is not a TCS: EPCM #PF on RBX; registers untouched. */
	efx_host_regs(&fx, &r, EENTER, OFF_DATA);
	before = r;
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, X86_PF_SGX | X86_PF_PROT | X86_PF_USER);
	CHECK_EQ(exc.addr, EBASE + OFF_DATA);
	CHECK(memcmp(&r, &before, sizeof(r)) == 0);

	/* Misaligned TCS: #GP. */
	efx_host_regs(&fx, &r, EENTER, OFF_TCS1 + 8);
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);

	/* Not an enclave address at all. */
	efx_host_regs(&fx, &r, EENTER, 0);
	r.rbx = 0x1000;
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.addr, 0x1000);

	/* Inside ELRANGE but never added: a not-present #PF the host can fix. */
	efx_host_regs(&fx, &r, EENTER, OFF_FREE);
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, X86_PF_USER);
	CHECK_EQ(exc.addr, EBASE + OFF_FREE);
	CHECK(sgx_lp_enclave(fx.lp) == NULL);

	/* An enclave that was never initialised: #GP. */
	memset(&fx2, 0, sizeof(fx2));
	REQUIRE_EQ(efx_setup(&fx2, 0, 0, false), 0);
	CHECK_EQ(efx_eenter(&fx2, fx2.lp, OFF_TCS1, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(tcs_of(&fx2, OFF_TCS1)->state, 0);
}

/* EWB'd TCS or SSA page: #PF on that address; after ELDU the entry works. */
TEST(enclu_eenter_nonresident_tcs_and_ssa)
{
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	struct encl_page *pg;
	struct sgx_exception exc;
	struct sgx_regs r;
	uint64_t *va;
	struct efx fx;
	void *epc;

	REQUIRE(ev);
	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	va = cpu_epa(&fx.pool);
	REQUIRE(va);

	pg = encl_page_entry(&fx.encl, OFF_TCS1);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, pg->epc, EBASE + OFF_TCS1, &va[0], ev), 0);
	cpu_pool_free(&fx.pool, pg->epc);
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, X86_PF_USER);
	CHECK_EQ(exc.addr, EBASE + OFF_TCS1);
	epc = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, epc, ev, false), 0);
	pg->epc = epc;

	pg = encl_page_entry(&fx.encl, OFF_SSA1);
	REQUIRE_EQ(cpu_evict(fx.cpu, fx.encl.secs, pg->epc, EBASE + OFF_SSA1, &va[1], ev), 0);
	cpu_pool_free(&fx.pool, pg->epc);
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, X86_PF_USER | X86_PF_WRITE);
	CHECK_EQ(exc.addr, EBASE + OFF_SSA1);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->state, 0);	/* not left busy */
	epc = cpu_pool_alloc(&fx.pool);
	REQUIRE_EQ(cpu_reload(fx.cpu, fx.encl.secs, epc, ev, false), 0);
	pg->epc = epc;

	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	CHECK_EQ(r.rip, EBASE + OENTRY);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(ev);
}

TEST(enclu_leaf_mode_checks)
{
	static const uint32_t inside_only[] = { EREPORT, EGETKEY, EEXIT, EACCEPT, EMODPE,
						EACCEPTCOPY };
	struct sgx_exception exc;
	struct sgx_regs r;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	for (unsigned int i = 0; i < sizeof(inside_only) / sizeof(inside_only[0]); i++) {
		efx_host_regs(&fx, &r, inside_only[i], OFF_TCS1);
		CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
		CHECK_EQ(exc.vector, X86_TRAP_GP);
	}
	efx_host_regs(&fx, &r, 8, OFF_TCS1);
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(sgx_enclu(fx.cpu, NULL, &r, &exc), -1);
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, NULL, &exc), -1);
	CHECK_EQ(sgx_aex(fx.cpu, fx.lp, &r, NULL), -EINVAL);

	/* ENCLU ignores RAX[63:32]. */
	efx_host_regs(&fx, &r, EENTER, OFF_TCS1);
	r.rax |= 0xABCD00000000ULL;
	REQUIRE_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), 0);
	/* Inside: EENTER/ERESUME are #GP, unknown leaves too. */
	r.rax = ERESUME;
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	r.rax = 0x20;
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	/* EEXIT to a non-canonical address: #GP, still inside. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	r.rax = EEXIT;
	r.rbx = 0x0000800000000000ULL;
	CHECK_EQ(sgx_enclu(fx.cpu, fx.lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK(sgx_lp_enclave(fx.lp) != NULL);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
}

/* The resolver decides which enclave a TCS address names. */
static void *resolve_to(void *arg, uint64_t linaddr)
{
	return arg;
}

TEST(enclu_resolver)
{
	struct sgx_exception exc;
	struct sgx_regs r;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, 0, 0, true), 0);
	sgx_lp_set_resolver(fx.lp, resolve_to, NULL);	/* "nothing mapped there" */
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK(exc.error_code & X86_PF_SGX);
	sgx_lp_set_resolver(fx.lp, resolve_to, fx.encl.secs);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	/* A resolver naming a non-SECS page is not trusted. */
	sgx_lp_set_resolver(fx.lp, resolve_to, encl_page_epc(&fx.encl, OFF_DATA));
	CHECK_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), -1);
	sgx_lp_set_resolver(fx.lp, NULL, NULL);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
}

/* EWB says SGX_NOT_TRACKED while an LP that entered before ETRACK is inside. */
TEST(enclu_etrack_ewb_with_lps_inside)
{
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	struct sgx_pageinfo pi = { 0 };
	struct sgx_exception exc;
	struct sgx_regs r, r2;
	void *data, *ro;
	uint64_t *va;
	struct efx fx;

	REQUIRE(ev);
	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	va = cpu_epa(&fx.pool);
	REQUIRE(va);
	data = encl_page_epc(&fx.encl, OFF_DATA);
	ro = encl_page_epc(&fx.encl, OFF_RODATA);
	pi.contents = (uint64_t)(uintptr_t)ev->contents;
	pi.metadata = (uint64_t)(uintptr_t)&ev->pcmd;

	/* EEXIT ends the LP's tracking obligation. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	CHECK_EQ(cpu_evict(fx.cpu, fx.encl.secs, data, EBASE + OFF_DATA, &va[0], ev),
		 SGX_NOT_TRACKED);
	/* An LP entering after the ETRACK does not hold it up... */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS2, &r2, &exc), 0);
	CHECK_EQ(__ewb(fx.cpu, &pi, data, &va[0]), SGX_NOT_TRACKED);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	CHECK_EQ(__ewb(fx.cpu, &pi, data, &va[0]), 0);
	cpu_pool_free(&fx.pool, data);
	encl_page_entry(&fx.encl, OFF_DATA)->epc = NULL;

	/* ...but it does for the next cycle; an AEX ends it too. */
	CHECK_EQ(cpu_evict(fx.cpu, fx.encl.secs, ro, EBASE + OFF_RODATA, &va[1], ev),
		 SGX_NOT_TRACKED);
	REQUIRE_EQ(sgx_aex(fx.cpu, fx.lp2, &r2, NULL), 0);
	CHECK_EQ(__ewb(fx.cpu, &pi, ro, &va[1]), 0);
	cpu_pool_free(&fx.pool, ro);
	encl_page_entry(&fx.encl, OFF_RODATA)->epc = NULL;
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(ev);
}

struct race {
	struct efx *fx;
	struct sgx_lp *lp;
	int *inside;		/* LPs currently inside through TCS1 */
	int entered, max_seen;
};

static void *race_thread(void *arg)
{
	struct race *rc = arg;
	struct sgx_exception exc;
	struct sgx_regs r;

	/*
	 * The other LP holds the TCS most of the time: on a busy machine one
	 * thread's 20000 tries can all fall inside the other's turns, so go on
	 * (yielding) until this one has entered too.
	 */
	for (int i = 0; i < 20000 || (!rc->entered && i < 2000000); i++) {
		if (efx_eenter(rc->fx, rc->lp, OFF_TCS1, &r, &exc)) {
			sched_yield();
			continue;
		}
		int n = __atomic_add_fetch(rc->inside, 1, __ATOMIC_SEQ_CST);

		if (n > rc->max_seen)
			rc->max_seen = n;
		rc->entered++;
		__atomic_sub_fetch(rc->inside, 1, __ATOMIC_SEQ_CST);
		if (i & 1) {
			efx_eexit(rc->fx, rc->lp, &r, &exc);
		} else if (sgx_aex(rc->fx->cpu, rc->lp, &r, NULL) == 0) {
			/*
			 * Between the AEX and the ERESUME the TCS is free and
			 * the other LP may enter it. ERESUME must be retried
			 * until the TCS is back: given up, the AEX's SSA frame
			 * stays taken, and once CSSA == NSSA no EENTER can ever
			 * succeed again (as on hardware), starving the other LP.
			 */
			for (int k = 0; k < 2000000; k++) {
				if (sgx_enclu(rc->fx->cpu, rc->lp, &r, &exc) == 0) {	/* ERESUME */
					efx_eexit(rc->fx, rc->lp, &r, &exc);
					break;
				}
				sched_yield();
			}
		}
	}
	return NULL;
}

/* Two LPs race for one TCS: never both inside, nothing corrupted. */
TEST_TIMEOUT(enclu_tcs_race, 120)
{
	pthread_t t1, t2;
	struct race a, b;
	int inside = 0;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	a = (struct race){ &fx, fx.lp, &inside, 0, 0 };
	b = (struct race){ &fx, fx.lp2, &inside, 0, 0 };
	pthread_create(&t1, NULL, race_thread, &a);
	pthread_create(&t2, NULL, race_thread, &b);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ(a.max_seen <= 1 && b.max_seen <= 1, 1);
	CHECK(a.entered > 0 && b.entered > 0);
	CHECK_EQ(tcs_of(&fx, OFF_TCS1)->state, 0);
	/* SSA frames belong to the TCS: either LP may have left one behind. */
	CHECK(tcs_of(&fx, OFF_TCS1)->ssa_index <= 1);
	CHECK(sgx_lp_enclave(fx.lp) == NULL && sgx_lp_enclave(fx.lp2) == NULL);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
}

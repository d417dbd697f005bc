// SPDX-License-Identifier: MIT
/*
 * ENCLU tests: EACCEPT, EACCEPTCOPY, EMODPE against real EAUG/EMODPR/EMODT,
 * and sgx_lp_translate()'s access checks and #PF error codes.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/enclu_internal.h"
#include "tests/harness.h"
#include "tests/test_enclu_fixture.h"

#define SECINFO_OFF	(OFF_DATA + 0x40)	/* a SECINFO slot in the data page */
#define RW_REG		(SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W)

static void put_secinfo(struct efx *fx, uint64_t flags)
{
	struct sgx_secinfo *si = efx_bytes(fx, SECINFO_OFF);

	memset(si, 0, sizeof(*si));
	si->flags = flags;
}

/* EACCEPT from inside with SECINFO flags; returns the leaf result, *status = RAX. */
static int eaccept(struct efx *fx, struct sgx_lp *lp, struct sgx_regs *r, uint64_t off,
		   uint64_t flags, uint64_t *status, struct sgx_exception *exc)
{
	int ret;

	put_secinfo(fx, flags);
	ret = efx_leaf(fx, lp, r, EACCEPT, efx_la(fx, SECINFO_OFF), efx_la(fx, off), 0, exc);
	*status = r->rax;
	return ret;
}

static int epcm(struct efx *fx, void *epc, struct sgx_epcm_info *info)
{
	return sgx_epcm_read(fx->cpu, epc, info);
}

TEST(enclu_eaccept_eaug_page)
{
	struct sgx_epcm_info info;
	struct sgx_exception exc;
	struct sgx_regs r;
	uint64_t status;
	struct efx fx;
	void *epc;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);

	/* augment_via_eaccept: not in the EPC -> #PF (user read), EAUG, retry. */
	CHECK_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG | SGX_SECINFO_PENDING, &status, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, X86_PF_USER);
	CHECK_EQ(exc.addr, EBASE + OFF_FREE);
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE, &epc), 0);

	/* A pending page is not accessible yet: 0x8007 / 0x8005. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE, X86_PF_WRITE, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8007);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE + 8, 0, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8005);
	CHECK_EQ(exc.addr, EBASE + OFF_FREE);

	/* Wrong expectations: mismatch, ZF set, page unchanged. */
	r.rflags = 0x202;
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG, &status, &exc), 0);
	CHECK_EQ(status, SGX_PAGE_ATTRIBUTES_MISMATCH);
	CHECK(r.rflags & X86_EFLAGS_ZF);
	REQUIRE_EQ(epcm(&fx, epc, &info), 0);
	CHECK(info.pending);

	r.rip = EBASE + OFF_TEXT + 0x100;
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG | SGX_SECINFO_PENDING, &status, &exc),
		   0);
	CHECK_EQ(status, 0);
	CHECK(!(r.rflags & X86_EFLAGS_ZF));
	CHECK_EQ(r.rip, EBASE + OFF_TEXT + 0x103);
	REQUIRE_EQ(epcm(&fx, epc, &info), 0);
	CHECK(!info.pending);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE + 8, X86_PF_WRITE, &exc) ==
	      (uint8_t *)sgx_epc_data(fx.cpu, epc) + 8);

	/* Accepting twice is a mismatch (no longer pending). */
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG | SGX_SECINFO_PENDING, &status, &exc),
		   0);
	CHECK_EQ(status, SGX_PAGE_ATTRIBUTES_MISMATCH);

	/* Operand faults: misaligned SECINFO/target #GP, SECINFO in a TCS #PF(SGX). */
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPT, EBASE + SECINFO_OFF + 8, EBASE + OFF_FREE, 0,
			  &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPT, EBASE + SECINFO_OFF, EBASE + OFF_FREE + 1, 0,
			  &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPT, EBASE + OFF_TCS2, EBASE + OFF_FREE, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, 0x8005);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPT, EBASE + SECINFO_OFF, EBASE + ESIZE, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	/* SECINFO reserved bytes must be zero. */
	put_secinfo(&fx, RW_REG | SGX_SECINFO_PENDING);
	((uint8_t *)efx_bytes(&fx, SECINFO_OFF))[20] = 1;
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPT, EBASE + SECINFO_OFF, EBASE + OFF_FREE, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
}

TEST(enclu_eaccept_emodpr_needs_tracking)
{
	struct sgx_secinfo *si = aligned_alloc(64, sizeof(*si));
	struct sgx_epcm_info info;
	struct sgx_exception exc;
	struct sgx_regs r, r2;
	uint64_t status;
	void *ro_epc;
	struct efx fx;

	REQUIRE(si);
	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	/* Restrict a freshly EAUGed and accepted RW page. */
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE, &ro_epc), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG | SGX_SECINFO_PENDING, &status, &exc),
		   0);
	REQUIRE_EQ(status, 0);

	memset(si, 0, sizeof(*si));
	si->flags = SGX_SECINFO_R;
	REQUIRE_EQ(__emodpr(fx.cpu, si, ro_epc), 0);
	/* No ETRACK yet: not tracked, even for an LP that entered later. */
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS2, &r2, &exc), 0);
	REQUIRE_EQ(eaccept(&fx, fx.lp2, &r2, OFF_FREE, SGX_SECINFO_REG | SGX_SECINFO_R |
			   SGX_SECINFO_PR, &status, &exc), 0);
	CHECK_EQ(status, SGX_NOT_TRACKED);
	CHECK(r2.rflags & X86_EFLAGS_ZF);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp2, &r2, &exc), 0);

	/* ETRACK while lp is inside: lp2 entering afterwards still waits for lp. */
	REQUIRE_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_TCS2, &r2, &exc), 0);
	REQUIRE_EQ(eaccept(&fx, fx.lp2, &r2, OFF_FREE, SGX_SECINFO_REG | SGX_SECINFO_R |
			   SGX_SECINFO_PR, &status, &exc), 0);
	CHECK_EQ(status, SGX_NOT_TRACKED);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);

	/* Everyone from before has left: wrong perms mismatch, right ones accepted. */
	REQUIRE_EQ(eaccept(&fx, fx.lp2, &r2, OFF_FREE, RW_REG | SGX_SECINFO_PR, &status, &exc), 0);
	CHECK_EQ(status, SGX_PAGE_ATTRIBUTES_MISMATCH);
	REQUIRE_EQ(eaccept(&fx, fx.lp2, &r2, OFF_FREE, SGX_SECINFO_REG | SGX_SECINFO_R |
			   SGX_SECINFO_PR, &status, &exc), 0);
	CHECK_EQ(status, 0);
	REQUIRE_EQ(epcm(&fx, ro_epc, &info), 0);
	CHECK(!info.pr);
	CHECK_EQ(info.perm, SGX_SECINFO_R);
	/* epcm_permissions: the write now faults with 0x8007. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp2, EBASE + OFF_FREE, X86_PF_WRITE, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8007);

	/* EMODPE gives W back (no tracking needed to extend). */
	put_secinfo(&fx, SGX_SECINFO_R | SGX_SECINFO_W);
	REQUIRE_EQ(efx_leaf(&fx, fx.lp2, &r2, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_FREE, 0,
			    &exc), 0);
	REQUIRE_EQ(epcm(&fx, ro_epc, &info), 0);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_W);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp2, EBASE + OFF_FREE, X86_PF_WRITE, &exc) != NULL);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp2, &r2, &exc), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(si);
}

TEST(enclu_eaccept_trim_and_tcs)
{
	struct sgx_secinfo *si = aligned_alloc(64, sizeof(*si));
	struct sgx_tcs *tcs;
	struct sgx_epcm_info info;
	struct sgx_exception exc;
	struct sgx_regs r;
	uint64_t status;
	void *tcs_epc, *ssa_epc, *ro_epc;
	struct efx fx;

	REQUIRE(si);
	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	ro_epc = encl_page_epc(&fx.encl, OFF_RODATA);

	/* Trim the read-only page. */
	memset(si, 0, sizeof(*si));
	si->flags = SGX_SECINFO_TRIM;
	REQUIRE_EQ(__emodt(fx.cpu, si, ro_epc), 0);
	REQUIRE_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	/* remove_added_page_invalid_access: a trimmed page reads as 0x8005. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_RODATA, 0, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8005);
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_RODATA, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED,
			   &status, &exc), 0);
	CHECK_EQ(status, 0);
	REQUIRE_EQ(epcm(&fx, ro_epc, &info), 0);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_TRIM);
	CHECK(!info.modified);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_RODATA, 0, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8005);

	/* tcs_create: EAUG two pages, write a TCS, EMODT it, accept, enter. */
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE, &tcs_epc), 0);
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE + 0x1000, &ssa_epc), 0);
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, RW_REG | SGX_SECINFO_PENDING, &status, &exc),
		   0);
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE + 0x1000, RW_REG | SGX_SECINFO_PENDING, &status,
			   &exc), 0);
	tcs = sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE, X86_PF_WRITE, &exc);
	REQUIRE(tcs);
	cpu_encl_make_tcs(tcs, OFF_FREE + 0x1000, OENTRY);
	tcs->reserved[100] = 1;			/* a bad TCS first */
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	memset(si, 0, sizeof(*si));
	si->flags = SGX_SECINFO_TCS;
	REQUIRE_EQ(__emodt(fx.cpu, si, tcs_epc), 0);
	REQUIRE_EQ(__etrack(fx.cpu, fx.encl.secs), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	CHECK_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, SGX_SECINFO_TCS | SGX_SECINFO_MODIFIED, &status,
			 &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	((struct sgx_tcs *)sgx_epc_data(fx.cpu, tcs_epc))->reserved[100] = 0;
	REQUIRE_EQ(eaccept(&fx, fx.lp, &r, OFF_FREE, SGX_SECINFO_TCS | SGX_SECINFO_MODIFIED,
			   &status, &exc), 0);
	CHECK_EQ(status, 0);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp2, OFF_FREE, &r, &exc), 0);
	CHECK_EQ(r.rip, EBASE + OENTRY);
	CHECK_EQ(sgx_lp_tcs(fx.lp2), EBASE + OFF_FREE);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp2, &r, &exc), 0);

	/* The accepted TRIM page can be removed. */
	CHECK_EQ(__eremove(fx.cpu, ro_epc), 0);
	encl_page_entry(&fx.encl, OFF_RODATA)->epc = NULL;
	cpu_pool_free(&fx.pool, ro_epc);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(si);
}

TEST(enclu_eacceptcopy)
{
	struct sgx_epcm_info info;
	struct sgx_exception exc;
	struct sgx_regs r;
	struct efx fx;
	void *epc;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE, &epc), 0);
	memset(efx_bytes(&fx, OFF_DATA + 0x800), 0xC3, 0x800);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);

	/* W without R, a non-REG type, and a misaligned source are #GP. */
	put_secinfo(&fx, SGX_SECINFO_REG | SGX_SECINFO_W);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF, EBASE + OFF_FREE,
			  EBASE + OFF_DATA, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	put_secinfo(&fx, SGX_SECINFO_TCS);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF, EBASE + OFF_FREE,
			  EBASE + OFF_DATA, &exc), -1);
	put_secinfo(&fx, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF, EBASE + OFF_FREE,
			  EBASE + OFF_DATA + 8, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	/* Destination not pending: mismatch. */
	REQUIRE_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF,
			    EBASE + OFF_SSA2 + 0x1000, EBASE + OFF_DATA, &exc), 0);
	CHECK_EQ(r.rax, SGX_PAGE_ATTRIBUTES_MISMATCH);
	/* Unreadable source (a TCS): #PF 0x8005. */
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF, EBASE + OFF_FREE,
			  EBASE + OFF_TCS2, &exc), -1);
	CHECK_EQ(exc.error_code, 0x8005);

	REQUIRE_EQ(efx_leaf(&fx, fx.lp, &r, EACCEPTCOPY, EBASE + SECINFO_OFF, EBASE + OFF_FREE,
			    EBASE + OFF_DATA, &exc), 0);
	CHECK_EQ(r.rax, 0);
	CHECK(memcmp(sgx_epc_data(fx.cpu, epc), efx_bytes(&fx, OFF_DATA), 4096) == 0);
	REQUIRE_EQ(epcm(&fx, epc, &info), 0);
	CHECK(!info.pending);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE, X86_PF_INSTR, &exc) != NULL);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE, X86_PF_WRITE, &exc) == NULL);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
}

TEST(enclu_emodpe_rules)
{
	struct sgx_epcm_info info;
	struct sgx_exception exc;
	struct sgx_regs r;
	struct efx fx;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eaug(&fx, OFF_FREE, NULL), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);

	/* R -> R|X on the read-only page. */
	put_secinfo(&fx, SGX_SECINFO_X);
	REQUIRE_EQ(efx_leaf(&fx, fx.lp, &r, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_RODATA, 0,
			    &exc), 0);
	REQUIRE_EQ(epcm(&fx, encl_page_epc(&fx.encl, OFF_RODATA), &info), 0);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	/* Pending page and TCS page: EPCM #PF. */
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_FREE, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK(exc.error_code & X86_PF_SGX);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_TCS2, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	/* W without R: #GP. Not in the EPC: plain #PF. */
	put_secinfo(&fx, SGX_SECINFO_W);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_RODATA, 0,
			  &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	put_secinfo(&fx, SGX_SECINFO_R);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EMODPE, EBASE + SECINFO_OFF, EBASE + OFF_FREE + 0x1000,
			  0, &exc), -1);
	CHECK_EQ(exc.error_code, X86_PF_USER);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
}

TEST(enclu_translate_error_codes)
{
	struct sgx_exception exc;
	struct sgx_regs r;
	struct efx fx;
	uint8_t *p;

	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	/* Outside enclave mode there is no enclave to translate in. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_DATA, 0, &exc) == NULL);
	CHECK_EQ(exc.vector, X86_TRAP_GP);

	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	p = sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_DATA + 0x123, X86_PF_WRITE, &exc);
	CHECK(p == (uint8_t *)efx_bytes(&fx, OFF_DATA + 0x123));
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_TEXT, X86_PF_INSTR, &exc) != NULL);
	/* EPCM denials. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_RODATA + 8, X86_PF_WRITE, &exc) == NULL);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, 0x8007);
	CHECK_EQ(exc.addr, EBASE + OFF_RODATA);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_TCS1, 0, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8005);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_DATA, X86_PF_INSTR, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8015);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_TEXT, X86_PF_WRITE, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x8007);
	/* Not in the EPC: plain not-present codes. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE + 0x10, 0, &exc) == NULL);
	CHECK_EQ(exc.vector, X86_TRAP_PF);
	CHECK_EQ(exc.error_code, 0x4);
	CHECK_EQ(exc.addr, EBASE + OFF_FREE);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + OFF_FREE, X86_PF_WRITE, &exc) == NULL);
	CHECK_EQ(exc.error_code, 0x6);
	/* Outside ELRANGE. */
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE + ESIZE, 0, &exc) == NULL);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK(sgx_lp_translate(fx.cpu, fx.lp, EBASE - 1, 0, &exc) == NULL);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
}

TEST(enclu_edmm_needs_sgx2)
{
	struct sgx_cpu_config c;
	struct sgx_exception exc;
	struct sgx_regs r;
	struct sgx_cpu *cpu;
	struct sgx_lp *lp;

	sgx_cpu_default_config(&c);
	c.epc_size = 16 * 4096;
	c.sgx2 = false;
	REQUIRE_EQ(sgx_cpu_create(&c, &cpu), 0);
	lp = sgx_lp_create(cpu);
	REQUIRE(lp);
	memset(&r, 0, sizeof(r));
	r.rax = EACCEPT;
	CHECK_EQ(sgx_enclu(cpu, lp, &r, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	sgx_lp_destroy(lp);
	sgx_cpu_destroy(cpu);
}

// SPDX-License-Identifier: MIT
/*
 * ENCLU tests: EREPORT verified by the target enclave through
 * EGETKEY(REPORT) + CMAC, EGETKEY key policies and every error.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/crypto.h"
#include "cpu/enclu_internal.h"
#include "tests/harness.h"
#include "tests/test_enclu_fixture.h"

#define EBASE2		0x50000000ULL
#define KR_OFF		(OFF_DATA + 0x200)	/* KEYREQUEST / TARGETINFO (512-aligned) */
#define RDATA_OFF	(OFF_DATA + 0x400)	/* REPORTDATA (128-aligned) */
#define OUT_OFF		(OFF_DATA + 0x600)	/* REPORT / key output (512-aligned) */

struct two {
	struct efx fx;
	struct built_encl b;		/* a second enclave: other MRENCLAVE, same signer */
	struct sgx_lp *lp_b;
};

static int two_setup(struct two *t, uint64_t attributes)
{
	if (efx_setup(&t->fx, SGX_MISC_EXINFO, attributes, true))
		return -1;
	t->lp_b = t->fx.lp2;
	return efx_build_encl(&t->fx, &t->b, EBASE2, SGX_MISC_EXINFO, attributes, 0x77, true);
}

static void *bytes_in(struct efx *fx, struct built_encl *e, uint64_t off)
{
	void *epc = encl_page_epc(e, off & ~0xFFFULL);

	return (uint8_t *)sgx_epc_data(fx->cpu, epc) + (off & 0xFFF);
}

static void enter(struct efx *fx, struct sgx_lp *lp, uint64_t base, struct sgx_regs *r)
{
	struct sgx_exception exc;

	efx_host_regs(fx, r, EENTER, OFF_TCS1);
	r->rbx = base + OFF_TCS1;
	sgx_enclu(fx->cpu, lp, r, &exc);
}

/* EREPORT inside enclave (base) for 'ti' with report data byte 'rd'. */
static int ereport(struct efx *fx, struct sgx_lp *lp, struct built_encl *e, struct sgx_regs *r,
		   const struct sgx_targetinfo *ti, uint8_t rd, struct sgx_report *out,
		   struct sgx_exception *exc)
{
	int ret;

	memcpy(bytes_in(fx, e, KR_OFF), ti, sizeof(*ti));
	memset(bytes_in(fx, e, RDATA_OFF), rd, 64);
	ret = efx_leaf(fx, lp, r, EREPORT, e->base + KR_OFF, e->base + RDATA_OFF,
		       e->base + OUT_OFF, exc);
	if (!ret)
		memcpy(out, bytes_in(fx, e, OUT_OFF), sizeof(*out));
	return ret;
}

/* EGETKEY inside enclave e; returns the leaf result, *status = RAX. */
static int egetkey(struct efx *fx, struct sgx_lp *lp, struct built_encl *e, struct sgx_regs *r,
		   const struct sgx_keyrequest *kr, uint8_t key[16], uint64_t *status,
		   struct sgx_exception *exc)
{
	int ret;

	memcpy(bytes_in(fx, e, KR_OFF), kr, sizeof(*kr));
	memset(bytes_in(fx, e, OUT_OFF), 0xEE, 16);
	ret = efx_leaf(fx, lp, r, EGETKEY, e->base + KR_OFF, e->base + OUT_OFF, 0, exc);
	*status = r->rax;
	if (!ret)
		memcpy(key, bytes_in(fx, e, OUT_OFF), 16);
	return ret;
}

static void targetinfo_of(struct sgx_targetinfo *ti, const struct sgx_report_body *b)
{
	memset(ti, 0, sizeof(*ti));
	memcpy(ti->measurement, b->mrenclave, 32);
	ti->attributes = b->attributes;
	ti->miscselect = b->miscselect;
}

TEST(enclu_ereport_verified_by_target)
{
	struct sgx_targetinfo *ti = aligned_alloc(512, sizeof(*ti));
	struct sgx_keyrequest *kr = aligned_alloc(512, sizeof(*kr));
	struct sgx_report *self_b = aligned_alloc(512, sizeof(*self_b));
	struct sgx_report *rep = aligned_alloc(512, sizeof(*rep));
	struct sgx_regs ra, rb;
	struct sgx_exception exc;
	uint8_t key[16], mac[16];
	uint64_t status;
	struct two t;

	REQUIRE(ti && kr && self_b && rep);
	REQUIRE_EQ(two_setup(&t, 0), 0);
	enter(&t.fx, t.fx.lp, EBASE, &ra);
	enter(&t.fx, t.lp_b, EBASE2, &rb);
	REQUIRE(sgx_lp_enclave(t.fx.lp) && sgx_lp_enclave(t.lp_b));

	/* B learns its own identity from a report to nobody in particular. */
	memset(ti, 0, sizeof(*ti));
	REQUIRE_EQ(ereport(&t.fx, t.lp_b, &t.b, &rb, ti, 0, self_b, &exc), 0);

	/* A reports to B. */
	targetinfo_of(ti, &self_b->body);
	REQUIRE_EQ(ereport(&t.fx, t.fx.lp, &t.fx.encl, &ra, ti, 0xAB, rep, &exc), 0);
	CHECK(memcmp(rep->body.mrenclave, self_b->body.mrenclave, 32) != 0);
	CHECK(memcmp(rep->body.mrsigner, self_b->body.mrsigner, 32) == 0);
	CHECK_EQ(rep->body.attributes.flags, SGX_ATTR_INIT | SGX_ATTR_MODE64BIT);
	CHECK_EQ(rep->body.attributes.xfrm, 3);
	CHECK_EQ(rep->body.miscselect, SGX_MISC_EXINFO);
	CHECK_EQ(rep->body.report_data[0], 0xAB);
	CHECK_EQ(rep->body.report_data[63], 0xAB);
	CHECK(rep->body.cpusvn[0] != 0);

	/* B verifies it with its REPORT key for the report's KEYID. */
	memset(kr, 0, sizeof(*kr));
	kr->key_name = SGX_KEYNAME_REPORT;
	memcpy(kr->key_id, rep->key_id, 32);
	REQUIRE_EQ(egetkey(&t.fx, t.lp_b, &t.b, &rb, kr, key, &status, &exc), 0);
	REQUIRE_EQ(status, 0);
	sgx_cmac(key, &rep->body, sizeof(rep->body), mac);
	CHECK(memcmp(mac, rep->mac, 16) == 0);
	/* A tampered body does not verify. */
	rep->body.isv_svn ^= 1;
	sgx_cmac(key, &rep->body, sizeof(rep->body), mac);
	CHECK(memcmp(mac, rep->mac, 16) != 0);
	rep->body.isv_svn ^= 1;
	/* Nor does the MAC verify under A's own REPORT key. */
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, key, &status, &exc), 0);
	sgx_cmac(key, &rep->body, sizeof(rep->body), mac);
	CHECK(memcmp(mac, rep->mac, 16) != 0);

	/* Operand rules: misaligned #GP; output in read-only memory #PF 0x8007. */
	CHECK_EQ(efx_leaf(&t.fx, t.fx.lp, &ra, EREPORT, EBASE + KR_OFF + 64, EBASE + RDATA_OFF,
			  EBASE + OUT_OFF, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(efx_leaf(&t.fx, t.fx.lp, &ra, EREPORT, EBASE + KR_OFF, EBASE + RDATA_OFF + 64,
			  EBASE + OUT_OFF, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(efx_leaf(&t.fx, t.fx.lp, &ra, EREPORT, EBASE + KR_OFF, EBASE + RDATA_OFF,
			  EBASE + OFF_RODATA, &exc), -1);
	CHECK_EQ(exc.error_code, 0x8007);
	CHECK_EQ(efx_leaf(&t.fx, t.fx.lp, &ra, EREPORT, EBASE + OFF_FREE, EBASE + RDATA_OFF,
			  EBASE + OUT_OFF, &exc), -1);
	CHECK_EQ(exc.error_code, 0x4);
	free(ti);
	free(kr);
	free(self_b);
	free(rep);
}

TEST(enclu_egetkey_seal_policies)
{
	struct sgx_keyrequest *kr = aligned_alloc(512, sizeof(*kr));
	uint8_t a1[16], a2[16], b1[16], k[16];
	struct sgx_exception exc;
	struct sgx_regs ra, rb;
	uint64_t status;
	struct two t;

	REQUIRE(kr);
	REQUIRE_EQ(two_setup(&t, 0), 0);
	enter(&t.fx, t.fx.lp, EBASE, &ra);
	enter(&t.fx, t.lp_b, EBASE2, &rb);

	memset(kr, 0, sizeof(*kr));
	kr->key_name = SGX_KEYNAME_SEAL;
	kr->key_policy = SGX_KEYPOLICY_MRENCLAVE;
	kr->key_id[0] = 1;
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, a1, &status, &exc), 0);
	CHECK_EQ(status, 0);
	CHECK(!(ra.rflags & X86_EFLAGS_ZF));
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, a2, &status, &exc), 0);
	CHECK(memcmp(a1, a2, 16) == 0);			/* deterministic */
	REQUIRE_EQ(egetkey(&t.fx, t.lp_b, &t.b, &rb, kr, b1, &status, &exc), 0);
	CHECK(memcmp(a1, b1, 16) != 0);			/* other MRENCLAVE */

	kr->key_policy = SGX_KEYPOLICY_MRSIGNER;
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, a2, &status, &exc), 0);
	REQUIRE_EQ(egetkey(&t.fx, t.lp_b, &t.b, &rb, kr, b1, &status, &exc), 0);
	CHECK(memcmp(a2, b1, 16) == 0);			/* same signer, same product */
	CHECK(memcmp(a1, a2, 16) != 0);
	kr->key_id[0] = 2;
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, k, &status, &exc), 0);
	CHECK(memcmp(k, a2, 16) != 0);			/* KEYID matters */
	kr->key_id[0] = 1;
	kr->attribute_mask.flags = SGX_ATTR_MODE64BIT;
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, k, &status, &exc), 0);
	CHECK(memcmp(k, a2, 16) != 0);			/* masked attributes matter */
	kr->attribute_mask.flags = 0;
	memset(kr->cpusvn, 0, 16);
	kr->cpusvn[0] = 1;				/* an older CPUSVN: another key */
	REQUIRE_EQ(egetkey(&t.fx, t.fx.lp, &t.fx.encl, &ra, kr, k, &status, &exc), 0);
	CHECK_EQ(status, 0);
	CHECK(memcmp(k, a2, 16) != 0);

	free(kr);
}

TEST(enclu_egetkey_errors)
{
	struct sgx_keyrequest *kr = aligned_alloc(512, sizeof(*kr));
	struct sgx_exception exc;
	struct sgx_regs r;
	uint64_t status;
	uint8_t k[16];
	struct efx fx;

	REQUIRE(kr);
	REQUIRE_EQ(efx_setup(&fx, SGX_MISC_EXINFO, 0, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);

	memset(kr, 0, sizeof(*kr));
	kr->key_name = SGX_KEYNAME_SEAL;
	kr->isv_svn = 1;				/* enclave's ISVSVN is 0 */
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_ISVSVN);
	CHECK(r.rflags & X86_EFLAGS_ZF);
	CHECK_EQ(*(uint8_t *)efx_bytes(&fx, OUT_OFF), 0xEE);	/* output untouched */
	kr->isv_svn = 0;
	memset(kr->cpusvn, 0xFF, 16);
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_CPUSVN);
	memset(kr->cpusvn, 0, 16);
	kr->key_name = SGX_KEYNAME_PROVISION;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_ATTRIBUTE);
	kr->key_name = SGX_KEYNAME_PROVISION_SEAL;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_ATTRIBUTE);
	kr->key_name = SGX_KEYNAME_EINITTOKEN;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_ATTRIBUTE);
	kr->key_name = 5;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_KEYNAME);

	/* #GP: reserved bytes, unknown policy bits, KSS policies without KSS, alignment. */
	kr->key_name = SGX_KEYNAME_SEAL;
	kr->reserved2[10] = 1;
	CHECK_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	kr->reserved2[10] = 0;
	kr->key_policy = 0x40;
	CHECK_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	kr->key_policy = SGX_KEYPOLICY_CONFIGID;
	CHECK_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k, &status, &exc), -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	kr->key_policy = 0;
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EGETKEY, EBASE + KR_OFF + 16, EBASE + OUT_OFF, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EGETKEY, EBASE + KR_OFF, EBASE + OUT_OFF + 8, 0, &exc),
		 -1);
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	/* #PF: output read-only, request not in the EPC. */
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EGETKEY, EBASE + KR_OFF, EBASE + OFF_RODATA, 0, &exc),
		 -1);
	CHECK_EQ(exc.error_code, 0x8007);
	CHECK_EQ(efx_leaf(&fx, fx.lp, &r, EGETKEY, EBASE + OFF_FREE, EBASE + OUT_OFF, 0, &exc), -1);
	CHECK_EQ(exc.error_code, 0x4);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	free(kr);
}

TEST(enclu_egetkey_provision_key)
{
	struct sgx_keyrequest *kr = aligned_alloc(512, sizeof(*kr));
	struct sgx_exception exc;
	uint8_t k1[16], k2[16];
	struct sgx_regs r;
	uint64_t status;
	struct efx fx;

	REQUIRE(kr);
	REQUIRE_EQ(efx_setup(&fx, 0, SGX_ATTR_PROVISIONKEY, true), 0);
	REQUIRE_EQ(efx_eenter(&fx, fx.lp, OFF_TCS1, &r, &exc), 0);
	memset(kr, 0, sizeof(*kr));
	kr->key_name = SGX_KEYNAME_PROVISION;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k1, &status, &exc), 0);
	CHECK_EQ(status, 0);
	kr->key_name = SGX_KEYNAME_PROVISION_SEAL;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k2, &status, &exc), 0);
	CHECK_EQ(status, 0);
	CHECK(memcmp(k1, k2, 16) != 0);
	kr->key_name = SGX_KEYNAME_EINITTOKEN;
	REQUIRE_EQ(egetkey(&fx, fx.lp, &fx.encl, &r, kr, k2, &status, &exc), 0);
	CHECK_EQ(status, SGX_INVALID_ATTRIBUTE);
	REQUIRE_EQ(efx_eexit(&fx, fx.lp, &r, &exc), 0);
	free(kr);
}

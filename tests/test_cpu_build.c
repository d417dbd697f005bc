// SPDX-License-Identifier: MIT
/*
 * CPU tests: building enclaves (ECREATE, EADD, EEXTEND, EINIT), EREMOVE,
 * EPA and the debug leaves, with every fault and status they can return.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cpu/cpu_internal.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"

#define BASE	0x40000000ULL
#define SIZE	0x10000ULL
#define SMALL_EPC (64 * 4096ULL)

#define GP (SGX_ENCLS_FAULT_FLAG | X86_TRAP_GP)
#define PF (SGX_ENCLS_FAULT_FLAG | X86_TRAP_PF)
#define UD (SGX_ENCLS_FAULT_FLAG | X86_TRAP_UD)

struct fixture {
	struct sgx_cpu *cpu;
	struct cpu_pool pool;
	struct built_encl encl;
	void *tcs, *text, *data;
};

static uint8_t *page_of(uint8_t byte)
{
	uint8_t *p = aligned_alloc(4096, 4096);

	memset(p, byte, 4096);
	return p;
}

/* A CPU with an enclave: TCS, text (RX), data (RW), all measured; not initialized. */
static int fixture_build(struct fixture *fx, uint64_t attributes)
{
	struct sgx_tcs *tcs = aligned_alloc(4096, sizeof(*tcs));
	uint8_t *text = page_of(0x90), *data = page_of(0x42);
	int ret;

	memset(fx, 0, sizeof(*fx));
	fx->cpu = cpu_test_create(SMALL_EPC, 1);
	if (!fx->cpu || cpu_pool_init(&fx->pool, fx->cpu, 0, sgx_cpu_nr_frames(fx->cpu)))
		return -1;
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
	free(tcs);
	free(text);
	free(data);
	return ret;
}

static struct sgx_secs *secs_image(void)
{
	struct sgx_secs *s = aligned_alloc(4096, sizeof(*s));

	memset(s, 0, sizeof(*s));
	s->base = BASE;
	s->size = SIZE;
	s->ssa_frame_size = 1;
	s->attributes = SGX_ATTR_MODE64BIT;
	s->xfrm = 3;
	return s;
}

TEST(cpu_build_einit_success)
{
	struct fixture fx;
	struct sgx_epcm_info info;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.encl.secs, &info), 0);
	CHECK(info.valid);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_SECS);
	CHECK(info.initialized);
	CHECK_EQ(info.child_count, 3);
	CHECK(info.enclave_id != 0);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.text, &info), 0);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_REG);
	CHECK_EQ(info.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	CHECK_EQ(info.linaddr, BASE + 0x1000);
	CHECK(info.secs == fx.encl.secs);
	REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.tcs, &info), 0);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_TCS);
	CHECK_EQ(info.perm, 0);
	/* The page bytes are where sgx_epc_data says. */
	CHECK_EQ(((uint8_t *)sgx_epc_data(fx.cpu, fx.data))[100], 0x42);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	cpu_encl_destroy(&fx.encl);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	sgx_cpu_destroy(fx.cpu);
}

/* Independent MRENCLAVE: the selftests' record format (facts F.5), with OpenSSL. */
static void selftest_mrenclave(uint8_t out[32], const uint8_t *pages[3], const uint64_t flags[3])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t blk[64];
	uint64_t v;

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	memset(blk, 0, 64);
	memcpy(blk, "ECREATE", 8);
	v = 1;
	memcpy(blk + 8, &v, 4);
	v = SIZE;
	memcpy(blk + 12, &v, 8);
	EVP_DigestUpdate(c, blk, 64);
	for (int p = 0; p < 3; p++) {
		uint64_t off = 0x1000ULL * p;

		memset(blk, 0, 64);
		memcpy(blk, "EADD\0\0\0\0", 8);
		memcpy(blk + 8, &off, 8);
		memcpy(blk + 16, &flags[p], 8);
		EVP_DigestUpdate(c, blk, 64);
		for (uint64_t k = 0; k < 4096; k += 256) {
			uint64_t o = off + k;

			memset(blk, 0, 64);
			memcpy(blk, "EEXTEND", 8);
			memcpy(blk + 8, &o, 8);
			EVP_DigestUpdate(c, blk, 64);
			EVP_DigestUpdate(c, pages[p] + k, 256);
		}
	}
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

TEST(cpu_build_mrenclave_matches_selftest_format)
{
	struct fixture fx;
	struct sgx_tcs *tcs = aligned_alloc(4096, 4096);
	uint8_t *text = page_of(0x90), *data = page_of(0x42), expect[32], mrsigner[32];
	const uint8_t *pages[3] = { (uint8_t *)tcs, text, data };
	const uint64_t flags[3] = { SGX_SECINFO_TCS, SGX_SECINFO_REG | 5, SGX_SECINFO_REG | 3 };
	struct sgx_secs *secs;

	cpu_encl_make_tcs(tcs, 0x4000, 0x1000);
	selftest_mrenclave(expect, pages, flags);
	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	secs = sgx_frame_home(fx.cpu, sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.encl.secs));
	CHECK(memcmp(secs->mrenclave, expect, 32) == 0);
	sgx_signer_mrsigner(cpu_test_signer(), mrsigner);
	CHECK(memcmp(secs->mrsigner, mrsigner, 32) == 0);
	CHECK(secs->attributes & SGX_ATTR_INIT);
	free(tcs);
	free(text);
	free(data);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_ecreate_faults)
{
	struct sgx_cpu *cpu = cpu_test_create(SMALL_EPC, 1);
	struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };
	struct sgx_secinfo bad_si = { .flags = SGX_SECINFO_REG };
	struct sgx_pageinfo pi = { 0 };
	struct sgx_secs *s = secs_image();
	uint8_t *epc;
	struct { struct sgx_pageinfo pi; } __attribute__((aligned(64))) mis;

	REQUIRE(cpu);
	epc = sgx_cpu_frame_addr(cpu, 0);
	pi.contents = (uint64_t)(uintptr_t)s;
	pi.metadata = (uint64_t)(uintptr_t)&si;
	/* Operand faults. */
	CHECK_EQ(sgx_encls(cpu, ECREATE, 0, (uint64_t)(uintptr_t)epc, 0), GP);
	memcpy(&mis.pi, &pi, sizeof(pi));
	CHECK_EQ(sgx_encls(cpu, ECREATE, (uint64_t)(uintptr_t)&mis + 8,
			   (uint64_t)(uintptr_t)epc, 0), GP);
	CHECK_EQ(__ecreate(cpu, &pi, epc + 8), GP);
	CHECK_EQ(__ecreate(cpu, &pi, s), PF);		/* not EPC */
	CHECK_EQ(__ecreate(cpu, &pi, epc + sgx_cpu_nr_frames(cpu) * 4096), PF);
	pi.metadata = (uint64_t)(uintptr_t)&bad_si;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* SECINFO type not SECS */
	pi.metadata = (uint64_t)(uintptr_t)&si;
	pi.addr = BASE;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* linaddr must be 0 */
	pi.addr = 0;
	pi.contents = (uint64_t)(uintptr_t)s + 64;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* misaligned source */
	pi.contents = (uint64_t)(uintptr_t)sgx_cpu_frame_addr(cpu, 3);
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* source inside the EPC */
	pi.contents = (uint64_t)(uintptr_t)s;
	/* SECS content checks. */
	s->size = 0x3000;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* not a power of two */
	s->size = 0x1000;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* < 2 pages */
	s->size = SIZE;
	s->base = BASE + 0x1000;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* base not aligned to size */
	s->base = BASE;
	s->attributes |= SGX_ATTR_INIT;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);
	s->attributes = SGX_ATTR_MODE64BIT | (1ULL << 3);
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* reserved attribute */
	s->attributes = SGX_ATTR_MODE64BIT;
	s->xfrm = 1;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* x87|SSE required */
	s->xfrm = 0x7;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* unsupported XFRM */
	s->xfrm = 3;
	s->miscselect = 2;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);
	s->miscselect = 0;
	s->ssa_frame_size = 0;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);
	s->ssa_frame_size = 1;
	s->reserved4[10] = 1;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);
	s->reserved4[10] = 0;
	s->config_svn = 1;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* CONFIGSVN without KSS */
	s->config_svn = 0;
	s->attributes = 0;
	s->base = 0x100000000ULL;
	CHECK_EQ(__ecreate(cpu, &pi, epc), GP);	/* 32-bit enclave above 4 GiB */
	s->attributes = SGX_ATTR_MODE64BIT;
	s->base = BASE;
	/* Success, then the page is in use: #PF. */
	CHECK_EQ(__ecreate(cpu, &pi, epc), 0);
	CHECK_EQ(__ecreate(cpu, &pi, epc), PF);
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	free(s);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_eadd_faults)
{
	struct fixture fx;
	struct sgx_secinfo si = { .flags = SGX_SECINFO_REG | SGX_SECINFO_R };
	struct sgx_pageinfo pi = { 0 };
	uint8_t *src = page_of(1);
	struct sgx_tcs *tcs = aligned_alloc(4096, 4096);
	void *free_page, *va;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	free_page = cpu_pool_alloc(&fx.pool);
	va = cpu_epa(&fx.pool);
	REQUIRE(va);
	pi.addr = BASE + 0x5000;
	pi.contents = (uint64_t)(uintptr_t)src;
	pi.metadata = (uint64_t)(uintptr_t)&si;
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	CHECK_EQ(__eadd(fx.cpu, &pi, (uint8_t *)free_page + 16), GP);
	CHECK_EQ(__eadd(fx.cpu, &pi, src), PF);
	CHECK_EQ(__eadd(fx.cpu, &pi, fx.text), PF);		/* target in use */
	pi.secs = (uint64_t)(uintptr_t)va;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), PF);		/* not a SECS */
	pi.secs = (uint64_t)(uintptr_t)src;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), PF);		/* SECS not in EPC */
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs + 8;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	pi.secs = (uint64_t)(uintptr_t)fx.encl.secs;
	pi.addr = BASE + 0x5008;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* misaligned linaddr */
	pi.addr = BASE + SIZE;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* outside ELRANGE */
	pi.addr = BASE - 0x1000;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	pi.addr = BASE + 0x1000;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* address already used */
	pi.addr = BASE + 0x5000;
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_W;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* W without R */
	si.flags = SGX_SECINFO_VA;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* wrong type */
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_PENDING;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R;
	si.reserved[3] = 1;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* SECINFO reserved */
	si.reserved[3] = 0;
	pi.metadata += 32;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);		/* SECINFO misaligned */
	pi.metadata -= 32;
	/* TCS content validation. */
	cpu_encl_make_tcs(tcs, 0x4000, 0x1000);
	tcs->ssa_index = 1;
	si.flags = SGX_SECINFO_TCS;
	pi.contents = (uint64_t)(uintptr_t)tcs;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	tcs->ssa_index = 0;
	tcs->ssa_offset = 0x4010;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	tcs->ssa_offset = 0x4000;
	tcs->flags = 2;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), GP);
	tcs->flags = 0;
	CHECK_EQ(__eadd(fx.cpu, &pi, free_page), 0);
	sgx_mrenclave_add_page(&fx.encl.mr, 0x5000, SGX_SECINFO_TCS, tcs, false);
	/* After EINIT, EADD is #GP. */
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	pi.addr = BASE + 0x6000;
	pi.contents = (uint64_t)(uintptr_t)src;
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R;
	CHECK_EQ(__eadd(fx.cpu, &pi, cpu_pool_alloc(&fx.pool)), GP);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(src);
	free(tcs);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_eextend_faults)
{
	struct fixture fx;
	void *other;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	other = cpu_pool_alloc(&fx.pool);
	CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, (uint8_t *)fx.text + 0x80), GP);
	CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, other), PF);		/* free page */
	CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, fx.encl.secs), PF);	/* a SECS */
	CHECK_EQ(__eextend(fx.cpu, fx.data, fx.text), PF);		/* wrong SECS */
	{
		uint8_t *host = page_of(0);

		CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, host), PF);	/* not EPC */
		free(host);
	}
	CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, (uint8_t *)fx.text + 0x100), 0);
	/* That extra EEXTEND changed MRENCLAVE: EINIT with the old hash fails. */
	CHECK_EQ(cpu_encl_init(&fx.encl), SGX_INVALID_MEASUREMENT);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_eextend_after_einit_gp)
{
	struct fixture fx;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	CHECK_EQ(__eextend(fx.cpu, fx.encl.secs, fx.text), GP);
	sgx_cpu_destroy(fx.cpu);
}

/* EINIT with a caller-provided SIGSTRUCT and token. */
static int einit_with(struct fixture *fx, struct sgx_sigstruct *ss, struct sgx_einittoken *t)
{
	return __einit(fx->cpu, ss, t, fx->encl.secs);
}

TEST_TIMEOUT(cpu_einit_statuses, 120)
{
	struct fixture fx;
	struct sgx_sigstruct *ss = aligned_alloc(4096, 4096);
	struct sgx_einittoken *tok = aligned_alloc(512, sizeof(*tok));
	const struct sgx_signer *signer = cpu_test_signer();
	uint64_t zero = 0;

	REQUIRE(signer);
	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), 0);
	memset(tok, 0, sizeof(*tok));
	cpu_test_set_lehash(fx.cpu, signer);

	/* Operand faults. */
	REQUIRE_EQ(encl_sigstruct(&fx.encl, signer, ss), 0);
	CHECK_EQ(__einit(fx.cpu, (uint8_t *)ss + 64, tok, fx.encl.secs), GP);
	CHECK_EQ(__einit(fx.cpu, ss, (uint8_t *)tok + 64, fx.encl.secs), GP);
	CHECK_EQ(__einit(fx.cpu, ss, tok, fx.text), PF);	/* not a SECS */
	CHECK_EQ(__einit(fx.cpu, ss, tok, ss), PF);		/* not EPC */

	/* SIGSTRUCT structure and signature. */
	ss->header.header1[0] ^= 1;
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_SIG_STRUCT);
	ss->header.header1[0] ^= 1;
	ss->signature[5] ^= 1;
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_SIGNATURE);
	ss->signature[5] ^= 1;

	/* Attribute masks: signer demands DEBUG clear, the SECS has it. */
	ss->body.attributes = SGX_ATTR_MODE64BIT;
	ss->body.attributes_mask = SGX_ATTR_DEBUG;
	REQUIRE_EQ(sgx_sigstruct_sign(signer, ss), 0);
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_ATTRIBUTE);
	ss->body.attributes_mask = 0;
	ss->body.misc_mask = 1;
	ss->body.miscselect = 1;
	REQUIRE_EQ(sgx_sigstruct_sign(signer, ss), 0);
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_ATTRIBUTE);
	ss->body.misc_mask = 0;
	ss->body.miscselect = 0;
	ss->body.xfrm_mask = 0x3;
	ss->body.xfrm = 0x1;
	REQUIRE_EQ(sgx_sigstruct_sign(signer, ss), 0);
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_ATTRIBUTE);
	ss->body.xfrm_mask = 0;

	/* Wrong measurement. */
	ss->body.mrenclave[0] ^= 1;
	REQUIRE_EQ(sgx_sigstruct_sign(signer, ss), 0);
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_MEASUREMENT);
	REQUIRE_EQ(encl_sigstruct(&fx.encl, signer, ss), 0);

	/* Launch control: MSRs hash another key; a "valid" token is refused. */
	for (uint32_t m = MSR_IA32_SGXLEPUBKEYHASH0; m <= MSR_IA32_SGXLEPUBKEYHASH3; m++)
		sgx_cpu_wrmsr(fx.cpu, m, zero);
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_EINITTOKEN);
	cpu_test_set_lehash(fx.cpu, signer);
	tok->valid = 1;
	CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_EINITTOKEN);
	tok->valid = 0;

	/* Success, ISV ids copied; then a second EINIT is #GP. */
	ss->body.isvprodid = 0x1234;
	ss->body.isvsvn = 7;
	REQUIRE_EQ(sgx_sigstruct_sign(signer, ss), 0);
	CHECK_EQ(einit_with(&fx, ss, tok), 0);
	{
		int64_t s = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.encl.secs);
		struct sgx_secs *secs = sgx_frame_home(fx.cpu, s);

		CHECK_EQ(secs->isv_prod_id, 0x1234);
		CHECK_EQ(secs->isv_svn, 7);
	}
	CHECK_EQ(einit_with(&fx, ss, tok), GP);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	free(ss);
	free(tok);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_einit_einittokenkey_needs_le_signer)
{
	struct fixture fx;
	uint64_t zero = 0;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY), 0);
	REQUIRE(cpu_test_signer());
	/* cpu_encl_init sets the MSRs to our key: we are "the LE", so it works. */
	CHECK_EQ(cpu_encl_init(&fx.encl), 0);
	sgx_cpu_destroy(fx.cpu);

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY), 0);
	{
		struct sgx_sigstruct *ss = aligned_alloc(4096, 4096);
		struct sgx_einittoken *tok = aligned_alloc(512, sizeof(*tok));

		memset(tok, 0, sizeof(*tok));
		REQUIRE_EQ(encl_sigstruct(&fx.encl, cpu_test_signer(), ss), 0);
		sgx_cpu_wrmsr(fx.cpu, MSR_IA32_SGXLEPUBKEYHASH0, zero);
		CHECK_EQ(einit_with(&fx, ss, tok), SGX_INVALID_ATTRIBUTE);
		free(ss);
		free(tok);
	}
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_eremove_statuses)
{
	struct fixture fx;
	void *free_page;
	struct sgx_lp *lp;
	int64_t s, t;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_init(&fx.encl), 0);
	free_page = cpu_pool_alloc(&fx.pool);
	CHECK_EQ(__eremove(fx.cpu, (uint8_t *)free_page + 8), GP);
	{
		uint8_t *host = page_of(0);

		CHECK_EQ(__eremove(fx.cpu, host), PF);
		free(host);
	}
	CHECK_EQ(__eremove(fx.cpu, free_page), 0);		/* free page: no-op */
	CHECK_EQ(__eremove(fx.cpu, fx.encl.secs), SGX_CHILD_PRESENT);
	/* An LP inside the enclave makes EREMOVE of a child SGX_ENCLAVE_ACT. */
	lp = sgx_lp_create(fx.cpu);
	REQUIRE(lp);
	s = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.encl.secs);
	t = sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.tcs);
	REQUIRE_EQ(sgx_lp_enter_enclave(fx.cpu, lp, s, t, BASE), 0);
	CHECK_EQ(__eremove(fx.cpu, fx.text), SGX_ENCLAVE_ACT);
	REQUIRE_EQ(sgx_lp_leave_enclave(fx.cpu, lp), 0);
	/* Concurrent use of the page: SGX_EPC_PAGE_CONFLICT. */
	REQUIRE(sgx_frame_trylock(fx.cpu, sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.text)));
	CHECK_EQ(__eremove(fx.cpu, fx.text), SGX_EPC_PAGE_CONFLICT);
	sgx_frame_unlock(fx.cpu, sgx_epc_frame(fx.cpu, (uint64_t)(uintptr_t)fx.text));
	CHECK_EQ(__eremove(fx.cpu, fx.text), 0);
	CHECK_EQ(__eremove(fx.cpu, fx.data), 0);
	CHECK_EQ(__eremove(fx.cpu, fx.encl.secs), SGX_CHILD_PRESENT);
	CHECK_EQ(__eremove(fx.cpu, fx.tcs), 0);
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	CHECK_EQ(__eremove(fx.cpu, fx.encl.secs), 0);
	{
		struct sgx_epcm_info info;

		REQUIRE_EQ(sgx_epcm_read(fx.cpu, fx.encl.secs, &info), 0);
		CHECK(!info.valid);
	}
	CHECK_EQ(cpu_test_invariants(fx.cpu), 0);
	sgx_lp_destroy(lp);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_epa_faults)
{
	struct sgx_cpu *cpu = cpu_test_create(SMALL_EPC, 1);
	struct sgx_epcm_info info;
	uint8_t *epc;

	REQUIRE(cpu);
	epc = sgx_cpu_frame_addr(cpu, 5);
	memset(epc, 0xEE, 4096);	/* EPA must zero the slots */
	CHECK_EQ(sgx_encls(cpu, EPA, SGX_PAGE_TYPE_REG, (uint64_t)(uintptr_t)epc, 0), GP);
	CHECK_EQ(__epa(cpu, epc + 4), GP);
	{
		uint8_t *host = page_of(0);

		CHECK_EQ(__epa(cpu, host), PF);
		free(host);
	}
	CHECK_EQ(__epa(cpu, epc), 0);
	CHECK_EQ(__epa(cpu, epc), PF);
	REQUIRE_EQ(sgx_epcm_read(cpu, epc, &info), 0);
	CHECK(info.valid);
	CHECK_EQ(info.page_type, SGX_PAGE_TYPE_VA);
	for (int i = 0; i < 4096; i++)
		if (epc[i])
			CHECK(!"VA page not zeroed");
	CHECK_EQ(__eremove(cpu, epc), 0);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_debug_leaves)
{
	struct fixture fx;
	uint64_t v = 0;
	void *va;

	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), 0);
	va = cpu_epa(&fx.pool);
	CHECK_EQ(__edbgrd(fx.cpu, (uint8_t *)fx.data + 8, &v), 0);
	CHECK_EQ(v, 0x4242424242424242ULL);
	v = 0x1122334455667788ULL;
	CHECK_EQ(__edbgwr(fx.cpu, (uint8_t *)fx.data + 16, &v), 0);
	CHECK_EQ(*(uint64_t *)((uint8_t *)sgx_epc_data(fx.cpu, fx.data) + 16), v);
	CHECK_EQ(__edbgrd(fx.cpu, (uint8_t *)fx.data + 4, &v), GP);	/* misaligned */
	CHECK_EQ(__edbgrd(fx.cpu, cpu_pool_alloc(&fx.pool), &v), PF);	/* free page */
	CHECK_EQ(__edbgrd(fx.cpu, va, &v), SGX_PAGE_NOT_DEBUGGABLE);
	CHECK_EQ(__edbgwr(fx.cpu, fx.encl.secs, &v), SGX_PAGE_NOT_DEBUGGABLE);
	CHECK_EQ(__edbgrd(fx.cpu, fx.encl.secs, &v), 0);		/* SECS.SIZE */
	CHECK_EQ(v, SIZE);
	CHECK_EQ(__edbgwr(fx.cpu, (uint8_t *)fx.tcs + 32, &v), GP);	/* TCS: FLAGS only */
	v = SGX_TCS_DBGOPTIN;
	CHECK_EQ(__edbgwr(fx.cpu, (uint8_t *)fx.tcs + 8, &v), 0);
	sgx_cpu_destroy(fx.cpu);

	/* A production enclave is not debuggable. */
	REQUIRE_EQ(fixture_build(&fx, SGX_ATTR_MODE64BIT), 0);
	CHECK_EQ(__edbgrd(fx.cpu, fx.data, &v), SGX_PAGE_NOT_DEBUGGABLE);
	CHECK_EQ(__edbgwr(fx.cpu, fx.data, &v), SGX_PAGE_NOT_DEBUGGABLE);
	CHECK_EQ(__edbgrd(fx.cpu, fx.encl.secs, &v), SGX_PAGE_NOT_DEBUGGABLE);
	sgx_cpu_destroy(fx.cpu);
}

TEST(cpu_encls_bad_leaf_and_null)
{
	struct sgx_cpu *cpu = cpu_test_create(SMALL_EPC, 1);
	struct sgx_cpu_stats st;

	REQUIRE(cpu);
	CHECK_EQ(sgx_encls(cpu, 16, 0, 0, 0), GP);
	CHECK_EQ(sgx_encls(cpu, 0xFFFFFFFF, 0, 0, 0), GP);
	CHECK_EQ(sgx_encls(NULL, ECREATE, 0, 0, 0), GP);
	for (uint32_t leaf = 0; leaf < 16; leaf++) {
		int r = sgx_encls(cpu, leaf, 0, 0, 0);

		/* All-zero operands never succeed and never crash. */
		CHECK(encls_faulted(r) || r == SGX_SUCCESS);
		if (leaf != EREMOVE && leaf != ETRACK && leaf != EBLOCK)
			CHECK(encls_faulted(r));
	}
	sgx_cpu_get_stats(cpu, &st);
	CHECK_EQ(st.encls[ECREATE], 1);
	CHECK(st.encls_faults >= 14);
	sgx_cpu_destroy(cpu);
}

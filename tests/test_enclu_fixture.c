// SPDX-License-Identifier: MIT
/* Fixture of the ENCLU tests: see test_enclu_fixture.h. */
#include <stdlib.h>
#include <string.h>

#include "tests/test_enclu_fixture.h"

int efx_build_encl(struct efx *fx, struct built_encl *e, uint64_t base, uint32_t misc,
		   uint64_t attributes, uint8_t variant, bool init)
{
	static const struct { uint64_t off, flags; } regs[] = {
		{ OFF_TEXT, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X },
		{ OFF_SSA1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ OFF_DATA, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ OFF_SSA2, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ OFF_SSA2 + 0x1000, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ OFF_RODATA, SGX_SECINFO_REG | SGX_SECINFO_R },
	};
	uint8_t *page = aligned_alloc(4096, 4096);
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	int ret;

	if (!page)
		return -1;
	ret = cpu_encl_create_misc(e, fx->cpu, &fx->pool, base, ESIZE,
				   attributes | SGX_ATTR_MODE64BIT, misc);
	cpu_encl_make_tcs(tcs, OFF_SSA1, OENTRY);
	tcs->fs_offset = OFF_DATA;
	tcs->gs_offset = OFF_DATA;
	if (!ret)
		ret = cpu_encl_add(e, OFF_TCS1, tcs, SGX_SECINFO_TCS, true, NULL);
	cpu_encl_make_tcs(tcs, OFF_SSA2, OENTRY);
	tcs->nr_ssa_frames = 2;
	if (!ret)
		ret = cpu_encl_add(e, OFF_TCS2, tcs, SGX_SECINFO_TCS, true, NULL);
	for (unsigned int i = 0; !ret && i < sizeof(regs) / sizeof(regs[0]); i++) {
		memset(page, (int)(0x10 + i), 4096);
		if (regs[i].off == OFF_TEXT)
			page[0] = variant;
		ret = cpu_encl_add(e, regs[i].off, page, regs[i].flags, true, NULL);
	}
	free(page);
	if (!ret && init)
		ret = cpu_encl_init(e);
	return ret;
}

int efx_setup(struct efx *fx, uint32_t misc, uint64_t attributes, bool init)
{
	memset(fx, 0, sizeof(*fx));
	fx->cpu = cpu_test_create(EFX_EPC_PAGES * 4096ULL, 1);
	if (!fx->cpu || cpu_pool_init(&fx->pool, fx->cpu, 0, sgx_cpu_nr_frames(fx->cpu)))
		return -1;
	fx->lp = sgx_lp_create(fx->cpu);
	fx->lp2 = sgx_lp_create(fx->cpu);
	if (!fx->lp || !fx->lp2)
		return -1;
	return efx_build_encl(fx, &fx->encl, EBASE, misc, attributes, 0, init);
}

void *efx_bytes(struct efx *fx, uint64_t off)
{
	void *epc = encl_page_epc(&fx->encl, off & ~0xFFFULL);

	if (!epc)
		return NULL;
	return (uint8_t *)sgx_epc_data(fx->cpu, epc) + (off & 0xFFF);
}

void efx_host_regs(const struct efx *fx, struct sgx_regs *r, uint32_t leaf, uint64_t tcs_off)
{
	memset(r, 0, sizeof(*r));
	r->rax = leaf;
	r->rbx = fx->encl.base + tcs_off;
	r->rcx = HOST_AEP;
	r->rdx = 0xD0D0;
	r->rsi = 0x5151;
	r->rdi = 0xD1D1;
	r->rsp = HOST_RSP;
	r->rbp = HOST_RBP;
	r->r8 = 8;
	r->r15 = 15;
	r->rip = HOST_RIP;
	r->rflags = 0x202;
	r->fsbase = HOST_FS;
	r->gsbase = HOST_GS;
}

int efx_eenter(struct efx *fx, struct sgx_lp *lp, uint64_t tcs_off, struct sgx_regs *r,
	       struct sgx_exception *exc)
{
	efx_host_regs(fx, r, EENTER, tcs_off);
	return sgx_enclu(fx->cpu, lp, r, exc);
}

int efx_eexit(struct efx *fx, struct sgx_lp *lp, struct sgx_regs *r, struct sgx_exception *exc)
{
	r->rax = EEXIT;
	r->rbx = HOST_RIP + 3;
	return sgx_enclu(fx->cpu, lp, r, exc);
}

int efx_leaf(struct efx *fx, struct sgx_lp *lp, struct sgx_regs *r, uint32_t leaf, uint64_t rbx,
	     uint64_t rcx, uint64_t rdx, struct sgx_exception *exc)
{
	r->rax = leaf;
	r->rbx = rbx;
	r->rcx = rcx;
	r->rdx = rdx;
	return sgx_enclu(fx->cpu, lp, r, exc);
}

int efx_eaug(struct efx *fx, uint64_t off, void **epc_out)
{
	struct sgx_pageinfo pi = { 0 };
	void *epc = cpu_pool_alloc(&fx->pool);
	int ret;

	if (!epc)
		return -1;
	pi.addr = fx->encl.base + off;
	pi.secs = (uint64_t)(uintptr_t)fx->encl.secs;
	ret = __eaug(fx->cpu, &pi, epc);
	if (ret) {
		cpu_pool_free(&fx->pool, epc);
		return ret;
	}
	if (epc_out)
		*epc_out = epc;
	return 0;
}

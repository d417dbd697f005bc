// SPDX-License-Identifier: MIT
/*
 * Enclave building straight through ENCLS; see encl_build.h. Kept minimal
 * and explicit on purpose: the showcase prints each of these steps, so each
 * function is one architectural step with the operands the SDM asks for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/encl_build.h"

void *page_alloc(void)
{
	void *p = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);

	if (p)
		memset(p, 0, SGX_PAGE_SIZE);
	return p;
}

void *epc_find_free(struct sgx_cpu *cpu, uint64_t *hint)
{
	uint64_t n = sgx_cpu_nr_frames(cpu);

	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = (*hint + k) % n;
		void *epc = sgx_cpu_frame_addr(cpu, i);
		struct sgx_epcm_info info;

		if (!epc || sgx_epcm_read(cpu, epc, &info) || info.valid)
			continue;
		*hint = i + 1;
		return epc;
	}
	return NULL;
}

void epc_usage(struct sgx_cpu *cpu, struct epc_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->total = sgx_cpu_nr_frames(cpu);
	for (uint64_t i = 0; i < u->total; i++) {
		struct sgx_epcm_info info;

		if (sgx_epcm_read(cpu, sgx_cpu_frame_addr(cpu, i), &info) || !info.valid)
			continue;
		u->used++;
		if (info.page_type < sizeof(u->by_type) / sizeof(u->by_type[0]))
			u->by_type[info.page_type]++;
	}
}

int encl_create(struct built_encl *e, struct sgx_cpu *cpu, uint64_t base, uint64_t size,
		uint64_t attributes)
{
	struct sgx_secinfo secinfo = { 0 };
	struct sgx_pageinfo pginfo = { 0 };
	struct sgx_secs *secs;
	void *epc;
	int ret;

	memset(e, 0, sizeof(*e));
	e->cpu = cpu;
	e->base = base;
	e->size = size;
	e->ssa_frame_size = 1;		/* x87|SSE state fits in one page */
	e->attributes = attributes;
	e->xfrm = 0x3;
	epc = epc_find_free(cpu, &e->frame_hint);
	if (!epc)
		return -ENOSPC;
	secs = page_alloc();
	if (!secs)
		return -ENOMEM;
	secs->size = size;
	secs->base = base;
	secs->ssa_frame_size = e->ssa_frame_size;
	secs->attributes = attributes;
	secs->xfrm = e->xfrm;
	/* The kernel's sgx_encl_create(): ECREATE takes an empty SECINFO. */
	pginfo.contents = SGX_CPU_PTR(secs);
	pginfo.metadata = SGX_CPU_PTR(&secinfo);
	ret = __ecreate(cpu, &pginfo, epc);
	free(secs);
	if (ret)
		return ret;
	e->secs = epc;
	sgx_mrenclave_ecreate(&e->mr, e->ssa_frame_size, size);
	return 0;
}

int encl_add_page(struct built_encl *e, uint64_t offset, uint64_t secinfo_flags,
		  const void *src, bool measure)
{
	struct sgx_secinfo secinfo = { .flags = secinfo_flags };
	struct sgx_pageinfo pginfo = { 0 };
	struct encl_page *page;
	void *epc;
	int ret;

	if (e->nr_pages >= ENCL_MAX_PAGES)
		return -E2BIG;
	epc = epc_find_free(e->cpu, &e->frame_hint);
	if (!epc)
		return -ENOSPC;
	pginfo.addr = e->base + offset;
	pginfo.contents = SGX_CPU_PTR(src);
	pginfo.metadata = SGX_CPU_PTR(&secinfo);
	pginfo.secs = SGX_CPU_PTR(e->secs);
	ret = __eadd(e->cpu, &pginfo, epc);
	if (ret)
		return ret;
	page = &e->pages[e->nr_pages++];
	page->epc = epc;
	page->offset = offset;
	page->secinfo_flags = secinfo_flags;
	sgx_mrenclave_add_page(&e->mr, offset, secinfo_flags, src, measure);
	if (!measure)
		return 0;
	/* EEXTEND measures 256 bytes at a time, named by their EPC address. */
	for (unsigned int c = 0; c < SGX_PAGE_SIZE; c += SGX_EEXTEND_BLOCK_SIZE) {
		ret = __eextend(e->cpu, e->secs, (uint8_t *)epc + c);
		if (ret)
			return ret;
	}
	return 0;
}

int encl_init(struct built_encl *e, const struct sgx_signer *key, bool corrupt_measurement)
{
	struct sgx_sigstruct *ss;
	struct sgx_mrenclave mr = e->mr;	/* final() consumes the state */
	uint8_t mrsigner[32], hash[32];
	uint64_t msr[4];
	void *token;
	int ret;

	sgx_mrenclave_final(&mr, hash);
	if (!corrupt_measurement)
		memcpy(e->mrenclave, hash, sizeof(hash));
	else
		hash[0] ^= 1;
	/*
	 * As the kernel does: SIGSTRUCT in the first half of a page, a zeroed
	 * EINITTOKEN (VALID = 0: launch control by the MSRs) in the second.
	 */
	ss = page_alloc();
	if (!ss)
		return -ENOMEM;
	token = (uint8_t *)ss + SGX_PAGE_SIZE / 2;
	sgx_sigstruct_init(ss, hash, e->attributes, e->xfrm);
	if (sgx_sigstruct_sign(key, ss)) {
		free(ss);
		return -EINVAL;
	}
	sgx_signer_mrsigner(key, mrsigner);
	memcpy(msr, mrsigner, sizeof(msr));
	for (unsigned int i = 0; i < 4; i++) {
		ret = sgx_cpu_wrmsr(e->cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, msr[i]);
		if (ret) {
			free(ss);
			return ret;
		}
	}
	ret = __einit(e->cpu, ss, token, e->secs);
	free(ss);
	return ret;
}

int encl_destroy(struct built_encl *e)
{
	int first_err = 0;

	for (unsigned int i = 0; i < e->nr_pages; i++) {
		int ret;

		if (!e->pages[i].epc)
			continue;
		ret = __eremove(e->cpu, e->pages[i].epc);
		if (ret && !first_err)
			first_err = ret;
		if (!ret)
			e->pages[i].epc = NULL;
	}
	if (e->secs) {
		int ret = __eremove(e->cpu, e->secs);

		if (ret && !first_err)
			first_err = ret;
		if (!ret)
			e->secs = NULL;
	}
	return first_err;
}

const char *encl_strerror(int ret, char *buf, size_t len)
{
	if (ret < 0)
		snprintf(buf, len, "%s", strerror(-ret));
	else if (encls_faulted(ret))
		snprintf(buf, len, "%s fault", encls_trapnr(ret) == X86_TRAP_GP ? "#GP" :
			 encls_trapnr(ret) == X86_TRAP_PF ? "#PF" : "ENCLS");
	else if (ret == 0)
		snprintf(buf, len, "SGX_SUCCESS");
	else
		snprintf(buf, len, "%s (%d)", sgx_status_name(ret), ret);
	return buf;
}

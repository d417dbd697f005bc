// SPDX-License-Identifier: MIT
/*
 * Enclave building straight through ENCLS; see builder.h. Kept minimal and
 * explicit on purpose: the showcase prints each of these steps, so each
 * function is one architectural step with the operands the SDM asks for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enclave/builder.h"

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

void *encl_frame_alloc(struct built_encl *e)
{
	if (e->frames.alloc)
		return e->frames.alloc(e->frames.arg);
	return epc_find_free(e->cpu, &e->frame_hint);
}

void encl_frame_free(struct built_encl *e, void *epc)
{
	/* Without a source the EPCM is the bookkeeping: nothing to give back. */
	if (e->frames.free)
		e->frames.free(e->frames.arg, epc);
}

int encl_create_config(struct built_encl *e, struct sgx_cpu *cpu, const struct encl_config *c)
{
	/* The kernel's sgx_encl_create(): ECREATE takes an empty SECINFO (type SECS). */
	struct sgx_secinfo secinfo = { .flags = SGX_SECINFO_SECS };
	struct sgx_pageinfo pginfo = { 0 };
	struct sgx_secs *secs;
	void *epc;
	int ret;

	memset(e, 0, sizeof(*e));
	e->cpu = cpu;
	e->frames = c->frames;
	e->base = c->base;
	e->size = c->size;
	e->ssa_frame_size = c->ssa_frame_size ? c->ssa_frame_size : 1;
	e->miscselect = c->miscselect;
	e->attributes = c->attributes;
	e->xfrm = c->xfrm ? c->xfrm : 0x3;
	secs = page_alloc();
	if (!secs)
		return -ENOMEM;
	epc = encl_frame_alloc(e);
	if (!epc) {
		free(secs);
		return -ENOSPC;
	}
	secs->size = e->size;
	secs->base = e->base;
	secs->ssa_frame_size = e->ssa_frame_size;
	secs->miscselect = e->miscselect;
	secs->attributes = e->attributes;
	secs->xfrm = e->xfrm;
	pginfo.contents = SGX_CPU_PTR(secs);
	pginfo.metadata = SGX_CPU_PTR(&secinfo);
	ret = __ecreate(cpu, &pginfo, epc);
	free(secs);
	if (ret) {
		encl_frame_free(e, epc);
		return ret;
	}
	e->secs = epc;
	sgx_mrenclave_ecreate(&e->mr, e->ssa_frame_size, e->size);
	return 0;
}

int encl_create(struct built_encl *e, struct sgx_cpu *cpu, uint64_t base, uint64_t size,
		uint64_t attributes)
{
	const struct encl_config c = { .base = base, .size = size, .attributes = attributes };

	return encl_create_config(e, cpu, &c);
}

static struct encl_page *new_page_entry(struct built_encl *e)
{
	if (e->nr_pages == e->cap_pages) {
		unsigned int cap = e->cap_pages ? e->cap_pages * 2 : 16;
		struct encl_page *p = realloc(e->pages, cap * sizeof(*p));

		if (!p)
			return NULL;
		e->pages = p;
		e->cap_pages = cap;
	}
	return &e->pages[e->nr_pages];
}

/* EEXTEND measures 256 bytes at a time, named by their EPC address. */
static int measure_page(struct built_encl *e, void *epc)
{
	for (unsigned int c = 0; c < SGX_PAGE_SIZE; c += SGX_EEXTEND_BLOCK_SIZE) {
		int ret = __eextend(e->cpu, e->secs, (uint8_t *)epc + c);

		if (ret)
			return ret;
	}
	return 0;
}

int encl_add_page(struct built_encl *e, uint64_t offset, uint64_t secinfo_flags,
		  const void *src, bool measure)
{
	struct sgx_secinfo secinfo = { .flags = secinfo_flags };
	struct sgx_pageinfo pginfo = { 0 };
	struct encl_page *page;
	uint8_t *copy;
	void *epc;
	int ret;

	/* Reserve the entry first: once EADD succeeded nothing may fail but a leaf. */
	page = new_page_entry(e);
	copy = page_alloc();	/* EADD wants a page-aligned source */
	if (!page || !copy) {
		free(copy);
		return -ENOMEM;
	}
	if (src)
		memcpy(copy, src, SGX_PAGE_SIZE);
	epc = encl_frame_alloc(e);
	if (!epc) {
		free(copy);
		return -ENOSPC;
	}
	pginfo.addr = e->base + offset;
	pginfo.contents = SGX_CPU_PTR(copy);
	pginfo.metadata = SGX_CPU_PTR(&secinfo);
	pginfo.secs = SGX_CPU_PTR(e->secs);
	ret = __eadd(e->cpu, &pginfo, epc);
	if (!ret && measure) {
		ret = measure_page(e, epc);
		if (ret)
			__eremove(e->cpu, epc);
	}
	if (ret) {
		encl_frame_free(e, epc);
		free(copy);
		return ret;
	}
	sgx_mrenclave_add_page(&e->mr, offset, secinfo_flags, copy, measure);
	free(copy);
	page->epc = epc;
	page->offset = offset;
	page->secinfo_flags = secinfo_flags;
	e->nr_pages++;
	return 0;
}

struct encl_page *encl_page_entry(struct built_encl *e, uint64_t offset)
{
	for (unsigned int i = 0; i < e->nr_pages; i++)
		if (e->pages[i].offset == offset)
			return &e->pages[i];
	return NULL;
}

void *encl_page_epc(const struct built_encl *e, uint64_t offset)
{
	for (unsigned int i = 0; i < e->nr_pages; i++)
		if (e->pages[i].offset == offset)
			return e->pages[i].epc;
	return NULL;
}

int encl_sigstruct(const struct built_encl *e, const struct sgx_signer *key,
		   struct sgx_sigstruct *ss)
{
	struct sgx_mrenclave mr = e->mr;	/* final() consumes the state */
	uint8_t hash[32];

	sgx_mrenclave_final(&mr, hash);
	sgx_sigstruct_init(ss, hash, e->attributes, e->xfrm);
	return sgx_sigstruct_sign(key, ss);
}

int encl_set_lehash(struct sgx_cpu *cpu, const struct sgx_signer *key)
{
	uint8_t mrsigner[32];
	uint64_t msr[4];

	sgx_signer_mrsigner(key, mrsigner);
	memcpy(msr, mrsigner, sizeof(msr));
	for (unsigned int i = 0; i < 4; i++) {
		int ret = sgx_cpu_wrmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, msr[i]);

		if (ret)
			return ret;
	}
	return 0;
}

int encl_init(struct built_encl *e, const struct sgx_signer *key, bool corrupt_measurement)
{
	struct sgx_sigstruct *ss;
	struct sgx_mrenclave mr = e->mr;	/* final() consumes the state */
	uint8_t hash[32];
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
	ret = encl_set_lehash(e->cpu, key);
	if (!ret)
		ret = __einit(e->cpu, ss, token, e->secs);
	free(ss);
	return ret;
}

/* EREMOVE of one resident frame; the frame goes back to the source. */
static int remove_frame(struct built_encl *e, void **epc, int first_err)
{
	int ret;

	if (!*epc)
		return first_err;
	ret = __eremove(e->cpu, *epc);
	if (ret)
		return first_err ? first_err : ret;
	encl_frame_free(e, *epc);
	*epc = NULL;
	return first_err;
}

int encl_destroy(struct built_encl *e)
{
	int first_err = 0;

	for (unsigned int i = 0; i < e->nr_pages; i++)
		first_err = remove_frame(e, &e->pages[i].epc, first_err);
	first_err = remove_frame(e, &e->secs, first_err);
	if (!first_err)
		encl_forget(e);
	return first_err;
}

void encl_forget(struct built_encl *e)
{
	free(e->pages);
	e->pages = NULL;
	e->nr_pages = 0;
	e->cap_pages = 0;
	e->secs = NULL;
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

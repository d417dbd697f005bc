// SPDX-License-Identifier: MIT
/* Test helper: build and page small enclaves on an emulated CPU (cpu_encl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/cpu_encl.h"

struct sgx_cpu *cpu_test_create(uint64_t epc_size, unsigned int nr_sections)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;

	sgx_cpu_default_config(&c);
	c.epc_size = epc_size;
	c.nr_sections = nr_sections;
	c.have_secret = true;
	for (unsigned int i = 0; i < sizeof(c.secret); i++)
		c.secret[i] = (uint8_t)(0x5A ^ i);
	if (sgx_cpu_create(&c, &cpu))
		return NULL;
	return cpu;
}

const struct sgx_signer *cpu_test_signer(void)
{
	static struct sgx_signer *signer;	/* per process: keygen is slow */

	if (!signer)
		signer = sgx_signer_generate();
	return signer;
}

void cpu_test_set_lehash(struct sgx_cpu *cpu, const struct sgx_signer *s)
{
	uint8_t h[32];
	uint64_t v;

	sgx_signer_mrsigner(s, h);
	for (unsigned int i = 0; i < 4; i++) {
		memcpy(&v, h + 8 * i, 8);
		sgx_cpu_wrmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, v);
	}
}

int cpu_pool_init(struct cpu_pool *p, struct sgx_cpu *cpu, uint64_t first, uint64_t count)
{
	if (first + count > sgx_cpu_nr_frames(cpu))
		return -1;
	p->cpu = cpu;
	p->first = first;
	p->count = count;
	p->used = calloc(count ? count : 1, 1);
	return p->used ? 0 : -1;
}

void cpu_pool_destroy(struct cpu_pool *p)
{
	free(p->used);
	p->used = NULL;
}

void *cpu_pool_alloc(struct cpu_pool *p)
{
	for (uint64_t i = 0; i < p->count; i++) {
		if (!p->used[i]) {
			p->used[i] = 1;
			return sgx_cpu_frame_addr(p->cpu, p->first + i);
		}
	}
	return NULL;
}

void cpu_pool_free(struct cpu_pool *p, void *epc)
{
	for (uint64_t i = 0; i < p->count; i++)
		if (sgx_cpu_frame_addr(p->cpu, p->first + i) == epc)
			p->used[i] = 0;
}

int cpu_encl_create(struct cpu_encl *e, struct sgx_cpu *cpu, struct cpu_pool *pool,
		    uint64_t base, uint64_t size, uint64_t attributes)
{
	struct sgx_secs *secs = aligned_alloc(4096, sizeof(*secs));
	struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };
	struct sgx_pageinfo pi = { 0 };
	int ret;

	memset(e, 0, sizeof(*e));
	e->cpu = cpu;
	e->pool = pool;
	e->base = base;
	e->size = size;
	e->attributes = attributes;
	e->xfrm = 3;
	e->ssa_frame_size = 1;
	if (!secs)
		return -1;
	memset(secs, 0, sizeof(*secs));
	secs->base = base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->attributes = attributes;
	secs->xfrm = 3;
	e->secs = cpu_pool_alloc(pool);
	if (!e->secs) {
		free(secs);
		return -1;
	}
	pi.contents = (uint64_t)(uintptr_t)secs;
	pi.metadata = (uint64_t)(uintptr_t)&si;
	ret = __ecreate(cpu, &pi, e->secs);
	free(secs);
	if (ret) {
		cpu_pool_free(pool, e->secs);
		e->secs = NULL;
		return ret;
	}
	sgx_mrenclave_ecreate(&e->mr, e->ssa_frame_size, size);
	return 0;
}

static int remember_page(struct cpu_encl *e, uint64_t offset, void *epc)
{
	if (e->nr_pages == e->cap_pages) {
		unsigned int cap = e->cap_pages ? e->cap_pages * 2 : 16;
		struct cpu_encl_page *p = realloc(e->pages, cap * sizeof(*p));

		if (!p)
			return -1;
		e->pages = p;
		e->cap_pages = cap;
	}
	e->pages[e->nr_pages].offset = offset;
	e->pages[e->nr_pages].epc = epc;
	e->nr_pages++;
	return 0;
}

int cpu_encl_add(struct cpu_encl *e, uint64_t offset, const void *contents, uint64_t flags,
		 bool measure, void **epc_out)
{
	uint8_t *src = aligned_alloc(4096, 4096);
	struct sgx_secinfo si = { .flags = flags };
	struct sgx_pageinfo pi = { 0 };
	void *epc;
	int ret;

	if (!src)
		return -1;
	if (contents)
		memcpy(src, contents, 4096);
	else
		memset(src, 0, 4096);
	epc = cpu_pool_alloc(e->pool);
	if (!epc) {
		free(src);
		return -1;
	}
	pi.addr = e->base + offset;
	pi.contents = (uint64_t)(uintptr_t)src;
	pi.metadata = (uint64_t)(uintptr_t)&si;
	pi.secs = (uint64_t)(uintptr_t)e->secs;
	ret = __eadd(e->cpu, &pi, epc);
	if (ret)
		goto fail;
	if (measure) {
		for (unsigned int k = 0; k < 4096; k += 256) {
			ret = __eextend(e->cpu, e->secs, (uint8_t *)epc + k);
			if (ret)
				goto fail_added;
		}
	}
	sgx_mrenclave_add_page(&e->mr, offset, flags, src, measure);
	free(src);
	if (remember_page(e, offset, epc))
		return -1;
	if (epc_out)
		*epc_out = epc;
	return 0;
fail_added:
	__eremove(e->cpu, epc);
fail:
	cpu_pool_free(e->pool, epc);
	free(src);
	return ret;
}

void cpu_encl_make_tcs(struct sgx_tcs *tcs, uint64_t ossa, uint64_t oentry)
{
	memset(tcs, 0, sizeof(*tcs));
	tcs->ssa_offset = ossa;
	tcs->nr_ssa_frames = 1;
	tcs->entry_offset = oentry;
	tcs->fs_limit = 0xFFFFFFFF;
	tcs->gs_limit = 0xFFFFFFFF;
}

int cpu_encl_sigstruct(struct cpu_encl *e, const struct sgx_signer *s, struct sgx_sigstruct *ss)
{
	struct sgx_mrenclave m = e->mr;		/* final() consumes the copy only */
	uint8_t hash[32];

	sgx_mrenclave_final(&m, hash);
	sgx_sigstruct_init(ss, hash, e->attributes, e->xfrm);
	return sgx_sigstruct_sign(s, ss);
}

int cpu_encl_init(struct cpu_encl *e)
{
	const struct sgx_signer *s = cpu_test_signer();
	struct sgx_einittoken *token;
	struct sgx_sigstruct *ss;
	int ret = -1;

	if (!s)
		return -1;
	ss = aligned_alloc(4096, 4096);
	token = aligned_alloc(512, sizeof(*token));
	if (!ss || !token)
		goto out;
	memset(token, 0, sizeof(*token));
	if (cpu_encl_sigstruct(e, s, ss))
		goto out;
	cpu_test_set_lehash(e->cpu, s);
	ret = __einit(e->cpu, ss, token, e->secs);
out:
	free(ss);
	free(token);
	return ret;
}

struct cpu_encl_page *cpu_encl_page_entry(struct cpu_encl *e, uint64_t offset)
{
	for (unsigned int i = 0; i < e->nr_pages; i++)
		if (e->pages[i].offset == offset)
			return &e->pages[i];
	return NULL;
}

void *cpu_encl_page(const struct cpu_encl *e, uint64_t offset)
{
	for (unsigned int i = 0; i < e->nr_pages; i++)
		if (e->pages[i].offset == offset)
			return e->pages[i].epc;
	return NULL;
}

void cpu_encl_destroy(struct cpu_encl *e)
{
	for (unsigned int i = 0; i < e->nr_pages; i++) {
		if (!e->pages[i].epc)
			continue;
		__eremove(e->cpu, e->pages[i].epc);
		cpu_pool_free(e->pool, e->pages[i].epc);
	}
	if (e->secs) {
		__eremove(e->cpu, e->secs);
		cpu_pool_free(e->pool, e->secs);
	}
	free(e->pages);
	memset(e, 0, sizeof(*e));
}

void *cpu_epa(struct cpu_pool *pool)
{
	void *va = cpu_pool_alloc(pool);

	if (va && __epa(pool->cpu, va)) {
		cpu_pool_free(pool, va);
		return NULL;
	}
	return va;
}

static int ewb(struct sgx_cpu *cpu, void *epc, uint64_t *slot, struct cpu_evicted *out)
{
	struct sgx_pageinfo pi = { 0 };

	pi.contents = (uint64_t)(uintptr_t)out->contents;
	pi.metadata = (uint64_t)(uintptr_t)&out->pcmd;
	out->va_slot = slot;
	return __ewb(cpu, &pi, epc, slot);
}

int cpu_evict(struct sgx_cpu *cpu, void *secs, void *epc, uint64_t linaddr, uint64_t *slot,
	      struct cpu_evicted *out)
{
	int ret;

	ret = __eblock(cpu, epc);
	if (!ret)
		ret = __etrack(cpu, secs);
	if (!ret)
		ret = ewb(cpu, epc, slot, out);
	out->linaddr = linaddr;
	return ret;
}

int cpu_evict_nochild(struct sgx_cpu *cpu, void *epc, uint64_t *slot, struct cpu_evicted *out)
{
	out->linaddr = 0;
	return ewb(cpu, epc, slot, out);
}

int cpu_reload(struct sgx_cpu *cpu, void *secs, void *epc, const struct cpu_evicted *in,
	       bool blocked)
{
	struct sgx_pageinfo pi = { 0 };

	pi.addr = in->linaddr;
	pi.contents = (uint64_t)(uintptr_t)in->contents;
	pi.metadata = (uint64_t)(uintptr_t)&in->pcmd;
	pi.secs = (uint64_t)(uintptr_t)secs;
	if (blocked)
		return __eldb(cpu, &pi, epc, in->va_slot);
	return __eldu(cpu, &pi, epc, in->va_slot);
}

int cpu_encl_evict_all(struct cpu_encl *e, uint64_t *va, struct cpu_evicted *pages,
		       struct cpu_evicted *secs)
{
	int ret;

	for (unsigned int i = 0; i < e->nr_pages; i++) {
		if (!e->pages[i].epc)
			continue;
		ret = cpu_evict(e->cpu, e->secs, e->pages[i].epc, e->base + e->pages[i].offset,
				&va[i], &pages[i]);
		if (ret)
			return ret;
		cpu_pool_free(e->pool, e->pages[i].epc);
		e->pages[i].epc = NULL;
	}
	ret = cpu_evict_nochild(e->cpu, e->secs, &va[e->nr_pages], secs);
	if (ret)
		return ret;
	cpu_pool_free(e->pool, e->secs);
	e->secs = NULL;
	return 0;
}

int cpu_encl_reload_all(struct cpu_encl *e, struct cpu_evicted *pages, struct cpu_evicted *secs)
{
	int ret;

	e->secs = cpu_pool_alloc(e->pool);
	if (!e->secs)
		return -1;
	ret = cpu_reload(e->cpu, NULL, e->secs, secs, false);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < e->nr_pages; i++) {
		void *epc = cpu_pool_alloc(e->pool);

		if (!epc)
			return -1;
		ret = cpu_reload(e->cpu, e->secs, epc, &pages[i], false);
		if (ret) {
			cpu_pool_free(e->pool, epc);
			return ret;
		}
		e->pages[i].epc = epc;
	}
	return 0;
}

int cpu_test_invariants(struct sgx_cpu *cpu)
{
	char buf[256];

	if (sgx_cpu_check_invariants(cpu, buf, sizeof(buf)) == 0)
		return 0;
	fprintf(stderr, "    invariants: %s\n", buf);
	return -1;
}

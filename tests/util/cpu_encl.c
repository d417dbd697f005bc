// SPDX-License-Identifier: MIT
/* Test helper: build and page small enclaves on an emulated CPU (cpu_encl.h). */
#include <pthread.h>
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

static struct sgx_signer *test_signer;	/* per process: keygen is slow */

static void test_signer_init(void)
{
	test_signer = sgx_signer_generate();
}

/* Thread-safe: the cgroup stress test builds enclaves from several threads. */
const struct sgx_signer *cpu_test_signer(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, test_signer_init);
	return test_signer;
}

void cpu_test_set_lehash(struct sgx_cpu *cpu, const struct sgx_signer *s)
{
	encl_set_lehash(cpu, s);
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

static void *pool_frame_alloc(void *pool)
{
	return cpu_pool_alloc(pool);
}

static void pool_frame_free(void *pool, void *epc)
{
	cpu_pool_free(pool, epc);
}

int cpu_encl_create_misc(struct built_encl *e, struct sgx_cpu *cpu, struct cpu_pool *pool,
			 uint64_t base, uint64_t size, uint64_t attributes, uint32_t miscselect)
{
	const struct encl_config c = {
		.base = base,
		.size = size,
		.attributes = attributes,
		.miscselect = miscselect,
		.frames = { .alloc = pool_frame_alloc, .free = pool_frame_free, .arg = pool },
	};

	return encl_create_config(e, cpu, &c);
}

int cpu_encl_create(struct built_encl *e, struct sgx_cpu *cpu, struct cpu_pool *pool,
		    uint64_t base, uint64_t size, uint64_t attributes)
{
	return cpu_encl_create_misc(e, cpu, pool, base, size, attributes, 0);
}

int cpu_encl_add(struct built_encl *e, uint64_t offset, const void *contents, uint64_t flags,
		 bool measure, void **epc_out)
{
	int ret = encl_add_page(e, offset, flags, contents, measure);

	if (!ret && epc_out)
		*epc_out = e->pages[e->nr_pages - 1].epc;
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

int cpu_encl_init(struct built_encl *e)
{
	const struct sgx_signer *s = cpu_test_signer();

	return s ? encl_init(e, s, false) : -1;
}

void cpu_encl_destroy(struct built_encl *e)
{
	encl_destroy(e);
	encl_forget(e);
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

int cpu_encl_evict_all(struct built_encl *e, uint64_t *va, struct cpu_evicted *pages,
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
		encl_frame_free(e, e->pages[i].epc);
		e->pages[i].epc = NULL;
	}
	ret = cpu_evict_nochild(e->cpu, e->secs, &va[e->nr_pages], secs);
	if (ret)
		return ret;
	encl_frame_free(e, e->secs);
	e->secs = NULL;
	return 0;
}

int cpu_encl_reload_all(struct built_encl *e, struct cpu_evicted *pages, struct cpu_evicted *secs)
{
	int ret;

	e->secs = encl_frame_alloc(e);
	if (!e->secs)
		return -1;
	ret = cpu_reload(e->cpu, NULL, e->secs, secs, false);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < e->nr_pages; i++) {
		void *epc = encl_frame_alloc(e);

		if (!epc)
			return -1;
		ret = cpu_reload(e->cpu, e->secs, epc, &pages[i], false);
		if (ret) {
			encl_frame_free(e, epc);
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

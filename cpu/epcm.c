// SPDX-License-Identifier: MIT
/*
 * The EPCM: per-frame metadata, the linear-address index that lets ENCLU
 * find the frame of an enclave linear address, and the invariant checker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"

struct sgx_secs *sgx_secs_page(const struct sgx_cpu *cpu, int64_t secs_frame)
{
	return sgx_frame_home(cpu, secs_frame);
}

struct sgx_secs_hidden *sgx_secs_hidden(const struct sgx_cpu *cpu, int64_t secs_frame)
{
	return (struct sgx_secs_hidden *)((uint8_t *)sgx_frame_home(cpu, secs_frame) +
					  SGX_SECS_HIDDEN_OFFSET);
}

bool sgx_frame_is_secs(const struct sgx_cpu *cpu, int64_t frame)
{
	return frame >= 0 && (uint64_t)frame < cpu->nr_frames && cpu->epcm[frame].valid &&
	       cpu->epcm[frame].type == SGX_PAGE_TYPE_SECS;
}

static uint64_t index_bucket(const struct sgx_cpu *cpu, int64_t secs_frame, uint64_t linaddr)
{
	uint64_t k = (linaddr >> SGX_PAGE_SHIFT) ^ ((uint64_t)secs_frame * 0x9E3779B97F4A7C15ULL);

	k ^= k >> 29;
	k *= 0xBF58476D1CE4E5B9ULL;
	k ^= k >> 32;
	return k & cpu->index_mask;
}

int64_t sgx_epcm_lookup(const struct sgx_cpu *cpu, int64_t secs_frame, uint64_t linaddr)
{
	uint64_t page = linaddr & SGX_PAGE_MASK;
	int64_t f = cpu->index_heads[index_bucket(cpu, secs_frame, page)];

	for (; f >= 0; f = cpu->epcm[f].hash_next) {
		const struct sgx_epcm_entry *e = &cpu->epcm[f];

		if (e->secs == secs_frame && e->linaddr == page)
			return f;
	}
	return SGX_NO_FRAME;
}

void sgx_epcm_index_add(struct sgx_cpu *cpu, int64_t frame)
{
	struct sgx_epcm_entry *e = &cpu->epcm[frame];
	uint64_t b = index_bucket(cpu, e->secs, e->linaddr);

	e->hash_next = cpu->index_heads[b];
	cpu->index_heads[b] = frame;
	e->indexed = true;
}

void sgx_epcm_index_del(struct sgx_cpu *cpu, int64_t frame)
{
	struct sgx_epcm_entry *e = &cpu->epcm[frame];
	int64_t *link;

	if (!e->indexed)
		return;
	link = &cpu->index_heads[index_bucket(cpu, e->secs, e->linaddr)];
	while (*link >= 0 && *link != frame)
		link = &cpu->epcm[*link].hash_next;
	if (*link == frame)
		*link = e->hash_next;
	e->hash_next = SGX_NO_FRAME;
	e->indexed = false;
}

void sgx_epcm_clear(struct sgx_cpu *cpu, int64_t frame)
{
	struct sgx_epcm_entry *e = &cpu->epcm[frame];

	sgx_epcm_index_del(cpu, frame);
	e->valid = false;
	e->blocked = false;
	e->pending = false;
	e->modified = false;
	e->pr = false;
	e->type = 0;
	e->perm = 0;
	e->linaddr = 0;
	e->secs = SGX_NO_FRAME;
	e->block_epoch = 0;
	e->mod_epoch = 0;
	e->alias = NULL;
	e->child_count = 0;
}

/* ---- invariants ---- */

struct inv_ctx {
	char *buf;
	size_t len;
	int failed;
};

__attribute__((format(printf, 2, 3)))
static void inv_fail(struct inv_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->failed++)
		return;		/* report the first violation only */
	if (!ctx->buf || !ctx->len)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->buf, ctx->len, fmt, ap);
	va_end(ap);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void check_children(struct sgx_cpu *cpu, struct inv_ctx *ctx, uint32_t *counts)
{
	for (uint64_t f = 0; f < cpu->nr_frames; f++) {
		const struct sgx_epcm_entry *e = &cpu->epcm[f];
		bool child = e->type == SGX_PAGE_TYPE_REG || e->type == SGX_PAGE_TYPE_TCS ||
			     e->type == SGX_PAGE_TYPE_TRIM;

		if (!e->valid) {
			if (e->indexed || e->alias || e->secs >= 0)
				inv_fail(ctx, "free frame %lu has state", (unsigned long)f);
			continue;
		}
		if (e->type > SGX_PAGE_TYPE_TRIM) {
			inv_fail(ctx, "frame %lu: bad type %u", (unsigned long)f, e->type);
			continue;
		}
		if (!child) {
			if (e->secs >= 0 || e->indexed || e->alias || e->blocked)
				inv_fail(ctx, "frame %lu: SECS/VA with child state",
					 (unsigned long)f);
			continue;
		}
		if (!sgx_frame_is_secs(cpu, e->secs)) {
			inv_fail(ctx, "frame %lu: owner %ld is not a valid SECS",
				 (unsigned long)f, (long)e->secs);
			continue;
		}
		counts[e->secs]++;
		if (!e->indexed || sgx_epcm_lookup(cpu, e->secs, e->linaddr) != (int64_t)f)
			inv_fail(ctx, "frame %lu: linear-address index mismatch",
				 (unsigned long)f);
		if (e->linaddr & ~SGX_PAGE_MASK)
			inv_fail(ctx, "frame %lu: unaligned linaddr", (unsigned long)f);
		if (e->type == SGX_PAGE_TYPE_TCS && e->perm)
			inv_fail(ctx, "frame %lu: TCS with permissions", (unsigned long)f);
	}
}

static void check_secs(struct sgx_cpu *cpu, struct inv_ctx *ctx, const uint32_t *counts)
{
	uint64_t *ids = malloc(cpu->nr_frames * sizeof(*ids)), n = 0;

	for (uint64_t f = 0; f < cpu->nr_frames; f++) {
		const struct sgx_epcm_entry *e = &cpu->epcm[f];
		const struct sgx_secs_hidden *h;
		const struct sgx_secs *secs;

		if (!e->valid || e->type != SGX_PAGE_TYPE_SECS)
			continue;
		h = sgx_secs_hidden(cpu, (int64_t)f);
		secs = sgx_secs_page(cpu, (int64_t)f);
		if (e->child_count != counts[f])
			inv_fail(ctx, "SECS %lu: child_count %u but %u children",
				 (unsigned long)f, e->child_count, counts[f]);
		if (h->magic != SGX_SECS_HIDDEN_MAGIC || !h->enclave_id)
			inv_fail(ctx, "SECS %lu: hidden state corrupt", (unsigned long)f);
		if (!!h->initialized != !!(secs->attributes & SGX_ATTR_INIT))
			inv_fail(ctx, "SECS %lu: INIT attribute disagrees", (unsigned long)f);
		if (ids)
			ids[n++] = h->enclave_id;
	}
	if (!ids)
		return;
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (uint64_t i = 1; i < n; i++)
		if (ids[i] == ids[i - 1])
			inv_fail(ctx, "two SECS share enclave id %lu", (unsigned long)ids[i]);
	free(ids);
}

/* Every version in a VA slot was issued by this CPU and is in one slot only. */
static void check_va_slots(struct sgx_cpu *cpu, struct inv_ctx *ctx)
{
	uint64_t next = atomic_load(&cpu->next_version);
	uint64_t *versions = NULL, n = 0, cap = 0;

	for (uint64_t f = 0; f < cpu->nr_frames; f++) {
		const uint64_t *slots;

		if (!cpu->epcm[f].valid || cpu->epcm[f].type != SGX_PAGE_TYPE_VA)
			continue;
		slots = sgx_frame_home(cpu, (int64_t)f);
		for (unsigned int i = 0; i < SGX_VA_SLOT_COUNT; i++) {
			if (!slots[i])
				continue;
			if (n == cap) {
				uint64_t *nv;

				cap = cap ? cap * 2 : 1024;
				nv = realloc(versions, cap * sizeof(*nv));
				if (!nv) {
					free(versions);
					return;	/* cannot check; not a violation */
				}
				versions = nv;
			}
			versions[n++] = slots[i];
		}
	}
	if (n)
		qsort(versions, n, sizeof(*versions), cmp_u64);
	for (uint64_t i = 0; i < n; i++) {
		if (versions[i] >= next)
			inv_fail(ctx, "VA slot holds version %lu never issued",
				 (unsigned long)versions[i]);
		if (i && versions[i] == versions[i - 1])
			inv_fail(ctx, "version %lu in two VA slots", (unsigned long)versions[i]);
	}
	free(versions);
}

static void check_lps(struct sgx_cpu *cpu, struct inv_ctx *ctx)
{
	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->lp_high; i++) {
		const struct sgx_lp *lp = &cpu->lps[i];
		uint64_t epoch;

		if (!lp->in_use || lp->secs_frame < 0)
			continue;
		if (!sgx_frame_is_secs(cpu, lp->secs_frame)) {
			inv_fail(ctx, "LP %u inside a frame that is not a SECS", i);
			continue;
		}
		epoch = sgx_secs_hidden(cpu, lp->secs_frame)->epoch;
		if (lp->entry_epoch > epoch)
			inv_fail(ctx, "LP %u entry epoch %lu after enclave epoch %lu", i,
				 (unsigned long)lp->entry_epoch, (unsigned long)epoch);
	}
	pthread_mutex_unlock(&cpu->lp_lock);
}

int sgx_cpu_check_invariants(struct sgx_cpu *cpu, char *buf, size_t len)
{
	struct inv_ctx ctx = { .buf = buf, .len = len };
	uint32_t *counts;

	if (buf && len)
		buf[0] = '\0';
	counts = calloc(cpu->nr_frames, sizeof(*counts));
	if (!counts) {
		inv_fail(&ctx, "out of memory");
		return -1;
	}
	sgx_epcm_write_lock(cpu);	/* exclusive: a consistent snapshot */
	check_children(cpu, &ctx, counts);
	check_secs(cpu, &ctx, counts);
	check_va_slots(cpu, &ctx);
	check_lps(cpu, &ctx);
	sgx_epcm_write_unlock(cpu);
	free(counts);
	return ctx.failed ? -1 : 0;
}

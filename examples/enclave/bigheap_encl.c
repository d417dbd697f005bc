// SPDX-License-Identifier: MIT
/*
 * The bigheap enclave's trusted code: freestanding C, no library. It owns a
 * heap (appended by the host after the image, its place and size measured
 * through struct bh_config) and, on request, writes a pattern over a slice
 * of it and reads the whole slice back, counting mismatches and summing a
 * checksum. With a heap bigger than the EPC every pass pages the whole heap
 * out and back in, which is the point: the enclave must read back exactly
 * what it wrote.
 *
 * The op block lives in untrusted memory: it is checked to lie outside
 * ELRANGE, read once into a local copy, and written once at the end.
 */
#include "examples/bigheap_abi.h"

#pragma GCC visibility push(hidden)

/* Linker-script symbols: offset 0 and the end of the image. */
extern char __bh_encl_base[];
extern char __bh_image_end[];

/* Placed first in the data segment; the host fills it before measuring. */
struct bh_config bh_config __attribute__((section(".data.bh_config"), used)) = {
	.magic = BH_CONFIG_MAGIC,
};

void bh_main(struct bh_op *uop);

/* The compiler may emit calls to these for struct copies; there is no libc. */
void *memset(void *dst, int c, unsigned long n)
{
	volatile unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

#pragma GCC visibility pop

static uint64_t encl_base(void)
{
	return (uint64_t)(uintptr_t)__bh_encl_base;
}

/* Is the measured config one this code can trust to stay inside ELRANGE? */
static int config_ok(const struct bh_config *c)
{
	uint64_t image_end = (uint64_t)(uintptr_t)__bh_image_end - encl_base();

	if (c->magic != BH_CONFIG_MAGIC)
		return 0;
	if (c->encl_size == 0 || (c->encl_size & (c->encl_size - 1)))
		return 0;
	if ((c->heap_offset | c->heap_size) & (BH_PAGE_SIZE - 1))
		return 0;
	if (c->heap_offset < image_end || c->heap_offset > c->encl_size ||
	    c->heap_size > c->encl_size - c->heap_offset)
		return 0;
	return 1;
}

/* Does [p, p + len) avoid ELRANGE entirely (and not wrap)? */
static int outside_enclave(uint64_t p, uint64_t len, uint64_t encl_size)
{
	uint64_t base = encl_base();

	if (p + len < p)
		return 0;
	return p + len <= base || p >= base + encl_size;
}

static void run_pass(struct bh_op *op, const struct bh_config *c)
{
	volatile uint64_t *heap = (volatile uint64_t *)(uintptr_t)(encl_base() + c->heap_offset);
	uint64_t first, end, sum = 0, bad = 0;

	if (op->nr_slices == 0 || op->nr_slices > BH_NR_TCS || op->slice >= op->nr_slices) {
		op->status = BH_EINVAL;
		return;
	}
	bh_slice_bounds(c->heap_size / 8, op->slice, op->nr_slices, &first, &end);
	for (uint64_t i = first; i < end; i++)
		heap[i] = bh_pattern(op->seed, op->pass, i);
	for (uint64_t i = first; i < end; i++) {
		uint64_t v = heap[i];

		bad += v != bh_pattern(op->seed, op->pass, i);
		sum += bh_checksum_term(v, i);
	}
	op->checksum = sum;
	op->mismatches = bad;
	op->bytes = (end - first) * 8;
	op->status = BH_OK;
}

void bh_main(struct bh_op *uop)
{
	const struct bh_config c = bh_config;
	volatile struct bh_op *u = uop;
	struct bh_op op = { 0 };

	if (!config_ok(&c))
		return;		/* nothing is trusted, not even where to answer */
	if (!outside_enclave((uint64_t)(uintptr_t)uop, sizeof(*uop), c.encl_size))
		return;
	op.type = u->type;
	op.seed = u->seed;
	op.pass = u->pass;
	op.slice = u->slice;
	op.nr_slices = u->nr_slices;

	switch (op.type) {
	case BH_OP_RUN_PASS:
		run_pass(&op, &c);
		break;
	case BH_OP_CHECK_CONFIG:
		op.config[0] = c.magic;
		op.config[1] = c.encl_size;
		op.config[2] = c.heap_offset;
		op.config[3] = c.heap_size;
		op.status = BH_OK;
		break;
	default:
		op.status = BH_EINVAL;
		break;
	}

	u->status = op.status;
	u->checksum = op.checksum;
	u->mismatches = op.mismatches;
	u->bytes = op.bytes;
	for (int i = 0; i < 4; i++)
		u->config[i] = op.config[i];
}

/* SPDX-License-Identifier: MIT */
/*
 * bigheap: sgxemu's own example SGX program. This header is the contract
 * between its two halves, the enclave (examples/enclave/, freestanding) and
 * the untrusted host program (the other files of examples/): the config block the host
 * writes into the enclave image before measuring it, the operation block the
 * host passes by pointer in RDI at EENTER, and the heap pattern both sides
 * compute (the enclave to write and verify its heap, the host to check the
 * checksum the enclave returns).
 *
 * Only <stdint.h>: it is compiled freestanding on the enclave side. The
 * constants are also read by the enclave's assembly.
 */
#ifndef BIGHEAP_ABI_H
#define BIGHEAP_ABI_H

#define BH_PAGE_SIZE		4096
#define BH_NR_TCS		2		/* TCS pages at offsets 0 and 4096 */
#define BH_STACK_SIZE		16384	/* per TCS, in the data segment */

#define BH_CONFIG_MAGIC		0x5041454847494242ULL	/* "BBIGHEAP" */

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * The first bytes of the enclave's data segment. The host fills it in
 * before it computes MRENCLAVE, so the heap's place and size are measured:
 * the enclave can trust them, and a host that lies gets an enclave EINIT
 * refuses.
 */
struct bh_config {
	uint64_t magic;			/* BH_CONFIG_MAGIC, put there by the linker */
	uint64_t encl_size;		/* ELRANGE size (SECS.SIZE) */
	uint64_t heap_offset;		/* from the enclave base, page aligned */
	uint64_t heap_size;		/* bytes, page aligned */
};

enum bh_op_type {
	BH_OP_RUN_PASS = 1,	/* write the pattern of pass 'pass' over a slice, then verify it */
	BH_OP_CHECK_CONFIG = 2,	/* return the config the enclave sees (measured) */
};

/*
 * The block the host passes in RDI (untrusted memory, outside ELRANGE).
 * RDI == 0 is the null call: the enclave EEXITs at once (the benchmark).
 */
struct bh_op {
	uint64_t type;
	/* in */
	uint64_t seed;
	uint64_t pass;
	uint64_t slice;			/* which slice of the heap (< nr_slices) */
	uint64_t nr_slices;		/* 1 .. BH_NR_TCS */
	/* out */
	uint64_t status;		/* BH_OK or a BH_E* code */
	uint64_t checksum;		/* of everything read back in the verify phase */
	uint64_t mismatches;		/* qwords that did not read back as written */
	uint64_t bytes;			/* bytes written (= bytes verified) */
	uint64_t config[4];		/* BH_OP_CHECK_CONFIG: struct bh_config as seen inside */
};

enum bh_status {
	BH_OK = 0,
	BH_EINVAL = 1,		/* unknown op or bad slice */
	BH_EFAULT = 2,		/* the op block overlaps the enclave */
	BH_ECONFIG = 3,		/* the measured config is inconsistent */
};

/* The value of qword 'index' of the heap in pass 'pass' (splitmix64 finaliser). */
static inline uint64_t bh_pattern(uint64_t seed, uint64_t pass, uint64_t index)
{
	uint64_t z = seed + pass * 0x9E3779B97F4A7C15ULL + index * 0xD1B54A32D192ED03ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * What one qword read back adds to the checksum. A sum (mod 2^64), so the
 * slices of several threads add up to the single-thread checksum.
 */
static inline uint64_t bh_checksum_term(uint64_t value, uint64_t index)
{
	return value ^ (index * 0x2545F4914F6CDD1DULL);
}

/* The bounds [*first, *end) in qwords of slice 'slice' of 'nr' over 'qwords'. */
static inline void bh_slice_bounds(uint64_t qwords, uint64_t slice, uint64_t nr,
				   uint64_t *first, uint64_t *end)
{
	*first = qwords / nr * slice;
	*end = slice + 1 == nr ? qwords : qwords / nr * (slice + 1);
}

#endif /* !__ASSEMBLER__ */
#endif /* BIGHEAP_ABI_H */

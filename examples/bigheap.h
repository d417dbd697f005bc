/* SPDX-License-Identifier: MIT */
/*
 * bigheap's untrusted host program: the pieces an SGX program needs when it
 * talks to the Linux driver directly, without an SDK. Only libc, libcrypto
 * and the kernel's uapi header are used, so the same binary runs on real SGX
 * hardware with the in-kernel driver (5.11+) and on sgxemu (`sgxemu run`).
 *
 *   bigheap_image.c  the enclave ELF (embedded) -> the pages to add
 *   bigheap_sign.c   MRENCLAVE as the CPU computes it, SIGSTRUCT signing
 *   bigheap_load.c   /dev/sgx_enclave: CREATE, ADD_PAGES, INIT, mmap
 *   bigheap_vdso.c   __vdso_sgx_enter_enclave from the vDSO's ELF tables
 *   bigheap_call.S   the call into the vDSO function (saves what it may clobber)
 */
#ifndef BIGHEAP_H
#define BIGHEAP_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sgxemu/arch.h"
#include "uapi/asm/sgx.h"

#include "examples/bigheap_abi.h"

#define BH_MAX_SEGMENTS	4		/* TCS, text, data, heap */
#define BH_XFRM		0x3ULL		/* x87 + SSE: all the enclave may touch */
#define BH_SSA_FRAME_PAGES 1

struct bh_segment {
	const char *name;
	uint64_t offset;		/* from the enclave base, page aligned */
	uint64_t size;			/* bytes, page aligned */
	uint64_t secinfo_flags;		/* page type and R/W/X, as EADD gets them */
	int prot;			/* PROT_* of the mapping */
	bool measure;			/* EEXTEND the contents */
	const uint8_t *src;		/* 'size' bytes of initial contents */
};

struct bh_image {
	struct bh_segment seg[BH_MAX_SEGMENTS];
	unsigned int nr_segs;
	uint8_t *pages;			/* the loaded image (config patched), page aligned */
	uint64_t image_size;		/* bytes of 'pages' */
	uint8_t *heap_src;		/* zero pages for ADD_PAGES of the heap */
	struct bh_config config;	/* as written into the image */
};

/*
 * Lay out the embedded enclave with a heap of 'heap_size' bytes (page
 * aligned, > 0). 0, or -1 after a message on stderr.
 */
int bh_image_build(struct bh_image *img, uint64_t heap_size);
void bh_image_free(struct bh_image *img);

/* MRENCLAVE of 'img' as ECREATE + EADD + EEXTEND will compute it. 0 or -1. */
int bh_measure(const struct bh_image *img, uint8_t mrenclave[32]);

/* A fresh RSA-3072 key with public exponent 3 (EINIT's requirement). */
EVP_PKEY *bh_key_generate(void);
/*
 * Fill 'ss' for 'mrenclave' (attributes MODE64BIT, no DEBUG) and sign it
 * with 'key': modulus, exponent, signature, Q1, Q2. 0 or -1.
 */
int bh_sigstruct_sign(EVP_PKEY *key, const uint8_t mrenclave[32], struct sgx_sigstruct *ss);
/* SHA-256 of the little-endian modulus: the enclave's MRSIGNER. */
void bh_mrsigner(const struct sgx_sigstruct *ss, uint8_t out[32]);

struct bh_enclave {
	int fd;				/* /dev/sgx_enclave */
	uint64_t base;			/* ELRANGE, naturally aligned */
	uint64_t size;
	void *reserve;			/* the anonymous reservation around ELRANGE */
	uint64_t reserve_size;
	uint64_t pages_added;
	double add_ms;			/* time spent in ADD_PAGES */
};

/* Outcome of bh_enclave_load(): which step failed, with its errno. */
enum bh_load_step {
	BH_STEP_NONE, BH_STEP_OPEN, BH_STEP_RESERVE, BH_STEP_CREATE, BH_STEP_ADD,
	BH_STEP_INIT, BH_STEP_MMAP,
};

/*
 * open, reserve ELRANGE, ECREATE, EADD(+EEXTEND) every segment, EINIT with
 * 'ss', map every segment. 0, or -errno with *step telling which one failed
 * (after a failure the enclave is released).
 */
int bh_enclave_load(struct bh_enclave *e, const struct bh_image *img,
		    const struct sgx_sigstruct *ss, enum bh_load_step *step);
void bh_enclave_release(struct bh_enclave *e);
const char *bh_step_name(enum bh_load_step step);

/* __vdso_sgx_enter_enclave from the vDSO (getauxval(AT_SYSINFO_EHDR)), or NULL. */
vdso_sgx_enter_enclave_t bh_find_vdso_enter(void);

/*
 * EENTER the TCS in run->tcs with RDI = op through the vDSO function 'fn',
 * from a frame that saves RBX, RBP and R12-R15 (which an exception inside
 * the enclave would leave in the AEX's synthetic state).
 */
int bh_enter(vdso_sgx_enter_enclave_t fn, struct bh_op *op, struct sgx_enclave_run *run);

/* The embedded enclave ELF (bigheap_blob.S). */
extern const uint8_t bh_encl_elf[], bh_encl_elf_end[];

#endif /* BIGHEAP_H */

/* SPDX-License-Identifier: MIT */
/*
 * Building an enclave directly through ENCLS, as a driver does it, for the
 * code that talks to the CPU without the EPC manager (the showcase, the cpu
 * benchmarks, the CPU and ENCLU tests): take free frames, ECREATE, EADD +
 * EEXTEND with the expected MRENCLAVE computed alongside, sign and EINIT,
 * EREMOVE.
 *
 * Frames come from a frame source: by default the first frames whose EPCM
 * entry is invalid (the CPU's EPCM is the only bookkeeping, so a frame freed
 * by EWB or EREMOVE is free again at once, as on hardware); a caller that
 * shares the EPC between several users (a test thread each) passes its own.
 *
 * Return values of the functions that run leaves: 0, an ENCLS result
 * (positive SGX status or SGX_ENCLS_FAULT_FLAG | trap), or a negative errno
 * for failures of our own (no free frame, no memory); encl_strerror() names
 * all three kinds.
 */
#ifndef SGXEMU_ENCLAVE_BUILDER_H
#define SGXEMU_ENCLAVE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "enclave/sigstruct.h"

/*
 * A free EPC frame: the first frame at or after *hint whose EPCM entry is
 * invalid (wrapping around once). *hint moves past it. NULL if the EPC is
 * full.
 */
void *epc_find_free(struct sgx_cpu *cpu, uint64_t *hint);

/* EPC usage counted from the EPCM. */
struct epc_usage {
	uint64_t total;			/* frames */
	uint64_t used;			/* valid EPCM entries */
	uint64_t by_type[5];		/* indexed by enum sgx_page_type */
};
void epc_usage(struct sgx_cpu *cpu, struct epc_usage *u);

/* Where an enclave's frames come from and go back to. */
struct encl_frame_source {
	void *(*alloc)(void *arg);	/* EPC address of a frame, or NULL */
	void (*free)(void *arg, void *epc);
	void *arg;
};

struct encl_page {
	void *epc;			/* EPC address while resident, else NULL */
	uint64_t offset;		/* from the enclave base */
	uint64_t secinfo_flags;
};

struct built_encl {
	struct sgx_cpu *cpu;
	struct encl_frame_source frames;	/* .alloc NULL: epc_find_free() */
	uint64_t frame_hint;		/* epc_find_free()'s hint */
	void *secs;			/* EPC address of the SECS while resident */
	uint64_t base, size;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint64_t attributes, xfrm;
	struct sgx_mrenclave mr;	/* the expected MRENCLAVE, built alongside */
	uint8_t mrenclave[32];		/* valid after encl_init() */
	unsigned int nr_pages, cap_pages;
	struct encl_page *pages;	/* in the order they were added */
};

/* What ECREATE gets; zero fields take the defaults. */
struct encl_config {
	uint64_t base, size;		/* ELRANGE */
	uint64_t attributes;
	uint64_t xfrm;			/* 0: x87|SSE (3) */
	uint32_t miscselect;
	uint32_t ssa_frame_size;	/* 0: one page (x87|SSE state fits) */
	struct encl_frame_source frames;	/* .alloc NULL: the first free frames */
};

/* ECREATE of the enclave the configuration describes. */
int encl_create_config(struct built_encl *e, struct sgx_cpu *cpu, const struct encl_config *c);
/* ECREATE of an enclave [base, base + size), x87|SSE, one SSA page, MISCSELECT 0. */
int encl_create(struct built_encl *e, struct sgx_cpu *cpu, uint64_t base, uint64_t size,
		uint64_t attributes);

/*
 * EADD of one page (src: 4 KiB, any alignment; NULL = zeros; a valid TCS
 * for type TCS) and, if 'measure', its 16 EEXTENDs. On failure nothing stays
 * added: the page is EREMOVEd and its frame given back.
 */
int encl_add_page(struct built_encl *e, uint64_t offset, uint64_t secinfo_flags,
		  const void *src, bool measure);

/* The page at 'offset' (NULL if none was added there), and its EPC address. */
struct encl_page *encl_page_entry(struct built_encl *e, uint64_t offset);
void *encl_page_epc(const struct built_encl *e, uint64_t offset);

/* A frame from / back to the enclave's frame source. */
void *encl_frame_alloc(struct built_encl *e);
void encl_frame_free(struct built_encl *e, void *epc);

/* A SIGSTRUCT for the enclave's current expected MRENCLAVE, signed with 'key'. */
int encl_sigstruct(const struct built_encl *e, const struct sgx_signer *key,
		   struct sgx_sigstruct *ss);
/* Write the LEPUBKEYHASH MSRs with the hash of 'key' (flexible launch control). */
int encl_set_lehash(struct sgx_cpu *cpu, const struct sgx_signer *key);
/*
 * Finish the expected MRENCLAVE (optionally corrupt it: flip one bit, to show
 * EINIT refusing), sign it with 'key', write the key's hash to the
 * LEPUBKEYHASH MSRs (as the kernel does before EINIT) and EINIT.
 */
int encl_init(struct built_encl *e, const struct sgx_signer *key, bool corrupt_measurement);

/*
 * EREMOVE every resident child, then the SECS; each removed frame goes back
 * to the frame source. Returns the first failure (what failed stays
 * resident and recorded); on success the page list is freed too.
 */
int encl_destroy(struct built_encl *e);
/* Free the page list and forget the enclave, without any leaf. */
void encl_forget(struct built_encl *e);

/* "SGX_SUCCESS", "SGX_MAC_COMPARE_FAIL (9)", "#GP fault", or strerror. */
const char *encl_strerror(int ret, char *buf, size_t len);

/* A page-aligned, zeroed 4 KiB buffer (free() it). NULL on failure. */
void *page_alloc(void);

#endif /* SGXEMU_ENCLAVE_BUILDER_H */

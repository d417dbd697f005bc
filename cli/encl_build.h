/* SPDX-License-Identifier: MIT */
/*
 * Building an enclave directly through ENCLS, as a driver does it, for the
 * commands that talk to the CPU without the EPC manager (the showcase, the
 * cpu benchmarks): find free frames, ECREATE, EADD + EEXTEND with the
 * expected MRENCLAVE computed alongside, sign and EINIT, EREMOVE.
 *
 * Return values of the functions that run leaves: 0, an ENCLS result
 * (positive SGX status or SGX_ENCLS_FAULT_FLAG | trap), or a negative errno
 * for failures of our own (no free frame, no memory); encl_strerror() names
 * all three kinds.
 */
#ifndef SGXEMU_CLI_ENCL_BUILD_H
#define SGXEMU_CLI_ENCL_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "enclave/sigstruct.h"

#define ENCL_MAX_PAGES	64

/*
 * A free EPC frame: the first frame at or after *hint whose EPCM entry is
 * invalid (wrapping around once). *hint moves past it. NULL if the EPC is
 * full. The CPU's EPCM is the only bookkeeping: a frame freed by EWB or
 * EREMOVE is free again at once, as on hardware.
 */
void *epc_find_free(struct sgx_cpu *cpu, uint64_t *hint);

/* EPC usage counted from the EPCM. */
struct epc_usage {
	uint64_t total;			/* frames */
	uint64_t used;			/* valid EPCM entries */
	uint64_t by_type[5];		/* indexed by enum sgx_page_type */
};
void epc_usage(struct sgx_cpu *cpu, struct epc_usage *u);

struct encl_page {
	void *epc;			/* EPC address while resident, else NULL */
	uint64_t offset;		/* from the enclave base */
	uint64_t secinfo_flags;
};

struct built_encl {
	struct sgx_cpu *cpu;
	uint64_t frame_hint;
	void *secs;			/* EPC address of the SECS while resident */
	uint64_t base, size;
	uint32_t ssa_frame_size;
	uint64_t attributes, xfrm;
	struct sgx_mrenclave mr;	/* the expected MRENCLAVE, built alongside */
	uint8_t mrenclave[32];		/* valid after encl_init() */
	unsigned int nr_pages;
	struct encl_page pages[ENCL_MAX_PAGES];
};

/* ECREATE of an enclave [base, base + size), 64-bit, x87|SSE, one SSA page. */
int encl_create(struct built_encl *e, struct sgx_cpu *cpu, uint64_t base, uint64_t size,
		uint64_t attributes);
/* EADD of one page (src: 4 KiB, page aligned) and, if 'measure', its 16 EEXTENDs. */
int encl_add_page(struct built_encl *e, uint64_t offset, uint64_t secinfo_flags,
		  const void *src, bool measure);
/*
 * Finish the expected MRENCLAVE (optionally corrupt it: flip one bit, to show
 * EINIT refusing), sign it with 'key', write the key's hash to the
 * LEPUBKEYHASH MSRs (flexible launch control, as the kernel does before
 * EINIT) and EINIT.
 */
int encl_init(struct built_encl *e, const struct sgx_signer *key, bool corrupt_measurement);
/* EREMOVE every resident child, then the SECS. */
int encl_destroy(struct built_encl *e);

/* "SGX_SUCCESS", "SGX_MAC_COMPARE_FAIL (9)", "#GP fault", or strerror. */
const char *encl_strerror(int ret, char *buf, size_t len);

/* A page-aligned, zeroed 4 KiB buffer (free() it). NULL on failure. */
void *page_alloc(void);

#endif /* SGXEMU_CLI_ENCL_BUILD_H */

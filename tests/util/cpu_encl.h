/* SPDX-License-Identifier: MIT */
/*
 * Test helper: build and page small enclaves directly on a struct sgx_cpu,
 * the way the kernel driver drives the leaves (ECREATE, EADD + EEXTEND,
 * EINIT with a SIGSTRUCT signed by a per-process key through the enclave
 * builder; EPA, EBLOCK + ETRACK + EWB, ELDU). Used by the CPU and ENCLU tests.
 *
 * Every helper returns what the failing leaf returned (0 on success), so a
 * test can assert the exact status or fault.
 */
#ifndef SGXEMU_TESTS_CPU_ENCL_H
#define SGXEMU_TESTS_CPU_ENCL_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "enclave/builder.h"
#include "enclave/sigstruct.h"

/* A CPU with 'epc_size' bytes over 'nr_sections' sections, fixed secret. NULL on error. */
struct sgx_cpu *cpu_test_create(uint64_t epc_size, unsigned int nr_sections);

/*
 * The process's signing key: generated on first use (slow), then reused.
 * Never freed (tests run in forked children).
 */
const struct sgx_signer *cpu_test_signer(void);

/* Write the LEPUBKEYHASH MSRs with the hash of a signer's key. */
void cpu_test_set_lehash(struct sgx_cpu *cpu, const struct sgx_signer *s);

/* Frames of one CPU handed out to one user (a test thread), never shared. */
struct cpu_pool {
	struct sgx_cpu *cpu;
	uint64_t first, count;
	uint8_t *used;
};
int cpu_pool_init(struct cpu_pool *p, struct sgx_cpu *cpu, uint64_t first, uint64_t count);
void cpu_pool_destroy(struct cpu_pool *p);
void *cpu_pool_alloc(struct cpu_pool *p);	/* EPC address of a frame, or NULL */
void cpu_pool_free(struct cpu_pool *p, void *epc);

/*
 * Test enclaves are built by the enclave builder (enclave/builder.h) with
 * their frames taken from a pool; these wrappers only add what tests want:
 * the pool, the process's signing key, and the new page's EPC address.
 */

/*
 * ECREATE of an enclave at [base, base + size) with 'attributes' (MODE64BIT
 * is typical) and 'miscselect', xfrm 3, SSA frame size 1, frames from 'pool'.
 */
int cpu_encl_create_misc(struct built_encl *e, struct sgx_cpu *cpu, struct cpu_pool *pool,
			 uint64_t base, uint64_t size, uint64_t attributes, uint32_t miscselect);
/* The same with MISCSELECT 0. */
int cpu_encl_create(struct built_encl *e, struct sgx_cpu *cpu, struct cpu_pool *pool,
		    uint64_t base, uint64_t size, uint64_t attributes);

/*
 * encl_add_page() of 'contents' (NULL = zeros) at enclave offset 'offset'
 * with SECINFO 'flags'; *epc_out (optional) receives the page's EPC address.
 */
int cpu_encl_add(struct built_encl *e, uint64_t offset, const void *contents, uint64_t flags,
		 bool measure, void **epc_out);

/* A TCS image (OSSA, OENTRY; one SSA frame, FS/GS limits all ones). */
void cpu_encl_make_tcs(struct sgx_tcs *tcs, uint64_t ossa, uint64_t oentry);

/* Sign with the process key, set the MSRs to its hash, EINIT. */
int cpu_encl_init(struct built_encl *e);

/* EREMOVE every resident page, then the SECS (frames back to the pool); forget it all. */
void cpu_encl_destroy(struct built_encl *e);

/* EPA into a frame from the pool. NULL on failure. */
void *cpu_epa(struct cpu_pool *pool);

/* One evicted page: what EWB produced (buffers outside the EPC). */
struct cpu_evicted {
	uint8_t contents[4096] __attribute__((aligned(4096)));
	struct sgx_pcmd pcmd;
	uint64_t *va_slot;
	uint64_t linaddr;
};

/*
 * EBLOCK + ETRACK + EWB of a child page (secs = its SECS) into 'out', using
 * VA slot 'slot'. Returns the first non-zero leaf result.
 */
int cpu_evict(struct sgx_cpu *cpu, void *secs, void *epc, uint64_t linaddr, uint64_t *slot,
	      struct cpu_evicted *out);
/* EWB of a SECS (no children left) or VA page. */
int cpu_evict_nochild(struct sgx_cpu *cpu, void *epc, uint64_t *slot, struct cpu_evicted *out);
/* ELDU (or ELDB) of an evicted page into 'epc'; secs = NULL for a SECS/VA page. */
int cpu_reload(struct sgx_cpu *cpu, void *secs, void *epc, const struct cpu_evicted *in,
	       bool blocked);

/* Evict every resident page of the enclave, then the SECS (into the arrays). */
int cpu_encl_evict_all(struct built_encl *e, uint64_t *va, struct cpu_evicted *pages,
		       struct cpu_evicted *secs);
/* Reload the SECS and then every page evicted by cpu_encl_evict_all(). */
int cpu_encl_reload_all(struct built_encl *e, struct cpu_evicted *pages,
			struct cpu_evicted *secs);

/* 0 if sgx_cpu_check_invariants() holds, else prints the reason and returns -1. */
int cpu_test_invariants(struct sgx_cpu *cpu);

#endif /* SGXEMU_TESTS_CPU_ENCL_H */

/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the ENCLU tests (test_enclu_*.c): a CPU with an initialised
 * enclave built by real ENCLS leaves, two LPs, and helpers that execute
 * ENCLU the way the host integration will (a register file in, a register
 * file or a fault out).
 *
 * Enclave layout (base EBASE, 64 KiB):
 *   0x0000 TCS1 (OSSA 0x3000, NSSA 1)     0x1000 TCS2 (OSSA 0x5000, NSSA 2)
 *   0x2000 text (R|X, OENTRY)             0x3000 SSA of TCS1 (R|W)
 *   0x4000 data (R|W, FS/GS base)         0x5000, 0x6000 SSA frames of TCS2
 *   0x7000 rodata (R)                     0x8000.. not added (EAUG space)
 */
#ifndef SGXEMU_TESTS_ENCLU_FIXTURE_H
#define SGXEMU_TESTS_ENCLU_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "tests/util/cpu_encl.h"

#define EBASE		0x40000000ULL
#define ESIZE		0x10000ULL
#define OFF_TCS1	0x0000ULL
#define OFF_TCS2	0x1000ULL
#define OFF_TEXT	0x2000ULL
#define OFF_SSA1	0x3000ULL
#define OFF_DATA	0x4000ULL
#define OFF_SSA2	0x5000ULL
#define OFF_RODATA	0x7000ULL
#define OFF_FREE	0x8000ULL
#define OENTRY		(OFF_TEXT + 0x10)

#define HOST_AEP	0x555500001000ULL
#define HOST_RIP	0x555500002000ULL
#define HOST_RSP	0x7ffd00001000ULL
#define HOST_RBP	0x7ffd00002000ULL
#define HOST_FS		0x7f0000001000ULL
#define HOST_GS		0x7f0000002000ULL

#define EFX_EPC_PAGES	128

struct efx {
	struct sgx_cpu *cpu;
	struct cpu_pool pool;
	struct built_encl encl;
	struct sgx_lp *lp, *lp2;
};

/*
 * Build the enclave with MISCSELECT 'misc' and 'attributes' (MODE64BIT is
 * added), measured, and EINIT it if 'init'. 0 or the failing leaf's result.
 * 'variant' changes one byte of the text page (so MRENCLAVE changes).
 */
int efx_build_encl(struct efx *fx, struct built_encl *e, uint64_t base, uint32_t misc,
		   uint64_t attributes, uint8_t variant, bool init);
/* A CPU, a pool, two LPs and the standard enclave. */
int efx_setup(struct efx *fx, uint32_t misc, uint64_t attributes, bool init);

/* Linear address of an enclave offset. */
static inline uint64_t efx_la(const struct efx *fx, uint64_t off)
{
	return fx->encl.base + off;
}

/* Host pointer to the bytes of the enclave page at 'off' (EPCM bypassed). */
void *efx_bytes(struct efx *fx, uint64_t off);

/* A register file as a host thread has it before EENTER through tcs_off. */
void efx_host_regs(const struct efx *fx, struct sgx_regs *r, uint32_t leaf, uint64_t tcs_off);

/* EENTER through tcs_off from fresh host registers; *r gets the result. */
int efx_eenter(struct efx *fx, struct sgx_lp *lp, uint64_t tcs_off, struct sgx_regs *r,
	       struct sgx_exception *exc);
/* EEXIT to HOST_RIP + 3 from enclave registers *r. */
int efx_eexit(struct efx *fx, struct sgx_lp *lp, struct sgx_regs *r, struct sgx_exception *exc);
/* An in-enclave leaf with RBX/RCX/RDX; *r is the enclave's register file. */
int efx_leaf(struct efx *fx, struct sgx_lp *lp, struct sgx_regs *r, uint32_t leaf, uint64_t rbx,
	     uint64_t rcx, uint64_t rdx, struct sgx_exception *exc);

/* EAUG of the page at 'off' (a pending R|W page). */
int efx_eaug(struct efx *fx, uint64_t off, void **epc_out);

#endif /* SGXEMU_TESTS_ENCLU_FIXTURE_H */

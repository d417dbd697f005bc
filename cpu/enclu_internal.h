/* SPDX-License-Identifier: MIT */
/*
 * Internals of the ENCLU side of the emulated CPU (enclu.c, enclu_entry.c,
 * enclu_edmm.c, enclu_keys.c, translate.c). Built on cpu_internal.h and its
 * lock rules: ENCLU reads EPCM state under the epcm read lock only, and
 * changes it (EACCEPT, EACCEPTCOPY, EMODPE) holding the target frame's busy
 * lock and the epcm write lock.
 *
 * Calling convention of the leaves: each takes a struct enclu_call (a
 * private copy of the caller's registers) and returns 0 when the instruction
 * completed (registers hold the architectural result) or ENCLU_FAULTED with
 * call->exc describing the fault (the caller's registers stay unchanged).
 */
#ifndef SGXEMU_CPU_ENCLU_INTERNAL_H
#define SGXEMU_CPU_ENCLU_INTERNAL_H

#include "cpu/cpu_internal.h"

#define ENCLU_FAULTED		(-1)
#define ENCLU_INSN_LEN		3		/* 0f 01 d7 */

/* RFLAGS bits that the status-returning leaves define. */
#define X86_EFLAGS_CF		0x0001ULL
#define X86_EFLAGS_PF		0x0004ULL
#define X86_EFLAGS_AF		0x0010ULL
#define X86_EFLAGS_ZF		0x0040ULL
#define X86_EFLAGS_SF		0x0080ULL
#define X86_EFLAGS_TF		0x0100ULL
#define X86_EFLAGS_OF		0x0800ULL
#define X86_EFLAGS_RF		0x10000ULL
#define X86_EFLAGS_ARITH	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
				 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* TCS.FLAGS bits an entry accepts (DBGOPTIN, AEXNOTIFY); the rest must be 0. */
#define SGX_TCS_FLAGS_KNOWN	0x3ULL

/*
 * Per-entry state the real CPU keeps in internal registers (CR_SAVE_FS,
 * CR_SAVE_GS) while a TCS is busy. A busy TCS belongs to exactly one LP
 * and cannot be evicted while that LP is inside (tracking), so sgxemu keeps
 * this state in the last reserved bytes of the TCS page itself and clears it
 * on exit: an idle TCS keeps its reserved bytes zero as EADD/EACCEPT demand.
 */
#define SGX_TCS_HIDDEN_OFFSET	4032
struct sgx_tcs_hidden {
	uint64_t host_fsbase;
	uint64_t host_gsbase;
	uint64_t reserved[6];
};
_Static_assert(SGX_TCS_HIDDEN_OFFSET + sizeof(struct sgx_tcs_hidden) == 4096,
	       "hidden TCS state ends the TCS page");
_Static_assert(SGX_TCS_HIDDEN_OFFSET >= offsetof(struct sgx_tcs, reserved),
	       "hidden TCS state must sit in reserved bytes");

/* TCS.STATE values. */
#define SGX_TCS_INACTIVE	0
#define SGX_TCS_ACTIVE		1

struct enclu_call {
	struct sgx_cpu *cpu;
	struct sgx_lp *lp;
	struct sgx_regs *regs;		/* private copy, committed on success */
	struct sgx_exception *exc;
	int64_t secs;			/* enclave of the LP, or -1 (EENTER/ERESUME) */
};

static inline int enclu_fault(struct sgx_exception *exc, uint8_t vector, uint32_t error_code,
			      uint64_t addr)
{
	exc->vector = vector;
	exc->error_code = error_code;
	exc->addr = addr;
	return ENCLU_FAULTED;
}

static inline int enclu_gp(struct sgx_exception *exc)
{
	return enclu_fault(exc, X86_TRAP_GP, 0, 0);
}

/* #PF for a page that is not in the EPC (as a not-present PTE would give). */
static inline int enclu_pf_notpresent(struct sgx_exception *exc, uint64_t linaddr,
				      uint32_t access)
{
	return enclu_fault(exc, X86_TRAP_PF,
			   X86_PF_USER | (access & (X86_PF_WRITE | X86_PF_INSTR)),
			   linaddr & SGX_PAGE_MASK);
}

/* #PF for an EPCM denial: SGX and present bits set. */
static inline int enclu_pf_epcm(struct sgx_exception *exc, uint64_t linaddr, uint32_t access)
{
	return enclu_fault(exc, X86_TRAP_PF,
			   X86_PF_SGX | X86_PF_PROT | X86_PF_USER |
			   (access & (X86_PF_WRITE | X86_PF_INSTR)),
			   linaddr & SGX_PAGE_MASK);
}

/* Status result of a leaf that reports one in RAX and ZF (EACCEPT, EGETKEY...). */
static inline void enclu_set_status(struct sgx_regs *regs, int status)
{
	regs->rax = (uint64_t)status;
	regs->rflags &= ~X86_EFLAGS_ARITH;
	if (status)
		regs->rflags |= X86_EFLAGS_ZF;
}

static inline bool enclu_canonical(uint64_t addr)
{
	int64_t s = (int64_t)(addr << 16) >> 16;

	return (uint64_t)s == addr;
}

/* ---- translate.c (callers hold the epcm read or write lock) ---- */

/* Is [linaddr, linaddr + len) inside the ELRANGE of SECS frame s? */
bool enclu_in_elrange(const struct sgx_cpu *cpu, int64_t secs, uint64_t linaddr, uint64_t len);

/*
 * The SECS frame of the enclave whose ELRANGE holds linaddr, as seen from
 * the LP's address space: the LP's resolver if it has one, else the unique
 * valid SECS whose ELRANGE contains it. -1 if none (or ambiguous).
 */
int64_t enclu_find_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp, uint64_t linaddr);

/*
 * An access by enclave code of enclave 'secs' to linaddr: page walk + EPCM
 * check. Returns the host address of the byte, or NULL with *exc set:
 * #GP(0) outside ELRANGE, plain #PF if the page is not in the EPC (or
 * blocked, i.e. being evicted), #PF with X86_PF_SGX if the EPCM denies it
 * (not a REG page, PENDING, MODIFIED, missing R/W/X). *frame gets the frame.
 */
void *enclu_access(struct sgx_cpu *cpu, int64_t secs, uint64_t linaddr, uint32_t access,
		   struct sgx_exception *exc, int64_t *frame);

/* ---- enclu.c ---- */
void *(*enclu_lp_resolver(const struct sgx_lp *lp, void **arg))(void *, uint64_t);

/* ---- the leaves ---- */
int enclu_eenter(struct enclu_call *c);
int enclu_eresume(struct enclu_call *c);
int enclu_eexit(struct enclu_call *c);
int enclu_eaccept(struct enclu_call *c);
int enclu_eacceptcopy(struct enclu_call *c);
int enclu_emodpe(struct enclu_call *c);
int enclu_ereport(struct enclu_call *c);
int enclu_egetkey(struct enclu_call *c);

/* The platform CPUSVN this CPU reports (EREPORT) and checks (EGETKEY). */
void enclu_cpusvn(uint8_t out[16]);

#endif /* SGXEMU_CPU_ENCLU_INTERNAL_H */

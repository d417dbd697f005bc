/* SPDX-License-Identifier: MIT */
/*
 * The emulated SGX CPU: the interface the EPC manager, the host integration,
 * the tests and the fuzzer use.
 *
 * A struct sgx_cpu is a value: the EPC (frames + EPCM), the per-platform keys,
 * the LEPUBKEYHASH MSRs and the logical processors (LPs) that may execute
 * enclave code. There are no globals; several CPUs may exist in one process.
 *
 * Addresses.  As on hardware seen from the kernel, ENCLS takes *linear*
 * addresses: an EPC page is named by its address in the CPU's EPC mapping
 * (what the kernel gets from memremap() of the section and calls the page's
 * virt_addr); every other operand (PAGEINFO, SECINFO, source page, PCMD,
 * SIGSTRUCT, EINITTOKEN, the EWB/ELDU contents buffer) is an ordinary host
 * pointer. The emulated *physical* addresses only appear in CPUID leaf 0x12
 * and in sgx_cpu_memremap().
 *
 * Where a page's bytes live.  Every frame has a home inside the EPC mapping
 * (its EPC address). The EPC manager may alias a valid REG/TCS/TRIM frame to
 * another host page (the enclave window's page in a memfd, see
 * sgx_epc_alias()); from then on every leaf that reads or writes the page's
 * contents uses the alias, and native enclave code that runs on the window
 * sees the same bytes. The alias ends when the frame stops being valid
 * (EWB, EREMOVE).
 *
 * Thread safety.  Every entry point may be called from any thread. Leaves
 * that touch the same EPC page concurrently get SGX_EPC_PAGE_CONFLICT (leaves
 * with a status) or #GP (the others), as the hardware does; callers that
 * follow the kernel's locking never see that.
 */
#ifndef SGXEMU_CPU_H
#define SGXEMU_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sgxemu/arch.h"

struct sgx_cpu;
struct sgx_lp;

/* ------------------------------------------------------------------------
 * Creation and configuration
 */
#define SGX_CPU_DEFAULT_EPC_SIZE	0x5D80000ULL	/* 93.5 MiB, a client part */
#define SGX_CPU_DEFAULT_PHYS_BASE	0x80200000ULL
#define SGX_CPU_DEFAULT_MAX_LPS		256

struct sgx_cpu_config {
	uint64_t epc_size;		/* total bytes, split evenly over sections */
	unsigned int nr_sections;	/* 1..SGX_MAX_EPC_SECTIONS, one NUMA node each */
	bool sgx2;			/* EDMM leaves and CPUID.12.0:EAX[1] */
	uint32_t miscselect;		/* supported MISCSELECT, CPUID.12.0:EBX */
	uint64_t attributes;		/* supported SECS.ATTRIBUTES, CPUID.12.1:EAX/EBX */
	uint64_t xfrm;			/* supported XFRM, CPUID.12.1:ECX/EDX */
	uint64_t epc_phys_base;		/* emulated physical base of section 0 */
	unsigned int max_lps;		/* LPs that may exist at once (<= 1024) */
	bool have_secret;		/* use 'secret' instead of a random one */
	uint8_t secret[32];		/* root of every key the CPU derives */
};

/* Fills *c with the defaults: 93.5 MiB, 1 section, SGX2, EXINFO, ... */
void sgx_cpu_default_config(struct sgx_cpu_config *c);

/* Returns 0 or -EINVAL (bad configuration) / -ENOMEM. */
int sgx_cpu_create(const struct sgx_cpu_config *c, struct sgx_cpu **out);
void sgx_cpu_destroy(struct sgx_cpu *cpu);
const struct sgx_cpu_config *sgx_cpu_config(const struct sgx_cpu *cpu);

/*
 * CPUID as the emulated CPU answers it. For leaf 0x12 every register is set.
 * For leaf 7 subleaf 0 the caller passes the real CPU's registers and only the
 * SGX bits (EBX[2] SGX, ECX[30] SGX_LC) are changed. Returns false for leaves
 * the emulated CPU does not own (registers untouched).
 */
bool sgx_cpu_cpuid(const struct sgx_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		   uint32_t regs[4] /* eax, ebx, ecx, edx */);

/*
 * The kernel's memremap() of an EPC section: the host address at which the
 * section's frames are mapped (their EPC addresses). NULL if [phys, phys+size)
 * is not exactly a section.
 */
void *sgx_cpu_memremap(struct sgx_cpu *cpu, uint64_t phys, uint64_t size);

/* MSRs the kernel writes (IA32_SGXLEPUBKEYHASH0..3). 0 or -EINVAL. */
int sgx_cpu_wrmsr(struct sgx_cpu *cpu, uint32_t msr, uint64_t value);
int sgx_cpu_rdmsr(struct sgx_cpu *cpu, uint32_t msr, uint64_t *value);

/* ------------------------------------------------------------------------
 * ENCLS
 *
 * Return value, as the kernel's encls.h wrappers see it: 0 on success, a
 * positive SGX status code (enum sgx_return_code), or
 * SGX_ENCLS_FAULT_FLAG | trap number (#GP = 13, #PF = 14) when the
 * instruction faulted. Registers are passed as the hardware takes them.
 */
int sgx_encls(struct sgx_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx,
	      uint64_t rdx);

static inline bool encls_faulted(int ret)
{
	return ret & SGX_ENCLS_FAULT_FLAG;
}

static inline int encls_trapnr(int ret)
{
	return ret & ~SGX_ENCLS_FAULT_FLAG;
}

/* The kernel's encls_failed(): a fault other than #PF, or an SGX error. */
static inline bool encls_failed(int ret)
{
	if (encls_faulted(ret))
		return encls_trapnr(ret) != X86_TRAP_PF;
	return ret != 0;
}

/* Named wrappers, with the kernel's argument order (encls.h). */
#define SGX_CPU_PTR(p) ((uint64_t)(uintptr_t)(p))
static inline int __ecreate(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *secs)
{ return sgx_encls(c, ECREATE, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(secs), 0); }
static inline int __eextend(struct sgx_cpu *c, void *secs, void *addr)
{ return sgx_encls(c, EEXTEND, SGX_CPU_PTR(secs), SGX_CPU_PTR(addr), 0); }
static inline int __eadd(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *addr)
{ return sgx_encls(c, EADD, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(addr), 0); }
static inline int __einit(struct sgx_cpu *c, void *sigstruct, void *token, void *secs)
{ return sgx_encls(c, EINIT, SGX_CPU_PTR(sigstruct), SGX_CPU_PTR(secs), SGX_CPU_PTR(token)); }
static inline int __eremove(struct sgx_cpu *c, void *addr)
{ return sgx_encls(c, EREMOVE, 0, SGX_CPU_PTR(addr), 0); }
static inline int __edbgwr(struct sgx_cpu *c, void *addr, uint64_t *data)
{ return sgx_encls(c, EDGBWR, *data, SGX_CPU_PTR(addr), 0); }
static inline int __edbgrd(struct sgx_cpu *c, void *addr, uint64_t *data)
{ return sgx_encls(c, EDGBRD, SGX_CPU_PTR(data), SGX_CPU_PTR(addr), 0); }
static inline int __etrack(struct sgx_cpu *c, void *addr)
{ return sgx_encls(c, ETRACK, 0, SGX_CPU_PTR(addr), 0); }
static inline int __eldu(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *addr, void *va)
{ return sgx_encls(c, ELDU, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(addr), SGX_CPU_PTR(va)); }
static inline int __eldb(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *addr, void *va)
{ return sgx_encls(c, ELDB, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(addr), SGX_CPU_PTR(va)); }
static inline int __eblock(struct sgx_cpu *c, void *addr)
{ return sgx_encls(c, EBLOCK, 0, SGX_CPU_PTR(addr), 0); }
static inline int __epa(struct sgx_cpu *c, void *addr)
{ return sgx_encls(c, EPA, SGX_PAGE_TYPE_VA, SGX_CPU_PTR(addr), 0); }
static inline int __ewb(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *addr, void *va)
{ return sgx_encls(c, EWB, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(addr), SGX_CPU_PTR(va)); }
static inline int __emodpr(struct sgx_cpu *c, struct sgx_secinfo *secinfo, void *addr)
{ return sgx_encls(c, EMODPR, SGX_CPU_PTR(secinfo), SGX_CPU_PTR(addr), 0); }
static inline int __emodt(struct sgx_cpu *c, struct sgx_secinfo *secinfo, void *addr)
{ return sgx_encls(c, EMODT, SGX_CPU_PTR(secinfo), SGX_CPU_PTR(addr), 0); }
static inline int __eaug(struct sgx_cpu *c, struct sgx_pageinfo *pginfo, void *addr)
{ return sgx_encls(c, EAUG, SGX_CPU_PTR(pginfo), SGX_CPU_PTR(addr), 0); }

/* ------------------------------------------------------------------------
 * EPC pages: aliasing and inspection
 */

/* Where the bytes of the page at EPC address 'epc' are now (alias or home). */
void *sgx_epc_data(struct sgx_cpu *cpu, void *epc);

/*
 * Make the contents of the valid REG, TCS or TRIM page 'epc' live at 'host_page'
 * (page aligned) from now on; the caller has already copied the current
 * contents there. host_page == NULL ends the alias: the current contents are
 * copied back home. Returns 0, -EINVAL (not an EPC page, not a valid REG/TCS/TRIM
 * page, misaligned) or -EBUSY (page in use by a leaf).
 */
int sgx_epc_alias(struct sgx_cpu *cpu, void *epc, void *host_page);

/* An EPCM entry as software may look at it (tests, fuzzer, monitor). */
struct sgx_epcm_info {
	bool valid;
	bool blocked;
	bool pending;
	bool modified;
	bool pr;
	uint8_t page_type;		/* enum sgx_page_type */
	uint8_t perm;			/* SGX_SECINFO_R|W|X */
	uint64_t linaddr;		/* enclave linear address (REG/TCS/TRIM) */
	void *secs;			/* EPC address of the owning SECS, or NULL */
	/* SECS only */
	uint64_t enclave_id;
	unsigned int child_count;	/* valid REG/TCS/TRIM/VA? pages owned */
	bool initialized;
};

/* 0, or -EINVAL if 'epc' is not the address of an EPC page. */
int sgx_epcm_read(struct sgx_cpu *cpu, void *epc, struct sgx_epcm_info *info);

/* Number of frames, and the EPC address of frame i (0..n-1, sections in order). */
uint64_t sgx_cpu_nr_frames(const struct sgx_cpu *cpu);
void *sgx_cpu_frame_addr(struct sgx_cpu *cpu, uint64_t i);

/*
 * Check every internal invariant of the EPCM (one owner per child frame,
 * SECS child counts equal the number of valid children, VA slot use,
 * linear-address index consistent with the EPCM, tracking state sane).
 * Returns 0, or -1 and a description in buf.
 */
int sgx_cpu_check_invariants(struct sgx_cpu *cpu, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Logical processors, enclave mode and ENCLU
 *
 * An LP is a host thread that can execute enclave code. The CPU tracks which
 * LPs are inside which enclave and since which ETRACK epoch, so that EWB says
 * SGX_NOT_TRACKED until every LP that was inside at ETRACK time has left
 * (EEXIT or AEX). The manager forces those exits with the platform's IPI
 * hook; an AEX is performed by sgx_aex().
 */
struct sgx_lp *sgx_lp_create(struct sgx_cpu *cpu);	/* NULL if max_lps reached */
void sgx_lp_destroy(struct sgx_lp *lp);		/* must be outside enclave mode */
unsigned int sgx_lp_id(const struct sgx_lp *lp);
/*
 * Take an LP out of enclave mode without an AEX: nothing is saved and the
 * TCS stays busy. For a host thread that is gone and will never resume
 * (shared mode: a program thread killed inside), when sgx_aex() cannot
 * complete because its SSA frame cannot be brought into the EPC. 0, or
 * -EINVAL if the LP was not inside.
 */
int sgx_lp_force_exit(struct sgx_lp *lp);

/* Enclave mode of an LP: the SECS EPC address of the enclave, or NULL. */
void *sgx_lp_enclave(const struct sgx_lp *lp);
/* Linear address of the TCS the LP entered through (valid in enclave mode). */
uint64_t sgx_lp_tcs(const struct sgx_lp *lp);

/*
 * Call back fn for every LP currently in enclave mode in the enclave whose
 * SECS is at 'secs' (the kernel's sgx_encl_cpumask() + IPI). fn runs with an
 * internal lock held and must only record or signal.
 */
void sgx_cpu_for_each_lp_in(struct sgx_cpu *cpu, void *secs,
			    void (*fn)(struct sgx_lp *lp, void *arg), void *arg);

/* Register file as the host integration captures it at an ENCLU or fault. */
struct sgx_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, fsbase, gsbase;
};

/* An exception to deliver (ENCLU fault) or that caused an AEX. */
struct sgx_exception {
	uint8_t vector;			/* X86_TRAP_* */
	uint32_t error_code;		/* #PF/#GP error code (X86_PF_SGX for EPCM) */
	uint64_t addr;			/* #PF linear address */
};

/*
 * Execute the ENCLU instruction at regs->rip with the registers in *regs.
 * Returns 0 when the leaf completed: *regs holds the architectural result
 * (RIP at the next instruction, or the new RIP of EENTER/ERESUME/EEXIT).
 * Returns -1 when the instruction faulted: *exc says how, *regs is unchanged;
 * if the LP is in enclave mode the caller either fixes the cause (e.g. loads
 * the page) and retries, or delivers it with sgx_aex().
 *
 * Enclave memory named by the leaf (SECINFO, REPORT, KEYREQUEST, ...) is
 * resolved through the EPCM by linear address; a page that is not in the EPC
 * gives #PF with that address, as a missing PTE would.
 */
int sgx_enclu(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
	      struct sgx_exception *exc);

/*
 * Asynchronous Enclave Exit of an LP in enclave mode: save *regs (and exc
 * into EXITINFO/EXINFO when exc != NULL and the TCS/SECS asks for it) to the
 * current SSA frame, CSSA++, load the synthetic state (RAX = ERESUME,
 * RBX = TCS, RCX = AEP, RIP = AEP, other GPRs cleared) into *regs, and leave
 * enclave mode. Returns 0, or -EINVAL if the LP is not in enclave mode.
 */
int sgx_aex(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
	    const struct sgx_exception *exc);

/*
 * Translate an enclave linear address of the LP's enclave to the host address
 * of its bytes, as the page walk + EPCM check of an access would. Returns NULL
 * and fills *exc (#PF with X86_PF_SGX for EPCM denials, plain #PF for a page
 * that is not in the EPC) when the access is not allowed.
 * 'access' is X86_PF_WRITE and/or X86_PF_INSTR (0 = read).
 */
void *sgx_lp_translate(struct sgx_cpu *cpu, struct sgx_lp *lp, uint64_t linaddr,
		       uint32_t access, struct sgx_exception *exc);

/*
 * (Added by the ENCLU side.) Which enclave does a linear address belong to?
 * EENTER/ERESUME only get the TCS *linear* address; the host integration
 * knows which enclave is mapped there in the LP's address space. 'resolve'
 * returns the SECS EPC address of the enclave whose ELRANGE holds linaddr,
 * or NULL. It is called with CPU locks held: it must only look things up.
 * Without a resolver (resolve == NULL) the CPU uses the unique valid SECS
 * whose ELRANGE holds the address; none or several: not an enclave address.
 * Inside enclave mode, addresses always resolve in the LP's own enclave.
 * Set it while the LP is not executing ENCLU.
 */
void sgx_lp_set_resolver(struct sgx_lp *lp, void *(*resolve)(void *arg, uint64_t linaddr),
			 void *arg);

/*
 * (Added by the ENCLU side.) sgx_aex() with a way to report that the current
 * SSA frame is not in the EPC (the manager evicted or removed a page of it
 * while the LP was inside): returns -EAGAIN, nothing changed, and *ssa_fault
 * (if not NULL) holds the #PF (plain, not-present error code, linear address
 * of the missing page) to resolve before retrying. sgx_aex() is this with
 * ssa_fault == NULL. Other returns: 0, -EINVAL if the LP is not in enclave
 * mode, or -EIO if the TCS itself is gone or corrupt (the LP has then left
 * enclave mode, nothing was saved and *regs is unchanged).
 */
int sgx_aex_or_fault(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
		     const struct sgx_exception *exc, struct sgx_exception *ssa_fault);

/* ------------------------------------------------------------------------
 * Counters (monotonic, for the monitor and benchmarks)
 */
struct sgx_cpu_stats {
	uint64_t encls[16];		/* per ENCLS leaf, successful or not */
	uint64_t enclu[8];		/* per ENCLU leaf */
	uint64_t aex;
	uint64_t encls_faults;
	uint64_t encls_errors;		/* non-zero status codes */
};
void sgx_cpu_get_stats(struct sgx_cpu *cpu, struct sgx_cpu_stats *out);

/* Human-readable names, for logs. */
const char *sgx_encls_name(uint32_t leaf);
const char *sgx_enclu_name(uint32_t leaf);
const char *sgx_status_name(int code);

#endif /* SGXEMU_CPU_H */

/* SPDX-License-Identifier: MIT */
/*
 * Shared between the host integration's C files and its assembly
 * (vsgx.S, signal_entry.S): the layout of the per-thread block and of the
 * frame the signal entry stub hands to the C handler.
 *
 * The per-thread block.  Every thread that runs enclave code owns one block
 * of HOST_THREAD_SIZE bytes, aligned to its size: a header (struct
 * host_thread), a guard page, then the thread's alternate signal stack.
 * While enclave code runs, %fs points into the enclave (EENTER loaded
 * FS base = enclave base + OFSBASE), so a signal handler cannot use TLS to
 * find its thread's state; the stub finds the block from the alternate
 * stack the kernel put it on (ucontext->uc_stack, then the magic in the
 * header) and switches FS/GS base back to the thread's own before any C
 * code runs.
 */
#ifndef SGXEMU_HOST_INTERNAL_H
#define SGXEMU_HOST_INTERNAL_H

#define HOST_THREAD_SIZE	0x40000		/* 256 KiB: ASan handlers are stack hungry */
#define HOST_THREAD_HDR		0x2000		/* header page + guard page */
#define HOST_ALTSTACK_SIZE	(HOST_THREAD_SIZE - HOST_THREAD_HDR)
#define HOST_THREAD_MAGIC	0x4448545845475358	/* "XSGEXTHD" */

/* struct host_thread offsets used by the stub. */
#define HT_MAGIC		0
#define HT_HOST_FSBASE		8
#define HT_HOST_GSBASE		16
#define HT_USE_FSGSBASE		24
#define HT_SELECTOR		25

/* struct host_sig_bases (the stub's frame) offsets. */
#define HSB_FS			0
#define HSB_GS			8
#define HSB_THREAD		16
#define HSB_HAVE_IN		24
#define HSB_WRITE_OUT		28
#define HSB_SELECTOR_OUT	32
#define HSB_SIZE		40

/* The syscall user dispatch selector (linux/prctl.h's SYSCALL_DISPATCH_FILTER_*). */
#define HOST_SYSCALL_ALLOW	0
#define HOST_SYSCALL_BLOCK	1

/* How the stub writes FS/GS base back (HSB_WRITE_OUT). */
#define HSB_WRITE_NONE		0
#define HSB_WRITE_FSGSBASE	1	/* wrfsbase/wrgsbase */
#define HSB_WRITE_SYSCALL	2	/* arch_prctl(ARCH_SET_FS/GS) */

/* ucontext_t offsets (x86-64 Linux): uc_stack.ss_sp and ss_size. */
#define UC_STACK_SP		16
#define UC_STACK_SIZE		32

/* arch_prctl codes and syscall number (the stub has no libc). */
#define HOST_ARCH_SET_GS	0x1001
#define HOST_ARCH_SET_FS	0x1002
#define HOST_ARCH_GET_FS	0x1003
#define HOST_ARCH_GET_GS	0x1004
#define HOST_NR_ARCH_PRCTL	158

/* struct sgx_enclave_run offsets (uapi). */
#define RUN_TCS			0
#define RUN_FUNCTION		8
#define RUN_EXC_VECTOR		12
#define RUN_EXC_ERROR_CODE	14
#define RUN_EXC_ADDR		16
#define RUN_USER_HANDLER	24
#define RUN_USER_DATA		32
#define RUN_RESERVED		40
#define RUN_SIZE		256

#ifndef __ASSEMBLER__
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct enclave_mode;
struct sgx_lp;

struct host_thread {
	uint64_t magic;
	uint64_t host_fsbase;		/* the thread's own FS base (its TLS) */
	uint64_t host_gsbase;
	uint8_t use_fsgsbase;		/* 1: wrfsbase, 0: arch_prctl */
	/*
	 * The thread's syscall user dispatch selector: BLOCK exactly while the
	 * thread runs enclave code, so a SYSCALL there is SIGSYS (the #UD of
	 * hardware). The stub sets ALLOW before any syscall of its own and
	 * writes selector_out last, just before the restorer's rt_sigreturn
	 * (which the dispatch range always allows).
	 */
	volatile uint8_t selector;
	uint8_t dispatch_on;		/* PR_SET_SYSCALL_USER_DISPATCH is on */
	uint8_t pad[5];
	struct enclave_mode *em;
	struct sgx_lp *lp;
	pid_t tid;
	/* Our alternate stack is known to be installed (else vsgx.S retries). */
	volatile int altstack_installed;
	/* The enclave the LP entered last (from its SECS), for "RIP in enclave". */
	uint64_t encl_base, encl_size;
	/* Counters, for tests and the monitor (written by the thread only). */
	uint64_t nr_enclu_traps, nr_aex, nr_kicks, nr_fixups;
	/*
	 * Remote LP (enclave_mode_lp_ops): its handle, and whether it is in
	 * enclave mode as its last call said (encl_base/size then its ELRANGE).
	 * Written by the thread only, in its handler or normal context.
	 */
	void *remote;
	uint8_t remote_inside;
};

/* What the stub passes to the C handler (on the signal stack). */
struct host_sig_bases {
	uint64_t fs, gs;		/* in: interrupted bases (if have_in); out: to return with */
	struct host_thread *thread;	/* NULL: not on a thread block's alternate stack */
	uint32_t have_in;		/* the stub read fs/gs and switched to the host's */
	uint32_t write_out;		/* HSB_WRITE_*: the stub writes fs/gs before returning */
	uint32_t selector_out;		/* HOST_SYSCALL_*: the selector to return with */
	uint32_t pad;
};

_Static_assert(offsetof(struct host_thread, magic) == HT_MAGIC, "HT_MAGIC");
_Static_assert(offsetof(struct host_thread, host_fsbase) == HT_HOST_FSBASE, "HT_HOST_FSBASE");
_Static_assert(offsetof(struct host_thread, host_gsbase) == HT_HOST_GSBASE, "HT_HOST_GSBASE");
_Static_assert(offsetof(struct host_thread, use_fsgsbase) == HT_USE_FSGSBASE, "HT_USE_FSGSBASE");
_Static_assert(offsetof(struct host_thread, selector) == HT_SELECTOR, "HT_SELECTOR");
_Static_assert(offsetof(struct host_sig_bases, selector_out) == HSB_SELECTOR_OUT,
	       "HSB_SELECTOR_OUT");
_Static_assert(offsetof(struct host_sig_bases, fs) == HSB_FS, "HSB_FS");
_Static_assert(offsetof(struct host_sig_bases, gs) == HSB_GS, "HSB_GS");
_Static_assert(offsetof(struct host_sig_bases, thread) == HSB_THREAD, "HSB_THREAD");
_Static_assert(offsetof(struct host_sig_bases, have_in) == HSB_HAVE_IN, "HSB_HAVE_IN");
_Static_assert(offsetof(struct host_sig_bases, write_out) == HSB_WRITE_OUT, "HSB_WRITE_OUT");
_Static_assert(sizeof(struct host_sig_bases) == HSB_SIZE, "HSB_SIZE");
_Static_assert(offsetof(ucontext_t, uc_stack.ss_sp) == UC_STACK_SP, "UC_STACK_SP");
_Static_assert(offsetof(ucontext_t, uc_stack.ss_size) == UC_STACK_SIZE, "UC_STACK_SIZE");

/* signal_entry.S: the sa_sigaction of every signal enclave mode catches. */
void sgxemu_signal_entry(int sig, siginfo_t *info, void *uc);
/*
 * The calling thread's block under the installed enclave mode, or NULL
 * (none installed, no block, or its key already destroyed at thread exit).
 * Normal context only (thread-specific data).
 */
struct host_thread *sgxemu_thread_block(void);
/* enclave_mode.c: what the stub calls, with FS/GS base already the host's. */
void sgxemu_signal_handler(int sig, siginfo_t *info, void *uc, struct host_sig_bases *b);

/*
 * enclave_mode.c: called by vsgx.S before every ENCLU, in ordinary context:
 * creates the calling thread's block if an enclave_mode is installed.
 */
__attribute__((visibility("hidden"))) void sgxemu_enclave_thread_prepare(void);

/* vsgx.S labels: the ENCLU (the AEP) and the exception fixup target. */
extern const char sgxemu_vsgx_enclu[];
extern const char sgxemu_vsgx_exception[];
extern const char sgxemu_vsgx_start[], sgxemu_vsgx_end[];
#endif /* __ASSEMBLER__ */

#endif /* SGXEMU_HOST_INTERNAL_H */

/* SPDX-License-Identifier: MIT */
/*
 * Enclave mode in a host process: enclave code runs natively on the host
 * CPU, the emulated CPU (cpu/cpu.h) keeps the architectural state, and the
 * signals of the host stand in for the hardware's transitions:
 *
 *  - ENCLU (0f 01 d7) traps (SIGILL here, SIGSEGV on hosts with SGX): the
 *    handler recognises it by the bytes at RIP, runs sgx_enclu() on the
 *    thread's LP with the interrupted registers and writes the result back
 *    (EENTER/ERESUME jump into the enclave, EEXIT out of it).
 *  - A fault of enclave code (SIGSEGV/SIGBUS/SIGILL/SIGFPE with RIP in the
 *    enclave while the LP is in enclave mode) is an exception inside the
 *    enclave: the host's fixup hook may resolve it (load an evicted page,
 *    EAUG, widen a page's protection) and the access is retried; otherwise
 *    sgx_aex() and, when the AEP is the vDSO's ENCLU, the vDSO exception
 *    fixup (RIP = vsgx.S's exception label, RDI/RSI/RDX = vector, error
 *    code, address), exactly as the kernel's fixup_vdso_exception().
 *  - A forced exit (the kernel's IPI): enclave_mode_kick_lp() sends the
 *    kick signal to the LP's thread; if it is running enclave code it
 *    AEXes (no exception) and resumes at the AEP, which ERESUMEs.
 *  - Program signals registered with enclave_mode_catch_signal() that hit
 *    enclave code AEX first, then reach the program's handler with the
 *    synthetic state (RIP = AEP), as on hardware.
 *
 * Per thread: an LP and a block holding the thread's alternate signal
 * stack, created on the thread's first ENCLU (or enclave_mode_thread_lp()),
 * freed at thread exit (a pthread key destructor) or by
 * enclave_mode_thread_release().
 *
 * Signal dispositions are per process, so one struct enclave_mode at a time
 * is installed; it is the only process-wide pointer of the host
 * integration.
 */
#ifndef SGXEMU_HOST_ENCLAVE_MODE_H
#define SGXEMU_HOST_ENCLAVE_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

struct enclave_mode;

struct enclave_mode_ops {
	/*
	 * Which enclave (SECS EPC address) is mapped at 'linaddr' in this
	 * process: given to every LP as its resolver (sgx_lp_set_resolver).
	 * NULL: the CPU's default (the unique enclave whose ELRANGE holds it).
	 */
	void *(*resolve)(void *arg, uint64_t linaddr);
	/*
	 * A fault inside the enclave at 'addr' with the hardware's #PF error
	 * code (P/W/U/I bits of the host fault, or the leaf's error code for a
	 * faulting ENCLU): return true if the cause is gone (page loaded,
	 * EAUGed, protection widened) and the access must be retried. Runs in
	 * the faulting thread's signal handler: async-signal-safe code only.
	 */
	bool (*fixup)(void *arg, uint64_t addr, uint32_t error_code);
	/*
	 * Optional (added for the preload shim): a #PF inside the enclave that
	 * 'fixup' declined, after the AEX, i.e. outside the enclave as the
	 * kernel's #PF handler runs. It may block (the EPC manager's fault
	 * path waits for encl->lock, whose holder may be a reclaimer waiting
	 * for this LP to leave the enclave: ETRACK). true: resolved, the
	 * thread resumes at the AEP, whose ERESUME retries the access; false:
	 * the exception is delivered (vDSO fixup or signal). Signal context.
	 */
	bool (*fixup_after_aex)(void *arg, uint64_t addr, uint32_t error_code);
	void *arg;
};

/* What an LP says about itself after a leaf (remote LPs: the LP lives elsewhere). */
struct enclave_mode_lp_state {
	bool inside;			/* in enclave mode */
	uint64_t encl_base, encl_size;	/* ELRANGE of its enclave, when inside */
};

/*
 * Optional: where each thread's LP lives. NULL (the default) is the
 * in-process CPU given to enclave_mode_create(): an sgx_lp per thread and
 * sgx_enclu()/sgx_aex_or_fault()/sgx_lp_translate() on it. Shared mode (the
 * preload shim on a daemon) puts the LP in another process: 'open' returns
 * the calling thread's LP handle (called lazily on the thread's first ENCLU,
 * possibly in a signal handler: async-signal-safe), 'close' gives it back
 * (thread exit or enclave_mode_thread_release(), outside enclave mode,
 * normal context). The other calls run in the thread's signal handler with
 * every signal blocked, so they never nest on one thread; each fills *st
 * with the LP's state after the call (enclave mode keeps no other copy of
 * "inside"). Return values are those of the CPU's functions:
 * enclu 0 / -1 (+ *exc); aex_or_fault 0, -EAGAIN (+ *ssa_fault), -EINVAL,
 * -EIO; translate true, or false with *exc.
 *
 * The forced exit (the platform's IPI) is then the LP owner's business: it
 * sends the kick signal to the LP's thread (tgkill), and enclave mode's
 * handler AEXes through 'aex_or_fault' as for a local LP.
 */
struct enclave_mode_lp_ops {
	void *(*open)(void *arg);
	void (*close)(void *arg, void *lp);
	int (*enclu)(void *arg, void *lp, struct sgx_regs *regs, struct sgx_exception *exc,
		     struct enclave_mode_lp_state *st);
	int (*aex_or_fault)(void *arg, void *lp, struct sgx_regs *regs,
			    const struct sgx_exception *exc, struct sgx_exception *ssa_fault,
			    struct enclave_mode_lp_state *st);
	bool (*translate)(void *arg, void *lp, uint64_t linaddr, uint32_t access,
			  struct sgx_exception *exc);
	void *arg;
};

struct enclave_mode_config {
	int kick_signal;		/* 0: SIGRTMIN + 5 */
	bool force_syscall_fsgs;	/* use arch_prctl even when FSGSBASE is enabled */
	/* NULL: the local CPU's LPs. Copied. ops->resolve is then unused. */
	const struct enclave_mode_lp_ops *lp_ops;
};

/*
 * 0, -EINVAL or -ENOMEM. 'ops' and 'config' are copied; config may be NULL.
 * 'cpu' may be NULL only with config->lp_ops.
 */
int enclave_mode_create(struct sgx_cpu *cpu, const struct enclave_mode_ops *ops,
			const struct enclave_mode_config *config, struct enclave_mode **out);
/* Uninstalls if installed. Threads' blocks must have been released. */
void enclave_mode_destroy(struct enclave_mode *em);

/*
 * Install the handlers of SIGILL, SIGSEGV, SIGBUS, SIGFPE and the kick
 * signal (the previous ones are kept and called for what is not ours).
 * 0, -EBUSY (another enclave_mode is installed) or -errno of sigaction.
 */
int enclave_mode_install(struct enclave_mode *em);
void enclave_mode_uninstall(struct enclave_mode *em);

/*
 * Make the program's signal 'sig' safe to arrive during enclave execution:
 * the current disposition becomes the program's handler, called after the
 * AEX (with every signal blocked, on the thread's alternate stack).
 * 0, -EINVAL (a signal enclave mode owns, SIGKILL/SIGSTOP) or -errno.
 */
int enclave_mode_catch_signal(struct enclave_mode *em, int sig);

/*
 * The calling thread's LP (created with its block if needed). NULL on error,
 * and always NULL with lp_ops (the LP is not an sgx_lp of this process).
 */
struct sgx_lp *enclave_mode_thread_lp(struct enclave_mode *em);
/*
 * The calling thread's LP is in enclave mode (false without a block). For
 * the host's fixup hooks; signal context allowed.
 */
bool enclave_mode_thread_inside(struct enclave_mode *em);
/*
 * sgx_lp_translate() on the calling thread's LP, local or remote: true if
 * the EPCM allows 'access' (X86_PF_WRITE/X86_PF_INSTR bits, 0 = read) at
 * linaddr, else false with *exc (#GP(0) if the thread has no LP). For the
 * fixup hooks (which run while the LP is inside); signal context allowed.
 */
bool enclave_mode_thread_translate(struct enclave_mode *em, uint64_t linaddr, uint32_t access,
				   struct sgx_exception *exc);
/* Free the calling thread's block and LP (it must be outside enclave mode). */
void enclave_mode_thread_release(struct enclave_mode *em);

/*
 * The platform's IPI: force the LP's thread out of the enclave (AEX + resume
 * at the AEP). Signature of sgx_cpu_for_each_lp_in()'s callback, with arg =
 * the struct enclave_mode; only sends a signal, so it may run under CPU
 * locks. LPs that belong to no thread of this enclave_mode are ignored.
 */
void enclave_mode_kick_lp(struct sgx_lp *lp, void *em);

struct enclave_mode_thread_stats {
	uint64_t enclu_traps, aex, kicks, fixups;
};
/* Counters of the calling thread (zeros if it has no block). */
void enclave_mode_thread_stats(struct enclave_mode *em, struct enclave_mode_thread_stats *out);

/* Whether the kernel lets user space use wrfsbase (AT_HWCAP2 bit 1). */
bool enclave_mode_have_fsgsbase(void);

#endif /* SGXEMU_HOST_ENCLAVE_MODE_H */

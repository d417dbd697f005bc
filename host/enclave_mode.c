// SPDX-License-Identifier: MIT
/*
 * Enclave mode in a host process: the signal handlers that stand in for the
 * hardware's enclave transitions (see enclave_mode.h), and the per-thread
 * blocks (LP + alternate signal stack, host_internal.h).
 *
 * Everything below sgxemu_signal_handler() runs in a signal handler, with
 * every signal blocked (sa_mask is full), on the thread's alternate stack
 * once it has a block, with FS/GS base already switched back to the
 * thread's own by signal_entry.S. It only uses syscalls, the CPU's leaves
 * (their locks are never held by code that traps: enclave code or the
 * vDSO's ENCLU) and the thread's own block.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "host/enclave_mode.h"
#include "host/host_internal.h"

#define ENCLU_LEN	3
#define SYSCALL_LEN	2	/* syscall (0f 05), sysenter (0f 34), int $0x80 (cd 80) */

/* linux/prctl.h and asm-generic/siginfo.h, for older headers. */
#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH		2
#endif
#define SIG_BIT(sig)	(1ULL << ((sig) - 1))
#define MAX_SIG		64

struct enclave_mode {
	struct sgx_cpu *cpu;			/* NULL with remote LPs */
	struct enclave_mode_ops ops;
	struct enclave_mode_lp_ops lp_ops;	/* valid if remote */
	bool remote;
	int kick_sig;
	bool use_fsgsbase;
	bool installed;
	pthread_key_t key;
	unsigned int max_lps;
	struct host_thread **by_lp;		/* indexed by LP id; atomic loads/stores */
	uint64_t owned;				/* signals whose handler is ours */
	uint64_t caught;			/* program signals wrapped for enclave mode */
	struct sigaction old[MAX_SIG + 1];	/* the dispositions we replaced */
	uint64_t restorer;			/* libc's rt_sigreturn stub (our handlers') */
};

/*
 * The one process-wide pointer: signal dispositions belong to the process,
 * so the handler needs a way to find the installed enclave_mode that does
 * not depend on the interrupted thread's state.
 */
static struct enclave_mode *installed_em;

bool enclave_mode_have_fsgsbase(void)
{
	return getauxval(AT_HWCAP2) & 2;	/* HWCAP2_FSGSBASE */
}

static uint64_t read_fsbase(bool fsgsbase)
{
	uint64_t v = 0;

	if (fsgsbase)
		__asm__ volatile("rdfsbase %0" : "=r"(v));
	else
		syscall(SYS_arch_prctl, HOST_ARCH_GET_FS, &v);
	return v;
}

static uint64_t read_gsbase(bool fsgsbase)
{
	uint64_t v = 0;

	if (fsgsbase)
		__asm__ volatile("rdgsbase %0" : "=r"(v));
	else
		syscall(SYS_arch_prctl, HOST_ARCH_GET_GS, &v);
	return v;
}

/* ------------------------------------------------------------------------
 * Per-thread blocks
 */

static struct host_thread *thread_block(struct enclave_mode *em)
{
	return pthread_getspecific(em->key);
}

/* ------------------------------------------------------------------------
 * The thread's LP: the local CPU's, or a remote one (enclave_mode_lp_ops).
 * Every use of the LP below goes through these.
 */

static bool lp_inside(const struct host_thread *t)
{
	if (!t)
		return false;
	if (t->em->remote)
		return t->remote_inside;
	return t->lp && sgx_lp_enclave(t->lp);
}

static void lp_note_state(struct host_thread *t, const struct enclave_mode_lp_state *st)
{
	t->remote_inside = st->inside;
	if (st->inside) {
		t->encl_base = st->encl_base;
		t->encl_size = st->encl_size;
	}
}

static int lp_enclu(struct enclave_mode *em, struct host_thread *t, struct sgx_regs *r,
		    struct sgx_exception *exc)
{
	struct enclave_mode_lp_state st = { 0 };
	int ret;

	if (!em->remote)
		return sgx_enclu(em->cpu, t->lp, r, exc);
	ret = em->lp_ops.enclu(em->lp_ops.arg, t->remote, r, exc, &st);
	lp_note_state(t, &st);
	return ret;
}

static int lp_aex_or_fault(struct enclave_mode *em, struct host_thread *t, struct sgx_regs *r,
			   const struct sgx_exception *exc, struct sgx_exception *ssa_fault)
{
	struct enclave_mode_lp_state st = { .inside = t->remote_inside,
					    .encl_base = t->encl_base,
					    .encl_size = t->encl_size };
	int ret;

	if (!em->remote)
		return sgx_aex_or_fault(em->cpu, t->lp, r, exc, ssa_fault);
	ret = em->lp_ops.aex_or_fault(em->lp_ops.arg, t->remote, r, exc, ssa_fault, &st);
	lp_note_state(t, &st);
	return ret;
}

static bool lp_translate(struct enclave_mode *em, struct host_thread *t, uint64_t linaddr,
			 uint32_t access, struct sgx_exception *exc)
{
	if (!em->remote)
		return sgx_lp_translate(em->cpu, t->lp, linaddr, access, exc) != NULL;
	return em->lp_ops.translate(em->lp_ops.arg, t->remote, linaddr, access, exc);
}

/*
 * The kernel's sigaltstack, never the libc symbol: the preload shim
 * interposes sigaltstack() to show the program its own stack instead of
 * enclave mode's, which must not fool enclave mode itself.
 */
static int sys_sigaltstack(const stack_t *ss, stack_t *old)
{
	return (int)syscall(SYS_sigaltstack, ss, old);
}

static void thread_free(struct enclave_mode *em, struct host_thread *t)
{
	stack_t *prev = (stack_t *)(t + 1);
	stack_t cur;

	if (t->lp) {
		if (sgx_lp_id(t->lp) < em->max_lps)
			__atomic_store_n(&em->by_lp[sgx_lp_id(t->lp)], NULL, __ATOMIC_RELEASE);
		sgx_lp_destroy(t->lp);
	}
	if (t->remote && em->lp_ops.close)
		em->lp_ops.close(em->lp_ops.arg, t->remote);
	/* The kernel reads the selector in the block at every syscall: off first. */
	if (t->dispatch_on)
		prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	/* Give the thread back the alternate stack it had (ASan's, the program's). */
	if (!sys_sigaltstack(NULL, &cur) && cur.ss_sp == (uint8_t *)t + HOST_THREAD_HDR) {
		if (prev->ss_flags & SS_DISABLE) {
			stack_t off = { .ss_flags = SS_DISABLE };

			sys_sigaltstack(&off, NULL);
		} else {
			sys_sigaltstack(prev, NULL);
		}
	}
	t->magic = 0;
	munmap(t, HOST_THREAD_SIZE);
}

static void thread_destructor(void *p)
{
	struct host_thread *t = p;

	if (t && t->em && !lp_inside(t))
		thread_free(t->em, t);
}

/*
 * A block of HOST_THREAD_SIZE aligned to its size (the stub finds the
 * header by masking), with a guard page between the header and the stack.
 * May run in a signal handler (the thread's first ENCLU): syscalls only,
 * plus sgx_lp_create() whose lock no trapping code holds.
 */
static struct host_thread *thread_create(struct enclave_mode *em, ucontext_t *uc)
{
	size_t len = 2 * HOST_THREAD_SIZE;
	uint8_t *map, *block;
	struct host_thread *t;
	stack_t *prev, ss;
	uintptr_t a;

	map = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)map + HOST_THREAD_SIZE - 1) & ~(uintptr_t)(HOST_THREAD_SIZE - 1);
	block = (uint8_t *)a;
	if (block > map)
		munmap(map, (size_t)(block - map));
	if (block + HOST_THREAD_SIZE < map + len)
		munmap(block + HOST_THREAD_SIZE, (size_t)(map + len - block - HOST_THREAD_SIZE));
	if (mprotect(block, 4096, PROT_READ | PROT_WRITE) ||
	    mprotect(block + HOST_THREAD_HDR, HOST_ALTSTACK_SIZE, PROT_READ | PROT_WRITE)) {
		munmap(block, HOST_THREAD_SIZE);
		return NULL;
	}
	t = (struct host_thread *)block;
	prev = (stack_t *)(t + 1);
	t->em = em;
	t->tid = (pid_t)syscall(SYS_gettid);
	t->use_fsgsbase = em->use_fsgsbase;
	t->host_fsbase = read_fsbase(em->use_fsgsbase);
	t->host_gsbase = read_gsbase(em->use_fsgsbase);
	if (em->remote) {
		/* A remote LP: opened here, in the handler of the first ENCLU. */
		t->remote = em->lp_ops.open(em->lp_ops.arg);
		if (!t->remote) {
			munmap(block, HOST_THREAD_SIZE);
			return NULL;
		}
	} else {
		t->lp = sgx_lp_create(em->cpu);
		if (!t->lp) {
			munmap(block, HOST_THREAD_SIZE);
			return NULL;
		}
		if (em->ops.resolve)
			sgx_lp_set_resolver(t->lp, em->ops.resolve, em->ops.arg);
	}
	ss.ss_sp = block + HOST_THREAD_HDR;
	ss.ss_size = HOST_ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (uc) {
		/*
		 * In a signal handler: rt_sigreturn sets the alternate stack
		 * from the frame's uc_stack, so the frame must name the new one;
		 * and the handler may never return (a program handler that
		 * longjmps), so install it now too - unless we run on another
		 * alternate stack (ASan's), where sigaltstack() fails (EPERM)
		 * and only the frame can do it.
		 */
		*prev = uc->uc_stack;
		prev->ss_flags &= ~SS_ONSTACK;
		uc->uc_stack = ss;
		t->altstack_installed = !sys_sigaltstack(&ss, NULL);
	} else if (sys_sigaltstack(&ss, prev)) {
		/* EPERM: the thread runs on the program's alternate stack now. */
		if (t->lp)
			sgx_lp_destroy(t->lp);
		if (t->remote && em->lp_ops.close)
			em->lp_ops.close(em->lp_ops.arg, t->remote);
		munmap(block, HOST_THREAD_SIZE);
		return NULL;
	} else {
		t->altstack_installed = 1;
	}
	/*
	 * Syscall user dispatch (Linux 5.11+): while the selector says BLOCK
	 * (the thread runs enclave code), a syscall from anywhere but the
	 * restorer is SIGSYS, which enclave mode turns into the #UD that
	 * SYSCALL raises in enclave mode on hardware. Without it (older
	 * kernels), a syscall from enclave code just runs.
	 */
	t->selector = HOST_SYSCALL_ALLOW;
	if (em->restorer &&
	    !prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, em->restorer, 16,
		   &t->selector))
		t->dispatch_on = 1;
	t->magic = HOST_THREAD_MAGIC;
	pthread_setspecific(em->key, t);
	if (t->lp && sgx_lp_id(t->lp) < em->max_lps)
		__atomic_store_n(&em->by_lp[sgx_lp_id(t->lp)], t, __ATOMIC_RELEASE);
	return t;
}

struct sgx_lp *enclave_mode_thread_lp(struct enclave_mode *em)
{
	struct host_thread *t;

	if (!em || em->remote)
		return NULL;
	t = thread_block(em);
	if (!t)
		t = thread_create(em, NULL);
	return t ? t->lp : NULL;
}

bool enclave_mode_thread_inside(struct enclave_mode *em)
{
	return em && lp_inside(thread_block(em));
}

bool enclave_mode_thread_translate(struct enclave_mode *em, uint64_t linaddr, uint32_t access,
				   struct sgx_exception *exc)
{
	struct host_thread *t = em ? thread_block(em) : NULL;

	if (!t) {
		*exc = (struct sgx_exception){ .vector = X86_TRAP_GP };
		return false;
	}
	return lp_translate(em, t, linaddr, access, exc);
}

struct host_thread *sgxemu_thread_block(void)
{
	struct enclave_mode *em = __atomic_load_n(&installed_em, __ATOMIC_ACQUIRE);

	return em ? thread_block(em) : NULL;
}

void sgxemu_enclave_thread_prepare(void)
{
	struct enclave_mode *em = __atomic_load_n(&installed_em, __ATOMIC_ACQUIRE);

	struct host_thread *t;

	if (!em)
		return;
	t = thread_block(em);
	if (!t) {
		thread_create(em, NULL);
	} else if (!t->altstack_installed) {
		/* Created in a handler that never returned (a longjmp): do it now. */
		stack_t ss = { .ss_sp = (uint8_t *)t + HOST_THREAD_HDR,
			       .ss_size = HOST_ALTSTACK_SIZE };

		t->altstack_installed = !sys_sigaltstack(&ss, NULL);
	}
}

void enclave_mode_thread_release(struct enclave_mode *em)
{
	struct host_thread *t;

	if (!em)
		return;
	t = thread_block(em);
	if (!t || lp_inside(t))
		return;
	pthread_setspecific(em->key, NULL);
	thread_free(em, t);
}

void enclave_mode_thread_stats(struct enclave_mode *em, struct enclave_mode_thread_stats *out)
{
	struct host_thread *t = em ? thread_block(em) : NULL;

	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	out->enclu_traps = t->nr_enclu_traps;
	out->aex = t->nr_aex;
	out->kicks = t->nr_kicks;
	out->fixups = t->nr_fixups;
}

/* ------------------------------------------------------------------------
 * Registers
 */

static void regs_from_uc(struct sgx_regs *r, const ucontext_t *uc, const struct host_sig_bases *b)
{
	const greg_t *g = uc->uc_mcontext.gregs;

	r->rax = (uint64_t)g[REG_RAX];
	r->rbx = (uint64_t)g[REG_RBX];
	r->rcx = (uint64_t)g[REG_RCX];
	r->rdx = (uint64_t)g[REG_RDX];
	r->rsi = (uint64_t)g[REG_RSI];
	r->rdi = (uint64_t)g[REG_RDI];
	r->rsp = (uint64_t)g[REG_RSP];
	r->rbp = (uint64_t)g[REG_RBP];
	r->r8 = (uint64_t)g[REG_R8];
	r->r9 = (uint64_t)g[REG_R9];
	r->r10 = (uint64_t)g[REG_R10];
	r->r11 = (uint64_t)g[REG_R11];
	r->r12 = (uint64_t)g[REG_R12];
	r->r13 = (uint64_t)g[REG_R13];
	r->r14 = (uint64_t)g[REG_R14];
	r->r15 = (uint64_t)g[REG_R15];
	r->rip = (uint64_t)g[REG_RIP];
	r->rflags = (uint64_t)g[REG_EFL];
	r->fsbase = b->fs;
	r->gsbase = b->gs;
}

static void regs_to_uc(ucontext_t *uc, struct host_sig_bases *b, const struct sgx_regs *r)
{
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_RAX] = (greg_t)r->rax;
	g[REG_RBX] = (greg_t)r->rbx;
	g[REG_RCX] = (greg_t)r->rcx;
	g[REG_RDX] = (greg_t)r->rdx;
	g[REG_RSI] = (greg_t)r->rsi;
	g[REG_RDI] = (greg_t)r->rdi;
	g[REG_RSP] = (greg_t)r->rsp;
	g[REG_RBP] = (greg_t)r->rbp;
	g[REG_R8] = (greg_t)r->r8;
	g[REG_R9] = (greg_t)r->r9;
	g[REG_R10] = (greg_t)r->r10;
	g[REG_R11] = (greg_t)r->r11;
	g[REG_R12] = (greg_t)r->r12;
	g[REG_R13] = (greg_t)r->r13;
	g[REG_R14] = (greg_t)r->r14;
	g[REG_R15] = (greg_t)r->r15;
	g[REG_RIP] = (greg_t)r->rip;
	g[REG_EFL] = (greg_t)r->rflags;
	b->fs = r->fsbase;
	b->gs = r->gsbase;
}

/* ------------------------------------------------------------------------
 * Delivering to the program what is not enclave mode's
 */

static void raise_default(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	/* Pending until the handler returns (every signal is blocked here). */
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
}

/*
 * Call what was installed before us for 'sig'. 'synchronous' faults
 * re-execute the faulting instruction when we return, so SIG_DFL only needs
 * the disposition back; a signal that will not recur is raised again.
 */
static void chain(struct enclave_mode *em, int sig, siginfo_t *info, ucontext_t *uc,
		  bool recurs)
{
	const struct sigaction *old = &em->old[sig];

	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction)
			old->sa_sigaction(sig, info, uc);
		return;
	}
	if (old->sa_handler == SIG_IGN)
		return;
	if (old->sa_handler == SIG_DFL) {
		if (recurs) {
			struct sigaction dfl = { .sa_handler = SIG_DFL };

			sigemptyset(&dfl.sa_mask);
			sigaction(sig, &dfl, NULL);
		} else {
			raise_default(sig);
		}
		return;
	}
	old->sa_handler(sig);
}

/* An ENCLU fault outside the vDSO, as the kernel sends it: a signal. */
static void deliver_fault(struct enclave_mode *em, ucontext_t *uc,
			  const struct sgx_exception *exc)
{
	siginfo_t si;
	int sig = SIGSEGV;

	memset(&si, 0, sizeof(si));
	if (exc->vector == X86_TRAP_UD)
		sig = SIGILL;
	si.si_signo = sig;
	if (exc->vector == X86_TRAP_PF) {
		si.si_code = (exc->error_code & X86_PF_PROT) ? SEGV_ACCERR : SEGV_MAPERR;
		si.si_addr = (void *)(uintptr_t)exc->addr;
	} else {
		si.si_code = sig == SIGILL ? ILL_ILLOPN : SI_KERNEL;
	}
	uc->uc_mcontext.gregs[REG_TRAPNO] = exc->vector;
	uc->uc_mcontext.gregs[REG_ERR] = exc->error_code;
	if (em->old[sig].sa_flags & SA_SIGINFO || (em->old[sig].sa_handler != SIG_DFL &&
						  em->old[sig].sa_handler != SIG_IGN))
		chain(em, sig, &si, uc, false);
	else
		raise_default(sig);
}

/* The kernel's fixup_vdso_exception(): the ENCLU of the vDSO faulted. */
static void vdso_fixup(ucontext_t *uc, const struct sgx_exception *exc)
{
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_RIP] = (greg_t)(uintptr_t)sgxemu_vsgx_exception;
	g[REG_RDI] = exc->vector;
	g[REG_RSI] = exc->error_code;
	g[REG_RDX] = (greg_t)exc->addr;
}

/* ------------------------------------------------------------------------
 * Enclave mode
 */

static bool in_enclave_code(const struct host_thread *t, uint64_t rip)
{
	return t && lp_inside(t) && rip - t->encl_base < t->encl_size;
}

static void note_enclave(struct host_thread *t)
{
	const struct sgx_secs *secs;

	if (t->em->remote)
		return;		/* lp_enclu() noted the remote LP's ELRANGE */
	secs = sgx_lp_enclave(t->lp);
	if (secs) {
		t->encl_base = secs->base;
		t->encl_size = secs->size;
	}
}

static bool try_fixup(struct enclave_mode *em, struct host_thread *t,
		      const struct sgx_exception *exc)
{
	if (exc->vector != X86_TRAP_PF || !em->ops.fixup)
		return false;
	if (!em->ops.fixup(em->ops.arg, exc->addr, exc->error_code))
		return false;
	t->nr_fixups++;
	return true;
}

/*
 * AEX of the thread's LP from the enclave state *r (exc: the exception, or
 * NULL for an interrupt), leaving the synthetic state in the context.
 * Returns false if no AEX could be done (the context is unchanged).
 */
static bool do_aex(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
		   struct host_sig_bases *b, struct sgx_regs *r, const struct sgx_exception *exc)
{
	struct sgx_exception ssa_fault;
	int ret, tries = 0;

	for (;;) {
		ret = lp_aex_or_fault(em, t, r, exc, &ssa_fault);
		if (ret != -EAGAIN || ++tries > 8)
			break;
		/* The current SSA frame is not in the EPC: the host may load it. */
		if (!try_fixup(em, t, &ssa_fault))
			break;
	}
	if (ret)
		return false;
	t->nr_aex++;
	regs_to_uc(uc, b, r);
	return true;
}

static void fatal(const char *msg)
{
	ssize_t n = write(STDERR_FILENO, msg, strlen(msg));

	(void)n;
	abort();
}

static void deliver_exception(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
			      struct host_sig_bases *b, struct sgx_regs *r,
			      const struct sgx_exception *exc);

/*
 * An exception inside the enclave (r = the enclave's registers at the
 * faulting instruction): the host's fixup, else AEX and then the vDSO
 * fixup (the AEP is the vDSO's ENCLU) or a signal to the program.
 */
static void enclave_exception(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
			      struct host_sig_bases *b, struct sgx_regs *r,
			      const struct sgx_exception *exc)
{
	if (try_fixup(em, t, exc))
		return;		/* retry the instruction */
	deliver_exception(em, t, uc, b, r, exc);
}

/* AEX, then the vDSO fixup (the AEP is the vDSO's ENCLU) or a signal. */
static void deliver_exception(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
			      struct host_sig_bases *b, struct sgx_regs *r,
			      const struct sgx_exception *exc)
{
	if (!do_aex(em, t, uc, b, r, exc))
		fatal("sgxemu: AEX impossible (SSA frame or TCS lost while inside)\n");
	/* Outside the enclave now: a fixup that may wait for the reclaimer. */
	if (exc->vector == X86_TRAP_PF && em->ops.fixup_after_aex &&
	    em->ops.fixup_after_aex(em->ops.arg, exc->addr, exc->error_code)) {
		t->nr_fixups++;
		return;		/* at the AEP: ERESUME retries the access */
	}
	if (r->rip == (uint64_t)(uintptr_t)sgxemu_vsgx_enclu)
		vdso_fixup(uc, exc);
	else
		deliver_fault(em, uc, exc);
}

static void handle_enclu(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
			 struct host_sig_bases *b)
{
	struct sgx_exception exc = { 0 };
	struct sgx_regs r, orig;
	uint32_t leaf;

	regs_from_uc(&r, uc, b);
	orig = r;
	leaf = (uint32_t)r.rax;
	t->nr_enclu_traps++;
	if (!lp_enclu(em, t, &r, &exc)) {
		regs_to_uc(uc, b, &r);
		if (leaf == EENTER || leaf == ERESUME)
			note_enclave(t);
		return;
	}
	if (lp_inside(t)) {
		/* A leaf of enclave code faulted: an exception inside the enclave. */
		enclave_exception(em, t, uc, b, &orig, &exc);
		return;
	}
	/* EENTER/ERESUME (or a leaf outside enclave mode) faulted. */
	if (try_fixup(em, t, &exc))
		return;
	if (orig.rip == (uint64_t)(uintptr_t)sgxemu_vsgx_enclu)
		vdso_fixup(uc, &exc);
	else
		deliver_fault(em, uc, &exc);
}

enum enclu_probe { NOT_ENCLU, IS_ENCLU, ENCLU_GONE };

static bool page_resident(uint64_t addr)
{
	unsigned char vec = 0;

	if (syscall(SYS_mincore, (void *)(uintptr_t)(addr & SGX_PAGE_MASK), 4096UL, &vec))
		return false;
	return vec & 1;
}

/*
 * Is the faulting instruction an ENCLU? Never reads a page the fault is
 * about. Enclave code is read with process_vm_readv(), never directly: the
 * page was there when the CPU fetched the instruction, but a reclaimer
 * whose ETRACK this LP already satisfied (an earlier AEX) may complete its
 * EWB and punch the page before we look, and a direct read would then be a
 * userfaultfd SIGBUS inside this handler, with SIGBUS blocked: the process
 * would die. ENCLU_GONE: the bytes are gone, re-execute (the fetch faults
 * and the fault path loads the page).
 */
static enum enclu_probe enclu_at(const struct host_thread *t, int sig, const siginfo_t *info,
				 const ucontext_t *uc)
{
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	const uint8_t *p = (const uint8_t *)(uintptr_t)rip;
	uint8_t insn[ENCLU_LEN];

	if (sig == SIGSEGV || sig == SIGBUS) {
		uint64_t a = (uint64_t)(uintptr_t)info->si_addr & SGX_PAGE_MASK;

		/* An instruction fetch fault: the bytes are not readable. */
		if (a == (rip & SGX_PAGE_MASK) || a == ((rip + ENCLU_LEN - 1) & SGX_PAGE_MASK))
			return NOT_ENCLU;
	}
	if (sig != SIGILL && sig != SIGSEGV)
		return NOT_ENCLU;
	if (rip == (uint64_t)(uintptr_t)sgxemu_vsgx_enclu)
		return IS_ENCLU;	/* the vDSO's: no need to look */
	if (in_enclave_code(t, rip) || in_enclave_code(t, rip + ENCLU_LEN - 1)) {
		struct iovec local = { .iov_base = insn, .iov_len = sizeof(insn) };
		struct iovec remote = { .iov_base = (void *)p, .iov_len = sizeof(insn) };

		if (syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) ==
		    (long)sizeof(insn))
			p = insn;
		else if (!page_resident(rip) || !page_resident(rip + ENCLU_LEN - 1))
			return ENCLU_GONE;
		/* Else resident but not readable by the kernel (an execute-only page): look. */
	}
	return p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xd7 ? IS_ENCLU : NOT_ENCLU;
}

/* A native fault of enclave code: what the hardware would have reported. */
static void native_exception(struct enclave_mode *em, struct host_thread *t, int sig,
			     siginfo_t *info, ucontext_t *uc, struct host_sig_bases *b)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	struct sgx_exception exc = { 0 }, tx;
	struct sgx_regs r;

	regs_from_uc(&r, uc, b);
	exc.vector = (uint8_t)g[REG_TRAPNO];
	if (sig == SIGBUS) {
		exc.vector = X86_TRAP_PF;
	} else if (sig == SIGILL) {
		exc.vector = X86_TRAP_UD;
	} else if (sig == SIGSEGV && exc.vector != X86_TRAP_PF && exc.vector != X86_TRAP_GP) {
		exc.vector = (info->si_code == SEGV_MAPERR || info->si_code == SEGV_ACCERR) ?
			     X86_TRAP_PF : X86_TRAP_GP;
	}
	if (exc.vector == X86_TRAP_PF) {
		uint32_t err = (uint32_t)g[REG_ERR] & (X86_PF_PROT | X86_PF_WRITE | X86_PF_USER |
						       X86_PF_INSTR);
		uint64_t addr = (uint64_t)(uintptr_t)info->si_addr;

		err |= X86_PF_USER;
		/* The host's fixup sees the exact address and the host's code. */
		exc.error_code = err;
		exc.addr = addr;
		if (try_fixup(em, t, &exc))
			return;
		/*
		 * The page walk allowed nothing more than the host mapping, so
		 * ask the EPCM: its denial is the hardware's #PF with the SGX
		 * bit; if it allows the access, the page tables denied it.
		 */
		if (!lp_translate(em, t, addr, err & (X86_PF_WRITE | X86_PF_INSTR), &tx) &&
		    tx.vector == X86_TRAP_PF)
			exc = tx;
		/* An in-enclave #PF reports the page, low 12 bits cleared (SDM). */
		exc.addr &= SGX_PAGE_MASK;
		deliver_exception(em, t, uc, b, &r, &exc);
		return;
	}
	if (exc.vector == X86_TRAP_GP)
		exc.error_code = (uint32_t)g[REG_ERR];
	enclave_exception(em, t, uc, b, &r, &exc);
}

/*
 * SIGSYS from syscall user dispatch: RIP is after the syscall instruction,
 * RAX the syscall number again. From enclave code it is the #UD the
 * instruction raises in enclave mode (RCX and R11 already hold what
 * SYSCALL put there, which hardware would not have done). From host code
 * it is a syscall made while the selector still said BLOCK (code run
 * before this handler could switch it): run it again.
 */
static void handle_dispatched_syscall(struct enclave_mode *em, struct host_thread *t,
				      ucontext_t *uc, struct host_sig_bases *b)
{
	uint64_t at = (uint64_t)uc->uc_mcontext.gregs[REG_RIP] - SYSCALL_LEN;
	struct sgx_exception exc = { .vector = X86_TRAP_UD };
	struct sgx_regs r;

	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)at;
	if (!in_enclave_code(t, at))
		return;
	regs_from_uc(&r, uc, b);
	deliver_exception(em, t, uc, b, &r, &exc);
}

static void handle_kick(struct enclave_mode *em, struct host_thread *t, ucontext_t *uc,
			struct host_sig_bases *b)
{
	struct sgx_regs r;

	if (!in_enclave_code(t, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]))
		return;		/* already out: the IPI found nothing to do */
	regs_from_uc(&r, uc, b);
	/* An interrupt: no EXITINFO. Back at the AEP, which ERESUMEs. */
	if (do_aex(em, t, uc, b, &r, NULL))
		t->nr_kicks++;
}

/* A program signal: AEX first if it hit enclave code, then the program's handler. */
static void handle_program_signal(struct enclave_mode *em, struct host_thread *t, int sig,
				  siginfo_t *info, ucontext_t *uc, struct host_sig_bases *b)
{
	if (in_enclave_code(t, (uint64_t)uc->uc_mcontext.gregs[REG_RIP])) {
		struct sgx_regs r;

		regs_from_uc(&r, uc, b);
		do_aex(em, t, uc, b, &r, NULL);
	}
	chain(em, sig, info, uc, false);
}

void sgxemu_signal_handler(int sig, siginfo_t *info, void *ucv, struct host_sig_bases *b)
{
	struct enclave_mode *em = __atomic_load_n(&installed_em, __ATOMIC_ACQUIRE);
	ucontext_t *uc = ucv;
	int saved_errno = errno;
	uint64_t cur_fs, cur_gs;
	struct host_thread *t = NULL;
	bool fsgsbase = em ? em->use_fsgsbase : enclave_mode_have_fsgsbase();
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];

	if (!b->have_in) {
		b->fs = read_fsbase(fsgsbase);
		b->gs = read_gsbase(fsgsbase);
		cur_fs = b->fs;
		cur_gs = b->gs;
	} else {
		cur_fs = b->thread->host_fsbase;
		cur_gs = b->thread->host_gsbase;
	}
	if (!em || sig < 1 || sig > MAX_SIG) {
		/* Uninstalled while a signal was in flight: let it recur as default. */
		if (sig >= 1 && sig <= MAX_SIG)
			raise_default(sig);
		goto out;
	}
	t = b->thread ? b->thread : thread_block(em);

	if (sig == em->kick_sig) {
		handle_kick(em, t, uc, b);
		goto out;
	}
	if (sig == SIGSYS) {
		if (info->si_code == SYS_USER_DISPATCH && t && t->dispatch_on)
			handle_dispatched_syscall(em, t, uc, b);
		else
			chain(em, sig, info, uc, false);	/* seccomp's: the program's */
		goto out;
	}
	if (sig == SIGILL || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE) {
		enum enclu_probe probe = enclu_at(t, sig, info, uc);

		if (probe == ENCLU_GONE)
			goto out;	/* retry: the fetch now faults and loads the page */
		if (probe == IS_ENCLU) {
			if (!t)
				t = thread_create(em, uc);
			if (t) {
				handle_enclu(em, t, uc, b);
				goto out;
			}
		} else if (in_enclave_code(t, rip)) {
			native_exception(em, t, sig, info, uc, b);
			goto out;
		}
		if (em->owned & SIG_BIT(sig)) {
			chain(em, sig, info, uc, info->si_code > 0);
			goto out;
		}
	}
	if (em->caught & SIG_BIT(sig))
		handle_program_signal(em, t, sig, info, uc, b);
out:
	/* Back into enclave code: its syscalls must fault (stub step 5). */
	if (em && t && t->dispatch_on) {
		b->thread = t;
		b->selector_out = in_enclave_code(t, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]) ?
				  HOST_SYSCALL_BLOCK : HOST_SYSCALL_ALLOW;
	}
	b->write_out = HSB_WRITE_NONE;
	if (b->fs != cur_fs || b->gs != cur_gs)
		b->write_out = fsgsbase ? HSB_WRITE_FSGSBASE : HSB_WRITE_SYSCALL;
	errno = saved_errno;
}

/* ------------------------------------------------------------------------
 * Set-up
 */

int enclave_mode_create(struct sgx_cpu *cpu, const struct enclave_mode_ops *ops,
			const struct enclave_mode_config *config, struct enclave_mode **out)
{
	struct enclave_mode *em;

	const struct enclave_mode_lp_ops *lp_ops = config ? config->lp_ops : NULL;

	if ((!cpu && !lp_ops) || !out)
		return -EINVAL;
	if (lp_ops && (!lp_ops->open || !lp_ops->enclu || !lp_ops->aex_or_fault ||
		       !lp_ops->translate))
		return -EINVAL;
	em = calloc(1, sizeof(*em));
	if (!em)
		return -ENOMEM;
	em->cpu = cpu;
	if (ops)
		em->ops = *ops;
	if (lp_ops) {
		em->lp_ops = *lp_ops;
		em->remote = true;
	}
	em->kick_sig = config && config->kick_signal ? config->kick_signal : SIGRTMIN + 5;
	em->use_fsgsbase = enclave_mode_have_fsgsbase() && !(config && config->force_syscall_fsgs);
	if (em->kick_sig < 1 || em->kick_sig > MAX_SIG || em->kick_sig == SIGKILL ||
	    em->kick_sig == SIGSTOP || em->kick_sig == SIGILL || em->kick_sig == SIGSEGV ||
	    em->kick_sig == SIGBUS || em->kick_sig == SIGFPE) {
		free(em);
		return -EINVAL;
	}
	/* by_lp serves enclave_mode_kick_lp(), for local LPs only. */
	em->max_lps = em->remote ? 0 : sgx_cpu_config(cpu)->max_lps;
	em->by_lp = calloc(em->max_lps ? em->max_lps : 1, sizeof(*em->by_lp));
	if (!em->by_lp || pthread_key_create(&em->key, thread_destructor)) {
		free(em->by_lp);
		free(em);
		return -ENOMEM;
	}
	*out = em;
	return 0;
}

void enclave_mode_destroy(struct enclave_mode *em)
{
	if (!em)
		return;
	enclave_mode_thread_release(em);
	enclave_mode_uninstall(em);
	pthread_key_delete(em->key);
	free(em->by_lp);
	free(em);
}

static int take_signal(struct enclave_mode *em, int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sgxemu_signal_entry;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	/* Nothing nests inside the handler: it may hold the thread's LP state. */
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, &em->old[sig]))
		return -errno;
	return 0;
}

/*
 * The restorer libc gave our handlers (its rt_sigreturn stub), read back
 * from the kernel: syscall user dispatch always allows that range, so the
 * return into enclave code can happen with the selector already BLOCK.
 */
static uint64_t handler_restorer(int sig)
{
	struct { uint64_t handler, flags, restorer, mask; } ksa;

	if (syscall(SYS_rt_sigaction, sig, NULL, &ksa, 8))
		return 0;
	return (ksa.flags & 0x04000000 /* SA_RESTORER */) ? ksa.restorer : 0;
}

int enclave_mode_install(struct enclave_mode *em)
{
	static const int faults[] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE };
	struct enclave_mode *none = NULL;
	int ret;

	if (!em)
		return -EINVAL;
	if (!__atomic_compare_exchange_n(&installed_em, &none, em, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return none == em ? 0 : -EBUSY;
	for (unsigned int i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		ret = take_signal(em, faults[i]);
		if (ret)
			goto fail;
		em->owned |= SIG_BIT(faults[i]);
	}
	ret = take_signal(em, em->kick_sig);
	if (ret)
		goto fail;
	em->owned |= SIG_BIT(em->kick_sig);
	ret = take_signal(em, SIGSYS);
	if (ret)
		goto fail;
	em->owned |= SIG_BIT(SIGSYS);
	em->restorer = handler_restorer(SIGILL);
	em->installed = true;
	return 0;
fail:
	em->installed = true;
	enclave_mode_uninstall(em);
	return ret;
}

void enclave_mode_uninstall(struct enclave_mode *em)
{
	if (!em || !em->installed)
		return;
	for (int sig = 1; sig <= MAX_SIG; sig++) {
		if ((em->owned | em->caught) & SIG_BIT(sig))
			sigaction(sig, &em->old[sig], NULL);
	}
	em->owned = 0;
	em->caught = 0;
	em->installed = false;
	__atomic_store_n(&installed_em, NULL, __ATOMIC_RELEASE);
}

int enclave_mode_catch_signal(struct enclave_mode *em, int sig)
{
	int ret;

	if (!em || !em->installed || sig < 1 || sig > MAX_SIG || sig == SIGKILL ||
	    sig == SIGSTOP || (em->owned & SIG_BIT(sig)))
		return -EINVAL;
	if (em->caught & SIG_BIT(sig))
		return 0;
	ret = take_signal(em, sig);
	if (!ret)
		em->caught |= SIG_BIT(sig);
	return ret;
}

void enclave_mode_kick_lp(struct sgx_lp *lp, void *arg)
{
	struct enclave_mode *em = arg;
	struct host_thread *t;
	unsigned int id;

	if (!em || !lp || em->remote)
		return;
	id = sgx_lp_id(lp);
	if (id >= em->max_lps)
		return;
	t = __atomic_load_n(&em->by_lp[id], __ATOMIC_ACQUIRE);
	if (!t || t->lp != lp)
		return;
	syscall(SYS_tgkill, getpid(), t->tid, em->kick_sig);
}

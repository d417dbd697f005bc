// SPDX-License-Identifier: MIT
/*
 * Signals, CPUID and the vDSO as the program sees them.
 *
 * The shim's handlers stay first. For SIGILL, SIGSEGV, SIGBUS and SIGFPE
 * enclave mode's entry (host/signal_entry.S) is the disposition; what it
 * does not consume goes to the "previous" disposition, which is
 * shim_dispatch(): CPUID traps (SIGILL at a patched site), window faults
 * outside enclave mode (SIGBUS from the userfaultfd), then the program's
 * handler. A program's sigaction() on those four only changes what
 * shim_dispatch() calls (struct shim::prog_act).
 *
 * Every other signal the program handles is wrapped the same way through
 * enclave_mode_catch_signal(): if it arrives while the thread runs enclave
 * code, enclave mode does the AEX first and the program's handler runs
 * outside, with the synthetic state (RIP = AEP), as on hardware. The
 * kernel's disposition is then enclave mode's entry with the program's
 * SA_RESTART; the handler runs on the thread's alternate stack with the
 * mask the program asked for (sa_mask, SA_NODEFER) set by shim_dispatch.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "host/host_internal.h"
#include "host/preload.h"
#include "host/vdso.h"

#define SIG_BIT(sig)	(1ULL << ((sig) - 1))
#define OWNED_SIGS	(SIG_BIT(SIGILL) | SIG_BIT(SIGSEGV) | SIG_BIT(SIGBUS) | SIG_BIT(SIGFPE))
#define KICK_SIG	(SIGRTMIN + 5)	/* enclave_mode's default */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM	(1U << 31)	/* linux/signal.h */
#endif

/* glibc's own entry points (exported), below every interposer. */
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
unsigned long __getauxval(unsigned long type);

int shim_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return __sigaction(sig, act, old);
}

static bool is_handler(const struct sigaction *act)
{
	if (act->sa_flags & SA_SIGINFO)
		return act->sa_sigaction != NULL;
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

/* Signals whose default action is to do nothing. */
static bool default_ignored(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* ------------------------------------------------------------------------
 * Delivery to the program
 */

static void deliver(struct shim *s, int sig, siginfo_t *info, ucontext_t *uc)
{
	struct sigaction act = s->prog_act[sig];
	sigset_t mask;

	if (!is_handler(&act)) {
		/* A fault the kernel raised cannot be ignored: it kills (force_sig). */
		if (act.sa_handler == SIG_IGN && !(info->si_code > 0 && (OWNED_SIGS & SIG_BIT(sig))))
			return;
		if (act.sa_handler != SIG_IGN && default_ignored(sig))
			return;
		act.sa_handler = SIG_DFL;
		act.sa_flags = 0;
		sigemptyset(&act.sa_mask);
		shim_sys_sigaction(sig, &act, NULL);
		/* Pending (every signal is blocked here): delivered when we return. */
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
		return;
	}
	if (act.sa_flags & SA_RESETHAND) {
		memset(&s->prog_act[sig], 0, sizeof(s->prog_act[sig]));
		s->prog_act[sig].sa_handler = SIG_DFL;
	}
	/* The mask the kernel would have set for the program's handler. */
	mask = uc->uc_sigmask;
	for (int i = 1; i <= SHIM_MAX_SIG; i++) {
		if (sigismember(&act.sa_mask, i) == 1)
			sigaddset(&mask, i);
	}
	if (!(act.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, _NSIG / 8);
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, info, uc);
	else
		act.sa_handler(sig);
}

bool shim_cpuid_emulate(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	struct shim *s = arg;

	if (leaf == 7) {
		/* The real CPU's leaf 7 with the SGX bits of the emulated one. */
		cpuid_patch_real_cpuid(leaf, subleaf, regs);
		sgx_cpu_cpuid(s->cpu, leaf, subleaf, regs);
		return true;
	}
	if (leaf == SGX_CPUID)
		return sgx_cpu_cpuid(s->cpu, leaf, subleaf, regs);
	return false;
}

/* enclave mode's "previous disposition" for every signal the shim manages. */
static void shim_dispatch(int sig, siginfo_t *info, void *ucv)
{
	struct shim *s = shim_get();
	ucontext_t *uc = ucv;

	if (!s || sig < 1 || sig > SHIM_MAX_SIG)
		return;
	if (sig == SIGILL && cpuid_patch_handle_trap(&s->cpuid_sites, uc, shim_cpuid_emulate, s))
		return;
	if (sig == SIGBUS && info->si_code == BUS_ADRERR &&
	    shim_window_fault(s, (uint64_t)(uintptr_t)info->si_addr,
			      uc->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE))
		return;
	deliver(s, sig, info, uc);
}

static int take_dispatch(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = shim_dispatch;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return shim_sys_sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* The kernel's disposition of a wrapped program signal: enclave mode's entry. */
static int set_entry(int sig, int prog_flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sgxemu_signal_entry;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | (prog_flags & SA_RESTART);
	sigfillset(&sa.sa_mask);
	return shim_sys_sigaction(sig, &sa, NULL) ? -errno : 0;
}

int shim_sig_init(struct shim *s)
{
	static const int owned[] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE };

	for (unsigned int i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		int sig = owned[i], ret;

		if (shim_sys_sigaction(sig, NULL, &s->prog_act[sig]))
			return -errno;
		ret = take_dispatch(sig);
		if (ret)
			return ret;
	}
	return 0;
}

/* Wrap 'sig' (a program handler was just set) in enclave mode. sig_lock held. */
static int wrap_signal(struct shim *s, int sig)
{
	int ret;

	if (!s->em)
		return -ENODEV;
	ret = take_dispatch(sig);
	if (ret)
		return ret;
	shim_enter();
	ret = enclave_mode_catch_signal(s->em, sig);
	shim_leave();
	if (ret)
		return ret;
	s->caught |= SIG_BIT(sig);
	return set_entry(sig, s->prog_act[sig].sa_flags);
}

int shim_sig_rewrap(struct shim *s);

/* A new enclave mode (fork child): wrap again what the old one wrapped. */
int shim_sig_rewrap(struct shim *s)
{
	int ret = 0;

	for (int sig = 1; sig <= SHIM_MAX_SIG && !ret; sig++) {
		if (!(s->caught & SIG_BIT(sig)))
			continue;
		s->caught &= ~SIG_BIT(sig);
		if (is_handler(&s->prog_act[sig]))
			ret = wrap_signal(s, sig);
		else
			shim_sys_sigaction(sig, &s->prog_act[sig], NULL);
	}
	return ret;
}

/* ------------------------------------------------------------------------
 * The program's calls
 */

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct shim *s = shim_get();
	struct sigaction prev;
	int ret = 0;

	if (!s || shim_inside() || sig < 1 || sig > SHIM_MAX_SIG || sig == SIGKILL ||
	    sig == SIGSTOP || !s->em)
		return shim_sys_sigaction(sig, act, old);
	pthread_mutex_lock(&s->sig_lock);
	if ((OWNED_SIGS & SIG_BIT(sig)) || sig == KICK_SIG) {
		/* Ours: the program's handler is what shim_dispatch calls. */
		prev = s->prog_act[sig];
		if (act)
			s->prog_act[sig] = *act;
	} else if (s->caught & SIG_BIT(sig)) {
		prev = s->prog_act[sig];
		if (act) {
			s->prog_act[sig] = *act;
			ret = is_handler(act) ? set_entry(sig, act->sa_flags) :
			      shim_sys_sigaction(sig, act, NULL);
			if (ret)
				s->prog_act[sig] = prev;
		}
	} else if (act && is_handler(act)) {
		ret = shim_sys_sigaction(sig, NULL, &prev);
		if (!ret) {
			s->prog_act[sig] = *act;
			ret = wrap_signal(s, sig);
			if (ret) {
				/* Enclave mode could not wrap it: the program's handler as is. */
				errno = -ret;
				ret = shim_sys_sigaction(sig, act, NULL);
			}
		}
	} else {
		pthread_mutex_unlock(&s->sig_lock);
		return shim_sys_sigaction(sig, act, old);
	}
	pthread_mutex_unlock(&s->sig_lock);
	if (ret)
		return -1;
	if (old)
		*old = prev;
	return 0;
}

static sighandler_t set_handler(int sig, sighandler_t handler, int flags)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction :
	       old.sa_handler;
}

/* glibc's signal() is BSD's: SA_RESTART, handler not reset. */
sighandler_t signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART);
}

sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART);
}

sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER);
}

sighandler_t __sysv_signal(int sig, sighandler_t handler);
sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER);
}

/*
 * A thread that ran enclave code has enclave mode's alternate stack, which
 * its signal entry needs. The program's own stack is kept in the thread's
 * block instead (put back when the block goes) and reported as current.
 */
int sigaltstack(const stack_t *ss, stack_t *old)
{
	struct shim *s = shim_get();
	struct host_thread *t;
	stack_t cur, *prev;

	/*
	 * Ours only if it is this thread's block: never guess from the
	 * address (another stack, ASan's, may have the same alignment).
	 */
	if (!s || shim_inside() || syscall(SYS_sigaltstack, NULL, &cur) ||
	    (cur.ss_flags & SS_DISABLE) || !(t = sgxemu_thread_block()) ||
	    cur.ss_sp != (uint8_t *)t + HOST_THREAD_HDR || t->magic != HOST_THREAD_MAGIC)
		return (int)syscall(SYS_sigaltstack, ss, old);
	prev = (stack_t *)(t + 1);
	if (ss) {
		if (cur.ss_flags & SS_ONSTACK) {
			errno = EPERM;
			return -1;
		}
		if (ss->ss_flags & ~(SS_DISABLE | SS_AUTODISARM)) {
			errno = EINVAL;
			return -1;
		}
		if (!(ss->ss_flags & SS_DISABLE) && ss->ss_size < (size_t)MINSIGSTKSZ) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (old)
		*old = *prev;
	if (ss)
		*prev = *ss;
	return 0;
}

/* The vDSO image that exports __vdso_sgx_enter_enclave. */
unsigned long getauxval(unsigned long type)
{
	if (type == AT_SYSINFO_EHDR && shim_get() && !shim_inside()) {
		const void *img = sgxemu_vdso_image();

		if (img)
			return (unsigned long)(uintptr_t)img;
	}
	return __getauxval(type);
}

// SPDX-License-Identifier: MIT
/*
 * The fault path (the kernel's sgx_vma_fault()) and the SIGBUS handler that
 * runs it.
 *
 * A window is registered on a userfaultfd with UFFD_FEATURE_SIGBUS, so an
 * access to a page that is not in the memfd (evicted, never added, or being
 * loaded by another thread) or a write to a write-protected one (zapped by
 * the reclaimer, or a stale marker after a reload, see window.c) raises
 * SIGBUS in the faulting thread. The handler runs where the hardware's #PF
 * handler would, and must be written for it:
 *
 *  - Async-signal safety. The path takes encl->lock, the node and reclaimer
 *    locks, the CPU's internal locks and (via direct reclaim) other
 *    enclaves' locks, all of them ordinary mutexes. That cannot deadlock:
 *    SIGBUS from a window is synchronous, raised by the faulting
 *    instruction itself, and the only code that touches enclave memory
 *    through a window is the application's (and enclave code); the manager
 *    and the CPU reach enclave pages only through the platform's view, where
 *    every page they touch is present (they hold encl->lock, under which a
 *    resident page cannot be punched). So the interrupted thread holds none
 *    of the platform's locks when the handler takes them, exactly as a
 *    kernel fault handler may take mmap_lock and encl->lock because user
 *    code holds neither.
 *  - No malloc and no stdio anywhere on the path. What EAUG allocates (the
 *    struct sgx_encl_page, page-array nodes, a VA page descriptor) comes
 *    from the platform's pools, which grow with mmap() (pool.h); warnings
 *    go out with one write() (warn.c). An enclave whose last reference the
 *    fault path's direct reclaim drops is not released here (free, munmap,
 *    close): it is queued for ksgxd or the next process-context entry point
 *    (sgx_encl_put_deferred()). Pools were chosen over a per-enclave reserve
 *    refilled from ioctl/mmap context because an SGX2 enclave may EAUG any
 *    number of pages through faults alone, with no ioctl in between to
 *    refill a reserve, and over page-array slots preallocated for all of
 *    ELRANGE because an ELRANGE of 64 GiB would cost a gigabyte of them.
 *  - ELDU and EWB work straight on the mapped backing store under encl->lock.
 *  - "Retry" (the kernel's VM_FAULT_NOPAGE on -EBUSY) returns and lets the
 *    instruction fault again. If it was for lack of free EPC the faulting
 *    thread reclaims one batch itself when ksgxd is behind (free pages under
 *    the low watermark) and yields the CPU, so ksgxd and other threads run;
 *    it never spins on an EPC with nothing reclaimable, because allocation
 *    then fails with -ENOMEM, which is SIGBUS.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "sgx/internal.h"
#include "sgx/window.h"

static unsigned long prot_to_vm_bits(int prot)
{
	unsigned long vm = 0;

	if (prot & PROT_READ)
		vm |= VM_READ;
	if (prot & PROT_WRITE)
		vm |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm |= VM_EXEC;
	return vm;
}

/* encl->lock held. 0, or the load's error (-EBUSY: retry). */
static long sgx_fault_load(struct sgx_window *w, unsigned long addr, bool is_write)
{
	struct sgx_encl *encl = w->encl;
	struct sgx_encl_page *entry;
	long ret;

	entry = sgx_encl_load_page_in_vma(encl, addr, prot_to_vm_bits(w->prot));
	if (IS_ERR(entry))
		return PTR_ERR(entry);
	/* A load whose install failed earlier (out of memory): try again now. */
	if (!sgx_encl_window_installed(encl, entry)) {
		ret = sgx_encl_window_install(encl, entry);
		if (ret)
			return ret == -ENOMEM ? -EBUSY : -EFAULT;
	}
	/*
	 * Resident and not being reclaimed: a write fault here is a stale
	 * write-protect marker (or a racing load). Clear it in this mapping;
	 * encl->lock keeps a reclaimer from choosing the page meanwhile.
	 */
	if (is_write && (w->prot & PROT_WRITE))
		sgx_window_unprotect(w, addr);
	atomic_store(&entry->young, true);
	return 0;
}

/*
 * Direct reclaim after a fault that must be retried: from the subtree of the
 * faulting enclave's cgroup chain if a level is at its limit, then global
 * below the low watermark. The window is looked up (and pinned) again: the
 * enclave must not go while its cgroup is read.
 */
static void __sgx_fault_reclaim(struct sgx_platform *p, void *mm, unsigned long addr)
{
	struct sgx_window *w = sgx_window_lookup_mm(p, mm, addr);

	if (!w) {
		__sgx_reclaim_direct(p, true);
		return;
	}
	sgx_encl_reclaim_direct(w->encl, true);
	sgx_window_unpin(p, w);
}

/*
 * The fault of address space mm (the platform itself in embedded mode, a
 * struct sgx_mm in shared mode, where the daemon runs this for the program
 * that reported the fault) at addr.
 */
enum sgx_fault_result __sgx_vma_fault(struct sgx_platform *p, void *mm, unsigned long addr,
				      bool is_write)
{
	struct sgx_encl_page *entry;
	struct sgx_window *w;
	struct sgx_encl *encl;
	long ret;

	if (!p)
		return SGX_FAULT_NOT_MINE;
	w = sgx_window_lookup_mm(p, mm, addr);
	if (!w)
		return SGX_FAULT_NOT_MINE;
	/* The pinned window holds a file reference: the enclave stays. */
	encl = w->encl;
	atomic_fetch_add(&p->stats.faults, 1);
	atomic_fetch_add(&encl->stats.faults, 1);
	/* v4: an OOM victim's mappings were zapped (its memfd truncated): SIGBUS. */
	if (sgx_encl_no_memory(encl)) {
		sgx_window_unpin(p, w);
		atomic_fetch_add(&p->stats.fault_sigbus, 1);
		return SGX_FAULT_SIGBUS;
	}

	sgx_mutex_lock(&encl->lock);
	entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));
	if (entry) {
		ret = sgx_fault_load(w, addr, is_write);
		pthread_mutex_unlock(&encl->lock);
	} else {
		pthread_mutex_unlock(&encl->lock);
		/* No page: SGX2 adds one (PENDING until the enclave EACCEPTs it). */
		if (p->sgx2 && encl_test_flag(encl, SGX_ENCL_INITIALIZED))
			ret = sgx_encl_eaug_page(encl, addr);
		else
			ret = -EFAULT;
		/* The EPCM gives it RW: a PROT_EXEC mapping must not execute it. */
		if (!ret && (w->prot & PROT_EXEC))
			sgx_window_set_page_prot(w, addr, w->prot & (PROT_READ | PROT_WRITE));
	}
	sgx_window_unpin(p, w);

	if (!ret)
		return SGX_FAULT_RESOLVED;
	if (ret != -EBUSY) {
		atomic_fetch_add(&p->stats.fault_sigbus, 1);
		return SGX_FAULT_SIGBUS;
	}
	atomic_fetch_add(&p->stats.fault_retries, 1);
	/*
	 * Out of EPC, or the enclave's cgroup is at its limit (the charge
	 * queued the cgroup's worker): help with one batch, then let the
	 * instruction fault again. The window pin is gone, but the enclave
	 * is still referenced by its file (w was pinned when it was read).
	 */
	__sgx_fault_reclaim(p, mm, addr);
	sched_yield();
	return SGX_FAULT_RETRY;
}

enum sgx_fault_result sgx_vma_fault(struct sgx_platform *p, unsigned long addr, bool is_write)
{
	return __sgx_vma_fault(p, p, addr, is_write);
}

/* ---------------------------------------------------------------------------------------------
 * Protection faults: the window is narrower than the mapping (window.c, "Window protection")
 */

/* encl->lock held, entry resident. Is the access allowed by the real EPCM? Refreshes epcm_perm. */
static bool epcm_allows(struct sgx_encl *encl, struct sgx_encl_page *entry, int need)
{
	struct sgx_epcm_info info;

	if (sgx_epcm_read(encl->platform->cpu, sgx_epc_addr(encl, entry->epc_page), &info) ||
	    !info.valid)
		return false;
	if (info.page_type == SGX_PAGE_TYPE_REG && entry->type == SGX_PAGE_TYPE_REG)
		entry->epcm_perm = info.perm;
	if (info.page_type != SGX_PAGE_TYPE_REG || info.pending || info.modified)
		return false;
	return ((need & PROT_READ) && (info.perm & SGX_SECINFO_R)) ||
	       ((need & PROT_WRITE) && (info.perm & SGX_SECINFO_W)) ||
	       ((need & PROT_EXEC) && (info.perm & SGX_SECINFO_X));
}

/* win_lock held, w found under it. */
static enum sgx_fault_result fixup_prot(struct sgx_window *w, unsigned long addr, int need)
{
	struct sgx_encl *encl = w->encl;
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_page *entry;
	enum sgx_fault_result r;
	long ret;

	if (!(w->prot & need))
		return SGX_FAULT_VMA_VIOLATION;
	if (sgx_encl_no_memory(encl))
		return SGX_FAULT_SIGBUS;
	pthread_mutex_lock(&encl->lock);
	if (!sgx_xa_load(&encl->page_array, PFN_DOWN(addr))) {
		pthread_mutex_unlock(&encl->lock);
		if (!p->sgx2 || !encl_test_flag(encl, SGX_ENCL_INITIALIZED))
			return SGX_FAULT_SIGBUS;
		ret = sgx_encl_eaug_page(encl, addr);
		if (ret)
			return ret == -EBUSY ? SGX_FAULT_RETRY : SGX_FAULT_SIGBUS;
		pthread_mutex_lock(&encl->lock);
	}
	ret = sgx_fault_load(w, addr, false);
	if (ret) {
		r = ret == -EBUSY ? SGX_FAULT_RETRY : SGX_FAULT_SIGBUS;
		goto out;
	}
	entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));
	if (!epcm_allows(encl, entry, need)) {
		r = SGX_FAULT_EPCM_VIOLATION;
		goto out;
	}
	r = sgx_window_set_page_prot(w, addr, sgx_window_page_prot(w, entry)) ?
	    SGX_FAULT_RETRY : SGX_FAULT_RESOLVED;
out:
	pthread_mutex_unlock(&encl->lock);
	return r;
}

enum sgx_fault_result sgx_window_fixup_prot(struct sgx_platform *p, unsigned long addr,
					    bool write, bool exec)
{
	int need = write ? PROT_WRITE : exec ? PROT_EXEC : PROT_READ;
	enum sgx_fault_result r;
	struct sgx_window *w;

	if (!p || !p->win_slots)
		return SGX_FAULT_NOT_MINE;
	/* win_lock (mmap_lock): no narrowing and no munmap can run meanwhile. */
	pthread_mutex_lock(&p->win_lock);
	w = sgx_window_lookup(p, addr);
	if (!w) {
		pthread_mutex_unlock(&p->win_lock);
		return SGX_FAULT_NOT_MINE;
	}
	r = fixup_prot(w, addr, need);
	sgx_window_unpin(p, w);
	pthread_mutex_unlock(&p->win_lock);

	if (r == SGX_FAULT_RESOLVED)
		atomic_fetch_add(&p->stats.prot_fixups, 1);
	else if (r == SGX_FAULT_EPCM_VIOLATION)
		atomic_fetch_add(&p->stats.epcm_violations, 1);
	else if (r == SGX_FAULT_RETRY)
		__sgx_fault_reclaim(p, p, addr);
	return r;
}

/* ---------------------------------------------------------------------------------------------
 * The SIGBUS handler
 *
 * A signal handler gets no argument, so the platforms it serves and the
 * disposition it chains to are the only process-wide state of the library.
 */
#define SGX_FAULT_MAX_PLATFORMS	16

static _Atomic(struct sgx_platform *) sgx_fault_platforms[SGX_FAULT_MAX_PLATFORMS];
static struct sigaction sgx_fault_prev_action;
static bool sgx_fault_handler_installed;
static pthread_mutex_t sgx_fault_install_lock = PTHREAD_MUTEX_INITIALIZER;

/* Not a window fault, or one that must kill: what would have happened without us. */
static void sgx_fault_chain(int sig, siginfo_t *si, void *ctx)
{
	const struct sigaction *prev = &sgx_fault_prev_action;

	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, si, ctx);
		return;
	}
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	/* Default action: restore it and re-raise, delivered when we return. */
	sigaction(SIGBUS, prev, NULL);
	if (prev->sa_handler == SIG_IGN) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &dfl, NULL);
	}
	raise(SIGBUS);
}

static void sgx_sigbus_handler(int sig, siginfo_t *si, void *ctx)
{
	enum sgx_fault_result r = SGX_FAULT_NOT_MINE;
	int saved_errno = errno;
	ucontext_t *uc = ctx;
	unsigned long addr = (unsigned long)si->si_addr;
	bool is_write = uc->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE;
	unsigned int i;

	/* userfaultfd's SIGBUS is BUS_ADRERR from a user-mode fault. */
	if (si->si_code == BUS_ADRERR) {
		for (i = 0; i < SGX_FAULT_MAX_PLATFORMS && r == SGX_FAULT_NOT_MINE; i++) {
			struct sgx_platform *p = atomic_load(&sgx_fault_platforms[i]);

			if (p)
				r = sgx_vma_fault(p, addr, is_write);
		}
	}
	errno = saved_errno;
	if (r == SGX_FAULT_RESOLVED || r == SGX_FAULT_RETRY)
		return;
	sgx_fault_chain(sig, si, ctx);
}

int sgx_fault_install_sigbus_handler(struct sgx_platform *p)
{
	int i, free_slot = -1, ret = 0;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&sgx_fault_install_lock);
	for (i = 0; i < SGX_FAULT_MAX_PLATFORMS; i++) {
		struct sgx_platform *q = atomic_load(&sgx_fault_platforms[i]);

		if (q == p)
			goto installed;
		if (!q && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	atomic_store(&sgx_fault_platforms[free_slot], p);
installed:
	if (!sgx_fault_handler_installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sgx_sigbus_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &sgx_fault_prev_action)) {
			ret = -errno;
			goto out;
		}
		sgx_fault_handler_installed = true;
	}
out:
	pthread_mutex_unlock(&sgx_fault_install_lock);
	return ret;
}

/* Platform destroy: no window (hence no window fault) of p is left. */
void sgx_fault_platform_gone(struct sgx_platform *p)
{
	int i;

	pthread_mutex_lock(&sgx_fault_install_lock);
	for (i = 0; i < SGX_FAULT_MAX_PLATFORMS; i++) {
		if (atomic_load(&sgx_fault_platforms[i]) == p)
			atomic_store(&sgx_fault_platforms[i], NULL);
	}
	pthread_mutex_unlock(&sgx_fault_install_lock);
}

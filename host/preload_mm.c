// SPDX-License-Identifier: MIT
/*
 * Enclave memory in the program's address space: mmap/munmap/mprotect/
 * mremap of the enclave fd, and the protection of every window page.
 *
 * Why the shim keeps per-page protection.  The EPC manager maps a window
 * with the VMA's protection (the program's mmap/mprotect). On hardware an
 * access must pass the page tables AND the EPCM; natively only the page
 * tables are checked. So the host protection of a window page is kept at
 * VMA ∩ EPCM (as far as the shim knows the EPCM): an enclave write to a page
 * the EPCM makes read-only (EMODPR), or any access to a PENDING (EAUG),
 * MODIFIED (EMODT) or trimmed page, faults natively, and enclave mode's
 * fixup hook (shim_fixup) decides: if the EPCM now allows the access
 * (EACCEPT, EMODPE happened in the enclave meanwhile) the page is widened
 * and the access retried; otherwise enclave mode reports the EPCM's #PF
 * (error code with the SGX bit) through the vDSO, as the hardware does.
 * Narrowing is never wrong (it costs a fault), so the shim narrows on every
 * event that may restrict the EPCM (RESTRICT_PERMISSIONS, MODIFY_TYPES,
 * REMOVE_PAGES, an EAUG) and widens lazily, asking the CPU (sgx_lp_translate
 * on the faulting LP) what the EPCM allows.
 *
 * What the kernel allows that the manager's windows do not: an mmap of the
 * enclave fd outside ELRANGE or before ECREATE succeeds (sgx_encl_may_map()
 * only checks the pages that exist) and every access to it is SIGBUS. The
 * shim maps an empty memfd there, which the kernel itself answers with
 * SIGBUS.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/preload.h"

#define PAGE		4096UL
#define PFN(x)		((x) >> 12)

/* struct shim_encl::epcm bytes: permissions, valid once KNOWN. */
#define EPCM_KNOWN	0x80
#define EPCM_ALL	(PROT_READ | PROT_WRITE | PROT_EXEC)

static int epcm_eff(uint8_t e)
{
	return (e & EPCM_KNOWN) ? (e & EPCM_ALL) : EPCM_ALL;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static void *fail_ptr(int err)
{
	errno = err;
	return MAP_FAILED;
}

static uint8_t *byte_array(unsigned long n)
{
	void *p = shim_sys_mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------------
 * Enclave objects and their slots
 */

struct shim_encl *shim_encl_new(struct shim *s, struct sgx_encl *encl)
{
	struct shim_encl *se = calloc(1, sizeof(*se));
	unsigned int i;

	if (!se)
		return NULL;
	se->encl = encl;
	se->memfd = -1;
	atomic_store(&se->fds, 1);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < SHIM_MAX_ENCLS; i++) {
		if (!atomic_load(&s->encls[i].se) && !atomic_load(&s->encls[i].users)) {
			se->slot = i;
			atomic_store(&s->encls[i].se, se);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (i == SHIM_MAX_ENCLS) {
		free(se);
		return NULL;
	}
	return se;
}

int shim_encl_created(struct shim *s, struct shim_encl *se, uint64_t base, uint64_t size)
{
	unsigned long n = (unsigned long)PFN(size);

	if (!size || (size & (PAGE - 1)) || base + size < base)
		return -EINVAL;
	se->vma = byte_array(n);
	se->cur = byte_array(n);
	se->epcm = byte_array(n);
	if (!se->vma || !se->cur || !se->epcm)
		return -ENOMEM;
	atomic_store(&se->size, size);
	atomic_store(&se->base, base);	/* last: lookups test base */
	return 0;
}

static void encl_maybe_free(struct shim *s, struct shim_encl *se)
{
	struct shim_encl_slot *slot = &s->encls[se->slot];
	unsigned long n = (unsigned long)PFN(atomic_load(&se->size));

	if (!se->released || atomic_load(&se->mapped_pages))
		return;
	pthread_mutex_lock(&s->lock);
	if (atomic_load(&slot->se) != se) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	atomic_store(&slot->se, NULL);
	pthread_mutex_unlock(&s->lock);
	while (atomic_load(&slot->users))
		sched_yield();
	if (se->vma) {
		shim_sys_munmap(se->vma, n);
		shim_sys_munmap(se->cur, n);
		shim_sys_munmap(se->epcm, n);
	}
	if (se->memfd >= 0)
		shim_sys_close(se->memfd);
	free(se);
}

void shim_encl_fd_closed(struct shim *s, struct shim_encl *se)
{
	/* The windows keep the enclave until munmap (the manager's, or the daemon's). */
	if (!se->inherited && se->encl)
		sgx_release(se->encl);
	else if (!se->inherited)
		shim_shared_release(s, se);
	se->released = true;
	encl_maybe_free(s, se);
}

static bool in_elrange(const struct shim_encl *se, uint64_t addr)
{
	uint64_t base = atomic_load(&se->base);

	return base && addr - base < atomic_load(&se->size);
}

struct shim_encl *shim_encl_at(struct shim *s, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < SHIM_MAX_ENCLS; i++) {
		struct shim_encl_slot *slot = &s->encls[i];
		struct shim_encl *se;

		if (!atomic_load(&slot->se))
			continue;
		atomic_fetch_add(&slot->users, 1);
		se = atomic_load(&slot->se);
		if (se && !se->inherited && in_elrange(se, addr) &&
		    (se->vma[PFN(addr - atomic_load(&se->base))] & SHIM_PAGE_MAPPED))
			return se;
		atomic_fetch_sub(&slot->users, 1);
	}
	return NULL;
}

void shim_encl_unpin(struct shim *s, struct shim_encl *se)
{
	atomic_fetch_sub(&s->encls[se->slot].users, 1);
}

/* Does [a, b) hold a page of some window? (Program calls only, normal context.) */
static bool overlaps_window(struct shim *s, uint64_t a, uint64_t b)
{
	unsigned int i;

	for (i = 0; i < SHIM_MAX_ENCLS; i++) {
		struct shim_encl *se = atomic_load(&s->encls[i].se);
		uint64_t base, end, lo, hi;

		if (!se || !atomic_load(&se->mapped_pages) || !(base = atomic_load(&se->base)))
			continue;
		end = base + atomic_load(&se->size);
		lo = a > base ? a : base;
		hi = b < end ? b : end;
		for (; lo < hi; lo += PAGE) {
			if (se->vma[PFN(lo - base)] & SHIM_PAGE_MAPPED)
				return true;
		}
	}
	return false;
}

/*
 * Set the VMA protection of the window pages in [a, b) (prot < 0: they are
 * unmapped) and bring the host protection to VMA ∩ EPCM. 'fresh': the whole
 * range was just mapped or mprotected to prot by the manager.
 */
static void window_range_set(struct shim *s, uint64_t a, uint64_t b, int prot, bool fresh)
{
	unsigned int i;

	for (i = 0; i < SHIM_MAX_ENCLS; i++) {
		struct shim_encl *se = atomic_load(&s->encls[i].se);
		uint64_t base, end, lo, hi, run = 0;
		int run_prot = -1;

		if (!se || !(base = atomic_load(&se->base)))
			continue;
		end = base + atomic_load(&se->size);
		lo = a > base ? a : base;
		hi = b < end ? b : end;
		for (; lo <= hi; lo += PAGE) {
			int want = -1;

			if (lo < hi) {
				unsigned long pg = (unsigned long)PFN(lo - base);
				bool was = se->vma[pg] & SHIM_PAGE_MAPPED;

				if (prot < 0) {
					if (was)
						atomic_fetch_sub(&se->mapped_pages, 1);
					se->vma[pg] = 0;
					se->cur[pg] = 0;
				} else if (fresh || was) {
					if (!was)
						atomic_fetch_add(&se->mapped_pages, 1);
					se->vma[pg] = (uint8_t)(prot | SHIM_PAGE_MAPPED);
					want = prot & epcm_eff(se->epcm[pg]);
					se->cur[pg] = (uint8_t)want;
					if (want == prot)
						want = -1;	/* the manager left it so */
				}
			}
			if (want != run_prot) {
				if (run_prot >= 0)
					shim_sys_mprotect((void *)run, lo - run, run_prot);
				run = lo;
				run_prot = want;
			}
		}
		if (prot < 0)
			encl_maybe_free(s, se);
	}
}

void shim_encl_epcm_changed(struct shim *s, struct shim_encl *se, uint64_t addr, uint64_t len,
			    unsigned int perm, bool set)
{
	uint64_t base = atomic_load(&se->base), size = atomic_load(&se->size), a;

	if (!base || addr < base || len > size || addr - base > size - len)
		return;
	for (a = addr & ~(PAGE - 1); a < addr + len; a += PAGE) {
		unsigned long pg = (unsigned long)PFN(a - base);
		int want;

		se->epcm[pg] = (uint8_t)(EPCM_KNOWN | (set ? perm : (epcm_eff(se->epcm[pg]) & perm)));
		if (!(se->vma[pg] & SHIM_PAGE_MAPPED))
			continue;
		want = se->vma[pg] & epcm_eff(se->epcm[pg]);
		if (want != se->cur[pg]) {
			shim_sys_mprotect((void *)a, PAGE, want);
			se->cur[pg] = (uint8_t)want;
		}
	}
}

/* ------------------------------------------------------------------------
 * Faults
 */

/*
 * What the EPCM of the calling thread's enclave allows at addr now (PROT_*);
 * -1 if unknown. The LP is the thread's, local or on the daemon.
 */
static int epcm_allows(struct shim *s, uint64_t addr)
{
	static const struct { uint32_t access; int prot; } kinds[] = {
		{ 0, PROT_READ }, { X86_PF_WRITE, PROT_WRITE }, { X86_PF_INSTR, PROT_EXEC },
	};
	struct sgx_exception exc;
	int allowed = 0;

	if (!enclave_mode_thread_inside(s->em))
		return -1;
	for (unsigned int i = 0; i < 3; i++) {
		if (enclave_mode_thread_translate(s->em, addr, kinds[i].access, &exc)) {
			allowed |= kinds[i].prot;
		} else if (!(exc.error_code & X86_PF_SGX)) {
			return -1;	/* not in the EPC (any more): nothing known */
		}
	}
	return allowed;
}

static bool page_resident(uint64_t page)
{
	unsigned char vec = 0;

	if (syscall(SYS_mincore, (void *)page, PAGE, &vec))
		return false;
	return vec & 1;
}

static void set_cur(struct shim_encl *se, unsigned long pg, uint64_t page, int want)
{
	if (want != se->cur[pg]) {
		shim_sys_mprotect((void *)page, PAGE, want);
		se->cur[pg] = (uint8_t)want;
	}
}

/*
 * The slow half: load (ELDU), EAUG or wait out a reclaimer's write-protect
 * through the manager's fault path. May block on encl->lock, so only
 * outside enclave mode (after the AEX, or for EENTER/ERESUME's own #PF).
 */
static bool fixup_load(struct shim *s, struct shim_encl *se, uint64_t addr, int access,
		       bool leaf_fault)
{
	static __thread uint64_t last_page __attribute__((tls_model("initial-exec")));
	static __thread unsigned int repeats __attribute__((tls_model("initial-exec")));
	uint64_t page = addr & ~(PAGE - 1);
	unsigned long pg = (unsigned long)PFN(addr - atomic_load(&se->base));
	enum sgx_fault_result r;
	bool resident = page_resident(page);

	if (!leaf_fault && resident && !(se->cur[pg] & access))
		return false;	/* our protection denies it: an EPCM matter, nothing to load */
	r = shim_vma_fault(s, addr, access == PROT_WRITE);
	if (r == SGX_FAULT_RETRY)
		return true;	/* no free EPC yet: the kernel retries forever too */
	if (r != SGX_FAULT_RESOLVED) {
		if (s->debug && s->platform) {
			struct sgx_platform_stats st;

			sgx_platform_get_stats(s->platform, &st);
			sgx_log_safe("sgxemu: ", "fault path %d at %lx, ewb_lost %lu sigbus %lu", (int)r,
				     (unsigned long)addr, (unsigned long)st.ewb_lost,
				     (unsigned long)st.fault_sigbus);
		}
		return false;
	}
	/*
	 * A fault path that "resolves" the same page forever must end in an
	 * exception. A leaf's operand (TCS, SSA) that the reclaimer has
	 * EBLOCKed stays "resident" until its EWB ends, so the same page comes
	 * back until then: the kernel's fault path loops the same way.
	 */
	if (page == last_page && ++repeats > (leaf_fault ? 100000u : 64u)) {
		last_page = 0;
		return false;
	}
	if (page == last_page && leaf_fault)
		sched_yield();
	if (page != last_page) {
		last_page = page;
		repeats = 0;
	}
	/*
	 * A page whose EPCM permissions the shim does not know (EAUG: PENDING
	 * until EACCEPT) stays inaccessible until enclave code touches it and
	 * the fast half asks the EPCM.
	 */
	if (!resident && !(se->epcm[pg] & EPCM_KNOWN))
		set_cur(se, pg, page, 0);
	return true;
}

static int fault_access(uint32_t error_code)
{
	return (error_code & X86_PF_WRITE) ? PROT_WRITE :
	       (error_code & X86_PF_INSTR) ? PROT_EXEC : PROT_READ;
}

/*
 * The page the fast half last found missing from the EPC although its
 * window page is still there (EBLOCKed or being written out by the
 * reclaimer, not punched yet): the slow half must go to the fault path for
 * it rather than call it an EPCM matter.
 */
static __thread uint64_t not_in_epc __attribute__((tls_model("initial-exec")));

/*
 * enclave mode's fixup hook, first half: a #PF at addr while the LP is in
 * enclave mode (native access, an ENCLU leaf's operand, the SSA at AEX).
 * Must not block: it only widens the host protection to what the VMA and
 * the EPCM (asked through the LP) allow now. Everything else is declined
 * and comes back to shim_fixup_after_aex() outside the enclave. For a #PF
 * of EENTER/ERESUME (the LP is outside) it does both halves.
 */
bool shim_fixup(void *arg, uint64_t addr, uint32_t error_code)
{
	struct shim *s = arg;
	struct shim_encl *se;
	uint64_t page = addr & ~(PAGE - 1);
	unsigned long pg;
	int access = fault_access(error_code), vma, allowed, want, old;
	bool ok = false;

	if (!s || !shim_active(s) || s->pid != getpid())
		return false;
	se = shim_encl_at(s, addr);
	if (!se)
		return false;
	pg = (unsigned long)PFN(addr - atomic_load(&se->base));
	vma = se->vma[pg] & EPCM_ALL;
	if (!(vma & access))
		goto out;	/* the program's protection denies it: a real #PF */
	if (!enclave_mode_thread_inside(s->em)) {
		/* EENTER/ERESUME's TCS or SSA is not in the EPC (evicted, EBLOCKed). */
		ok = fixup_load(s, se, addr, access, true);
		goto out;
	}
	if (!page_resident(page))
		goto out;
	allowed = epcm_allows(s, addr);
	if (allowed < 0) {
		not_in_epc = page;
		goto out;
	}
	se->epcm[pg] = (uint8_t)(EPCM_KNOWN | allowed);
	old = se->cur[pg];
	want = vma & epcm_eff(se->epcm[pg]);
	set_cur(se, pg, page, want);
	ok = want != old && (want & access);
out:
	shim_encl_unpin(s, se);
	return ok;
}

/* Second half, after the AEX: see fixup_load(). */
bool shim_fixup_after_aex(void *arg, uint64_t addr, uint32_t error_code)
{
	struct shim *s = arg;
	struct shim_encl *se;
	int access = fault_access(error_code);
	bool ok = false;

	if (!s || !shim_active(s) || s->pid != getpid() || (error_code & X86_PF_SGX))
		return false;	/* the EPCM's own denial: nothing to load */
	se = shim_encl_at(s, addr);
	if (!se) {
		if (s->debug)
			sgx_log_safe("sgxemu: ", "no window at %lx err %x", (unsigned long)addr,
				     error_code);
		return false;
	}
	if (se->vma[PFN(addr - atomic_load(&se->base))] & access)
		ok = fixup_load(s, se, addr, access, not_in_epc == (addr & ~(PAGE - 1)));
	not_in_epc = 0;
	if (!ok && s->debug) {
		unsigned long pg = (unsigned long)PFN(addr - atomic_load(&se->base));

		sgx_log_safe("sgxemu: ", "fixup declined %lx err %x vma %x cur %x epcm %x res %d",
			     (unsigned long)addr, error_code, se->vma[pg], se->cur[pg], se->epcm[pg],
			     (int)page_resident(addr & ~(PAGE - 1)));
	}
	shim_encl_unpin(s, se);
	return ok;
}

/* The fault path of whichever platform hosts the windows (signal context). */
enum sgx_fault_result shim_vma_fault(struct shim *s, uint64_t addr, bool is_write)
{
	if (s->sh)
		return shim_shared_fault(s, addr, is_write);
	return sgx_vma_fault(s->platform, addr, is_write);
}

bool shim_window_fault(struct shim *s, uint64_t addr, bool is_write)
{
	enum sgx_fault_result r;

	if (!shim_active(s) || s->pid != getpid())
		return false;
	r = shim_vma_fault(s, addr, is_write);
	if (r != SGX_FAULT_RESOLVED && r != SGX_FAULT_RETRY && s->debug)
		sgx_log_safe("sgxemu: ", "window fault at %lx (%s) outside enclave mode: result %d",
			     (unsigned long)addr, is_write ? "write" : "read", (int)r);
	return r == SGX_FAULT_RESOLVED || r == SGX_FAULT_RETRY;
}

void shim_mm_after_fork(struct shim *s)
{
	unsigned int i;

	for (i = 0; i < SHIM_MAX_ENCLS; i++) {
		struct shim_encl *se = atomic_load(&s->encls[i].se);
		uint64_t base, size, a;

		if (!se)
			continue;
		se->inherited = true;
		base = atomic_load(&se->base);
		size = atomic_load(&se->size);
		if (!base)
			continue;
		/* Not registered with the child's userfaultfd: a hole would read as zeros. */
		for (a = base; a < base + size; a += PAGE) {
			unsigned long pg = (unsigned long)PFN(a - base);

			if (!(se->vma[pg] & SHIM_PAGE_MAPPED))
				continue;
			shim_sys_mmap((void *)a, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
				      MAP_FIXED | MAP_NORESERVE, -1, 0);
			se->vma[pg] = 0;
		}
		atomic_store(&se->mapped_pages, 0);
	}
}

/* ------------------------------------------------------------------------
 * mmap / munmap / mprotect / mremap
 */

static int dead_fd(struct shim *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->dead_fd < 0)
		s->dead_fd = (int)syscall(SYS_memfd_create, "sgx_enclave", MFD_CLOEXEC);
	pthread_mutex_unlock(&s->lock);
	return s->dead_fd;
}

/* Forget the windows in [a, b): the range is about to be replaced. */
static int forget_windows(struct shim *s, uint64_t a, uint64_t len)
{
	int ret;

	if (!shim_active(s) || !overlaps_window(s, a, a + len))
		return 0;
	shim_enter();
	ret = s->sh ? shim_shared_munmap(s, a, len, false) :
	      sgx_munmap(s->platform, (unsigned long)a, (unsigned long)len);
	shim_leave();
	if (!ret)
		window_range_set(s, a, a + len, -1, false);
	return ret;
}

static void *mmap_device(struct shim *s, struct shim_file *f, void *addr, size_t len, int prot,
			 int flags)
{
	struct shim_encl *se = f->se;
	uint64_t a = (uint64_t)(uintptr_t)addr, base, size;
	size_t plen = (len + PAGE - 1) & ~(PAGE - 1);
	void *m;
	int ret, fd;

	if (f->kind != SHIM_FILE_ENCLAVE)
		return fail_ptr(ENODEV);
	if (se->inherited)
		return fail_ptr(EIO);
	if (!len || !plen || (a & (PAGE - 1)))
		return fail_ptr(EINVAL);
	if (s->sh) {
		bool window = false;

		shim_enter();
		ret = shim_shared_mmap(s, se, a, len, prot, flags, &window);
		shim_leave();
		if (ret) {
			/* The range is a hole now (the kernel's failed mmap): no window there. */
			window_range_set(s, a, a + plen, -1, false);
			return fail_ptr(-ret);
		}
		if (window) {
			window_range_set(s, a, a + plen, prot & 7, true);
			return addr;
		}
		goto dead;
	}
	shim_enter();
	ret = sgx_mmap_check(se->encl, a, len, prot, flags);
	shim_leave();
	if (ret)
		return fail_ptr(-ret);
	base = atomic_load(&se->base);
	size = atomic_load(&se->size);
	if (base && a && a >= base && plen <= size && a - base <= size - plen) {
		shim_enter();
		ret = sgx_mmap(se->encl, a, len, prot, flags);
		shim_leave();
		if (ret)
			return fail_ptr(-ret);
		window_range_set(s, a, a + plen, prot & 7, true);
		return addr;
	}
dead:
	/* Outside ELRANGE / no enclave yet: a mapping whose every access is SIGBUS. */
	fd = dead_fd(s);
	if (fd < 0)
		return fail_ptr(ENOMEM);
	if ((flags & MAP_FIXED) && forget_windows(s, a, plen))
		return fail_ptr(ENOMEM);
	m = shim_sys_mmap(addr, len, prot, MAP_SHARED | (flags & (MAP_FIXED |
			  MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_NORESERVE)), fd, 0);
	return m;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct shim *s = shim_get();
	struct shim_file *f;

	if (!s || shim_inside())
		return shim_sys_mmap(addr, len, prot, flags, fd, off);
	f = (flags & MAP_ANONYMOUS) ? NULL : shim_fd_get(s, fd);
	if (f)
		return mmap_device(s, f, addr, len, prot, flags);
	if ((flags & MAP_FIXED) && !((uintptr_t)addr & (PAGE - 1)) && len &&
	    forget_windows(s, (uintptr_t)addr, (len + PAGE - 1) & ~(PAGE - 1)))
		return fail_ptr(ENOMEM);
	return shim_sys_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	struct shim *s = shim_get();
	uint64_t a = (uint64_t)(uintptr_t)addr, plen = (len + PAGE - 1) & ~(PAGE - 1);
	int ret;

	if (!s || shim_inside() || !shim_active(s) || !len || (a & (PAGE - 1)) || a + plen < a ||
	    !overlaps_window(s, a, a + plen))
		return shim_sys_munmap(addr, len);
	shim_enter();
	ret = s->sh ? shim_shared_munmap(s, a, len, true) :
	      sgx_munmap(s->platform, (unsigned long)a, (unsigned long)len);
	shim_leave();
	if (ret)
		return fail(-ret);
	window_range_set(s, a, a + plen, -1, false);
	return 0;
}

int mprotect(void *addr, size_t len, int prot)
{
	struct shim *s = shim_get();
	uint64_t a = (uint64_t)(uintptr_t)addr, plen = (len + PAGE - 1) & ~(PAGE - 1);
	int ret;

	if (!s || shim_inside() || !shim_active(s) || !len || (a & (PAGE - 1)) || a + plen < a ||
	    !overlaps_window(s, a, a + plen))
		return shim_sys_mprotect(addr, len, prot);
	shim_enter();
	ret = s->sh ? shim_shared_mprotect(s, a, len, prot) :
	      sgx_mprotect(s->platform, (unsigned long)a, (unsigned long)len, prot);
	shim_leave();
	if (ret)
		return fail(-ret);
	window_range_set(s, a, a + plen, prot & 7, false);
	return 0;
}

/*
 * The kernel's rules for an enclave VMA (VM_PFNMAP | VM_DONTEXPAND | VM_IO):
 * growing it is -EFAULT, MREMAP_DONTUNMAP -EINVAL (vma_to_resize()),
 * shrinking unmaps the tail. Moving it is allowed by the kernel but leaves
 * the pages at linear addresses the enclave does not have: refused here
 * with -EINVAL (docs/SHIM.md).
 */
void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	struct shim *s = shim_get();
	uint64_t a = (uint64_t)(uintptr_t)old;
	uint64_t olen = (old_len + PAGE - 1) & ~(PAGE - 1);
	uint64_t nlen = (new_len + PAGE - 1) & ~(PAGE - 1);
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!s || shim_inside() || !shim_active(s) || (a & (PAGE - 1)) || !olen ||
	    !overlaps_window(s, a, a + olen))
		return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	if (flags & MREMAP_DONTUNMAP)
		return fail_ptr(EINVAL);
	if (nlen > olen)
		return fail_ptr(EFAULT);
	if (flags & MREMAP_FIXED)
		return fail_ptr(EINVAL);
	if (!nlen)
		return fail_ptr(EINVAL);
	if (nlen < olen && munmap((void *)(uintptr_t)(a + nlen), olen - nlen))
		return MAP_FAILED;
	return old;
}

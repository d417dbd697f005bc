// SPDX-License-Identifier: MIT
/*
 * Enclave windows (see window.h): the memfd and the platform's view of it,
 * installing loaded pages, the zap before EWB and the punch after it, and
 * the user mappings (mmap/munmap/mprotect of the enclave file).
 *
 * Why the zap is a write-protect and not an unmap.  EWB reads the page
 * through the alias and the page leaves the memfd only afterwards, when it
 * is punched out (which removes it from every mapping in every process at
 * once). A write between EWB's read and the punch would be lost, so before
 * EBLOCK every user mapping of the page is write-protected (UFFDIO_WRITEPROTECT):
 * reads go on, a writer faults and waits in the fault path until the page is
 * gone, then loads it back.
 *
 * Stale write protection.  On this kernel the uffd-wp marker of a PTE
 * survives the punch and a later UFFDIO_COPY, so a page that was evicted
 * and loaded back would still be write-protected in the mappings that had
 * it (two faults per reload of a written page). So the reclaimer drops the
 * markers right after the punch, one ioctl per window for a whole batched
 * run (sgx_encl_window_unzap(): the pages are out of the memfd and cannot
 * be loaded back until the reclaimer clears punch_pending, so nothing can
 * write them). Markers left by the other zaps
 * (MODIFY_TYPES, REMOVE_PAGES) are cleared by the fault path, in the faulting
 * mapping only, when a write faults on a page that is resident and not
 * being reclaimed (fault.c), under encl->lock, so that it cannot undo the
 * zap of a reclaimer that already chose the page (BEING_RECLAIMED is set
 * under encl->lock before the zap).
 *
 * Window protection.  Hardware lets enclave code reach a page only if both
 * the page tables (the VMA's protection) and the EPCM (the page's type and
 * R/W/X) allow the access, and reports an EPCM refusal as #PF with PF_SGX.
 * Enclave code runs natively on the windows here, so each window page gets
 * the intersection: the mapping's PROT_* narrowed to the EPCM permissions
 * the manager knows of (encl_page->epcm_perm; a TCS or TRIM page gets none,
 * a hole the mapping's own so that its fault can EAUG). It is narrowed
 * eagerly, in every window, where the manager changes the EPCM: EADD/mmap
 * (TCS pages), EAUG (RW, dropping a VMA's X), RESTRICT_PERMISSIONS (EMODPR),
 * MODIFY_TYPES (TCS/TRIM: revoked), mprotect; REMOVE_PAGES gives the hole
 * the mapping's protection back. It is widened lazily: EMODPE runs inside
 * the enclave and widens the EPCM behind the manager's back, so the next
 * access takes a protection fault (SIGSEGV) and the host asks
 * sgx_window_fixup_prot() (fault.c), which reads the real EPCM: allowed ->
 * widen and retry; refused -> a genuine EPCM violation (#PF | PF_SGX). The
 * PENDING/MODIFIED states are not mirrored (an EAUG'd page is RW at once),
 * only the type and the permissions. One window per page and address space:
 * windows sit at the enclave's own linear addresses. Narrowing happens under
 * win_lock (mmap_lock) and encl->lock, so it cannot race a widening fixup.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sgx/internal.h"
#include "sgx/window.h"

#define SGX_UFFD_FEATURES	(UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM | \
				 UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

/* ---------------------------------------------------------------------------------------------
 * The platform's userfaultfd
 */

int sgx_window_platform_init(struct sgx_platform *p)
{
	struct uffdio_api api = { .api = UFFD_API, .features = SGX_UFFD_FEATURES };
	long fd;

	p->uffd = -1;
	pthread_mutex_init(&p->win_lock, NULL);
	p->win_slots = calloc(SGX_MAX_WINDOWS, sizeof(*p->win_slots));
	if (!p->win_slots)
		return -ENOMEM;
	/*
	 * Not UFFD_USER_MODE_ONLY: a kernel-mode access to a missing page (a
	 * syscall given a window buffer) must fail with -EFAULT, not let shmem
	 * allocate a zero page, which would make an evicted page look resident.
	 */
	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;	/* no windows: bytes stay at the frames' homes */
	if (ioctl((int)fd, UFFDIO_API, &api) ||
	    (api.features & SGX_UFFD_FEATURES) != SGX_UFFD_FEATURES) {
		close((int)fd);
		return 0;
	}
	p->uffd = (int)fd;
	return 0;
}

void sgx_window_platform_fini(struct sgx_platform *p)
{
	sgx_fault_platform_gone(p);
	if (p->uffd >= 0)
		close(p->uffd);
	p->uffd = -1;
	free(p->win_slots);
	p->win_slots = NULL;
	pthread_mutex_destroy(&p->win_lock);
}

bool sgx_platform_has_windows(struct sgx_platform *p)
{
	return p && p->uffd >= 0;
}

/* ---------------------------------------------------------------------------------------------
 * The enclave's memfd and the platform's view
 */

int sgx_encl_window_create(struct sgx_encl *encl, unsigned long size)
{
	struct sgx_platform *p = encl->platform;
	struct uffdio_register reg;
	void *view;
	int fd, ret;

	if (p->uffd < 0)
		return 0;
	/*
	 * In shared mode the program holds this memfd too, and may be hostile:
	 * sealed against shrinking (an access past the end would be SIGBUS in
	 * the daemon) and growing. The OOM path punches instead of truncating.
	 */
	fd = memfd_create("sgx_enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		ret = errno == EFBIG ? -EINVAL : -errno;
		goto err_fd;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		ret = -errno;
		goto err_fd;
	}
	view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (view == MAP_FAILED) {
		ret = -ENOMEM;
		goto err_fd;
	}
	/*
	 * Two views: UFFDIO_COPY needs a registered range, but the CPU's
	 * accesses go through an unregistered one, so that a page some program
	 * punched out of the memfd behind the manager's back reads as zeros
	 * (that enclave's contents are lost, its own doing) instead of raising
	 * SIGBUS in the platform's process.
	 */
	encl->alias_view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
				fd, 0);
	if (encl->alias_view == MAP_FAILED) {
		encl->alias_view = NULL;
		ret = -ENOMEM;
		munmap(view, size);
		goto err_fd;
	}
	reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)view, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
		ret = -ENOMEM;
		munmap(view, size);
		munmap(encl->alias_view, size);
		encl->alias_view = NULL;
		goto err_fd;
	}
	encl->window_fd = fd;
	encl->view = view;
	encl->view_size = size;
	return 0;
err_fd:
	close(fd);
	return ret;
}

/* At release: every frame was EREMOVE'd already, so no alias points here any more. */
void sgx_encl_window_destroy(struct sgx_encl *encl)
{
	if (!encl->view)
		return;
	munmap(encl->view, encl->view_size);
	munmap(encl->alias_view, encl->view_size);
	close(encl->window_fd);
	encl->view = NULL;
	encl->alias_view = NULL;
	encl->window_fd = -1;
}

static unsigned long view_offset(struct sgx_encl *encl, struct sgx_encl_page *page)
{
	return (page->desc & SGX_ENCL_PAGE_ADDR_MASK) - encl->base;
}

/* Where the frame's alias points: the unregistered view. */
static char *view_page(struct sgx_encl *encl, struct sgx_encl_page *page)
{
	return encl->alias_view + view_offset(encl, page);
}

bool sgx_encl_window_installed(struct sgx_encl *encl, struct sgx_encl_page *page)
{
	if (!encl->view)
		return true;
	return sgx_epc_data(encl->platform->cpu, sgx_epc_addr(encl, page->epc_page)) ==
	       view_page(encl, page);
}

int sgx_encl_window_install(struct sgx_encl *encl, struct sgx_encl_page *page)
{
	struct sgx_platform *p = encl->platform;
	void *epc, *home;
	char *dst;
	int tries, ret;

	if (!encl->view)
		return 0;
	epc = sgx_epc_addr(encl, page->epc_page);
	dst = view_page(encl, page);
	home = sgx_epc_data(p->cpu, epc);
	if (home == dst)
		return 0;

	for (tries = 0;; tries++) {
		struct uffdio_copy copy = {
			.dst = (uintptr_t)(encl->view + view_offset(encl, page)),
			.src = (uintptr_t)home, .len = SGX_PAGE_SIZE,
			.mode = UFFDIO_COPY_MODE_DONTWAKE,	/* nobody waits: SIGBUS mode */
		};

		if (!ioctl(p->uffd, UFFDIO_COPY, &copy))
			break;
		/* A page nobody punched (cannot happen if every path punches): reuse it. */
		if (errno == EEXIST) {
			memcpy(dst, home, SGX_PAGE_SIZE);
			break;
		}
		if (errno == EAGAIN && tries < 16)
			continue;
		return -errno;
	}
	ret = sgx_epc_alias(p->cpu, epc, dst);
	if (ret) {
		sgx_encl_window_punch(encl, page->desc & SGX_ENCL_PAGE_ADDR_MASK, 1);
		return ret;
	}
	return 0;
}

void sgx_encl_window_punch(struct sgx_encl *encl, unsigned long addr, unsigned long npages)
{
	if (encl->window_fd < 0 || !npages)
		return;
	fallocate(encl->window_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)(addr - encl->base), (off_t)(npages * SGX_PAGE_SIZE));
	atomic_fetch_add(&encl->platform->stats.punches, 1);
}

/*
 * The OOM path: punch the whole memfd, which takes every page out of every
 * mapping of it in every process; an access then faults (userfaultfd
 * MISSING, SIGBUS mode) and the fault path, seeing SGX_ENCL_NO_MEMORY,
 * answers SIGBUS and never loads a page again. (The memfd is sealed against
 * shrinking, so no truncation: see sgx_encl_window_create().) The frames
 * must not be aliased here any more. encl->lock held.
 */
void sgx_encl_window_truncate(struct sgx_encl *encl)
{
	if (encl->window_fd < 0)
		return;
	if (fallocate(encl->window_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)encl->view_size))
		SGX_WARN("punching the window of an OOM victim failed: %d", errno);
	atomic_fetch_add(&encl->platform->stats.punches, 1);
}

static void window_wp(struct sgx_window *w, unsigned long addr, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = addr & SGX_ENCL_PAGE_ADDR_MASK, .len = SGX_PAGE_SIZE },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
	};

	/* Fails only if the range is not a registered mapping any more (being unmapped). */
	ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp);
}

void sgx_window_unprotect(struct sgx_window *w, unsigned long addr)
{
	window_wp(w, addr, false);
}

/*
 * After the punch: drop the write-protect markers the zap left on
 * [addr, addr + n pages) in every window, one call per window for the whole
 * run, so that the page's next load costs one fault instead of two (a read
 * or write fault to load it, then a write-protect fault). The pages are not
 * in the memfd any more, so nothing can be written to them meanwhile.
 * encl->lock held, or the pages punch_pending (nothing can load them).
 */
void sgx_encl_window_unzap(struct sgx_encl *encl, unsigned long addr, unsigned long npages)
{
	unsigned long end = addr + npages * SGX_PAGE_SIZE;
	struct sgx_window *w;

	pthread_rwlock_rdlock(&encl->srcu);
	list_for_each_entry(w, &encl->windows, list) {
		struct uffdio_writeprotect wp;
		unsigned long lo = w->start > addr ? w->start : addr;
		unsigned long hi = w->end < end ? w->end : end;

		if (lo >= hi)
			continue;
		wp = (struct uffdio_writeprotect){
			.range = { .start = lo, .len = hi - lo },
			.mode = UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
		};
		ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp);
	}
	pthread_rwlock_unlock(&encl->srcu);
}

/*
 * The zap before EBLOCK: write-protect [addr, addr + n pages) in every
 * mapping of every address space on the enclave's list (see the top of this
 * file). The reclaimer zaps a run of adjacent pages with one call per
 * window: each call costs a TLB shootdown while another thread of the
 * process runs, whatever the length of the run.
 */
void sgx_zap_enclave_ptes_range(struct sgx_encl *encl, unsigned long addr, unsigned long npages)
{
	unsigned long end = addr + npages * SGX_PAGE_SIZE;
	struct sgx_window *w;

	pthread_rwlock_rdlock(&encl->srcu);
	list_for_each_entry(w, &encl->windows, list) {
		struct uffdio_writeprotect wp;
		unsigned long lo = w->start > addr ? w->start : addr;
		unsigned long hi = w->end < end ? w->end : end;

		if (lo >= hi)
			continue;
		wp = (struct uffdio_writeprotect){
			.range = { .start = lo, .len = hi - lo },
			.mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};
		ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp);
	}
	pthread_rwlock_unlock(&encl->srcu);
}

void sgx_zap_enclave_ptes(struct sgx_encl *encl, unsigned long addr)
{
	sgx_zap_enclave_ptes_range(encl, addr & SGX_ENCL_PAGE_ADDR_MASK, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Window protection (see the top of this file)
 */

int sgx_window_page_prot(struct sgx_window *w, struct sgx_encl_page *entry)
{
	int epcm = 0;

	if (!entry)
		return w->prot;
	if (entry->type == SGX_PAGE_TYPE_REG) {
		if (entry->epcm_perm & SGX_SECINFO_R)
			epcm |= PROT_READ;
		if (entry->epcm_perm & SGX_SECINFO_W)
			epcm |= PROT_WRITE;
		if (entry->epcm_perm & SGX_SECINFO_X)
			epcm |= PROT_EXEC;
	}
	return w->prot & epcm;
}

int sgx_window_set_page_prot(struct sgx_window *w, unsigned long addr, int prot)
{
	/* Another process's mapping: its protection is the program's business. */
	if (w->remote)
		return 0;
	addr &= SGX_ENCL_PAGE_ADDR_MASK;
	if (addr < w->start || addr >= w->end)
		return -EINVAL;
	return mprotect((void *)addr, SGX_PAGE_SIZE, prot) ? -errno : 0;
}

/* One mprotect() per run of pages that want the same protection. */
static void window_sync_prot(struct sgx_window *w, unsigned long lo, unsigned long hi)
{
	struct sgx_encl *encl = w->encl;
	unsigned long addr, run = lo;
	int run_prot = -1;

	for (addr = lo; addr <= hi; addr += SGX_PAGE_SIZE) {
		int prot = -1;

		if (addr < hi)
			prot = sgx_window_page_prot(w, sgx_xa_load(&encl->page_array,
								   PFN_DOWN(addr)));
		if (prot == run_prot)
			continue;
		if (run_prot >= 0)
			mprotect((void *)run, addr - run, run_prot);
		run = addr;
		run_prot = prot;
	}
}

void __sgx_encl_window_sync_prot(struct sgx_encl *encl, unsigned long start, unsigned long end)
{
	struct sgx_window *w;

	/* Windows come and go only under win_lock, which the caller holds. */
	list_for_each_entry(w, &encl->windows, list) {
		unsigned long lo = w->start > start ? w->start : start;
		unsigned long hi = w->end < end ? w->end : end;

		/* A remote window's pages are not in this address space at all. */
		if (lo < hi && !w->remote)
			window_sync_prot(w, lo, hi);
	}
}

void sgx_encl_window_sync_prot(struct sgx_encl *encl, unsigned long start, unsigned long end)
{
	struct sgx_platform *p = encl->platform;

	if (!encl->view)
		return;
	pthread_mutex_lock(&p->win_lock);
	pthread_mutex_lock(&encl->lock);
	__sgx_encl_window_sync_prot(encl, start, end);
	pthread_mutex_unlock(&encl->lock);
	pthread_mutex_unlock(&p->win_lock);
}

void sgx_encl_file_put(struct sgx_encl *encl)
{
	if (atomic_fetch_sub(&encl->file_refs, 1) == 1)
		sgx_encl_file_release(encl);
}

/* ---------------------------------------------------------------------------------------------
 * The fault path's lookup table (see struct sgx_window_slot)
 */

struct sgx_window *sgx_window_lookup_mm(struct sgx_platform *p, void *mm, unsigned long addr)
{
	unsigned int i, n = atomic_load(&p->win_hwm);

	if (!p->win_slots)
		return NULL;
	for (i = 0; i < n; i++) {
		struct sgx_window_slot *s = &p->win_slots[i];
		struct sgx_window *w;

		if (addr < atomic_load(&s->start) || addr >= atomic_load(&s->end) ||
		    atomic_load(&s->mm) != mm)
			continue;
		atomic_fetch_add(&s->users, 1);
		w = atomic_load(&s->win);
		if (w && w->mm == mm && addr >= w->start && addr < w->end)
			return w;
		atomic_fetch_sub(&s->users, 1);
	}
	return NULL;
}

struct sgx_window *sgx_window_lookup(struct sgx_platform *p, unsigned long addr)
{
	return sgx_window_lookup_mm(p, p, addr);
}

void sgx_window_unpin(struct sgx_platform *p, struct sgx_window *w)
{
	atomic_fetch_sub(&p->win_slots[w->slot].users, 1);
}

/* win_lock held. */
static int slot_publish(struct sgx_platform *p, struct sgx_window *w)
{
	unsigned int i;

	for (i = 0; i < SGX_MAX_WINDOWS; i++) {
		struct sgx_window_slot *s = &p->win_slots[i];

		if (atomic_load(&s->win) || atomic_load(&s->users))
			continue;
		w->slot = i;
		atomic_store(&s->mm, w->mm);
		atomic_store(&s->start, w->start);
		atomic_store(&s->end, w->end);
		atomic_store(&s->win, w);
		if (i >= atomic_load(&p->win_hwm))
			atomic_store(&p->win_hwm, i + 1);
		return 0;
	}
	return -ENOMEM;
}

/* win_lock held. After this no fault path uses w. */
static void slot_retire(struct sgx_platform *p, struct sgx_window *w)
{
	struct sgx_window_slot *s = &p->win_slots[w->slot];

	atomic_store(&s->win, NULL);
	atomic_store(&s->mm, NULL);
	atomic_store(&s->start, 0);
	atomic_store(&s->end, 0);
	while (atomic_load(&s->users))
		sched_yield();
}

/* ---------------------------------------------------------------------------------------------
 * User mappings. platform->win_lock plays the address space's mmap_lock (write).
 */

struct sgx_window *sgx_window_new(struct sgx_encl *encl, void *mm, bool remote, int uffd,
				  unsigned long start, unsigned long end, int prot)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_window *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->encl = encl;
	w->mm = mm;
	w->remote = remote;
	w->uffd = uffd;
	w->start = start;
	w->end = end;
	w->prot = prot;
	if (slot_publish(p, w)) {
		free(w);
		return NULL;
	}
	atomic_fetch_add(&encl->file_refs, 1);
	pthread_mutex_lock(&encl->mm_lock);
	pthread_rwlock_wrlock(&encl->srcu);
	list_add_tail(&w->list, &encl->windows);
	pthread_rwlock_unlock(&encl->srcu);
	pthread_mutex_unlock(&encl->mm_lock);
	return w;
}

/* The last file reference may go with it: w->encl may be freed on return. */
void sgx_window_free(struct sgx_platform *p, struct sgx_window *w)
{
	struct sgx_encl *encl = w->encl;

	slot_retire(p, w);
	pthread_mutex_lock(&encl->mm_lock);
	pthread_rwlock_wrlock(&encl->srcu);
	list_del(&w->list);
	pthread_rwlock_unlock(&encl->srcu);
	pthread_mutex_unlock(&encl->mm_lock);
	free(w);
	sgx_encl_file_put(encl);
}

/*
 * The windows overlapping [a, b), collected under win_lock. Returns how many
 * (at most max).
 */
unsigned int sgx_windows_in(struct sgx_platform *p, void *mm, unsigned long a, unsigned long b,
			    struct sgx_window **out, unsigned int max)
{
	unsigned int i, n = 0, hwm = atomic_load(&p->win_hwm);

	for (i = 0; i < hwm && n < max; i++) {
		struct sgx_window *w = atomic_load(&p->win_slots[i].win);

		if (w && w->mm == mm && w->start < b && a < w->end)
			out[n++] = w;
	}
	return n;
}

/*
 * Cut [a, b) out of every window (munmap, prot < 0) or give that part the
 * protection prot (mprotect). The pieces outside [a, b) become windows of
 * their own, as the kernel splits VMAs. win_lock held.
 */
int sgx_windows_carve(struct sgx_platform *p, void *mm, unsigned long a, unsigned long b, int prot)
{
	struct sgx_window **ws;
	unsigned int i, n;
	int ret = 0;

	ws = calloc(SGX_MAX_WINDOWS, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	n = sgx_windows_in(p, mm, a, b, ws, SGX_MAX_WINDOWS);
	for (i = 0; i < n; i++) {
		struct sgx_window *w = ws[i];
		unsigned long lo = w->start > a ? w->start : a;
		unsigned long hi = w->end < b ? w->end : b;

		if (prot >= 0 && w->start >= a && w->end <= b) {
			w->prot = prot;	/* read by the fault path only as a hint, see fault.c */
			continue;
		}
		if ((w->start < a && !sgx_window_new(w->encl, w->mm, w->remote, w->uffd, w->start, a,
						     w->prot)) ||
		    (b < w->end && !sgx_window_new(w->encl, w->mm, w->remote, w->uffd, b, w->end,
						   w->prot)) ||
		    (prot >= 0 && !sgx_window_new(w->encl, w->mm, w->remote, w->uffd, lo, hi,
						  prot))) {
			/* Out of slots: keep the old window (a superset) rather than lose it. */
			ret = -ENOMEM;
			continue;
		}
		sgx_window_free(p, w);
	}
	free(ws);
	return ret;
}

int sgx_mmap(struct sgx_encl *encl, unsigned long addr, unsigned long len, int prot, int flags)
{
	struct sgx_platform *p;
	struct uffdio_register reg;
	unsigned long end;
	void *m;
	int ret;

	if (!encl)
		return -EBADF;
	p = encl->platform;
	if (p->uffd < 0)
		return -ENODEV;
	ret = sgx_mmap_check(encl, addr, len, prot, flags);
	if (ret)
		return ret;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_ENCL_PAGE_ADDR_MASK;
	end = addr + len;
	/* v4: an OOM victim gets no new mapping (sgx_encl_mm_add() refuses it too). */
	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	/* The window is the enclave's memory at its own linear addresses. */
	if (!encl_test_flag(encl, SGX_ENCL_CREATED) || !encl->view ||
	    (addr & (SGX_PAGE_SIZE - 1)) || !len || end < addr ||
	    addr < encl->base || end > encl->base + encl->size)
		return -EINVAL;
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return -EINVAL;

	pthread_mutex_lock(&p->win_lock);
	if (flags & MAP_FIXED) {
		ret = sgx_windows_carve(p, p, addr, end, -1);
		if (ret)
			goto out;
	}
	m = mmap((void *)addr, len, prot, MAP_SHARED | MAP_NORESERVE |
		 ((flags & MAP_FIXED) ? MAP_FIXED : MAP_FIXED_NOREPLACE),
		 encl->window_fd, (off_t)(addr - encl->base));
	if (m == MAP_FAILED) {
		ret = errno == EEXIST ? -ENOMEM : -errno;
		goto out;
	}
	reg = (struct uffdio_register){
		.range = { .start = addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	if (ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		goto err_unmap;
	}
	ret = sgx_encl_mm_add(encl, p);
	if (ret)
		goto err_unmap;
	if (!sgx_window_new(encl, p, false, p->uffd, addr, end, prot)) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	/* TCS pages, EAUG'd pages under PROT_EXEC...: narrower than the mapping. */
	pthread_mutex_lock(&encl->lock);
	__sgx_encl_window_sync_prot(encl, addr, end);
	pthread_mutex_unlock(&encl->lock);
	ret = 0;
	goto out;
err_unmap:
	munmap((void *)addr, len);
out:
	pthread_mutex_unlock(&p->win_lock);
	return ret;
}

int sgx_munmap(struct sgx_platform *p, unsigned long addr, unsigned long len)
{
	unsigned long end;
	int ret;

	if (!p)
		return -EINVAL;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_ENCL_PAGE_ADDR_MASK;
	end = addr + len;
	if ((addr & (SGX_PAGE_SIZE - 1)) || !len || end < addr)
		return -EINVAL;
	pthread_mutex_lock(&p->win_lock);
	/* Unmap first: once the windows are gone a fault there is no longer ours. */
	ret = munmap((void *)addr, len) ? -errno : 0;
	if (!ret && p->win_slots)
		sgx_windows_carve(p, p, addr, end, -1);
	pthread_mutex_unlock(&p->win_lock);
	return ret;
}

int sgx_windows_mprotect_check(struct sgx_platform *p, void *mm, unsigned long addr,
			       unsigned long end, int prot, struct sgx_window **ws, unsigned int *nr)
{
	unsigned int i, n = sgx_windows_in(p, mm, addr, end, ws, SGX_MAX_WINDOWS);
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		unsigned long lo = ws[i]->start > addr ? ws[i]->start : addr;
		unsigned long hi = ws[i]->end < end ? ws[i]->end : end;

		ret = sgx_mprotect_check(ws[i]->encl, lo, hi - lo, prot);
	}
	*nr = n;
	return ret;
}

int sgx_mprotect(struct sgx_platform *p, unsigned long addr, unsigned long len, int prot)
{
	struct sgx_window **ws;
	unsigned long end;
	unsigned int i, n;
	int ret = 0;

	if (!p)
		return -EINVAL;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_ENCL_PAGE_ADDR_MASK;
	end = addr + len;
	if ((addr & (SGX_PAGE_SIZE - 1)) || end < addr)
		return -EINVAL;
	if (!len)
		return 0;
	ws = calloc(SGX_MAX_WINDOWS, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	pthread_mutex_lock(&p->win_lock);
	ret = sgx_windows_mprotect_check(p, p, addr, end, prot, ws, &n);
	if (!ret)
		ret = mprotect((void *)addr, len, prot) ? -errno : 0;
	if (!ret && n)
		ret = sgx_windows_carve(p, p, addr, end, prot);
	/* The real mprotect() gave every page 'prot': narrow again to the EPCM. */
	n = sgx_windows_in(p, p, addr, end, ws, SGX_MAX_WINDOWS);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&ws[i]->encl->lock);
		__sgx_encl_window_sync_prot(ws[i]->encl, addr, end);
		pthread_mutex_unlock(&ws[i]->encl->lock);
	}
	pthread_mutex_unlock(&p->win_lock);
	free(ws);
	return ret;
}

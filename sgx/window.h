/* SPDX-License-Identifier: MIT */
/*
 * Enclave windows (window.c) and the fault path (fault.c): how enclave memory
 * is mapped into address spaces, the way the kernel maps EPC pages into VMAs.
 *
 * Each enclave has a memfd the size of ELRANGE. The page of the memfd at
 * (addr - base) exists exactly while the enclave page at addr is resident in
 * the EPC, and the CPU's frame is aliased to it (sgx_epc_alias()) through the
 * platform's own view of the memfd. A user mapping ("window") is a
 * MAP_SHARED|MAP_FIXED mapping of the memfd at the enclave's own linear
 * addresses, registered on its address space's userfaultfd in MISSING|WP
 * mode with UFFD_FEATURE_SIGBUS: touching an evicted page raises SIGBUS in
 * the faulting thread, whose handler runs sgx_vma_fault().
 *
 * Locks. encl->windows is guarded like mm_list: writers take encl->mm_lock
 * and encl->srcu for writing, readers (the zap) take encl->srcu for reading.
 * The fault path never takes either: it finds its window in the platform's
 * slot table without a lock (struct sgx_window_slot) and pins the slot, and
 * whoever retires a window waits until no pin is left before freeing it.
 * platform->win_lock plays the address space's mmap_lock (write): it
 * serialises sgx_mmap/sgx_munmap/sgx_mprotect and slot allocation.
 * Lock order: win_lock -> encl->lock (mmap check), win_lock -> mm_lock ->
 * encl->srcu (write); encl->lock -> encl->srcu (read: the reclaimer's unzap
 * after the punch). The zap itself runs without encl->lock, as in the kernel.
 */
#ifndef SGXEMU_SGX_WINDOW_H
#define SGXEMU_SGX_WINDOW_H

#include <stdatomic.h>
#include <stdbool.h>

#include "sgx/encl.h"

/*
 * User mappings per platform: in shared mode every program of the machine
 * has its windows in the daemon's one platform.
 */
#define SGX_MAX_WINDOWS	4096

/*
 * A remote address space (shared mode, window_mm.c): a program's process
 * whose windows map the enclave memfd themselves and are registered on the
 * program's userfaultfd, which it handed to the daemon. Its windows are in
 * the platform's slot table like the platform's own, tagged with the
 * sgx_mm, and are created, cut and dropped under platform->win_lock. The
 * manager never maps, unmaps or mprotects anything for them in its own
 * address space; the zap and unprotect go through 'uffd' (UFFDIO_* on
 * another process's userfaultfd work; they fail with ESRCH once the process
 * is gone, which the callers ignore), the punch and the truncate act on the
 * memfd and so on every process mapping it.
 * The owner (the daemon's per-process object) guarantees that no call on
 * the sgx_mm runs concurrently with or after sgx_mm_destroy().
 */
struct sgx_mm {
	struct sgx_platform *platform;
	int uffd;		/* owned: closed by sgx_mm_destroy() */
};

/* One user mapping of an enclave (a VMA of the enclave file). */
struct sgx_window {
	struct sgx_encl *encl;	/* pinned by one file reference */
	void *mm;		/* the address space: the platform (embedded) or a struct sgx_mm */
	bool remote;		/* mm is a struct sgx_mm: protection is the program's business */
	int uffd;		/* that address space's userfaultfd */
	unsigned long start, end;
	int prot;		/* PROT_* of the mapping */
	unsigned int slot;	/* index in platform->win_slots */
	struct list_head list;	/* on encl->windows */
};

/*
 * A fault-path lookup entry. start/end are copies of the window's range so
 * that a lookup can skip the slot without touching a window that may be
 * freed; a match is confirmed after pinning ('users'), and a retiring
 * window is unpublished ('win' = NULL) before its pins drain.
 */
struct sgx_window_slot {
	atomic_ulong start, end;
	_Atomic(void *) mm;	/* copy of win->mm: lookups of other address spaces skip it */
	_Atomic(struct sgx_window *) win;
	atomic_uint users;
};

/* window.c */
int sgx_window_platform_init(struct sgx_platform *p);
void sgx_window_platform_fini(struct sgx_platform *p);
int sgx_encl_window_create(struct sgx_encl *encl, unsigned long size);
void sgx_encl_window_destroy(struct sgx_encl *encl);
/*
 * Install the bytes of the freshly loaded page (EADD/ELDU/EAUG left them at
 * the frame's home) into the memfd with UFFDIO_COPY and alias the frame
 * there. encl->lock held. 0 or -errno (nothing installed).
 */
int sgx_encl_window_install(struct sgx_encl *encl, struct sgx_encl_page *page);
/* True if the page's frame is aliased to its memfd page (or there is no window). */
bool sgx_encl_window_installed(struct sgx_encl *encl, struct sgx_encl_page *page);
/*
 * Remove [addr, addr + n pages) from the memfd, i.e. from every mapping.
 * encl->lock held, or the pages cannot be loaded meanwhile (punch_pending).
 */
void sgx_encl_window_punch(struct sgx_encl *encl, unsigned long addr, unsigned long npages);
/* OOM: truncate the memfd (every mapping SIGBUSes from now on). encl->lock held, no alias left. */
void sgx_encl_window_truncate(struct sgx_encl *encl);
/* Drop the zap's write protection of evicted pages in every window (same rule). */
void sgx_encl_window_unzap(struct sgx_encl *encl, unsigned long addr, unsigned long npages);
/* Clear write protection of one page of window w (stale marker after a reload). */
void sgx_window_unprotect(struct sgx_window *w, unsigned long addr);
/*
 * Window protection (see "Window protection" in window.c). The protection
 * the page at addr should have in window w: the mapping's, narrowed to what
 * the EPCM allows (entry NULL: no page, the mapping's own). encl->lock held.
 */
int sgx_window_page_prot(struct sgx_window *w, struct sgx_encl_page *entry);
/* mprotect() one page of window w (only ever inside w). 0 or -errno. */
int sgx_window_set_page_prot(struct sgx_window *w, unsigned long addr, int prot);
/*
 * Give every window page in [start, end) the protection sgx_window_page_prot()
 * says. win_lock and encl->lock held.
 */
void __sgx_encl_window_sync_prot(struct sgx_encl *encl, unsigned long start, unsigned long end);
/* The same, taking win_lock then encl->lock itself (process context, no lock held). */
void sgx_encl_window_sync_prot(struct sgx_encl *encl, unsigned long start, unsigned long end);
/* The file reference of a mapping or the fd; the last one releases the enclave (driver.c). */
void sgx_encl_file_put(struct sgx_encl *encl);
void sgx_encl_file_release(struct sgx_encl *encl);

/*
 * Pin the window of address space mm (the platform itself in embedded mode)
 * that maps addr, or return NULL. Two address spaces may map different
 * enclaves at the same addresses: the lookup is keyed by both.
 */
struct sgx_window *sgx_window_lookup_mm(struct sgx_platform *p, void *mm, unsigned long addr);
/* The platform's own address space (embedded mode). */
struct sgx_window *sgx_window_lookup(struct sgx_platform *p, unsigned long addr);
void sgx_window_unpin(struct sgx_platform *p, struct sgx_window *w);

/* For window_mm.c; win_lock held. */
struct sgx_window *sgx_window_new(struct sgx_encl *encl, void *mm, bool remote, int uffd,
				  unsigned long start, unsigned long end, int prot);
void sgx_window_free(struct sgx_platform *p, struct sgx_window *w);
unsigned int sgx_windows_in(struct sgx_platform *p, void *mm, unsigned long a, unsigned long b,
			    struct sgx_window **out, unsigned int max);
/*
 * The .mprotect hook of every enclave VMA of mm in [addr, end), before
 * anything changes (mprotect and mprotect_mm). win_lock held. ws (room for
 * SGX_MAX_WINDOWS) receives those windows, *nr their number. 0 or the
 * first refusal.
 */
int sgx_windows_mprotect_check(struct sgx_platform *p, void *mm, unsigned long addr,
			       unsigned long end, int prot, struct sgx_window **ws, unsigned int *nr);
int sgx_windows_carve(struct sgx_platform *p, void *mm, unsigned long a, unsigned long b,
		      int prot);

/* fault.c */
void sgx_fault_platform_gone(struct sgx_platform *p);
/* sgx_vma_fault() for a window of address space mm (the platform, or a struct sgx_mm). */
enum sgx_fault_result __sgx_vma_fault(struct sgx_platform *p, void *mm, unsigned long addr,
				      bool is_write);

#endif /* SGXEMU_SGX_WINDOW_H */

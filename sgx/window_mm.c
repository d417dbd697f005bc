// SPDX-License-Identifier: MIT
/*
 * Windows of other address spaces (shared mode, docs/DAEMON.md): the
 * daemon's image of a program's process that maps enclave memfds itself.
 *
 * The program maps the enclave's memfd (sgx_encl_window_memfd()) at the
 * enclave's addresses, registers the mapping on its own userfaultfd
 * (MISSING|WP, UFFD_FEATURE_SIGBUS) and hands that uffd to the daemon
 * (sgx_mm_create()). From then on the manager treats the mapping as one of
 * its windows (struct sgx_window, remote = true), with these differences:
 *
 *  - nothing is mapped, unmapped, registered or mprotected in the manager's
 *    own address space: the program did (and does) that itself, and the
 *    window's protection (the mapping's narrowed to the EPCM) is the
 *    program's business too;
 *  - the zap before EWB and the unprotect after a reload go through the
 *    program's uffd (UFFDIO_WRITEPROTECT works on another process's
 *    userfaultfd); once the process is gone they fail (ESRCH), harmlessly;
 *  - the punch after EWB and the OOM truncate act on the memfd, hence on
 *    the program's mappings as on every other; installs go through the
 *    platform's own view as for every window;
 *  - faults are reported by the program (FAULT) and resolved by
 *    sgx_vma_fault_mm(), which looks the window up by (mm, address): two
 *    programs may map different enclaves at the same addresses.
 *
 * Locks: the windows of every sgx_mm are created, cut and dropped under
 * platform->win_lock (the address space's mmap_lock, shared by all of them:
 * mmap/munmap/mprotect of programs are rare next to faults, which take no
 * lock to find their window). The sgx_mm itself has no lock: its owner
 * (the daemon's per-process object) calls nothing on it concurrently with
 * or after sgx_mm_destroy().
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sgx/internal.h"
#include "sgx/window.h"

int sgx_mm_create(struct sgx_platform *p, int uffd, struct sgx_mm **out)
{
	struct sgx_mm *mm;

	*out = NULL;
	if (!p || uffd < 0)
		return -EINVAL;
	if (!sgx_platform_has_windows(p))
		return -ENODEV;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->platform = p;
	mm->uffd = uffd;
	*out = mm;
	return 0;
}

/*
 * The process is gone (or has given up shared mode): every window of it is
 * dropped, each with its file reference, so an enclave whose fd was
 * released already dies here, as the kernel's exit_mmap() drops the last
 * VMA of an enclave whose fd was closed.
 */
void sgx_mm_destroy(struct sgx_mm *mm)
{
	struct sgx_platform *p;
	struct sgx_window **ws;
	unsigned int i, n;

	if (!mm)
		return;
	p = mm->platform;
	ws = calloc(SGX_MAX_WINDOWS, sizeof(*ws));
	pthread_mutex_lock(&p->win_lock);
	do {
		struct sgx_window *one;

		/* Without memory for the array, one window at a time. */
		n = sgx_windows_in(p, mm, 0, ~0UL, ws ? ws : &one, ws ? SGX_MAX_WINDOWS : 1);
		for (i = 0; i < n; i++) {
			struct sgx_window *w = ws ? ws[i] : one;

			/* The window's file reference keeps the enclave until window_free. */
			sgx_encl_mm_remove(w->encl, mm);
			sgx_window_free(p, w);
		}
	} while (n);
	pthread_mutex_unlock(&p->win_lock);
	free(ws);
	sgx_release_deferred(p);
	close(mm->uffd);
	free(mm);
}

/* Is [addr, addr + len) inside ELRANGE of a created enclave with a memfd? */
static bool in_elrange(struct sgx_encl *encl, unsigned long addr, unsigned long len)
{
	unsigned long end = addr + len;

	return encl_test_flag(encl, SGX_ENCL_CREATED) && encl->view && len && end > addr &&
	       addr >= encl->base && end <= encl->base + encl->size;
}

int sgx_mmap_mm(struct sgx_encl *encl, struct sgx_mm *mm, unsigned long addr, unsigned long len,
		int prot, int flags)
{
	struct sgx_platform *p;
	unsigned long end;
	int ret;

	if (!encl)
		return -EBADF;
	if (!mm || mm->platform != encl->platform)
		return -EINVAL;
	p = encl->platform;
	ret = sgx_mmap_check(encl, addr, len, prot, flags);
	if (ret)
		return ret;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_ENCL_PAGE_ADDR_MASK;
	end = addr + len;
	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	if ((addr & (SGX_PAGE_SIZE - 1)) || !in_elrange(encl, addr, len))
		return -EINVAL;
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return -EINVAL;

	pthread_mutex_lock(&p->win_lock);
	/*
	 * The program has mapped the range already (MAP_FIXED or not, the
	 * kernel placed it there): whatever the manager recorded in it is gone.
	 */
	ret = sgx_windows_carve(p, mm, addr, end, -1);
	if (ret)
		goto out;
	ret = sgx_encl_mm_add(encl, mm);
	if (ret)
		goto out;
	if (!sgx_window_new(encl, mm, true, mm->uffd, addr, end, prot))
		ret = -ENOMEM;
out:
	pthread_mutex_unlock(&p->win_lock);
	sgx_release_deferred(p);
	return ret;
}

int sgx_munmap_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len)
{
	struct sgx_platform *p;
	unsigned long end;
	int ret;

	if (!mm)
		return -EINVAL;
	p = mm->platform;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_ENCL_PAGE_ADDR_MASK;
	end = addr + len;
	if ((addr & (SGX_PAGE_SIZE - 1)) || !len || end < addr)
		return -EINVAL;
	pthread_mutex_lock(&p->win_lock);
	ret = sgx_windows_carve(p, mm, addr, end, -1);
	pthread_mutex_unlock(&p->win_lock);
	sgx_release_deferred(p);
	return ret;
}

int sgx_mprotect_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len, int prot)
{
	struct sgx_platform *p;
	struct sgx_window **ws;
	unsigned long end;
	unsigned int n;
	int ret = 0;

	if (!mm)
		return -EINVAL;
	p = mm->platform;
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
	ret = sgx_windows_mprotect_check(p, mm, addr, end, prot, ws, &n);
	if (!ret && n)
		ret = sgx_windows_carve(p, mm, addr, end, prot);
	pthread_mutex_unlock(&p->win_lock);
	free(ws);
	return ret;
}

enum sgx_fault_result sgx_vma_fault_mm(struct sgx_mm *mm, unsigned long addr, bool is_write)
{
	enum sgx_fault_result r;

	if (!mm)
		return SGX_FAULT_NOT_MINE;
	r = __sgx_vma_fault(mm->platform, mm, addr, is_write);
	/* Process context (a daemon thread): release what the fault path deferred. */
	sgx_release_deferred(mm->platform);
	return r;
}

/*
 * Which enclave is mapped at addr in mm: its SECS's EPC address (the LP
 * resolver of a program's threads), or NULL. Lock-free: the CPU calls it
 * with its own locks held. The SECS pointer is read without encl->lock; the
 * CPU trusts the answer only as far as the EPCM agrees (an evicted SECS
 * gives NULL and the access faults; the program's FAULT loads it).
 */
void *sgx_mm_secs_at(struct sgx_mm *mm, unsigned long addr)
{
	struct sgx_window *w;
	struct sgx_epc_page *secs;
	void *ret = NULL;

	if (!mm)
		return NULL;
	w = sgx_window_lookup_mm(mm->platform, mm, addr);
	if (!w)
		return NULL;
	secs = __atomic_load_n(&w->encl->secs.epc_page, __ATOMIC_ACQUIRE);
	if (secs)
		ret = sgx_epc_addr(w->encl, secs);
	sgx_window_unpin(mm->platform, w);
	return ret;
}

int sgx_encl_window_memfd(struct sgx_encl *encl, int *fd, uint64_t *base, uint64_t *size)
{
	*fd = -1;
	if (!encl)
		return -EBADF;
	if (!encl_test_flag(encl, SGX_ENCL_CREATED))
		return -EINVAL;
	if (encl->window_fd < 0)
		return -ENODEV;
	*fd = encl->window_fd;
	*base = encl->base;
	*size = encl->size;
	return 0;
}

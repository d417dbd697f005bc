// SPDX-License-Identifier: MIT
/*
 * The EPC reclaimer (the kernel's sgx/main.c, second half, as the cgroup
 * series reshaped it): one batch of sgx_reclaim_pages(lru) from one EPC
 * cgroup's reclaimable LRU, the controller's reclaim_lru op. ksgxd and direct
 * reclaim run it through the controller's round-robin walk from the root
 * (v16), a cgroup at its limit through the walk of its own subtree (charging,
 * the reclaim worker).
 *
 * Aging without a hardware accessed bit.  The kernel asks every mm that maps
 * the enclave whether the PTE's Accessed bit was set since the last look.
 * Here each enclave page carries a software "young" bit: the fault path sets
 * it when it maps or loads a page, sgx_encl_access() and any explicit access
 * notification set it, and sgx_reclaimer_age() test-and-clears it. A young
 * page gets a second chance (back to the tail of its LRU); an old one
 * is written back. Pages added by EADD start old: nothing has touched them.
 *
 * Phases of one batch, as in the kernel:
 *   1. isolate up to SGX_NR_TO_SCAN pages from the head of the cgroup's
 *      reclaimable list (sgx_epc_cgroup_isolate_pages(): they stay
 *      RECLAIMER_TRACKED on no list = "reclaim in progress") and
 *      pin their enclaves (kref_get_unless_zero; a dying enclave's page is
 *      simply dropped and left to sgx_encl_release());
 *   2. age (unless the caller ignores age after failed rounds), and under encl->lock prepare the backing and set BEING_RECLAIMED;
 *   3. zap (write-protect in every window, see window.c; adjacent pages of
 *      one enclave in one call) and EBLOCK;
 *   4. under encl->lock EWB (ETRACK / IPI on SGX_NOT_TRACKED), and evict the
 *      SECS after the last child of an initialized enclave; free the frames.
 *      Consecutive pages of one enclave are written one encl->lock hold
 *      each and then punched out of its memfd (hence out of every window)
 *      together, adjacent pages in one fallocate() call. Until the punch a
 *      written page is 'punch_pending' and a load of it waits (-EBUSY): a
 *      fault that sees the page evicted must find the memfd page gone, or
 *      its UFFDIO_COPY would collide with the stale page.
 */
#include <errno.h>

#include "sgx/encl.h"
#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"
#include "sgx/sgx.h"
#include "sgx/window.h"

static bool sgx_reclaimer_age(struct sgx_epc_page *epc_page)
{
	struct sgx_encl_page *page = epc_page->owner;

	return !sgx_encl_test_and_clear_young(page);
}

/* Sort a run of page addresses (n <= SGX_NR_TO_SCAN: insertion sort). */
static void sort_addrs(unsigned long *addrs, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++) {
		unsigned long a = addrs[i];

		for (j = i; j > 0 && addrs[j - 1] > a; j--)
			addrs[j] = addrs[j - 1];
		addrs[j] = a;
	}
}

/*
 * Zap and EBLOCK chunk[i..] up to the first page of another enclave; returns
 * the index after it. Adjacent pages are zapped with one call (window.c), and
 * all of them are blocked under one hold of encl->lock.
 */
static int sgx_reclaimer_block(struct sgx_platform *p, struct sgx_epc_page **chunk, int i,
			       int cnt)
{
	struct sgx_encl *encl = ((struct sgx_encl_page *)chunk[i]->owner)->encl;
	unsigned long addrs[SGX_NR_TO_SCAN];
	unsigned int na = 0, a, b;
	int j;

	for (j = i; j < cnt; j++) {
		struct sgx_encl_page *page;

		if (!chunk[j])
			continue;
		page = chunk[j]->owner;
		if (page->encl != encl)
			break;
		addrs[na++] = page->desc & SGX_ENCL_PAGE_ADDR_MASK;
	}
	sort_addrs(addrs, na);
	for (a = 0; a < na; a = b) {
		for (b = a + 1; b < na && addrs[b] == addrs[b - 1] + SGX_PAGE_SIZE; b++)
			;
		sgx_zap_enclave_ptes_range(encl, addrs[a], b - a);
	}

	sgx_mutex_lock(&encl->lock);
	for (a = (unsigned int)i; a < (unsigned int)j; a++) {
		int ret;

		if (!chunk[a])
			continue;
		ret = __eblock(p->cpu, sgx_get_epc_virt_addr(p, chunk[a]));
		if (encls_failed(ret))
			SGX_WARN("EBLOCK returned %d (%s)", ret, sgx_status_name(ret));
	}
	pthread_mutex_unlock(&encl->lock);
	return j;
}

/* encl->lock held. */
static void sgx_reclaimer_write(struct sgx_platform *p, struct sgx_epc_page *epc_page,
				struct sgx_backing *backing)
{
	struct sgx_encl_page *encl_page = epc_page->owner;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_backing secs_backing;
	int ret;

	ret = sgx_encl_ewb(epc_page, backing);
	encl_page->epc_page = NULL;
	encl->secs_child_cnt--;
	if (!ret)
		encl->nr_evicted++;

	if (!encl->secs_child_cnt && encl_test_flag(encl, SGX_ENCL_INITIALIZED) &&
	    encl->secs.epc_page) {
		ret = sgx_encl_alloc_backing(encl, PFN_DOWN(encl->size), &secs_backing);
		if (ret)
			goto out;

		ret = sgx_encl_ewb(encl->secs.epc_page, &secs_backing);
		sgx_encl_free_epc_page(p, encl->secs.epc_page);
		encl->secs.epc_page = NULL;
		if (!ret) {
			encl->nr_evicted++;
			atomic_fetch_add(&p->stats.secs_ewb, 1);
		}
	}
out:
	return;
}

/* Punch the written (punch_pending) pages out of the memfd, adjacent ones together. */
static void sgx_reclaimer_punch(struct sgx_encl *encl, unsigned long *addrs, unsigned int n)
{
	unsigned int i, j;

	sort_addrs(addrs, n);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && addrs[j] == addrs[j - 1] + SGX_PAGE_SIZE; j++)
			;
		sgx_encl_window_punch(encl, addrs[i], j - i);
		sgx_encl_window_unzap(encl, addrs[i], j - i);
	}
}


/* The reclaimer's reference to an enclave goes; see __sgx_reclaim_direct(). */
static void reclaimer_put(struct sgx_encl *encl, bool in_fault)
{
	if (in_fault)
		sgx_encl_put_deferred(encl);
	else
		sgx_encl_put(encl);
}

unsigned int sgx_reclaim_lru(struct sgx_platform *p, struct sgx_epc_cgroup *cg,
			     unsigned int nr, bool ignore_age, bool in_fault,
			     unsigned int *written_out)
{
	struct sgx_epc_page *chunk[SGX_NR_TO_SCAN];
	struct sgx_backing backing[SGX_NR_TO_SCAN];
	struct sgx_encl_page *encl_page;
	struct sgx_epc_page *epc_page;
	unsigned int written = 0, scanned, isolated;
	int cnt, i;

	/*
	 * Phase 1: the head of cg's reclaimable list. Each isolated page's
	 * enclave is referenced (sgx_epc_page_get_encl()); a dying enclave's
	 * page is dropped and left to sgx_encl_release().
	 */
	if (nr > SGX_NR_TO_SCAN)
		nr = SGX_NR_TO_SCAN;
	scanned = sgx_epc_cgroup_isolate_pages(cg, nr, chunk, &isolated);
	cnt = (int)isolated;

	for (i = 0; i < cnt; i++) {
		struct sgx_encl *encl;
		int ret;

		epc_page = chunk[i];
		encl_page = epc_page->owner;
		encl = encl_page->encl;

		if (!ignore_age && !sgx_reclaimer_age(epc_page))
			goto skip;

		sgx_mutex_lock(&encl->lock);
		ret = sgx_encl_alloc_backing(encl, sgx_encl_page_index(encl_page), &backing[i]);
		if (ret) {
			pthread_mutex_unlock(&encl->lock);
			goto skip;
		}
		encl_page->desc |= SGX_ENCL_PAGE_BEING_RECLAIMED;
		pthread_mutex_unlock(&encl->lock);
		continue;

skip:
		/* Back to the tail of its own cgroup's list. */
		sgx_epc_cgroup_lru_putback(cg, epc_page);

		reclaimer_put(encl, in_fault);
		chunk[i] = NULL;
	}

	for (i = 0; i < cnt;) {
		if (chunk[i])
			i = sgx_reclaimer_block(p, chunk, i, cnt);
		else
			i++;
	}

	for (i = 0; i < cnt;) {
		struct sgx_encl_page *written_pages[SGX_NR_TO_SCAN];
		unsigned long addrs[SGX_NR_TO_SCAN];
		unsigned int na = 0;
		struct sgx_encl *encl;
		int j, k;

		if (!chunk[i]) {
			i++;
			continue;
		}
		encl = ((struct sgx_encl_page *)chunk[i]->owner)->encl;

		/* Allocate EWB's backing pages before taking the lock faults take. */
		for (j = i; j < cnt; j++) {
			if (!chunk[j])
				continue;
			if (((struct sgx_encl_page *)chunk[j]->owner)->encl != encl)
				break;
			addrs[na++] = backing[j].page_index;
		}
		sgx_encl_prefault_backing(encl, addrs, na);
		na = 0;

		/*
		 * One hold of encl->lock per EWB, so that faults on other pages
		 * are not held up for a whole batch; the pages stay in the memfd
		 * (write-protected) until the punch, and loads of them wait
		 * meanwhile (punch_pending).
		 */
		for (j = i; j < cnt; j++) {
			if (!chunk[j])
				continue;
			encl_page = chunk[j]->owner;
			if (encl_page->encl != encl)
				break;
			written_pages[na] = encl_page;
			addrs[na++] = encl_page->desc & SGX_ENCL_PAGE_ADDR_MASK;
			sgx_mutex_lock(&encl->lock);
			sgx_reclaimer_write(p, chunk[j], &backing[j]);
			encl_page->punch_pending = true;
			pthread_mutex_unlock(&encl->lock);
		}
		/*
		 * No lock for the punch either: nothing can load a punch_pending
		 * page, so nothing can put it back into the memfd meanwhile.
		 */
		sgx_reclaimer_punch(encl, addrs, na);
		sgx_mutex_lock(&encl->lock);
		for (k = 0; k < (int)na; k++)
			written_pages[k]->punch_pending = false;
		pthread_mutex_unlock(&encl->lock);

		for (k = i; k < j; k++) {
			epc_page = chunk[k];
			if (!epc_page)
				continue;
			/* Clear TRACKED before the enclave can go: release must not see it. */
			sgx_epc_cgroup_lru_done(cg, epc_page);
			sgx_free_epc_page(p, epc_page);
			reclaimer_put(encl, in_fault);
			written++;
		}
		i = j;
	}
	atomic_fetch_add(&p->stats.pages_reclaimed, written);
	if (written_out)
		*written_out = written;
	return scanned;
}

/*
 * The v16 walk (sgx_epc_cgroup_reclaim_pages()) with the fault path's
 * deferred enclave release: the cursor of root's subtree gives the next
 * cgroup, one batch from its LRU, until nr pages were scanned, the subtree
 * has nothing reclaimable, or a whole round found nothing.
 */
unsigned int sgx_reclaim_subtree(struct sgx_platform *p, struct sgx_epc_cgroup *root,
				 unsigned int nr, bool in_fault)
{
	unsigned int scanned = 0, written = 0;
	long idle = 0;

	while (!sgx_epc_cgroup_lru_empty(root) && scanned < nr) {
		struct sgx_epc_cgroup *cg = sgx_epc_cgroup_next_get(root);
		unsigned int n = 0, w = 0;

		if (atomic_load(&cg->lru.nr_reclaimable) > 0)
			n = sgx_reclaim_lru(p, cg, SGX_NR_TO_SCAN, false, in_fault, &w);
		sgx_epc_cgroup_put(cg);
		scanned += n;
		written += w;
		if (n)
			idle = 0;
		else if (++idle > atomic_load(&p->cg_tree->nr_cgroups) + 1)
			break;
	}
	return written;
}

/* One batch: the first cgroup in round-robin order that has something to scan. */
unsigned int sgx_reclaim_pages(struct sgx_platform *p)
{
	return sgx_reclaim_subtree(p, p->cg_tree->root, 1, false);
}

// SPDX-License-Identifier: MIT
/*
 * The enclave object (the kernel's sgx/encl.c): life cycle and release, VA
 * pages, the backing store, write-back (EWB) and load (ELDU), EAUG of dynamic
 * pages, and the permission checks of mmap/mprotect.
 *
 * Backing store: a memfd per enclave ("SGX backing") of E + E/32 bytes,
 * E = SECS.size + 4096, with the kernel's layout: the encrypted contents of
 * enclave page i at i * 4096, the SECS at 'size', and from size + 4096 one
 * 128-byte PCMD per page index. It is read and written with pread/pwrite
 * under encl->lock and holes are punched (FALLOC_FL_PUNCH_HOLE) where the
 * kernel truncates shmem pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sgx/encl.h"
#include "sgx/internal.h"
#include "sgx/window.h"

#define PCMDS_PER_PAGE	(SGX_PAGE_SIZE / sizeof(struct sgx_pcmd))

/* Per-enclave scratch for EWB/ELDU/EADD, used under encl->lock only. */
struct sgx_encl_scratch {
	uint8_t contents[SGX_PAGE_SIZE];
	struct sgx_pcmd pcmd;
	uint8_t pcmd_page[SGX_PAGE_SIZE];
} __attribute__((aligned(4096)));

static struct sgx_encl_scratch *encl_scratch(struct sgx_encl *encl);

int sgx_copy_from_user(void *dst, uint64_t src, unsigned long len)
{
	struct iovec local = { dst, len }, remote = { (void *)(uintptr_t)src, len };

	if (!src)
		return -EFAULT;
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int sgx_copy_to_user(uint64_t dst, const void *src, unsigned long len)
{
	struct iovec local = { (void *)src, len }, remote = { (void *)(uintptr_t)dst, len };

	if (!dst)
		return -EFAULT;
	if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle
 */

struct sgx_encl *sgx_encl_alloc(struct sgx_platform *p)
{
	struct sgx_encl *encl = calloc(1, sizeof(*encl));

	if (!encl)
		return NULL;
	encl->scratch = aligned_alloc(SGX_PAGE_SIZE, sizeof(struct sgx_encl_scratch));
	if (!encl->scratch) {
		free(encl);
		return NULL;
	}
	encl->platform = p;
	atomic_init(&encl->refcount, 1);
	pthread_mutex_init(&encl->lock, NULL);
	sgx_xa_init(&encl->page_array);
	INIT_LIST_HEAD(&encl->va_pages);
	INIT_LIST_HEAD(&encl->mm_list);
	pthread_mutex_init(&encl->mm_lock, NULL);
	pthread_rwlock_init(&encl->srcu, NULL);
	encl->backing = -1;
	encl->window_fd = -1;
	INIT_LIST_HEAD(&encl->windows);
	atomic_init(&encl->file_refs, 1);
	encl->secs.encl = encl;
	encl->secs.type = SGX_PAGE_TYPE_SECS;

	pthread_mutex_lock(&p->encl_list_lock);
	list_add_tail(&encl->platform_list, &p->encl_list);
	atomic_fetch_add(&p->nr_encls, 1);
	pthread_mutex_unlock(&p->encl_list_lock);
	return encl;
}

static struct sgx_encl_scratch *encl_scratch(struct sgx_encl *encl)
{
	return encl->scratch;
}

bool sgx_encl_get(struct sgx_encl *encl)
{
	long old = atomic_load(&encl->refcount);

	do {
		if (old == 0)
			return false;
	} while (!atomic_compare_exchange_weak(&encl->refcount, &old, old + 1));
	return true;
}

void sgx_encl_get_ref(struct sgx_encl *encl)
{
	atomic_fetch_add(&encl->refcount, 1);
}

void sgx_encl_put(struct sgx_encl *encl)
{
	if (atomic_fetch_sub(&encl->refcount, 1) == 1)
		sgx_encl_release(encl);
}

/* The page must be architecturally valid (or already invalid): EREMOVE, then free. */
void sgx_encl_free_epc_page(struct sgx_platform *p, struct sgx_epc_page *page)
{
	int ret;

	if (page->flags & SGX_EPC_PAGE_RECLAIMER_TRACKED)
		SGX_WARN("freeing a page still tracked by the reclaimer");
	ret = __eremove(p->cpu, sgx_get_epc_virt_addr(p, page));
	atomic_fetch_add(&p->stats.eremove, 1);
	if (ret) {
		SGX_WARN("EREMOVE returned %d (%s) and an EPC page was leaked. SGX may become "
			 "unusable. Refer to Documentation/x86/sgx.rst for more information.",
			 ret, sgx_status_name(ret));
		return;
	}
	sgx_free_epc_page(p, page);
}

/* refcount reached zero: nobody (file, mm, reclaimer) can reach the enclave any more. */
void sgx_encl_release(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_va_page *va_page, *tmp;
	struct sgx_encl_page *entry;
	unsigned long index = 0;

	if (encl->size) {
		unsigned long last = PFN_DOWN(encl->base + encl->size - 1);

		index = PFN_DOWN(encl->base);
		while ((entry = sgx_xa_find(&encl->page_array, &index, last))) {
			if (entry->epc_page) {
				/* Defensive: a reclaimer holding it would hold a ref. */
				if (sgx_unmark_page_reclaimable(p, entry->epc_page)) {
					index++;
					continue;
				}
				sgx_encl_free_epc_page(p, entry->epc_page);
				encl->secs_child_cnt--;
				entry->epc_page = NULL;
			} else if (entry->va_page) {
				encl->nr_evicted--;
			}
			sgx_xa_erase(&encl->page_array, index);
			free(entry);
			index++;
		}
	}
	sgx_xa_destroy(&encl->page_array);

	if (!encl->secs_child_cnt && encl->secs.epc_page) {
		sgx_encl_free_epc_page(p, encl->secs.epc_page);
		encl->secs.epc_page = NULL;
	} else if (encl->secs.va_page) {
		encl->nr_evicted--;
	}

	list_for_each_entry_safe(va_page, tmp, &encl->va_pages, list) {
		list_del(&va_page->list);
		sgx_encl_free_epc_page(p, va_page->epc_page);
		atomic_fetch_sub(&p->stats.va_pages, 1);
		free(va_page);
	}

	if (encl->backing >= 0)
		close(encl->backing);
	/* After every EREMOVE above: no frame is aliased into the view any more. */
	sgx_encl_window_destroy(encl);
	if (!list_empty(&encl->windows))
		SGX_WARN("enclave released with windows mapped");
	if (!list_empty(&encl->mm_list))
		SGX_WARN("enclave released with address spaces attached");
	if (encl->secs_child_cnt || encl->secs.epc_page)
		SGX_WARN("enclave released with %u children / SECS present", encl->secs_child_cnt);

	pthread_mutex_lock(&p->encl_list_lock);
	list_del(&encl->platform_list);
	atomic_fetch_sub(&p->nr_encls, 1);
	pthread_mutex_unlock(&p->encl_list_lock);

	pthread_mutex_destroy(&encl->lock);
	pthread_mutex_destroy(&encl->mm_lock);
	pthread_rwlock_destroy(&encl->srcu);
	free(encl->scratch);
	free(encl);
}

/* ---------------------------------------------------------------------------------------------
 * Enclave pages and permissions
 */

struct sgx_encl_page *sgx_encl_page_alloc(struct sgx_encl *encl, unsigned long offset,
					  uint64_t secinfo_flags)
{
	struct sgx_encl_page *encl_page = calloc(1, sizeof(*encl_page));
	unsigned long prot;

	if (!encl_page)
		return NULL;
	encl_page->desc = encl->base + offset;
	encl_page->encl = encl;
	prot = secinfo_flags & SGX_SECINFO_PERMISSION_MASK;	/* R/W/X == VM_READ/WRITE/EXEC */
	if ((secinfo_flags & SGX_SECINFO_PAGE_TYPE_MASK) == SGX_SECINFO_TCS)
		prot |= VM_READ | VM_WRITE;
	encl_page->vm_max_prot_bits = prot;
	return encl_page;
}

int sgx_encl_may_map(struct sgx_encl *encl, unsigned long start, unsigned long end,
		     unsigned long vm_flags)
{
	unsigned long vm_prot_bits = vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
	struct sgx_encl_page *page;
	unsigned long idx;
	int ret = 0;

	if (end <= start)
		return -EINVAL;
	/* Disallow mapping outside the enclave's address range once it is running. */
	if (encl_test_flag(encl, SGX_ENCL_INITIALIZED) &&
	    (start < encl->base || end > encl->base + encl->size))
		return -EACCES;
	/* READ_IMPLIES_EXEC would add PROT_EXEC behind the enclave's back. */
	if (personality(0xffffffff) & READ_IMPLIES_EXEC)
		return -EACCES;

	pthread_mutex_lock(&encl->lock);
	idx = PFN_DOWN(start);
	while ((page = sgx_xa_find(&encl->page_array, &idx, PFN_DOWN(end - 1)))) {
		if (~page->vm_max_prot_bits & vm_prot_bits) {
			ret = -EACCES;
			break;
		}
		idx++;
	}
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

bool sgx_encl_test_and_clear_young(struct sgx_encl_page *page)
{
	return atomic_exchange(&page->young, false);
}

/* ---------------------------------------------------------------------------------------------
 * VA pages
 */

struct sgx_epc_page *sgx_alloc_va_page(struct sgx_encl *encl, bool reclaim)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_epc_page *epc_page;
	int ret;

	epc_page = sgx_alloc_epc_page(p, NULL, reclaim);
	if (IS_ERR(epc_page))
		return epc_page;
	ret = __epa(p->cpu, sgx_get_epc_virt_addr(p, epc_page));
	if (ret) {
		SGX_WARN("EPA returned %d", ret);
		sgx_encl_free_epc_page(p, epc_page);
		return ERR_PTR(-EFAULT);
	}
	atomic_fetch_add(&p->stats.va_pages, 1);
	return epc_page;
}

/*
 * One VA slot per page that may ever be evicted (SECS included): a new VA
 * page every SGX_VA_SLOT_COUNT pages. The caller links it under encl->lock.
 */
struct sgx_va_page *sgx_encl_grow(struct sgx_encl *encl, bool reclaim)
{
	struct sgx_va_page *va_page = NULL;

	if (!(encl->page_cnt % SGX_VA_SLOT_COUNT)) {
		void *err;

		va_page = calloc(1, sizeof(*va_page));
		if (!va_page)
			return ERR_PTR(-ENOMEM);
		va_page->epc_page = sgx_alloc_va_page(encl, reclaim);
		if (IS_ERR(va_page->epc_page)) {
			err = va_page->epc_page;
			free(va_page);
			return err;
		}
	}
	encl->page_cnt++;
	return va_page;
}

void sgx_encl_shrink(struct sgx_encl *encl, struct sgx_va_page *va_page)
{
	encl->page_cnt--;
	if (va_page) {
		sgx_encl_free_epc_page(encl->platform, va_page->epc_page);
		list_del(&va_page->list);
		atomic_fetch_sub(&encl->platform->stats.va_pages, 1);
		encl->nr_va_pages--;
		free(va_page);
	}
}

unsigned int sgx_alloc_va_slot(struct sgx_va_page *va_page)
{
	unsigned int i;

	for (i = 0; i < SGX_VA_SLOT_COUNT; i++) {
		if (!(va_page->slots[i / 64] & (1ULL << (i % 64)))) {
			va_page->slots[i / 64] |= 1ULL << (i % 64);
			return i << 3;
		}
	}
	/* The driver keeps one slot per evictable page: unreachable. */
	SGX_WARN("VA page full");
	return SGX_VA_SLOT_COUNT << 3;
}

void sgx_free_va_slot(struct sgx_va_page *va_page, unsigned int offset)
{
	unsigned int slot = offset >> 3;

	va_page->slots[slot / 64] &= ~(1ULL << (slot % 64));
}

bool sgx_va_page_full(struct sgx_va_page *va_page)
{
	unsigned int i;

	for (i = 0; i < SGX_VA_SLOT_COUNT / 64; i++)
		if (va_page->slots[i] != ~0ULL)
			return false;
	return true;
}

/* ---------------------------------------------------------------------------------------------
 * Backing store
 */

static void backing_offsets(struct sgx_encl *encl, unsigned long page_index,
			    struct sgx_backing *backing)
{
	uint64_t pcmd_off = encl->size + SGX_PAGE_SIZE + page_index * sizeof(struct sgx_pcmd);

	backing->page_index = page_index;
	backing->pcmd_index = pcmd_off >> SGX_PAGE_SHIFT;
	backing->pcmd_offset = pcmd_off & (SGX_PAGE_SIZE - 1);
}

/*
 * Reclaimer side. pwrite() allocates the shmem pages when EWB's output is
 * stored; nothing can fail before that, so this only computes the layout.
 */
int sgx_encl_alloc_backing(struct sgx_encl *encl, unsigned long page_index,
			   struct sgx_backing *backing)
{
	if (encl->backing < 0)
		return -ENOMEM;
	backing_offsets(encl, page_index, backing);
	return 0;
}

void sgx_encl_lookup_backing(struct sgx_encl *encl, unsigned long page_index,
			     struct sgx_backing *backing)
{
	backing_offsets(encl, page_index, backing);
}

static void backing_punch(struct sgx_encl *encl, uint64_t off)
{
	fallocate(encl->backing, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		  SGX_PAGE_SIZE);
}

static uint64_t pcmd_byte_offset(struct sgx_backing *b)
{
	return ((uint64_t)b->pcmd_index << SGX_PAGE_SHIFT) + b->pcmd_offset;
}

/* ---------------------------------------------------------------------------------------------
 * EWB (called by the reclaimer with encl->lock held)
 */

/* Force every LP out of the enclave (the kernel's synchronous IPI to sgx_encl_cpumask()). */
static void sgx_ipi_cb(struct sgx_lp *lp, void *arg)
{
	struct sgx_platform *p = arg;

	if (p->ops.ipi)
		p->ops.ipi(p->ops_arg, lp);
}

static void lp_seen_cb(struct sgx_lp *lp, void *arg)
{
	*(bool *)arg = true;
}

void sgx_encl_ipi(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;

	if (!encl->secs.epc_page)
		return;
	sgx_cpu_for_each_lp_in(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page), sgx_ipi_cb, p);
}

/* Send the IPI and wait (bounded) until no LP is inside: on_each_cpu_mask(..., wait=1). */
static void sgx_encl_ipi_wait(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;
	int i;

	sgx_encl_ipi(encl);
	for (i = 0; i < 1000 && encl->secs.epc_page; i++) {
		bool inside = false;

		sgx_cpu_for_each_lp_in(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page),
				       lp_seen_cb, &inside);
		if (!inside)
			return;
		if (!p->ops.ipi)
			return;	/* nobody can force them out */
		sched_yield();
		if (i % 16 == 15)
			sgx_encl_ipi(encl);
	}
}

static int __sgx_encl_ewb(struct sgx_encl *encl, struct sgx_epc_page *epc_page, void *va_slot)
{
	struct sgx_encl_scratch *s = encl_scratch(encl);
	struct sgx_pageinfo pginfo = {
		.addr = 0,
		.contents = SGX_CPU_PTR(s->contents),
		.metadata = SGX_CPU_PTR(&s->pcmd),
		.secs = 0,
	};

	return __ewb(encl->platform->cpu, &pginfo, sgx_epc_addr(encl, epc_page), va_slot);
}

int sgx_encl_ewb(struct sgx_epc_page *epc_page, struct sgx_backing *backing)
{
	struct sgx_encl_page *encl_page = epc_page->owner;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_scratch *s = encl_scratch(encl);
	struct sgx_va_page *va_page;
	unsigned int va_offset;
	void *va_slot;
	int ret;

	encl_page->desc &= ~SGX_ENCL_PAGE_BEING_RECLAIMED;

	va_page = list_first_entry(&encl->va_pages, struct sgx_va_page, list);
	va_offset = sgx_alloc_va_slot(va_page);
	va_slot = (char *)sgx_epc_addr(encl, va_page->epc_page) + va_offset;
	if (sgx_va_page_full(va_page))
		list_move_tail(&va_page->list, &encl->va_pages);

	ret = __sgx_encl_ewb(encl, epc_page, va_slot);
	if (ret == SGX_NOT_TRACKED) {
		ret = __etrack(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page));
		if (ret && encls_failed(ret))
			SGX_WARN("ETRACK returned %d", ret);

		ret = __sgx_encl_ewb(encl, epc_page, va_slot);
		if (ret == SGX_NOT_TRACKED) {
			/* The LP set is taken after the ETRACK, so late entrants are covered. */
			atomic_fetch_add(&p->stats.not_tracked_ipis, 1);
			sgx_encl_ipi_wait(encl);
			ret = __sgx_encl_ewb(encl, epc_page, va_slot);
		}
	}

	if (ret) {
		if (encls_failed(ret))
			SGX_WARN("EWB returned %d (%s): enclave page contents lost", ret,
				 sgx_status_name(ret));
		atomic_fetch_add(&p->stats.ewb_lost, 1);
		sgx_free_va_slot(va_page, va_offset);
		return ret;
	}

	/* Store the sealed page and its PCMD in the backing file. */
	if (pwrite(encl->backing, s->contents, SGX_PAGE_SIZE,
		   (off_t)(backing->page_index * SGX_PAGE_SIZE)) != (ssize_t)SGX_PAGE_SIZE ||
	    pwrite(encl->backing, &s->pcmd, sizeof(s->pcmd), (off_t)pcmd_byte_offset(backing)) !=
	    (ssize_t)sizeof(s->pcmd))
		SGX_WARN("backing store write failed: enclave page contents lost");

	encl_page->desc |= va_offset;
	encl_page->va_page = va_page;
	atomic_fetch_add(&p->stats.ewb, 1);
	atomic_fetch_add(&encl->stats.ewb, 1);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * ELDU (encl->lock held)
 */

/*
 * A reclaimer that set BEING_RECLAIMED on a page sharing this PCMD page is
 * about to write its PCMD there: the page must not be punched meanwhile.
 */
static bool reclaimer_writing_to_pcmd(struct sgx_encl *encl, unsigned long start_index)
{
	unsigned long i;

	for (i = 0; i < PCMDS_PER_PAGE; i++) {
		struct sgx_encl_page *entry;
		unsigned long addr;

		if (start_index + i == PFN_DOWN(encl->size))	/* the SECS: no entry */
			break;
		addr = encl->base + (start_index + i) * SGX_PAGE_SIZE;
		entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));
		if (entry && entry->epc_page && (entry->desc & SGX_ENCL_PAGE_BEING_RECLAIMED))
			return true;
	}
	return false;
}

static int __sgx_encl_eldu(struct sgx_encl_page *encl_page, struct sgx_epc_page *epc_page,
			   struct sgx_epc_page *secs_page)
{
	unsigned long va_offset = encl_page->desc & SGX_ENCL_PAGE_VA_OFFSET_MASK;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_scratch *s = encl_scratch(encl);
	unsigned long page_index = sgx_encl_page_index(encl_page);
	struct sgx_pageinfo pginfo;
	struct sgx_backing b;
	uint64_t pcmd_off;
	int ret;

	sgx_encl_lookup_backing(encl, page_index, &b);
	pcmd_off = pcmd_byte_offset(&b);
	if (pread(encl->backing, s->contents, SGX_PAGE_SIZE,
		  (off_t)(page_index * SGX_PAGE_SIZE)) != (ssize_t)SGX_PAGE_SIZE ||
	    pread(encl->backing, &s->pcmd, sizeof(s->pcmd), (off_t)pcmd_off) !=
	    (ssize_t)sizeof(s->pcmd))
		return -EFAULT;

	pginfo.addr = secs_page ? (encl_page->desc & SGX_ENCL_PAGE_ADDR_MASK) : 0;
	pginfo.contents = SGX_CPU_PTR(s->contents);
	pginfo.metadata = SGX_CPU_PTR(&s->pcmd);
	pginfo.secs = secs_page ? SGX_CPU_PTR(sgx_epc_addr(encl, secs_page)) : 0;

	ret = __eldu(p->cpu, &pginfo, sgx_epc_addr(encl, epc_page),
		     (char *)sgx_epc_addr(encl, encl_page->va_page->epc_page) + va_offset);
	if (ret) {
		if (encls_failed(ret))
			SGX_WARN("ELDU returned %d (%s)", ret, sgx_status_name(ret));
		ret = -EFAULT;
	}

	/* Success or not, the backing copy is consumed: zero the PCMD, drop the page. */
	memset(&s->pcmd, 0, sizeof(s->pcmd));
	if (pwrite(encl->backing, &s->pcmd, sizeof(s->pcmd), (off_t)pcmd_off) < 0)
		SGX_WARN("PCMD clear failed");
	backing_punch(encl, page_index * SGX_PAGE_SIZE);

	if (!reclaimer_writing_to_pcmd(encl, page_index & ~(PCMDS_PER_PAGE - 1)) &&
	    pread(encl->backing, s->pcmd_page, SGX_PAGE_SIZE,
		  (off_t)((uint64_t)b.pcmd_index << SGX_PAGE_SHIFT)) == (ssize_t)SGX_PAGE_SIZE) {
		unsigned int i;

		for (i = 0; i < SGX_PAGE_SIZE && !s->pcmd_page[i]; i++)
			;
		if (i == SGX_PAGE_SIZE)
			backing_punch(encl, (uint64_t)b.pcmd_index << SGX_PAGE_SHIFT);
	}
	return ret;
}

static struct sgx_epc_page *sgx_encl_eldu(struct sgx_encl_page *encl_page,
					  struct sgx_epc_page *secs_page)
{
	unsigned long va_offset = encl_page->desc & SGX_ENCL_PAGE_VA_OFFSET_MASK;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_platform *p = encl->platform;
	struct sgx_epc_page *epc_page;
	int ret;

	epc_page = sgx_alloc_epc_page(p, encl_page, false);
	if (IS_ERR(epc_page))
		return epc_page;

	ret = __sgx_encl_eldu(encl_page, epc_page, secs_page);
	if (ret) {
		sgx_encl_free_epc_page(p, epc_page);
		return ERR_PTR(ret);
	}

	sgx_free_va_slot(encl_page->va_page, va_offset);
	list_move(&encl_page->va_page->list, &encl->va_pages);
	encl_page->desc &= ~SGX_ENCL_PAGE_VA_OFFSET_MASK;
	encl_page->va_page = NULL;
	encl_page->epc_page = epc_page;
	encl->nr_evicted--;
	atomic_fetch_add(&p->stats.eldu, 1);
	atomic_fetch_add(&encl->stats.eldu, 1);
	return epc_page;
}

/* Reload the SECS if the reclaimer evicted it (needed before any child ELDU or EAUG). */
int sgx_encl_load_secs(struct sgx_encl *encl)
{
	struct sgx_epc_page *epc_page;

	if (encl->secs.epc_page)
		return 0;
	epc_page = sgx_encl_eldu(&encl->secs, NULL);
	if (IS_ERR(epc_page))
		return (int)PTR_ERR(epc_page);
	atomic_fetch_add(&encl->platform->stats.secs_eldu, 1);
	return 0;
}

static struct sgx_encl_page *__sgx_encl_load_page(struct sgx_encl *encl,
						  struct sgx_encl_page *entry)
{
	struct sgx_epc_page *epc_page;
	int ret;

	if (entry->epc_page) {
		if (entry->desc & SGX_ENCL_PAGE_BEING_RECLAIMED)
			return ERR_PTR(-EBUSY);
		return entry;
	}

	ret = sgx_encl_load_secs(encl);
	if (ret)
		return ERR_PTR(ret);

	epc_page = sgx_encl_eldu(entry, encl->secs.epc_page);
	if (IS_ERR(epc_page))
		return (void *)epc_page;

	encl->secs_child_cnt++;
	/*
	 * Into the memfd, i.e. into every window at once. On failure the page
	 * stays resident at its home and the fault path retries the install.
	 */
	sgx_encl_window_install(encl, entry);
	atomic_store(&entry->young, true);
	sgx_mark_page_reclaimable(encl->platform, entry->epc_page);
	return entry;
}

struct sgx_encl_page *sgx_encl_load_page(struct sgx_encl *encl, unsigned long addr)
{
	struct sgx_encl_page *entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));

	if (!entry)
		return ERR_PTR(-EFAULT);
	return __sgx_encl_load_page(encl, entry);
}

struct sgx_encl_page *sgx_encl_load_page_in_vma(struct sgx_encl *encl, unsigned long addr,
						unsigned long vm_prot_bits)
{
	struct sgx_encl_page *entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));

	if (!entry)
		return ERR_PTR(-EFAULT);
	/* The VMA (window) may not ask for more than the page's max permissions. */
	if ((entry->vm_max_prot_bits & vm_prot_bits) != vm_prot_bits)
		return ERR_PTR(-EFAULT);
	return __sgx_encl_load_page(encl, entry);
}

/* ---------------------------------------------------------------------------------------------
 * EAUG on fault (SGX2): 0, -EBUSY (retry), -EFAULT (SIGBUS), -ENOMEM (OOM)
 */
int sgx_encl_eaug_page(struct sgx_encl *encl, unsigned long addr)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_pageinfo pginfo = { 0 };
	struct sgx_encl_page *encl_page;
	struct sgx_epc_page *epc_page;
	struct sgx_va_page *va_page;
	int ret;

	if (!encl_test_flag(encl, SGX_ENCL_INITIALIZED))
		return -EFAULT;

	/* Dynamic pages ignore the driver's permission tracking: RWX. */
	encl_page = sgx_encl_page_alloc(encl, (addr & SGX_ENCL_PAGE_ADDR_MASK) - encl->base,
					SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X);
	if (!encl_page)
		return -ENOMEM;

	pthread_mutex_lock(&encl->lock);

	ret = sgx_encl_load_secs(encl);
	if (ret) {
		ret = ret == -EBUSY ? -EBUSY : -EFAULT;
		goto err_out_unlock;
	}

	epc_page = sgx_alloc_epc_page(p, encl_page, false);
	if (IS_ERR(epc_page)) {
		ret = PTR_ERR(epc_page) == -EBUSY ? -EBUSY : -EFAULT;
		goto err_out_unlock;
	}

	va_page = sgx_encl_grow(encl, false);
	if (IS_ERR(va_page)) {
		ret = PTR_ERR(va_page) == -EBUSY ? -EBUSY : -EFAULT;
		goto err_out_epc;
	}
	if (va_page) {
		list_add(&va_page->list, &encl->va_pages);
		encl->nr_va_pages++;
	}

	ret = sgx_xa_insert(&encl->page_array, PFN_DOWN(encl_page->desc), encl_page);
	if (ret) {
		/* Another thread augmented the page first: fault again and find it. */
		ret = ret == -EBUSY ? -EBUSY : -EFAULT;
		goto err_out_shrink;
	}

	pginfo.secs = SGX_CPU_PTR(sgx_epc_addr(encl, encl->secs.epc_page));
	pginfo.addr = encl_page->desc & SGX_ENCL_PAGE_ADDR_MASK;
	pginfo.metadata = 0;
	pginfo.contents = 0;

	ret = __eaug(p->cpu, &pginfo, sgx_epc_addr(encl, epc_page));
	if (ret) {
		ret = -EFAULT;
		goto err_out;
	}
	encl_page->epc_page = epc_page;
	ret = sgx_encl_window_install(encl, encl_page);
	if (ret) {
		encl_page->epc_page = NULL;
		ret = -EFAULT;
		goto err_out;
	}

	encl_page->encl = encl;
	encl_page->type = SGX_PAGE_TYPE_REG;
	atomic_store(&encl_page->young, true);
	encl->secs_child_cnt++;
	sgx_mark_page_reclaimable(p, encl_page->epc_page);
	atomic_fetch_add(&p->stats.eaug, 1);
	atomic_fetch_add(&encl->stats.eaug, 1);
	pthread_mutex_unlock(&encl->lock);
	return 0;

err_out:
	sgx_xa_erase(&encl->page_array, PFN_DOWN(encl_page->desc));
err_out_shrink:
	sgx_encl_shrink(encl, va_page);
err_out_epc:
	sgx_encl_free_epc_page(p, epc_page);
err_out_unlock:
	pthread_mutex_unlock(&encl->lock);
	free(encl_page);
	return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The manager's own access path (tests, debug): load or augment, then copy.
 */
static int __sgx_encl_access(struct sgx_encl *encl, unsigned long addr, void *buf,
			     unsigned long len, bool write)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_page *entry;
	char *data;
	int ret;

	pthread_mutex_lock(&encl->lock);
	entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));
	if (!entry && p->sgx2) {
		pthread_mutex_unlock(&encl->lock);
		ret = sgx_encl_eaug_page(encl, addr);
		if (ret)
			return ret;
		pthread_mutex_lock(&encl->lock);
		entry = sgx_xa_load(&encl->page_array, PFN_DOWN(addr));
	}
	if (!entry) {
		pthread_mutex_unlock(&encl->lock);
		return -EFAULT;
	}
	entry = __sgx_encl_load_page(encl, entry);
	if (IS_ERR(entry)) {
		pthread_mutex_unlock(&encl->lock);
		return (int)PTR_ERR(entry);
	}
	data = (char *)sgx_epc_data(p->cpu, sgx_epc_addr(encl, entry->epc_page)) +
	       (addr & (SGX_PAGE_SIZE - 1));
	if (write)
		memcpy(data, buf, len);
	else
		memcpy(buf, data, len);
	atomic_store(&entry->young, true);
	pthread_mutex_unlock(&encl->lock);
	return 0;
}

/*
 * Process context (like the kernel's ptrace .access and the SGX2 ioctls):
 * loads allocate without reclaim, so on -EBUSY reclaim one batch directly
 * (no encl->lock held) and retry a bounded number of times.
 */
int sgx_encl_access(struct sgx_encl *encl, unsigned long addr, void *buf, unsigned long len,
		    bool write)
{
	struct sgx_platform *p;
	int ret, tries;

	if (!encl || !buf || (addr & (SGX_PAGE_SIZE - 1)) + len > SGX_PAGE_SIZE)
		return -EINVAL;
	p = encl->platform;
	if (!encl_test_flag(encl, SGX_ENCL_CREATED) || addr < encl->base ||
	    addr - encl->base >= encl->size)
		return -EFAULT;

	atomic_fetch_add(&p->stats.faults, 1);
	atomic_fetch_add(&encl->stats.faults, 1);
	for (tries = 0; tries < 64; tries++) {
		ret = __sgx_encl_access(encl, addr, buf, len, write);
		if (ret != -EBUSY)
			break;
		if (sgx_should_reclaim(p, SGX_NR_LOW_PAGES))
			sgx_reclaim_pages(p);
		else
			sched_yield();
	}
	return ret;
}

int sgx_encl_fault(struct sgx_encl *encl, unsigned long addr, unsigned int access)
{
	uint8_t b;

	(void)access;
	return sgx_encl_access(encl, addr, &b, 1, false);
}

/* ---------------------------------------------------------------------------------------------
 * mm_list: the address spaces that map the enclave
 *
 * The kernel's SRCU is a rwlock here: readers (zap, cpumask) hold it shared;
 * writers take mm_lock and then the rwlock exclusively while they link or
 * unlink, which also gives synchronize_srcu()'s guarantee that no reader
 * still sees a removed entry when it is freed.
 */
int sgx_encl_mm_add(struct sgx_encl *encl, void *mm)
{
	struct sgx_encl_mm *encl_mm;

	pthread_rwlock_rdlock(&encl->srcu);
	list_for_each_entry(encl_mm, &encl->mm_list, list) {
		if (encl_mm->mm == mm) {
			pthread_rwlock_unlock(&encl->srcu);
			return 0;
		}
	}
	pthread_rwlock_unlock(&encl->srcu);

	encl_mm = calloc(1, sizeof(*encl_mm));
	if (!encl_mm)
		return -ENOMEM;
	encl_mm->encl = encl;
	encl_mm->mm = mm;
	sgx_encl_get_ref(encl);

	pthread_mutex_lock(&encl->mm_lock);
	pthread_rwlock_wrlock(&encl->srcu);
	list_add(&encl_mm->list, &encl->mm_list);
	encl->mm_list_version++;
	pthread_rwlock_unlock(&encl->srcu);
	pthread_mutex_unlock(&encl->mm_lock);
	return 0;
}

void sgx_encl_mm_remove(struct sgx_encl *encl, void *mm)
{
	struct sgx_encl_mm *encl_mm, *found = NULL;

	pthread_mutex_lock(&encl->mm_lock);
	pthread_rwlock_wrlock(&encl->srcu);
	list_for_each_entry(encl_mm, &encl->mm_list, list) {
		if (encl_mm->mm == mm) {
			found = encl_mm;
			list_del(&encl_mm->list);
			break;
		}
	}
	pthread_rwlock_unlock(&encl->srcu);
	pthread_mutex_unlock(&encl->mm_lock);

	if (found) {
		free(found);
		sgx_encl_put(encl);
	}
}

// SPDX-License-Identifier: MIT
/*
 * The enclave object (the kernel's sgx/encl.c): life cycle and release, VA
 * pages, the backing store, write-back (EWB) and load (ELDU), EAUG of dynamic
 * pages, and the permission checks of mmap/mprotect.
 *
 * Backing store: a memfd per enclave ("SGX backing") of E + E/32 bytes,
 * E = SECS.size + 4096, with the kernel's layout: the encrypted contents of
 * enclave page i at i * 4096, the SECS at 'size', and from size + 4096 one
 * 128-byte PCMD per page index. Where the kernel pins the shmem pages and
 * kmaps them, the manager maps the memfd once and EWB seals straight into it
 * (ELDU opens straight from it): no copy and no read/write system call per
 * page. The kernel truncates a contents page after ELDU, and a PCMD page
 * when none of its 32 PCMDs is in use any more; here a counter per PCMD page
 * replaces the kernel's scan of the page for non-zero bytes, and the
 * truncations are lazy and batched (see "Truncation" below).
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

/* Per-enclave scratch for EADD, used under encl->lock only. */
struct sgx_encl_scratch {
	uint8_t contents[SGX_PAGE_SIZE];
} __attribute__((aligned(4096)));


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
	/* aligned_alloc() wants a size that is a multiple of the alignment. */
	encl->scratch = aligned_alloc(SGX_PAGE_SIZE, (sizeof(struct sgx_encl_scratch) +
						      SGX_PAGE_SIZE - 1) & ~(SGX_PAGE_SIZE - 1));
	if (!encl->scratch) {
		free(encl);
		return NULL;
	}
	encl->platform = p;
	atomic_init(&encl->refcount, 1);
	pthread_mutex_init(&encl->lock, NULL);
	sgx_xa_init(&encl->page_array);
	sgx_xa_set_pool(&encl->page_array, &p->xa_node_pool);
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
	atomic_init(&encl->owner_pid, 0);
	atomic_init(&encl->owner_uid, -1);

	/* The opener's cgroup (the process's; attached: it cannot be removed meanwhile). */
	pthread_mutex_lock(&p->cg_lock);
	encl->epc_cg = p->current_cg;
	sgx_epc_cgroup_get(encl->epc_cg);
	sgx_epc_cgroup_attach(encl->epc_cg);
	pthread_mutex_unlock(&p->cg_lock);

	pthread_mutex_lock(&p->encl_list_lock);
	encl->list_id = ++p->next_encl_id;
	list_add_tail(&encl->platform_list, &p->encl_list);
	atomic_fetch_add(&p->nr_encls, 1);
	pthread_mutex_unlock(&p->encl_list_lock);
	return encl;
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

void sgx_encl_put_deferred(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_encl *head;

	if (atomic_fetch_sub(&encl->refcount, 1) != 1)
		return;
	head = atomic_load(&p->release_list);
	do {
		encl->release_next = head;
	} while (!atomic_compare_exchange_weak(&p->release_list, &head, encl));
	sgx_wake_ksgxd(p);
}

void sgx_release_deferred(struct sgx_platform *p)
{
	struct sgx_encl *encl = atomic_exchange(&p->release_list, NULL);

	while (encl) {
		struct sgx_encl *next = encl->release_next;

		sgx_encl_release(encl);
		encl = next;
	}
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
			sgx_encl_page_free(encl, entry);
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
		sgx_pool_free(&p->va_page_pool, va_page);
	}

	sgx_encl_backing_fini(encl);
	/* After every EREMOVE above: no frame is aliased into the view any more. */
	sgx_encl_window_destroy(encl);
	if (!list_empty(&encl->windows))
		SGX_WARN("enclave released with windows mapped");
	if (!list_empty(&encl->mm_list))
		SGX_WARN("enclave released with address spaces attached");
	if (encl->secs_child_cnt || encl->secs.epc_page)
		SGX_WARN("enclave released with %u children / SECS present", encl->secs_child_cnt);

	/* Every page is uncharged by now. */
	sgx_epc_cgroup_detach(encl->epc_cg);
	sgx_epc_cgroup_put(encl->epc_cg);
	encl->epc_cg = NULL;

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

/* From the platform's pool (pool.h): EAUG allocates in the fault path. */
struct sgx_encl_page *sgx_encl_page_alloc(struct sgx_encl *encl, unsigned long offset,
					  uint64_t secinfo_flags)
{
	struct sgx_encl_page *encl_page = sgx_pool_zalloc(&encl->platform->encl_page_pool);
	unsigned long prot;

	if (!encl_page)
		return NULL;
	encl_page->desc = encl->base + offset;
	encl_page->encl = encl;
	prot = secinfo_flags & SGX_SECINFO_PERMISSION_MASK;	/* R/W/X == VM_READ/WRITE/EXEC */
	/* The CPU gives a TCS no permissions at all (and the ioctl demands 0). */
	encl_page->epcm_perm = (uint8_t)prot;
	if ((secinfo_flags & SGX_SECINFO_PAGE_TYPE_MASK) == SGX_SECINFO_TCS)
		prot |= VM_READ | VM_WRITE;
	encl_page->vm_max_prot_bits = prot;
	return encl_page;
}

void sgx_encl_page_free(struct sgx_encl *encl, struct sgx_encl_page *page)
{
	sgx_pool_free(&encl->platform->encl_page_pool, page);
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

	/* v4: a VA page's owner is the enclave, so that the OOM scan finds its victim. */
	epc_page = sgx_encl_alloc_epc_page(encl, encl, reclaim);
	if (IS_ERR(epc_page))
		return epc_page;
	epc_page->flags |= SGX_EPC_PAGE_OWNER_ENCL;
	ret = __epa(p->cpu, sgx_get_epc_virt_addr(p, epc_page));
	if (ret) {
		SGX_WARN("EPA returned %d", ret);
		sgx_encl_free_epc_page(p, epc_page);
		return ERR_PTR(-EFAULT);
	}
	sgx_record_page_unreclaimable(p, epc_page);
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

		va_page = sgx_pool_zalloc(&encl->platform->va_page_pool);
		if (!va_page)
			return ERR_PTR(-ENOMEM);
		va_page->epc_page = sgx_alloc_va_page(encl, reclaim);
		if (IS_ERR(va_page->epc_page)) {
			err = va_page->epc_page;
			sgx_pool_free(&encl->platform->va_page_pool, va_page);
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
		sgx_pool_free(&encl->platform->va_page_pool, va_page);
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

int sgx_encl_backing_init(struct sgx_encl *encl, uint64_t secs_size)
{
	/* The extra page holds the SECS; E/32 more for the PCMDs. */
	uint64_t encl_size = secs_size + SGX_PAGE_SIZE;
	uint64_t backing_size = encl_size + (encl_size >> 5);
	uint64_t nr_pcmd = ((PFN_DOWN(secs_size) + 1) * sizeof(struct sgx_pcmd) +
			    SGX_PAGE_SIZE - 1) >> SGX_PAGE_SHIFT;
	uint64_t nr_backing, trunc_cap;
	void *map;
	int fd, ret;

	if (encl_size < secs_size || backing_size > (uint64_t)INT64_MAX)
		return -EINVAL;
	fd = memfd_create("SGX backing", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)backing_size)) {
		ret = errno == EFBIG ? -EINVAL : -errno;
		goto err_fd;
	}
	map = mmap(NULL, backing_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (map == MAP_FAILED) {
		ret = -ENOMEM;
		goto err_fd;
	}
	nr_backing = (backing_size + SGX_PAGE_SIZE - 1) >> SGX_PAGE_SHIFT;
	/*
	 * See "Truncation": live entries are pages resident now (at most the
	 * EPC's frames); the other half is room for stale entries.
	 */
	trunc_cap = 2 * encl->platform->nr_total_pages;
	if (trunc_cap < 4 * SGX_NR_TO_SCAN)
		trunc_cap = 4 * SGX_NR_TO_SCAN;
	if (trunc_cap > nr_backing)
		trunc_cap = nr_backing;
	encl->pcmd_used = calloc(nr_pcmd, sizeof(*encl->pcmd_used));
	encl->trunc_ring = calloc(trunc_cap, sizeof(*encl->trunc_ring));
	encl->trunc_map = calloc((nr_backing + 63) / 64, sizeof(*encl->trunc_map));
	if (!encl->pcmd_used || !encl->trunc_ring || !encl->trunc_map) {
		free(encl->pcmd_used);
		free(encl->trunc_ring);
		free(encl->trunc_map);
		encl->pcmd_used = NULL;
		encl->trunc_ring = NULL;
		encl->trunc_map = NULL;
		munmap(map, backing_size);
		ret = -ENOMEM;
		goto err_fd;
	}
	encl->backing = fd;
	encl->backing_map = map;
	encl->backing_size = backing_size;
	encl->pcmd_first = PFN_DOWN(secs_size + SGX_PAGE_SIZE);
	encl->nr_pcmd_pages = nr_pcmd;
	encl->trunc_cap = trunc_cap;
	encl->trunc_head = 0;
	encl->trunc_len = 0;
	return 0;
err_fd:
	close(fd);
	return ret;
}

void sgx_encl_backing_fini(struct sgx_encl *encl)
{
	if (encl->backing_map)
		munmap(encl->backing_map, encl->backing_size);
	if (encl->backing >= 0)
		close(encl->backing);
	free(encl->pcmd_used);
	free(encl->trunc_ring);
	free(encl->trunc_map);
	encl->backing_map = NULL;
	encl->pcmd_used = NULL;
	encl->trunc_ring = NULL;
	encl->trunc_map = NULL;
	encl->backing = -1;
}

static void backing_offsets(struct sgx_encl *encl, unsigned long page_index,
			    struct sgx_backing *backing)
{
	uint64_t pcmd_off = encl->size + SGX_PAGE_SIZE + page_index * sizeof(struct sgx_pcmd);

	backing->page_index = page_index;
	backing->pcmd_index = pcmd_off >> SGX_PAGE_SHIFT;
	backing->pcmd_offset = pcmd_off & (SGX_PAGE_SIZE - 1);
}

/*
 * Reclaimer side. The shmem pages are allocated when EWB's output is stored
 * through the mapping; nothing can fail before that, so this only computes
 * the layout.
 */
int sgx_encl_alloc_backing(struct sgx_encl *encl, unsigned long page_index,
			   struct sgx_backing *backing)
{
	if (!encl->backing_map)
		return -ENOMEM;
	backing_offsets(encl, page_index, backing);
	return 0;
}

void sgx_encl_lookup_backing(struct sgx_encl *encl, unsigned long page_index,
			     struct sgx_backing *backing)
{
	backing_offsets(encl, page_index, backing);
}

static void *backing_page(struct sgx_encl *encl, unsigned long index)
{
	return encl->backing_map + ((uint64_t)index << SGX_PAGE_SHIFT);
}

static struct sgx_pcmd *backing_pcmd(struct sgx_encl *encl, struct sgx_backing *b)
{
	return (struct sgx_pcmd *)((uint8_t *)backing_page(encl, b->pcmd_index) + b->pcmd_offset);
}

static uint16_t *pcmd_use(struct sgx_encl *encl, struct sgx_backing *b)
{
	return &encl->pcmd_used[b->pcmd_index - encl->pcmd_first];
}

/*
 * Truncation. ELDU consumes a contents page (and maybe the last PCMD of a
 * PCMD page), which the kernel truncates at once. Here consumed pages are
 * marked in trunc_map and queued in a FIFO ring, and punched when the ring
 * is full, the oldest SGX_NR_TO_SCAN at a time, adjacent ones in one
 * fallocate() call: like a swap slot that stays allocated while its page is
 * in the swap cache. The ring holds as many pages as the EPC has frames, so
 * the backing copies kept this way belong to pages that are resident now or
 * were until recently: the extra memory is bounded by the EPC size. When
 * such a page is evicted again, EWB finds its backing page still there and
 * takes it off the list (sgx_encl_untruncate(): its ring entry goes stale),
 * which saves allocating, zeroing and freeing a page per swap. A PCMD page
 * is punched only if its use count is zero at that time. A punch never
 * destroys live data: only pages whose bit is still set go, under
 * encl->lock, which EWB holds while it stores.
 *
 * Why no check for a reclaimer about to write a PCMD (the kernel's
 * reclaimer_writing_to_pcmd()): the kernel pins the backing pages before it
 * takes encl->lock for EWB, so a truncation in between would orphan the
 * pinned page and lose the PCMD. Here EWB stores through the mapping with
 * encl->lock held; a page punched before that is simply allocated afresh.
 */
static bool trunc_test(struct sgx_encl *encl, unsigned long index)
{
	return __atomic_load_n(&encl->trunc_map[index / 64], __ATOMIC_RELAXED) &
	       (1UL << (index % 64));
}

static void trunc_set(struct sgx_encl *encl, unsigned long index, bool on)
{
	if (on)
		__atomic_fetch_or(&encl->trunc_map[index / 64], 1UL << (index % 64),
				  __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&encl->trunc_map[index / 64], ~(1UL << (index % 64)),
				   __ATOMIC_RELAXED);
}

/* Punch the oldest 'n' queued pages that are still consumed. encl->lock held. */
static void truncate_oldest(struct sgx_encl *encl, unsigned long n)
{
	unsigned long idx[SGX_NR_TO_SCAN];
	unsigned int i, j, cnt = 0;

	while (n-- && encl->trunc_len) {
		unsigned long index = encl->trunc_ring[encl->trunc_head];

		encl->trunc_head = (encl->trunc_head + 1) % encl->trunc_cap;
		encl->trunc_len--;
		if (!trunc_test(encl, index))
			continue;	/* written again since: stale entry */
		/* A PCMD page that got a new PCMD since it was queued stays. */
		if (index >= encl->pcmd_first && encl->pcmd_used[index - encl->pcmd_first])
			continue;
		trunc_set(encl, index, false);
		idx[cnt++] = index;
		if (cnt == SGX_NR_TO_SCAN)
			break;
	}
	for (i = 1; i < cnt; i++) {	/* insertion sort (no qsort: signal context) */
		unsigned long v = idx[i];

		for (j = i; j > 0 && idx[j - 1] > v; j--)
			idx[j] = idx[j - 1];
		idx[j] = v;
	}
	for (i = 0; i < cnt; i = j) {
		for (j = i + 1; j < cnt && idx[j] == idx[j - 1] + 1; j++)
			;
		fallocate(encl->backing, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(idx[i] << SGX_PAGE_SHIFT),
			  (off_t)((unsigned long)(j - i) << SGX_PAGE_SHIFT));
	}
}

/* Punch every consumed page now (tests, and whoever wants the memory back). */
void sgx_encl_truncate_backing(struct sgx_encl *encl)
{
	while (encl->trunc_len)
		truncate_oldest(encl, SGX_NR_TO_SCAN);
}

/*
 * Reclaimer, before it takes encl->lock for a batch: allocate the contents
 * pages EWB will seal into, adjacent ones with one MADV_POPULATE_WRITE,
 * instead of one page fault each while faults wait for the lock. Only an
 * optimisation: a page truncated meanwhile is faulted in by EWB. Pages
 * still held by the lazy truncation are skipped (a racy hint: no lock).
 * The indices are sorted in place.
 */
void sgx_encl_prefault_backing(struct sgx_encl *encl, unsigned long *index, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++) {
		unsigned long v = index[i];

		for (j = i; j > 0 && index[j - 1] > v; j--)
			index[j] = index[j - 1];
		index[j] = v;
	}
	for (i = 0; i < n; i = j) {
		/* Still allocated (consumed, not punched yet): nothing to do. */
		if (trunc_test(encl, index[i])) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && index[j] == index[j - 1] + 1 &&
		     !trunc_test(encl, index[j]); j++)
			;
		madvise(backing_page(encl, index[i]), (size_t)(j - i) << SGX_PAGE_SHIFT,
			MADV_POPULATE_WRITE);
	}
}

static void queue_truncate(struct sgx_encl *encl, unsigned long index)
{
	if (trunc_test(encl, index))
		return;
	if (encl->trunc_len == encl->trunc_cap)
		truncate_oldest(encl, SGX_NR_TO_SCAN);
	if (encl->trunc_len == encl->trunc_cap)
		return;	/* every entry was a live PCMD page: keep this one */
	trunc_set(encl, index, true);
	encl->trunc_ring[(encl->trunc_head + encl->trunc_len) % encl->trunc_cap] = index;
	encl->trunc_len++;
}

/* EWB is about to store at index: it must not be punched any more. */
static void sgx_encl_untruncate(struct sgx_encl *encl, unsigned long index)
{
	trunc_set(encl, index, false);
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

void sgx_encl_ipi(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;

	if (!encl->secs.epc_page)
		return;
	sgx_cpu_for_each_lp_in(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page), sgx_ipi_cb, p);
}

/* EWB seals straight into the backing store (the kernel's kmap of the shmem pages). */
static int __sgx_encl_ewb(struct sgx_encl *encl, struct sgx_epc_page *epc_page, void *va_slot,
			  struct sgx_backing *backing)
{
	struct sgx_pageinfo pginfo = {
		.addr = 0,
		.contents = SGX_CPU_PTR(backing_page(encl, backing->page_index)),
		.metadata = SGX_CPU_PTR(backing_pcmd(encl, backing)),
		.secs = 0,
	};

	return __ewb(encl->platform->cpu, &pginfo, sgx_epc_addr(encl, epc_page), va_slot);
}

/*
 * The kernel's slow path: on_each_cpu_mask(..., wait=1) returns when every
 * CPU that was in the enclave has taken the IPI, i.e. has exited, so the
 * EWB after it cannot see SGX_NOT_TRACKED. Here the IPI is a signal to the
 * LP's thread and returns at once; the thread leaves when it is scheduled.
 * So: kick, then retry the EWB (which changes nothing when it answers
 * SGX_NOT_TRACKED) until the threads that were inside at the ETRACK have
 * left, re-kicking now and then; an ETRACK that found the previous epoch
 * incomplete (SGX_PREV_TRK_INCMPL: a thread of it was still inside) is
 * redone once that epoch ends. Bounded (SGX_IPI_WAIT_NS) in case a thread
 * cannot be kicked (blocked with the kick signal masked); the page is then
 * lost as a failed EWB loses it in the kernel, with a warning.
 */
#define SGX_IPI_WAIT_NS		(10ULL * 1000 * 1000 * 1000)

static int sgx_encl_ewb_after_ipi(struct sgx_encl *encl, struct sgx_epc_page *epc_page,
				  void *va_slot, struct sgx_backing *backing, bool tracked)
{
	struct sgx_platform *p = encl->platform;
	uint64_t start = sgx_now_ns();
	unsigned int i;
	int ret = SGX_NOT_TRACKED;

	for (i = 0; ret == SGX_NOT_TRACKED; i++) {
		if (i % 64 == 0)
			sgx_encl_ipi(encl);
		if (!p->ops.ipi || sgx_now_ns() - start > SGX_IPI_WAIT_NS)
			break;	/* nobody can force them out */
		if (i < 256) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 50 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (!tracked)
			tracked = !__etrack(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page));
		if (tracked)
			ret = __sgx_encl_ewb(encl, epc_page, va_slot, backing);
	}
	if (!tracked)
		SGX_WARN("ETRACK did not complete: a thread stayed in the enclave");
	return ret;
}

int sgx_encl_ewb(struct sgx_epc_page *epc_page, struct sgx_backing *backing)
{
	struct sgx_encl_page *encl_page = epc_page->owner;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_platform *p = encl->platform;
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

	/* Pages about to be written must not be punched by a pending truncation. */
	sgx_encl_untruncate(encl, backing->page_index);
	sgx_encl_untruncate(encl, backing->pcmd_index);

	ret = __sgx_encl_ewb(encl, epc_page, va_slot, backing);
	if (ret == SGX_NOT_TRACKED) {
		bool tracked = !__etrack(p->cpu, sgx_epc_addr(encl, encl->secs.epc_page));

		ret = __sgx_encl_ewb(encl, epc_page, va_slot, backing);
		if (ret == SGX_NOT_TRACKED) {
			/* The LP set is taken after the ETRACK, so late entrants are covered. */
			atomic_fetch_add(&p->stats.not_tracked_ipis, 1);
			ret = sgx_encl_ewb_after_ipi(encl, epc_page, va_slot, backing, tracked);
		}
	}

	if (ret) {
		if (encls_failed(ret))
			SGX_WARN("EWB returned %d (%s): enclave page contents lost", ret,
				 sgx_status_name(ret));
		atomic_fetch_add(&p->stats.ewb_lost, 1);
		sgx_free_va_slot(va_page, va_offset);
		/* Nothing stored: whatever the attempt allocated goes again. */
		queue_truncate(encl, backing->page_index);
		if (!*pcmd_use(encl, backing))
			queue_truncate(encl, backing->pcmd_index);
		return ret;
	}

	(*pcmd_use(encl, backing))++;
	encl_page->desc |= va_offset;
	encl_page->va_page = va_page;
	atomic_fetch_add(&p->stats.ewb, 1);
	atomic_fetch_add(&encl->stats.ewb, 1);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * ELDU (encl->lock held)
 */

static int __sgx_encl_eldu(struct sgx_encl_page *encl_page, struct sgx_epc_page *epc_page,
			   struct sgx_epc_page *secs_page)
{
	unsigned long va_offset = encl_page->desc & SGX_ENCL_PAGE_VA_OFFSET_MASK;
	struct sgx_encl *encl = encl_page->encl;
	struct sgx_platform *p = encl->platform;
	unsigned long page_index = sgx_encl_page_index(encl_page);
	struct sgx_pageinfo pginfo;
	struct sgx_backing b;
	struct sgx_pcmd *pcmd;
	uint16_t *use;
	int ret;

	sgx_encl_lookup_backing(encl, page_index, &b);
	pcmd = backing_pcmd(encl, &b);
	use = pcmd_use(encl, &b);

	pginfo.addr = secs_page ? (encl_page->desc & SGX_ENCL_PAGE_ADDR_MASK) : 0;
	pginfo.contents = SGX_CPU_PTR(backing_page(encl, page_index));
	pginfo.metadata = SGX_CPU_PTR(pcmd);
	pginfo.secs = secs_page ? SGX_CPU_PTR(sgx_epc_addr(encl, secs_page)) : 0;

	ret = __eldu(p->cpu, &pginfo, sgx_epc_addr(encl, epc_page),
		     (char *)sgx_epc_addr(encl, encl_page->va_page->epc_page) + va_offset);
	if (ret) {
		if (encls_failed(ret))
			SGX_WARN("ELDU returned %d (%s)", ret, sgx_status_name(ret));
		ret = -EFAULT;
	}

	/* Success or not, the backing copy is consumed: zero the PCMD, drop the page. */
	memset(pcmd, 0, sizeof(*pcmd));
	if (*use)
		(*use)--;
	queue_truncate(encl, page_index);
	if (!*use)
		queue_truncate(encl, b.pcmd_index);
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

	/* A victim of the OOM path gets nothing back (v4). */
	if (sgx_encl_no_memory(encl))
		return ERR_PTR(-ENOMEM);
	epc_page = sgx_encl_alloc_epc_page(encl, encl_page, false);
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
	sgx_record_page_unreclaimable(encl->platform, epc_page);
	atomic_fetch_add(&encl->platform->stats.secs_eldu, 1);
	return 0;
}

static struct sgx_encl_page *__sgx_encl_load_page(struct sgx_encl *encl,
						  struct sgx_encl_page *entry)
{
	struct sgx_epc_page *epc_page;
	int ret;

	/* An OOM victim's pages are gone for its users (zapped), resident or not. */
	if (sgx_encl_no_memory(encl))
		return ERR_PTR(-ENOMEM);
	if (entry->epc_page) {
		if (entry->desc & SGX_ENCL_PAGE_BEING_RECLAIMED)
			return ERR_PTR(-EBUSY);
		return entry;
	}
	if (entry->punch_pending)
		return ERR_PTR(-EBUSY);

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
	if (sgx_encl_no_memory(encl))
		return -ENOMEM;

	/* Dynamic pages ignore the driver's permission tracking: RWX. */
	encl_page = sgx_encl_page_alloc(encl, (addr & SGX_ENCL_PAGE_ADDR_MASK) - encl->base,
					SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X);
	if (!encl_page)
		return -ENOMEM;

	pthread_mutex_lock(&encl->lock);

	/* Under the lock: the OOM path marks, then unaliases under it. */
	if (sgx_encl_no_memory(encl)) {
		ret = -ENOMEM;
		goto err_out_unlock;
	}
	ret = sgx_encl_load_secs(encl);
	if (ret) {
		ret = ret == -EBUSY ? -EBUSY : -EFAULT;
		goto err_out_unlock;
	}

	epc_page = sgx_encl_alloc_epc_page(encl, encl_page, false);
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
	/* EAUG makes a RW page (PENDING); EMODPE inside the enclave may add X later. */
	encl_page->epcm_perm = SGX_SECINFO_R | SGX_SECINFO_W;
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
	sgx_encl_page_free(encl, encl_page);
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

	/* v4's sgx_vma_access() on an OOM victim. */
	if (sgx_encl_no_memory(encl))
		return -EFAULT;

	atomic_fetch_add(&p->stats.faults, 1);
	atomic_fetch_add(&encl->stats.faults, 1);
	for (tries = 0; tries < 64; tries++) {
		ret = __sgx_encl_access(encl, addr, buf, len, write);
		if (ret != -EBUSY)
			break;
		/* Out of EPC, or at the cgroup's limit (the worker is queued too). */
		sgx_encl_reclaim_direct(encl, false);
		sched_yield();
	}
	if (ret && sgx_encl_no_memory(encl))
		ret = -EFAULT;
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

	/* v4: no new mapping of an OOM victim (checked again under mm_lock). */
	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	encl_mm = calloc(1, sizeof(*encl_mm));
	if (!encl_mm)
		return -ENOMEM;
	encl_mm->encl = encl;
	encl_mm->mm = mm;
	sgx_encl_get_ref(encl);

	pthread_mutex_lock(&encl->mm_lock);
	/* The OOM path marks first and drains under mm_lock: nothing slips in after. */
	if (sgx_encl_no_memory(encl)) {
		pthread_mutex_unlock(&encl->mm_lock);
		free(encl_mm);
		sgx_encl_put(encl);
		return -ENOMEM;
	}
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

void sgx_encl_mm_drain(struct sgx_encl *encl)
{
	for (;;) {
		struct sgx_encl_mm *encl_mm;
		void *mm;

		pthread_mutex_lock(&encl->mm_lock);
		if (list_empty(&encl->mm_list)) {
			pthread_mutex_unlock(&encl->mm_lock);
			break;
		}
		encl_mm = list_first_entry(&encl->mm_list, struct sgx_encl_mm, list);
		mm = encl_mm->mm;
		pthread_mutex_unlock(&encl->mm_lock);
		sgx_encl_mm_remove(encl, mm);
	}
}

/* ---------------------------------------------------------------------------------------------
 * EPC cgroups: the enclave's cgroup, direct reclaim for it, and the v4 OOM action
 */

int sgx_encl_set_cgroup(struct sgx_encl *encl, const char *path)
{
	struct sgx_epc_cgroup *cg, *old;
	int ret;

	if (!encl || !path)
		return -EINVAL;
	cg = sgx_epc_cgroup_lookup(encl->platform->cg_tree, path);
	if (IS_ERR(cg))
		return (int)PTR_ERR(cg);
	ret = sgx_epc_cgroup_attach(cg);
	if (ret) {
		sgx_epc_cgroup_put(cg);
		return ret;
	}
	/* The ioctl bit keeps ECREATE (the first charge) out meanwhile. */
	if (encl_test_and_set_flag(encl, SGX_ENCL_IOCTL)) {
		ret = -EBUSY;
		goto err;
	}
	if (encl_test_flag(encl, SGX_ENCL_CREATED) || encl->page_cnt ||
	    !list_empty(&encl->va_pages)) {
		encl_clear_flag(encl, SGX_ENCL_IOCTL);
		ret = -EBUSY;
		goto err;
	}
	/* Under lock: a lister (sgx_platform_for_each_encl) names the cgroup under it. */
	pthread_mutex_lock(&encl->lock);
	old = encl->epc_cg;
	encl->epc_cg = cg;
	pthread_mutex_unlock(&encl->lock);
	encl_clear_flag(encl, SGX_ENCL_IOCTL);
	sgx_epc_cgroup_detach(old);
	sgx_epc_cgroup_put(old);
	return 0;
err:
	sgx_epc_cgroup_detach(cg);
	sgx_epc_cgroup_put(cg);
	return ret;
}

void sgx_encl_reclaim_direct(struct sgx_encl *encl, bool in_fault)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_epc_cgroup *cg;

	/* The cgroup chain is pinned by the enclave's reference. */
	for (cg = encl->epc_cg; cg; cg = cg->parent) {
		if (sgx_epc_cgroup_should_reclaim(cg)) {
			sgx_reclaim_subtree(p, cg, SGX_NR_TO_SCAN, in_fault);
			break;
		}
	}
	__sgx_reclaim_direct(p, in_fault);
}

/* Under an LRU lock: atomics only. */
void *sgx_epc_page_get_encl(struct sgx_epc_page *page)
{
	struct sgx_encl *encl;

	if (page->flags & SGX_EPC_PAGE_OWNER_ENCL) {
		encl = page->owner;
	} else {
		struct sgx_encl_page *encl_page = page->owner;

		if (!encl_page)
			return NULL;
		encl = encl_page->encl;
	}
	return encl && sgx_encl_get(encl) ? encl : NULL;
}

/*
 * The EPC frames of resident pages live in the window memfd (aliased to it,
 * see window.h). Before the memfd is truncated, every alias goes home, so
 * that the reclaimers still holding the victim's pages (EWB), and release
 * (EREMOVE), find the bytes where the CPU reads them. encl->lock held.
 */
static void sgx_encl_unalias_all(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_page *entry;
	unsigned long index, last;

	if (!encl->view || !encl->size)
		return;
	index = PFN_DOWN(encl->base);
	last = PFN_DOWN(encl->base + encl->size - 1);
	while ((entry = sgx_xa_find(&encl->page_array, &index, last))) {
		if (entry->epc_page && sgx_encl_window_installed(encl, entry)) {
			void *epc = sgx_epc_addr(encl, entry->epc_page);
			int tries;

			/* -EBUSY: a leaf (enclave code's ENCLU) holds the frame for a moment. */
			for (tries = 0; sgx_epc_alias(p->cpu, epc, NULL) == -EBUSY && tries < 100000;
			     tries++)
				sched_yield();
		}
		index++;
	}
}

/*
 * v4's sgx_oom_encl() (called by the controller with a reference held and
 * no lock): mark the enclave, take its memory away from every mapping, drain
 * its address spaces; free nothing. The pages go with the last reference
 * (the fd and the mappings' file references, and reclaimers that still hold
 * some of its pages and need its backing, VA pages and SECS).
 *
 * The kernel zaps the PTEs of every VMA. Here a mapping is a view of the
 * enclave's window memfd, so the memfd is truncated: every later access, in
 * every process, faults with SIGBUS, which the fault path (seeing the mark)
 * does not resolve. The resident frames' bytes are first moved back home
 * (sgx_encl_unalias_all()). This takes encl->lock, which v3 dropped from the
 * kernel's OOM path for lockdep reasons that do not apply here: the worker
 * that calls it holds no lock, and nothing that holds encl->lock waits for
 * the worker.
 */
enum sgx_epc_oom_result sgx_encl_oom(struct sgx_encl *encl)
{
	if (!encl_test_flag(encl, SGX_ENCL_CREATED))
		return SGX_EPC_OOM_SKIPPED;
	if (encl_test_and_set_flag(encl, SGX_ENCL_NO_MEMORY))
		return SGX_EPC_OOM_DRAINING;

	sgx_mutex_lock(&encl->lock);
	sgx_encl_unalias_all(encl);
	sgx_encl_window_truncate(encl);
	pthread_mutex_unlock(&encl->lock);

	sgx_encl_mm_drain(encl);
	return SGX_EPC_OOM_KILLED;
}

/* SPDX-License-Identifier: MIT */
/*
 * The enclave object (the kernel's encl.h): enclave pages, VA pages, the
 * backing store and the list of address spaces that map the enclave.
 */
#ifndef SGXEMU_SGX_ENCL_H
#define SGXEMU_SGX_ENCL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sgx/epc_cgroup.h"
#include "sgx/list.h"
#include "sgx/page_array.h"
#include "sgx/sgx.h"

/* encl_page->desc: linear address | VA slot offset (evicted) | BEING_RECLAIMED (resident) */
#define SGX_ENCL_PAGE_VA_OFFSET_MASK	0xFF8UL		/* bits 11:3 */
#define SGX_ENCL_PAGE_BEING_RECLAIMED	(1UL << 3)
#define SGX_ENCL_PAGE_ADDR_MASK		(~0xFFFUL)

/* Per-page maximum permissions (the kernel's VM_READ/VM_WRITE/VM_EXEC). */
#define VM_READ		0x1UL
#define VM_WRITE	0x2UL
#define VM_EXEC		0x4UL

#define PFN_DOWN(x)	((unsigned long)(x) >> 12)

struct sgx_encl;

struct sgx_va_page {
	struct sgx_epc_page *epc_page;
	uint64_t slots[SGX_VA_SLOT_COUNT / 64];
	struct list_head list;
};

struct sgx_encl_page {
	unsigned long desc;
	unsigned long vm_max_prot_bits;
	enum sgx_page_type type;
	/*
	 * What the manager knows of the page's EPCM permissions (SGX_SECINFO_R|W|X):
	 * set by EADD/EAUG, narrowed by EMODPR, refreshed from the EPCM by the
	 * protection fixup (EMODPE inside the enclave widens the EPCM without
	 * telling anybody, so this is never wider than the EPCM, maybe narrower).
	 * Under encl->lock. The window protection follows it (window.c).
	 */
	uint8_t epcm_perm;
	struct sgx_epc_page *epc_page;
	struct sgx_encl *encl;
	struct sgx_va_page *va_page;
	/*
	 * Software accessed bit (no hardware A bit to test): set on every load
	 * and access notification, test-and-cleared by the reclaimer's aging.
	 */
	atomic_bool young;
	/*
	 * Written back (EWB done, epc_page NULL) but still in the memfd: the
	 * reclaimer punches its batch with one call after EWB-ing the pages
	 * one encl->lock hold each. A load must wait (-EBUSY) until it is
	 * gone, or its UFFDIO_COPY would meet the stale page. Under encl->lock.
	 */
	bool punch_pending;
};

enum sgx_encl_flags {
	SGX_ENCL_IOCTL		= 1UL << 0,
	SGX_ENCL_DEBUG		= 1UL << 1,
	SGX_ENCL_CREATED	= 1UL << 2,
	SGX_ENCL_INITIALIZED	= 1UL << 3,
	/*
	 * v5's OOM mark (v4: SGX_ENCL_OOM): the EPC cgroup controller chose
	 * the enclave as a victim. No EPC page any more (faults SIGBUS, no
	 * ELDU, no EAUG), no new mapping, its ioctls -ENOMEM; its pages go
	 * when its last reference does.
	 */
	SGX_ENCL_NO_MEMORY	= 1UL << 4,
};

/* One address space (process view) mapping the enclave: the kernel's sgx_encl_mm. */
struct sgx_encl_mm {
	struct sgx_encl *encl;
	void *mm;
	struct list_head list;
};

struct sgx_encl {
	struct sgx_platform *platform;
	unsigned long base;
	unsigned long size;
	atomic_ulong flags;
	unsigned int page_cnt;
	unsigned int secs_child_cnt;
	pthread_mutex_t lock;
	struct sgx_xarray page_array;
	struct sgx_encl_page secs;
	uint64_t attributes;
	uint64_t attributes_mask;
	void *scratch;			/* EWB/ELDU/EADD buffers, under lock */
	int backing;			/* memfd "SGX backing", -1 before ECREATE */
	/*
	 * The backing store (encl.c, "Backing store"): the memfd mapped whole,
	 * so that EWB seals straight into it and ELDU opens straight from it;
	 * a use count per PCMD page instead of the kernel's zero scan; and the
	 * backing pages ELDU consumed, truncated lazily (encl.c). Under lock;
	 * trunc_map is also read without it, as a hint, with atomic loads.
	 */
	uint8_t *backing_map;
	unsigned long backing_size;
	uint16_t *pcmd_used;		/* per PCMD page: PCMDs holding an evicted page */
	unsigned long pcmd_first;	/* backing page index of the first PCMD page */
	unsigned long nr_pcmd_pages;
	/* Consumed backing pages waiting for the punch: a FIFO ring and a bitmap. */
	unsigned long *trunc_ring;
	unsigned long trunc_cap, trunc_head, trunc_len;
	unsigned long *trunc_map;	/* bit per backing page: consumed, still allocated */
	atomic_long refcount;
	struct list_head va_pages;
	unsigned long nr_va_pages;	/* under lock */
	unsigned long nr_evicted;	/* under lock: pages with contents in backing */

	/* mm_list: writers under mm_lock, readers under the srcu read lock. */
	unsigned long mm_list_version;
	struct list_head mm_list;
	pthread_mutex_t mm_lock;
	pthread_rwlock_t srcu;

	/*
	 * The EPC cgroup every page of the enclave is charged to (SECS, VA,
	 * REG, TCS): the opener's cgroup, recorded at open (or set before
	 * ECREATE). Referenced and attached until release. Changed only
	 * before ECREATE, under lock (so a lister reading it under lock
	 * names a live cgroup); the enclave's own paths read it without.
	 */
	struct sgx_epc_cgroup *epc_cg;

	struct list_head platform_list;	/* on platform->encl_list */
	/*
	 * The monitor's name for the enclave (sgx_platform_for_each_encl):
	 * unique, increasing in encl_list order, so a lister can page by
	 * "every enclave after id N". Set under encl_list_lock, then constant.
	 */
	uint64_t list_id;
	/*
	 * Who holds the enclave's file, for the monitor: the daemon's process
	 * connection (pid, uid), set when it opens the enclave; the pid goes
	 * to 0 when it releases its handle (the enclave may live on in
	 * mappings or while it drains), the uid stays, so that listings can
	 * still be filtered by user. Plain values, not a pointer to the
	 * connection: a connection ending concurrently leaves nothing
	 * dangling. Atomics: written by the file's holder, read by listers.
	 */
	atomic_int owner_pid;		/* 0: none (embedded mode, or the file is gone) */
	atomic_long owner_uid;		/* -1: unknown */
	struct sgx_encl *release_next;	/* on platform->release_list */

	/*
	 * The enclave's window (window.c): a memfd the size of ELRANGE whose
	 * page at (addr - base) is the enclave page at addr while it is
	 * resident, and the platform's own MAP_SHARED view of all of it, where
	 * the CPU's aliases of REG/TCS frames point. 'windows' lists the user
	 * mappings (struct sgx_window) with the same locking as mm_list.
	 * 'file_refs' is the struct file's count: the fd plus one per user
	 * mapping, so that close() while mapped releases at the last munmap.
	 */
	int window_fd;			/* -1: no window; sealed against resizing */
	char *view;			/* registered on the platform's uffd: UFFDIO_COPY only */
	char *alias_view;		/* the same memfd, unregistered: where aliases point */
	unsigned long view_size;
	struct list_head windows;
	atomic_long file_refs;

	struct {
		atomic_ulong ewb, eldu, eaug, faults;
	} stats;
};

/* Kernel-style bit helpers on encl->flags. */
static inline bool encl_test_and_set_flag(struct sgx_encl *encl, unsigned long f)
{
	return atomic_fetch_or(&encl->flags, f) & f;
}

static inline void encl_clear_flag(struct sgx_encl *encl, unsigned long f)
{
	atomic_fetch_and(&encl->flags, ~f);
}

static inline void encl_set_flag(struct sgx_encl *encl, unsigned long f)
{
	atomic_fetch_or(&encl->flags, f);
}

static inline bool encl_test_flag(struct sgx_encl *encl, unsigned long f)
{
	return atomic_load(&encl->flags) & f;
}

struct sgx_backing {
	unsigned long page_index;
	unsigned long pcmd_index;	/* backing page that holds the PCMD */
	unsigned long pcmd_offset;	/* byte offset in that page */
};

/* encl.c */
struct sgx_encl *sgx_encl_alloc(struct sgx_platform *p);
bool sgx_encl_get(struct sgx_encl *encl);	/* kref_get_unless_zero */
void sgx_encl_get_ref(struct sgx_encl *encl);	/* kref_get */
void sgx_encl_put(struct sgx_encl *encl);	/* kref_put(sgx_encl_release) */
/* kref_put() that queues the release for process context (async-signal-safe). */
void sgx_encl_put_deferred(struct sgx_encl *encl);
void sgx_encl_release(struct sgx_encl *encl);

struct sgx_encl_page *sgx_encl_page_alloc(struct sgx_encl *encl, unsigned long offset,
					  uint64_t secinfo_flags);
void sgx_encl_page_free(struct sgx_encl *encl, struct sgx_encl_page *page);
int sgx_encl_may_map(struct sgx_encl *encl, unsigned long start, unsigned long end,
		     unsigned long vm_flags);
struct sgx_encl_page *sgx_encl_load_page(struct sgx_encl *encl, unsigned long addr);
struct sgx_encl_page *sgx_encl_load_page_in_vma(struct sgx_encl *encl, unsigned long addr,
						unsigned long vm_prot_bits);
int sgx_encl_load_secs(struct sgx_encl *encl);
int sgx_encl_eaug_page(struct sgx_encl *encl, unsigned long addr);

int sgx_encl_backing_init(struct sgx_encl *encl, uint64_t secs_size);
void sgx_encl_backing_fini(struct sgx_encl *encl);
/* Punch the backing pages ELDU consumed (batched, see encl.c). encl->lock held. */
void sgx_encl_truncate_backing(struct sgx_encl *encl);
void sgx_encl_prefault_backing(struct sgx_encl *encl, unsigned long *index, unsigned int n);
int sgx_encl_alloc_backing(struct sgx_encl *encl, unsigned long page_index,
			   struct sgx_backing *backing);
void sgx_encl_lookup_backing(struct sgx_encl *encl, unsigned long page_index,
			     struct sgx_backing *backing);

struct sgx_va_page *sgx_encl_grow(struct sgx_encl *encl, bool reclaim);
void sgx_encl_shrink(struct sgx_encl *encl, struct sgx_va_page *va_page);
struct sgx_epc_page *sgx_alloc_va_page(struct sgx_encl *encl, bool reclaim);
unsigned int sgx_alloc_va_slot(struct sgx_va_page *va_page);
void sgx_free_va_slot(struct sgx_va_page *va_page, unsigned int offset);
bool sgx_va_page_full(struct sgx_va_page *va_page);
void sgx_encl_free_epc_page(struct sgx_platform *p, struct sgx_epc_page *page);

int sgx_encl_mm_add(struct sgx_encl *encl, void *mm);
void sgx_encl_mm_remove(struct sgx_encl *encl, void *mm);
/* Unlink every address space (each drops its enclave reference): release, OOM. */
void sgx_encl_mm_drain(struct sgx_encl *encl);

/* An EPC page charged to the enclave's cgroup. */
static inline struct sgx_epc_page *sgx_encl_alloc_epc_page(struct sgx_encl *encl, void *owner,
							   bool reclaim)
{
	return sgx_alloc_epc_page_cg(encl->platform, encl->epc_cg, owner, reclaim);
}
/*
 * Direct reclaim for an enclave's context: one batch from the subtree of
 * the lowest level of its cgroup chain that is at its limit (v16's
 * sgx_cgroup_reclaim_direct()), then the global one below the low watermark.
 */
void sgx_encl_reclaim_direct(struct sgx_encl *encl, bool in_fault);

/* The cgroup controller's ops (encl.c): the enclave behind a page, the v4 OOM action. */
void *sgx_epc_page_get_encl(struct sgx_epc_page *page);
enum sgx_epc_oom_result sgx_encl_oom(struct sgx_encl *encl);
static inline bool sgx_encl_no_memory(struct sgx_encl *encl)
{
	return encl_test_flag(encl, SGX_ENCL_NO_MEMORY);
}
void sgx_zap_enclave_ptes(struct sgx_encl *encl, unsigned long addr);
void sgx_zap_enclave_ptes_range(struct sgx_encl *encl, unsigned long addr, unsigned long npages);
void sgx_encl_ipi(struct sgx_encl *encl);

/* Reclaimer hooks implemented in encl.c (the enclave side of EWB). */
int sgx_encl_ewb(struct sgx_epc_page *epc_page, struct sgx_backing *backing);
bool sgx_encl_test_and_clear_young(struct sgx_encl_page *page);

static inline unsigned long sgx_encl_page_index(struct sgx_encl_page *page)
{
	struct sgx_encl *encl = page->encl;

	if (page == &encl->secs)
		return PFN_DOWN(encl->size);
	return PFN_DOWN((page->desc & SGX_ENCL_PAGE_ADDR_MASK) - encl->base);
}

static inline void *sgx_epc_addr(struct sgx_encl *encl, struct sgx_epc_page *page)
{
	return sgx_get_epc_virt_addr(encl->platform, page);
}

#endif /* SGXEMU_SGX_ENCL_H */

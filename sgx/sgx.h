/* SPDX-License-Identifier: MIT */
/*
 * The EPC manager's core: EPC page descriptors, sections, NUMA nodes and the
 * platform value that holds them (the kernel's arch/x86/kernel/cpu/sgx/sgx.h
 * plus the file-scope state of main.c, which here hangs off a struct
 * sgx_platform instead of being global).
 */
#ifndef SGXEMU_SGX_SGX_H
#define SGXEMU_SGX_SGX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "sgx/list.h"
#include "sgx/platform.h"
#include "sgx/pool.h"

#define SGX_NR_TO_SCAN		16
#define SGX_NR_LOW_PAGES	32
#define SGX_NR_HIGH_PAGES	64

/*
 * Page flags. TRACKED and CG_UNRECLAIMABLE belong to the EPC cgroup LRUs
 * (sgx/epc_cgroup_lru.c) and change under the page's LRU lock; IS_FREE under
 * the node lock; OWNER_ENCL is set once at allocation, before the page is
 * visible to anybody else.
 */
/* On its cgroup's reclaimable list, or isolated by a reclaimer (page->list empty). */
#define SGX_EPC_PAGE_RECLAIMER_TRACKED	(1u << 0)
#define SGX_EPC_PAGE_IS_FREE		(1u << 1)
/* Recorded on its cgroup's unreclaimable list (SECS, VA) for the OOM scan. */
#define SGX_EPC_PAGE_CG_UNRECLAIMABLE	(1u << 2)
/* 'owner' is the struct sgx_encl itself (VA pages; v4's SGX_EPC_OWNER_ENCL). */
#define SGX_EPC_PAGE_OWNER_ENCL		(1u << 3)

#define SGX_EINIT_SPIN_COUNT	20
#define SGX_EINIT_SLEEP_COUNT	50
#define SGX_EINIT_SLEEP_TIME	20	/* ms */

struct sgx_epc_cgroup;
struct sgx_epc_cg_tree;

/* The kernel's descriptor of one 4 KiB EPC frame. */
struct sgx_epc_page {
	unsigned int section;
	uint16_t flags;		/* see above */
	uint16_t poison;	/* under the node lock */
	/*
	 * struct sgx_encl_page * (REG, TCS, SECS: &encl->secs), the struct
	 * sgx_encl (VA pages, SGX_EPC_PAGE_OWNER_ENCL), NULL for free pages
	 * and pages allocated outside any enclave.
	 */
	void *owner;
	/* free/poison/dirty list, a cgroup LRU list, or none while isolated */
	struct list_head list;
	/* The cgroup charged for the page (holds a reference), NULL while free. */
	struct sgx_epc_cgroup *epc_cg;
};

struct sgx_numa_node {
	struct list_head free_page_list;
	struct list_head sgx_poison_page_list;
	uint64_t size;			/* bytes of EPC on this node */
	unsigned long nr_free;		/* length of free_page_list, under lock (stats only) */
	unsigned long nr_poison;	/* length of the poison list, under lock */
	pthread_mutex_t lock;
};

struct sgx_epc_section {
	uint64_t phys_addr;
	void *virt_addr;		/* sgx_cpu_memremap() of the section */
	uint64_t nr_pages;
	struct sgx_epc_page *pages;
	struct sgx_numa_node *node;
};

struct sgx_encl;

/* The platform: one emulated CPU and the EPC manager that drives it. */
struct sgx_platform {
	struct sgx_cpu *cpu;
	bool own_cpu;
	struct sgx_platform_ops ops;
	void *ops_arg;

	bool sgx2;
	uint64_t sgx_misc_reserved_mask;
	uint64_t sgx_attributes_reserved_mask;
	uint64_t sgx_xfrm_reserved_mask;

	struct sgx_epc_section sgx_epc_sections[SGX_MAX_EPC_SECTIONS];
	unsigned int sgx_nr_epc_sections;
	struct sgx_numa_node sgx_numa_nodes[SGX_MAX_EPC_SECTIONS];
	unsigned int nr_numa_nodes;	/* one node per section */
	uint64_t nr_total_pages;

	/*
	 * The global free count: only ever changed with atomic ops and never
	 * under a node lock (the Nov 2021 fix). Nothing else may write it.
	 */
	atomic_long sgx_nr_free_pages;
	/* Pages handed out by sgx_alloc_epc_page() and not freed yet (stats: peak). */
	atomic_long nr_used_pages;

	/* Pages waiting for sanitization; private to ksgxd (no lock), as in the kernel. */
	struct list_head sgx_dirty_page_list;

	/*
	 * The EPC cgroup tree (capacity = the whole EPC): every page is charged
	 * to a cgroup of it and sits on that cgroup's LRUs, which replace the
	 * kernel's global active list and sgx_reclaimer_lock. 'current_cg' is
	 * the calling process's cgroup (embedded: the platform's one process),
	 * referenced and attached; under cg_lock.
	 */
	struct sgx_epc_cg_tree *cg_tree;
	pthread_mutex_t cg_lock;
	struct sgx_epc_cgroup *current_cg;

	/* ksgxd and its wait queue. */
	pthread_t ksgxd_tsk;
	bool ksgxd_running;
	bool ksgxd_disabled;		/* config.no_ksgxd: sanitize at create, no thread */
	pthread_mutex_t ksgxd_lock;
	pthread_cond_t ksgxd_waitq;
	bool ksgxd_should_stop;		/* under ksgxd_lock */
	bool ksgxd_sanitized;		/* under ksgxd_lock */
	pthread_cond_t ksgxd_sanitized_cond;

	/* LEPUBKEYHASH MSR write + EINIT must not interleave (the kernel's preempt_disable). */
	pthread_mutex_t einit_lock;

	/* Enclaves whose last reference went in the fault path (a lock-free stack). */
	_Atomic(struct sgx_encl *) release_list;

	/*
	 * Every open enclave, for the leak check and the monitor. encl_list
	 * and next_encl_id under encl_list_lock, which nests inside no other
	 * lock and holds none inside it (listers only take references under
	 * it); nr_encls changes under it too.
	 */
	pthread_mutex_t encl_list_lock;
	struct list_head encl_list;
	atomic_long nr_encls;
	uint64_t next_encl_id;		/* the last sgx_encl.list_id handed out */

	/* Per-thread emulation of numa_node_id() and signal_pending(current). */
	pthread_key_t current_node_key;
	pthread_key_t signal_pending_key;

	int provision_fd;		/* the identity of /dev/sgx_provision */

	/*
	 * What the fault path allocates (EAUG: the page, its page-array nodes,
	 * a VA page descriptor) comes from these, never from malloc (pool.h).
	 */
	struct sgx_pool encl_page_pool, va_page_pool, xa_node_pool;

	/*
	 * Enclave windows (window.c). 'uffd' is the platform's userfaultfd
	 * (SIGBUS mode, MISSING + WP on shmem), -1 when the host refused it:
	 * then enclaves have no window and their bytes stay at the frames'
	 * homes. 'win_slots' is the fault path's lock-free map from an address
	 * to a user mapping (see struct sgx_window_slot); writers hold win_lock.
	 */
	int uffd;
	pthread_mutex_t win_lock;
	struct sgx_window_slot *win_slots;
	atomic_uint win_hwm;		/* slots [0, win_hwm) may be in use */

	struct sgx_platform_stats_atomic {
		atomic_ulong ewb, eldu, eaug, eadd, eremove;
		atomic_ulong secs_ewb, secs_eldu;
		atomic_ulong faults;
		atomic_ulong ksgxd_passes, direct_reclaim_passes, pages_reclaimed;
		atomic_ulong direct_reclaim_ns;
		atomic_ulong va_pages;
		atomic_ulong not_tracked_ipis;
		atomic_ulong ewb_lost;
		atomic_ulong fault_retries, fault_sigbus, punches;
		atomic_ulong prot_fixups, epcm_violations;
		atomic_ulong peak_used_pages;
	} stats;
};

/* main.c */
static inline void *sgx_get_epc_virt_addr(struct sgx_platform *p, struct sgx_epc_page *page)
{
	struct sgx_epc_section *s = &p->sgx_epc_sections[page->section];

	return (char *)s->virt_addr + (uint64_t)(page - s->pages) * SGX_PAGE_SIZE;
}

static inline uint64_t sgx_get_epc_phys_addr(struct sgx_platform *p, struct sgx_epc_page *page)
{
	struct sgx_epc_section *s = &p->sgx_epc_sections[page->section];

	return s->phys_addr + (uint64_t)(page - s->pages) * SGX_PAGE_SIZE;
}

/*
 * Charge one page to cg (the kernel's try_charge of the allocating task's
 * cgroup: SGX_DO_RECLAIM when reclaim is true, else SGX_NO_RECLAIM, which
 * fails with -EBUSY and queues the cgroup's worker), then take a frame.
 * -ENOMEM, -EBUSY, -ERESTARTSYS. reclaim=true must not be used with
 * encl->lock held: reclaim takes the locks of the enclaves it evicts from.
 */
struct sgx_epc_page *sgx_alloc_epc_page_cg(struct sgx_platform *p, struct sgx_epc_cgroup *cg,
					   void *owner, bool reclaim);
/* The same, charged to the calling process's cgroup (p->current_cg). */
struct sgx_epc_page *sgx_alloc_epc_page(struct sgx_platform *p, void *owner, bool reclaim);
/* Onto the free list; off its cgroup's unreclaimable list; uncharged. */
void sgx_free_epc_page(struct sgx_platform *p, struct sgx_epc_page *page);
/* sgx_record_epc_page(): at the tail of its cgroup's reclaimable LRU. */
void sgx_mark_page_reclaimable(struct sgx_platform *p, struct sgx_epc_page *page);
/* SECS and VA pages: on its cgroup's unreclaimable list (for the OOM scan). */
void sgx_record_page_unreclaimable(struct sgx_platform *p, struct sgx_epc_page *page);
/* Off its LRU; -EBUSY while a reclaimer holds it (reclaim in progress). */
int sgx_unmark_page_reclaimable(struct sgx_platform *p, struct sgx_epc_page *page);
/* free < watermark and something reclaimable anywhere in the cgroup tree. */
bool sgx_should_reclaim(struct sgx_platform *p, unsigned long watermark);
void sgx_reclaim_direct(struct sgx_platform *p);
/*
 * in_fault: called from the fault path (a signal handler), where an
 * enclave whose last reference the reclaimer drops must not be released
 * there and then (free, munmap): it is queued for ksgxd (or the next
 * process-context entry point) instead, see sgx_encl_put_deferred().
 */
void __sgx_reclaim_direct(struct sgx_platform *p, bool in_fault);
/*
 * The reclaim_lru op (the kernel's sgx_reclaim_pages(lru, ...)): one batch
 * of at most nr (clamped to SGX_NR_TO_SCAN) pages from cg's own reclaimable
 * LRU. Returns the pages scanned; *written (optional) the pages written back.
 */
unsigned int sgx_reclaim_lru(struct sgx_platform *p, struct sgx_epc_cgroup *cg,
			     unsigned int nr, bool ignore_age, bool in_fault,
			     unsigned int *written);
/*
 * The v16 round-robin walk over root's subtree, batch by batch, until nr
 * pages were scanned or nothing is reclaimable (the controller's
 * sgx_epc_cgroup_reclaim_pages(), usable from the fault path too).
 * Returns the pages written back.
 */
unsigned int sgx_reclaim_subtree(struct sgx_platform *p, struct sgx_epc_cgroup *root,
				 unsigned int nr, bool in_fault);
/* Release the enclaves queued by sgx_encl_put_deferred(). Process context. */
void sgx_release_deferred(struct sgx_platform *p);
/*
 * One reclaim batch from the root's subtree (the next cgroup in round-robin
 * order that has reclaimable pages); returns the number written back.
 */
unsigned int sgx_reclaim_pages(struct sgx_platform *p);
void sgx_wake_ksgxd(struct sgx_platform *p);
int sgx_current_node(struct sgx_platform *p);
bool sgx_signal_pending(struct sgx_platform *p);
struct sgx_epc_page *sgx_epc_page_from_virt(struct sgx_platform *p, void *addr);

/* ERR_PTR-style returns, as the kernel's allocation functions give them. */
#define SGX_MAX_ERRNO	4095
static inline void *ERR_PTR(long err) { return (void *)err; }
static inline long PTR_ERR(const void *p) { return (long)p; }
static inline bool IS_ERR(const void *p)
{
	return (unsigned long)p >= (unsigned long)-SGX_MAX_ERRNO;
}

#endif /* SGXEMU_SGX_SGX_H */

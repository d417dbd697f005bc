/* SPDX-License-Identifier: MIT */
/*
 * The EPC cgroup controller: the misc controller's "sgx_epc" resource and the
 * SGX side of the cgroup series (the kernel's struct sgx_cgroup, per-cgroup
 * LRUs, the round-robin reclaim walk, the asynchronous reclaim worker and the
 * v4 OOM path). docs/CGROUPS.md describes the design; this header is its
 * whole interface.
 *
 * The controller is self-contained: it knows EPC pages only through their
 * descriptor (struct sgx_epc_page: 'list', 'flags', 'owner') and enclaves
 * only through struct sgx_epc_cgroup_ops, so the EPC manager plugs it into
 * allocation and reclaim and the tests drive it with fake pages.
 *
 * Locks (outer first; see docs/CGROUPS.md):
 *   tree->tree_lock  rwlock: the shape of the tree (parent/children/sibling
 *                    links, names, 'dying', nr_cgroups), every next_cg
 *                    cursor's target (writers fix cursors under it).
 *   cg->next_cg_lock mutex, under tree_lock read: the cursor itself.
 *   cg->lru.lock     mutex, leaf: both lists of the cgroup, page->list while
 *                    on them, the TRACKED/UNRECLAIMABLE bits of page->flags.
 *                    ops->page_get_encl() runs under it (atomics only).
 *   counters (usage, max, events, peak, refcount, nr_users): atomics.
 *   work queue: lock-free (one 'queued' bit per cgroup + a Treiber stack)
 *   and a semaphore, so the fault path can queue work from a signal handler.
 */
#ifndef SGXEMU_SGX_EPC_CGROUP_H
#define SGXEMU_SGX_EPC_CGROUP_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sgx/list.h"
#include "sgx/sgx.h"

/* The misc controller's names and limits. */
#define SGX_EPC_MISC_RES_NAME		"sgx_epc"
#define SGX_EPC_MISC_MAX_STR		"max"
#define SGX_EPC_MISC_MAX_NUM		UINT64_MAX
#define SGX_EPC_CG_PAGE_SIZE		4096ULL
#define SGX_EPC_CG_NAME_MAX		255	/* NAME_MAX: longer is -ENAMETOOLONG */

/* The series' constants (v4 and v16). */
#define SGX_EPC_RECLAIM_IGNORE_AGE_THRESHOLD	5
#define SGX_NR_TO_SCAN_MAX			32
#define SGX_CG_MIN_FREE_PAGE			32	/* SGX_NR_LOW_PAGES */
#define SGX_CG_LOW_LIMIT			128	/* pages */

/*
 * The page flag bits the controller owns in struct sgx_epc_page::flags,
 * under the page's LRU lock, are defined in sgx.h with the other page flags:
 * SGX_EPC_PAGE_RECLAIMER_TRACKED (on a reclaimable list, or isolated by a
 * reclaimer when page->list is empty: "reclaim in progress") and
 * SGX_EPC_PAGE_CG_UNRECLAIMABLE (recorded on an unreclaimable list: SECS,
 * VA; possibly unlinked since by the OOM scan, then page->list is
 * self-linked).
 */

enum sgx_reclaim {
	SGX_NO_RECLAIM,		/* fault path: queue the worker and return -EBUSY */
	SGX_DO_RECLAIM,		/* process context: reclaim synchronously and retry */
};

/* enum sgx_epc_oom_policy (KILL, ENOMEM) is in sgx/platform.h: a platform option. */

/* What the EPC manager's OOM action did with a victim enclave. */
enum sgx_epc_oom_result {
	SGX_EPC_OOM_SKIPPED,	/* cannot be a victim (not created): look further */
	SGX_EPC_OOM_KILLED,	/* marked NO_MEMORY, zapped, drained now */
	SGX_EPC_OOM_DRAINING,	/* already marked: wait for it, choose nobody else */
};

struct sgx_epc_cgroup;

/*
 * What the controller needs from the EPC manager. Every hook gets ops_arg.
 * page_get_encl/encl_put/reclaim_lru/oom_encl are required for reclaim and
 * OOM; signal_pending is optional (default: never).
 */
struct sgx_epc_cgroup_ops {
	/*
	 * A reference on the enclave owning 'page' (kref_get_unless_zero of
	 * encl_page->encl, or of the VA page's enclave), NULL if it is dying.
	 * Called under the page's LRU lock: atomics only, never block.
	 */
	void *(*page_get_encl)(void *arg, struct sgx_epc_page *page);
	void (*encl_put)(void *arg, void *encl);
	/*
	 * Reclaim up to nr_to_scan pages of cg's own reclaimable LRU (the
	 * kernel's sgx_reclaim_pages(lru, ...)): sgx_epc_cgroup_isolate_pages(),
	 * age (unless ignore_age), write back; each written page is freed and
	 * uncharged, each skipped one put back. Returns the number scanned.
	 */
	unsigned int (*reclaim_lru)(void *arg, struct sgx_epc_cgroup *cg,
				    unsigned int nr_to_scan, bool ignore_age);
	/*
	 * The v4 OOM action on 'encl' (a reference is held by the caller and
	 * dropped after): if it is not created, SKIPPED; if already marked,
	 * DRAINING; else mark SGX_ENCL_NO_MEMORY, zap every mapping, drain the
	 * address-space list, free nothing, KILLED. Called with no lock held.
	 */
	enum sgx_epc_oom_result (*oom_encl)(void *arg, void *encl);
	bool (*signal_pending)(void *arg);
};

/* One LRU pair: the v4 struct sgx_epc_lru_lists. */
struct sgx_epc_lru_lists {
	pthread_mutex_t lock;
	struct list_head reclaimable;	/* REG/TCS, oldest at the head */
	struct list_head unreclaimable;	/* SECS/VA, for the OOM scan */
	atomic_long nr_reclaimable;	/* list lengths, written under lock */
	atomic_long nr_unreclaimable;
};

struct sgx_epc_cg_tree;

/*
 * One cgroup: the kernel's struct sgx_cgroup together with the sgx_epc part
 * of its struct misc_cg. Freed when its last reference goes; a removed
 * cgroup ('dying') stays alive while pages, handles or queued work hold it.
 */
struct sgx_epc_cgroup {
	struct sgx_epc_cg_tree *tree;
	struct sgx_epc_cgroup *parent;	/* pinned by a reference; never changes */
	char name[SGX_EPC_CG_NAME_MAX + 1];

	/* Under tree_lock. */
	struct list_head children;
	struct list_head sibling;
	bool dying;

	atomic_long refcount;
	atomic_long nr_users;		/* attached processes/enclaves: rmdir -EBUSY */

	/* misc_res: bytes, hierarchical (this cgroup and its descendants). */
	atomic_ullong usage;
	atomic_ullong max;		/* SGX_EPC_MISC_MAX_NUM = "max" */
	atomic_ullong watermark;	/* misc.peak */
	atomic_ullong events;		/* misc.events: failures here or below */
	atomic_ullong events_local;	/* misc.events.local: failures at this level */

	struct sgx_epc_lru_lists lru;
	/* Reclaimable pages on the LRUs of this cgroup and its descendants. */
	atomic_long subtree_reclaimable;

	/* v16 round-robin cursor over this cgroup's subtree (NULL = start at self). */
	pthread_mutex_t next_cg_lock;
	struct sgx_epc_cgroup *next_cg;

	/* The reclaim work item. */
	atomic_bool work_queued;
	struct sgx_epc_cgroup *work_next;
};

struct sgx_epc_cg_tree_config {
	uint64_t capacity;		/* bytes: misc.capacity of sgx_epc */
	enum sgx_epc_oom_policy oom_policy;
	const struct sgx_epc_cgroup_ops *ops;
	void *ops_arg;
	bool no_worker;			/* tests: queue work but run it by hand */
};

/* The tree: root cgroup, the misc capacity, the worker. One per platform. */
struct sgx_epc_cg_tree {
	struct sgx_epc_cgroup *root;
	pthread_rwlock_t tree_lock;
	atomic_long nr_cgroups;		/* alive in the tree, root included */
	atomic_ullong capacity;
	enum sgx_epc_oom_policy oom_policy;
	struct sgx_epc_cgroup_ops ops;
	void *ops_arg;

	/* The worker (the kernel's sgx_cg_wq), see epc_cgroup_worker.c. */
	_Atomic(struct sgx_epc_cgroup *) work_head;
	sem_t work_sem;
	atomic_bool work_stop;
	bool worker_running;
	pthread_t worker;

	struct {
		atomic_ulong worker_runs, worker_reclaimed_batches;
		atomic_ulong oom_kills, oom_draining_waits;
		atomic_ulong sync_reclaims;
	} stats;
};

/* ---- tree (epc_cgroup.c) ---- */
int sgx_epc_cg_tree_create(const struct sgx_epc_cg_tree_config *c, struct sgx_epc_cg_tree **out);
/* Stops the worker; -EBUSY (and nothing done) if any cgroup but the root exists or is charged. */
int sgx_epc_cg_tree_destroy(struct sgx_epc_cg_tree *tree);
void sgx_epc_cg_set_capacity(struct sgx_epc_cg_tree *tree, uint64_t bytes);

/* Path: "/" is the root, "/a/b" a grandchild; repeated and trailing '/' allowed. */
int sgx_epc_cgroup_mkdir(struct sgx_epc_cg_tree *tree, const char *path);
int sgx_epc_cgroup_rmdir(struct sgx_epc_cg_tree *tree, const char *path);
/* A referenced cgroup (put it with sgx_epc_cgroup_put), or ERR_PTR(-ENOENT/-EINVAL). */
struct sgx_epc_cgroup *sgx_epc_cgroup_lookup(struct sgx_epc_cg_tree *tree, const char *path);
void sgx_epc_cgroup_get(struct sgx_epc_cgroup *cg);
bool sgx_epc_cgroup_tryget(struct sgx_epc_cgroup *cg);	/* fails once the count hit 0 */
void sgx_epc_cgroup_put(struct sgx_epc_cgroup *cg);
/* A user (process or enclave) placed in cg: -ENOENT if it was removed. */
int sgx_epc_cgroup_attach(struct sgx_epc_cgroup *cg);
void sgx_epc_cgroup_detach(struct sgx_epc_cgroup *cg);
/* "/a/b" into buf; the length or -ENAMETOOLONG. */
int sgx_epc_cgroup_path(struct sgx_epc_cgroup *cg, char *buf, size_t len);
/* Pre-order walk of the live tree under tree_lock (read): fn must not change the tree. */
void sgx_epc_cgroup_walk(struct sgx_epc_cg_tree *tree,
			 void (*fn)(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth),
			 void *arg);

/* ---- misc counters (epc_cgroup.c) ---- */
/*
 * misc_cg_try_charge(): add 'amount' bytes at cg and every ancestor; at the
 * first level over its max or over capacity undo everything, count an event
 * there and above, return -EBUSY and (if 'failed' is not NULL) that level.
 * -EINVAL when the capacity is 0.
 */
int sgx_misc_cg_try_charge(struct sgx_epc_cgroup *cg, uint64_t amount,
			   struct sgx_epc_cgroup **failed);
void sgx_misc_cg_uncharge(struct sgx_epc_cgroup *cg, uint64_t amount);
/* min(max of cg..root, capacity) in bytes */
uint64_t sgx_epc_cgroup_effective_max(struct sgx_epc_cgroup *cg);

/* ---- the misc files (epc_cgroup_files.c) ---- */
/*
 * Read "misc.capacity", "misc.current", "misc.max", "misc.events",
 * "misc.events.local" or "misc.peak" of the cgroup at path into buf (NUL
 * terminated): the length, -ENOENT (no such cgroup or file at that level),
 * -EINVAL (buf too small for the text).
 */
int sgx_epc_cgroup_read(struct sgx_epc_cg_tree *tree, const char *path, const char *file,
			char *buf, size_t len);
/* Write misc.max: 0, -ENOENT, -EACCES (read-only file), -EINVAL, -ERANGE. */
int sgx_epc_cgroup_write(struct sgx_epc_cg_tree *tree, const char *path, const char *file,
			 const char *buf, size_t len);
int sgx_epc_cgroup_file_show(struct sgx_epc_cgroup *cg, const char *file, char *buf, size_t len);
int sgx_misc_cg_max_write(struct sgx_epc_cgroup *cg, const char *buf, size_t len);
/* kstrtou64(s, 0, &v) on exactly len bytes: 0, -EINVAL, -ERANGE. */
int sgx_kstrtou64(const char *s, size_t len, uint64_t *v);

/* ---- LRUs, the round-robin walk, OOM selection (epc_cgroup_lru.c) ---- */
/* sgx_record_epc_page(): at the tail of cg's reclaimable or unreclaimable list. */
void sgx_epc_cgroup_lru_add(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page,
			    bool reclaimable);
/*
 * sgx_drop_epc_page()/sgx_unmark_page_reclaimable(): off whichever list it is
 * on; -EBUSY if a reclaimer isolated it (it owns the page until it is done).
 */
int sgx_epc_cgroup_lru_del(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page);
/*
 * Isolate up to nr (at most SGX_NR_TO_SCAN_MAX) pages from the head of cg's
 * reclaimable list into chunk[]: those whose enclave reference can be taken
 * (the reference is the caller's; the page stays TRACKED on no list: "reclaim
 * in progress"); those of dying enclaves are dropped (TRACKED cleared: their
 * release frees them). *nr_isolated = pages in chunk; returns pages examined.
 */
unsigned int sgx_epc_cgroup_isolate_pages(struct sgx_epc_cgroup *cg, unsigned int nr,
					  struct sgx_epc_page **chunk,
					  unsigned int *nr_isolated);
/* A reclaimer gives an isolated page back (tail) or is done with it (written back). */
void sgx_epc_cgroup_lru_putback(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page);
void sgx_epc_cgroup_lru_done(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page);
/* No reclaimable page on the lists of cg's subtree (lock-free). */
bool sgx_epc_cgroup_lru_empty(struct sgx_epc_cgroup *cg);
/* v16 sgx_cgroup_next_get(): the next live cgroup of root's subtree, referenced. */
struct sgx_epc_cgroup *sgx_epc_cgroup_next_get(struct sgx_epc_cgroup *root);
/*
 * v16 sgx_cgroup_reclaim_pages(): round-robin over root's subtree, one LRU
 * batch (SGX_NR_TO_SCAN) per cgroup, until nr pages were scanned or the
 * subtree has nothing reclaimable. Returns the number scanned.
 */
unsigned int sgx_epc_cgroup_reclaim_pages(struct sgx_epc_cgroup *root, unsigned int nr,
					  bool ignore_age);
/*
 * v4 sgx_epc_cgroup_oom(): pre-order over root's live subtree, the first page
 * of an unreclaimable list whose enclave can be referenced and is not
 * SKIPPED by ops->oom_encl. Pages of dying enclaves are unlinked on the way.
 * Returns KILLED or DRAINING for the victim, SKIPPED when there is none.
 */
enum sgx_epc_oom_result sgx_epc_cgroup_oom(struct sgx_epc_cgroup *root);

/* ---- charging and the worker (epc_cgroup_worker.c) ---- */
/*
 * sgx_cgroup_try_charge() of one page: 0 (a reference on cg is taken for the
 * page), -ENOMEM (over a limit with nothing reclaimable below it),
 * -ERESTARTSYS (signal pending; the ioctl layer turns it into -EINTR),
 * -EBUSY (SGX_NO_RECLAIM: the worker is queued, retry the fault), -EINVAL
 * (capacity 0).
 */
int sgx_epc_cgroup_try_charge(struct sgx_epc_cgroup *cg, enum sgx_reclaim reclaim);
/* The page is freed: uncharge and drop its reference. */
void sgx_epc_cgroup_uncharge(struct sgx_epc_cgroup *cg);
/* queue_work(): async-signal-safe. */
void sgx_epc_cgroup_queue_reclaim(struct sgx_epc_cgroup *cg);
/* The worker's body for one cgroup (the tests call it with no_worker). */
void sgx_epc_cgroup_reclaim_work_func(struct sgx_epc_cgroup *cg);
/* Run every queued item now in the calling thread (no_worker mode); returns how many. */
unsigned int sgx_epc_cgroup_run_queued(struct sgx_epc_cg_tree *tree);
/* v16 sgx_cgroup_should_reclaim(). */
bool sgx_epc_cgroup_should_reclaim(struct sgx_epc_cgroup *cg);

/* internal to the epc_cgroup files */
struct sgx_epc_cgroup *sgx_epc_cgroup_next_pre(struct sgx_epc_cgroup *pos,
					       struct sgx_epc_cgroup *root);
int sgx_epc_cg_worker_start(struct sgx_epc_cg_tree *tree);
void sgx_epc_cg_worker_stop(struct sgx_epc_cg_tree *tree);

#endif /* SGXEMU_SGX_EPC_CGROUP_H */

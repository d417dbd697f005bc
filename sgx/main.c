// SPDX-License-Identifier: MIT
/*
 * EPC page cache (the kernel's sgx/main.c, first half): section enumeration,
 * NUMA nodes, the global free count, allocation and free, poison, and the
 * platform's life cycle (create starts ksgxd, destroy stops it).
 *
 * Free-page accounting.  sgx_nr_free_pages is an atomic and is only changed
 * after the node lock is dropped (Nov 2021 fix: a plain counter updated under
 * *different* node locks lost updates and starved ksgxd). Deviation from the
 * kernel, on purpose: a poisoned page never counts as free (the kernel counts
 * a freed poisoned page and keeps counting a free page that got poisoned), so
 * "count == sum of the free lists" holds at every quiescent point.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sgx/encl.h"
#include "sgx/epc_cgroup.h"
#include "sgx/sgx.h"
#include "sgx/internal.h"
#include "sgx/window.h"

static struct sgx_numa_node *page_node(struct sgx_platform *p, struct sgx_epc_page *page)
{
	return p->sgx_epc_sections[page->section].node;
}

int sgx_current_node(struct sgx_platform *p)
{
	void *v;
	int cpu;

	if (p->ops.current_node)
		return p->ops.current_node(p->ops_arg);
	v = pthread_getspecific(p->current_node_key);
	if (v)
		return (int)((intptr_t)v - 1);
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : cpu % (int)p->nr_numa_nodes;
}

bool sgx_signal_pending(struct sgx_platform *p)
{
	if (p->ops.signal_pending)
		return p->ops.signal_pending(p->ops_arg);
	return pthread_getspecific(p->signal_pending_key) != NULL;
}

void sgx_platform_set_current_node(struct sgx_platform *p, int nid)
{
	pthread_setspecific(p->current_node_key, nid < 0 ? NULL : (void *)(intptr_t)(nid + 1));
}

void sgx_platform_set_signal_pending(struct sgx_platform *p, bool pending)
{
	pthread_setspecific(p->signal_pending_key, pending ? (void *)1 : NULL);
}

static bool node_has_epc(struct sgx_platform *p, int nid)
{
	return nid >= 0 && nid < (int)p->nr_numa_nodes && p->sgx_numa_nodes[nid].size;
}

/* next_node_in(nid, sgx_numa_mask): the next node with EPC after nid, wrapping. */
static int next_node_in(struct sgx_platform *p, int nid)
{
	int i, n = (int)p->nr_numa_nodes;

	for (i = 1; i <= n; i++) {
		int cand = (nid < 0 || nid >= n) ? i - 1 : (nid + i) % n;

		if (node_has_epc(p, cand))
			return cand;
	}
	return -1;
}

/* Count an allocated page and keep the high-water mark (a lock-free max). */
static void note_page_used(struct sgx_platform *p)
{
	unsigned long used = (unsigned long)atomic_fetch_add(&p->nr_used_pages, 1) + 1;
	unsigned long peak = atomic_load(&p->stats.peak_used_pages);

	while (used > peak &&
	       !atomic_compare_exchange_weak(&p->stats.peak_used_pages, &peak, used))
		;
}

static struct sgx_epc_page *__sgx_alloc_epc_page_from_node(struct sgx_platform *p, int nid)
{
	struct sgx_numa_node *node = &p->sgx_numa_nodes[nid];
	struct sgx_epc_page *page = NULL;

	pthread_mutex_lock(&node->lock);
	if (list_empty(&node->free_page_list)) {
		pthread_mutex_unlock(&node->lock);
		return NULL;
	}
	page = list_first_entry(&node->free_page_list, struct sgx_epc_page, list);
	list_del_init(&page->list);
	page->flags = 0;
	node->nr_free--;
	pthread_mutex_unlock(&node->lock);

	atomic_fetch_sub(&p->sgx_nr_free_pages, 1);
	note_page_used(p);
	return page;
}

/*
 * Local node first, then the others round-robin, ending when the walk is back
 * at the node it started from (the 2024 fix: the walk used to end only on
 * reaching the *current* node, which never happens when it has no EPC).
 */
static struct sgx_epc_page *__sgx_alloc_epc_page(struct sgx_platform *p)
{
	int nid_of_current = sgx_current_node(p);
	int nid_start, nid;

	if (node_has_epc(p, nid_of_current))
		nid_start = nid_of_current;
	else
		nid_start = next_node_in(p, nid_of_current);
	if (nid_start < 0)
		return ERR_PTR(-ENOMEM);

	nid = nid_start;
	do {
		struct sgx_epc_page *page = __sgx_alloc_epc_page_from_node(p, nid);

		if (page)
			return page;
		nid = next_node_in(p, nid);
	} while (nid != nid_start && nid >= 0);

	return ERR_PTR(-ENOMEM);
}

bool sgx_should_reclaim(struct sgx_platform *p, unsigned long watermark)
{
	return atomic_load(&p->sgx_nr_free_pages) < (long)watermark &&
	       !sgx_epc_cgroup_lru_empty(p->cg_tree->root);
}

void sgx_wake_ksgxd(struct sgx_platform *p)
{
	/* Taking the lock orders this against ksgxd's check-then-wait: no lost wake-up. */
	pthread_mutex_lock(&p->ksgxd_lock);
	pthread_cond_signal(&p->ksgxd_waitq);
	pthread_mutex_unlock(&p->ksgxd_lock);
}

/* The global reclaim of the series: one batch from the whole tree (v16 walk from the root). */
static void sgx_reclaim_pages_global(struct sgx_platform *p)
{
	sgx_epc_cgroup_reclaim_pages(p->cg_tree->root, SGX_NR_TO_SCAN, false);
}

/*
 * v16's sgx_alloc_epc_page(): charge the cgroup first (which may reclaim
 * from the refusing level's subtree, or fail), then the 6.1 loop with the
 * global emptiness test and global reclaim over the whole tree. The charge
 * is undone if no frame can be had.
 */
struct sgx_epc_page *sgx_alloc_epc_page_cg(struct sgx_platform *p, struct sgx_epc_cgroup *cg,
					   void *owner, bool reclaim)
{
	struct sgx_epc_page *page;
	int ret;

	ret = sgx_epc_cgroup_try_charge(cg, reclaim ? SGX_DO_RECLAIM : SGX_NO_RECLAIM);
	if (ret)
		return ERR_PTR(ret);

	for (;;) {
		uint64_t t0;

		page = __sgx_alloc_epc_page(p);
		if (!IS_ERR(page)) {
			page->owner = owner;
			page->epc_cg = cg;
			break;
		}
		if (sgx_epc_cgroup_lru_empty(p->cg_tree->root)) {
			sgx_epc_cgroup_uncharge(cg);
			return ERR_PTR(-ENOMEM);
		}
		if (!reclaim) {
			page = ERR_PTR(-EBUSY);
			break;
		}
		if (sgx_signal_pending(p)) {
			page = ERR_PTR(-ERESTARTSYS);
			break;
		}
		t0 = sgx_now_ns();
		sgx_reclaim_pages_global(p);
		atomic_fetch_add(&p->stats.direct_reclaim_passes, 1);
		atomic_fetch_add(&p->stats.direct_reclaim_ns, sgx_now_ns() - t0);
		sched_yield();
	}
	if (IS_ERR(page))
		sgx_epc_cgroup_uncharge(cg);

	if (sgx_should_reclaim(p, SGX_NR_LOW_PAGES))
		sgx_wake_ksgxd(p);
	return page;
}

struct sgx_epc_page *sgx_alloc_epc_page(struct sgx_platform *p, void *owner, bool reclaim)
{
	struct sgx_epc_cgroup *cg;
	struct sgx_epc_page *page;

	pthread_mutex_lock(&p->cg_lock);
	cg = p->current_cg;
	sgx_epc_cgroup_get(cg);
	pthread_mutex_unlock(&p->cg_lock);
	page = sgx_alloc_epc_page_cg(p, cg, owner, reclaim);
	sgx_epc_cgroup_put(cg);
	return page;
}

/* Onto the node's free (or poison) list; sanitization's way in, too. */
static void __sgx_free_epc_page(struct sgx_platform *p, struct sgx_epc_page *page)
{
	struct sgx_numa_node *node = page_node(p, page);
	bool counted;

	pthread_mutex_lock(&node->lock);
	page->owner = NULL;
	if (page->poison) {
		list_add(&page->list, &node->sgx_poison_page_list);
		node->nr_poison++;
	} else {
		list_add_tail(&page->list, &node->free_page_list);
		node->nr_free++;
	}
	counted = !page->poison;
	page->flags = SGX_EPC_PAGE_IS_FREE;
	pthread_mutex_unlock(&node->lock);

	if (counted)
		atomic_fetch_add(&p->sgx_nr_free_pages, 1);
}

/*
 * The page must already be architecturally free (EREMOVE'd or EWB'd). A
 * SECS or VA page leaves its unreclaimable list here (v4's
 * sgx_drop_epc_page()); the charge goes with the page.
 */
void sgx_free_epc_page(struct sgx_platform *p, struct sgx_epc_page *page)
{
	struct sgx_epc_cgroup *cg = page->epc_cg;

	if (cg && (page->flags & SGX_EPC_PAGE_CG_UNRECLAIMABLE))
		sgx_epc_cgroup_lru_del(cg, page);
	page->epc_cg = NULL;
	atomic_fetch_sub(&p->nr_used_pages, 1);
	__sgx_free_epc_page(p, page);
	if (cg)
		sgx_epc_cgroup_uncharge(cg);
}

void sgx_mark_page_reclaimable(struct sgx_platform *p, struct sgx_epc_page *page)
{
	(void)p;
	sgx_epc_cgroup_lru_add(page->epc_cg, page, true);
}

void sgx_record_page_unreclaimable(struct sgx_platform *p, struct sgx_epc_page *page)
{
	(void)p;
	sgx_epc_cgroup_lru_add(page->epc_cg, page, false);
}

/*
 * -EBUSY when the page is tracked but on no list: a reclaimer isolated it and
 * owns it until it is written back ("reclaim in progress").
 */
int sgx_unmark_page_reclaimable(struct sgx_platform *p, struct sgx_epc_page *page)
{
	(void)p;
	if (!page->epc_cg)
		return 0;
	return sgx_epc_cgroup_lru_del(page->epc_cg, page);
}

void sgx_reclaim_direct(struct sgx_platform *p)
{
	__sgx_reclaim_direct(p, false);
}

void __sgx_reclaim_direct(struct sgx_platform *p, bool in_fault)
{
	if (sgx_should_reclaim(p, SGX_NR_LOW_PAGES)) {
		uint64_t t0 = sgx_now_ns();

		if (in_fault)
			sgx_reclaim_subtree(p, p->cg_tree->root, SGX_NR_TO_SCAN, true);
		else
			sgx_reclaim_pages_global(p);
		atomic_fetch_add(&p->stats.direct_reclaim_passes, 1);
		atomic_fetch_add(&p->stats.direct_reclaim_ns, sgx_now_ns() - t0);
	}
}

struct sgx_epc_page *sgx_epc_page_from_phys(struct sgx_platform *p, uint64_t phys)
{
	unsigned int i;

	for (i = 0; i < p->sgx_nr_epc_sections; i++) {
		struct sgx_epc_section *s = &p->sgx_epc_sections[i];

		if (phys >= s->phys_addr && phys - s->phys_addr < s->nr_pages * SGX_PAGE_SIZE)
			return &s->pages[(phys - s->phys_addr) >> SGX_PAGE_SHIFT];
	}
	return NULL;
}

struct sgx_epc_page *sgx_epc_page_from_virt(struct sgx_platform *p, void *addr)
{
	unsigned int i;

	for (i = 0; i < p->sgx_nr_epc_sections; i++) {
		struct sgx_epc_section *s = &p->sgx_epc_sections[i];
		uintptr_t off = (uintptr_t)addr - (uintptr_t)s->virt_addr;

		if ((uintptr_t)addr >= (uintptr_t)s->virt_addr && off < s->nr_pages * SGX_PAGE_SIZE)
			return &s->pages[off >> SGX_PAGE_SHIFT];
	}
	return NULL;
}

/* arch_memory_failure(): poison a page (A.8). 0 or -ENXIO (not EPC). */
int sgx_memory_failure(struct sgx_platform *p, uint64_t phys)
{
	struct sgx_epc_page *page = sgx_epc_page_from_phys(p, phys);
	struct sgx_numa_node *node;
	bool was_free = false;

	if (!page)
		return -ENXIO;
	node = page_node(p, page);
	pthread_mutex_lock(&node->lock);
	if (page->poison)
		goto out;
	page->poison = 1;
	if (page->flags & SGX_EPC_PAGE_IS_FREE) {
		list_move(&page->list, &node->sgx_poison_page_list);
		node->nr_free--;
		node->nr_poison++;
		was_free = true;
		goto out;
	}
	/* In use: stop reclaiming it; its owner's free routes it to the poison list. */
	sgx_unmark_page_reclaimable(p, page);
out:
	pthread_mutex_unlock(&node->lock);
	if (was_free)
		atomic_fetch_sub(&p->sgx_nr_free_pages, 1);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sanitization and ksgxd
 */

/* EREMOVE every dirty page; pages that fail stay on the list for the next pass. */
static unsigned long __sgx_sanitize_pages(struct sgx_platform *p, struct list_head *dirty)
{
	unsigned long left_dirty = 0;
	struct list_head dirty_again;
	struct sgx_epc_page *page, *tmp;

	INIT_LIST_HEAD(&dirty_again);
	list_for_each_entry_safe(page, tmp, dirty, list) {
		struct sgx_numa_node *node = page_node(p, page);
		int ret;

		pthread_mutex_lock(&node->lock);
		if (page->poison) {
			list_move(&page->list, &node->sgx_poison_page_list);
			node->nr_poison++;
			pthread_mutex_unlock(&node->lock);
			continue;
		}
		pthread_mutex_unlock(&node->lock);

		ret = __eremove(p->cpu, sgx_get_epc_virt_addr(p, page));
		if (!ret) {
			list_del_init(&page->list);
			__sgx_free_epc_page(p, page);
		} else {
			list_move_tail(&page->list, &dirty_again);
			left_dirty++;
		}
	}
	/* splice back */
	while (!list_empty(&dirty_again))
		list_move_tail(dirty_again.next, dirty);
	return left_dirty;
}

static void sgx_sanitize_all(struct sgx_platform *p)
{
	__sgx_sanitize_pages(p, &p->sgx_dirty_page_list);
	if (__sgx_sanitize_pages(p, &p->sgx_dirty_page_list))
		fprintf(stderr, "sgx: EPC pages still dirty after sanitization\n");

	pthread_mutex_lock(&p->ksgxd_lock);
	p->ksgxd_sanitized = true;
	pthread_cond_broadcast(&p->ksgxd_sanitized_cond);
	pthread_mutex_unlock(&p->ksgxd_lock);
}

static void *ksgxd(void *arg)
{
	struct sgx_platform *p = arg;

	sgx_sanitize_all(p);

	for (;;) {
		bool stop;

		pthread_mutex_lock(&p->ksgxd_lock);
		while (!p->ksgxd_should_stop && !sgx_should_reclaim(p, SGX_NR_HIGH_PAGES) &&
		       !atomic_load(&p->release_list))
			pthread_cond_wait(&p->ksgxd_waitq, &p->ksgxd_lock);
		stop = p->ksgxd_should_stop;
		pthread_mutex_unlock(&p->ksgxd_lock);
		if (stop)
			break;
		sgx_release_deferred(p);

		if (sgx_should_reclaim(p, SGX_NR_HIGH_PAGES)) {
			sgx_reclaim_pages_global(p);
			atomic_fetch_add(&p->stats.ksgxd_passes, 1);
		}
		sched_yield();
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The EPC cgroup tree (sgx/epc_cgroup.h): the manager's side of its ops
 */

static void *cg_page_get_encl(void *arg, struct sgx_epc_page *page)
{
	(void)arg;
	return sgx_epc_page_get_encl(page);
}

static void cg_encl_put(void *arg, void *encl)
{
	(void)arg;
	sgx_encl_put(encl);
}

static unsigned int cg_reclaim_lru(void *arg, struct sgx_epc_cgroup *cg, unsigned int nr_to_scan,
				   bool ignore_age)
{
	return sgx_reclaim_lru(arg, cg, nr_to_scan, ignore_age, false, NULL);
}

static enum sgx_epc_oom_result cg_oom_encl(void *arg, void *encl)
{
	struct sgx_platform *p = arg;
	struct sgx_encl *e = encl;
	enum sgx_epc_oom_result res = sgx_encl_oom(e);
	char path[256] = "?";

	if (res == SGX_EPC_OOM_KILLED && p->ops.oom_killed) {
		if (e->epc_cg && sgx_epc_cgroup_path(e->epc_cg, path, sizeof(path)) < 0)
			snprintf(path, sizeof(path), "?");
		p->ops.oom_killed(p->ops_arg, e->base, e->size, path);
	}
	return res;
}

static bool cg_signal_pending(void *arg)
{
	return sgx_signal_pending(arg);
}

static const struct sgx_epc_cgroup_ops sgx_epc_cg_ops = {
	.page_get_encl = cg_page_get_encl,
	.encl_put = cg_encl_put,
	.reclaim_lru = cg_reclaim_lru,
	.oom_encl = cg_oom_encl,
	.signal_pending = cg_signal_pending,
};

/* misc_cg_set_capacity() + the root as the current cgroup. After sgx_page_cache_init(). */
static int sgx_platform_cgroups_init(struct sgx_platform *p, const struct sgx_platform_config *c)
{
	struct sgx_epc_cg_tree_config tc = {
		.capacity = p->nr_total_pages * SGX_PAGE_SIZE,
		.oom_policy = c->epc_oom_policy,
		.ops = &sgx_epc_cg_ops,
		.ops_arg = p,
		.no_worker = c->no_ksgxd,
	};
	int ret;

	ret = sgx_epc_cg_tree_create(&tc, &p->cg_tree);
	if (ret)
		return ret;
	p->current_cg = p->cg_tree->root;
	sgx_epc_cgroup_get(p->current_cg);
	sgx_epc_cgroup_attach(p->current_cg);
	return 0;
}

struct cg_collect {
	struct sgx_epc_cgroup **cgs;
	size_t n, cap;
};

static void cg_collect_fn(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth)
{
	struct cg_collect *c = arg;

	if (depth && c->n < c->cap) {
		sgx_epc_cgroup_get(cg);
		c->cgs[c->n++] = cg;
	}
}

/*
 * Every enclave is gone: remove what is left of the tree (children before
 * their parents) and destroy it, which stops the worker.
 */
static void sgx_platform_cgroups_fini(struct sgx_platform *p)
{
	struct cg_collect c = { 0 };
	char path[4096];
	size_t i;

	if (!p->cg_tree)
		return;
	if (p->current_cg) {
		sgx_epc_cgroup_detach(p->current_cg);
		sgx_epc_cgroup_put(p->current_cg);
		p->current_cg = NULL;
	}
	c.cap = (size_t)atomic_load(&p->cg_tree->nr_cgroups);
	c.cgs = calloc(c.cap + 1, sizeof(*c.cgs));
	if (c.cgs) {
		sgx_epc_cgroup_walk(p->cg_tree, cg_collect_fn, &c);
		for (i = c.n; i-- > 0;) {
			if (sgx_epc_cgroup_path(c.cgs[i], path, sizeof(path)) > 0)
				sgx_epc_cgroup_rmdir(p->cg_tree, path);
			sgx_epc_cgroup_put(c.cgs[i]);
		}
		free(c.cgs);
	}
	if (sgx_epc_cg_tree_destroy(p->cg_tree))
		SGX_WARN("EPC cgroup tree still in use at platform destroy");
	p->cg_tree = NULL;
}

struct sgx_epc_cg_tree *sgx_platform_cgroups(struct sgx_platform *p)
{
	return p ? p->cg_tree : NULL;
}

int sgx_platform_set_current_cgroup(struct sgx_platform *p, const char *path)
{
	struct sgx_epc_cgroup *cg, *old;
	int ret;

	if (!p || !path)
		return -EINVAL;
	cg = sgx_epc_cgroup_lookup(p->cg_tree, path);
	if (IS_ERR(cg))
		return (int)PTR_ERR(cg);
	ret = sgx_epc_cgroup_attach(cg);
	if (ret) {
		sgx_epc_cgroup_put(cg);
		return ret;
	}
	pthread_mutex_lock(&p->cg_lock);
	old = p->current_cg;
	p->current_cg = cg;
	pthread_mutex_unlock(&p->cg_lock);
	sgx_epc_cgroup_detach(old);
	sgx_epc_cgroup_put(old);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Platform life cycle
 */

void sgx_platform_default_config(struct sgx_platform_config *c)
{
	memset(c, 0, sizeof(*c));
	sgx_cpu_default_config(&c->cpu_config);
}

static int sgx_page_cache_init(struct sgx_platform *p)
{
	unsigned int i;

	for (i = 0; i < SGX_MAX_EPC_SECTIONS; i++) {
		struct sgx_epc_section *s = &p->sgx_epc_sections[i];
		struct sgx_numa_node *node;
		uint32_t r[4];
		uint64_t base, size, j;

		if (!sgx_cpu_cpuid(p->cpu, SGX_CPUID, SGX_CPUID_EPC + i, r))
			break;
		if ((r[0] & SGX_CPUID_EPC_MASK) == SGX_CPUID_EPC_INVALID)
			break;
		if ((r[0] & SGX_CPUID_EPC_MASK) != SGX_CPUID_EPC_SECTION) {
			fprintf(stderr, "sgx: Unknown EPC section type: %u\n",
				r[0] & SGX_CPUID_EPC_MASK);
			break;
		}
		base = (r[0] & 0xFFFFF000ULL) + ((uint64_t)(r[1] & 0xFFFFF) << 32);
		size = (r[2] & 0xFFFFF000ULL) + ((uint64_t)(r[3] & 0xFFFFF) << 32);
		s->virt_addr = sgx_cpu_memremap(p->cpu, base, size);
		if (!s->virt_addr || !size)
			break;
		s->phys_addr = base;
		s->nr_pages = size >> SGX_PAGE_SHIFT;
		s->pages = calloc(s->nr_pages, sizeof(*s->pages));
		if (!s->pages)
			return -ENOMEM;

		/* One emulated NUMA node per section. */
		node = &p->sgx_numa_nodes[i];
		s->node = node;
		node->size += size;
		for (j = 0; j < s->nr_pages; j++) {
			s->pages[j].section = i;
			INIT_LIST_HEAD(&s->pages[j].list);
			list_add_tail(&s->pages[j].list, &p->sgx_dirty_page_list);
		}
		p->nr_total_pages += s->nr_pages;
		p->sgx_nr_epc_sections++;
		p->nr_numa_nodes++;
	}
	if (!p->sgx_nr_epc_sections) {
		fprintf(stderr, "sgx: There are zero EPC sections.\n");
		return -ENODEV;
	}
	return 0;
}

static void platform_free(struct sgx_platform *p)
{
	unsigned int i;

	/* First: the tree's worker calls back into the manager. */
	sgx_platform_cgroups_fini(p);
	for (i = 0; i < SGX_MAX_EPC_SECTIONS; i++) {
		free(p->sgx_epc_sections[i].pages);
		pthread_mutex_destroy(&p->sgx_numa_nodes[i].lock);
	}
	pthread_mutex_destroy(&p->cg_lock);
	pthread_mutex_destroy(&p->ksgxd_lock);
	pthread_cond_destroy(&p->ksgxd_waitq);
	pthread_cond_destroy(&p->ksgxd_sanitized_cond);
	pthread_mutex_destroy(&p->einit_lock);
	pthread_mutex_destroy(&p->encl_list_lock);
	pthread_key_delete(p->current_node_key);
	pthread_key_delete(p->signal_pending_key);
	if (p->provision_fd >= 0)
		close(p->provision_fd);
	sgx_window_platform_fini(p);
	if (p->own_cpu)
		sgx_cpu_destroy(p->cpu);
	sgx_pool_destroy(&p->encl_page_pool);
	sgx_pool_destroy(&p->va_page_pool);
	sgx_pool_destroy(&p->xa_node_pool);
	free(p);
}

int sgx_platform_create(const struct sgx_platform_config *c, struct sgx_platform **out)
{
	struct sgx_platform *p;
	uint32_t r[4];
	unsigned int i;
	int ret;

	if (!c || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->provision_fd = -1;
	p->uffd = -1;
	sgx_pool_init(&p->encl_page_pool, sizeof(struct sgx_encl_page));
	sgx_pool_init(&p->va_page_pool, sizeof(struct sgx_va_page));
	sgx_pool_init(&p->xa_node_pool, sgx_xa_node_size());
	for (i = 0; i < SGX_MAX_EPC_SECTIONS; i++) {
		INIT_LIST_HEAD(&p->sgx_numa_nodes[i].free_page_list);
		INIT_LIST_HEAD(&p->sgx_numa_nodes[i].sgx_poison_page_list);
		pthread_mutex_init(&p->sgx_numa_nodes[i].lock, NULL);
	}
	INIT_LIST_HEAD(&p->sgx_dirty_page_list);
	INIT_LIST_HEAD(&p->encl_list);
	pthread_mutex_init(&p->cg_lock, NULL);
	pthread_mutex_init(&p->ksgxd_lock, NULL);
	pthread_cond_init(&p->ksgxd_waitq, NULL);
	pthread_cond_init(&p->ksgxd_sanitized_cond, NULL);
	pthread_mutex_init(&p->einit_lock, NULL);
	pthread_mutex_init(&p->encl_list_lock, NULL);
	pthread_key_create(&p->current_node_key, NULL);
	pthread_key_create(&p->signal_pending_key, NULL);
	if (c->ops)
		p->ops = *c->ops;
	p->ops_arg = c->ops_arg;

	if (c->cpu) {
		p->cpu = c->cpu;
	} else {
		ret = sgx_cpu_create(&c->cpu_config, &p->cpu);
		if (ret)
			goto err;
		p->own_cpu = true;
	}

	/* CPUID 0x12: SGX1 is required, SGX2 enables the EDMM paths. */
	ret = -ENODEV;
	if (!sgx_cpu_cpuid(p->cpu, SGX_CPUID, 0, r) || !(r[0] & 1))
		goto err;
	p->sgx2 = r[0] & 2;
	p->sgx_misc_reserved_mask = ~(uint64_t)r[1] | (~0ULL << 1);
	if (!sgx_cpu_cpuid(p->cpu, SGX_CPUID, 1, r))
		goto err;
	p->sgx_attributes_reserved_mask = ~((uint64_t)r[0] | ((uint64_t)r[1] << 32)) |
					  SGX_ATTR_RESERVED_MASK;
	p->sgx_xfrm_reserved_mask = ~((uint64_t)r[2] | ((uint64_t)r[3] << 32));

	ret = sgx_page_cache_init(p);
	if (ret)
		goto err;

	ret = sgx_platform_cgroups_init(p, c);
	if (ret)
		goto err;

	p->provision_fd = memfd_create("sgx_provision", MFD_CLOEXEC);
	if (p->provision_fd < 0) {
		ret = -errno;
		goto err;
	}

	ret = sgx_window_platform_init(p);
	if (ret)
		goto err;

	p->ksgxd_disabled = c->no_ksgxd;
	if (p->ksgxd_disabled) {
		sgx_sanitize_all(p);
	} else {
		ret = -pthread_create(&p->ksgxd_tsk, NULL, ksgxd, p);
		if (ret)
			goto err;
		p->ksgxd_running = true;
		/* Wait for sanitization so that callers see a usable EPC at once. */
		pthread_mutex_lock(&p->ksgxd_lock);
		while (!p->ksgxd_sanitized)
			pthread_cond_wait(&p->ksgxd_sanitized_cond, &p->ksgxd_lock);
		pthread_mutex_unlock(&p->ksgxd_lock);
	}
	*out = p;
	return 0;
err:
	platform_free(p);
	return ret;
}

int sgx_platform_destroy(struct sgx_platform *p)
{
	if (!p)
		return 0;
	sgx_release_deferred(p);
	if (atomic_load(&p->nr_encls))
		return -EBUSY;
	if (p->ksgxd_running) {
		pthread_mutex_lock(&p->ksgxd_lock);
		p->ksgxd_should_stop = true;
		pthread_cond_signal(&p->ksgxd_waitq);
		pthread_mutex_unlock(&p->ksgxd_lock);
		pthread_join(p->ksgxd_tsk, NULL);
		p->ksgxd_running = false;
	}
	platform_free(p);
	return 0;
}

struct sgx_cpu *sgx_platform_cpu(struct sgx_platform *p)
{
	return p->cpu;
}

// SPDX-License-Identifier: MIT
/* Counters for the monitor and the leak check (no kernel counterpart beyond sysfs/debug). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgx/encl.h"
#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"

void sgx_platform_get_stats(struct sgx_platform *p, struct sgx_platform_stats *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->total_pages = p->nr_total_pages;
	out->free_pages = (uint64_t)atomic_load(&p->sgx_nr_free_pages);
	out->nr_nodes = p->nr_numa_nodes;
	for (i = 0; i < p->nr_numa_nodes && i < 8; i++) {
		struct sgx_numa_node *node = &p->sgx_numa_nodes[i];

		pthread_mutex_lock(&node->lock);
		out->node[i].total_pages = node->size / SGX_PAGE_SIZE;
		out->node[i].free_pages = node->nr_free;
		out->node[i].poison_pages = node->nr_poison;
		pthread_mutex_unlock(&node->lock);
		out->free_list_pages += out->node[i].free_pages;
		out->poison_pages += out->node[i].poison_pages;
	}
	out->active_pages = (uint64_t)atomic_load(&p->cg_tree->root->subtree_reclaimable);
	out->used_pages = (uint64_t)atomic_load(&p->nr_used_pages);
	out->nr_encls = (uint64_t)atomic_load(&p->nr_encls);
	out->va_pages = atomic_load(&p->stats.va_pages);
	out->ewb = atomic_load(&p->stats.ewb);
	out->eldu = atomic_load(&p->stats.eldu);
	out->eaug = atomic_load(&p->stats.eaug);
	out->eadd = atomic_load(&p->stats.eadd);
	out->eremove = atomic_load(&p->stats.eremove);
	out->secs_ewb = atomic_load(&p->stats.secs_ewb);
	out->secs_eldu = atomic_load(&p->stats.secs_eldu);
	out->faults = atomic_load(&p->stats.faults);
	out->ksgxd_passes = atomic_load(&p->stats.ksgxd_passes);
	/* Direct reclaim includes the rounds a charge at a cgroup's limit reclaimed synchronously. */
	out->direct_reclaim_passes = atomic_load(&p->stats.direct_reclaim_passes) +
				     atomic_load(&p->cg_tree->stats.sync_reclaims);
	out->pages_reclaimed = atomic_load(&p->stats.pages_reclaimed);
	out->direct_reclaim_ns = atomic_load(&p->stats.direct_reclaim_ns);
	out->not_tracked_ipis = atomic_load(&p->stats.not_tracked_ipis);
	out->ewb_lost = atomic_load(&p->stats.ewb_lost);
	out->fault_retries = atomic_load(&p->stats.fault_retries);
	out->fault_sigbus = atomic_load(&p->stats.fault_sigbus);
	out->punches = atomic_load(&p->stats.punches);
	out->prot_fixups = atomic_load(&p->stats.prot_fixups);
	out->epcm_violations = atomic_load(&p->stats.epcm_violations);
	out->peak_used_pages = atomic_load(&p->stats.peak_used_pages);
}

void sgx_encl_get_stats(struct sgx_encl *encl, struct sgx_encl_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&encl->lock);
	out->resident_pages = encl->secs_child_cnt;
	out->evicted_pages = encl->nr_evicted;
	out->va_pages = encl->nr_va_pages;
	out->secs_resident = encl->secs.epc_page != NULL;
	out->page_cnt = encl->page_cnt;
	pthread_mutex_unlock(&encl->lock);
	out->ewb = atomic_load(&encl->stats.ewb);
	out->eldu = atomic_load(&encl->stats.eldu);
	out->eaug = atomic_load(&encl->stats.eaug);
	out->faults = atomic_load(&encl->stats.faults);
}

void sgx_encl_set_owner(struct sgx_encl *encl, int pid, long uid)
{
	atomic_store(&encl->owner_pid, pid);
	atomic_store(&encl->owner_uid, uid);
}

/* Under encl->lock: the counts agree with each other, and epc_cg cannot be swapped. */
static void encl_snapshot(struct sgx_encl *encl, struct sgx_encl_info *info)
{
	unsigned long flags;

	memset(info, 0, sizeof(*info));
	info->id = encl->list_id;
	info->owner_pid = atomic_load(&encl->owner_pid);
	info->owner_uid = atomic_load(&encl->owner_uid);
	pthread_mutex_lock(&encl->lock);
	info->base = encl->base;
	info->size = encl->size;
	info->resident_pages = encl->secs_child_cnt;
	info->va_pages = encl->nr_va_pages;
	info->secs_resident = encl->secs.epc_page != NULL;
	info->swapped_pages = encl->nr_evicted;
	info->page_cnt = encl->page_cnt;
	/* Names and parents never change and the enclave references its cgroup. */
	if (sgx_epc_cgroup_path(encl->epc_cg, info->cgroup, sizeof(info->cgroup)) < 0)
		snprintf(info->cgroup, sizeof(info->cgroup), "?");
	pthread_mutex_unlock(&encl->lock);
	info->epc_pages = info->resident_pages + info->va_pages + (info->secs_resident ? 1 : 0);
	flags = atomic_load(&encl->flags);
	info->created = flags & SGX_ENCL_CREATED;
	info->initialized = flags & SGX_ENCL_INITIALIZED;
	info->debug = flags & SGX_ENCL_DEBUG;
	info->no_memory = flags & SGX_ENCL_NO_MEMORY;
	info->sgx2 = encl->platform->sgx2;
	info->ewb = atomic_load(&encl->stats.ewb);
	info->eldu = atomic_load(&encl->stats.eldu);
	info->eaug = atomic_load(&encl->stats.eaug);
	info->faults = atomic_load(&encl->stats.faults);
}

int sgx_platform_for_each_encl(struct sgx_platform *p,
			       void (*fn)(void *arg, const struct sgx_encl_info *info), void *arg)
{
	struct sgx_encl_info *info = malloc(sizeof(*info));
	struct sgx_encl **v = NULL, *encl;
	size_t n = 0, cap;

	if (!info)
		return -ENOMEM;
	/*
	 * Only references under the list lock: an enclave's lock can be held
	 * for a whole EWB batch, and open/release must not wait for that.
	 * nr_encls is exact under the lock, so the array fits; allocated
	 * outside it, with a retry if enclaves came meanwhile.
	 */
	for (;;) {
		cap = (size_t)atomic_load(&p->nr_encls) + 8;
		free(v);
		v = malloc(cap * sizeof(*v));
		if (!v) {
			free(info);
			return -ENOMEM;
		}
		pthread_mutex_lock(&p->encl_list_lock);
		if ((size_t)atomic_load(&p->nr_encls) <= cap)
			break;
		pthread_mutex_unlock(&p->encl_list_lock);
	}
	list_for_each_entry(encl, &p->encl_list, platform_list)
		if (sgx_encl_get(encl))		/* refcount 0: being released, not listed */
			v[n++] = encl;
	pthread_mutex_unlock(&p->encl_list_lock);

	for (size_t i = 0; i < n; i++) {
		encl_snapshot(v[i], info);
		/* May be the last reference: released here, in process context. */
		sgx_encl_put(v[i]);
		fn(arg, info);
	}
	free(v);
	free(info);
	return 0;
}

/* Node locks taken in node order, so the snapshot is consistent against free/alloc. */
bool sgx_platform_free_count_consistent(struct sgx_platform *p)
{
	unsigned long sum = 0;
	unsigned int i;
	bool ok;

	for (i = 0; i < p->nr_numa_nodes; i++)
		pthread_mutex_lock(&p->sgx_numa_nodes[i].lock);
	for (i = 0; i < p->nr_numa_nodes; i++)
		sum += p->sgx_numa_nodes[i].nr_free;
	ok = (long)sum == atomic_load(&p->sgx_nr_free_pages);
	for (i = p->nr_numa_nodes; i-- > 0;)
		pthread_mutex_unlock(&p->sgx_numa_nodes[i].lock);
	return ok;
}

/* The first cgroup with a charge or a page on its lists (every one must be empty at idle). */
struct cg_idle {
	struct sgx_epc_cgroup *bad;
	char path[256];
	uint64_t usage;
	long nr_reclaimable, nr_unreclaimable;
};

static void cg_idle_fn(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth)
{
	struct cg_idle *c = arg;

	(void)depth;
	if (c->bad)
		return;
	if (atomic_load(&cg->usage) || atomic_load(&cg->lru.nr_reclaimable) ||
	    atomic_load(&cg->lru.nr_unreclaimable) || atomic_load(&cg->subtree_reclaimable)) {
		c->bad = cg;
		if (sgx_epc_cgroup_path(cg, c->path, sizeof(c->path)) < 0)
			snprintf(c->path, sizeof(c->path), "(long path)");
		c->usage = atomic_load(&cg->usage);
		c->nr_reclaimable = atomic_load(&cg->lru.nr_reclaimable);
		c->nr_unreclaimable = atomic_load(&cg->lru.nr_unreclaimable);
	}
}

int sgx_platform_check_idle(struct sgx_platform *p, char *buf, unsigned long len)
{
	unsigned long counted_free = 0, counted_poison = 0, listed;
	struct cg_idle cgc;
	struct sgx_epc_page *page;
	unsigned int i;
	uint64_t j;

#define IDLE_FAIL(...) do { if (buf && len) snprintf(buf, len, __VA_ARGS__); return -1; } while (0)
	/* Enclaves whose last reference went in a fault handler are released now. */
	sgx_release_deferred(p);
	if (atomic_load(&p->nr_encls))
		IDLE_FAIL("%ld enclaves still open", atomic_load(&p->nr_encls));
	cgc = (struct cg_idle){ .bad = NULL };
	sgx_epc_cgroup_walk(p->cg_tree, cg_idle_fn, &cgc);
	if (cgc.bad)
		IDLE_FAIL("EPC cgroup %s: %llu bytes charged, %ld + %ld pages on its LRUs",
			  cgc.path, (unsigned long long)cgc.usage, cgc.nr_reclaimable,
			  cgc.nr_unreclaimable);
	if (atomic_load(&p->nr_used_pages))
		IDLE_FAIL("%ld EPC pages in use", atomic_load(&p->nr_used_pages));
	if (!list_empty(&p->sgx_dirty_page_list))
		IDLE_FAIL("pages left on the dirty list");
	if (atomic_load(&p->stats.va_pages))
		IDLE_FAIL("%lu VA pages left", atomic_load(&p->stats.va_pages));
	if (p->encl_page_pool.nr_in_use || p->va_page_pool.nr_in_use ||
	    p->xa_node_pool.nr_in_use)
		IDLE_FAIL("pool objects left: %lu enclave pages, %lu VA pages, %lu xa nodes",
			  p->encl_page_pool.nr_in_use, p->va_page_pool.nr_in_use,
			  p->xa_node_pool.nr_in_use);

	for (i = 0; i < p->nr_numa_nodes; i++) {
		struct sgx_numa_node *node = &p->sgx_numa_nodes[i];

		pthread_mutex_lock(&node->lock);
		listed = 0;
		list_for_each_entry(page, &node->free_page_list, list) {
			if (page->flags != SGX_EPC_PAGE_IS_FREE || page->owner || page->poison) {
				pthread_mutex_unlock(&node->lock);
				IDLE_FAIL("bad page on node %u free list", i);
			}
			listed++;
		}
		if (listed != node->nr_free) {
			pthread_mutex_unlock(&node->lock);
			IDLE_FAIL("node %u: %lu pages listed, %lu counted", i, listed,
				  node->nr_free);
		}
		counted_free += node->nr_free;
		listed = 0;
		list_for_each_entry(page, &node->sgx_poison_page_list, list)
			listed++;
		counted_poison += listed;
		pthread_mutex_unlock(&node->lock);
	}
	if ((long)counted_free != atomic_load(&p->sgx_nr_free_pages))
		IDLE_FAIL("free count %ld != free lists %lu", atomic_load(&p->sgx_nr_free_pages),
			  counted_free);
	if (counted_free + counted_poison != p->nr_total_pages)
		IDLE_FAIL("free %lu + poison %lu != capacity %lu", counted_free, counted_poison,
			  (unsigned long)p->nr_total_pages);

	/* Every frame free in the EPCM, every descriptor on a free/poison list. */
	for (i = 0; i < p->sgx_nr_epc_sections; i++) {
		struct sgx_epc_section *s = &p->sgx_epc_sections[i];

		for (j = 0; j < s->nr_pages; j++) {
			struct sgx_epcm_info info;

			page = &s->pages[j];
			if (!(page->flags & SGX_EPC_PAGE_IS_FREE) && !page->poison)
				IDLE_FAIL("EPC page %u:%lu not free", i, (unsigned long)j);
			if (sgx_epcm_read(p->cpu, sgx_get_epc_virt_addr(p, page), &info) == 0 &&
			    info.valid)
				IDLE_FAIL("EPCM entry %u:%lu still valid (type %u)", i,
					  (unsigned long)j, info.page_type);
		}
	}
	return 0;
#undef IDLE_FAIL
}

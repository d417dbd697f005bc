// SPDX-License-Identifier: MIT
/*
 * Per-cgroup LRUs (v4: a reclaimable and an unreclaimable list per cgroup),
 * the v16 round-robin walk that reclaims from a subtree one cgroup at a time
 * so that no descendant starves, and the v4 OOM victim scan.
 */
#include <errno.h>
#include <stdlib.h>

#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"

/* Not-created enclaves passed over by one OOM scan before giving up. */
#define SGX_EPC_OOM_MAX_SKIP	16

/* Under cg->lru.lock: keeps every ancestor's subtree count in step with the list. */
static void subtree_reclaimable_add(struct sgx_epc_cgroup *cg, long n)
{
	struct sgx_epc_cgroup *i;

	atomic_fetch_add(&cg->lru.nr_reclaimable, n);
	for (i = cg; i; i = i->parent)
		atomic_fetch_add(&i->subtree_reclaimable, n);
}

void sgx_epc_cgroup_lru_add(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page,
			    bool reclaimable)
{
	struct sgx_epc_lru_lists *lru = &cg->lru;

	pthread_mutex_lock(&lru->lock);
	if (reclaimable) {
		page->flags |= SGX_EPC_PAGE_RECLAIMER_TRACKED;
		list_add_tail(&page->list, &lru->reclaimable);
		subtree_reclaimable_add(cg, 1);
	} else {
		page->flags |= SGX_EPC_PAGE_CG_UNRECLAIMABLE;
		list_add_tail(&page->list, &lru->unreclaimable);
		atomic_fetch_add(&lru->nr_unreclaimable, 1);
	}
	pthread_mutex_unlock(&lru->lock);
}

int sgx_epc_cgroup_lru_del(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page)
{
	struct sgx_epc_lru_lists *lru = &cg->lru;
	int ret = 0;

	pthread_mutex_lock(&lru->lock);
	if (page->flags & SGX_EPC_PAGE_RECLAIMER_TRACKED) {
		if (list_empty(&page->list)) {
			ret = -EBUSY;	/* isolated: the reclaimer owns it */
		} else {
			list_del_init(&page->list);
			subtree_reclaimable_add(cg, -1);
			page->flags &= ~SGX_EPC_PAGE_RECLAIMER_TRACKED;
		}
	} else if (page->flags & SGX_EPC_PAGE_CG_UNRECLAIMABLE) {
		/* The OOM scan may have unlinked it already (self-linked then). */
		if (!list_empty(&page->list)) {
			list_del_init(&page->list);
			atomic_fetch_sub(&lru->nr_unreclaimable, 1);
		}
		page->flags &= ~SGX_EPC_PAGE_CG_UNRECLAIMABLE;
	}
	pthread_mutex_unlock(&lru->lock);
	return ret;
}

unsigned int sgx_epc_cgroup_isolate_pages(struct sgx_epc_cgroup *cg, unsigned int nr,
					  struct sgx_epc_page **chunk,
					  unsigned int *nr_isolated)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	struct sgx_epc_lru_lists *lru = &cg->lru;
	unsigned int examined = 0, n = 0;

	if (nr > SGX_NR_TO_SCAN_MAX)
		nr = SGX_NR_TO_SCAN_MAX;
	pthread_mutex_lock(&lru->lock);
	while (examined < nr && !list_empty(&lru->reclaimable)) {
		struct sgx_epc_page *page = list_first_entry(&lru->reclaimable,
							     struct sgx_epc_page, list);

		list_del_init(&page->list);
		subtree_reclaimable_add(cg, -1);
		examined++;
		if (tree->ops.page_get_encl && tree->ops.page_get_encl(tree->ops_arg, page))
			chunk[n++] = page;
		else
			/* The enclave is being released: its release frees the page. */
			page->flags &= ~SGX_EPC_PAGE_RECLAIMER_TRACKED;
	}
	pthread_mutex_unlock(&lru->lock);
	*nr_isolated = n;
	return examined;
}

void sgx_epc_cgroup_lru_putback(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page)
{
	pthread_mutex_lock(&cg->lru.lock);
	list_add_tail(&page->list, &cg->lru.reclaimable);
	subtree_reclaimable_add(cg, 1);
	pthread_mutex_unlock(&cg->lru.lock);
}

void sgx_epc_cgroup_lru_done(struct sgx_epc_cgroup *cg, struct sgx_epc_page *page)
{
	/* Before the page is freed and its enclave can go: release must not see it tracked. */
	pthread_mutex_lock(&cg->lru.lock);
	page->flags &= ~SGX_EPC_PAGE_RECLAIMER_TRACKED;
	pthread_mutex_unlock(&cg->lru.lock);
}

bool sgx_epc_cgroup_lru_empty(struct sgx_epc_cgroup *cg)
{
	return atomic_load(&cg->subtree_reclaimable) <= 0;
}

struct sgx_epc_cgroup *sgx_epc_cgroup_next_get(struct sgx_epc_cgroup *root)
{
	struct sgx_epc_cg_tree *tree = root->tree;
	struct sgx_epc_cgroup *pos;

	pthread_rwlock_rdlock(&tree->tree_lock);
	pthread_mutex_lock(&root->next_cg_lock);
	/*
	 * The cursor is always a live member of root's subtree: rmdir moves
	 * every ancestor's cursor past the cgroup it removes. A removed root
	 * has no children, so its walk is itself.
	 */
	pos = root->next_cg ? root->next_cg : root;
	sgx_epc_cgroup_get(pos);
	root->next_cg = sgx_epc_cgroup_next_pre(pos, root);
	pthread_mutex_unlock(&root->next_cg_lock);
	pthread_rwlock_unlock(&tree->tree_lock);
	return pos;
}

unsigned int sgx_epc_cgroup_reclaim_pages(struct sgx_epc_cgroup *root, unsigned int nr,
					  bool ignore_age)
{
	struct sgx_epc_cg_tree *tree = root->tree;
	unsigned int scanned = 0;
	long idle = 0;

	if (!tree->ops.reclaim_lru)
		return 0;
	while (!sgx_epc_cgroup_lru_empty(root) && scanned < nr) {
		struct sgx_epc_cgroup *cg = sgx_epc_cgroup_next_get(root);
		unsigned int n = 0;

		if (atomic_load(&cg->lru.nr_reclaimable) > 0)
			n = tree->ops.reclaim_lru(tree->ops_arg, cg, SGX_NR_TO_SCAN, ignore_age);
		sgx_epc_cgroup_put(cg);
		scanned += n;
		/*
		 * A full round finding nothing on any list (pages appear in the
		 * subtree count only while listed, but a racing isolator can
		 * empty a list between the check and the call): stop, never spin.
		 */
		if (n)
			idle = 0;
		else if (++idle > atomic_load(&tree->nr_cgroups) + 1)
			break;
	}
	return scanned;
}

/*
 * One cgroup's unreclaimable list: the first page whose enclave can be
 * referenced, passing over 'skip' such candidates. Pages of dying enclaves
 * are unlinked as the v4 scan does. Candidates' references are returned in
 * held[] (so that none is dropped under the LRU lock: the last put may free
 * the enclave, whose release takes this lock); the count is the return.
 */
static unsigned int oom_candidates(struct sgx_epc_cgroup *cg, unsigned int skip, void **held)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	struct sgx_epc_page *page, *tmp;
	unsigned int n = 0;

	pthread_mutex_lock(&cg->lru.lock);
	list_for_each_entry_safe(page, tmp, &cg->lru.unreclaimable, list) {
		void *encl = tree->ops.page_get_encl(tree->ops_arg, page);

		if (!encl) {
			list_del_init(&page->list);
			atomic_fetch_sub(&cg->lru.nr_unreclaimable, 1);
			continue;
		}
		held[n++] = encl;
		if (n > skip)
			break;
	}
	pthread_mutex_unlock(&cg->lru.lock);
	return n;
}

static enum sgx_epc_oom_result sgx_epc_oom(struct sgx_epc_cgroup *cg)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	void *held[SGX_EPC_OOM_MAX_SKIP + 1];
	enum sgx_epc_oom_result res = SGX_EPC_OOM_SKIPPED;
	unsigned int skip, n, i;

	for (skip = 0; skip <= SGX_EPC_OOM_MAX_SKIP; skip++) {
		n = oom_candidates(cg, skip, held);
		if (n > skip)
			res = tree->ops.oom_encl(tree->ops_arg, held[skip]);
		for (i = 0; i < n; i++)
			tree->ops.encl_put(tree->ops_arg, held[i]);
		if (n <= skip || res != SGX_EPC_OOM_SKIPPED)
			break;
	}
	return res;
}

enum sgx_epc_oom_result sgx_epc_cgroup_oom(struct sgx_epc_cgroup *root)
{
	struct sgx_epc_cg_tree *tree = root->tree;
	enum sgx_epc_oom_result res = SGX_EPC_OOM_SKIPPED;
	struct sgx_epc_cgroup **snap, *pos;
	size_t n = 0, cap, i;

	if (!tree->ops.page_get_encl || !tree->ops.encl_put || !tree->ops.oom_encl)
		return SGX_EPC_OOM_SKIPPED;
	/*
	 * A referenced snapshot of the subtree in pre-order: the OOM action
	 * zaps and drains address spaces, which must not run under tree_lock.
	 */
	pthread_rwlock_rdlock(&tree->tree_lock);
	cap = (size_t)atomic_load(&tree->nr_cgroups) + 1;
	snap = malloc(cap * sizeof(*snap));
	if (snap) {
		for (pos = root; pos && n < cap; pos = sgx_epc_cgroup_next_pre(pos, root)) {
			sgx_epc_cgroup_get(pos);
			snap[n++] = pos;
		}
	}
	pthread_rwlock_unlock(&tree->tree_lock);
	if (!snap)
		return SGX_EPC_OOM_SKIPPED;

	for (i = 0; i < n && res == SGX_EPC_OOM_SKIPPED; i++)
		res = sgx_epc_oom(snap[i]);
	for (i = 0; i < n; i++)
		sgx_epc_cgroup_put(snap[i]);
	free(snap);
	return res;
}

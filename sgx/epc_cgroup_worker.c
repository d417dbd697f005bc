// SPDX-License-Identifier: MIT
/*
 * Charging one EPC page (the series' try_charge loop) and the asynchronous
 * reclaim worker (the kernel's sgx_cg_wq): one thread per tree serving a
 * lock-free queue of cgroups, so that the fault path, which runs in a signal
 * handler, can queue work with atomics and sem_post() only.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"

/*
 * try_charge gives up with -ENOMEM after this many synchronous rounds that
 * did not let the charge through (the kernel loops until a signal; we must
 * never hang a caller whose competitors take every page it frees).
 */
#define SGX_EPC_CHARGE_MAX_ROUNDS	1024
/* The worker stops on a cgroup after this many batches without progress. */
#define SGX_EPC_WORK_MAX_FAILS		64
/* How long the worker waits before looking again at a draining victim. */
#define SGX_EPC_OOM_DRAIN_WAIT_NS	2000000L

static bool cg_signal_pending(struct sgx_epc_cg_tree *tree)
{
	return tree->ops.signal_pending && tree->ops.signal_pending(tree->ops_arg);
}

int sgx_epc_cgroup_try_charge(struct sgx_epc_cgroup *cg, enum sgx_reclaim reclaim)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	unsigned int rounds;

	for (rounds = 0; rounds < SGX_EPC_CHARGE_MAX_ROUNDS; rounds++) {
		struct sgx_epc_cgroup *failed = NULL;
		int ret = sgx_misc_cg_try_charge(cg, SGX_EPC_CG_PAGE_SIZE, &failed);

		if (!ret) {
			sgx_epc_cgroup_get(cg);		/* the page's reference */
			return 0;
		}
		if (ret != -EBUSY)
			return ret;
		/*
		 * The level whose limit refused the charge (cg or an ancestor,
		 * pinned by cg's reference chain) is the subtree to reclaim
		 * from: the kernel looks at cg's own subtree only, which fails
		 * with -ENOMEM when a sibling holds the pages.
		 */
		if (sgx_epc_cgroup_lru_empty(failed))
			return -ENOMEM;
		if (cg_signal_pending(tree))
			return -ERESTARTSYS;
		if (reclaim == SGX_NO_RECLAIM) {
			sgx_epc_cgroup_queue_reclaim(failed);
			return -EBUSY;
		}
		atomic_fetch_add(&tree->stats.sync_reclaims, 1);
		sgx_epc_cgroup_reclaim_pages(failed, 1,
					     rounds > SGX_EPC_RECLAIM_IGNORE_AGE_THRESHOLD);
		sched_yield();
	}
	return -ENOMEM;
}

void sgx_epc_cgroup_uncharge(struct sgx_epc_cgroup *cg)
{
	sgx_misc_cg_uncharge(cg, SGX_EPC_CG_PAGE_SIZE);
	sgx_epc_cgroup_put(cg);
}

void sgx_epc_cgroup_queue_reclaim(struct sgx_epc_cgroup *cg)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	struct sgx_epc_cgroup *old;

	/* Queued at most once: the bit is cleared when the worker takes it. */
	if (atomic_exchange(&cg->work_queued, true))
		return;
	sgx_epc_cgroup_get(cg);		/* the queue's reference */
	old = atomic_load(&tree->work_head);
	do {
		cg->work_next = old;
	} while (!atomic_compare_exchange_weak(&tree->work_head, &old, cg));
	sem_post(&tree->work_sem);
}

bool sgx_epc_cgroup_should_reclaim(struct sgx_epc_cgroup *cg)
{
	uint64_t max, cur;

	if (sgx_epc_cgroup_lru_empty(cg))
		return false;
	max = sgx_epc_cgroup_effective_max(cg) / SGX_EPC_CG_PAGE_SIZE;
	/* Unless the limit is very low, reclaim a little below it: fewer wake-ups. */
	if (max > SGX_CG_LOW_LIMIT)
		max -= SGX_CG_MIN_FREE_PAGE;
	cur = atomic_load(&cg->usage) / SGX_EPC_CG_PAGE_SIZE;
	return cur >= max;
}

/* An OOM kill counts as a failure of the limit it enforces, like a refused charge. */
static void count_oom_event(struct sgx_epc_cgroup *cg)
{
	struct sgx_epc_cgroup *i;

	for (i = cg; i; i = i->parent)
		atomic_fetch_add(&i->events, 1);
	atomic_fetch_add(&cg->events_local, 1);
}

/*
 * The worker's body for one cgroup. Returns true when it must look again
 * later: a victim was just killed or is still draining, and its pages come
 * back only when its last reference goes.
 */
static bool reclaim_work(struct sgx_epc_cgroup *cg)
{
	struct sgx_epc_cg_tree *tree = cg->tree;
	unsigned int fails = 0;

	atomic_fetch_add(&tree->stats.worker_runs, 1);
	while (!atomic_load(&tree->work_stop)) {
		if (sgx_epc_cgroup_should_reclaim(cg)) {
			uint64_t before = atomic_load(&cg->usage);

			sgx_epc_cgroup_reclaim_pages(cg, SGX_NR_TO_SCAN,
						     fails > SGX_EPC_RECLAIM_IGNORE_AGE_THRESHOLD);
			atomic_fetch_add(&tree->stats.worker_reclaimed_batches, 1);
			fails = atomic_load(&cg->usage) < before ? 0 : fails + 1;
			if (fails > SGX_EPC_WORK_MAX_FAILS)
				return false;
			sched_yield();
			continue;
		}
		/*
		 * v4's OOM path: over the limit (it was lowered under the
		 * usage) with nothing left to reclaim. Being merely at the
		 * limit kills nobody: allocations just fail.
		 */
		if (tree->oom_policy != SGX_EPC_OOM_KILL || !sgx_epc_cgroup_lru_empty(cg) ||
		    atomic_load(&cg->usage) <= sgx_epc_cgroup_effective_max(cg))
			return false;
		switch (sgx_epc_cgroup_oom(cg)) {
		case SGX_EPC_OOM_KILLED:
			atomic_fetch_add(&tree->stats.oom_kills, 1);
			count_oom_event(cg);
			return true;
		case SGX_EPC_OOM_DRAINING:
			atomic_fetch_add(&tree->stats.oom_draining_waits, 1);
			return true;
		case SGX_EPC_OOM_SKIPPED:
			return false;
		}
	}
	return false;
}

void sgx_epc_cgroup_reclaim_work_func(struct sgx_epc_cgroup *cg)
{
	if (reclaim_work(cg))
		sgx_epc_cgroup_queue_reclaim(cg);
}

/*
 * Takes the whole queue and runs it oldest first. Returns how many items
 * ran; *again tells that one of them asked to be looked at later.
 */
static unsigned int run_queue(struct sgx_epc_cg_tree *tree, bool *again)
{
	struct sgx_epc_cgroup *list = atomic_exchange(&tree->work_head, NULL);
	struct sgx_epc_cgroup *fifo = NULL, *cg, *next;
	unsigned int n = 0;

	for (cg = list; cg; cg = next) {
		next = cg->work_next;
		cg->work_next = fifo;
		fifo = cg;
	}
	for (cg = fifo; cg; cg = next) {
		next = cg->work_next;
		/* Cleared first: a charge failing from now on queues it again. */
		atomic_store(&cg->work_queued, false);
		if (reclaim_work(cg)) {
			*again = true;
			sgx_epc_cgroup_queue_reclaim(cg);
		}
		sgx_epc_cgroup_put(cg);
		n++;
	}
	return n;
}

unsigned int sgx_epc_cgroup_run_queued(struct sgx_epc_cg_tree *tree)
{
	bool again = false;

	return run_queue(tree, &again);
}

static void *sgx_epc_cg_worker(void *arg)
{
	struct sgx_epc_cg_tree *tree = arg;
	bool again = false;

	for (;;) {
		while (sem_wait(&tree->work_sem) && errno == EINTR)
			;
		if (atomic_load(&tree->work_stop))
			break;
		if (again) {
			struct timespec ts = { 0, SGX_EPC_OOM_DRAIN_WAIT_NS };

			/* A victim is draining: give its owner time to let go. */
			nanosleep(&ts, NULL);
			again = false;
		}
		run_queue(tree, &again);
	}
	return NULL;
}

int sgx_epc_cg_worker_start(struct sgx_epc_cg_tree *tree)
{
	int ret = pthread_create(&tree->worker, NULL, sgx_epc_cg_worker, tree);

	if (ret)
		return -ret;
	tree->worker_running = true;
	return 0;
}

void sgx_epc_cg_worker_stop(struct sgx_epc_cg_tree *tree)
{
	struct sgx_epc_cgroup *cg, *next;

	atomic_store(&tree->work_stop, true);
	if (tree->worker_running) {
		sem_post(&tree->work_sem);
		pthread_join(tree->worker, NULL);
		tree->worker_running = false;
	}
	/* Whatever is still queued only holds references. */
	for (cg = atomic_exchange(&tree->work_head, NULL); cg; cg = next) {
		next = cg->work_next;
		atomic_store(&cg->work_queued, false);
		sgx_epc_cgroup_put(cg);
	}
}

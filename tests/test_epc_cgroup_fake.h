/* SPDX-License-Identifier: MIT */
/*
 * Fake pages and fake enclaves for the EPC cgroup tests: the controller's
 * ops implemented the way the EPC manager will implement them, minus the
 * CPU. A fake page is resident (charged, on an LRU) until its owner frees
 * it or the fake reclaimer "writes it back" (uncharges it).
 */
#ifndef SGXEMU_TEST_EPC_CGROUP_FAKE_H
#define SGXEMU_TEST_EPC_CGROUP_FAKE_H

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sgx/epc_cgroup.h"

#define PG	SGX_EPC_CG_PAGE_SIZE
#define FAKE_MAX_CGS	16

struct fake_encl {
	atomic_long refs;	/* 0: dying, get fails */
	bool not_created;
	atomic_bool marked;	/* SGX_ENCL_NO_MEMORY */
	atomic_int oom_calls;
};

/*
 * FREE/EVICTED: the owner's; RESIDENT: charged and listed; FREEING/RECLAIMING:
 * the owner or the reclaimer works on it (what encl->lock does in the manager).
 */
enum fake_page_state { FP_FREE, FP_RESIDENT, FP_EVICTED, FP_FREEING, FP_RECLAIMING };

struct fake_page {
	struct sgx_epc_page page;	/* owner = struct fake_encl * */
	struct sgx_epc_cgroup *cg;
	atomic_int state;
};

struct fake_env {
	struct sgx_epc_cg_tree *tree;
	/* cgroups whose visits by the reclaimer are counted */
	struct sgx_epc_cgroup *cgs[FAKE_MAX_CGS];
	atomic_int visits[FAKE_MAX_CGS];
	atomic_long reclaimed;
	atomic_bool signal;
};

static inline struct fake_page *to_fake(struct sgx_epc_page *p)
{
	return container_of(p, struct fake_page, page);
}

static inline void *fake_page_get_encl(void *arg, struct sgx_epc_page *page)
{
	struct fake_encl *e = page->owner;
	long old = atomic_load(&e->refs);

	while (old > 0) {
		if (atomic_compare_exchange_weak(&e->refs, &old, old + 1))
			return e;
	}
	return NULL;
}

static inline void fake_encl_put(void *arg, void *encl)
{
	struct fake_encl *e = encl;

	atomic_fetch_sub(&e->refs, 1);
}

/* Writes back everything it isolates (ages nothing): one page = one uncharge. */
static inline unsigned int fake_reclaim_lru(void *arg, struct sgx_epc_cgroup *cg,
					    unsigned int nr, bool ignore_age)
{
	struct fake_env *env = arg;
	struct sgx_epc_page *chunk[SGX_NR_TO_SCAN_MAX];
	unsigned int n, i, examined;

	for (i = 0; i < FAKE_MAX_CGS; i++) {
		if (env->cgs[i] == cg)
			atomic_fetch_add(&env->visits[i], 1);
	}
	examined = sgx_epc_cgroup_isolate_pages(cg, nr, chunk, &n);
	for (i = 0; i < n; i++) {
		struct fake_page *fp = to_fake(chunk[i]);
		struct fake_encl *e = chunk[i]->owner;

		int expect = FP_RESIDENT;

		/* An owner in fake_page_free() backs off at once: lru_del is -EBUSY. */
		while (!atomic_compare_exchange_weak(&fp->state, &expect, FP_RECLAIMING)) {
			expect = FP_RESIDENT;
			sched_yield();
		}
		sgx_epc_cgroup_lru_done(cg, chunk[i]);
		sgx_epc_cgroup_uncharge(fp->cg);
		atomic_store(&fp->state, FP_EVICTED);
		fake_encl_put(env, e);
		atomic_fetch_add(&env->reclaimed, 1);
	}
	return examined;
}

static inline enum sgx_epc_oom_result fake_oom_encl(void *arg, void *encl)
{
	struct fake_encl *e = encl;

	atomic_fetch_add(&e->oom_calls, 1);
	if (e->not_created)
		return SGX_EPC_OOM_SKIPPED;
	if (atomic_exchange(&e->marked, true))
		return SGX_EPC_OOM_DRAINING;
	return SGX_EPC_OOM_KILLED;
}

static inline bool fake_signal_pending(void *arg)
{
	struct fake_env *env = arg;

	return atomic_load(&env->signal);
}

static const struct sgx_epc_cgroup_ops fake_ops = {
	.page_get_encl = fake_page_get_encl,
	.encl_put = fake_encl_put,
	.reclaim_lru = fake_reclaim_lru,
	.oom_encl = fake_oom_encl,
	.signal_pending = fake_signal_pending,
};

static inline int fake_env_init(struct fake_env *env, uint64_t capacity_pages,
				enum sgx_epc_oom_policy policy, bool worker)
{
	struct sgx_epc_cg_tree_config c = {
		.capacity = capacity_pages * PG,
		.oom_policy = policy,
		.ops = &fake_ops,
		.ops_arg = env,
		.no_worker = !worker,
	};

	memset(env, 0, sizeof(*env));
	return sgx_epc_cg_tree_create(&c, &env->tree);
}

static inline void fake_page_init(struct fake_page *fp, struct fake_encl *e)
{
	memset(fp, 0, sizeof(*fp));
	INIT_LIST_HEAD(&fp->page.list);
	fp->page.owner = e;
}

/* Charge cg for the page and record it on cg's LRU, as sgx_alloc_epc_page() will. */
static inline int fake_page_alloc(struct fake_page *fp, struct sgx_epc_cgroup *cg,
				  bool reclaimable, enum sgx_reclaim reclaim)
{
	int ret = sgx_epc_cgroup_try_charge(cg, reclaim);

	if (ret)
		return ret;
	fp->cg = cg;
	atomic_store(&fp->state, FP_RESIDENT);
	sgx_epc_cgroup_lru_add(cg, &fp->page, reclaimable);
	return 0;
}

/* The owner frees its page: -EBUSY if a reclaimer holds it (it will uncharge it). */
static inline int fake_page_free(struct fake_page *fp)
{
	int expect = FP_RESIDENT, ret;

	if (!atomic_compare_exchange_strong(&fp->state, &expect, FP_FREEING))
		return -EBUSY;
	ret = sgx_epc_cgroup_lru_del(fp->cg, &fp->page);
	if (ret) {
		atomic_store(&fp->state, FP_RESIDENT);
		return ret;
	}
	atomic_store(&fp->state, FP_FREE);
	sgx_epc_cgroup_uncharge(fp->cg);
	return 0;
}

static inline int fake_mkdir_get(struct fake_env *env, const char *path,
				 struct sgx_epc_cgroup **out)
{
	struct sgx_epc_cgroup *cg;
	int ret = sgx_epc_cgroup_mkdir(env->tree, path);

	if (ret)
		return ret;
	cg = sgx_epc_cgroup_lookup(env->tree, path);
	if (IS_ERR(cg))
		return (int)PTR_ERR(cg);
	*out = cg;
	return 0;
}

static inline uint64_t cg_usage_pages(struct sgx_epc_cgroup *cg)
{
	return atomic_load(&cg->usage) / PG;
}

#endif /* SGXEMU_TEST_EPC_CGROUP_FAKE_H */

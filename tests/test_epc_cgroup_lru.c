// SPDX-License-Identifier: MIT
/* Per-cgroup LRUs, the round-robin reclaim walk, the OOM path and the worker. */
#include <string.h>
#include <time.h>

#include "sgx/internal.h"
#include "tests/harness.h"
#include "tests/test_epc_cgroup_fake.h"

static int wr(struct fake_env *env, const char *path, const char *text)
{
	return sgx_epc_cgroup_write(env->tree, path, "misc.max", text, strlen(text));
}

TEST(epc_cg_lru_states)
{
	struct fake_env env;
	struct fake_encl live = { .refs = 1 }, dead = { .refs = 0 };
	struct fake_page pg[4];
	struct sgx_epc_page *chunk[SGX_NR_TO_SCAN_MAX];
	struct sgx_epc_cgroup *a = NULL, *b = NULL;
	unsigned int n;

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a/b", &b), 0);
	fake_page_init(&pg[0], &live);
	fake_page_init(&pg[1], &dead);
	fake_page_init(&pg[2], &live);
	fake_page_init(&pg[3], &live);
	CHECK(sgx_epc_cgroup_lru_empty(env.tree->root));
	REQUIRE_EQ(fake_page_alloc(&pg[0], b, true, SGX_DO_RECLAIM), 0);
	REQUIRE_EQ(fake_page_alloc(&pg[1], b, true, SGX_DO_RECLAIM), 0);
	REQUIRE_EQ(fake_page_alloc(&pg[2], b, true, SGX_DO_RECLAIM), 0);
	REQUIRE_EQ(fake_page_alloc(&pg[3], a, false, SGX_DO_RECLAIM), 0);
	CHECK(pg[0].page.flags & SGX_EPC_PAGE_RECLAIMER_TRACKED);
	CHECK(pg[3].page.flags & SGX_EPC_PAGE_CG_UNRECLAIMABLE);
	CHECK_EQ(atomic_load(&b->subtree_reclaimable), 3);
	CHECK_EQ(atomic_load(&a->subtree_reclaimable), 3);
	CHECK_EQ(atomic_load(&env.tree->root->subtree_reclaimable), 3);
	CHECK(sgx_epc_cgroup_lru_empty(env.tree->root) == false);
	CHECK_EQ(atomic_load(&a->lru.nr_unreclaimable), 1);

	/* Isolate two: pg0 (live: in progress), pg1 (dying enclave: dropped). */
	CHECK_EQ(sgx_epc_cgroup_isolate_pages(b, 2, chunk, &n), 2);
	REQUIRE_EQ(n, 1);
	CHECK(chunk[0] == &pg[0].page);
	CHECK_EQ(atomic_load(&live.refs), 2);
	CHECK_EQ(atomic_load(&a->subtree_reclaimable), 1);
	CHECK_EQ(sgx_epc_cgroup_lru_del(b, &pg[0].page), -EBUSY);	/* reclaimer owns it */
	CHECK(!(pg[1].page.flags & SGX_EPC_PAGE_RECLAIMER_TRACKED));
	CHECK_EQ(sgx_epc_cgroup_lru_del(b, &pg[1].page), 0);		/* on no list: fine */
	sgx_epc_cgroup_uncharge(b);
	/* Put back at the tail: behind pg2. */
	sgx_epc_cgroup_lru_putback(b, &pg[0].page);
	fake_encl_put(&env, &live);
	CHECK(list_first_entry(&b->lru.reclaimable, struct sgx_epc_page, list) == &pg[2].page);
	CHECK_EQ(atomic_load(&env.tree->root->subtree_reclaimable), 2);
	CHECK_EQ(fake_page_free(&pg[0]), 0);
	CHECK_EQ(fake_page_free(&pg[2]), 0);
	CHECK_EQ(fake_page_free(&pg[3]), 0);
	CHECK(!pg[3].page.flags);
	CHECK(sgx_epc_cgroup_lru_empty(env.tree->root));
	CHECK_EQ(atomic_load(&a->lru.nr_unreclaimable), 0);
	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);

	sgx_epc_cgroup_put(a);
	sgx_epc_cgroup_put(b);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

#define RR_CGS		5
#define RR_PAGES	64

/* Round-robin over the subtree: every cgroup with pages gets its batch in turn. */
TEST(epc_cg_round_robin_fairness)
{
	static const char *const paths[RR_CGS] = { "/", "/a", "/a/b", "/c", "/c/d" };
	static struct fake_page pg[RR_CGS][RR_PAGES];
	struct fake_encl e = { .refs = 1 };
	struct sgx_epc_cgroup *e_cg = NULL, *next = NULL;
	struct fake_env env;
	int i, j, round;

	REQUIRE_EQ(fake_env_init(&env, 1024, SGX_EPC_OOM_KILL, false), 0);
	for (i = 0; i < RR_CGS; i++) {
		if (i)
			REQUIRE_EQ(sgx_epc_cgroup_mkdir(env.tree, paths[i]), 0);
		env.cgs[i] = sgx_epc_cgroup_lookup(env.tree, paths[i]);
		REQUIRE(!IS_ERR(env.cgs[i]));
		for (j = 0; j < RR_PAGES; j++) {
			fake_page_init(&pg[i][j], &e);
			REQUIRE_EQ(fake_page_alloc(&pg[i][j], env.cgs[i], true, SGX_DO_RECLAIM),
				   0);
		}
	}
	/* Young "/" with a busy LRU does not starve anybody: 1 batch each per round. */
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < RR_CGS; i++)
			CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.tree->root, 1, false),
				 SGX_NR_TO_SCAN);
		for (i = 0; i < RR_CGS; i++)
			CHECK_EQ(atomic_load(&env.visits[i]), round);
	}
	/* A subtree walk has its own cursor: /a then /a/b, then /a again. */
	CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.cgs[1], 1, false), SGX_NR_TO_SCAN);
	CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.cgs[1], 1, false), SGX_NR_TO_SCAN);
	CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.cgs[1], 1, false), SGX_NR_TO_SCAN);
	CHECK_EQ(atomic_load(&env.visits[1]), 4);
	CHECK_EQ(atomic_load(&env.visits[2]), 3);
	CHECK_EQ(atomic_load(&env.visits[3]), 2);
	/* Asking for more than a batch walks on: 40 pages = 3 cgroups. */
	CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.tree->root, 40, false), 48);
	CHECK_EQ(atomic_load(&env.reclaimed), (10 + 3 + 3) * SGX_NR_TO_SCAN);

	/*
	 * A cursor on a cgroup being removed moves past it: put the root's
	 * cursor on an empty /e (last in pre-order), remove /e, the walk wraps.
	 */
	REQUIRE_EQ(fake_mkdir_get(&env, "/e", &e_cg), 0);
	for (i = 0; i < 16; i++) {
		next = sgx_epc_cgroup_next_get(env.tree->root);
		sgx_epc_cgroup_put(next);
		if (next == e_cg)
			break;
	}
	REQUIRE(next == e_cg);
	next = sgx_epc_cgroup_next_get(env.tree->root);	/* wrapped to the root */
	CHECK(next == env.tree->root);
	sgx_epc_cgroup_put(next);
	for (i = 1; i < RR_CGS; i++) {	/* /a, /a/b, /c, /c/d */
		next = sgx_epc_cgroup_next_get(env.tree->root);
		sgx_epc_cgroup_put(next);
	}
	CHECK(env.tree->root->next_cg == e_cg);
	sgx_epc_cgroup_put(e_cg);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/e"), 0);
	CHECK(env.tree->root->next_cg == NULL);
	next = sgx_epc_cgroup_next_get(env.tree->root);
	CHECK(next == env.tree->root);
	sgx_epc_cgroup_put(next);

	/* Drain: the walk empties every LRU and stops. */
	sgx_epc_cgroup_reclaim_pages(env.tree->root, RR_CGS * RR_PAGES, false);
	CHECK(sgx_epc_cgroup_lru_empty(env.tree->root));
	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);
	CHECK_EQ(sgx_epc_cgroup_reclaim_pages(env.tree->root, 16, false), 0);
	for (i = RR_CGS - 1; i >= 0; i--) {
		sgx_epc_cgroup_put(env.cgs[i]);
		if (i)
			CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, paths[i]), 0);
	}
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

/* The v4 victim scan: pre-order, first live enclave, dying pages unlinked, no second victim. */
TEST(epc_cg_oom_victim_choice)
{
	struct fake_encl dead = { .refs = 0 }, uncreated = { .refs = 1, .not_created = true };
	struct fake_encl v1 = { .refs = 1 }, v2 = { .refs = 1 }, other = { .refs = 1 };
	struct sgx_epc_cgroup *a = NULL, *b = NULL, *c = NULL;
	struct fake_page pg[6];
	struct fake_env env;
	int i;

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a/b", &b), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/c", &c), 0);
	fake_page_init(&pg[0], &other);		/* /c: after /a/b in pre-order */
	fake_page_init(&pg[1], &dead);		/* /a/b, in list order */
	fake_page_init(&pg[2], &uncreated);
	fake_page_init(&pg[3], &v1);
	fake_page_init(&pg[4], &v2);
	fake_page_init(&pg[5], &v1);		/* reclaimable: not a candidate */
	REQUIRE_EQ(fake_page_alloc(&pg[0], c, false, SGX_DO_RECLAIM), 0);
	for (i = 1; i <= 4; i++)
		REQUIRE_EQ(fake_page_alloc(&pg[i], b, false, SGX_DO_RECLAIM), 0);
	REQUIRE_EQ(fake_page_alloc(&pg[5], b, true, SGX_DO_RECLAIM), 0);

	CHECK_EQ(sgx_epc_cgroup_oom(c), SGX_EPC_OOM_KILLED);	/* a subtree of its own */
	CHECK(atomic_load(&other.marked));
	atomic_store(&other.marked, false);

	CHECK_EQ(sgx_epc_cgroup_oom(env.tree->root), SGX_EPC_OOM_KILLED);
	CHECK(atomic_load(&v1.marked));
	CHECK(!atomic_load(&v2.marked));
	CHECK(!atomic_load(&other.marked));
	CHECK(!atomic_load(&uncreated.marked));
	CHECK_EQ(atomic_load(&uncreated.oom_calls), 1);
	CHECK(list_empty(&pg[1].page.list));			/* dying: unlinked */
	CHECK_EQ(atomic_load(&b->lru.nr_unreclaimable), 3);
	CHECK_EQ(atomic_load(&v1.refs), 1);			/* every reference returned */
	CHECK_EQ(atomic_load(&uncreated.refs), 1);

	/* The victim is still draining: it is chosen again, nobody else is. */
	CHECK_EQ(sgx_epc_cgroup_oom(env.tree->root), SGX_EPC_OOM_DRAINING);
	CHECK_EQ(sgx_epc_cgroup_oom(env.tree->root), SGX_EPC_OOM_DRAINING);
	CHECK(!atomic_load(&v2.marked));
	CHECK(!atomic_load(&other.marked));

	/* v1 released: its pages go, the next victim is v2. */
	CHECK_EQ(fake_page_free(&pg[3]), 0);
	CHECK_EQ(fake_page_free(&pg[5]), 0);
	atomic_store(&v1.refs, 0);
	CHECK_EQ(sgx_epc_cgroup_oom(env.tree->root), SGX_EPC_OOM_KILLED);
	CHECK(atomic_load(&v2.marked));
	CHECK(!atomic_load(&other.marked));

	/* Nothing but dying and uncreated enclaves: no victim. */
	CHECK_EQ(fake_page_free(&pg[4]), 0);
	CHECK_EQ(sgx_epc_cgroup_oom(b), SGX_EPC_OOM_SKIPPED);

	CHECK_EQ(fake_page_free(&pg[1]), 0);
	CHECK(!pg[1].page.flags);
	CHECK_EQ(fake_page_free(&pg[2]), 0);
	CHECK_EQ(fake_page_free(&pg[0]), 0);
	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);
	sgx_epc_cgroup_put(a);
	sgx_epc_cgroup_put(b);
	sgx_epc_cgroup_put(c);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/c"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

/* Lowering misc.max under the usage of unreclaimable pages: one kill, then wait. */
static void oom_scenario(enum sgx_epc_oom_policy policy)
{
	struct fake_encl v1 = { .refs = 1 }, v2 = { .refs = 1 }, bystander = { .refs = 1 };
	struct sgx_epc_cgroup *a = NULL, *o = NULL;
	struct fake_page pg[10];
	struct fake_env env;
	char buf[64];
	int i;

	REQUIRE_EQ(fake_env_init(&env, 64, policy, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/o", &o), 0);
	for (i = 0; i < 10; i++) {
		fake_page_init(&pg[i], i < 4 ? &v1 : i < 8 ? &v2 : &bystander);
		REQUIRE_EQ(fake_page_alloc(&pg[i], i < 8 ? a : o, false, SGX_DO_RECLAIM), 0);
	}
	CHECK_EQ(wr(&env, "/a", "sgx_epc 16384"), 0);	/* 4 pages, 8 in use */
	if (policy == SGX_EPC_OOM_ENOMEM) {
		/* Limits only block: nothing queued, nobody killed, charges refused. */
		CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 0);
		CHECK_EQ(sgx_epc_cgroup_try_charge(a, SGX_DO_RECLAIM), -ENOMEM);
		sgx_epc_cgroup_reclaim_work_func(a);
		CHECK(!atomic_load(&v1.marked) && !atomic_load(&v2.marked));
		CHECK_EQ(atomic_load(&env.tree->stats.oom_kills), 0);
		CHECK_EQ(atomic_load(&a->events), 1);
		goto out;
	}
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);
	CHECK(atomic_load(&v1.marked));
	CHECK(!atomic_load(&v2.marked));
	CHECK(!atomic_load(&bystander.marked));
	CHECK_EQ(atomic_load(&env.tree->stats.oom_kills), 1);
	CHECK(sgx_epc_cgroup_read(env.tree, "/a", "misc.events", buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "sgx_epc.max 1\n"));
	CHECK(atomic_load(&a->work_queued));		/* it looks again later */
	/* Still draining: the worker waits rather than kill v2. */
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);
	CHECK(!atomic_load(&v2.marked));
	CHECK_EQ(atomic_load(&env.tree->stats.oom_kills), 1);
	CHECK_EQ(atomic_load(&env.tree->stats.oom_draining_waits), 2);
	/* v1 is released (its process closed it): 4 pages left == the limit, done. */
	for (i = 0; i < 4; i++)
		CHECK_EQ(fake_page_free(&pg[i]), 0);
	atomic_store(&v1.refs, 0);
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);
	CHECK(!atomic_load(&a->work_queued));
	CHECK(!atomic_load(&v2.marked));
	CHECK_EQ(atomic_load(&env.tree->stats.oom_kills), 1);
	CHECK_EQ(cg_usage_pages(a), 4);
out:
	for (i = 0; i < 10; i++) {
		if (atomic_load(&pg[i].state) == FP_RESIDENT)
			CHECK_EQ(fake_page_free(&pg[i]), 0);
	}
	CHECK(!atomic_load(&bystander.marked));
	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);
	sgx_epc_cgroup_put(a);
	sgx_epc_cgroup_put(o);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/o"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_oom_kill_policy_one_victim)
{
	oom_scenario(SGX_EPC_OOM_KILL);
}

TEST(epc_cg_oom_enomem_policy_kills_nothing)
{
	oom_scenario(SGX_EPC_OOM_ENOMEM);
}

/* The worker thread: a fault-path -EBUSY gets the cgroup reclaimed below its watermark. */
TEST(epc_cg_worker_reclaims_to_watermark)
{
	static struct fake_page pg[300];
	struct fake_encl e = { .refs = 1 };
	struct sgx_epc_cgroup *a = NULL;
	struct fake_env env;
	int i, ms;

	REQUIRE_EQ(fake_env_init(&env, 1024, SGX_EPC_OOM_KILL, true), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	CHECK_EQ(wr(&env, "/a", "sgx_epc 1048576"), 0);	/* 256 pages */
	for (i = 0; i < 256; i++) {
		fake_page_init(&pg[i], &e);
		REQUIRE_EQ(fake_page_alloc(&pg[i], a, true, SGX_NO_RECLAIM), 0);
	}
	fake_page_init(&pg[256], &e);
	CHECK_EQ(fake_page_alloc(&pg[256], a, true, SGX_NO_RECLAIM), -EBUSY);
	for (ms = 0; ms < 5000 && sgx_epc_cgroup_should_reclaim(a); ms++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	CHECK(!sgx_epc_cgroup_should_reclaim(a));
	/* v16: usage < limit - SGX_CG_MIN_FREE_PAGE, reached by whole batches */
	CHECK(cg_usage_pages(a) < 256 - SGX_CG_MIN_FREE_PAGE);
	CHECK(cg_usage_pages(a) >= 256 - SGX_CG_MIN_FREE_PAGE - SGX_NR_TO_SCAN);
	CHECK_EQ(fake_page_alloc(&pg[256], a, true, SGX_NO_RECLAIM), 0);
	for (i = 0; i <= 256; i++) {
		if (atomic_load(&pg[i].state) == FP_RESIDENT)
			CHECK_EQ(fake_page_free(&pg[i]), 0);
	}
	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);
	sgx_epc_cgroup_put(a);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

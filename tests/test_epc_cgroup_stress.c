// SPDX-License-Identifier: MIT
/*
 * Concurrency stress of the EPC cgroup controller: threads charge and free
 * pages in several cgroups (fault-path and ioctl-path charges), the worker
 * and the synchronous reclaimers evict them, another thread rewrites limits.
 * At the end every counter must be exact: no usage, no listed page, no
 * reference but the tree's and ours.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sgx/internal.h"
#include "tests/harness.h"
#include "tests/test_epc_cgroup_fake.h"

#define ST_THREADS	4
#define ST_PAGES	96
#define ST_ITERS	200000

static const char *const st_paths[] = { "/s", "/s/t0", "/s/t1", "/s/t1/u", "/w" };
#define ST_NR_CGS	(sizeof(st_paths) / sizeof(st_paths[0]))

struct st_thread {
	struct fake_env *env;
	struct sgx_epc_cgroup *cg;
	struct fake_encl encl;
	struct fake_page pages[ST_PAGES];
	uint64_t seed;
	long charged, refused;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *st_charger(void *arg)
{
	struct st_thread *t = arg;
	int i;

	for (i = 0; i < ST_ITERS; i++) {
		uint64_t r = xorshift(&t->seed);
		struct fake_page *fp = &t->pages[r % ST_PAGES];
		int state = atomic_load(&fp->state);

		if (state == FP_FREE || state == FP_EVICTED) {
			bool reclaimable = (r >> 8) % 8 != 0;
			enum sgx_reclaim mode = (r >> 12) & 1 ? SGX_DO_RECLAIM : SGX_NO_RECLAIM;
			int ret;

			fake_page_init(fp, &t->encl);
			ret = fake_page_alloc(fp, t->cg, reclaimable, mode);
			if (ret == 0)
				t->charged++;
			else if (ret == -EBUSY || ret == -ENOMEM)
				t->refused++;
			else
				test_fail_at(__FILE__, __LINE__, "try_charge: %d", ret);
		} else if (state == FP_RESIDENT) {
			fake_page_free(fp);	/* -EBUSY: a reclaimer has it */
		}
	}
	return NULL;
}

struct st_writer {
	struct fake_env *env;
	atomic_bool stop;
	uint64_t seed;
	long writes;
};

static void *st_limit_writer(void *arg)
{
	static const char *const targets[] = { "/s", "/s/t1", "/s/t1/u", "/w" };
	struct st_writer *w = arg;

	while (!atomic_load(&w->stop)) {
		uint64_t r = xorshift(&w->seed);
		char text[64];

		if (r % 5 == 0)
			snprintf(text, sizeof(text), "sgx_epc max");
		else
			snprintf(text, sizeof(text), "sgx_epc %llu",
				 (unsigned long long)((8 + (r >> 8) % 120) * PG + (r >> 20) % 100));
		if (sgx_epc_cgroup_write(w->env->tree, targets[(r >> 32) % 4], "misc.max",
					 text, strlen(text)))
			test_fail_at(__FILE__, __LINE__, "write '%s' refused", text);
		w->writes++;
		sched_yield();
	}
	return NULL;
}

TEST_TIMEOUT(epc_cg_stress_charge_reclaim_limits, 240)
{
	static struct st_thread th[ST_THREADS];
	static const int home[ST_THREADS] = { 1, 2, 3, 4 };	/* t0, t1, u, w */
	struct sgx_epc_cgroup *cgs[ST_NR_CGS];
	struct st_writer w = { .seed = test_seed() | 1 };
	pthread_t tid[ST_THREADS], wtid;
	struct fake_env env;
	unsigned int i, j;
	long charged = 0;
	int ms;

	REQUIRE_EQ(fake_env_init(&env, 128, SGX_EPC_OOM_KILL, true), 0);
	for (i = 0; i < ST_NR_CGS; i++) {
		REQUIRE_EQ(fake_mkdir_get(&env, st_paths[i], &cgs[i]), 0);
		env.cgs[i] = cgs[i];
	}
	w.env = &env;
	for (i = 0; i < ST_THREADS; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].env = &env;
		th[i].cg = cgs[home[i]];
		atomic_init(&th[i].encl.refs, 1);
		th[i].seed = (test_seed() + i * 0x9e3779b97f4a7c15ULL) | 1;
		for (j = 0; j < ST_PAGES; j++)
			fake_page_init(&th[i].pages[j], &th[i].encl);
	}
	REQUIRE_EQ(pthread_create(&wtid, NULL, st_limit_writer, &w), 0);
	for (i = 0; i < ST_THREADS; i++)
		REQUIRE_EQ(pthread_create(&tid[i], NULL, st_charger, &th[i]), 0);
	for (i = 0; i < ST_THREADS; i++) {
		pthread_join(tid[i], NULL);
		charged += th[i].charged;
	}
	atomic_store(&w.stop, true);
	pthread_join(wtid, NULL);
	CHECK(charged > 0);
	CHECK(w.writes > 0);
	CHECK(atomic_load(&env.reclaimed) > 0);

	/* Free everything; pages a reclaimer holds come back as EVICTED. */
	for (ms = 0; ms < 10000; ms++) {
		bool busy = false;

		for (i = 0; i < ST_THREADS; i++) {
			for (j = 0; j < ST_PAGES; j++) {
				struct fake_page *fp = &th[i].pages[j];

				if (atomic_load(&fp->state) == FP_RESIDENT)
					fake_page_free(fp);
				if (atomic_load(&fp->state) != FP_FREE &&
				    atomic_load(&fp->state) != FP_EVICTED)
					busy = true;
			}
		}
		for (i = 0; i < ST_NR_CGS; i++)
			busy |= atomic_load(&cgs[i]->work_queued);
		if (!busy)
			break;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	/* The worker may still hold a reference for a moment after clearing 'queued'. */
	for (ms = 0; ms < 5000; ms++) {
		bool refs = false;

		for (i = 0; i < ST_NR_CGS; i++)
			refs |= atomic_load(&cgs[i]->refcount) != 2 + (i == 0 ? 2 : i == 2 ? 1 : 0);
		if (!refs)
			break;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}

	CHECK_EQ(atomic_load(&env.tree->root->usage), 0);
	CHECK(atomic_load(&env.tree->root->watermark) <= 128 * PG);
	CHECK(sgx_epc_cgroup_lru_empty(env.tree->root));
	for (i = 0; i < ST_NR_CGS; i++) {
		CHECK_EQ(atomic_load(&cgs[i]->usage), 0);
		CHECK_EQ(atomic_load(&cgs[i]->lru.nr_reclaimable), 0);
		CHECK_EQ(atomic_load(&cgs[i]->lru.nr_unreclaimable), 0);
		CHECK_EQ(atomic_load(&cgs[i]->subtree_reclaimable), 0);
		CHECK(list_empty(&cgs[i]->lru.reclaimable));
		CHECK(list_empty(&cgs[i]->lru.unreclaimable));
		/* tree + our handle (+ children: /s has t0 and t1, /s/t1 has u) */
		CHECK_EQ(atomic_load(&cgs[i]->refcount), 2 + (i == 0 ? 2 : i == 2 ? 1 : 0));
	}
	for (i = 0; i < ST_THREADS; i++)
		CHECK_EQ(atomic_load(&th[i].encl.refs), 1);
	/* Events: a failure counts at its level and above, so parents count at least as much. */
	CHECK(atomic_load(&cgs[0]->events) >= atomic_load(&cgs[2]->events));
	CHECK(atomic_load(&cgs[2]->events) >= atomic_load(&cgs[3]->events));

	for (i = ST_NR_CGS; i-- > 0;) {
		sgx_epc_cgroup_put(cgs[i]);
		CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, st_paths[i]), 0);
	}
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

/* mkdir/rmdir racing with the round-robin walk and lookups. */
static void *st_tree_churn(void *arg)
{
	struct fake_env *env = arg;
	int i;

	for (i = 0; i < 3000; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/r/n%d", i % 7);
		sgx_epc_cgroup_mkdir(env->tree, path);
		if (i % 3 == 0)
			sgx_epc_cgroup_mkdir(env->tree, "/r/n1/x");
		if (i % 2)
			sgx_epc_cgroup_rmdir(env->tree, "/r/n1/x");
		sgx_epc_cgroup_rmdir(env->tree, path);
	}
	return NULL;
}

TEST_TIMEOUT(epc_cg_stress_tree_churn_vs_walk, 120)
{
	struct sgx_epc_cgroup *r = NULL;
	struct fake_env env;
	pthread_t tid;
	int i;

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/r", &r), 0);
	REQUIRE_EQ(pthread_create(&tid, NULL, st_tree_churn, &env), 0);
	for (i = 0; i < 20000; i++) {
		struct sgx_epc_cgroup *n = sgx_epc_cgroup_next_get(i % 2 ? r : env.tree->root);
		char path[64];

		/* It may be removed right after; our reference keeps it readable. */
		CHECK(sgx_epc_cgroup_path(n, path, sizeof(path)) > 0);
		CHECK(atomic_load(&n->refcount) >= 1);
		sgx_epc_cgroup_put(n);
		n = sgx_epc_cgroup_lookup(env.tree, "/r/n1");
		if (!IS_ERR(n))
			sgx_epc_cgroup_put(n);
	}
	pthread_join(tid, NULL);
	sgx_epc_cgroup_rmdir(env.tree, "/r/n1/x");
	for (i = 0; i < 7; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/r/n%d", i);
		sgx_epc_cgroup_rmdir(env.tree, path);
	}
	CHECK_EQ(atomic_load(&env.tree->nr_cgroups), 2);
	CHECK_EQ(atomic_load(&r->refcount), 2);
	sgx_epc_cgroup_put(r);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/r"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

// SPDX-License-Identifier: MIT
/*
 * The EPC cgroup controller wired into the EPC manager: real enclaves built
 * through the ioctls, charged to their cgroups, reclaimed within them, and
 * killed (or refused) by the v4 OOM path.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "sgx/encl.h"
#include "sgx/epc_cgroup.h"
#include "sgx/sgx.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	TEST_ADDR(0x7d8000000000ULL)	/* mappable under ASan and TSan too (harness.h) */
#define PG	4096ULL
#define RW	(SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W)

static struct sgx_epc_cgroup *cg_get(struct sgx_platform *p, const char *path)
{
	struct sgx_epc_cgroup *cg = sgx_epc_cgroup_lookup(sgx_platform_cgroups(p), path);

	return IS_ERR(cg) ? NULL : cg;
}

/* Evict every reclaimable page of the cgroup's subtree (age ignored). */
static void cg_evict_all(struct sgx_platform *p, const char *path)
{
	struct sgx_epc_cgroup *cg = cg_get(p, path);
	int i;

	if (!cg)
		return;
	for (i = 0; i < 64 && !sgx_epc_cgroup_lru_empty(cg); i++)
		sgx_epc_cgroup_reclaim_pages(cg, SGX_NR_TO_SCAN, true);
	sgx_epc_cgroup_put(cg);
}

static struct sgx_platform *cg_platform(uint64_t pages, bool windows, bool ksgxd,
					enum sgx_epc_oom_policy policy)
{
	struct sgx_platform_config c;
	struct sgx_platform *p;

	sgx_platform_default_config(&c);
	c.cpu_config.epc_size = pages * PG;
	c.cpu_config.nr_sections = 1;
	c.cpu_config.sgx2 = true;
	c.cpu_config.have_secret = true;
	memset(c.cpu_config.secret, 0x5a, sizeof(c.cpu_config.secret));
	c.no_ksgxd = !ksgxd;
	c.epc_oom_policy = policy;
	if (sgx_platform_create(&c, &p))
		return NULL;
	if (windows && (!sgx_platform_has_windows(p) || sgx_fault_install_sigbus_handler(p))) {
		sgx_platform_destroy(p);
		return NULL;
	}
	return p;
}

static sigjmp_buf sigbus_jmp;
static volatile sig_atomic_t sigbus_seen;

static void test_sigbus(int sig)
{
	(void)sig;
	sigbus_seen++;
	siglongjmp(sigbus_jmp, 1);
}

static int touch_expect_sigbus(volatile uint8_t *addr)
{
	sigbus_seen = 0;
	if (!sigsetjmp(sigbus_jmp, 1))
		(void)*addr;
	return sigbus_seen;
}

TEST(sgx_cgroup_charges_per_enclave)
{
	struct sgx_platform *p = cg_platform(256, false, false, SGX_EPC_OOM_KILL);
	struct sgx_epc_cg_tree *tree;
	struct sgx_platform_stats st;
	struct mgr_encl a, b, r;
	char buf[64];

	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE(tree);
	REQUIRE_EQ(sgx_epc_cgroup_read(tree, "/", "misc.capacity", buf, sizeof(buf)) > 0, 1);
	CHECK(!strcmp(buf, "sgx_epc 1048576\n"));
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/a"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/b"), 0);

	/* 'a' through the process's cgroup, 'b' through the enclave's own. */
	REQUIRE_EQ(sgx_platform_set_current_cgroup(p, "/a"), 0);
	REQUIRE_EQ(mgr_encl_build(&a, p, BASE, 64 * PG, 10), 0);
	REQUIRE_EQ(sgx_platform_set_current_cgroup(p, "/"), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&b, p, "/b", BASE + 0x10000000, 64 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&b, 0, 20, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&b), 0);
	/* And one in the root. */
	REQUIRE_EQ(mgr_encl_build(&r, p, BASE + 0x20000000, 16 * PG, 3), 0);

	/* Every page type: REG + SECS + VA. */
	CHECK_EQ(mgr_cg_current(p, "/a"), (10 + 2) * PG);
	CHECK_EQ(mgr_cg_current(p, "/b"), (20 + 2) * PG);
	CHECK_EQ(mgr_cg_current(p, "/"), (10 + 20 + 3 + 6) * PG);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.used_pages, 39);
	CHECK_EQ(st.free_pages + st.used_pages, st.total_pages);
	CHECK_EQ(st.active_pages, 33);

	/* Eviction uncharges: what is swapped out is not counted. */
	cg_evict_all(p, "/b");
	CHECK_EQ(mgr_cg_current(p, "/b"), 1 * PG);	/* the VA page; the SECS went too */
	CHECK_EQ(mgr_cg_current(p, "/a"), 12 * PG);
	/* ELDU charges the enclave's cgroup again (SECS first). */
	CHECK_EQ(mgr_check_page(&b, BASE + 0x10000000 + 5 * PG, 0), 0);
	CHECK_EQ(mgr_cg_current(p, "/b"), 3 * PG);

	/* A cgroup with an enclave in it is busy; so is the process's. */
	CHECK_EQ(sgx_epc_cgroup_rmdir(tree, "/a"), -EBUSY);
	CHECK_EQ(sgx_encl_set_cgroup(a.encl, "/b"), -EBUSY);	/* created already */
	mgr_encl_close(&a);
	CHECK_EQ(mgr_cg_current(p, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(tree, "/a"), 0);
	mgr_encl_close(&b);
	CHECK_EQ(mgr_cg_current(p, "/b"), 0);
	mgr_encl_close(&r);
	CHECK_EQ(mgr_cg_current(p, "/"), 0);

	/* set_cgroup before CREATE: errors, and the cgroup must exist. */
	{
		struct sgx_encl *encl;

		REQUIRE_EQ(sgx_open(p, &encl), 0);
		CHECK_EQ(sgx_encl_set_cgroup(encl, "/nope"), -ENOENT);
		CHECK_EQ(sgx_encl_set_cgroup(encl, "rel"), -EINVAL);
		CHECK_EQ(sgx_encl_set_cgroup(encl, "/b"), 0);
		CHECK_EQ(sgx_epc_cgroup_rmdir(tree, "/b"), -EBUSY);
		sgx_release(encl);
		CHECK_EQ(sgx_platform_set_current_cgroup(p, "/nope"), -ENOENT);
	}
	CHECK_EQ(mgr_platform_finish(p), 0);	/* removes /b */
}

TEST(sgx_cgroup_limit_smaller_than_enclave)
{
	struct sgx_platform *p = cg_platform(256, false, false, SGX_EPC_OOM_KILL);
	struct sgx_epc_cg_tree *tree;
	struct sgx_encl_stats es;
	struct mgr_encl a, b;
	uint64_t count, i;

	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/a"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/b"), 0);
	REQUIRE_EQ(mgr_cg_set_max(p, "/a", 32 * PG), 0);

	REQUIRE_EQ(mgr_encl_create_cg(&b, p, "/b", BASE + 0x10000000, 64 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&b, 0, 20, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&b), 0);

	/* 100 pages into a 32-page cgroup: it reclaims its own pages. */
	REQUIRE_EQ(mgr_encl_create_cg(&a, p, "/a", BASE, 128 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&a, 0, 100, RW, true, &count), 0);
	CHECK_EQ(count, 100 * PG);
	CHECK(mgr_cg_current(p, "/a") <= 32 * (long long)PG);
	CHECK(mgr_cg_events(p, "/a") > 0);
	sgx_encl_get_stats(a.encl, &es);
	CHECK_EQ(es.resident_pages + es.evicted_pages, 100);
	CHECK(es.evicted_pages >= 100 - 30);
	/* The other cgroup's enclave was not touched, though the EPC had room for all. */
	sgx_encl_get_stats(b.encl, &es);
	CHECK_EQ(es.resident_pages, 20);
	CHECK_EQ(es.evicted_pages, 0);
	CHECK_EQ(es.ewb, 0);
	CHECK_EQ(mgr_cg_current(p, "/b"), 22 * PG);
	CHECK_EQ(mgr_cg_events(p, "/b"), 0);

	REQUIRE_EQ(mgr_encl_init(&a), 0);
	/* Every page comes back (ELDU within the limit), twice, with new contents. */
	for (i = 0; i < 100; i++)
		CHECK_EQ(mgr_check_page(&a, BASE + i * PG, 0), 0);
	for (i = 100; i-- > 0;)
		REQUIRE_EQ(mgr_write_page(&a, BASE + i * PG, 5), 0);
	for (i = 0; i < 100; i++)
		CHECK_EQ(mgr_check_page(&a, BASE + i * PG, 5), 0);
	CHECK(mgr_cg_current(p, "/a") <= 32 * (long long)PG);
	for (i = 0; i < 20; i++)
		CHECK_EQ(mgr_check_page(&b, BASE + 0x10000000 + i * PG, 0), 0);
	sgx_encl_get_stats(b.encl, &es);
	CHECK_EQ(es.ewb, 0);

	mgr_encl_close(&a);
	mgr_encl_close(&b);
	CHECK_EQ(mgr_cg_current(p, "/a"), 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_cgroup_hierarchical_limit)
{
	struct sgx_platform *p = cg_platform(256, false, false, SGX_EPC_OOM_KILL);
	struct sgx_epc_cg_tree *tree;
	struct mgr_encl x, y;
	uint64_t count, i;

	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/p"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/p/c1"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/p/c2"), 0);
	REQUIRE_EQ(mgr_cg_set_max(p, "/p", 40 * PG), 0);
	/* A child limit above its parent's changes nothing. */
	REQUIRE_EQ(mgr_cg_set_max(p, "/p/c2", 1000 * PG), 0);

	REQUIRE_EQ(mgr_encl_create_cg(&x, p, "/p/c1", BASE, 64 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&x, 0, 30, RW, true, &count), 0);
	CHECK_EQ(mgr_cg_events(p, "/p"), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&y, p, "/p/c2", BASE + 0x10000000, 64 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&y, 0, 30, RW, true, &count), 0);
	CHECK_EQ(count, 30 * PG);

	CHECK(mgr_cg_current(p, "/p") <= 40 * (long long)PG);
	CHECK_EQ(mgr_cg_current(p, "/p"),
		 mgr_cg_current(p, "/p/c1") + mgr_cg_current(p, "/p/c2"));
	/* The parent's limit refused charges: counted there, not in the children. */
	CHECK(mgr_cg_events(p, "/p") > 0);
	CHECK_EQ(mgr_cg_events(p, "/p/c1"), 0);
	CHECK_EQ(mgr_cg_events(p, "/p/c2"), 0);
	/* The sibling's pages paid for it (reclaim at the refusing level). */
	CHECK(mgr_cg_current(p, "/p/c1") < 32 * (long long)PG);

	REQUIRE_EQ(mgr_encl_init(&x), 0);
	REQUIRE_EQ(mgr_encl_init(&y), 0);
	for (i = 0; i < 30; i++) {
		CHECK_EQ(mgr_check_page(&x, BASE + i * PG, 0), 0);
		CHECK_EQ(mgr_check_page(&y, BASE + 0x10000000 + i * PG, 0), 0);
	}
	CHECK(mgr_cg_current(p, "/p") <= 40 * (long long)PG);

	/* A child limit below its usage: its own charges are refused from now on. */
	REQUIRE_EQ(mgr_cg_set_max(p, "/p/c1", 8 * PG), 0);
	for (i = 0; i < 30; i++)
		CHECK_EQ(mgr_check_page(&x, BASE + i * PG, 0), 0);
	CHECK(mgr_cg_current(p, "/p/c1") <= 8 * (long long)PG);
	CHECK(mgr_cg_events(p, "/p/c1") > 0);

	mgr_encl_close(&x);
	mgr_encl_close(&y);
	CHECK_EQ(mgr_cg_current(p, "/p"), 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_cgroup_oom_kill)
{
	struct sgx_platform *p;
	struct sgx_epc_cg_tree *tree;
	struct sgx_encl_stats es;
	struct mgr_encl v, o;
	long long ev;
	uint8_t b;
	uint64_t i;

	signal(SIGBUS, test_sigbus);
	p = cg_platform(256, true, false, SGX_EPC_OOM_KILL);
	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/v"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/o"), 0);

	REQUIRE_EQ(mgr_encl_create_cg(&v, p, "/v", BASE, 32 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&v, 0, 8, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&v), 0);
	REQUIRE_EQ(mgr_encl_map(&v, PROT_READ | PROT_WRITE), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&o, p, "/o", BASE + 0x10000000, 32 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&o, 0, 8, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&o), 0);
	REQUIRE_EQ(mgr_encl_map(&o, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(mgr_check_mem(&v, BASE + PG, 0), 0);

	/* Only unreclaimable pages left in /v: its VA page (the SECS followed its children). */
	cg_evict_all(p, "/v");
	CHECK_EQ(mgr_cg_current(p, "/v"), 1 * PG);
	ev = mgr_cg_events(p, "/v");

	/* Lower the limit under the usage: the worker (run by hand here) kills. */
	REQUIRE_EQ(mgr_cg_set_max(p, "/v", 0), 0);
	sgx_epc_cgroup_run_queued(tree);
	CHECK_EQ(atomic_load(&tree->stats.oom_kills), 1);
	CHECK(encl_test_flag(v.encl, SGX_ENCL_NO_MEMORY));
	CHECK(!encl_test_flag(o.encl, SGX_ENCL_NO_MEMORY));
	CHECK_EQ(mgr_cg_events(p, "/v"), ev + 1);
	/* Nothing was freed by the kill itself. */
	CHECK_EQ(mgr_cg_current(p, "/v"), 1 * PG);

	/* The victim: ioctls -ENOMEM, window SIGBUS, no new mapping, no access. */
	CHECK_EQ(mgr_encl_add(&v, 16 * PG, 1, RW, true, NULL), -ENOMEM);
	CHECK_EQ(mgr_encl_init(&v), -ENOMEM);
	CHECK_EQ(mgr_encl_trim_page(&v, 0, NULL), -ENOMEM);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)(BASE + 2 * PG)), 1);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)(BASE + 20 * PG)), 1);
	CHECK_EQ(sgx_encl_access(v.encl, BASE, &b, 1, false), -EFAULT);
	CHECK_EQ(mgr_encl_unmap(&v), 0);
	CHECK_EQ(mgr_encl_map(&v, PROT_READ), -ENOMEM);
	sgx_encl_get_stats(v.encl, &es);
	CHECK_EQ(es.eldu, 0);

	/* The other cgroup's enclave is untouched. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(mgr_check_mem(&o, BASE + 0x10000000 + i * PG, 0), 0);
	sgx_encl_get_stats(o.encl, &es);
	CHECK_EQ(es.evicted_pages, 0);

	/* Still over the limit while the victim drains: nobody else is chosen. */
	sgx_epc_cgroup_run_queued(tree);
	sgx_epc_cgroup_run_queued(tree);
	CHECK_EQ(atomic_load(&tree->stats.oom_kills), 1);
	CHECK(atomic_load(&tree->stats.oom_draining_waits) >= 1);
	CHECK(!encl_test_flag(o.encl, SGX_ENCL_NO_MEMORY));

	/* Its release gives everything back. */
	mgr_encl_close(&v);
	CHECK_EQ(mgr_cg_current(p, "/v"), 0);
	sgx_epc_cgroup_run_queued(tree);
	CHECK_EQ(atomic_load(&tree->stats.oom_kills), 1);
	CHECK_EQ(mgr_cg_current(p, "/o"), 10 * PG);
	CHECK_EQ(mgr_encl_unmap(&o), 0);
	mgr_encl_close(&o);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/* The OOM action on an enclave whose pages are resident and mapped. */
TEST(sgx_cgroup_oom_zaps_resident_pages)
{
	struct sgx_platform *p;
	struct sgx_epc_cg_tree *tree;
	struct sgx_platform_stats st;
	struct sgx_epc_cgroup *cg;
	struct sgx_encl_stats es;
	struct mgr_encl v, o;
	uint64_t i;

	signal(SIGBUS, test_sigbus);
	p = cg_platform(256, true, false, SGX_EPC_OOM_KILL);
	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/v"), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/o"), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&o, p, "/o", BASE + 0x10000000, 32 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&o, 0, 4, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&o), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&v, p, "/v", BASE, 32 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&v, 0, 16, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&v), 0);
	REQUIRE_EQ(mgr_encl_map(&v, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < 16; i++)
		mgr_write_mem(&v, BASE + i * PG, 1);

	/* A scan of /v (the worker's OOM step, called directly) picks v. */
	cg = cg_get(p, "/v");
	REQUIRE(cg);
	CHECK_EQ(sgx_epc_cgroup_oom(cg), SGX_EPC_OOM_KILLED);
	CHECK_EQ(sgx_epc_cgroup_oom(cg), SGX_EPC_OOM_DRAINING);
	CHECK(!encl_test_flag(o.encl, SGX_ENCL_NO_MEMORY));
	for (i = 0; i < 16; i += 5)
		CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)(BASE + i * PG)), 1);

	/* Reclaimers may still write the victim's pages back (in-flight reclaim). */
	for (i = 0; i < 8 && !sgx_epc_cgroup_lru_empty(cg); i++)
		sgx_epc_cgroup_reclaim_pages(cg, SGX_NR_TO_SCAN, true);
	sgx_epc_cgroup_put(cg);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.ewb_lost, 0);
	sgx_encl_get_stats(v.encl, &es);
	CHECK_EQ(es.eldu, 0);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)(BASE + 3 * PG)), 1);

	CHECK_EQ(mgr_encl_unmap(&v), 0);
	mgr_encl_close(&v);
	CHECK_EQ(mgr_cg_current(p, "/v"), 0);
	for (i = 0; i < 4; i++)
		CHECK_EQ(mgr_check_page(&o, BASE + 0x10000000 + i * PG, 0), 0);
	mgr_encl_close(&o);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_cgroup_oom_enomem_policy)
{
	struct sgx_platform *p;
	struct sgx_epc_cg_tree *tree;
	struct mgr_encl v, w;
	long long ev;
	uint64_t i;

	signal(SIGBUS, test_sigbus);
	p = cg_platform(256, true, false, SGX_EPC_OOM_ENOMEM);
	REQUIRE(p);
	tree = sgx_platform_cgroups(p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/v"), 0);
	REQUIRE_EQ(mgr_encl_create_cg(&v, p, "/v", BASE, 32 * PG), 0);
	REQUIRE_EQ(mgr_encl_add(&v, 0, 8, RW, true, NULL), 0);
	REQUIRE_EQ(mgr_encl_init(&v), 0);
	REQUIRE_EQ(mgr_encl_map(&v, PROT_READ | PROT_WRITE), 0);
	cg_evict_all(p, "/v");
	CHECK_EQ(mgr_cg_current(p, "/v"), 1 * PG);
	ev = mgr_cg_events(p, "/v");

	REQUIRE_EQ(mgr_cg_set_max(p, "/v", 0), 0);
	sgx_epc_cgroup_run_queued(tree);
	CHECK_EQ(atomic_load(&tree->stats.oom_kills), 0);
	CHECK(!encl_test_flag(v.encl, SGX_ENCL_NO_MEMORY));
	CHECK_EQ(mgr_cg_current(p, "/v"), 1 * PG);

	/* New allocations are refused: ELDU (fault: SIGBUS, access: -ENOMEM), ECREATE. */
	CHECK_EQ(mgr_check_page(&v, BASE + PG, 0), -ENOMEM);
	CHECK_EQ(touch_expect_sigbus((uint8_t *)(uintptr_t)(BASE + 2 * PG)), 1);
	CHECK_EQ(mgr_encl_create_cg(&w, p, "/v", BASE + 0x10000000, 32 * PG), -ENOMEM);
	mgr_encl_close(&w);
	CHECK(mgr_cg_events(p, "/v") > ev);
	CHECK_EQ(mgr_cg_current(p, "/v"), 1 * PG);

	/* Limit lifted: everything is still there. */
	REQUIRE_EQ(sgx_epc_cgroup_write(tree, "/v", "misc.max", "sgx_epc max", 11), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(mgr_check_mem(&v, BASE + i * PG, 0), 0);
	CHECK_EQ(mgr_encl_unmap(&v), 0);
	mgr_encl_close(&v);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/* ---- stress: enclaves in several cgroups while the limits change ---- */

#define STRESS_THREADS	4

struct stress {
	struct sgx_platform *p;
	atomic_int stop;
	atomic_long built, killed, refused, bad;
};

struct stress_thread {
	struct stress *s;
	int idx;
	uint64_t seed;
};

static uint64_t xs(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *stress_fn(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	char path[32];
	uint64_t base = BASE + (uint64_t)t->idx * 0x10000000ULL, round = 0;

	snprintf(path, sizeof(path), "/s/t%d", t->idx);
	while (!atomic_load(&s->stop)) {
		struct mgr_encl e;
		uint64_t n = 8 + xs(&t->seed) % 56, i, gen = ++round & 0xff;
		long ret;

		ret = mgr_encl_create_cg(&e, s->p, path, base, 64 * PG);
		if (!ret)
			ret = mgr_encl_add(&e, 0, n, RW, false, NULL);
		if (!ret)
			ret = mgr_encl_init(&e);
		if (ret) {
			if (ret == -ENOMEM || ret == -EINTR)
				atomic_fetch_add(&s->refused, 1);
			else
				atomic_fetch_add(&s->bad, 1);
			mgr_encl_close(&e);
			sched_yield();
			continue;
		}
		atomic_fetch_add(&s->built, 1);
		for (i = 0; i < 2 * n; i++) {
			uint64_t a = base + (xs(&t->seed) % n) * PG;
			int r = mgr_write_page(&e, a, gen);

			if (!r)
				r = mgr_check_page(&e, a, gen);
			if (r == 1) {
				atomic_fetch_add(&s->bad, 1);
				break;
			}
			if (r) {
				/* Refused (at a limit, nothing reclaimable) or killed. */
				if (encl_test_flag(e.encl, SGX_ENCL_NO_MEMORY))
					atomic_fetch_add(&s->killed, 1);
				else if (r != -ENOMEM)
					atomic_fetch_add(&s->bad, 1);
				break;
			}
		}
		mgr_encl_close(&e);
	}
	return NULL;
}

TEST_TIMEOUT(sgx_cgroup_stress, 120)
{
	static const uint64_t limits[] = { 0, 2, 16, 48, 100, 400 };	/* pages; 0 = "max" */
	struct stress_thread th[STRESS_THREADS];
	pthread_t tid[STRESS_THREADS];
	struct sgx_platform_stats st;
	struct sgx_epc_cg_tree *tree;
	struct stress s = { 0 };
	uint64_t seed = test_seed() | 1;
	char path[32];
	int i, k;

	s.p = cg_platform(192, false, true, SGX_EPC_OOM_KILL);
	REQUIRE(s.p);
	tree = sgx_platform_cgroups(s.p);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, "/s"), 0);
	for (i = 0; i < STRESS_THREADS; i++) {
		snprintf(path, sizeof(path), "/s/t%d", i);
		REQUIRE_EQ(sgx_epc_cgroup_mkdir(tree, path), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		th[i] = (struct stress_thread){ .s = &s, .idx = i, .seed = seed + (uint64_t)i * 77 };
		REQUIRE_EQ(pthread_create(&tid[i], NULL, stress_fn, &th[i]), 0);
	}
	for (k = 0; k < 300; k++) {
		uint64_t lim = limits[xs(&seed) % 6];
		int which = (int)(xs(&seed) % (STRESS_THREADS + 1));

		if (which == STRESS_THREADS)
			snprintf(path, sizeof(path), "/s");
		else
			snprintf(path, sizeof(path), "/s/t%d", which);
		if (lim)
			CHECK_EQ(mgr_cg_set_max(s.p, path, lim * PG), 0);
		else
			CHECK_EQ(sgx_epc_cgroup_write(tree, path, "misc.max", "sgx_epc max", 11), 0);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	for (i = 0; i <= STRESS_THREADS; i++) {
		if (i == STRESS_THREADS)
			snprintf(path, sizeof(path), "/s");
		else
			snprintf(path, sizeof(path), "/s/t%d", i);
		sgx_epc_cgroup_write(tree, path, "misc.max", "sgx_epc max", 11);
	}
	atomic_store(&s.stop, 1);
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(tid[i], NULL);

	CHECK_EQ(atomic_load(&s.bad), 0);
	CHECK(atomic_load(&s.built) > 0);
	for (i = 0; i < 2000; i++) {
		sgx_platform_get_stats(s.p, &st);
		if (!st.nr_encls)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		snprintf(path, sizeof(path), "/s/t%d", i);
		CHECK_EQ(mgr_cg_current(s.p, path), 0);
	}
	CHECK_EQ(mgr_cg_current(s.p, "/s"), 0);
	sgx_platform_get_stats(s.p, &st);
	CHECK_EQ(st.free_pages + st.used_pages, st.total_pages);
	CHECK_EQ(st.used_pages, 0);
	CHECK_EQ(st.ewb_lost, 0);
	fprintf(stderr, "    built %ld, killed %ld, refused %ld, oom kills %lu, worker runs %lu\n",
		atomic_load(&s.built), atomic_load(&s.killed), atomic_load(&s.refused),
		atomic_load(&tree->stats.oom_kills), atomic_load(&tree->stats.worker_runs));
	CHECK_EQ(mgr_platform_finish(s.p), 0);
}

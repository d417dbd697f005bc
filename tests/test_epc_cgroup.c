// SPDX-License-Identifier: MIT
/* The EPC cgroup tree, the misc files and charging (sgx/epc_cgroup*.c). */
#include <stdio.h>
#include <string.h>

#include "sgx/internal.h"
#include "tests/harness.h"
#include "tests/test_epc_cgroup_fake.h"

static int rd(struct fake_env *env, const char *path, const char *file, char *buf)
{
	return sgx_epc_cgroup_read(env->tree, path, file, buf, 128);
}

static int wr(struct fake_env *env, const char *path, const char *text)
{
	return sgx_epc_cgroup_write(env->tree, path, "misc.max", text, strlen(text));
}

TEST(epc_cg_mkdir_rmdir_errors)
{
	struct fake_env env;
	struct sgx_epc_cgroup *cg;
	char name[300], path[320];

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "//a///c/"), 0);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a"), -EEXIST);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/"), -EEXIST);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/x/y"), -ENOENT);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "a"), -EINVAL);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, ""), -EINVAL);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, NULL), -EINVAL);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a/."), -EINVAL);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/.."), -EINVAL);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a\nb"), -EINVAL);
	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(path, sizeof(path), "/%s", name);
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, path), -ENAMETOOLONG);
	path[256] = '\0';	/* 255 characters: the longest name */
	CHECK_EQ(sgx_epc_cgroup_mkdir(env.tree, path), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, path), 0);

	cg = sgx_epc_cgroup_lookup(env.tree, "/a//b/");
	REQUIRE(!IS_ERR(cg));
	CHECK_EQ(sgx_epc_cgroup_path(cg, path, sizeof(path)), 4);
	CHECK(!strcmp(path, "/a/b"));
	CHECK_EQ(sgx_epc_cgroup_path(cg, path, 4), -ENAMETOOLONG);
	sgx_epc_cgroup_put(cg);
	CHECK_EQ(PTR_ERR(sgx_epc_cgroup_lookup(env.tree, "/b")), -ENOENT);
	CHECK_EQ(PTR_ERR(sgx_epc_cgroup_lookup(env.tree, "b")), -EINVAL);
	cg = sgx_epc_cgroup_lookup(env.tree, "/");
	REQUIRE(!IS_ERR(cg));
	CHECK(cg == env.tree->root);
	CHECK_EQ(sgx_epc_cgroup_path(cg, path, sizeof(path)), 1);
	CHECK(!strcmp(path, "/"));
	sgx_epc_cgroup_put(cg);

	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/"), -EBUSY);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), -EBUSY);	/* children */
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), -ENOENT);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/c"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "a"), -EINVAL);
	CHECK_EQ(atomic_load(&env.tree->nr_cgroups), 1);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_rmdir_busy_and_dying_cgroup_lives_on)
{
	struct fake_env env;
	struct sgx_epc_cgroup *a = NULL, *b = NULL;

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a/b", &b), 0);

	CHECK_EQ(sgx_epc_cgroup_attach(b), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), -EBUSY);	/* a user */
	sgx_epc_cgroup_detach(b);
	CHECK_EQ(sgx_epc_cgroup_try_charge(b, SGX_DO_RECLAIM), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), -EBUSY);	/* a charged page */
	sgx_epc_cgroup_uncharge(b);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), -EBUSY);		/* cgroups left */

	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), 0);
	/* Our handle keeps it alive; it is out of the tree, charges still reach the parent. */
	CHECK(b->dying);
	CHECK_EQ(sgx_epc_cgroup_attach(b), -ENOENT);
	CHECK_EQ(sgx_epc_cgroup_try_charge(b, SGX_DO_RECLAIM), 0);
	CHECK_EQ(cg_usage_pages(a), 1);
	CHECK_EQ(atomic_load(&b->refcount), 2);		/* handle + page */
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), -EBUSY);	/* a page charged below */
	sgx_epc_cgroup_put(b);		/* the page's reference keeps it */
	sgx_epc_cgroup_uncharge(b);	/* last reference: freed (ASan checks) */
	CHECK_EQ(cg_usage_pages(a), 0);
	CHECK_EQ(atomic_load(&a->refcount), 2);		/* tree + handle: b's is gone */
	sgx_epc_cgroup_put(a);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_files_and_where_they_exist)
{
	struct fake_env env;
	char buf[128];

	REQUIRE_EQ(fake_env_init(&env, 256, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a"), 0);

	CHECK_EQ(rd(&env, "/", "misc.capacity", buf), 16);
	CHECK(!strcmp(buf, "sgx_epc 1048576\n"));
	CHECK_EQ(rd(&env, "/", "misc.current", buf), 10);
	CHECK(!strcmp(buf, "sgx_epc 0\n"));
	CHECK(rd(&env, "/", "misc.peak", buf) > 0);
	CHECK_EQ(rd(&env, "/", "misc.max", buf), -ENOENT);
	CHECK_EQ(rd(&env, "/", "misc.events", buf), -ENOENT);
	CHECK_EQ(rd(&env, "/", "misc.events.local", buf), -ENOENT);
	CHECK_EQ(rd(&env, "/a", "misc.capacity", buf), -ENOENT);
	CHECK_EQ(rd(&env, "/a", "misc.bogus", buf), -ENOENT);
	CHECK_EQ(rd(&env, "/b", "misc.max", buf), -ENOENT);

	CHECK(rd(&env, "/a", "misc.max", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc max\n"));
	CHECK(rd(&env, "/a", "misc.current", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc 0\n"));
	CHECK(rd(&env, "/a", "misc.peak", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc 0\n"));
	CHECK(rd(&env, "/a", "misc.events", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc.max 0\n"));
	CHECK(rd(&env, "/a", "misc.events.local", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc.max 0\n"));
	CHECK_EQ(sgx_epc_cgroup_read(env.tree, "/a", "misc.max", buf, 5), -EINVAL);

	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/a", "misc.current", "sgx_epc 1", 9), -EACCES);
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/a", "misc.events", "sgx_epc 1", 9), -EACCES);
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/", "misc.max", "sgx_epc 1", 9), -ENOENT);
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/", "misc.capacity", "sgx_epc 1", 9), -EACCES);
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/zz", "misc.max", "sgx_epc 1", 9), -ENOENT);

	CHECK_EQ(wr(&env, "/a", "sgx_epc 8192"), 0);
	CHECK(rd(&env, "/a", "misc.max", buf) > 0);
	CHECK(!strcmp(buf, "sgx_epc 8192\n"));
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_max_write_formats_and_errors)
{
	static const struct {
		const char *in;
		int ret;
		const char *shown;	/* misc.max afterwards (NULL: unchanged) */
	} cases[] = {
		{ "sgx_epc 4096", 0, "sgx_epc 4096\n" },
		{ "sgx_epc max", 0, "sgx_epc max\n" },
		{ "  sgx_epc 0x1000\n", 0, "sgx_epc 4096\n" },
		{ "sgx_epc 0X10", 0, "sgx_epc 16\n" },
		{ "sgx_epc 010", 0, "sgx_epc 8\n" },
		{ "sgx_epc +5", 0, "sgx_epc 5\n" },
		{ "sgx_epc 0", 0, "sgx_epc 0\n" },
		{ "sgx_epc 7\n\n", 0, "sgx_epc 7\n" },
		{ "sgx_epc 18446744073709551614", 0, "sgx_epc 18446744073709551614\n" },
		{ "sgx_epc 18446744073709551615", 0, "sgx_epc max\n" },	/* U64_MAX is "max" */
		{ "sgx_epc 18446744073709551616", -ERANGE, NULL },
		{ "sgx_epc 0x10000000000000000", -ERANGE, NULL },
		{ "sgx_epc 99999999999999999999x", -ERANGE, NULL },
		{ "sgx_epc -1", -EINVAL, NULL },
		{ "sgx_epc", -EINVAL, NULL },
		{ "sgx_epc ", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "sgx_epc  5", -EINVAL, NULL },
		{ "sgx_epc 5x", -EINVAL, NULL },
		{ "sgx_epc 09", -EINVAL, NULL },
		{ "sgx_epc 0x", -EINVAL, NULL },
		{ "sgx_epc MAX", -EINVAL, NULL },
		{ "sgx_epc 5 6", -EINVAL, NULL },
		{ "sev 5", -EINVAL, NULL },
		{ "sgx 5", -EINVAL, NULL },
		{ "SGX_EPC 5", -EINVAL, NULL },
	};
	struct fake_env env;
	char buf[128], before[128];
	unsigned int i;

	REQUIRE_EQ(fake_env_init(&env, 256, SGX_EPC_OOM_ENOMEM, false), 0);
	REQUIRE_EQ(sgx_epc_cgroup_mkdir(env.tree, "/a"), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		REQUIRE(rd(&env, "/a", "misc.max", before) > 0);
		if (wr(&env, "/a", cases[i].in) != cases[i].ret)
			test_fail_at(__FILE__, __LINE__, "write '%s': %d, expected %d",
				     cases[i].in, wr(&env, "/a", cases[i].in), cases[i].ret);
		REQUIRE(rd(&env, "/a", "misc.max", buf) > 0);
		if (strcmp(buf, cases[i].shown ? cases[i].shown : before))
			test_fail_at(__FILE__, __LINE__, "after '%s': misc.max '%s'", cases[i].in,
				     buf);
	}
	/* An embedded NUL ends the string, as in the kernel's copy. */
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/a", "misc.max", "sgx_epc 12\0junk", 15), 0);
	CHECK(rd(&env, "/a", "misc.max", buf) > 0 && !strcmp(buf, "sgx_epc 12\n"));
	CHECK_EQ(sgx_epc_cgroup_write(env.tree, "/a", "misc.max", NULL, 3), -EINVAL);

	/* No capacity: the resource is disabled, every write is -EINVAL, nothing shown. */
	sgx_epc_cg_set_capacity(env.tree, 0);
	CHECK_EQ(wr(&env, "/a", "sgx_epc 4096"), -EINVAL);
	CHECK_EQ(rd(&env, "/a", "misc.max", buf), 0);
	CHECK_EQ(rd(&env, "/", "misc.capacity", buf), 0);
	CHECK_EQ(rd(&env, "/a", "misc.current", buf), 0);
	CHECK_EQ(sgx_epc_cgroup_try_charge(env.tree->root, SGX_DO_RECLAIM), -EINVAL);

	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_kstrtou64)
{
	uint64_t v = 0;

	CHECK_EQ(sgx_kstrtou64("123\n", 4, &v), 0);
	CHECK_EQ(v, 123);
	CHECK_EQ(sgx_kstrtou64("0777", 4, &v), 0);
	CHECK_EQ(v, 0777);
	CHECK_EQ(sgx_kstrtou64("0xfFfF", 6, &v), 0);
	CHECK_EQ(v, 0xffff);
	CHECK_EQ(sgx_kstrtou64("1234", 2, &v), 0);	/* exactly len bytes */
	CHECK_EQ(v, 12);
	CHECK_EQ(sgx_kstrtou64("", 0, &v), -EINVAL);
	CHECK_EQ(sgx_kstrtou64("\n", 1, &v), -EINVAL);
	CHECK_EQ(sgx_kstrtou64(" 1", 2, &v), -EINVAL);
	CHECK_EQ(sgx_kstrtou64("1\n\n", 3, &v), -EINVAL);
	CHECK_EQ(sgx_kstrtou64("0xffffffffffffffff", 18, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(sgx_kstrtou64("01777777777777777777777", 23, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(sgx_kstrtou64("02000000000000000000000", 23, &v), -ERANGE);
}

TEST(epc_cg_hierarchy_limits_events_peak)
{
	struct fake_env env;
	struct sgx_epc_cgroup *a = NULL, *b = NULL, *c = NULL, *failed;
	char buf[128];
	int i;

	REQUIRE_EQ(fake_env_init(&env, 16, SGX_EPC_OOM_ENOMEM, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/a/b", &b), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/c", &c), 0);
	CHECK_EQ(wr(&env, "/a", "sgx_epc 32768"), 0);		/* 8 pages */
	CHECK_EQ(wr(&env, "/a/b", "sgx_epc 16484"), 0);	/* 4 pages + 100: rounds down */

	for (i = 0; i < 4; i++)
		CHECK_EQ(sgx_misc_cg_try_charge(b, PG, NULL), 0);
	failed = NULL;
	CHECK_EQ(sgx_misc_cg_try_charge(b, PG, &failed), -EBUSY);
	CHECK(failed == b);
	CHECK_EQ(cg_usage_pages(b), 4);
	CHECK_EQ(cg_usage_pages(a), 4);
	CHECK_EQ(cg_usage_pages(env.tree->root), 4);
	/* 6.1: the failing level and every ancestor; events.local: the failing level */
	CHECK_EQ(atomic_load(&b->events), 1);
	CHECK_EQ(atomic_load(&a->events), 1);
	CHECK_EQ(atomic_load(&env.tree->root->events), 1);
	CHECK_EQ(atomic_load(&b->events_local), 1);
	CHECK_EQ(atomic_load(&a->events_local), 0);
	CHECK(rd(&env, "/a/b", "misc.events", buf) > 0 && !strcmp(buf, "sgx_epc.max 1\n"));
	CHECK(rd(&env, "/a", "misc.events.local", buf) > 0 && !strcmp(buf, "sgx_epc.max 0\n"));
	CHECK(rd(&env, "/a", "misc.current", buf) > 0 && !strcmp(buf, "sgx_epc 16384\n"));

	/* Lift b's limit: now a's 8 pages refuse the 9th; b is below the failing level. */
	CHECK_EQ(wr(&env, "/a/b", "sgx_epc max"), 0);
	for (i = 0; i < 4; i++)
		CHECK_EQ(sgx_misc_cg_try_charge(b, PG, NULL), 0);
	CHECK_EQ(sgx_misc_cg_try_charge(b, PG, &failed), -EBUSY);
	CHECK(failed == a);
	CHECK_EQ(atomic_load(&b->events), 1);
	CHECK_EQ(atomic_load(&a->events), 2);
	CHECK_EQ(atomic_load(&a->events_local), 1);
	/* b's level passed before a refused: its peak saw the transient 9th page (as mainline). */
	CHECK_EQ(atomic_load(&b->watermark), 9 * PG);
	CHECK_EQ(atomic_load(&a->watermark), 8 * PG);
	CHECK_EQ(cg_usage_pages(b), 8);

	/* The capacity refuses at the root: c has no limit of its own. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(sgx_misc_cg_try_charge(c, PG, NULL), 0);
	CHECK_EQ(sgx_misc_cg_try_charge(c, PG, &failed), -EBUSY);
	CHECK(failed == env.tree->root);
	CHECK_EQ(atomic_load(&c->events), 0);
	CHECK_EQ(atomic_load(&env.tree->root->events_local), 1);
	CHECK_EQ(cg_usage_pages(env.tree->root), 16);
	CHECK(rd(&env, "/", "misc.peak", buf) > 0 && !strcmp(buf, "sgx_epc 65536\n"));
	CHECK_EQ(sgx_epc_cgroup_effective_max(b), 8 * PG);
	CHECK_EQ(sgx_epc_cgroup_effective_max(c), 16 * PG);

	/* Lowering a limit under the usage refuses charges and takes nothing away. */
	sgx_misc_cg_uncharge(c, 8 * PG);
	CHECK_EQ(wr(&env, "/a", "sgx_epc 4096"), 0);
	CHECK_EQ(cg_usage_pages(a), 8);
	CHECK_EQ(sgx_misc_cg_try_charge(b, PG, &failed), -EBUSY);
	CHECK(failed == a);
	sgx_misc_cg_uncharge(b, 8 * PG);
	CHECK_EQ(cg_usage_pages(env.tree->root), 0);
	CHECK(rd(&env, "/a/b", "misc.peak", buf) > 0 && !strcmp(buf, "sgx_epc 36864\n"));

	sgx_epc_cgroup_put(a);
	sgx_epc_cgroup_put(b);
	sgx_epc_cgroup_put(c);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/c"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

TEST(epc_cg_try_charge_policy)
{
	struct fake_env env;
	struct fake_encl e = { .refs = 1 };
	struct fake_page pages[8];
	struct sgx_epc_cgroup *p = NULL, *a = NULL, *b = NULL;
	int i;

	REQUIRE_EQ(fake_env_init(&env, 64, SGX_EPC_OOM_KILL, false), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/p", &p), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/p/a", &a), 0);
	REQUIRE_EQ(fake_mkdir_get(&env, "/p/b", &b), 0);
	CHECK_EQ(wr(&env, "/p", "sgx_epc 16384"), 0);		/* 4 pages for a and b */
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);	/* the max write queued p */
	for (i = 0; i < 8; i++)
		fake_page_init(&pages[i], &e);

	/* Full with unreclaimable pages only: -ENOMEM at once, nothing queued. */
	for (i = 0; i < 4; i++)
		CHECK_EQ(fake_page_alloc(&pages[i], a, false, SGX_DO_RECLAIM), 0);
	CHECK_EQ(atomic_load(&a->refcount), 6);	/* tree + handle + 4 pages */
	CHECK_EQ(fake_page_alloc(&pages[4], a, true, SGX_DO_RECLAIM), -ENOMEM);
	CHECK_EQ(fake_page_alloc(&pages[4], b, true, SGX_NO_RECLAIM), -ENOMEM);
	CHECK(!atomic_load(&p->work_queued));
	for (i = 0; i < 4; i++)
		CHECK_EQ(fake_page_free(&pages[i]), 0);
	CHECK_EQ(atomic_load(&a->refcount), 2);

	/* Sibling b holds the pages, a is refused by p: reclaim in p's subtree. */
	for (i = 0; i < 4; i++)
		CHECK_EQ(fake_page_alloc(&pages[i], b, true, SGX_DO_RECLAIM), 0);
	CHECK(!sgx_epc_cgroup_lru_empty(p));
	CHECK(sgx_epc_cgroup_lru_empty(a));
	atomic_store(&env.signal, true);
	CHECK_EQ(fake_page_alloc(&pages[4], a, true, SGX_DO_RECLAIM), -ERESTARTSYS);
	atomic_store(&env.signal, false);
	/* Fault path: queue p's worker, -EBUSY. */
	CHECK_EQ(fake_page_alloc(&pages[4], a, true, SGX_NO_RECLAIM), -EBUSY);
	CHECK(atomic_load(&p->work_queued));
	CHECK(!atomic_load(&a->work_queued));
	CHECK_EQ(fake_page_alloc(&pages[4], a, true, SGX_NO_RECLAIM), -EBUSY);
	CHECK_EQ(atomic_load(&p->refcount), 5);	/* tree + handle + 2 children + queue */
	/* ioctl path: synchronous reclaim of one batch from p's subtree, then the charge. */
	CHECK_EQ(fake_page_alloc(&pages[4], a, true, SGX_DO_RECLAIM), 0);
	CHECK_EQ(atomic_load(&env.reclaimed), 4);
	CHECK_EQ(cg_usage_pages(b), 0);
	CHECK_EQ(cg_usage_pages(a), 1);
	CHECK_EQ(cg_usage_pages(p), 1);
	for (i = 0; i < 4; i++)
		CHECK_EQ(atomic_load(&pages[i].state), FP_EVICTED);
	CHECK_EQ(atomic_load(&e.refs), 1);		/* the reclaimer's references are back */
	CHECK_EQ(atomic_load(&env.tree->stats.sync_reclaims), 1);
	/* The queued work finds nothing to do now. */
	CHECK_EQ(sgx_epc_cgroup_run_queued(env.tree), 1);
	CHECK(!atomic_load(&p->work_queued));
	CHECK_EQ(fake_page_free(&pages[4]), 0);

	sgx_epc_cgroup_put(a);
	sgx_epc_cgroup_put(b);
	sgx_epc_cgroup_put(p);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/p/a"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/p/b"), 0);
	CHECK_EQ(sgx_epc_cgroup_rmdir(env.tree, "/p"), 0);
	CHECK_EQ(sgx_epc_cg_tree_destroy(env.tree), 0);
}

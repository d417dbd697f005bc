// SPDX-License-Identifier: MIT
/*
 * The EPC cgroup tree and the misc controller's counters: cgroups by path,
 * mkdir/rmdir with cgroupfs's errors, reference counting, and
 * misc_cg_try_charge()/misc_cg_uncharge() for the "sgx_epc" resource.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"

#define SGX_EPC_CG_PATH_MAX	4096	/* PATH_MAX */

static struct sgx_epc_cgroup *sgx_epc_cgroup_alloc(struct sgx_epc_cg_tree *tree,
						   struct sgx_epc_cgroup *parent,
						   const char *name, size_t name_len)
{
	struct sgx_epc_cgroup *cg = calloc(1, sizeof(*cg));

	if (!cg)
		return NULL;
	cg->tree = tree;
	cg->parent = parent;
	memcpy(cg->name, name, name_len);
	cg->name[name_len] = '\0';
	INIT_LIST_HEAD(&cg->children);
	INIT_LIST_HEAD(&cg->sibling);
	atomic_init(&cg->refcount, 1);	/* the tree's link */
	atomic_init(&cg->max, SGX_EPC_MISC_MAX_NUM);
	pthread_mutex_init(&cg->lru.lock, NULL);
	INIT_LIST_HEAD(&cg->lru.reclaimable);
	INIT_LIST_HEAD(&cg->lru.unreclaimable);
	pthread_mutex_init(&cg->next_cg_lock, NULL);
	if (parent)
		sgx_epc_cgroup_get(parent);
	return cg;
}

void sgx_epc_cgroup_get(struct sgx_epc_cgroup *cg)
{
	atomic_fetch_add(&cg->refcount, 1);
}

bool sgx_epc_cgroup_tryget(struct sgx_epc_cgroup *cg)
{
	long old = atomic_load(&cg->refcount);

	while (old > 0) {
		if (atomic_compare_exchange_weak(&cg->refcount, &old, old + 1))
			return true;
	}
	return false;
}

/*
 * The last reference: nothing can reach the cgroup any more (rmdir unlinked
 * it and fixed every cursor, no page is charged to it, no work is queued).
 * Iterative so that a chain of dying ancestors does not recurse.
 */
void sgx_epc_cgroup_put(struct sgx_epc_cgroup *cg)
{
	while (cg && atomic_fetch_sub(&cg->refcount, 1) == 1) {
		struct sgx_epc_cgroup *parent = cg->parent;

		if (atomic_load(&cg->usage) || atomic_load(&cg->lru.nr_reclaimable) ||
		    atomic_load(&cg->lru.nr_unreclaimable))
			SGX_WARN("freeing EPC cgroup '%s' with pages charged or on its LRUs",
				 cg->name);
		pthread_mutex_destroy(&cg->lru.lock);
		pthread_mutex_destroy(&cg->next_cg_lock);
		free(cg);
		cg = parent;
	}
}

int sgx_epc_cg_tree_create(const struct sgx_epc_cg_tree_config *c, struct sgx_epc_cg_tree **out)
{
	struct sgx_epc_cg_tree *tree;
	int ret;

	if (!c || !out)
		return -EINVAL;
	if (c->oom_policy != SGX_EPC_OOM_KILL && c->oom_policy != SGX_EPC_OOM_ENOMEM)
		return -EINVAL;
	tree = calloc(1, sizeof(*tree));
	if (!tree)
		return -ENOMEM;
	pthread_rwlock_init(&tree->tree_lock, NULL);
	atomic_init(&tree->capacity, c->capacity);
	tree->oom_policy = c->oom_policy;
	if (c->ops)
		tree->ops = *c->ops;
	tree->ops_arg = c->ops_arg;
	if (sem_init(&tree->work_sem, 0, 0)) {
		ret = -errno;
		goto err_free;
	}
	tree->root = sgx_epc_cgroup_alloc(tree, NULL, "", 0);
	if (!tree->root) {
		ret = -ENOMEM;
		goto err_sem;
	}
	atomic_init(&tree->nr_cgroups, 1);
	if (!c->no_worker) {
		ret = sgx_epc_cg_worker_start(tree);
		if (ret)
			goto err_root;
	}
	*out = tree;
	return 0;

err_root:
	sgx_epc_cgroup_put(tree->root);
err_sem:
	sem_destroy(&tree->work_sem);
err_free:
	pthread_rwlock_destroy(&tree->tree_lock);
	free(tree);
	return ret;
}

int sgx_epc_cg_tree_destroy(struct sgx_epc_cg_tree *tree)
{
	struct sgx_epc_cgroup *root;

	if (!tree)
		return 0;
	root = tree->root;
	pthread_rwlock_rdlock(&tree->tree_lock);
	if (!list_empty(&root->children) || atomic_load(&root->usage)) {
		pthread_rwlock_unlock(&tree->tree_lock);
		return -EBUSY;
	}
	pthread_rwlock_unlock(&tree->tree_lock);

	/* Stopping the worker drops the references its queue held. */
	sgx_epc_cg_worker_stop(tree);
	if (atomic_load(&root->refcount) != 1)
		SGX_WARN("EPC cgroup root still referenced at destroy (%ld)",
			 atomic_load(&root->refcount));
	sgx_epc_cgroup_put(root);
	sem_destroy(&tree->work_sem);
	pthread_rwlock_destroy(&tree->tree_lock);
	free(tree);
	return 0;
}

void sgx_epc_cg_set_capacity(struct sgx_epc_cg_tree *tree, uint64_t bytes)
{
	atomic_store(&tree->capacity, bytes);
}

/* ---- paths ---- */

/*
 * Walks a path one component at a time: *comp and *len name the next one;
 * returns false at the end. Components are separated by one or more '/'.
 */
static bool next_component(const char **cursor, const char **comp, size_t *len)
{
	const char *s = *cursor;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	*comp = s;
	while (*s && *s != '/')
		s++;
	*len = (size_t)(s - *comp);
	*cursor = s;
	return true;
}

/* A cgroupfs directory name: what mkdir accepts (and what can exist at all). */
static int check_component(const char *comp, size_t len)
{
	if (len > SGX_EPC_CG_NAME_MAX)
		return -ENAMETOOLONG;
	if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.'))
		return -EINVAL;
	/* cgroup_mkdir() refuses '\n', which would break /proc/<pid>/cgroup */
	if (memchr(comp, '\n', len))
		return -EINVAL;
	return 0;
}

static int check_path(const char *path)
{
	const char *cursor = path, *comp;
	size_t len;
	int ret;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (strnlen(path, SGX_EPC_CG_PATH_MAX) >= SGX_EPC_CG_PATH_MAX)
		return -ENAMETOOLONG;
	while (next_component(&cursor, &comp, &len)) {
		ret = check_component(comp, len);
		if (ret)
			return ret;
	}
	return 0;
}

static struct sgx_epc_cgroup *find_child(struct sgx_epc_cgroup *parent, const char *name,
					 size_t len)
{
	struct sgx_epc_cgroup *child;

	list_for_each_entry(child, &parent->children, sibling) {
		if (strlen(child->name) == len && !memcmp(child->name, name, len))
			return child;
	}
	return NULL;
}

/*
 * Under tree_lock: the cgroup at path (NULL if missing). With 'last' set,
 * resolve all but the last component and return that in *last and *last_len
 * (*last = NULL for "/").
 */
static struct sgx_epc_cgroup *resolve(struct sgx_epc_cg_tree *tree, const char *path,
				      const char **last, size_t *last_len)
{
	struct sgx_epc_cgroup *cg = tree->root;
	const char *cursor = path, *comp, *peek_cursor;
	const char *peek;
	size_t len, peek_len;

	if (last)
		*last = NULL;
	while (next_component(&cursor, &comp, &len)) {
		if (last) {
			peek_cursor = cursor;
			if (!next_component(&peek_cursor, &peek, &peek_len)) {
				*last = comp;
				*last_len = len;
				return cg;
			}
		}
		cg = find_child(cg, comp, len);
		if (!cg)
			return NULL;
	}
	return cg;
}

struct sgx_epc_cgroup *sgx_epc_cgroup_lookup(struct sgx_epc_cg_tree *tree, const char *path)
{
	struct sgx_epc_cgroup *cg;
	int ret;

	if (!tree)
		return ERR_PTR(-EINVAL);
	ret = check_path(path);
	if (ret)
		return ERR_PTR(ret);
	pthread_rwlock_rdlock(&tree->tree_lock);
	cg = resolve(tree, path, NULL, NULL);
	if (cg)
		sgx_epc_cgroup_get(cg);
	pthread_rwlock_unlock(&tree->tree_lock);
	return cg ? cg : ERR_PTR(-ENOENT);
}

int sgx_epc_cgroup_mkdir(struct sgx_epc_cg_tree *tree, const char *path)
{
	struct sgx_epc_cgroup *parent, *cg;
	const char *name;
	size_t len;
	int ret;

	if (!tree)
		return -EINVAL;
	ret = check_path(path);
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&tree->tree_lock);
	parent = resolve(tree, path, &name, &len);
	if (!parent) {
		ret = -ENOENT;
		goto out;
	}
	if (!name || find_child(parent, name, len)) {
		ret = -EEXIST;	/* "/" or an existing directory */
		goto out;
	}
	cg = sgx_epc_cgroup_alloc(tree, parent, name, len);
	if (!cg) {
		ret = -ENOMEM;
		goto out;
	}
	list_add_tail(&cg->sibling, &parent->children);
	atomic_fetch_add(&tree->nr_cgroups, 1);
out:
	pthread_rwlock_unlock(&tree->tree_lock);
	return ret;
}

/* Pre-order successor of pos inside root's subtree, NULL after the last one. */
struct sgx_epc_cgroup *sgx_epc_cgroup_next_pre(struct sgx_epc_cgroup *pos,
					       struct sgx_epc_cgroup *root)
{
	if (!list_empty(&pos->children))
		return list_first_entry(&pos->children, struct sgx_epc_cgroup, sibling);
	while (pos != root) {
		if (pos->sibling.next != &pos->parent->children)
			return list_entry(pos->sibling.next, struct sgx_epc_cgroup, sibling);
		pos = pos->parent;
	}
	return NULL;
}

int sgx_epc_cgroup_rmdir(struct sgx_epc_cg_tree *tree, const char *path)
{
	struct sgx_epc_cgroup *cg, *a;
	int ret;

	if (!tree)
		return -EINVAL;
	ret = check_path(path);
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&tree->tree_lock);
	cg = resolve(tree, path, NULL, NULL);
	if (!cg) {
		ret = -ENOENT;
		goto out;
	}
	/* The root is the mount point; the others are busy while anything lives in them. */
	if (cg == tree->root || !list_empty(&cg->children) || atomic_load(&cg->nr_users) ||
	    atomic_load(&cg->usage)) {
		ret = -EBUSY;
		goto out;
	}
	/*
	 * v16's sgx_cgroup_next_skip(): no ancestor's cursor may stay on it.
	 * Writers exclude every cursor user, so no next_cg_lock is needed.
	 */
	for (a = cg->parent; a; a = a->parent) {
		if (a->next_cg == cg)
			a->next_cg = sgx_epc_cgroup_next_pre(cg, a);
	}
	cg->dying = true;
	list_del_init(&cg->sibling);
	atomic_fetch_sub(&tree->nr_cgroups, 1);
out:
	pthread_rwlock_unlock(&tree->tree_lock);
	if (!ret)
		sgx_epc_cgroup_put(cg);	/* the tree's link */
	return ret;
}

int sgx_epc_cgroup_attach(struct sgx_epc_cgroup *cg)
{
	int ret = 0;

	pthread_rwlock_rdlock(&cg->tree->tree_lock);
	if (cg->dying)
		ret = -ENOENT;
	else
		atomic_fetch_add(&cg->nr_users, 1);
	pthread_rwlock_unlock(&cg->tree->tree_lock);
	return ret;
}

void sgx_epc_cgroup_detach(struct sgx_epc_cgroup *cg)
{
	if (atomic_fetch_sub(&cg->nr_users, 1) <= 0)
		SGX_WARN("EPC cgroup '%s': detach without attach", cg->name);
}

int sgx_epc_cgroup_path(struct sgx_epc_cgroup *cg, char *buf, size_t len)
{
	struct sgx_epc_cgroup *c;
	size_t need = 0, pos;

	/* Names and parents never change: no lock needed. */
	for (c = cg; c->parent; c = c->parent)
		need += 1 + strlen(c->name);
	if (!need)
		need = 1;
	if (need + 1 > len)
		return -ENAMETOOLONG;
	buf[need] = '\0';
	buf[0] = '/';
	pos = need;
	for (c = cg; c->parent; c = c->parent) {
		size_t n = strlen(c->name);

		pos -= n;
		memcpy(buf + pos, c->name, n);
		buf[--pos] = '/';
	}
	return (int)need;
}

static void walk(struct sgx_epc_cgroup *cg, unsigned int depth,
		 void (*fn)(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth), void *arg)
{
	struct sgx_epc_cgroup *child;

	fn(arg, cg, depth);
	list_for_each_entry(child, &cg->children, sibling)
		walk(child, depth + 1, fn, arg);
}

void sgx_epc_cgroup_walk(struct sgx_epc_cg_tree *tree,
			 void (*fn)(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth),
			 void *arg)
{
	pthread_rwlock_rdlock(&tree->tree_lock);
	walk(tree->root, 0, fn, arg);
	pthread_rwlock_unlock(&tree->tree_lock);
}

/* ---- the misc counters ---- */

/* misc_cg_update_watermark(): peak only ever grows. */
static void update_watermark(struct sgx_epc_cgroup *cg, uint64_t usage)
{
	unsigned long long old = atomic_load(&cg->watermark);

	while (usage > old) {
		if (atomic_compare_exchange_weak(&cg->watermark, &old, usage))
			break;
	}
}

int sgx_misc_cg_try_charge(struct sgx_epc_cgroup *cg, uint64_t amount,
			   struct sgx_epc_cgroup **failed)
{
	uint64_t cap = atomic_load(&cg->tree->capacity);
	struct sgx_epc_cgroup *i, *j;

	if (!cap)
		return -EINVAL;
	if (!amount)
		return 0;
	for (i = cg; i; i = i->parent) {
		uint64_t new_usage = atomic_fetch_add(&i->usage, amount) + amount;

		if (new_usage > atomic_load(&i->max) || new_usage > cap)
			goto err_charge;
		update_watermark(i, new_usage);
	}
	return 0;

err_charge:
	for (j = i; j; j = j->parent)
		atomic_fetch_add(&j->events, 1);
	atomic_fetch_add(&i->events_local, 1);
	for (j = cg; j != i; j = j->parent)
		atomic_fetch_sub(&j->usage, amount);
	atomic_fetch_sub(&i->usage, amount);
	if (failed)
		*failed = i;
	return -EBUSY;
}

void sgx_misc_cg_uncharge(struct sgx_epc_cgroup *cg, uint64_t amount)
{
	struct sgx_epc_cgroup *i;

	for (i = cg; i; i = i->parent) {
		if (atomic_fetch_sub(&i->usage, amount) < amount)
			SGX_WARN("EPC cgroup '%s': usage went negative", i->name);
	}
}

uint64_t sgx_epc_cgroup_effective_max(struct sgx_epc_cgroup *cg)
{
	uint64_t max = atomic_load(&cg->tree->capacity);
	struct sgx_epc_cgroup *i;

	for (i = cg; i; i = i->parent) {
		uint64_t m = atomic_load(&i->max);

		if (m < max)
			max = m;
	}
	return max;
}

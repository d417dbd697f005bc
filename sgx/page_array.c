// SPDX-License-Identifier: MIT
/* The enclave page array (see page_array.h). */
#include <errno.h>
#include <stdlib.h>

#include "sgx/page_array.h"
#include "sgx/pool.h"

struct sgx_xa_node {
	void *slots[SGX_XA_SLOTS];
	unsigned int count;		/* non-NULL slots */
};

static unsigned int xa_offset(unsigned long index, int level)
{
	/* level 0 is the root, level HEIGHT-1 holds the entries */
	int shift = SGX_XA_BITS * (SGX_XA_HEIGHT - 1 - level);

	return (index >> shift) & (SGX_XA_SLOTS - 1);
}

void sgx_xa_init(struct sgx_xarray *xa)
{
	xa->root = NULL;
	xa->nr_entries = 0;
	xa->nr_nodes = 0;
	xa->pool = NULL;
}

size_t sgx_xa_node_size(void)
{
	return sizeof(struct sgx_xa_node);
}

void sgx_xa_set_pool(struct sgx_xarray *xa, struct sgx_pool *pool)
{
	xa->pool = pool;
}

static struct sgx_xa_node *xa_node_alloc(struct sgx_xarray *xa)
{
	if (xa->pool)
		return sgx_pool_zalloc(xa->pool);
	return calloc(1, sizeof(struct sgx_xa_node));
}

static void xa_node_free(struct sgx_xarray *xa, struct sgx_xa_node *node)
{
	if (xa->pool)
		sgx_pool_free(xa->pool, node);
	else
		free(node);
}

void *sgx_xa_load(const struct sgx_xarray *xa, unsigned long index)
{
	const struct sgx_xa_node *node = xa->root;
	int level;

	if (index > SGX_XA_MAX_INDEX)
		return NULL;
	for (level = 0; node && level < SGX_XA_HEIGHT - 1; level++)
		node = node->slots[xa_offset(index, level)];
	return node ? node->slots[xa_offset(index, SGX_XA_HEIGHT - 1)] : NULL;
}

int sgx_xa_insert(struct sgx_xarray *xa, unsigned long index, void *entry)
{
	struct sgx_xa_node *path[SGX_XA_HEIGHT];
	struct sgx_xa_node **slot = &xa->root;
	int level, created = 0;

	if (!entry || index > SGX_XA_MAX_INDEX)
		return -EINVAL;
	if (sgx_xa_load(xa, index))
		return -EBUSY;

	for (level = 0; level < SGX_XA_HEIGHT; level++) {
		if (!*slot) {
			*slot = xa_node_alloc(xa);
			if (!*slot)
				goto nomem;
			xa->nr_nodes++;
			created++;
			if (level > 0)
				path[level - 1]->count++;
		}
		path[level] = *slot;
		if (level < SGX_XA_HEIGHT - 1)
			slot = (struct sgx_xa_node **)&path[level]->slots[xa_offset(index, level)];
	}
	path[SGX_XA_HEIGHT - 1]->slots[xa_offset(index, SGX_XA_HEIGHT - 1)] = entry;
	path[SGX_XA_HEIGHT - 1]->count++;
	xa->nr_entries++;
	return 0;

nomem:
	/* Undo the empty nodes made on the way down, deepest first. */
	while (created--) {
		level--;
		xa_node_free(xa, path[level]);
		xa->nr_nodes--;
		if (level == 0) {
			xa->root = NULL;
		} else {
			path[level - 1]->slots[xa_offset(index, level - 1)] = NULL;
			path[level - 1]->count--;
		}
	}
	return -ENOMEM;
}

void *sgx_xa_erase(struct sgx_xarray *xa, unsigned long index)
{
	struct sgx_xa_node *path[SGX_XA_HEIGHT];
	struct sgx_xa_node *node = xa->root;
	unsigned int off;
	void *entry;
	int level;

	if (index > SGX_XA_MAX_INDEX || !node)
		return NULL;
	for (level = 0; level < SGX_XA_HEIGHT; level++) {
		if (!node)
			return NULL;
		path[level] = node;
		if (level < SGX_XA_HEIGHT - 1)
			node = node->slots[xa_offset(index, level)];
	}
	off = xa_offset(index, SGX_XA_HEIGHT - 1);
	entry = path[SGX_XA_HEIGHT - 1]->slots[off];
	if (!entry)
		return NULL;
	path[SGX_XA_HEIGHT - 1]->slots[off] = NULL;
	xa->nr_entries--;

	/* Free nodes that became empty, bottom up, so the tree never grows without bound. */
	for (level = SGX_XA_HEIGHT - 1; level >= 0; level--) {
		if (--path[level]->count > 0)
			break;
		xa_node_free(xa, path[level]);
		xa->nr_nodes--;
		if (level == 0)
			xa->root = NULL;
		else
			path[level - 1]->slots[xa_offset(index, level - 1)] = NULL;
	}
	return entry;
}

static void *xa_find_in(const struct sgx_xa_node *node, int level, unsigned long *index,
			unsigned long max)
{
	int shift = SGX_XA_BITS * (SGX_XA_HEIGHT - 1 - level);
	unsigned long span = 1UL << shift;
	unsigned int off;

	for (off = xa_offset(*index, level); off < SGX_XA_SLOTS; off++) {
		void *slot = node->slots[off];

		if (*index > max)
			return NULL;
		if (slot) {
			void *found;

			if (level == SGX_XA_HEIGHT - 1)
				return slot;
			found = xa_find_in(slot, level + 1, index, max);
			if (found)
				return found;
		}
		/* Skip to the first index of the next slot at this level. */
		*index = (*index & ~((span << SGX_XA_BITS) - 1)) + (unsigned long)(off + 1) * span;
		if (*index == 0)	/* wrapped past the last index */
			return NULL;
	}
	return NULL;
}

void *sgx_xa_find(const struct sgx_xarray *xa, unsigned long *index, unsigned long max)
{
	unsigned long i = *index;
	void *entry;

	if (!xa->root || i > max || i > SGX_XA_MAX_INDEX)
		return NULL;
	entry = xa_find_in(xa->root, 0, &i, max);
	if (!entry || i > max)
		return NULL;
	*index = i;
	return entry;
}

static void xa_free_node(struct sgx_xarray *xa, struct sgx_xa_node *node, int level)
{
	unsigned int off;

	if (level < SGX_XA_HEIGHT - 1) {
		for (off = 0; off < SGX_XA_SLOTS; off++)
			if (node->slots[off])
				xa_free_node(xa, node->slots[off], level + 1);
	}
	xa_node_free(xa, node);
}

void sgx_xa_destroy(struct sgx_xarray *xa)
{
	if (xa->root)
		xa_free_node(xa, xa->root, 0);
	xa->root = NULL;
	xa->nr_entries = 0;
	xa->nr_nodes = 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The enclave page array: what the kernel keeps in encl->page_array, an
 * xarray keyed by PFN_DOWN(linear address). Here a fixed-height radix tree
 * (6 levels of 512 slots cover 54-bit indices, more than a 52-bit PFN), with
 * lazily allocated nodes that are freed again when they become empty.
 *
 * Locking: none inside. Every user holds encl->lock (the kernel's xarray has
 * its own spinlock as well, but every path that touches page_array already
 * holds encl->lock, so one lock is enough here).
 */
#ifndef SGXEMU_SGX_PAGE_ARRAY_H
#define SGXEMU_SGX_PAGE_ARRAY_H

#include <stddef.h>

#define SGX_XA_BITS		9
#define SGX_XA_SLOTS		(1UL << SGX_XA_BITS)
#define SGX_XA_HEIGHT		6
#define SGX_XA_MAX_INDEX	((1UL << (SGX_XA_BITS * SGX_XA_HEIGHT)) - 1)

struct sgx_xa_node;
struct sgx_pool;

struct sgx_xarray {
	struct sgx_xa_node *root;
	unsigned long nr_entries;
	unsigned long nr_nodes;
	struct sgx_pool *pool;	/* where nodes come from (async-signal-safe), NULL: calloc */
};

void sgx_xa_init(struct sgx_xarray *xa);
/* The size of one tree node, for a pool of them. */
size_t sgx_xa_node_size(void);
/* Take nodes from pool (see pool.h) instead of calloc, so that the fault path can insert. */
void sgx_xa_set_pool(struct sgx_xarray *xa, struct sgx_pool *pool);
/* The entry at index, or NULL. */
void *sgx_xa_load(const struct sgx_xarray *xa, unsigned long index);
/* 0, -EBUSY (an entry already sits at index), -EINVAL (NULL entry/index too big), -ENOMEM. */
int sgx_xa_insert(struct sgx_xarray *xa, unsigned long index, void *entry);
/* Removes and returns the entry at index (NULL if none). */
void *sgx_xa_erase(struct sgx_xarray *xa, unsigned long index);
/*
 * The first entry at an index in [*index, max], in index order; *index is set
 * to its index. NULL when there is none. Used for ordered walks:
 *	for (i = first; (e = sgx_xa_find(xa, &i, last)); i++) ...
 */
void *sgx_xa_find(const struct sgx_xarray *xa, unsigned long *index, unsigned long max);
/* Frees the tree's nodes (not the entries). */
void sgx_xa_destroy(struct sgx_xarray *xa);

#endif /* SGXEMU_SGX_PAGE_ARRAY_H */

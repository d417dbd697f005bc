/* SPDX-License-Identifier: MIT */
/*
 * Object pools for what the fault path allocates (the kernel's slab caches
 * for struct sgx_encl_page, VA page descriptors and xarray nodes).
 *
 * The fault path runs in a SIGBUS handler, where malloc and free are not
 * async-signal-safe. A pool takes its memory from mmap(), which is a system
 * call and therefore async-signal-safe, in chunks of many objects, and keeps
 * freed objects on a free list under the pool's own lock (a platform lock,
 * like encl->lock: see fault.c for why the fault path may take those). Chunks
 * go back to the system only when the pool is destroyed, so a pool's
 * footprint is its high-water mark.
 */
#ifndef SGXEMU_SGX_POOL_H
#define SGXEMU_SGX_POOL_H

#include <pthread.h>
#include <stddef.h>

struct sgx_pool {
	pthread_mutex_t lock;
	size_t obj_size;		/* rounded up to 64 bytes */
	size_t chunk_size;
	void *free_list;		/* each free object starts with the next pointer */
	void *chunks;			/* each chunk starts with the next chunk pointer */
	unsigned long nr_chunks, nr_in_use;
};

void sgx_pool_init(struct sgx_pool *pool, size_t obj_size);
/* Unmaps every chunk: every object must have been freed (or be dead with its owner). */
void sgx_pool_destroy(struct sgx_pool *pool);
/* A zeroed object, or NULL when mmap() fails. Async-signal-safe. */
void *sgx_pool_zalloc(struct sgx_pool *pool);
/* NULL is ignored. Async-signal-safe. */
void sgx_pool_free(struct sgx_pool *pool, void *obj);

#endif /* SGXEMU_SGX_POOL_H */

// SPDX-License-Identifier: MIT
/* Async-signal-safe object pools on mmap()ed chunks (see pool.h). */
#include <string.h>
#include <sys/mman.h>

#include "sgx/internal.h"
#include "sgx/pool.h"

#define SGX_POOL_ALIGN		64UL
#define SGX_POOL_CHUNK_MIN	(64UL * 1024)
#define SGX_POOL_MIN_OBJS	16UL

void sgx_pool_init(struct sgx_pool *pool, size_t obj_size)
{
	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
	pool->obj_size = (obj_size + SGX_POOL_ALIGN - 1) & ~(SGX_POOL_ALIGN - 1);
	pool->chunk_size = SGX_POOL_CHUNK_MIN;
	while (pool->chunk_size < (1 + SGX_POOL_MIN_OBJS) * pool->obj_size)
		pool->chunk_size *= 2;
}

void sgx_pool_destroy(struct sgx_pool *pool)
{
	void *chunk = pool->chunks;

	while (chunk) {
		void *next = *(void **)chunk;

		munmap(chunk, pool->chunk_size);
		chunk = next;
	}
	pool->chunks = NULL;
	pool->free_list = NULL;
	pthread_mutex_destroy(&pool->lock);
}

/* pool->lock held. The first object's worth of the chunk holds the chunk link. */
static int pool_grow(struct sgx_pool *pool)
{
	char *chunk = mmap(NULL, pool->chunk_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (chunk == MAP_FAILED)
		return -1;
	*(void **)chunk = pool->chunks;
	pool->chunks = chunk;
	pool->nr_chunks++;
	for (off = pool->obj_size; off + pool->obj_size <= pool->chunk_size;
	     off += pool->obj_size) {
		*(void **)(chunk + off) = pool->free_list;
		pool->free_list = chunk + off;
	}
	return 0;
}

void *sgx_pool_zalloc(struct sgx_pool *pool)
{
	void *obj = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->free_list || !pool_grow(pool)) {
		obj = pool->free_list;
		pool->free_list = *(void **)obj;
		pool->nr_in_use++;
	}
	pthread_mutex_unlock(&pool->lock);
	if (obj)
		memset(obj, 0, pool->obj_size);
	return obj;
}

void sgx_pool_free(struct sgx_pool *pool, void *obj)
{
	if (!obj)
		return;
	pthread_mutex_lock(&pool->lock);
	*(void **)obj = pool->free_list;
	pool->free_list = obj;
	pool->nr_in_use--;
	pthread_mutex_unlock(&pool->lock);
}

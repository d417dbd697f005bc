/* SPDX-License-Identifier: MIT */
/* Helpers shared by the manager's files and not part of any kernel header. */
#ifndef SGXEMU_SGX_INTERNAL_H
#define SGXEMU_SGX_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "sgx/sgx.h"

/* The kernel-internal errno that signal_pending() paths return (never seen by user space). */
#ifndef ERESTARTSYS
#define ERESTARTSYS	512
#endif

#define IS_ALIGNED(x, a)	(((x) & ((uint64_t)(a) - 1)) == 0)

/* CLOCK_MONOTONIC in nanoseconds (async-signal-safe). */
static inline uint64_t sgx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* WARN(): report and go on. Async-signal-safe (warn.c): the fault path may warn. */
void sgx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SGX_WARN(fmt, ...) sgx_warn(fmt, ##__VA_ARGS__)

/*
 * Taking a lock that a thread on the other CPU holds for a few microseconds
 * (encl->lock across a reclaimer's EWB batch, the reclaimer and node locks):
 * sleeping on it costs a futex wait and, on virtual machines whose idle
 * vCPUs halt, a wake-up IPI worth tens of microseconds when it is released.
 * The kernel's mutexes spin while the owner runs (optimistic spinning);
 * this spins, reading the lock word only, for a bounded time (about 50 us)
 * before it sleeps like pthread_mutex_lock().
 */
#define SGX_MUTEX_SPINS	2000

static inline void sgx_mutex_lock(pthread_mutex_t *m)
{
	unsigned int i;

	for (i = 0; i < SGX_MUTEX_SPINS; i++) {
		if (!__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) &&
		    !pthread_mutex_trylock(m))
			return;
		__builtin_ia32_pause();
	}
	pthread_mutex_lock(m);
}

struct sgx_epc_page *sgx_epc_page_from_phys(struct sgx_platform *p, uint64_t phys);

/*
 * copy_from_user/copy_to_user on the calling process: process_vm_readv/writev
 * on ourselves, so a bad user pointer gives -EFAULT instead of a crash.
 */
int sgx_copy_from_user(void *dst, uint64_t src, unsigned long len);
int sgx_copy_to_user(uint64_t dst, const void *src, unsigned long len);
/*
 * The ioctls' range check (offset, length against ELRANGE): 0 or -EINVAL.
 * Exported for the daemon, which checks a whole ADD_PAGES range before it
 * passes the manager one chunk of it (docs/DAEMON.md).
 */
int sgx_validate_offset_length(struct sgx_encl *encl, uint64_t offset, uint64_t length);

#endif /* SGXEMU_SGX_INTERNAL_H */

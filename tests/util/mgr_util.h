/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the EPC manager: small platforms, enclaves built through
 * the real ioctls (with the MRENCLAVE tracked so EINIT succeeds), and page
 * contents derived from (tag, address, generation) so that every read can be
 * checked.
 */
#ifndef SGXEMU_TESTS_MGR_UTIL_H
#define SGXEMU_TESTS_MGR_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "asm/sgx.h"
#include "enclave/sigstruct.h"
#include "sgx/platform.h"

struct mgr_encl {
	struct sgx_platform *p;
	struct sgx_encl *encl;
	uint64_t base, size, attributes;
	uint64_t tag;			/* pattern seed */
	struct sgx_mrenclave mr;
};

/* A platform with epc_pages frames over nr_sections sections (and NUMA nodes). */
struct sgx_platform *mgr_platform(uint64_t epc_pages, unsigned int nr_sections, bool ksgxd,
				  bool sgx2);

/* open + SGX_IOC_ENCLAVE_CREATE of [base, base+size); returns the ioctl's result. */
long mgr_encl_create(struct mgr_encl *e, struct sgx_platform *p, uint64_t base, uint64_t size);
/* The same, charged to the EPC cgroup at path (sgx_encl_set_cgroup() before CREATE). */
long mgr_encl_create_cg(struct mgr_encl *e, struct sgx_platform *p, const char *cg,
			uint64_t base, uint64_t size);
/*
 * ADD_PAGES of n pages at offset with pattern contents (generation 0).
 * *count (optional) receives the ioctl's count.
 */
long mgr_encl_add(struct mgr_encl *e, uint64_t offset, uint64_t n, uint64_t secinfo_flags,
		  bool measure, uint64_t *count);
/* Sign the tracked MRENCLAVE and SGX_IOC_ENCLAVE_INIT. */
long mgr_encl_init(struct mgr_encl *e);
/* create + add n REG RW pages at 0 + init. 0 or the failing step's result. */
long mgr_encl_build(struct mgr_encl *e, struct sgx_platform *p, uint64_t base, uint64_t size,
		    uint64_t n);
void mgr_encl_close(struct mgr_encl *e);

void mgr_pattern(void *page, uint64_t tag, uint64_t addr, uint64_t gen);
/* Read the page at addr through the manager and compare with the pattern: 0, or -errno / 1. */
int mgr_check_page(struct mgr_encl *e, uint64_t addr, uint64_t gen);
/* Write the pattern of generation gen into the page at addr. */
int mgr_write_page(struct mgr_encl *e, uint64_t addr, uint64_t gen);

/*
 * Windows: a platform whose faults are served by the SIGBUS handler, and the
 * whole ELRANGE of an enclave mapped at its base with prot (MAP_SHARED,
 * never replacing an existing mapping). 0 or -errno.
 */
struct sgx_platform *mgr_window_platform(uint64_t epc_pages, unsigned int nr_sections,
					 bool ksgxd, bool sgx2);
long mgr_encl_map(struct mgr_encl *e, int prot);
long mgr_encl_unmap(struct mgr_encl *e);
/* The page at addr, read natively through the window: 0 if it holds generation gen. */
int mgr_check_mem(struct mgr_encl *e, uint64_t addr, uint64_t gen);
/* Write generation gen of the page at addr natively through the window. */
void mgr_write_mem(struct mgr_encl *e, uint64_t addr, uint64_t gen);

/*
 * MODIFY_TYPES of the one page at 'offset' to TRIM, retried while the manager
 * says -EAGAIN. Returns the ioctl's final result; *count (optional) gets the
 * bytes it reports done.
 */
long mgr_encl_trim_page(struct mgr_encl *e, uint64_t offset, uint64_t *count);

/*
 * The background of the Nov 2021 free-page accounting scenario: one thread
 * per NUMA node, each allocating up to 8 EPC pages on its node (without
 * reclaim) and freeing them again, round after round, so that the global
 * free count is updated from several nodes at once while the test runs.
 */
#define MGR_CHURN_MAX_NODES	4
struct mgr_churn_thread {
	struct mgr_churn *churn;
	int node;
	long rounds;			/* completed alloc/free rounds */
	pthread_t thread;
};

struct mgr_churn {
	struct sgx_platform *p;
	unsigned int nr_nodes;
	atomic_int stop;
	struct mgr_churn_thread t[MGR_CHURN_MAX_NODES];
};

/* Start one churn thread on each of nodes 0..nr_nodes-1. 0 or -1 (none left running). */
int mgr_churn_start(struct mgr_churn *c, struct sgx_platform *p, unsigned int nr_nodes);
/* Stop and join them; true if every thread completed at least one round. */
bool mgr_churn_stop(struct mgr_churn *c);

/*
 * EPC cgroups of p: misc.current (bytes) and misc.events (count) of the
 * cgroup at path, -1 on error; misc.max := bytes (0 or -errno).
 */
long long mgr_cg_current(struct sgx_platform *p, const char *path);
long long mgr_cg_events(struct sgx_platform *p, const char *path);
int mgr_cg_set_max(struct sgx_platform *p, const char *path, uint64_t bytes);

/* Number of EPC pages in use = total - free - poisoned. */
uint64_t mgr_used_pages(struct sgx_platform *p);
/*
 * check_idle (which includes: nothing charged to any EPC cgroup, nothing on
 * their LRUs) + root misc.current == 0 + free + used + poison == capacity,
 * then destroy; 0 or -1 (message printed).
 */
int mgr_platform_finish(struct sgx_platform *p);

#endif /* SGXEMU_TESTS_MGR_UTIL_H */

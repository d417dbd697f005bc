/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the daemon (tests/test_daemon_encl.c, test_daemon_shared.c):
 * an in-process daemon on a temporary socket, clients and cgroup operations
 * through the protocol, and enclaves built over the protocol with their
 * MRENCLAVE tracked so that EINIT succeeds (the mgr_util builders, through
 * sgxd_encl_ioctl). Results are the call's -errno or the daemon's status.
 */
#ifndef SGXEMU_TESTS_DAEMON_UTIL_H
#define SGXEMU_TESTS_DAEMON_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "enclave/sigstruct.h"

struct edaemon {
	char dir[64], sock[100], log[128];
	struct sgxd *d;
	pthread_t thread;
	int log_fd;
};

/* A daemon with epc_pages of EPC and the policy, serving on its own thread. 0 or -errno. */
int edaemon_start(struct edaemon *ed, uint64_t epc_pages, enum sgx_epc_oom_policy oom);
/* Stop, destroy, remove its socket, lock file, log and directory. */
void edaemon_stop(struct edaemon *ed);

struct sgxd_client *conn(struct edaemon *ed, enum sgxd_role role);
/* A program client attached to path, or NULL. */
struct sgxd_client *conn_in(struct edaemon *ed, const char *path);

/* mkdir (mk) or rmdir of path: the daemon's status. */
int cg_op(struct sgxd_client *c, int mk, const char *path);
/* A misc file's number; -1 on error, -2 "max". */
long long cg_val(struct sgxd_client *c, const char *path, const char *file);
long long cg_cur(struct sgxd_client *c, const char *path);
int cg_max(struct sgxd_client *c, const char *path, const char *value);
int cg_max_pages(struct sgxd_client *c, const char *path, uint64_t pages);
/* Wait up to ms for misc.current of path to become want. */
bool cg_wait(struct sgxd_client *c, const char *path, long long want, int ms);
/* STATUS settles at every page free and no enclave (5 s at most). */
bool status_idle(struct sgxd_client *c);

struct penc {
	struct sgxd_client *c;
	uint32_t h;
	uint64_t base, size, tag;
	struct sgx_mrenclave mr;
};

int p_ioctl(struct penc *e, unsigned long cmd, void *arg);
/* ENCL_OPEN on c; e describes [base, base + size). */
int p_open(struct penc *e, struct sgxd_client *c, uint64_t base, uint64_t size);
/* CREATE of [base, base + size) (MODE64BIT, or the given attributes). */
int p_create_secs(struct penc *e, uint64_t base, uint64_t size);
int p_create_secs_attr(struct penc *e, uint64_t base, uint64_t size, uint64_t attributes);
/* CREATE of e's own range with 'attributes' in the SECS. */
int p_create_attr(struct penc *e, uint64_t attributes);
/* open + CREATE of [base, base + size). */
int p_create(struct penc *e, struct sgxd_client *c, uint64_t base, uint64_t size);
/* ADD_PAGES of n pattern pages at offset (measured); *count as the kernel reports it. */
int p_add(struct penc *e, uint64_t offset, uint64_t n, uint64_t *count);
/* INIT with a SIGSTRUCT for the tracked MRENCLAVE (MODE64BIT, or 'attributes'). */
int p_init(struct penc *e);
int p_init_attr(struct penc *e, uint64_t attributes);
int p_release(struct penc *e);

#endif /* SGXEMU_TESTS_DAEMON_UTIL_H */

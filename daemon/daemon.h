/* SPDX-License-Identifier: MIT */
/*
 * The sgxemu daemon (shared mode, docs/DAEMON.md): one platform and one EPC
 * cgroup tree for every process of the machine, served over a Unix socket.
 *
 * Life cycle: sgxd_create() (takes the socket: lock file, stale check, bind,
 * listen; creates the platform and the tree), sgxd_run() (serves until
 * sgxd_stop()), sgxd_destroy() (unlinks the socket, frees everything).
 *
 * Threads: sgxd_run()'s thread accepts, checks peer credentials and starts
 * one thread per connection (at most max_clients); see daemon.c for why.
 *
 * Locks: d->lock (mutex) guards the connection table (slots, nr_clients)
 * and, for shared mode, which connection belongs to which program process
 * (conn->proc, conn->is_thread, proc->open); it is never held while calling
 * into the platform, the cgroup tree or the socket. A program process
 * (struct sgxd_proc) is refcounted by its process connection and each
 * thread connection that joined it; the last reference destroys its sgx_mm.
 * The IPI table (pid, tid, signal per LP id) is atomics. The cgroup tree has
 * its own locks (sgx/epc_cgroup.h); the log is one write(2) per line and
 * needs none.
 */
#ifndef SGXEMU_DAEMON_DAEMON_H
#define SGXEMU_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cpu/cpu.h"
#include "sgx/epc_cgroup.h"

/* Programs have one connection per thread that runs enclave code or faults. */
#define SGXD_DEFAULT_MAX_CLIENTS	256
#define SGXD_MAX_CLIENTS_LIMIT		4096
#define SGXD_MSG_TIMEOUT_MS		5000	/* to receive the rest of a started message */
#define SGXD_MAX_ENCLS_PER_CONN		256	/* open enclaves per connection: -EMFILE beyond */

struct sgxd;

struct sgxd_config {
	const char *socket_path;
	struct sgx_cpu_config cpu;
	enum sgx_epc_oom_policy oom_policy;
	unsigned int max_clients;	/* 0: SGXD_DEFAULT_MAX_CLIENTS */
	gid_t socket_gid;		/* (gid_t)-1: the daemon's effective gid */
	int log_fd;			/* one line per event; -1: no log */
	bool verbose;			/* also log connections that open and close normally */
	unsigned int msg_timeout_ms;	/* 0: SGXD_MSG_TIMEOUT_MS */
};

void sgxd_default_config(struct sgxd_config *c);

/*
 * 0, or -errno with a reason in err: -EADDRINUSE (another daemon answers on
 * the socket or holds its lock), -EEXIST (the path is not a socket),
 * -ENAMETOOLONG, or the failing call's errno.
 */
int sgxd_create(const struct sgxd_config *c, struct sgxd **out, char *err, size_t errlen);
/* Serve until sgxd_stop(); then close every connection. 0 or -errno. */
int sgxd_run(struct sgxd *d);
/* Ask sgxd_run() to return: async-signal-safe. */
void sgxd_stop(struct sgxd *d);
/* Unlink the socket (if still ours), remove every cgroup, free the tree and the platform. */
void sgxd_destroy(struct sgxd *d);

struct sgx_epc_cg_tree *sgxd_tree(struct sgxd *d);
/* The daemon's platform (tests: statistics and the leak check). */
struct sgx_platform *sgxd_platform(struct sgxd *d);
unsigned int sgxd_nr_clients(struct sgxd *d);

/*
 * Supplementary groups of a process from /proc/PID/status ("Groups:"):
 * the number found (at most max stored), or -errno.
 */
int sgxd_proc_groups(pid_t pid, gid_t *groups, int max);

/*
 * The cgroup v2 path of a process from /proc/PID/cgroup (its "0::PATH"
 * line), normalized (no repeated or trailing '/'): 0, -ENOENT (no cgroup v2
 * line: the caller uses "/"), -ENAMETOOLONG or the open's -errno.
 */
int sgxd_proc_cgroup(pid_t pid, char *buf, size_t len);

#endif /* SGXEMU_DAEMON_DAEMON_H */

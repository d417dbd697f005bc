/* SPDX-License-Identifier: MIT */
/*
 * The client side of the daemon protocol (daemon/proto.h): used by the
 * `sgxemu cgroup` / `sgxemu status` commands and, next, by the shim in
 * shared mode. One connection per struct sgxd_client; calls are synchronous
 * and not thread-safe on the same client.
 *
 * Every operation returns 0 when the daemon answered (the operation's own
 * result, 0 or -errno from the daemon, is in *status) or a negative errno
 * when the conversation failed (connection lost, refused, malformed reply);
 * sgxd_client_error() then says why in words.
 */
#ifndef SGXEMU_DAEMON_CLIENT_H
#define SGXEMU_DAEMON_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

#include "daemon/proto.h"

struct sgxd_client;

/* The socket to use: 'opt' if set, else $SGXEMU_SOCKET if set and non-empty, else the default. */
const char *sgxd_socket_path(const char *opt);

/*
 * Connect and say HELLO. 0, or -errno with a reason in err:
 * -ENOENT/-ECONNREFUSED (no daemon), -EACCES (socket permissions, or the
 * daemon refused our credentials), -EPROTO (not an sgxemu daemon).
 */
int sgxd_client_connect(const char *path, enum sgxd_role role, const char *name,
			struct sgxd_client **out, char *err, size_t errlen);
void sgxd_client_close(struct sgxd_client *c);
const char *sgxd_client_error(const struct sgxd_client *c);
int sgxd_client_fd(const struct sgxd_client *c);

int sgxd_cg_mkdir(struct sgxd_client *c, const char *path, int *status);
int sgxd_cg_rmdir(struct sgxd_client *c, const char *path, int *status);
/* The file's text into buf (NUL-terminated; truncated to len - 1). */
int sgxd_cg_read(struct sgxd_client *c, const char *path, const char *file, char *buf,
		 size_t len, int *status);
int sgxd_cg_write(struct sgxd_client *c, const char *path, const char *file, const char *value,
		  int *status);

struct sgxd_cg_entry {
	char *path;
	unsigned int depth;
	uint64_t current, max, peak, events;	/* bytes; max UINT64_MAX = "max" */
};
/* Every cgroup in pre-order; free with sgxd_cg_tree_free(). */
int sgxd_cg_tree(struct sgxd_client *c, struct sgxd_cg_entry **out, size_t *nr, int *status);
void sgxd_cg_tree_free(struct sgxd_cg_entry *e, size_t nr);

struct sgxd_status {
	uint32_t pid, uid;
	uint64_t epc_bytes;
	uint32_t nr_sections;
	uint8_t sgx2, oom_policy;
	uint32_t nr_clients, max_clients;
	uint64_t total_pages, free_pages, nr_encls, nr_cgroups, uptime_ms;
	char version[32];
};
int sgxd_status(struct sgxd_client *c, struct sgxd_status *out, int *status);

/*
 * Every enclave the daemon hosts that this client may see (all of them for
 * root and the daemon's uid, else those its uid's processes opened), in
 * the daemon's list order, fetched page by page (ENCL_LIST). Free with
 * sgxd_encl_list_free().
 */
struct sgxd_encl_entry {
	uint64_t id;			/* the daemon's enclave id (increasing) */
	uint32_t pid;			/* the owning process; 0: its handle is gone */
	uint32_t uid;			/* its uid; UINT32_MAX: unknown */
	char *cgroup;			/* the EPC cgroup it is charged to */
	uint64_t base, size;		/* ELRANGE (0/0 before ECREATE) */
	uint64_t epc_pages;		/* in use: resident REG/TCS + SECS + VA */
	uint64_t swapped_pages;		/* in the backing store */
	uint32_t flags;			/* SGXD_ENCL_F_* */
	uint64_t ewb, eldu, eaug;
};
int sgxd_encl_list(struct sgxd_client *c, struct sgxd_encl_entry **out, size_t *nr, int *status);
void sgxd_encl_list_free(struct sgxd_encl_entry *e, size_t nr);

/*
 * Shared mode (role SGXD_ROLE_PROGRAM): enclaves on the daemon's EPC.
 *
 * sgxd_attach: charge this connection's enclaves to the EPC cgroup at path
 * (NULL or "": the process's own cgroup v2 path, created in the EPC tree if
 * missing). An explicit path needs root, the daemon's uid, or a path under
 * the process's own cgroup (-EACCES). The attached path goes to buf
 * (optional). Without it, the first sgxd_encl_open attaches to the own
 * cgroup.
 */
int sgxd_attach(struct sgxd_client *c, const char *path, char *buf, size_t len, int *status);
/* open("/dev/sgx_enclave"): a handle valid on this connection only. */
int sgxd_encl_open(struct sgxd_client *c, uint32_t *handle, int *status);
/* close() of the handle: -EBADF if it is not one of this connection's. */
int sgxd_encl_release(struct sgxd_client *c, uint32_t handle, int *status);
/*
 * open("/dev/sgx_provision"): on *status 0, *fd is a new fd (close-on-exec)
 * the caller owns, the one file ENCL_IOCTL(PROVISION) accepts. -EACCES
 * unless the process runs as root or as the daemon's user (the kernel's
 * device is root-only by default); -EPERM for a role other than PROGRAM.
 */
int sgxd_provision_open(struct sgxd_client *c, int *fd, int *status);
/*
 * ioctl(handle, cmd, arg) with the kernel's uapi structs (asm/sgx.h) in this
 * process, as the kernel takes them: the library reads the argument struct
 * and what it points to (SECS, SECINFO, source pages, SIGSTRUCT), and
 * writes back what the kernel writes back (count, result). ADD_PAGES is sent
 * in chunks of SGXD_ADD_PAGES_CHUNK pages and count accumulated, as the
 * kernel adds page by page; unreadable memory gives -EFAULT where the kernel
 * would. *status is the ioctl's 0 or -errno. PROVISION sends the file of
 * its struct's fd (SCM_RIGHTS; none if that is not an open fd here, and
 * the daemon answers -EINVAL as the kernel does for a bad fd).
 */
int sgxd_encl_ioctl(struct sgxd_client *c, uint32_t handle, unsigned long cmd, void *arg,
		    int *status);

/*
 * Shared mode, windows, faults and logical processors (docs/DAEMON.md).
 *
 * sgxd_client_connect_thread: a thread connection (HELLO + THREAD_JOIN with
 * gettid() and the kick signal the daemon's IPI sends to this thread). It
 * joins the process whose process connection has the same peer pid. Made
 * and used from signal handlers: this function, sgxd_fault, sgxd_enclu,
 * sgxd_aex, sgxd_translate and sgxd_client_close on such a client are
 * async-signal-safe (memory from mmap, no malloc, stdio or locks).
 */
int sgxd_client_connect_thread(const char *path, int kick_signal, struct sgxd_client **out);

/* The enclave's window memfd (after ECREATE): *memfd is a new fd the caller owns. */
int sgxd_encl_memfd(struct sgxd_client *c, uint32_t handle, int *memfd, uint64_t *base,
		    uint64_t *size, int *status);
/* Hand the process's userfaultfd to the daemon (once, before the first ENCL_MMAP). */
int sgxd_send_uffd(struct sgxd_client *c, int uffd, int *status);
/*
 * mmap() of the enclave fd: the kernel's checks; *window = true if a window
 * was recorded (the caller maps the memfd there and registers it on its
 * uffd, MISSING|WP), false if the mapping is allowed but every access is
 * SIGBUS (outside ELRANGE, before ECREATE).
 */
int sgxd_encl_mmap(struct sgxd_client *c, uint32_t handle, uint64_t addr, uint64_t len, int prot,
		   int flags, bool *window, int *status);
int sgxd_encl_munmap(struct sgxd_client *c, uint64_t addr, uint64_t len, int *status);
int sgxd_encl_mprotect(struct sgxd_client *c, uint64_t addr, uint64_t len, int prot,
		       int *status);
/* The fault path for a window page of this process: *result = enum sgx_fault_result. */
int sgxd_fault(struct sgxd_client *c, uint64_t addr, bool is_write, int *result);

/* What the daemon's LP of this thread connection says after a call. */
struct sgxd_lp_state {
	bool inside;			/* in enclave mode */
	uint64_t encl_base, encl_size;	/* ELRANGE of its enclave when inside */
};
/* sgx_enclu() on the thread's LP: *ret 0 (regs updated) or -1 (*exc says how). */
int sgxd_enclu(struct sgxd_client *c, struct sgx_regs *regs, struct sgx_exception *exc, int *ret,
	       struct sgxd_lp_state *st);
/* sgx_aex_or_fault() on the thread's LP (exc may be NULL): *ret 0, -EAGAIN (+ *ssa_fault), -EINVAL, -EIO. */
int sgxd_aex(struct sgxd_client *c, struct sgx_regs *regs, const struct sgx_exception *exc,
	     struct sgx_exception *ssa_fault, int *ret, struct sgxd_lp_state *st);
/* sgx_lp_translate() on the thread's LP: *ok, else *exc. */
int sgxd_translate(struct sgxd_client *c, uint64_t linaddr, uint32_t access,
		   struct sgx_exception *exc, bool *ok);

/*
 * Send one request and receive its reply payload (status first) into the
 * client's buffer; *reply points at it until the next call. For tests and
 * for the operations above.
 */
int sgxd_client_call(struct sgxd_client *c, uint16_t type, struct sgxd_wbuf *req,
		     const uint8_t **reply, size_t *reply_len);

#endif /* SGXEMU_DAEMON_CLIENT_H */

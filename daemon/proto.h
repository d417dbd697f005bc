/* SPDX-License-Identifier: MIT */
/*
 * The sgxemu daemon's wire protocol (docs/DAEMON.md): a versioned binary
 * protocol over a Unix SOCK_STREAM socket. Every message is a fixed 16-byte
 * header followed by a bounded payload; all integers are little-endian.
 *
 *   offset  size  field
 *        0     4  magic    SGXD_MAGIC ("SGXD")
 *        4     2  version  SGXD_VERSION
 *        6     2  type     enum sgxd_msg_type
 *        8     4  length   payload bytes, at most SGXD_MAX_PAYLOAD
 *       12     4  id       request id, echoed by the reply
 *
 * Payload fields are u8/u16/u32/u64 and strings. A string is a u16 size
 * (bytes including the terminating NUL, 1..SGXD_MAX_STR+1) followed by the
 * bytes: exactly one NUL, the last one. A payload is consumed exactly: bytes
 * left after the last field are an error (trailing garbage).
 *
 * A reply has type = request type | SGXD_REPLY and starts with an s32
 * status (0 or -errno); SGXD_MSG_ERROR (s32 -errno, string reason) answers
 * a message the daemon refuses, after which it closes the connection.
 */
#ifndef SGXEMU_DAEMON_PROTO_H
#define SGXEMU_DAEMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SGXD_MAGIC		0x44584753u	/* "SGXD" little-endian */
#define SGXD_VERSION		1
#define SGXD_HDR_SIZE		16
#define SGXD_MAX_PAYLOAD	(64u * 1024)
#define SGXD_MAX_STR		4095		/* string bytes, NUL excluded */
#define SGXD_REPLY		0x8000u
/* Pages per ENCL_IOCTL(ADD_PAGES) message: 15 x 4096 + the fields fit a payload. */
#define SGXD_ADD_PAGES_CHUNK	15

#define SGXD_DEFAULT_SOCKET	"/run/sgxemu/sgxemu.sock"
#define SGXD_SOCKET_ENV		"SGXEMU_SOCKET"

enum sgxd_msg_type {
	/* session */
	SGXD_MSG_HELLO		= 0x0001,	/* u32 pid, u32 role, u32 flags, str name */
	SGXD_MSG_STATUS		= 0x0002,	/* (empty) */
	/* cgroup operations */
	SGXD_MSG_CG_MKDIR	= 0x0010,	/* str path */
	SGXD_MSG_CG_RMDIR	= 0x0011,	/* str path */
	SGXD_MSG_CG_READ	= 0x0012,	/* str path, str file */
	SGXD_MSG_CG_WRITE	= 0x0013,	/* str path, str file, str value */
	SGXD_MSG_CG_TREE	= 0x0014,	/* u32 first (index of the first entry) */
	/* programs running enclaves (docs/DAEMON.md, "Enclaves on the daemon") */
	SGXD_MSG_ATTACH		= 0x0020,	/* str path ("": the peer's own cgroup) */
	SGXD_MSG_ENCL_OPEN	= 0x0021,	/* open("/dev/sgx_enclave"): (empty) */
	SGXD_MSG_ENCL_RELEASE	= 0x0022,	/* close(): u32 handle */
	SGXD_MSG_ENCL_IOCTL	= 0x0023,	/* u32 handle, u32 cmd, the arguments inline */
	/* windows, faults and logical processors (docs/DAEMON.md, "Shared mode") */
	SGXD_MSG_ENCL_MMAP	= 0x0024,	/* u32 handle, u64 addr, u64 len, u32 prot, u32 flags */
	SGXD_MSG_ENCL_MUNMAP	= 0x0025,	/* u64 addr, u64 len */
	SGXD_MSG_ENCL_MPROTECT	= 0x0026,	/* u64 addr, u64 len, u32 prot */
	SGXD_MSG_UFFD		= 0x0027,	/* (empty) + SCM_RIGHTS: the process's userfaultfd */
	SGXD_MSG_FAULT		= 0x0028,	/* u64 addr, u32 write */
	SGXD_MSG_ENCLU		= 0x0029,	/* regs */
	SGXD_MSG_AEX		= 0x002a,	/* regs, u8 has_exc, exc */
	SGXD_MSG_TRANSLATE	= 0x002b,	/* u64 linaddr, u32 access */
	SGXD_MSG_THREAD_JOIN	= 0x002c,	/* u32 tid, u32 kick_signal */
	SGXD_MSG_ENCL_MEMFD	= 0x002d,	/* u32 handle; reply + SCM_RIGHTS: the window memfd */
	SGXD_MSG_PROVISION_OPEN	= 0x002e,	/* (empty); reply + SCM_RIGHTS: a provision fd */
	/* the monitor: every enclave (the requester's own unless privileged), paged */
	SGXD_MSG_ENCL_LIST	= 0x002f,	/* u64 after (an enclave id; 0: from the start) */
	SGXD_MSG_RESERVED_FIRST	= 0x0030,	/* 0x30..0x3f: reserved (-ENOSYS) */
	SGXD_MSG_RESERVED_LAST	= 0x003f,
	/* daemon -> client: the connection is refused or the message was */
	SGXD_MSG_ERROR		= 0x7fff,	/* s32 -errno, str reason */
};

/* ENCL_LIST entry flags (docs/DAEMON.md, "ENCL_LIST"). */
#define SGXD_ENCL_F_CREATED	0x01u	/* ECREATE done */
#define SGXD_ENCL_F_INITIALIZED	0x02u	/* EINIT done */
#define SGXD_ENCL_F_DEBUG	0x04u
#define SGXD_ENCL_F_KILLED	0x08u	/* SGX_ENCL_NO_MEMORY: an EPC OOM victim */
#define SGXD_ENCL_F_SGX2	0x10u	/* the platform has SGX2: EAUG/EDMM apply */
/* ENCL_LIST reply entry: what one costs beyond its cgroup string. */
#define SGXD_ENCL_ENTRY_FIXED	(8 + 4 + 4 + 2 + 8 * 4 + 4 + 8 * 3)

enum sgxd_role {
	SGXD_ROLE_CLI = 1,	/* sgxemu cgroup / status */
	SGXD_ROLE_PROGRAM = 2,	/* an SGX program in shared mode (the shim) */
	SGXD_ROLE_MAX = 2,
};

struct sgxd_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;
	uint32_t id;
};

/* A request type the daemon knows (implemented or reserved). */
bool sgxd_type_known(uint16_t type);
bool sgxd_type_reserved(uint16_t type);
const char *sgxd_type_name(uint16_t type);

void sgxd_hdr_encode(const struct sgxd_hdr *h, uint8_t out[SGXD_HDR_SIZE]);
void sgxd_hdr_decode(const uint8_t in[SGXD_HDR_SIZE], struct sgxd_hdr *h);
/*
 * Check a header as received by 'side' (true: the daemon receiving a request,
 * false: a client receiving a reply): 0, or -errno with *why set:
 * -EPROTO bad magic, -EPROTONOSUPPORT bad version, -EMSGSIZE oversize,
 * -EBADMSG unknown type.
 */
int sgxd_hdr_check(const struct sgxd_hdr *h, bool daemon_side, const char **why);

/* ---- payload writer: errors stick (overflow), checked once at the end ---- */
struct sgxd_wbuf {
	uint8_t data[SGXD_HDR_SIZE + SGXD_MAX_PAYLOAD];
	size_t len;		/* payload bytes written (after the header) */
	bool overflow;
};

void sgxd_w_init(struct sgxd_wbuf *w);
void sgxd_w_u8(struct sgxd_wbuf *w, uint8_t v);
void sgxd_w_u16(struct sgxd_wbuf *w, uint16_t v);
void sgxd_w_u32(struct sgxd_wbuf *w, uint32_t v);
void sgxd_w_s32(struct sgxd_wbuf *w, int32_t v);
void sgxd_w_u64(struct sgxd_wbuf *w, uint64_t v);
/* n raw bytes (ENCL_IOCTL's SECS, SECINFO, SIGSTRUCT and pages). */
void sgxd_w_bytes(struct sgxd_wbuf *w, const void *src, size_t n);
/* A NUL-free C string of at most SGXD_MAX_STR bytes (else overflow). */
void sgxd_w_str(struct sgxd_wbuf *w, const char *s);
/* Room for 'n' more payload bytes? */
bool sgxd_w_room(const struct sgxd_wbuf *w, size_t n);
/* Fill in the header; the message is data[0 .. SGXD_HDR_SIZE + len). -EMSGSIZE on overflow. */
int sgxd_w_finish(struct sgxd_wbuf *w, uint16_t type, uint32_t id);

/* ---- payload reader: the first error sticks; nothing is read past it ---- */
struct sgxd_rbuf {
	const uint8_t *p;
	size_t len, off;
	const char *err;	/* NULL while the payload is well-formed */
};

void sgxd_r_init(struct sgxd_rbuf *r, const void *payload, size_t len);
uint8_t sgxd_r_u8(struct sgxd_rbuf *r);
uint16_t sgxd_r_u16(struct sgxd_rbuf *r);
uint32_t sgxd_r_u32(struct sgxd_rbuf *r);
int32_t sgxd_r_s32(struct sgxd_rbuf *r);
uint64_t sgxd_r_u64(struct sgxd_rbuf *r);
/* n raw bytes: a pointer into the payload, or NULL after an error. */
const void *sgxd_r_bytes(struct sgxd_rbuf *r, size_t n);
/* A pointer into the payload (NUL-terminated, validated) or "" after an error. */
const char *sgxd_r_str(struct sgxd_rbuf *r);
/* 0 if every field was well-formed and the payload is consumed exactly, else -EBADMSG. */
int sgxd_r_end(struct sgxd_rbuf *r);

/* ---- blocking I/O of whole messages (both sides) ---- */
/*
 * File descriptors that came with a message (SCM_RIGHTS). At most
 * SGXD_MAX_FDS are kept; any beyond are closed at once but counted in 'nr',
 * so that the receiver can refuse "too many". A control message cut short
 * by the kernel (MSG_CTRUNC) sets 'ctrunc'.
 */
#define SGXD_MAX_FDS	2
struct sgxd_fds {
	int fd[SGXD_MAX_FDS];
	unsigned int nr;
	bool ctrunc;
};
void sgxd_fds_init(struct sgxd_fds *f);
/* Close every fd kept and reset. */
void sgxd_fds_close(struct sgxd_fds *f);

/* Send all of buf (MSG_NOSIGNAL): 0 or -errno. */
int sgxd_send_all(int fd, const void *buf, size_t len);
/*
 * Read exactly len bytes. timeout_ms < 0: wait forever. 0, -ECONNRESET
 * (EOF; *got says how many bytes came first), -ETIMEDOUT or -errno.
 */
int sgxd_recv_all(int fd, void *buf, size_t len, int timeout_ms, size_t *got);
/*
 * sgxd_recv_all() with recvmsg() and a bounded control buffer: fds passed
 * with the bytes are received (MSG_CMSG_CLOEXEC) into *fds (accumulated
 * over calls until sgxd_fds_close()). Async-signal-safe (poll, recvmsg,
 * close, clock_gettime only).
 */
int sgxd_recvmsg_all(int fd, void *buf, size_t len, int timeout_ms, size_t *got,
		     struct sgxd_fds *fds);
/* sgxd_send_all() with pass_fd (if >= 0) attached to the first byte (SCM_RIGHTS). */
int sgxd_sendmsg_fd(int fd, const void *buf, size_t len, int pass_fd);

#endif /* SGXEMU_DAEMON_PROTO_H */

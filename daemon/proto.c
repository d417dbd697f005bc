// SPDX-License-Identifier: MIT
/*
 * The daemon protocol's wire format (daemon/proto.h): header and payload
 * encoding, strict decoding, and whole-message socket I/O.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/proto.h"

bool sgxd_type_reserved(uint16_t type)
{
	return type >= SGXD_MSG_RESERVED_FIRST && type <= SGXD_MSG_RESERVED_LAST;
}

bool sgxd_type_known(uint16_t type)
{
	switch (type) {
	case SGXD_MSG_HELLO:
	case SGXD_MSG_STATUS:
	case SGXD_MSG_CG_MKDIR:
	case SGXD_MSG_CG_RMDIR:
	case SGXD_MSG_CG_READ:
	case SGXD_MSG_CG_WRITE:
	case SGXD_MSG_CG_TREE:
	case SGXD_MSG_ATTACH:
	case SGXD_MSG_ENCL_OPEN:
	case SGXD_MSG_ENCL_RELEASE:
	case SGXD_MSG_ENCL_IOCTL:
	case SGXD_MSG_ENCL_MMAP:
	case SGXD_MSG_ENCL_MUNMAP:
	case SGXD_MSG_ENCL_MPROTECT:
	case SGXD_MSG_UFFD:
	case SGXD_MSG_FAULT:
	case SGXD_MSG_ENCLU:
	case SGXD_MSG_AEX:
	case SGXD_MSG_TRANSLATE:
	case SGXD_MSG_THREAD_JOIN:
	case SGXD_MSG_ENCL_MEMFD:
	case SGXD_MSG_PROVISION_OPEN:
	case SGXD_MSG_ENCL_LIST:
		return true;
	default:
		return sgxd_type_reserved(type);
	}
}

const char *sgxd_type_name(uint16_t type)
{
	switch (type & ~SGXD_REPLY) {
	case SGXD_MSG_HELLO: return "HELLO";
	case SGXD_MSG_STATUS: return "STATUS";
	case SGXD_MSG_CG_MKDIR: return "CG_MKDIR";
	case SGXD_MSG_CG_RMDIR: return "CG_RMDIR";
	case SGXD_MSG_CG_READ: return "CG_READ";
	case SGXD_MSG_CG_WRITE: return "CG_WRITE";
	case SGXD_MSG_CG_TREE: return "CG_TREE";
	case SGXD_MSG_ATTACH: return "ATTACH";
	case SGXD_MSG_ENCL_OPEN: return "ENCL_OPEN";
	case SGXD_MSG_ENCL_RELEASE: return "ENCL_RELEASE";
	case SGXD_MSG_ENCL_IOCTL: return "ENCL_IOCTL";
	case SGXD_MSG_ENCL_MMAP: return "ENCL_MMAP";
	case SGXD_MSG_ENCL_MUNMAP: return "ENCL_MUNMAP";
	case SGXD_MSG_ENCL_MPROTECT: return "ENCL_MPROTECT";
	case SGXD_MSG_UFFD: return "UFFD";
	case SGXD_MSG_FAULT: return "FAULT";
	case SGXD_MSG_ENCLU: return "ENCLU";
	case SGXD_MSG_AEX: return "AEX";
	case SGXD_MSG_TRANSLATE: return "TRANSLATE";
	case SGXD_MSG_THREAD_JOIN: return "THREAD_JOIN";
	case SGXD_MSG_ENCL_MEMFD: return "ENCL_MEMFD";
	case SGXD_MSG_PROVISION_OPEN: return "PROVISION_OPEN";
	case SGXD_MSG_ENCL_LIST: return "ENCL_LIST";
	case SGXD_MSG_ERROR: return "ERROR";
	default: return sgxd_type_reserved(type & ~SGXD_REPLY) ? "reserved" : "unknown";
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sgxd_hdr_encode(const struct sgxd_hdr *h, uint8_t out[SGXD_HDR_SIZE])
{
	put32(out, h->magic);
	put16(out + 4, h->version);
	put16(out + 6, h->type);
	put32(out + 8, h->length);
	put32(out + 12, h->id);
}

void sgxd_hdr_decode(const uint8_t in[SGXD_HDR_SIZE], struct sgxd_hdr *h)
{
	h->magic = get32(in);
	h->version = get16(in + 4);
	h->type = get16(in + 6);
	h->length = get32(in + 8);
	h->id = get32(in + 12);
}

int sgxd_hdr_check(const struct sgxd_hdr *h, bool daemon_side, const char **why)
{
	const char *dummy;
	uint16_t t = h->type;

	if (!why)
		why = &dummy;
	if (h->magic != SGXD_MAGIC) {
		*why = "bad magic";
		return -EPROTO;
	}
	if (h->version != SGXD_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (h->length > SGXD_MAX_PAYLOAD) {
		*why = "payload too large";
		return -EMSGSIZE;
	}
	if (daemon_side) {
		if (!sgxd_type_known(t)) {
			*why = "unknown message type";
			return -EBADMSG;
		}
	} else if (t != SGXD_MSG_ERROR &&
		   (!(t & SGXD_REPLY) || !sgxd_type_known(t & ~SGXD_REPLY))) {
		*why = "unknown reply type";
		return -EBADMSG;
	}
	*why = NULL;
	return 0;
}

/* ---- writer ---- */

void sgxd_w_init(struct sgxd_wbuf *w)
{
	w->len = 0;
	w->overflow = false;
}

bool sgxd_w_room(const struct sgxd_wbuf *w, size_t n)
{
	return !w->overflow && w->len + n <= SGXD_MAX_PAYLOAD;
}

static uint8_t *w_take(struct sgxd_wbuf *w, size_t n)
{
	uint8_t *p;

	if (!sgxd_w_room(w, n)) {
		w->overflow = true;
		return NULL;
	}
	p = w->data + SGXD_HDR_SIZE + w->len;
	w->len += n;
	return p;
}

void sgxd_w_u8(struct sgxd_wbuf *w, uint8_t v)
{
	uint8_t *p = w_take(w, 1);

	if (p)
		*p = v;
}

void sgxd_w_u16(struct sgxd_wbuf *w, uint16_t v)
{
	uint8_t *p = w_take(w, 2);

	if (p)
		put16(p, v);
}

void sgxd_w_u32(struct sgxd_wbuf *w, uint32_t v)
{
	uint8_t *p = w_take(w, 4);

	if (p)
		put32(p, v);
}

void sgxd_w_s32(struct sgxd_wbuf *w, int32_t v)
{
	sgxd_w_u32(w, (uint32_t)v);
}

void sgxd_w_u64(struct sgxd_wbuf *w, uint64_t v)
{
	uint8_t *p = w_take(w, 8);

	if (p) {
		put32(p, (uint32_t)v);
		put32(p + 4, (uint32_t)(v >> 32));
	}
}

void sgxd_w_bytes(struct sgxd_wbuf *w, const void *src, size_t n)
{
	uint8_t *p = w_take(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void sgxd_w_str(struct sgxd_wbuf *w, const char *s)
{
	size_t n = s ? strnlen(s, SGXD_MAX_STR + 1) : 0;
	uint8_t *p;

	if (!s || n > SGXD_MAX_STR) {
		w->overflow = true;
		return;
	}
	if (!sgxd_w_room(w, 2 + n + 1)) {
		w->overflow = true;
		return;
	}
	sgxd_w_u16(w, (uint16_t)(n + 1));
	p = w_take(w, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
}

int sgxd_w_finish(struct sgxd_wbuf *w, uint16_t type, uint32_t id)
{
	struct sgxd_hdr h = {
		.magic = SGXD_MAGIC, .version = SGXD_VERSION, .type = type,
		.length = (uint32_t)w->len, .id = id,
	};

	if (w->overflow)
		return -EMSGSIZE;
	sgxd_hdr_encode(&h, w->data);
	return 0;
}

/* ---- reader ---- */

void sgxd_r_init(struct sgxd_rbuf *r, const void *payload, size_t len)
{
	r->p = payload;
	r->len = len;
	r->off = 0;
	r->err = NULL;
}

static const uint8_t *r_take(struct sgxd_rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	if (r->len - r->off < n) {
		r->err = "truncated payload";
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t sgxd_r_u8(struct sgxd_rbuf *r)
{
	const uint8_t *p = r_take(r, 1);

	return p ? *p : 0;
}

uint16_t sgxd_r_u16(struct sgxd_rbuf *r)
{
	const uint8_t *p = r_take(r, 2);

	return p ? get16(p) : 0;
}

uint32_t sgxd_r_u32(struct sgxd_rbuf *r)
{
	const uint8_t *p = r_take(r, 4);

	return p ? get32(p) : 0;
}

int32_t sgxd_r_s32(struct sgxd_rbuf *r)
{
	return (int32_t)sgxd_r_u32(r);
}

uint64_t sgxd_r_u64(struct sgxd_rbuf *r)
{
	const uint8_t *p = r_take(r, 8);

	return p ? (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32 : 0;
}

const void *sgxd_r_bytes(struct sgxd_rbuf *r, size_t n)
{
	return r_take(r, n);
}

const char *sgxd_r_str(struct sgxd_rbuf *r)
{
	uint16_t n = sgxd_r_u16(r);
	const uint8_t *p;

	if (r->err)
		return "";
	if (n == 0 || n > SGXD_MAX_STR + 1) {
		r->err = "bad string length";
		return "";
	}
	p = r_take(r, n);
	if (!p)
		return "";
	if (p[n - 1] != '\0') {
		r->err = "unterminated string";
		return "";
	}
	if (memchr(p, '\0', n - 1)) {
		r->err = "NUL inside a string";
		return "";
	}
	return (const char *)p;
}

int sgxd_r_end(struct sgxd_rbuf *r)
{
	if (!r->err && r->off != r->len)
		r->err = "trailing bytes after the payload";
	return r->err ? -EBADMSG : 0;
}

/* ---- I/O ---- */

int sgxd_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void sgxd_fds_init(struct sgxd_fds *f)
{
	for (unsigned int i = 0; i < SGXD_MAX_FDS; i++)
		f->fd[i] = -1;
	f->nr = 0;
	f->ctrunc = false;
}

void sgxd_fds_close(struct sgxd_fds *f)
{
	for (unsigned int i = 0; i < SGXD_MAX_FDS; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	sgxd_fds_init(f);
}

/* Keep or close the fds of every SCM_RIGHTS message in msg. */
static void take_fds(struct msghdr *msg, struct sgxd_fds *fds)
{
	struct cmsghdr *cm;

	if (msg->msg_flags & MSG_CTRUNC)
		fds->ctrunc = true;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(f));
			if (fds->nr < SGXD_MAX_FDS)
				fds->fd[fds->nr] = f;
			else
				close(f);
			fds->nr++;
		}
	}
}

/*
 * Receive exactly len bytes (the whole-message read of both receive paths):
 * with fds, by recvmsg() keeping what SCM_RIGHTS brings (take_fds()); without,
 * by recv().
 */
static int recv_loop(int fd, void *buf, size_t len, int timeout_ms, size_t *got,
		     struct sgxd_fds *fds)
{
	long long deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	uint8_t *p = buf;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(SGXD_MAX_FDS * sizeof(int))];
		} ctl;
		struct iovec iov = { p + done, len - done };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n;

		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			long long left = deadline - now_ms();
			int r;

			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
			r = poll(&pfd, 1, (int)left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ret = -errno;
				break;
			}
			if (r == 0) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		n = fds ? recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) : recv(fd, p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (fds)
			take_fds(&msg, fds);
		if (n == 0) {
			ret = -ECONNRESET;
			break;
		}
		done += (size_t)n;
	}
	if (got)
		*got = done;
	return ret;
}

int sgxd_recv_all(int fd, void *buf, size_t len, int timeout_ms, size_t *got)
{
	return recv_loop(fd, buf, len, timeout_ms, got, NULL);
}

int sgxd_recvmsg_all(int fd, void *buf, size_t len, int timeout_ms, size_t *got,
		     struct sgxd_fds *fds)
{
	return recv_loop(fd, buf, len, timeout_ms, got, fds);
}

int sgxd_sendmsg_fd(int fd, const void *buf, size_t len, int pass_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (pass_fd < 0)
		return sgxd_send_all(fd, buf, len);
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* The fd went with the first bytes; the rest is plain data. */
	return sgxd_send_all(fd, (const uint8_t *)buf + n, len - (size_t)n);
}

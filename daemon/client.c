// SPDX-License-Identifier: MIT
/* The client side of the daemon protocol (daemon/client.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "daemon/client.h"
#include "sgxemu/arch.h"

#define CLIENT_TIMEOUT_MS	30000	/* a reply that does not come is a dead daemon */

/*
 * A process client comes from calloc; a thread client (made and used in
 * signal handlers) from mmap, and its calls format nothing (thread = true).
 * 'fds': what came with the last reply (ENCL_MEMFD's memfd), taken by the
 * caller or closed at the next call.
 */
struct sgxd_client {
	int fd;
	uint32_t next_id;
	bool thread;
	struct sgxd_fds fds;
	int send_fd;		/* UFFD, PROVISION: an fd to pass with the next request, -1 none */
	char err[256];
	uint8_t in[SGXD_HDR_SIZE + SGXD_MAX_PAYLOAD];
	struct sgxd_wbuf req;
	uint8_t pages[SGXD_ADD_PAGES_CHUNK * 4096];	/* ENCL_IOCTL: pages, SECS, SIGSTRUCT */
};

const char *sgxd_socket_path(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv(SGXD_SOCKET_ENV);
	if (env && *env)
		return env;
	return SGXD_DEFAULT_SOCKET;
}

const char *sgxd_client_error(const struct sgxd_client *c)
{
	return c->err;
}

int sgxd_client_fd(const struct sgxd_client *c)
{
	return c->fd;
}

static int fail(struct sgxd_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(struct sgxd_client *c, const char *a, const char *b);
static int fail(struct sgxd_client *c, int err, const char *fmt, ...)
{
	va_list ap;

	/* A thread client runs in signal handlers: no formatting. */
	if (c->thread) {
		set_err(c, fmt, NULL);
		return err;
	}

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

/* Async-signal-safe copy of a message into c->err. */
static void set_err(struct sgxd_client *c, const char *a, const char *b)
{
	size_t n = 0;

	for (; a && *a && n + 1 < sizeof(c->err); a++)
		c->err[n++] = *a;
	if (b && *b && n + 3 < sizeof(c->err)) {
		c->err[n++] = ':';
		c->err[n++] = ' ';
		for (; *b && n + 1 < sizeof(c->err); b++)
			c->err[n++] = *b;
	}
	c->err[n] = '\0';
}

/*
 * One request and its reply, formatting nothing: async-signal-safe (send,
 * poll, recvmsg, close). On failure *why is a constant message and *detail
 * (may be NULL) a string of the daemon's (ERROR's reason) or NULL; with
 * *add_errno the errno's text belongs after it.
 */
static int do_call(struct sgxd_client *c, uint16_t type, struct sgxd_wbuf *req,
		   const uint8_t **reply, size_t *reply_len, const char **why, const char **detail,
		   bool *add_errno)
{
	uint32_t id = ++c->next_id;
	int send_fd = c->send_fd;
	struct sgxd_hdr h;
	int ret;

	/* The fd belongs to this request only, sent or not: never to the next one. */
	c->send_fd = -1;
	*detail = NULL;
	*add_errno = false;
	/* An fd of the previous reply that nobody took. */
	sgxd_fds_close(&c->fds);
	if (c->fd < 0) {
		*why = "not connected";
		return -ENOTCONN;
	}
	ret = sgxd_w_finish(req, type, id);
	if (ret) {
		*why = "request too large";
		return ret;
	}
	ret = sgxd_sendmsg_fd(c->fd, req->data, SGXD_HDR_SIZE + req->len, send_fd);
	if (ret) {
		/* The daemon may have refused us and closed: its ERROR is still queued. */
		int sret = ret;

		ret = sgxd_recvmsg_all(c->fd, c->in, SGXD_HDR_SIZE, 1000, NULL, &c->fds);
		sgxd_hdr_decode(c->in, &h);
		if (ret || h.type != SGXD_MSG_ERROR) {
			*why = "lost the connection to the daemon";
			*add_errno = true;
			return sret;
		}
	} else {
		ret = sgxd_recvmsg_all(c->fd, c->in, SGXD_HDR_SIZE, CLIENT_TIMEOUT_MS, NULL,
				       &c->fds);
		if (ret) {
			*why = "no reply from the daemon";
			if (ret == -ECONNRESET)
				*detail = "connection closed";
			else
				*add_errno = true;
			return ret;
		}
	}
	sgxd_hdr_decode(c->in, &h);
	ret = sgxd_hdr_check(&h, false, detail);
	if (ret) {
		*why = "malformed reply from the daemon";
		return -EPROTO;
	}
	ret = sgxd_recvmsg_all(c->fd, c->in + SGXD_HDR_SIZE, h.length, CLIENT_TIMEOUT_MS, NULL,
			       &c->fds);
	if (ret) {
		*why = "truncated reply from the daemon";
		return -EPROTO;
	}
	if (h.type == SGXD_MSG_ERROR) {
		struct sgxd_rbuf r;
		int32_t e;
		const char *msg;

		sgxd_r_init(&r, c->in + SGXD_HDR_SIZE, h.length);
		e = sgxd_r_s32(&r);
		msg = sgxd_r_str(&r);
		if (sgxd_r_end(&r) || e >= 0 || e < -4095) {
			*why = "malformed error message from the daemon";
			return -EPROTO;
		}
		*why = "the daemon refused";
		*detail = msg;
		return e;
	}
	/* Only ENCL_MEMFD's and PROVISION_OPEN's replies carry an fd, and at most one. */
	if (h.type != (type | SGXD_REPLY) || h.id != id || h.length < 4 || c->fds.ctrunc ||
	    c->fds.nr > (type == SGXD_MSG_ENCL_MEMFD || type == SGXD_MSG_PROVISION_OPEN ? 1u : 0u)) {
		*why = "unexpected reply from the daemon";
		return -EPROTO;
	}
	*reply = c->in + SGXD_HDR_SIZE;
	*reply_len = h.length;
	return 0;
}

int sgxd_client_call(struct sgxd_client *c, uint16_t type, struct sgxd_wbuf *req,
		     const uint8_t **reply, size_t *reply_len)
{
	const char *why = NULL, *detail = NULL;
	bool add_errno = false;
	int ret = do_call(c, type, req, reply, reply_len, &why, &detail, &add_errno);

	if (!ret)
		return 0;
	sgxd_fds_close(&c->fds);
	if (c->thread)
		set_err(c, why, detail);
	else if (add_errno)
		fail(c, ret, "%s: %s", why, strerror(-ret));
	else if (detail)
		fail(c, ret, "%s: %s", why, detail);
	else
		fail(c, ret, "%s", why);
	return ret;
}

int sgxd_client_connect(const char *path, enum sgxd_role role, const char *name,
			struct sgxd_client **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sgxd_client *c;
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sgxd_fds_init(&c->fds);
	c->send_fd = -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(c);
		return ret;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			snprintf(err, errlen, "no sgxemu daemon at %s (%s); start one with "
				 "`sgxemu daemon` or name it with --socket or %s", path,
				 strerror(errno), SGXD_SOCKET_ENV);
		else
			snprintf(err, errlen, "cannot connect to the sgxemu daemon at %s: %s",
				 path, strerror(errno));
		close(c->fd);
		free(c);
		return ret;
	}
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, (uint32_t)getpid());
	sgxd_w_u32(&c->req, role);
	sgxd_w_u32(&c->req, 0);
	sgxd_w_str(&c->req, name ? name : "");
	ret = sgxd_client_call(c, SGXD_MSG_HELLO, &c->req, &rep, &len);
	if (!ret) {
		sgxd_r_init(&r, rep, len);
		ret = sgxd_r_s32(&r);
		(void)sgxd_r_u32(&r);	/* daemon pid */
		(void)sgxd_r_u32(&r);	/* max payload */
		(void)sgxd_r_str(&r);	/* version */
		if (sgxd_r_end(&r))
			ret = fail(c, -EPROTO, "malformed HELLO reply");
		else if (ret)
			fail(c, ret, "HELLO refused: %s", strerror(-ret));
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, c->err);
		sgxd_client_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

void sgxd_client_close(struct sgxd_client *c)
{
	if (!c)
		return;
	sgxd_fds_close(&c->fds);
	if (c->fd >= 0)
		close(c->fd);
	if (c->thread)
		munmap(c, sizeof(*c));
	else
		free(c);
}

/* A reply that is only a status. */
static int status_only(struct sgxd_client *c, uint16_t type, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret = sgxd_client_call(c, type, &c->req, &rep, &len);

	if (ret)
		return ret;
	sgxd_r_init(&r, rep, len);
	*status = sgxd_r_s32(&r);
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed %s reply", sgxd_type_name(type));
	return 0;
}

int sgxd_cg_mkdir(struct sgxd_client *c, const char *path, int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_str(&c->req, path);
	return status_only(c, SGXD_MSG_CG_MKDIR, status);
}

int sgxd_cg_rmdir(struct sgxd_client *c, const char *path, int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_str(&c->req, path);
	return status_only(c, SGXD_MSG_CG_RMDIR, status);
}

int sgxd_cg_write(struct sgxd_client *c, const char *path, const char *file, const char *value,
		  int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_str(&c->req, path);
	sgxd_w_str(&c->req, file);
	sgxd_w_str(&c->req, value);
	return status_only(c, SGXD_MSG_CG_WRITE, status);
}

int sgxd_cg_read(struct sgxd_client *c, const char *path, const char *file, char *buf,
		 size_t len, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	const char *text;
	size_t rlen;
	int ret;

	sgxd_w_init(&c->req);
	sgxd_w_str(&c->req, path);
	sgxd_w_str(&c->req, file);
	ret = sgxd_client_call(c, SGXD_MSG_CG_READ, &c->req, &rep, &rlen);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, rlen);
	*status = sgxd_r_s32(&r);
	text = sgxd_r_str(&r);
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed CG_READ reply");
	if (len)
		snprintf(buf, len, "%s", text);
	return 0;
}

void sgxd_cg_tree_free(struct sgxd_cg_entry *e, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(e[i].path);
	free(e);
}

int sgxd_cg_tree(struct sgxd_client *c, struct sgxd_cg_entry **out, size_t *nr, int *status)
{
	struct sgxd_cg_entry *e = NULL;
	size_t have = 0, cap = 0;
	uint32_t total = 1;

	*out = NULL;
	*nr = 0;
	*status = 0;
	while (have < total) {
		const uint8_t *rep;
		struct sgxd_rbuf r;
		uint32_t count;
		size_t len;
		int ret;

		sgxd_w_init(&c->req);
		sgxd_w_u32(&c->req, (uint32_t)have);
		ret = sgxd_client_call(c, SGXD_MSG_CG_TREE, &c->req, &rep, &len);
		if (ret)
			goto err;
		sgxd_r_init(&r, rep, len);
		*status = sgxd_r_s32(&r);
		if (*status) {
			ret = sgxd_r_end(&r) ? fail(c, -EPROTO, "malformed CG_TREE reply") : 0;
			if (ret)
				goto err;
			sgxd_cg_tree_free(e, have);
			return 0;
		}
		total = sgxd_r_u32(&r);
		count = sgxd_r_u32(&r);
		/* The tree may shrink between pages: stop at what the daemon says exists. */
		if (have + count > total || (!count && have < total)) {
			if (!count)
				break;
			ret = fail(c, -EPROTO, "inconsistent CG_TREE reply");
			goto err;
		}
		if (have + count > cap) {
			struct sgxd_cg_entry *ne;

			cap = have + count;
			ne = realloc(e, cap * sizeof(*e));
			if (!ne) {
				ret = fail(c, -ENOMEM, "out of memory");
				goto err;
			}
			e = ne;
		}
		for (uint32_t i = 0; i < count; i++) {
			struct sgxd_cg_entry *x = &e[have];
			const char *p = sgxd_r_str(&r);

			x->depth = sgxd_r_u16(&r);
			x->current = sgxd_r_u64(&r);
			x->max = sgxd_r_u64(&r);
			x->peak = sgxd_r_u64(&r);
			x->events = sgxd_r_u64(&r);
			if (r.err)
				break;
			x->path = strdup(p);
			if (!x->path) {
				ret = fail(c, -ENOMEM, "out of memory");
				goto err;
			}
			have++;
		}
		if (sgxd_r_end(&r)) {
			ret = fail(c, -EPROTO, "malformed CG_TREE reply: %s", r.err);
			goto err;
		}
		continue;
err:
		sgxd_cg_tree_free(e, have);
		return ret;
	}
	*out = e;
	*nr = have;
	return 0;
}

void sgxd_encl_list_free(struct sgxd_encl_entry *e, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(e[i].cgroup);
	free(e);
}

/*
 * ENCL_LIST page by page: each asks for the enclaves after the last id
 * received. Ids must increase and a page that says 'more' must bring at
 * least one entry, so a confused daemon cannot loop us forever.
 */
int sgxd_encl_list(struct sgxd_client *c, struct sgxd_encl_entry **out, size_t *nr, int *status)
{
	struct sgxd_encl_entry *e = NULL;
	size_t have = 0, cap = 0;
	uint64_t after = 0;
	bool more = true;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	*status = 0;
	while (more) {
		const uint8_t *rep;
		struct sgxd_rbuf r;
		uint32_t count;
		size_t len;

		sgxd_w_init(&c->req);
		sgxd_w_u64(&c->req, after);
		ret = sgxd_client_call(c, SGXD_MSG_ENCL_LIST, &c->req, &rep, &len);
		if (ret)
			goto err;
		sgxd_r_init(&r, rep, len);
		*status = sgxd_r_s32(&r);
		if (*status) {
			ret = sgxd_r_end(&r) ? fail(c, -EPROTO, "malformed ENCL_LIST reply") : 0;
			sgxd_encl_list_free(e, have);
			return ret;
		}
		(void)sgxd_r_u32(&r);	/* total: the client counts what it got */
		count = sgxd_r_u32(&r);
		more = sgxd_r_u8(&r);
		if (r.err || (more && !count) || count > SGXD_MAX_PAYLOAD / SGXD_ENCL_ENTRY_FIXED) {
			ret = fail(c, -EPROTO, "inconsistent ENCL_LIST reply");
			goto err;
		}
		if (have + count > cap) {
			struct sgxd_encl_entry *ne;

			cap = (have + count) * 2;
			ne = realloc(e, cap * sizeof(*e));
			if (!ne) {
				ret = fail(c, -ENOMEM, "out of memory");
				goto err;
			}
			e = ne;
		}
		for (uint32_t i = 0; i < count; i++) {
			struct sgxd_encl_entry *x = &e[have];
			const char *cg;

			x->id = sgxd_r_u64(&r);
			x->pid = sgxd_r_u32(&r);
			x->uid = sgxd_r_u32(&r);
			cg = sgxd_r_str(&r);
			x->base = sgxd_r_u64(&r);
			x->size = sgxd_r_u64(&r);
			x->epc_pages = sgxd_r_u64(&r);
			x->swapped_pages = sgxd_r_u64(&r);
			x->flags = sgxd_r_u32(&r);
			x->ewb = sgxd_r_u64(&r);
			x->eldu = sgxd_r_u64(&r);
			x->eaug = sgxd_r_u64(&r);
			if (r.err)
				break;
			if (x->id <= after) {
				ret = fail(c, -EPROTO, "ENCL_LIST reply: enclave ids not increasing");
				goto err;
			}
			after = x->id;
			x->cgroup = strdup(cg);
			if (!x->cgroup) {
				ret = fail(c, -ENOMEM, "out of memory");
				goto err;
			}
			have++;
		}
		if (sgxd_r_end(&r)) {
			ret = fail(c, -EPROTO, "malformed ENCL_LIST reply: %s", r.err);
			goto err;
		}
	}
	*out = e;
	*nr = have;
	return 0;
err:
	sgxd_encl_list_free(e, have);
	return ret;
}

int sgxd_status(struct sgxd_client *c, struct sgxd_status *out, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret;

	sgxd_w_init(&c->req);
	ret = sgxd_client_call(c, SGXD_MSG_STATUS, &c->req, &rep, &len);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	sgxd_r_init(&r, rep, len);
	*status = sgxd_r_s32(&r);
	if (*status)
		return sgxd_r_end(&r) ? fail(c, -EPROTO, "malformed STATUS reply") : 0;
	out->pid = sgxd_r_u32(&r);
	out->uid = sgxd_r_u32(&r);
	out->epc_bytes = sgxd_r_u64(&r);
	out->nr_sections = sgxd_r_u32(&r);
	out->sgx2 = sgxd_r_u8(&r);
	out->oom_policy = sgxd_r_u8(&r);
	out->nr_clients = sgxd_r_u32(&r);
	out->max_clients = sgxd_r_u32(&r);
	out->total_pages = sgxd_r_u64(&r);
	out->free_pages = sgxd_r_u64(&r);
	out->nr_encls = sgxd_r_u64(&r);
	out->nr_cgroups = sgxd_r_u64(&r);
	out->uptime_ms = sgxd_r_u64(&r);
	snprintf(out->version, sizeof(out->version), "%s", sgxd_r_str(&r));
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed STATUS reply: %s", r.err);
	return 0;
}

/* ---- shared mode: cgroup placement and enclaves ---- */

int sgxd_attach(struct sgxd_client *c, const char *path, char *buf, size_t len, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	const char *got;
	size_t rlen;
	int ret;

	sgxd_w_init(&c->req);
	sgxd_w_str(&c->req, path ? path : "");
	ret = sgxd_client_call(c, SGXD_MSG_ATTACH, &c->req, &rep, &rlen);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, rlen);
	*status = sgxd_r_s32(&r);
	got = sgxd_r_str(&r);
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed ATTACH reply");
	if (buf && len)
		snprintf(buf, len, "%s", got);
	return 0;
}

int sgxd_encl_open(struct sgxd_client *c, uint32_t *handle, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t rlen;
	int ret;

	sgxd_w_init(&c->req);
	ret = sgxd_client_call(c, SGXD_MSG_ENCL_OPEN, &c->req, &rep, &rlen);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, rlen);
	*status = sgxd_r_s32(&r);
	*handle = sgxd_r_u32(&r);
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed ENCL_OPEN reply");
	return 0;
}

int sgxd_encl_release(struct sgxd_client *c, uint32_t handle, int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, handle);
	return status_only(c, SGXD_MSG_ENCL_RELEASE, status);
}

/* Read/write this process's memory as the kernel's copy_{from,to}_user: 0 or -EFAULT. */
static int user_read(void *dst, uint64_t src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)(uintptr_t)src, len };

	if (!src || process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

static int user_write(uint64_t dst, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len }, remote = { (void *)(uintptr_t)dst, len };

	if (!dst || process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

static unsigned int inline_words(unsigned long cmd)
{
	switch (cmd) {
	case SGX_IOC_ENCLAVE_PROVISION:
		return sizeof(struct sgx_enclave_provision) / 8;
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		return sizeof(struct sgx_enclave_restrict_permissions) / 8;
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		return sizeof(struct sgx_enclave_modify_types) / 8;
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		return sizeof(struct sgx_enclave_remove_pages) / 8;
	default:
		return 0;
	}
}

static void ioctl_head(struct sgxd_client *c, uint32_t handle, unsigned long cmd, bool argp)
{
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, handle);
	sgxd_w_u32(&c->req, (uint32_t)cmd);
	sgxd_w_u8(&c->req, argp);
}

/*
 * The argument struct is unreadable: the daemon calls the manager with a
 * NULL argument, which checks the enclave's state first as the kernel does.
 */
static int ioctl_null_arg(struct sgxd_client *c, uint32_t handle, unsigned long cmd, int *status)
{
	ioctl_head(c, handle, cmd, false);
	return status_only(c, SGXD_MSG_ENCL_IOCTL, status);
}

/* CREATE and INIT: one struct pointing at one blob of 'size' bytes. */
static int ioctl_blob(struct sgxd_client *c, uint32_t handle, unsigned long cmd, void *arg,
		      size_t size, int *status)
{
	uint64_t ptr;

	if (user_read(&ptr, (uint64_t)(uintptr_t)arg, sizeof(ptr)))
		return ioctl_null_arg(c, handle, cmd, status);
	ioctl_head(c, handle, cmd, true);
	/* Unreadable: the daemon passes NULL and the manager answers -EFAULT in its turn. */
	if (user_read(c->pages, ptr, size)) {
		sgxd_w_u8(&c->req, 0);
	} else {
		sgxd_w_u8(&c->req, 1);
		sgxd_w_bytes(&c->req, c->pages, size);
	}
	return status_only(c, SGXD_MSG_ENCL_IOCTL, status);
}

static int ioctl_add_pages(struct sgxd_client *c, uint32_t handle, void *arg, int *status)
{
	struct sgx_enclave_add_pages a;
	uint8_t secinfo[64];
	bool has_sec, whole, counted = false;
	uint64_t done = 0;
	int st = 0;

	if (user_read(&a, (uint64_t)(uintptr_t)arg, sizeof(a)))
		return ioctl_null_arg(c, handle, SGX_IOC_ENCLAVE_ADD_PAGES, status);
	has_sec = !user_read(secinfo, a.secinfo, sizeof(secinfo));
	/*
	 * Requests the manager refuses before it reads a page go whole and
	 * without pages: the same checks, the same errno.
	 */
	whole = !a.src || (a.src & 4095) || !a.length || (a.length & 4095) || (a.offset & 4095) ||
		!has_sec;
	do {
		uint64_t remaining = a.length - done, chunk, src, count, npages = 0;
		const uint8_t *rep;
		struct sgxd_rbuf r;
		size_t rlen;
		int ret;

		src = a.src ? a.src + done : 0;
		if (whole) {
			chunk = remaining;
		} else {
			chunk = remaining < SGXD_ADD_PAGES_CHUNK * 4096ull ? remaining :
				SGXD_ADD_PAGES_CHUNK * 4096ull;
			while (npages < chunk / 4096 &&
			       !user_read(c->pages + npages * 4096, src + npages * 4096, 4096))
				npages++;
			if (!npages) {
				/* The next page is unreadable: a NULL source, -EFAULT from the manager. */
				src = 0;
				chunk = 4096;
			} else {
				chunk = npages * 4096;
			}
		}
		ioctl_head(c, handle, SGX_IOC_ENCLAVE_ADD_PAGES, true);
		sgxd_w_u64(&c->req, src);
		sgxd_w_u64(&c->req, a.offset + done);
		sgxd_w_u64(&c->req, chunk);
		sgxd_w_u64(&c->req, remaining);
		sgxd_w_u64(&c->req, a.flags);
		sgxd_w_u8(&c->req, has_sec);
		if (has_sec)
			sgxd_w_bytes(&c->req, secinfo, sizeof(secinfo));
		sgxd_w_u32(&c->req, (uint32_t)npages);
		sgxd_w_bytes(&c->req, c->pages, npages * 4096);
		ret = sgxd_client_call(c, SGXD_MSG_ENCL_IOCTL, &c->req, &rep, &rlen);
		if (ret)
			return ret;
		sgxd_r_init(&r, rep, rlen);
		st = sgxd_r_s32(&r);
		count = sgxd_r_u64(&r);
		if (sgxd_r_end(&r) || (count != UINT64_MAX && count > chunk && !whole))
			return fail(c, -EPROTO, "malformed ENCL_IOCTL reply");
		if (count != UINT64_MAX) {
			done += count;
			counted = true;
		}
		if (st || whole || count != chunk)
			break;
	} while (done < a.length);
	if (counted) {
		a.count = done;
		if (user_write((uint64_t)(uintptr_t)arg + offsetof(struct sgx_enclave_add_pages, count),
			       &a.count, sizeof(a.count)))
			st = -EFAULT;
	}
	*status = st;
	return 0;
}

int sgxd_encl_ioctl(struct sgxd_client *c, uint32_t handle, unsigned long cmd, void *arg,
		    int *status)
{
	unsigned int nw = inline_words(cmd);
	uint64_t words[8] = { 0 }, out[8];	/* zeroed: -O1 cannot see nw >= 1 for PROVISION */
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t rlen;
	int ret;

	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE:
		return ioctl_blob(c, handle, cmd, arg, 4096, status);
	case SGX_IOC_ENCLAVE_INIT:
		return ioctl_blob(c, handle, cmd, arg, sizeof(struct sgx_sigstruct), status);
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		return ioctl_add_pages(c, handle, arg, status);
	default:
		break;
	}
	if (cmd > UINT32_MAX) {
		*status = -ENOTTY;
		return 0;
	}
	if (nw && user_read(words, (uint64_t)(uintptr_t)arg, nw * 8))
		return ioctl_null_arg(c, handle, cmd, status);
	/*
	 * PROVISION: the number means nothing to the daemon; the file goes
	 * with the request (the kernel passes a copy). A number that is not an
	 * open fd here goes with none, and the daemon answers what the kernel
	 * answers for a bad fd (-EINVAL).
	 */
	if (cmd == SGX_IOC_ENCLAVE_PROVISION && words[0] <= INT32_MAX &&
	    fcntl((int)words[0], F_GETFD) >= 0)
		c->send_fd = (int)words[0];
	ioctl_head(c, handle, cmd, true);
	for (unsigned int i = 0; i < nw; i++)
		sgxd_w_u64(&c->req, words[i]);
	ret = sgxd_client_call(c, SGXD_MSG_ENCL_IOCTL, &c->req, &rep, &rlen);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, rlen);
	*status = sgxd_r_s32(&r);
	for (unsigned int i = 0; i < nw; i++)
		out[i] = sgxd_r_u64(&r);
	if (sgxd_r_end(&r))
		return fail(c, -EPROTO, "malformed ENCL_IOCTL reply");
	/* What the kernel writes back (count, result); unchanged fields are rewritten as they were. */
	if (nw && memcmp(words, out, nw * 8) &&
	    user_write((uint64_t)(uintptr_t)arg, out, nw * 8))
		*status = -EFAULT;
	return 0;
}

/* ---- shared mode, slice 2: windows, faults and logical processors ---- */

/*
 * A thread connection, from a signal handler: memory from mmap, raw
 * system calls, no formatting (c->thread). 0 or -errno (the daemon's
 * THREAD_JOIN status: -ESRCH without a process connection of this pid).
 */
int sgxd_client_connect_thread(const char *path, int kick_signal, struct sgxd_client **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int saved_errno = errno, ret, st;
	struct sgxd_client *c;
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t n = 0, len;

	*out = NULL;
	while (path && path[n])
		n++;
	if (!n || n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED) {
		errno = saved_errno;
		return -ENOMEM;
	}
	c->thread = true;
	c->send_fd = -1;
	sgxd_fds_init(&c->fds);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		goto err;
	}
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, (uint32_t)getpid());
	sgxd_w_u32(&c->req, SGXD_ROLE_PROGRAM);
	sgxd_w_u32(&c->req, 0);
	sgxd_w_str(&c->req, "thread");
	ret = sgxd_client_call(c, SGXD_MSG_HELLO, &c->req, &rep, &len);
	if (ret)
		goto err;
	sgxd_r_init(&r, rep, len);
	st = sgxd_r_s32(&r);
	(void)sgxd_r_u32(&r);
	(void)sgxd_r_u32(&r);
	(void)sgxd_r_str(&r);
	ret = sgxd_r_end(&r) ? -EPROTO : st;
	if (ret)
		goto err;
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, (uint32_t)syscall(SYS_gettid));
	sgxd_w_u32(&c->req, (uint32_t)kick_signal);
	ret = sgxd_client_call(c, SGXD_MSG_THREAD_JOIN, &c->req, &rep, &len);
	if (ret)
		goto err;
	sgxd_r_init(&r, rep, len);
	st = sgxd_r_s32(&r);
	(void)sgxd_r_u32(&r);	/* the LP's id */
	ret = sgxd_r_end(&r) ? -EPROTO : st;
	if (ret)
		goto err;
	*out = c;
	errno = saved_errno;
	return 0;
err:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	sgxd_client_close(c);
	errno = saved_errno;
	return ret;
}

int sgxd_encl_memfd(struct sgxd_client *c, uint32_t handle, int *memfd, uint64_t *base,
		    uint64_t *size, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret;

	*memfd = -1;
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, handle);
	ret = sgxd_client_call(c, SGXD_MSG_ENCL_MEMFD, &c->req, &rep, &len);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, len);
	*status = sgxd_r_s32(&r);
	*base = sgxd_r_u64(&r);
	*size = sgxd_r_u64(&r);
	if (sgxd_r_end(&r) || (!*status) != (c->fds.nr == 1)) {
		sgxd_fds_close(&c->fds);
		return fail(c, -EPROTO, "malformed ENCL_MEMFD reply");
	}
	if (!*status) {
		*memfd = c->fds.fd[0];	/* ours now (received close-on-exec) */
		c->fds.fd[0] = -1;
		c->fds.nr = 0;
	}
	return 0;
}

int sgxd_provision_open(struct sgxd_client *c, int *fd, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret;

	*fd = -1;
	sgxd_w_init(&c->req);
	ret = sgxd_client_call(c, SGXD_MSG_PROVISION_OPEN, &c->req, &rep, &len);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, len);
	*status = sgxd_r_s32(&r);
	/* An fd exactly when the status is 0. */
	if (sgxd_r_end(&r) || (!*status) != (c->fds.nr == 1)) {
		sgxd_fds_close(&c->fds);
		return fail(c, -EPROTO, "malformed PROVISION_OPEN reply");
	}
	if (!*status) {
		*fd = c->fds.fd[0];	/* the caller's now (received close-on-exec) */
		c->fds.fd[0] = -1;
		c->fds.nr = 0;
	}
	return 0;
}

int sgxd_send_uffd(struct sgxd_client *c, int uffd, int *status)
{
	if (uffd < 0)
		return fail(c, -EBADF, "no userfaultfd to send");
	sgxd_w_init(&c->req);
	c->send_fd = uffd;	/* the kernel passes a copy; the caller keeps its own */
	return status_only(c, SGXD_MSG_UFFD, status);
}

int sgxd_encl_mmap(struct sgxd_client *c, uint32_t handle, uint64_t addr, uint64_t len, int prot,
		   int flags, bool *window, int *status)
{
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t rlen;
	uint8_t w;
	int ret;

	*window = false;
	sgxd_w_init(&c->req);
	sgxd_w_u32(&c->req, handle);
	sgxd_w_u64(&c->req, addr);
	sgxd_w_u64(&c->req, len);
	sgxd_w_u32(&c->req, (uint32_t)prot);
	sgxd_w_u32(&c->req, (uint32_t)flags);
	ret = sgxd_client_call(c, SGXD_MSG_ENCL_MMAP, &c->req, &rep, &rlen);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, rlen);
	*status = sgxd_r_s32(&r);
	w = sgxd_r_u8(&r);
	if (sgxd_r_end(&r) || w > 1)
		return fail(c, -EPROTO, "malformed ENCL_MMAP reply");
	*window = w;
	return 0;
}

int sgxd_encl_munmap(struct sgxd_client *c, uint64_t addr, uint64_t len, int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_u64(&c->req, addr);
	sgxd_w_u64(&c->req, len);
	return status_only(c, SGXD_MSG_ENCL_MUNMAP, status);
}

int sgxd_encl_mprotect(struct sgxd_client *c, uint64_t addr, uint64_t len, int prot,
		       int *status)
{
	sgxd_w_init(&c->req);
	sgxd_w_u64(&c->req, addr);
	sgxd_w_u64(&c->req, len);
	sgxd_w_u32(&c->req, (uint32_t)prot);
	return status_only(c, SGXD_MSG_ENCL_MPROTECT, status);
}

/* 0 with *result, or -errno (the conversation failed, or the daemon's status). */
int sgxd_fault(struct sgxd_client *c, uint64_t addr, bool is_write, int *result)
{
	int saved_errno = errno, ret, st;
	const uint8_t *rep;
	struct sgxd_rbuf r;
	uint32_t res;
	size_t len;

	*result = -1;
	sgxd_w_init(&c->req);
	sgxd_w_u64(&c->req, addr);
	sgxd_w_u32(&c->req, is_write);
	ret = sgxd_client_call(c, SGXD_MSG_FAULT, &c->req, &rep, &len);
	if (!ret) {
		sgxd_r_init(&r, rep, len);
		st = sgxd_r_s32(&r);
		res = sgxd_r_u32(&r);
		if (sgxd_r_end(&r))
			ret = fail(c, -EPROTO, "malformed FAULT reply");
		else if (st)
			ret = st;
		else
			*result = (int)res;
	}
	errno = saved_errno;
	return ret;
}

static void w_regs(struct sgxd_wbuf *w, const struct sgx_regs *g)
{
	uint64_t v[20];

	_Static_assert(sizeof(*g) == sizeof(v), "sgx_regs is 20 u64");
	memcpy(v, g, sizeof(v));
	for (unsigned int i = 0; i < 20; i++)
		sgxd_w_u64(w, v[i]);
}

static void r_regs(struct sgxd_rbuf *r, struct sgx_regs *g)
{
	uint64_t v[20];

	for (unsigned int i = 0; i < 20; i++)
		v[i] = sgxd_r_u64(r);
	memcpy(g, v, sizeof(v));
}

static void w_exc(struct sgxd_wbuf *w, const struct sgx_exception *e)
{
	sgxd_w_u8(w, e ? e->vector : 0);
	sgxd_w_u32(w, e ? e->error_code : 0);
	sgxd_w_u64(w, e ? e->addr : 0);
}

static void r_exc(struct sgxd_rbuf *r, struct sgx_exception *e)
{
	e->vector = sgxd_r_u8(r);
	e->error_code = sgxd_r_u32(r);
	e->addr = sgxd_r_u64(r);
}

static bool r_lp_state(struct sgxd_rbuf *r, struct sgxd_lp_state *st)
{
	uint8_t inside = sgxd_r_u8(r);

	st->encl_base = sgxd_r_u64(r);
	st->encl_size = sgxd_r_u64(r);
	st->inside = inside;
	return inside <= 1;
}

/*
 * ENCLU, AEX: the reply is status, s32 ret, regs, exception, LP state. A
 * non-zero status (not a thread connection: -EINVAL) comes alone and is
 * returned.
 */
static int lp_call(struct sgxd_client *c, uint16_t type, struct sgx_regs *regs,
		   struct sgx_exception *exc, int *ret_out, struct sgxd_lp_state *st)
{
	struct sgxd_lp_state lps = { 0 };
	struct sgx_exception e = { 0 };
	struct sgx_regs g;
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	int ret, status, leaf_ret;
	bool ok;

	ret = sgxd_client_call(c, type, &c->req, &rep, &len);
	if (ret)
		return ret;
	sgxd_r_init(&r, rep, len);
	status = sgxd_r_s32(&r);
	if (status)
		return sgxd_r_end(&r) ? fail(c, -EPROTO, "malformed LP reply") : status;
	leaf_ret = sgxd_r_s32(&r);
	r_regs(&r, &g);
	r_exc(&r, &e);
	ok = r_lp_state(&r, &lps);
	if (sgxd_r_end(&r) || !ok)
		return fail(c, -EPROTO, "malformed LP reply");
	*regs = g;
	if (exc)
		*exc = e;
	*ret_out = leaf_ret;
	if (st)
		*st = lps;
	return 0;
}

int sgxd_enclu(struct sgxd_client *c, struct sgx_regs *regs, struct sgx_exception *exc, int *ret,
	       struct sgxd_lp_state *st)
{
	int saved_errno = errno, r;

	*ret = -1;
	sgxd_w_init(&c->req);
	w_regs(&c->req, regs);
	r = lp_call(c, SGXD_MSG_ENCLU, regs, exc, ret, st);
	errno = saved_errno;
	return r;
}

int sgxd_aex(struct sgxd_client *c, struct sgx_regs *regs, const struct sgx_exception *exc,
	     struct sgx_exception *ssa_fault, int *ret, struct sgxd_lp_state *st)
{
	int saved_errno = errno, r;

	*ret = -EINVAL;
	sgxd_w_init(&c->req);
	w_regs(&c->req, regs);
	sgxd_w_u8(&c->req, exc != NULL);
	w_exc(&c->req, exc);
	r = lp_call(c, SGXD_MSG_AEX, regs, ssa_fault, ret, st);
	errno = saved_errno;
	return r;
}

int sgxd_translate(struct sgxd_client *c, uint64_t linaddr, uint32_t access,
		   struct sgx_exception *exc, bool *ok)
{
	int saved_errno = errno, ret, st;
	struct sgx_exception e = { 0 };
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t len;
	uint8_t yes;

	*ok = false;
	sgxd_w_init(&c->req);
	sgxd_w_u64(&c->req, linaddr);
	sgxd_w_u32(&c->req, access);
	ret = sgxd_client_call(c, SGXD_MSG_TRANSLATE, &c->req, &rep, &len);
	if (!ret) {
		sgxd_r_init(&r, rep, len);
		st = sgxd_r_s32(&r);
		if (st) {
			ret = sgxd_r_end(&r) ? fail(c, -EPROTO, "malformed TRANSLATE reply") : st;
		} else {
			yes = sgxd_r_u8(&r);
			r_exc(&r, &e);
			if (sgxd_r_end(&r) || yes > 1) {
				ret = fail(c, -EPROTO, "malformed TRANSLATE reply");
			} else {
				*ok = yes;
				if (exc)
					*exc = e;
			}
		}
	}
	errno = saved_errno;
	return ret;
}

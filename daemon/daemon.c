// SPDX-License-Identifier: MIT
/*
 * The sgxemu daemon: one platform and one EPC cgroup tree, served over a
 * Unix stream socket to every process of the machine (docs/DAEMON.md).
 *
 * Why a thread per connection and not one poll loop: the requests that come
 * next (ENCLAVE ioctls, faults, ENCLU) block in the EPC manager exactly as
 * they block in the kernel, in the calling process's context: EINIT spins
 * and sleeps, an ioctl reclaims synchronously when its cgroup is at its
 * limit, a fault waits for a page being written back. A single loop would
 * let one process's reclaim stall every other process; a thread per
 * connection is the user-space image of "each process runs its own system
 * calls". The number of connections is bounded (max_clients), a started
 * message must arrive completely within msg_timeout_ms, and replies are
 * sent with a send timeout, so a stuck or malicious client holds at most
 * its own thread and slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "daemon/daemon.h"
#include "daemon/proto.h"
#include "sgx/internal.h"
#include "sgx/platform.h"
#include "sgx/sgx.h"
#include "sgxemu/arch.h"

#define SGXD_VERSION_STRING	"0.1.0"

/* An enclave opened on a connection: the kernel's enclave fd. */
struct sgxd_encl_slot {
	uint32_t handle;		/* 0: free */
	struct sgx_encl *encl;
};

#define SGXD_SCRATCH_PAGES	16	/* ADD_PAGES chunk (<= 15 pages), SECS, SIGSTRUCT */

/*
 * A program's process in shared mode: what the kernel keeps per process for
 * SGX — its address space as the manager sees it (the sgx_mm, made when the
 * program hands over its userfaultfd with UFFD) — shared by the process
 * connection (the program's first connection; it also owns the enclave
 * handles and the attached cgroup) and the thread connections that joined
 * it (THREAD_JOIN: same SO_PEERCRED pid and uid), each of which has one LP.
 *
 * 'refs': the process connection and each joined thread connection. The
 * last put destroys the sgx_mm, so the mm outlives every LP that resolves
 * addresses through it and is destroyed only once every thread connection
 * forced its LP out of enclave mode (an enclave freed by the mm's last
 * window cannot have an LP inside). 'open' (under d->lock): the process
 * connection is still there, so thread connections may join. 'mm' is set
 * once, by the process connection's thread, and read atomically by the
 * others (FAULT, the LP resolver).
 */
struct sgxd_proc {
	struct sgxd *d;
	atomic_int refs;
	bool open;
	_Atomic(struct sgx_mm *) mm;
};

/* Where the IPI of an LP goes: tgkill(pid, tid, sig) of the thread that owns it. */
struct sgxd_kick {
	atomic_int pid, tid, sig;	/* tid 0: nobody to kick */
};

struct sgxd_conn {
	struct sgxd *d;
	int fd;
	unsigned int slot;
	unsigned long long serial;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool hello_done;
	uint32_t role;
	pthread_t thread;
	atomic_bool done;
	char tag[96];
	/*
	 * Shared mode: the EPC cgroup the connection is attached to (a user of
	 * it: rmdir -EBUSY) and its enclaves. Only the connection's own thread
	 * touches these; the thread releases them all when the connection ends.
	 */
	struct sgx_epc_cgroup *cg;
	char cg_path[SGXD_MAX_STR + 1];
	struct sgxd_encl_slot encls[SGXD_MAX_ENCLS_PER_CONN];
	unsigned int nr_encls;
	uint32_t next_handle;
	uint8_t *scratch;		/* SGXD_SCRATCH_PAGES, page-aligned, allocated on first use */
	/*
	 * Shared mode, slice 2. 'proc' and 'is_thread' change under d->lock
	 * (a joining thread connection reads other connections' under it);
	 * the rest belongs to the connection's thread. A thread connection
	 * owns 'lp' (ENCLU/AEX/TRANSLATE run on it) and the LP's entry in the
	 * IPI table; 'last_regs' are the registers of its last ENCLU/AEX,
	 * used to force the LP out if the thread dies inside.
	 */
	struct sgxd_proc *proc;
	bool is_thread;
	struct sgx_lp *lp;
	struct sgx_regs last_regs;
	/*
	 * fds received with the current message; an fd sent with the reply,
	 * borrowed (ENCL_MEMFD: the enclave's) or, with reply_fd_owned, made
	 * for the reply and closed once sent (PROVISION_OPEN's dup).
	 */
	struct sgxd_fds fds;
	int reply_fd;
	bool reply_fd_owned;
	/* Each connection has its own buffers: no allocation per message. */
	uint8_t in[SGXD_HDR_SIZE + SGXD_MAX_PAYLOAD];
	struct sgxd_wbuf out;
};

struct sgxd {
	struct sgxd_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[PATH_MAX];
	int listen_fd;
	int lock_fd;
	int stop_pipe[2];
	dev_t sock_dev;
	ino_t sock_ino;
	gid_t sock_gid;
	uid_t uid;
	long long start_ms;
	atomic_ulong oom_kills;		/* enclaves the OOM path killed (logged) */

	struct sgx_platform *platform;
	struct sgx_epc_cg_tree *tree;

	pthread_mutex_t lock;		/* the connection table, conn->proc/is_thread, proc->open */
	struct sgxd_kick *kicks;	/* by sgx_lp_id(): the platform's IPI targets */
	unsigned int nr_kicks;
	struct sgxd_conn **slots;
	unsigned int nr_clients;
	unsigned long long next_serial;
};

void sgxd_default_config(struct sgxd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_path = SGXD_DEFAULT_SOCKET;
	sgx_cpu_default_config(&c->cpu);
	c->oom_policy = SGX_EPC_OOM_KILL;
	c->max_clients = SGXD_DEFAULT_MAX_CLIENTS;
	c->socket_gid = (gid_t)-1;
	c->log_fd = 2;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One line, one write(2): lines of concurrent threads never interleave. */
static void dlog(struct sgxd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dlog(struct sgxd *d, const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (d->cfg.log_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "sgxemu daemon: %02d:%02d:%02d.%03ld ", tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(d->cfg.log_fd, line, (size_t)n) < 0) {
		/* nowhere to report it */
	}
}

/*
 * A client's string as it may appear in the log: at most len - 1 bytes,
 * control characters and non-ASCII bytes as '?', so a path with a newline
 * cannot forge a log line.
 */
static const char *printable(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (in[i] < 0x20 || in[i] >= 0x7f) ? '?' : in[i];
	out[i] = '\0';
	return out;
}

/* ---- replies ---- */

static int send_msg(struct sgxd_conn *c, uint16_t type, uint32_t id)
{
	int ret = sgxd_w_finish(&c->out, type, id);
	int fd = c->reply_fd;
	bool owned = c->reply_fd_owned;

	c->reply_fd = -1;
	c->reply_fd_owned = false;
	/*
	 * ENCL_MEMFD, PROVISION_OPEN: the fd rides on the reply's first byte
	 * (the kernel installs a new fd in the peer, so ours can go at once).
	 */
	if (!ret)
		ret = sgxd_sendmsg_fd(c->fd, c->out.data, SGXD_HDR_SIZE + c->out.len, fd);
	if (owned && fd >= 0)
		close(fd);
	return ret;
}

/* Tell the peer why it is being dropped (best effort: it may be gone). */
static void send_error_fd(int fd, uint32_t id, int err, const char *why)
{
	struct sgxd_wbuf *w = malloc(sizeof(*w));

	if (!w)
		return;
	sgxd_w_init(w);
	sgxd_w_s32(w, err);
	sgxd_w_str(w, why);
	if (!sgxd_w_finish(w, SGXD_MSG_ERROR, id))
		sgxd_send_all(fd, w->data, SGXD_HDR_SIZE + w->len);
	free(w);
}

/* ---- credentials ---- */

int sgxd_proc_groups(pid_t pid, gid_t *groups, int max)
{
	char path[64], line[4096];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		p = line + 7;
		for (;;) {
			unsigned long g;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				break;
			errno = 0;
			g = strtoul(p, &end, 10);
			if (errno || g > UINT32_MAX)
				break;
			if (n < max)
				groups[n] = (gid_t)g;
			n++;
			p = end;
		}
		fclose(f);
		return n;
	}
	fclose(f);
	return -ENOENT;
}

/*
 * The peer's supplementary groups as they were at connect(): SO_PEERGROUPS
 * (Linux 4.13+), which cannot race with the peer exiting and its pid being
 * reused; /proc/PID/status where the kernel lacks it.
 */
static int peer_groups(int fd, pid_t pid, gid_t **out)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = NULL;
	int n;

	for (int tries = 0; tries < 4; tries++) {
		gid_t *ng = realloc(g, len ? len : sizeof(gid_t));

		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len)) {
			*out = g;
			return (int)(len / sizeof(gid_t));
		}
		if (errno != ERANGE)
			break;
	}
	free(g);
	g = calloc(NGROUPS_MAX, sizeof(gid_t));
	if (!g)
		return -ENOMEM;
	n = sgxd_proc_groups(pid, g, NGROUPS_MAX);
	if (n < 0) {
		free(g);
		return n;
	}
	*out = g;
	return n < NGROUPS_MAX ? n : NGROUPS_MAX;
}

/* 0 if the peer may connect, else -EACCES/-errno with the reason in why. */
static int check_peer(struct sgxd *d, int fd, struct ucred *cr, char *why, size_t len)
{
	socklen_t sl = sizeof(*cr);
	gid_t *groups = NULL;
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &sl) || sl != sizeof(*cr)) {
		snprintf(why, len, "no peer credentials: %s", strerror(errno));
		return -EACCES;
	}
	if (cr->uid == 0 || cr->uid == d->uid || cr->gid == d->sock_gid)
		return 0;
	n = peer_groups(fd, cr->pid, &groups);
	if (n < 0) {
		snprintf(why, len, "cannot read the groups of pid %d: %s", (int)cr->pid,
			 strerror(-n));
		return -EACCES;
	}
	for (int i = 0; i < n; i++) {
		if (groups[i] == d->sock_gid) {
			free(groups);
			return 0;
		}
	}
	free(groups);
	snprintf(why, len, "permission denied: uid %u is neither root, the daemon's uid %u, "
		 "nor in the socket's group %u", (unsigned)cr->uid, (unsigned)d->uid,
		 (unsigned)d->sock_gid);
	return -EACCES;
}

/* True unless the process is known to be in another pid namespace than the daemon. */
static bool same_pid_ns(pid_t pid)
{
	char self[64], peer[64], path[64];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	a = readlink("/proc/self/ns/pid", self, sizeof(self));
	b = readlink(path, peer, sizeof(peer));
	if (a <= 0 || b <= 0)
		return true;	/* cannot tell: be strict */
	return a == b && !memcmp(self, peer, (size_t)a);
}

/* ---- program processes (shared mode, slice 2) ---- */

static struct sgxd_proc *proc_new(struct sgxd *d)
{
	struct sgxd_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->d = d;
	atomic_init(&p->refs, 1);
	p->open = true;
	atomic_init(&p->mm, NULL);
	return p;
}

/*
 * The last reference: the process and all its joined threads are gone, no
 * LP resolves through the mm any more and none is inside its enclaves.
 * Every window goes, with its file reference: enclaves whose handles were
 * released die here (EPC freed, charges returned).
 */
static void proc_put(struct sgxd_proc *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	sgx_mm_destroy(atomic_load(&p->mm));
	free(p);
}

/* The LP resolver of a thread connection: which enclave is at linaddr in its process. */
static void *proc_resolve(void *arg, uint64_t linaddr)
{
	struct sgxd_proc *p = arg;

	return sgx_mm_secs_at(atomic_load(&p->mm), (unsigned long)linaddr);
}

/*
 * The platform's IPI (the kernel's IPI to a CPU running enclave code): a
 * signal to the program thread that owns the LP, whose handler asks for the
 * AEX over its thread connection. Called with a CPU lock held: only tgkill.
 */
static void daemon_ipi(void *arg, struct sgx_lp *lp)
{
	struct sgxd *d = arg;
	unsigned int id = sgx_lp_id(lp);
	struct sgxd_kick *k;
	int tid;

	if (!d->kicks || id >= d->nr_kicks)
		return;
	k = &d->kicks[id];
	tid = atomic_load(&k->tid);
	if (tid > 0)
		syscall(SYS_tgkill, atomic_load(&k->pid), tid, atomic_load(&k->sig));
}

/* ---- request handlers: decode everything, check the end, then act ---- */

#define BAD(r) (sgxd_r_end(r) ? -EBADMSG : 0)

static int handle_hello(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t pid = sgxd_r_u32(r);
	uint32_t role = sgxd_r_u32(r);
	uint32_t flags = sgxd_r_u32(r);
	const char *name = sgxd_r_str(r);
	struct sgxd *d = c->d;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (role < SGXD_ROLE_CLI || role > SGXD_ROLE_MAX) {
		*why = "HELLO: unknown role";
		return -EINVAL;
	}
	if (flags) {
		*why = "HELLO: unknown flags";
		return -EINVAL;
	}
	/*
	 * The peer's pid as the kernel translated it into our namespace is the
	 * one the daemon uses; HELLO's must agree unless the peer lives in
	 * another pid namespace (a container), where it knows itself by another
	 * number.
	 */
	if (pid != (uint32_t)c->pid && same_pid_ns(c->pid)) {
		*why = "HELLO: pid differs from the peer credentials";
		return -EPERM;
	}
	/* A program connection is a process connection until it joins another (THREAD_JOIN). */
	if (role == SGXD_ROLE_PROGRAM) {
		struct sgxd_proc *p = proc_new(d);

		if (!p) {
			*why = "HELLO: out of memory";
			return -ENOMEM;
		}
		pthread_mutex_lock(&d->lock);
		c->proc = p;
		pthread_mutex_unlock(&d->lock);
	}
	c->role = role;
	c->hello_done = true;
	if (d->cfg.verbose) {
		char n[65];

		dlog(d, "%s: HELLO role %u name '%s'", c->tag, role, printable(name, n, sizeof(n)));
	}
	sgxd_w_s32(&c->out, 0);
	sgxd_w_u32(&c->out, (uint32_t)getpid());
	sgxd_w_u32(&c->out, SGXD_MAX_PAYLOAD);
	sgxd_w_str(&c->out, SGXD_VERSION_STRING);
	return 0;
}

static int handle_status(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	struct sgxd *d = c->d;
	struct sgx_platform_stats st;
	unsigned int nr;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	memset(&st, 0, sizeof(st));
	if (d->platform)
		sgx_platform_get_stats(d->platform, &st);
	pthread_mutex_lock(&d->lock);
	nr = d->nr_clients;
	pthread_mutex_unlock(&d->lock);
	sgxd_w_s32(&c->out, 0);
	sgxd_w_u32(&c->out, (uint32_t)getpid());
	sgxd_w_u32(&c->out, (uint32_t)d->uid);
	sgxd_w_u64(&c->out, d->cfg.cpu.epc_size);
	sgxd_w_u32(&c->out, d->cfg.cpu.nr_sections);
	sgxd_w_u8(&c->out, d->cfg.cpu.sgx2);
	sgxd_w_u8(&c->out, (uint8_t)d->cfg.oom_policy);
	sgxd_w_u32(&c->out, nr);
	sgxd_w_u32(&c->out, d->cfg.max_clients);
	sgxd_w_u64(&c->out, st.total_pages);
	sgxd_w_u64(&c->out, st.free_pages);
	sgxd_w_u64(&c->out, st.nr_encls);
	sgxd_w_u64(&c->out, (uint64_t)atomic_load(&d->tree->nr_cgroups));
	sgxd_w_u64(&c->out, (uint64_t)(now_ms() - d->start_ms));
	sgxd_w_str(&c->out, SGXD_VERSION_STRING);
	return 0;
}

static int handle_mkdir_rmdir(struct sgxd_conn *c, uint16_t type, struct sgxd_rbuf *r,
			      const char **why)
{
	const char *path = sgxd_r_str(r);
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (type == SGXD_MSG_CG_MKDIR)
		ret = sgx_epc_cgroup_mkdir(c->d->tree, path);
	else
		ret = sgx_epc_cgroup_rmdir(c->d->tree, path);
	if (c->d->cfg.verbose || !ret) {
		char p[257];

		dlog(c->d, "%s: %s %s: %d", c->tag, type == SGXD_MSG_CG_MKDIR ? "mkdir" : "rmdir",
		     printable(path, p, sizeof(p)), ret);
	}
	sgxd_w_s32(&c->out, ret);
	return 0;
}

static int handle_read(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	const char *path = sgxd_r_str(r);
	const char *file = sgxd_r_str(r);
	char text[1024];
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	ret = sgx_epc_cgroup_read(c->d->tree, path, file, text, sizeof(text));
	sgxd_w_s32(&c->out, ret < 0 ? ret : 0);
	sgxd_w_str(&c->out, ret < 0 ? "" : text);
	return 0;
}

static int handle_write(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	const char *path = sgxd_r_str(r);
	const char *file = sgxd_r_str(r);
	const char *value = sgxd_r_str(r);
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	ret = sgx_epc_cgroup_write(c->d->tree, path, file, value, strlen(value));
	if (c->d->cfg.verbose || !ret) {
		char p[257], f[65], v[65];

		dlog(c->d, "%s: write %s %s '%s': %d", c->tag, printable(path, p, sizeof(p)),
		     printable(file, f, sizeof(f)), printable(value, v, sizeof(v)), ret);
	}
	sgxd_w_s32(&c->out, ret);
	return 0;
}

struct tree_snap {
	struct sgx_epc_cgroup **cg;
	unsigned int *depth;
	size_t nr, cap;
	bool enomem;
};

static void snap_one(void *arg, struct sgx_epc_cgroup *cg, unsigned int depth)
{
	struct tree_snap *s = arg;

	if (s->enomem)
		return;
	if (s->nr == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct sgx_epc_cgroup **ncg = realloc(s->cg, cap * sizeof(*ncg));
		unsigned int *nd;

		if (!ncg) {
			s->enomem = true;
			return;
		}
		s->cg = ncg;
		nd = realloc(s->depth, cap * sizeof(*nd));
		if (!nd) {
			s->enomem = true;
			return;
		}
		s->depth = nd;
		s->cap = cap;
	}
	/* Under tree_lock: the cgroup is alive and in the tree, so it can be referenced. */
	sgx_epc_cgroup_get(cg);
	s->cg[s->nr] = cg;
	s->depth[s->nr++] = depth;
}

/*
 * CG_TREE: the entries from index 'first' of a pre-order snapshot, as many
 * as fit in one reply; the client asks again from first + count until it has
 * 'total'. Entry: str path, u16 depth, u64 current, u64 max, u64 peak,
 * u64 events.
 */
static int handle_tree(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t first = sgxd_r_u32(r);
	struct tree_snap s = { 0 };
	size_t count_off, i;
	uint32_t count = 0;
	char path[SGXD_MAX_STR + 1];

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	sgx_epc_cgroup_walk(c->d->tree, snap_one, &s);
	if (s.enomem) {
		sgxd_w_s32(&c->out, -ENOMEM);
		goto out;
	}
	sgxd_w_s32(&c->out, 0);
	sgxd_w_u32(&c->out, (uint32_t)s.nr);
	count_off = SGXD_HDR_SIZE + c->out.len;
	sgxd_w_u32(&c->out, 0);
	for (i = first; i < s.nr; i++) {
		struct sgx_epc_cgroup *cg = s.cg[i];
		int n = sgx_epc_cgroup_path(cg, path, sizeof(path));

		if (n < 0)	/* deeper than a request can name: cannot happen via the socket */
			snprintf(path, sizeof(path), "?");
		if (!sgxd_w_room(&c->out, 2 + strlen(path) + 1 + 2 + 4 * 8))
			break;
		sgxd_w_str(&c->out, path);
		sgxd_w_u16(&c->out, (uint16_t)(s.depth[i] > UINT16_MAX ? UINT16_MAX : s.depth[i]));
		sgxd_w_u64(&c->out, atomic_load(&cg->usage));
		sgxd_w_u64(&c->out, cg->parent ? atomic_load(&cg->max) : SGX_EPC_MISC_MAX_NUM);
		sgxd_w_u64(&c->out, atomic_load(&cg->watermark));
		sgxd_w_u64(&c->out, atomic_load(&cg->events));
		count++;
	}
	c->out.data[count_off] = (uint8_t)count;
	c->out.data[count_off + 1] = (uint8_t)(count >> 8);
	c->out.data[count_off + 2] = (uint8_t)(count >> 16);
	c->out.data[count_off + 3] = (uint8_t)(count >> 24);
out:
	for (i = 0; i < s.nr; i++)
		sgx_epc_cgroup_put(s.cg[i]);
	free(s.cg);
	free(s.depth);
	return 0;
}

/*
 * ENCL_LIST: one page of the enclaves the requester may see, those with an
 * id above 'after' (ids increase in list order), as many as fit; 'more'
 * says whether some were left for the next page. Paging by id rather than
 * by index (CG_TREE) because enclaves come and go all the time: an enclave
 * that lives through the whole listing is reported exactly once.
 *
 * Who sees what (docs/DAEMON.md): root and the daemon's uid every enclave,
 * anybody else only those its uid's processes opened.
 */
struct encl_list_ctx {
	struct sgxd_conn *c;
	uint64_t after;
	bool all;
	uint32_t total, count;
	bool more;
};

static void encl_list_one(void *arg, const struct sgx_encl_info *e)
{
	struct encl_list_ctx *x = arg;
	struct sgxd_wbuf *w = &x->c->out;
	uint32_t flags = 0;

	if (!x->all && e->owner_uid != (long)x->c->uid)
		return;
	x->total++;
	if (e->id <= x->after || x->more)
		return;
	if (!sgxd_w_room(w, SGXD_ENCL_ENTRY_FIXED + strlen(e->cgroup) + 1)) {
		x->more = true;
		return;
	}
	flags |= e->created ? SGXD_ENCL_F_CREATED : 0;
	flags |= e->initialized ? SGXD_ENCL_F_INITIALIZED : 0;
	flags |= e->debug ? SGXD_ENCL_F_DEBUG : 0;
	flags |= e->no_memory ? SGXD_ENCL_F_KILLED : 0;
	flags |= e->sgx2 ? SGXD_ENCL_F_SGX2 : 0;
	sgxd_w_u64(w, e->id);
	sgxd_w_u32(w, (uint32_t)(e->owner_pid > 0 ? e->owner_pid : 0));
	sgxd_w_u32(w, e->owner_uid < 0 ? UINT32_MAX : (uint32_t)e->owner_uid);
	sgxd_w_str(w, e->cgroup);
	sgxd_w_u64(w, e->base);
	sgxd_w_u64(w, e->size);
	sgxd_w_u64(w, e->epc_pages);
	sgxd_w_u64(w, e->swapped_pages);
	sgxd_w_u32(w, flags);
	sgxd_w_u64(w, e->ewb);
	sgxd_w_u64(w, e->eldu);
	sgxd_w_u64(w, e->eaug);
	x->count++;
}

static int handle_encl_list(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	struct encl_list_ctx x = { .c = c };
	size_t total_off;
	int ret;

	x.after = sgxd_r_u64(r);
	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	x.all = c->uid == 0 || c->uid == c->d->uid;
	sgxd_w_s32(&c->out, 0);
	total_off = c->out.len;
	sgxd_w_u32(&c->out, 0);		/* total, count, more: filled in below */
	sgxd_w_u32(&c->out, 0);
	sgxd_w_u8(&c->out, 0);
	ret = sgx_platform_for_each_encl(c->d->platform, encl_list_one, &x);
	if (ret) {
		sgxd_w_init(&c->out);
		sgxd_w_s32(&c->out, ret);
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		c->out.data[SGXD_HDR_SIZE + total_off + i] = (uint8_t)(x.total >> (8 * i));
		c->out.data[SGXD_HDR_SIZE + total_off + 4 + i] = (uint8_t)(x.count >> (8 * i));
	}
	c->out.data[SGXD_HDR_SIZE + total_off + 8] = x.more;
	return 0;
}

/* ---- shared mode: cgroup placement and enclaves (docs/DAEMON.md) ---- */

/* Collapse repeated '/', drop a trailing one; "" becomes "/". */
static void normalize_path(char *p)
{
	char *w = p;

	for (const char *r = p; *r; r++) {
		if (*r == '/' && w > p && w[-1] == '/')
			continue;
		*w++ = *r;
	}
	while (w > p + 1 && w[-1] == '/')
		w--;
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

int sgxd_proc_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], line[SGXD_MAX_STR + 64];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, "0::", 3))
			continue;
		n = strcspn(line + 3, "\n");
		line[3 + n] = '\0';
		/* A process in another cgroup namespace may see a path outside it. */
		if (line[3] != '/' || n + 1 > len) {
			ret = line[3] != '/' ? -ENOENT : -ENAMETOOLONG;
			break;
		}
		memcpy(buf, line + 3, n + 1);
		normalize_path(buf);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* True if path (normalized) is base or lies under it. */
static bool path_under(const char *path, const char *base)
{
	size_t n = strlen(base);

	if (!strcmp(base, "/"))
		return true;
	return !strncmp(path, base, n) && (path[n] == '\0' || path[n] == '/');
}

/*
 * Create every missing level of path (normalized, absolute) in the tree, as
 * the peer's own cgroup exists in the real hierarchy: 0 or the first
 * mkdir's error other than -EEXIST.
 */
static int tree_mkdir_p(struct sgxd_conn *c, const char *path)
{
	char prefix[SGXD_MAX_STR + 1];
	size_t n = strlen(path);

	if (n >= sizeof(prefix))
		return -ENAMETOOLONG;
	for (size_t i = 1; i <= n; i++) {
		int ret;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		ret = sgx_epc_cgroup_mkdir(c->d->tree, prefix);
		if (ret == -EEXIST)
			continue;
		if (ret)
			return ret;
		dlog(c->d, "%s: created cgroup %s for the peer's own cgroup", c->tag, prefix);
	}
	return 0;
}

/*
 * Attach the connection to the cgroup at req ("" = the peer's own cgroup v2
 * path, created in the EPC tree if missing). An explicit path is allowed to
 * root, to the daemon's uid, and otherwise only under the peer's own cgroup
 * (cgroup v2 delegation): -EACCES. The old cgroup, if any, is left.
 */
static int conn_attach(struct sgxd_conn *c, const char *req)
{
	struct sgxd *d = c->d;
	char own[SGXD_MAX_STR + 1], canon[SGXD_MAX_STR + 1];
	struct sgx_epc_cgroup *cg;
	const char *path;
	int own_ret, ret, tries = 0;
	bool trusted = c->uid == 0 || c->uid == d->uid;

	own_ret = sgxd_proc_cgroup(c->pid, own, sizeof(own));
	if (own_ret == -ENOENT) {	/* no cgroup v2 line: the root */
		strcpy(own, "/");
		own_ret = 0;
	}
	if (!*req) {
		if (own_ret)
			return own_ret;
		path = own;
	} else {
		path = req;
		if (!trusted && own_ret)
			return -EACCES;
	}
again:
	if (!*req) {
		ret = tree_mkdir_p(c, own);
		if (ret)
			return ret;
	}
	cg = sgx_epc_cgroup_lookup(d->tree, path);
	if (IS_ERR(cg)) {
		ret = (int)PTR_ERR(cg);
		/* Removed between our mkdir and the lookup: make it again. */
		if (ret == -ENOENT && !*req && ++tries < 8)
			goto again;
		return ret;
	}
	ret = sgx_epc_cgroup_path(cg, canon, sizeof(canon));
	if (ret < 0)
		goto put;
	if (!trusted && !path_under(canon, own)) {
		ret = -EACCES;
		goto put;
	}
	ret = sgx_epc_cgroup_attach(cg);
	if (ret) {
		if (ret == -ENOENT && !*req && ++tries < 8) {
			sgx_epc_cgroup_put(cg);
			goto again;
		}
		goto put;
	}
	if (c->cg) {
		sgx_epc_cgroup_detach(c->cg);
		sgx_epc_cgroup_put(c->cg);
	}
	c->cg = cg;
	strcpy(c->cg_path, canon);
	if (d->cfg.verbose)
		dlog(d, "%s: attached to %s", c->tag, c->cg_path);
	return 0;
put:
	sgx_epc_cgroup_put(cg);
	return ret;
}

static int handle_attach(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	const char *path = sgxd_r_str(r);
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (c->role != SGXD_ROLE_PROGRAM)
		ret = -EPERM;
	else if (c->is_thread)	/* the cgroup is the process connection's */
		ret = -EINVAL;
	else
		ret = conn_attach(c, path);
	sgxd_w_s32(&c->out, ret);
	sgxd_w_str(&c->out, ret ? "" : c->cg_path);
	return 0;
}

static struct sgxd_encl_slot *conn_encl(struct sgxd_conn *c, uint32_t handle)
{
	if (!handle)
		return NULL;
	for (unsigned int i = 0; i < SGXD_MAX_ENCLS_PER_CONN; i++)
		if (c->encls[i].handle == handle)
			return &c->encls[i];
	return NULL;
}

static int encl_open(struct sgxd_conn *c, uint32_t *handle)
{
	struct sgxd_encl_slot *s = NULL;
	struct sgx_encl *encl;
	int ret;

	if (c->role != SGXD_ROLE_PROGRAM)
		return -EPERM;
	if (c->is_thread)	/* handles live on the process connection */
		return -EINVAL;
	if (!c->cg) {
		ret = conn_attach(c, "");
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < SGXD_MAX_ENCLS_PER_CONN && !s; i++)
		if (!c->encls[i].handle)
			s = &c->encls[i];
	if (!s)
		return -EMFILE;
	ret = sgx_open(c->d->platform, &encl);
	if (ret)
		return ret;
	/* For ENCL_LIST: values (not c itself), so the connection may end any time. */
	sgx_encl_set_owner(encl, (int)c->pid, (long)c->uid);
	/* The connection is attached to cg_path, so it cannot be removed meanwhile. */
	ret = sgx_encl_set_cgroup(encl, c->cg_path);
	if (ret) {
		sgx_release(encl);
		return ret;
	}
	do {
		c->next_handle++;
	} while (!c->next_handle || conn_encl(c, c->next_handle));
	s->handle = c->next_handle;
	s->encl = encl;
	c->nr_encls++;
	*handle = s->handle;
	return 0;
}

static void encl_close(struct sgxd_conn *c, struct sgxd_encl_slot *s)
{
	/* Before the release, while the enclave surely lives: its file is no longer ours. */
	sgx_encl_set_owner(s->encl, 0, (long)c->uid);
	sgx_release(s->encl);
	s->encl = NULL;
	s->handle = 0;
	c->nr_encls--;
}

static int handle_encl_open(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t handle = 0;
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	ret = encl_open(c, &handle);
	if (c->d->cfg.verbose)
		dlog(c->d, "%s: ENCL_OPEN in %s: %d, handle %u", c->tag,
		     c->cg ? c->cg_path : "-", ret, handle);
	sgxd_w_s32(&c->out, ret);
	sgxd_w_u32(&c->out, handle);
	return 0;
}

static int handle_encl_release(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t handle = sgxd_r_u32(r);
	struct sgxd_encl_slot *s;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	s = conn_encl(c, handle);
	if (s)
		encl_close(c, s);
	sgxd_w_s32(&c->out, s ? 0 : -EBADF);
	return 0;
}

/* The SGX2 ioctls and PROVISION: a struct of u64 fields, inline both ways. */
static unsigned int ioctl_inline_words(uint32_t cmd)
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

/*
 * ENCL_IOCTL: u32 handle, u32 cmd, u8 argp (0: the client could not read
 * the argument struct: nothing follows, the manager gets a NULL argument and
 * the reply is the status alone), then by cmd (docs/DAEMON.md):
 *   CREATE     u8 has_secs, [4096 bytes SECS]                 -> status
 *   ADD_PAGES  u64 src, u64 offset, u64 length, u64 total, u64 flags,
 *              u8 has_secinfo, [64 bytes SECINFO], u32 npages, npages x 4096 bytes
 *                                                             -> status, u64 count
 *              (count UINT64_MAX: the manager did not write it back)
 *   INIT       u8 has_sigstruct, [1808 bytes SIGSTRUCT]       -> status
 *   PROVISION, RESTRICT_PERMISSIONS, MODIFY_TYPES, REMOVE_PAGES:
 *              the struct's u64 fields                        -> status, the struct after
 *   other      (nothing)                                      -> status (-ENOTTY)
 * PROVISION's message may carry the program's provision fd (SCM_RIGHTS, at
 * most one): the struct's fd field is the client's number, which the
 * manager never sees (see below); the reply echoes the struct as it came.
 * The daemon rebuilds the argument struct with pointers into its own copy
 * and calls the manager's sgx_ioctl(): every check and errno is the embedded
 * driver's. A missing SECS/SECINFO/SIGSTRUCT/src is a NULL pointer (-EFAULT).
 */
static int handle_encl_ioctl(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t handle = sgxd_r_u32(r);
	uint32_t cmd = sgxd_r_u32(r);
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages add = { .count = UINT64_MAX };	/* not written back */
	uint64_t words[8] = { 0 }, total = 0, npages = 0, src = 0;
	unsigned int nw = ioctl_inline_words(cmd);
	const uint8_t *data = NULL, *sec = NULL;
	struct sgxd_encl_slot *s;
	unsigned long arg = 0;
	uint8_t argp = sgxd_r_u8(r);
	long ret;

	switch (argp ? cmd : 0) {
	case 0:
		break;
	case SGX_IOC_ENCLAVE_CREATE:
		if (sgxd_r_u8(r))
			data = sgxd_r_bytes(r, SGX_PAGE_SIZE);
		break;
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		src = sgxd_r_u64(r);
		add.offset = sgxd_r_u64(r);
		add.length = sgxd_r_u64(r);
		total = sgxd_r_u64(r);
		add.flags = sgxd_r_u64(r);
		if (sgxd_r_u8(r))
			sec = sgxd_r_bytes(r, sizeof(secinfo));
		npages = sgxd_r_u32(r);
		if (npages > SGXD_SCRATCH_PAGES)
			npages = SGXD_SCRATCH_PAGES + 1;	/* the payload cannot hold them */
		data = sgxd_r_bytes(r, npages * SGX_PAGE_SIZE);
		break;
	case SGX_IOC_ENCLAVE_INIT:
		if (sgxd_r_u8(r))
			data = sgxd_r_bytes(r, sizeof(struct sgx_sigstruct));
		break;
	default:
		for (unsigned int i = 0; i < nw; i++)
			words[i] = sgxd_r_u64(r);
		break;
	}
	if (BAD(r) || argp > 1) {
		*why = r->err ? r->err : "ENCL_IOCTL: bad argument flag";
		return -EBADMSG;
	}
	/* check_fds() let an fd come with PROVISION only; it belongs to the argument. */
	if (c->fds.nr && !argp) {
		*why = "ENCL_IOCTL: PROVISION's file descriptor without its argument";
		return -EBADMSG;
	}
	if (argp && cmd == SGX_IOC_ENCLAVE_ADD_PAGES &&
	    (npages * SGX_PAGE_SIZE > add.length || total < add.length)) {
		*why = "ENCL_IOCTL: ADD_PAGES pages do not fit length and total";
		return -EBADMSG;
	}
	s = conn_encl(c, handle);
	if (!s) {
		ret = -EBADF;
		goto reply;
	}
	if (!argp) {
		/* The client could not read the argument: the manager sees a NULL one. */
		ret = sgx_ioctl(s->encl, cmd, 0);
		goto reply;
	}
	if (data && !c->scratch) {
		c->scratch = aligned_alloc(SGX_PAGE_SIZE, SGXD_SCRATCH_PAGES * SGX_PAGE_SIZE);
		if (!c->scratch) {
			ret = -ENOMEM;
			goto reply;
		}
	}
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: {
		struct sgx_enclave_create cr = { .src = 0 };

		if (data) {
			memcpy(c->scratch, data, SGX_PAGE_SIZE);
			cr.src = (uint64_t)(uintptr_t)c->scratch;
		}
		ret = sgx_ioctl(s->encl, cmd, (unsigned long)&cr);
		break;
	}
	case SGX_IOC_ENCLAVE_ADD_PAGES: {
		uint64_t call_len = add.length;

		/*
		 * The client splits a long ADD_PAGES; the manager must see the
		 * range check of the whole request (else a chunk would be added
		 * where the kernel adds nothing): an invalid whole range is
		 * passed whole, and the manager refuses it before reading a page.
		 */
		if (total > add.length && sgx_validate_offset_length(s->encl, add.offset, total))
			call_len = total;
		/* Never let the manager read past the pages that came. */
		if (call_len > npages * SGX_PAGE_SIZE && src && IS_ALIGNED(src, SGX_PAGE_SIZE) && sec &&
		    !sgx_validate_offset_length(s->encl, add.offset, call_len)) {
			*why = "ENCL_IOCTL: ADD_PAGES with fewer pages than its length";
			return -EBADMSG;
		}
		if (npages)
			memcpy(c->scratch, data, npages * SGX_PAGE_SIZE);
		add.length = call_len;
		add.src = src ? (uint64_t)(uintptr_t)c->scratch + (src & (SGX_PAGE_SIZE - 1)) : 0;
		if (sec)
			memcpy(&secinfo, sec, sizeof(secinfo));
		add.secinfo = sec ? (uint64_t)(uintptr_t)&secinfo : 0;
		ret = sgx_ioctl(s->encl, cmd, (unsigned long)&add);
		break;
	}
	case SGX_IOC_ENCLAVE_INIT: {
		struct sgx_enclave_init in = { .sigstruct = 0 };

		if (data) {
			memcpy(c->scratch, data, sizeof(struct sgx_sigstruct));
			in.sigstruct = (uint64_t)(uintptr_t)c->scratch;
		}
		ret = sgx_ioctl(s->encl, cmd, (unsigned long)&in);
		break;
	}
	case SGX_IOC_ENCLAVE_PROVISION: {
		/*
		 * The client's fd number names a file in its table, not ours: the
		 * manager gets the fd that came with the message (same_file() then
		 * decides, as the kernel compares f_op), or with none a number no
		 * fd can have (-EINVAL, the kernel's answer to a bad fd). Never the
		 * client's number: it could name the daemon's own provision fd.
		 */
		struct sgx_enclave_provision pv = {
			.fd = c->fds.nr ? (uint64_t)c->fds.fd[0] : UINT64_MAX,
		};

		ret = sgx_ioctl(s->encl, cmd, (unsigned long)&pv);
		break;
	}
	default:
		if (nw)
			arg = (unsigned long)words;
		ret = sgx_ioctl(s->encl, cmd, arg);
		break;
	}
reply:
	/* PROVISION's fd has served (or the handle was bad): the daemon keeps no copy. */
	sgxd_fds_close(&c->fds);
	sgxd_w_s32(&c->out, (int32_t)ret);
	if (!argp)
		return 0;
	if (cmd == SGX_IOC_ENCLAVE_ADD_PAGES)
		sgxd_w_u64(&c->out, add.count);
	else
		for (unsigned int i = 0; i < nw; i++)
			sgxd_w_u64(&c->out, words[i]);
	return 0;
}

/* ---- shared mode, slice 2: windows, faults, logical processors ---- */

static struct sgx_mm *conn_mm(struct sgxd_conn *c)
{
	return c->proc ? atomic_load(&c->proc->mm) : NULL;
}

/* Registers and exceptions on the wire: 20 x u64 in struct order; u8 vector, u32 code, u64 addr. */
_Static_assert(sizeof(struct sgx_regs) == 20 * 8, "sgx_regs is 20 u64");

static void r_regs(struct sgxd_rbuf *r, struct sgx_regs *g)
{
	uint64_t v[20];

	for (unsigned int i = 0; i < 20; i++)
		v[i] = sgxd_r_u64(r);
	memcpy(g, v, sizeof(v));
}

static void w_regs(struct sgxd_wbuf *w, const struct sgx_regs *g)
{
	uint64_t v[20];

	memcpy(v, g, sizeof(v));
	for (unsigned int i = 0; i < 20; i++)
		sgxd_w_u64(w, v[i]);
}

static void r_exc(struct sgxd_rbuf *r, struct sgx_exception *e)
{
	e->vector = sgxd_r_u8(r);
	e->error_code = sgxd_r_u32(r);
	e->addr = sgxd_r_u64(r);
}

static void w_exc(struct sgxd_wbuf *w, const struct sgx_exception *e)
{
	sgxd_w_u8(w, e->vector);
	sgxd_w_u32(w, e->error_code);
	sgxd_w_u64(w, e->addr);
}

/* The LP's state after a call: u8 inside, u64 ELRANGE base, u64 size (0 outside). */
static void w_lp_state(struct sgxd_wbuf *w, struct sgx_lp *lp)
{
	const struct sgx_secs *secs = sgx_lp_enclave(lp);

	sgxd_w_u8(w, secs != NULL);
	sgxd_w_u64(w, secs ? secs->base : 0);
	sgxd_w_u64(w, secs ? secs->size : 0);
}

/*
 * ENCL_MEMFD: u32 handle -> status, u64 base, u64 size, and on success the
 * enclave's window memfd with the reply (SCM_RIGHTS). The fd sent is the
 * enclave's own (the kernel installs a new one in the peer); it stays valid
 * until the reply is sent because only this thread can release the handle.
 */
static int handle_encl_memfd(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t handle = sgxd_r_u32(r);
	struct sgxd_encl_slot *s;
	uint64_t base = 0, size = 0;
	int ret, fd = -1;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	s = conn_encl(c, handle);
	ret = s ? sgx_encl_window_memfd(s->encl, &fd, &base, &size) : -EBADF;
	if (!ret)
		c->reply_fd = fd;
	sgxd_w_s32(&c->out, ret);
	sgxd_w_u64(&c->out, ret ? 0 : base);
	sgxd_w_u64(&c->out, ret ? 0 : size);
	return 0;
}

/*
 * PROVISION_OPEN: (empty) -> status, and on success a new fd of the
 * platform's /dev/sgx_provision with the reply (SCM_RIGHTS): the file whose
 * identity ENCL_IOCTL(PROVISION) checks. The kernel's device node is
 * root-only by default (a udev rule may give it to group sgx_prv); here
 * root or the daemon's own uid, else -EACCES. Only programs open devices.
 */
static int handle_provision_open(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (c->role != SGXD_ROLE_PROGRAM)
		ret = -EPERM;
	else if (c->uid != 0 && c->uid != c->d->uid)
		ret = -EACCES;
	else
		ret = sgx_provision_open(c->d->platform);
	if (ret >= 0) {
		c->reply_fd = ret;	/* a dup of ours: send_msg closes it once sent */
		c->reply_fd_owned = true;
		ret = 0;
	}
	/* Verbose only: a refused peer stays connected and could flood the log. */
	if (c->d->cfg.verbose)
		dlog(c->d, "%s: PROVISION_OPEN: %d", c->tag, ret);
	sgxd_w_s32(&c->out, ret);
	return 0;
}

/*
 * UFFD: (empty) + exactly one fd, a userfaultfd (checked before dispatch).
 * The process's address space as the manager will see it. Once per
 * process: -EBUSY after.
 */
static int handle_uffd(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	struct sgx_mm *mm = NULL;
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (!c->proc || c->is_thread)
		ret = -EINVAL;
	else if (atomic_load(&c->proc->mm))
		ret = -EBUSY;
	else
		ret = sgx_mm_create(c->d->platform, c->fds.fd[0], &mm);
	if (!ret) {
		c->fds.fd[0] = -1;	/* the mm owns it now */
		atomic_store(&c->proc->mm, mm);
	}
	if (c->d->cfg.verbose)
		dlog(c->d, "%s: UFFD: %d", c->tag, ret);
	sgxd_w_s32(&c->out, ret);
	return 0;
}

/*
 * ENCL_MMAP: u32 handle, u64 addr, u64 len, u32 prot, u32 flags -> status,
 * u8 window. The kernel's checks (sgx_mmap_check), then inside ELRANGE of a
 * created enclave a window of the process is recorded (the program maps the
 * memfd there itself and registers it on its uffd); elsewhere the mapping
 * is allowed with no window (the program maps something whose every access
 * is SIGBUS) and MAP_FIXED removes the windows it replaces.
 */
static int handle_encl_mmap(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t handle = sgxd_r_u32(r);
	uint64_t addr = sgxd_r_u64(r), len = sgxd_r_u64(r);
	uint32_t prot = sgxd_r_u32(r), flags = sgxd_r_u32(r);
	struct sgx_mm *mm = conn_mm(c);
	struct sgxd_encl_slot *s;
	uint64_t base = 0, size = 0, plen;
	bool window = false;
	int ret, fd;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	s = conn_encl(c, handle);
	if (!s) {
		ret = -EBADF;
		goto reply;
	}
	if (addr > UINTPTR_MAX || len > UINTPTR_MAX || prot > INT_MAX || flags > INT_MAX) {
		ret = -EINVAL;
		goto reply;
	}
	ret = sgx_mmap_check(s->encl, addr, len, (int)prot, (int)flags);
	if (ret)
		goto reply;
	plen = (len + SGX_PAGE_SIZE - 1) & ~(uint64_t)(SGX_PAGE_SIZE - 1);
	if (!sgx_encl_window_memfd(s->encl, &fd, &base, &size) && addr && plen &&
	    addr >= base && plen <= size && addr - base <= size - plen) {
		/* The enclave's memory: the window needs the process's uffd first. */
		ret = mm ? sgx_mmap_mm(s->encl, mm, addr, len, (int)prot, (int)flags) : -EINVAL;
		window = !ret;
	} else if (mm && (flags & MAP_FIXED) && plen) {
		ret = sgx_munmap_mm(mm, addr, plen);
	}
reply:
	if (c->d->cfg.verbose)
		dlog(c->d, "%s: ENCL_MMAP %u 0x%llx+0x%llx: %d%s", c->tag, handle,
		     (unsigned long long)addr, (unsigned long long)len, ret,
		     window ? " (window)" : "");
	sgxd_w_s32(&c->out, ret);
	sgxd_w_u8(&c->out, window);
	return 0;
}

/* ENCL_MUNMAP: u64 addr, u64 len -> status. The process's windows in the range go. */
static int handle_encl_munmap(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint64_t addr = sgxd_r_u64(r), len = sgxd_r_u64(r);
	struct sgx_mm *mm = conn_mm(c);
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (addr > UINTPTR_MAX || len > UINTPTR_MAX)
		ret = -EINVAL;
	else
		ret = mm ? sgx_munmap_mm(mm, addr, len) : 0;	/* no window anywhere */
	sgxd_w_s32(&c->out, ret);
	return 0;
}

/* ENCL_MPROTECT: u64 addr, u64 len, u32 prot -> status (sgx_mprotect_check of each window). */
static int handle_encl_mprotect(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint64_t addr = sgxd_r_u64(r), len = sgxd_r_u64(r);
	uint32_t prot = sgxd_r_u32(r);
	struct sgx_mm *mm = conn_mm(c);
	int ret;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (addr > UINTPTR_MAX || len > UINTPTR_MAX || prot > INT_MAX)
		ret = -EINVAL;
	else
		ret = mm ? sgx_mprotect_mm(mm, addr, len, (int)prot) : 0;
	sgxd_w_s32(&c->out, ret);
	return 0;
}

/*
 * FAULT: u64 addr, u32 write (0 or 1) -> status, u32 result (enum
 * sgx_fault_result). The kernel's sgx_vma_fault() for the process's window
 * at addr, in this connection's thread (the faulting thread waits for the
 * reply as it would wait in the kernel's fault handler). An address in no
 * window of this process — another process's enclave included — is
 * SGX_FAULT_NOT_MINE.
 */
static int handle_fault(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint64_t addr = sgxd_r_u64(r);
	uint32_t write = sgxd_r_u32(r);
	struct sgx_mm *mm = conn_mm(c);
	enum sgx_fault_result res = SGX_FAULT_NOT_MINE;
	int ret = 0;

	if (BAD(r) || write > 1) {
		*why = r->err ? r->err : "FAULT: write is neither 0 nor 1";
		return -EBADMSG;
	}
	if (c->role != SGXD_ROLE_PROGRAM)
		ret = -EPERM;
	else if (mm && addr <= UINTPTR_MAX)
		res = sgx_vma_fault_mm(mm, addr, write);
	sgxd_w_s32(&c->out, ret);
	sgxd_w_u32(&c->out, ret ? 0 : (uint32_t)res);
	return 0;
}

/*
 * THREAD_JOIN: u32 tid, u32 kick_signal -> status, u32 LP id. The
 * connection becomes a thread connection of the process whose process
 * connection (the program's first connection that did not join) has the
 * same SO_PEERCRED pid and uid (-ESRCH if none). It gets an LP of its own
 * whose linear addresses resolve through that process's windows, and the
 * IPI of that LP becomes tgkill(pid, tid, kick_signal). Only as a fresh
 * program connection: no handle, cgroup or uffd of its own (-EINVAL).
 */
static int handle_thread_join(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint32_t tid = sgxd_r_u32(r), sig = sgxd_r_u32(r);
	struct sgxd *d = c->d;
	struct sgxd_conn *target = NULL;
	struct sgxd_proc *old = NULL;
	struct sgx_lp *lp;
	char path[64];
	bool kick;
	int ret = 0;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (c->role != SGXD_ROLE_PROGRAM) {
		ret = -EPERM;
		goto reply;
	}
	if (c->is_thread || c->nr_encls || c->cg || conn_mm(c) || !tid || tid > INT_MAX ||
	    !sig || sig >= (uint32_t)_NSIG) {
		ret = -EINVAL;
		goto reply;
	}
	/*
	 * The tid is the program's view. In our pid namespace it must be a
	 * thread of the peer (tgkill checks that too); from another namespace
	 * we cannot translate it, so that LP is never kicked (its thread leaves
	 * enclave mode at its next ENCLU or AEX; ETRACK waits for it).
	 */
	kick = same_pid_ns(c->pid);
	if (kick) {
		snprintf(path, sizeof(path), "/proc/%d/task/%u", (int)c->pid, tid);
		if (access(path, F_OK)) {
			ret = -ESRCH;
			goto reply;
		}
	}
	lp = sgx_lp_create(sgx_platform_cpu(d->platform));
	if (!lp) {
		ret = -EAGAIN;
		goto reply;
	}
	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->cfg.max_clients; i++) {
		struct sgxd_conn *x = d->slots[i];

		if (!x || x == c || !x->proc || x->is_thread || !x->proc->open ||
		    x->pid != c->pid || x->uid != c->uid)
			continue;
		if (!target || x->serial < target->serial)
			target = x;
	}
	if (target) {
		atomic_fetch_add(&target->proc->refs, 1);
		old = c->proc;
		c->proc = target->proc;
		c->is_thread = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (!target) {
		sgx_lp_destroy(lp);
		ret = -ESRCH;
		goto reply;
	}
	proc_put(old);	/* fresh: nothing in it */
	c->lp = lp;
	sgx_lp_set_resolver(lp, proc_resolve, c->proc);
	if (kick && sgx_lp_id(lp) < d->nr_kicks) {
		struct sgxd_kick *k = &d->kicks[sgx_lp_id(lp)];

		atomic_store(&k->pid, (int)c->pid);
		atomic_store(&k->sig, (int)sig);
		atomic_store(&k->tid, (int)tid);
	}
	dlog(d, "%s: thread %u joined client %llu with LP %u%s", c->tag, tid, target->serial,
	     sgx_lp_id(lp), kick ? "" : " (other pid namespace: no kicks)");
reply:
	sgxd_w_s32(&c->out, ret);
	sgxd_w_u32(&c->out, ret ? 0 : sgx_lp_id(c->lp));
	return 0;
}

/* ENCLU: regs -> status, s32 ret, regs, exc, LP state (thread connections only). */
static int handle_enclu(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	struct sgx_exception exc = { 0 };
	struct sgx_regs regs;
	int ret;

	r_regs(r, &regs);
	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (!c->lp) {
		sgxd_w_s32(&c->out, -EINVAL);
		return 0;
	}
	ret = sgx_enclu(sgx_platform_cpu(c->d->platform), c->lp, &regs, &exc);
	if (!ret)
		c->last_regs = regs;
	sgxd_w_s32(&c->out, 0);
	sgxd_w_s32(&c->out, ret);
	w_regs(&c->out, &regs);
	w_exc(&c->out, &exc);
	w_lp_state(&c->out, c->lp);
	return 0;
}

/*
 * AEX: regs, u8 has_exc, exc -> status, s32 ret, regs, ssa_fault, LP state:
 * sgx_aex_or_fault() (thread connections only).
 */
static int handle_aex(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	struct sgx_exception exc, ssa = { 0 };
	struct sgx_regs regs;
	uint8_t has_exc;
	int ret;

	r_regs(r, &regs);
	has_exc = sgxd_r_u8(r);
	r_exc(r, &exc);
	if (BAD(r) || has_exc > 1) {
		*why = r->err ? r->err : "AEX: has_exc is neither 0 nor 1";
		return -EBADMSG;
	}
	if (!c->lp) {
		sgxd_w_s32(&c->out, -EINVAL);
		return 0;
	}
	ret = sgx_aex_or_fault(sgx_platform_cpu(c->d->platform), c->lp, &regs,
			       has_exc ? &exc : NULL, &ssa);
	c->last_regs = regs;
	sgxd_w_s32(&c->out, 0);
	sgxd_w_s32(&c->out, ret);
	w_regs(&c->out, &regs);
	w_exc(&c->out, &ssa);
	w_lp_state(&c->out, c->lp);
	return 0;
}

/* TRANSLATE: u64 linaddr, u32 access -> status, u8 ok, exc (thread connections only). */
static int handle_translate(struct sgxd_conn *c, struct sgxd_rbuf *r, const char **why)
{
	uint64_t linaddr = sgxd_r_u64(r);
	uint32_t access = sgxd_r_u32(r);
	struct sgx_exception exc = { 0 };
	bool ok;

	if (BAD(r)) {
		*why = r->err;
		return -EBADMSG;
	}
	if (!c->lp) {
		sgxd_w_s32(&c->out, -EINVAL);
		return 0;
	}
	ok = sgx_lp_translate(sgx_platform_cpu(c->d->platform), c->lp, linaddr, access, &exc);
	sgxd_w_s32(&c->out, 0);
	sgxd_w_u8(&c->out, ok);
	w_exc(&c->out, &exc);
	return 0;
}

/*
 * A thread connection ends (the thread exited or was killed, or the whole
 * process died). If its LP is inside an enclave, ETRACK would wait for it
 * forever and EREMOVE of the enclave would fail: perform the AEX the dead
 * thread can no longer ask for (loading its SSA page through the
 * process's fault path if it was evicted), then free the LP.
 */
static void conn_thread_end(struct sgxd_conn *c)
{
	struct sgx_cpu *cpu = sgx_platform_cpu(c->d->platform);
	unsigned int id;

	if (!c->lp)
		return;
	id = sgx_lp_id(c->lp);
	if (id < c->d->nr_kicks)
		atomic_store(&c->d->kicks[id].tid, 0);
	for (int tries = 0; sgx_lp_enclave(c->lp) && tries < 1000; tries++) {
		struct sgx_exception ssa = { 0 };
		struct sgx_regs regs = c->last_regs;
		enum sgx_fault_result fr;

		if (sgx_aex_or_fault(cpu, c->lp, &regs, NULL, &ssa) != -EAGAIN)
			break;
		fr = sgx_vma_fault_mm(conn_mm(c), ssa.addr, true);
		if (fr == SGX_FAULT_RETRY)
			usleep(1000);
		else if (fr != SGX_FAULT_RESOLVED)
			break;
	}
	if (sgx_lp_enclave(c->lp)) {
		/* Its SSA cannot be loaded (an OOM victim, a window gone): reset the LP. */
		sgx_lp_force_exit(c->lp);
		dlog(c->d, "%s: LP %u reset inside its enclave (no SSA to save to)", c->tag, id);
	} else if (c->d->cfg.verbose) {
		dlog(c->d, "%s: LP %u freed", c->tag, id);
	}
	sgx_lp_destroy(c->lp);
	c->lp = NULL;
}

/* The connection ends: its enclaves die (their EPC and charges return) and it leaves its cgroup. */
static void conn_release_all(struct sgxd_conn *c)
{
	struct sgxd_proc *proc;
	unsigned int n = c->nr_encls;

	conn_thread_end(c);

	for (unsigned int i = 0; i < SGXD_MAX_ENCLS_PER_CONN; i++)
		if (c->encls[i].handle)
			encl_close(c, &c->encls[i]);
	if (n)
		dlog(c->d, "%s: released %u enclave%s at disconnect", c->tag, n, n == 1 ? "" : "s");
	/*
	 * The process's address space goes with its last connection: the
	 * windows' file references are the last ones of the enclaves released
	 * above, which die then (EPC freed, uncharged).
	 */
	pthread_mutex_lock(&c->d->lock);
	proc = c->proc;
	if (proc && !c->is_thread)
		proc->open = false;	/* no thread joins a process that is gone */
	c->proc = NULL;
	pthread_mutex_unlock(&c->d->lock);
	proc_put(proc);
	if (c->cg) {
		sgx_epc_cgroup_detach(c->cg);
		sgx_epc_cgroup_put(c->cg);
		c->cg = NULL;
	}
	free(c->scratch);
	c->scratch = NULL;
	sgxd_fds_close(&c->fds);
}

/* Returns 0 (reply in c->out) or a protocol error: reply ERROR, drop the connection. */
static int dispatch(struct sgxd_conn *c, const struct sgxd_hdr *h, const char **why)
{
	struct sgxd_rbuf r;

	sgxd_r_init(&r, c->in + SGXD_HDR_SIZE, h->length);
	sgxd_w_init(&c->out);
	if (!c->hello_done && h->type != SGXD_MSG_HELLO) {
		*why = "HELLO expected first";
		return -EPROTO;
	}
	switch (h->type) {
	case SGXD_MSG_HELLO:
		if (c->hello_done) {
			*why = "second HELLO";
			return -EPROTO;
		}
		return handle_hello(c, &r, why);
	case SGXD_MSG_STATUS:
		return handle_status(c, &r, why);
	case SGXD_MSG_CG_MKDIR:
	case SGXD_MSG_CG_RMDIR:
		return handle_mkdir_rmdir(c, h->type, &r, why);
	case SGXD_MSG_CG_READ:
		return handle_read(c, &r, why);
	case SGXD_MSG_CG_WRITE:
		return handle_write(c, &r, why);
	case SGXD_MSG_CG_TREE:
		return handle_tree(c, &r, why);
	case SGXD_MSG_ENCL_LIST:
		return handle_encl_list(c, &r, why);
	case SGXD_MSG_ATTACH:
		return handle_attach(c, &r, why);
	case SGXD_MSG_ENCL_OPEN:
		return handle_encl_open(c, &r, why);
	case SGXD_MSG_ENCL_RELEASE:
		return handle_encl_release(c, &r, why);
	case SGXD_MSG_ENCL_IOCTL:
		return handle_encl_ioctl(c, &r, why);
	case SGXD_MSG_ENCL_MEMFD:
		return handle_encl_memfd(c, &r, why);
	case SGXD_MSG_PROVISION_OPEN:
		return handle_provision_open(c, &r, why);
	case SGXD_MSG_UFFD:
		return handle_uffd(c, &r, why);
	case SGXD_MSG_ENCL_MMAP:
		return handle_encl_mmap(c, &r, why);
	case SGXD_MSG_ENCL_MUNMAP:
		return handle_encl_munmap(c, &r, why);
	case SGXD_MSG_ENCL_MPROTECT:
		return handle_encl_mprotect(c, &r, why);
	case SGXD_MSG_FAULT:
		return handle_fault(c, &r, why);
	case SGXD_MSG_THREAD_JOIN:
		return handle_thread_join(c, &r, why);
	case SGXD_MSG_ENCLU:
		return handle_enclu(c, &r, why);
	case SGXD_MSG_AEX:
		return handle_aex(c, &r, why);
	case SGXD_MSG_TRANSLATE:
		return handle_translate(c, &r, why);
	default:
		if (sgxd_type_reserved(h->type)) {
			/* Well-formed but not implemented yet: the connection survives. */
			sgxd_w_s32(&c->out, -ENOSYS);
			return 0;
		}
		*why = "unknown message type";
		return -EBADMSG;
	}
}

/* ENCL_IOCTL's cmd (payload bytes 4..7), or 0 if the payload is too short to hold it. */
static uint32_t encl_ioctl_cmd(const struct sgxd_conn *c, const struct sgxd_hdr *h)
{
	const uint8_t *p = c->in + SGXD_HDR_SIZE + 4;

	if (h->type != SGXD_MSG_ENCL_IOCTL || h->length < 8)
		return 0;
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * File descriptors may come only with UFFD, exactly one, a userfaultfd, and
 * with ENCL_IOCTL(PROVISION), at most one (the program's provision fd; none
 * is the kernel's bad fd, answered by the ioctl); on any other message,
 * more than allowed, or a control message the kernel cut short, the message
 * is malformed. NULL if the message's fds are right.
 */
static const char *check_fds(struct sgxd_conn *c, const struct sgxd_hdr *h)
{
	uint16_t type = h->type;
	char path[64], link[64];
	ssize_t n;

	if (c->fds.ctrunc)
		return "control message truncated (too many file descriptors)";
	if (encl_ioctl_cmd(c, h) == SGX_IOC_ENCLAVE_PROVISION)
		return c->fds.nr > 1 ? "PROVISION with more than one file descriptor" : NULL;
	if (type != SGXD_MSG_UFFD)
		return c->fds.nr ? "file descriptor on a message that takes none" : NULL;
	if (c->fds.nr != 1)
		return c->fds.nr ? "UFFD with more than one file descriptor" :
				   "UFFD without a file descriptor";
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fds.fd[0]);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return "UFFD: cannot identify the file descriptor";
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[userfaultfd]"))
		return "UFFD: the file descriptor is not a userfaultfd";
	return NULL;
}

/* Refuse: reply ERROR if possible, log one line; the caller drops the connection. */
static void refuse(struct sgxd_conn *c, uint32_t id, int err, const char *why, const char *what)
{
	dlog(c->d, "%s: %s%s%s: %s; dropping the connection", c->tag, what, *what ? ": " : "",
	     why, strerror(-err));
	send_error_fd(c->fd, id, err, why);
}

static void *conn_thread(void *arg)
{
	struct sgxd_conn *c = arg;
	struct sgxd *d = c->d;
	unsigned int tmo = d->cfg.msg_timeout_ms;

	for (;;) {
		struct sgxd_hdr h;
		const char *why = NULL;
		char what[64];
		size_t got = 0;
		int ret;

		/* fds of the previous message were taken or refused: none survives it. */
		sgxd_fds_close(&c->fds);
		/* Idle between messages: wait as long as it takes. */
		ret = sgxd_recvmsg_all(c->fd, c->in, 1, -1, &got, &c->fds);
		if (ret == -ECONNRESET) {
			if (d->cfg.verbose)
				dlog(d, "%s: disconnected", c->tag);
			break;
		}
		if (ret) {
			dlog(d, "%s: receive failed: %s", c->tag, strerror(-ret));
			break;
		}
		/* A started message must arrive whole within the timeout. */
		ret = sgxd_recvmsg_all(c->fd, c->in + 1, SGXD_HDR_SIZE - 1, (int)tmo, &got, &c->fds);
		if (ret) {
			snprintf(what, sizeof(what), "truncated header (%zu of %d bytes)", got + 1,
				 SGXD_HDR_SIZE);
			refuse(c, 0, ret == -ETIMEDOUT ? -ETIMEDOUT : -EBADMSG, what, "");
			break;
		}
		sgxd_hdr_decode(c->in, &h);
		ret = sgxd_hdr_check(&h, true, &why);
		if (ret) {
			snprintf(what, sizeof(what), "type 0x%x length %u", h.type, h.length);
			refuse(c, h.id, ret, why, what);
			break;
		}
		ret = sgxd_recvmsg_all(c->fd, c->in + SGXD_HDR_SIZE, h.length, (int)tmo, &got,
				       &c->fds);
		if (ret) {
			snprintf(what, sizeof(what), "%s: %zu of %u payload bytes",
				 sgxd_type_name(h.type), got, h.length);
			refuse(c, h.id, ret == -ETIMEDOUT ? -ETIMEDOUT : -EBADMSG,
			       "truncated payload", what);
			break;
		}
		why = check_fds(c, &h);
		if (why) {
			refuse(c, h.id, -EBADMSG, why, sgxd_type_name(h.type));
			break;
		}
		ret = dispatch(c, &h, &why);
		if (ret) {
			refuse(c, h.id, ret, why ? why : "malformed", sgxd_type_name(h.type));
			break;
		}
		ret = send_msg(c, h.type | SGXD_REPLY, h.id);
		if (ret) {
			dlog(d, "%s: cannot send the %s reply: %s", c->tag, sgxd_type_name(h.type),
			     strerror(-ret));
			break;
		}
	}
	conn_release_all(c);
	/*
	 * The peer sees the end now; the fd itself is closed by the reaper after
	 * the join, so its number cannot be reused while reap(all) may still
	 * shut it down.
	 */
	shutdown(c->fd, SHUT_RDWR);
	atomic_store(&c->done, true);
	return NULL;
}

/* ---- the connection table ---- */

/* Join and free finished connections; with 'all', shut every one down first. */
static void reap(struct sgxd *d, bool all)
{
	for (unsigned int i = 0; i < d->cfg.max_clients; i++) {
		struct sgxd_conn *c;

		pthread_mutex_lock(&d->lock);
		c = d->slots[i];
		if (!c || (!all && !atomic_load(&c->done))) {
			pthread_mutex_unlock(&d->lock);
			continue;
		}
		d->slots[i] = NULL;
		d->nr_clients--;
		pthread_mutex_unlock(&d->lock);
		if (all)
			shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->thread, NULL);
		close(c->fd);
		free(c);
	}
}

static void accept_one(struct sgxd *d)
{
	struct ucred cr = { 0 };
	sigset_t all, old;
	struct timeval tv;
	struct sgxd_conn *c;
	char why[192];
	unsigned int slot;
	int fd, ret;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			dlog(d, "accept: %s", strerror(errno));
		/* Out of fds: the connection stays queued; do not spin on it. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			usleep(100000);
		return;
	}
	tv.tv_sec = (d->cfg.msg_timeout_ms) / 1000;
	tv.tv_usec = (d->cfg.msg_timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = check_peer(d, fd, &cr, why, sizeof(why));
	if (ret) {
		dlog(d, "refused pid %d uid %u gid %u: %s", (int)cr.pid, (unsigned)cr.uid,
		     (unsigned)cr.gid, why);
		send_error_fd(fd, 0, ret, why);
		close(fd);
		return;
	}
	reap(d, false);
	pthread_mutex_lock(&d->lock);
	for (slot = 0; slot < d->cfg.max_clients && d->slots[slot]; slot++)
		;
	pthread_mutex_unlock(&d->lock);
	if (slot == d->cfg.max_clients) {
		dlog(d, "refused pid %d uid %u: too many clients (%u)", (int)cr.pid,
		     (unsigned)cr.uid, d->cfg.max_clients);
		send_error_fd(fd, 0, -EBUSY, "too many clients");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		send_error_fd(fd, 0, -ENOMEM, "out of memory");
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->slot = slot;
	c->pid = cr.pid;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->reply_fd = -1;
	sgxd_fds_init(&c->fds);
	c->serial = ++d->next_serial;
	snprintf(c->tag, sizeof(c->tag), "client %llu (pid %d uid %u)", c->serial, (int)cr.pid,
		 (unsigned)cr.uid);
	pthread_mutex_lock(&d->lock);
	d->slots[slot] = c;
	d->nr_clients++;
	pthread_mutex_unlock(&d->lock);
	/* Connection threads take no asynchronous signal: those are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&c->thread, NULL, conn_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pthread_mutex_lock(&d->lock);
		d->slots[slot] = NULL;
		d->nr_clients--;
		pthread_mutex_unlock(&d->lock);
		dlog(d, "%s: cannot start a thread: %s", c->tag, strerror(ret));
		send_error_fd(fd, 0, -ret, "cannot start a thread");
		close(fd);
		free(c);
		return;
	}
	if (d->cfg.verbose)
		dlog(d, "%s: connected", c->tag);
}

int sgxd_run(struct sgxd *d)
{
	dlog(d, "listening on %s (EPC %llu bytes, %u section%s, oom %s, max %u clients)",
	     d->path, (unsigned long long)d->cfg.cpu.epc_size, d->cfg.cpu.nr_sections,
	     d->cfg.cpu.nr_sections == 1 ? "" : "s",
	     d->cfg.oom_policy == SGX_EPC_OOM_KILL ? "kill" : "enomem", d->cfg.max_clients);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = d->listen_fd, .events = POLLIN },
			{ .fd = d->stop_pipe[0], .events = POLLIN },
		};
		/* Wake now and then to reap finished connections even when no one connects. */
		int r = poll(pfd, 2, 1000);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			break;
		if (r > 0 && (pfd[0].revents & POLLIN))
			accept_one(d);
		else
			reap(d, false);
	}
	dlog(d, "shutting down");
	/* No new connections from here on: the socket goes away first. */
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		d->listen_fd = -1;
	}
	reap(d, true);
	return 0;
}

void sgxd_stop(struct sgxd *d)
{
	char b = 1;

	if (write(d->stop_pipe[1], &b, 1) < 0) {
		/* the pipe is full: a stop is already pending */
	}
}

struct sgx_epc_cg_tree *sgxd_tree(struct sgxd *d)
{
	return d->tree;
}

struct sgx_platform *sgxd_platform(struct sgxd *d)
{
	return d->platform;
}

unsigned int sgxd_nr_clients(struct sgxd *d)
{
	unsigned int n;

	pthread_mutex_lock(&d->lock);
	n = d->nr_clients;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* ---- creation ---- */

static int mkdir_p(char *dir)
{
	struct stat st;
	char *slash;

	if (!*dir || !stat(dir, &st))
		return 0;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		int ret;

		*slash = '\0';
		ret = mkdir_p(dir);
		*slash = '/';
		if (ret)
			return ret;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	/* Whatever the umask: clients must be able to reach the socket. */
	chmod(dir, 0755);
	return 0;
}

/*
 * Take the socket path: the lock file serializes daemons starting at once;
 * a socket that answers belongs to a live daemon; one that refuses is stale.
 */
static int take_socket(struct sgxd *d, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(d->path)];
	struct stat st;
	mode_t old;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", d->path);
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = '\0';
		ret = mkdir_p(dir);
		if (ret) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-ret));
			return ret;
		}
	}
	snprintf(d->lock_path, sizeof(d->lock_path), "%s.lock", d->path);
	d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", d->lock_path, strerror(errno));
		return ret;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		snprintf(err, errlen, "another sgxemu daemon is running on %s (it holds %s)",
			 d->path, d->lock_path);
		return ret;
	}
	memcpy(sa.sun_path, d->path, strlen(d->path) + 1);
	if (!lstat(d->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", d->path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return ret;
		}
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			snprintf(err, errlen, "another sgxemu daemon is listening on %s", d->path);
			return -EADDRINUSE;
		}
		close(fd);
		/* Stale: nobody listens there any more. */
		if (unlink(d->path) && errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "cannot remove the stale socket %s: %s", d->path,
				 strerror(errno));
			return ret;
		}
	}
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->listen_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	/* The socket file is born 0660 (no window where it is wider), then made so explicitly. */
	old = umask(0117);
	ret = bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret) {
		ret = -errno;
		snprintf(err, errlen, "bind %s: %s", d->path, strerror(errno));
		return ret;
	}
	if (chmod(d->path, 0660) ||
	    (d->cfg.socket_gid != (gid_t)-1 && chown(d->path, (uid_t)-1, d->cfg.socket_gid)) ||
	    lstat(d->path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot set the owner/mode of %s: %s", d->path,
			 strerror(errno));
		unlink(d->path);
		return ret;
	}
	d->sock_dev = st.st_dev;
	d->sock_ino = st.st_ino;
	d->sock_gid = st.st_gid;
	if (listen(d->listen_fd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "listen: %s", strerror(errno));
		unlink(d->path);
		return ret;
	}
	return 0;
}

/*
 * The EPC cgroup tree is the platform's own (every EPC page the platform
 * allocates is charged to it), so the cgroup requests act on what the
 * allocator and the reclaimer use. The platform removes it when destroyed.
 */
static int attach_tree(struct sgxd *d)
{
	d->tree = sgx_platform_cgroups(d->platform);
	return d->tree ? 0 : -ENODEV;
}

/*
 * The OOM path killed an enclave (kill policy): the kernel says so in its log
 * and so does the daemon, with a running count, so that an operator (and
 * scripts/test-shared.sh) can tell a kill from a refused allocation.
 */
static void daemon_oom_killed(void *arg, uint64_t base, uint64_t size, const char *cgroup)
{
	struct sgxd *d = arg;
	unsigned long n = atomic_fetch_add(&d->oom_kills, 1) + 1;

	dlog(d, "OOM: killed the enclave at 0x%llx-0x%llx charged to %s (%lu kill%s so far)",
	     (unsigned long long)base, (unsigned long long)(base + size), cgroup, n,
	     n == 1 ? "" : "s");
}

static const struct sgx_platform_ops daemon_ops = {
	.ipi = daemon_ipi,
	.oom_killed = daemon_oom_killed,
};

int sgxd_create(const struct sgxd_config *c, struct sgxd **out, char *err, size_t errlen)
{
	struct sgx_platform_config pc;
	struct sgxd *d;
	int ret;

	if (!c || !out || !c->socket_path || !*c->socket_path) {
		snprintf(err, errlen, "no socket path");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->cfg = *c;
	d->listen_fd = -1;
	d->lock_fd = -1;
	d->stop_pipe[0] = d->stop_pipe[1] = -1;
	d->uid = geteuid();
	d->start_ms = now_ms();
	pthread_mutex_init(&d->lock, NULL);
	if (!d->cfg.max_clients)
		d->cfg.max_clients = SGXD_DEFAULT_MAX_CLIENTS;
	if (d->cfg.max_clients > SGXD_MAX_CLIENTS_LIMIT)
		d->cfg.max_clients = SGXD_MAX_CLIENTS_LIMIT;
	if (!d->cfg.msg_timeout_ms)
		d->cfg.msg_timeout_ms = SGXD_MSG_TIMEOUT_MS;
	if (strlen(c->socket_path) >= sizeof(d->path)) {
		snprintf(err, errlen, "socket path too long (at most %zu bytes)",
			 sizeof(d->path) - 1);
		free(d);
		return -ENAMETOOLONG;
	}
	strcpy(d->path, c->socket_path);
	d->cfg.socket_path = d->path;
	d->slots = calloc(d->cfg.max_clients, sizeof(*d->slots));
	if (!d->slots || pipe2(d->stop_pipe, O_CLOEXEC | O_NONBLOCK)) {
		ret = d->slots ? -errno : -ENOMEM;
		snprintf(err, errlen, "out of resources: %s", strerror(-ret));
		goto fail;
	}
	ret = take_socket(d, err, errlen);
	if (ret)
		goto fail;

	d->nr_kicks = d->cfg.cpu.max_lps;
	d->kicks = calloc(d->nr_kicks ? d->nr_kicks : 1, sizeof(*d->kicks));
	if (!d->kicks) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sgx_platform_default_config(&pc);
	pc.ops = &daemon_ops;
	pc.ops_arg = d;
	pc.cpu_config = d->cfg.cpu;
	pc.epc_oom_policy = d->cfg.oom_policy;
	ret = sgx_platform_create(&pc, &d->platform);
	if (ret) {
		snprintf(err, errlen, "cannot create the platform: %s", strerror(-ret));
		d->platform = NULL;
		goto fail;
	}
	ret = attach_tree(d);
	if (ret) {
		snprintf(err, errlen, "cannot create the EPC cgroup tree: %s", strerror(-ret));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	sgxd_destroy(d);
	return ret;
}

void sgxd_destroy(struct sgxd *d)
{
	struct stat st;
	int ret;

	if (!d)
		return;
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	/* Unlink the socket only if it is still the one this daemon bound. */
	if (d->sock_ino && !lstat(d->path, &st) && st.st_ino == d->sock_ino &&
	    st.st_dev == d->sock_dev)
		unlink(d->path);
	if (d->slots)
		reap(d, true);
	/* The platform removes the cgroups that are left, children first. */
	if (d->platform) {
		ret = sgx_platform_destroy(d->platform);
		if (ret)
			dlog(d, "the platform is still in use: %s", strerror(-ret));
	}
	if (d->lock_fd >= 0)
		close(d->lock_fd);	/* the lock file stays: unlinking it would race */
	if (d->stop_pipe[0] >= 0)
		close(d->stop_pipe[0]);
	if (d->stop_pipe[1] >= 0)
		close(d->stop_pipe[1]);
	pthread_mutex_destroy(&d->lock);
	free(d->kicks);
	free(d->slots);
	free(d);
}

// SPDX-License-Identifier: MIT
/*
 * Shared mode of the shim (SGXEMU_SHARED=<socket>, `sgxemu run --shared`):
 * the program's enclaves live on the daemon's platform instead of one made
 * in this process (docs/SHIM.md "Shared mode", docs/DAEMON.md).
 *
 * Two kinds of connection to the daemon:
 *
 *  - The process connection (role program): ATTACH, the enclave handles
 *    (one per enclave fd), ioctls, mmap/munmap/mprotect of windows, the
 *    userfaultfd handed over once. Made at the first open of
 *    /dev/sgx_enclave, used only from the program's calls (normal context),
 *    one request at a time under shim_shared::lock.
 *
 *  - A thread connection per thread (HELLO + THREAD_JOIN), made lazily
 *    from the thread's signal handler (its first ENCLU, its first window
 *    fault) and kept in TLS: the thread's LP on the daemon (ENCLU, AEX,
 *    EPCM translation) and its fault path. Only the thread's handlers use
 *    it, and enclave mode's and the dispatcher's handlers run with every
 *    signal blocked, so two requests never interleave on one stream. It
 *    is closed at thread exit (a TLS key destructor); the daemon forgets
 *    the LP at EOF.
 *
 * Windows: the daemon owns each enclave's memfd and sends it once; the shim
 * maps it at the program's address (MAP_SHARED, offset = address - base)
 * and registers the range on the process's userfaultfd (MISSING|WP, with
 * UFFD_FEATURE_SIGBUS), which the daemon holds too: a missing or
 * write-protected page is a SIGBUS in the faulting thread, which asks the
 * daemon (FAULT) on its own connection; the daemon fills the page with
 * UFFDIO_COPY into this process and evicts by punching the memfd.
 *
 * fork: the child must not speak on the parent's streams. The atfork hook
 * closes every inherited connection fd without sending anything (the
 * parent's ends stay open, so the daemon sees no EOF) and the child's first
 * open connects anew; inherited enclave fds are unusable (EIO), as in
 * embedded mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/client.h"
#include "host/preload.h"

#define PAGE			4096UL
#define SHARED_MAX_TCONNS	1024	/* thread connections tracked for fork */
#define SHARED_UFFD_FEATURES	(UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM | \
				 UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

struct shim_shared {
	/*
	 * lock: the process connection 'c' (one request and its reply at a
	 * time; normal context only). Taken before s->lock, never after it.
	 */
	pthread_mutex_t lock;
	struct sgxd_client *c;
	int uffd;			/* this process's userfaultfd (the daemon has a copy) */
	char cgroup[256];		/* the EPC cgroup ATTACH named */
};

/* The calling thread's connection, and the process it was made in. */
static __thread struct sgxd_client *tconn __attribute__((tls_model("initial-exec")));
static __thread pid_t tconn_pid __attribute__((tls_model("initial-exec")));

/*
 * Every live thread connection's fd + 1 (0: free slot), so that a fork
 * child can close the connections of threads it does not have. Lock-free:
 * threads add and remove their own from signal handlers.
 */
static int tconn_fds[SHARED_MAX_TCONNS];
static pthread_key_t tconn_key;
static pthread_once_t tconn_once = PTHREAD_ONCE_INIT;
static int kick_signal;

/* --stats (atomics: every thread counts). */
static unsigned long st_enclu, st_aex, st_faults, st_fault_retry, st_fault_sigbus, st_tconns,
		     st_lost;

#define COUNT(x)	__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

static void log_safe(struct shim *s, const char *fmt, long a, long b)
{
	if (s->debug)
		sgx_log_safe("sgxemu: ", fmt, a, b);
}

/* ------------------------------------------------------------------------
 * Thread connections
 */

static void tconn_register(int fd)
{
	for (unsigned int i = 0; i < SHARED_MAX_TCONNS; i++) {
		int none = 0;

		if (__atomic_compare_exchange_n(&tconn_fds[i], &none, fd + 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	}
	/* Untracked: a fork child keeps it open until it exits (the daemon sees EOF late). */
}

static void tconn_unregister(int fd)
{
	for (unsigned int i = 0; i < SHARED_MAX_TCONNS; i++) {
		int mine = fd + 1;

		if (__atomic_compare_exchange_n(&tconn_fds[i], &mine, 0, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
}

static void tconn_drop(void)
{
	if (!tconn)
		return;
	if (tconn_pid == getpid()) {
		tconn_unregister(sgxd_client_fd(tconn));
		shim_enter();
		sgxd_client_close(tconn);
		shim_leave();
	}
	/* Else a fork child's copy: its fd was closed by the atfork hook. */
	tconn = NULL;
}

/* Thread exit: the daemon forgets this thread's LP at EOF. */
static void tconn_destructor(void *p)
{
	(void)p;
	tconn_drop();
}

static void tconn_key_init(void)
{
	pthread_key_create(&tconn_key, tconn_destructor);
}

/* The calling thread's connection, made now if needed. Signal context. */
static struct sgxd_client *thread_conn(struct shim *s)
{
	pid_t pid = getpid();
	int ret;

	if (tconn && tconn_pid == pid)
		return tconn;
	tconn = NULL;		/* a fork child's copy of the parent's: never used */
	if (!s->shared_path || !s->sh)
		return NULL;	/* no process connection to join yet */
	/* Inside the shim: the client's own mmap/close reach the kernel directly. */
	shim_enter();
	ret = sgxd_client_connect_thread(s->shared_path, kick_signal, &tconn);
	shim_leave();
	if (ret) {
		tconn = NULL;
		log_safe(s, "thread connection to the daemon failed: %ld (pid %ld)", ret, pid);
		return NULL;
	}
	tconn_pid = pid;
	tconn_register(sgxd_client_fd(tconn));
	/* Non-NULL value: the destructor runs at this thread's exit. */
	pthread_setspecific(tconn_key, (void *)1);
	COUNT(st_tconns);
	return tconn;
}

/* The conversation failed (daemon gone, protocol error): drop the stream. */
static void tconn_lost(struct shim *s, int err)
{
	COUNT(st_lost);
	if (s->debug)
		sgx_log_safe("sgxemu: ", "lost the thread connection to the daemon: %d", err);
	tconn_drop();
}

/* ------------------------------------------------------------------------
 * Remote LPs (enclave_mode_lp_ops): the thread's LP is the daemon's
 */

static void lp_state(struct enclave_mode_lp_state *st, const struct sgxd_lp_state *ls)
{
	st->inside = ls->inside;
	st->encl_base = ls->encl_base;
	st->encl_size = ls->encl_size;
}

static void *lp_open(void *arg)
{
	/* The handle is only a token: every call finds the thread's connection (fork-proof). */
	return thread_conn(arg) ? arg : NULL;
}

static void lp_close(void *arg, void *lp)
{
	(void)arg;
	(void)lp;	/* the connection outlives the block: closed at thread exit */
}

static int lp_enclu(void *arg, void *lp, struct sgx_regs *regs, struct sgx_exception *exc,
		    struct enclave_mode_lp_state *st)
{
	struct shim *s = arg;
	struct sgxd_client *c = thread_conn(s);
	struct sgxd_lp_state ls = { 0 };
	int ret = -1, err;

	(void)lp;
	COUNT(st_enclu);
	if (c) {
		err = sgxd_enclu(c, regs, exc, &ret, &ls);
		if (!err) {
			lp_state(st, &ls);
			return ret;
		}
		tconn_lost(s, err);
	}
	/* No LP to run it on: #GP(0), as an ENCLU without a usable enclave would. */
	*exc = (struct sgx_exception){ .vector = X86_TRAP_GP };
	st->inside = false;
	return -1;
}

static int lp_aex(void *arg, void *lp, struct sgx_regs *regs, const struct sgx_exception *exc,
		  struct sgx_exception *ssa_fault, struct enclave_mode_lp_state *st)
{
	struct shim *s = arg;
	struct sgxd_client *c = thread_conn(s);
	struct sgxd_lp_state ls = { 0 };
	int ret = -EIO, err;

	(void)lp;
	if (!c)
		return -EIO;
	err = sgxd_aex(c, regs, exc, ssa_fault, &ret, &ls);
	if (err) {
		tconn_lost(s, err);
		return -EIO;
	}
	COUNT(st_aex);
	lp_state(st, &ls);
	return ret;
}

static bool lp_translate(void *arg, void *lp, uint64_t linaddr, uint32_t access,
			 struct sgx_exception *exc)
{
	struct shim *s = arg;
	struct sgxd_client *c = thread_conn(s);
	bool ok = false;
	int err;

	(void)lp;
	if (c) {
		err = sgxd_translate(c, linaddr, access, exc, &ok);
		if (!err)
			return ok;
		tconn_lost(s, err);
	}
	*exc = (struct sgx_exception){ .vector = X86_TRAP_GP };
	return false;
}

const struct enclave_mode_lp_ops *shim_shared_lp_ops(struct shim *s)
{
	static struct enclave_mode_lp_ops ops;

	pthread_once(&tconn_once, tconn_key_init);
	kick_signal = SIGRTMIN + 5;	/* enclave mode's default, which the shim keeps */
	ops = (struct enclave_mode_lp_ops){
		.open = lp_open, .close = lp_close, .enclu = lp_enclu,
		.aex_or_fault = lp_aex, .translate = lp_translate, .arg = s,
	};
	return &ops;
}

/* ------------------------------------------------------------------------
 * Faults (signal context, the thread's connection)
 */

enum sgx_fault_result shim_shared_fault(struct shim *s, uint64_t addr, bool is_write)
{
	struct sgxd_client *c = thread_conn(s);
	int result = SGX_FAULT_SIGBUS, err;

	COUNT(st_faults);
	if (!c)
		return SGX_FAULT_SIGBUS;
	err = sgxd_fault(c, addr, is_write, &result);
	if (err) {
		tconn_lost(s, err);
		result = SGX_FAULT_SIGBUS;
	}
	if (result == SGX_FAULT_RETRY)
		COUNT(st_fault_retry);
	else if (result != SGX_FAULT_RESOLVED)
		COUNT(st_fault_sigbus);
	return (enum sgx_fault_result)result;
}

/* ------------------------------------------------------------------------
 * The process connection
 */

/* Why a conversation failed, in words. */
static const char *conv_why(struct shim_shared *sh, int err)
{
	const char *why = sgxd_client_error(sh->c);

	return why && *why ? why : strerror(-err);
}

/* A failed conversation on the process connection: the enclave fd's EIO. */
static int conv_error(struct shim *s, struct shim_shared *sh, int err)
{
	if (s->debug)
		fprintf(stderr, "sgxemu: shared mode: %s\n", conv_why(sh, err));
	return err == -ENOSYS ? -ENOSYS : -EIO;
}

static int make_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = SHARED_UFFD_FEATURES };
	long fd;

	/*
	 * Not UFFD_USER_MODE_ONLY (as the embedded platform's): a syscall given
	 * a window buffer whose page is missing must fail with EFAULT, not let
	 * shmem put a zero page into the daemon's memfd.
	 */
	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_ioctl, (int)fd, UFFDIO_API, &api) ||
	    (api.features & SHARED_UFFD_FEATURES) != SHARED_UFFD_FEATURES) {
		shim_sys_close((int)fd);
		return -EOPNOTSUPP;
	}
	return (int)fd;
}

int shim_shared_start(struct shim *s)
{
	struct shim_shared *sh;
	char err[512];
	int ret, status = 0;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	pthread_mutex_init(&sh->lock, NULL);
	sh->uffd = -1;
	ret = sgxd_client_connect(s->shared_path, SGXD_ROLE_PROGRAM, "sgxemu-shim", &sh->c, err,
				  sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu: shared mode: %s\n", err);
		free(sh);
		return -ENODEV;
	}
	ret = sgxd_attach(sh->c, s->shared_cgroup, sh->cgroup, sizeof(sh->cgroup), &status);
	if (ret || status) {
		fprintf(stderr, "sgxemu: shared mode: cannot attach to EPC cgroup %s: %s\n",
			s->shared_cgroup ? s->shared_cgroup : "(own)",
			ret ? conv_why(sh, ret) : strerror(-status));
		ret = ret ? -ENODEV : status;
		goto fail;
	}
	sh->uffd = make_uffd();
	if (sh->uffd < 0) {
		fprintf(stderr, "sgxemu: shared mode: no userfaultfd (%s; "
			"vm.unprivileged_userfaultfd=0?): enclave memory cannot be mapped\n",
			strerror(-sh->uffd));
		ret = -ENODEV;
		goto fail;
	}
	ret = sgxd_send_uffd(sh->c, sh->uffd, &status);
	if (ret || status) {
		fprintf(stderr, "sgxemu: shared mode: the daemon did not take the userfaultfd: "
			"%s\n", ret ? conv_why(sh, ret) : strerror(-status));
		ret = ret ? (ret == -ENOSYS ? -ENOSYS : -ENODEV) : status;
		goto fail;
	}
	if (s->debug)
		fprintf(stderr, "sgxemu: pid %d on the daemon at %s, EPC cgroup %s\n",
			(int)getpid(), s->shared_path, sh->cgroup);
	atomic_store(&s->sh, sh);
	return 0;
fail:
	if (sh->uffd >= 0)
		shim_sys_close(sh->uffd);
	sgxd_client_close(sh->c);
	free(sh);
	return ret;
}

int shim_shared_open(struct shim *s, struct shim_encl **out)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	struct shim_encl *se;
	uint32_t handle = 0;
	int ret, status = 0;

	if (!sh)
		return -ENODEV;
	pthread_mutex_lock(&sh->lock);
	ret = sgxd_encl_open(sh->c, &handle, &status);
	if (ret)
		ret = conv_error(s, sh, ret);
	else
		ret = status;
	if (!ret) {
		se = shim_encl_new(s, NULL);
		if (!se) {
			sgxd_encl_release(sh->c, handle, &status);
			ret = -EMFILE;
		} else {
			se->handle = handle;
			*out = se;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return ret;
}

/*
 * open("/dev/sgx_provision"): the daemon's provision file (PROVISION_OPEN),
 * so that PROVISION on an enclave fd can pass it back and the daemon can
 * check it is that file. An fd (close-on-exec) or -errno: -EACCES as the
 * kernel's root-only device node answers.
 */
int shim_shared_provision_open(struct shim *s)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	int ret, fd = -1, status = 0;

	if (!sh)
		return -ENODEV;
	pthread_mutex_lock(&sh->lock);
	ret = sgxd_provision_open(sh->c, &fd, &status);
	pthread_mutex_unlock(&sh->lock);
	if (ret)
		return conv_error(s, sh, ret);
	return status ? status : fd;
}

void shim_shared_release(struct shim *s, struct shim_encl *se)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	int status;

	if (!sh)
		return;
	pthread_mutex_lock(&sh->lock);
	if (sgxd_encl_release(sh->c, se->handle, &status))
		conv_error(s, sh, -EIO);
	pthread_mutex_unlock(&sh->lock);
}

long shim_shared_ioctl(struct shim *s, struct shim_encl *se, unsigned long cmd, unsigned long arg)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	int ret, status = 0;

	if (!sh)
		return -EIO;
	pthread_mutex_lock(&sh->lock);
	ret = sgxd_encl_ioctl(sh->c, se->handle, cmd, (void *)arg, &status);
	pthread_mutex_unlock(&sh->lock);
	if (ret)
		return conv_error(s, sh, ret);
	return status;
}

/* The enclave's window memfd, asked once. sh->lock held. */
static int window_memfd(struct shim *s, struct shim_shared *sh, struct shim_encl *se,
			uint64_t *base)
{
	uint64_t size = 0;
	int fd = -1, ret, status = 0;

	if (se->memfd >= 0) {
		*base = atomic_load(&se->base);
		return se->memfd;
	}
	ret = sgxd_encl_memfd(sh->c, se->handle, &fd, base, &size, &status);
	if (ret)
		return conv_error(s, sh, ret);
	if (status)
		return status;
	if (*base != atomic_load(&se->base) || size != atomic_load(&se->size)) {
		shim_sys_close(fd);
		return -EIO;	/* not the ELRANGE CREATE gave: not our enclave */
	}
	se->memfd = fd;
	return fd;
}

/*
 * Map the enclave's memfd at [addr, addr + plen) and register it on the
 * process's userfaultfd (MISSING|WP), PROT_NONE: a page touched before the
 * registration would make shmem put a zero page into the daemon's memfd.
 * sh->lock held.
 */
static int map_registered(struct shim_shared *sh, int fd, uint64_t base, uint64_t addr,
			  uint64_t plen)
{
	struct uffdio_register reg = {
		.range = { .start = addr, .len = plen },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};

	if (shim_sys_mmap((void *)addr, plen, PROT_NONE, MAP_SHARED | MAP_FIXED, fd,
			  (off_t)(addr - base)) == MAP_FAILED)
		return -errno;
	if (syscall(SYS_ioctl, sh->uffd, UFFDIO_REGISTER, &reg)) {
		int err = -errno;

		shim_sys_munmap((void *)addr, plen);
		return err;
	}
	return 0;
}

/*
 * The order of docs/DAEMON.md: the memfd is mapped and registered before
 * ENCL_MMAP records the window, so that the daemon's first write-protect
 * (a reclaimer's EBLOCK) or fill of a page there always finds the range
 * registered; a window recorded first could have a page written back and
 * punched while our mapping did not carry the write-protection yet, and a
 * write to it would be lost. Only a range inside the ELRANGE CREATE gave can
 * be a window, so only that one is mapped first. The protection comes last.
 * On failure the range is left unmapped, as the kernel's failed mmap leaves
 * it, and the daemon forgets its windows there.
 */
int shim_shared_mmap(struct shim *s, struct shim_encl *se, uint64_t addr, uint64_t len, int prot,
		     int flags, bool *window)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	uint64_t plen = (len + PAGE - 1) & ~(PAGE - 1), base, size, mbase = 0;
	bool premapped = false;
	int ret, status = 0, fd = -1, st2;

	*window = false;
	if (!sh)
		return -EIO;
	base = atomic_load(&se->base);
	size = atomic_load(&se->size);
	pthread_mutex_lock(&sh->lock);
	if (base && addr >= base && plen <= size && addr - base <= size - plen) {
		fd = window_memfd(s, sh, se, &mbase);
		if (fd >= 0) {
			ret = map_registered(sh, fd, mbase, addr, plen);
			if (ret)
				goto out;
			premapped = true;
		}
	}
	ret = sgxd_encl_mmap(sh->c, se->handle, addr, len, prot, flags, window, &status);
	if (ret) {
		ret = conv_error(s, sh, ret);
		goto undo;
	}
	if (status) {
		ret = status;
		goto undo;
	}
	if (!*window) {
		/* No window (the caller maps the SIGBUS memfd over the range). */
		ret = 0;
		goto out;
	}
	if (!premapped) {
		/* A window where the ELRANGE known here said none could be: map it now. */
		fd = window_memfd(s, sh, se, &mbase);
		ret = fd < 0 ? fd : map_registered(sh, fd, mbase, addr, plen);
		if (ret)
			goto undo;
		premapped = true;
	}
	if (shim_sys_mprotect((void *)addr, plen, prot)) {
		ret = -errno;
		goto undo;
	}
	ret = 0;
	goto out;
undo:
	*window = false;
	sgxd_encl_munmap(sh->c, addr, len, &st2);
	if (premapped)
		shim_sys_munmap((void *)addr, plen);
out:
	pthread_mutex_unlock(&sh->lock);
	return ret;
}

int shim_shared_munmap(struct shim *s, uint64_t addr, uint64_t len, bool local)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	int ret, status = 0;

	if (!sh)
		return -EIO;
	pthread_mutex_lock(&sh->lock);
	ret = sgxd_encl_munmap(sh->c, addr, len, &status);
	ret = ret ? conv_error(s, sh, ret) : status;
	/* The daemon first: it must stop filling the range before it goes. */
	if (!ret && local && shim_sys_munmap((void *)addr, len))
		ret = -errno;
	pthread_mutex_unlock(&sh->lock);
	return ret;
}

int shim_shared_mprotect(struct shim *s, uint64_t addr, uint64_t len, int prot)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	int ret, status = 0;

	if (!sh)
		return -EIO;
	pthread_mutex_lock(&sh->lock);
	ret = sgxd_encl_mprotect(sh->c, addr, len, prot, &status);
	ret = ret ? conv_error(s, sh, ret) : status;
	/* The daemon checked (EPCM maximum, the kernel's EACCES); the PTEs are ours. */
	if (!ret && shim_sys_mprotect((void *)addr, len, prot))
		ret = -errno;
	pthread_mutex_unlock(&sh->lock);
	return ret;
}

/* ------------------------------------------------------------------------
 * fork and --stats
 */

void shim_shared_after_fork(struct shim *s)
{
	struct shim_shared *sh = atomic_load(&s->sh);

	/*
	 * Raw close(2) of every inherited stream, never a client call: the
	 * parent's ends stay open and nothing is sent. The client structs are
	 * leaked (the forking thread's TLS pointer is forgotten by the pid
	 * check in thread_conn()).
	 */
	for (unsigned int i = 0; i < SHARED_MAX_TCONNS; i++) {
		int fd = __atomic_exchange_n(&tconn_fds[i], 0, __ATOMIC_ACQ_REL);

		if (fd)
			shim_sys_close(fd - 1);
	}
	tconn = NULL;
	if (sh) {
		shim_sys_close(sgxd_client_fd(sh->c));
		shim_sys_close(sh->uffd);	/* the parent's mm's: useless here */
		pthread_mutex_init(&sh->lock, NULL);
		atomic_store(&s->sh, NULL);
	}
	st_enclu = st_aex = st_faults = st_fault_retry = st_fault_sigbus = st_tconns = 0;
	st_lost = 0;
}

void shim_shared_print_stats(struct shim *s, FILE *f)
{
	struct shim_shared *sh = atomic_load(&s->sh);
	struct sgxd_status ds;
	int status = -1;

	fprintf(f, "sgxemu stats (pid %d, shared mode: %s, EPC cgroup %s):\n", (int)getpid(),
		s->shared_path, sh ? sh->cgroup : "-");
	fprintf(f, "  enclaves created      %lu\n", atomic_load(&s->encls_created));
	fprintf(f, "  ENCLU calls / AEX     %lu / %lu\n", __atomic_load_n(&st_enclu, __ATOMIC_RELAXED),
		__atomic_load_n(&st_aex, __ATOMIC_RELAXED));
	fprintf(f, "  faults                %lu (%lu retried, %lu SIGBUS)\n",
		__atomic_load_n(&st_faults, __ATOMIC_RELAXED),
		__atomic_load_n(&st_fault_retry, __ATOMIC_RELAXED),
		__atomic_load_n(&st_fault_sigbus, __ATOMIC_RELAXED));
	fprintf(f, "  thread connections    %lu (%lu lost)\n",
		__atomic_load_n(&st_tconns, __ATOMIC_RELAXED),
		__atomic_load_n(&st_lost, __ATOMIC_RELAXED));
	/* Never wait at exit: another thread may be mid-request on the stream. */
	if (sh && !pthread_mutex_trylock(&sh->lock)) {
		if (sgxd_status(sh->c, &ds, &status))
			status = -1;
		pthread_mutex_unlock(&sh->lock);
	}
	if (!status)
		fprintf(f, "  daemon EPC            %llu pages, %llu free, %llu enclaves\n",
			(unsigned long long)ds.total_pages, (unsigned long long)ds.free_pages,
			(unsigned long long)ds.nr_encls);
	fflush(f);
}

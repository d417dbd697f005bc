// SPDX-License-Identifier: MIT
/*
 * The LD_PRELOAD shim: set-up, the platform, the fd table, fork and the
 * --stats report. See preload.h for the files and docs/SHIM.md for the
 * design.
 *
 * Embedded mode: the platform (emulated CPU + EPC manager) lives in the
 * program's own process. It is created on the first open of a device, not
 * in the constructor, because the kernel's state does not survive fork here
 * the way it does for a real device: ksgxd is a thread and the userfaultfd
 * belongs to the address space that created it. A process that never opens
 * the device (the kselftest parent, which forks one child per test) costs
 * nothing but the CPUID patching and the signal handlers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/preload.h"

/* The one process-wide pointer (see preload.h). */
static struct shim *the_shim;
static __thread int shim_depth __attribute__((tls_model("initial-exec")));

struct shim *shim_get(void)
{
	return __atomic_load_n(&the_shim, __ATOMIC_ACQUIRE);
}

void shim_enter(void)
{
	shim_depth++;
}

void shim_leave(void)
{
	shim_depth--;
}

bool shim_inside(void)
{
	return shim_depth > 0;
}

/* ------------------------------------------------------------------------
 * The kernel's calls
 */

void *shim_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int shim_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

int shim_sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int shim_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/* ------------------------------------------------------------------------
 * Configuration (the environment `sgxemu run` sets)
 */

static bool env_u64(const char *name, uint64_t *out)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return false;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "sgxemu: ignoring %s=%s (not a number)\n", name, v);
		return false;
	}
	*out = x;
	return true;
}

static void read_config(struct shim *s)
{
	uint64_t v;
	const char *stats = getenv("SGXEMU_STATS"), *shared, *cgroup;

	sgx_cpu_default_config(&s->config);
	if (env_u64("SGXEMU_EPC", &v))
		s->config.epc_size = v;
	if (env_u64("SGXEMU_SECTIONS", &v))
		s->config.nr_sections = (unsigned int)v;
	if (env_u64("SGXEMU_SGX1", &v) && v)
		s->config.sgx2 = false;
	s->stats_path = stats && *stats ? stats : NULL;
	s->debug = getenv("SGXEMU_DEBUG") != NULL;	/* read here: handlers never call getenv */
	/* Shared mode: the platform is the daemon's (`sgxemu run --shared`). */
	shared = getenv("SGXEMU_SHARED");
	cgroup = getenv("SGXEMU_CGROUP");
	s->shared_path = shared && *shared ? strdup(shared) : NULL;
	s->shared_cgroup = s->shared_path && cgroup && *cgroup ? strdup(cgroup) : NULL;
}

/* ------------------------------------------------------------------------
 * The platform
 */

static void shim_ipi(void *arg, struct sgx_lp *lp)
{
	struct shim *s = arg;

	enclave_mode_kick_lp(lp, s->em);
}

static int create_enclave_mode(struct shim *s)
{
	struct enclave_mode_ops ops = {
		.resolve = NULL,	/* the CPU's: the one enclave whose ELRANGE holds it */
		.fixup = shim_fixup,
		.fixup_after_aex = shim_fixup_after_aex,
		.arg = s,
	};
	struct enclave_mode_config cfg = { 0 };
	int ret;

	/* Shared mode: every thread's LP is the daemon's, reached on the thread's connection. */
	if (s->shared_path)
		cfg.lp_ops = shim_shared_lp_ops(s);
	ret = enclave_mode_create(s->cpu, &ops, &cfg, &s->em);
	if (ret)
		return ret;
	shim_enter();
	ret = enclave_mode_install(s->em);
	shim_leave();
	if (ret) {
		enclave_mode_destroy(s->em);
		s->em = NULL;
	}
	return ret;
}

int shim_sig_rewrap(struct shim *s);

/*
 * The child of a fork whose parent had a platform: its copy is unusable
 * (no ksgxd, the parent's userfaultfd) and its CPU's frames alias the
 * parent's windows, so everything is left alone (leaked) and a new CPU,
 * enclave mode and platform are made.
 */
static int recreate_after_fork(struct shim *s)
{
	struct enclave_mode *old = s->em;
	int ret;

	s->platform = NULL;
	if (old) {
		shim_enter();
		enclave_mode_thread_release(old);
		enclave_mode_uninstall(old);
		shim_leave();
		s->em = NULL;
	}
	ret = sgx_cpu_create(&s->config, &s->cpu);
	if (ret)
		return ret;
	ret = create_enclave_mode(s);
	if (ret)
		return ret;
	return shim_sig_rewrap(s);
}

int shim_platform(struct shim *s)
{
	struct sgx_platform_config pc;
	static const struct sgx_platform_ops ops = { .ipi = shim_ipi };
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->shared_path) {
		/* The daemon's platform: connect at the first open (again in a fork child). */
		if (!s->sh) {
			shim_enter();	/* the client's socket calls are not the program's */
			ret = shim_shared_start(s);
			shim_leave();
		}
		goto out;
	}
	if (s->pid != getpid()) {
		ret = recreate_after_fork(s);
		if (ret)
			goto out;
		s->pid = getpid();
	}
	if (s->platform)
		goto out;
	sgx_platform_default_config(&pc);
	pc.cpu = s->cpu;
	pc.ops = &ops;
	pc.ops_arg = s;
	shim_enter();
	ret = sgx_platform_create(&pc, &s->platform);
	shim_leave();
	if (ret) {
		s->platform = NULL;
		goto out;
	}
	if (!sgx_platform_has_windows(s->platform))
		fprintf(stderr, "sgxemu: no userfaultfd (vm.unprivileged_userfaultfd=0?): "
			"enclave memory cannot be mapped\n");
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ------------------------------------------------------------------------
 * The fd table (lock-free reads: ioctl/close/mmap look up without the lock)
 */

struct shim_file *shim_fd_get(struct shim *s, int fd)
{
	if (!s || fd < 0 || fd >= SHIM_MAX_FDS)
		return NULL;
	return atomic_load(&s->fds[fd]);
}

int shim_fd_set(struct shim *s, int fd, struct shim_file *f)
{
	if (fd < 0 || fd >= SHIM_MAX_FDS)
		return -EMFILE;
	atomic_store(&s->fds[fd], f);
	return 0;
}

struct shim_file *shim_fd_take(struct shim *s, int fd)
{
	if (!s || fd < 0 || fd >= SHIM_MAX_FDS)
		return NULL;
	return atomic_exchange(&s->fds[fd], NULL);
}

/* ------------------------------------------------------------------------
 * fork
 */

static void shim_atfork_child(void)
{
	struct shim *s = shim_get();

	if (!s)
		return;
	/* Another thread of the parent may have held them. */
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->sig_lock, NULL);
	atomic_store(&s->encls_created, 0);
	if (s->shared_path) {
		/*
		 * The parent's connections are the parent's: closed here without a
		 * word (the daemon sees nothing, the parent keeps them); the
		 * child's first open connects anew. Its copies of the windows are
		 * not registered on any userfaultfd of the child: made
		 * inaccessible as in embedded mode.
		 */
		if (s->sh)
			shim_mm_after_fork(s);
		shim_shared_after_fork(s);
		s->pid = getpid();
	} else if (s->platform) {
		shim_mm_after_fork(s);
	} else {
		s->pid = getpid();	/* nothing to recreate: the CPU is untouched */
	}
}

/* ------------------------------------------------------------------------
 * --stats
 */

void shim_print_stats(struct shim *s);

void shim_print_stats(struct shim *s)
{
	struct sgx_platform_stats st;
	struct sgx_cpu_stats cs;
	FILE *f;
	bool own = false;

	if (!s || !s->stats_path || s->pid != getpid())
		return;
	if (s->sh) {
		shim_enter();
		if (!strcmp(s->stats_path, "-")) {
			shim_shared_print_stats(s, stderr);
		} else if ((f = fopen(s->stats_path, "a"))) {
			shim_shared_print_stats(s, f);
			fclose(f);
		}
		shim_leave();
		return;
	}
	if (!s->platform)
		return;
	shim_enter();
	sgx_platform_get_stats(s->platform, &st);
	sgx_cpu_get_stats(s->cpu, &cs);
	if (!strcmp(s->stats_path, "-")) {
		f = stderr;
	} else {
		f = fopen(s->stats_path, "a");
		own = true;
	}
	if (f) {
		fprintf(f, "sgxemu stats (pid %d):\n", (int)getpid());
		fprintf(f, "  enclaves created      %lu\n", atomic_load(&s->encls_created));
		fprintf(f, "  EPC capacity          %llu pages (%llu KiB)\n",
			(unsigned long long)st.total_pages,
			(unsigned long long)st.total_pages * 4);
		fprintf(f, "  EPC peak use          %llu pages\n",
			(unsigned long long)st.peak_used_pages);
		fprintf(f, "  EWB / ELDU / EAUG     %llu / %llu / %llu\n",
			(unsigned long long)st.ewb, (unsigned long long)st.eldu,
			(unsigned long long)st.eaug);
		fprintf(f, "  faults                %llu (%llu retried, %llu SIGBUS)\n",
			(unsigned long long)st.faults, (unsigned long long)st.fault_retries,
			(unsigned long long)st.fault_sigbus);
		fprintf(f, "  AEX                   %llu\n", (unsigned long long)cs.aex);
		fprintf(f, "  reclaimer passes      %llu ksgxd, %llu direct (%llu pages)\n",
			(unsigned long long)st.ksgxd_passes,
			(unsigned long long)st.direct_reclaim_passes,
			(unsigned long long)st.pages_reclaimed);
		if (own)
			fclose(f);
		else
			fflush(f);
	}
	shim_leave();
}

/* ------------------------------------------------------------------------
 * Constructor / destructor
 */

__attribute__((constructor)) static void shim_init(void)
{
	struct shim *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->sig_lock, NULL);
	s->pid = getpid();
	s->dead_fd = -1;
	read_config(s);
	cpuid_sites_init(&s->cpuid_sites);
	shim_enter();
	ret = sgx_cpu_create(&s->config, &s->cpu);
	shim_leave();
	if (ret) {
		fprintf(stderr, "sgxemu: bad platform configuration (SGXEMU_EPC/SGXEMU_SECTIONS): "
			"%s\n", strerror(-ret));
		free(s);
		return;
	}
	/* From here on the interposers see the shim (set-up calls are inside it). */
	__atomic_store_n(&the_shim, s, __ATOMIC_RELEASE);
	ret = shim_sig_init(s);
	if (!ret)
		ret = create_enclave_mode(s);
	if (ret) {
		fprintf(stderr, "sgxemu: cannot install the signal handlers: %s\n",
			strerror(-ret));
		return;
	}
	shim_enter();
	s->cpuid_patched = cpuid_patch_main_program(&s->cpuid_sites, NULL);
	shim_leave();
	pthread_atfork(NULL, NULL, shim_atfork_child);
	if (s->debug)
		fprintf(stderr, "sgxemu: shim loaded in pid %d (%d CPUID sites patched)\n",
			(int)getpid(), s->cpuid_patched);
}

/*
 * At exit the platform is left as it is (other threads may still run enclave
 * code while exit() runs the destructors); the kernel frees everything.
 */
__attribute__((destructor)) static void shim_fini(void)
{
	shim_print_stats(shim_get());
}

/* _exit() skips the destructors: the kselftest children leave this way. */
void _exit(int status)
{
	shim_print_stats(shim_get());
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

void _Exit(int status)
{
	_exit(status);
}

// SPDX-License-Identifier: MIT
/*
 * The LD_PRELOAD shim's edge cases. Each test runs a helper in a fresh
 * process with libsgxemu-preload.so preloaded: the test binary re-executes
 * itself with SGXEMU_PRELOAD_HELPER=<name>, and the constructor below runs
 * the helper (after the shim's constructor: preloaded libraries initialise
 * first) and exits with its result: 0 = every check passed, else the line
 * of the first failed check.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sgxemu/arch.h"
#include "tests/harness.h"
#include "uapi/asm/sgx.h"

#define HCHECK(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "helper check failed: %s (line %d, errno %d)\n", \
				#cond, __LINE__, errno);                       \
			return __LINE__ & 0x7f ? __LINE__ & 0x7f : 1;          \
		}                                                              \
	} while (0)

#define ENCL_SIZE	0x10000UL

/* ---------------------------------------------------------------------------
 * Helpers (run with the shim preloaded)
 */

/* An enclave reserved at a naturally aligned base and created (ECREATE). */
static int create_enclave(int fd, uint64_t *base_out)
{
	struct sgx_enclave_create create;
	struct sgx_secs *secs;
	uint8_t *area;
	uint64_t base;

	area = mmap(NULL, 2 * ENCL_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -1;
	base = ((uint64_t)(uintptr_t)area + ENCL_SIZE - 1) & ~(ENCL_SIZE - 1);
	secs = aligned_alloc(4096, 4096);
	if (!secs)
		return -1;
	memset(secs, 0, 4096);
	secs->base = base;
	secs->size = ENCL_SIZE;
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	secs->xfrm = 3;
	create.src = (uint64_t)(uintptr_t)secs;
	if (ioctl(fd, SGX_IOC_ENCLAVE_CREATE, &create))
		return -1;
	free(secs);
	*base_out = base;
	return 0;
}

/* Add the page at 'off' with permissions 'perm' (SGX_SECINFO_R|W|X). */
static int add_page(int fd, uint64_t off, uint64_t perm)
{
	static uint8_t src[4096] __attribute__((aligned(4096)));
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages add;

	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = perm | SGX_SECINFO_REG;
	memset(src, 0x5a, sizeof(src));
	add = (struct sgx_enclave_add_pages){
		.src = (uint64_t)(uintptr_t)src, .offset = off, .length = 4096,
		.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE,
	};
	return ioctl(fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add);
}

static int helper_device(void)
{
	struct stat st;
	uint64_t base;
	void *p;
	int fd, pfd;

	fd = open("/dev/sgx_enclave", O_RDWR);
	HCHECK(fd >= 0);
	HCHECK(!fstat(fd, &st) && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10);
	HCHECK(!stat("/dev/sgx_enclave", &st) && S_ISCHR(st.st_mode));
	/* The kernel's ioctl dispatch: an unknown command is ENOTTY. */
	HCHECK(ioctl(fd, _IO(SGX_MAGIC, 0x7f), 0) == -1 && errno == ENOTTY);
	HCHECK(ioctl(fd, SGX_IOC_ENCLAVE_CREATE, NULL) == -1 && errno == EFAULT);
	/* Before ECREATE every shared mapping is allowed (test_sgx probes so). */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	HCHECK(p != MAP_FAILED);
	HCHECK(!munmap(p, 4096));
	HCHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == EINVAL);

	HCHECK(!create_enclave(fd, &base));
	HCHECK(!add_page(fd, 0, SGX_SECINFO_R));
	/* Beyond the page's permissions: EACCES, as sgx_encl_may_map() says. */
	HCHECK(mmap((void *)base, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
	       MAP_FAILED && errno == EACCES);
	p = mmap((void *)base, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	HCHECK(p == (void *)base);
	/* mprotect beyond them too; munmap works. */
	HCHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
	/* mremap cannot grow an enclave mapping (VM_DONTEXPAND): EFAULT. */
	HCHECK(mremap(p, 4096, 8192, 0) == MAP_FAILED && errno == EFAULT);
	HCHECK(!munmap(p, 4096));

	/*
	 * /dev/sgx_provision: an fd with no ioctl of its own, which PROVISION
	 * on the enclave fd accepts (in shared mode the daemon's file, passed
	 * both ways); any other fd, the enclave's own included, is EINVAL.
	 */
	pfd = open("/dev/sgx_provision", O_RDONLY);
	HCHECK(pfd >= 0);
	HCHECK(ioctl(pfd, SGX_IOC_ENCLAVE_CREATE, NULL) == -1 && errno == ENOTTY);
	{
		struct sgx_enclave_provision pv = { .fd = (uint64_t)fd };

		HCHECK(ioctl(fd, SGX_IOC_ENCLAVE_PROVISION, &pv) == -1 && errno == EINVAL);
		pv.fd = (uint64_t)pfd;
		HCHECK(ioctl(fd, SGX_IOC_ENCLAVE_PROVISION, &pv) == 0);
		HCHECK(ioctl(fd, SGX_IOC_ENCLAVE_PROVISION, NULL) == -1 && errno == EFAULT);
	}
	HCHECK(!close(pfd));
	/* dup'ed enclave fds name the same enclave. */
	pfd = dup(fd);
	HCHECK(pfd >= 0);
	HCHECK(ioctl(pfd, _IO(SGX_MAGIC, 0x7f), 0) == -1 && errno == ENOTTY);
	HCHECK(!close(pfd) && !close(fd));
	HCHECK(close(fd) == -1 && errno == EBADF);
	return 0;
}

/* Closing the fd while a window is mapped: the mapping stays until munmap. */
static int helper_close_mapped(void)
{
	uint64_t base;
	uint8_t *p;
	int fd = open("/dev/sgx_enclave", O_RDWR);

	HCHECK(fd >= 0);
	HCHECK(!create_enclave(fd, &base));
	HCHECK(!add_page(fd, 0, SGX_SECINFO_R | SGX_SECINFO_W));
	p = mmap((void *)base, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	HCHECK(p == (uint8_t *)base);
	HCHECK(!close(fd));
	/* Still a window: mprotect goes through the enclave's checks. */
	HCHECK(!mprotect(p, 4096, PROT_READ));
	HCHECK(!munmap(p, 4096));
	/* A new enclave can be opened and created afterwards. */
	fd = open("/dev/sgx_enclave", O_RDWR);
	HCHECK(fd >= 0 && !create_enclave(fd, &base));
	HCHECK(!close(fd));
	return 0;
}

/* fork: the child cannot use the parent's enclave, but has its own platform. */
static int helper_fork(void)
{
	uint64_t base;
	int fd = open("/dev/sgx_enclave", O_RDWR), status;
	pid_t pid;

	HCHECK(fd >= 0 && !create_enclave(fd, &base));
	pid = fork();
	HCHECK(pid >= 0);
	if (!pid) {
		int fd2;

		if (!(ioctl(fd, SGX_IOC_ENCLAVE_CREATE, NULL) == -1 && errno == EIO))
			_exit(10);
		if (close(fd))
			_exit(11);
		fd2 = open("/dev/sgx_enclave", O_RDWR);
		if (fd2 < 0 || create_enclave(fd2, &base))
			_exit(12);
		_exit(0);
	}
	HCHECK(waitpid(pid, &status, 0) == pid);
	HCHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent's enclave is untouched: ADD_PAGES still works. */
	HCHECK(!add_page(fd, 0, SGX_SECINFO_R));
	HCHECK(!close(fd));
	return 0;
}

static volatile sig_atomic_t got_usr1, got_segv;
static sigjmp_buf segv_jmp;

static void on_usr1(int sig)
{
	got_usr1 = sig;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	got_segv = sig;
	siglongjmp(segv_jmp, 1);
}

/* The program's handlers keep working and are what sigaction reports. */
static int helper_signals(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	HCHECK(!sigaction(SIGUSR1, &sa, NULL));
	HCHECK(!sigaction(SIGUSR1, NULL, &old) && old.sa_handler == on_usr1);
	HCHECK(!raise(SIGUSR1) && got_usr1 == SIGUSR1);
	HCHECK(signal(SIGUSR1, SIG_IGN) == on_usr1);
	got_usr1 = 0;
	HCHECK(!raise(SIGUSR1) && got_usr1 == 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	HCHECK(!sigaction(SIGSEGV, &sa, NULL));
	HCHECK(!sigaction(SIGSEGV, NULL, &old) && old.sa_sigaction == on_segv);
	if (!sigsetjmp(segv_jmp, 1)) {
		volatile int *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		*bad = 1;		/* a real fault, chained to the program */
	}
	HCHECK(got_segv == SIGSEGV);
	return 0;
}

/* CPUID leaf 0x12 and the vDSO the program sees. */
static int helper_cpu(void)
{
	unsigned int a, b, c, d;
	const char *epc = getenv("SGXEMU_EPC");

	__cpuid_count(0x12, 0, a, b, c, d);
	HCHECK(a & 1);				/* SGX1 */
	HCHECK(!(a & 2) == !!getenv("SGXEMU_SGX1"));
	__cpuid_count(0x12, 2, a, b, c, d);
	HCHECK((a & 0xf) == 1);			/* an EPC section */
	HCHECK(!epc || (uint64_t)(c & 0xfffff000) + ((uint64_t)(d & 0xfffff) << 32) ==
	       strtoull(epc, NULL, 0));
	HCHECK(getauxval(AT_SYSINFO_EHDR) != 0);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} helpers[] = {
	{ "device", helper_device },
	{ "close_mapped", helper_close_mapped },
	{ "fork", helper_fork },
	{ "signals", helper_signals },
	{ "cpu", helper_cpu },
};

__attribute__((constructor)) static void preload_helper_main(void)
{
	const char *name = getenv("SGXEMU_PRELOAD_HELPER");

	if (!name)
		return;
	for (unsigned int i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		if (!strcmp(name, helpers[i].name)) {
			fflush(stdout);
			exit(helpers[i].fn());
		}
	}
	exit(127);
}

/* ---------------------------------------------------------------------------
 * The tests
 */

/* dirname(dirname(/proc/self/exe)) + "/" + name: the build directory's files. */
static int build_file(const char *name, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(buf, len, "%s/%s", dirname(dirname(exe)), name);
	return access(buf, R_OK);
}

/* The sanitizer runtime this binary uses must come first in LD_PRELOAD. */
static void sanitizer_runtime(char *buf, size_t len)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "r");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "/libasan.so")) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(buf, len, "%s ", p);
			break;
		}
	}
	fclose(f);
}

/* Run helper 'name' with the shim; returns its exit status (or -1). */
static int run_helper(const char *name, const char *epc, bool sgx1)
{
	char shim[PATH_MAX], rt[PATH_MAX + 1], preload[3 * PATH_MAX];
	int status;
	pid_t pid;

	SKIP_UNDER_TSAN("the helper runs under the preload shim (enclave mode, its signal paths)");
	if (build_file("libsgxemu-preload.so", shim, sizeof(shim)))
		return -1;
	sanitizer_runtime(rt, sizeof(rt));
	snprintf(preload, sizeof(preload), "%s%s", rt, shim);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		setenv("LD_PRELOAD", preload, 1);
		setenv("SGXEMU_PRELOAD_HELPER", name, 1);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		if (epc)
			setenv("SGXEMU_EPC", epc, 1);
		if (sgx1)
			setenv("SGXEMU_SGX1", "1", 1);
		else
			unsetenv("SGXEMU_SGX1");
		execl("/proc/self/exe", "sgxemu-tests-helper", (char *)NULL);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(preload_device_fd_mmap_ioctl_errors)
{
	CHECK_EQ(run_helper("device", NULL, false), 0);
}

TEST(preload_close_fd_while_mapped)
{
	CHECK_EQ(run_helper("close_mapped", NULL, false), 0);
}

TEST(preload_fork_child_gets_its_own_platform)
{
	CHECK_EQ(run_helper("fork", NULL, false), 0);
}

TEST(preload_program_signal_handlers_chain)
{
	CHECK_EQ(run_helper("signals", NULL, false), 0);
}

TEST(preload_cpuid_leaf_0x12_follows_the_environment)
{
	CHECK_EQ(run_helper("cpu", "16777216", false), 0);
	CHECK_EQ(run_helper("cpu", "33554432", true), 0);
}

/* `sgxemu run`: argument errors and the exit status passed through. */
static int run_cli(const char *const argv[])
{
	char cli[PATH_MAX];
	int status, null;
	pid_t pid;

	if (build_file("sgxemu", cli, sizeof(cli)))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execv(cli, (char *const *)argv);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(preload_sgxemu_run_arguments)
{
	static const char *const no_prog[] = { "sgxemu", "run", NULL };
	static const char *const bad_size[] = { "sgxemu", "run", "--epc", "12Q", "--", "true",
						NULL };
	static const char *const bad_opt[] = { "sgxemu", "run", "--bogus", "true", NULL };
	static const char *const empty_stats[] = { "sgxemu", "run", "--stats=", "true", NULL };
	static const char *const ok[] = { "sgxemu", "run", "--epc", "1M", "--", "true", NULL };
	static const char *const status[] = { "sgxemu", "run", "--", "sh", "-c", "exit 7", NULL };
	static const char *const missing[] = { "sgxemu", "run", "/no/such/program", NULL };

	if (run_cli(ok) < 0)
		SKIP("no sgxemu binary next to the tests");
	CHECK_EQ(run_cli(no_prog), 2);
	CHECK_EQ(run_cli(bad_size), 2);
	CHECK_EQ(run_cli(bad_opt), 2);
	CHECK_EQ(run_cli(empty_stats), 2);
	CHECK_EQ(run_cli(ok), 0);
	CHECK_EQ(run_cli(status), 7);
	CHECK_EQ(run_cli(missing), 127);
}

// SPDX-License-Identifier: MIT
/*
 * Shared mode, slice 2: programs running enclaves on the daemon (windows,
 * faults, ENCLU; docs/DAEMON.md). The enclave memfd is mapped by the test
 * process itself and registered on its own userfaultfd, as the shim does,
 * against an in-process daemon; clients are the test process or forked
 * children (killed with SIGKILL at random moments).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/proto.h"
#include "enclave/sigstruct.h"
#include "sgx/platform.h"
#include "sgxemu/arch.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"
#include "tests/util/daemon_util.h"
#include "tests/util/mgr_util.h"

#define PG 4096ull

/* Above ASan's shadow gap (0x10000000000 lies in it): the test maps ELRANGE itself. */
static const uint64_t BASE = TEST_ADDR(0x300000000000ull);

/* ---- a program's side of shared mode, as the shim does it ---- */

#define UFFD_FEATURES	(UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM | \
			 UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

/* The SIGBUS handler's client (a thread connection) and where to go on a fatal fault. */
static struct sgxd_client *g_fault_client;
static sigjmp_buf g_fault_jmp;
static volatile sig_atomic_t g_fault_jmp_set, g_faults, g_fault_errors;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	bool write = uc->uc_mcontext.gregs[REG_ERR] & 2;
	int res = -1;

	g_faults++;
	if (g_fault_client &&
	    !sgxd_fault(g_fault_client, (uint64_t)(uintptr_t)si->si_addr, write, &res) &&
	    (res == SGX_FAULT_RESOLVED || res == SGX_FAULT_RETRY))
		return;
	g_fault_errors++;
	if (g_fault_jmp_set)
		siglongjmp(g_fault_jmp, 1);
	_exit(97);
}

/*
 * The daemon's IPI: if the thread is "inside" (g_kick_client set), ask for
 * the AEX over its thread connection, as the shim's kick handler does.
 */
static struct sgxd_client *g_kick_client;
static struct sgx_regs g_kick_regs;
static volatile sig_atomic_t g_kicks, g_kick_aex;

static void on_kick(int sig)
{
	struct sgx_exception ssa;
	struct sgxd_lp_state st;
	int ret = -1, res;

	(void)sig;
	g_kicks++;
	if (!g_kick_client)
		return;
	for (int tries = 0; tries < 1000; tries++) {
		struct sgx_regs r = g_kick_regs;

		if (sgxd_aex(g_kick_client, &r, NULL, &ssa, &ret, &st))
			return;
		if (ret != -EAGAIN)
			break;
		if (sgxd_fault(g_kick_client, ssa.addr, true, &res))
			return;
	}
	if (!ret && !st.inside) {
		g_kick_aex++;
		g_kick_client = NULL;
	}
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(SIGUSR2, &sa, NULL);
}

static int make_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURES };
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl((int)fd, UFFDIO_API, &api)) {
		close((int)fd);
		return -1;
	}
	return (int)fd;
}

/* A program process on the daemon: its connections, uffd, one enclave and its window. */
struct shproc {
	struct sgxd_client *pc, *tc;	/* process and thread connections */
	int uffd, memfd;
	struct penc e;
	uint64_t npages;		/* pages added */
	bool mapped;
};

/*
 * Process connection attached to cg, uffd handed over, an enclave of
 * size_pages at base with npages pattern pages (initialized), its memfd
 * mapped at ELRANGE and registered, the window recorded, and a thread
 * connection for the SIGBUS handler. 0 or a negative step number.
 */
static int sh_setup(struct edaemon *ed, const char *cg, uint64_t base, uint64_t size_pages,
		    uint64_t npages, struct shproc *sh)
{
	struct uffdio_register reg;
	uint64_t mbase = 0, msize = 0;
	bool window = false;
	int st = -1;
	void *m;

	memset(sh, 0, sizeof(*sh));
	sh->uffd = sh->memfd = -1;
	sh->pc = conn_in(ed, cg);
	if (!sh->pc)
		return -1;
	sh->uffd = make_uffd();
	if (sh->uffd < 0)
		return -2;
	if (sgxd_send_uffd(sh->pc, sh->uffd, &st) || st)
		return -3;
	if (p_create(&sh->e, sh->pc, base, size_pages * PG) || p_add(&sh->e, 0, npages, NULL) ||
	    p_init(&sh->e))
		return -4;
	sh->npages = npages;
	if (sgxd_encl_memfd(sh->pc, sh->e.h, &sh->memfd, &mbase, &msize, &st) || st ||
	    sh->memfd < 0 || mbase != base || msize != size_pages * PG)
		return -5;
	m = mmap((void *)(uintptr_t)base, msize, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, sh->memfd, 0);
	if (m != (void *)(uintptr_t)base)
		return -6;
	sh->mapped = true;
	reg = (struct uffdio_register){
		.range = { .start = base, .len = msize },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	if (ioctl(sh->uffd, UFFDIO_REGISTER, &reg))
		return -7;
	if (sgxd_encl_mmap(sh->pc, sh->e.h, base, msize, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, &window, &st) || st || !window)
		return -8;
	if (sgxd_client_connect_thread(ed->sock, SIGUSR2, &sh->tc))
		return -9;
	return 0;
}

static void sh_teardown(struct shproc *sh)
{
	int st;

	if (g_fault_client == sh->tc)
		g_fault_client = NULL;
	if (sh->mapped) {
		munmap((void *)(uintptr_t)sh->e.base, sh->e.size);
		if (sh->pc)
			sgxd_encl_munmap(sh->pc, sh->e.base, sh->e.size, &st);
	}
	if (sh->pc && sh->e.h)
		p_release(&sh->e);
	sgxd_client_close(sh->tc);
	sgxd_client_close(sh->pc);
	if (sh->memfd >= 0)
		close(sh->memfd);
	if (sh->uffd >= 0)
		close(sh->uffd);
	memset(sh, 0, sizeof(*sh));
}

/*
 * Read every page through the window (faulting evicted ones back), check
 * the pattern EADD put there and the marker of the previous round, write
 * this round's marker. false on the first difference.
 */
static bool sh_round(struct shproc *sh, uint64_t round)
{
	uint8_t want[4096];

	for (uint64_t i = 0; i < sh->npages; i++) {
		uint8_t *pg = (uint8_t *)(uintptr_t)(sh->e.base + i * PG);
		uint64_t mark;

		mgr_pattern(want, sh->e.tag, sh->e.base + i * PG, 0);
		if (memcmp(pg + 64, want + 64, PG - 64))
			return false;
		memcpy(&mark, pg, sizeof(mark));
		if (round && mark != (sh->e.tag ^ (round - 1) ^ i))
			return false;
		mark = sh->e.tag ^ round ^ i;
		memcpy(pg, &mark, sizeof(mark));
	}
	return true;
}

static bool daemon_idle(struct edaemon *ed)
{
	struct sgxd_client *adm = conn(ed, SGXD_ROLE_CLI);
	char why[256];
	bool ok;

	if (!adm)
		return false;
	ok = cg_wait(adm, "/", 0, 5000) && status_idle(adm);
	sgxd_client_close(adm);
	for (int i = 0; i < 300 && sgxd_nr_clients(ed->d); i++)
		usleep(10000);
	if (sgx_platform_check_idle(sgxd_platform(ed->d), why, sizeof(why))) {
		fprintf(stderr, "    not idle: %s\n", why);
		return false;
	}
	return ok;
}

/* ---- tests ---- */

TEST(daemon_shared_window_round_trip)
{
	struct sgx_platform_stats st0, st1;
	struct edaemon ed = { 0 };
	struct sgxd_client *adm;
	struct shproc sh;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/s"), 0);
	CHECK_EQ(cg_max_pages(adm, "/s", 24), 0);
	install_handlers();
	REQUIRE_EQ(sh_setup(&ed, "/s", BASE, 64, 48, &sh), 0);
	g_fault_client = sh.tc;
	sgx_platform_get_stats(sgxd_platform(ed.d), &st0);
	/* 48 pages under a 24-page limit: every round evicts and reloads most of them. */
	for (uint64_t round = 0; round < 4; round++)
		CHECK(sh_round(&sh, round));
	sgx_platform_get_stats(sgxd_platform(ed.d), &st1);
	CHECK(st1.ewb - st0.ewb >= 48);
	CHECK(st1.eldu - st0.eldu >= 48);
	CHECK(g_faults >= 48);
	CHECK_EQ(g_fault_errors, 0);
	CHECK(cg_cur(adm, "/s") <= 24 * (long long)PG);
	sh_teardown(&sh);
	CHECK(cg_wait(adm, "/s", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/* A forked program: its own enclave at base, rounds of faults; exit status 0 if all held. */
static int child_rounds(struct edaemon *ed, const char *cg, uint64_t size_pages, uint64_t npages,
			int rounds)
{
	struct shproc sh;
	int ret;

	install_handlers();
	ret = sh_setup(ed, cg, BASE, size_pages, npages, &sh);
	if (ret)
		return 10 - ret;
	g_fault_client = sh.tc;
	for (int r = 0; r < rounds || rounds < 0; r++)
		if (!sh_round(&sh, (uint64_t)(r < 0 ? 0 : r)))
			return 2;
	sh_teardown(&sh);
	return g_fault_errors ? 3 : 0;
}

TEST(daemon_shared_two_processes_same_addresses)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm;
	pid_t pid[2];
	int status;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/two"), 0);
	CHECK_EQ(cg_max_pages(adm, "/two", 40), 0);
	/* Same ELRANGE base, different enclaves (sizes, hence patterns), one cgroup. */
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		REQUIRE(pid[i] >= 0);
		if (!pid[i])
			_exit(child_rounds(&ed, "/two", 32 + 32 * (uint64_t)i, 30, 5));
	}
	for (int i = 0; i < 2; i++) {
		REQUIRE_EQ(waitpid(pid[i], &status, 0), pid[i]);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 0);
	}
	CHECK(cg_wait(adm, "/two", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

TEST(daemon_shared_client_killed_mid_fault_or_mmap)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm;
	unsigned int seed = (unsigned int)getpid();
	pid_t good, bad[6];
	int status;

	REQUIRE_EQ(edaemon_start(&ed, 512, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/k"), 0);
	CHECK_EQ(cg_op(adm, 1, "/g"), 0);
	CHECK_EQ(cg_max_pages(adm, "/k", 48), 0);
	CHECK_EQ(cg_max_pages(adm, "/g", 24), 0);
	good = fork();
	REQUIRE(good >= 0);
	if (!good)
		_exit(child_rounds(&ed, "/g", 64, 40, 12));
	for (int i = 0; i < 6; i++) {
		bad[i] = fork();
		REQUIRE(bad[i] >= 0);
		if (bad[i])
			continue;
		if (i % 2) {
			/* Faulting forever. */
			_exit(child_rounds(&ed, "/k", 32, 24, -1));
		} else {
			/* mmap/munmap/mprotect/fault of the window forever. */
			struct shproc sh;
			bool w;
			int st;

			install_handlers();
			if (sh_setup(&ed, "/k", BASE, 32, 16, &sh))
				_exit(5);
			g_fault_client = sh.tc;
			for (;;) {
				sgxd_encl_mmap(sh.pc, sh.e.h, BASE, 16 * PG, PROT_READ | PROT_WRITE,
					       MAP_SHARED | MAP_FIXED, &w, &st);
				sgxd_encl_mprotect(sh.pc, BASE, 4 * PG, PROT_READ, &st);
				sgxd_encl_munmap(sh.tc, BASE + 8 * PG, 4 * PG, &st);
				sgxd_encl_mmap(sh.pc, sh.e.h, BASE, 32 * PG, PROT_READ | PROT_WRITE,
					       MAP_SHARED | MAP_FIXED, &w, &st);
				(void)*(volatile uint8_t *)(uintptr_t)(BASE + 12 * PG);
			}
		}
	}
	for (int i = 0; i < 6; i++) {
		usleep(50000 + rand_r(&seed) % 250000);
		kill(bad[i], SIGKILL);
		REQUIRE_EQ(waitpid(bad[i], &status, 0), bad[i]);
		CHECK(WIFSIGNALED(status));
	}
	CHECK(cg_wait(adm, "/k", 0, 10000));
	REQUIRE_EQ(waitpid(good, &status, 0), good);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(cg_wait(adm, "/g", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/* ---- ENCLU over a thread connection ---- */

#define T_TCS	0x0000ull	/* TCS: OSSA 0x1000, NSSA 1, OENTRY 0x2000 */
#define T_SSA	0x1000ull
#define T_CODE	0x2000ull
#define T_DATA	0x3000ull
#define T_AEP	0x7000dead0000ull

static int p_add_one(struct penc *e, uint64_t off, const void *page, uint64_t flags)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages arg;
	void *src = aligned_alloc(4096, 4096);
	int ret;

	memcpy(src, page, 4096);
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = flags;
	arg = (struct sgx_enclave_add_pages){
		.src = (uint64_t)(uintptr_t)src, .offset = off, .length = 4096,
		.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE,
	};
	ret = p_ioctl(e, SGX_IOC_ENCLAVE_ADD_PAGES, &arg);
	if (!ret)
		sgx_mrenclave_add_page(&e->mr, off, flags, src, true);
	free(src);
	return ret;
}

/* An enclave with one TCS, its SSA, a code and a data page, initialized. */
static int t_build(struct penc *e, struct sgxd_client *c)
{
	uint8_t page[4096] __attribute__((aligned(4096)));
	int ret;

	ret = p_create(e, c, BASE, 16 * PG);
	if (ret)
		return ret;
	memset(page, 0, sizeof(page));
	cpu_encl_make_tcs((struct sgx_tcs *)page, T_SSA, T_CODE);
	ret = p_add_one(e, T_TCS, page, SGX_SECINFO_TCS);
	memset(page, 0, sizeof(page));
	if (!ret)
		ret = p_add_one(e, T_SSA, page, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	memset(page, 0x90, sizeof(page));
	if (!ret)
		ret = p_add_one(e, T_CODE, page, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X);
	memset(page, 0, sizeof(page));
	if (!ret)
		ret = p_add_one(e, T_DATA, page, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	return ret ? ret : p_init(e);
}

static void t_regs(struct sgx_regs *r, uint32_t leaf, uint64_t rbx)
{
	memset(r, 0, sizeof(*r));
	r->rax = leaf;
	r->rbx = rbx;
	r->rcx = T_AEP;
	r->rip = 0x400000;
	r->rsp = 0x7fff0000;
	r->rflags = 0x202;
}

/* ENCLU with faults resolved over FAULT, as the shim's ENCLU trap does. */
static int t_enclu(struct sgxd_client *tc, struct sgx_regs *r, struct sgxd_lp_state *st)
{
	for (int tries = 0; tries < 1000; tries++) {
		struct sgx_exception exc = { 0 };
		int ret = -1, res;

		if (sgxd_enclu(tc, r, &exc, &ret, st))
			return -EPROTO;
		if (!ret)
			return 0;
		if (exc.vector != 14 || sgxd_fault(tc, exc.addr, exc.error_code & 2, &res) ||
		    (res != SGX_FAULT_RESOLVED && res != SGX_FAULT_RETRY))
			return -EFAULT;
	}
	return -ETIMEDOUT;
}

TEST(daemon_shared_enclu_on_thread_connection)
{
	struct sgx_platform_stats st0, st1;
	struct sgxd_client *adm, *pc, *tc, *tc2;
	struct edaemon ed = { 0 };
	struct sgx_exception exc;
	struct sgxd_lp_state st;
	struct uffdio_register reg;
	struct sgx_regs r;
	uint64_t mb, ms;
	int uffd, memfd = -1, ret = -1, s = -1;
	bool w = false, ok = false;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/t"), 0);
	install_handlers();
	/* No process connection of this pid yet: nobody to join. */
	CHECK_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &tc), -ESRCH);
	pc = conn_in(&ed, "/t");
	REQUIRE(pc);
	struct penc e;

	REQUIRE_EQ(t_build(&e, pc), 0);
	uffd = make_uffd();
	REQUIRE(uffd >= 0);
	REQUIRE_EQ(sgxd_send_uffd(pc, uffd, &s), 0);
	CHECK_EQ(s, 0);
	REQUIRE_EQ(sgxd_send_uffd(pc, uffd, &s), 0);
	CHECK_EQ(s, -EBUSY);				/* once per process */
	REQUIRE_EQ(sgxd_encl_memfd(pc, e.h, &memfd, &mb, &ms, &s), 0);
	REQUIRE_EQ(s, 0);
	REQUIRE(mmap((void *)(uintptr_t)BASE, ms, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, 0) == (void *)(uintptr_t)BASE);
	reg = (struct uffdio_register){ .range = { .start = BASE, .len = ms },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP };
	REQUIRE_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	/* As a loader maps it: each range with what its pages allow (the kernel's checks). */
	REQUIRE_EQ(sgxd_encl_mmap(pc, e.h, BASE, ms, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				  &w, &s), 0);
	CHECK_EQ(s, -EACCES);				/* the code page is not writable */
	CHECK(!w);
	REQUIRE_EQ(sgxd_encl_mmap(pc, e.h, BASE, T_CODE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, &w, &s), 0);
	CHECK_EQ(s, 0);
	CHECK(w);
	REQUIRE_EQ(sgxd_encl_mmap(pc, e.h, BASE + T_CODE, PG, PROT_READ | PROT_EXEC,
				  MAP_SHARED | MAP_FIXED, &w, &s), 0);
	CHECK_EQ(s, 0);
	REQUIRE_EQ(sgxd_encl_mmap(pc, e.h, BASE + T_DATA, ms - T_DATA, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, &w, &s), 0);
	CHECK_EQ(s, 0);

	/* ENCLU, AEX, TRANSLATE belong to thread connections. */
	t_regs(&r, EENTER, BASE + T_TCS);
	CHECK_EQ(sgxd_enclu(pc, &r, &exc, &ret, &st), -EINVAL);
	CHECK_EQ(sgxd_translate(pc, BASE, 0, &exc, &ok), -EINVAL);
	REQUIRE_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &tc), 0);
	/* A uffd on a thread connection: the process connection's business. */
	REQUIRE_EQ(sgxd_send_uffd(tc, uffd, &s), 0);
	CHECK_EQ(s, -EINVAL);

	/* EENTER: at OENTRY, inside, ELRANGE reported; TRANSLATE inside; EEXIT leaves. */
	t_regs(&r, EENTER, BASE + T_TCS);
	REQUIRE_EQ(t_enclu(tc, &r, &st), 0);
	CHECK_EQ(r.rip, BASE + T_CODE);
	CHECK(st.inside);
	CHECK_EQ(st.encl_base, BASE);
	CHECK_EQ(st.encl_size, 16 * PG);
	CHECK_EQ(sgxd_translate(tc, BASE + T_DATA, X86_PF_WRITE, &exc, &ok), 0);
	CHECK(ok);
	CHECK_EQ(sgxd_translate(tc, BASE + T_CODE, X86_PF_WRITE, &exc, &ok), 0);
	CHECK(!ok);					/* RX page: EPCM refuses the write */
	CHECK_EQ(exc.vector, 14);
	r.rax = EEXIT;
	r.rbx = 0x400100;
	REQUIRE_EQ(t_enclu(tc, &r, &st), 0);
	CHECK(!st.inside);
	CHECK_EQ(r.rip, 0x400100);

	/* A thread connection that ends inside the enclave: the daemon performs its AEX. */
	t_regs(&r, EENTER, BASE + T_TCS);
	REQUIRE_EQ(t_enclu(tc, &r, &st), 0);
	CHECK(st.inside);
	sgxd_client_close(tc);
	/* Its SSA frame was used: another thread can ERESUME on the TCS, then leave. */
	REQUIRE_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &tc2), 0);
	ret = -1;
	for (int i = 0; i < 500 && ret; i++) {
		t_regs(&r, ERESUME, BASE + T_TCS);
		ret = t_enclu(tc2, &r, &st);
		if (ret)
			usleep(10000);			/* the first thread's end is being handled */
	}
	CHECK_EQ(ret, 0);
	CHECK(st.inside);
	/* Killed inside too; then the reclaimer must be able to evict all of it. */
	sgxd_client_close(tc2);
	sgx_platform_get_stats(sgxd_platform(ed.d), &st0);
	for (int i = 0; i < 100 && sgxd_nr_clients(ed.d) > 2; i++)
		usleep(10000);
	/* SECS + VA + 4 pages under a 3-page limit: the worker evicts the 4 (TCS included). */
	CHECK_EQ(cg_max_pages(adm, "/t", 3), 0);
	for (int i = 0; i < 1000 && cg_cur(adm, "/t") > 3 * (long long)PG; i++)
		usleep(10000);
	sgx_platform_get_stats(sgxd_platform(ed.d), &st1);
	CHECK(cg_cur(adm, "/t") <= 3 * (long long)PG);
	CHECK(st1.ewb - st0.ewb >= 4);
	CHECK_EQ(cg_val(adm, "/t", "misc.events"), 0);	/* reclaimed, nobody killed */
	/* And the enclave still runs: its TCS and SSA come back through FAULT. */
	CHECK_EQ(cg_max(adm, "/t", "sgx_epc max"), 0);
	REQUIRE_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &tc), 0);
	t_regs(&r, ERESUME, BASE + T_TCS);
	CHECK_EQ(t_enclu(tc, &r, &st), 0);
	CHECK(st.inside);
	r.rax = EEXIT;
	r.rbx = 0x400100;
	CHECK_EQ(t_enclu(tc, &r, &st), 0);
	CHECK(!st.inside);
	sgxd_client_close(tc);

	munmap((void *)(uintptr_t)BASE, ms);
	close(memfd);
	CHECK_EQ(p_release(&e), 0);
	sgxd_client_close(pc);
	close(uffd);
	CHECK(cg_wait(adm, "/t", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

TEST(daemon_shared_ipi_kicks_thread_inside)
{
	struct sgxd_client *adm, *pc, *tc;
	struct edaemon ed = { 0 };
	struct uffdio_register reg;
	struct sgxd_lp_state st;
	struct sgx_regs r;
	struct penc e;
	uint64_t mb, ms;
	int uffd, memfd = -1, s = -1;
	bool w = false;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/i"), 0);
	install_handlers();
	pc = conn_in(&ed, "/i");
	REQUIRE(pc);
	REQUIRE_EQ(t_build(&e, pc), 0);
	uffd = make_uffd();
	REQUIRE(uffd >= 0);
	REQUIRE_EQ(sgxd_send_uffd(pc, uffd, &s), 0);
	REQUIRE_EQ(sgxd_encl_memfd(pc, e.h, &memfd, &mb, &ms, &s), 0);
	REQUIRE_EQ(s, 0);
	REQUIRE(mmap((void *)(uintptr_t)BASE, ms, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, 0) == (void *)(uintptr_t)BASE);
	reg = (struct uffdio_register){ .range = { .start = BASE, .len = ms },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP };
	REQUIRE_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	REQUIRE_EQ(sgxd_encl_mmap(pc, e.h, BASE, T_CODE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, &w, &s), 0);
	REQUIRE_EQ(s, 0);
	REQUIRE_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &tc), 0);

	/* This thread is inside the enclave when the worker must evict its pages. */
	t_regs(&r, EENTER, BASE + T_TCS);
	REQUIRE_EQ(t_enclu(tc, &r, &st), 0);
	REQUIRE(st.inside);
	g_kick_regs = r;
	g_kick_client = tc;
	CHECK_EQ(cg_max_pages(adm, "/i", 3), 0);
	for (int i = 0; i < 1000 && cg_cur(adm, "/i") > 3 * (long long)PG; i++)
		usleep(10000);
	/* The IPI became a signal to this thread, whose handler asked for the AEX. */
	CHECK(g_kicks >= 1);
	CHECK_EQ(g_kick_aex, 1);
	CHECK(cg_cur(adm, "/i") <= 3 * (long long)PG);
	CHECK_EQ(cg_val(adm, "/i", "misc.events"), 0);
	g_kick_client = NULL;

	sgxd_client_close(tc);
	munmap((void *)(uintptr_t)BASE, ms);
	close(memfd);
	CHECK_EQ(p_release(&e), 0);
	sgxd_client_close(pc);
	close(uffd);
	CHECK(cg_wait(adm, "/i", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/* ---- refusals ---- */

TEST(daemon_shared_acts_only_on_own_enclaves)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *b, *btc;
	struct shproc sh;
	uint64_t mb, ms;
	int st = -1, res = -1, memfd = -1;
	bool w = true;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/o"), 0);
	install_handlers();
	REQUIRE_EQ(sh_setup(&ed, "/o", BASE, 16, 8, &sh), 0);
	g_fault_client = sh.tc;
	CHECK(sh_round(&sh, 0));
	/* Another process connection (a second process as the daemon sees it). */
	b = conn_in(&ed, "/o");
	REQUIRE(b);
	CHECK_EQ(sgxd_encl_mmap(b, sh.e.h, BASE, 16 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, &w,
				&st), 0);
	CHECK_EQ(st, -EBADF);
	CHECK(!w);
	CHECK_EQ(sgxd_encl_memfd(b, sh.e.h, &memfd, &mb, &ms, &st), 0);
	CHECK_EQ(st, -EBADF);
	CHECK_EQ(memfd, -1);
	/* b has no window there: its FAULT is not the daemon's to resolve. */
	CHECK_EQ(sgxd_fault(b, BASE, false, &res), 0);
	CHECK_EQ(res, SGX_FAULT_NOT_MINE);
	/* The thread connection joins the first process connection: sh's. */
	REQUIRE_EQ(sgxd_client_connect_thread(ed.sock, SIGUSR2, &btc), 0);
	CHECK_EQ(sgxd_fault(btc, BASE, false, &res), 0);
	CHECK(res == SGX_FAULT_RESOLVED);
	sgxd_client_close(btc);
	/* Outside ELRANGE: refused once initialized, allowed with no window before. */
	CHECK_EQ(sgxd_encl_mmap(sh.pc, sh.e.h, BASE + 64 * PG, PG, PROT_READ, MAP_SHARED, &w, &st),
		 0);
	CHECK_EQ(st, -EACCES);
	{
		const uint64_t b2 = BASE + 0x10000000000ull;
		struct penc e2;

		REQUIRE_EQ(p_create(&e2, sh.pc, b2, 16 * PG), 0);
		CHECK_EQ(sgxd_encl_mmap(sh.pc, e2.h, b2 + 64 * PG, PG, PROT_READ, MAP_SHARED,
					&w, &st), 0);
		CHECK_EQ(st, 0);
		CHECK(!w);
		CHECK_EQ(sgxd_encl_mmap(sh.pc, e2.h, b2, PG, PROT_READ, MAP_SHARED, &w, &st),
			 0);
		CHECK_EQ(st, 0);
		CHECK(w);			/* inside ELRANGE, before INIT: a window */
		CHECK_EQ(sgxd_encl_munmap(sh.pc, b2, PG, &st), 0);
		CHECK_EQ(st, 0);
		CHECK_EQ(p_release(&e2), 0);
	}
	/* A cli connection faults nothing. */
	CHECK_EQ(sgxd_fault(adm, BASE, false, &res), -EPERM);
	sgxd_client_close(b);
	sh_teardown(&sh);
	CHECK(cg_wait(adm, "/o", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/*
 * One message (payload: the bytes of 'pl' if not NULL) with nfds fds attached
 * (SCM_RIGHTS); returns the ERROR's errno, or a small positive number if the
 * daemon did not answer with ERROR and close.
 */
static int send_payload_with_fds(int sock, uint16_t type, const struct sgxd_wbuf *pl,
				 const int *fds, int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	static struct sgxd_wbuf w;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t rep[512];
	struct sgxd_hdr h;
	struct cmsghdr *cm;

	sgxd_w_init(&w);
	if (pl)
		sgxd_w_bytes(&w, pl->data + SGXD_HDR_SIZE, pl->len);
	if (sgxd_w_finish(&w, type, 7))
		return 1;
	iov = (struct iovec){ w.data, SGXD_HDR_SIZE + w.len };
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	if (nfds)	/* fds may be NULL then: memcpy's arguments must not be */
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return 2;
	if (sgxd_recv_all(sock, rep, SGXD_HDR_SIZE, 5000, NULL))
		return 3;
	sgxd_hdr_decode(rep, &h);
	if (h.type != SGXD_MSG_ERROR || h.length > sizeof(rep) - SGXD_HDR_SIZE ||
	    sgxd_recv_all(sock, rep + SGXD_HDR_SIZE, h.length, 5000, NULL))
		return 4;
	/* The connection ends after an ERROR. */
	if (sgxd_recv_all(sock, rep, 1, 5000, NULL) != -ECONNRESET)
		return 5;
	return (int32_t)(rep[16] | rep[17] << 8 | rep[18] << 16 | (uint32_t)rep[19] << 24);
}

static int send_with_fds(int sock, uint16_t type, const int *fds, int nfds)
{
	return send_payload_with_fds(sock, type, NULL, fds, nfds);
}

/*
 * How many of this process's fds refer to the file 'fd' refers to. The
 * daemon runs in the test process and opens and closes fds of its own
 * (connections are closed by its main thread after the join, a moment
 * later), so leak checks count the files that were passed, not all fds.
 */
static int count_same(int fd)
{
	struct stat want, st;
	char path[64];
	int n = 0;

	if (fstat(fd, &want))
		return -1;
	for (int i = 0; i < 1024; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		if (!stat(path, &st) && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			n++;
	}
	return n;
}

/* Wait until exactly 'want' fds refer to fd's file (received copies closed). */
static bool same_settle(int fd, int want)
{
	for (int i = 0; i < 200; i++) {
		if (count_same(fd) == want)
			return true;
		usleep(5000);
	}
	fprintf(stderr, "    %d fds refer to fd %d's file, want %d\n", count_same(fd), fd, want);
	return false;
}

static bool log_has(struct edaemon *ed, const char *what)
{
	char buf[65536];
	int fd = open(ed->log, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

TEST(daemon_shared_malformed_fd_messages)
{
	int before_uffd;
	static const struct {
		uint16_t type;
		int nfds;
		bool uffd;
		const char *log;
	} cases[] = {
		{ SGXD_MSG_STATUS, 1, false, "file descriptor on a message that takes none" },
		{ SGXD_MSG_ENCL_MMAP, 1, true, "file descriptor on a message that takes none" },
		{ SGXD_MSG_UFFD, 2, true, "UFFD with more than one file descriptor" },
		{ SGXD_MSG_UFFD, 1, false, "the file descriptor is not a userfaultfd" },
		{ SGXD_MSG_STATUS, 4, false, "control message truncated" },
		{ SGXD_MSG_UFFD, 0, false, "UFFD without a file descriptor" },
	};
	struct edaemon ed = { 0 };
	struct sgxd_client *c, *good;
	struct sgxd_status s;
	int pipefd[2], uffd, before, st = -1;

	REQUIRE_EQ(edaemon_start(&ed, 64, SGX_EPC_OOM_KILL), 0);
	REQUIRE_EQ(pipe2(pipefd, O_CLOEXEC), 0);
	uffd = make_uffd();
	REQUIRE(uffd >= 0);
	good = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(good);
	before = count_same(pipefd[0]);
	before_uffd = count_same(uffd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fds[4] = { pipefd[0], pipefd[1], pipefd[0], pipefd[1] };

		if (cases[i].uffd)
			fds[0] = fds[1] = uffd;
		c = conn(&ed, SGXD_ROLE_PROGRAM);
		REQUIRE(c);
		CHECK_EQ(send_with_fds(sgxd_client_fd(c), cases[i].type, fds, cases[i].nfds),
			 -EBADMSG);
		sgxd_client_close(c);
		CHECK(log_has(&ed, cases[i].log));
		/* The daemon keeps serving. */
		CHECK_EQ(sgxd_status(good, &s, &st), 0);
		CHECK_EQ(st, 0);
	}
	/* Every fd received was closed (the connections reaped first). */
	for (int i = 0; i < 300 && sgxd_nr_clients(ed.d) > 1; i++)
		usleep(10000);
	CHECK(same_settle(pipefd[0], before));
	CHECK(same_settle(uffd, before_uffd));
	sgxd_client_close(good);
	close(pipefd[0]);
	close(pipefd[1]);
	close(uffd);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/* ---- PROVISION: the provision file passed both ways ---- */

TEST(daemon_shared_provision_fd_passing)
{
	int before_null;
	const uint64_t attrs = SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY;
	struct edaemon ed = { 0 };
	struct sgx_enclave_provision pv;
	struct sgxd_client *c, *cli;
	struct penc e;
	int st = -1, pfd = -1, pfd2 = -1, null_fd, before;

	REQUIRE_EQ(edaemon_start(&ed, 64, SGX_EPC_OOM_KILL), 0);
	c = conn_in(&ed, "/");
	REQUIRE(c);
	/* Only a program opens devices. */
	cli = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(cli);
	CHECK_EQ(sgxd_provision_open(cli, &pfd, &st), 0);
	CHECK_EQ(st, -EPERM);
	CHECK_EQ(pfd, -1);
	sgxd_client_close(cli);

	/* Root (this test): an fd, close-on-exec, ours. */
	REQUIRE_EQ(sgxd_provision_open(c, &pfd, &st), 0);
	REQUIRE_EQ(st, 0);
	REQUIRE(pfd >= 0);
	CHECK(fcntl(pfd, F_GETFD) & FD_CLOEXEC);
	/* Each open is a new fd; the daemon keeps none of them. */
	REQUIRE_EQ(sgxd_provision_open(c, &pfd2, &st), 0);
	REQUIRE_EQ(st, 0);
	CHECK(pfd2 >= 0 && pfd2 != pfd);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	REQUIRE(null_fd >= 0);

	REQUIRE_EQ(p_open(&e, c, BASE, 16 * PG), 0);
	REQUIRE_EQ(p_create_attr(&e, attrs), 0);
	REQUIRE_EQ(p_add(&e, 0, 2, NULL), 0);
	/* Copies of the provision file and of /dev/null: the daemon keeps none. */
	before = count_same(pfd);
	before_null = count_same(null_fd);
	/* PROVISIONKEY without permission: -EACCES (sgx_ioctl_init_provisionkey_needs_permission). */
	CHECK_EQ(p_init_attr(&e, attrs), -EACCES);
	/* Not the provision file, as embedded: -EINVAL. */
	pv.fd = (uint64_t)null_fd;
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), -EINVAL);
	/* No open fd by that number (none is sent), out of range: the kernel's -EINVAL. */
	pv.fd = 999999;
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), -EINVAL);
	pv.fd = 1ull << 40;
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), -EINVAL);
	CHECK_EQ(pv.fd, 1ull << 40);	/* _IOW: nothing written back */
	CHECK_EQ(p_init_attr(&e, attrs), -EACCES);
	/* The provision file: allowed, and EINIT with PROVISIONKEY goes through. */
	pv.fd = (uint64_t)pfd2;
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), 0);
	CHECK_EQ(pv.fd, (uint64_t)pfd2);
	close(pfd2);
	pv.fd = (uint64_t)pfd;
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), 0);	/* again: still 0 */
	CHECK_EQ(p_init_attr(&e, attrs), 0);
	/* After INIT the kernel still accepts it (it only widens the mask). */
	CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), 0);
	/* A handle not this connection's: -EBADF before the fd matters. */
	{
		struct penc f = e;

		f.h = e.h + 100;
		CHECK_EQ(p_ioctl(&f, SGX_IOC_ENCLAVE_PROVISION, &pv), -EBADF);
	}
	/* Every fd the daemon received was closed; pfd2 closed by us. */
	CHECK(same_settle(pfd, before - 1));
	CHECK(same_settle(null_fd, before_null));
	CHECK_EQ(p_release(&e), 0);
	close(pfd);
	close(null_fd);
	sgxd_client_close(c);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

TEST(daemon_shared_provision_malformed_fds)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *c, *good;
	struct sgxd_status s;
	struct sgxd_wbuf *w = malloc(sizeof(*w));
	int pipefd[2], fds[2], before, st = -1;
	uint32_t h = 0;

	REQUIRE(w);
	REQUIRE_EQ(edaemon_start(&ed, 64, SGX_EPC_OOM_KILL), 0);
	REQUIRE_EQ(pipe2(pipefd, O_CLOEXEC), 0);
	fds[0] = pipefd[0];
	fds[1] = pipefd[1];
	good = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(good);
	before = count_same(pipefd[0]);
	for (int i = 0; i < 6; i++) {
		static const char *const log[] = {
			"file descriptor on a message that takes none",
			"PROVISION with more than one file descriptor",
			"PROVISION's file descriptor without its argument",
			"file descriptor on a message that takes none",
			"file descriptor on a message that takes none",
			"trailing",
		};
		uint16_t type = SGXD_MSG_ENCL_IOCTL;
		int nfds = 1;

		c = conn_in(&ed, "/");
		REQUIRE(c);
		REQUIRE_EQ(sgxd_encl_open(c, &h, &st), 0);
		REQUIRE_EQ(st, 0);
		sgxd_w_init(w);
		sgxd_w_u32(w, h);
		switch (i) {
		case 0:		/* an fd on an ioctl that is not PROVISION */
			sgxd_w_u32(w, (uint32_t)SGX_IOC_ENCLAVE_REMOVE_PAGES);
			sgxd_w_u8(w, 1);
			for (int k = 0; k < 3; k++)
				sgxd_w_u64(w, 0);
			break;
		case 1:		/* PROVISION with two */
			sgxd_w_u32(w, (uint32_t)SGX_IOC_ENCLAVE_PROVISION);
			sgxd_w_u8(w, 1);
			sgxd_w_u64(w, 3);
			nfds = 2;
			break;
		case 2:		/* PROVISION's fd but no argument */
			sgxd_w_u32(w, (uint32_t)SGX_IOC_ENCLAVE_PROVISION);
			sgxd_w_u8(w, 0);
			break;
		case 3:		/* too short to name the cmd */
			break;
		case 4:		/* PROVISION_OPEN takes no fd */
			w->len = 0;
			type = SGXD_MSG_PROVISION_OPEN;
			break;
		case 5:		/* PROVISION_OPEN's payload is empty */
			type = SGXD_MSG_PROVISION_OPEN;
			nfds = 0;
			break;
		}
		CHECK_EQ(send_payload_with_fds(sgxd_client_fd(c), type, w, fds, nfds), -EBADMSG);
		sgxd_client_close(c);
		if (!log_has(&ed, log[i]))
			CHECK_EQ(i, -1);	/* names the case whose log line is missing */
		CHECK_EQ(sgxd_status(good, &s, &st), 0);
		CHECK_EQ(st, 0);
	}
	for (int i = 0; i < 300 && sgxd_nr_clients(ed.d) > 1; i++)
		usleep(10000);
	CHECK(same_settle(pipefd[0], before));
	sgxd_client_close(good);
	close(pipefd[0]);
	close(pipefd[1]);
	free(w);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/* In a child as uid 65534 (group root: the socket's group admits it): PROVISION_OPEN's status. */
static int provision_open_as_nobody(struct edaemon *ed)
{
	int fds[2], ret = -2000, st;
	pid_t pid;

	if (pipe(fds))
		return -3000;
	pid = fork();
	if (pid == 0) {
		struct sgxd_client *c;
		char err[256];
		int r, pfd = -1, status = -4000;

		if (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(65534, 65534, 65534))
			r = -1000;
		else
			r = sgxd_client_connect(ed->sock, SGXD_ROLE_PROGRAM, "nobody", &c, err,
						sizeof(err));
		if (!r) {
			r = sgxd_provision_open(c, &pfd, &status);
			if (!r)
				r = pfd < 0 ? status : -5000;
			sgxd_client_close(c);
		}
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -2000;
	close(fds[0]);
	waitpid(pid, &st, 0);
	return ret;
}

TEST(daemon_shared_provision_open_needs_root_or_daemon_uid)
{
	struct edaemon ed = { 0 };

	if (geteuid() != 0)
		SKIP("needs root to connect as another user");
	REQUIRE_EQ(edaemon_start(&ed, 64, SGX_EPC_OOM_KILL), 0);
	REQUIRE_EQ(chmod(ed.dir, 0755), 0);	/* uid 65534 must reach the socket */
	CHECK_EQ(provision_open_as_nobody(&ed), -EACCES);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

/*
 * A hostile program holds its enclave's memfd: it cannot resize it (sealed),
 * and punching resident pages out of it behind the manager's back spoils
 * only its own enclave: the daemon's EWB of those pages reads zeros through
 * its unregistered view instead of dying of SIGBUS, and it keeps serving.
 */
TEST(daemon_shared_hostile_memfd_cannot_hurt_the_daemon)
{
	struct sgx_platform_stats st0, st1;
	struct sgxd_status ds;
	struct edaemon ed = { 0 };
	struct sgxd_client *adm;
	struct shproc sh;
	int status;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/h"), 0);
	install_handlers();
	REQUIRE_EQ(sh_setup(&ed, "/h", BASE, 64, 32, &sh), 0);
	g_fault_client = sh.tc;
	CHECK(sh_round(&sh, 0));		/* every page resident */
	CHECK_EQ(ftruncate(sh.memfd, 0), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(ftruncate(sh.memfd, (off_t)(128 * PG)), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(fallocate(sh.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			   (off_t)(64 * PG)), 0);
	/* The worker now evicts the punched pages (and may OOM-kill the enclave). */
	sgx_platform_get_stats(sgxd_platform(ed.d), &st0);
	CHECK_EQ(cg_max_pages(adm, "/h", 2), 0);
	for (int i = 0; i < 500; i++) {	/* the worker's pace depends on the machine's load */
		sgx_platform_get_stats(sgxd_platform(ed.d), &st1);
		if (st1.ewb - st0.ewb >= 16)
			break;
		usleep(10 * 1000);
	}
	CHECK(st1.ewb - st0.ewb >= 16);
	/* Still serving. */
	CHECK_EQ(sgxd_status(adm, &ds, &status), 0);
	CHECK_EQ(status, 0);
	CHECK_EQ(ds.total_pages, 256);
	sh_teardown(&sh);
	CHECK(cg_wait(adm, "/h", 0, 5000));
	sgxd_client_close(adm);
	CHECK(daemon_idle(&ed));
	edaemon_stop(&ed);
}

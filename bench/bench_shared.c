// SPDX-License-Identifier: MIT
/*
 * Benchmark group "shared": what shared mode (docs/DAEMON.md, "Programs
 * running enclaves on the daemon") costs a program against embedded mode.
 * In shared mode every window fault and every ENCLU is one request/reply on
 * the thread's connection to the daemon; this group measures both, each
 * next to the same work on an embedded platform and to a bare socket round
 * trip of the same message sizes, all in one run.
 *
 *   shared_fault_reload_ns     per page of a sweep (one 8-byte write per
 *                              page) over an enclave twice the daemon's EPC,
 *                              mapped as a program maps it (the enclave's
 *                              memfd, registered on our userfaultfd, handed
 *                              to the daemon): every touch is a SIGBUS whose
 *                              handler sends FAULT on a thread connection;
 *                              the daemon reloads the page (ELDU +
 *                              UFFDIO_COPY into this process) and evicts to
 *                              make room (its ksgxd and direct reclaim).
 *   embedded_fault_reload_ns   the same sweep, same sizes, on an embedded
 *                              platform (the swap group's measurement), the
 *                              handler calling sgx_vma_fault() in-process.
 *   unix_roundtrip_ns          for scale: a FAULT-sized request (28 bytes)
 *                              and reply (24 bytes) over an AF_UNIX stream
 *                              socketpair between two threads, one send and
 *                              one MSG_WAITALL recv per side, in a tight
 *                              loop.
 *   shared_fault_floor_ns      the floor: the embedded sweep again, its
 *                              handler making that bare round trip to an
 *                              echo thread before sgx_vma_fault(). The least
 *                              a shared fault can cost is the embedded fault
 *                              plus the request it sends; measured in place
 *                              rather than added up, because in the tight
 *                              loop both CPUs go idle between messages, and
 *                              waking an idle CPU (a VM exit on a virtual
 *                              one) costs more than waking one that works.
 *   shared_fault_vs_floor      shared / floor (1 is the ideal).
 *   shared_enclu_roundtrip_ns  EENTER + EEXIT as two ENCLU requests
 *                              (sgxd_enclu) on a thread connection; no
 *                              enclave code runs in between.
 *   embedded_enclu_pair_ns     the same two leaves with sgx_enclu() on a
 *                              local LP of an embedded platform.
 *   unix_roundtrip_enclu_ns    one bare round trip of ENCLU's sizes (176-byte
 *                              request, 214-byte reply), tight loop.
 *   shared_enclu_floor_ns      the embedded pair with that round trip before
 *                              each of the two leaves.
 *   shared_enclu_vs_floor      shared / floor.
 *
 * The daemon runs in this process (sgxd_create on a socket in a fresh
 * /tmp directory, sgxd_run in a thread), as tests/test_daemon_shared.c
 * starts it; its log is off, and the socket, its lock file and the
 * directory are removed at the end. Both sweeps use the same SIGBUS
 * handler of ours, not the library's (sgx_fault_install_sigbus_handler
 * installs itself once per process and would stay behind for the groups
 * that run after this one); it is restored when a sweep ends.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <ucontext.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "bench/bench.h"
#include "daemon/client.h"
#include "daemon/daemon.h"
#include "enclave/sigstruct.h"
#include "sgx/platform.h"
#include "sgxemu/arch.h"

#define SH_PG			4096ULL
#define SH_EPC_PAGES		1024		/* 4 MiB: sweeps of 8 MiB */
#define SH_QUICK_EPC_PAGES	128
#define SH_ADD_CHUNK		256		/* pages per ADD_PAGES call */
/* Above ASan's shadow (the CLI has sanitizer builds too) and apart from the swap group's. */
#define SH_SHARED_HEAP		0x320000000000ULL
#define SH_EMBEDDED_HEAP	0x330000000000ULL
#define SH_ENTRY_BASE		0x340000000000ULL
/* The entry enclave: TCS, SSA, code, data in a 16-page ELRANGE. */
#define SH_ENTRY_PAGES		16
#define SH_TCS			0x0000ULL
#define SH_SSA			0x1000ULL
#define SH_CODE			0x2000ULL
#define SH_DATA			0x3000ULL
#define SH_AEP			0x7000dead0000ULL
#define SH_EXIT_TARGET		0x400100ULL
#define SH_KICK_SIGNAL		SIGUSR2
/* Wire sizes (daemon/proto.h: 16-byte header + payload). */
#define FAULT_REQ_BYTES		(16 + 8 + 4)			/* addr, write */
#define FAULT_REP_BYTES		(16 + 4 + 4)			/* status, result */
#define ENCLU_REQ_BYTES		(16 + 20 * 8)			/* regs */
#define ENCLU_REP_BYTES		(16 + 4 + 4 + 20 * 8 + 13 + 17)	/* status, ret, regs, exc, lp */

/* ---- the floor: request/reply over a socketpair between two threads ---- */

struct echo {
	int fd[2];
	size_t req, rep;
	pthread_t thread;
	uint8_t buf[256];	/* the client's; the server has its own */
};

static void *echo_serve(void *arg)
{
	struct echo *e = arg;
	uint8_t buf[256];

	memset(buf, 0, sizeof(buf));
	for (;;) {
		if (recv(e->fd[1], buf, e->req, MSG_WAITALL) != (ssize_t)e->req)
			break;
		if (send(e->fd[1], buf, e->rep, MSG_NOSIGNAL) != (ssize_t)e->rep)
			break;
	}
	return NULL;
}

static int echo_batch(void *arg, unsigned int iters)
{
	struct echo *e = arg;

	for (unsigned int i = 0; i < iters; i++) {
		if (send(e->fd[0], e->buf, e->req, MSG_NOSIGNAL) != (ssize_t)e->req ||
		    recv(e->fd[0], e->buf, e->rep, MSG_WAITALL) != (ssize_t)e->rep)
			return -1;
	}
	return 0;
}

static int echo_start(struct bench_ctx *ctx, struct echo *e, size_t req, size_t rep)
{
	memset(e, 0, sizeof(*e));
	e->req = req;
	e->rep = rep;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->fd))
		return bench_fail(ctx, "shared: socketpair: %s", strerror(errno));
	if (pthread_create(&e->thread, NULL, echo_serve, e)) {
		close(e->fd[0]);
		close(e->fd[1]);
		return bench_fail(ctx, "shared: cannot start the echo thread");
	}
	return 0;
}

static void echo_stop(struct echo *e)
{
	/* EOF ends the server's loop. */
	shutdown(e->fd[0], SHUT_RDWR);
	pthread_join(e->thread, NULL);
	close(e->fd[0]);
	close(e->fd[1]);
}

static int measure_roundtrip(struct bench_ctx *ctx, size_t req, size_t rep, unsigned int iters,
			     double *ns)
{
	struct echo e;
	int ret;

	if (echo_start(ctx, &e, req, rep))
		return -1;
	ret = bench_measure(ctx, echo_batch, &e, iters, ns);
	echo_stop(&e);
	return ret ? bench_fail(ctx, "shared: the socket round trip failed") : 0;
}

/* ---- enclaves, built the same way on both sides ---- */

/* An enclave of either kind: embedded (encl) or a handle on the daemon (c, h). */
struct sh_encl {
	struct sgx_encl *encl;
	struct sgxd_client *c;
	uint32_t h;
	bool open;
	struct sgx_mrenclave mr;
};

static int sh_ioctl(struct sh_encl *e, unsigned long cmd, void *arg)
{
	int st = -1, ret;

	if (!e->c)
		return (int)sgx_ioctl(e->encl, (unsigned int)cmd, (unsigned long)arg);
	ret = sgxd_encl_ioctl(e->c, e->h, cmd, arg, &st);
	return ret ? ret : st;
}

static int sh_create(struct sh_encl *e, uint64_t base, uint64_t size)
{
	struct sgx_enclave_create arg;
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	int ret;

	if (!secs)
		return -ENOMEM;
	memset(secs, 0, 4096);
	secs->base = base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = 3;
	arg.src = (uintptr_t)secs;
	ret = sh_ioctl(e, SGX_IOC_ENCLAVE_CREATE, &arg);
	if (!ret)
		sgx_mrenclave_ecreate(&e->mr, 1, size);
	free(secs);
	return ret;
}

/* 'n' pages of 'src' at 'offset', measured (the entry enclave is initialized). */
static int sh_add(struct sh_encl *e, uint64_t offset, const void *src, uint64_t n, uint64_t flags)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages arg;
	int ret;

	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = flags;
	arg = (struct sgx_enclave_add_pages){ .src = (uintptr_t)src, .offset = offset,
					      .length = n * SH_PG,
					      .secinfo = (uintptr_t)&secinfo,
					      .flags = SGX_PAGE_MEASURE };
	ret = sh_ioctl(e, SGX_IOC_ENCLAVE_ADD_PAGES, &arg);
	for (uint64_t i = 0; !ret && i < n; i++)
		sgx_mrenclave_add_page(&e->mr, offset + i * SH_PG, flags,
				       (const uint8_t *)src + i * SH_PG, true);
	return ret;
}

/* The sweep's enclave: 'pages' RW pages filling ELRANGE at base, never initialized. */
static int build_heap(struct sh_encl *e, uint64_t base, uint64_t pages)
{
	uint8_t *src = aligned_alloc(4096, SH_ADD_CHUNK * SH_PG);
	int ret;

	if (!src)
		return -ENOMEM;
	memset(src, 0x5a, SH_ADD_CHUNK * SH_PG);
	ret = sh_create(e, base, pages * SH_PG);
	for (uint64_t off = 0; !ret && off < pages; off += SH_ADD_CHUNK)
		ret = sh_add(e, off * SH_PG, src, SH_ADD_CHUNK < pages - off ? SH_ADD_CHUNK :
			     pages - off, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	free(src);
	return ret;
}

/* The ENCLU enclave: one TCS (OSSA, OENTRY), its SSA, a code and a data page; initialized. */
static int build_entry(struct sh_encl *e, uint64_t base, const struct sgx_signer *signer)
{
	uint8_t *page = aligned_alloc(4096, 4096);
	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_enclave_init init;
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	uint8_t hash[32];
	int ret;

	if (!page || !ss) {
		free(page);
		free(ss);
		return -ENOMEM;
	}
	ret = sh_create(e, base, SH_ENTRY_PAGES * SH_PG);
	memset(page, 0, 4096);
	tcs->ssa_offset = SH_SSA;
	tcs->nr_ssa_frames = 1;
	tcs->entry_offset = SH_CODE;
	tcs->fs_limit = 0xffffffff;
	tcs->gs_limit = 0xffffffff;
	if (!ret)
		ret = sh_add(e, SH_TCS, page, 1, SGX_SECINFO_TCS);
	memset(page, 0, 4096);
	if (!ret)
		ret = sh_add(e, SH_SSA, page, 1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	memset(page, 0x90, 4096);	/* never executed: EEXIT follows every EENTER */
	if (!ret)
		ret = sh_add(e, SH_CODE, page, 1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X);
	memset(page, 0, 4096);
	if (!ret)
		ret = sh_add(e, SH_DATA, page, 1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	if (!ret) {
		sgx_mrenclave_final(&e->mr, hash);
		sgx_sigstruct_init(ss, hash, SGX_ATTR_MODE64BIT, 3);
		ret = sgx_sigstruct_sign(signer, ss) ? -EIO : 0;
	}
	if (!ret) {
		init.sigstruct = (uintptr_t)ss;
		ret = sh_ioctl(e, SGX_IOC_ENCLAVE_INIT, &init);
	}
	free(page);
	free(ss);
	return ret;
}

static void entry_regs(struct sgx_regs *r, uint64_t base)
{
	memset(r, 0, sizeof(*r));
	r->rax = EENTER;
	r->rbx = base + SH_TCS;
	r->rcx = SH_AEP;
	r->rip = 0x400000;
	r->rsp = 0x7fff0000;
	r->rflags = 0x202;
}

/* ---- the sweep, and the one SIGBUS handler both sides use ---- */

struct sweep {
	uint64_t base;
	unsigned long pages, cursor;
	struct sgxd_client *tc;		/* shared: FAULT on this thread connection */
	struct sgx_platform *p;		/* embedded: sgx_vma_fault() on this platform */
	struct echo *echo;		/* the floor: one round trip before sgx_vma_fault() */
};

static struct sweep *sweep_active;	/* the handler's only way to its state */
static sigjmp_buf sweep_jmp;
static volatile sig_atomic_t sweep_faults;

static void sweep_sigbus(int sig, siginfo_t *si, void *uc_void)
{
	struct sweep *s = sweep_active;
	ucontext_t *uc = uc_void;
	uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
	bool write = uc->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE;
	int saved_errno = errno, res = SGX_FAULT_NOT_MINE;

	if (!s || si->si_code != BUS_ADRERR || addr < s->base ||
	    addr >= s->base + s->pages * SH_PG) {
		/* Not ours: die of it with the default action when the access repeats. */
		signal(sig, SIG_DFL);
		return;
	}
	sweep_faults++;
	if (s->tc) {
		if (sgxd_fault(s->tc, addr, write, &res))
			res = SGX_FAULT_SIGBUS;
	} else if (!s->echo || !echo_batch(s->echo, 1)) {
		res = sgx_vma_fault(s->p, addr, write);
	}
	errno = saved_errno;
	if (res == SGX_FAULT_RESOLVED || res == SGX_FAULT_RETRY)
		return;
	/* A page that cannot come back would fault forever: abort the batch. */
	siglongjmp(sweep_jmp, 1);
}

static int sweep_batch(void *arg, unsigned int iters)
{
	struct sweep *s = arg;

	if (sigsetjmp(sweep_jmp, 1))
		return -1;
	for (unsigned int i = 0; i < iters; i++) {
		((volatile uint64_t *)(uintptr_t)(s->base + s->cursor * SH_PG))[0] += 1;
		s->cursor = (s->cursor + 1) % s->pages;
	}
	return 0;
}

/* One sweep to fill and overflow the EPC, then the measured sweeps; faults per page out. */
static int run_sweep(struct bench_ctx *ctx, struct sweep *s, double *ns, double *faults_per_page)
{
	struct sigaction sa, old;
	unsigned long swept = s->pages * (1 + ctx->warmup + (ctx->reps ? ctx->reps : 1));
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sweep_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sweep_active = s;
	sweep_faults = 0;
	if (sigaction(SIGBUS, &sa, &old)) {
		sweep_active = NULL;
		return -1;
	}
	ret = sweep_batch(s, (unsigned int)s->pages);
	if (!ret)
		ret = bench_measure(ctx, sweep_batch, s, (unsigned int)s->pages, ns);
	sigaction(SIGBUS, &old, NULL);
	sweep_active = NULL;
	*faults_per_page = (double)sweep_faults / (double)swept;
	return ret;
}

/* ---- embedded: a platform in this process ---- */

static int embedded_platform(struct bench_ctx *ctx, unsigned long epc_pages,
			     struct sgx_platform **p)
{
	struct sgx_platform_config c;
	long ret;

	sgx_platform_default_config(&c);
	c.cpu_config.epc_size = epc_pages * SH_PG;
	c.cpu_config.nr_sections = 1;
	ret = sgx_platform_create(&c, p);
	if (ret)
		return bench_fail(ctx, "shared: cannot create an embedded platform: %s",
				  strerror((int)-ret));
	return 0;
}

/*
 * The embedded sweep (*ns), then the same sweep with a FAULT-sized round
 * trip to an echo thread in the handler before each sgx_vma_fault()
 * (*floor_ns): the least a shared fault can cost, with the same work
 * between round trips as the real one (see the top of the file).
 */
static int embedded_fault(struct bench_ctx *ctx, unsigned long epc_pages, double *ns,
			  double *floor_ns)
{
	struct sh_encl e = { 0 };
	struct echo echo;
	struct sgx_platform_stats st;
	struct sgx_platform *p;
	struct sweep s = { .base = SH_EMBEDDED_HEAP, .pages = 2 * epc_pages };
	double fpp = 0;
	bool mapped = false;
	int ret;

	if (embedded_platform(ctx, epc_pages, &p))
		return -1;
	s.p = p;
	if (!sgx_platform_has_windows(p)) {
		ret = bench_fail(ctx, "shared: no userfaultfd: enclave windows unavailable");
		goto out;
	}
	ret = sgx_open(p, &e.encl);
	if (ret) {
		ret = bench_fail(ctx, "shared: embedded open: %s", strerror(-ret));
		goto out;
	}
	e.open = true;
	ret = build_heap(&e, s.base, s.pages);
	if (!ret)
		ret = sgx_mmap(e.encl, s.base, s.pages * SH_PG, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (ret) {
		ret = bench_fail(ctx, "shared: building the embedded enclave: %s", strerror(-ret));
		goto out;
	}
	mapped = true;
	if (run_sweep(ctx, &s, ns, &fpp)) {
		ret = bench_fail(ctx, "shared: the embedded sweep failed");
		goto out;
	}
	if (echo_start(ctx, &echo, FAULT_REQ_BYTES, FAULT_REP_BYTES)) {
		ret = -1;
		goto out;
	}
	s.echo = &echo;
	if (run_sweep(ctx, &s, floor_ns, &fpp))
		ret = bench_fail(ctx, "shared: the embedded sweep with round trips failed");
	s.echo = NULL;
	echo_stop(&echo);
	if (ret)
		goto out;
	sgx_platform_get_stats(p, &st);
	if (st.fault_sigbus || st.ewb_lost)
		ret = bench_fail(ctx, "shared: embedded: %lu faults failed, %lu pages lost",
				 (unsigned long)st.fault_sigbus, (unsigned long)st.ewb_lost);
	fprintf(stderr, "bench: shared: embedded sweep: %.2f faults per page, %lu ewb, %lu eldu\n",
		fpp, (unsigned long)st.ewb, (unsigned long)st.eldu);
out:
	if (mapped)
		sgx_munmap(p, s.base, s.pages * SH_PG);
	if (e.open)
		sgx_release(e.encl);
	sgx_platform_destroy(p);
	return ret ? -1 : 0;
}

struct enclu_pair {
	uint64_t base;
	struct sgx_cpu *cpu;
	struct sgx_lp *lp;		/* embedded */
	struct sgxd_client *tc;		/* shared */
	struct echo *echo;		/* the floor: a round trip before each embedded leaf */
};

/* One leaf on either kind of LP; a #PF on the daemon's side is resolved with FAULT. */
static int pair_enclu(struct enclu_pair *e, struct sgx_regs *r, bool want_inside)
{
	struct sgx_exception exc;
	struct sgxd_lp_state st;
	int ret = -1, res;

	if (!e->tc) {
		if (e->echo && echo_batch(e->echo, 1))
			return -1;
		return sgx_enclu(e->cpu, e->lp, r, &exc) ? -1 : 0;
	}
	for (int tries = 0; tries < 100; tries++) {
		memset(&exc, 0, sizeof(exc));
		if (sgxd_enclu(e->tc, r, &exc, &ret, &st))
			return -1;
		if (!ret)
			return st.inside == want_inside ? 0 : -1;
		/* As the shim's ENCLU trap: an evicted TCS or SSA page comes back first. */
		if (exc.vector != 14 || sgxd_fault(e->tc, exc.addr, exc.error_code & X86_PF_WRITE,
						   &res) ||
		    (res != SGX_FAULT_RESOLVED && res != SGX_FAULT_RETRY))
			return -1;
	}
	return -1;
}

static int enclu_batch(void *arg, unsigned int iters)
{
	struct enclu_pair *e = arg;
	struct sgx_regs r;

	for (unsigned int i = 0; i < iters; i++) {
		entry_regs(&r, e->base);
		if (pair_enclu(e, &r, true) || r.rip != e->base + SH_CODE)
			return -1;
		r.rax = EEXIT;
		r.rbx = SH_EXIT_TARGET;
		if (pair_enclu(e, &r, false) || r.rip != SH_EXIT_TARGET)
			return -1;
	}
	return 0;
}

/* The embedded pair (*ns), then each leaf behind an ENCLU-sized round trip (*floor_ns). */
static int embedded_enclu(struct bench_ctx *ctx, const struct sgx_signer *signer,
			  unsigned int iters, double *ns, double *floor_ns)
{
	struct echo echo;
	struct enclu_pair pair = { .base = SH_ENTRY_BASE };
	struct sh_encl e = { 0 };
	struct sgx_platform *p;
	int ret;

	if (embedded_platform(ctx, 256, &p))
		return -1;
	ret = sgx_open(p, &e.encl);
	if (ret) {
		sgx_platform_destroy(p);
		return bench_fail(ctx, "shared: embedded open: %s", strerror(-ret));
	}
	ret = build_entry(&e, pair.base, signer);
	if (ret) {
		ret = bench_fail(ctx, "shared: building the embedded entry enclave: %s",
				 strerror(ret < 0 ? -ret : EIO));
		goto out;
	}
	/* No resolver: the CPU finds the one enclave whose ELRANGE holds the TCS. */
	pair.cpu = sgx_platform_cpu(p);
	pair.lp = sgx_lp_create(pair.cpu);
	if (!pair.lp) {
		ret = bench_fail(ctx, "shared: no free logical processor");
		goto out;
	}
	if (bench_measure(ctx, enclu_batch, &pair, iters, ns))
		ret = bench_fail(ctx, "shared: the embedded EENTER/EEXIT failed");
	if (!ret && echo_start(ctx, &echo, ENCLU_REQ_BYTES, ENCLU_REP_BYTES))
		ret = -1;
	if (!ret) {
		pair.echo = &echo;
		if (bench_measure(ctx, enclu_batch, &pair, iters, floor_ns))
			ret = bench_fail(ctx, "shared: the embedded EENTER/EEXIT with round trips "
					 "failed");
		echo_stop(&echo);
	}
	sgx_lp_destroy(pair.lp);
out:
	sgx_release(e.encl);
	sgx_platform_destroy(p);
	return ret ? -1 : 0;
}

/* ---- shared: a daemon in this process, and this process as its program ---- */

struct shared {
	char dir[64], sock[128];
	struct sgxd *d;
	pthread_t thread;
	bool running;
	struct sgxd_client *pc, *tc;	/* process and thread connections */
	int uffd;
};

static void *daemon_thread(void *arg)
{
	sgxd_run(arg);
	return NULL;
}

static int shared_start(struct bench_ctx *ctx, struct shared *sh, unsigned long epc_pages)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM |
					      UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	struct sgxd_config cfg;
	char err[256];
	int ret, st = -1;

	memset(sh, 0, sizeof(*sh));
	sh->uffd = -1;
	snprintf(sh->dir, sizeof(sh->dir), "/tmp/sgxemu-bench.XXXXXX");
	if (!mkdtemp(sh->dir)) {
		sh->dir[0] = '\0';
		return bench_fail(ctx, "shared: mkdtemp: %s", strerror(errno));
	}
	snprintf(sh->sock, sizeof(sh->sock), "%s/sgxemu.sock", sh->dir);
	sgxd_default_config(&cfg);
	cfg.socket_path = sh->sock;
	cfg.cpu.epc_size = epc_pages * SH_PG;
	cfg.cpu.nr_sections = 1;
	cfg.log_fd = -1;
	ret = sgxd_create(&cfg, &sh->d, err, sizeof(err));
	if (ret) {
		sh->d = NULL;
		return bench_fail(ctx, "shared: cannot start the daemon: %s", err);
	}
	if (pthread_create(&sh->thread, NULL, daemon_thread, sh->d))
		return bench_fail(ctx, "shared: cannot start the daemon's thread");
	sh->running = true;

	ret = sgxd_client_connect(sh->sock, SGXD_ROLE_PROGRAM, "bench", &sh->pc, err, sizeof(err));
	if (ret) {
		sh->pc = NULL;
		return bench_fail(ctx, "shared: connect: %s", err);
	}
	/* The root of the EPC tree: no limit, the small EPC alone forces eviction. */
	if (sgxd_attach(sh->pc, "/", NULL, 0, &st) || st)
		return bench_fail(ctx, "shared: ATTACH /: %s", strerror(st < 0 ? -st : EPROTO));
	sh->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (sh->uffd < 0 || ioctl(sh->uffd, UFFDIO_API, &api))
		return bench_fail(ctx, "shared: no userfaultfd: %s", strerror(errno));
	st = -1;
	if (sgxd_send_uffd(sh->pc, sh->uffd, &st) || st)
		return bench_fail(ctx, "shared: UFFD: %s", strerror(st < 0 ? -st : EPROTO));
	ret = sgxd_client_connect_thread(sh->sock, SH_KICK_SIGNAL, &sh->tc);
	if (ret) {
		sh->tc = NULL;
		return bench_fail(ctx, "shared: THREAD_JOIN: %s", strerror(-ret));
	}
	return 0;
}

static void shared_stop(struct shared *sh)
{
	char lock[160];

	sgxd_client_close(sh->tc);
	sgxd_client_close(sh->pc);
	if (sh->uffd >= 0)
		close(sh->uffd);
	if (sh->running) {
		/* Let the daemon see our EOFs (enclaves released, LP freed) before it stops. */
		for (int i = 0; i < 500 && sgxd_nr_clients(sh->d); i++)
			usleep(10000);
		sgxd_stop(sh->d);
		pthread_join(sh->thread, NULL);
	}
	if (sh->d)
		sgxd_destroy(sh->d);
	if (sh->dir[0]) {
		/* sgxd_destroy unlinks the socket; the lock file it leaves on purpose is ours to remove. */
		snprintf(lock, sizeof(lock), "%s.lock", sh->sock);
		unlink(lock);
		unlink(sh->sock);
		rmdir(sh->dir);
	}
	memset(sh, 0, sizeof(*sh));
}

/* A window of the daemon's enclave e at [addr, addr + len), as the shim makes one. */
static int shared_map(struct shared *sh, struct sh_encl *e, uint64_t addr, uint64_t len,
		      int *memfd)
{
	struct uffdio_register reg;
	uint64_t base = 0, size = 0;
	bool window = false;
	int st = -1;
	void *m;

	if (sgxd_encl_memfd(sh->pc, e->h, memfd, &base, &size, &st) || st)
		return st < 0 ? st : -EPROTO;
	m = mmap((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, *memfd, (off_t)(addr - base));
	if (m != (void *)(uintptr_t)addr) {
		if (m != MAP_FAILED)
			munmap(m, len);
		return -EEXIST;
	}
	/* Registered before ENCL_MMAP: the daemon's first write-protect must find it so. */
	reg = (struct uffdio_register){ .range = { .start = addr, .len = len },
					.mode = UFFDIO_REGISTER_MODE_MISSING |
						UFFDIO_REGISTER_MODE_WP };
	if (ioctl(sh->uffd, UFFDIO_REGISTER, &reg) ||
	    sgxd_encl_mmap(sh->pc, e->h, addr, len, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, &window, &st) || st || !window) {
		munmap((void *)(uintptr_t)addr, len);
		return st < 0 ? st : -EINVAL;
	}
	return 0;
}

static void shared_unmap(struct shared *sh, uint64_t addr, uint64_t len)
{
	int st;

	munmap((void *)(uintptr_t)addr, len);
	sgxd_encl_munmap(sh->pc, addr, len, &st);
}

static int shared_open(struct bench_ctx *ctx, struct shared *sh, struct sh_encl *e)
{
	int st = -1;

	memset(e, 0, sizeof(*e));
	e->c = sh->pc;
	if (sgxd_encl_open(sh->pc, &e->h, &st) || st)
		return bench_fail(ctx, "shared: ENCL_OPEN: %s", strerror(st < 0 ? -st : EPROTO));
	e->open = true;
	return 0;
}

static void shared_release(struct sh_encl *e)
{
	int st;

	if (e->open)
		sgxd_encl_release(e->c, e->h, &st);
	e->open = false;
}

static int shared_fault(struct bench_ctx *ctx, struct shared *sh, unsigned long epc_pages,
			double *ns)
{
	struct sweep s = { .base = SH_SHARED_HEAP, .pages = 2 * epc_pages, .tc = sh->tc };
	struct sgx_platform_stats st0, st1;
	struct sh_encl e;
	double fpp = 0;
	int ret, memfd = -1;

	if (shared_open(ctx, sh, &e))
		return -1;
	ret = build_heap(&e, s.base, s.pages);
	if (ret) {
		shared_release(&e);
		return bench_fail(ctx, "shared: building the enclave on the daemon: %s",
				  strerror(-ret));
	}
	ret = shared_map(sh, &e, s.base, s.pages * SH_PG, &memfd);
	if (ret) {
		if (memfd >= 0)
			close(memfd);
		shared_release(&e);
		return bench_fail(ctx, "shared: mapping the window: %s", strerror(-ret));
	}
	sgx_platform_get_stats(sgxd_platform(sh->d), &st0);
	if (run_sweep(ctx, &s, ns, &fpp))
		ret = bench_fail(ctx, "shared: the sweep through the daemon failed");
	sgx_platform_get_stats(sgxd_platform(sh->d), &st1);
	shared_unmap(sh, s.base, s.pages * SH_PG);
	close(memfd);
	shared_release(&e);
	if (ret)
		return -1;
	if (st1.fault_sigbus || st1.ewb_lost)
		return bench_fail(ctx, "shared: daemon: %lu faults failed, %lu pages lost",
				  (unsigned long)st1.fault_sigbus, (unsigned long)st1.ewb_lost);
	fprintf(stderr, "bench: shared: sweep through the daemon: %.2f faults per page, %lu ewb, "
		"%lu eldu\n", fpp, (unsigned long)(st1.ewb - st0.ewb),
		(unsigned long)(st1.eldu - st0.eldu));
	return 0;
}

static int shared_enclu(struct bench_ctx *ctx, struct shared *sh,
			const struct sgx_signer *signer, unsigned int iters, double *ns)
{
	struct enclu_pair pair = { .base = SH_ENTRY_BASE, .tc = sh->tc };
	struct sh_encl e;
	int ret, memfd = -1;

	if (shared_open(ctx, sh, &e))
		return -1;
	ret = build_entry(&e, pair.base, signer);
	if (ret) {
		shared_release(&e);
		return bench_fail(ctx, "shared: building the entry enclave on the daemon: %s",
				  strerror(ret < 0 ? -ret : EIO));
	}
	/* The LP resolves the TCS in this process's windows: map TCS and SSA (RW allowed). */
	ret = shared_map(sh, &e, pair.base, SH_CODE, &memfd);
	if (ret) {
		if (memfd >= 0)
			close(memfd);
		shared_release(&e);
		return bench_fail(ctx, "shared: mapping the entry window: %s", strerror(-ret));
	}
	if (bench_measure(ctx, enclu_batch, &pair, iters, ns))
		ret = bench_fail(ctx, "shared: EENTER/EEXIT through the daemon failed");
	shared_unmap(sh, pair.base, SH_CODE);
	close(memfd);
	shared_release(&e);
	return ret ? -1 : 0;
}

/* The daemon's IPI (ETRACK while our LP is inside): the next EEXIT leaves anyway. */
static void ignore_kick(int sig)
{
	(void)sig;
}

BENCH(shared, "shared mode's FAULT and ENCLU round trips against embedded mode and a bare socket")
{
	unsigned long epc = ctx->quick ? SH_QUICK_EPC_PAGES : SH_EPC_PAGES;
	unsigned int rt_iters = ctx->quick ? 32 : 5000, pairs = ctx->quick ? 16 : 2000;
	double rt_fault = 0, rt_enclu = 0, emb_fault = 0, emb_enclu = 0;
	double sh_fault = 0, sh_enclu = 0, floor_fault = 0, floor_enclu = 0;
	struct sigaction kick = { .sa_handler = ignore_kick, .sa_flags = SA_RESTART }, old_kick;
	struct sgx_signer *signer;
	struct shared sh;
	int ret = 0;

	if (measure_roundtrip(ctx, FAULT_REQ_BYTES, FAULT_REP_BYTES, rt_iters, &rt_fault) ||
	    measure_roundtrip(ctx, ENCLU_REQ_BYTES, ENCLU_REP_BYTES, rt_iters, &rt_enclu))
		return -1;
	signer = sgx_signer_generate();
	if (!signer)
		return bench_fail(ctx, "shared: cannot generate a signing key");
	if (embedded_fault(ctx, epc, &emb_fault, &floor_fault) ||
	    embedded_enclu(ctx, signer, pairs, &emb_enclu, &floor_enclu)) {
		sgx_signer_free(signer);
		return -1;
	}

	sigemptyset(&kick.sa_mask);
	sigaction(SH_KICK_SIGNAL, &kick, &old_kick);
	if (shared_start(ctx, &sh, epc) || shared_fault(ctx, &sh, epc, &sh_fault) ||
	    shared_enclu(ctx, &sh, signer, pairs, &sh_enclu))
		ret = -1;
	shared_stop(&sh);
	sigaction(SH_KICK_SIGNAL, &old_kick, NULL);
	sgx_signer_free(signer);
	if (ret)
		return ret;

	bench_metric("shared_fault_reload_ns", sh_fault, "ns");
	bench_metric("embedded_fault_reload_ns", emb_fault, "ns");
	bench_metric("unix_roundtrip_ns", rt_fault, "ns");
	bench_metric("shared_fault_floor_ns", floor_fault, "ns");
	bench_metric("shared_fault_vs_floor", sh_fault / floor_fault, "x");
	bench_metric("shared_enclu_roundtrip_ns", sh_enclu, "ns");
	bench_metric("embedded_enclu_pair_ns", emb_enclu, "ns");
	bench_metric("unix_roundtrip_enclu_ns", rt_enclu, "ns");
	bench_metric("shared_enclu_floor_ns", floor_enclu, "ns");
	bench_metric("shared_enclu_vs_floor", sh_enclu / floor_enclu, "x");
	return 0;
}

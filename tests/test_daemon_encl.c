// SPDX-License-Identifier: MIT
/*
 * Shared mode, slice 1: enclaves of many processes on the daemon's one EPC
 * (ATTACH, ENCL_OPEN, ENCL_RELEASE, ENCL_IOCTL; docs/DAEMON.md). Enclaves are
 * built over the protocol by the client library, against an in-process
 * daemon on a temporary socket; clients are threads of the test or forked
 * processes (killed with SIGKILL at random moments).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/proto.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"
#include "tests/util/daemon_util.h"
#include "tests/util/mgr_util.h"

#define PG 4096ull

static const uint64_t BASE = 0x10000000000ull;

/* ---- tests ---- */

TEST(daemon_encl_charged_to_its_cgroup)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *a, *cli;
	char path[256], own[256];
	struct penc e;
	uint64_t count = 0;
	int st = -1;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/a"), 0);
	a = conn(&ed, SGXD_ROLE_PROGRAM);
	REQUIRE(a);
	/* Attach: explicit (the daemon's uid may name any cgroup), normalized; errors. */
	REQUIRE_EQ(sgxd_attach(a, "//a/", path, sizeof(path), &st), 0);
	CHECK_EQ(st, 0);
	CHECK(!strcmp(path, "/a"));
	REQUIRE_EQ(sgxd_attach(a, "/nope", path, sizeof(path), &st), 0);
	CHECK_EQ(st, -ENOENT);
	CHECK_EQ(cg_op(adm, 0, "/a"), -EBUSY);		/* attached: rmdir refused */
	/* A cli connection runs no enclaves. */
	REQUIRE_EQ(sgxd_attach(adm, "/a", NULL, 0, &st), 0);
	CHECK_EQ(st, -EPERM);

	/* 40 pages: three ADD_PAGES messages of at most 15 pages, count accumulated. */
	REQUIRE_EQ(p_create(&e, a, BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&e, 0, 40, &count), 0);
	CHECK_EQ(count, 40 * PG);
	CHECK_EQ(p_init(&e), 0);
	/* SECS + one VA page + 40 REG pages, charged to /a and its ancestors. */
	CHECK_EQ(cg_cur(adm, "/a"), 42 * PG);
	CHECK_EQ(cg_cur(adm, "/"), 42 * PG);
	CHECK_EQ(p_release(&e), 0);
	CHECK_EQ(cg_cur(adm, "/a"), 0);
	CHECK_EQ(cg_cur(adm, "/"), 0);
	CHECK_EQ(p_release(&e), -EBADF);		/* gone */

	/* Attach to the own cgroup: the process's cgroup v2 path, made in the EPC tree. */
	if (sgxd_proc_cgroup(getpid(), own, sizeof(own)))
		strcpy(own, "/");
	cli = conn(&ed, SGXD_ROLE_PROGRAM);
	REQUIRE(cli);
	REQUIRE_EQ(sgxd_attach(cli, NULL, path, sizeof(path), &st), 0);
	CHECK_EQ(st, 0);
	CHECK(!strcmp(path, own));
	/* Implicitly attached at the first open when no ATTACH came. */
	sgxd_client_close(cli);
	cli = conn(&ed, SGXD_ROLE_PROGRAM);
	REQUIRE(cli);
	REQUIRE_EQ(p_create(&e, cli, BASE, 16 * PG), 0);
	REQUIRE_EQ(p_add(&e, 0, 3, NULL), 0);
	CHECK_EQ(cg_cur(adm, own), 5 * PG);
	sgxd_client_close(cli);				/* the connection's end releases it */
	CHECK(cg_wait(adm, own, 0, 5000));

	sgxd_client_close(a);
	for (int i = 0; i < 500 && cg_op(adm, 0, "/a") == -EBUSY; i++)
		usleep(10000);				/* detached once the daemon saw the end */
	CHECK_EQ(cg_cur(adm, "/"), 0);
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), path, sizeof(path)), 0);
	edaemon_stop(&ed);
}

TEST(daemon_encl_limit_reclaims_own_cgroup_only)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *a, *b;
	struct sgx_platform_stats st0, st1;
	struct penc ea, eb;
	uint64_t count = 0;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/a"), 0);
	CHECK_EQ(cg_op(adm, 1, "/b"), 0);
	CHECK_EQ(cg_max_pages(adm, "/a", 40), 0);
	a = conn_in(&ed, "/a");
	b = conn_in(&ed, "/b");
	REQUIRE(a && b);
	REQUIRE_EQ(p_create(&eb, b, BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&eb, 0, 30, NULL), 0);
	REQUIRE_EQ(p_init(&eb), 0);
	CHECK_EQ(cg_cur(adm, "/b"), 32 * PG);
	sgx_platform_get_stats(sgxd_platform(ed.d), &st0);

	/* 100 pages under a 40-page limit: its ADD_PAGES reclaims its own pages. */
	REQUIRE_EQ(p_create(&ea, a, 2 * BASE, 128 * PG), 0);
	CHECK_EQ(p_add(&ea, 0, 100, &count), 0);
	CHECK_EQ(count, 100 * PG);
	CHECK_EQ(p_init(&ea), 0);
	CHECK(cg_cur(adm, "/a") <= 40 * (long long)PG);
	CHECK(cg_val(adm, "/a", "misc.peak") <= 40 * (long long)PG);
	sgx_platform_get_stats(sgxd_platform(ed.d), &st1);
	CHECK(st1.ewb - st0.ewb >= 60);
	/* Nothing of /b was evicted: an evicted page would have left its charge. */
	CHECK_EQ(cg_cur(adm, "/b"), 32 * PG);
	CHECK_EQ(cg_val(adm, "/b", "misc.peak"), 32 * PG);

	sgxd_client_close(a);
	sgxd_client_close(b);
	CHECK(cg_wait(adm, "/", 0, 5000));
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	edaemon_stop(&ed);
}

/*
 * The same ioctl sequences on the embedded driver and over the protocol:
 * the same result, step by step.
 */
struct backend {
	struct sgx_platform *p;		/* embedded */
	struct sgx_encl *encl;
	struct sgxd_client *c;		/* protocol */
	uint32_t h;
};

static long b_ioctl(struct backend *b, unsigned long cmd, void *arg)
{
	int st = -1;

	if (b->p)
		return sgx_ioctl(b->encl, (unsigned int)cmd, (unsigned long)arg);
	if (sgxd_encl_ioctl(b->c, b->h, cmd, arg, &st))
		return -EPROTO;
	return st;
}

#define NSTEPS 22

static void run_sequence(struct backend *b, long *res, uint64_t *counts)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	uint8_t *src = aligned_alloc(4096, 24 * 4096);
	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_enclave_add_pages add;
	struct sgx_enclave_create cr;
	struct sgx_enclave_init in;
	struct sgx_enclave_remove_pages rm = { 0 };
	struct sgx_enclave_provision pv = { 0 };
	int i = 0;

	memset(src, 0x11, 24 * 4096);
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
#define ADD(s, o, l, si) (add = (struct sgx_enclave_add_pages){ .src = (s), .offset = (o), \
	.length = (l), .secinfo = (si), .flags = 0, .count = 0xabcd }, \
	res[i] = b_ioctl(b, SGX_IOC_ENCLAVE_ADD_PAGES, &add), counts[i++] = add.count)
	/* Before CREATE. */
	ADD((uintptr_t)src, 0, 4096, (uintptr_t)&secinfo);
	in.sigstruct = (uintptr_t)ss;
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_INIT, &in);
	/* A bad SECS (size not a power of two), then a good one. */
	memset(secs, 0, 4096);
	secs->base = BASE;
	secs->size = 3 * 4096;
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = 3;
	cr.src = (uintptr_t)secs;
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_CREATE, &cr);
	secs->size = 16 * 4096;
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_CREATE, &cr);
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_CREATE, &cr);	/* twice */
	/* ADD_PAGES argument checks. */
	ADD((uintptr_t)src + 8, 0, 4096, (uintptr_t)&secinfo);		/* src misaligned */
	ADD((uintptr_t)src, 100, 4096, (uintptr_t)&secinfo);		/* offset misaligned */
	ADD((uintptr_t)src, 0, 0, (uintptr_t)&secinfo);			/* length 0 */
	ADD((uintptr_t)src, 0, 20 * 4096, (uintptr_t)&secinfo);	/* past ELRANGE (chunked) */
	ADD((uintptr_t)src, 0, 4096, 0);					/* SECINFO NULL */
	ADD(0, 0, 4096, (uintptr_t)&secinfo);				/* src NULL */
	secinfo.flags |= 1ull << 40;					/* reserved bit */
	ADD((uintptr_t)src, 0, 4096, (uintptr_t)&secinfo);
	secinfo.flags &= ~(1ull << 40);
	ADD((uintptr_t)src, 0, 16 * 4096, (uintptr_t)&secinfo);	/* all 16 (two chunks) */
	ADD((uintptr_t)src, 0, 4096, (uintptr_t)&secinfo);		/* again: present */
	/* A SIGSTRUCT of another MRENCLAVE (all zeros, unsigned). */
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_INIT, &in);
	res[i++] = b_ioctl(b, 0xdead, NULL);				/* unknown: -ENOTTY */
	res[i++] = b_ioctl(b, SGX_IOC_VEPC_REMOVE_ALL, NULL);
	rm.offset = 0;
	rm.length = 4096;
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);	/* SGX2 before INIT */
	counts[i - 1] = rm.count;
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_CREATE, NULL);		/* arg NULL */
	/* fd 0 is open here but not the provision file; then no argument at all. */
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_PROVISION, &pv);
	res[i++] = b_ioctl(b, SGX_IOC_ENCLAVE_PROVISION, NULL);
#undef ADD
	while (i < NSTEPS)
		res[i++] = 0;
	free(secs);
	free(src);
	free(ss);
}

TEST(daemon_encl_ioctl_errors_match_embedded)
{
	struct edaemon ed = { 0 };
	struct backend emb = { 0 }, pro = { 0 };
	long r_emb[NSTEPS], r_pro[NSTEPS];
	uint64_t c_emb[NSTEPS] = { 0 }, c_pro[NSTEPS] = { 0 };
	struct sgx_enclave_provision pv = { .fd = 0 };
	struct sgxd_client *other;
	char why[256];
	int st = -1;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	emb.p = mgr_platform(256, 1, false, true);	/* the daemon's CPU is SGX2 */
	REQUIRE(emb.p);
	REQUIRE_EQ(sgx_open(emb.p, &emb.encl), 0);
	pro.c = conn_in(&ed, "/");
	REQUIRE(pro.c);
	REQUIRE_EQ(sgxd_encl_open(pro.c, &pro.h, &st), 0);
	REQUIRE_EQ(st, 0);
	run_sequence(&emb, r_emb, c_emb);
	run_sequence(&pro, r_pro, c_pro);
	for (int i = 0; i < NSTEPS; i++) {
		if (r_emb[i] != r_pro[i] || c_emb[i] != c_pro[i])
			test_fail_at(__FILE__, __LINE__, "step %d: embedded %ld count %llu, "
				     "daemon %ld count %llu", i, r_emb[i],
				     (unsigned long long)c_emb[i], r_pro[i],
				     (unsigned long long)c_pro[i]);
	}
	/* Spot checks of the kernel's errnos. */
	CHECK_EQ(r_pro[0], -EINVAL);		/* ADD before CREATE */
	CHECK_EQ(r_pro[3], 0);			/* CREATE */
	CHECK_EQ(r_pro[5], -EINVAL);		/* src misaligned */
	CHECK_EQ(r_pro[8], -EINVAL);		/* past ELRANGE */
	CHECK_EQ(c_pro[8], 0xabcd);		/* count untouched: nothing added */
	CHECK_EQ(r_pro[9], -EFAULT);		/* SECINFO NULL */
	CHECK_EQ(r_pro[10], -EFAULT);		/* src NULL */
	CHECK_EQ(r_pro[12], 0);
	CHECK_EQ(c_pro[12], 16 * 4096);
	CHECK_EQ(r_pro[15], -ENOTTY);
	CHECK_EQ(r_pro[19], -EINVAL);		/* PROVISION, a foreign fd */
	CHECK_EQ(r_pro[20], -EFAULT);		/* PROVISION, arg NULL */
	/* After INIT: ADD_PAGES refused (-EINVAL, as the kernel). */
	{
		struct penc e;
		uint64_t count = 0;

		REQUIRE_EQ(p_create(&e, pro.c, 2 * BASE, 16 * PG), 0);
		REQUIRE_EQ(p_add(&e, 0, 2, NULL), 0);
		REQUIRE_EQ(p_init(&e), 0);
		CHECK_EQ(p_add(&e, 2 * PG, 1, &count), -EINVAL);
		CHECK_EQ(p_init(&e), -EINVAL);
		/* PROVISION with fd 0 (open, not the provision file): the kernel's -EINVAL. */
		CHECK_EQ(p_ioctl(&e, SGX_IOC_ENCLAVE_PROVISION, &pv), -EINVAL);
		/* Another client may not use this connection's handle. */
		other = conn_in(&ed, "/");
		REQUIRE(other);
		{
			struct penc f = e;

			f.c = other;
			CHECK_EQ(p_add(&f, 3 * PG, 1, NULL), -EBADF);
			CHECK_EQ(p_ioctl(&f, 0xdead, NULL), -EBADF);
			CHECK_EQ(p_release(&f), -EBADF);
		}
		sgxd_client_close(other);
		CHECK_EQ(p_release(&e), 0);
	}
	sgx_release(emb.encl);
	CHECK_EQ(mgr_platform_finish(emb.p), 0);
	sgxd_client_close(pro.c);
	pro.c = conn(&ed, SGXD_ROLE_CLI);
	CHECK(cg_wait(pro.c, "/", 0, 5000));
	CHECK(status_idle(pro.c));
	sgxd_client_close(pro.c);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

/* A forked client: attach to cg, then build enclaves page by page forever. */
static void adder_child(const char *sock, const char *cg, int report_fd, uint64_t seed)
{
	struct edaemon ed;
	struct sgxd_client *c;
	uint64_t n = 0;

	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	c = conn_in(&ed, cg);
	if (!c)
		_exit(2);
	for (;;) {
		struct penc e;
		uint64_t pages = 20 + (seed++ % 60);

		if (p_create(&e, c, BASE + (n % 16) * 0x100000000ull, 128 * PG))
			_exit(3);
		for (uint64_t i = 0; i < pages; i += 4) {
			if (p_add(&e, i * PG, 4, NULL))
				_exit(4);
			if (write(report_fd, "x", 1) != 1)
				_exit(5);
		}
		if (n % 3 == 0 && p_init(&e))
			_exit(6);
		if (n % 2 == 0 && p_release(&e))	/* else: stays open until the kill */
			_exit(7);
		n++;
	}
}

TEST_TIMEOUT(daemon_encl_client_killed_mid_add_pages, 120)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *good;
	uint64_t seed = test_seed();
	char why[256];

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/k"), 0);
	CHECK_EQ(cg_op(adm, 1, "/g"), 0);
	CHECK_EQ(cg_max_pages(adm, "/k", 48), 0);	/* its ADD_PAGES reclaim: killed mid-reclaim too */
	good = conn_in(&ed, "/g");
	REQUIRE(good);
	for (int round = 0; round < 8; round++) {
		int pfd[2];
		pid_t pid;
		char buf[256];
		long got = 0, want = 5 + (long)((seed >> (round * 4)) % 60);
		struct penc e;

		REQUIRE_EQ(pipe(pfd), 0);
		pid = fork();
		REQUIRE(pid >= 0);
		if (!pid) {
			close(pfd[0]);
			adder_child(ed.sock, "/k", pfd[1], seed + (uint64_t)round);
		}
		close(pfd[1]);
		while (got < want) {
			ssize_t n = read(pfd[0], buf, sizeof(buf));

			if (n <= 0)
				break;
			got += n;
		}
		CHECK(got >= want);			/* else the child failed */
		usleep((useconds_t)((seed >> round) % 3000));	/* anywhere in a message or ioctl */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pfd[0]);
		/* Its enclaves are gone, nothing else: the good client builds and keeps its own. */
		CHECK(cg_wait(adm, "/k", 0, 5000));
		REQUIRE_EQ(p_create(&e, good, BASE, 32 * PG), 0);
		CHECK_EQ(p_add(&e, 0, 10, NULL), 0);
		CHECK_EQ(p_init(&e), 0);
		CHECK_EQ(cg_cur(adm, "/g"), 12 * PG);
		CHECK_EQ(p_release(&e), 0);
	}
	sgxd_client_close(good);
	CHECK(cg_wait(adm, "/", 0, 5000));
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

/*
 * misc.max lowered under the usage of /v, whose two enclaves have only their
 * SECS and VA pages left once the worker evicted their REG pages.
 */
static void oom_scenario(enum sgx_epc_oom_policy policy)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *v, *w;
	struct penc e1, e2, ew;
	int r1, r2;
	char why[256];

	REQUIRE_EQ(edaemon_start(&ed, 256, policy), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/v"), 0);
	CHECK_EQ(cg_op(adm, 1, "/w"), 0);
	v = conn_in(&ed, "/v");
	w = conn_in(&ed, "/w");
	REQUIRE(v && w);
	REQUIRE_EQ(p_create(&e1, v, BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&e1, 0, 8, NULL), 0);
	REQUIRE_EQ(p_create(&e2, v, 2 * BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&e2, 0, 8, NULL), 0);
	REQUIRE_EQ(p_create(&ew, w, 3 * BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&ew, 0, 8, NULL), 0);
	CHECK_EQ(cg_cur(adm, "/v"), 20 * PG);
	CHECK_EQ(cg_max_pages(adm, "/v", 1), 0);
	if (policy == SGX_EPC_OOM_KILL) {
		for (int i = 0; i < 500 && cg_val(adm, "/v", "misc.events") < 1; i++)
			usleep(10000);
		CHECK_EQ(cg_val(adm, "/v", "misc.events"), 1);
		usleep(100000);		/* a draining victim is never replaced */
		CHECK_EQ(cg_val(adm, "/v", "misc.events"), 1);
	} else {
		usleep(300000);
		CHECK_EQ(cg_val(adm, "/v", "misc.events"), 0);
	}
	CHECK_EQ(cg_max(adm, "/v", "sgx_epc max"), 0);
	r1 = p_add(&e1, 8 * PG, 1, NULL);
	r2 = p_add(&e2, 8 * PG, 1, NULL);
	if (policy == SGX_EPC_OOM_KILL) {
		/* Exactly one victim: its ioctls answer -ENOMEM. */
		CHECK((r1 == -ENOMEM) != (r2 == -ENOMEM));
		CHECK(r1 == 0 || r2 == 0);
		CHECK_EQ(p_init(r1 ? &e1 : &e2), -ENOMEM);
	} else {
		CHECK_EQ(r1, 0);
		CHECK_EQ(r2, 0);
	}
	/* The other cgroup's enclave is untouched. */
	CHECK_EQ(cg_cur(adm, "/w"), 10 * PG);
	CHECK_EQ(p_add(&ew, 8 * PG, 1, NULL), 0);
	CHECK_EQ(p_init(&ew), 0);
	CHECK_EQ(cg_val(adm, "/w", "misc.events"), 0);
	CHECK_EQ(p_release(&e1), 0);
	CHECK_EQ(p_release(&e2), 0);
	CHECK(cg_wait(adm, "/v", 0, 5000));
	sgxd_client_close(v);
	sgxd_client_close(w);
	CHECK(cg_wait(adm, "/", 0, 5000));
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

TEST(daemon_encl_oom_kill_one_victim)
{
	oom_scenario(SGX_EPC_OOM_KILL);
}

TEST(daemon_encl_oom_enomem_kills_nothing)
{
	oom_scenario(SGX_EPC_OOM_ENOMEM);
}

/* Stress: a worker process builds, adds, initializes and releases enclaves at random. */
static void stress_child(const char *sock, const char *cg, uint64_t seed)
{
	struct edaemon ed;
	struct sgxd_client *c;
	struct penc e[3];
	bool open_[3] = { false, false, false };

	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	c = conn_in(&ed, cg);
	if (!c)
		_exit(2);
	for (uint64_t n = 0;; n++) {
		uint64_t x = seed ^ (n * 0x9E3779B97F4A7C15ull);
		int k = (int)(x % 3);

		x ^= x >> 29;
		if (open_[k]) {
			/* Any result is fine (an OOM victim answers -ENOMEM); the connection must live. */
			if (p_release(&e[k]) == -EPROTO)
				_exit(3);
			open_[k] = false;
			continue;
		}
		if (p_create(&e[k], c, BASE + (uint64_t)k * 0x100000000ull, 256 * PG) == -EPROTO)
			_exit(4);
		open_[k] = true;
		for (uint64_t i = 0, pages = 1 + (x >> 8) % 80; i < pages; i += 8)
			if (p_add(&e[k], i * PG, 8, NULL) == -EPROTO)
				_exit(5);
		if ((x >> 20) & 1)
			p_init(&e[k]);
		if ((x >> 21) % 7 == 0) {	/* sometimes: leave, enclaves and all */
			sgxd_client_close(c);
			c = conn_in(&ed, cg);
			if (!c)
				_exit(6);
			open_[0] = open_[1] = open_[2] = false;
		}
	}
}

TEST_TIMEOUT(daemon_encl_stress_kills_and_limits, 180)
{
	static const char *const cgs[] = { "/s0", "/s1", "/s1/t", "/s2" };
	enum { NW = 6, NCG = 4 };
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *lim;
	pid_t pids[NW];
	uint64_t seed = test_seed(), x = seed | 1;
	struct timespec t0, t;
	char why[256];
	int kills = 0;

	REQUIRE_EQ(edaemon_start(&ed, 512, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	lim = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm && lim);
	for (int i = 0; i < NCG; i++)
		CHECK_EQ(cg_op(adm, 1, cgs[i]), 0);
	for (int i = 0; i < NW; i++) {
		pids[i] = fork();
		REQUIRE(pids[i] >= 0);
		if (!pids[i])
			stress_child(ed.sock, cgs[i % NCG], seed + (uint64_t)i * 7919);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Another client changes the limits while they run. */
		k = (int)(x % NCG);
		switch ((x >> 8) % 4) {
		case 0:
			CHECK_EQ(cg_max(lim, cgs[k], "sgx_epc max"), 0);
			break;
		case 1:
			CHECK_EQ(cg_max_pages(lim, cgs[k], 8 + (x >> 16) % 32), 0);
			break;
		default:
			CHECK_EQ(cg_max_pages(lim, cgs[k], 64 + (x >> 16) % 200), 0);
			break;
		}
		/* And a random worker dies. */
		if ((x >> 24) % 3 == 0) {
			int w = (int)((x >> 32) % NW);
			int status;

			kill(pids[w], SIGKILL);
			waitpid(pids[w], &status, 0);
			CHECK(WIFSIGNALED(status));	/* not an exit from a protocol failure */
			kills++;
			pids[w] = fork();
			REQUIRE(pids[w] >= 0);
			if (!pids[w])
				stress_child(ed.sock, cgs[w % NCG], x);
		}
		usleep((useconds_t)(20000 + (x >> 40) % 80000));
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 8);
	for (int i = 0; i < NW; i++) {
		int status;

		kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
		CHECK(WIFSIGNALED(status));
	}
	CHECK(kills > 0);
	{
		struct sgx_platform_stats st;

		sgx_platform_get_stats(sgxd_platform(ed.d), &st);
		CHECK(st.eadd > 500);		/* the workers did work */
		CHECK(st.ewb > 0);		/* and hit their limits */
	}
	/* The daemon still serves, and every charge came back. */
	for (int i = 0; i < NCG; i++)
		CHECK(cg_wait(adm, cgs[i], 0, 10000));
	CHECK(cg_wait(adm, "/", 0, 10000));
	CHECK(status_idle(adm));
	for (int i = NCG - 1; i >= 0; i--)
		CHECK_EQ(cg_op(adm, 0, cgs[i]), 0);
	sgxd_client_close(lim);
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

/* A malformed ENCL_IOCTL ends the connection: ERROR -EBADMSG, its enclaves released. */
TEST(daemon_encl_malformed_ioctl_drops_connection)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *c;
	struct sgxd_wbuf *w = malloc(sizeof(*w));
	static uint8_t page[4096];
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	const uint8_t *rep;
	size_t len;
	struct penc e;

	REQUIRE(w);
	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/m"), 0);
	c = conn_in(&ed, "/m");
	REQUIRE(c);
	REQUIRE_EQ(p_create(&e, c, BASE, 16 * PG), 0);
	REQUIRE_EQ(p_add(&e, 0, 2, NULL), 0);
	CHECK_EQ(cg_cur(adm, "/m"), 4 * PG);
	/* Claims 2 pages of a valid range and carries one. */
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = SGX_SECINFO_REG | SGX_SECINFO_R;
	sgxd_w_init(w);
	sgxd_w_u32(w, e.h);
	sgxd_w_u32(w, SGX_IOC_ENCLAVE_ADD_PAGES);
	sgxd_w_u8(w, 1);
	sgxd_w_u64(w, 0x7000000000ull);		/* src: aligned, not NULL */
	sgxd_w_u64(w, 4 * PG);
	sgxd_w_u64(w, 2 * PG);
	sgxd_w_u64(w, 2 * PG);
	sgxd_w_u64(w, 0);
	sgxd_w_u8(w, 1);
	sgxd_w_bytes(w, &secinfo, sizeof(secinfo));
	sgxd_w_u32(w, 1);
	sgxd_w_bytes(w, page, sizeof(page));
	CHECK_EQ(sgxd_client_call(c, SGXD_MSG_ENCL_IOCTL, w, &rep, &len), -EBADMSG);
	CHECK(cg_wait(adm, "/m", 0, 5000));
	/* More pages than the payload can hold, and an unknown argument flag. */
	for (int k = 0; k < 2; k++) {
		struct sgxd_client *x = conn_in(&ed, "/m");

		REQUIRE(x);
		sgxd_w_init(w);
		sgxd_w_u32(w, 1);
		sgxd_w_u32(w, k ? SGX_IOC_ENCLAVE_INIT : SGX_IOC_ENCLAVE_ADD_PAGES);
		sgxd_w_u8(w, k ? 7 : 1);
		if (!k) {
			for (int i = 0; i < 5; i++)
				sgxd_w_u64(w, 0);
			sgxd_w_u8(w, 0);
			sgxd_w_u32(w, 17);
		}
		CHECK_EQ(sgxd_client_call(x, SGXD_MSG_ENCL_IOCTL, w, &rep, &len), -EBADMSG);
		sgxd_client_close(x);
	}
	sgxd_client_close(c);
	CHECK(cg_wait(adm, "/", 0, 5000));
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	free(w);
	edaemon_stop(&ed);
}

/*
 * Placement by credentials (root only: needs a writable cgroup v2 hierarchy
 * and another uid): a process of another uid, in cgroup v2 /sgxemu-test-N,
 * is placed there by default and may name only cgroups under it.
 */
#define UNIFIED "/sys/fs/cgroup/unified"

TEST(daemon_encl_attach_follows_credentials)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm;
	char real[128], mine[64], sub[80], twin[80], procs[160], buf[32];
	int status, fd;
	pid_t pid;

	if (geteuid())
		SKIP("needs root");
	snprintf(mine, sizeof(mine), "/sgxemu-test-%d", (int)getpid());
	snprintf(real, sizeof(real), UNIFIED "%s", mine);
	if (mkdir(real, 0755))
		SKIP("no writable cgroup v2 hierarchy at " UNIFIED);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", real);
	snprintf(sub, sizeof(sub), "%s/sub", mine);
	snprintf(twin, sizeof(twin), "%sx", mine);
	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	chmod(ed.dir, 0755);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	CHECK_EQ(cg_op(adm, 1, "/other"), 0);
	CHECK_EQ(cg_op(adm, 1, twin), 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		gid_t g = 0;		/* the socket's group (the daemon's gid): admitted */
		struct sgxd_client *c;
		char got[128];
		int st = -1, fails = 0;
		struct penc e;

		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(100);
		close(fd);
		if (setgroups(1, &g) || setgid(65534) || setuid(65534))
			_exit(101);
		c = conn(&ed, SGXD_ROLE_PROGRAM);
		if (!c)
			_exit(102);
		/* Another cgroup, or one whose name only starts like ours: refused. */
		if (sgxd_attach(c, "/other", NULL, 0, &st) || st != -EACCES)
			fails |= 1;
		if (sgxd_attach(c, twin, NULL, 0, &st) || st != -EACCES)
			fails |= 2;
		if (sgxd_attach(c, "/", NULL, 0, &st) || st != -EACCES)
			fails |= 4;
		/* Default: the own cgroup, created in the EPC tree. */
		if (sgxd_attach(c, NULL, got, sizeof(got), &st) || st || strcmp(got, mine))
			fails |= 8;
		/* Under it: allowed by the rule (so a missing one is -ENOENT), then made. */
		if (sgxd_attach(c, sub, got, sizeof(got), &st) || st != -ENOENT)
			fails |= 16;
		if (cg_op(c, 1, sub) || sgxd_attach(c, sub, got, sizeof(got), &st) || st ||
		    strcmp(got, sub))
			fails |= 32;
		if (p_create(&e, c, BASE, 16 * PG) || p_add(&e, 0, 2, NULL))
			fails |= 64;
		sgxd_client_close(c);
		_exit(fails);
	}
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(cg_wait(adm, mine, 0, 5000));
	CHECK_EQ(cg_val(adm, sub, "misc.peak"), 4 * PG);	/* charged under its own cgroup */
	CHECK_EQ(cg_val(adm, mine, "misc.peak"), 4 * PG);
	CHECK_EQ(cg_val(adm, "/other", "misc.peak"), 0);
	CHECK_EQ(cg_op(adm, 0, sub), 0);
	CHECK_EQ(cg_op(adm, 0, mine), 0);
	(void)buf;
	rmdir(real);
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	edaemon_stop(&ed);
}

/* ---- ENCL_LIST: the monitor's per-enclave view (sgxemu status --enclaves) ---- */

static int elist(struct sgxd_client *c, struct sgxd_encl_entry **e, size_t *nr)
{
	int st = -1, ret = sgxd_encl_list(c, e, nr, &st);

	return ret ? ret : st;
}

static const struct sgxd_encl_entry *elist_at(const struct sgxd_encl_entry *e, size_t nr,
					      uint64_t base)
{
	for (size_t i = 0; i < nr; i++)
		if (e[i].base == base)
			return &e[i];
	return NULL;
}

/* The EPC pages the list shows for cgroup path, in bytes (misc.current's unit). */
static long long elist_bytes(const struct sgxd_encl_entry *e, size_t nr, const char *path)
{
	long long sum = 0;

	for (size_t i = 0; i < nr; i++)
		if (!strcmp(e[i].cgroup, path))
			sum += (long long)(e[i].epc_pages * PG);
	return sum;
}

TEST_TIMEOUT(daemon_encl_list_pids_cgroups_oom_release, 60)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *v;
	const struct sgxd_encl_entry *x1, *x2, *xw;
	struct sgxd_encl_entry *e;
	struct penc e1, e2;
	int up[2], down[2], status;
	char why[256], b = 0;
	size_t nr;
	pid_t child;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 0);
	sgxd_encl_list_free(e, nr);
	CHECK_EQ(cg_op(adm, 1, "/v"), 0);
	CHECK_EQ(cg_op(adm, 1, "/w"), 0);
	REQUIRE_EQ(pipe(up), 0);
	REQUIRE_EQ(pipe(down), 0);
	/* The second program is another process: its own pid in the list. */
	child = fork();
	REQUIRE(child >= 0);
	if (!child) {
		struct sgxd_client *w = conn_in(&ed, "/w");
		struct penc ew;
		char ok = 1;

		if (!w || p_create(&ew, w, 3 * BASE, 32 * PG) || p_add(&ew, 0, 4, NULL))
			ok = 0;
		if (write(up[1], &ok, 1) != 1 || read(down[0], &ok, 1) != 1)
			_exit(1);
		sgxd_client_close(w);	/* the connection's end releases the enclave */
		_exit(0);
	}
	v = conn_in(&ed, "/v");
	REQUIRE(v);
	REQUIRE_EQ(p_create(&e1, v, BASE, 64 * PG), 0);
	REQUIRE_EQ(p_add(&e1, 0, 8, NULL), 0);
	CHECK_EQ(p_init(&e1), 0);
	REQUIRE_EQ(p_create(&e2, v, 2 * BASE, 16 * PG), 0);
	REQUIRE_EQ(p_add(&e2, 0, 6, NULL), 0);
	REQUIRE_EQ(read(up[0], &b, 1), 1);
	REQUIRE_EQ(b, 1);

	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 3);
	x1 = elist_at(e, nr, BASE);
	x2 = elist_at(e, nr, 2 * BASE);
	xw = elist_at(e, nr, 3 * BASE);
	REQUIRE(x1 && x2 && xw);
	CHECK_EQ(x1->pid, (uint32_t)getpid());
	CHECK_EQ(x2->pid, (uint32_t)getpid());
	CHECK_EQ(xw->pid, (uint32_t)child);
	CHECK_EQ(x1->uid, (uint32_t)geteuid());
	CHECK(!strcmp(x1->cgroup, "/v") && !strcmp(x2->cgroup, "/v") && !strcmp(xw->cgroup, "/w"));
	CHECK_EQ(x1->size, 64 * PG);
	CHECK_EQ(x2->size, 16 * PG);
	CHECK_EQ(xw->size, 32 * PG);
	/* REG + SECS + one VA page each; nothing swapped (no pressure). */
	CHECK_EQ(x1->epc_pages, 10);
	CHECK_EQ(x2->epc_pages, 8);
	CHECK_EQ(xw->epc_pages, 6);
	CHECK_EQ(x1->swapped_pages + x2->swapped_pages + xw->swapped_pages, 0);
	CHECK(x1->flags & SGXD_ENCL_F_INITIALIZED);
	CHECK((x2->flags & (SGXD_ENCL_F_CREATED | SGXD_ENCL_F_INITIALIZED)) ==
	      SGXD_ENCL_F_CREATED);
	CHECK(!((x1->flags | x2->flags | xw->flags) & SGXD_ENCL_F_KILLED));
	CHECK(x1->id < x2->id);
	/* The rows add up to the cgroups' misc.current. */
	CHECK_EQ(elist_bytes(e, nr, "/v"), cg_cur(adm, "/v"));
	CHECK_EQ(elist_bytes(e, nr, "/w"), cg_cur(adm, "/w"));
	CHECK_EQ(elist_bytes(e, nr, "/v") + elist_bytes(e, nr, "/w"), cg_cur(adm, "/"));
	sgxd_encl_list_free(e, nr);

	/* An OOM kill in /v: the victim shows killed, the rest does not. */
	CHECK_EQ(cg_max_pages(adm, "/v", 1), 0);
	for (int i = 0; i < 500 && cg_val(adm, "/v", "misc.events") < 1; i++)
		usleep(10000);
	CHECK_EQ(cg_val(adm, "/v", "misc.events"), 1);
	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 3);
	x1 = elist_at(e, nr, BASE);
	x2 = elist_at(e, nr, 2 * BASE);
	xw = elist_at(e, nr, 3 * BASE);
	REQUIRE(x1 && x2 && xw);
	CHECK(!!(x1->flags & SGXD_ENCL_F_KILLED) + !!(x2->flags & SGXD_ENCL_F_KILLED) == 1);
	CHECK(!(xw->flags & SGXD_ENCL_F_KILLED));
	sgxd_encl_list_free(e, nr);
	CHECK_EQ(cg_max(adm, "/v", "sgx_epc max"), 0);

	/* Released (by handle, by the other process's end): the list empties. */
	CHECK_EQ(p_release(&e1), 0);
	CHECK_EQ(p_release(&e2), 0);
	REQUIRE_EQ(write(down[1], &b, 1), 1);
	REQUIRE_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(cg_wait(adm, "/", 0, 5000));
	nr = 1;
	for (int i = 0; i < 500 && nr; i++) {
		REQUIRE_EQ(elist(adm, &e, &nr), 0);
		sgxd_encl_list_free(e, nr);
		if (nr)
			usleep(10000);
	}
	CHECK_EQ(nr, 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	sgxd_client_close(v);
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

/*
 * More rows than one reply holds: enclaves in a cgroup with a ~3.8 KB path
 * (15 levels of 250-byte names), so a 64 KiB page takes about 16 of them.
 */
TEST_TIMEOUT(daemon_encl_list_pages, 60)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *a;
	struct sgxd_encl_entry *e;
	static char deep[SGXD_MAX_STR + 1];
	uint32_t h[40];
	const uint8_t *rep;
	struct sgxd_rbuf r;
	size_t nr, len, n = 0;
	char why[256];
	int st;

	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	deep[0] = '\0';
	for (int lvl = 0; lvl < 15; lvl++) {
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "/%c", 'a' + lvl);
		memset(deep + n, 'x', 249);
		n += 249;
		deep[n] = '\0';
		REQUIRE_EQ(cg_op(adm, 1, deep), 0);
	}
	a = conn_in(&ed, deep);
	REQUIRE(a);
	for (int i = 0; i < 40; i++) {
		REQUIRE_EQ(sgxd_encl_open(a, &h[i], &st), 0);
		REQUIRE_EQ(st, 0);
	}
	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 40);
	for (size_t i = 0; i < nr; i++) {
		CHECK(!strcmp(e[i].cgroup, deep));
		CHECK_EQ(e[i].pid, (uint32_t)getpid());
		CHECK_EQ(e[i].epc_pages, 0);	/* open, not created: nothing charged yet */
		CHECK_EQ(e[i].flags & ~SGXD_ENCL_F_SGX2, 0);
		if (i)
			CHECK(e[i].id > e[i - 1].id);
	}

	/* By hand: the first page is partial and says so; after the last id, nothing. */
	{
		struct sgxd_wbuf *w = malloc(sizeof(*w));
		uint32_t total, count;
		uint8_t more;

		REQUIRE(w);
		sgxd_w_init(w);
		sgxd_w_u64(w, 0);
		REQUIRE_EQ(sgxd_client_call(adm, SGXD_MSG_ENCL_LIST, w, &rep, &len), 0);
		sgxd_r_init(&r, rep, len);
		CHECK_EQ(sgxd_r_s32(&r), 0);
		total = sgxd_r_u32(&r);
		count = sgxd_r_u32(&r);
		more = sgxd_r_u8(&r);
		CHECK_EQ(total, 40);
		CHECK(count > 1 && count < 40);
		CHECK_EQ(more, 1);
		sgxd_w_init(w);
		sgxd_w_u64(w, e[nr - 1].id);
		REQUIRE_EQ(sgxd_client_call(adm, SGXD_MSG_ENCL_LIST, w, &rep, &len), 0);
		sgxd_r_init(&r, rep, len);
		CHECK_EQ(sgxd_r_s32(&r), 0);
		CHECK_EQ(sgxd_r_u32(&r), 40);
		CHECK_EQ(sgxd_r_u32(&r), 0);
		CHECK_EQ(sgxd_r_u8(&r), 0);
		CHECK_EQ(sgxd_r_end(&r), 0);
		free(w);
	}
	sgxd_encl_list_free(e, nr);

	/* Half released: the rest is still listed, across pages, exactly once. */
	for (int i = 0; i < 40; i += 2)
		REQUIRE_EQ(sgxd_encl_release(a, h[i], &st), 0);
	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 20);
	sgxd_encl_list_free(e, nr);
	sgxd_client_close(a);

	/* Strict decoding: a short payload is refused and the connection dropped. */
	{
		struct sgxd_client *bad = conn(&ed, SGXD_ROLE_CLI);
		struct sgxd_wbuf *w = malloc(sizeof(*w));

		REQUIRE(bad && w);
		sgxd_w_init(w);
		sgxd_w_u32(w, 0);
		CHECK(sgxd_client_call(bad, SGXD_MSG_ENCL_LIST, w, &rep, &len) != 0);
		sgxd_w_init(w);
		sgxd_w_u64(w, 0);
		sgxd_w_u8(w, 0);		/* trailing garbage */
		sgxd_client_close(bad);
		bad = conn(&ed, SGXD_ROLE_CLI);
		REQUIRE(bad);
		CHECK(sgxd_client_call(bad, SGXD_MSG_ENCL_LIST, w, &rep, &len) != 0);
		sgxd_client_close(bad);
		free(w);
	}
	for (int i = 0; i < 500; i++) {
		REQUIRE_EQ(elist(adm, &e, &nr), 0);
		sgxd_encl_list_free(e, nr);
		if (!nr)
			break;
		usleep(10000);
	}
	CHECK_EQ(nr, 0);
	for (int lvl = 14; lvl >= 0; lvl--) {
		for (int i = 0; i < 500 && cg_op(adm, 0, deep) == -EBUSY; i++)
			usleep(10000);
		*strrchr(deep, '/') = '\0';
	}
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

/* Who sees what: a non-root uid only its own processes' enclaves; root every one. */
TEST_TIMEOUT(daemon_encl_list_by_uid, 60)
{
	struct edaemon ed = { 0 };
	struct sgxd_client *adm, *a;
	struct sgxd_encl_entry *e;
	int up[2], down[2], status;
	struct penc mine;
	char why[256], b = 0;
	size_t nr;
	pid_t child;

	if (geteuid())
		SKIP("needs root (setuid to another user)");
	REQUIRE_EQ(edaemon_start(&ed, 256, SGX_EPC_OOM_KILL), 0);
	chmod(ed.dir, 0755);
	adm = conn(&ed, SGXD_ROLE_CLI);
	REQUIRE(adm);
	a = conn_in(&ed, "/");
	REQUIRE(a);
	REQUIRE_EQ(p_create(&mine, a, BASE, 16 * PG), 0);
	REQUIRE_EQ(pipe(up), 0);
	REQUIRE_EQ(pipe(down), 0);
	child = fork();
	REQUIRE(child >= 0);
	if (!child) {
		gid_t g = 0;		/* the socket's group: admitted */
		struct sgxd_client *c, *cli;
		struct sgxd_encl_entry *ce;
		struct penc pe;
		size_t cn = 0;
		int fails = 0;

		if (setgroups(1, &g) || setgid(65534) || setuid(65534))
			_exit(101);
		c = conn(&ed, SGXD_ROLE_PROGRAM);
		cli = conn(&ed, SGXD_ROLE_CLI);
		if (!c || !cli)
			_exit(102);
		if (p_create(&pe, c, 2 * BASE, 16 * PG) || p_add(&pe, 0, 2, NULL))
			fails |= 1;
		/* From a cli connection of the same uid: only its own enclave. */
		if (elist(cli, &ce, &cn) || cn != 1)
			fails |= 2;
		else if (ce[0].pid != (uint32_t)getpid() || ce[0].uid != 65534 ||
			 ce[0].base != 2 * BASE || ce[0].epc_pages != 4)
			fails |= 4;
		if (!fails)
			sgxd_encl_list_free(ce, cn);
		if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(103);
		sgxd_client_close(cli);
		sgxd_client_close(c);
		_exit(fails);
	}
	REQUIRE_EQ(read(up[0], &b, 1), 1);
	/* Root sees both, each with its owner. */
	REQUIRE_EQ(elist(adm, &e, &nr), 0);
	CHECK_EQ(nr, 2);
	if (nr == 2) {
		CHECK(elist_at(e, nr, BASE) && elist_at(e, nr, BASE)->uid == 0);
		CHECK(elist_at(e, nr, 2 * BASE) && elist_at(e, nr, 2 * BASE)->uid == 65534 &&
		      elist_at(e, nr, 2 * BASE)->pid == (uint32_t)child);
	}
	sgxd_encl_list_free(e, nr);
	REQUIRE_EQ(write(down[1], &b, 1), 1);
	REQUIRE_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(p_release(&mine), 0);
	sgxd_client_close(a);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	CHECK(status_idle(adm));
	sgxd_client_close(adm);
	CHECK_EQ(sgx_platform_check_idle(sgxd_platform(ed.d), why, sizeof(why)), 0);
	edaemon_stop(&ed);
}

// SPDX-License-Identifier: MIT
/*
 * Test helpers for the daemon: an in-process daemon on a temporary socket,
 * clients and cgroup operations through the protocol, and enclaves built
 * over the protocol (daemon_util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "enclave/sigstruct.h"
#include "sgxemu/arch.h"
#include "tests/util/cpu_encl.h"
#include "tests/util/daemon_util.h"
#include "tests/util/mgr_util.h"

#define PG 4096ull

/* ---- an in-process daemon on a temporary socket ---- */

static void *edaemon_thread(void *arg)
{
	sgxd_run(((struct edaemon *)arg)->d);
	return NULL;
}

int edaemon_start(struct edaemon *ed, uint64_t epc_pages, enum sgx_epc_oom_policy oom)
{
	struct sgxd_config cfg;
	char err[256];
	int ret;

	snprintf(ed->dir, sizeof(ed->dir), "/tmp/sgxemu-encl-test.XXXXXX");
	if (!mkdtemp(ed->dir))
		return -errno;
	snprintf(ed->sock, sizeof(ed->sock), "%s/s.sock", ed->dir);
	snprintf(ed->log, sizeof(ed->log), "%s/log", ed->dir);
	sgxd_default_config(&cfg);
	cfg.socket_path = ed->sock;
	cfg.cpu.epc_size = epc_pages * PG;
	cfg.cpu.have_secret = true;
	memset(cfg.cpu.secret, 0x5a, sizeof(cfg.cpu.secret));
	cfg.oom_policy = oom;
	ed->log_fd = open(ed->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cfg.log_fd = ed->log_fd;
	ret = sgxd_create(&cfg, &ed->d, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "    sgxd_create: %s\n", err);
		return ret;
	}
	return -pthread_create(&ed->thread, NULL, edaemon_thread, ed);
}

void edaemon_stop(struct edaemon *ed)
{
	char p[256];

	if (ed->d) {
		sgxd_stop(ed->d);
		pthread_join(ed->thread, NULL);
		sgxd_destroy(ed->d);
		ed->d = NULL;
	}
	close(ed->log_fd);
	unlink(ed->log);
	snprintf(p, sizeof(p), "%s.lock", ed->sock);
	unlink(p);
	unlink(ed->sock);
	rmdir(ed->dir);
}

struct sgxd_client *conn(struct edaemon *ed, enum sgxd_role role)
{
	struct sgxd_client *c = NULL;
	char err[256];

	if (sgxd_client_connect(ed->sock, role, "test", &c, err, sizeof(err))) {
		fprintf(stderr, "    connect: %s\n", err);
		return NULL;
	}
	return c;
}

/* A client attached to path (0), or NULL. */
struct sgxd_client *conn_in(struct edaemon *ed, const char *path)
{
	struct sgxd_client *c = conn(ed, SGXD_ROLE_PROGRAM);
	int st = -1;

	if (c && (sgxd_attach(c, path, NULL, 0, &st) || st)) {
		fprintf(stderr, "    attach %s: %d\n", path, st);
		sgxd_client_close(c);
		return NULL;
	}
	return c;
}

int cg_op(struct sgxd_client *c, int mk, const char *path)
{
	int st = -1;

	if ((mk ? sgxd_cg_mkdir(c, path, &st) : sgxd_cg_rmdir(c, path, &st)))
		return -EPROTO;
	return st;
}

/* misc.current (or another misc file's number) through the protocol; -1 on error, -2 "max". */
long long cg_val(struct sgxd_client *c, const char *path, const char *file)
{
	char buf[128], *sp;
	int st = -1;

	if (sgxd_cg_read(c, path, file, buf, sizeof(buf), &st) || st)
		return -1;
	sp = strchr(buf, ' ');
	if (!sp)
		return -1;
	if (!strncmp(sp + 1, "max", 3))
		return -2;
	return strtoll(sp + 1, NULL, 0);
}

long long cg_cur(struct sgxd_client *c, const char *path)
{
	return cg_val(c, path, "misc.current");
}

int cg_max(struct sgxd_client *c, const char *path, const char *value)
{
	int st = -1;

	if (sgxd_cg_write(c, path, "misc.max", value, &st))
		return -EPROTO;
	return st;
}

int cg_max_pages(struct sgxd_client *c, const char *path, uint64_t pages)
{
	char v[64];

	snprintf(v, sizeof(v), "sgx_epc %llu", (unsigned long long)(pages * PG));
	return cg_max(c, path, v);
}

/* Wait up to ms for misc.current of path to become want. */
bool cg_wait(struct sgxd_client *c, const char *path, long long want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (cg_cur(c, path) == want)
			return true;
		usleep(10000);
	}
	return cg_cur(c, path) == want;
}

bool status_idle(struct sgxd_client *c)
{
	struct sgxd_status s;
	int st = -1;

	for (int i = 0; i < 500; i++) {
		if (sgxd_status(c, &s, &st) || st)
			return false;
		if (s.free_pages == s.total_pages && !s.nr_encls)
			return true;
		usleep(10000);
	}
	fprintf(stderr, "    STATUS: free %llu of %llu pages, %llu enclaves\n",
		(unsigned long long)s.free_pages, (unsigned long long)s.total_pages,
		(unsigned long long)s.nr_encls);
	return false;
}

/* ---- enclaves over the protocol (the mgr_util builders, through sgxd_encl_ioctl) ---- */

int p_ioctl(struct penc *e, unsigned long cmd, void *arg)
{
	int st = -1, ret = sgxd_encl_ioctl(e->c, e->h, cmd, arg, &st);

	return ret ? ret : st;
}

int p_open(struct penc *e, struct sgxd_client *c, uint64_t base, uint64_t size)
{
	int st = -1, ret;

	memset(e, 0, sizeof(*e));
	e->c = c;
	e->base = base;
	e->size = size;
	e->tag = base ^ size;
	ret = sgxd_encl_open(c, &e->h, &st);
	return ret ? ret : st;
}

int p_create_secs(struct penc *e, uint64_t base, uint64_t size)
{
	return p_create_secs_attr(e, base, size, SGX_ATTR_MODE64BIT);
}

int p_create_attr(struct penc *e, uint64_t attributes)
{
	return p_create_secs_attr(e, e->base, e->size, attributes);
}

int p_create_secs_attr(struct penc *e, uint64_t base, uint64_t size, uint64_t attributes)
{
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	struct sgx_enclave_create arg;
	int ret;

	memset(secs, 0, 4096);
	secs->base = base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->attributes = attributes;
	secs->xfrm = 3;
	arg.src = (uint64_t)(uintptr_t)secs;
	ret = p_ioctl(e, SGX_IOC_ENCLAVE_CREATE, &arg);
	if (!ret)
		sgx_mrenclave_ecreate(&e->mr, 1, size);
	free(secs);
	return ret;
}

/* open + CREATE of [base, base + size). */
int p_create(struct penc *e, struct sgxd_client *c, uint64_t base, uint64_t size)
{
	int ret = p_open(e, c, base, size);

	return ret ? ret : p_create_secs(e, base, size);
}

int p_add(struct penc *e, uint64_t offset, uint64_t n, uint64_t *count)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages arg;
	uint8_t *src = aligned_alloc(4096, n * 4096);
	int ret;

	for (uint64_t i = 0; i < n; i++)
		mgr_pattern(src + i * 4096, e->tag, e->base + offset + i * 4096, 0);
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	arg = (struct sgx_enclave_add_pages){
		.src = (uint64_t)(uintptr_t)src, .offset = offset, .length = n * 4096,
		.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE,
	};
	ret = p_ioctl(e, SGX_IOC_ENCLAVE_ADD_PAGES, &arg);
	for (uint64_t i = 0; i < arg.count / 4096 && i < n; i++)
		sgx_mrenclave_add_page(&e->mr, offset + i * 4096, secinfo.flags, src + i * 4096,
				       true);
	if (count)
		*count = arg.count;
	free(src);
	return ret;
}

int p_init(struct penc *e)
{
	return p_init_attr(e, SGX_ATTR_MODE64BIT);
}

int p_init_attr(struct penc *e, uint64_t attributes)
{
	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_mrenclave mr = e->mr;
	struct sgx_enclave_init arg;
	uint8_t hash[32];
	int ret;

	sgx_mrenclave_final(&mr, hash);
	sgx_sigstruct_init(ss, hash, attributes, 3);
	if (sgx_sigstruct_sign(cpu_test_signer(), ss)) {
		free(ss);
		return -EIO;
	}
	arg.sigstruct = (uint64_t)(uintptr_t)ss;
	ret = p_ioctl(e, SGX_IOC_ENCLAVE_INIT, &arg);
	free(ss);
	return ret;
}

int p_release(struct penc *e)
{
	int st = -1, ret = sgxd_encl_release(e->c, e->h, &st);

	return ret ? ret : st;
}

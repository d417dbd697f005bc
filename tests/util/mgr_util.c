// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/util/cpu_encl.h"
#include "sgx/epc_cgroup.h"
#include "sgx/sgx.h"
#include "tests/util/mgr_util.h"

struct sgx_platform *mgr_platform(uint64_t epc_pages, unsigned int nr_sections, bool ksgxd,
				  bool sgx2)
{
	struct sgx_platform_config c;
	struct sgx_platform *p;

	sgx_platform_default_config(&c);
	c.cpu_config.epc_size = epc_pages * 4096;
	c.cpu_config.nr_sections = nr_sections;
	c.cpu_config.sgx2 = sgx2;
	c.cpu_config.have_secret = true;
	memset(c.cpu_config.secret, 0x5a, sizeof(c.cpu_config.secret));
	c.no_ksgxd = !ksgxd;
	if (sgx_platform_create(&c, &p))
		return NULL;
	return p;
}

void mgr_pattern(void *page, uint64_t tag, uint64_t addr, uint64_t gen)
{
	uint64_t *w = page, x = tag * 0x9E3779B97F4A7C15ULL ^ addr ^ (gen << 48);
	unsigned int i;

	for (i = 0; i < 512; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x + i;
	}
}

long mgr_encl_create(struct mgr_encl *e, struct sgx_platform *p, uint64_t base, uint64_t size)
{
	return mgr_encl_create_cg(e, p, NULL, base, size);
}

long mgr_encl_create_cg(struct mgr_encl *e, struct sgx_platform *p, const char *cg,
			uint64_t base, uint64_t size)
{
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	struct sgx_enclave_create arg;
	long ret;

	memset(e, 0, sizeof(*e));
	e->p = p;
	e->base = base;
	e->size = size;
	e->attributes = SGX_ATTR_MODE64BIT;
	e->tag = base ^ size;
	if (sgx_open(p, &e->encl)) {
		free(secs);
		return -ENOMEM;
	}
	if (cg) {
		ret = sgx_encl_set_cgroup(e->encl, cg);
		if (ret) {
			free(secs);
			return ret;
		}
	}
	memset(secs, 0, 4096);
	secs->base = base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->attributes = e->attributes;
	secs->xfrm = 3;
	arg.src = (uint64_t)(uintptr_t)secs;
	ret = sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg);
	if (!ret)
		sgx_mrenclave_ecreate(&e->mr, 1, size);
	free(secs);
	return ret;
}

long mgr_encl_add(struct mgr_encl *e, uint64_t offset, uint64_t n, uint64_t secinfo_flags,
		  bool measure, uint64_t *count)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages arg;
	uint8_t *src = aligned_alloc(4096, n * 4096);
	uint64_t i;
	long ret;

	if (!src)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if ((secinfo_flags & SGX_SECINFO_PAGE_TYPE_MASK) == SGX_SECINFO_TCS)
			cpu_encl_make_tcs((struct sgx_tcs *)(src + i * 4096), 0, 0);
		else
			mgr_pattern(src + i * 4096, e->tag, e->base + offset + i * 4096, 0);
	}
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = secinfo_flags;
	arg = (struct sgx_enclave_add_pages){
		.src = (uint64_t)(uintptr_t)src, .offset = offset, .length = n * 4096,
		.secinfo = (uint64_t)(uintptr_t)&secinfo,
		.flags = measure ? SGX_PAGE_MEASURE : 0,
	};
	ret = sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_ADD_PAGES, (unsigned long)&arg);
	for (i = 0; i < arg.count / 4096; i++)
		sgx_mrenclave_add_page(&e->mr, offset + i * 4096, secinfo_flags, src + i * 4096,
				       measure);
	if (count)
		*count = arg.count;
	free(src);
	return ret;
}

long mgr_encl_init(struct mgr_encl *e)
{
	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_enclave_init arg;
	struct sgx_mrenclave mr = e->mr;
	uint8_t hash[32];
	long ret;

	sgx_mrenclave_final(&mr, hash);
	sgx_sigstruct_init(ss, hash, e->attributes, 3);
	if (sgx_sigstruct_sign(cpu_test_signer(), ss)) {
		free(ss);
		return -EIO;
	}
	arg.sigstruct = (uint64_t)(uintptr_t)ss;
	ret = sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&arg);
	free(ss);
	return ret;
}

long mgr_encl_build(struct mgr_encl *e, struct sgx_platform *p, uint64_t base, uint64_t size,
		    uint64_t n)
{
	long ret = mgr_encl_create(e, p, base, size);

	if (ret)
		return ret;
	if (n) {
		ret = mgr_encl_add(e, 0, n, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
				   false, NULL);
		if (ret)
			return ret;
	}
	return mgr_encl_init(e);
}

void mgr_encl_close(struct mgr_encl *e)
{
	if (e->encl)
		sgx_release(e->encl);
	e->encl = NULL;
}

int mgr_check_page(struct mgr_encl *e, uint64_t addr, uint64_t gen)
{
	static __thread uint8_t want[4096], got[4096];
	int ret;

	do {
		ret = sgx_encl_access(e->encl, addr, got, 4096, false);
	} while (ret == -EBUSY);
	if (ret)
		return ret;
	mgr_pattern(want, e->tag, addr, gen);
	return memcmp(want, got, 4096) ? 1 : 0;
}

int mgr_write_page(struct mgr_encl *e, uint64_t addr, uint64_t gen)
{
	static __thread uint8_t buf[4096];
	int ret;

	mgr_pattern(buf, e->tag, addr, gen);
	do {
		ret = sgx_encl_access(e->encl, addr, buf, 4096, true);
	} while (ret == -EBUSY);
	return ret;
}

uint64_t mgr_used_pages(struct sgx_platform *p)
{
	struct sgx_platform_stats s;

	sgx_platform_get_stats(p, &s);
	return s.total_pages - s.free_pages - s.poison_pages;
}

int mgr_platform_finish(struct sgx_platform *p)
{
	struct sgx_platform_stats st;
	char buf[256];
	int ret, i;

	/*
	 * A reclaimer (ksgxd) may still hold a closed enclave for the batch it
	 * isolated; it is released when that batch is done. Wait for it.
	 */
	for (i = 0; i < 2000; i++) {
		sgx_platform_get_stats(p, &st);
		if (!st.nr_encls)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	if (sgx_platform_check_idle(p, buf, sizeof(buf))) {
		fprintf(stderr, "check_idle: %s\n", buf);
		return -1;
	}
	/* Nothing charged: the root's misc.current, as user space reads it. */
	if (mgr_cg_current(p, "/") != 0) {
		fprintf(stderr, "check_idle: root misc.current is %lld\n",
			(long long)mgr_cg_current(p, "/"));
		return -1;
	}
	sgx_platform_get_stats(p, &st);
	if (st.free_pages + st.used_pages + st.poison_pages != st.total_pages) {
		fprintf(stderr, "check_idle: free %llu + used %llu + poison %llu != %llu\n",
			(unsigned long long)st.free_pages, (unsigned long long)st.used_pages,
			(unsigned long long)st.poison_pages, (unsigned long long)st.total_pages);
		return -1;
	}
	ret = sgx_platform_destroy(p);
	if (ret)
		fprintf(stderr, "destroy: %d\n", ret);
	return ret ? -1 : 0;
}

/* The sgx_epc value of a misc file ("sgx_epc N\n" or "sgx_epc.max N\n"): N, "max" = -2, error -1. */
static long long mgr_cg_value(struct sgx_platform *p, const char *path, const char *file)
{
	char buf[128], *sp;
	int ret;

	ret = sgx_epc_cgroup_read(sgx_platform_cgroups(p), path, file, buf, sizeof(buf));
	if (ret < 0)
		return -1;
	sp = strchr(buf, ' ');
	if (!sp)
		return -1;
	if (!strncmp(sp + 1, "max", 3))
		return -2;
	return strtoll(sp + 1, NULL, 0);
}

long long mgr_cg_current(struct sgx_platform *p, const char *path)
{
	return mgr_cg_value(p, path, "misc.current");
}

long long mgr_cg_events(struct sgx_platform *p, const char *path)
{
	return mgr_cg_value(p, path, "misc.events");
}

int mgr_cg_set_max(struct sgx_platform *p, const char *path, uint64_t bytes)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "sgx_epc %llu", (unsigned long long)bytes);

	return sgx_epc_cgroup_write(sgx_platform_cgroups(p), path, "misc.max", buf, (size_t)n);
}

struct sgx_platform *mgr_window_platform(uint64_t epc_pages, unsigned int nr_sections,
					 bool ksgxd, bool sgx2)
{
	struct sgx_platform *p = mgr_platform(epc_pages, nr_sections, ksgxd, sgx2);

	if (!p)
		return NULL;
	if (!sgx_platform_has_windows(p) || sgx_fault_install_sigbus_handler(p)) {
		sgx_platform_destroy(p);
		return NULL;
	}
	return p;
}

long mgr_encl_map(struct mgr_encl *e, int prot)
{
	return sgx_mmap(e->encl, e->base, e->size, prot, MAP_SHARED);
}

long mgr_encl_unmap(struct mgr_encl *e)
{
	return sgx_munmap(e->p, e->base, e->size);
}

int mgr_check_mem(struct mgr_encl *e, uint64_t addr, uint64_t gen)
{
	static __thread uint8_t want[4096];

	mgr_pattern(want, e->tag, addr, gen);
	return memcmp(want, (void *)(uintptr_t)addr, 4096) ? 1 : 0;
}

void mgr_write_mem(struct mgr_encl *e, uint64_t addr, uint64_t gen)
{
	mgr_pattern((void *)(uintptr_t)addr, e->tag, addr, gen);
}

long mgr_encl_trim_page(struct mgr_encl *e, uint64_t offset, uint64_t *count)
{
	struct sgx_enclave_modify_types mt;
	long ret;

	do {
		mt = (struct sgx_enclave_modify_types){ .offset = offset, .length = 4096,
							.page_type = SGX_PAGE_TYPE_TRIM };
		ret = sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_MODIFY_TYPES, (unsigned long)&mt);
	} while (ret == -EAGAIN);
	if (count)
		*count = mt.count;
	return ret;
}

static void *churn_thread(void *arg)
{
	struct mgr_churn_thread *t = arg;
	struct sgx_platform *p = t->churn->p;
	struct sgx_epc_page *held[8];
	int i, n;

	sgx_platform_set_current_node(p, t->node);
	while (!atomic_load(&t->churn->stop)) {
		for (n = 0; n < 8; n++) {
			held[n] = sgx_alloc_epc_page(p, NULL, false);
			if (IS_ERR(held[n]))
				break;
		}
		for (i = 0; i < n; i++)
			sgx_free_epc_page(p, held[i]);
		t->rounds++;
		sched_yield();
	}
	return NULL;
}

int mgr_churn_start(struct mgr_churn *c, struct sgx_platform *p, unsigned int nr_nodes)
{
	memset(c, 0, sizeof(*c));
	if (nr_nodes > MGR_CHURN_MAX_NODES)
		return -1;
	c->p = p;
	atomic_init(&c->stop, 0);
	for (unsigned int k = 0; k < nr_nodes; k++) {
		c->t[k] = (struct mgr_churn_thread){ .churn = c, .node = (int)k };
		if (pthread_create(&c->t[k].thread, NULL, churn_thread, &c->t[k])) {
			mgr_churn_stop(c);
			return -1;
		}
		c->nr_nodes = k + 1;
	}
	return 0;
}

bool mgr_churn_stop(struct mgr_churn *c)
{
	bool all_ran = true;

	atomic_store(&c->stop, 1);
	for (unsigned int k = 0; k < c->nr_nodes; k++) {
		pthread_join(c->t[k].thread, NULL);
		if (c->t[k].rounds <= 0)
			all_ran = false;
	}
	c->nr_nodes = 0;
	return all_ran;
}

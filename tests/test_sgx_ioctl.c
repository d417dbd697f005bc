// SPDX-License-Identifier: MIT
/* The seven ioctls' error paths, from real calls: the kernel's errno and nothing changed. */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	0x100000000ULL
#define RW	(SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W)

static void finish(struct sgx_platform *p)
{
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_ioctl_abi_numbers)
{
	CHECK_EQ(SGX_IOC_ENCLAVE_CREATE, 0x4008A400);
	CHECK_EQ(SGX_IOC_ENCLAVE_ADD_PAGES, 0xC030A401);
	CHECK_EQ(SGX_IOC_ENCLAVE_REMOVE_PAGES, 0xC018A407);
	CHECK_EQ(sizeof(struct sgx_enclave_add_pages), 48);
	CHECK_EQ(sizeof(struct sgx_enclave_restrict_permissions), 40);
}

TEST(sgx_ioctl_unknown_and_fault)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_encl *encl;

	REQUIRE(p);
	REQUIRE_EQ(sgx_open(p, &encl), 0);
	CHECK_EQ(sgx_ioctl(encl, 0xdeadbeef, 0), -ENOTTY);
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_VEPC_REMOVE_ALL, 0), -ENOTTY);
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, 0), -EFAULT);
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, 8), -EFAULT);
	CHECK_EQ(mgr_used_pages(p), 0);
	sgx_release(encl);
	finish(p);
}

TEST(sgx_ioctl_create_errors)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_enclave_create arg;
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	struct sgx_encl *encl;
	struct mgr_encl e;

	REQUIRE(p);
	REQUIRE_EQ(sgx_open(p, &encl), 0);
	memset(secs, 0, 4096);
	secs->base = BASE;
	secs->size = 3 * 4096;		/* not a power of two */
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = 3;
	arg.src = (uint64_t)(uintptr_t)secs;
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EINVAL);
	secs->size = 0;
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EINVAL);
	/* ECREATE itself refuses a misaligned base: -EIO, everything unwound. */
	secs->size = 16 * 4096;
	secs->base = BASE + 4096;
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EIO);
	CHECK_EQ(mgr_used_pages(p), 0);
	/* Bad SECS source pointer. */
	arg.src = 0x10;
	CHECK_EQ(sgx_ioctl(encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EFAULT);
	sgx_release(encl);
	free(secs);

	/* Second CREATE on a created enclave: -EINVAL. */
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 16 * 4096), 0);
	CHECK_EQ(mgr_used_pages(p), 2);	/* SECS + VA */
	secs = aligned_alloc(4096, 4096);
	memset(secs, 0, 4096);
	arg.src = (uint64_t)(uintptr_t)secs;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EINVAL);
	free(secs);
	CHECK_EQ(mgr_used_pages(p), 2);
	mgr_encl_close(&e);
	finish(p);
}

static long add_raw(struct mgr_encl *e, uint64_t src, uint64_t offset, uint64_t length,
		    uint64_t flags, struct sgx_secinfo *secinfo, uint64_t *count)
{
	struct sgx_enclave_add_pages arg = {
		.src = src, .offset = offset, .length = length,
		.secinfo = (uint64_t)(uintptr_t)secinfo, .flags = 0, .count = 77,
	};
	long ret;

	secinfo->flags = flags;
	ret = sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_ADD_PAGES, (unsigned long)&arg);
	if (count)
		*count = arg.count;
	return ret;
}

TEST(sgx_ioctl_add_pages_errors)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	uint8_t *src = aligned_alloc(4096, 2 * 4096);
	uint64_t s = (uint64_t)(uintptr_t)src, count, used;
	struct sgx_encl *fresh;
	struct mgr_encl e;

	REQUIRE(p);
	memset(src, 0, 2 * 4096);
	memset(&secinfo, 0, sizeof(secinfo));

	/* Before CREATE: -EINVAL. */
	REQUIRE_EQ(sgx_open(p, &fresh), 0);
	e.encl = fresh;
	CHECK_EQ(add_raw(&e, s, 0, 4096, RW, &secinfo, NULL), -EINVAL);
	sgx_release(fresh);

	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 16 * 4096), 0);
	used = mgr_used_pages(p);
	CHECK_EQ(add_raw(&e, s + 1, 0, 4096, RW, &secinfo, NULL), -EINVAL);	/* src */
	CHECK_EQ(add_raw(&e, s, 1, 4096, RW, &secinfo, NULL), -EINVAL);	/* offset */
	CHECK_EQ(add_raw(&e, s, 0, 0, RW, &secinfo, NULL), -EINVAL);		/* length 0 */
	CHECK_EQ(add_raw(&e, s, 0, 100, RW, &secinfo, NULL), -EINVAL);	/* length */
	CHECK_EQ(add_raw(&e, s, 16 * 4096, 4096, RW, &secinfo, NULL), -EINVAL); /* past end */
	CHECK_EQ(add_raw(&e, s, 15 * 4096, 2 * 4096, RW, &secinfo, NULL), -EINVAL);
	/* offset + length wraps. */
	CHECK_EQ(add_raw(&e, s, 0xFFFFFFFFFFFFF000ULL, 0x2000, RW, &secinfo, NULL), -EINVAL);
	/* SECINFO: bad type, W without R, TCS with permissions, reserved bits/bytes. */
	CHECK_EQ(add_raw(&e, s, 0, 4096, SGX_SECINFO_SECS | SGX_SECINFO_R, &secinfo, NULL),
		 -EINVAL);
	CHECK_EQ(add_raw(&e, s, 0, 4096, SGX_SECINFO_VA, &secinfo, NULL), -EINVAL);
	CHECK_EQ(add_raw(&e, s, 0, 4096, SGX_SECINFO_REG | SGX_SECINFO_W, &secinfo, NULL),
		 -EINVAL);
	CHECK_EQ(add_raw(&e, s, 0, 4096, SGX_SECINFO_TCS | SGX_SECINFO_R, &secinfo, NULL),
		 -EINVAL);
	CHECK_EQ(add_raw(&e, s, 0, 4096, RW | SGX_SECINFO_PENDING, &secinfo, NULL), -EINVAL);
	CHECK_EQ(add_raw(&e, s, 0, 4096, RW | (1ULL << 40), &secinfo, NULL), -EINVAL);
	secinfo.reserved[10] = 1;
	CHECK_EQ(add_raw(&e, s, 0, 4096, RW, &secinfo, NULL), -EINVAL);
	secinfo.reserved[10] = 0;
	/* Bad secinfo / arg pointers. */
	{
		struct sgx_enclave_add_pages arg = { .src = s, .offset = 0, .length = 4096,
						     .secinfo = 0x20 };

		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_ADD_PAGES, (unsigned long)&arg),
			 -EFAULT);
		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_ADD_PAGES, 0), -EFAULT);
	}
	CHECK_EQ(mgr_used_pages(p), used);

	/* Unmapped source page: -EFAULT, count 0, nothing added. */
	{
		void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK_EQ(add_raw(&e, (uint64_t)(uintptr_t)hole, 0, 4096, RW, &secinfo, &count),
			 -EFAULT);
		CHECK_EQ(count, 0);
		munmap(hole, 4096);
	}
	CHECK_EQ(mgr_used_pages(p), used);

	/* Partial success: second page collides with an existing one -> -EBUSY, count 4096. */
	CHECK_EQ(add_raw(&e, s, 4096, 4096, RW, &secinfo, &count), 0);
	CHECK_EQ(count, 4096);
	CHECK_EQ(add_raw(&e, s, 0, 2 * 4096, RW, &secinfo, &count), -EBUSY);
	CHECK_EQ(count, 4096);
	CHECK_EQ(mgr_used_pages(p), used + 2);

	/*
	 * Signal pending before the first page: -ERESTARTSYS inside, which the
	 * ioctl boundary turns into -EINTR (a call that is not restarted); count 0.
	 */
	sgx_platform_set_signal_pending(p, true);
	CHECK_EQ(add_raw(&e, s, 2 * 4096, 4096, RW, &secinfo, &count), -EINTR);
	CHECK_EQ(count, 0);
	sgx_platform_set_signal_pending(p, false);

	mgr_encl_close(&e);
	free(src);
	finish(p);
}

TEST(sgx_ioctl_init_and_after)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_enclave_init init_arg;
	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	uint8_t *src = aligned_alloc(4096, 4096);
	struct sgx_encl *fresh;
	struct mgr_encl e;
	uint64_t used;
	int pfd;

	REQUIRE(p);
	memset(&secinfo, 0, sizeof(secinfo));
	/* INIT before CREATE. */
	REQUIRE_EQ(sgx_open(p, &fresh), 0);
	init_arg.sigstruct = (uint64_t)(uintptr_t)ss;
	CHECK_EQ(sgx_ioctl(fresh, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	sgx_release(fresh);

	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 16 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 0, 2, RW, true, NULL), 0);
	used = mgr_used_pages(p);

	/* Vendor other than 0 / 0x8086. */
	ss->header.vendor = 0x1234;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	/* Reserved attribute bit requested through the mask. */
	ss->header.vendor = 0;
	ss->body.attributes = 1ULL << 3;
	ss->body.attributes_mask = 1ULL << 3;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	ss->body.attributes = ss->body.attributes_mask = 0;
	ss->body.miscselect = ss->body.misc_mask = 1u << 5;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	ss->body.miscselect = ss->body.misc_mask = 0;
	ss->body.xfrm = ss->body.xfrm_mask = 1ULL << 62;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	/* An unsigned SIGSTRUCT: EINIT fails with an SGX error -> -EPERM. */
	ss->body.xfrm = ss->body.xfrm_mask = 0;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EPERM);
	init_arg.sigstruct = 0x30;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EFAULT);
	CHECK_EQ(mgr_used_pages(p), used);

	/* PROVISION: a wrong fd is -EINVAL, the provision fd is accepted. */
	{
		struct sgx_enclave_provision prov = { .fd = 0 };

		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_PROVISION, (unsigned long)&prov),
			 -EINVAL);
		prov.fd = 12345;
		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_PROVISION, (unsigned long)&prov),
			 -EINVAL);
		pfd = sgx_provision_open(p);
		REQUIRE(pfd >= 0);
		prov.fd = (uint64_t)pfd;
		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_PROVISION, (unsigned long)&prov), 0);
		close(pfd);
	}

	/* The correctly signed enclave initializes. */
	CHECK_EQ(mgr_encl_init(&e), 0);
	/* ADD_PAGES and INIT after INIT: -EINVAL. */
	memset(src, 0, 4096);
	CHECK_EQ(add_raw(&e, (uint64_t)(uintptr_t)src, 8 * 4096, 4096, RW, &secinfo, NULL),
		 -EINVAL);
	init_arg.sigstruct = (uint64_t)(uintptr_t)ss;
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_INIT, (unsigned long)&init_arg), -EINVAL);
	CHECK_EQ(mgr_used_pages(p), used);

	mgr_encl_close(&e);
	free(ss);
	free(src);
	finish(p);
}

TEST(sgx_ioctl_init_provisionkey_needs_permission)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_enclave_create arg;
	struct sgx_secs *secs = aligned_alloc(4096, 4096);
	struct mgr_encl e;

	REQUIRE(p);
	memset(&e, 0, sizeof(e));
	e.p = p;
	e.base = BASE;
	e.size = 16 * 4096;
	e.attributes = SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY;
	REQUIRE_EQ(sgx_open(p, &e.encl), 0);
	memset(secs, 0, 4096);
	secs->base = BASE;
	secs->size = 16 * 4096;
	secs->ssa_frame_size = 1;
	secs->attributes = e.attributes;
	secs->xfrm = 3;
	arg.src = (uint64_t)(uintptr_t)secs;
	REQUIRE_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), 0);
	sgx_mrenclave_ecreate(&e.mr, 1, e.size);
	CHECK_EQ(mgr_encl_init(&e), -EACCES);
	free(secs);
	mgr_encl_close(&e);
	finish(p);
}

struct busy_arg {
	struct mgr_encl *e;
	atomic_int started, done;	/* flags between threads: atomics, not volatile */
	long ret;
};

static void *busy_thread(void *a)
{
	struct busy_arg *b = a;

	atomic_store(&b->started, 1);
	/*
	 * A long ioctl: 400 measured pages (6400 EEXTENDs). The other thread's
	 * ioctls may hold the enclave's ioctl bit at the moment this one starts:
	 * then it is this call that gets -EBUSY, changing nothing, so try again.
	 */
	do
		b->ret = mgr_encl_add(b->e, 0, 400, RW, true, NULL);
	while (b->ret == -EBUSY);
	atomic_store(&b->done, 1);
	return NULL;
}

TEST(sgx_ioctl_concurrent_is_ebusy)
{
	struct sgx_platform *p = mgr_platform(512, 1, false, true);
	struct sgx_enclave_create arg = { 0 };
	long saw_busy = 0;
	int round;

	REQUIRE(p);
	/* Retry a few rounds: the scheduler may run the long ioctl to its end alone. */
	for (round = 0; round < 10 && !saw_busy; round++) {
		struct busy_arg b = { 0 };
		struct mgr_encl e;
		pthread_t t;

		REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 512 * 4096), 0);
		b.e = &e;
		pthread_create(&t, NULL, busy_thread, &b);
		while (!atomic_load(&b.started))
			sched_yield();
		while (!atomic_load(&b.done)) {
			long r = sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg);

			if (r == -EBUSY)
				saw_busy++;
			else
				CHECK_EQ(r, -EINVAL);
		}
		pthread_join(t, NULL);
		CHECK_EQ(b.ret, 0);
		/* The refused caller changed nothing: CREATE is plain -EINVAL again. */
		CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&arg), -EINVAL);
		CHECK_EQ(mgr_used_pages(p), 402);
		mgr_encl_close(&e);
	}
	CHECK(saw_busy > 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_ioctl_sgx2_on_sgx1_is_enodev)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, false);
	struct sgx_enclave_restrict_permissions rp = { .offset = 0, .length = 4096,
						       .permissions = SGX_SECINFO_R };
	struct sgx_enclave_modify_types mt = { .offset = 0, .length = 4096,
					       .page_type = SGX_PAGE_TYPE_TRIM };
	struct sgx_enclave_remove_pages rm = { .offset = 0, .length = 4096 };
	struct mgr_encl e;
	uint8_t b;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 16 * 4096, 1), 0);
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, (unsigned long)&rp),
		 -ENODEV);
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_MODIFY_TYPES, (unsigned long)&mt), -ENODEV);
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_REMOVE_PAGES, (unsigned long)&rm), -ENODEV);
	/* No EAUG without SGX2: an empty address is a plain fault. */
	CHECK_EQ(sgx_encl_access(e.encl, BASE + 5 * 4096, &b, 1, false), -EFAULT);
	mgr_encl_close(&e);
	finish(p);
}

TEST(sgx_ioctl_sgx2_validation)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;
	struct mgr_encl e;
	uint64_t used;

	REQUIRE(p);
	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 16 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 0, 2, RW, false, NULL), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 2 * 4096, 1, SGX_SECINFO_TCS, false, NULL), 0);
	/* Not initialized yet: -EINVAL. */
	rp = (struct sgx_enclave_restrict_permissions){ 0, 4096, SGX_SECINFO_R, 0, 0 };
	CHECK_EQ(sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, (unsigned long)&rp),
		 -EINVAL);
	REQUIRE_EQ(mgr_encl_init(&e), 0);
	used = mgr_used_pages(p);

#define RP(...) (rp = (struct sgx_enclave_restrict_permissions){ __VA_ARGS__ }, \
		 sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, (unsigned long)&rp))
	CHECK_EQ(RP(1, 4096, SGX_SECINFO_R, 0, 0), -EINVAL);
	CHECK_EQ(RP(0, 4096, 8, 0, 0), -EINVAL);
	CHECK_EQ(RP(0, 4096, SGX_SECINFO_W, 0, 0), -EINVAL);
	CHECK_EQ(RP(0, 4096, SGX_SECINFO_R, 1, 0), -EINVAL);
	CHECK_EQ(RP(0, 4096, SGX_SECINFO_R, 0, 4096), -EINVAL);
	CHECK_EQ(RP(0xFFFFFFFFFFFFF000ULL, 0x2000, SGX_SECINFO_R, 0, 0), -EINVAL);
	/* TCS page: -EINVAL with count 0 (the selftest's tcs_permissions). */
	CHECK_EQ(RP(2 * 4096, 4096, SGX_SECINFO_R, 0, 0), -EINVAL);
	CHECK_EQ(rp.count, 0);
	CHECK_EQ(rp.result, 0);
	/* No page there: -EFAULT. */
	CHECK_EQ(RP(8 * 4096, 4096, SGX_SECINFO_R, 0, 0), -EFAULT);
	/* A REG page: EMODPR succeeds, count = 4096. */
	CHECK_EQ(RP(0, 4096, SGX_SECINFO_R, 0, 0), 0);
	CHECK_EQ(rp.count, 4096);

#define MT(...) (mt = (struct sgx_enclave_modify_types){ __VA_ARGS__ }, \
		 sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_MODIFY_TYPES, (unsigned long)&mt))
	CHECK_EQ(MT(0, 4096, 0x100 | SGX_PAGE_TYPE_TRIM, 0, 0), -EINVAL);
	CHECK_EQ(MT(0, 4096, SGX_PAGE_TYPE_REG, 0, 0), -EINVAL);
	CHECK_EQ(MT(0, 4096, SGX_PAGE_TYPE_TRIM, 5, 0), -EINVAL);
	/* REG -> TCS needs R and W in the page's max permissions: page 0 has RW. */
	CHECK_EQ(MT(4096, 4096, SGX_PAGE_TYPE_TRIM, 0, 0), 0);
	CHECK_EQ(mt.count, 4096);
	/* TRIM -> TCS is not a transition. */
	CHECK_EQ(MT(4096, 4096, SGX_PAGE_TYPE_TCS, 0, 0), -EINVAL);
	CHECK_EQ(mt.count, 0);

#define RM(...) (rm = (struct sgx_enclave_remove_pages){ __VA_ARGS__ }, \
		 sgx_ioctl(e.encl, SGX_IOC_ENCLAVE_REMOVE_PAGES, (unsigned long)&rm))
	CHECK_EQ(RM(0, 4096, 1), -EINVAL);
	/* Not TRIM: -EPERM. */
	CHECK_EQ(RM(0, 4096, 0), -EPERM);
	/* TRIM but not EACCEPTed: the EMODPR probe does not #PF -> -EPERM, count 0. */
	CHECK_EQ(RM(4096, 4096, 0), -EPERM);
	CHECK_EQ(rm.count, 0);
	CHECK_EQ(mgr_used_pages(p), used);
	mgr_encl_close(&e);
	finish(p);
}

TEST(sgx_mmap_permission_rules)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, true);
	struct sgx_encl *fresh;
	struct mgr_encl e;

	REQUIRE(p);
	/* Before CREATE nothing constrains the mapping. */
	REQUIRE_EQ(sgx_open(p, &fresh), 0);
	CHECK_EQ(sgx_mmap_check(fresh, BASE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_SHARED), 0);
	CHECK_EQ(sgx_mmap_check(fresh, BASE, 4096, PROT_READ, MAP_PRIVATE), -EINVAL);
	sgx_release(fresh);

	REQUIRE_EQ(mgr_encl_create(&e, p, BASE, 16 * 4096), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 0, 1, SGX_SECINFO_REG | SGX_SECINFO_R, false, NULL), 0);
	REQUIRE_EQ(mgr_encl_add(&e, 4096, 1, SGX_SECINFO_TCS, false, NULL), 0);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE, 4096, PROT_READ, MAP_SHARED), 0);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE, 4096, PROT_READ | PROT_WRITE, MAP_SHARED), -EACCES);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE, 4096, PROT_READ | PROT_EXEC, MAP_SHARED), -EACCES);
	/* TCS pages are RW for the mapping. */
	CHECK_EQ(sgx_mmap_check(e.encl, BASE + 4096, 4096, PROT_READ | PROT_WRITE, MAP_SHARED), 0);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE + 4096, 4096, PROT_EXEC, MAP_SHARED), -EACCES);
	/* Empty addresses are unconstrained; ranges spanning a page take its limits. */
	CHECK_EQ(sgx_mmap_check(e.encl, BASE + 8192, 8 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_SHARED), 0);
	CHECK_EQ(sgx_mprotect_check(e.encl, BASE, 3 * 4096, PROT_READ | PROT_WRITE), -EACCES);
	CHECK_EQ(sgx_mprotect_check(e.encl, BASE, 4096, PROT_READ), 0);
	/* Outside ELRANGE is allowed only before INIT. */
	CHECK_EQ(sgx_mmap_check(e.encl, BASE - 4096, 4096, PROT_READ, MAP_SHARED), 0);
	REQUIRE_EQ(mgr_encl_init(&e), 0);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE - 4096, 4096, PROT_READ, MAP_SHARED), -EACCES);
	CHECK_EQ(sgx_mmap_check(e.encl, BASE + 15 * 4096, 2 * 4096, PROT_READ, MAP_SHARED),
		 -EACCES);
	mgr_encl_close(&e);
	finish(p);
}

// SPDX-License-Identifier: MIT
/*
 * The /dev/sgx_enclave ioctls (the kernel's sgx/ioctl.c), with the kernel's
 * validation order and errnos. Arguments are pointers into the calling
 * process, copied in and out with sgx_copy_from_user/sgx_copy_to_user.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asm/sgx.h"
#include "cpu/crypto.h"
#include "sgx/encl.h"
#include "sgx/internal.h"
#include "sgx/window.h"

/* SECINFO given to ADD_PAGES: only permissions (2:0) and the type (15:8). */
#define SGX_SECINFO_ADD_RESERVED_MASK (~(SGX_SECINFO_PERMISSION_MASK | SGX_SECINFO_PAGE_TYPE_MASK))
#define SGX_ATTR_UNPRIV_MASK	(SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS)
#define SGX_PAGE_TYPE_MASK	0xFFULL

static int sgx_encl_create(struct sgx_encl *encl, struct sgx_secs *secs)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_pageinfo pginfo;
	struct sgx_epc_page *secs_epc;
	struct sgx_va_page *va_page;
	long ret;

	if (!secs->size || (secs->size & (secs->size - 1)))
		return -EINVAL;

	va_page = sgx_encl_grow(encl, true);
	if (IS_ERR(va_page))
		return (int)PTR_ERR(va_page);
	if (va_page) {
		list_add(&va_page->list, &encl->va_pages);
		encl->nr_va_pages++;
	}

	ret = sgx_encl_backing_init(encl, secs->size);
	if (ret)
		goto err_out_shrink;

	ret = sgx_encl_window_create(encl, secs->size);
	if (ret)
		goto err_out_backing;

	secs_epc = sgx_encl_alloc_epc_page(encl, &encl->secs, true);
	if (IS_ERR(secs_epc)) {
		ret = PTR_ERR(secs_epc);
		goto err_out_backing;
	}
	encl->secs.epc_page = secs_epc;

	memset(&secinfo, 0, sizeof(secinfo));
	pginfo.addr = 0;
	pginfo.contents = SGX_CPU_PTR(secs);
	pginfo.metadata = SGX_CPU_PTR(&secinfo);
	pginfo.secs = 0;
	ret = __ecreate(p->cpu, &pginfo, sgx_get_epc_virt_addr(p, secs_epc));
	if (ret) {
		ret = -EIO;
		goto err_out;
	}

	/* v4: the SECS is charged and unreclaimable (the OOM scan's way to the enclave). */
	sgx_record_page_unreclaimable(p, secs_epc);

	if (secs->attributes & SGX_ATTR_DEBUG)
		encl_set_flag(encl, SGX_ENCL_DEBUG);
	encl->base = secs->base;
	encl->size = secs->size;
	encl->attributes = secs->attributes;
	encl->attributes_mask = SGX_ATTR_UNPRIV_MASK;
	encl_set_flag(encl, SGX_ENCL_CREATED);
	return 0;

err_out:
	sgx_encl_free_epc_page(p, encl->secs.epc_page);
	encl->secs.epc_page = NULL;
err_out_backing:
	sgx_encl_window_destroy(encl);
	sgx_encl_backing_fini(encl);
err_out_shrink:
	sgx_encl_shrink(encl, va_page);
	return (int)ret;
}

static long sgx_ioc_enclave_create(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_create create_arg;
	struct sgx_secs *secs;
	int ret;

	if (encl_test_flag(encl, SGX_ENCL_CREATED))
		return -EINVAL;
	if (sgx_copy_from_user(&create_arg, arg, sizeof(create_arg)))
		return -EFAULT;
	secs = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!secs)
		return -ENOMEM;
	if (sgx_copy_from_user(secs, create_arg.src, SGX_PAGE_SIZE))
		ret = -EFAULT;
	else
		ret = sgx_encl_create(encl, secs);
	free(secs);
	return ret;
}

static int sgx_validate_secinfo(const struct sgx_secinfo *secinfo)
{
	uint64_t perm = secinfo->flags & SGX_SECINFO_PERMISSION_MASK;
	uint64_t pt = secinfo->flags & SGX_SECINFO_PAGE_TYPE_MASK;
	unsigned int i;

	if (pt != SGX_SECINFO_REG && pt != SGX_SECINFO_TCS)
		return -EINVAL;
	if ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return -EINVAL;
	/* The CPU forces TCS permissions to zero; the driver demands it up front. */
	if (pt == SGX_SECINFO_TCS && perm)
		return -EINVAL;
	if (secinfo->flags & SGX_SECINFO_ADD_RESERVED_MASK)
		return -EINVAL;
	for (i = 0; i < sizeof(secinfo->reserved); i++)
		if (secinfo->reserved[i])
			return -EINVAL;
	return 0;
}

static int __sgx_encl_add_page(struct sgx_encl *encl, struct sgx_encl_page *encl_page,
			       struct sgx_epc_page *epc_page, struct sgx_secinfo *secinfo,
			       unsigned long src)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_pageinfo pginfo;
	void *page = encl->scratch;	/* under encl->lock */
	int ret;

	/* get_user_pages(): the source must be readable in the caller. */
	if (sgx_copy_from_user(page, src, SGX_PAGE_SIZE))
		return -EFAULT;

	pginfo.secs = SGX_CPU_PTR(sgx_get_epc_virt_addr(p, encl->secs.epc_page));
	pginfo.addr = encl_page->desc & SGX_ENCL_PAGE_ADDR_MASK;
	pginfo.metadata = SGX_CPU_PTR(secinfo);
	pginfo.contents = SGX_CPU_PTR(page);
	ret = __eadd(p->cpu, &pginfo, sgx_get_epc_virt_addr(p, epc_page));
	atomic_fetch_add(&p->stats.eadd, 1);
	return ret ? -EIO : 0;
}

static int __sgx_encl_extend(struct sgx_encl *encl, struct sgx_epc_page *epc_page)
{
	struct sgx_platform *p = encl->platform;
	unsigned long offset;
	int ret;

	for (offset = 0; offset < SGX_PAGE_SIZE; offset += SGX_EEXTEND_BLOCK_SIZE) {
		ret = __eextend(p->cpu, sgx_get_epc_virt_addr(p, encl->secs.epc_page),
				(char *)sgx_get_epc_virt_addr(p, epc_page) + offset);
		if (ret) {
			if (encls_failed(ret))
				SGX_WARN("EEXTEND returned %d", ret);
			return -EIO;
		}
	}
	return 0;
}

static int sgx_encl_add_page(struct sgx_encl *encl, unsigned long src, unsigned long offset,
			     struct sgx_secinfo *secinfo, unsigned long flags)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_encl_page *encl_page;
	struct sgx_epc_page *epc_page;
	struct sgx_va_page *va_page;
	int ret;

	encl_page = sgx_encl_page_alloc(encl, offset, secinfo->flags);
	if (!encl_page)
		return -ENOMEM;

	epc_page = sgx_encl_alloc_epc_page(encl, encl_page, true);
	if (IS_ERR(epc_page)) {
		sgx_encl_page_free(encl, encl_page);
		return (int)PTR_ERR(epc_page);
	}

	va_page = sgx_encl_grow(encl, true);
	if (IS_ERR(va_page)) {
		ret = (int)PTR_ERR(va_page);
		goto err_out_free;
	}

	pthread_mutex_lock(&encl->lock);

	/* Linked before anything can fail, so that shrink can unlink it. */
	if (va_page) {
		list_add(&va_page->list, &encl->va_pages);
		encl->nr_va_pages++;
	}

	/* Chosen as an OOM victim meanwhile (the mark precedes its unalias under the lock). */
	if (sgx_encl_no_memory(encl)) {
		ret = -ENOMEM;
		goto err_out_unlock;
	}

	ret = sgx_xa_insert(&encl->page_array, PFN_DOWN(encl_page->desc), encl_page);
	if (ret)
		goto err_out_unlock;

	ret = __sgx_encl_add_page(encl, encl_page, epc_page, secinfo, src);
	if (ret)
		goto err_out;

	/* The bytes go into the enclave's memfd now, not at the first fault. */
	encl_page->epc_page = epc_page;
	ret = sgx_encl_window_install(encl, encl_page);
	if (ret) {
		encl_page->epc_page = NULL;
		ret = -ENOMEM;
		goto err_out;
	}

	/* Committed: the EPC page belongs to the enclave now. */
	encl_page->encl = encl;
	encl_page->type = (secinfo->flags & SGX_SECINFO_PAGE_TYPE_MASK) >> 8;
	encl->secs_child_cnt++;

	if (flags & SGX_PAGE_MEASURE) {
		ret = __sgx_encl_extend(encl, epc_page);
		if (ret) {
			encl_page->epc_page = NULL;
			encl->secs_child_cnt--;
			sgx_encl_window_punch(encl, encl_page->desc, 1);
			goto err_out;
		}
	}

	sgx_mark_page_reclaimable(p, encl_page->epc_page);
	pthread_mutex_unlock(&encl->lock);
	return 0;

err_out:
	sgx_xa_erase(&encl->page_array, PFN_DOWN(encl_page->desc));
err_out_unlock:
	sgx_encl_shrink(encl, va_page);
	pthread_mutex_unlock(&encl->lock);
err_out_free:
	sgx_encl_free_epc_page(p, epc_page);
	sgx_encl_page_free(encl, encl_page);
	return ret;
}

int sgx_validate_offset_length(struct sgx_encl *encl, uint64_t offset, uint64_t length)
{
	if (!IS_ALIGNED(offset, SGX_PAGE_SIZE))
		return -EINVAL;
	if (!length || !IS_ALIGNED(length, SGX_PAGE_SIZE))
		return -EINVAL;
	if (offset + length < offset)
		return -EINVAL;
	if (offset + length - SGX_PAGE_SIZE >= encl->size)
		return -EINVAL;
	return 0;
}

static long sgx_ioc_enclave_add_pages(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_platform *p = encl->platform;
	struct sgx_enclave_add_pages add_arg;
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	unsigned long c;
	int ret = 0;

	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	if (!encl_test_flag(encl, SGX_ENCL_CREATED) ||
	    encl_test_flag(encl, SGX_ENCL_INITIALIZED))
		return -EINVAL;
	if (sgx_copy_from_user(&add_arg, arg, sizeof(add_arg)))
		return -EFAULT;
	if (!IS_ALIGNED(add_arg.src, SGX_PAGE_SIZE))
		return -EINVAL;
	if (sgx_validate_offset_length(encl, add_arg.offset, add_arg.length))
		return -EINVAL;
	if (sgx_copy_from_user(&secinfo, add_arg.secinfo, sizeof(secinfo)))
		return -EFAULT;
	if (sgx_validate_secinfo(&secinfo))
		return -EINVAL;

	for (c = 0; c < add_arg.length; c += SGX_PAGE_SIZE) {
		if (sgx_signal_pending(p)) {
			if (!c)
				ret = -ERESTARTSYS;
			break;
		}
		ret = sgx_encl_add_page(encl, add_arg.src + c, add_arg.offset + c, &secinfo,
					add_arg.flags);
		if (ret)
			break;
	}

	add_arg.count = c;
	if (sgx_copy_to_user(arg, &add_arg, sizeof(add_arg)))
		return -EFAULT;
	return ret;
}

/* LEPUBKEYHASH = MRSIGNER, then EINIT, with nothing in between (preempt_disable). */
static int sgx_einit(struct sgx_platform *p, struct sgx_sigstruct *sigstruct, void *token,
		     struct sgx_epc_page *secs, const uint64_t *lepubkeyhash)
{
	int i, ret;

	pthread_mutex_lock(&p->einit_lock);
	for (i = 0; i < 4; i++)
		sgx_cpu_wrmsr(p->cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, lepubkeyhash[i]);
	ret = __einit(p->cpu, sigstruct, token, sgx_get_epc_virt_addr(p, secs));
	pthread_mutex_unlock(&p->einit_lock);
	return ret;
}

static int sgx_encl_init(struct sgx_encl *encl, struct sgx_sigstruct *sigstruct, void *token)
{
	struct sgx_platform *p = encl->platform;
	uint64_t mrsigner[4];
	int i, j, ret = 0;

	/* Attributes the enclave may not have without permission (PROVISIONKEY). */
	if (encl->attributes & ~encl->attributes_mask)
		return -EACCES;
	if (sigstruct->body.attributes & sigstruct->body.attributes_mask &
	    p->sgx_attributes_reserved_mask)
		return -EINVAL;
	if (sigstruct->body.miscselect & sigstruct->body.misc_mask & p->sgx_misc_reserved_mask)
		return -EINVAL;
	if (sigstruct->body.xfrm & sigstruct->body.xfrm_mask & p->sgx_xfrm_reserved_mask)
		return -EINVAL;

	sgx_sha256(sigstruct->modulus, SGX_MODULUS_SIZE, (uint8_t *)mrsigner);

	pthread_mutex_lock(&encl->lock);
	for (i = 0; i < SGX_EINIT_SLEEP_COUNT; i++) {
		for (j = 0; j < SGX_EINIT_SPIN_COUNT; j++) {
			ret = sgx_einit(p, sigstruct, token, encl->secs.epc_page, mrsigner);
			if (ret == SGX_UNMASKED_EVENT)
				continue;
			break;
		}
		if (ret != SGX_UNMASKED_EVENT)
			break;
		nanosleep(&(struct timespec){ 0, SGX_EINIT_SLEEP_TIME * 1000000L }, NULL);
		if (sgx_signal_pending(p)) {
			ret = -ERESTARTSYS;
			goto err_out;
		}
	}

	if (encls_faulted(ret)) {
		if (encls_failed(ret))
			SGX_WARN("EINIT faulted: %d", ret);
		ret = -EIO;
	} else if (ret) {
		ret = -EPERM;
	} else {
		encl_set_flag(encl, SGX_ENCL_INITIALIZED);
	}
err_out:
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

static long sgx_ioc_enclave_init(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_init init_arg;
	struct sgx_sigstruct *sigstruct;
	void *initp_page, *token;
	int ret;

	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	if (!encl_test_flag(encl, SGX_ENCL_CREATED) ||
	    encl_test_flag(encl, SGX_ENCL_INITIALIZED))
		return -EINVAL;
	if (sgx_copy_from_user(&init_arg, arg, sizeof(init_arg)))
		return -EFAULT;

	/* SIGSTRUCT at offset 0 (page aligned), a zeroed EINITTOKEN at 2048 (512-aligned). */
	initp_page = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!initp_page)
		return -ENOMEM;
	sigstruct = initp_page;
	token = (char *)initp_page + SGX_PAGE_SIZE / 2;
	memset(token, 0, sizeof(struct sgx_einittoken));

	if (sgx_copy_from_user(sigstruct, init_arg.sigstruct, sizeof(*sigstruct))) {
		ret = -EFAULT;
		goto out;
	}
	/* Only Intel (0x8086) and "any" (0) vendors exist. */
	if (sigstruct->header.vendor != 0x0000 && sigstruct->header.vendor != 0x8086) {
		ret = -EINVAL;
		goto out;
	}
	ret = sgx_encl_init(encl, sigstruct, token);
out:
	free(initp_page);
	return ret;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static long sgx_ioc_enclave_provision(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_provision params;

	if (sgx_copy_from_user(&params, arg, sizeof(params)))
		return -EFAULT;
	if (params.fd > INT32_MAX || !same_file((int)params.fd, encl->platform->provision_fd))
		return -EINVAL;
	encl->attributes_mask |= SGX_ATTR_PROVISIONKEY;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * SGX2
 */

static int sgx_ioc_sgx2_ready(struct sgx_encl *encl)
{
	if (!encl->platform->sgx2)
		return -ENODEV;
	if (!encl_test_flag(encl, SGX_ENCL_INITIALIZED))
		return -EINVAL;
	if (sgx_encl_no_memory(encl))
		return -ENOMEM;
	return 0;
}

/* ETRACK, then force every LP out so that no stale TLB entry survives (encl->lock held). */
static int sgx_enclave_etrack(struct sgx_encl *encl)
{
	struct sgx_platform *p = encl->platform;
	void *epc_virt = sgx_get_epc_virt_addr(p, encl->secs.epc_page);
	int ret;

	ret = __etrack(p->cpu, epc_virt);
	if (ret) {
		/* A previous tracking cycle is incomplete: kick everybody out and retry. */
		SGX_WARN("ETRACK returned %d (%s)", ret, sgx_status_name(ret));
		sgx_encl_ipi(encl);
		ret = __etrack(p->cpu, epc_virt);
		if (ret)
			return -EFAULT;
	}
	sgx_encl_ipi(encl);
	return 0;
}

/*
 * The walk the three SGX2 page ioctls share: for each page of
 * [offset, offset + length), reclaim a batch if EPC is short (loading below
 * allocates without reclaim), load the page under encl->lock (-EAGAIN while
 * the reclaimer holds it, -EFAULT if there is none) and hand it to 'op'.
 * 'op' runs with encl->lock held and returns with it held (it may drop it
 * meanwhile); its error ends the walk. *count is the number of pages done,
 * in bytes, as the uapi reports it. Afterwards every window page of the
 * range gets the protection its (new) EPCM state allows, before the ioctl
 * returns, which is when the kernel guarantees that the change is in force.
 *
 * A page the reclaimer holds (SGX_ENCL_PAGE_BEING_RECLAIMED, or written
 * and not punched yet) is waited for, up to SGX_WALK_BUSY_WAIT_NS, before
 * the walk gives up with -EAGAIN. The kernel returns -EAGAIN at once, but
 * there the window is a few microseconds of EBLOCK/EWB on hardware; an
 * emulated EWB batch is far longer, and a sequential walk over an
 * oversubscribed range chases the reclaimer's LRU head (the pages just
 * ahead of it are the oldest), so without the wait a walk the kernel
 * completes would stop midway here (Linux's selftest
 * unclobbered_vdso_oversubscribed_remove expects one call to do 16 MiB).
 */
#define SGX_WALK_BUSY_WAIT_NS	(200 * 1000 * 1000L)

typedef long (*sgx_encl_page_op_t)(struct sgx_encl *encl, struct sgx_encl_page *entry,
				   unsigned long addr, void *arg);

static long sgx_encl_for_each_page(struct sgx_encl *encl, unsigned long offset,
				   unsigned long length, sgx_encl_page_op_t op, void *arg,
				   __u64 *count)
{
	struct sgx_encl_page *entry;
	unsigned long addr, c;
	long ret = 0;

	for (c = 0; c < length; c += SGX_PAGE_SIZE) {
		uint64_t busy_since = 0;

		addr = encl->base + offset + c;
		for (;;) {
			/* v16 sgx_reclaim_direct(): the enclave's cgroup, then global. */
			sgx_encl_reclaim_direct(encl, false);
			pthread_mutex_lock(&encl->lock);
			entry = sgx_encl_load_page(encl, addr);
			if (IS_ERR(entry))
				ret = PTR_ERR(entry) == -EBUSY ? -EAGAIN :
				      sgx_encl_no_memory(encl) ? -ENOMEM : -EFAULT;
			else
				ret = op(encl, entry, addr, arg);
			pthread_mutex_unlock(&encl->lock);
			if (ret != -EAGAIN || !IS_ERR(entry))
				break;
			/* The reclaimer holds the page: wait for its EWB (see above). */
			if (!busy_since)
				busy_since = sgx_now_ns();
			else if (sgx_now_ns() - busy_since > SGX_WALK_BUSY_WAIT_NS)
				break;
			sched_yield();
		}
		if (ret)
			break;
	}
	*count = c;
	sgx_encl_window_sync_prot(encl, encl->base + offset, encl->base + offset + c +
				  (ret ? SGX_PAGE_SIZE : 0));
	return ret;
}

struct sgx_restrict_op {
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	__u64 *result;
};

static long sgx_restrict_page(struct sgx_encl *encl, struct sgx_encl_page *entry,
			      unsigned long addr, void *arg)
{
	struct sgx_restrict_op *op = arg;
	struct sgx_platform *p = encl->platform;
	long ret;

	/* TCS pages have no permissions; SECS/VA/TRIM cannot be restricted. */
	if (entry->type != SGX_PAGE_TYPE_REG)
		return -EINVAL;
	ret = __emodpr(p->cpu, &op->secinfo, sgx_get_epc_virt_addr(p, entry->epc_page));
	if (encls_faulted(ret)) {
		if (encls_failed(ret))
			SGX_WARN("EMODPR faulted: %ld", ret);
		return -EFAULT;
	}
	if (encls_failed(ret)) {
		*op->result = (uint64_t)ret;
		return -EFAULT;
	}
	/* EMODPR only ever clears permission bits. */
	entry->epcm_perm &= (uint8_t)op->secinfo.flags;
	return sgx_enclave_etrack(encl) ? -EFAULT : 0;
}

static long sgx_enclave_restrict_permissions(struct sgx_encl *encl,
					     struct sgx_enclave_restrict_permissions *modp)
{
	struct sgx_restrict_op op;

	memset(&op, 0, sizeof(op));
	op.secinfo.flags = modp->permissions & SGX_SECINFO_PERMISSION_MASK;
	op.result = &modp->result;
	return sgx_encl_for_each_page(encl, modp->offset, modp->length, sgx_restrict_page, &op,
				      &modp->count);
}

static long sgx_ioc_enclave_restrict_permissions(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_restrict_permissions params;
	long ret;

	ret = sgx_ioc_sgx2_ready(encl);
	if (ret)
		return ret;
	if (sgx_copy_from_user(&params, arg, sizeof(params)))
		return -EFAULT;
	if (sgx_validate_offset_length(encl, params.offset, params.length))
		return -EINVAL;
	if (params.permissions & ~SGX_SECINFO_PERMISSION_MASK)
		return -EINVAL;
	/* Write without read is not a combination the EPCM can express. */
	if ((params.permissions & SGX_SECINFO_W) && !(params.permissions & SGX_SECINFO_R))
		return -EINVAL;
	if (params.result || params.count)
		return -EINVAL;

	ret = sgx_enclave_restrict_permissions(encl, &params);
	if (sgx_copy_to_user(arg, &params, sizeof(params)))
		return -EFAULT;
	return ret;
}

struct sgx_modify_type_op {
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	enum sgx_page_type page_type;
	__u64 *result;
};

static long sgx_modify_page_type(struct sgx_encl *encl, struct sgx_encl_page *entry,
				 unsigned long addr, void *arg)
{
	struct sgx_modify_type_op *op = arg;
	struct sgx_platform *p = encl->platform;
	enum sgx_page_type page_type = op->page_type;
	unsigned long max_prot_restore;
	long ret;

	/* Allowed: REG->TCS, REG->TRIM, TCS->TRIM. */
	if (!(entry->type == SGX_PAGE_TYPE_REG &&
	      (page_type == SGX_PAGE_TYPE_TCS || page_type == SGX_PAGE_TYPE_TRIM)) &&
	    !(entry->type == SGX_PAGE_TYPE_TCS && page_type == SGX_PAGE_TYPE_TRIM))
		return -EINVAL;

	max_prot_restore = entry->vm_max_prot_bits;

	if (entry->type == SGX_PAGE_TYPE_REG && page_type == SGX_PAGE_TYPE_TCS) {
		if ((entry->vm_max_prot_bits & (VM_READ | VM_WRITE)) != (VM_READ | VM_WRITE))
			return -EPERM;
		entry->vm_max_prot_bits = VM_READ | VM_WRITE;

		/* Keep the reclaimer away while the PTEs go without encl->lock. */
		if (sgx_unmark_page_reclaimable(p, entry->epc_page)) {
			ret = -EAGAIN;
			goto out_entry_changed;
		}
		pthread_mutex_unlock(&encl->lock);
		sgx_zap_enclave_ptes(encl, addr);
		pthread_mutex_lock(&encl->lock);
		sgx_mark_page_reclaimable(p, entry->epc_page);
	}

	ret = __emodt(p->cpu, &op->secinfo, sgx_get_epc_virt_addr(p, entry->epc_page));
	if (encls_faulted(ret)) {
		if (encls_failed(ret))
			SGX_WARN("EMODT faulted: %ld", ret);
		ret = -EFAULT;
		goto out_entry_changed;
	}
	if (encls_failed(ret)) {
		*op->result = (uint64_t)ret;
		ret = -EFAULT;
		goto out_entry_changed;
	}
	/* A TCS or TRIM page has no permissions: the windows revoke it. */
	entry->epcm_perm = 0;
	if (sgx_enclave_etrack(encl))
		return -EFAULT;
	entry->type = page_type;
	return 0;

out_entry_changed:
	entry->vm_max_prot_bits = max_prot_restore;
	return ret;
}

static long sgx_enclave_modify_types(struct sgx_encl *encl,
				     struct sgx_enclave_modify_types *modt)
{
	struct sgx_modify_type_op op;

	memset(&op, 0, sizeof(op));
	op.page_type = modt->page_type & SGX_PAGE_TYPE_MASK;
	/* Only TCS and TRIM can be reached with EMODT. */
	if (op.page_type != SGX_PAGE_TYPE_TCS && op.page_type != SGX_PAGE_TYPE_TRIM)
		return -EINVAL;
	op.secinfo.flags = (uint64_t)op.page_type << 8;
	op.result = &modt->result;
	return sgx_encl_for_each_page(encl, modt->offset, modt->length, sgx_modify_page_type,
				      &op, &modt->count);
}

static long sgx_ioc_enclave_modify_types(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_modify_types params;
	long ret;

	ret = sgx_ioc_sgx2_ready(encl);
	if (ret)
		return ret;
	if (sgx_copy_from_user(&params, arg, sizeof(params)))
		return -EFAULT;
	if (sgx_validate_offset_length(encl, params.offset, params.length))
		return -EINVAL;
	if (params.page_type & ~SGX_PAGE_TYPE_MASK)
		return -EINVAL;
	if (params.result || params.count)
		return -EINVAL;

	ret = sgx_enclave_modify_types(encl, &params);
	if (sgx_copy_to_user(arg, &params, sizeof(params)))
		return -EFAULT;
	return ret;
}

static long sgx_remove_page(struct sgx_encl *encl, struct sgx_encl_page *entry,
			    unsigned long addr, void *arg)
{
	struct sgx_secinfo *secinfo = arg;
	struct sgx_platform *p = encl->platform;
	long ret;

	if (entry->type != SGX_PAGE_TYPE_TRIM)
		return -EPERM;
	/*
	 * Probe: EMODPR on an EACCEPTed TRIM page faults with #PF; any other
	 * outcome (SGX_PAGE_NOT_MODIFIABLE before EACCEPT) means the enclave
	 * has not agreed to the removal.
	 */
	ret = __emodpr(p->cpu, secinfo, sgx_get_epc_virt_addr(p, entry->epc_page));
	if (!encls_faulted(ret) || encls_trapnr(ret) != X86_TRAP_PF)
		return -EPERM;
	if (sgx_unmark_page_reclaimable(p, entry->epc_page))
		return -EBUSY;
	pthread_mutex_unlock(&encl->lock);
	sgx_zap_enclave_ptes(encl, addr);
	pthread_mutex_lock(&encl->lock);

	sgx_encl_free_epc_page(p, entry->epc_page);
	encl->secs_child_cnt--;
	entry->epc_page = NULL;
	/* Out of every window before the entry goes: an EAUG may take its place. */
	sgx_encl_window_punch(encl, addr, 1);
	sgx_xa_erase(&encl->page_array, PFN_DOWN(entry->desc));
	sgx_encl_shrink(encl, NULL);
	sgx_encl_page_free(encl, entry);
	return 0;
}

static long sgx_encl_remove_pages(struct sgx_encl *encl, struct sgx_enclave_remove_pages *params)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));

	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X;
	return sgx_encl_for_each_page(encl, params->offset, params->length, sgx_remove_page,
				      &secinfo, &params->count);
}

static long sgx_ioc_enclave_remove_pages(struct sgx_encl *encl, unsigned long arg)
{
	struct sgx_enclave_remove_pages params;
	long ret;

	ret = sgx_ioc_sgx2_ready(encl);
	if (ret)
		return ret;
	if (sgx_copy_from_user(&params, arg, sizeof(params)))
		return -EFAULT;
	if (sgx_validate_offset_length(encl, params.offset, params.length))
		return -EINVAL;
	if (params.count)
		return -EINVAL;

	ret = sgx_encl_remove_pages(encl, &params);
	if (sgx_copy_to_user(arg, &params, sizeof(params)))
		return -EFAULT;
	return ret;
}

long sgx_ioctl(struct sgx_encl *encl, unsigned int cmd, unsigned long arg)
{
	long ret;

	if (!encl)
		return -EBADF;
	/* One ioctl per enclave at a time. */
	if (encl_test_and_set_flag(encl, SGX_ENCL_IOCTL))
		return -EBUSY;

	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE:
		ret = sgx_ioc_enclave_create(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		ret = sgx_ioc_enclave_add_pages(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_INIT:
		ret = sgx_ioc_enclave_init(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_PROVISION:
		ret = sgx_ioc_enclave_provision(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		ret = sgx_ioc_enclave_restrict_permissions(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		ret = sgx_ioc_enclave_modify_types(encl, arg);
		break;
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		ret = sgx_ioc_enclave_remove_pages(encl, arg);
		break;
	default:
		ret = -ENOTTY;	/* -ENOIOCTLCMD, as user space sees it */
		break;
	}

	encl_clear_flag(encl, SGX_ENCL_IOCTL);
	/*
	 * A signal interrupted the call (a charge or direct reclaim saw it):
	 * what user space sees of -ERESTARTSYS when the call is not restarted.
	 */
	if (ret == -ERESTARTSYS)
		ret = -EINTR;
	return ret;
}

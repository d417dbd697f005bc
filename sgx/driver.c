// SPDX-License-Identifier: MIT
/*
 * The driver's file operations (the kernel's sgx/driver.c): open, release,
 * the mmap/mprotect checks, and /dev/sgx_provision.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sgx/encl.h"
#include "sgx/internal.h"
#include "sgx/window.h"

int sgx_open(struct sgx_platform *p, struct sgx_encl **out)
{
	struct sgx_encl *encl;

	if (!p || !out)
		return -EINVAL;
	sgx_release_deferred(p);
	encl = sgx_encl_alloc(p);
	if (!encl)
		return -ENOMEM;
	*out = encl;
	return 0;
}

/*
 * close(): drop the fd's reference to the enclave file. Every user mapping
 * holds one too (a VMA's vm_file), so the file is released, as in the kernel,
 * when the last of them goes.
 */
int sgx_release(struct sgx_encl *encl)
{
	struct sgx_platform *p;

	if (!encl)
		return -EBADF;
	p = encl->platform;
	sgx_encl_file_put(encl);
	sgx_release_deferred(p);
	return 0;
}

/* The kernel's sgx_release(): the last reference to the file went away. */
void sgx_encl_file_release(struct sgx_encl *encl)
{
	/*
	 * Detach every address space first (they pin the enclave), then drop the
	 * file's reference. A reclaimer still holding a page keeps the enclave
	 * alive until it is done with it.
	 */
	sgx_encl_mm_drain(encl);
	sgx_encl_put(encl);
}

int sgx_provision_open(struct sgx_platform *p)
{
	int fd;

	if (!p)
		return -EINVAL;
	fd = fcntl(p->provision_fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static unsigned long prot_to_vm(int prot)
{
	unsigned long vm = 0;

	if (prot & PROT_READ)
		vm |= VM_READ;
	if (prot & PROT_WRITE)
		vm |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm |= VM_EXEC;
	return vm;
}

int sgx_mmap_check(struct sgx_encl *encl, unsigned long start, unsigned long len, int prot,
		   int flags)
{
	if (!encl)
		return -EBADF;
	/* sgx_get_unmapped_area(): enclave memory cannot be private. */
	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		return -EINVAL;
	if (!len || start + len < start)
		return -EINVAL;
	return sgx_encl_may_map(encl, start, start + len, prot_to_vm(prot));
}

int sgx_mprotect_check(struct sgx_encl *encl, unsigned long start, unsigned long len, int prot)
{
	if (!encl)
		return -EBADF;
	if (!len || start + len < start)
		return -EINVAL;
	return sgx_encl_may_map(encl, start, start + len, prot_to_vm(prot));
}

// SPDX-License-Identifier: MIT
/*
 * Windows of other address spaces (shared mode): stubs until the daemon
 * side implements them (docs/DAEMON.md, "Shared mode").
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "sgx/platform.h"

int sgx_mm_create(struct sgx_platform *p, int uffd, struct sgx_mm **out)
{
	(void)p; (void)uffd; *out = NULL;
	return -ENOSYS;
}

void sgx_mm_destroy(struct sgx_mm *mm)
{
	(void)mm;
}

int sgx_mmap_mm(struct sgx_encl *encl, struct sgx_mm *mm, unsigned long addr, unsigned long len,
		int prot, int flags)
{
	(void)encl; (void)mm; (void)addr; (void)len; (void)prot; (void)flags;
	return -ENOSYS;
}

int sgx_munmap_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len)
{
	(void)mm; (void)addr; (void)len;
	return -ENOSYS;
}

int sgx_mprotect_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len, int prot)
{
	(void)mm; (void)addr; (void)len; (void)prot;
	return -ENOSYS;
}

enum sgx_fault_result sgx_vma_fault_mm(struct sgx_mm *mm, unsigned long addr, bool is_write)
{
	(void)mm; (void)addr; (void)is_write;
	return SGX_FAULT_NOT_MINE;
}

int sgx_encl_window_memfd(struct sgx_encl *encl, int *fd, uint64_t *base, uint64_t *size)
{
	(void)encl; (void)base; (void)size; *fd = -1;
	return -ENOSYS;
}

/* SPDX-License-Identifier: MIT */
/* Helpers shared by the manager's files and not part of any kernel header. */
#ifndef SGXEMU_SGX_INTERNAL_H
#define SGXEMU_SGX_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "sgx/sgx.h"

/* The kernel-internal errno that signal_pending() paths return (never seen by user space). */
#ifndef ERESTARTSYS
#define ERESTARTSYS	512
#endif

#define IS_ALIGNED(x, a)	(((x) & ((uint64_t)(a) - 1)) == 0)

/* WARN(): report and go on. */
#define SGX_WARN(fmt, ...) fprintf(stderr, "sgx: WARNING: " fmt "\n", ##__VA_ARGS__)

struct sgx_epc_page *sgx_epc_page_from_phys(struct sgx_platform *p, uint64_t phys);

/*
 * copy_from_user/copy_to_user on the calling process: process_vm_readv/writev
 * on ourselves, so a bad user pointer gives -EFAULT instead of a crash.
 */
int sgx_copy_from_user(void *dst, uint64_t src, unsigned long len);
int sgx_copy_to_user(uint64_t dst, const void *src, unsigned long len);

#endif /* SGXEMU_SGX_INTERNAL_H */

/* SPDX-License-Identifier: MIT */
/*
 * The /dev/sgx_enclave ioctl ABI, as Linux's arch/x86/include/uapi/asm/sgx.h
 * defines it (written from the ABI description, numbers pinned below).
 */
#ifndef _UAPI_ASM_X86_SGX_H
#define _UAPI_ASM_X86_SGX_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Flags of struct sgx_enclave_add_pages. */
enum sgx_page_flags {
	SGX_PAGE_MEASURE	= 0x01,
};

#define SGX_MAGIC 0xA4

#define SGX_IOC_ENCLAVE_CREATE \
	_IOW(SGX_MAGIC, 0x00, struct sgx_enclave_create)
#define SGX_IOC_ENCLAVE_ADD_PAGES \
	_IOWR(SGX_MAGIC, 0x01, struct sgx_enclave_add_pages)
#define SGX_IOC_ENCLAVE_INIT \
	_IOW(SGX_MAGIC, 0x02, struct sgx_enclave_init)
#define SGX_IOC_ENCLAVE_PROVISION \
	_IOW(SGX_MAGIC, 0x03, struct sgx_enclave_provision)
#define SGX_IOC_VEPC_REMOVE_ALL \
	_IO(SGX_MAGIC, 0x04)
#define SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS \
	_IOWR(SGX_MAGIC, 0x05, struct sgx_enclave_restrict_permissions)
#define SGX_IOC_ENCLAVE_MODIFY_TYPES \
	_IOWR(SGX_MAGIC, 0x06, struct sgx_enclave_modify_types)
#define SGX_IOC_ENCLAVE_REMOVE_PAGES \
	_IOWR(SGX_MAGIC, 0x07, struct sgx_enclave_remove_pages)

/* SGX_IOC_ENCLAVE_CREATE: src = address of a 4096-byte SECS. */
struct sgx_enclave_create {
	__u64	src;
};

/* SGX_IOC_ENCLAVE_ADD_PAGES: count = bytes added (output). */
struct sgx_enclave_add_pages {
	__u64 src;
	__u64 offset;
	__u64 length;
	__u64 secinfo;
	__u64 flags;
	__u64 count;
};

/* SGX_IOC_ENCLAVE_INIT: sigstruct = address of a SIGSTRUCT. */
struct sgx_enclave_init {
	__u64 sigstruct;
};

/* SGX_IOC_ENCLAVE_PROVISION: fd = an open /dev/sgx_provision. */
struct sgx_enclave_provision {
	__u64 fd;
};

/* SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS (SGX2). */
struct sgx_enclave_restrict_permissions {
	__u64 offset;
	__u64 length;
	__u64 permissions;
	__u64 result;
	__u64 count;
};

/* SGX_IOC_ENCLAVE_MODIFY_TYPES (SGX2). */
struct sgx_enclave_modify_types {
	__u64 offset;
	__u64 length;
	__u64 page_type;
	__u64 result;
	__u64 count;
};

/* SGX_IOC_ENCLAVE_REMOVE_PAGES (SGX2). */
struct sgx_enclave_remove_pages {
	__u64 offset;
	__u64 length;
	__u64 count;
};

struct sgx_enclave_run;

typedef int (*sgx_enclave_user_handler_t)(long rdi, long rsi, long rdx,
					  long rsp, long r8, long r9,
					  struct sgx_enclave_run *run);

/* The vDSO's __vdso_sgx_enter_enclave() control block (256 bytes). */
struct sgx_enclave_run {
	__u64 tcs;
	__u32 function;
	__u16 exception_vector;
	__u16 exception_error_code;
	__u64 exception_addr;
	__u64 user_handler;
	__u64 user_data;
	__u8  reserved[216];
};

typedef int (*vdso_sgx_enter_enclave_t)(unsigned long rdi, unsigned long rsi,
					unsigned long rdx, unsigned int function,
					unsigned long r8,  unsigned long r9,
					struct sgx_enclave_run *run);

/* The ABI is frozen: the encoded numbers and sizes programs were built with. */
_Static_assert(SGX_IOC_ENCLAVE_CREATE == 0x4008A400, "CREATE ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_ADD_PAGES == 0xC030A401, "ADD_PAGES ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_INIT == 0x4008A402, "INIT ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_PROVISION == 0x4008A403, "PROVISION ioctl number");
_Static_assert(SGX_IOC_VEPC_REMOVE_ALL == 0x0000A404, "VEPC_REMOVE_ALL ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS == 0xC028A405, "RESTRICT ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_MODIFY_TYPES == 0xC028A406, "MODIFY_TYPES ioctl number");
_Static_assert(SGX_IOC_ENCLAVE_REMOVE_PAGES == 0xC018A407, "REMOVE_PAGES ioctl number");
_Static_assert(sizeof(struct sgx_enclave_run) == 256, "sgx_enclave_run size");

#endif /* _UAPI_ASM_X86_SGX_H */

/* SPDX-License-Identifier: MIT */
/*
 * The vDSO a program sees under sgxemu: a copy of the real vDSO's dynamic
 * symbol table plus __vdso_sgx_enter_enclave, which this kernel's vDSO does
 * not have. Programs find the vDSO through getauxval(AT_SYSINFO_EHDR) and
 * parse it themselves (the SGX selftests: PT_DYNAMIC at p_offset, then
 * DT_SYMTAB/DT_STRTAB/DT_HASH as offsets from the base, the SysV hash walk);
 * the preload shim returns this image's address from getauxval().
 *
 * The image is a new ELF of our own making: ELF header, PT_LOAD + PT_DYNAMIC,
 * .dynsym, .dynstr, a SysV DT_HASH, .dynamic; no section headers, no symbol
 * versions (lookups without versions accept that). It contains no code:
 * every symbol is re-based, st_value = target - image (mod 2^64), so that
 * image + st_value is the real vDSO's function, or sgxemu's
 * sgxemu_vsgx_enter_enclave for __vdso_sgx_enter_enclave.
 */
#ifndef SGXEMU_HOST_VDSO_H
#define SGXEMU_HOST_VDSO_H

#include <stddef.h>

#include "uapi/asm/sgx.h"

/* vsgx.S: the vDSO function (vdso_sgx_enter_enclave_t). */
int sgxemu_vsgx_enter_enclave(unsigned long rdi, unsigned long rsi, unsigned long rdx,
			      unsigned int function, unsigned long r8, unsigned long r9,
			      struct sgx_enclave_run *run);

/*
 * Build an image from the real vDSO mapped at 'real_base' (NULL: no real
 * vDSO, the image exports only __vdso_sgx_enter_enclave). *image is
 * read-only and page aligned, *len its size. 0, -ENOEXEC (real_base is not
 * a well-formed x86-64 ELF with a dynamic symbol table) or -ENOMEM.
 */
int sgxemu_vdso_build(const void *real_base, void **image, size_t *len);
void sgxemu_vdso_free(void *image, size_t len);

/*
 * The process's image, built once from the real vDSO (its address read from
 * /proc/self/auxv, so an interposed getauxval() cannot mislead it).
 * Thread-safe. NULL if it could not be built.
 */
const void *sgxemu_vdso_image(void);

/* The real vDSO's base (AT_SYSINFO_EHDR of the kernel's auxv), or NULL. */
const void *sgxemu_vdso_real_base(void);

#endif /* SGXEMU_HOST_VDSO_H */

// SPDX-License-Identifier: MIT
/*
 * Finding __vdso_sgx_enter_enclave the way SGX programs do: the vDSO's ELF
 * image at getauxval(AT_SYSINFO_EHDR), its PT_DYNAMIC, and the symbol
 * through DT_HASH (SysV hash), DT_SYMTAB and DT_STRTAB. Addresses in the
 * dynamic section are link-time addresses: the load bias is the image's
 * address minus the p_vaddr of the PT_LOAD that starts at file offset 0.
 * Every table is checked to lie inside that PT_LOAD.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "examples/bigheap.h"

#define ENTER_NAME	"__vdso_sgx_enter_enclave"

struct vdso {
	const uint8_t *image;
	uint64_t size;			/* bytes of the PT_LOAD at offset 0 */
	uint64_t bias;			/* image - its p_vaddr */
};

static unsigned long sysv_hash(const char *name)
{
	unsigned long h = 0, g;

	while (*name) {
		h = (h << 4) + (unsigned char)*name++;
		g = h & 0xf0000000UL;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* The image bytes at link-time address 'vaddr', 'len' long, or NULL. */
static const void *at(const struct vdso *v, uint64_t vaddr, uint64_t len)
{
	uint64_t off = vaddr + v->bias - (uint64_t)(uintptr_t)v->image;

	if (off > v->size || len > v->size - off)
		return NULL;
	return v->image + off;
}

vdso_sgx_enter_enclave_t bh_find_vdso_enter(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *ph, *dyn_ph = NULL;
	uint64_t hash_va = 0, sym_va = 0, str_va = 0;
	const Elf64_Sym *syms;
	const uint32_t *hash;
	const Elf64_Dyn *dyn;
	struct vdso v = { 0 };
	const char *strs;
	uint32_t nbucket, nchain;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(*ph))
		return NULL;
	ph = (const Elf64_Phdr *)((const uint8_t *)eh + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !v.image) {
			v.image = (const uint8_t *)eh;
			v.size = ph[i].p_filesz;
			v.bias = (uint64_t)(uintptr_t)eh - ph[i].p_vaddr;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn_ph = &ph[i];
		}
	}
	if (!v.image || !dyn_ph || dyn_ph->p_offset > v.size ||
	    dyn_ph->p_filesz > v.size - dyn_ph->p_offset)
		return NULL;
	dyn = (const Elf64_Dyn *)(v.image + dyn_ph->p_offset);
	for (uint64_t i = 0; i < dyn_ph->p_filesz / sizeof(*dyn) && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_HASH)
			hash_va = dyn[i].d_un.d_ptr;
		else if (dyn[i].d_tag == DT_SYMTAB)
			sym_va = dyn[i].d_un.d_ptr;
		else if (dyn[i].d_tag == DT_STRTAB)
			str_va = dyn[i].d_un.d_ptr;
	}
	hash = at(&v, hash_va, 8);
	if (!hash_va || !sym_va || !str_va || !hash)
		return NULL;
	nbucket = hash[0];
	nchain = hash[1];
	hash = at(&v, hash_va, 8 + 4ULL * nbucket + 4ULL * nchain);
	syms = at(&v, sym_va, (uint64_t)nchain * sizeof(*syms));
	strs = at(&v, str_va, 1);
	if (!hash || !syms || !strs || !nbucket)
		return NULL;

	/* Walk the bucket's chain; bound the walk so a looping chain cannot hang us. */
	for (uint32_t i = hash[2 + sysv_hash(ENTER_NAME) % nbucket], n = 0;
	     i != STN_UNDEF && i < nchain && n < nchain; i = hash[2 + nbucket + i], n++) {
		const char *name = at(&v, str_va + syms[i].st_name, sizeof(ENTER_NAME));

		if (!name || memcmp(name, ENTER_NAME, sizeof(ENTER_NAME)))
			continue;
		/*
		 * Where the function lives is the kernel's business: no bounds
		 * check on st_value (sgxemu's image points outside itself).
		 */
		if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_shndx == SHN_UNDEF ||
		    !syms[i].st_value)
			return NULL;
		return (vdso_sgx_enter_enclave_t)(uintptr_t)(syms[i].st_value + v.bias);
	}
	return NULL;
}

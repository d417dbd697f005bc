// SPDX-License-Identifier: MIT
/*
 * The fake vDSO image, looked up exactly as Linux's SGX selftests look up
 * the vDSO (main.c: vdso_get_base, vdso_get_dyntab, vdso_get_dyn,
 * vdso_symtab_get, vdso_get_symbol): PT_DYNAMIC found at its p_offset,
 * DT_SYMTAB/DT_STRTAB/DT_HASH as base + d_ptr, the SysV hash walk.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <time.h>

#include "host/vdso.h"
#include "tests/harness.h"

struct selftest_symtab {
	const Elf64_Sym *elf_symtab;
	const char *elf_symstrtab;
	const Elf32_Word *elf_hashtab;
};

static const Elf64_Dyn *st_get_dyntab(const void *addr)
{
	const Elf64_Ehdr *ehdr = addr;
	const Elf64_Phdr *phdrtab = (const void *)((const char *)addr + ehdr->e_phoff);

	for (int i = 0; i < ehdr->e_phnum; i++)
		if (phdrtab[i].p_type == PT_DYNAMIC)
			return (const void *)((const char *)addr + phdrtab[i].p_offset);
	return NULL;
}

static const void *st_get_dyn(const void *addr, const Elf64_Dyn *dyntab, Elf64_Sxword tag)
{
	for (int i = 0; dyntab[i].d_tag != DT_NULL; i++)
		if (dyntab[i].d_tag == tag)
			return (const char *)addr + dyntab[i].d_un.d_ptr;
	return NULL;
}

static bool st_symtab_get(const void *addr, struct selftest_symtab *symtab)
{
	const Elf64_Dyn *dyntab = st_get_dyntab(addr);

	if (!dyntab)
		return false;
	symtab->elf_symtab = st_get_dyn(addr, dyntab, DT_SYMTAB);
	symtab->elf_symstrtab = st_get_dyn(addr, dyntab, DT_STRTAB);
	symtab->elf_hashtab = st_get_dyn(addr, dyntab, DT_HASH);
	return symtab->elf_symtab && symtab->elf_symstrtab && symtab->elf_hashtab;
}

static unsigned long st_elf_sym_hash(const char *name)
{
	unsigned long h = 0, high;

	while (*name) {
		h = (h << 4) + (unsigned char)*name++;
		high = h & 0xf0000000;
		if (high)
			h ^= high >> 24;
		h &= ~high;
	}
	return h;
}

static const Elf64_Sym *st_get_symbol(const struct selftest_symtab *symtab, const char *name)
{
	Elf32_Word bucketnum = symtab->elf_hashtab[0];
	const Elf32_Word *bucket = &symtab->elf_hashtab[2];
	const Elf32_Word *chain = &symtab->elf_hashtab[bucketnum + 2];

	for (Elf32_Word i = bucket[st_elf_sym_hash(name) % bucketnum]; i != STN_UNDEF;
	     i = chain[i]) {
		const Elf64_Sym *sym = &symtab->elf_symtab[i];

		if (!strcmp(name, &symtab->elf_symstrtab[sym->st_name]))
			return sym;
	}
	return NULL;
}

static void *st_lookup(const void *image, const char *name)
{
	struct selftest_symtab st;
	const Elf64_Sym *sym;

	if (!st_symtab_get(image, &st))
		return NULL;
	sym = st_get_symbol(&st, name);
	return sym ? (char *)image + sym->st_value : NULL;
}

TEST_TIMEOUT(host_vdso_selftest_lookup_finds_enter_enclave, 10)
{
	const void *img = sgxemu_vdso_image();

	REQUIRE(img);
	CHECK(memcmp(img, ELFMAG, SELFMAG) == 0);
	CHECK(st_lookup(img, "__vdso_sgx_enter_enclave") == (void *)sgxemu_vsgx_enter_enclave);
	CHECK(st_lookup(img, "__vdso_no_such_symbol") == NULL);
	/* Built once: the same image every time. */
	CHECK(sgxemu_vdso_image() == img);
	/* The real vDSO has no such symbol on this kernel. */
	CHECK(st_lookup(sgxemu_vdso_real_base(), "__vdso_sgx_enter_enclave") == NULL);
}

TEST_TIMEOUT(host_vdso_real_symbols_rebased_and_callable, 10)
{
	const void *img = sgxemu_vdso_image(), *real = sgxemu_vdso_real_base();
	int (*fake_gettime)(clockid_t, struct timespec *);
	int (*real_gettime)(clockid_t, struct timespec *);
	struct timespec a = { 0 }, b = { 0 };

	REQUIRE(img && real);
	REQUIRE(real == (const void *)getauxval(AT_SYSINFO_EHDR));
	fake_gettime = (int (*)(clockid_t, struct timespec *))st_lookup(img,
									"__vdso_clock_gettime");
	real_gettime = (int (*)(clockid_t, struct timespec *))st_lookup(real,
									"__vdso_clock_gettime");
	REQUIRE(fake_gettime && real_gettime);
	/* The same code: the image re-bases, it does not copy. */
	CHECK(fake_gettime == real_gettime);
	CHECK_EQ(real_gettime(CLOCK_MONOTONIC, &a), 0);
	CHECK_EQ(fake_gettime(CLOCK_MONOTONIC, &b), 0);
	CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	CHECK(st_lookup(img, "__vdso_getcpu") == st_lookup(real, "__vdso_getcpu"));
	CHECK(st_lookup(img, "__vdso_time") == st_lookup(real, "__vdso_time"));
}

TEST_TIMEOUT(host_vdso_image_is_read_only_elf, 10)
{
	const Elf64_Ehdr *eh = sgxemu_vdso_image();
	const Elf64_Phdr *ph;
	bool load = false, dynamic = false;

	REQUIRE(eh);
	CHECK_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);
	CHECK_EQ(eh->e_type, ET_DYN);
	CHECK_EQ(eh->e_machine, EM_X86_64);
	ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			load = true;
		if (ph[i].p_type == PT_DYNAMIC)
			dynamic = true;
	}
	CHECK(load && dynamic);
	/* Page aligned, as a mapped image is. */
	CHECK(((uintptr_t)eh & 4095) == 0);
}

TEST_TIMEOUT(host_vdso_build_rejects_garbage_and_works_without_real, 10)
{
	uint8_t junk[4096] __attribute__((aligned(4096)));
	void *img = NULL;
	size_t len = 0;

	memset(junk, 0x41, sizeof(junk));
	CHECK_EQ(sgxemu_vdso_build(junk, &img, &len), -ENOEXEC);
	/* An ELF header with no dynamic segment. */
	memcpy(junk, sgxemu_vdso_real_base(), sizeof(Elf64_Ehdr));
	((Elf64_Ehdr *)junk)->e_phnum = 0;
	CHECK_EQ(sgxemu_vdso_build(junk, &img, &len), -ENOEXEC);
	CHECK_EQ(sgxemu_vdso_build(NULL, NULL, &len), -EINVAL);

	REQUIRE_EQ(sgxemu_vdso_build(NULL, &img, &len), 0);
	CHECK(st_lookup(img, "__vdso_sgx_enter_enclave") == (void *)sgxemu_vsgx_enter_enclave);
	CHECK(st_lookup(img, "__vdso_clock_gettime") == NULL);
	sgxemu_vdso_free(img, len);
}

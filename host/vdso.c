// SPDX-License-Identifier: MIT
/*
 * The fake vDSO image: see vdso.h. Reading the real vDSO trusts nothing
 * beyond what it checks (it is the kernel's, but the builder also takes any
 * base for tests): every table is bounds-checked against the PT_LOAD that
 * maps the image.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/vdso.h"

#define SGX_ENTER_NAME	"__vdso_sgx_enter_enclave"

struct vdso_sym {
	const char *name;
	uint64_t addr;			/* absolute target */
	uint8_t info;
	uint16_t shndx;
};

struct real_vdso {
	const uint8_t *base;
	uint64_t size;			/* bytes mapped from base (the PT_LOAD) */
	int64_t bias;			/* base - p_vaddr of the segment at offset 0 */
	const Elf64_Sym *symtab;
	const char *strtab;
	uint64_t strsz;
	uint64_t nsyms;
};

static unsigned long elf_hash(const char *name)
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

/* A pointer to [vaddr, vaddr + len) of the real image, or NULL if outside. */
static const void *real_at(const struct real_vdso *r, uint64_t vaddr, uint64_t len)
{
	uint64_t off = vaddr + (uint64_t)r->bias - (uint64_t)(uintptr_t)r->base;

	if (off > r->size || len > r->size - off)
		return NULL;
	return r->base + off;
}

/* Number of symbols from DT_GNU_HASH: one past the end of the last chain. */
static uint64_t gnu_hash_nsyms(const struct real_vdso *r, uint64_t vaddr)
{
	const uint32_t *h = real_at(r, vaddr, 16), *buckets;
	uint32_t nbuckets, symoffset, max = 0;
	uint64_t chains;

	if (!h)
		return 0;
	nbuckets = h[0];
	symoffset = h[1];
	buckets = real_at(r, vaddr + 16 + (uint64_t)h[2] * 8, (uint64_t)nbuckets * 4);
	if (!buckets)
		return 0;
	for (uint32_t i = 0; i < nbuckets; i++)
		if (buckets[i] > max)
			max = buckets[i];
	if (max < symoffset)
		return symoffset;
	chains = vaddr + 16 + (uint64_t)h[2] * 8 + (uint64_t)nbuckets * 4;
	for (uint64_t i = max;; i++) {
		const uint32_t *c = real_at(r, chains + (i - symoffset) * 4, 4);

		if (!c)
			return 0;
		if (*c & 1)
			return i + 1;
	}
}

static int parse_real(const void *base, struct real_vdso *r)
{
	const Elf64_Ehdr *eh = base;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	uint64_t dyn_n = 0, hash = 0, gnu_hash = 0, symtab = 0, strtab = 0;
	bool have_load = false;

	memset(r, 0, sizeof(*r));
	r->base = base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phnum == 0 || eh->e_phnum > 64 || eh->e_phoff > 4096)
		return -ENOEXEC;
	ph = (const Elf64_Phdr *)((const uint8_t *)base + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !have_load) {
			r->bias = (int64_t)((uint64_t)(uintptr_t)base - ph[i].p_vaddr);
			r->size = ph[i].p_filesz;
			have_load = true;
		}
	}
	if (!have_load || r->size < eh->e_phoff + eh->e_phnum * sizeof(*ph))
		return -ENOEXEC;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		dyn = real_at(r, ph[i].p_vaddr, ph[i].p_memsz);
		dyn_n = ph[i].p_memsz / sizeof(*dyn);
	}
	if (!dyn)
		return -ENOEXEC;
	for (uint64_t i = 0; i < dyn_n && dyn[i].d_tag != DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case DT_HASH:
			hash = dyn[i].d_un.d_ptr;
			break;
		case DT_GNU_HASH:
			gnu_hash = dyn[i].d_un.d_ptr;
			break;
		case DT_SYMTAB:
			symtab = dyn[i].d_un.d_ptr;
			break;
		case DT_STRTAB:
			strtab = dyn[i].d_un.d_ptr;
			break;
		case DT_STRSZ:
			r->strsz = dyn[i].d_un.d_val;
			break;
		}
	}
	if (hash) {
		const uint32_t *h = real_at(r, hash, 8);

		r->nsyms = h ? h[1] : 0;
	} else if (gnu_hash) {
		r->nsyms = gnu_hash_nsyms(r, gnu_hash);
	}
	r->strtab = real_at(r, strtab, r->strsz);
	r->symtab = real_at(r, symtab, r->nsyms * sizeof(Elf64_Sym));
	if (!r->nsyms || !r->strtab || !r->symtab || !r->strsz || r->strtab[r->strsz - 1])
		return -ENOEXEC;
	return 0;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int emit(const struct vdso_sym *syms, size_t n, void **image, size_t *len)
{
	size_t off_sym, off_str, off_hash, off_dyn, strsz = 1, total;
	uint32_t nbucket = (uint32_t)(n / 2 + 1), nchain = (uint32_t)(n + 1);
	uint32_t *hash, *bucket, *chain;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Sym *sym;
	Elf64_Dyn *dyn;
	uint8_t *img;
	char *str;

	for (size_t i = 0; i < n; i++)
		strsz += strlen(syms[i].name) + 1;
	off_sym = align_up(sizeof(*eh) + 2 * sizeof(*ph), 8);
	off_str = off_sym + (n + 1) * sizeof(*sym);
	off_hash = align_up(off_str + strsz, 8);
	off_dyn = align_up(off_hash + (2 + (size_t)nbucket + nchain) * 4, 8);
	total = align_up(off_dyn + 6 * sizeof(*dyn), 4096);

	img = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img == MAP_FAILED)
		return -ENOMEM;

	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	eh->e_shentsize = sizeof(Elf64_Shdr);

	ph = (Elf64_Phdr *)(img + sizeof(*eh));
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R;
	ph[0].p_filesz = ph[0].p_memsz = total;
	ph[0].p_align = 4096;
	ph[1].p_type = PT_DYNAMIC;
	ph[1].p_flags = PF_R;
	ph[1].p_offset = ph[1].p_vaddr = ph[1].p_paddr = off_dyn;
	ph[1].p_filesz = ph[1].p_memsz = 6 * sizeof(*dyn);
	ph[1].p_align = 8;

	sym = (Elf64_Sym *)(img + off_sym);
	str = (char *)(img + off_str);
	hash = (uint32_t *)(img + off_hash);
	hash[0] = nbucket;
	hash[1] = nchain;
	bucket = hash + 2;
	chain = bucket + nbucket;
	strsz = 1;
	for (size_t i = 0; i < n; i++) {
		Elf64_Sym *s = &sym[i + 1];
		uint32_t b = (uint32_t)(elf_hash(syms[i].name) % nbucket);

		s->st_name = (uint32_t)strsz;
		strcpy(str + strsz, syms[i].name);
		strsz += strlen(syms[i].name) + 1;
		s->st_info = syms[i].info;
		s->st_shndx = syms[i].shndx;
		/* Re-based: image + st_value is the target, whatever the distance. */
		s->st_value = syms[i].addr - (uint64_t)(uintptr_t)img;
		/* Prepend to the bucket's chain. */
		chain[i + 1] = bucket[b];
		bucket[b] = (uint32_t)(i + 1);
	}

	dyn = (Elf64_Dyn *)(img + off_dyn);
	dyn[0].d_tag = DT_HASH;
	dyn[0].d_un.d_ptr = off_hash;
	dyn[1].d_tag = DT_STRTAB;
	dyn[1].d_un.d_ptr = off_str;
	dyn[2].d_tag = DT_SYMTAB;
	dyn[2].d_un.d_ptr = off_sym;
	dyn[3].d_tag = DT_STRSZ;
	dyn[3].d_un.d_val = strsz;
	dyn[4].d_tag = DT_SYMENT;
	dyn[4].d_un.d_val = sizeof(*sym);
	dyn[5].d_tag = DT_NULL;

	if (mprotect(img, total, PROT_READ)) {
		munmap(img, total);
		return -ENOMEM;
	}
	*image = img;
	*len = total;
	return 0;
}

int sgxemu_vdso_build(const void *real_base, void **image, size_t *len)
{
	struct real_vdso r = { 0 };
	struct vdso_sym *syms;
	uint16_t text_shndx = SHN_ABS;
	size_t n = 0;
	int ret;

	if (!image || !len)
		return -EINVAL;
	if (real_base) {
		ret = parse_real(real_base, &r);
		if (ret)
			return ret;
	}
	syms = calloc(r.nsyms + 1, sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	for (uint64_t i = 1; i < r.nsyms; i++) {
		const Elf64_Sym *s = &r.symtab[i];

		if (s->st_shndx == SHN_UNDEF || s->st_name >= r.strsz || !r.strtab[s->st_name] ||
		    !strcmp(r.strtab + s->st_name, SGX_ENTER_NAME))
			continue;
		syms[n].name = r.strtab + s->st_name;
		syms[n].info = s->st_info;
		syms[n].shndx = s->st_shndx;
		syms[n].addr = s->st_shndx == SHN_ABS ? s->st_value :
			       s->st_value + (uint64_t)r.bias;
		if (ELF64_ST_TYPE(s->st_info) == STT_FUNC)
			text_shndx = s->st_shndx;
		n++;
	}
	syms[n].name = SGX_ENTER_NAME;
	syms[n].info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
	syms[n].shndx = text_shndx;
	syms[n].addr = (uint64_t)(uintptr_t)sgxemu_vsgx_enter_enclave;
	n++;
	ret = emit(syms, n, image, len);
	free(syms);
	return ret;
}

void sgxemu_vdso_free(void *image, size_t len)
{
	if (image)
		munmap(image, len);
}

const void *sgxemu_vdso_real_base(void)
{
	Elf64_auxv_t av;
	const void *base = NULL;
	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return (const void *)getauxval(AT_SYSINFO_EHDR);
	while (read(fd, &av, sizeof(av)) == (ssize_t)sizeof(av) && av.a_type != AT_NULL) {
		if (av.a_type == AT_SYSINFO_EHDR) {
			base = (const void *)(uintptr_t)av.a_un.a_val;
			break;
		}
	}
	close(fd);
	return base;
}

/* The process's image: one per process, like the vDSO it stands for. */
static struct {
	pthread_once_t once;
	void *image;
	size_t len;
} process_vdso = { .once = PTHREAD_ONCE_INIT };

static void build_process_vdso(void)
{
	if (sgxemu_vdso_build(sgxemu_vdso_real_base(), &process_vdso.image, &process_vdso.len))
		process_vdso.image = NULL;
}

const void *sgxemu_vdso_image(void)
{
	pthread_once(&process_vdso.once, build_process_vdso);
	return process_vdso.image;
}

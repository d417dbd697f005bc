// SPDX-License-Identifier: MIT
/*
 * Find, patch and trap a program's CPUID instructions (see cpuid_patch.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* dl_iterate_phdr, REG_RIP */
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "host/cpuid_patch.h"
#include "host/insn.h"

#define CPUID_ELF_MAX_SIZE	(2ULL << 30)

/*
 * The real CPUID, in assembly so that the address of its CPUID instruction
 * is known (cpuid_patch_real_site) and cpuid_patch_apply() can refuse to
 * patch it: a program scanned whole (a test binary that links this file)
 * still reaches the host's CPUID from its trap handler.
 */
__asm__(
	"	.text\n"
	"	.globl	cpuid_patch_real_cpuid\n"
	"	.type	cpuid_patch_real_cpuid, @function\n"
	"	.p2align 4\n"
	"cpuid_patch_real_cpuid:\n"
	"	.cfi_startproc\n"
	"	pushq	%rbx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_rel_offset %rbx, 0\n"
	"	movq	%rdx, %r8\n"
	"	movl	%edi, %eax\n"
	"	movl	%esi, %ecx\n"
	"	.globl	cpuid_patch_real_site\n"
	"	.hidden	cpuid_patch_real_site\n"
	"cpuid_patch_real_site:\n"
	"	cpuid\n"
	"	movl	%eax, 0(%r8)\n"
	"	movl	%ebx, 4(%r8)\n"
	"	movl	%ecx, 8(%r8)\n"
	"	movl	%edx, 12(%r8)\n"
	"	popq	%rbx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	.cfi_restore %rbx\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size	cpuid_patch_real_cpuid, .-cpuid_patch_real_cpuid\n");

extern const uint8_t cpuid_patch_real_site[] __attribute__((visibility("hidden")));

/* ---- the site table ---- */

void cpuid_sites_init(struct cpuid_sites *s)
{
	memset(s, 0, sizeof(*s));
}

void cpuid_sites_free(struct cpuid_sites *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int sites_append(struct cpuid_sites *s, uint64_t addr, const struct insn *in)
{
	if (s->nr == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct cpuid_site *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->nr++] = (struct cpuid_site){
		.addr = addr, .length = in->length, .opcode_offset = in->opcode_offset,
	};
	return 0;
}

static int site_cmp(const void *a, const void *b)
{
	const struct cpuid_site *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void cpuid_sites_sort(struct cpuid_sites *s)
{
	size_t i, j;

	if (!s->nr)
		return;
	qsort(s->v, s->nr, sizeof(*s->v), site_cmp);
	/* Overlapping ranges (symbol aliases) find the same site twice. */
	for (i = 1, j = 1; i < s->nr; i++) {
		if (s->v[i].addr == s->v[j - 1].addr) {
			s->v[j - 1].patched |= s->v[i].patched;
			continue;
		}
		s->v[j++] = s->v[i];
	}
	s->nr = j;
}

int cpuid_sweep(const uint8_t *code, uint64_t addr, uint64_t size, struct cpuid_sites *out,
		unsigned long *nr_insns)
{
	size_t before = out->nr;
	unsigned long n = 0;
	uint64_t off = 0;

	if (nr_insns)
		*nr_insns = 0;
	if (!code)
		return 0;
	while (off < size) {
		struct insn in;
		/* 'avail' stops at the end: an instruction may not straddle it. */
		int len = insn_decode(code + off, size - off, &in);

		if (len < 0) {
			out->nr = before;
			return 0;
		}
		if (insn_is_cpuid(&in) && sites_append(out, addr + off, &in)) {
			out->nr = before;
			return -ENOMEM;
		}
		off += len;
		n++;
	}
	if (nr_insns)
		*nr_insns = n;
	return 1;
}

/* ---- the ELF file ---- */

struct elf_file {
	const uint8_t *map;
	size_t size;
	const Elf64_Ehdr *ehdr;
	const Elf64_Phdr *phdr;		/* NULL if none */
	const Elf64_Shdr *shdr;		/* NULL if none */
	unsigned int phnum, shnum;
};

/* Is [off, off + len) inside the file? */
static bool in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static int elf_open(const char *path, struct elf_file *f)
{
	const Elf64_Ehdr *eh;
	struct stat sb;
	void *map;
	int fd, err;

	memset(f, 0, sizeof(*f));
	if (!path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(Elf64_Ehdr) ||
	    (uint64_t)sb.st_size > CPUID_ELF_MAX_SIZE) {
		close(fd);
		return -ENOEXEC;
	}
	map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	f->map = map;
	f->size = sb.st_size;
	f->ehdr = eh = map;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		goto bad;
	if (eh->e_phnum) {
		if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
		    !in_file(f, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)) ||
		    eh->e_phoff % 8)
			goto bad;
		f->phdr = (const Elf64_Phdr *)(f->map + eh->e_phoff);
		f->phnum = eh->e_phnum;
	}
	/* e_shnum 0 with e_shoff set is extended numbering: treated as no sections. */
	if (eh->e_shnum && eh->e_shoff) {
		if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
		    !in_file(f, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
		    eh->e_shoff % 8)
			goto bad;
		f->shdr = (const Elf64_Shdr *)(f->map + eh->e_shoff);
		f->shnum = eh->e_shnum;
	}
	return 0;
bad:
	munmap((void *)f->map, f->size);
	memset(f, 0, sizeof(*f));
	return -ENOEXEC;
}

static void elf_close(struct elf_file *f)
{
	if (f->map)
		munmap((void *)f->map, f->size);
	memset(f, 0, sizeof(*f));
}

static bool is_exec_segment(const struct elf_file *f, const Elf64_Phdr *ph)
{
	return ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
	       in_file(f, ph->p_offset, ph->p_filesz);
}

/* The file bytes of the code at [vaddr, vaddr + len), if one executable segment holds them. */
static const uint8_t *code_at(const struct elf_file *f, uint64_t vaddr, uint64_t len)
{
	uint64_t off;

	for (unsigned int i = 0; i < f->phnum; i++) {
		const Elf64_Phdr *ph = &f->phdr[i];

		if (!is_exec_segment(f, ph) || vaddr < ph->p_vaddr)
			continue;
		off = vaddr - ph->p_vaddr;
		if (off > ph->p_filesz || len > ph->p_filesz - off)
			continue;
		return f->map + ph->p_offset + off;
	}
	return NULL;
}

/* Symbol table i (SHT_SYMTAB/SHT_DYNSYM) and its strings, bounds-checked. */
static bool symtab_get(const struct elf_file *f, unsigned int i, const Elf64_Sym **syms,
		       size_t *nr, const char **strs, size_t *strs_size)
{
	const Elf64_Shdr *sh = &f->shdr[i], *str;

	if ((sh->sh_type != SHT_SYMTAB && sh->sh_type != SHT_DYNSYM) ||
	    sh->sh_entsize != sizeof(Elf64_Sym) || !in_file(f, sh->sh_offset, sh->sh_size) ||
	    sh->sh_offset % 8 || sh->sh_link >= f->shnum)
		return false;
	str = &f->shdr[sh->sh_link];
	if (str->sh_type != SHT_STRTAB || !in_file(f, str->sh_offset, str->sh_size))
		return false;
	*syms = (const Elf64_Sym *)(f->map + sh->sh_offset);
	*nr = sh->sh_size / sizeof(Elf64_Sym);
	*strs = (const char *)f->map + str->sh_offset;
	*strs_size = str->sh_size;
	return true;
}

static bool is_function(const Elf64_Sym *s)
{
	unsigned int type = ELF64_ST_TYPE(s->st_info);

	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_size &&
	       s->st_shndx != SHN_UNDEF && s->st_shndx < SHN_LORESERVE;
}

struct range {
	uint64_t addr, size;
};

struct ranges {
	struct range *v;
	size_t nr, cap;
};

static int ranges_add(struct ranges *r, uint64_t addr, uint64_t size)
{
	if (r->nr == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct range *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->nr++] = (struct range){ addr, size };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* Sort and drop exact duplicates (.symtab and .dynsym name the same functions). */
static void ranges_unique(struct ranges *r)
{
	size_t i, j;

	if (!r->nr)
		return;
	qsort(r->v, r->nr, sizeof(*r->v), range_cmp);
	for (i = 1, j = 1; i < r->nr; i++)
		if (range_cmp(&r->v[i], &r->v[j - 1]))
			r->v[j++] = r->v[i];
	r->nr = j;
}

/* Function symbols of the tables of type 'type' (SHT_SYMTAB or SHT_DYNSYM). */
static int collect_functions(const struct elf_file *f, uint32_t type, struct ranges *r)
{
	for (unsigned int i = 0; i < f->shnum; i++) {
		const Elf64_Sym *syms;
		const char *strs;
		size_t nr, strs_size;

		if (f->shdr[i].sh_type != type || !symtab_get(f, i, &syms, &nr, &strs, &strs_size))
			continue;
		for (size_t k = 0; k < nr; k++)
			if (is_function(&syms[k]) &&
			    code_at(f, syms[k].st_value, syms[k].st_size) &&
			    ranges_add(r, syms[k].st_value, syms[k].st_size))
				return -ENOMEM;
	}
	return 0;
}

static int collect_sections(const struct elf_file *f, struct ranges *r)
{
	for (unsigned int i = 0; i < f->shnum; i++) {
		const Elf64_Shdr *sh = &f->shdr[i];

		if (sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR) &&
		    (sh->sh_flags & SHF_ALLOC) && sh->sh_size &&
		    code_at(f, sh->sh_addr, sh->sh_size) &&
		    ranges_add(r, sh->sh_addr, sh->sh_size))
			return -ENOMEM;
	}
	return 0;
}

static int collect_segments(const struct elf_file *f, struct ranges *r)
{
	for (unsigned int i = 0; i < f->phnum; i++)
		if (is_exec_segment(f, &f->phdr[i]) && f->phdr[i].p_filesz &&
		    ranges_add(r, f->phdr[i].p_vaddr, f->phdr[i].p_filesz))
			return -ENOMEM;
	return 0;
}

/*
 * Function starts from .eh_frame_hdr (PT_GNU_EH_FRAME): its binary-search
 * table lists the first instruction of every function that has unwind
 * information, even in a binary stripped of symbols and section headers.
 * Only the layout every toolchain emits is understood (version 1, count
 * udata4, table datarel|sdata4); anything else adds nothing.
 */
static int collect_eh_frame_starts(const struct elf_file *f, struct ranges *r)
{
	for (unsigned int i = 0; i < f->phnum; i++) {
		const Elf64_Phdr *ph = &f->phdr[i];
		const uint8_t *hdr;
		uint32_t count;
		int32_t loc;

		if (ph->p_type != PT_GNU_EH_FRAME || !in_file(f, ph->p_offset, ph->p_filesz) ||
		    ph->p_filesz < 12)
			continue;
		hdr = f->map + ph->p_offset;
		/* version 1, a 4-byte eh_frame_ptr, count udata4, table datarel|sdata4 */
		if (hdr[0] != 1 || ((hdr[1] & 0x0f) != 0x03 && (hdr[1] & 0x0f) != 0x0b) ||
		    hdr[2] != 0x03 || hdr[3] != 0x3b)
			continue;
		memcpy(&count, hdr + 8, 4);
		if (count > (ph->p_filesz - 12) / 8)
			continue;
		for (uint32_t k = 0; k < count; k++) {
			memcpy(&loc, hdr + 12 + 8 * (uint64_t)k, 4);
			if (code_at(f, ph->p_vaddr + (int64_t)loc, 1) &&
			    ranges_add(r, ph->p_vaddr + (int64_t)loc, 0))
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Which ranges to sweep: with a full symbol table (.symtab), every function.
 * Otherwise (stripped) every executable section - or segment without
 * section headers - cut into spans at the known function starts (.dynsym,
 * .eh_frame_hdr): each span must sweep exactly to the next start, so data
 * in one span (hand-written assembly) costs only that span.
 */
static int choose_ranges(const struct elf_file *f, struct ranges *ranges,
			 struct ranges *checkpoints, enum cpuid_scan_method *method)
{
	int ret;

	*method = CPUID_SCAN_SYMBOLS;
	ret = collect_functions(f, SHT_SYMTAB, ranges);
	if (ret || ranges->nr)
		return ret;
	ret = collect_functions(f, SHT_DYNSYM, checkpoints);
	if (!ret)
		ret = collect_eh_frame_starts(f, checkpoints);
	if (ret)
		return ret;
	*method = CPUID_SCAN_SECTIONS;
	ret = collect_sections(f, ranges);
	if (ret || ranges->nr)
		return ret;
	*method = CPUID_SCAN_SEGMENTS;
	return collect_segments(f, ranges);
}

/* Sweep one span; count it in the report. Returns 0 or -ENOMEM. */
static int sweep_span(const struct elf_file *f, uint64_t addr, uint64_t size, uint64_t bias,
		      struct cpuid_sites *out, struct cpuid_scan_report *r)
{
	unsigned long n;
	int ret;

	if (!size)
		return 0;
	ret = cpuid_sweep(code_at(f, addr, size), addr + bias, size, out, &n);
	if (ret < 0)
		return ret;
	r->ranges++;
	if (ret) {
		r->instructions += n;
		r->bytes_swept += size;
	} else {
		r->ranges_out_of_sync++;
	}
	return 0;
}

/* Sweep [rg) in spans cut at the checkpoints (sorted, unique, sizes ignored) inside it. */
static int sweep_range(const struct elf_file *f, const struct range *rg,
		       const struct ranges *cps, uint64_t bias, struct cpuid_sites *out,
		       struct cpuid_scan_report *r)
{
	uint64_t start = rg->addr, end = rg->addr + rg->size;
	size_t i = 0;
	int ret;

	while (i < cps->nr && cps->v[i].addr <= start)
		i++;
	for (; i < cps->nr && cps->v[i].addr < end; i++) {
		if (cps->v[i].addr == start)
			continue;	/* the same start twice (sizes differ) */
		ret = sweep_span(f, start, cps->v[i].addr - start, bias, out, r);
		if (ret)
			return ret;
		start = cps->v[i].addr;
	}
	return sweep_span(f, start, end - start, bias, out, r);
}

int cpuid_scan_elf(const char *path, uint64_t bias, struct cpuid_sites *out,
		   struct cpuid_scan_report *rep)
{
	struct cpuid_scan_report r = { 0 };
	struct ranges ranges = { 0 }, cps = { 0 };
	struct elf_file f;
	size_t before = out->nr;
	int ret;

	ret = elf_open(path, &f);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < f.phnum; i++)
		if (is_exec_segment(&f, &f.phdr[i]))
			r.exec_bytes += f.phdr[i].p_filesz;

	ret = choose_ranges(&f, &ranges, &cps, &r.method);
	if (ret)
		goto out;
	ranges_unique(&ranges);
	ranges_unique(&cps);
	for (size_t i = 0; i < ranges.nr; i++) {
		ret = sweep_range(&f, &ranges.v[i], &cps, bias, out, &r);
		if (ret)
			goto out;
	}
	cpuid_sites_sort(out);
	ret = (int)(out->nr - before);
out:
	if (ret < 0)
		out->nr = before;
	free(ranges.v);
	free(cps.v);
	elf_close(&f);
	if (rep)
		*rep = r;
	return ret;
}

int cpuid_elf_function(const char *path, const char *name, uint64_t *addr, uint64_t *size)
{
	struct elf_file f;
	int ret;

	ret = elf_open(path, &f);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (unsigned int i = 0; i < f.shnum && ret; i++) {
		const Elf64_Sym *syms;
		const char *strs;
		size_t nr, strs_size, len = strlen(name);

		if (!symtab_get(&f, i, &syms, &nr, &strs, &strs_size))
			continue;
		for (size_t k = 0; k < nr; k++) {
			uint32_t at = syms[k].st_name;

			if (!is_function(&syms[k]) || at >= strs_size || len >= strs_size - at ||
			    memcmp(strs + at, name, len + 1))
				continue;
			*addr = syms[k].st_value;
			*size = syms[k].st_size;
			ret = 0;
			break;
		}
	}
	elf_close(&f);
	return ret;
}

/* ---- patching ---- */

/*
 * Turn the 0f 'from' at 'op' into 0f 'to': the page(s) RWX while writing,
 * R-X afterwards. -EILSEQ (nothing written) if the bytes are not 0f 'from'.
 */
static int poke_code(uint8_t *op, uint8_t from, uint8_t to)
{
	uintptr_t pagesz = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)op & ~(pagesz - 1);
	uintptr_t len = (((uintptr_t)op + 1) & ~(pagesz - 1)) + pagesz - start;
	int ret = 0;

	/*
	 * RWX, not RW: the code doing the patching may live on the very page
	 * it patches (a program that links this file and scans itself).
	 * mprotect() also fails cleanly on an address that is not mapped,
	 * before anything reads it.
	 */
	if (mprotect((void *)start, len, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -errno;
	/*
	 * One byte store: another thread fetching the instruction sees the old
	 * opcode or the new one, never a mix (x86 cross-modifying code). It is
	 * written in asm rather than as __atomic_store_n because it stores to
	 * code: ThreadSanitizer instruments atomics by updating the shadow of
	 * the address, and text has no writable shadow (the store SEGVs in its
	 * runtime). No thread synchronizes through this byte, so TSan loses
	 * nothing by not seeing it.
	 */
	if (op[0] == 0x0f && op[1] == from)
		__asm__ volatile("movb %1, %0" : "=m"(op[1]) : "q"(to) : "memory");
	else
		ret = -EILSEQ;
	if (mprotect((void *)start, len, PROT_READ | PROT_EXEC) && !ret)
		ret = -errno;
	return ret;
}

int cpuid_patch_apply(struct cpuid_sites *s, unsigned int *skipped)
{
	unsigned int skip = 0;
	int done = 0, ret = 0;

	for (size_t i = 0; i < s->nr; i++) {
		struct cpuid_site *site = &s->v[i];
		uint8_t *op = (uint8_t *)(uintptr_t)(site->addr + site->opcode_offset);

		if (site->patched)
			continue;
		if (op == cpuid_patch_real_site || site->opcode_offset + 2 > site->length) {
			skip++;
			continue;
		}
		ret = poke_code(op, 0xa2, 0x0b);
		if (ret == -EILSEQ) {	/* the code changed since the scan: leave it */
			skip++;
			ret = 0;
			continue;
		}
		if (ret)
			break;
		site->patched = true;
		done++;
	}
	if (skipped)
		*skipped = skip;
	return ret ? ret : done;
}

int cpuid_patch_revert(struct cpuid_sites *s)
{
	int done = 0, ret;

	for (size_t i = 0; i < s->nr; i++) {
		struct cpuid_site *site = &s->v[i];
		uint8_t *op = (uint8_t *)(uintptr_t)(site->addr + site->opcode_offset);

		if (!site->patched)
			continue;
		ret = poke_code(op, 0x0b, 0xa2);
		if (ret)
			return ret;
		site->patched = false;
		done++;
	}
	return done;
}

static int first_object(struct dl_phdr_info *info, size_t size __attribute__((unused)),
			void *arg)
{
	*(uint64_t *)arg = info->dlpi_addr;
	return 1;	/* the first object is the main program: stop */
}

int cpuid_main_bias(uint64_t *bias)
{
	return dl_iterate_phdr(first_object, bias) == 1 ? 0 : -ENOENT;
}

int cpuid_patch_main_program(struct cpuid_sites *out, struct cpuid_scan_report *rep)
{
	uint64_t bias;
	int ret;

	ret = cpuid_main_bias(&bias);
	if (ret)
		return ret;
	ret = cpuid_scan_elf("/proc/self/exe", bias, out, rep);
	if (ret < 0)
		return ret;
	return cpuid_patch_apply(out, NULL);
}

/* ---- trap time ---- */

const struct cpuid_site *cpuid_patch_lookup(const struct cpuid_sites *s, uint64_t rip)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].addr == rip)
			return s->v[mid].patched ? &s->v[mid] : NULL;
		if (s->v[mid].addr < rip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool cpuid_patch_handle_trap(const struct cpuid_sites *s, void *ucontext,
			     bool (*emulate)(void *arg, uint32_t leaf, uint32_t subleaf,
					     uint32_t regs[4]),
			     void *arg)
{
	ucontext_t *uc = ucontext;
	greg_t *gr = uc->uc_mcontext.gregs;
	const struct cpuid_site *site = cpuid_patch_lookup(s, (uint64_t)gr[REG_RIP]);
	uint32_t leaf, subleaf, regs[4] = { 0 };

	if (!site)
		return false;
	leaf = (uint32_t)gr[REG_RAX];
	subleaf = (uint32_t)gr[REG_RCX];
	if (!emulate || !emulate(arg, leaf, subleaf, regs))
		cpuid_patch_real_cpuid(leaf, subleaf, regs);
	gr[REG_RAX] = regs[0];
	gr[REG_RBX] = regs[1];
	gr[REG_RCX] = regs[2];
	gr[REG_RDX] = regs[3];
	gr[REG_RIP] += site->length;
	return true;
}

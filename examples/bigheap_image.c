// SPDX-License-Identifier: MIT
/*
 * From the embedded enclave ELF to the list of pages to add. The ELF was
 * linked at address 0 (enclave/bigheap.lds), so a segment's p_vaddr is its
 * offset in the enclave. Segment 0 must be the TCS pages (RW in the ELF,
 * added as TCS with no permissions, as the SDM wants); the others are added
 * as REG pages with their ELF permissions. The heap follows the last
 * segment; it is added but not measured (its pages are zeros, and the
 * enclave writes before it reads), while its place and size are measured
 * through the config block at the start of the data segment.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "examples/bigheap.h"

#define PAGE_ALIGN(x)	(((x) + BH_PAGE_SIZE - 1) & ~(uint64_t)(BH_PAGE_SIZE - 1))

static int fail(const char *what)
{
	fprintf(stderr, "bigheap: the embedded enclave image is unusable: %s\n", what);
	return -1;
}

static int prot_of_pflags(uint32_t pf)
{
	return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) |
	       ((pf & PF_X) ? PROT_EXEC : 0);
}

/* SECINFO R/W/X have the values of PROT_READ/WRITE/EXEC, as the selftests rely on. */
static uint64_t secinfo_of_prot(int prot)
{
	return ((prot & PROT_READ) ? SGX_SECINFO_R : 0) | ((prot & PROT_WRITE) ? SGX_SECINFO_W : 0) |
	       ((prot & PROT_EXEC) ? SGX_SECINFO_X : 0);
}

static uint64_t next_pow2(uint64_t x)
{
	uint64_t p = BH_PAGE_SIZE;

	while (p < x && p)
		p <<= 1;
	return p;
}

/* The PT_LOAD headers, checked against the blob; returns how many, or -1. */
static int load_headers(const uint8_t *elf, uint64_t len, const Elf64_Phdr **out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	const Elf64_Phdr *ph;
	int n = 0;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		return fail("not an x86-64 ELF64 file");
	if (eh->e_phentsize != sizeof(*ph) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(*ph) > len - eh->e_phoff)
		return fail("bad program headers");
	ph = (const Elf64_Phdr *)(elf + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (n == BH_MAX_SEGMENTS - 1)
			return fail("too many PT_LOAD segments");
		if ((ph[i].p_vaddr & (BH_PAGE_SIZE - 1)) || ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset ||
		    ph[i].p_memsz > (1ULL << 32) || ph[i].p_vaddr > (1ULL << 32))
			return fail("a PT_LOAD segment out of bounds or not page aligned");
		out[n++] = &ph[i];
	}
	return n;
}

int bh_image_build(struct bh_image *img, uint64_t heap_size)
{
	const uint8_t *elf = bh_encl_elf;
	uint64_t len = (uint64_t)(bh_encl_elf_end - bh_encl_elf), end = 0;
	const Elf64_Phdr *ph[BH_MAX_SEGMENTS];
	struct bh_segment *s;
	int n;

	memset(img, 0, sizeof(*img));
	if (!heap_size || heap_size & (BH_PAGE_SIZE - 1))
		return fail("the heap size must be a positive number of pages");
	n = load_headers(elf, len, ph);
	if (n < 0)
		return -1;
	if (n < 3 || ph[0]->p_vaddr != 0 || ph[0]->p_memsz != BH_NR_TCS * BH_PAGE_SIZE ||
	    prot_of_pflags(ph[0]->p_flags) != (PROT_READ | PROT_WRITE))
		return fail("segment 0 must be the TCS pages (RW) at offset 0");
	for (int i = 0; i < n; i++) {
		uint64_t seg_end = PAGE_ALIGN(ph[i]->p_vaddr + ph[i]->p_memsz);

		if (ph[i]->p_vaddr < end)
			return fail("segments overlap or are out of order");
		end = seg_end;
	}
	img->image_size = end;
	img->pages = aligned_alloc(BH_PAGE_SIZE, end);
	if (!img->pages)
		return fail("out of memory");
	memset(img->pages, 0, end);

	for (int i = 0; i < n; i++) {
		s = &img->seg[img->nr_segs++];
		memcpy(img->pages + ph[i]->p_vaddr, elf + ph[i]->p_offset, ph[i]->p_filesz);
		s->offset = ph[i]->p_vaddr;
		s->size = PAGE_ALIGN(ph[i]->p_memsz);
		s->src = img->pages + s->offset;
		s->measure = true;
		s->prot = prot_of_pflags(ph[i]->p_flags);
		if (i == 0) {
			s->name = "TCS";
			s->secinfo_flags = SGX_SECINFO_TCS;
		} else {
			s->name = (s->prot & PROT_EXEC) ? "code" : "data";
			s->secinfo_flags = SGX_SECINFO_REG | secinfo_of_prot(s->prot);
		}
	}

	/* The data segment (the last one) starts with the config block. */
	s = &img->seg[img->nr_segs - 1];
	if (s->size < sizeof(img->config) || (s->prot & PROT_EXEC))
		goto bad_config;
	memcpy(&img->config, img->pages + s->offset, sizeof(img->config));
	if (img->config.magic != BH_CONFIG_MAGIC)
		goto bad_config;
	if (heap_size > (1ULL << 40))
		return fail("the heap is too big");
	img->config.heap_offset = end;
	img->config.heap_size = heap_size;
	img->config.encl_size = next_pow2(end + heap_size);
	memcpy(img->pages + s->offset, &img->config, sizeof(img->config));

	/* Zero pages to add the heap from: never written, so never really allocated. */
	img->heap_src = mmap(NULL, heap_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img->heap_src == MAP_FAILED) {
		img->heap_src = NULL;
		bh_image_free(img);
		return fail("cannot map the heap's source pages");
	}
	s = &img->seg[img->nr_segs++];
	s->name = "heap";
	s->offset = end;
	s->size = heap_size;
	s->src = img->heap_src;
	s->measure = false;
	s->prot = PROT_READ | PROT_WRITE;
	s->secinfo_flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	return 0;

bad_config:
	bh_image_free(img);
	return fail("the data segment does not start with the config block");
}

void bh_image_free(struct bh_image *img)
{
	free(img->pages);
	if (img->heap_src)
		munmap(img->heap_src, img->config.heap_size);
	memset(img, 0, sizeof(*img));
}

// SPDX-License-Identifier: MIT
/*
 * mrenclave_dump - run the Linux SGX selftest's own signing code on its own
 * enclave and write down what it produced, so that sgxemu's tests can feed
 * exactly those pages to the emulated CPU and EINIT with exactly that
 * SIGSTRUCT.
 *
 * This file is sgxemu's code. It is NOT built by the project Makefile: it is
 * compiled at test time by scripts/selftest-mrenclave.sh against the fetched
 * selftest headers (defines.h, main.h) and linked with the selftest's own
 * sigstruct.o and sign_key.o (GPL objects that are built, never committed).
 * It deliberately does not link load.c, which insists on /dev/sgx_enclave:
 * the segment table that load.c's encl_load() builds is rebuilt here from the
 * ELF program headers, following the same rules, so that encl_measure() sees
 * the same 'struct encl' it sees inside test_sgx.
 *
 * Usage: mrenclave_dump TEST_ENCL_ELF HEAP_SIZE OUTDIR
 *
 * Output (in OUTDIR):
 *   sigstruct.bin  the 1808-byte SIGSTRUCT written by encl_measure()
 *   segments.txt   line 1: "encl_size 0x.. src_size 0x.. nr_segments N"
 *                  then one line per segment, in load order:
 *                  "offset 0x.. size 0x.. flags 0x.. measure 0|1"
 *   pages.bin      the bytes of every segment, concatenated in that order
 *                  (each segment 'size' bytes, a multiple of 4096)
 *
 * Exit status: 0 on success, 1 on any error (with a message on stderr).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "defines.h"
#include "main.h"

/* Hard limits that keep a corrupt ELF or a silly argument from hurting us. */
#define DUMP_MAX_ELF_SIZE	(64ULL << 20)
#define DUMP_MAX_HEAP_SIZE	(1ULL << 30)

static int fail(const char *what)
{
	fprintf(stderr, "mrenclave_dump: %s\n", what);
	return 1;
}

/*
 * The whole ELF in memory, followed by enough zero bytes that a segment
 * whose rounded-up size runs past the end of the file reads zeros, as the
 * tail of the last page of a file mmap() (what load.c uses) does.
 */
struct elf_image {
	uint8_t *bytes;
	size_t file_size;
	size_t alloc_size;
};

static int read_elf(const char *path, struct elf_image *img)
{
	struct stat sb;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > DUMP_MAX_ELF_SIZE) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	img->file_size = sb.st_size;
	/* Twice the file plus a page: any page-rounded extent we accept fits. */
	img->alloc_size = 2 * img->file_size + PAGE_SIZE;
	img->bytes = calloc(1, img->alloc_size);
	if (!img->bytes) {
		close(fd);
		return -1;
	}
	while (done < img->file_size) {
		ssize_t n = read(fd, img->bytes + done, img->file_size - done);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += n;
	}
	close(fd);
	return 0;
}

/*
 * Rebuild encl_load()'s segment table: every PT_LOAD in header order, the
 * first one being the TCS segment (must be RW, SECINFO type TCS, no
 * permission bits), the others REG pages with the segment's R/W/X as
 * permissions; offsets relative to the first segment's page; sizes = file
 * size rounded up to pages; all measured. Then one unmeasured RW heap
 * segment right after the last one. encl_size = smallest power of two
 * (at least one page) that holds everything.
 */
static int build_segments(struct elf_image *img, unsigned long heap_size, struct encl *encl)
{
	const Elf64_Ehdr *ehdr = (const Elf64_Ehdr *)img->bytes;
	const Elf64_Phdr *phdrs;
	uint64_t base_offset = 0;
	unsigned int nr_load = 0, i, j;

	if (img->file_size < sizeof(*ehdr) || memcmp(ehdr->e_ident, ELFMAG, SELFMAG) ||
	    ehdr->e_ident[EI_CLASS] != ELFCLASS64 || ehdr->e_phentsize != sizeof(Elf64_Phdr) ||
	    ehdr->e_phoff > img->file_size ||
	    (uint64_t)ehdr->e_phnum * sizeof(Elf64_Phdr) > img->file_size - ehdr->e_phoff)
		return fail("not a 64-bit ELF file with a sane program header table");
	phdrs = (const Elf64_Phdr *)(img->bytes + ehdr->e_phoff);

	for (i = 0; i < ehdr->e_phnum; i++)
		if (phdrs[i].p_type == PT_LOAD)
			nr_load++;
	if (!nr_load)
		return fail("no PT_LOAD segment");

	encl->nr_segments = nr_load + 1;
	encl->segment_tbl = calloc(encl->nr_segments, sizeof(*encl->segment_tbl));
	if (!encl->segment_tbl)
		return fail("out of memory");

	for (i = 0, j = 0; i < ehdr->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];
		struct encl_segment *seg = &encl->segment_tbl[j];
		uint64_t page_offset, size;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_flags & ~(PF_R | PF_W | PF_X))
			return fail("segment with unknown p_flags");

		page_offset = ph->p_offset & PAGE_MASK;
		size = (ph->p_filesz + PAGE_SIZE - 1) & PAGE_MASK;
		if (ph->p_filesz > img->file_size || page_offset > img->file_size ||
		    size > img->alloc_size - page_offset)
			return fail("segment outside the file");

		if (j == 0) {
			if (ph->p_flags != (PF_R | PF_W))
				return fail("first segment (TCS) is not RW");
			base_offset = page_offset;
			seg->prot = PROT_READ | PROT_WRITE;
			seg->flags = SGX_PAGE_TYPE_TCS << 8;
		} else {
			if (page_offset < base_offset)
				return fail("segment before the TCS segment in the file");
			seg->prot = (ph->p_flags & PF_R) ? PROT_READ : 0;
			seg->prot |= (ph->p_flags & PF_W) ? PROT_WRITE : 0;
			seg->prot |= (ph->p_flags & PF_X) ? PROT_EXEC : 0;
			seg->flags = (SGX_PAGE_TYPE_REG << 8) | seg->prot;
		}
		seg->offset = page_offset - base_offset;
		seg->size = size;
		seg->src = img->bytes + page_offset;
		seg->measure = true;
		j++;
	}

	encl->src = img->bytes + base_offset;

	{
		struct encl_segment *last = &encl->segment_tbl[j - 1];
		struct encl_segment *heap = &encl->segment_tbl[j];

		heap->offset = last->offset + last->size;
		heap->size = heap_size;
		/* Zero pages, as load.c's anonymous mapping is. */
		heap->src = calloc(1, heap_size);
		if (!heap->src)
			return fail("out of memory for the heap");
		heap->prot = PROT_READ | PROT_WRITE;
		heap->flags = (SGX_PAGE_TYPE_REG << 8) | heap->prot;
		heap->measure = false;
		encl->src_size = heap->offset + heap->size;
	}

	for (encl->encl_size = PAGE_SIZE; encl->encl_size < encl->src_size; )
		encl->encl_size <<= 1;
	return 0;
}

static int write_all(FILE *f, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, f) == len ? 0 : -1;
}

static FILE *open_out(const char *dir, const char *name, const char *mode)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return NULL;
	return fopen(path, mode);
}

static int write_results(const char *dir, const struct encl *encl)
{
	FILE *ss = open_out(dir, "sigstruct.bin", "wb");
	FILE *txt = open_out(dir, "segments.txt", "w");
	FILE *pages = open_out(dir, "pages.bin", "wb");
	int ret = -1;
	unsigned int i;

	if (!ss || !txt || !pages)
		goto out;
	if (write_all(ss, &encl->sigstruct, sizeof(encl->sigstruct)))
		goto out;
	fprintf(txt, "encl_size 0x%zx src_size 0x%zx nr_segments %u\n",
		encl->encl_size, encl->src_size, encl->nr_segments);
	for (i = 0; i < encl->nr_segments; i++) {
		const struct encl_segment *seg = &encl->segment_tbl[i];

		fprintf(txt, "offset 0x%llx size 0x%zx flags 0x%x measure %d\n",
			(unsigned long long)seg->offset, seg->size, seg->flags, seg->measure);
		if (write_all(pages, seg->src, seg->size))
			goto out;
	}
	ret = 0;
out:
	if (ss && fclose(ss))
		ret = -1;
	if (txt && fclose(txt))
		ret = -1;
	if (pages && fclose(pages))
		ret = -1;
	return ret;
}

int main(int argc, char **argv)
{
	/* struct encl holds 4096-aligned members (SECS): keep it on the stack. */
	struct encl encl;
	struct elf_image img = { 0 };
	unsigned long heap_size;
	char *end;
	int ret = 1;

	if (argc != 4)
		return fail("usage: mrenclave_dump TEST_ENCL_ELF HEAP_SIZE OUTDIR");
	errno = 0;
	heap_size = strtoul(argv[2], &end, 0);
	if (errno || *end || !heap_size || heap_size % PAGE_SIZE || heap_size > DUMP_MAX_HEAP_SIZE)
		return fail("HEAP_SIZE must be a non-zero multiple of 4096 up to 1 GiB");

	memset(&encl, 0, sizeof(encl));
	if (read_elf(argv[1], &img)) {
		fprintf(stderr, "mrenclave_dump: cannot read %s\n", argv[1]);
		return 1;
	}
	if (build_segments(&img, heap_size, &encl))
		goto out;
	/* The selftest's own measurement and signature (sigstruct.c). */
	if (!encl_measure(&encl)) {
		fail("encl_measure() failed");
		goto out;
	}
	if (write_results(argv[3], &encl)) {
		fprintf(stderr, "mrenclave_dump: cannot write results to %s\n", argv[3]);
		goto out;
	}
	ret = 0;
out:
	if (encl.segment_tbl && encl.nr_segments)
		free(encl.segment_tbl[encl.nr_segments - 1].src);
	free(encl.segment_tbl);
	free(img.bytes);
	return ret;
}

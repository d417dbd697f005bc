// SPDX-License-Identifier: MIT
/* The native test enclave: see host_encl.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/util/host_encl.h"

/*
 * The enclave's code, position independent, copied to the text page
 * (offset 0 = OENTRY). Entry: RBX = TCS, RCX = return address, RDI = op.
 * Scratch registers: RAX, RCX, RDX, RSI, R8-R11 (NOP touches none of the
 * argument registers).
 */
__asm__(
	"	.section .rodata.host_encl, \"a\"\n"
	"	.balign 4096\n"
	"	.globl host_encl_code_start\n"
	"	.hidden host_encl_code_start\n"
	"host_encl_code_start:\n"
	/* Per-TCS stack: the TCS's address + 0x8000 is its stack top. */
	"	lea	0x8000(%rbx), %rax\n"
	"	xchg	%rsp, %rax\n"
	"	push	%rax\n"			/* untrusted RSP */
	"	push	%rcx\n"			/* where to EEXIT */
	"	call	he_body\n"
	"	pop	%rbx\n"
	"	pop	%rax\n"
	"	mov	%rax, %rsp\n"
	"	mov	$4, %eax\n"		/* EEXIT */
	"	.byte	0x0f, 0x01, 0xd7\n"
	"	ud2\n"
	/* he_body(op = RDI); R10 = enclave base. */
	"he_body:\n"
	"	lea	host_encl_code_start(%rip), %r10\n"
	"	sub	$0x2000, %r10\n"
	"	mov	(%rdi), %rax\n"
	"	cmp	$0, %rax\n"
	"	je	he_put\n"
	"	cmp	$1, %rax\n"
	"	je	he_get\n"
	"	cmp	$2, %rax\n"
	"	je	he_put_addr\n"
	"	cmp	$3, %rax\n"
	"	je	he_get_addr\n"
	"	cmp	$5, %rax\n"
	"	je	he_eaccept\n"
	"	cmp	$6, %rax\n"
	"	je	he_emodpe\n"
	"	cmp	$7, %rax\n"
	"	je	he_ereport\n"
	"	cmp	$8, %rax\n"
	"	je	he_spin\n"
	"	cmp	$9, %rax\n"
	"	je	he_inc\n"
	"	cmp	$10, %rax\n"
	"	je	he_get_fs\n"
	"	cmp	$11, %rax\n"
	"	je	he_syscall\n"
	"	ret\n"				/* NOP and unknown ops */
	"he_put:\n"
	"	mov	8(%rdi), %rax\n"
	"	mov	%rax, 0x3000(%r10)\n"
	"	ret\n"
	"he_get:\n"
	"	mov	0x3000(%r10), %rax\n"
	"	mov	%rax, 8(%rdi)\n"
	"	ret\n"
	"he_put_addr:\n"
	"	mov	8(%rdi), %rax\n"
	"	mov	16(%rdi), %rcx\n"
	"	mov	%rax, (%rcx)\n"
	"	ret\n"
	"he_get_addr:\n"
	"	mov	16(%rdi), %rcx\n"
	"	mov	(%rcx), %rax\n"
	"	mov	%rax, 8(%rdi)\n"
	"	ret\n"
	/* EACCEPT/EMODPE: a 64-byte aligned SECINFO on the enclave stack. */
	"he_eaccept:\n"
	"	mov	$5, %eax\n"
	"	jmp	he_secinfo_leaf\n"
	"he_emodpe:\n"
	"	mov	$6, %eax\n"
	"he_secinfo_leaf:\n"
	"	push	%rbx\n"
	"	push	%rbp\n"
	"	mov	%rsp, %rbp\n"
	"	sub	$64, %rsp\n"
	"	and	$-64, %rsp\n"
	"	mov	16(%rdi), %rcx\n"
	"	mov	%rcx, (%rsp)\n"
	"	movq	$0, 8(%rsp)\n"
	"	movq	$0, 16(%rsp)\n"
	"	movq	$0, 24(%rsp)\n"
	"	movq	$0, 32(%rsp)\n"
	"	movq	$0, 40(%rsp)\n"
	"	movq	$0, 48(%rsp)\n"
	"	movq	$0, 56(%rsp)\n"
	"	mov	%rsp, %rbx\n"
	"	mov	8(%rdi), %rcx\n"
	"	.byte	0x0f, 0x01, 0xd7\n"
	"	mov	%rax, 24(%rdi)\n"
	"	mov	%rbp, %rsp\n"
	"	pop	%rbp\n"
	"	pop	%rbx\n"
	"	ret\n"
	"he_ereport:\n"
	"	push	%rbx\n"
	"	lea	0x3200(%r10), %rbx\n"
	"	lea	0x3400(%r10), %rcx\n"
	"	lea	0x3600(%r10), %rdx\n"
	"	xor	%eax, %eax\n"		/* EREPORT */
	"	.byte	0x0f, 0x01, 0xd7\n"
	"	mov	%rax, 24(%rdi)\n"
	"	pop	%rbx\n"
	"	ret\n"
	"he_spin:\n"
	"	mov	16(%rdi), %rsi\n"
	"	mov	24(%rdi), %rdx\n"
	"	movq	$1, (%rdx)\n"
	"	xor	%r8d, %r8d\n"
	"1:	inc	%r8\n"
	"	pause\n"
	"	cmpq	$0, (%rsi)\n"
	"	je	1b\n"
	"	mov	%r8, 8(%rdi)\n"
	"	ret\n"
	"he_inc:\n"
	"	mov	0x3008(%r10), %rax\n"
	"	inc	%rax\n"
	"	mov	%rax, 0x3008(%r10)\n"
	"	mov	%rax, 8(%rdi)\n"
	"	ret\n"
	"he_get_fs:\n"
	"	mov	%fs:0x10, %rax\n"
	"	mov	%rax, 8(%rdi)\n"
	"	mov	%gs:0x10, %rax\n"
	"	mov	%rax, 16(%rdi)\n"
	"	ret\n"
	/* SYSCALL is #UD in enclave mode: a = what RAX held after it. */
	"he_syscall:\n"
	"	push	%rdi\n"
	"	mov	$39, %eax\n"		/* getpid */
	"	syscall\n"
	"	pop	%rdi\n"
	"	mov	%rax, 8(%rdi)\n"
	"	ret\n"
	"	.globl host_encl_code_end\n"
	"	.hidden host_encl_code_end\n"
	"host_encl_code_end:\n"
	"	.previous\n");

extern const uint8_t host_encl_code_start[], host_encl_code_end[];

static int prot_of_perm(uint64_t perm)
{
	return ((perm & SGX_SECINFO_R) ? PROT_READ : 0) |
	       ((perm & SGX_SECINFO_W) ? PROT_WRITE : 0) |
	       ((perm & SGX_SECINFO_X) ? PROT_EXEC : 0);
}

void *host_encl_epc(struct host_encl *he, uint64_t off)
{
	return encl_page_epc(&he->encl, off & ~0xFFFULL);
}

/* What the EPCM lets enclave code do with the page, as PROT_* flags. */
static int epcm_prot(struct host_encl *he, uint64_t off)
{
	struct sgx_epcm_info info;
	void *epc = host_encl_epc(he, off);

	if (!epc || sgx_epcm_read(he->cpu, epc, &info) || !info.valid)
		return 0;
	/* The TCS is never accessed by enclave code, only by the leaves (via the alias). */
	if (info.page_type == SGX_PAGE_TYPE_TCS)
		return PROT_READ | PROT_WRITE;
	if (info.page_type != SGX_PAGE_TYPE_REG || info.pending || info.modified)
		return 0;
	return prot_of_perm(info.perm);
}

/* The enclave view of a page: the program's PTE permissions within the EPCM's. */
static int apply_prot(struct host_encl *he, uint64_t off)
{
	unsigned int i = (unsigned int)(off >> 12);
	int prot = he->pte[i] & epcm_prot(he, off);

	if (mprotect((void *)(uintptr_t)(he->base + (off & ~0xFFFULL)), 4096, prot))
		return -errno;
	he->prot[i] = (uint8_t)prot;
	return 0;
}

int host_encl_map_page(struct host_encl *he, uint64_t off, void *epc)
{
	uint8_t *page = he->view + (off & ~0xFFFULL);
	struct sgx_epcm_info info;
	int ret;

	if (sgx_epcm_read(he->cpu, epc, &info) || !info.valid)
		return -EINVAL;
	memcpy(page, sgx_epc_data(he->cpu, epc), 4096);
	ret = sgx_epc_alias(he->cpu, epc, page);
	if (ret)
		return ret;
	he->pte[off >> 12] = info.page_type == SGX_PAGE_TYPE_TCS ? PROT_READ | PROT_WRITE :
			     (uint8_t)prot_of_perm(info.perm);
	return apply_prot(he, off);
}

int host_encl_mprotect(struct host_encl *he, uint64_t off, int prot)
{
	if (off >= HE_SIZE)
		return -EINVAL;
	he->pte[off >> 12] = (uint8_t)prot;
	return apply_prot(he, off);
}

int host_encl_restrict(struct host_encl *he, uint64_t off, uint64_t perm)
{
	struct sgx_secinfo si __attribute__((aligned(64)));
	void *epc = host_encl_epc(he, off);
	int ret;

	if (!epc)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = perm & SGX_SECINFO_PERMISSION_MASK;
	ret = __emodpr(he->cpu, &si, epc);
	if (!ret)
		ret = __etrack(he->cpu, he->encl.secs);
	if (!ret)
		ret = apply_prot(he, off);
	return ret;
}

bool host_encl_fixup(void *arg, uint64_t addr, uint32_t error_code)
{
	struct host_encl *he = arg;
	uint64_t off = addr - he->base;
	unsigned int i;
	int old;

	if (off >= HE_SIZE)
		return false;
	i = (unsigned int)(off >> 12);
	old = he->prot[i];
	/* EMODPE (or a page that came back) may allow more than the view does. */
	if (apply_prot(he, off))
		return false;
	return he->prot[i] != old;
}

void *host_encl_resolve(void *arg, uint64_t linaddr)
{
	struct host_encl *he = arg;

	return linaddr - he->base < HE_SIZE ? he->encl.secs : NULL;
}

int host_encl_build(struct host_encl *he, struct sgx_cpu *cpu, struct cpu_pool *pool)
{
	static const struct { uint64_t off, flags; } regs[] = {
		{ HE_TEXT, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X },
		{ HE_DATA, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ HE_DATA2, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ HE_SSA1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ HE_SSA2, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ HE_STACK1, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
		{ HE_STACK2, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W },
	};
	size_t code_len = (size_t)(host_encl_code_end - host_encl_code_start);
	uint8_t page[4096] __attribute__((aligned(4096)));
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	uint8_t *map;
	uintptr_t a;
	int ret;

	memset(he, 0, sizeof(*he));
	he->cpu = cpu;
	he->pool = pool;
	he->memfd = -1;
	if (code_len > 4096)
		return -E2BIG;

	/* ELRANGE: a 2x reservation trimmed to a naturally aligned window. */
	map = mmap(NULL, 2 * HE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	a = ((uintptr_t)map + HE_SIZE - 1) & ~(uintptr_t)(HE_SIZE - 1);
	if (a > (uintptr_t)map)
		munmap(map, a - (uintptr_t)map);
	if (a + HE_SIZE < (uintptr_t)map + 2 * HE_SIZE)
		munmap((void *)(a + HE_SIZE), (uintptr_t)map + 2 * HE_SIZE - a - HE_SIZE);
	he->base = a;

	he->memfd = memfd_create("host_encl", MFD_CLOEXEC);
	if (he->memfd < 0 || ftruncate(he->memfd, (off_t)HE_SIZE))
		goto fail_errno;
	he->view = mmap(NULL, HE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, he->memfd, 0);
	if (he->view == MAP_FAILED) {
		he->view = NULL;
		goto fail_errno;
	}
	if (mmap((void *)a, HE_SIZE, PROT_NONE, MAP_SHARED | MAP_FIXED, he->memfd, 0) ==
	    MAP_FAILED)
		goto fail_errno;

	ret = cpu_encl_create(&he->encl, cpu, pool, he->base, HE_SIZE, SGX_ATTR_MODE64BIT);
	if (ret)
		goto fail;
	cpu_encl_make_tcs(tcs, HE_SSA1, HE_TEXT);
	tcs->fs_offset = HE_DATA;
	tcs->gs_offset = HE_DATA;
	ret = cpu_encl_add(&he->encl, HE_TCS1, tcs, SGX_SECINFO_TCS, true, NULL);
	cpu_encl_make_tcs(tcs, HE_SSA2, HE_TEXT);
	tcs->fs_offset = HE_DATA;
	tcs->gs_offset = HE_DATA;
	if (!ret)
		ret = cpu_encl_add(&he->encl, HE_TCS2, tcs, SGX_SECINFO_TCS, true, NULL);
	for (unsigned int i = 0; !ret && i < sizeof(regs) / sizeof(regs[0]); i++) {
		memset(page, 0, sizeof(page));
		if (regs[i].off == HE_TEXT) {
			memset(page, 0xCC, sizeof(page));	/* int3 padding */
			memcpy(page, host_encl_code_start, code_len);
		}
		ret = cpu_encl_add(&he->encl, regs[i].off, page, regs[i].flags, true, NULL);
	}
	if (!ret)
		ret = cpu_encl_init(&he->encl);
	for (uint64_t off = 0; !ret && off < HE_FREE; off += 4096)
		ret = host_encl_map_page(he, off, host_encl_epc(he, off));
	if (ret)
		goto fail;
	return 0;

fail_errno:
	ret = -errno;
fail:
	host_encl_destroy(he);
	return ret;
}

void host_encl_destroy(struct host_encl *he)
{
	if (he->encl.secs) {
		for (uint64_t off = 0; off < HE_SIZE; off += 4096) {
			void *epc = host_encl_epc(he, off);

			if (epc)
				sgx_epc_alias(he->cpu, epc, NULL);
		}
		cpu_encl_destroy(&he->encl);
	}
	if (he->view)
		munmap(he->view, HE_SIZE);
	if (he->base)
		munmap((void *)(uintptr_t)he->base, HE_SIZE);
	if (he->memfd >= 0)
		close(he->memfd);
	memset(he, 0, sizeof(*he));
	he->memfd = -1;
}

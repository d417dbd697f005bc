/* SPDX-License-Identifier: MIT */
/*
 * Test helper: a small enclave of sgxemu's own that runs NATIVELY through
 * the host integration (host/enclave_mode.h, the fake vDSO). Its code is
 * x86-64 assembly (host_encl.c), copied into the text page; it is built on
 * a CPU by real ENCLS leaves (tests/util/cpu_encl.h) and then made
 * executable in this process: a memfd holds ELRANGE, mapped twice - the
 * enclave view at the enclave's base (naturally aligned, per-page
 * protection = the program's "PTE" permissions intersected with the EPCM
 * permissions) and a platform view, always RW, to which each EPC frame is
 * aliased (sgx_epc_alias) so the CPU's leaves and the native code see the
 * same bytes. (The EPC manager does the same with its enclave windows.)
 *
 * Layout (64 KiB):
 *   0x0000 TCS1 (OSSA 0x5000)   0x1000 TCS2 (OSSA 0x6000)   OENTRY 0x2000
 *   0x2000 text (R|X)           0x3000 data (R|W, FS/GS base, buffer)
 *   0x4000 data2 (R|W)          0x5000 SSA1, 0x6000 SSA2 (R|W)
 *   0x7000 stack of TCS1, 0x8000 stack of TCS2 (R|W; stack top = TCS + 0x8000)
 *   0x9000..0xF000 not added (EAUG space)
 *
 * Entry: RDI = pointer to a struct he_op in untrusted memory; the enclave
 * runs the op and EEXITs to the address EENTER left in RCX. It preserves
 * RBP and R12-R15 (and RDI, and with HE_OP_NOP every argument register).
 */
#ifndef SGXEMU_TESTS_HOST_ENCL_H
#define SGXEMU_TESTS_HOST_ENCL_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "tests/util/cpu_encl.h"

#define HE_SIZE		0x10000ULL
#define HE_PAGES	(HE_SIZE / 4096)
#define HE_TCS1		0x0000ULL
#define HE_TCS2		0x1000ULL
#define HE_TEXT		0x2000ULL
#define HE_DATA		0x3000ULL
#define HE_DATA2	0x4000ULL
#define HE_SSA1		0x5000ULL
#define HE_SSA2		0x6000ULL
#define HE_STACK1	0x7000ULL
#define HE_STACK2	0x8000ULL
#define HE_FREE		0x9000ULL

/* Inside the data page (FS base = base + HE_DATA). */
#define HE_BUF		0x000	/* buffer[0]: PUT/GET; buffer[1]: INC */
#define HE_FSVAL	0x010	/* HE_OP_GET_FS reads %fs:HE_FSVAL */
#define HE_TARGETINFO	0x200
#define HE_REPORTDATA	0x400
#define HE_REPORT	0x600

enum he_op_type {
	HE_OP_PUT = 0,		/* buffer[0] = a */
	HE_OP_GET = 1,		/* a = buffer[0] */
	HE_OP_PUT_ADDR = 2,	/* *(u64 *)b = a */
	HE_OP_GET_ADDR = 3,	/* a = *(u64 *)b */
	HE_OP_NOP = 4,
	HE_OP_EACCEPT = 5,	/* EACCEPT(SECINFO{flags = b}, a); c = EAX */
	HE_OP_EMODPE = 6,	/* EMODPE(SECINFO{flags = b}, a) */
	HE_OP_EREPORT = 7,	/* EREPORT(TARGETINFO, REPORTDATA -> REPORT in the data page); c = EAX */
	HE_OP_SPIN = 8,		/* *(u64 *)c = 1; a = iterations while *(u64 *)b == 0 */
	HE_OP_INC = 9,		/* a = ++buffer[1] */
	HE_OP_GET_FS = 10,	/* a = %fs:HE_FSVAL, b = %gs:HE_FSVAL */
	HE_OP_SYSCALL = 11,	/* SYSCALL (getpid): #UD inside an enclave */
};

struct he_op {
	uint64_t type, a, b, c;
};

struct host_encl {
	struct sgx_cpu *cpu;
	struct cpu_pool *pool;
	struct built_encl encl;
	uint64_t base;
	int memfd;
	uint8_t *view;			/* platform view: RW, the frames' aliases */
	uint8_t pte[HE_PAGES];		/* the program's protection (PROT_*) */
	uint8_t prot[HE_PAGES];		/* what the enclave view has now */
};

/*
 * Build and initialise the enclave on 'cpu' with frames from 'pool' and map
 * it natively. 0, or the failing leaf's result / -errno.
 */
int host_encl_build(struct host_encl *he, struct sgx_cpu *cpu, struct cpu_pool *pool);
void host_encl_destroy(struct host_encl *he);

static inline uint64_t host_encl_la(const struct host_encl *he, uint64_t off)
{
	return he->base + off;
}

/* EPC address of the page at 'off'. */
void *host_encl_epc(struct host_encl *he, uint64_t off);

/*
 * Make the EPC page 'epc' (valid, at 'off') executable natively: copy its
 * bytes into the memfd, alias the frame there, protect the page.
 */
int host_encl_map_page(struct host_encl *he, uint64_t off, void *epc);

/* The program's mprotect() of one enclave page (PROT_* flags). 0 or -errno. */
int host_encl_mprotect(struct host_encl *he, uint64_t off, int prot);

/* EMODPR to 'perm' (SGX_SECINFO_R|W|X) + ETRACK; the view follows. Leaf result. */
int host_encl_restrict(struct host_encl *he, uint64_t off, uint64_t perm);

/* enclave_mode_ops hooks (arg = the struct host_encl). */
bool host_encl_fixup(void *arg, uint64_t addr, uint32_t error_code);
void *host_encl_resolve(void *arg, uint64_t linaddr);

#endif /* SGXEMU_TESTS_HOST_ENCL_H */

/* SPDX-License-Identifier: MIT */
/*
 * Architectural definitions of Intel SGX as the SDM (volume 3D) defines them:
 * leaf numbers, status codes, page types and the in-memory structures that
 * ENCLS/ENCLU consume (SECS, TCS, PAGEINFO, SECINFO, PCMD, SIGSTRUCT, ...).
 *
 * Everything is little-endian and packed exactly as the hardware reads it;
 * the static assertions at the bottom pin every size and offset the kernel
 * and the selftests rely on.
 */
#ifndef SGXEMU_ARCH_H
#define SGXEMU_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define SGX_PAGE_SIZE		4096ULL
#define SGX_PAGE_SHIFT		12
#define SGX_PAGE_MASK		(~(SGX_PAGE_SIZE - 1))

#define SGX_MAX_EPC_SECTIONS	8
#define SGX_EEXTEND_BLOCK_SIZE	256
#define SGX_VA_SLOT_COUNT	512
#define SGX_MODULUS_SIZE	384
#define SGX_SSA_GPRS_SIZE	184
#define SGX_SSA_MISC_EXINFO_SIZE 16

/* CPUID */
#define SGX_CPUID		0x12
#define SGX_CPUID_EPC		2
#define SGX_CPUID_EPC_INVALID	0x0
#define SGX_CPUID_EPC_SECTION	0x1
#define SGX_CPUID_EPC_MASK	0xF

/* MSRs written by the kernel before EINIT (flexible launch control). */
#define MSR_IA32_SGXLEPUBKEYHASH0 0x8C
#define MSR_IA32_SGXLEPUBKEYHASH1 0x8D
#define MSR_IA32_SGXLEPUBKEYHASH2 0x8E
#define MSR_IA32_SGXLEPUBKEYHASH3 0x8F

/* ENCLS leaves (RAX). */
enum sgx_encls_function {
	ECREATE	= 0x00,
	EADD	= 0x01,
	EINIT	= 0x02,
	EREMOVE	= 0x03,
	EDGBRD	= 0x04,
	EDGBWR	= 0x05,
	EEXTEND	= 0x06,
	ELDB	= 0x07,
	ELDU	= 0x08,
	EBLOCK	= 0x09,
	EPA	= 0x0A,
	EWB	= 0x0B,
	ETRACK	= 0x0C,
	EAUG	= 0x0D,
	EMODPR	= 0x0E,
	EMODT	= 0x0F,
};

/* ENCLU leaves (RAX). */
enum sgx_enclu_function {
	EREPORT		= 0x00,
	EGETKEY		= 0x01,
	EENTER		= 0x02,
	ERESUME		= 0x03,
	EEXIT		= 0x04,
	EACCEPT		= 0x05,
	EMODPE		= 0x06,
	EACCEPTCOPY	= 0x07,
};

/* Status codes returned in EAX by the leaves that report errors. */
enum sgx_return_code {
	SGX_SUCCESS			= 0,
	SGX_INVALID_SIG_STRUCT		= 1,
	SGX_INVALID_ATTRIBUTE		= 2,
	SGX_BLKSTATE			= 3,
	SGX_INVALID_MEASUREMENT		= 4,
	SGX_NOTBLOCKABLE		= 5,
	SGX_PG_INVLD			= 6,
	SGX_EPC_PAGE_CONFLICT		= 7,
	SGX_INVALID_SIGNATURE		= 8,
	SGX_MAC_COMPARE_FAIL		= 9,
	SGX_PAGE_NOT_BLOCKED		= 10,
	SGX_NOT_TRACKED			= 11,
	SGX_VA_SLOT_OCCUPIED		= 12,
	SGX_CHILD_PRESENT		= 13,
	SGX_ENCLAVE_ACT			= 14,
	SGX_ENTRYEPOCH_LOCKED		= 15,
	SGX_INVALID_EINITTOKEN		= 16,
	SGX_PREV_TRK_INCMPL		= 17,
	SGX_PG_IS_SECS			= 18,
	SGX_PAGE_ATTRIBUTES_MISMATCH	= 19,
	SGX_PAGE_NOT_MODIFIABLE		= 20,
	SGX_PAGE_NOT_DEBUGGABLE		= 21,
	SGX_INVALID_COUNTER		= 25,
	SGX_PG_NONEPC			= 26,
	SGX_TRACK_NOT_REQUIRED		= 27,
	SGX_INVALID_CPUSVN		= 32,
	SGX_INVALID_ISVSVN		= 64,
	SGX_UNMASKED_EVENT		= 128,
	SGX_INVALID_KEYNAME		= 256,
};

/*
 * How an ENCLS call that faulted is reported: the trap number OR-ed with this
 * flag, exactly as the kernel's exception fixup for ENCLS reports it.
 */
#define SGX_ENCLS_FAULT_FLAG	0x40000000
#define X86_TRAP_UD		6
#define X86_TRAP_GP		13
#define X86_TRAP_PF		14

/* #PF error code bits. */
#define X86_PF_PROT		(1u << 0)
#define X86_PF_WRITE		(1u << 1)
#define X86_PF_USER		(1u << 2)
#define X86_PF_INSTR		(1u << 4)
#define X86_PF_SGX		(1u << 15)

/* EPCM page types (SECINFO.FLAGS[15:8]). */
enum sgx_page_type {
	SGX_PAGE_TYPE_SECS	= 0,
	SGX_PAGE_TYPE_TCS	= 1,
	SGX_PAGE_TYPE_REG	= 2,
	SGX_PAGE_TYPE_VA	= 3,
	SGX_PAGE_TYPE_TRIM	= 4,
};

/* SECINFO.FLAGS */
#define SGX_SECINFO_R		0x01ULL
#define SGX_SECINFO_W		0x02ULL
#define SGX_SECINFO_X		0x04ULL
#define SGX_SECINFO_PERMISSION_MASK 0x07ULL
#define SGX_SECINFO_PENDING	0x08ULL
#define SGX_SECINFO_MODIFIED	0x10ULL
#define SGX_SECINFO_PR		0x20ULL
#define SGX_SECINFO_PAGE_TYPE_SHIFT 8
#define SGX_SECINFO_PAGE_TYPE_MASK (0xFFULL << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_SECS	((uint64_t)SGX_PAGE_TYPE_SECS << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_TCS		((uint64_t)SGX_PAGE_TYPE_TCS << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_REG		((uint64_t)SGX_PAGE_TYPE_REG << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_VA		((uint64_t)SGX_PAGE_TYPE_VA << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_TRIM	((uint64_t)SGX_PAGE_TYPE_TRIM << SGX_SECINFO_PAGE_TYPE_SHIFT)
/* Bits that may be set in a SECINFO given to EADD/EAUG/EMOD*. */
#define SGX_SECINFO_RESERVED_MASK (~(SGX_SECINFO_PERMISSION_MASK | SGX_SECINFO_PENDING | \
				     SGX_SECINFO_MODIFIED | SGX_SECINFO_PR | \
				     SGX_SECINFO_PAGE_TYPE_MASK))

/* SECS.ATTRIBUTES */
#define SGX_ATTR_INIT		(1ULL << 0)
#define SGX_ATTR_DEBUG		(1ULL << 1)
#define SGX_ATTR_MODE64BIT	(1ULL << 2)
#define SGX_ATTR_PROVISIONKEY	(1ULL << 4)
#define SGX_ATTR_EINITTOKENKEY	(1ULL << 5)
#define SGX_ATTR_CET		(1ULL << 6)
#define SGX_ATTR_KSS		(1ULL << 7)
#define SGX_ATTR_AEXNOTIFY	(1ULL << 10)
/* Bits no SGX CPU ever accepts (bit 3, bit 6 without CET, 63:8 minus the above). */
#define SGX_ATTR_RESERVED_MASK	((1ULL << 3) | (1ULL << 6) | (~0ULL << 8))

/* MISCSELECT */
#define SGX_MISC_EXINFO		(1u << 0)

/* TCS.FLAGS */
#define SGX_TCS_DBGOPTIN	(1ULL << 0)

/* EXITINFO in the GPR part of the SSA frame. */
#define SGX_EXITINFO_VECTOR_MASK 0xFFu
#define SGX_EXITINFO_TYPE_SHIFT	8
#define SGX_EXITINFO_TYPE_HW	3u
#define SGX_EXITINFO_TYPE_SW	6u
#define SGX_EXITINFO_VALID	(1u << 31)

/* EGETKEY */
enum sgx_key_name {
	SGX_KEYNAME_EINITTOKEN		= 0,
	SGX_KEYNAME_PROVISION		= 1,
	SGX_KEYNAME_PROVISION_SEAL	= 2,
	SGX_KEYNAME_REPORT		= 3,
	SGX_KEYNAME_SEAL		= 4,
};
#define SGX_KEYPOLICY_MRENCLAVE		0x0001
#define SGX_KEYPOLICY_MRSIGNER		0x0002
#define SGX_KEYPOLICY_NOISVPRODID	0x0004
#define SGX_KEYPOLICY_CONFIGID		0x0008
#define SGX_KEYPOLICY_ISVFAMILYID	0x0010
#define SGX_KEYPOLICY_ISVEXTPRODID	0x0020
#define SGX_KEYPOLICY_MASK		0x003F

struct sgx_attributes {
	uint64_t flags;
	uint64_t xfrm;
} __attribute__((packed));

/* SGX Enclave Control Structure: one per enclave, lives in a SECS EPC page. */
struct sgx_secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssa_frame_size;	/* in pages */
	uint32_t miscselect;
	uint8_t  reserved1[24];
	uint64_t attributes;
	uint64_t xfrm;
	uint8_t  mrenclave[32];
	uint8_t  reserved2[32];
	uint8_t  mrsigner[32];
	uint8_t  reserved3[32];
	uint8_t  config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t  reserved4[3834];
} __attribute__((packed));

/* Thread Control Structure. */
struct sgx_tcs {
	uint64_t state;
	uint64_t flags;
	uint64_t ssa_offset;		/* OSSA */
	uint32_t ssa_index;		/* CSSA */
	uint32_t nr_ssa_frames;		/* NSSA */
	uint64_t entry_offset;		/* OENTRY */
	uint64_t exit_addr;		/* AEP, written by EENTER */
	uint64_t fs_offset;
	uint64_t gs_offset;
	uint32_t fs_limit;
	uint32_t gs_limit;
	uint8_t  reserved[4024];
} __attribute__((packed));

struct sgx_pageinfo {
	uint64_t addr;			/* enclave linear address */
	uint64_t contents;		/* source / destination buffer */
	uint64_t metadata;		/* SECINFO or PCMD */
	uint64_t secs;			/* SECS EPC page */
} __attribute__((packed, aligned(32)));

struct sgx_secinfo {
	uint64_t flags;
	uint8_t  reserved[56];
} __attribute__((packed, aligned(64)));

/* Paging Crypto MetaData: written by EWB, checked by ELDU/ELDB. */
struct sgx_pcmd {
	struct sgx_secinfo secinfo;
	uint64_t enclave_id;
	uint8_t  reserved[40];
	uint8_t  mac[16];
} __attribute__((packed, aligned(128)));

struct sgx_sigstruct_header {
	uint64_t header1[2];
	uint32_t vendor;
	uint32_t date;
	uint64_t header2[2];
	uint32_t swdefined;
	uint8_t  reserved1[84];
} __attribute__((packed));

struct sgx_sigstruct_body {
	uint32_t miscselect;
	uint32_t misc_mask;
	uint8_t  reserved2[20];
	uint64_t attributes;
	uint64_t xfrm;
	uint64_t attributes_mask;
	uint64_t xfrm_mask;
	uint8_t  mrenclave[32];
	uint8_t  reserved3[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
} __attribute__((packed));

struct sgx_sigstruct {
	struct sgx_sigstruct_header header;
	uint8_t  modulus[SGX_MODULUS_SIZE];	/* little-endian */
	uint32_t exponent;
	uint8_t  signature[SGX_MODULUS_SIZE];	/* little-endian */
	struct sgx_sigstruct_body body;
	uint8_t  reserved4[12];
	uint8_t  q1[SGX_MODULUS_SIZE];
	uint8_t  q2[SGX_MODULUS_SIZE];
} __attribute__((packed));

/* The fixed SIGSTRUCT header constants the SDM requires. */
#define SGX_SIGSTRUCT_HEADER1_0	0x000000E100000006ULL
#define SGX_SIGSTRUCT_HEADER1_1	0x0000000000010000ULL
#define SGX_SIGSTRUCT_HEADER2_0	0x0000006000000101ULL
#define SGX_SIGSTRUCT_HEADER2_1	0x0000000100000060ULL

struct sgx_einittoken {
	uint32_t valid;
	uint8_t  reserved1[44];
	struct sgx_attributes attributes;
	uint8_t  mrenclave[32];
	uint8_t  reserved2[32];
	uint8_t  mrsigner[32];
	uint8_t  reserved3[32];
	uint8_t  cpusvn_le[16];
	uint16_t isvprodid_le;
	uint16_t isvsvn_le;
	uint8_t  reserved4[24];
	uint32_t masked_miscselect_le;
	struct sgx_attributes masked_attributes_le;
	uint8_t  keyid[32];
	uint8_t  mac[16];
} __attribute__((packed, aligned(512)));

struct sgx_targetinfo {
	uint8_t  measurement[32];
	struct sgx_attributes attributes;
	uint8_t  cet_attributes;
	uint8_t  reserved1;
	uint16_t config_svn;
	uint32_t miscselect;
	uint8_t  reserved2[8];
	uint8_t  config_id[64];
	uint8_t  reserved3[384];
} __attribute__((packed, aligned(512)));

struct sgx_report_body {
	uint8_t  cpusvn[16];
	uint32_t miscselect;
	uint8_t  reserved1[12];
	uint8_t  isv_ext_prod_id[16];
	struct sgx_attributes attributes;
	uint8_t  mrenclave[32];
	uint8_t  reserved2[32];
	uint8_t  mrsigner[32];
	uint8_t  reserved3[32];
	uint8_t  config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t  reserved4[42];
	uint8_t  isv_family_id[16];
	uint8_t  report_data[64];
} __attribute__((packed));

struct sgx_report {
	struct sgx_report_body body;
	uint8_t  key_id[32];
	uint8_t  mac[16];
} __attribute__((packed, aligned(512)));

struct sgx_keyrequest {
	uint16_t key_name;
	uint16_t key_policy;
	uint16_t isv_svn;
	uint16_t reserved1;
	uint8_t  cpusvn[16];
	struct sgx_attributes attribute_mask;
	uint8_t  key_id[32];
	uint32_t misc_mask;
	uint16_t config_svn;
	uint8_t  reserved2[434];
} __attribute__((packed, aligned(512)));

/* GPR area at the end of every SSA frame. */
struct sgx_ssa_gprs {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags;
	uint64_t rip;
	uint64_t ursp;
	uint64_t urbp;
	uint32_t exit_info;
	uint32_t reserved;
	uint64_t fsbase;
	uint64_t gsbase;
} __attribute__((packed));

/* MISC region EXINFO (MISCSELECT bit 0), right below the GPR area. */
struct sgx_ssa_exinfo {
	uint64_t maddr;
	uint32_t errcd;
	uint32_t reserved;
} __attribute__((packed));

#define SGX_ASSERT_LAYOUT(t, f, off) \
	_Static_assert(offsetof(t, f) == (off), #t "." #f " offset")

_Static_assert(sizeof(struct sgx_secs) == 4096, "SECS size");
SGX_ASSERT_LAYOUT(struct sgx_secs, ssa_frame_size, 16);
SGX_ASSERT_LAYOUT(struct sgx_secs, attributes, 48);
SGX_ASSERT_LAYOUT(struct sgx_secs, mrenclave, 64);
SGX_ASSERT_LAYOUT(struct sgx_secs, mrsigner, 128);
SGX_ASSERT_LAYOUT(struct sgx_secs, config_id, 192);
SGX_ASSERT_LAYOUT(struct sgx_secs, isv_prod_id, 256);
SGX_ASSERT_LAYOUT(struct sgx_secs, config_svn, 260);
_Static_assert(sizeof(struct sgx_tcs) == 4096, "TCS size");
SGX_ASSERT_LAYOUT(struct sgx_tcs, ssa_index, 24);
SGX_ASSERT_LAYOUT(struct sgx_tcs, entry_offset, 32);
SGX_ASSERT_LAYOUT(struct sgx_tcs, fs_limit, 64);
_Static_assert(sizeof(struct sgx_pageinfo) == 32, "PAGEINFO size");
_Static_assert(sizeof(struct sgx_secinfo) == 64, "SECINFO size");
_Static_assert(sizeof(struct sgx_pcmd) == 128, "PCMD size");
SGX_ASSERT_LAYOUT(struct sgx_pcmd, enclave_id, 64);
SGX_ASSERT_LAYOUT(struct sgx_pcmd, mac, 112);
_Static_assert(sizeof(struct sgx_sigstruct_header) == 128, "SIGSTRUCT header");
_Static_assert(sizeof(struct sgx_sigstruct_body) == 128, "SIGSTRUCT body");
_Static_assert(sizeof(struct sgx_sigstruct) == 1808, "SIGSTRUCT size");
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, modulus, 128);
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, exponent, 512);
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, signature, 516);
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, body, 900);
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, q1, 1040);
SGX_ASSERT_LAYOUT(struct sgx_sigstruct, q2, 1424);
_Static_assert(sizeof(struct sgx_einittoken) == 512, "EINITTOKEN (304 bytes, 512-aligned)");
SGX_ASSERT_LAYOUT(struct sgx_einittoken, mac, 288);
_Static_assert(sizeof(struct sgx_targetinfo) == 512, "TARGETINFO size");
_Static_assert(sizeof(struct sgx_report_body) == 384, "REPORT body size");
_Static_assert(sizeof(struct sgx_report) == 512, "REPORT (432 bytes, 512-aligned)");
SGX_ASSERT_LAYOUT(struct sgx_report, mac, 416);
SGX_ASSERT_LAYOUT(struct sgx_report_body, report_data, 320);
_Static_assert(sizeof(struct sgx_keyrequest) == 512, "KEYREQUEST size");
SGX_ASSERT_LAYOUT(struct sgx_keyrequest, misc_mask, 72);
_Static_assert(sizeof(struct sgx_ssa_gprs) == SGX_SSA_GPRS_SIZE, "GPRSGX size");

#endif /* SGXEMU_ARCH_H */

/* SPDX-License-Identifier: MIT */
/*
 * Operand decoding shared by the ENCLS leaves (encls.c, encls_paging.c,
 * encls_edmm.c). Each leaf used to repeat the same prologue; these helpers
 * do it once, in the order the SDM checks (and the CPU tests and the fuzzer
 * expect): the PAGEINFO pointer (RBX), the target EPC page (RCX), the VA slot
 * (RDX) if the leaf has one, then the PAGEINFO fields. A helper that fails
 * returns the fault (#GP or #PF) and holds nothing.
 */
#ifndef SGXEMU_CPU_ENCLS_INTERNAL_H
#define SGXEMU_CPU_ENCLS_INTERNAL_H

#include "cpu/cpu_internal.h"

/* What one leaf's PAGEINFO must look like. */
enum sgx_pi_metadata {
	SGX_PI_SECINFO,			/* a SECINFO: 64-byte aligned host memory */
	SGX_PI_SECINFO_OPTIONAL,	/* 0, or a SECINFO (EAUG) */
	SGX_PI_PCMD,			/* a PCMD: 128-byte aligned host memory */
};

struct sgx_pi_rules {
	bool va_slot;			/* RDX names a VA slot (EWB, ELDU/ELDB) */
	bool no_owner;			/* LINADDR and SECS must be 0 (ECREATE, EWB) */
	bool no_contents;		/* SRCPGE must be 0 (EAUG); else a host page */
	enum sgx_pi_metadata metadata;
};

/*
 * Check RBX (PAGEINFO), RCX (EPC page), RDX (VA slot, if any) and the
 * PAGEINFO's owner, contents and metadata pointers against 'rules'. On
 * success *pi is the PAGEINFO, *frame the target's frame and, with a VA
 * slot, *va the frame of the VA page (va may be NULL without one).
 * PAGEINFO.SECS of a child page is left to the leaf: where it is checked
 * differs (EADD right away, EAUG after its SECINFO, ELDU only for a child).
 */
int sgx_pi_operands(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx,
		    const struct sgx_pi_rules *rules, const struct sgx_pageinfo **pi,
		    int64_t *frame, int64_t *va);

/* SECINFO.FLAGS' page type. */
static inline uint8_t sgx_secinfo_type(uint64_t flags)
{
	return (flags & SGX_SECINFO_PAGE_TYPE_MASK) >> SGX_SECINFO_PAGE_TYPE_SHIFT;
}

/*
 * Copy the SECINFO at host address 'p' (already checked) and check that its
 * reserved fields are clear: 0 or #GP. The leaf works on the copy, so the
 * caller's SECINFO changing under it cannot change the checks' outcome.
 */
int sgx_secinfo_fetch(uint64_t p, struct sgx_secinfo *si);

/*
 * The operands of the leaves that take a SECINFO in RBX and an EPC page in
 * RCX (EMODPR, EMODT): RBX 64-byte aligned host memory, RCX an EPC page,
 * then the SECINFO fetched as above.
 */
int sgx_secinfo_operands(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx,
			 struct sgx_secinfo *si, int64_t *frame);

/*
 * The EPC page operand of a leaf with a status (EREMOVE, EBLOCK, ETRACK):
 * misaligned #GP, outside the EPC #PF, busy SGX_EPC_PAGE_CONFLICT. 0 with
 * the frame's busy lock held, or the failure with nothing held.
 */
int sgx_epc_page_lock(struct sgx_cpu *cpu, uint64_t rcx, int64_t *frame);

/*
 * Take the busy lock of a frame that must be free (ECREATE, EADD, EAUG, EPA:
 * leaves without a status, so a conflict is #GP): 0 with the lock held, or
 * #GP (busy) / #PF (valid) with nothing held.
 */
int sgx_free_frame_lock(struct sgx_cpu *cpu, int64_t f);

/*
 * Take the target frame, then the VA page (EWB, ELDU/ELDB), and check that
 * the VA page is a valid VA page: 0 with both held, SGX_EPC_PAGE_CONFLICT or
 * #PF with nothing held.
 */
int sgx_frame_and_va_lock(struct sgx_cpu *cpu, int64_t f, int64_t va);
void sgx_frame_and_va_unlock(struct sgx_cpu *cpu, int64_t f, int64_t va);

/*
 * Start adding a child page at 'linaddr' to the enclave of SECS frame 's'
 * (EADD, EAUG): the free target frame (as sgx_free_frame_lock()), the
 * enclave's secs_lock (#PF if 's' is no SECS), then sgx_child_slot_ok().
 * 0 with the frame and the secs_lock held, or the fault with nothing held.
 */
int sgx_child_add_begin(struct sgx_cpu *cpu, int64_t f, int64_t s, uint64_t linaddr,
			bool want_init);
void sgx_child_add_end(struct sgx_cpu *cpu, int64_t f, int64_t s);

#endif /* SGXEMU_CPU_ENCLS_INTERNAL_H */

// SPDX-License-Identifier: MIT
/*
 * SGX2 leaves run by the enclave: EACCEPT, EACCEPTCOPY, EMODPE.
 *
 * Each first resolves its operands under the epcm read lock (faults come
 * out of that step, so the EPC manager can load or EAUG the page and the
 * instruction is retried), then takes the target frame's busy lock and the
 * epcm write lock, re-checks the target (it may have changed in between)
 * and changes its EPCM entry.
 */
#include <string.h>

#include "cpu/enclu_internal.h"

/* SECINFO operand: 64-byte aligned, readable enclave memory, reserved bits clear. */
static int read_secinfo(struct enclu_call *c, uint64_t addr, struct sgx_secinfo *out)
{
	const void *p;

	if (addr & (sizeof(struct sgx_secinfo) - 1))
		return enclu_gp(c->exc);
	p = enclu_access(c->cpu, c->secs, addr, 0, c->exc, NULL);
	if (!p)
		return ENCLU_FAULTED;
	memcpy(out, p, sizeof(*out));
	if (!sgx_secinfo_reserved_clear(out))
		return enclu_gp(c->exc);
	return 0;
}

/*
 * The target page of an EDMM leaf: inside ELRANGE (#GP) and present in the
 * EPC (#PF otherwise, so that the manager can EAUG or load it). Returns its
 * frame or -1. Read or write lock held.
 */
static int64_t edmm_target(struct enclu_call *c, uint64_t addr, uint32_t access)
{
	int64_t f;

	if (!enclu_in_elrange(c->cpu, c->secs, addr, SGX_PAGE_SIZE)) {
		enclu_gp(c->exc);
		return SGX_NO_FRAME;
	}
	f = sgx_epcm_lookup(c->cpu, c->secs, addr);
	if (f < 0 || c->cpu->epcm[f].blocked) {
		enclu_pf_notpresent(c->exc, addr, access);
		return SGX_NO_FRAME;
	}
	return f;
}

/*
 * Lock the target for a change: busy lock, then epcm write lock, and check
 * that the frame still holds that page. Returns 0, ENCLU_FAULTED (target
 * gone: #PF, or bad operand) or 1 (busy: a concurrent leaf holds the page).
 */
static int lock_target(struct enclu_call *c, uint64_t addr, int64_t f, uint32_t access)
{
	struct sgx_cpu *cpu = c->cpu;

	if (!sgx_frame_trylock(cpu, f))
		return 1;
	sgx_epcm_write_lock(cpu);
	if (edmm_target(c, addr, access) != f) {
		sgx_epcm_write_unlock(cpu);
		sgx_frame_unlock(cpu, f);
		return ENCLU_FAULTED;
	}
	return 0;
}

static void unlock_target(struct enclu_call *c, int64_t f)
{
	sgx_epcm_write_unlock(c->cpu);
	sgx_frame_unlock(c->cpu, f);
}

static uint64_t epcm_flags(const struct sgx_epcm_entry *e)
{
	return ((uint64_t)e->type << SGX_SECINFO_PAGE_TYPE_SHIFT) | e->perm |
	       (e->pending ? SGX_SECINFO_PENDING : 0) |
	       (e->modified ? SGX_SECINFO_MODIFIED : 0) | (e->pr ? SGX_SECINFO_PR : 0);
}

/* A page becoming a TCS must hold a TCS the CPU could enter safely. */
static bool tcs_acceptable(const struct sgx_tcs *tcs)
{
	for (size_t i = 0; i < sizeof(tcs->reserved); i++)
		if (tcs->reserved[i])
			return false;
	return !(tcs->flags & ~SGX_TCS_FLAGS_KNOWN) && !(tcs->flags & SGX_TCS_DBGOPTIN) &&
	       tcs->ssa_index < tcs->nr_ssa_frames && tcs->exit_addr == 0 &&
	       tcs->state == SGX_TCS_INACTIVE && !(tcs->ssa_offset & ~SGX_PAGE_MASK);
}

int enclu_eaccept(struct enclu_call *c)
{
	const uint64_t cmp_mask = SGX_SECINFO_PAGE_TYPE_MASK | SGX_SECINFO_PERMISSION_MASK |
				  SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | SGX_SECINFO_PR;
	struct sgx_cpu *cpu = c->cpu;
	uint64_t addr = c->regs->rcx;
	struct sgx_secinfo si;
	struct sgx_epcm_entry *e;
	int64_t f;
	int ret, status = SGX_SUCCESS;

	if (addr & ~SGX_PAGE_MASK)
		return enclu_gp(c->exc);
	sgx_epcm_read_lock(cpu);
	ret = read_secinfo(c, c->regs->rbx, &si);
	f = ret ? SGX_NO_FRAME : edmm_target(c, addr, 0);
	sgx_epcm_read_unlock(cpu);
	if (f < 0)
		return ENCLU_FAULTED;

	ret = lock_target(c, addr, f, 0);
	if (ret == ENCLU_FAULTED)
		return ret;
	if (ret) {
		enclu_set_status(c->regs, SGX_EPC_PAGE_CONFLICT);
		c->regs->rip += ENCLU_INSN_LEN;
		return 0;
	}
	e = &cpu->epcm[f];
	if ((si.flags & cmp_mask) != epcm_flags(e)) {
		status = SGX_PAGE_ATTRIBUTES_MISMATCH;
	} else if ((e->modified || e->pr) && !sgx_track_complete(cpu, c->secs, e->mod_epoch)) {
		/* An LP may still hold a translation from before EMODPR/EMODT. */
		status = SGX_NOT_TRACKED;
	} else if (e->type == SGX_PAGE_TYPE_TCS && !tcs_acceptable(sgx_frame_data(cpu, f))) {
		unlock_target(c, f);
		return enclu_gp(c->exc);
	} else {
		e->pending = false;
		e->modified = false;
		e->pr = false;
	}
	unlock_target(c, f);
	enclu_set_status(c->regs, status);
	c->regs->rip += ENCLU_INSN_LEN;
	return 0;
}

int enclu_eacceptcopy(struct enclu_call *c)
{
	struct sgx_cpu *cpu = c->cpu;
	uint64_t dst = c->regs->rcx, src = c->regs->rdx;
	const void *src_bytes;
	struct sgx_secinfo si;
	struct sgx_epcm_entry *e;
	int64_t f;
	int ret, status = SGX_SUCCESS;

	if ((dst | src) & ~SGX_PAGE_MASK)
		return enclu_gp(c->exc);
	sgx_epcm_read_lock(cpu);
	ret = read_secinfo(c, c->regs->rbx, &si);
	if (!ret && (((si.flags & SGX_SECINFO_PAGE_TYPE_MASK) != SGX_SECINFO_REG) ||
		     ((si.flags & SGX_SECINFO_W) && !(si.flags & SGX_SECINFO_R)) ||
		     (si.flags & (SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | SGX_SECINFO_PR))))
		ret = enclu_gp(c->exc);
	if (!ret && !enclu_access(cpu, c->secs, src, 0, c->exc, NULL))
		ret = ENCLU_FAULTED;
	f = ret ? SGX_NO_FRAME : edmm_target(c, dst, X86_PF_WRITE);
	sgx_epcm_read_unlock(cpu);
	if (f < 0)
		return ENCLU_FAULTED;

	ret = lock_target(c, dst, f, X86_PF_WRITE);
	if (ret == ENCLU_FAULTED)
		return ret;
	if (ret) {
		enclu_set_status(c->regs, SGX_EPC_PAGE_CONFLICT);
		c->regs->rip += ENCLU_INSN_LEN;
		return 0;
	}
	/* The source may have changed while no lock was held: look again. */
	src_bytes = enclu_access(cpu, c->secs, src, 0, c->exc, NULL);
	if (!src_bytes) {
		unlock_target(c, f);
		return ENCLU_FAULTED;
	}
	e = &cpu->epcm[f];
	if (e->type != SGX_PAGE_TYPE_REG || !e->pending || e->modified ||
	    e->perm != (SGX_SECINFO_R | SGX_SECINFO_W)) {
		status = SGX_PAGE_ATTRIBUTES_MISMATCH;
	} else {
		memcpy(sgx_frame_data(cpu, f), src_bytes, SGX_PAGE_SIZE);
		e->perm = si.flags & SGX_SECINFO_PERMISSION_MASK;
		e->pending = false;
	}
	unlock_target(c, f);
	enclu_set_status(c->regs, status);
	c->regs->rip += ENCLU_INSN_LEN;
	return 0;
}

int enclu_emodpe(struct enclu_call *c)
{
	struct sgx_cpu *cpu = c->cpu;
	uint64_t addr = c->regs->rcx;
	struct sgx_secinfo si;
	struct sgx_epcm_entry *e;
	int64_t f;
	int ret;

	if (addr & ~SGX_PAGE_MASK)
		return enclu_gp(c->exc);
	sgx_epcm_read_lock(cpu);
	ret = read_secinfo(c, c->regs->rbx, &si);
	if (!ret && (si.flags & SGX_SECINFO_W) && !(si.flags & SGX_SECINFO_R))
		ret = enclu_gp(c->exc);
	f = ret ? SGX_NO_FRAME : edmm_target(c, addr, 0);
	sgx_epcm_read_unlock(cpu);
	if (f < 0)
		return ENCLU_FAULTED;

	ret = lock_target(c, addr, f, 0);
	if (ret == ENCLU_FAULTED)
		return ret;
	if (ret)	/* EMODPE has no status: a conflict is #GP(0) */
		return enclu_gp(c->exc);
	e = &cpu->epcm[f];
	if (e->type != SGX_PAGE_TYPE_REG || e->pending || e->modified ||
	    !(e->perm & SGX_SECINFO_R)) {
		unlock_target(c, f);
		return enclu_pf_epcm(c->exc, addr, 0);
	}
	e->perm |= si.flags & SGX_SECINFO_PERMISSION_MASK;
	unlock_target(c, f);
	c->regs->rip += ENCLU_INSN_LEN;
	return 0;
}

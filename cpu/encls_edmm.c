// SPDX-License-Identifier: MIT
/*
 * SGX2 (EDMM) ENCLS leaves: EAUG, EMODPR, EMODT. The dispatcher answers #UD
 * for them when the CPU is configured without SGX2.
 *
 * EMODPR and EMODT stamp the page with the enclave's epoch (mod_epoch): the
 * enclave's EACCEPT (enclu.c) must answer SGX_NOT_TRACKED until every LP
 * that entered at or before that stamp has left, which is what the kernel's
 * ETRACK + IPI after these leaves achieves.
 */
#include <string.h>

#include "cpu/cpu_internal.h"

int sgx_encls_eaug(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	const struct sgx_pageinfo *pi;
	int64_t f, s;
	int ret;

	ret = sgx_host_operand(cpu, rbx, 32);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, &f);
	if (ret)
		return ret;
	pi = sgx_ptr(rbx);
	/* EAUG takes no source page; a SECINFO, if given, may only say REG. */
	if (pi->contents)
		return SGX_FAULT_GP;
	if (pi->metadata) {
		const struct sgx_secinfo *si;

		ret = sgx_host_operand(cpu, pi->metadata, 64);
		if (ret)
			return ret;
		si = sgx_ptr(pi->metadata);
		if (!sgx_secinfo_reserved_clear(si) ||
		    (si->flags & ~SGX_SECINFO_PERMISSION_MASK) != SGX_SECINFO_REG)
			return SGX_FAULT_GP;
	}
	ret = sgx_epc_page_operand(cpu, pi->secs, &s);
	if (ret)
		return ret;
	if (pi->addr & (SGX_PAGE_SIZE - 1))
		return SGX_FAULT_GP;

	if (!sgx_frame_trylock(cpu, f))
		return SGX_FAULT_GP;
	if (cpu->epcm[f].valid) {
		ret = SGX_FAULT_PF;
		goto out_frame;
	}
	ret = sgx_secs_lock(cpu, s);
	if (ret)
		goto out_frame;
	ret = sgx_child_slot_ok(cpu, s, pi->addr, true);
	if (!ret) {
		memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
		sgx_epcm_add_child(cpu, f, s, SGX_PAGE_TYPE_REG,
				   SGX_SECINFO_R | SGX_SECINFO_W, pi->addr, true);
	}
	sgx_secs_unlock(cpu, s);
out_frame:
	sgx_frame_unlock(cpu, f);
	return ret;
}

/*
 * Common start of EMODPR/EMODT once the frame is busy: valid (#PF), not
 * PENDING/MODIFIED (SGX_PAGE_NOT_MODIFIABLE), a REG (or, for EMODT, TCS)
 * page (#PF), of an initialized enclave (#GP).
 */
static int emod_page_ok(struct sgx_cpu *cpu, int64_t f, bool tcs_ok)
{
	const struct sgx_epcm_entry *e = &cpu->epcm[f];
	bool init;

	if (!e->valid)
		return SGX_FAULT_PF;
	if (e->pending || e->modified)
		return SGX_PAGE_NOT_MODIFIABLE;
	/* An accepted TRIM page lands here: REMOVE_PAGES relies on the #PF. */
	if (e->type != SGX_PAGE_TYPE_REG && !(tcs_ok && e->type == SGX_PAGE_TYPE_TCS))
		return SGX_FAULT_PF;
	/* INIT is written under the EPCM lock (EINIT); read it the same way. */
	sgx_epcm_read_lock(cpu);
	init = sgx_secs_hidden(cpu, e->secs)->initialized;
	sgx_epcm_read_unlock(cpu);
	return init ? 0 : SGX_FAULT_GP;
}

int sgx_encls_emodpr(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	struct sgx_secinfo si;
	uint64_t stamp;
	int64_t f;
	int ret;

	ret = sgx_host_operand(cpu, rbx, 64);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, &f);
	if (ret)
		return ret;
	si = *(const struct sgx_secinfo *)sgx_ptr(rbx);
	if (!sgx_secinfo_reserved_clear(&si) || (si.flags & ~SGX_SECINFO_PERMISSION_MASK))
		return SGX_FAULT_GP;
	if ((si.flags & SGX_SECINFO_W) && !(si.flags & SGX_SECINFO_R))
		return SGX_FAULT_GP;

	if (!sgx_frame_trylock(cpu, f))
		return SGX_EPC_PAGE_CONFLICT;
	e = &cpu->epcm[f];
	ret = emod_page_ok(cpu, f, false);
	if (!ret) {
		stamp = sgx_track_epoch(cpu, e->secs);
		sgx_epcm_write_lock(cpu);
		e->perm &= si.flags & SGX_SECINFO_PERMISSION_MASK;
		e->pr = true;
		e->mod_epoch = stamp;
		sgx_epcm_write_unlock(cpu);
	}
	sgx_frame_unlock(cpu, f);
	return ret;
}

int sgx_encls_emodt(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	struct sgx_secinfo si;
	uint64_t stamp;
	uint8_t type;
	int64_t f;
	int ret;

	ret = sgx_host_operand(cpu, rbx, 64);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, &f);
	if (ret)
		return ret;
	si = *(const struct sgx_secinfo *)sgx_ptr(rbx);
	type = (si.flags & SGX_SECINFO_PAGE_TYPE_MASK) >> SGX_SECINFO_PAGE_TYPE_SHIFT;
	if (!sgx_secinfo_reserved_clear(&si) || (si.flags & ~SGX_SECINFO_PAGE_TYPE_MASK) ||
	    (type != SGX_PAGE_TYPE_TCS && type != SGX_PAGE_TYPE_TRIM))
		return SGX_FAULT_GP;

	if (!sgx_frame_trylock(cpu, f))
		return SGX_EPC_PAGE_CONFLICT;
	e = &cpu->epcm[f];
	ret = emod_page_ok(cpu, f, true);
	/* A TCS can only be trimmed. */
	if (!ret && e->type == SGX_PAGE_TYPE_TCS && type != SGX_PAGE_TYPE_TRIM)
		ret = SGX_FAULT_GP;
	if (!ret) {
		stamp = sgx_track_epoch(cpu, e->secs);
		sgx_epcm_write_lock(cpu);
		e->type = type;
		e->perm = 0;
		e->modified = true;
		e->mod_epoch = stamp;
		sgx_epcm_write_unlock(cpu);
	}
	sgx_frame_unlock(cpu, f);
	return ret;
}

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

#include "cpu/encls_internal.h"

int sgx_encls_eaug(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	/* EAUG takes no source page; a SECINFO, if given, may only say REG. */
	static const struct sgx_pi_rules rules = { .no_contents = true,
						   .metadata = SGX_PI_SECINFO_OPTIONAL };
	const struct sgx_pageinfo *pi;
	int64_t f, s;
	int ret;

	ret = sgx_pi_operands(cpu, rbx, rcx, 0, &rules, &pi, &f, NULL);
	if (ret)
		return ret;
	if (pi->metadata) {
		struct sgx_secinfo si;

		ret = sgx_secinfo_fetch(pi->metadata, &si);
		if (ret)
			return ret;
		if ((si.flags & ~SGX_SECINFO_PERMISSION_MASK) != SGX_SECINFO_REG)
			return SGX_FAULT_GP;
	}
	ret = sgx_epc_page_operand(cpu, pi->secs, &s);
	if (ret)
		return ret;
	if (pi->addr & (SGX_PAGE_SIZE - 1))
		return SGX_FAULT_GP;

	ret = sgx_child_add_begin(cpu, f, s, pi->addr, true);
	if (ret)
		return ret;
	memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
	sgx_epcm_add_child(cpu, f, s, SGX_PAGE_TYPE_REG, SGX_SECINFO_R | SGX_SECINFO_W, pi->addr,
			   true);
	sgx_child_add_end(cpu, f, s);
	return 0;
}

/*
 * Common start of EMODPR/EMODT: take the frame (SGX_EPC_PAGE_CONFLICT), then
 * check it is valid (#PF), not PENDING/MODIFIED (SGX_PAGE_NOT_MODIFIABLE), a
 * REG (or, for EMODT, TCS) page (#PF), of an initialized enclave (#GP).
 * Returns 0 with the frame busy and *stamp = the enclave's current epoch,
 * or the failure with nothing held.
 */
static int emod_begin(struct sgx_cpu *cpu, int64_t f, bool tcs_ok, uint64_t *stamp)
{
	const struct sgx_epcm_entry *e = &cpu->epcm[f];
	bool init;
	int ret;

	if (!sgx_frame_trylock(cpu, f))
		return SGX_EPC_PAGE_CONFLICT;
	if (!e->valid) {
		ret = SGX_FAULT_PF;
	} else if (e->pending || e->modified) {
		ret = SGX_PAGE_NOT_MODIFIABLE;
	} else if (e->type != SGX_PAGE_TYPE_REG && !(tcs_ok && e->type == SGX_PAGE_TYPE_TCS)) {
		/* An accepted TRIM page lands here: REMOVE_PAGES relies on the #PF. */
		ret = SGX_FAULT_PF;
	} else {
		/* INIT is written under the EPCM lock (EINIT); read it the same way. */
		sgx_epcm_read_lock(cpu);
		init = sgx_secs_hidden(cpu, e->secs)->initialized;
		sgx_epcm_read_unlock(cpu);
		ret = init ? 0 : SGX_FAULT_GP;
	}
	if (ret) {
		sgx_frame_unlock(cpu, f);
		return ret;
	}
	*stamp = sgx_track_epoch(cpu, e->secs);
	return 0;
}

int sgx_encls_emodpr(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	struct sgx_secinfo si;
	uint64_t stamp;
	int64_t f;
	int ret;

	ret = sgx_secinfo_operands(cpu, rbx, rcx, &si, &f);
	if (ret)
		return ret;
	if (si.flags & ~SGX_SECINFO_PERMISSION_MASK)
		return SGX_FAULT_GP;
	if ((si.flags & SGX_SECINFO_W) && !(si.flags & SGX_SECINFO_R))
		return SGX_FAULT_GP;

	ret = emod_begin(cpu, f, false, &stamp);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	sgx_epcm_write_lock(cpu);
	e->perm &= si.flags & SGX_SECINFO_PERMISSION_MASK;
	e->pr = true;
	e->mod_epoch = stamp;
	sgx_epcm_write_unlock(cpu);
	sgx_frame_unlock(cpu, f);
	return 0;
}

int sgx_encls_emodt(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	struct sgx_secinfo si;
	uint64_t stamp;
	uint8_t type;
	int64_t f;
	int ret;

	ret = sgx_secinfo_operands(cpu, rbx, rcx, &si, &f);
	if (ret)
		return ret;
	type = sgx_secinfo_type(si.flags);
	if ((si.flags & ~SGX_SECINFO_PAGE_TYPE_MASK) ||
	    (type != SGX_PAGE_TYPE_TCS && type != SGX_PAGE_TYPE_TRIM))
		return SGX_FAULT_GP;

	ret = emod_begin(cpu, f, true, &stamp);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	/* A TCS can only be trimmed. */
	if (e->type == SGX_PAGE_TYPE_TCS && type != SGX_PAGE_TYPE_TRIM) {
		sgx_frame_unlock(cpu, f);
		return SGX_FAULT_GP;
	}
	sgx_epcm_write_lock(cpu);
	e->type = type;
	e->perm = 0;
	e->modified = true;
	e->mod_epoch = stamp;
	sgx_epcm_write_unlock(cpu);
	sgx_frame_unlock(cpu, f);
	return 0;
}

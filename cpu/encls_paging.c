// SPDX-License-Identifier: MIT
/*
 * ENCLS paging leaves: EBLOCK, ETRACK, EWB, ELDU/ELDB.
 *
 * Sealing.  EWB encrypts a page with the CPU's AES-128-GCM paging key. The
 * IV is the page's fresh 64-bit version (little-endian) followed by four zero
 * bytes; versions come from one per-CPU counter, are never 0 and never
 * reused, so no (key, IV) pair repeats. The GCM tag authenticates, besides
 * the contents, the PCMD's SECINFO, the enclave id, the linear address and
 * the version (kept in a VA slot), so that tampered contents or metadata, a
 * page presented for another address or enclave, and an old copy replayed
 * after a newer EWB (its version is no longer in any slot) all fail with
 * SGX_MAC_COMPARE_FAIL.
 */
#include <string.h>

#include "cpu/encls_internal.h"

/*
 * The data the GCM tag covers besides the page contents:
 * PCMD.SECINFO (64) || enclave id (8) || linear address (8) || version (8).
 */
#define PAGING_AAD_SIZE	(sizeof(struct sgx_secinfo) + 3 * sizeof(uint64_t))
struct paging_aad {
	uint8_t bytes[PAGING_AAD_SIZE];
};

static void paging_iv(uint64_t version, uint8_t iv[12])
{
	for (unsigned int i = 0; i < 8; i++)
		iv[i] = (uint8_t)(version >> (8 * i));
	memset(iv + 8, 0, 4);
}

static void paging_aad_fill(struct paging_aad *aad, const struct sgx_secinfo *si,
			    uint64_t enclave_id, uint64_t linaddr, uint64_t version)
{
	uint8_t *p = aad->bytes;

	memcpy(p, si, sizeof(*si));
	p += sizeof(*si);
	memcpy(p, &enclave_id, 8);	/* x86: already little-endian */
	memcpy(p + 8, &linaddr, 8);
	memcpy(p + 16, &version, 8);
}

/* ---- EBLOCK ---- */

int sgx_encls_eblock(struct sgx_cpu *cpu, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	uint64_t stamp;
	int64_t f;
	int ret;

	ret = sgx_epc_page_lock(cpu, rcx, &f);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	if (!e->valid) {
		ret = SGX_PG_INVLD;
	} else if (!sgx_is_child_type(e->type)) {
		ret = SGX_NOTBLOCKABLE;
	} else if (e->blocked) {
		ret = SGX_BLKSTATE;
	} else {
		/* The child keeps its SECS valid (child_count > 0) while we hold it. */
		stamp = sgx_track_epoch(cpu, e->secs);
		sgx_epcm_write_lock(cpu);
		e->blocked = true;
		e->block_epoch = stamp;
		sgx_epcm_write_unlock(cpu);
		ret = SGX_SUCCESS;
	}
	sgx_frame_unlock(cpu, f);
	return ret;
}

/* ---- ETRACK ---- */

int sgx_encls_etrack(struct sgx_cpu *cpu, uint64_t rcx)
{
	int64_t s;
	int ret;

	ret = sgx_epc_page_lock(cpu, rcx, &s);
	if (ret)
		return ret;
	if (!cpu->epcm[s].valid || cpu->epcm[s].type != SGX_PAGE_TYPE_SECS)
		ret = SGX_FAULT_PF;
	else
		ret = sgx_track_new_epoch(cpu, s);
	sgx_frame_unlock(cpu, s);
	return ret;
}

/* ---- EWB ---- */

/* The VA slot named by RDX (8-byte aligned inside VA page 'va'). */
static uint64_t *va_slot(struct sgx_cpu *cpu, int64_t va, uint64_t rdx)
{
	return (uint64_t *)sgx_frame_home(cpu, va) + ((rdx & (SGX_PAGE_SIZE - 1)) >> 3);
}

/*
 * Can frame f be written back? Called with f and its VA page busy.
 * Returns SGX_SUCCESS or the status / fault that refuses it. For a SECS it
 * returns with the SECS's secs_lock held on success (*secs_locked).
 */
static int ewb_page_ready(struct sgx_cpu *cpu, int64_t f, bool *secs_locked)
{
	struct sgx_epcm_entry *e = &cpu->epcm[f];

	*secs_locked = false;
	if (!e->valid)
		return SGX_FAULT_PF;
	switch (e->type) {
	case SGX_PAGE_TYPE_SECS:
		/* secs_lock: no child may be added while we evict. */
		pthread_mutex_lock(&e->secs_lock);
		if (e->child_count) {
			pthread_mutex_unlock(&e->secs_lock);
			return SGX_CHILD_PRESENT;
		}
		*secs_locked = true;
		return SGX_SUCCESS;
	case SGX_PAGE_TYPE_VA:
		return SGX_SUCCESS;
	default:
		if (!e->blocked)
			return SGX_PAGE_NOT_BLOCKED;
		if (!sgx_track_complete(cpu, e->secs, e->block_epoch))
			return SGX_NOT_TRACKED;
		return SGX_SUCCESS;
	}
}

static void secinfo_of_entry(const struct sgx_epcm_entry *e, struct sgx_secinfo *si)
{
	memset(si, 0, sizeof(*si));
	si->flags = ((uint64_t)e->type << SGX_SECINFO_PAGE_TYPE_SHIFT) | e->perm;
	if (e->pending)
		si->flags |= SGX_SECINFO_PENDING;
	if (e->modified)
		si->flags |= SGX_SECINFO_MODIFIED;
	if (e->pr)
		si->flags |= SGX_SECINFO_PR;
}

/* Seal frame f into contents/pcmd with 'version'. 0 or -1 (crypto failure). */
static int ewb_seal(struct sgx_cpu *cpu, int64_t f, uint64_t version, void *contents,
		    struct sgx_pcmd *pcmd_out)
{
	const struct sgx_epcm_entry *e = &cpu->epcm[f];
	struct sgx_gcm_slot *g;
	struct paging_aad aad;
	struct sgx_pcmd pcmd;
	uint8_t iv[12];
	int ret;

	memset(&pcmd, 0, sizeof(pcmd));
	secinfo_of_entry(e, &pcmd.secinfo);
	if (e->type == SGX_PAGE_TYPE_SECS)
		pcmd.enclave_id = sgx_secs_hidden(cpu, f)->enclave_id;
	else if (sgx_is_child_type(e->type))
		pcmd.enclave_id = sgx_secs_hidden(cpu, e->secs)->enclave_id;
	paging_iv(version, iv);
	paging_aad_fill(&aad, &pcmd.secinfo, pcmd.enclave_id,
			sgx_is_child_type(e->type) ? e->linaddr : 0, version);
	g = sgx_cpu_gcm_get(cpu);
	ret = sgx_gcm_seal(g->gcm, iv, &aad, sizeof(aad), sgx_frame_data(cpu, f), contents,
			   SGX_PAGE_SIZE, pcmd.mac);
	sgx_cpu_gcm_put(g);
	if (ret)
		return -1;
	memcpy(pcmd_out, &pcmd, sizeof(pcmd));
	return 0;
}

int sgx_encls_ewb(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	static const struct sgx_pi_rules rules = { .va_slot = true, .no_owner = true,
						   .metadata = SGX_PI_PCMD };
	const struct sgx_pageinfo *pi;
	struct sgx_epcm_entry *e;
	bool secs_locked = false;
	uint64_t *slot, version;
	int64_t f, va;
	int ret;

	ret = sgx_pi_operands(cpu, rbx, rcx, rdx, &rules, &pi, &f, &va);
	if (ret)
		return ret;
	if (va == f)
		return SGX_FAULT_GP;	/* a VA page cannot hold its own version */

	ret = sgx_frame_and_va_lock(cpu, f, va);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	ret = ewb_page_ready(cpu, f, &secs_locked);
	if (ret)
		goto out;
	slot = va_slot(cpu, va, rdx);
	if (*slot) {
		ret = SGX_VA_SLOT_OCCUPIED;
		goto out;
	}
	version = atomic_fetch_add(&cpu->next_version, 1);
	if (ewb_seal(cpu, f, version, sgx_ptr(pi->contents), sgx_ptr(pi->metadata))) {
		ret = SGX_FAULT_GP;	/* crypto library failure: nothing changed */
		goto out;
	}

	sgx_epcm_write_lock(cpu);
	*slot = version;
	if (sgx_is_child_type(e->type))
		cpu->epcm[e->secs].child_count--;
	sgx_epcm_clear(cpu, f);
	sgx_epcm_write_unlock(cpu);
	/* Nothing of the page may stay readable in its home (SECS hidden state). */
	memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
	ret = SGX_SUCCESS;
out:
	if (secs_locked)
		pthread_mutex_unlock(&e->secs_lock);
	sgx_frame_and_va_unlock(cpu, f, va);
	return ret;
}

/* ---- ELDU / ELDB ---- */

/* Structural checks of PAGEINFO/PCMD for a load; returns 0 or #GP/#PF. */
static int eld_operands(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi,
			const struct sgx_pcmd *pcmd, int64_t *s)
{
	uint8_t type = sgx_secinfo_type(pcmd->secinfo.flags);

	*s = SGX_NO_FRAME;
	if (!sgx_secinfo_reserved_clear(&pcmd->secinfo) || type > SGX_PAGE_TYPE_TRIM)
		return SGX_FAULT_GP;
	for (size_t i = 0; i < sizeof(pcmd->reserved); i++)
		if (pcmd->reserved[i])
			return SGX_FAULT_GP;
	if (!sgx_is_child_type(type)) {
		/*
		 * A SECS or VA page has no owner: PAGEINFO.SECS must be 0. (This is
		 * why an all-zero PCMD, type SECS, given with a SECS pointer #GPs.)
		 */
		if (pi->secs || pi->addr)
			return SGX_FAULT_GP;
		return 0;
	}
	if (!pi->secs || (pi->addr & (SGX_PAGE_SIZE - 1)))
		return SGX_FAULT_GP;
	return sgx_epc_page_operand(cpu, pi->secs, s);
}

/* Restore the EPCM entry of a page just decrypted into frame f. */
static void eld_restore(struct sgx_cpu *cpu, int64_t f, int64_t s, const struct sgx_pcmd *pcmd,
			uint64_t linaddr, bool blocked, uint64_t stamp)
{
	struct sgx_epcm_entry *e = &cpu->epcm[f];
	uint64_t flags = pcmd->secinfo.flags;

	sgx_epcm_clear(cpu, f);
	e->valid = true;
	e->type = sgx_secinfo_type(flags);
	e->perm = flags & SGX_SECINFO_PERMISSION_MASK;
	e->pending = flags & SGX_SECINFO_PENDING;
	e->modified = flags & SGX_SECINFO_MODIFIED;
	e->pr = flags & SGX_SECINFO_PR;
	if (sgx_is_child_type(e->type)) {
		e->linaddr = linaddr;
		e->secs = s;
		e->blocked = blocked;
		e->block_epoch = stamp;
		sgx_epcm_index_add(cpu, f);
		cpu->epcm[s].child_count++;
	}
}

/* Unseal into frame f's home. SGX_SUCCESS or SGX_MAC_COMPARE_FAIL. */
static int eld_unseal(struct sgx_cpu *cpu, int64_t f, const struct sgx_pcmd *pcmd,
		      uint64_t enclave_id, uint64_t linaddr, uint64_t version, const void *src)
{
	struct sgx_gcm_slot *g;
	struct paging_aad aad;
	uint8_t iv[12];
	int ret;

	/* Version 0 was never issued: an empty slot never verifies. */
	if (!version)
		return SGX_MAC_COMPARE_FAIL;
	paging_iv(version, iv);
	paging_aad_fill(&aad, &pcmd->secinfo, enclave_id, linaddr, version);
	g = sgx_cpu_gcm_get(cpu);
	ret = sgx_gcm_open(g->gcm, iv, &aad, sizeof(aad), src, sgx_frame_home(cpu, f),
			   SGX_PAGE_SIZE, pcmd->mac);
	sgx_cpu_gcm_put(g);
	if (ret) {
		memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
		return SGX_MAC_COMPARE_FAIL;
	}
	return SGX_SUCCESS;
}

int sgx_encls_eld(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx, bool blocked)
{
	static const struct sgx_pi_rules rules = { .va_slot = true, .metadata = SGX_PI_PCMD };
	const struct sgx_pageinfo *pi;
	struct sgx_pcmd pcmd;
	uint64_t *slot, eid, stamp = 0;
	bool child, secs_locked = false;
	int64_t f, va, s;
	int ret;

	ret = sgx_pi_operands(cpu, rbx, rcx, rdx, &rules, &pi, &f, &va);
	if (ret)
		return ret;
	/* Work on a private copy: the caller's PCMD may change under us. */
	memcpy(&pcmd, sgx_ptr(pi->metadata), sizeof(pcmd));
	ret = eld_operands(cpu, pi, &pcmd, &s);
	if (ret)
		return ret;
	child = sgx_is_child_type(sgx_secinfo_type(pcmd.secinfo.flags));
	if (va == f)
		return SGX_FAULT_GP;

	ret = sgx_frame_and_va_lock(cpu, f, va);
	if (ret)
		return ret;
	if (cpu->epcm[f].valid) {
		ret = SGX_FAULT_PF;
		goto out;
	}
	if (child) {
		ret = sgx_secs_lock(cpu, s);
		if (ret)
			goto out;
		secs_locked = true;
		eid = sgx_secs_hidden(cpu, s)->enclave_id;
		/* The page must be this enclave's: the PCMD names its owner. */
		if (pcmd.enclave_id != eid) {
			ret = SGX_MAC_COMPARE_FAIL;
			goto out;
		}
	} else {
		/* No owner to compare with: the MAC vouches for the PCMD's id. */
		eid = pcmd.enclave_id;
	}
	slot = va_slot(cpu, va, rdx);
	ret = eld_unseal(cpu, f, &pcmd, eid, child ? pi->addr : 0, *slot,
			 sgx_ptr(pi->contents));
	if (ret)
		goto out;
	if (child) {
		bool dup;

		sgx_epcm_read_lock(cpu);
		dup = sgx_epcm_lookup(cpu, s, pi->addr) >= 0;
		sgx_epcm_read_unlock(cpu);
		if (dup) {
			/* Another page already has this address (see EADD): refuse. */
			memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
			ret = SGX_FAULT_GP;
			goto out;
		}
		if (blocked)
			stamp = sgx_track_epoch(cpu, s);
	}
	sgx_epcm_write_lock(cpu);
	*slot = 0;
	eld_restore(cpu, f, s, &pcmd, pi->addr, blocked && child, stamp);
	sgx_epcm_write_unlock(cpu);
	ret = SGX_SUCCESS;
out:
	if (secs_locked)
		sgx_secs_unlock(cpu, s);
	sgx_frame_and_va_unlock(cpu, f, va);
	return ret;
}

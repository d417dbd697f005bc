// SPDX-License-Identifier: MIT
/*
 * ENCLS: the dispatcher and the enclave-building leaves (ECREATE, EADD,
 * EEXTEND, EINIT), EREMOVE, EPA and the debug leaves (EDBGRD, EDBGWR).
 * Paging leaves live in encls_paging.c, SGX2 leaves in encls_edmm.c.
 *
 * Every leaf validates its operands in the SDM's spirit: malformed operands
 * fault (#GP, or #PF for EPC operands outside the EPC / in the wrong EPCM
 * state), architectural failures return a status code. A leaf first takes
 * the busy try-lock of its target frame (conflict = SGX_EPC_PAGE_CONFLICT or
 * #GP), then, for child pages, its enclave's secs_lock (blocking), then the
 * EPCM lock only around the EPCM update.
 */
#include <cpuid.h>
#include <string.h>

#include "cpu/encls_internal.h"

int sgx_encls_dispatch(struct sgx_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx,
		       uint64_t rdx)
{
	switch (leaf) {
	case ECREATE:
		return sgx_encls_ecreate(cpu, rbx, rcx);
	case EADD:
		return sgx_encls_eadd(cpu, rbx, rcx);
	case EINIT:
		return sgx_encls_einit(cpu, rbx, rcx, rdx);
	case EREMOVE:
		return sgx_encls_eremove(cpu, rcx);
	case EDGBRD:
		return sgx_encls_edbgrd(cpu, rbx, rcx);
	case EDGBWR:
		return sgx_encls_edbgwr(cpu, rbx, rcx);
	case EEXTEND:
		return sgx_encls_eextend(cpu, rbx, rcx);
	case ELDB:
		return sgx_encls_eld(cpu, rbx, rcx, rdx, true);
	case ELDU:
		return sgx_encls_eld(cpu, rbx, rcx, rdx, false);
	case EBLOCK:
		return sgx_encls_eblock(cpu, rcx);
	case EPA:
		return sgx_encls_epa(cpu, rbx, rcx);
	case EWB:
		return sgx_encls_ewb(cpu, rbx, rcx, rdx);
	case ETRACK:
		return sgx_encls_etrack(cpu, rcx);
	case EAUG:
	case EMODPR:
	case EMODT:
		/* SGX2 leaves do not exist on an SGX1 part. */
		if (!cpu->config.sgx2)
			return SGX_FAULT_UD;
		if (leaf == EAUG)
			return sgx_encls_eaug(cpu, rbx, rcx);
		if (leaf == EMODPR)
			return sgx_encls_emodpr(cpu, rbx, rcx);
		return sgx_encls_emodt(cpu, rbx, rcx);
	default:
		/* An unsupported leaf number in EAX is #GP. */
		return SGX_FAULT_GP;
	}
}

/* ---- Operands shared by the leaves (encls_internal.h) ---- */

int sgx_pi_operands(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx,
		    const struct sgx_pi_rules *rules, const struct sgx_pageinfo **pi_out,
		    int64_t *frame, int64_t *va)
{
	const struct sgx_pageinfo *pi;
	int ret;

	ret = sgx_host_operand(cpu, rbx, 32);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, frame);
	if (!ret && rules->va_slot)
		ret = sgx_epc_sub_operand(cpu, rdx, 8, va);
	if (ret)
		return ret;
	pi = sgx_ptr(rbx);
	if (rules->no_owner && (pi->addr || pi->secs))
		return SGX_FAULT_GP;
	if (rules->no_contents) {
		if (pi->contents)
			return SGX_FAULT_GP;
	} else {
		ret = sgx_host_operand(cpu, pi->contents, SGX_PAGE_SIZE);
		if (ret)
			return ret;
	}
	switch (rules->metadata) {
	case SGX_PI_SECINFO_OPTIONAL:
		if (!pi->metadata)
			break;
		/* fall through */
	case SGX_PI_SECINFO:
		ret = sgx_host_operand(cpu, pi->metadata, 64);
		break;
	case SGX_PI_PCMD:
		ret = sgx_host_operand(cpu, pi->metadata, 128);
		break;
	}
	if (ret)
		return ret;
	*pi_out = pi;
	return 0;
}

int sgx_secinfo_fetch(uint64_t p, struct sgx_secinfo *si)
{
	memcpy(si, sgx_ptr(p), sizeof(*si));
	return sgx_secinfo_reserved_clear(si) ? 0 : SGX_FAULT_GP;
}

int sgx_secinfo_operands(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx,
			 struct sgx_secinfo *si, int64_t *frame)
{
	int ret;

	ret = sgx_host_operand(cpu, rbx, 64);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, frame);
	if (!ret)
		ret = sgx_secinfo_fetch(rbx, si);
	return ret;
}

int sgx_epc_page_lock(struct sgx_cpu *cpu, uint64_t rcx, int64_t *frame)
{
	int ret;

	ret = sgx_epc_page_operand(cpu, rcx, frame);
	if (ret)
		return ret;
	return sgx_frame_trylock(cpu, *frame) ? 0 : SGX_EPC_PAGE_CONFLICT;
}

int sgx_free_frame_lock(struct sgx_cpu *cpu, int64_t f)
{
	if (!sgx_frame_trylock(cpu, f))
		return SGX_FAULT_GP;
	/* Busy held: no other leaf can make the frame valid under us. */
	if (cpu->epcm[f].valid) {
		sgx_frame_unlock(cpu, f);
		return SGX_FAULT_PF;
	}
	return 0;
}

int sgx_frame_and_va_lock(struct sgx_cpu *cpu, int64_t f, int64_t va)
{
	if (!sgx_frame_trylock(cpu, f))
		return SGX_EPC_PAGE_CONFLICT;
	if (!sgx_frame_trylock(cpu, va)) {
		sgx_frame_unlock(cpu, f);
		return SGX_EPC_PAGE_CONFLICT;
	}
	if (!cpu->epcm[va].valid || cpu->epcm[va].type != SGX_PAGE_TYPE_VA) {
		sgx_frame_and_va_unlock(cpu, f, va);
		return SGX_FAULT_PF;
	}
	return 0;
}

void sgx_frame_and_va_unlock(struct sgx_cpu *cpu, int64_t f, int64_t va)
{
	sgx_frame_unlock(cpu, va);
	sgx_frame_unlock(cpu, f);
}

int sgx_child_add_begin(struct sgx_cpu *cpu, int64_t f, int64_t s, uint64_t linaddr,
			bool want_init)
{
	int ret;

	ret = sgx_free_frame_lock(cpu, f);
	if (ret)
		return ret;
	ret = sgx_secs_lock(cpu, s);
	if (ret)
		goto out_frame;
	ret = sgx_child_slot_ok(cpu, s, linaddr, want_init);
	if (!ret)
		return 0;
	sgx_secs_unlock(cpu, s);
out_frame:
	sgx_frame_unlock(cpu, f);
	return ret;
}

void sgx_child_add_end(struct sgx_cpu *cpu, int64_t f, int64_t s)
{
	sgx_secs_unlock(cpu, s);
	sgx_frame_unlock(cpu, f);
}

/* ---- ECREATE ---- */

/* Bytes of XSAVE state that XFRM selects (legacy region + header + components). */
static uint64_t xsave_size(uint64_t xfrm)
{
	uint64_t size = 512 + 64;

	for (unsigned int i = 2; i < 63; i++) {
		unsigned int eax, ebx, ecx, edx;

		if (!(xfrm & (1ULL << i)))
			continue;
		if (!__get_cpuid_count(0xD, i, &eax, &ebx, &ecx, &edx))
			return UINT64_MAX;
		if ((uint64_t)ebx + eax > size)
			size = (uint64_t)ebx + eax;
	}
	return size;
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* The SDM's ECREATE checks of the SECS image; false means #GP. */
static bool secs_acceptable(const struct sgx_cpu *cpu, const struct sgx_secs *secs)
{
	const struct sgx_cpu_config *c = &cpu->config;
	uint64_t ssa_need;

	if (secs->size < 2 * SGX_PAGE_SIZE || (secs->size & (secs->size - 1)))
		return false;
	if (secs->base & (secs->size - 1))
		return false;
	if (secs->attributes & SGX_ATTR_MODE64BIT) {
		if (secs->size > (1ULL << 47) || secs->base + secs->size > (1ULL << 47))
			return false;
	} else if (secs->size > (1ULL << 31) || secs->base + secs->size > (1ULL << 32)) {
		return false;
	}
	if (secs->attributes & (SGX_ATTR_INIT | SGX_ATTR_RESERVED_MASK))
		return false;
	if (secs->attributes & ~c->attributes)
		return false;
	if ((secs->xfrm & 0x3) != 0x3 || (secs->xfrm & ~c->xfrm))
		return false;
	if (secs->miscselect & ~c->miscselect)
		return false;
	/* The SSA frame must hold the GPRs, the selected MISC regions and XSAVE. */
	ssa_need = SGX_SSA_GPRS_SIZE + xsave_size(secs->xfrm);
	if (secs->miscselect & SGX_MISC_EXINFO)
		ssa_need += SGX_SSA_MISC_EXINFO_SIZE;
	if (secs->ssa_frame_size == 0 || (uint64_t)secs->ssa_frame_size * SGX_PAGE_SIZE < ssa_need)
		return false;
	if (!all_zero(secs->reserved1, sizeof(secs->reserved1)) ||
	    !all_zero(secs->reserved2, sizeof(secs->reserved2)) ||
	    !all_zero(secs->reserved3, sizeof(secs->reserved3)) ||
	    !all_zero(secs->reserved4, sizeof(secs->reserved4)))
		return false;
	/* CONFIGID/CONFIGSVN only exist with Key Separation and Sharing. */
	if (!(secs->attributes & SGX_ATTR_KSS) &&
	    (secs->config_svn || !all_zero(secs->config_id, sizeof(secs->config_id))))
		return false;
	return true;
}

int sgx_encls_ecreate(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	static const struct sgx_pi_rules rules = { .no_owner = true,
						   .metadata = SGX_PI_SECINFO };
	const struct sgx_pageinfo *pi;
	struct sgx_secs_hidden *h;
	struct sgx_secinfo si;
	struct sgx_secs *secs;
	struct sgx_epcm_entry *e;
	int64_t f;
	int ret;

	ret = sgx_pi_operands(cpu, rbx, rcx, 0, &rules, &pi, &f, NULL);
	if (!ret)
		ret = sgx_secinfo_fetch(pi->metadata, &si);
	if (ret)
		return ret;
	if (sgx_secinfo_type(si.flags) != SGX_PAGE_TYPE_SECS)
		return SGX_FAULT_GP;
	if (!secs_acceptable(cpu, sgx_ptr(pi->contents)))
		return SGX_FAULT_GP;

	ret = sgx_free_frame_lock(cpu, f);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	secs = sgx_frame_home(cpu, f);
	memcpy(secs, sgx_ptr(pi->contents), SGX_PAGE_SIZE);
	/* Identity fields are the CPU's to fill: MRENCLAVE grows, EINIT sets the rest. */
	memset(secs->mrenclave, 0, sizeof(secs->mrenclave));
	memset(secs->mrsigner, 0, sizeof(secs->mrsigner));
	secs->isv_prod_id = 0;
	secs->isv_svn = 0;
	h = sgx_secs_hidden(cpu, f);
	memset(h, 0, sizeof(*h));
	h->magic = SGX_SECS_HIDDEN_MAGIC;
	h->enclave_id = atomic_fetch_add(&cpu->next_enclave_id, 1);
	sgx_sha256_init(&h->mrenclave);
	sgx_measure_ecreate(&h->mrenclave, secs->ssa_frame_size, secs->size);

	sgx_epcm_write_lock(cpu);
	sgx_epcm_clear(cpu, f);
	e->valid = true;
	e->type = SGX_PAGE_TYPE_SECS;
	sgx_epcm_write_unlock(cpu);
	sgx_frame_unlock(cpu, f);
	return 0;
}

/* ---- EADD ---- */

/* The SDM's TCS checks at EADD (false = #GP). */
static bool tcs_acceptable(const struct sgx_tcs *tcs)
{
	if (tcs->state || (tcs->flags & ~SGX_TCS_DBGOPTIN))
		return false;
	if (tcs->ssa_offset & (SGX_PAGE_SIZE - 1) || tcs->ssa_index != 0)
		return false;
	if ((tcs->fs_offset | tcs->gs_offset) & (SGX_PAGE_SIZE - 1))
		return false;
	return all_zero(tcs->reserved, sizeof(tcs->reserved));
}

/*
 * Take the enclave's secs_lock and check that 'secs' is a valid SECS.
 * Returns 0 with the lock held, or #PF without it.
 */
int sgx_secs_lock(struct sgx_cpu *cpu, int64_t s)
{
	bool ok;

	pthread_mutex_lock(&cpu->epcm[s].secs_lock);
	sgx_epcm_read_lock(cpu);
	ok = sgx_frame_is_secs(cpu, s);
	sgx_epcm_read_unlock(cpu);
	if (!ok) {
		pthread_mutex_unlock(&cpu->epcm[s].secs_lock);
		return SGX_FAULT_PF;
	}
	return 0;
}

void sgx_secs_unlock(struct sgx_cpu *cpu, int64_t s)
{
	pthread_mutex_unlock(&cpu->epcm[s].secs_lock);
}

/*
 * Publish a new child page (EADD, EAUG): EPCM entry, index, child count.
 * Caller holds the frame's busy lock and the SECS's secs_lock.
 */
void sgx_epcm_add_child(struct sgx_cpu *cpu, int64_t f, int64_t s, uint8_t type, uint8_t perm,
			uint64_t linaddr, bool pending)
{
	struct sgx_epcm_entry *e = &cpu->epcm[f];

	sgx_epcm_write_lock(cpu);
	sgx_epcm_clear(cpu, f);
	e->valid = true;
	e->type = type;
	e->perm = perm;
	e->pending = pending;
	e->linaddr = linaddr;
	e->secs = s;
	sgx_epcm_index_add(cpu, f);
	cpu->epcm[s].child_count++;
	sgx_epcm_write_unlock(cpu);
}

/*
 * Checks shared by EADD and EAUG once the SECS is locked: not initialized
 * (EADD) / initialized (EAUG), linaddr inside ELRANGE and not yet used.
 * sgxemu refuses a second page at the same linear address with #GP: the SDM
 * leaves it to software, but the emulated page walk (sgx_epcm_lookup) needs
 * exactly one page per address.
 */
int sgx_child_slot_ok(struct sgx_cpu *cpu, int64_t s, uint64_t linaddr, bool want_init)
{
	const struct sgx_secs *secs = sgx_secs_page(cpu, s);
	bool dup;

	if (!!sgx_secs_hidden(cpu, s)->initialized != want_init)
		return SGX_FAULT_GP;
	if (linaddr < secs->base || linaddr - secs->base >= secs->size)
		return SGX_FAULT_GP;
	sgx_epcm_read_lock(cpu);
	dup = sgx_epcm_lookup(cpu, s, linaddr) >= 0;
	sgx_epcm_read_unlock(cpu);
	return dup ? SGX_FAULT_GP : 0;
}

int sgx_encls_eadd(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	static const struct sgx_pi_rules rules = { .metadata = SGX_PI_SECINFO };
	const struct sgx_pageinfo *pi;
	struct sgx_secinfo si;
	uint8_t type, perm;
	int64_t f, s;
	int ret;

	ret = sgx_pi_operands(cpu, rbx, rcx, 0, &rules, &pi, &f, NULL);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, pi->secs, &s);
	if (!ret)
		ret = sgx_secinfo_fetch(pi->metadata, &si);
	if (ret)
		return ret;
	type = sgx_secinfo_type(si.flags);
	perm = si.flags & SGX_SECINFO_PERMISSION_MASK;
	if (si.flags & (SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | SGX_SECINFO_PR))
		return SGX_FAULT_GP;
	if (type != SGX_PAGE_TYPE_REG && type != SGX_PAGE_TYPE_TCS)
		return SGX_FAULT_GP;
	if ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return SGX_FAULT_GP;
	if (type == SGX_PAGE_TYPE_TCS) {
		if (!tcs_acceptable(sgx_ptr(pi->contents)))
			return SGX_FAULT_GP;
		perm = 0;	/* a TCS is never accessible as data */
	}
	if (pi->addr & (SGX_PAGE_SIZE - 1))
		return SGX_FAULT_GP;

	ret = sgx_child_add_begin(cpu, f, s, pi->addr, false);
	if (ret)
		return ret;
	memcpy(sgx_frame_home(cpu, f), sgx_ptr(pi->contents), SGX_PAGE_SIZE);
	sgx_measure_eadd(&sgx_secs_hidden(cpu, s)->mrenclave,
			 pi->addr - sgx_secs_page(cpu, s)->base, si.flags);
	sgx_epcm_add_child(cpu, f, s, type, perm, pi->addr, false);
	sgx_child_add_end(cpu, f, s);
	return 0;
}

/* ---- EEXTEND ---- */

int sgx_encls_eextend(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	const struct sgx_epcm_entry *e;
	int64_t f, s;
	int ret;

	ret = sgx_epc_sub_operand(cpu, rcx, SGX_EEXTEND_BLOCK_SIZE, &f);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rbx, &s);
	if (ret)
		return ret;
	if (!sgx_frame_trylock(cpu, f))
		return SGX_FAULT_GP;
	e = &cpu->epcm[f];
	/* Busy held: no other leaf can change this entry under us. */
	if (!e->valid || (e->type != SGX_PAGE_TYPE_REG && e->type != SGX_PAGE_TYPE_TCS) ||
	    e->secs != s) {
		ret = SGX_FAULT_PF;
		goto out_frame;
	}
	ret = sgx_secs_lock(cpu, s);
	if (ret)
		goto out_frame;
	if (sgx_secs_hidden(cpu, s)->initialized) {
		ret = SGX_FAULT_GP;
	} else {
		uint64_t off = rcx & (SGX_PAGE_SIZE - 1);

		sgx_measure_eextend(&sgx_secs_hidden(cpu, s)->mrenclave,
				    e->linaddr + off - sgx_secs_page(cpu, s)->base,
				    (const uint8_t *)sgx_frame_data(cpu, f) + off);
	}
	sgx_secs_unlock(cpu, s);
out_frame:
	sgx_frame_unlock(cpu, f);
	return ret;
}

/* ---- EINIT ---- */

static bool lehash_matches(struct sgx_cpu *cpu, const uint8_t mrsigner[32])
{
	uint64_t msr[4];

	for (unsigned int i = 0; i < 4; i++)
		msr[i] = __atomic_load_n(&cpu->lepubkeyhash[i], __ATOMIC_RELAXED);
	return memcmp(msr, mrsigner, 32) == 0;
}

/*
 * The SDM's EINIT after the structural checks: SIGSTRUCT, controlled
 * attributes, the masked MISCSELECT/ATTRIBUTES/XFRM comparison,
 * MRENCLAVE, then launch control. A *valid* EINITTOKEN would need the
 * EINITTOKEN key's MAC check, which sgxemu does not implement: such a token
 * is refused with SGX_INVALID_EINITTOKEN (Linux always passes an invalid
 * token and relies on the LEPUBKEYHASH MSRs).
 */
static int einit_checks(struct sgx_cpu *cpu, int64_t s, const struct sgx_sigstruct *ss,
			const struct sgx_einittoken *token, uint8_t mrenclave[32],
			uint8_t mrsigner[32])
{
	const struct sgx_secs *secs = sgx_secs_page(cpu, s);
	const struct sgx_sigstruct_body *b = &ss->body;
	struct sgx_sha256 h;
	int ret;

	ret = sgx_sigstruct_verify(ss);
	if (ret)
		return ret;
	sgx_sigstruct_mrsigner(ss, mrsigner);
	/* EINITTOKENKEY is reserved to the launch enclave's signer. */
	if ((secs->attributes & SGX_ATTR_EINITTOKENKEY) && !lehash_matches(cpu, mrsigner))
		return SGX_INVALID_ATTRIBUTE;
	if ((b->miscselect & b->misc_mask) != (secs->miscselect & b->misc_mask) ||
	    (b->attributes & b->attributes_mask) != (secs->attributes & b->attributes_mask) ||
	    (b->xfrm & b->xfrm_mask) != (secs->xfrm & b->xfrm_mask))
		return SGX_INVALID_ATTRIBUTE;
	h = sgx_secs_hidden(cpu, s)->mrenclave;		/* final() must not consume it */
	sgx_sha256_final(&h, mrenclave);
	if (memcmp(mrenclave, b->mrenclave, 32))
		return SGX_INVALID_MEASUREMENT;
	if (token->valid & 1)
		return SGX_INVALID_EINITTOKEN;
	if (!lehash_matches(cpu, mrsigner))
		return SGX_INVALID_EINITTOKEN;
	return SGX_SUCCESS;
}

int sgx_encls_einit(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	const struct sgx_sigstruct *ss;
	uint8_t mrenclave[32], mrsigner[32];
	struct sgx_secs_hidden *h;
	struct sgx_secs *secs;
	int64_t s;
	int ret;

	ret = sgx_host_operand(cpu, rbx, SGX_PAGE_SIZE);
	if (!ret)
		ret = sgx_epc_page_operand(cpu, rcx, &s);
	if (!ret)
		ret = sgx_host_operand(cpu, rdx, 512);
	if (ret)
		return ret;
	ss = sgx_ptr(rbx);
	if (!sgx_frame_trylock(cpu, s))
		return SGX_FAULT_GP;
	ret = sgx_secs_lock(cpu, s);
	if (ret)
		goto out_frame;
	h = sgx_secs_hidden(cpu, s);
	secs = sgx_secs_page(cpu, s);
	if (h->initialized) {
		ret = SGX_FAULT_GP;
		goto out_secs;
	}
	ret = einit_checks(cpu, s, ss, sgx_ptr(rdx), mrenclave, mrsigner);
	if (ret)
		goto out_secs;
	memcpy(secs->mrenclave, mrenclave, 32);
	memcpy(secs->mrsigner, mrsigner, 32);
	secs->isv_prod_id = ss->body.isvprodid;
	secs->isv_svn = ss->body.isvsvn;
	sgx_epcm_write_lock(cpu);	/* readers of SECS state use the EPCM lock */
	secs->attributes |= SGX_ATTR_INIT;
	h->initialized = 1;
	sgx_epcm_write_unlock(cpu);
out_secs:
	sgx_secs_unlock(cpu, s);
out_frame:
	sgx_frame_unlock(cpu, s);
	return ret;
}

/* ---- EREMOVE ---- */

int sgx_encls_eremove(struct sgx_cpu *cpu, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	int64_t f, s;
	int ret;

	ret = sgx_epc_page_lock(cpu, rcx, &f);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	if (!e->valid)
		goto out;	/* removing a free page is a no-op */
	if (e->type == SGX_PAGE_TYPE_SECS) {
		/* secs_lock: no child leaf may be adding a child meanwhile. */
		pthread_mutex_lock(&e->secs_lock);
		if (e->child_count) {
			ret = SGX_CHILD_PRESENT;
		} else {
			sgx_epcm_write_lock(cpu);
			sgx_epcm_clear(cpu, f);
			sgx_epcm_write_unlock(cpu);
			/* The hidden state (measurement, ids) must not outlive the SECS. */
			memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
		}
		pthread_mutex_unlock(&e->secs_lock);
		goto out;
	}
	if (e->type == SGX_PAGE_TYPE_VA) {
		sgx_epcm_write_lock(cpu);
		sgx_epcm_clear(cpu, f);
		sgx_epcm_write_unlock(cpu);
		goto out;
	}
	s = e->secs;
	if (sgx_track_nr_inside(cpu, s)) {
		ret = SGX_ENCLAVE_ACT;
		goto out;
	}
	sgx_epcm_write_lock(cpu);
	sgx_epcm_clear(cpu, f);
	cpu->epcm[s].child_count--;
	sgx_epcm_write_unlock(cpu);
out:
	sgx_frame_unlock(cpu, f);
	return ret;
}

/* ---- EPA ---- */

int sgx_encls_epa(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	struct sgx_epcm_entry *e;
	int64_t f;
	int ret;

	if (rbx != SGX_PAGE_TYPE_VA)
		return SGX_FAULT_GP;
	ret = sgx_epc_page_operand(cpu, rcx, &f);
	if (!ret)
		ret = sgx_free_frame_lock(cpu, f);
	if (ret)
		return ret;
	e = &cpu->epcm[f];
	memset(sgx_frame_home(cpu, f), 0, SGX_PAGE_SIZE);
	sgx_epcm_write_lock(cpu);
	sgx_epcm_clear(cpu, f);
	e->valid = true;
	e->type = SGX_PAGE_TYPE_VA;
	sgx_epcm_write_unlock(cpu);
	sgx_frame_unlock(cpu, f);
	return 0;
}

/* ---- EDBGRD / EDBGWR ---- */

/*
 * Common part of the debug leaves: the 8-byte word at 'rcx' of a page of a
 * DEBUG enclave. Returns 0 with the frame busy and *data pointing at the
 * word, or a fault / SGX_PAGE_NOT_DEBUGGABLE with nothing held.
 */
static int debug_access(struct sgx_cpu *cpu, uint64_t rcx, bool write, uint64_t **data)
{
	const struct sgx_epcm_entry *e;
	uint64_t off = rcx & (SGX_PAGE_SIZE - 1);
	int64_t f, owner;
	int ret;

	ret = sgx_epc_sub_operand(cpu, rcx, 8, &f);
	if (ret)
		return ret;
	if (!sgx_frame_trylock(cpu, f))
		return SGX_FAULT_GP;
	e = &cpu->epcm[f];
	ret = 0;
	if (!e->valid || e->type == SGX_PAGE_TYPE_TRIM) {
		ret = SGX_FAULT_PF;
	} else if (e->type == SGX_PAGE_TYPE_VA || (write && e->type == SGX_PAGE_TYPE_SECS)) {
		ret = SGX_PAGE_NOT_DEBUGGABLE;
	} else {
		owner = e->type == SGX_PAGE_TYPE_SECS ? f : e->secs;
		if (!(sgx_secs_page(cpu, owner)->attributes & SGX_ATTR_DEBUG))
			ret = SGX_PAGE_NOT_DEBUGGABLE;
		/* Of a TCS, a debugger may only write FLAGS (to set DBGOPTIN). */
		else if (write && e->type == SGX_PAGE_TYPE_TCS &&
			 off != offsetof(struct sgx_tcs, flags))
			ret = SGX_FAULT_GP;
	}
	if (ret) {
		sgx_frame_unlock(cpu, f);
		return ret;
	}
	*data = (uint64_t *)((uint8_t *)sgx_frame_data(cpu, f) + off);
	return 0;
}

int sgx_encls_edbgrd(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	uint64_t *word;
	int64_t f;
	int ret;

	ret = sgx_host_operand(cpu, rbx, 8);
	if (ret)
		return ret;
	ret = debug_access(cpu, rcx, false, &word);
	if (ret)
		return ret;
	*(uint64_t *)sgx_ptr(rbx) = *word;
	f = sgx_epc_frame_containing(cpu, rcx);
	sgx_frame_unlock(cpu, f);
	return 0;
}

int sgx_encls_edbgwr(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx)
{
	uint64_t *word;
	int ret;

	ret = debug_access(cpu, rcx, true, &word);
	if (ret)
		return ret;
	*word = rbx;
	sgx_frame_unlock(cpu, sgx_epc_frame_containing(cpu, rcx));
	return 0;
}

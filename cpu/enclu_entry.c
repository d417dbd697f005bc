// SPDX-License-Identifier: MIT
/*
 * Entering and leaving enclave mode: EENTER, ERESUME, EEXIT and the
 * Asynchronous Enclave Exit (AEX).
 *
 * Where the state lives, as on hardware: TCS.STATE is the busy flag (one LP
 * per TCS), TCS.CSSA the current SSA frame, TCS.AEP the AEP of the last
 * entry; the enclave's registers at an AEX go to the GPRSGX area at the end
 * of SSA frame CSSA, with EXITINFO, and EXINFO below it when the enclave's
 * MISCSELECT asks for it; the untrusted RSP/RBP of the entry go to that
 * frame's URSP/URBP. Only the host FS/GS bases, which the CPU keeps in
 * internal registers, need a home of sgxemu's choosing (struct
 * sgx_tcs_hidden, in the busy TCS).
 *
 * Locking: every leaf here holds the epcm read lock from its first check to
 * its last write, and enters/leaves enclave mode (lp_lock, nested inside it)
 * before releasing it. So EBLOCK/EWB/EREMOVE (epcm write lock) see either
 * the LP outside, or inside with an entry epoch that keeps the TCS and SSA
 * pages from being evicted (SGX_NOT_TRACKED) until it has left; and the TCS
 * and SSA bytes written here are never written after the LP has left.
 */
#include <errno.h>
#include <string.h>

#include "cpu/enclu_internal.h"

static struct sgx_tcs_hidden *tcs_hidden(struct sgx_tcs *tcs)
{
	return (struct sgx_tcs_hidden *)((uint8_t *)tcs + SGX_TCS_HIDDEN_OFFSET);
}

/* TCS.STATE is at offset 0 of the (page aligned) TCS: fit for atomics. */
static uint64_t *tcs_state(void *tcs_page)
{
	return tcs_page;
}

/*
 * Linear address and size of SSA frame 'idx' of a TCS. false if the frame
 * does not lie inside ELRANGE (or the arithmetic overflows).
 */
static bool ssa_frame(const struct sgx_cpu *cpu, int64_t secs, const struct sgx_tcs *tcs,
		      uint32_t idx, uint64_t *start, uint64_t *size)
{
	const struct sgx_secs *s = sgx_secs_page(cpu, secs);
	uint64_t fsize = (uint64_t)s->ssa_frame_size * SGX_PAGE_SIZE;
	uint64_t off;

	if (!fsize || (tcs->ssa_offset & ~SGX_PAGE_MASK) || tcs->ssa_offset >= s->size)
		return false;
	if (__builtin_mul_overflow((uint64_t)idx, fsize, &off) ||
	    __builtin_add_overflow(off, tcs->ssa_offset, &off) ||
	    __builtin_add_overflow(off, s->base, start))
		return false;
	*size = fsize;
	return enclu_in_elrange(cpu, secs, *start, fsize);
}

/*
 * The checks EENTER/ERESUME make on every page of the SSA frame they will
 * use: in the EPC, a REG page of the enclave, readable and writable, not
 * PENDING/MODIFIED/BLOCKED. Returns the frame's GPRSGX area or NULL + *exc.
 */
static struct sgx_ssa_gprs *ssa_check(struct sgx_cpu *cpu, int64_t secs,
				      const struct sgx_tcs *tcs, uint32_t idx,
				      struct sgx_exception *exc)
{
	uint64_t start, size;
	uint8_t *page = NULL;

	if (!ssa_frame(cpu, secs, tcs, idx, &start, &size)) {
		enclu_gp(exc);
		return NULL;
	}
	for (uint64_t off = 0; off < size; off += SGX_PAGE_SIZE) {
		page = enclu_access(cpu, secs, start + off, X86_PF_WRITE, exc, NULL);
		if (!page)
			return NULL;
	}
	return (struct sgx_ssa_gprs *)(page + SGX_PAGE_SIZE - SGX_SSA_GPRS_SIZE);
}

/*
 * The GPRSGX of the current frame at AEX time. The hardware writes through
 * the SSA translations it cached at entry, whatever the EPCM permissions
 * became since, so only presence is checked. NULL (+ the page's linear
 * address) if the page left the EPC.
 */
static struct sgx_ssa_gprs *ssa_for_aex(struct sgx_cpu *cpu, int64_t secs,
					const struct sgx_tcs *tcs, uint32_t idx,
					uint64_t *missing)
{
	uint64_t start, size, last;
	int64_t f;

	*missing = 0;
	if (!ssa_frame(cpu, secs, tcs, idx, &start, &size))
		return NULL;
	last = start + size - SGX_PAGE_SIZE;
	f = sgx_epcm_lookup(cpu, secs, last);
	if (f < 0 || cpu->epcm[f].type != SGX_PAGE_TYPE_REG) {
		*missing = last;
		return NULL;
	}
	return (struct sgx_ssa_gprs *)((uint8_t *)sgx_frame_data(cpu, f) + SGX_PAGE_SIZE -
				       SGX_SSA_GPRS_SIZE);
}

/* The TCS page the LP entered through, if it is still what it was. */
static struct sgx_tcs *current_tcs(struct sgx_cpu *cpu, struct sgx_lp *lp, int64_t secs)
{
	int64_t f = lp->tcs_frame;	/* written only by this LP's own thread */
	const struct sgx_epcm_entry *e;

	if (f < 0)
		return NULL;
	e = &cpu->epcm[f];
	if (!e->valid || e->type != SGX_PAGE_TYPE_TCS || e->secs != secs ||
	    e->linaddr != lp->tcs_linaddr)
		return NULL;
	return sgx_frame_data(cpu, f);
}

static void load_gprs(struct sgx_regs *r, const struct sgx_ssa_gprs *g)
{
	r->rax = g->rax;
	r->rcx = g->rcx;
	r->rdx = g->rdx;
	r->rbx = g->rbx;
	r->rsp = g->rsp;
	r->rbp = g->rbp;
	r->rsi = g->rsi;
	r->rdi = g->rdi;
	r->r8 = g->r8;
	r->r9 = g->r9;
	r->r10 = g->r10;
	r->r11 = g->r11;
	r->r12 = g->r12;
	r->r13 = g->r13;
	r->r14 = g->r14;
	r->r15 = g->r15;
	r->rflags = g->rflags;
	r->rip = g->rip;
	r->fsbase = g->fsbase;
	r->gsbase = g->gsbase;
}

static void save_gprs(struct sgx_ssa_gprs *g, const struct sgx_regs *r)
{
	g->rax = r->rax;
	g->rcx = r->rcx;
	g->rdx = r->rdx;
	g->rbx = r->rbx;
	g->rsp = r->rsp;
	g->rbp = r->rbp;
	g->rsi = r->rsi;
	g->rdi = r->rdi;
	g->r8 = r->r8;
	g->r9 = r->r9;
	g->r10 = r->r10;
	g->r11 = r->r11;
	g->r12 = r->r12;
	g->r13 = r->r13;
	g->r14 = r->r14;
	g->r15 = r->r15;
	g->rflags = r->rflags;
	g->rip = r->rip;
	g->fsbase = r->fsbase;
	g->gsbase = r->gsbase;
}

/* EENTER and ERESUME: the same checks, then a fresh entry or a restore. */
static int enter(struct enclu_call *c, bool resume)
{
	struct sgx_cpu *cpu = c->cpu;
	struct sgx_regs *r = c->regs;
	uint64_t tcs_la = r->rbx, aep = r->rcx, busy = SGX_TCS_INACTIVE;
	uint64_t ursp = r->rsp, urbp = r->rbp, host_fs = r->fsbase, host_gs = r->gsbase;
	const struct sgx_epcm_entry *e;
	const struct sgx_secs *secs_page;
	struct sgx_ssa_gprs *gprs;
	struct sgx_tcs *tcs;
	int64_t secs, tcs_f;
	uint32_t cssa, idx;
	int ret = ENCLU_FAULTED;

	if (tcs_la & ~SGX_PAGE_MASK)
		return enclu_gp(c->exc);

	sgx_epcm_read_lock(cpu);
	secs = enclu_find_enclave(cpu, c->lp, tcs_la);
	if (secs < 0) {
		/* Not an enclave address: the TCS "does not resolve within an EPC". */
		enclu_pf_epcm(c->exc, tcs_la, 0);
		goto out;
	}
	tcs_f = sgx_epcm_lookup(cpu, secs, tcs_la);
	if (tcs_f < 0 || cpu->epcm[tcs_f].blocked) {
		enclu_pf_notpresent(c->exc, tcs_la, 0);
		goto out;
	}
	e = &cpu->epcm[tcs_f];
	if (e->type != SGX_PAGE_TYPE_TCS || e->pending || e->modified) {
		enclu_pf_epcm(c->exc, tcs_la, 0);
		goto out;
	}
	if (!sgx_secs_hidden(cpu, secs)->initialized) {
		enclu_gp(c->exc);
		goto out;
	}
	secs_page = sgx_secs_page(cpu, secs);
	tcs = sgx_frame_data(cpu, tcs_f);

	/*
	 * Take the TCS first (atomically: of two LPs racing for it, one wins),
	 * then read CSSA: only the LP holding the TCS may trust it.
	 */
	if (!__atomic_compare_exchange_n(tcs_state(tcs), &busy, SGX_TCS_ACTIVE, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		enclu_gp(c->exc);
		goto out;
	}
	cssa = tcs->ssa_index;
	if ((tcs->flags & ~SGX_TCS_FLAGS_KNOWN) ||
	    (resume ? (cssa == 0 || cssa > tcs->nr_ssa_frames) : cssa >= tcs->nr_ssa_frames) ||
	    (!resume && !enclu_canonical(secs_page->base + tcs->entry_offset))) {
		enclu_gp(c->exc);
		goto release;
	}
	idx = resume ? cssa - 1 : cssa;
	gprs = ssa_check(cpu, secs, tcs, idx, c->exc);
	if (!gprs)
		goto release;
	if (sgx_lp_enter_enclave(cpu, c->lp, secs, tcs_f, tcs_la)) {
		enclu_gp(c->exc);
		goto release;
	}

	tcs->exit_addr = aep;
	tcs_hidden(tcs)->host_fsbase = host_fs;
	tcs_hidden(tcs)->host_gsbase = host_gs;
	if (resume) {
		load_gprs(r, gprs);
		tcs->ssa_index = idx;
	} else {
		r->rax = cssa;
		r->rcx = r->rip + ENCLU_INSN_LEN;
		r->rip = secs_page->base + tcs->entry_offset;
		r->fsbase = secs_page->base + tcs->fs_offset;
		r->gsbase = secs_page->base + tcs->gs_offset;
	}
	/* Written after the restore: the frame now current keeps this entry's. */
	gprs->ursp = ursp;
	gprs->urbp = urbp;
	ret = 0;
	goto out;
release:
	__atomic_store_n(tcs_state(tcs), SGX_TCS_INACTIVE, __ATOMIC_RELEASE);
out:
	sgx_epcm_read_unlock(cpu);
	return ret;
}

int enclu_eenter(struct enclu_call *c)
{
	return enter(c, false);
}

int enclu_eresume(struct enclu_call *c)
{
	return enter(c, true);
}

int enclu_eexit(struct enclu_call *c)
{
	struct sgx_cpu *cpu = c->cpu;
	struct sgx_regs *r = c->regs;
	uint64_t target = r->rbx, aep = 0, fs = 0, gs = 0;
	struct sgx_tcs *tcs;

	if (!enclu_canonical(target))
		return enclu_gp(c->exc);

	sgx_epcm_read_lock(cpu);
	tcs = current_tcs(cpu, c->lp, c->secs);
	if (tcs) {
		struct sgx_tcs_hidden *h = tcs_hidden(tcs);

		aep = tcs->exit_addr;
		fs = h->host_fsbase;
		gs = h->host_gsbase;
		memset(h, 0, sizeof(*h));
		__atomic_store_n(tcs_state(tcs), SGX_TCS_INACTIVE, __ATOMIC_RELEASE);
	}
	sgx_lp_leave_enclave(cpu, c->lp);
	sgx_epcm_read_unlock(cpu);

	/* The SDM's EEXIT returns the AEP in RCX; the enclave cleared the rest. */
	r->rip = target;
	r->rcx = aep;
	r->fsbase = fs;
	r->gsbase = gs;
	return 0;
}

/* Exceptions EXITINFO reports, and their type (hardware or software). */
static bool exitinfo_reported(uint8_t vector, bool exinfo, uint32_t *type)
{
	switch (vector) {
	case 3:		/* #BP */
		*type = SGX_EXITINFO_TYPE_SW;
		return true;
	case 0:		/* #DE */
	case 1:		/* #DB */
	case 5:		/* #BR */
	case X86_TRAP_UD:
	case 16:	/* #MF */
	case 17:	/* #AC */
	case 19:	/* #XM */
		*type = SGX_EXITINFO_TYPE_HW;
		return true;
	case X86_TRAP_GP:
	case X86_TRAP_PF:
		/* Only an enclave that asked for EXINFO learns of #PF/#GP. */
		*type = SGX_EXITINFO_TYPE_HW;
		return exinfo;
	}
	return false;
}

int sgx_aex_or_fault(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
		     const struct sgx_exception *exc, struct sgx_exception *ssa_fault)
{
	struct sgx_ssa_gprs *gprs;
	struct sgx_tcs_hidden *h;
	struct sgx_regs out;
	struct sgx_tcs *tcs;
	uint64_t missing = 0;
	bool exinfo;
	uint32_t type;
	int64_t secs;

	if (!cpu || !lp || !regs || lp->cpu != cpu)
		return -EINVAL;
	secs = sgx_lp_secs_frame(lp);
	if (secs < 0)
		return -EINVAL;

	sgx_epcm_read_lock(cpu);
	tcs = current_tcs(cpu, lp, secs);
	gprs = tcs ? ssa_for_aex(cpu, secs, tcs, tcs->ssa_index, &missing) : NULL;
	if (!gprs && missing) {
		sgx_epcm_read_unlock(cpu);
		if (ssa_fault)
			enclu_pf_notpresent(ssa_fault, missing, X86_PF_WRITE);
		return -EAGAIN;
	}
	if (!gprs) {
		/*
		 * The TCS vanished or its OSSA was overwritten behind the CPU's
		 * back: no state can be saved, but the LP must not stay inside
		 * forever (it would block tracking and EREMOVE).
		 */
		if (tcs)
			__atomic_store_n(tcs_state(tcs), SGX_TCS_INACTIVE, __ATOMIC_RELEASE);
		sgx_lp_leave_enclave(cpu, lp);
		sgx_epcm_read_unlock(cpu);
		return -EIO;
	}

	save_gprs(gprs, regs);
	gprs->exit_info = 0;
	exinfo = sgx_secs_page(cpu, secs)->miscselect & SGX_MISC_EXINFO;
	if (exc && exitinfo_reported(exc->vector, exinfo, &type)) {
		gprs->exit_info = SGX_EXITINFO_VALID | (type << SGX_EXITINFO_TYPE_SHIFT) |
				  exc->vector;
		if (exinfo && (exc->vector == X86_TRAP_PF || exc->vector == X86_TRAP_GP)) {
			struct sgx_ssa_exinfo *x = (struct sgx_ssa_exinfo *)gprs - 1;

			x->maddr = exc->vector == X86_TRAP_PF ? exc->addr : 0;
			x->errcd = exc->error_code;
			x->reserved = 0;
		}
	}
	tcs->ssa_index++;

	/* The synthetic state the untrusted side sees. */
	h = tcs_hidden(tcs);
	memset(&out, 0, sizeof(out));
	out.rax = ERESUME;
	out.rbx = lp->tcs_linaddr;
	out.rcx = tcs->exit_addr;
	out.rip = tcs->exit_addr;
	out.rsp = gprs->ursp;
	out.rbp = gprs->urbp;
	out.rflags = regs->rflags & ~(X86_EFLAGS_ARITH | X86_EFLAGS_TF | X86_EFLAGS_RF);
	out.fsbase = h->host_fsbase;
	out.gsbase = h->host_gsbase;
	memset(h, 0, sizeof(*h));
	__atomic_store_n(tcs_state(tcs), SGX_TCS_INACTIVE, __ATOMIC_RELEASE);
	sgx_lp_leave_enclave(cpu, lp);
	sgx_epcm_read_unlock(cpu);

	*regs = out;
	sgx_stat_inc(&cpu->stats.aex);
	return 0;
}

int sgx_aex(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
	    const struct sgx_exception *exc)
{
	return sgx_aex_or_fault(cpu, lp, regs, exc, NULL);
}

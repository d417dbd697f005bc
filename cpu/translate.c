// SPDX-License-Identifier: MIT
/*
 * Enclave linear addresses: which enclave an address belongs to, and what an
 * access by enclave code to it gives (the page walk plus the EPCM check the
 * hardware adds in enclave mode).
 *
 * There are no page tables in the emulated CPU: "in the EPC" means that the
 * EPCM holds a valid child page of the enclave at that linear address (the
 * linear-address index of epcm.c). A page the EPC manager has not loaded
 * faults like a not-present PTE, so the manager's fault path (ELDU, EAUG)
 * runs and the access is retried, as with the kernel's sgx_vma_fault().
 */
#include <errno.h>

#include "cpu/enclu_internal.h"

bool enclu_in_elrange(const struct sgx_cpu *cpu, int64_t secs, uint64_t linaddr, uint64_t len)
{
	const struct sgx_secs *s = sgx_secs_page(cpu, secs);

	if (linaddr < s->base || len > s->size)
		return false;
	return linaddr - s->base <= s->size - len;
}

int64_t enclu_find_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp, uint64_t linaddr)
{
	void *(*resolve)(void *, uint64_t);
	int64_t found = SGX_NO_FRAME;
	void *arg;

	resolve = enclu_lp_resolver(lp, &arg);
	if (resolve) {
		void *secs = resolve(arg, linaddr);
		int64_t f;

		if (!secs)
			return SGX_NO_FRAME;
		f = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)secs);
		/* Trust the resolver only as far as the EPCM agrees with it. */
		if (!sgx_frame_is_secs(cpu, f) || !enclu_in_elrange(cpu, f, linaddr, 1))
			return SGX_NO_FRAME;
		return f;
	}

	/*
	 * No address space to ask: the unique enclave of this CPU whose
	 * ELRANGE holds the address. Two enclaves of different processes may
	 * overlap; then the address is ambiguous and treated as not an
	 * enclave address (the host integration must install a resolver).
	 */
	for (uint64_t f = 0; f < cpu->nr_frames; f++) {
		if (!sgx_frame_is_secs(cpu, (int64_t)f) ||
		    !enclu_in_elrange(cpu, (int64_t)f, linaddr, 1))
			continue;
		if (found >= 0)
			return SGX_NO_FRAME;
		found = (int64_t)f;
	}
	return found;
}

void *enclu_access(struct sgx_cpu *cpu, int64_t secs, uint64_t linaddr, uint32_t access,
		   struct sgx_exception *exc, int64_t *frame)
{
	const struct sgx_epcm_entry *e;
	int64_t f;
	uint8_t need;

	if (frame)
		*frame = SGX_NO_FRAME;
	if (!enclu_in_elrange(cpu, secs, linaddr, 1)) {
		enclu_gp(exc);
		return NULL;
	}
	f = sgx_epcm_lookup(cpu, secs, linaddr);
	/*
	 * A blocked page is being evicted: the kernel has already zapped its
	 * PTEs, so the access sees a not-present page and the fault handler
	 * waits for the reclaimer (or reloads the page).
	 */
	if (f < 0 || cpu->epcm[f].blocked) {
		enclu_pf_notpresent(exc, linaddr, access);
		return NULL;
	}
	e = &cpu->epcm[f];
	need = SGX_SECINFO_R;
	if (access & X86_PF_WRITE)
		need |= SGX_SECINFO_W;
	if (access & X86_PF_INSTR)
		need = SGX_SECINFO_X;
	if (e->type != SGX_PAGE_TYPE_REG || e->pending || e->modified ||
	    (e->perm & need) != need) {
		enclu_pf_epcm(exc, linaddr, access);
		return NULL;
	}
	if (frame)
		*frame = f;
	return (uint8_t *)sgx_frame_data(cpu, f) + (linaddr & ~SGX_PAGE_MASK);
}

void *sgx_lp_translate(struct sgx_cpu *cpu, struct sgx_lp *lp, uint64_t linaddr,
		       uint32_t access, struct sgx_exception *exc)
{
	struct sgx_exception dummy;
	int64_t secs;
	void *p;

	if (!exc)
		exc = &dummy;
	if (!cpu || !lp || lp->cpu != cpu) {
		enclu_gp(exc);
		return NULL;
	}
	secs = sgx_lp_secs_frame(lp);
	if (secs < 0) {
		enclu_gp(exc);
		return NULL;
	}
	sgx_epcm_read_lock(cpu);
	p = enclu_access(cpu, secs, linaddr, access, exc, NULL);
	sgx_epcm_read_unlock(cpu);
	return p;
}

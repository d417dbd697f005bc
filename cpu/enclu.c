// SPDX-License-Identifier: MIT
/*
 * ENCLU: the leaf dispatcher with the checks the ENCLU instruction makes
 * before any leaf runs (leaf number, SGX2 leaves, enclave mode), and the
 * LP's address resolver.
 */
#include <errno.h>
#include <string.h>

#include "cpu/enclu_internal.h"

/* The AEP lives where the SDM puts it, in TCS.AEP; the LP keeps only its resolver. */
void sgx_lp_set_resolver(struct sgx_lp *lp, void *(*resolve)(void *arg, uint64_t linaddr),
			 void *arg)
{
	if (!lp)
		return;
	lp->resolve = resolve;
	lp->resolve_arg = resolve ? arg : NULL;
}

void *(*enclu_lp_resolver(const struct sgx_lp *lp, void **arg))(void *, uint64_t)
{
	*arg = lp->resolve_arg;
	return lp->resolve;
}

static bool leaf_is_sgx2(uint32_t leaf)
{
	return leaf == EACCEPT || leaf == EMODPE || leaf == EACCEPTCOPY;
}

static int enclu_dispatch(struct enclu_call *c, uint32_t leaf)
{
	switch (leaf) {
	case EREPORT:
		return enclu_ereport(c);
	case EGETKEY:
		return enclu_egetkey(c);
	case EENTER:
		return enclu_eenter(c);
	case ERESUME:
		return enclu_eresume(c);
	case EEXIT:
		return enclu_eexit(c);
	case EACCEPT:
		return enclu_eaccept(c);
	case EMODPE:
		return enclu_emodpe(c);
	case EACCEPTCOPY:
		return enclu_eacceptcopy(c);
	}
	return enclu_gp(c->exc);
}

int sgx_enclu(struct sgx_cpu *cpu, struct sgx_lp *lp, struct sgx_regs *regs,
	      struct sgx_exception *exc)
{
	struct sgx_exception dummy;
	struct sgx_regs work;
	struct enclu_call c;
	uint32_t leaf;
	bool inside;
	int ret;

	if (!exc)
		exc = &dummy;
	if (!cpu || !lp || !regs || lp->cpu != cpu)
		return enclu_gp(exc);

	/* In 64-bit mode ENCLU ignores the upper half of RAX. */
	leaf = (uint32_t)regs->rax;
	if (leaf < 8)
		sgx_stat_inc(&cpu->stats.enclu[leaf]);
	/* An undefined leaf (EDMM leaves on an SGX1 part included) is #GP(0). */
	if (leaf > EACCEPTCOPY || (leaf_is_sgx2(leaf) && !cpu->config.sgx2))
		return enclu_gp(exc);

	c.secs = sgx_lp_secs_frame(lp);
	inside = c.secs >= 0;
	/* EENTER/ERESUME only outside enclave mode, every other leaf only inside. */
	if ((leaf == EENTER || leaf == ERESUME) == inside)
		return enclu_gp(exc);

	work = *regs;
	c.cpu = cpu;
	c.lp = lp;
	c.regs = &work;
	c.exc = exc;
	ret = enclu_dispatch(&c, leaf);
	if (ret == 0)
		*regs = work;
	return ret;
}

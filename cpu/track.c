// SPDX-License-Identifier: MIT
/*
 * Logical processors and TLB tracking.
 *
 * The model (it is what the kernel's reclaimer expects of the hardware):
 * every SECS carries an epoch. An LP entering an enclave records the epoch
 * of that moment. EBLOCK (and EMODPR/EMODT) stamp the page with the current
 * epoch: an LP that entered at or before the stamp may still hold a
 * translation of the page. ETRACK opens a new epoch, but only once every LP
 * that entered before the previous ETRACK has left (else
 * SGX_PREV_TRK_INCMPL). A stamped page is "tracked" once no LP that entered
 * at or before its stamp is still inside; LPs entering later see the page
 * blocked and cannot cache it.
 */
#include <errno.h>

#include "cpu/cpu_internal.h"

struct sgx_lp *sgx_lp_create(struct sgx_cpu *cpu)
{
	struct sgx_lp *lp = NULL;

	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->config.max_lps; i++) {
		if (cpu->lps[i].in_use)
			continue;
		lp = &cpu->lps[i];
		lp->in_use = true;
		lp->secs_frame = SGX_NO_FRAME;
		lp->tcs_frame = SGX_NO_FRAME;
		lp->tcs_linaddr = 0;
		lp->entry_epoch = 0;
		lp->resolve = NULL;
		lp->resolve_arg = NULL;
		if (i + 1 > cpu->lp_high)
			cpu->lp_high = i + 1;
		break;
	}
	pthread_mutex_unlock(&cpu->lp_lock);
	return lp;
}

void sgx_lp_destroy(struct sgx_lp *lp)
{
	struct sgx_cpu *cpu;

	if (!lp)
		return;
	cpu = lp->cpu;
	pthread_mutex_lock(&cpu->lp_lock);
	/* Destroying an LP in enclave mode would leave the enclave "active" forever. */
	if (lp->secs_frame < 0)
		lp->in_use = false;
	pthread_mutex_unlock(&cpu->lp_lock);
}

int sgx_lp_force_exit(struct sgx_lp *lp)
{
	return sgx_lp_leave_enclave(lp->cpu, lp);
}

unsigned int sgx_lp_id(const struct sgx_lp *lp)
{
	return lp->id;
}

int64_t sgx_lp_secs_frame(const struct sgx_lp *lp)
{
	return __atomic_load_n(&lp->secs_frame, __ATOMIC_ACQUIRE);
}

void *sgx_lp_enclave(const struct sgx_lp *lp)
{
	int64_t f = sgx_lp_secs_frame(lp);

	return f < 0 ? NULL : sgx_frame_home(lp->cpu, f);
}

uint64_t sgx_lp_tcs(const struct sgx_lp *lp)
{
	return __atomic_load_n(&lp->tcs_linaddr, __ATOMIC_RELAXED);
}

void sgx_cpu_for_each_lp_in(struct sgx_cpu *cpu, void *secs,
			    void (*fn)(struct sgx_lp *lp, void *arg), void *arg)
{
	int64_t s = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)secs);

	if (s < 0 || !fn)
		return;
	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->lp_high; i++)
		if (cpu->lps[i].in_use && cpu->lps[i].secs_frame == s)
			fn(&cpu->lps[i], arg);
	pthread_mutex_unlock(&cpu->lp_lock);
}

int sgx_lp_enter_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp, int64_t secs_frame,
			 int64_t tcs_frame, uint64_t tcs_linaddr)
{
	int ret = 0;

	pthread_mutex_lock(&cpu->lp_lock);
	if (lp->secs_frame >= 0) {
		ret = -EBUSY;
	} else {
		lp->entry_epoch = sgx_secs_hidden(cpu, secs_frame)->epoch;
		lp->tcs_frame = tcs_frame;
		__atomic_store_n(&lp->tcs_linaddr, tcs_linaddr, __ATOMIC_RELAXED);
		__atomic_store_n(&lp->secs_frame, secs_frame, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&cpu->lp_lock);
	return ret;
}

int sgx_lp_leave_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp)
{
	int ret = 0;

	pthread_mutex_lock(&cpu->lp_lock);
	if (lp->secs_frame < 0) {
		ret = -EINVAL;
	} else {
		__atomic_store_n(&lp->secs_frame, SGX_NO_FRAME, __ATOMIC_RELEASE);
		lp->tcs_frame = SGX_NO_FRAME;
		__atomic_store_n(&lp->tcs_linaddr, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&cpu->lp_lock);
	return ret;
}

bool sgx_track_complete(struct sgx_cpu *cpu, int64_t secs_frame, uint64_t stamp)
{
	bool complete = true;

	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->lp_high; i++) {
		const struct sgx_lp *lp = &cpu->lps[i];

		if (lp->in_use && lp->secs_frame == secs_frame && lp->entry_epoch <= stamp) {
			complete = false;
			break;
		}
	}
	pthread_mutex_unlock(&cpu->lp_lock);
	return complete;
}

uint64_t sgx_track_epoch(struct sgx_cpu *cpu, int64_t secs_frame)
{
	uint64_t epoch;

	pthread_mutex_lock(&cpu->lp_lock);
	epoch = sgx_secs_hidden(cpu, secs_frame)->epoch;
	pthread_mutex_unlock(&cpu->lp_lock);
	return epoch;
}

int sgx_track_new_epoch(struct sgx_cpu *cpu, int64_t secs_frame)
{
	struct sgx_secs_hidden *h = sgx_secs_hidden(cpu, secs_frame);
	int ret = SGX_SUCCESS;

	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->lp_high; i++) {
		const struct sgx_lp *lp = &cpu->lps[i];

		/* Still inside since before the last ETRACK: that cycle is not over. */
		if (lp->in_use && lp->secs_frame == secs_frame && lp->entry_epoch < h->epoch) {
			ret = SGX_PREV_TRK_INCMPL;
			break;
		}
	}
	if (ret == SGX_SUCCESS)
		h->epoch++;
	pthread_mutex_unlock(&cpu->lp_lock);
	return ret;
}

unsigned int sgx_track_nr_inside(struct sgx_cpu *cpu, int64_t secs_frame)
{
	unsigned int n = 0;

	pthread_mutex_lock(&cpu->lp_lock);
	for (unsigned int i = 0; i < cpu->lp_high; i++)
		if (cpu->lps[i].in_use && cpu->lps[i].secs_frame == secs_frame)
			n++;
	pthread_mutex_unlock(&cpu->lp_lock);
	return n;
}

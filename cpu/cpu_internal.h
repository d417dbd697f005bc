/* SPDX-License-Identifier: MIT */
/*
 * Internals of the emulated SGX CPU, shared by cpu.c, epcm.c, track.c,
 * encls*.c (ENCLS side) and enclu.c (ENCLU side). Nothing outside cpu/ (and
 * the CPU's own tests) includes this file.
 *
 * Frames.  The EPC is split in sections; each section is one anonymous host
 * mapping (the "home" of its frames) and one emulated NUMA node. Frames are
 * numbered 0..nr_frames-1, sections in order, so a frame index names an EPC
 * page everywhere inside the CPU; an EPC *address* (what ENCLS takes) is the
 * home address of a frame.
 *
 * LOCKS - what each protects, and the order in which they nest
 * (outer first; never take an outer lock while holding an inner one):
 *
 *  1. epcm[i].busy  (try-lock, never waited for)
 *       "A leaf is working on frame i". Taken by every ENCLS leaf on its
 *       target page (and on the VA page for EWB/ELDU), by sgx_epc_alias() and
 *       by ENCLU leaves that change a page (EACCEPT, EMODPE, ...). Failing to
 *       take it is the architectural conflict: SGX_EPC_PAGE_CONFLICT for
 *       leaves with a status, #GP for the others. It protects the frame's
 *       *contents* (home or alias) against a concurrent leaf. Leaves touching
 *       two frames take them target first, then VA page; both are try-locks,
 *       so there is no deadlock.
 *
 *  2. epcm[s].secs_lock  (pthread mutex, only meaningful on SECS frames)
 *       The per-enclave state: the hidden part of the SECS page
 *       (struct sgx_secs_hidden: running MRENCLAVE, initialized, ...), the
 *       architectural SECS fields EINIT writes, and the right to add or drop
 *       children. Child leaves (EADD, EEXTEND, EAUG, ELDU of a child, EREMOVE
 *       and EWB of a child) take it *blocking*, so that leaves on different
 *       pages of one enclave never fail spuriously; EWB/EREMOVE of the SECS
 *       itself take it too, which is why a child leaf holding it may trust
 *       that its SECS stays valid. Never held across two enclaves.
 *
 *  3. cpu->epcm_lock  (rwlock)
 *       Every EPCM field of every entry (valid, blocked, pending, modified,
 *       pr, type, perm, linaddr, secs, block/mod epochs, alias, child_count)
 *       and the linear-address index. Writers hold the frame's busy lock AND
 *       this lock for writing, so a reader needs only one of the two: ENCLU
 *       (sgx_lp_translate, EACCEPT checks) reads under the read lock without
 *       ever touching busy flags, so it never makes an ENCLS leaf on another
 *       page fail.
 *
 *  4. cpu->lp_lock  (mutex)
 *       The LP table (in_use), every LP's enclave-mode state (secs_frame,
 *       entry_epoch, tcs_*) and every SECS's tracking epoch
 *       (sgx_secs_hidden.epoch is written only under it). ETRACK, the EWB
 *       tracking check, EREMOVE's "enclave active" check and LP enter/leave
 *       all take it, so each sees a consistent picture.
 *
 *  5. cpu->gcm[k].lock  (mutex, leaf lock)
 *       One AES-GCM context of the paging key (contexts are not
 *       re-entrant); EWB/ELDU take any free one.
 *
 *  Counters (stats, next_version, next_enclave_id) are atomics.
 */
#ifndef SGXEMU_CPU_INTERNAL_H
#define SGXEMU_CPU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/crypto.h"
#include "sgxemu/arch.h"

#define SGX_NO_FRAME		((int64_t)-1)
#define SGX_CPU_MAX_LPS		1024
#define SGX_CPU_NR_GCM		4

/* Fault results of a leaf, as sgx_encls() returns them. */
#define SGX_FAULT_GP	(SGX_ENCLS_FAULT_FLAG | X86_TRAP_GP)
#define SGX_FAULT_PF	(SGX_ENCLS_FAULT_FLAG | X86_TRAP_PF)
#define SGX_FAULT_UD	(SGX_ENCLS_FAULT_FLAG | X86_TRAP_UD)

/* One EPCM entry (plus the emulator's bookkeeping for that frame). */
struct sgx_epcm_entry {
	atomic_bool busy;		/* lock 1 */
	pthread_mutex_t secs_lock;	/* lock 2, used when type == SECS */

	/* --- under epcm_lock (written with busy held too) --- */
	bool valid;
	bool blocked;
	bool pending;
	bool modified;
	bool pr;
	uint8_t type;			/* enum sgx_page_type */
	uint8_t perm;			/* SGX_SECINFO_R|W|X */
	uint64_t linaddr;		/* REG/TCS/TRIM: enclave linear address */
	int64_t secs;			/* REG/TCS/TRIM: owner SECS frame, else -1 */
	uint64_t block_epoch;		/* enclave epoch at EBLOCK / ELDB */
	uint64_t mod_epoch;		/* enclave epoch at EMODPR / EMODT */
	void *alias;			/* REG/TCS: where the bytes live, or NULL */
	uint32_t child_count;		/* SECS: valid REG/TCS/TRIM children */
	int64_t hash_next;		/* linear-address index chain */
	bool indexed;			/* in the linear-address index */
};

/*
 * State the real CPU keeps in the SECS page beyond the architectural fields;
 * sgxemu stores it in the SECS page's reserved bytes (SGX_SECS_HIDDEN_OFFSET)
 * so that EWB/ELDU of a SECS carries it through eviction unchanged. Written
 * under the SECS's secs_lock, except 'epoch' (lp_lock).
 */
#define SGX_SECS_HIDDEN_OFFSET	3072
#define SGX_SECS_HIDDEN_MAGIC	0x5345435348494431ULL	/* "SECSHID1" */
struct sgx_secs_hidden {
	uint64_t magic;
	uint64_t enclave_id;		/* EID: unique per CPU, never 0 */
	struct sgx_sha256 mrenclave;	/* running MRENCLAVE until EINIT */
	uint64_t epoch;			/* tracking epoch (lp_lock) */
	uint8_t initialized;		/* EINIT succeeded */
	uint8_t pad[7];
	uint8_t enclu_state[256];	/* free for enclu.c (EREPORT/EGETKEY) */
};
_Static_assert(SGX_SECS_HIDDEN_OFFSET + sizeof(struct sgx_secs_hidden) <= 4096,
	       "hidden SECS state must fit the SECS reserved bytes");
_Static_assert(SGX_SECS_HIDDEN_OFFSET >= offsetof(struct sgx_secs, reserved4),
	       "hidden SECS state must sit in reserved bytes");

struct sgx_lp {
	struct sgx_cpu *cpu;
	unsigned int id;
	bool in_use;			/* lp_lock */
	/* Enclave mode (lp_lock; read by the LP's own thread atomically). */
	int64_t secs_frame;		/* SGX_NO_FRAME outside enclave mode */
	uint64_t entry_epoch;		/* SECS epoch when it entered */
	int64_t tcs_frame;
	uint64_t tcs_linaddr;
	/*
	 * The LP's address resolver (enclu.c): which enclave is mapped at a
	 * linear address in this LP's address space. Written by the LP's owner
	 * while the LP is not executing.
	 */
	void *(*resolve)(void *arg, uint64_t linaddr);
	void *resolve_arg;
};

struct sgx_epc_section {
	uint64_t phys;			/* emulated physical base */
	uint64_t size;
	uint8_t *virt;			/* host mapping: the frames' homes */
	uint64_t first_frame;
	uint64_t nr_frames;
};

struct sgx_gcm_slot {
	pthread_mutex_t lock;		/* lock 5 */
	struct sgx_gcm *gcm;
};

struct sgx_cpu_stats_atomic {
	atomic_uint_fast64_t encls[16];
	atomic_uint_fast64_t enclu[8];
	atomic_uint_fast64_t aex;
	atomic_uint_fast64_t encls_faults;
	atomic_uint_fast64_t encls_errors;
};

struct sgx_cpu {
	struct sgx_cpu_config config;

	unsigned int nr_sections;
	struct sgx_epc_section sections[SGX_MAX_EPC_SECTIONS];
	uint64_t frames_per_section;
	uint64_t nr_frames;
	struct sgx_epcm_entry *epcm;		/* nr_frames entries */

	pthread_rwlock_t epcm_lock;		/* lock 3 */
	int64_t *index_heads;			/* linear-address hash buckets */
	uint64_t index_mask;			/* nr buckets - 1 */

	pthread_mutex_t lp_lock;		/* lock 4 */
	struct sgx_lp *lps;			/* config.max_lps entries */
	unsigned int lp_high;			/* slots ever used: scan bound */

	uint64_t lepubkeyhash[4];		/* MSRs 0x8C..0x8F (atomic access) */
	uint8_t paging_key[16];
	struct sgx_gcm_slot gcm[SGX_CPU_NR_GCM];

	atomic_uint_fast64_t next_version;	/* EWB versions, never 0 */
	atomic_uint_fast64_t next_enclave_id;	/* EIDs, never 0 */
	struct sgx_cpu_stats_atomic stats;
};

/* ---- frames (cpu.c) ---- */

/* Frame index of an EPC address that is exactly a page start, or -1. */
int64_t sgx_epc_frame(const struct sgx_cpu *cpu, uint64_t addr);
/* Frame index of any address inside the EPC (not necessarily aligned), or -1. */
int64_t sgx_epc_frame_containing(const struct sgx_cpu *cpu, uint64_t addr);
/* The frame's home (its EPC address). */
void *sgx_frame_home(const struct sgx_cpu *cpu, int64_t frame);
/* Where the frame's bytes are now: alias or home (epcm_lock or busy held). */
void *sgx_frame_data(const struct sgx_cpu *cpu, int64_t frame);

/* Lock 1. true if taken. */
bool sgx_frame_trylock(struct sgx_cpu *cpu, int64_t frame);
void sgx_frame_unlock(struct sgx_cpu *cpu, int64_t frame);

/* Lock 3. */
void sgx_epcm_read_lock(struct sgx_cpu *cpu);
void sgx_epcm_read_unlock(struct sgx_cpu *cpu);
void sgx_epcm_write_lock(struct sgx_cpu *cpu);
void sgx_epcm_write_unlock(struct sgx_cpu *cpu);

/* ---- EPCM and linear-address index (epcm.c); callers hold epcm_lock ---- */

/* The architectural SECS of SECS frame s (its home; SECS are never aliased). */
struct sgx_secs *sgx_secs_page(const struct sgx_cpu *cpu, int64_t secs_frame);
struct sgx_secs_hidden *sgx_secs_hidden(const struct sgx_cpu *cpu, int64_t secs_frame);
/* true if 'frame' is a valid SECS. */
bool sgx_frame_is_secs(const struct sgx_cpu *cpu, int64_t frame);

/*
 * Frame of the valid REG/TCS/TRIM page at (SECS, linaddr's page) or -1.
 * This is how ENCLU resolves an enclave linear address.
 */
int64_t sgx_epcm_lookup(const struct sgx_cpu *cpu, int64_t secs_frame, uint64_t linaddr);
/* Insert/remove a child frame in the index (epcm_lock held for writing). */
void sgx_epcm_index_add(struct sgx_cpu *cpu, int64_t frame);
void sgx_epcm_index_del(struct sgx_cpu *cpu, int64_t frame);
/* Mark a frame free (valid = 0, all state cleared, unindexed). Write lock. */
void sgx_epcm_clear(struct sgx_cpu *cpu, int64_t frame);

/* ---- tracking and LPs (track.c) ---- */

/*
 * Enter enclave mode (EENTER/ERESUME): records the enclave and the SECS's
 * current epoch as the LP's entry epoch. The caller has validated the
 * enclave and the TCS. Returns 0, or -EBUSY if the LP is already inside.
 */
int sgx_lp_enter_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp, int64_t secs_frame,
			 int64_t tcs_frame, uint64_t tcs_linaddr);
/* Leave enclave mode (EEXIT/AEX). Returns 0 or -EINVAL if not inside. */
int sgx_lp_leave_enclave(struct sgx_cpu *cpu, struct sgx_lp *lp);
/* The SECS frame the LP is inside, or -1 (atomic read, any thread). */
int64_t sgx_lp_secs_frame(const struct sgx_lp *lp);

/*
 * Has every LP that could still hold a translation from before 'stamp'
 * (an EBLOCK/EMODPR/EMODT epoch of SECS frame s) left? true iff no LP inside
 * that enclave entered at an epoch <= stamp. Takes lp_lock.
 */
bool sgx_track_complete(struct sgx_cpu *cpu, int64_t secs_frame, uint64_t stamp);
/* Current epoch of a SECS (takes lp_lock). */
uint64_t sgx_track_epoch(struct sgx_cpu *cpu, int64_t secs_frame);
/* ETRACK body: SGX_SUCCESS or SGX_PREV_TRK_INCMPL. Takes lp_lock. */
int sgx_track_new_epoch(struct sgx_cpu *cpu, int64_t secs_frame);
/* Number of LPs inside the enclave (takes lp_lock). */
unsigned int sgx_track_nr_inside(struct sgx_cpu *cpu, int64_t secs_frame);

/* ---- ENCLS (encls*.c) ---- */
int sgx_encls_dispatch(struct sgx_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx,
		       uint64_t rdx);

/* Paging key contexts (cpu.c). */
struct sgx_gcm_slot *sgx_cpu_gcm_get(struct sgx_cpu *cpu);
void sgx_cpu_gcm_put(struct sgx_gcm_slot *slot);

/*
 * Operand checks shared by the ENCLS leaves.
 *
 * A host (non-EPC) operand cannot be probed: NULL or misaligned is #GP,
 * one that lies inside the EPC is #GP too (the EPC is only reachable as an
 * EPC operand), anything else is trusted.
 */
static inline int sgx_host_operand(const struct sgx_cpu *cpu, uint64_t p, uint64_t align)
{
	if (!p || (p & (align - 1)))
		return SGX_FAULT_GP;
	if (sgx_epc_frame_containing(cpu, p) >= 0)
		return SGX_FAULT_GP;
	return 0;
}

/* An EPC page operand: misaligned is #GP, outside the EPC is #PF. */
static inline int sgx_epc_page_operand(const struct sgx_cpu *cpu, uint64_t p, int64_t *frame)
{
	if (p & (SGX_PAGE_SIZE - 1))
		return SGX_FAULT_GP;
	*frame = sgx_epc_frame(cpu, p);
	return *frame < 0 ? SGX_FAULT_PF : 0;
}

/* An operand inside an EPC page (EEXTEND chunk, VA slot, EDBG* word). */
static inline int sgx_epc_sub_operand(const struct sgx_cpu *cpu, uint64_t p, uint64_t align,
				      int64_t *frame)
{
	if (p & (align - 1))
		return SGX_FAULT_GP;
	*frame = sgx_epc_frame_containing(cpu, p);
	return *frame < 0 ? SGX_FAULT_PF : 0;
}

static inline void *sgx_ptr(uint64_t p)
{
	return (void *)(uintptr_t)p;
}

/* SECINFO reserved bytes (and reserved flag bits) are all zero. */
static inline bool sgx_secinfo_reserved_clear(const struct sgx_secinfo *si)
{
	if (si->flags & SGX_SECINFO_RESERVED_MASK)
		return false;
	for (size_t i = 0; i < sizeof(si->reserved); i++)
		if (si->reserved[i])
			return false;
	return true;
}

static inline bool sgx_is_child_type(uint8_t type)
{
	return type == SGX_PAGE_TYPE_REG || type == SGX_PAGE_TYPE_TCS ||
	       type == SGX_PAGE_TYPE_TRIM;
}

/*
 * Child-page helpers (encls.c). sgx_secs_lock() takes the enclave's
 * secs_lock and returns 0 if 's' is a valid SECS (else #PF, lock not held).
 * sgx_child_slot_ok() (secs_lock held): initialized == want_init (else #GP),
 * linaddr inside ELRANGE and unused (else #GP). sgx_epcm_add_child()
 * publishes a child (EPCM, index, child count) with busy + secs_lock held.
 */
int sgx_secs_lock(struct sgx_cpu *cpu, int64_t s);
void sgx_secs_unlock(struct sgx_cpu *cpu, int64_t s);
int sgx_child_slot_ok(struct sgx_cpu *cpu, int64_t s, uint64_t linaddr, bool want_init);
void sgx_epcm_add_child(struct sgx_cpu *cpu, int64_t f, int64_t s, uint8_t type, uint8_t perm,
			uint64_t linaddr, bool pending);

/* The leaves, by concern (encls.c, encls_paging.c, encls_edmm.c). */
int sgx_encls_ecreate(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_eadd(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_eextend(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_einit(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx);
int sgx_encls_eremove(struct sgx_cpu *cpu, uint64_t rcx);
int sgx_encls_epa(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_edbgrd(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_edbgwr(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_eblock(struct sgx_cpu *cpu, uint64_t rcx);
int sgx_encls_etrack(struct sgx_cpu *cpu, uint64_t rcx);
int sgx_encls_ewb(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx);
int sgx_encls_eld(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx, uint64_t rdx, bool blocked);
int sgx_encls_eaug(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_emodpr(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);
int sgx_encls_emodt(struct sgx_cpu *cpu, uint64_t rbx, uint64_t rcx);

/* Stats helpers. */
static inline void sgx_stat_inc(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* cpu_internal.h: interface ready for enclu.c */

#endif /* SGXEMU_CPU_INTERNAL_H */

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the emulated SGX CPU.
 *
 * One small CPU (64 frames in 2 sections, SGX2) lives for the whole process.
 * Each input is read as a program: every step takes an opcode byte and then
 * as many operand bytes as that leaf needs. Operands come from pools that
 * make interesting states reachable: EPC addresses (mostly frames of the
 * right kind - free, SECS, child, VA - sometimes misaligned, NULL, one past
 * a section, host memory), host buffers the target owns (PAGEINFO, SECINFO,
 * PCMD, contents, SIGSTRUCT; well or badly aligned) and VA slots.
 *
 * Oracles, checked after every call:
 *  - sgx_cpu_check_invariants() holds;
 *  - the return value is 0, a defined SGX status or a #GP/#PF/#UD fault, and
 *    leaves that have no status (ECREATE, EADD, EEXTEND, EPA, EAUG) only
 *    succeed or fault;
 *  - MRENCLAVE: the target measures every successful ECREATE/EADD/EEXTEND
 *    itself (by enclave id, so it survives SECS paging); an EINIT with a
 *    SIGSTRUCT signed for that value must not fail on measurement, signature
 *    or token, and on success SECS.MRENCLAVE/MRSIGNER must be the expected
 *    ones;
 *  - paging: a page reloaded by ELDU/ELDB from exactly what EWB produced
 *    has exactly the bytes it had when it was written back.
 * At the end of an input everything is EREMOVEd (children, then SECS, until
 * nothing moves); a frame still valid after that is a failure.
 *
 * ENCLU is driven too, through one LP created at start-up.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/crypto.h"
#include "enclave/sigstruct.h"

#define NR_FRAMES	64
#define NR_SECTIONS	2
#define NR_BACKING	8	/* EWB destinations (contents + PCMD) */
#define NR_SHADOWS	8	/* enclaves measured at once */
#define NR_SIGCACHE	8	/* RSA signing is slow: reuse SIGSTRUCTs */
#define MAX_STEPS	256

/*
 * ---- input reader: an exhausted input reads as zeros ----
 * Every byte is consumed in a sequenced statement (never two reads in one
 * expression or argument list), so an input means the same program whatever
 * the compiler's evaluation order.
 */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct input *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | u8(in) << 8);
}

static uint64_t u64(struct input *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)u8(in) << (8 * i);
	return v;
}

/* ---- the process-wide state ---- */

/* Host memory operands: each buffer sits in its own page, so a pointer can
 * be deliberately misaligned inside it without leaving owned memory. */
struct host_buffers {
	uint8_t pageinfo[SGX_PAGE_SIZE];
	uint8_t secinfo[SGX_PAGE_SIZE];
	uint8_t source[SGX_PAGE_SIZE];		/* EADD source / ECREATE SECS */
	uint8_t sigstruct[SGX_PAGE_SIZE];	/* SIGSTRUCT @0, token @2048 */
	uint8_t debug[SGX_PAGE_SIZE];		/* EDBGRD/EDBGWR data */
	uint8_t pcmd[SGX_PAGE_SIZE];		/* NR_BACKING PCMDs of 128 */
	uint8_t backing[NR_BACKING][SGX_PAGE_SIZE];
	uint8_t alias[NR_FRAMES][SGX_PAGE_SIZE];	/* one per frame */
};

/* What EWB wrote into backing slot i, to reload it faithfully. */
struct evicted {
	bool used;
	uint8_t type;
	uint64_t linaddr;
	uint64_t owner_eid;		/* enclave of a child page */
	uint64_t va_slot;		/* EPC address of the VA slot */
	uint8_t digest[32];		/* of the page's bytes at EWB time */
};

/* The target's own MRENCLAVE of one enclave. */
struct shadow {
	bool used;
	uint64_t eid;
	uint64_t base;
	struct sgx_mrenclave m;
};

struct signed_sigstruct {
	bool used;
	uint8_t mrenclave[32];
	uint64_t attributes, xfrm;
	uint32_t miscselect;
	struct sgx_sigstruct ss;
};

struct fuzz_state {
	struct sgx_cpu *cpu;
	struct sgx_lp *lp;		/* NULL without ENCLU support */
	struct sgx_signer *signer;
	uint8_t mrsigner[32];
	struct host_buffers *buf;
	struct evicted ev[NR_BACKING];
	struct shadow sh[NR_SHADOWS];
	struct signed_sigstruct sig[NR_SIGCACHE];
	unsigned int sig_next;
	struct sgx_regs regs;		/* the LP's registers */
	/*
	 * Set while building operands that a leaf may take as host pointers
	 * (raw calls): then EPC picks avoid unmapped addresses next to the EPC.
	 */
	bool mapped_only;
	/* Successful calls per ENCLS leaf and checked oracles, for FUZZ_CPU_STATS. */
	uint64_t ok[16], einit_checked, reload_checked;
};

static struct fuzz_state st;

static void die(const char *what, int leaf, int ret)
{
	fprintf(stderr, "fuzz_cpu: %s (leaf %d %s, ret %d = 0x%x %s)\n", what, leaf,
		leaf >= 0 ? sgx_encls_name((uint32_t)leaf) : "-", ret, (unsigned int)ret,
		encls_faulted(ret) ? "fault" : sgx_status_name(ret));
	abort();
}

static void check_invariants(const char *after)
{
	char msg[512];

	if (sgx_cpu_check_invariants(st.cpu, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fuzz_cpu: invariant broken after %s: %s\n", after, msg);
		abort();
	}
}

/* With FUZZ_CPU_STATS set: how far the inputs got, to judge the pools. */
static void print_stats(void)
{
	fprintf(stderr, "fuzz_cpu: successful leaves:");
	for (uint32_t i = 0; i < 16; i++)
		fprintf(stderr, " %s=%llu", sgx_encls_name(i), (unsigned long long)st.ok[i]);
	fprintf(stderr, "\nfuzz_cpu: EINIT oracle hits %llu, reload oracle hits %llu\n",
		(unsigned long long)st.einit_checked, (unsigned long long)st.reload_checked);
}

static void setup(void)
{
	struct sgx_cpu_config c;

	sgx_cpu_default_config(&c);
	c.epc_size = NR_FRAMES * SGX_PAGE_SIZE;
	c.nr_sections = NR_SECTIONS;
	c.sgx2 = true;
	c.max_lps = 4;
	c.have_secret = true;
	memset(c.secret, 0x5A, sizeof(c.secret));	/* reproducible runs */
	if (sgx_cpu_create(&c, &st.cpu) != 0)
		abort();
	if (sgx_cpu_nr_frames(st.cpu) != NR_FRAMES)
		abort();
	if (posix_memalign((void **)&st.buf, SGX_PAGE_SIZE, sizeof(*st.buf)))
		abort();
	memset(st.buf, 0, sizeof(*st.buf));
	st.signer = sgx_signer_generate();
	if (!st.signer)
		abort();
	sgx_signer_mrsigner(st.signer, st.mrsigner);
	st.lp = sgx_lp_create(st.cpu);
	if (!st.lp)
		abort();
	if (getenv("FUZZ_CPU_STATS"))
		atexit(print_stats);
}

/* ---- EPC operand pools ---- */

static void *frame(unsigned int i)
{
	return sgx_cpu_frame_addr(st.cpu, i % NR_FRAMES);
}

static uint64_t frame_u64(unsigned int i)
{
	return SGX_CPU_PTR(frame(i));
}

static bool epcm(void *epc, struct sgx_epcm_info *info)
{
	return sgx_epcm_read(st.cpu, epc, info) == 0;
}

enum frame_kind { K_FREE, K_SECS, K_CHILD, K_VA, K_TCS, K_ANY };

static bool kind_matches(const struct sgx_epcm_info *i, enum frame_kind k)
{
	switch (k) {
	case K_FREE:
		return !i->valid;
	case K_SECS:
		return i->valid && i->page_type == SGX_PAGE_TYPE_SECS;
	case K_CHILD:
		return i->valid && i->page_type != SGX_PAGE_TYPE_SECS &&
		       i->page_type != SGX_PAGE_TYPE_VA;
	case K_VA:
		return i->valid && i->page_type == SGX_PAGE_TYPE_VA;
	case K_TCS:
		return i->valid && i->page_type == SGX_PAGE_TYPE_TCS;
	case K_ANY:
		return true;
	}
	return false;
}

/* The n-th frame (cyclically) of a kind, or NULL if there is none. */
static void *nth_frame_of_kind(enum frame_kind k, unsigned int n)
{
	unsigned int matches = 0, idx[NR_FRAMES];
	struct sgx_epcm_info info;

	for (unsigned int f = 0; f < NR_FRAMES; f++)
		if (epcm(frame(f), &info) && kind_matches(&info, k))
			idx[matches++] = f;
	return matches ? frame(idx[n % matches]) : NULL;
}

/* An address that ENCLS should refuse or that lies at an edge. */
static uint64_t odd_epc_address(struct input *in)
{
	uint8_t sel = u8(in), arg = u8(in);

	if (st.mapped_only && (sel % 8 == 2 || sel % 8 == 3 || sel % 8 == 6))
		sel = 1;
	switch (sel % 8) {
	case 0:
		return 0;
	case 1:	/* misaligned inside a frame */
		return frame_u64(arg) + 1 + (arg & 0x7F) * 8;
	case 2:	/* one past the last frame of each section */
		return frame_u64(arg & 1 ? NR_FRAMES - 1 : NR_FRAMES / NR_SECTIONS - 1) +
		       SGX_PAGE_SIZE;
	case 3:	/* just before the first frame */
		return frame_u64(0) - SGX_PAGE_SIZE;
	case 4:	/* host memory, page aligned */
		return SGX_CPU_PTR(st.buf->backing[arg % NR_BACKING]);
	case 5:	/* a 256-byte chunk of a frame (EEXTEND's operand) */
		return frame_u64(arg) + (uint64_t)(u8(in) & 0xF) * SGX_EEXTEND_BLOCK_SIZE;
	case 6:
		return u64(in);
	default:
		return frame_u64(arg) | 0xFFF;
	}
}

/* Mostly a frame of the wanted kind; sometimes any frame or an odd address. */
static uint64_t pick_epc(struct input *in, enum frame_kind k)
{
	uint8_t sel = u8(in);
	void *f;

	if (sel < 200) {
		f = nth_frame_of_kind(k, sel);
		return f ? SGX_CPU_PTR(f) : frame_u64(sel);
	}
	if (sel < 240)
		return frame_u64(sel);
	return odd_epc_address(in);
}

/* A VA slot: mostly in a VA page, small slot numbers so that they collide. */
static uint64_t pick_va_slot(struct input *in)
{
	uint8_t sel = u8(in), slot = u8(in);
	uint64_t va = pick_epc(in, K_VA);

	/* Offsetting NULL or an odd address could leave mapped memory. */
	if (st.mapped_only && (!va || (va & ~SGX_PAGE_MASK)))
		return va;
	if (sel < 224)
		return va + (uint64_t)(slot % 8) * 8;
	if (sel < 240)
		return va + (uint64_t)(slot) * 8;
	return va + 1 + (slot & 7);	/* misaligned */
}

/* A host buffer address, usually aligned as required, sometimes not. */
static uint64_t host_ptr(struct input *in, void *page, uint64_t align)
{
	uint8_t sel = u8(in);

	if (sel < 240)
		return SGX_CPU_PTR(page);
	if (sel < 248)
		return SGX_CPU_PTR(page) + 1 + (sel & 7) * (align > 8 ? 8 : 1);
	if (sel < 252)
		return 0;
	return frame_u64(sel);	/* EPC memory where host memory is expected */
}

/* ---- shadow measurement ---- */

static struct shadow *shadow_of_eid(uint64_t eid)
{
	for (int i = 0; i < NR_SHADOWS; i++)
		if (st.sh[i].used && st.sh[i].eid == eid)
			return &st.sh[i];
	return NULL;
}

/* Shadow of the enclave whose SECS is at EPC address 'secs', if measured. */
static struct shadow *shadow_of_secs(uint64_t secs)
{
	struct sgx_epcm_info info;

	if (!epcm((void *)(uintptr_t)secs, &info) || !kind_matches(&info, K_SECS))
		return NULL;
	return shadow_of_eid(info.enclave_id);
}

static void shadow_ecreate(uint64_t secs_epc, const struct sgx_secs *src)
{
	struct sgx_epcm_info info;
	struct shadow *s = NULL;

	if (!epcm((void *)(uintptr_t)secs_epc, &info) || !kind_matches(&info, K_SECS))
		die("ECREATE succeeded but the EPCM has no SECS there", ECREATE, 0);
	for (int i = 0; i < NR_SHADOWS && !s; i++)
		if (!st.sh[i].used)
			s = &st.sh[i];
	if (!s)
		return;	/* too many enclaves: this one goes unmeasured */
	s->used = true;
	s->eid = info.enclave_id;
	s->base = src->base;
	sgx_mrenclave_ecreate(&s->m, src->ssa_frame_size, src->size);
}

/* ---- the ENCLS steps ---- */

static bool status_is_defined(int ret)
{
	if (encls_faulted(ret)) {
		int t = encls_trapnr(ret);

		return t == X86_TRAP_GP || t == X86_TRAP_PF || t == X86_TRAP_UD;
	}
	return (ret >= 0 && ret <= 21) || ret == 25 || ret == 26 || ret == 27 ||
	       ret == 32 || ret == 64 || ret == 128 || ret == 256;
}

static int encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	int ret = sgx_encls(st.cpu, leaf, rbx, rcx, rdx);

	if (!status_is_defined(ret))
		die("undefined return value", (int)leaf, ret);
	if (ret == 0 && leaf < 16)
		st.ok[leaf]++;
	switch (leaf) {
	case ECREATE: case EADD: case EEXTEND: case EPA: case EAUG:
		if (ret && !encls_faulted(ret))
			die("leaf without status codes returned a status", (int)leaf, ret);
		break;
	}
	check_invariants(sgx_encls_name(leaf));
	return ret;
}

static struct sgx_pageinfo *pageinfo_at(uint64_t p)
{
	return (struct sgx_pageinfo *)(uintptr_t)p;
}

/* PAGEINFO in its buffer: aligned (32) or not, as the input says. */
static uint64_t build_pageinfo(struct input *in, uint64_t addr, uint64_t contents,
			       uint64_t metadata, uint64_t secs)
{
	uint64_t p = host_ptr(in, st.buf->pageinfo, 32);
	struct sgx_pageinfo pi = { addr, contents, metadata, secs };

	/* Only write where we own the memory; other choices stay wild. */
	if (p >= SGX_CPU_PTR(st.buf->pageinfo) &&
	    p < SGX_CPU_PTR(st.buf->pageinfo) + SGX_PAGE_SIZE)
		memcpy(pageinfo_at(p), &pi, sizeof(pi));
	return p;
}

static uint64_t build_secinfo(struct input *in, uint64_t flags)
{
	uint64_t p = host_ptr(in, st.buf->secinfo, 64);

	if (p >= SGX_CPU_PTR(st.buf->secinfo) &&
	    p < SGX_CPU_PTR(st.buf->secinfo) + SGX_PAGE_SIZE) {
		memset((void *)(uintptr_t)p, 0, sizeof(struct sgx_secinfo));
		memcpy((void *)(uintptr_t)p, &flags, sizeof(flags));
		if (u8(in) > 250)	/* a reserved byte set */
			((uint8_t *)(uintptr_t)p)[8 + u8(in) % 56] = 1;
	}
	return p;
}

static void step_ecreate(struct input *in)
{
	struct sgx_secs *secs = (struct sgx_secs *)st.buf->source;
	uint8_t mode = u8(in);
	uint64_t target, pi;
	int ret;

	memset(secs, 0, sizeof(*secs));
	if (mode < 224) {
		/* A SECS the kernel could have built. */
		secs->size = SGX_PAGE_SIZE << (u8(in) % 6);		/* 4 KiB..128 KiB */
		secs->base = (uint64_t)(1 + u8(in) % 4) << 32;
		secs->ssa_frame_size = 1 + (mode & 1);
		secs->miscselect = mode & 2 ? SGX_MISC_EXINFO : 0;
		secs->attributes = SGX_ATTR_MODE64BIT | (mode & 4 ? SGX_ATTR_DEBUG : 0) |
				   (mode & 8 ? SGX_ATTR_PROVISIONKEY : 0);
		secs->xfrm = 3;
	} else {
		secs->size = u64(in);
		secs->base = u64(in);
		secs->ssa_frame_size = (uint32_t)u64(in);
		secs->miscselect = (uint32_t)u64(in);
		secs->attributes = u64(in);
		secs->xfrm = u64(in);
		if (mode & 1)
			st.buf->source[SGX_PAGE_SIZE - 1 - u8(in)] = 1;	/* reserved */
	}
	uint64_t addr = mode >= 224 && (mode & 0x10) ? u64(in) : 0;
	uint64_t src = host_ptr(in, st.buf->source, 4096);
	uint64_t si = build_secinfo(in, 0);

	target = pick_epc(in, K_FREE);
	pi = build_pageinfo(in, addr, src, si, 0);
	ret = encls(ECREATE, pi, target, 0);
	if (ret == 0)
		shadow_ecreate(target, secs);
}

/* A TCS whose fields EADD accepts, or random bytes. */
static void fill_source(struct input *in, uint64_t type)
{
	uint8_t mode = u8(in);

	if (mode < 128 && type == SGX_PAGE_TYPE_TCS) {
		struct sgx_tcs *tcs = (struct sgx_tcs *)st.buf->source;

		memset(tcs, 0, sizeof(*tcs));
		tcs->ssa_offset = SGX_PAGE_SIZE * (1 + (mode & 3));
		tcs->nr_ssa_frames = 1 + (mode >> 2 & 1);
		tcs->entry_offset = SGX_PAGE_SIZE * (mode >> 3 & 3);
		tcs->fs_limit = 0xFFF;
		tcs->gs_limit = 0xFFF;
		return;
	}
	for (int i = 0; i < 16; i++) {
		unsigned int at = (unsigned int)(u8(in) << 4 | i) % SGX_PAGE_SIZE;

		st.buf->source[at] = u8(in);
	}
	if (mode >= 240)
		memset(st.buf->source, u8(in), SGX_PAGE_SIZE);
}

/* A linear address inside the enclave of 'secs' (or anything, rarely). */
static uint64_t pick_linaddr(struct input *in, uint64_t secs)
{
	uint8_t sel = u8(in), page = u8(in);
	struct sgx_epcm_info info;
	uint64_t base = 0x100000000ULL, size = 0x10000;

	if (epcm((void *)(uintptr_t)secs, &info) && kind_matches(&info, K_SECS)) {
		const struct sgx_secs *s = (const struct sgx_secs *)(uintptr_t)secs;

		base = s->base;
		size = s->size;
	}
	if (sel < 232) {
		uint64_t pages = size / SGX_PAGE_SIZE;

		return base + (pages ? page % (pages < 64 ? pages : 64) : 0) * SGX_PAGE_SIZE;
	}
	if (sel < 240)
		return base + size;		/* just outside ELRANGE */
	if (sel < 248)
		return base + page * SGX_PAGE_SIZE + 8;	/* misaligned */
	return u64(in);
}

static void step_eadd(struct input *in)
{
	uint8_t t = u8(in), perm = u8(in);
	uint64_t type = t < 160 ? SGX_PAGE_TYPE_REG : t < 224 ? SGX_PAGE_TYPE_TCS : t & 0xFF;
	uint64_t flags = type << SGX_SECINFO_PAGE_TYPE_SHIFT |
			 (type == SGX_PAGE_TYPE_TCS && perm < 224 ? 0 : perm & 0x3F);
	uint64_t secs = pick_epc(in, K_SECS), linaddr = pick_linaddr(in, secs);
	uint64_t target, pi, src, si;
	struct shadow *sh;
	int ret;

	if (t == 255)
		flags = u64(in);
	fill_source(in, type);
	target = pick_epc(in, K_FREE);
	src = host_ptr(in, st.buf->source, 4096);
	si = build_secinfo(in, flags);
	pi = build_pageinfo(in, linaddr, src, si, secs);
	/* Read what was really passed: the input may have spoiled a pointer. */
	sh = shadow_of_secs(secs);
	ret = encls(EADD, pi, target, 0);
	if (ret == 0 && sh) {
		const struct sgx_pageinfo *p = pageinfo_at(pi);
		const struct sgx_secinfo *si = (const void *)(uintptr_t)p->metadata;

		sgx_measure_eadd(&sh->m.h, p->addr - sh->base, si->flags);
	}
}

static void step_eextend(struct input *in)
{
	uint64_t secs = pick_epc(in, K_SECS);
	uint64_t page = pick_epc(in, K_CHILD);
	uint8_t chunk = u8(in);
	uint64_t addr = chunk < 240 ? page + (chunk & 0xF) * SGX_EEXTEND_BLOCK_SIZE : page + chunk;
	struct shadow *sh = shadow_of_secs(secs);
	struct sgx_epcm_info info;
	int ret;

	ret = encls(EEXTEND, secs, addr, 0);
	if (ret == 0 && sh) {
		uint64_t base = addr & SGX_PAGE_MASK, off = addr & ~SGX_PAGE_MASK;
		const uint8_t *data = sgx_epc_data(st.cpu, (void *)(uintptr_t)base);

		if (!epcm((void *)(uintptr_t)base, &info) || !data)
			die("EEXTEND succeeded on a page that is not there", EEXTEND, ret);
		sgx_measure_eextend(&sh->m.h, info.linaddr - sh->base + off, data + off);
	}
}

static const struct sgx_sigstruct *signed_for(const uint8_t mr[32], const struct sgx_secs *s)
{
	struct signed_sigstruct *c;

	for (int i = 0; i < NR_SIGCACHE; i++) {
		c = &st.sig[i];
		if (c->used && !memcmp(c->mrenclave, mr, 32) && c->attributes == s->attributes &&
		    c->xfrm == s->xfrm && c->miscselect == s->miscselect)
			return &c->ss;
	}
	c = &st.sig[st.sig_next++ % NR_SIGCACHE];
	sgx_sigstruct_init(&c->ss, mr, s->attributes & ~SGX_ATTR_INIT, s->xfrm);
	c->ss.body.miscselect = s->miscselect;
	if (sgx_sigstruct_sign(st.signer, &c->ss) != 0)
		abort();
	memcpy(c->mrenclave, mr, 32);
	c->attributes = s->attributes;
	c->xfrm = s->xfrm;
	c->miscselect = s->miscselect;
	c->used = true;
	return &c->ss;
}

static void set_lepubkeyhash(const uint8_t hash[32])
{
	for (int i = 0; i < 4; i++) {
		uint64_t v;

		memcpy(&v, hash + 8 * i, 8);
		if (sgx_cpu_wrmsr(st.cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, v) != 0)
			abort();
	}
}

static void step_einit(struct input *in)
{
	uint64_t secs = pick_epc(in, K_SECS);
	struct sgx_sigstruct *ss = (struct sgx_sigstruct *)st.buf->sigstruct;
	uint8_t mode = u8(in), mr[32];
	struct shadow *sh = shadow_of_secs(secs);
	bool faithful = false;
	uint64_t sp, tp;
	int ret;

	memset(st.buf->sigstruct, 0, SGX_PAGE_SIZE);
	if (sh) {
		struct sgx_mrenclave m = sh->m;

		sgx_mrenclave_final(&m, mr);
		*ss = *signed_for(mr, (const struct sgx_secs *)(uintptr_t)secs);
		faithful = mode < 192;
		if (!faithful) {	/* corrupt one byte */
			size_t at = u16(in) % sizeof(*ss);

			((uint8_t *)ss)[at] ^= (uint8_t)(1 + u8(in) % 255);
		}
	} else {
		uint8_t rnd[32];

		for (int i = 0; i < 32; i++)
			rnd[i] = u8(in);
		*ss = *signed_for(rnd, (const struct sgx_secs *)st.buf->source);
	}
	set_lepubkeyhash(mode & 0x20 && !faithful ? (const uint8_t[32]){ 1 } : st.mrsigner);
	sp = host_ptr(in, st.buf->sigstruct, 4096);
	tp = host_ptr(in, st.buf->sigstruct + 2048, 512);
	if (sp != SGX_CPU_PTR(st.buf->sigstruct) || tp != SGX_CPU_PTR(st.buf->sigstruct + 2048))
		faithful = false;
	ret = encls(EINIT, sp, secs, tp);
	if (!faithful)
		return;
	if (ret == SGX_INVALID_MEASUREMENT || ret == SGX_INVALID_SIGNATURE ||
	    ret == SGX_INVALID_SIG_STRUCT || ret == SGX_INVALID_EINITTOKEN)
		die("EINIT refused a SIGSTRUCT signed for the measured enclave", EINIT, ret);
	if (ret == 0) {
		const struct sgx_secs *s = (const struct sgx_secs *)(uintptr_t)secs;

		st.einit_checked++;
		if (memcmp(s->mrenclave, mr, 32))
			die("SECS.MRENCLAVE differs from the measurement", EINIT, ret);
		if (memcmp(s->mrsigner, st.mrsigner, 32))
			die("SECS.MRSIGNER is not SHA-256 of the modulus", EINIT, ret);
		if (!(s->attributes & SGX_ATTR_INIT))
			die("EINIT succeeded without setting ATTRIBUTES.INIT", EINIT, ret);
	}
}

static void step_ewb(struct input *in)
{
	unsigned int slot = u8(in) % NR_BACKING;
	uint64_t target = pick_epc(in, K_CHILD), va, pi, addr, contents, pcmd;
	struct sgx_epcm_info info, owner;
	struct evicted *e = &st.ev[slot];
	uint8_t digest[32];
	const void *data;
	bool valid;
	int ret;

	if (u8(in) >= 192)
		target = pick_epc(in, K_ANY);	/* SECS and VA pages are evictable too */
	va = pick_va_slot(in);
	addr = u8(in) > 250 ? u64(in) : 0;
	contents = host_ptr(in, st.buf->backing[slot], 4096);
	pcmd = host_ptr(in, st.buf->pcmd + slot * 128, 128);
	pi = build_pageinfo(in, addr, contents, pcmd, 0);
	valid = epcm((void *)(uintptr_t)target, &info) && info.valid;
	data = valid ? sgx_epc_data(st.cpu, (void *)(uintptr_t)target) : NULL;
	if (data)
		sgx_sha256(data, SGX_PAGE_SIZE, digest);
	ret = encls(EWB, pi, target, va);
	if (ret != 0 || !data)
		return;
	/* Only a faithful PAGEINFO makes a reloadable record. */
	if (pi != SGX_CPU_PTR(st.buf->pageinfo) ||
	    pageinfo_at(pi)->contents != SGX_CPU_PTR(st.buf->backing[slot]) ||
	    pageinfo_at(pi)->metadata != SGX_CPU_PTR(st.buf->pcmd + slot * 128)) {
		e->used = false;
		return;
	}
	e->used = true;
	e->type = info.page_type;
	e->linaddr = info.linaddr;
	e->owner_eid = info.secs && epcm(info.secs, &owner) ? owner.enclave_id : 0;
	e->va_slot = va;
	memcpy(e->digest, digest, 32);
}

static uint64_t secs_of_eid(uint64_t eid)
{
	struct sgx_epcm_info info;

	for (unsigned int f = 0; f < NR_FRAMES; f++)
		if (epcm(frame(f), &info) && kind_matches(&info, K_SECS) && info.enclave_id == eid)
			return frame_u64(f);
	return 0;
}

static void step_eld(struct input *in, uint32_t leaf)
{
	unsigned int slot = u8(in) % NR_BACKING;
	struct evicted *e = &st.ev[slot];
	uint8_t mode = u8(in);
	bool faithful = e->used && mode < 200;
	uint64_t target = pick_epc(in, K_FREE), linaddr, secs, va, pi, contents, pcmd;
	bool has_owner;
	int ret;

	has_owner = e->type != SGX_PAGE_TYPE_SECS && e->type != SGX_PAGE_TYPE_VA;
	if (faithful) {
		linaddr = e->linaddr;
		secs = has_owner ? secs_of_eid(e->owner_eid) : 0;
		va = e->va_slot;
	} else {
		secs = pick_epc(in, K_SECS);
		linaddr = pick_linaddr(in, secs);
		if (mode & 1)
			secs = 0;
		va = pick_va_slot(in);
	}
	contents = host_ptr(in, st.buf->backing[slot], 4096);
	pcmd = host_ptr(in, st.buf->pcmd + slot * 128, 128);
	pi = build_pageinfo(in, linaddr, contents, pcmd, secs);
	if (pi != SGX_CPU_PTR(st.buf->pageinfo) ||
	    pageinfo_at(pi)->contents != SGX_CPU_PTR(st.buf->backing[slot]) ||
	    pageinfo_at(pi)->metadata != SGX_CPU_PTR(st.buf->pcmd + slot * 128))
		faithful = false;
	ret = encls(leaf, pi, target, va);
	if (ret != 0)
		return;
	if (faithful) {
		uint8_t digest[32];
		const void *data = sgx_epc_data(st.cpu, (void *)(uintptr_t)target);

		if (!data)
			die("ELDU succeeded but the page has no data", (int)leaf, ret);
		sgx_sha256(data, SGX_PAGE_SIZE, digest);
		if (memcmp(digest, e->digest, 32))
			die("page reloaded with different contents", (int)leaf, ret);
		st.reload_checked++;
	}
	/* The VA slot is consumed: this backing copy is dead either way. */
	e->used = false;
}

static void step_eaug(struct input *in)
{
	uint64_t secs = pick_epc(in, K_SECS), linaddr = pick_linaddr(in, secs);
	uint64_t target = pick_epc(in, K_FREE);
	uint8_t mode = u8(in);
	uint64_t si = 0, pi;

	if (mode > 248) {
		uint64_t flags = u64(in);

		si = build_secinfo(in, flags);
	}
	pi = build_pageinfo(in, linaddr, mode > 240 ? SGX_CPU_PTR(st.buf->source) : 0, si, secs);

	encls(EAUG, pi, target, 0);
}

static void step_emod(struct input *in, uint32_t leaf)
{
	uint8_t f = u8(in);
	uint64_t flags = leaf == EMODPR ? (f & 7) :
			 (uint64_t)(f & 0x80 ? SGX_PAGE_TYPE_TRIM : SGX_PAGE_TYPE_TCS)
				 << SGX_SECINFO_PAGE_TYPE_SHIFT;
	uint64_t target = pick_epc(in, K_CHILD);

	if (f >= 250)
		flags = u64(in);
	encls(leaf, build_secinfo(in, flags), target, 0);
}

static void step_edbg(struct input *in, uint32_t leaf)
{
	uint64_t target = pick_epc(in, K_CHILD);
	uint64_t off = (u8(in) & 0x1F) * 8 * 16;
	uint64_t data = host_ptr(in, st.buf->debug, 8);

	target += off;
	if (u8(in) > 240)
		target += 1 + (u8(in) & 7);
	if (leaf == EDGBWR) {
		encls(leaf, u64(in), target, 0);
		return;
	}
	encls(leaf, data, target, 0);
}

/*
 * A host pointer the target owns, NULL, or an EPC address. Never an arbitrary
 * number: the CPU dereferences host pointers as the kernel hands them over
 * (only NULL and misalignment are its to refuse), so a wild pointer would
 * crash the target, not find a bug.
 */
static uint64_t any_pointer(struct input *in)
{
	switch (u8(in) % 5) {
	case 0:
		return 0;
	case 1:
		return host_ptr(in, st.buf->source, 4096);
	case 2:
		return host_ptr(in, st.buf->pcmd, 128);
	case 3:
		return host_ptr(in, st.buf->debug, 8);
	default:
		return pick_epc(in, K_ANY);
	}
}

/* Any leaf number (including undefined ones) with operands from any pool. */
static uint64_t any_operand(struct input *in)
{
	switch (u8(in) % 5) {
	case 0:
		return pick_epc(in, K_ANY);
	case 1: {
		uint64_t secs = pick_epc(in, K_SECS);
		uint64_t la = pick_linaddr(in, secs);
		uint64_t contents = any_pointer(in);
		uint64_t meta = any_pointer(in);

		return build_pageinfo(in, la, contents, meta, secs);
	}
	case 2: {
		uint64_t flags = u64(in);

		return build_secinfo(in, flags);
	}
	case 3:
		return pick_va_slot(in);
	default:
		return any_pointer(in);
	}
}

static void step_raw(struct input *in)
{
	uint32_t leaf = u8(in);
	uint64_t rbx, rcx, rdx;
	int ret;

	st.mapped_only = true;
	rbx = any_operand(in);
	rcx = any_operand(in);
	rdx = any_operand(in);
	st.mapped_only = false;
	ret = sgx_encls(st.cpu, leaf, rbx, rcx, rdx);

	if (!status_is_defined(ret))
		die("undefined return value (raw call)", (int)leaf, ret);
	check_invariants("a raw ENCLS call");
}

/* ---- ENCLU ---- */

static bool lp_inside(void)
{
	return sgx_lp_enclave(st.lp) != NULL;
}

static void leave_enclave(void)
{
	if (lp_inside() && sgx_aex(st.cpu, st.lp, &st.regs, NULL) != 0)
		die("AEX of an LP in enclave mode failed", -1, 0);
}

/*
 * A pointer argument of an in-enclave leaf is an enclave linear address;
 * the structure it names is written into that page's bytes first, as the
 * enclave code itself would have.
 */
static uint64_t enclave_operand(struct input *in, uint64_t secs, size_t align)
{
	uint64_t la = pick_linaddr(in, secs);
	struct sgx_epcm_info info;

	la += (u8(in) % 8) * align;

	for (unsigned int f = 0; f < NR_FRAMES; f++) {
		if (!epcm(frame(f), &info) || !kind_matches(&info, K_CHILD) ||
		    SGX_CPU_PTR(info.secs) != secs || info.linaddr != (la & SGX_PAGE_MASK))
			continue;
		uint8_t *data = sgx_epc_data(st.cpu, frame(f));

		if (data && (la & ~SGX_PAGE_MASK) + 64 <= SGX_PAGE_SIZE) {
			uint64_t flags = u64(in);

			memcpy(data + (la & ~SGX_PAGE_MASK), &flags, 8);
		}
		break;
	}
	return la;
}

static void step_enclu(struct input *in)
{
	struct sgx_regs regs = st.regs;
	struct sgx_exception exc;
	uint64_t secs = lp_inside() ? SGX_CPU_PTR(sgx_lp_enclave(st.lp)) : pick_epc(in, K_SECS);
	uint8_t leaf = u8(in) % 10;
	int ret;

	if (leaf == 8) {		/* an interrupt: AEX */
		if (lp_inside()) {
			exc = (struct sgx_exception){ .vector = X86_TRAP_PF,
						       .error_code = X86_PF_SGX | X86_PF_WRITE,
						       .addr = pick_linaddr(in, secs) };
			if (sgx_aex(st.cpu, st.lp, &st.regs, u8(in) & 1 ? &exc : NULL))
				die("AEX of an LP in enclave mode failed", -1, 0);
			check_invariants("AEX");
		}
		return;
	}
	regs.rax = leaf == 9 ? u64(in) : leaf;
	regs.rip = 0x400000 + u8(in);
	switch (leaf) {
	case EENTER:
	case ERESUME: {
		void *tcs = nth_frame_of_kind(K_TCS, u8(in));
		struct sgx_epcm_info info;

		regs.rbx = tcs && epcm(tcs, &info) && u8(in) < 224 ? info.linaddr :
			   pick_linaddr(in, secs);
		regs.rcx = 0x500000 + u8(in);	/* AEP */
		break;
	}
	case EEXIT:
		regs.rbx = 0x600000 + u8(in);
		break;
	case EACCEPT:
	case EMODPE:
	case EACCEPTCOPY:
		regs.rbx = enclave_operand(in, secs, 64);
		regs.rcx = pick_linaddr(in, secs);
		regs.rdx = enclave_operand(in, secs, 64);
		break;
	default:	/* EREPORT, EGETKEY, garbage */
		regs.rbx = enclave_operand(in, secs, 512);
		regs.rcx = enclave_operand(in, secs, 64);
		regs.rdx = enclave_operand(in, secs, 512);
		break;
	}
	ret = sgx_enclu(st.cpu, st.lp, &regs, &exc);
	if (ret == 0)
		st.regs = regs;
	else if (ret != -1)
		die("sgx_enclu returned neither 0 nor -1", -1, ret);
	else if (lp_inside() && u8(in) & 1 && sgx_aex(st.cpu, st.lp, &st.regs, &exc))
		die("AEX delivering an ENCLU fault failed", -1, 0);
	check_invariants("ENCLU");
}

/* ---- aliasing (the manager's window pages) ---- */

static void step_alias(struct input *in)
{
	uint8_t f = u8(in);
	uint64_t target = pick_epc(in, K_CHILD);
	int64_t idx = -1;

	for (unsigned int i = 0; i < NR_FRAMES; i++)
		if (frame_u64(i) == target)
			idx = i;
	if (idx < 0 || f >= 192) {
		sgx_epc_alias(st.cpu, (void *)(uintptr_t)target, NULL);
	} else {
		const void *cur = sgx_epc_data(st.cpu, (void *)(uintptr_t)target);

		/* The contract: the caller has copied the current bytes. */
		if (cur && cur != st.buf->alias[idx])
			memcpy(st.buf->alias[idx], cur, SGX_PAGE_SIZE);
		sgx_epc_alias(st.cpu, (void *)(uintptr_t)target, st.buf->alias[idx]);
	}
	check_invariants("sgx_epc_alias");
}

/* ---- teardown: EREMOVE everything, children first ---- */

static void teardown(void)
{
	struct sgx_epcm_info info;
	bool progress = true;

	leave_enclave();
	while (progress) {
		progress = false;
		for (int pass = 0; pass < 2; pass++) {
			for (unsigned int f = 0; f < NR_FRAMES; f++) {
				if (!epcm(frame(f), &info) || !info.valid)
					continue;
				if ((pass == 0) == (info.page_type == SGX_PAGE_TYPE_SECS))
					continue;
				if (__eremove(st.cpu, frame(f)) == 0)
					progress = true;
				check_invariants("teardown EREMOVE");
			}
		}
	}
	for (unsigned int f = 0; f < NR_FRAMES; f++) {
		if (epcm(frame(f), &info) && info.valid) {
			fprintf(stderr, "fuzz_cpu: frame %u (type %u) survives EREMOVE: %d\n", f,
				info.page_type, __eremove(st.cpu, frame(f)));
			abort();
		}
	}
	memset(st.ev, 0, sizeof(st.ev));
	memset(st.sh, 0, sizeof(st.sh));
	memset(&st.regs, 0, sizeof(st.regs));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	if (!st.cpu)
		setup();
	for (int steps = 0; in.n && steps < MAX_STEPS; steps++) {
		uint8_t op = u8(&in);

		switch (op % 20) {
		case 0: case 1:
			step_ecreate(&in);
			break;
		case 2: case 3:
			step_eadd(&in);
			break;
		case 4:
			step_eextend(&in);
			break;
		case 5:
			step_einit(&in);
			break;
		case 6:
			encls(EREMOVE, 0, pick_epc(&in, u8(&in) & 1 ? K_CHILD : K_ANY), 0);
			break;
		case 7: {
			uint64_t type = u8(&in) < 240 ? SGX_PAGE_TYPE_VA : u64(&in);

			encls(EPA, type, pick_epc(&in, K_FREE), 0);
			break;
		}
		case 8:
			encls(EBLOCK, 0, pick_epc(&in, K_CHILD), 0);
			break;
		case 9:
			encls(ETRACK, 0, pick_epc(&in, K_SECS), 0);
			break;
		case 10:
			step_ewb(&in);
			break;
		case 11:
			step_eld(&in, u8(&in) & 1 ? ELDB : ELDU);
			break;
		case 12:
			step_eaug(&in);
			break;
		case 13:
			step_emod(&in, u8(&in) & 1 ? EMODT : EMODPR);
			break;
		case 14:
			step_edbg(&in, u8(&in) & 1 ? EDGBWR : EDGBRD);
			break;
		case 15:
			step_raw(&in);
			break;
		case 16: case 17:
			step_enclu(&in);
			break;
		case 18:
			step_alias(&in);
			break;
		default:
			leave_enclave();
			break;
		}
	}
	teardown();
	return 0;
}

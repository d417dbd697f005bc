// SPDX-License-Identifier: MIT
/*
 * Enclave mode in this process: the native test enclave (tests/util/
 * host_encl) entered through sgxemu's __vdso_sgx_enter_enclave, with ENCLU
 * emulated by the trap handlers of host/enclave_mode.c: EENTER/EEXIT, the
 * vDSO's argument checks and user handler, exceptions inside the enclave
 * (page-table and EPCM denials) reported as the kernel reports them, forced
 * exits (the IPI) and program signals arriving in enclave mode.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/enclave_mode.h"
#include "host/host_internal.h"
#include "host/vdso.h"
#include "tests/harness.h"
#include "tests/util/host_encl.h"

#define MAGIC	0x1122334455667788ULL
#define MAGIC2	0x8877665544332211ULL

struct hfx {
	struct sgx_cpu *cpu;
	struct cpu_pool pool;
	struct host_encl he;
	struct enclave_mode *em;
};

/*
 * Remote LPs (enclave_mode_lp_ops) faked with the local CPU: the LP lives
 * behind the ops, as the daemon's does in shared mode, and its IPI is a
 * tgkill of the LP's thread. The *_lp_ops twins of the tests below run
 * the same bodies with fake_remote set (every test is its own process).
 */
#define FAKE_MAX_LPS	16

struct fake_lp {
	struct sgx_lp *lp;
	pid_t tid;
};

static bool fake_remote;
static struct fake_lp fake_lps[FAKE_MAX_LPS];
static int fake_nr_lps;
static unsigned long fake_calls, fake_opens, fake_closes;

static void *fake_open(void *arg)
{
	struct hfx *f = arg;
	int i = __atomic_fetch_add(&fake_nr_lps, 1, __ATOMIC_RELAXED);

	if (i >= FAKE_MAX_LPS)
		return NULL;
	fake_lps[i].lp = sgx_lp_create(f->cpu);
	if (!fake_lps[i].lp)
		return NULL;
	sgx_lp_set_resolver(fake_lps[i].lp, host_encl_resolve, &f->he);
	fake_lps[i].tid = (pid_t)syscall(SYS_gettid);
	__atomic_fetch_add(&fake_opens, 1, __ATOMIC_RELAXED);
	return &fake_lps[i];
}

static void fake_close(void *arg, void *h)
{
	struct fake_lp *l = h;

	sgx_lp_destroy(l->lp);
	__atomic_store_n(&l->lp, NULL, __ATOMIC_RELEASE);
	__atomic_fetch_add(&fake_closes, 1, __ATOMIC_RELAXED);
}

static void fake_state(struct fake_lp *l, struct enclave_mode_lp_state *st)
{
	const struct sgx_secs *secs = sgx_lp_enclave(l->lp);

	__atomic_fetch_add(&fake_calls, 1, __ATOMIC_RELAXED);
	st->inside = secs != NULL;
	if (secs) {
		st->encl_base = secs->base;
		st->encl_size = secs->size;
	}
}

static int fake_enclu(void *arg, void *h, struct sgx_regs *regs, struct sgx_exception *exc,
		      struct enclave_mode_lp_state *st)
{
	struct hfx *f = arg;
	struct fake_lp *l = h;
	int ret = sgx_enclu(f->cpu, l->lp, regs, exc);

	fake_state(l, st);
	return ret;
}

static int fake_aex(void *arg, void *h, struct sgx_regs *regs, const struct sgx_exception *exc,
		    struct sgx_exception *ssa_fault, struct enclave_mode_lp_state *st)
{
	struct hfx *f = arg;
	struct fake_lp *l = h;
	int ret = sgx_aex_or_fault(f->cpu, l->lp, regs, exc, ssa_fault);

	fake_state(l, st);
	return ret;
}

static bool fake_translate(void *arg, void *h, uint64_t linaddr, uint32_t access,
			   struct sgx_exception *exc)
{
	struct hfx *f = arg;
	struct fake_lp *l = h;

	__atomic_fetch_add(&fake_calls, 1, __ATOMIC_RELAXED);
	return sgx_lp_translate(f->cpu, l->lp, linaddr, access, exc) != NULL;
}

/* The owner's IPI: the kick signal to the thread of each LP inside. */
static void fake_kick(struct sgx_lp *lp, void *arg)
{
	for (int i = 0; i < FAKE_MAX_LPS; i++) {
		if (lp && __atomic_load_n(&fake_lps[i].lp, __ATOMIC_ACQUIRE) == lp)
			syscall(SYS_tgkill, getpid(), fake_lps[i].tid, SIGRTMIN + 5);
	}
}

static void kick_all(struct hfx *f)
{
	sgx_cpu_for_each_lp_in(f->cpu, f->he.encl.secs,
			       fake_remote ? fake_kick : enclave_mode_kick_lp, f->em);
}

static int hfx_setup(struct hfx *f, bool force_syscall)
{
	struct enclave_mode_ops ops = { 0 };
	struct enclave_mode_config cfg = { 0 };
	int ret;

	SKIP_UNDER_TSAN("enclave mode (native enclave code on switched FS/GS bases)");
	memset(f, 0, sizeof(*f));
	f->cpu = cpu_test_create(256 * 4096ULL, 1);
	if (!f->cpu || cpu_pool_init(&f->pool, f->cpu, 0, sgx_cpu_nr_frames(f->cpu)))
		return -1;
	ret = host_encl_build(&f->he, f->cpu, &f->pool);
	if (ret)
		return ret;
	static struct enclave_mode_lp_ops lp_ops;

	ops.resolve = host_encl_resolve;
	ops.fixup = host_encl_fixup;
	ops.arg = &f->he;
	cfg.force_syscall_fsgs = force_syscall;
	if (fake_remote) {
		lp_ops = (struct enclave_mode_lp_ops){
			.open = fake_open, .close = fake_close, .enclu = fake_enclu,
			.aex_or_fault = fake_aex, .translate = fake_translate, .arg = f,
		};
		cfg.lp_ops = &lp_ops;
	}
	ret = enclave_mode_create(f->cpu, &ops, &cfg, &f->em);
	if (!ret)
		ret = enclave_mode_install(f->em);
	return ret;
}

static void hfx_teardown(struct hfx *f)
{
	enclave_mode_destroy(f->em);
	host_encl_destroy(&f->he);
}

static void run_init(struct hfx *f, struct sgx_enclave_run *run, uint64_t tcs_off)
{
	memset(run, 0, sizeof(*run));
	run->tcs = host_encl_la(&f->he, tcs_off);
}

/*
 * host_enter_saved(): the vDSO function called through a wrapper that
 * saves RBX, RBP and R12-R15, as the selftests' call.S does: after an
 * exception the vDSO returns with the AEX's synthetic state, in which
 * R12-R15 are zero (SDM table "GPR synthetic state on AEX").
 */
int host_enter_saved(unsigned long rdi, unsigned long rsi, unsigned long rdx,
		     unsigned int function, unsigned long r8, unsigned long r9,
		     struct sgx_enclave_run *run);
__asm__(
	"	.text\n"
	"	.globl host_enter_saved\n"
	"	.type host_enter_saved, @function\n"
	"host_enter_saved:\n"
	"	push	%rbp\n"
	"	mov	%rsp, %rbp\n"
	"	push	%rbx\n"
	"	push	%r12\n"
	"	push	%r13\n"
	"	push	%r14\n"
	"	push	%r15\n"
	"	push	16(%rbp)\n"
	"	call	sgxemu_vsgx_enter_enclave\n"
	"	lea	-40(%rbp), %rsp\n"
	"	pop	%r15\n"
	"	pop	%r14\n"
	"	pop	%r13\n"
	"	pop	%r12\n"
	"	pop	%rbx\n"
	"	pop	%rbp\n"
	"	ret\n"
	"	.size host_enter_saved, . - host_enter_saved\n");

/*
 * EENTER and the ERESUME after an exception must come from the same stack
 * depth: the enclave EEXITs to the frame of the EENTER call (its saved RCX
 * and untrusted RSP, the RBP it preserved), as on hardware - the selftests
 * call the vDSO from one function for both.
 */
static __attribute__((noinline)) int vdso_call(unsigned long rdi, unsigned int function,
					       struct sgx_enclave_run *run)
{
	return host_enter_saved(rdi, 0, 0, function, 0, 0, run);
}

static int enter_op(struct hfx *f, uint64_t tcs_off, struct he_op *op, struct sgx_enclave_run *run)
{
	run_init(f, run, tcs_off);
	return host_enter_saved((unsigned long)op, 0, 0, EENTER, 0, 0, run);
}

static uint64_t view_u64(struct hfx *f, uint64_t off)
{
	uint64_t v;

	memcpy(&v, f->he.view + off, sizeof(v));
	return v;
}

static void put_get_round_trip(bool force_syscall)
{
	struct sgx_enclave_run run;
	struct sgx_cpu_stats st;
	struct he_op op;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	op = (struct he_op){ .type = HE_OP_PUT, .a = MAGIC };
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(run.user_data, 0);
	CHECK_EQ(run.exception_vector, 0);
	CHECK_EQ(view_u64(&f, HE_DATA + HE_BUF), MAGIC);

	op = (struct he_op){ .type = HE_OP_GET };
	CHECK_EQ(enter_op(&f, HE_TCS2, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(op.a, MAGIC);

	sgx_cpu_get_stats(f.cpu, &st);
	CHECK_EQ(st.enclu[EENTER], 2);
	CHECK_EQ(st.enclu[EEXIT], 2);
	CHECK_EQ(st.aex, 0);
	if (fake_remote)
		CHECK(fake_calls >= 4);		/* the ops ran every leaf */
	{
		/* The first ENCLU gave the thread its block's alternate stack, for good. */
		stack_t ss;

		CHECK_EQ(sigaltstack(NULL, &ss), 0);
		CHECK_EQ(ss.ss_size, HOST_ALTSTACK_SIZE);
		CHECK_EQ((uintptr_t)ss.ss_sp & (HOST_THREAD_SIZE - 1), HOST_THREAD_HDR);
	}
	CHECK(!enclave_mode_thread_inside(f.em));
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_eenter_eexit_round_trip, 10)
{
	put_get_round_trip(false);
}

TEST_TIMEOUT(host_enclave_round_trip_with_arch_prctl_bases, 10)
{
	put_get_round_trip(true);
}

/*
 * SYSCALL inside an enclave is #UD on hardware: syscall user dispatch turns
 * it into an exception reported through the run struct (never a syscall,
 * never a signal to the program), while the host's own syscalls, before,
 * between and after entries, from this thread and others, keep working.
 */
static void syscall_in_enclave(bool force_syscall)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_SYSCALL, .a = 0x5a5a };
	struct hfx f;
	pid_t pid = getpid();

	REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	for (int i = 0; i < 3; i++) {
		op.a = 0x5a5a;
		CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
		CHECK_EQ(run.function, ERESUME);
		CHECK_EQ(run.exception_vector, X86_TRAP_UD);
		CHECK_EQ(op.a, 0x5a5a);		/* getpid never ran in the enclave */
		CHECK_EQ(getpid(), pid);	/* the host's syscalls run */
		CHECK_EQ(syscall(SYS_getpid), pid);
		/* The faulted TCS stays busy with its SSA frame: use a fresh fixture. */
		hfx_teardown(&f);
		REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	}
	/* Ordinary entries still work, and so do syscalls after them. */
	op = (struct he_op){ .type = HE_OP_PUT, .a = 1234 };
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(syscall(SYS_getpid), pid);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_syscall_inside_is_ud, 20)
{
	syscall_in_enclave(false);
}

TEST_TIMEOUT(host_enclave_syscall_inside_is_ud_arch_prctl_path, 20)
{
	syscall_in_enclave(true);
}

static __thread uint64_t tls_marker;

static void fs_gs_bases(bool force_syscall)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_GET_FS };
	uint64_t fs_before, fs_after, v = 0xF5F5F5F5ULL;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	tls_marker = 77;
	memcpy(f.he.view + HE_DATA + HE_FSVAL, &v, sizeof(v));
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs_before));
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs_after));
	/* Inside: FS base = GS base = enclave base + OFSBASE (the data page). */
	CHECK_EQ(op.a, v);
	CHECK_EQ(op.b, v);
	/* Outside again: the thread's own TLS. */
	CHECK_EQ(fs_after, fs_before);
	CHECK_EQ(tls_marker, 77);
	CHECK_EQ(run.function, EEXIT);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_fs_gs_base_inside_and_restored, 10)
{
	fs_gs_bases(false);
}

TEST_TIMEOUT(host_enclave_fs_gs_base_arch_prctl_path, 10)
{
	fs_gs_bases(true);
}

/*
 * host_call_checked(fn, op, run, &bad): EENTER through fn with RBX, RBP and
 * R12-R15 set to patterns; bad gets a bit per register (RBX 1, RBP 2,
 * R12..R15 4..32, RSP 64) that did not survive. Returns fn's result.
 */
int host_call_checked(void *fn, struct he_op *op, struct sgx_enclave_run *run, uint64_t *bad);
__asm__(
	"	.text\n"
	"	.globl host_call_checked\n"
	"	.type host_call_checked, @function\n"
	"host_call_checked:\n"
	"	push	%rbp\n"
	"	push	%rbx\n"
	"	push	%r12\n"
	"	push	%r13\n"
	"	push	%r14\n"
	"	push	%r15\n"
	"	sub	$24, %rsp\n"
	"	mov	%rdi, 0(%rsp)\n"
	"	mov	%rcx, 8(%rsp)\n"
	"	mov	%rsp, 16(%rsp)\n"
	"	mov	%rdx, %rax\n"
	"	sub	$8, %rsp\n"
	"	push	%rax\n"
	"	mov	%rsi, %rdi\n"
	"	xor	%esi, %esi\n"
	"	xor	%edx, %edx\n"
	"	mov	$2, %ecx\n"
	"	xor	%r8d, %r8d\n"
	"	xor	%r9d, %r9d\n"
	"	movabs	$0x1b1b1b1b1b1b1b1b, %rbx\n"
	"	movabs	$0x1d1d1d1d1d1d1d1d, %rbp\n"
	"	movabs	$0x1212121212121212, %r12\n"
	"	movabs	$0x1313131313131313, %r13\n"
	"	movabs	$0x1414141414141414, %r14\n"
	"	movabs	$0x1515151515151515, %r15\n"
	"	mov	16(%rsp), %rax\n"
	"	call	*%rax\n"
	"	add	$16, %rsp\n"
	"	xor	%r10d, %r10d\n"
	"	movabs	$0x1b1b1b1b1b1b1b1b, %r11\n"
	"	cmp	%r11, %rbx\n"
	"	je	1f\n"
	"	or	$1, %r10\n"
	"1:	movabs	$0x1d1d1d1d1d1d1d1d, %r11\n"
	"	cmp	%r11, %rbp\n"
	"	je	1f\n"
	"	or	$2, %r10\n"
	"1:	movabs	$0x1212121212121212, %r11\n"
	"	cmp	%r11, %r12\n"
	"	je	1f\n"
	"	or	$4, %r10\n"
	"1:	movabs	$0x1313131313131313, %r11\n"
	"	cmp	%r11, %r13\n"
	"	je	1f\n"
	"	or	$8, %r10\n"
	"1:	movabs	$0x1414141414141414, %r11\n"
	"	cmp	%r11, %r14\n"
	"	je	1f\n"
	"	or	$16, %r10\n"
	"1:	movabs	$0x1515151515151515, %r11\n"
	"	cmp	%r11, %r15\n"
	"	je	1f\n"
	"	or	$32, %r10\n"
	"1:	cmp	%rsp, 16(%rsp)\n"
	"	je	1f\n"
	"	or	$64, %r10\n"
	"1:	mov	8(%rsp), %r11\n"
	"	mov	%r10, (%r11)\n"
	"	add	$24, %rsp\n"
	"	pop	%r15\n"
	"	pop	%r14\n"
	"	pop	%r13\n"
	"	pop	%r12\n"
	"	pop	%rbx\n"
	"	pop	%rbp\n"
	"	ret\n"
	"	.size host_call_checked, . - host_call_checked\n");

static void body_host_enclave_callee_saved_registers_preserved(void)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_PUT, .a = MAGIC2 };
	uint64_t bad = ~0ULL;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	run_init(&f, &run, HE_TCS1);
	CHECK_EQ(host_call_checked((void *)sgxemu_vsgx_enter_enclave, &op, &run, &bad), 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(view_u64(&f, HE_DATA + HE_BUF), MAGIC2);

	op = (struct he_op){ .type = HE_OP_GET };
	run_init(&f, &run, HE_TCS2);
	bad = ~0ULL;
	CHECK_EQ(host_call_checked((void *)sgxemu_vsgx_enter_enclave, &op, &run, &bad), 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(op.a, MAGIC2);

	/*
	 * After an exception the vDSO returns with the AEX's synthetic state:
	 * RBX and RBP (and RSP) are the vDSO's to restore, R12-R15 are zero.
	 */
	REQUIRE_EQ(host_encl_mprotect(&f.he, HE_DATA2, PROT_READ), 0);
	op = (struct he_op){ .type = HE_OP_PUT_ADDR, .a = 1, .b = host_encl_la(&f.he, HE_DATA2) };
	run_init(&f, &run, HE_TCS1);
	bad = ~0ULL;
	CHECK_EQ(host_call_checked((void *)sgxemu_vsgx_enter_enclave, &op, &run, &bad), 0);
	CHECK_EQ(run.function, ERESUME);
	CHECK_EQ(bad, 4 | 8 | 16 | 32);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_callee_saved_registers_preserved, 10)
{
	body_host_enclave_callee_saved_registers_preserved();
}

static void body_host_enclave_vdso_rejects_bad_leaf_and_reserved(void)
{
	static const unsigned int leaves[] = { EREPORT, EGETKEY, EEXIT, EACCEPT, 8, 0xFFFFFFFFu };
	struct enclave_mode_thread_stats ts;
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_NOP };
	struct sgx_cpu_stats st;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	for (unsigned int i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		run_init(&f, &run, HE_TCS1);
		CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, leaves[i], 0, 0, &run),
			 -EINVAL);
	}
	run_init(&f, &run, HE_TCS1);
	run.reserved[0] = 1;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, EENTER, 0, 0, &run), -EINVAL);
	run.reserved[0] = 0;
	run.reserved[215] = 0x80;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, ERESUME, 0, 0, &run), -EINVAL);
	/* None of them reached ENCLU. */
	sgx_cpu_get_stats(f.cpu, &st);
	CHECK_EQ(st.enclu[EENTER] + st.enclu[ERESUME], 0);
	enclave_mode_thread_stats(f.em, &ts);
	CHECK_EQ(ts.enclu_traps, 0);
	/* And a good call still works afterwards. */
	run.reserved[215] = 0;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, EENTER, 0, 0, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_vdso_rejects_bad_leaf_and_reserved, 10)
{
	body_host_enclave_vdso_rejects_bad_leaf_and_reserved();
}

static struct {
	long rdi, rsi, rdx, rsp, r8, r9;
	struct sgx_enclave_run *run;
	int calls, ret;
} uh;

static int user_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
			struct sgx_enclave_run *run)
{
	uh.rdi = rdi;
	uh.rsi = rsi;
	uh.rdx = rdx;
	uh.rsp = ursp;
	uh.r8 = r8;
	uh.r9 = r9;
	uh.run = run;
	uh.calls++;
	run->user_data = 0;
	return uh.ret;
}

static void body_host_enclave_user_handler_gets_exit_state(void)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_NOP };
	long here = 0;
	struct hfx f;
	int ret;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	run_init(&f, &run, HE_TCS1);
	run.user_handler = (uint64_t)(uintptr_t)user_handler;
	run.user_data = 0xdeadbeef;
	ret = host_enter_saved((unsigned long)&op, 0x51, 0xd1, EENTER, 0x88, 0x99, &run);
	CHECK_EQ(ret, 0);
	CHECK_EQ(uh.calls, 1);
	CHECK_EQ(uh.rdi, (long)&op);
	CHECK_EQ(uh.rsi, 0x51);
	CHECK_EQ(uh.rdx, 0xd1);
	CHECK_EQ(uh.r8, 0x88);
	CHECK_EQ(uh.r9, 0x99);
	CHECK(uh.run == &run);
	CHECK_EQ(run.user_data, 0);
	CHECK_EQ(run.function, EEXIT);
	/* The untrusted RSP at exit: this thread's stack, just below us. */
	CHECK(uh.rsp < (long)&here && (long)&here - uh.rsp < 4096);

	/* A result <= 0 is returned as is. */
	uh.ret = -42;
	run_init(&f, &run, HE_TCS1);
	run.user_handler = (uint64_t)(uintptr_t)user_handler;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, EENTER, 0, 0, &run), -42);
	CHECK_EQ(uh.calls, 2);
	/* > 0 but not EENTER/ERESUME: -EINVAL. */
	uh.ret = EEXIT;
	run_init(&f, &run, HE_TCS1);
	run.user_handler = (uint64_t)(uintptr_t)user_handler;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, EENTER, 0, 0, &run), -EINVAL);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_user_handler_gets_exit_state, 10)
{
	body_host_enclave_user_handler_gets_exit_state();
}

/*
 * An assembly user handler (it must keep RDI = op for the re-entry): counts
 * its calls in run->user_data (bits 0-7), records a misaligned stack (bit 8)
 * or DF set (bit 9), and asks for EENTER on its first call.
 */
int host_reenter_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
			 struct sgx_enclave_run *run);
__asm__(
	"	.text\n"
	"	.globl host_reenter_handler\n"
	"	.type host_reenter_handler, @function\n"
	"host_reenter_handler:\n"
	"	mov	8(%rsp), %rax\n"
	"	incq	32(%rax)\n"
	"	lea	8(%rsp), %r11\n"
	"	test	$15, %r11\n"
	"	jz	1f\n"
	"	orq	$0x100, 32(%rax)\n"
	"1:	pushf\n"
	"	pop	%r11\n"
	"	test	$0x400, %r11\n"
	"	jz	1f\n"
	"	orq	$0x200, 32(%rax)\n"
	"1:	movzbl	32(%rax), %r11d\n"
	"	cmp	$1, %r11d\n"
	"	jne	2f\n"
	"	mov	$2, %eax\n"
	"	ret\n"
	"2:	xor	%eax, %eax\n"
	"	ret\n"
	"	.size host_reenter_handler, . - host_reenter_handler\n");

/* Call the vDSO with DF set and the stack misaligned by 8 at the call. */
int host_call_misaligned_df(struct he_op *op, struct sgx_enclave_run *run);
__asm__(
	"	.text\n"
	"	.globl host_call_misaligned_df\n"
	"	.type host_call_misaligned_df, @function\n"
	"host_call_misaligned_df:\n"
	"	push	%rbx\n"			/* rsp = 0 mod 16 */
	"	mov	%rsi, %rax\n"
	"	push	%rax\n"			/* 7th argument; rsp = 8 mod 16 */
	"	xor	%esi, %esi\n"
	"	xor	%edx, %edx\n"
	"	mov	$2, %ecx\n"
	"	xor	%r8d, %r8d\n"
	"	xor	%r9d, %r9d\n"
	"	std\n"
	"	call	sgxemu_vsgx_enter_enclave\n"
	"	cld\n"
	"	add	$8, %rsp\n"
	"	pop	%rbx\n"
	"	ret\n"
	"	.size host_call_misaligned_df, . - host_call_misaligned_df\n");

TEST_TIMEOUT(host_enclave_user_handler_positive_result_reenters, 10)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_INC };
	struct sgx_cpu_stats st;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	run_init(&f, &run, HE_TCS1);
	run.user_handler = (uint64_t)(uintptr_t)host_reenter_handler;
	CHECK_EQ(host_enter_saved((unsigned long)&op, 0, 0, EENTER, 0, 0, &run), 0);
	/* Two entries: the op ran twice. */
	CHECK_EQ(run.user_data, 2);
	CHECK_EQ(op.a, 2);
	CHECK_EQ(view_u64(&f, HE_DATA + 8), 2);
	sgx_cpu_get_stats(f.cpu, &st);
	CHECK_EQ(st.enclu[EENTER], 2);

	/* Stack realigned and DF cleared for the handler, whatever the caller had. */
	run_init(&f, &run, HE_TCS2);
	run.user_handler = (uint64_t)(uintptr_t)host_reenter_handler;
	CHECK_EQ(host_call_misaligned_df(&op, &run), 0);
	CHECK_EQ(run.user_data, 2);
	CHECK_EQ(op.a, 4);
	hfx_teardown(&f);
}

static void pte_fault(bool force_syscall)
{
	uint64_t addr;
	struct sgx_enclave_run run;
	struct he_op op;
	struct sgx_cpu_stats st;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	addr = host_encl_la(&f.he, HE_DATA2);
	op = (struct he_op){ .type = HE_OP_PUT_ADDR, .a = MAGIC, .b = addr + 8 };
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	op = (struct he_op){ .type = HE_OP_GET_ADDR, .b = addr + 8 };
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(op.a, MAGIC);

	/* The program makes the page read-only: the write faults in the enclave. */
	REQUIRE_EQ(host_encl_mprotect(&f.he, HE_DATA2, PROT_READ), 0);
	op = (struct he_op){ .type = HE_OP_PUT_ADDR, .a = MAGIC2, .b = addr + 8 };
	run_init(&f, &run, HE_TCS1);
	CHECK_EQ(vdso_call((unsigned long)&op, EENTER, &run), 0);
	CHECK_EQ(run.function, ERESUME);
	CHECK_EQ(run.exception_vector, X86_TRAP_PF);
	CHECK_EQ(run.exception_error_code, 0x7);
	CHECK_EQ(run.exception_addr, addr);
	sgx_cpu_get_stats(f.cpu, &st);
	CHECK_EQ(st.aex, 1);
	CHECK_EQ(view_u64(&f, HE_DATA2 + 8), MAGIC);

	/* Writable again: ERESUME completes the write. */
	REQUIRE_EQ(host_encl_mprotect(&f.he, HE_DATA2, PROT_READ | PROT_WRITE), 0);
	run.function = 0;
	CHECK_EQ(vdso_call(0, ERESUME, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(view_u64(&f, HE_DATA2 + 8), MAGIC2);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_pte_permission_fault_then_eresume, 10)
{
	pte_fault(false);
}

TEST_TIMEOUT(host_enclave_pte_permission_fault_arch_prctl_path, 10)
{
	pte_fault(true);
}

static void body_host_enclave_epcm_permission_fault_then_emodpe(void)
{
	uint64_t addr;
	struct sgx_enclave_run run, run2;
	struct he_op op, op2;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	addr = host_encl_la(&f.he, HE_DATA2);
	/* RESTRICT_PERMISSIONS to R: EMODPR + ETRACK, then EACCEPT from inside. */
	REQUIRE_EQ(host_encl_restrict(&f.he, HE_DATA2, SGX_SECINFO_R), 0);
	op = (struct he_op){ .type = HE_OP_EACCEPT, .a = addr,
			     .b = SGX_SECINFO_R | SGX_SECINFO_REG | SGX_SECINFO_PR, .c = ~0ULL };
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(op.c, 0);

	/* The write: the EPCM denies it (the PTE would allow it). */
	op = (struct he_op){ .type = HE_OP_PUT_ADDR, .a = MAGIC2, .b = addr };
	run_init(&f, &run, HE_TCS1);
	CHECK_EQ(vdso_call((unsigned long)&op, EENTER, &run), 0);
	CHECK_EQ(run.function, ERESUME);
	CHECK_EQ(run.exception_vector, X86_TRAP_PF);
	CHECK_EQ(run.exception_error_code, 0x8007);
	CHECK_EQ(run.exception_addr, addr);

	/* EMODPE to R|W from the second TCS, then ERESUME the first: the write lands. */
	op2 = (struct he_op){ .type = HE_OP_EMODPE, .a = addr,
			      .b = SGX_SECINFO_R | SGX_SECINFO_W };
	CHECK_EQ(enter_op(&f, HE_TCS2, &op2, &run2), 0);
	CHECK_EQ(run2.function, EEXIT);
	CHECK_EQ(run2.exception_vector, 0);
	CHECK_EQ(vdso_call(0, ERESUME, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(view_u64(&f, HE_DATA2), MAGIC2);
	op = (struct he_op){ .type = HE_OP_GET_ADDR, .b = addr };
	CHECK_EQ(enter_op(&f, HE_TCS2, &op, &run), 0);
	CHECK_EQ(op.a, MAGIC2);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_epcm_permission_fault_then_emodpe, 10)
{
	body_host_enclave_epcm_permission_fault_then_emodpe();
}

static void body_host_enclave_eenter_fault_reported_by_vdso(void)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_NOP };
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	/* A REG page is no TCS: EENTER #PF with the SGX bit, through the vDSO fixup. */
	CHECK_EQ(enter_op(&f, HE_DATA, &op, &run), 0);
	CHECK_EQ(run.function, EENTER);
	CHECK_EQ(run.exception_vector, X86_TRAP_PF);
	CHECK_EQ(run.exception_error_code & X86_PF_SGX, X86_PF_SGX);
	CHECK_EQ(run.exception_addr, host_encl_la(&f.he, HE_DATA));
	/* ERESUME of a TCS that never AEXed: #GP. */
	run_init(&f, &run, HE_TCS1);
	CHECK_EQ(host_enter_saved(0, 0, 0, ERESUME, 0, 0, &run), 0);
	CHECK_EQ(run.function, ERESUME);
	CHECK_EQ(run.exception_vector, X86_TRAP_GP);
	CHECK(!enclave_mode_thread_inside(f.em));
	/* Still usable. */
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_eenter_fault_reported_by_vdso, 10)
{
	body_host_enclave_eenter_fault_reported_by_vdso();
}

static void body_host_enclave_ereport_from_native_code(void)
{
	struct sgx_enclave_run run;
	struct he_op op = { .type = HE_OP_EREPORT, .c = ~0ULL };
	const struct sgx_report *rep;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	memset(f.he.view + HE_DATA + HE_REPORTDATA, 0xAB, 64);
	CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
	CHECK_EQ(run.function, EEXIT);
	CHECK_EQ(op.c, 0);
	rep = (const struct sgx_report *)(f.he.view + HE_DATA + HE_REPORT);
	CHECK_EQ(rep->body.report_data[0], 0xAB);
	CHECK_EQ(rep->body.report_data[63], 0xAB);
	CHECK(rep->body.attributes.flags & SGX_ATTR_INIT);
	CHECK(rep->body.attributes.flags & SGX_ATTR_MODE64BIT);
	{
		struct sgx_mrenclave m = f.he.encl.mr;
		uint8_t digest[32];

		sgx_mrenclave_final(&m, digest);
		CHECK(memcmp(rep->body.mrenclave, digest, 32) == 0);
	}
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_ereport_from_native_code, 10)
{
	body_host_enclave_ereport_from_native_code();
}

/* ------------------------------------------------------------------------
 * Forced exits and signals
 */

struct spinner {
	struct hfx *f;
	struct he_op op;
	struct sgx_enclave_run run;
	volatile uint64_t flag, started;
	int ret;
};

static void *spin_thread(void *arg)
{
	struct spinner *s = arg;

	s->op = (struct he_op){ .type = HE_OP_SPIN, .b = (uint64_t)(uintptr_t)&s->flag,
				.c = (uint64_t)(uintptr_t)&s->started };
	s->ret = enter_op(s->f, HE_TCS1, &s->op, &s->run);
	enclave_mode_thread_release(s->f->em);
	return NULL;
}

static bool wait_for(volatile uint64_t *p, uint64_t v, double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*p != v) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >
		    seconds)
			return false;
		sched_yield();
	}
	return true;
}

static uint64_t aex_count(struct sgx_cpu *cpu)
{
	struct sgx_cpu_stats st;

	sgx_cpu_get_stats(cpu, &st);
	return st.aex;
}

static void kick_and_track(bool force_syscall)
{
	static uint8_t contents[4096] __attribute__((aligned(4096)));
	static struct sgx_pcmd pcmd;
	struct sgx_pageinfo pi = { 0 };
	struct spinner s = { 0 };
	struct sgx_cpu_stats st;
	uint64_t aex0, *va;
	pthread_t th;
	struct hfx f;
	void *epc;
	bool left = false;

	REQUIRE_EQ(hfx_setup(&f, force_syscall), 0);
	s.f = &f;
	REQUIRE_EQ(pthread_create(&th, NULL, spin_thread, &s), 0);
	REQUIRE(wait_for(&s.started, 1, 5.0));

	/* Reclaim a page while the thread runs inside: EBLOCK, ETRACK, EWB. */
	epc = host_encl_epc(&f.he, HE_DATA2);
	va = cpu_epa(&f.pool);
	REQUIRE(va);
	CHECK_EQ(__eblock(f.cpu, epc), 0);
	CHECK_EQ(__etrack(f.cpu, f.he.encl.secs), 0);
	pi.contents = (uint64_t)(uintptr_t)contents;
	pi.metadata = (uint64_t)(uintptr_t)&pcmd;
	CHECK_EQ(__ewb(f.cpu, &pi, epc, va), SGX_NOT_TRACKED);

	/* The IPI: every LP inside the enclave is kicked out. */
	aex0 = aex_count(f.cpu);
	kick_all(&f);
	for (int i = 0; i < 5000 && !left; i++) {
		left = aex_count(f.cpu) > aex0;
		if (!left)
			usleep(1000);
	}
	CHECK(left);
	CHECK_EQ(__ewb(f.cpu, &pi, epc, va), 0);

	/* The thread went back in transparently and finishes its loop. */
	s.flag = 1;
	pthread_join(th, NULL);
	CHECK_EQ(s.ret, 0);
	CHECK_EQ(s.run.function, EEXIT);
	CHECK_EQ(s.run.exception_vector, 0);
	CHECK(s.op.a > 0);
	sgx_cpu_get_stats(f.cpu, &st);
	CHECK(st.enclu[ERESUME] >= 1);
	CHECK_EQ(st.enclu[ERESUME], st.aex);
}

TEST_TIMEOUT(host_enclave_kick_forces_aex_and_completes_tracking, 10)
{
	kick_and_track(false);
}

TEST_TIMEOUT(host_enclave_kick_arch_prctl_path, 10)
{
	kick_and_track(true);
}

static void body_host_enclave_repeated_kicks_are_transparent(void)
{
	struct spinner s = { 0 };
	struct sgx_cpu_stats st;
	pthread_t th;
	struct hfx f;
	uint64_t aex0;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	s.f = &f;
	REQUIRE_EQ(pthread_create(&th, NULL, spin_thread, &s), 0);
	REQUIRE(wait_for(&s.started, 1, 5.0));
	for (int i = 0; i < 200; i++) {
		aex0 = aex_count(f.cpu);
		kick_all(&f);
		for (int j = 0; j < 2000 && aex_count(f.cpu) == aex0; j++)
			usleep(100);
	}
	s.flag = 1;
	pthread_join(th, NULL);
	CHECK_EQ(s.ret, 0);
	CHECK_EQ(s.run.function, EEXIT);
	sgx_cpu_get_stats(f.cpu, &st);
	CHECK(st.aex >= 150);
	CHECK_EQ(st.enclu[ERESUME], st.aex);
	/* A kick with nobody inside does nothing. */
	kick_all(&f);
	enclave_mode_kick_lp(enclave_mode_thread_lp(f.em), f.em);
	usleep(10000);
	CHECK_EQ(aex_count(f.cpu), st.aex);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_repeated_kicks_are_transparent, 10)
{
	body_host_enclave_repeated_kicks_are_transparent();
}

static struct {
	volatile uint64_t *flag;
	volatile int calls;
	uint64_t rip, rax, tls;
} alrm;

static void program_alarm(int sig, siginfo_t *info, void *ucv)
{
	ucontext_t *uc = ucv;

	alrm.calls++;
	alrm.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	alrm.rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
	alrm.tls = tls_marker;		/* TLS works: FS is the thread's own */
	*alrm.flag = 1;
}

struct poker {
	struct spinner *s;
	pthread_t target;
};

static void *poke_thread(void *arg)
{
	struct poker *p = arg;

	if (wait_for(&p->s->started, 1, 5.0))
		pthread_kill(p->target, SIGALRM);
	return NULL;
}

static void body_host_enclave_program_signal_handled_after_aex(void)
{
	struct sigaction sa = { 0 };
	struct spinner s = { 0 };
	struct poker p;
	pthread_t th;
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	tls_marker = 4242;
	sa.sa_sigaction = program_alarm;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	REQUIRE_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	REQUIRE_EQ(enclave_mode_catch_signal(f.em, SIGALRM), 0);
	CHECK_EQ(enclave_mode_catch_signal(f.em, SIGSEGV), -EINVAL);
	CHECK_EQ(enclave_mode_catch_signal(f.em, SIGKILL), -EINVAL);

	s.f = &f;
	alrm.flag = &s.flag;
	p.s = &s;
	p.target = pthread_self();
	REQUIRE_EQ(pthread_create(&th, NULL, poke_thread, &p), 0);
	s.op = (struct he_op){ .type = HE_OP_SPIN, .b = (uint64_t)(uintptr_t)&s.flag,
			       .c = (uint64_t)(uintptr_t)&s.started };
	s.ret = enter_op(&f, HE_TCS1, &s.op, &s.run);
	pthread_join(th, NULL);

	CHECK_EQ(s.ret, 0);
	CHECK_EQ(s.run.function, EEXIT);
	CHECK_EQ(alrm.calls, 1);
	/* The program saw the synthetic state: RIP = AEP, RAX = ERESUME. */
	CHECK_EQ(alrm.rip, (uint64_t)(uintptr_t)sgxemu_vsgx_enclu);
	CHECK_EQ(alrm.rax, ERESUME);
	CHECK_EQ(alrm.tls, 4242);
	CHECK_EQ(aex_count(f.cpu), 1);
	CHECK(s.op.a > 0);
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_program_signal_handled_after_aex, 10)
{
	body_host_enclave_program_signal_handled_after_aex();
}

/* ------------------------------------------------------------------------
 * What is not enclave mode's still reaches the program
 */

static sigjmp_buf segv_jmp;
static volatile int segv_code;
static volatile uint64_t segv_addr;

static void program_segv(int sig, siginfo_t *info, void *uc)
{
	segv_code = info->si_code;
	segv_addr = (uint64_t)(uintptr_t)info->si_addr;
	siglongjmp(segv_jmp, 1);
}

TEST_TIMEOUT(host_enclave_foreign_enclu_fault_goes_to_program, 10)
{
	struct sigaction sa = { 0 };
	struct hfx f;
	uint64_t tcs;

	sa.sa_sigaction = program_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	REQUIRE_EQ(sigaction(SIGSEGV, &sa, NULL), 0);
	REQUIRE_EQ(hfx_setup(&f, false), 0);
	/* An ENCLU that is not the vDSO's: EENTER of a non-TCS page faults to the program. */
	tcs = host_encl_la(&f.he, HE_DATA);
	if (!sigsetjmp(segv_jmp, 1)) {
		__asm__ volatile("push %%rbx\n\tmov %0, %%rbx\n\tmov $2, %%eax\n\t"
				 "lea 1f(%%rip), %%rcx\n1:\t.byte 0x0f, 0x01, 0xd7\n\tpop %%rbx"
				 : : "r"(tcs) : "rax", "rcx", "memory");
		CHECK(!"ENCLU did not fault");
	}
	CHECK_EQ(segv_code, SEGV_ACCERR);
	CHECK_EQ(segv_addr, tcs);
	/* And the vDSO still works after the program's handler longjmp'ed out. */
	{
		struct sgx_enclave_run run;
		struct he_op op = { .type = HE_OP_PUT, .a = 5 };

		CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
		CHECK_EQ(run.function, EEXIT);
	}
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_program_crash_keeps_default_action, 10)
{
	pid_t pid;
	int status;

	/* Here, not only in hfx_setup(): that runs in the child, whose skip is just an exit. */
	SKIP_UNDER_TSAN("enclave mode (native enclave code on switched FS/GS bases)");
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct hfx f;

		signal(SIGSEGV, SIG_DFL);
		if (hfx_setup(&f, false))
			_exit(2);
		volatile uintptr_t null_page = 16;

		*(volatile int *)null_page = 1;	/* a plain NULL-page write */
		_exit(3);
	}
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGSEGV);
}

static void body_host_enclave_threads_get_their_own_lp(void)
{
	struct spinner s[2];
	pthread_t th[2];
	struct hfx f;

	REQUIRE_EQ(hfx_setup(&f, false), 0);
	for (int i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].f = &f;
	}
	/* Thread 0 spins on TCS1; thread 1 would need TCS1 too: give it TCS2. */
	REQUIRE_EQ(pthread_create(&th[0], NULL, spin_thread, &s[0]), 0);
	REQUIRE(wait_for(&s[0].started, 1, 5.0));
	{
		struct sgx_enclave_run run;
		struct he_op op = { .type = HE_OP_INC };

		/* TCS1 is busy: EENTER #GP reported by the vDSO. */
		CHECK_EQ(enter_op(&f, HE_TCS1, &op, &run), 0);
		CHECK_EQ(run.function, EENTER);
		CHECK_EQ(run.exception_vector, X86_TRAP_GP);
		CHECK_EQ(enter_op(&f, HE_TCS2, &op, &run), 0);
		CHECK_EQ(run.function, EEXIT);
		CHECK_EQ(op.a, 1);
	}
	s[0].flag = 1;
	pthread_join(th[0], NULL);
	CHECK_EQ(s[0].ret, 0);
	if (fake_remote)
		CHECK(fake_opens >= 2);
	else
		CHECK(enclave_mode_thread_lp(f.em) != NULL);
	(void)th[1];
	hfx_teardown(&f);
}

TEST_TIMEOUT(host_enclave_threads_get_their_own_lp, 10)
{
	body_host_enclave_threads_get_their_own_lp();
}

/*
 * Measured fact the signal entry relies on: rt_sigreturn does not restore
 * the GS/FS base (they are not in the x86-64 signal frame). A handler that
 * changes GS base leaves it changed after returning. (GS base is unused by
 * glibc, so the test can change it safely.)
 */
static void set_gs_handler(int sig)
{
	__asm__ volatile("wrgsbase %0" : : "r"(0x12345000ULL));
}

TEST_TIMEOUT(host_sigreturn_does_not_restore_gs_base, 10)
{
	uint64_t gs = 0, before;

	if (!enclave_mode_have_fsgsbase())
		SKIP("FSGSBASE not enabled for user space");
	__asm__ volatile("rdgsbase %0" : "=r"(before));
	signal(SIGUSR1, set_gs_handler);
	raise(SIGUSR1);
	__asm__ volatile("rdgsbase %0" : "=r"(gs));
	CHECK_EQ(gs, 0x12345000ULL);
	__asm__ volatile("wrgsbase %0" : : "r"(before));
}

/* ------------------------------------------------------------------------
 * The same bodies on remote LPs (enclave_mode_lp_ops faked with the local CPU)
 */

TEST_TIMEOUT(host_enclave_lp_ops_eenter_eexit_round_trip, 20)
{
	fake_remote = true;
	put_get_round_trip(false);
}

TEST_TIMEOUT(host_enclave_lp_ops_round_trip_with_arch_prctl_bases, 20)
{
	fake_remote = true;
	put_get_round_trip(true);
}

TEST_TIMEOUT(host_enclave_lp_ops_syscall_inside_is_ud, 20)
{
	fake_remote = true;
	syscall_in_enclave(false);
}

TEST_TIMEOUT(host_enclave_lp_ops_fs_gs_base_inside_and_restored, 20)
{
	fake_remote = true;
	fs_gs_bases(false);
}

TEST_TIMEOUT(host_enclave_lp_ops_pte_permission_fault_then_eresume, 20)
{
	fake_remote = true;
	pte_fault(false);
}

TEST_TIMEOUT(host_enclave_lp_ops_kick_forces_aex_and_completes_tracking, 20)
{
	fake_remote = true;
	kick_and_track(false);
}

TEST_TIMEOUT(host_enclave_lp_ops_kick_arch_prctl_path, 20)
{
	fake_remote = true;
	kick_and_track(true);
}

TEST_TIMEOUT(host_enclave_lp_ops_callee_saved_registers_preserved, 20)
{
	fake_remote = true;
	body_host_enclave_callee_saved_registers_preserved();
}

TEST_TIMEOUT(host_enclave_lp_ops_epcm_permission_fault_then_emodpe, 20)
{
	fake_remote = true;
	body_host_enclave_epcm_permission_fault_then_emodpe();
}

TEST_TIMEOUT(host_enclave_lp_ops_eenter_fault_reported_by_vdso, 20)
{
	fake_remote = true;
	body_host_enclave_eenter_fault_reported_by_vdso();
}

TEST_TIMEOUT(host_enclave_lp_ops_ereport_from_native_code, 20)
{
	fake_remote = true;
	body_host_enclave_ereport_from_native_code();
}

TEST_TIMEOUT(host_enclave_lp_ops_repeated_kicks_are_transparent, 20)
{
	fake_remote = true;
	body_host_enclave_repeated_kicks_are_transparent();
}

TEST_TIMEOUT(host_enclave_lp_ops_program_signal_handled_after_aex, 20)
{
	fake_remote = true;
	body_host_enclave_program_signal_handled_after_aex();
}

TEST_TIMEOUT(host_enclave_lp_ops_threads_get_their_own_lp, 20)
{
	fake_remote = true;
	body_host_enclave_threads_get_their_own_lp();
}

TEST_TIMEOUT(host_enclave_lp_ops_vdso_rejects_bad_leaf_and_reserved, 20)
{
	fake_remote = true;
	body_host_enclave_vdso_rejects_bad_leaf_and_reserved();
}

TEST_TIMEOUT(host_enclave_lp_ops_user_handler_gets_exit_state, 20)
{
	fake_remote = true;
	body_host_enclave_user_handler_gets_exit_state();
}

TEST_TIMEOUT(host_enclave_lp_ops_create_checks, 10)
{
	struct enclave_mode_lp_ops ops = { .open = fake_open, .close = fake_close,
					   .enclu = fake_enclu, .aex_or_fault = fake_aex,
					   .translate = fake_translate };
	struct enclave_mode_config cfg = { .lp_ops = &ops };
	struct enclave_mode *em = NULL;
	struct sgx_exception exc;

	/* No CPU needs remote LPs; remote LPs need every call. */
	CHECK_EQ(enclave_mode_create(NULL, NULL, NULL, &em), -EINVAL);
	ops.translate = NULL;
	CHECK_EQ(enclave_mode_create(NULL, NULL, &cfg, &em), -EINVAL);
	ops.translate = fake_translate;
	REQUIRE_EQ(enclave_mode_create(NULL, NULL, &cfg, &em), 0);
	/* No block yet: outside, and translation is #GP. */
	CHECK(!enclave_mode_thread_inside(em));
	CHECK(!enclave_mode_thread_translate(em, 0x1000, 0, &exc));
	CHECK_EQ(exc.vector, X86_TRAP_GP);
	CHECK(enclave_mode_thread_lp(em) == NULL);
	enclave_mode_destroy(em);
}

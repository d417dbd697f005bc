/* SPDX-License-Identifier: MIT */
/*
 * sgxemu_signal_entry(sig, info, uc): the sa_sigaction of every signal that
 * enclave mode catches (ENCLU traps, faults, the forced-exit signal, program
 * signals that may hit enclave code).
 *
 * Why assembly: when the signal interrupts enclave code, FS base is the
 * enclave's (EENTER loaded enclave base + OFSBASE) and GS base likewise, and
 * any C code, even the stack protector's %fs:0x28 check, would read the
 * enclave instead of the thread's TLS. So, before any C runs:
 *  1. find the thread's block: the kernel put us on the alternate stack, and
 *     uc->uc_stack says which one; it is ours if its size and alignment are
 *     those of a host_thread block and the header has the magic;
 *  2. save the interrupted FS/GS base in a struct host_sig_bases on this
 *     stack and load the thread's own (wrfsbase/wrgsbase when the kernel
 *     enables FSGSBASE for user space, else arch_prctl);
 *     Before that, the thread's syscall user dispatch selector goes to
 *     ALLOW: it is BLOCK while enclave code runs (a SYSCALL there must
 *     fault), and this stub's own syscalls must not;
 *  3. call sgxemu_signal_handler(sig, info, uc, bases);
 *  4. load the FS/GS base the (possibly rewritten) context must run with,
 *     as bases->write_out says: Linux's rt_sigreturn does not restore the FS
 *     or GS base (they are not part of the signal frame on x86-64), so this
 *     is the only place it can happen. No C code runs after it: the return
 *     goes to the libc restorer, which only issues rt_sigreturn.
 * Off our alternate stack (a thread that has no block yet: its first ENCLU),
 * FS is the thread's own already; the C handler reads the bases itself.
 */
#include "host/host_internal.h"

	.text
	.globl sgxemu_signal_entry
	.hidden sgxemu_signal_entry
	.type sgxemu_signal_entry, @function
sgxemu_signal_entry:
	.cfi_startproc
	push	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	push	%rbx
	.cfi_rel_offset %rbx, -8
	push	%r12
	.cfi_rel_offset %r12, -16
	push	%r13
	.cfi_rel_offset %r13, -24
	push	%r14
	.cfi_rel_offset %r14, -32
	push	%r15
	.cfi_rel_offset %r15, -40
	sub	$HSB_SIZE, %rsp
	and	$-16, %rsp
	mov	%rsp, %r15			/* struct host_sig_bases */
	mov	%edi, %r12d			/* sig */
	mov	%rsi, %r13			/* info */
	mov	%rdx, %r14			/* uc */
	movq	$0, HSB_FS(%r15)
	movq	$0, HSB_GS(%r15)
	movq	$0, HSB_THREAD(%r15)
	movl	$0, HSB_HAVE_IN(%r15)
	movl	$HSB_WRITE_NONE, HSB_WRITE_OUT(%r15)
	movl	$HOST_SYSCALL_ALLOW, HSB_SELECTOR_OUT(%r15)

	/* 1. Our alternate stack? */
	mov	UC_STACK_SP(%r14), %rbx
	cmpq	$HOST_ALTSTACK_SIZE, UC_STACK_SIZE(%r14)
	jne	.Lcall
	mov	%rbx, %rax
	and	$(HOST_THREAD_SIZE - 1), %rax
	cmp	$HOST_THREAD_HDR, %rax
	jne	.Lcall
	mov	%rsp, %rax
	sub	%rbx, %rax
	cmp	$HOST_ALTSTACK_SIZE, %rax
	jae	.Lcall
	sub	$HOST_THREAD_HDR, %rbx		/* the block */
	movabs	$HOST_THREAD_MAGIC, %rax
	cmp	%rax, HT_MAGIC(%rbx)
	jne	.Lcall
	mov	%rbx, HSB_THREAD(%r15)
	movb	$HOST_SYSCALL_ALLOW, HT_SELECTOR(%rbx)

	/* 2. Save the interrupted bases, load the thread's own. */
	cmpb	$0, HT_USE_FSGSBASE(%rbx)
	je	.Lread_syscall
	rdfsbase %rax
	mov	%rax, HSB_FS(%r15)
	rdgsbase %rax
	mov	%rax, HSB_GS(%r15)
	mov	HT_HOST_FSBASE(%rbx), %rax
	wrfsbase %rax
	mov	HT_HOST_GSBASE(%rbx), %rax
	wrgsbase %rax
	jmp	.Lhave_in
.Lread_syscall:
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_GET_FS, %edi
	lea	HSB_FS(%r15), %rsi
	syscall
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_GET_GS, %edi
	lea	HSB_GS(%r15), %rsi
	syscall
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_SET_FS, %edi
	mov	HT_HOST_FSBASE(%rbx), %rsi
	syscall
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_SET_GS, %edi
	mov	HT_HOST_GSBASE(%rbx), %rsi
	syscall
.Lhave_in:
	movl	$1, HSB_HAVE_IN(%r15)

.Lcall:
	/* 3. The C handler, with the ABI's alignment and DF clear. */
	cld
	mov	%r12d, %edi
	mov	%r13, %rsi
	mov	%r14, %rdx
	mov	%r15, %rcx
	call	sgxemu_signal_handler

	/* 4. The bases the context returns with. */
	mov	HSB_WRITE_OUT(%r15), %eax
	cmp	$HSB_WRITE_FSGSBASE, %eax
	jne	1f
	mov	HSB_FS(%r15), %rax
	wrfsbase %rax
	mov	HSB_GS(%r15), %rax
	wrgsbase %rax
	jmp	.Lret
1:	cmp	$HSB_WRITE_SYSCALL, %eax
	jne	.Lret
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_SET_FS, %edi
	mov	HSB_FS(%r15), %rsi
	syscall
	mov	$HOST_NR_ARCH_PRCTL, %eax
	mov	$HOST_ARCH_SET_GS, %edi
	mov	HSB_GS(%r15), %rsi
	syscall
.Lret:
	/*
	 * 5. The selector, after the last syscall of this stub: BLOCK if the
	 * context resumes enclave code. The restorer's rt_sigreturn is inside
	 * the range dispatch always allows.
	 */
	mov	HSB_THREAD(%r15), %rax
	test	%rax, %rax
	jz	1f
	movzbl	HSB_SELECTOR_OUT(%r15), %ecx
	movb	%cl, HT_SELECTOR(%rax)
1:
	lea	-40(%rbp), %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size sgxemu_signal_entry, . - sgxemu_signal_entry

	.section .note.GNU-stack, "", @progbits

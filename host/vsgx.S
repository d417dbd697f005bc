/* SPDX-License-Identifier: MIT */
/*
 * sgxemu's __vdso_sgx_enter_enclave(), written from the vDSO contract
 * (facts E.10): the fake vDSO image (vdso.c) exports it under the kernel's
 * name.
 *
 *   int enter(rdi, rsi, rdx, unsigned int function, r8, r9,
 *             struct sgx_enclave_run *run);
 *
 * function (ECX) must be EENTER or ERESUME and run->reserved all zero, else
 * -EINVAL. RBX = run->tcs, RCX = the address of the ENCLU itself: that is the
 * AEP, so after an AEX the thread comes back to this ENCLU with RAX = ERESUME
 * and re-enters. RDI, RSI, RDX, R8, R9 (and R10-R15) reach the enclave as the
 * caller left them.
 *
 * ENCLU traps on this host; enclave_mode.c emulates it and, as the kernel's
 * vDSO exception fixup does for the ENCLU of the real vDSO, sends a fault of
 * this ENCLU (or an exception inside the enclave, after the AEX) to
 * sgxemu_vsgx_exception with RDI = trap number, RSI = error code,
 * RDX = fault address.
 *
 * Registers: RBX and RBP are saved here (ENCLU needs RBX, RBP anchors the
 * frame: EEXIT leaves RBP as the enclave left it, an AEX restores the
 * untrusted RBP of the entry). R12-R15 are the enclave's responsibility, as
 * with the kernel's function; an AEX clears them (the SDM's synthetic state).
 */
#include "host/host_internal.h"

#define EENTER	2
#define ERESUME	3
#define EEXIT	4
#define EINVAL	22

	.text
	.balign 64
	.globl sgxemu_vsgx_start
	.hidden sgxemu_vsgx_start
sgxemu_vsgx_start:

	.globl sgxemu_vsgx_enter_enclave
	.type sgxemu_vsgx_enter_enclave, @function
sgxemu_vsgx_enter_enclave:
	.cfi_startproc
	push	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	push	%rbx
	.cfi_rel_offset %rbx, -8

.Lenter_enclave:
	/* Only EENTER and ERESUME enter. */
	cmp	$EENTER, %ecx
	jb	.Linvalid_input
	cmp	$ERESUME, %ecx
	ja	.Linvalid_input

	/* run is the 7th argument, above the return address and saved RBP. */
	mov	16(%rbp), %rbx

	/* Every reserved byte must be zero: OR the 27 quadwords together. */
	xor	%eax, %eax
	.set	.Lroff, RUN_RESERVED
	.rept	(RUN_SIZE - RUN_RESERVED) / 8
	or	.Lroff(%rbx), %rax
	.set	.Lroff, .Lroff + 8
	.endr
	test	%rax, %rax
	jnz	.Linvalid_input

	/*
	 * sgxemu: give the thread its enclave-mode block (LP, alternate
	 * signal stack) now, in ordinary context, rather than in the first
	 * ENCLU trap's handler, where another alternate stack (ASan's) may be
	 * in use and cannot be replaced. Every register the enclave may see
	 * and the flags are kept; the C call gets its aligned stack and DF=0.
	 */
	mov	%rsp, %rbx
	and	$-16, %rsp
	pushfq
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	sub	$8, %rsp
	cld
	call	sgxemu_enclave_thread_prepare
	add	$8, %rsp
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
	popfq
	mov	%rbx, %rsp
	mov	16(%rbp), %rbx

	mov	%ecx, %eax			/* the leaf */
	mov	RUN_TCS(%rbx), %rbx		/* TCS */
	lea	sgxemu_vsgx_enclu(%rip), %rcx	/* AEP: this very ENCLU */

	.globl sgxemu_vsgx_enclu
	.hidden sgxemu_vsgx_enclu
sgxemu_vsgx_enclu:
	.byte	0x0f, 0x01, 0xd7		/* ENCLU */

	/* EEXIT lands here (RCX of EENTER = the instruction after ENCLU). */
	mov	16(%rbp), %rbx
	movl	$EEXIT, RUN_FUNCTION(%rbx)

.Lhandle_exit:
	cmpq	$0, RUN_USER_HANDLER(%rbx)
	jne	.Linvoke_user_handler
	/* ENCLU was attempted: success from the vDSO's point of view. */
	xor	%eax, %eax

.Lout:
	mov	-8(%rbp), %rbx
	leave
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_def_cfa %rbp, 16

.Linvalid_input:
	mov	$-EINVAL, %eax
	jmp	.Lout

	/*
	 * The exception fixup target: the trap handler puts RIP here with
	 * RDI = trap number, RSI = error code, RDX = fault address; EAX still
	 * holds the leaf of the faulting ENCLU (ERESUME after an AEX). RBP is
	 * the frame of the entry (the AEX restored the untrusted RBP).
	 */
	.globl sgxemu_vsgx_exception
	.hidden sgxemu_vsgx_exception
sgxemu_vsgx_exception:
	mov	16(%rbp), %rbx
	mov	%eax, RUN_FUNCTION(%rbx)
	mov	%di, RUN_EXC_VECTOR(%rbx)
	mov	%si, RUN_EXC_ERROR_CODE(%rbx)
	mov	%rdx, RUN_EXC_ADDR(%rbx)
	jmp	.Lhandle_exit

.Linvoke_user_handler:
	/* 4th argument: the untrusted RSP as the enclave left it. */
	mov	%rsp, %rcx
	/* Keep it in RBX (callee-saved) to undo the alignment below. */
	mov	%rsp, %rax
	mov	%rbx, %r10			/* run */
	mov	%rax, %rbx
	/* 16-byte aligned at the call, with run pushed as the 7th argument. */
	and	$-16, %rsp
	sub	$8, %rsp
	push	%r10
	cld
	mov	RUN_USER_HANDLER(%r10), %rax
	lfence
	call	*%rax
	mov	%rbx, %rsp

	/* <= 0: the result; > 0: the next leaf, ENCLU again. */
	cmp	$0, %eax
	jle	.Lout
	mov	%eax, %ecx
	jmp	.Lenter_enclave
	.cfi_endproc
	.size sgxemu_vsgx_enter_enclave, . - sgxemu_vsgx_enter_enclave

	.globl sgxemu_vsgx_end
	.hidden sgxemu_vsgx_end
sgxemu_vsgx_end:

	.section .note.GNU-stack, "", @progbits

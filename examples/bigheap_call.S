/* SPDX-License-Identifier: MIT */
/*
 * int bh_enter(vdso_sgx_enter_enclave_t fn, struct bh_op *op,
 *              struct sgx_enclave_run *run);
 *
 * Calls fn(rdi = op, rsi = 0, rdx = 0, ecx = EENTER, r8 = 0, r9 = 0, run).
 * The vDSO function preserves only RBX and RBP by itself: R12-R15 are the
 * enclave's business, and after an exception inside the enclave they hold
 * the AEX's synthetic values. So this frame saves every callee-saved
 * register around the call, as the C ABI promises bh_enter's caller.
 */
#define EENTER	2

	.text
	.globl	bh_enter
	.type	bh_enter, @function
bh_enter:
	.cfi_startproc
	push	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	.cfi_rel_offset %rbx, -8
	.cfi_rel_offset %r12, -16
	.cfi_rel_offset %r13, -24
	.cfi_rel_offset %r14, -32
	.cfi_rel_offset %r15, -40

	mov	%rdi, %r11		/* fn */
	mov	%rsi, %rdi		/* op */
	xor	%esi, %esi
	/* run: the 7th argument, on the stack; RSP is 16-byte aligned at the call. */
	push	%rdx
	xor	%edx, %edx
	mov	$EENTER, %ecx
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	call	*%r11

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
	.size	bh_enter, . - bh_enter

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: MIT */
/*
 * The bigheap enclave's TCS pages and entry point.
 *
 * EENTER arrives at bh_entry with RBX = the TCS's linear address, RCX = the
 * address to EEXIT to (after the ENCLU of the caller's vDSO function), RDI
 * = the untrusted bh_op block, RSP/RBP still the untrusted ones. Each TCS
 * gets its own stack, found from the TCS's index; the untrusted RSP and the
 * exit address are kept on it. RBP and R12-R15 survive because bh_main is
 * ordinary C (callee-saved), which is what the vDSO's callers rely on.
 */
#include "examples/bigheap_abi.h"

#define EEXIT		4
#define STACK_SHIFT	14
#if (1 << STACK_SHIFT) != BH_STACK_SIZE
#error "BH_STACK_SIZE must be 1 << STACK_SHIFT"
#endif

/*
 * A TCS: state, flags, OSSA, CSSA, NSSA = 1, OENTRY, AEP (written by
 * EENTER), FS and GS bases at the enclave base (unused: no TLS here), both
 * limits open, reserved bytes zero.
 */
.macro	tcs ssa
	.quad	0, 0, \ssa
	.long	0, 1
	.quad	bh_entry, 0, 0, 0
	.long	0xFFFFFFFF, 0xFFFFFFFF
	.fill	4024, 1, 0
.endm

	.section .tcs, "aw"
	.balign	4096
	tcs	bh_ssa
	tcs	bh_ssa + 4096

	.section .data.bh_ssa, "aw"
	.balign	4096
bh_ssa:
	.fill	BH_NR_TCS * 4096, 1, 0

	.section .data.bh_stacks, "aw"
	.balign	4096
bh_stacks:
	.fill	BH_NR_TCS * BH_STACK_SIZE, 1, 0

	.section .text.entry, "ax"
	.globl	bh_entry
	.type	bh_entry, @function
bh_entry:
	/* The null call (the benchmark): straight back out. */
	test	%rdi, %rdi
	jz	.Lnull_call

	cld
	/* Stack top of TCS i: bh_stacks + (i + 1) * BH_STACK_SIZE. */
	lea	__bh_encl_base(%rip), %rax
	mov	%rbx, %r10
	sub	%rax, %r10
	shr	$12, %r10
	inc	%r10
	shl	$STACK_SHIFT, %r10
	lea	bh_stacks(%rip), %rax
	add	%r10, %rax
	xchg	%rax, %rsp
	push	%rax			/* untrusted RSP */
	push	%rcx			/* where to EEXIT */
	call	bh_main
	pop	%rbx
	pop	%rax
	mov	%rax, %rsp

	/* Leave nothing of the enclave's work in the scratch registers. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	mov	$EEXIT, %eax
	.byte	0x0f, 0x01, 0xd7	/* ENCLU */
	ud2

.Lnull_call:
	mov	%rcx, %rbx
	mov	$EEXIT, %eax
	.byte	0x0f, 0x01, 0xd7	/* ENCLU */
	ud2
	.size	bh_entry, . - bh_entry

	.section .note.GNU-stack, "", @progbits

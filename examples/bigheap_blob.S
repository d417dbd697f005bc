/* SPDX-License-Identifier: MIT */
/*
 * The enclave ELF, built first (examples/enclave/), carried inside the host
 * program so that one file is the whole SGX program. BIGHEAP_ENCL_ELF is
 * its path, given by the Makefile.
 */
	.section .rodata.bh_encl, "a"
	.balign	4096
	.globl	bh_encl_elf
	.hidden	bh_encl_elf
bh_encl_elf:
	.incbin	BIGHEAP_ENCL_ELF
	.globl	bh_encl_elf_end
	.hidden	bh_encl_elf_end
bh_encl_elf_end:

	.section .note.GNU-stack, "", @progbits

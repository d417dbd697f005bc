// SPDX-License-Identifier: MIT
/*
 * Tests of the x86-64 instruction length decoder (host/insn.h).
 *
 * The table below was produced at development time by assembling every
 * instruction with GNU as and reading the encodings back with objdump; the
 * few rows where objdump and a 64-bit CPU disagree say so (fwait is its own
 * instruction; a REX before a legacy prefix is ignored, not a separate
 * instruction; 66 e8 is rel32 on Intel, which the decoder follows).
 *
 * Cross-checks against objdump at test time: every instruction of this very
 * test binary (skipped without objdump), and the CPUID sites of Linux's
 * test_sgx (skipped when build/selftests is absent).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/cpuid_patch.h"
#include "host/insn.h"
#include "tests/harness.h"

struct insn_case {
	uint8_t length;
	uint8_t bytes[INSN_MAX_LENGTH];
	const char *what;
};

static const struct insn_case insn_cases[] = {
	{ 1, { 0x90 }, "nop" },
	{ 1, { 0xc3 }, "ret" },
	{ 3, { 0xc2, 0x08, 0x00 }, "ret $0x8" },
	{ 1, { 0xcb }, "lret" },
	{ 3, { 0xca, 0x10, 0x00 }, "lret $0x10" },
	{ 1, { 0xcc }, "int3" },
	{ 2, { 0xcd, 0x80 }, "int $0x80" },
	{ 2, { 0x48, 0xcf }, "iretq" },
	{ 1, { 0xcf }, "iret" },
	{ 2, { 0x66, 0xcf }, "iretw" },
	{ 1, { 0xf4 }, "hlt" },
	{ 2, { 0x0f, 0xa2 }, "cpuid" },
	{ 2, { 0x0f, 0x31 }, "rdtsc" },
	{ 2, { 0x0f, 0x0b }, "ud2" },
	{ 2, { 0x0f, 0x05 }, "syscall" },
	{ 1, { 0xc9 }, "leave" },
	{ 4, { 0xc8, 0x10, 0x00, 0x01 }, "enter $0x10,$0x1" },
	{ 4, { 0xc8, 0x00, 0x10, 0x00 }, "enter $0x1000,$0x0" },
	{ 1, { 0x50 }, "push %rax" },
	{ 2, { 0x41, 0x54 }, "push %r12" },
	{ 2, { 0x6a, 0x12 }, "push $0x12" },
	{ 5, { 0x68, 0x78, 0x56, 0x34, 0x12 }, "push $0x12345678" },
	{ 4, { 0x66, 0x68, 0x34, 0x12 }, "pushw $0x1234" },
	{ 2, { 0x41, 0x5f }, "pop %r15" },
	{ 3, { 0x48, 0x89, 0xc3 }, "mov %rax,%rbx" },
	{ 3, { 0x41, 0x89, 0xc0 }, "mov %eax,%r8d" },
	{ 5, { 0xb8, 0x01, 0x00, 0x00, 0x00 }, "mov $0x1,%eax" },
	{ 4, { 0x66, 0xb8, 0x01, 0x00 }, "mov $0x1,%ax" },
	{ 10, { 0x48, 0xb8, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12 },
	  "movabs $0x123456789abcdef0,%rax" },
	{ 10, { 0x49, 0xbb, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, "movabs $0x12,%r11" },
	{ 2, { 0xb0, 0x01 }, "mov $0x1,%al" },
	{ 9, { 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 },
	  "movabs 0x1122334455667788,%eax" },
	{ 10, { 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 },
	  "movabs %rax,0x1122334455667788" },
	{ 9, { 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 },
	  "movabs 0x1122334455667788,%al" },
	{ 6, { 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11 }, "addr32 mov 0x11223344,%eax" },
	{ 5, { 0x48, 0x8b, 0x7c, 0x24, 0x08 }, "mov 0x8(%rsp),%rdi" },
	{ 4, { 0x48, 0x8b, 0x3c, 0x24 }, "mov (%rsp),%rdi" },
	{ 4, { 0x48, 0x8b, 0x7d, 0x00 }, "mov 0x0(%rbp),%rdi" },
	{ 4, { 0x49, 0x8b, 0x7d, 0x00 }, "mov 0x0(%r13),%rdi" },
	{ 7, { 0x8b, 0x8c, 0x98, 0x78, 0x56, 0x34, 0x12 }, "mov 0x12345678(%rax,%rbx,4),%ecx" },
	{ 7, { 0x8b, 0x0c, 0xdd, 0x00, 0x00, 0x00, 0x00 }, "mov 0x0(,%rbx,8),%ecx" },
	{ 7, { 0x48, 0x8b, 0x05, 0x12, 0x00, 0x00, 0x00 }, "mov 0x12(%rip),%rax # 0xb2" },
	{ 9, { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00 }, "mov %fs:0x28,%rax" },
	{ 9, { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00 }, "mov %gs:0x0,%rax" },
	{ 8, { 0xc7, 0x44, 0x24, 0x10, 0x78, 0x56, 0x34, 0x12 }, "movl $0x12345678,0x10(%rsp)" },
	{ 7, { 0x66, 0xc7, 0x44, 0x24, 0x10, 0x34, 0x12 }, "movw $0x1234,0x10(%rsp)" },
	{ 3, { 0xc6, 0x00, 0x12 }, "movb $0x12,(%rax)" },
	{ 11, { 0x48, 0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff },
	  "movq $0xffffffffffffffff,0x12345678(%rip) # 0x12345747" },
	{ 3, { 0x67, 0x8b, 0x08 }, "mov (%eax),%ecx" },
	{ 4, { 0x67, 0x8d, 0x34, 0x1e }, "lea (%esi,%ebx,1),%esi" },
	{ 2, { 0x04, 0x12 }, "add $0x12,%al" },
	{ 5, { 0x05, 0x78, 0x56, 0x34, 0x12 }, "add $0x12345678,%eax" },
	{ 4, { 0x66, 0x05, 0x34, 0x12 }, "add $0x1234,%ax" },
	{ 6, { 0x48, 0x05, 0x78, 0x56, 0x34, 0x12 }, "add $0x12345678,%rax" },
	{ 6, { 0x81, 0x00, 0x78, 0x56, 0x34, 0x12 }, "addl $0x12345678,(%rax)" },
	{ 5, { 0x66, 0x81, 0x00, 0x34, 0x12 }, "addw $0x1234,(%rax)" },
	{ 5, { 0x48, 0x83, 0x45, 0x40, 0x12 }, "addq $0x12,0x40(%rbp)" },
	{ 3, { 0x6b, 0xc8, 0x12 }, "imul $0x12,%eax,%ecx" },
	{ 6, { 0x69, 0xc8, 0x78, 0x56, 0x34, 0x12 }, "imul $0x12345678,%eax,%ecx" },
	{ 5, { 0x66, 0x69, 0xc8, 0x34, 0x12 }, "imul $0x1234,%ax,%cx" },
	{ 3, { 0xf6, 0xc3, 0x12 }, "test $0x12,%bl" },
	{ 3, { 0xf6, 0x00, 0x12 }, "testb $0x12,(%rax)" },
	{ 6, { 0xf7, 0x00, 0x78, 0x56, 0x34, 0x12 }, "testl $0x12345678,(%rax)" },
	{ 5, { 0x66, 0xf7, 0x00, 0x34, 0x12 }, "testw $0x1234,(%rax)" },
	{ 8, { 0x48, 0xf7, 0x40, 0x08, 0x78, 0x56, 0x34, 0x12 }, "testq $0x12345678,0x8(%rax)" },
	{ 2, { 0xf7, 0x10 }, "notl (%rax)" },
	{ 3, { 0x48, 0xf7, 0xd8 }, "neg %rax" },
	{ 2, { 0xf7, 0xe1 }, "mul %ecx" },
	{ 5, { 0x48, 0xf7, 0x74, 0x24, 0x10 }, "divq 0x10(%rsp)" },
	{ 3, { 0xc1, 0xe0, 0x03 }, "shl $0x3,%eax" },
	{ 3, { 0x48, 0xd3, 0xe0 }, "shl %cl,%rax" },
	{ 2, { 0xd1, 0xc0 }, "rol %eax" },
	{ 2, { 0xeb, 0x00 }, "jmp 0x134" },
	{ 5, { 0xe9, 0xfb, 0x0f, 0x00, 0x00 }, "jmp 0x1134" },
	{ 2, { 0x74, 0x00 }, "je 0x13b" },
	{ 6, { 0x0f, 0x84, 0xfa, 0x0f, 0x00, 0x00 }, "je 0x113b" },
	{ 5, { 0xe8, 0xfb, 0x0f, 0x00, 0x00 }, "call 0x1141" },
	{ 2, { 0xff, 0xd0 }, "call *%rax" },
	{ 3, { 0xff, 0x50, 0x10 }, "call *0x10(%rax)" },
	{ 6, { 0xff, 0x25, 0x12, 0x00, 0x00, 0x00 }, "jmp *0x12(%rip) # 0x163" },
	{ 2, { 0xe2, 0x00 }, "loop 0x153" },
	{ 2, { 0xe3, 0x00 }, "jrcxz 0x155" },
	{ 2, { 0xe4, 0x60 }, "in $0x60,%al" },
	{ 2, { 0xe6, 0x80 }, "out %al,$0x80" },
	{ 1, { 0x93 }, "xchg %eax,%ebx" },
	{ 4, { 0xf0, 0x0f, 0xb1, 0x0a }, "lock cmpxchg %ecx,(%rdx)" },
	{ 6, { 0xf0, 0x48, 0x0f, 0xc1, 0x47, 0x08 }, "lock xadd %rax,0x8(%rdi)" },
	{ 2, { 0xf3, 0xa4 }, "rep movsb %ds:(%rsi),%es:(%rdi)" },
	{ 3, { 0xf3, 0x48, 0xab }, "rep stos %rax,%es:(%rdi)" },
	{ 2, { 0xf2, 0xae }, "repnz scas %es:(%rdi),%al" },
	{ 4, { 0x48, 0x0f, 0xc7, 0x0f }, "cmpxchg16b (%rdi)" },
	{ 4, { 0xf3, 0x0f, 0x1e, 0xfa }, "endbr64" },
	{ 5, { 0x66, 0x0f, 0x1f, 0x04, 0x00 }, "nopw (%rax,%rax,1)" },
	{ 3, { 0x0f, 0x1f, 0x00 }, "nopl (%rax)" },
	{ 11, { 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  "data16 cs nopw 0x0(%rax,%rax,1)" },
	{ 2, { 0x66, 0x90 }, "xchg %ax,%ax" },
	{ 2, { 0xf3, 0x90 }, "pause" },
	{ 3, { 0x0f, 0xae, 0xe8 }, "lfence" },
	{ 3, { 0x0f, 0xae, 0xf0 }, "mfence" },
	{ 3, { 0x0f, 0xae, 0xf8 }, "sfence" },
	{ 3, { 0x0f, 0xae, 0x38 }, "clflush (%rax)" },
	{ 3, { 0x0f, 0x18, 0x08 }, "prefetcht0 (%rax)" },
	{ 3, { 0x0f, 0xc7, 0xf0 }, "rdrand %eax" },
	{ 4, { 0x48, 0x0f, 0xc7, 0xf8 }, "rdseed %rax" },
	{ 4, { 0xf3, 0x0f, 0xc7, 0xf8 }, "rdpid %rax" },
	{ 3, { 0x0f, 0x01, 0xd0 }, "xgetbv" },
	{ 3, { 0x0f, 0x01, 0xd7 }, "enclu" },
	{ 3, { 0x0f, 0x01, 0xcf }, "encls" },
	{ 3, { 0x0f, 0x01, 0xc1 }, "vmcall" },
	{ 3, { 0x0f, 0x01, 0xf8 }, "swapgs" },
	{ 2, { 0x0f, 0xc8 }, "bswap %eax" },
	{ 3, { 0x49, 0x0f, 0xc9 }, "bswap %r9" },
	{ 3, { 0x0f, 0xb6, 0xc0 }, "movzbl %al,%eax" },
	{ 4, { 0x48, 0x0f, 0xbe, 0x08 }, "movsbq (%rax),%rcx" },
	{ 3, { 0x0f, 0xbf, 0xc8 }, "movswl %ax,%ecx" },
	{ 3, { 0x48, 0x63, 0xc8 }, "movslq %eax,%rcx" },
	{ 4, { 0x48, 0x0f, 0x45, 0xd8 }, "cmovne %rax,%rbx" },
	{ 3, { 0x0f, 0x94, 0xc0 }, "sete %al" },
	{ 4, { 0x0f, 0xba, 0xe0, 0x03 }, "bt $0x3,%eax" },
	{ 3, { 0x0f, 0xab, 0x02 }, "bts %eax,(%rdx)" },
	{ 4, { 0x0f, 0xa4, 0xc2, 0x04 }, "shld $0x4,%eax,%edx" },
	{ 3, { 0x0f, 0xad, 0xc2 }, "shrd %cl,%eax,%edx" },
	{ 5, { 0xf3, 0x48, 0x0f, 0xb8, 0xd8 }, "popcnt %rax,%rbx" },
	{ 4, { 0xf3, 0x0f, 0xbd, 0xc8 }, "lzcnt %eax,%ecx" },
	{ 4, { 0xf3, 0x0f, 0xbc, 0xc8 }, "tzcnt %eax,%ecx" },
	{ 5, { 0xf2, 0x0f, 0x38, 0xf0, 0xc8 }, "crc32 %al,%ecx" },
	{ 6, { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc8 }, "crc32 %rax,%rcx" },
	{ 4, { 0x0f, 0x38, 0xf0, 0x08 }, "movbe (%rax),%ecx" },
	{ 5, { 0x66, 0x0f, 0x38, 0xf6, 0xc8 }, "adcx %eax,%ecx" },
	{ 6, { 0xc7, 0xf8, 0xfa, 0x00, 0x00, 0x00 }, "xbegin 0x2fb" },
	{ 3, { 0xc6, 0xf8, 0x01 }, "xabort $0x1" },
	{ 3, { 0x0f, 0x01, 0xd5 }, "xend" },
	{ 2, { 0xd9, 0xe8 }, "fld1" },
	{ 4, { 0xdd, 0x44, 0x24, 0x08 }, "fldl 0x8(%rsp)" },
	{ 2, { 0xd9, 0x18 }, "fstps (%rax)" },
	{ 4, { 0xd9, 0x7c, 0x24, 0x02 }, "fnstcw 0x2(%rsp)" },
	{ 1, { 0x9b }, "fwait (objdump merges it with the next x87 op)" },
	{ 2, { 0xd9, 0x30 }, "fnstenv (%rax)" },
	{ 3, { 0x0f, 0xae, 0x00 }, "fxsave (%rax)" },
	{ 4, { 0x48, 0x0f, 0xae, 0x20 }, "xsave64 (%rax)" },
	{ 3, { 0x0f, 0xae, 0x28 }, "xrstor (%rax)" },
	{ 3, { 0x0f, 0x28, 0xc8 }, "movaps %xmm0,%xmm1" },
	{ 3, { 0x0f, 0x10, 0x10 }, "movups (%rax),%xmm2" },
	{ 6, { 0x66, 0x44, 0x0f, 0x7f, 0x04, 0x24 }, "movdqa %xmm8,(%rsp)" },
	{ 5, { 0x66, 0x48, 0x0f, 0x6e, 0xc0 }, "movq %rax,%xmm0" },
	{ 4, { 0x66, 0x0f, 0x7e, 0xc0 }, "movd %xmm0,%eax" },
	{ 4, { 0x66, 0x0f, 0xef, 0xc0 }, "pxor %xmm0,%xmm0" },
	{ 3, { 0x0f, 0xfe, 0xc8 }, "paddd %mm0,%mm1" },
	{ 2, { 0x0f, 0x77 }, "emms" },
	{ 5, { 0x66, 0x0f, 0x70, 0xc8, 0x1b }, "pshufd $0x1b,%xmm0,%xmm1" },
	{ 5, { 0x66, 0x0f, 0x38, 0x00, 0xd1 }, "pshufb %xmm1,%xmm2" },
	{ 6, { 0x66, 0x0f, 0x3a, 0x0f, 0xd1, 0x04 }, "palignr $0x4,%xmm1,%xmm2" },
	{ 6, { 0x66, 0x0f, 0x3a, 0x16, 0xc0, 0x01 }, "pextrd $0x1,%xmm0,%eax" },
	{ 7, { 0x66, 0x48, 0x0f, 0x3a, 0x22, 0xc0, 0x01 }, "pinsrq $0x1,%rax,%xmm0" },
	{ 5, { 0x66, 0x0f, 0x73, 0xd8, 0x04 }, "psrldq $0x4,%xmm0" },
	{ 4, { 0x0f, 0x71, 0xf0, 0x02 }, "psllw $0x2,%mm0" },
	{ 4, { 0x0f, 0xc2, 0xc8, 0x01 }, "cmpltps %xmm0,%xmm1" },
	{ 4, { 0x0f, 0xc6, 0xc8, 0x44 }, "shufps $0x44,%xmm0,%xmm1" },
	{ 6, { 0x66, 0x0f, 0x3a, 0x44, 0xc8, 0x11 }, "pclmulhqhqdq %xmm0,%xmm1" },
	{ 5, { 0x66, 0x0f, 0x38, 0xdc, 0xc8 }, "aesenc %xmm0,%xmm1" },
	{ 6, { 0x66, 0x0f, 0x3a, 0xdf, 0xc8, 0x01 }, "aeskeygenassist $0x1,%xmm0,%xmm1" },
	{ 6, { 0x66, 0x0f, 0x3a, 0x0b, 0xc8, 0x04 }, "roundsd $0x4,%xmm0,%xmm1" },
	{ 4, { 0x0f, 0x38, 0xcb, 0xd1 }, "sha256rnds2 %xmm0,%xmm1,%xmm2" },
	{ 5, { 0xf2, 0x48, 0x0f, 0x2a, 0xc0 }, "cvtsi2sd %rax,%xmm0" },
	{ 4, { 0xf2, 0x0f, 0x2c, 0xc0 }, "cvttsd2si %xmm0,%eax" },
	{ 8, { 0xf2, 0x0f, 0x51, 0x1d, 0x10, 0x00, 0x00, 0x00 },
	  "sqrtsd 0x10(%rip),%xmm3 # 0x2a8" },
	{ 3, { 0xc5, 0xf8, 0x77 }, "vzeroupper" },
	{ 3, { 0xc5, 0xfc, 0x77 }, "vzeroall" },
	{ 4, { 0xc5, 0xfe, 0x6f, 0x00 }, "vmovdqu (%rax),%ymm0" },
	{ 4, { 0xc5, 0x7e, 0x7f, 0x00 }, "vmovdqu %ymm8,(%rax)" },
	{ 4, { 0xc5, 0xed, 0xfe, 0xd9 }, "vpaddd %ymm1,%ymm2,%ymm3" },
	{ 5, { 0xc4, 0x41, 0x2d, 0xfe, 0xd9 }, "vpaddd %ymm9,%ymm10,%ymm11" },
	{ 5, { 0xc4, 0xe2, 0x6d, 0x00, 0xd9 }, "vpshufb %ymm1,%ymm2,%ymm3" },
	{ 6, { 0xc4, 0xe3, 0xfd, 0x00, 0xc8, 0x4e }, "vpermq $0x4e,%ymm0,%ymm1" },
	{ 6, { 0xc4, 0xe3, 0x75, 0x02, 0xd0, 0xf0 }, "vpblendd $0xf0,%ymm0,%ymm1,%ymm2" },
	{ 5, { 0xc5, 0xfd, 0x70, 0xc8, 0x1b }, "vpshufd $0x1b,%ymm0,%ymm1" },
	{ 5, { 0xc5, 0xf5, 0x73, 0xd8, 0x04 }, "vpsrldq $0x4,%ymm0,%ymm1" },
	{ 5, { 0xc5, 0xf4, 0xc2, 0xd0, 0x01 }, "vcmpltps %ymm0,%ymm1,%ymm2" },
	{ 5, { 0xc5, 0xf4, 0xc6, 0xd0, 0x44 }, "vshufps $0x44,%ymm0,%ymm1,%ymm2" },
	{ 6, { 0xc4, 0xe3, 0xf9, 0x16, 0xc0, 0x01 }, "vpextrq $0x1,%xmm0,%rax" },
	{ 5, { 0xc4, 0xe2, 0xf5, 0xb8, 0xd0 }, "vfmadd231pd %ymm0,%ymm1,%ymm2" },
	{ 5, { 0xc4, 0xe2, 0x7d, 0x18, 0x00 }, "vbroadcastss (%rax),%ymm0" },
	{ 5, { 0xc5, 0xfd, 0x74, 0x4f, 0x20 }, "vpcmpeqb 0x20(%rdi),%ymm0,%ymm1" },
	{ 4, { 0xc5, 0xfd, 0xd7, 0xc0 }, "vpmovmskb %ymm0,%eax" },
	{ 5, { 0xc4, 0xe2, 0x60, 0xf2, 0xc8 }, "andn %eax,%ebx,%ecx" },
	{ 5, { 0xc4, 0xe2, 0xf8, 0xf7, 0xcb }, "bextr %rax,%rbx,%rcx" },
	{ 6, { 0xc4, 0xe3, 0x7b, 0xf0, 0xc8, 0x03 }, "rorx $0x3,%eax,%ecx" },
	{ 5, { 0xc4, 0xe2, 0xf9, 0xf7, 0xcb }, "shlx %rax,%rbx,%rcx" },
	{ 5, { 0xc4, 0xe2, 0x63, 0xf5, 0xc8 }, "pdep %eax,%ebx,%ecx" },
	{ 6, { 0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x00 }, "vmovdqu64 (%rax),%zmm0" },
	{ 7, { 0x62, 0xe1, 0xfe, 0x48, 0x7f, 0x40, 0x01 }, "vmovdqu64 %zmm16,0x40(%rax)" },
	{ 6, { 0x62, 0xf1, 0x6d, 0x48, 0xfe, 0xd9 }, "vpaddd %zmm1,%zmm2,%zmm3" },
	{ 7, { 0x62, 0xf1, 0x6d, 0x49, 0xfe, 0x58, 0x04 }, "vpaddd 0x100(%rax),%zmm2,%zmm3{%k1}" },
	{ 6, { 0x62, 0xf1, 0x6d, 0x58, 0xfe, 0x18 }, "vpaddd (%rax){1to16},%zmm2,%zmm3" },
	{ 7, { 0x62, 0xf3, 0x7d, 0x48, 0x25, 0xc0, 0xff }, "vpternlogd $0xff,%zmm0,%zmm0,%zmm0" },
	{ 7, { 0x62, 0xf3, 0x75, 0x48, 0x3f, 0xc8, 0x01 }, "vpcmpltb %zmm0,%zmm1,%k1" },
	{ 5, { 0xc4, 0xe1, 0xfb, 0x93, 0xc1 }, "kmovq %k1,%rax" },
	{ 4, { 0xc5, 0xf8, 0x98, 0xd1 }, "kortestw %k1,%k2" },
	{ 7, { 0x62, 0xf1, 0x7d, 0x48, 0x70, 0xc8, 0x1b }, "vpshufd $0x1b,%zmm0,%zmm1" },
	{ 7, { 0x62, 0xf1, 0x74, 0x48, 0xc2, 0xd0, 0x01 }, "vcmpltps %zmm0,%zmm1,%k2" },
	{ 6, { 0x62, 0xf5, 0x74, 0x48, 0x58, 0xd0 }, "vaddph %zmm0,%zmm1,%zmm2" },
	{ 6, { 0x62, 0xf6, 0x7d, 0x48, 0x13, 0xc8 }, "vcvtph2psx %ymm0,%zmm1" },
	{ 6, { 0x62, 0xf2, 0x7d, 0x49, 0x8b, 0x00 }, "vpcompressd %zmm0,(%rax){%k1}" },
	{ 7, { 0x62, 0xf3, 0x7d, 0x48, 0x39, 0xc1, 0x01 }, "vextracti32x4 $0x1,%zmm0,%xmm1" },
	{ 6, { 0x66, 0xe8, 0x00, 0x00, 0x00, 0x00 },
	  "66 call rel32 (Intel: 66 ignored; AMD/objdump: rel16)" },
	{ 5, { 0x48, 0x66, 0xb8, 0x34, 0x12 }, "REX before 66 is ignored: mov $0x1234,%ax" },
	{ 11, { 0x66, 0x48, 0xb8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 },
	  "data16 movabs $0x807060504030201,%rax" },
	{ 3, { 0x67, 0xe3, 0x00 }, "jecxz 0x37e" },
	{ 5, { 0xf3, 0x48, 0x0f, 0xb8, 0xc0 }, "popcnt %rax,%rax" },
	{ 2, { 0x8f, 0xc0 }, "pop %rax" },
	{ 4, { 0x8f, 0x44, 0x24, 0x08 }, "pop 0x8(%rsp)" },
	{ 5, { 0x8f, 0xe9, 0x78, 0x01, 0xc8 }, "blcfill %eax,%eax" },
	{ 6, { 0x8f, 0xe8, 0x78, 0xc2, 0xc8, 0x01 }, "vprotd $0x1,%xmm0,%xmm1" },
	{ 9, { 0x8f, 0xea, 0x78, 0x10, 0xc0, 0x01, 0x02, 0x03, 0x04 },
	  "bextr $0x4030201,%eax,%eax" },
	{ 6, { 0x66, 0x0f, 0x78, 0xc0, 0x01, 0x02 }, "extrq $0x2,$0x1,%xmm0" },
};

#define NR_CASES (sizeof(insn_cases) / sizeof(insn_cases[0]))

TEST(insn_length_table)
{
	uint8_t buf[32];

	REQUIRE(NR_CASES > 200);
	for (size_t i = 0; i < NR_CASES; i++) {
		const struct insn_case *c = &insn_cases[i];
		int exact, padded, truncated;

		/* Exactly the instruction, then with trailing bytes, then one short. */
		exact = insn_length(c->bytes, c->length);
		memset(buf, 0xcc, sizeof(buf));
		memcpy(buf, c->bytes, c->length);
		padded = insn_length(buf, sizeof(buf));
		truncated = insn_length(c->bytes, c->length - 1);
		if (exact != c->length || padded != c->length || truncated != -1)
			test_fail_at(__FILE__, __LINE__,
				     "%s: expected %u, got %d/%d (truncated %d)", c->what,
				     c->length, exact, padded, truncated);
	}
}

TEST(insn_decode_details)
{
	static const uint8_t cpuid[] = { 0x0f, 0xa2 };
	static const uint8_t cpuid_prefixed[] = { 0x66, 0x2e, 0x0f, 0xa2 };
	static const uint8_t mov_imm_with_0fa2[] = { 0xb8, 0x0f, 0xa2, 0x00, 0x00 };
	static const uint8_t vex_0f_a2[] = { 0xc5, 0xf8, 0xa2, 0xc0 };
	static const uint8_t disp32_sib[] = { 0x8b, 0x8c, 0x98, 0x78, 0x56, 0x34, 0x12 };
	static const uint8_t moffs32[] = { 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11 };
	struct insn in;

	CHECK_EQ(insn_decode(cpuid, sizeof(cpuid), &in), 2);
	CHECK(insn_is_cpuid(&in));
	CHECK_EQ(in.opcode_offset, 0);
	CHECK_EQ(insn_decode(cpuid_prefixed, sizeof(cpuid_prefixed), &in), 4);
	CHECK(insn_is_cpuid(&in));
	CHECK_EQ(in.opcode_offset, 2);
	CHECK_EQ(in.nr_prefixes, 2);
	CHECK(in.opsize_prefix);
	CHECK_EQ(insn_decode(mov_imm_with_0fa2, sizeof(mov_imm_with_0fa2), &in), 5);
	CHECK(!insn_is_cpuid(&in));
	CHECK_EQ(in.imm_size, 4);
	/* Not every a2 in map 1 is CPUID: a VEX-encoded one is something else. */
	CHECK_EQ(insn_decode(vex_0f_a2, sizeof(vex_0f_a2), &in), 4);
	CHECK(!insn_is_cpuid(&in));
	CHECK_EQ(in.encoding, INSN_ENC_VEX);
	CHECK_EQ(insn_decode(disp32_sib, sizeof(disp32_sib), &in), 7);
	CHECK(in.has_modrm);
	CHECK_EQ(in.modrm_offset, 1);
	CHECK_EQ(in.disp_size, 4);
	CHECK_EQ(insn_decode(moffs32, sizeof(moffs32), &in), 6);
	CHECK(in.addrsize_prefix);
	CHECK_EQ(in.imm_size, 4);
}

TEST(insn_invalid_encodings)
{
	static const struct {
		uint8_t len;
		uint8_t bytes[8];
		const char *what;
	} bad[] = {
		{ 1, { 0x06 }, "push es" }, { 1, { 0x07 }, "pop es" }, { 1, { 0x0e }, "push cs" },
		{ 1, { 0x16 }, "push ss" }, { 1, { 0x1e }, "push ds" }, { 1, { 0x27 }, "daa" },
		{ 1, { 0x2f }, "das" }, { 1, { 0x37 }, "aaa" }, { 1, { 0x3f }, "aas" },
		{ 1, { 0x60 }, "pusha" }, { 1, { 0x61 }, "popa" },
		{ 3, { 0x82, 0xc0, 0x01 }, "82 alias" },
		{ 7, { 0x9a, 1, 2, 3, 4, 5, 6 }, "callf ptr16:32" }, { 1, { 0xce }, "into" },
		{ 2, { 0xd4, 0x0a }, "aam" }, { 2, { 0xd5, 0x0a }, "aad" }, { 1, { 0xd6 }, "salc" },
		{ 7, { 0xea, 1, 2, 3, 4, 5, 6 }, "jmpf ptr16:32" },
		{ 2, { 0x0f, 0x04 }, "0f 04" }, { 2, { 0x0f, 0x0a }, "0f 0a" },
		{ 2, { 0x0f, 0x36 }, "0f 36" }, { 2, { 0x0f, 0x39 }, "0f 39" },
		{ 4, { 0x0f, 0x0f, 0xc0, 0x9e }, "3DNow! pfadd" },
		{ 4, { 0x66, 0xc5, 0xf8, 0x77 }, "66 before VEX" },
		{ 5, { 0xf0, 0xc4, 0xe2, 0x79, 0x00 }, "lock before VEX" },
		{ 5, { 0x48, 0xc5, 0xf9, 0x6f, 0xc1 }, "REX before VEX" },
		{ 5, { 0xc4, 0xe4, 0x79, 0x00, 0xc0 }, "VEX map 4" },
		{ 6, { 0x62, 0xf0, 0x7c, 0x48, 0x10, 0xc1 }, "EVEX map 0" },
		{ 6, { 0x62, 0xf1, 0x78, 0x48, 0x10, 0xc1 }, "EVEX P1 bit 2 clear" },
		{ 5, { 0x8f, 0xeb, 0x78, 0x01, 0xc8 }, "XOP map 0xb" },
	};
	uint8_t buf[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0x90, sizeof(buf));
		memcpy(buf, bad[i].bytes, bad[i].len);
		if (insn_length(buf, sizeof(buf)) != -1)
			test_fail_at(__FILE__, __LINE__, "%s decoded as %d bytes", bad[i].what,
				     insn_length(buf, sizeof(buf)));
	}
}

TEST(insn_length_limits)
{
	uint8_t buf[32];

	CHECK_EQ(insn_length(NULL, 16), -1);
	buf[0] = 0x90;
	CHECK_EQ(insn_length(buf, 0), -1);
	CHECK_EQ(insn_length(buf, 1), 1);
	/* 14 prefixes + nop = 15 bytes, the architectural maximum; 15 + nop is #GP. */
	memset(buf, 0x66, 14);
	buf[14] = 0x90;
	CHECK_EQ(insn_length(buf, sizeof(buf)), 15);
	memset(buf, 0x66, 15);
	buf[15] = 0x90;
	CHECK_EQ(insn_length(buf, sizeof(buf)), -1);
	/* Prefixes + imm64 past 15 bytes. */
	memset(buf, 0x2e, 5);
	memcpy(buf + 5, (const uint8_t[]){ 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10);
	CHECK_EQ(insn_length(buf, sizeof(buf)), 15);
	buf[0] = 0x2e;
	memmove(buf + 1, buf, 15);
	CHECK_EQ(insn_length(buf, sizeof(buf)), -1);
	/* Only prefixes, nothing else readable. */
	memset(buf, 0xf3, 4);
	CHECK_EQ(insn_length(buf, 4), -1);
}

/* Random bytes: never a crash (ASan), never a length outside 1..min(15, avail). */
TEST(insn_random_bytes_stay_in_bounds)
{
	uint64_t x = test_seed() | 1;
	uint8_t *buf = malloc(1 << 16);
	unsigned long decoded = 0;

	REQUIRE(buf);
	for (unsigned int round = 0; round < 64; round++) {
		for (unsigned int i = 0; i < (1 << 16); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		for (unsigned int off = 0; off < (1 << 16); off += 7) {
			size_t avail = (1 << 16) - off;
			int len = insn_length(buf + off, avail > 20 ? 20 - off % 5 : avail);

			if (len == -1)
				continue;
			decoded++;
			if (len < 1 || len > INSN_MAX_LENGTH || (size_t)len > avail) {
				test_fail_at(__FILE__, __LINE__, "length %d at offset %u",
					     len, off);
				break;
			}
		}
	}
	CHECK(decoded > 0);
	free(buf);
}

/* ---- cross-checks against objdump ---- */

static bool have_objdump(void)
{
	return system("objdump --version >/dev/null 2>&1") == 0;
}

struct objdump_line {
	uint64_t addr;
	uint8_t bytes[16];
	unsigned int nr_bytes;
	char mnemonic[64];
};

/* Parse one "  addr:\tbytes\tmnemonic ..." line of objdump -d -w --insn-width=16. */
static bool parse_objdump_line(const char *line, struct objdump_line *o)
{
	const char *p;
	char *end;

	o->addr = strtoull(line, &end, 16);
	if (end == line || *end != ':' || end[1] != '\t')
		return false;
	p = end + 2;
	o->nr_bytes = 0;
	while (p[0] && p[1] && p[0] != '\t' && o->nr_bytes < 16) {
		unsigned int v;

		if (sscanf(p, "%2x", &v) != 1)
			return false;
		o->bytes[o->nr_bytes++] = v;
		p += 2;
		while (*p == ' ')
			p++;
	}
	if (!o->nr_bytes)
		return false;
	if (*p == '\t')
		p++;
	snprintf(o->mnemonic, sizeof(o->mnemonic), "%s", p);
	o->mnemonic[strcspn(o->mnemonic, " \n")] = 0;
	return true;
}

static FILE *run_objdump(const char *path)
{
	char cmd[PATH_MAX + 128];

	if ((size_t)snprintf(cmd, sizeof(cmd), "objdump -d -w --insn-width=16 '%s' 2>/dev/null",
			     path) >= sizeof(cmd) || strchr(path, '\''))
		return NULL;
	return popen(cmd, "r");
}

/*
 * Every instruction objdump finds in this running binary has the length our
 * decoder computes from the bytes in memory.
 */
TEST_TIMEOUT(insn_matches_objdump_on_this_binary, 180)
{
	char exe[PATH_MAX], line[512];
	unsigned long n = 0, mismatches = 0;
	uint64_t bias;
	ssize_t len;
	FILE *f;

	if (!have_objdump())
		SKIP("objdump not installed");
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	REQUIRE(len > 0);
	exe[len] = 0;
	REQUIRE_EQ(cpuid_main_bias(&bias), 0);
	f = run_objdump(exe);
	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		struct objdump_line o;
		const uint8_t *code;
		int ours;

		if (line[0] != ' ' || !parse_objdump_line(line + strspn(line, " "), &o))
			continue;
		if (!strcmp(o.mnemonic, "(bad)"))
			continue;
		code = (const uint8_t *)(uintptr_t)(o.addr + bias);
		ours = insn_length(code, o.nr_bytes);
		n++;
		/* objdump prints fwait + x87 op as one ("fstcw"); the CPU runs two. */
		if (ours == 1 && code[0] == 0x9b && o.nr_bytes > 1 &&
		    insn_length(code + 1, o.nr_bytes - 1) == (int)o.nr_bytes - 1)
			continue;
		if (ours != (int)o.nr_bytes && mismatches++ < 10)
			test_fail_at(__FILE__, __LINE__,
				     "0x%" PRIx64 " %s: objdump %u bytes, ours %d", o.addr,
				     o.mnemonic, o.nr_bytes, ours);
	}
	CHECK_EQ(pclose(f), 0);
	CHECK(n > 10000);
	CHECK_EQ(mismatches, 0);
}

/* Addresses of the instructions objdump calls "cpuid" in the file 'path'. */
static int objdump_cpuid_sites(const char *path, uint64_t *addrs, int max)
{
	char line[512];
	int n = 0;
	FILE *f = run_objdump(path);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct objdump_line o;

		if (line[0] == ' ' && parse_objdump_line(line + strspn(line, " "), &o) &&
		    !strcmp(o.mnemonic, "cpuid") && n < max)
			addrs[n++] = o.addr;
	}
	return pclose(f) == 0 ? n : -1;
}

/*
 * The sweep finds exactly the CPUID instructions objdump finds in 'path'.
 * 'all_in_sync': every function must sweep cleanly (not asked of this test
 * binary, whose hand-written assembly belongs to others and may hold data).
 */
static void check_cpuid_sites_match_objdump(const char *path, int min_sites, bool all_in_sync)
{
	struct cpuid_scan_report rep;
	struct cpuid_sites sites;
	uint64_t expect[64];
	int n, found;

	n = objdump_cpuid_sites(path, expect, 64);
	REQUIRE(n >= min_sites);
	cpuid_sites_init(&sites);
	found = cpuid_scan_elf(path, 0, &sites, &rep);
	CHECK_EQ(found, n);
	CHECK_EQ(rep.method, CPUID_SCAN_SYMBOLS);
	if (all_in_sync)
		CHECK_EQ(rep.ranges_out_of_sync, 0);
	CHECK(rep.ranges > 0 && rep.instructions > 0);
	for (int i = 0; i < n && i < found; i++)
		CHECK_EQ(sites.v[i].addr, expect[i]);
	cpuid_sites_free(&sites);
}

TEST(insn_cpuid_sites_of_this_binary_match_objdump)
{
	char exe[PATH_MAX];
	ssize_t len;

	if (!have_objdump())
		SKIP("objdump not installed");
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	REQUIRE(len > 0);
	exe[len] = 0;
	/* At least cpuid_patch_real_cpuid() and the cpuid_patch test target. */
	check_cpuid_sites_match_objdump(exe, 2, false);
}

/* build/selftests/sgx/test_sgx: $SGXEMU_SELFTEST_DIR, else <repo>/build/selftests. */
static bool find_test_sgx(char *path, size_t len)
{
	const char *env = getenv("SGXEMU_SELFTEST_DIR");
	char exe[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int w;

	if (env && *env) {
		w = snprintf(path, len, "%s/sgx/test_sgx", env);
		return w > 0 && (size_t)w < len && !stat(path, &sb) && S_ISREG(sb.st_mode);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');

		if (slash)
			*slash = 0;
	}
	w = snprintf(path, len, "%s/build/selftests/sgx/test_sgx", exe);
	if (w > 0 && (size_t)w < len && !stat(path, &sb) && S_ISREG(sb.st_mode))
		return true;
	snprintf(path, len, "build/selftests/sgx/test_sgx");
	return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

TEST(insn_cpuid_sites_of_test_sgx_match_objdump)
{
	char path[PATH_MAX];

	if (!find_test_sgx(path, sizeof(path)))
		SKIP("build/selftests/sgx/test_sgx not built (scripts/build-selftests.sh)");
	if (!have_objdump())
		SKIP("objdump not installed");
	/* sgx2_supported() and get_total_epc_mem() in main.c. */
	check_cpuid_sites_match_objdump(path, 2, true);
}

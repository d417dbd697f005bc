/* SPDX-License-Identifier: MIT */
/*
 * A compact x86-64 instruction LENGTH decoder (64-bit mode only).
 *
 * Why: the host integration must find the real CPUID instructions (0f a2) in
 * a program's code to replace them with UD2 and emulate leaf 0x12 and the SGX
 * bits of leaf 7 (this host has no CPUID faulting). A byte search would also
 * hit 0f a2 inside displacements and immediates; walking instruction by
 * instruction from a known start (a function's first byte) does not.
 *
 * It decodes legacy prefixes, REX, VEX (c4/c5), EVEX (62), AMD XOP (8f),
 * the one-byte map and the 0f, 0f38 and 0f3a maps, ModRM/SIB/displacement
 * and immediates, with the operand-size (66) and address-size (67) rules
 * that change an instruction's length (imm16 vs imm32, moffs32 vs moffs64,
 * REX.W imm64 of mov r64). Near branches (e8, e9, 0f 8x) are decoded as
 * Intel CPUs do in 64-bit mode: rel32 even with a 66 prefix. 3DNow! and the
 * encodings that are invalid in 64-bit mode are rejected.
 *
 * Pure functions on caller memory: no globals, async-signal-safe.
 */
#ifndef SGXEMU_HOST_INSN_H
#define SGXEMU_HOST_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_MAX_LENGTH	15

/* Where the opcode lives. */
enum insn_map {
	INSN_MAP_ONE_BYTE = 0,
	INSN_MAP_0F = 1,
	INSN_MAP_0F38 = 2,
	INSN_MAP_0F3A = 3,
	INSN_MAP_EVEX5 = 5,	/* EVEX map 5 (AVX512-FP16) */
	INSN_MAP_EVEX6 = 6,
	INSN_MAP_XOP8 = 8,	/* AMD XOP maps 8, 9, 0xa */
	INSN_MAP_XOP9 = 9,
	INSN_MAP_XOPA = 10,
};

enum insn_encoding {
	INSN_ENC_LEGACY = 0,
	INSN_ENC_VEX,
	INSN_ENC_EVEX,
	INSN_ENC_XOP,
};

struct insn {
	uint8_t length;		/* total bytes */
	uint8_t nr_prefixes;	/* legacy prefix and REX bytes before the opcode (legacy only) */
	uint8_t opcode_offset;	/* offset of the first opcode byte (0f of 0f a2) */
	uint8_t opcode;		/* last opcode byte (a2 of 0f a2) */
	uint8_t map;		/* enum insn_map */
	uint8_t encoding;	/* enum insn_encoding */
	uint8_t modrm_offset;	/* 0 if there is no ModRM byte */
	uint8_t imm_size;	/* bytes of immediate / relative offset / moffs */
	uint8_t disp_size;	/* bytes of ModRM displacement */
	bool has_modrm;
	bool opsize_prefix;	/* 66 seen */
	bool addrsize_prefix;	/* 67 seen */
	uint8_t rex;		/* REX byte in effect, 0 if none */
};

/*
 * Decode the instruction at p (at most 'avail' readable bytes). Returns its
 * length (1..15) and fills *out (may be NULL), or -1 if the bytes are not a
 * valid 64-bit instruction, are longer than 15 bytes, or run past 'avail'.
 */
int insn_decode(const uint8_t *p, size_t avail, struct insn *out);

/* insn_decode() without the details. */
int insn_length(const uint8_t *p, size_t avail);

/* Is the decoded instruction CPUID (legacy 0f a2, prefixes allowed)? */
static inline bool insn_is_cpuid(const struct insn *in)
{
	return in->encoding == INSN_ENC_LEGACY && in->map == INSN_MAP_0F && in->opcode == 0xa2;
}

#endif /* SGXEMU_HOST_INSN_H */

// SPDX-License-Identifier: MIT
/*
 * x86-64 instruction length decoder (see insn.h). Three tables (one-byte
 * map, 0f map, immediates of the VEX/EVEX 0f map) say, per opcode, whether a
 * ModRM byte follows, what immediate follows, and whether the opcode is
 * invalid in 64-bit mode; the 0f38 and 0f3a maps are regular (ModRM, and an
 * imm8 for 0f3a) and need no table.
 */
#include <string.h>

#include "host/insn.h"

/* Immediate kinds: how many bytes follow ModRM/SIB/displacement. */
enum imm_kind {
	IMM_NONE = 0,
	IMM_B,		/* imm8 / rel8 */
	IMM_W,		/* imm16 (ret imm16, far ret) */
	IMM_Z,		/* imm16 with 66 (and no REX.W), else imm32 */
	IMM_V,		/* mov r, imm: imm64 with REX.W, imm16 with 66, else imm32 */
	IMM_WB,		/* enter: imm16 + imm8 */
	IMM_MOFFS,	/* moffs: 8 bytes, 4 with 67 */
	IMM_REL32,	/* call/jmp/jcc rel32: 4 bytes, 66 ignored in 64-bit mode (Intel) */
	IMM_GRP3B,	/* f6: imm8 only for /0 and /1 (test) */
	IMM_GRP3Z,	/* f7: immz only for /0 and /1 (test) */
};

#define M	0x10	/* a ModRM byte follows */
#define X	0x80	/* invalid in 64-bit mode (or not supported: 3DNow!) */
#define P	0x40	/* prefix or escape: handled before the table */
#define IMM(f)	((f) & 0x0f)

static const uint8_t one_byte_map[256] = {
	[0x00 ... 0x03] = M, [0x04] = IMM_B, [0x05] = IMM_Z, [0x06 ... 0x07] = X,
	[0x08 ... 0x0b] = M, [0x0c] = IMM_B, [0x0d] = IMM_Z, [0x0e] = X, [0x0f] = P,
	[0x10 ... 0x13] = M, [0x14] = IMM_B, [0x15] = IMM_Z, [0x16 ... 0x17] = X,
	[0x18 ... 0x1b] = M, [0x1c] = IMM_B, [0x1d] = IMM_Z, [0x1e ... 0x1f] = X,
	[0x20 ... 0x23] = M, [0x24] = IMM_B, [0x25] = IMM_Z, [0x26] = P, [0x27] = X,
	[0x28 ... 0x2b] = M, [0x2c] = IMM_B, [0x2d] = IMM_Z, [0x2e] = P, [0x2f] = X,
	[0x30 ... 0x33] = M, [0x34] = IMM_B, [0x35] = IMM_Z, [0x36] = P, [0x37] = X,
	[0x38 ... 0x3b] = M, [0x3c] = IMM_B, [0x3d] = IMM_Z, [0x3e] = P, [0x3f] = X,
	[0x40 ... 0x4f] = P,			/* REX */
	[0x50 ... 0x5f] = 0,			/* push/pop r64 */
	[0x60 ... 0x61] = X, [0x62] = P,	/* pusha/popa; EVEX */
	[0x63] = M,				/* movsxd */
	[0x64 ... 0x67] = P,
	[0x68] = IMM_Z, [0x69] = M | IMM_Z, [0x6a] = IMM_B, [0x6b] = M | IMM_B,
	[0x6c ... 0x6f] = 0,			/* ins/outs */
	[0x70 ... 0x7f] = IMM_B,		/* jcc rel8 */
	[0x80] = M | IMM_B, [0x81] = M | IMM_Z, [0x82] = X, [0x83] = M | IMM_B,
	[0x84 ... 0x8e] = M,
	[0x8f] = P,				/* pop r/m, or XOP */
	[0x90 ... 0x99] = 0, [0x9a] = X, [0x9b ... 0x9f] = 0,
	[0xa0 ... 0xa3] = IMM_MOFFS,
	[0xa4 ... 0xa7] = 0, [0xa8] = IMM_B, [0xa9] = IMM_Z, [0xaa ... 0xaf] = 0,
	[0xb0 ... 0xb7] = IMM_B, [0xb8 ... 0xbf] = IMM_V,
	[0xc0 ... 0xc1] = M | IMM_B, [0xc2] = IMM_W, [0xc3] = 0,
	[0xc4 ... 0xc5] = P,			/* VEX */
	[0xc6] = M | IMM_B,			/* mov r/m8, imm8; xabort imm8 */
	[0xc7] = M | IMM_Z,			/* mov r/m, immz; xbegin rel16/32 */
	[0xc8] = IMM_WB, [0xc9] = 0, [0xca] = IMM_W, [0xcb] = 0,
	[0xcc] = 0, [0xcd] = IMM_B, [0xce] = X, [0xcf] = 0,	/* int3, int, into, iret */
	[0xd0 ... 0xd3] = M, [0xd4 ... 0xd6] = X, [0xd7] = 0,
	[0xd8 ... 0xdf] = M,			/* x87 */
	[0xe0 ... 0xe7] = IMM_B,		/* loop*, jrcxz, in/out imm8 */
	[0xe8 ... 0xe9] = IMM_REL32, [0xea] = X, [0xeb] = IMM_B,
	[0xec ... 0xef] = 0,
	[0xf0] = P, [0xf1] = 0, [0xf2 ... 0xf3] = P, [0xf4 ... 0xf5] = 0,
	[0xf6] = M | IMM_GRP3B, [0xf7] = M | IMM_GRP3Z,
	[0xf8 ... 0xfd] = 0, [0xfe ... 0xff] = M,
};

static const uint8_t map_0f[256] = {
	[0x00 ... 0x03] = M, [0x04] = X, [0x05 ... 0x09] = 0, [0x0a] = X, [0x0b] = 0,
	[0x0c] = X, [0x0d] = M, [0x0e] = 0, [0x0f] = X,	/* prefetch; femms; 3DNow! */
	[0x10 ... 0x1f] = M,			/* SSE moves, prefetch hints, nop, endbr */
	[0x20 ... 0x23] = M, [0x24 ... 0x27] = X, [0x28 ... 0x2f] = M,
	[0x30 ... 0x35] = 0, [0x36] = X, [0x37] = 0,	/* wrmsr..sysexit; getsec */
	[0x38] = P, [0x39] = X, [0x3a] = P, [0x3b ... 0x3f] = X,
	[0x40 ... 0x4f] = M,			/* cmovcc */
	[0x50 ... 0x6f] = M,
	[0x70 ... 0x73] = M | IMM_B,		/* pshuf*, shift groups 12-14 */
	[0x74 ... 0x76] = M, [0x77] = 0,	/* emms */
	[0x78 ... 0x79] = M, [0x7a ... 0x7b] = X, [0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = IMM_REL32,		/* jcc rel32 */
	[0x90 ... 0x9f] = M,			/* setcc */
	[0xa0 ... 0xa2] = 0,			/* push fs, pop fs, cpuid */
	[0xa3] = M, [0xa4] = M | IMM_B, [0xa5] = M, [0xa6 ... 0xa7] = X,
	[0xa8 ... 0xaa] = 0,			/* push gs, pop gs, rsm */
	[0xab] = M, [0xac] = M | IMM_B, [0xad ... 0xaf] = M,
	[0xb0 ... 0xb9] = M, [0xba] = M | IMM_B, [0xbb ... 0xbf] = M,
	[0xc0 ... 0xc1] = M, [0xc2] = M | IMM_B, [0xc3] = M,
	[0xc4 ... 0xc6] = M | IMM_B, [0xc7] = M,
	[0xc8 ... 0xcf] = 0,			/* bswap */
	[0xd0 ... 0xff] = M,			/* MMX/SSE; ff = ud0 (with ModRM) */
};

/* Which VEX/EVEX map-1 (0f) opcodes take an imm8 (the rest take none). */
static bool vex_0f_has_imm8(uint8_t op)
{
	return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

/* Decoder state: a cursor that never reads past the end. */
struct cursor {
	const uint8_t *p;
	size_t avail;
	size_t pos;
};

static int peek(const struct cursor *c, size_t ahead)
{
	size_t at = c->pos + ahead;

	if (at >= c->avail || at >= INSN_MAX_LENGTH)
		return -1;
	return c->p[at];
}

static int next(struct cursor *c)
{
	int b = peek(c, 0);

	if (b >= 0)
		c->pos++;
	return b;
}

/* ModRM, SIB and displacement: returns the ModRM byte or -1. */
static int decode_modrm(struct cursor *c, struct insn *in)
{
	int modrm, sib, mod, rm;

	in->has_modrm = true;
	in->modrm_offset = c->pos;
	modrm = next(c);
	if (modrm < 0)
		return -1;
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return modrm;
	/*
	 * 64-bit and 32-bit (67) addressing share this form in 64-bit mode:
	 * rm 4 = SIB, mod 0 rm 5 = RIP/EIP-relative disp32, SIB base 5 with
	 * mod 0 = disp32 without base. 16-bit addressing does not exist here.
	 */
	if (rm == 4) {
		sib = next(c);
		if (sib < 0)
			return -1;
		if (mod == 0 && (sib & 7) == 5)
			in->disp_size = 4;
	}
	if (mod == 0 && rm == 5)
		in->disp_size = 4;
	else if (mod == 1)
		in->disp_size = 1;
	else if (mod == 2)
		in->disp_size = 4;
	c->pos += in->disp_size;
	return modrm;
}

static int imm_bytes(enum imm_kind kind, int modrm, const struct insn *in)
{
	bool rex_w = in->rex & 0x08;
	bool op16 = in->opsize_prefix && !rex_w;

	switch (kind) {
	case IMM_NONE:
		return 0;
	case IMM_B:
		return 1;
	case IMM_W:
		return 2;
	case IMM_Z:
		return op16 ? 2 : 4;
	case IMM_V:
		return rex_w ? 8 : (in->opsize_prefix ? 2 : 4);
	case IMM_WB:
		return 3;
	case IMM_MOFFS:
		return in->addrsize_prefix ? 4 : 8;
	case IMM_REL32:
		return 4;
	case IMM_GRP3B:
		return ((modrm >> 3) & 7) < 2 ? 1 : 0;
	case IMM_GRP3Z:
		return ((modrm >> 3) & 7) < 2 ? (op16 ? 2 : 4) : 0;
	}
	return -1;
}

/*
 * VEX (c4/c5), EVEX (62) and XOP (8f) instructions: prefix bytes, opcode,
 * ModRM (always, except VEX 0f 77 vzeroupper/vzeroall), immediate by map.
 */
static int decode_vex_like(struct cursor *c, struct insn *in, uint8_t escape)
{
	unsigned int map;
	int b1, b2, op, modrm = -1, imm = 0;

	/* 66/f2/f3/REX before VEX/EVEX/XOP are #UD (the prefix encodes them). */
	if (in->rex || in->opsize_prefix)
		return -1;
	for (unsigned int i = 0; i < in->nr_prefixes; i++)
		if (c->p[i] == 0xf2 || c->p[i] == 0xf3 || c->p[i] == 0xf0)
			return -1;

	b1 = next(c);
	if (b1 < 0)
		return -1;
	if (escape == 0xc5) {
		in->encoding = INSN_ENC_VEX;
		map = 1;
	} else if (escape == 0xc4) {
		in->encoding = INSN_ENC_VEX;
		map = b1 & 0x1f;
		if (map < 1 || map > 3 || next(c) < 0)
			return -1;
	} else if (escape == 0x62) {
		in->encoding = INSN_ENC_EVEX;
		map = b1 & 0x07;
		b2 = next(c);
		/* P0 bit 3 is reserved 0, P1 bit 2 fixed 1; maps 1-3, 5, 6. */
		if (b2 < 0 || (b1 & 0x08) || !(b2 & 0x04) || next(c) < 0 ||
		    map == 0 || map == 4 || map == 7)
			return -1;
	} else {
		in->encoding = INSN_ENC_XOP;
		map = b1 & 0x1f;
		if (map < 8 || map > 10 || next(c) < 0)
			return -1;
	}
	in->map = map;
	in->opcode_offset = c->pos;
	op = next(c);
	if (op < 0)
		return -1;
	in->opcode = op;

	if (!(in->encoding == INSN_ENC_VEX && map == 1 && op == 0x77)) {
		modrm = decode_modrm(c, in);
		if (modrm < 0)
			return -1;
	}
	switch (map) {
	case 1:
		imm = vex_0f_has_imm8(op) ? 1 : 0;
		break;
	case 3:
	case 8:
		imm = 1;
		break;
	case 10:
		imm = 4;	/* XOP map a: bextr/lwpins/lwpval imm32 */
		break;
	default:
		imm = 0;
	}
	in->imm_size = imm;
	c->pos += imm;
	return 0;
}

int insn_decode(const uint8_t *p, size_t avail, struct insn *out)
{
	struct cursor c = { .p = p, .avail = avail, .pos = 0 };
	struct insn in;
	uint8_t flags;
	int b, modrm = -1, imm;
	bool f2_prefix = false;

	memset(&in, 0, sizeof(in));
	if (!p)
		return -1;

	/* Legacy prefixes and REX; a REX followed by a legacy prefix is ignored. */
	for (;;) {
		b = peek(&c, 0);
		if (b < 0)
			return -1;
		if (is_legacy_prefix(b)) {
			in.rex = 0;
			in.opsize_prefix |= b == 0x66;
			in.addrsize_prefix |= b == 0x67;
			f2_prefix |= b == 0xf2;
		} else if ((b & 0xf0) == 0x40) {
			in.rex = b;
		} else {
			break;
		}
		c.pos++;
		in.nr_prefixes = c.pos;
	}

	b = peek(&c, 0);
	if (b == 0xc4 || b == 0xc5 || b == 0x62 ||
	    (b == 0x8f && peek(&c, 1) >= 0 && (peek(&c, 1) & 0x1f) >= 8)) {
		/* In 64-bit mode c4/c5/62 are always VEX/EVEX; 8f is XOP if map >= 8. */
		c.pos++;
		if (decode_vex_like(&c, &in, b))
			return -1;
		goto done;
	}

	in.opcode_offset = c.pos;
	b = next(&c);
	if (b == 0x0f) {
		b = next(&c);
		if (b < 0)
			return -1;
		if (b == 0x38 || b == 0x3a) {
			in.map = b == 0x38 ? INSN_MAP_0F38 : INSN_MAP_0F3A;
			b = next(&c);
			if (b < 0)
				return -1;
			flags = M | (in.map == INSN_MAP_0F3A ? IMM_B : IMM_NONE);
		} else {
			in.map = INSN_MAP_0F;
			flags = map_0f[b];
		}
	} else {
		in.map = INSN_MAP_ONE_BYTE;
		flags = b == 0x8f ? M : one_byte_map[b];	/* 8f here: pop r/m */
	}
	if (flags & (X | P))
		return -1;
	in.opcode = b;

	if (flags & M) {
		modrm = decode_modrm(&c, &in);
		if (modrm < 0)
			return -1;
	}
	imm = imm_bytes(IMM(flags), modrm, &in);
	if (imm < 0)
		return -1;
	/* AMD SSE4a extrq (66 0f 78 /0 ib ib) and insertq (f2 0f 78 /r ib ib). */
	if (in.map == INSN_MAP_0F && b == 0x78 && (in.opsize_prefix || f2_prefix))
		imm = 2;
	in.imm_size = imm;
	c.pos += imm;

done:
	if (c.pos > INSN_MAX_LENGTH || c.pos > avail)
		return -1;
	in.length = c.pos;
	if (out)
		*out = in;
	return in.length;
}

int insn_length(const uint8_t *p, size_t avail)
{
	return insn_decode(p, avail, NULL);
}

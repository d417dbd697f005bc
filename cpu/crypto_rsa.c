// SPDX-License-Identifier: MIT
/*
 * EINIT's SIGSTRUCT check: the fixed header, the vendor, the exponent, and
 * the RSA-3072 (e = 3) PKCS#1 v1.5 SHA-256 signature over header || body,
 * together with the Q1/Q2 helper values the hardware uses to verify without
 * a division. All big numbers in a SIGSTRUCT are little-endian.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "cpu/crypto.h"

/* ASN.1 DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1). */
static const uint8_t sha256_digest_info[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 DigestInfo H, big-endian, k bytes. */
static void emsa_pkcs1_v15_sha256(const uint8_t hash[32], uint8_t em[SGX_MODULUS_SIZE])
{
	size_t t_len = sizeof(sha256_digest_info) + 32;
	size_t ps_len = SGX_MODULUS_SIZE - 3 - t_len;

	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xff, ps_len);
	em[2 + ps_len] = 0x00;
	memcpy(em + 3 + ps_len, sha256_digest_info, sizeof(sha256_digest_info));
	memcpy(em + 3 + ps_len + sizeof(sha256_digest_info), hash, 32);
}

static bool header_ok(const struct sgx_sigstruct_header *h)
{
	return h->header1[0] == SGX_SIGSTRUCT_HEADER1_0 &&
	       h->header1[1] == SGX_SIGSTRUCT_HEADER1_1 &&
	       h->header2[0] == SGX_SIGSTRUCT_HEADER2_0 &&
	       h->header2[1] == SGX_SIGSTRUCT_HEADER2_1 &&
	       (h->vendor == 0 || h->vendor == 0x8086);
}

/*
 * Does the RSA arithmetic hold? Returns true only if S < M,
 * S^3 mod M == EM, Q1 == floor(S^2 / M) and Q2 == floor((S^3 - Q1*S*M) / M).
 * S^3 - Q1*S*M = S * (S^2 - Q1*M) = S * (S^2 mod M), which is how Q2 is
 * computed here.
 */
static bool rsa_holds(const struct sgx_sigstruct *ss, const uint8_t em[SGX_MODULUS_SIZE],
		      BN_CTX *bctx)
{
	uint8_t got[SGX_MODULUS_SIZE];
	BIGNUM *m, *s, *q1, *q2, *t, *q, *r;
	bool ok = false;

	BN_CTX_start(bctx);
	m = BN_CTX_get(bctx);
	s = BN_CTX_get(bctx);
	q1 = BN_CTX_get(bctx);
	q2 = BN_CTX_get(bctx);
	t = BN_CTX_get(bctx);
	q = BN_CTX_get(bctx);
	r = BN_CTX_get(bctx);
	if (!r)
		abort();	/* allocation failure: no status code fits */

	if (!BN_lebin2bn(ss->modulus, SGX_MODULUS_SIZE, m) ||
	    !BN_lebin2bn(ss->signature, SGX_MODULUS_SIZE, s) ||
	    !BN_lebin2bn(ss->q1, SGX_MODULUS_SIZE, q1) ||
	    !BN_lebin2bn(ss->q2, SGX_MODULUS_SIZE, q2))
		abort();

	if (BN_is_zero(m) || BN_cmp(s, m) >= 0)
		goto out;

	/* Q1 and S^2 mod M. */
	if (!BN_sqr(t, s, bctx) || !BN_div(q, r, t, m, bctx))
		abort();
	if (BN_cmp(q, q1) != 0)
		goto out;

	/* Q2 and S^3 mod M. */
	if (!BN_mul(t, r, s, bctx) || !BN_div(q, r, t, m, bctx))
		abort();
	if (BN_cmp(q, q2) != 0)
		goto out;

	if (BN_bn2binpad(r, got, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE)
		goto out;
	ok = memcmp(got, em, SGX_MODULUS_SIZE) == 0;
out:
	BN_CTX_end(bctx);
	return ok;
}

int sgx_sigstruct_verify(const struct sgx_sigstruct *ss)
{
	uint8_t hash[32], em[SGX_MODULUS_SIZE];
	struct sgx_sha256 h;
	BN_CTX *bctx;
	bool ok;

	if (!header_ok(&ss->header) || ss->exponent != 3)
		return SGX_INVALID_SIG_STRUCT;

	sgx_sha256_init(&h);
	sgx_sha256_update(&h, &ss->header, sizeof(ss->header));
	sgx_sha256_update(&h, &ss->body, sizeof(ss->body));
	sgx_sha256_final(&h, hash);
	emsa_pkcs1_v15_sha256(hash, em);

	bctx = BN_CTX_new();
	if (!bctx)
		abort();
	ok = rsa_holds(ss, em, bctx);
	BN_CTX_free(bctx);
	return ok ? SGX_SUCCESS : SGX_INVALID_SIGNATURE;
}

void sgx_sigstruct_mrsigner(const struct sgx_sigstruct *ss, uint8_t out[32])
{
	sgx_sha256(ss->modulus, SGX_MODULUS_SIZE, out);
}

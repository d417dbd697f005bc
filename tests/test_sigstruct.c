// SPDX-License-Identifier: MIT
/*
 * Tests of enclave/sigstruct.h (keys, MRENCLAVE calculator, signing) and of
 * the CPU's SIGSTRUCT check in cpu/crypto.h: a signed SIGSTRUCT verifies,
 * is a standard PKCS#1 v1.5 signature by OpenSSL's own reckoning, and every
 * single-byte corruption is refused with the status EINIT would return.
 * Key generation costs ~0.1-1 s, so each test generates at most one key.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "enclave/sigstruct.h"
#include "tests/harness.h"

static void fill_mrenclave(uint8_t m[32])
{
	for (int i = 0; i < 32; i++)
		m[i] = (uint8_t)(0xC0 + i);
}

/* A signed SIGSTRUCT like the selftest's: MODE64BIT, xfrm 3. */
static bool make_signed(const struct sgx_signer *s, struct sgx_sigstruct *ss)
{
	uint8_t mr[32];

	fill_mrenclave(mr);
	sgx_sigstruct_init(ss, mr, SGX_ATTR_MODE64BIT, 3);
	return sgx_sigstruct_sign(s, ss) == 0;
}

static void reverse(const uint8_t *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = in[len - 1 - i];
}

TEST(crypto_sigstruct_init_defaults)
{
	struct sgx_sigstruct ss;
	uint8_t mr[32];

	fill_mrenclave(mr);
	memset(&ss, 0xFF, sizeof(ss));
	sgx_sigstruct_init(&ss, mr, SGX_ATTR_MODE64BIT, 3);
	CHECK(ss.header.header1[0] == SGX_SIGSTRUCT_HEADER1_0);
	CHECK(ss.header.header1[1] == SGX_SIGSTRUCT_HEADER1_1);
	CHECK(ss.header.header2[0] == SGX_SIGSTRUCT_HEADER2_0);
	CHECK(ss.header.header2[1] == SGX_SIGSTRUCT_HEADER2_1);
	CHECK_EQ(ss.header.vendor, 0);
	CHECK_EQ(ss.header.date, 0);
	CHECK_EQ(ss.exponent, 3);
	CHECK_EQ(ss.body.attributes, SGX_ATTR_MODE64BIT);
	CHECK_EQ(ss.body.xfrm, 3);
	CHECK_EQ(ss.body.attributes_mask, 0);
	CHECK_EQ(ss.body.xfrm_mask, 0);
	CHECK_EQ(ss.body.miscselect, 0);
	CHECK_EQ(ss.body.misc_mask, 0);
	CHECK_EQ(ss.body.isvprodid, 0);
	CHECK_EQ(ss.body.isvsvn, 0);
	CHECK(memcmp(ss.body.mrenclave, mr, 32) == 0);
}

/* OpenSSL's view of the public key in the SIGSTRUCT (n from the LE bytes). */
static EVP_PKEY *public_key_of(const struct sgx_sigstruct *ss)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_lebin2bn(ss->modulus, SGX_MODULUS_SIZE, NULL);
	BIGNUM *e = BN_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld && n && e && ctx && BN_set_word(e, ss->exponent) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
	BN_free(n);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

TEST(crypto_sigstruct_sign_verify)
{
	struct sgx_signer *s = sgx_signer_generate();
	struct sgx_sigstruct ss;
	uint8_t sig_be[SGX_MODULUS_SIZE], want[32], got[32];
	EVP_PKEY *pub;
	EVP_MD_CTX *md;

	REQUIRE(s);
	REQUIRE(make_signed(s, &ss));
	CHECK_EQ(ss.exponent, 3);
	CHECK_EQ(sgx_sigstruct_verify(&ss), SGX_SUCCESS);

	/* Independently: a standard RSA PKCS#1 v1.5 SHA-256 signature. */
	pub = public_key_of(&ss);
	REQUIRE(pub);
	CHECK_EQ(EVP_PKEY_get_bits(pub), 3072);
	reverse(ss.signature, sig_be, SGX_MODULUS_SIZE);
	md = EVP_MD_CTX_new();
	REQUIRE(md);
	REQUIRE(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1);
	REQUIRE(EVP_DigestVerifyUpdate(md, &ss.header, 128) == 1);
	REQUIRE(EVP_DigestVerifyUpdate(md, &ss.body, 128) == 1);
	CHECK_EQ(EVP_DigestVerifyFinal(md, sig_be, SGX_MODULUS_SIZE), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);

	/* MRSIGNER is SHA-256 of the modulus bytes exactly as stored (LE). */
	REQUIRE(EVP_Digest(ss.modulus, SGX_MODULUS_SIZE, want, NULL, EVP_sha256(), NULL) == 1);
	sgx_sigstruct_mrsigner(&ss, got);
	CHECK(memcmp(want, got, 32) == 0);
	sgx_signer_mrsigner(s, got);
	CHECK(memcmp(want, got, 32) == 0);
	/* The top byte of a 3072-bit modulus is non-zero, at the LE end. */
	CHECK(ss.modulus[SGX_MODULUS_SIZE - 1] != 0);

	/* Vendor 0x8086 and changed body fields are fine once re-signed. */
	ss.header.vendor = 0x8086;
	ss.body.isvprodid = 7;
	ss.body.isvsvn = 9;
	ss.body.attributes_mask = ~0ULL;
	REQUIRE_EQ(sgx_sigstruct_sign(s, &ss), 0);
	CHECK_EQ(sgx_sigstruct_verify(&ss), SGX_SUCCESS);
	sgx_signer_free(s);
}

/* What EINIT must answer when one byte at 'off' of a good SIGSTRUCT changes. */
static int expected_status(size_t off)
{
	size_t date = offsetof(struct sgx_sigstruct_header, date);
	size_t header2 = offsetof(struct sgx_sigstruct_header, header2);
	size_t swdefined = offsetof(struct sgx_sigstruct_header, swdefined);
	size_t exponent = offsetof(struct sgx_sigstruct, exponent);
	size_t reserved4 = offsetof(struct sgx_sigstruct, reserved4);

	/* header1, vendor (no longer 0 or 0x8086), header2, exponent. */
	if (off < date || (off >= header2 && off < swdefined) ||
	    (off >= exponent && off < exponent + 4))
		return SGX_INVALID_SIG_STRUCT;
	/* Neither signed nor checked: EINIT ignores the bytes after the body. */
	if (off >= reserved4 && off < offsetof(struct sgx_sigstruct, q1))
		return SGX_SUCCESS;
	/* date, swdefined, reserved1, modulus, signature, body, q1, q2. */
	return SGX_INVALID_SIGNATURE;
}

TEST(crypto_sigstruct_every_byte_corruption_refused)
{
	struct sgx_signer *s = sgx_signer_generate();
	struct sgx_sigstruct good, bad;
	int mismatches = 0;

	REQUIRE(s);
	REQUIRE(make_signed(s, &good));
	REQUIRE_EQ(sgx_sigstruct_verify(&good), SGX_SUCCESS);
	for (size_t off = 0; off < sizeof(good); off++) {
		/* Two different flips: the low bit, and the high bit. */
		for (int bit = 0; bit < 8; bit += 7) {
			int got, want = expected_status(off);

			bad = good;
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			got = sgx_sigstruct_verify(&bad);
			if (got != want && mismatches++ < 10)
				test_fail_at(__FILE__, __LINE__,
					     "byte %zu bit %d: status %d, want %d", off, bit,
					     got, want);
		}
	}
	CHECK_EQ(mismatches, 0);
	sgx_signer_free(s);
}

TEST(crypto_sigstruct_named_corruptions)
{
	struct sgx_signer *s = sgx_signer_generate();
	struct sgx_sigstruct good, bad;
	BIGNUM *m;

	REQUIRE(s);
	REQUIRE(make_signed(s, &good));

	bad = good;
	bad.header.vendor = 1;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIG_STRUCT);
	bad = good;
	bad.header.vendor = 0x8086;	/* legal value, but not what was signed */
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);
	bad = good;
	bad.exponent = 65537;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIG_STRUCT);
	bad = good;
	bad.header.header1[1] = 0;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIG_STRUCT);
	bad = good;
	bad.body.mrenclave[0] ^= 1;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);
	bad = good;
	bad.body.isvsvn = 1;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);

	/* S == M (and S > M) must be refused even with matching Q1/Q2 fields. */
	bad = good;
	memcpy(bad.signature, bad.modulus, SGX_MODULUS_SIZE);
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);

	/* S + M has the same S^3 mod M; only the S < M check refuses it. */
	bad = good;
	m = BN_lebin2bn(good.modulus, SGX_MODULUS_SIZE, NULL);
	REQUIRE(m);
	{
		BIGNUM *sig = BN_lebin2bn(good.signature, SGX_MODULUS_SIZE, NULL);

		REQUIRE(sig);
		REQUIRE(BN_sub(sig, m, sig));	/* M - S: a different residue */
		REQUIRE(BN_bn2lebinpad(sig, bad.signature, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE);
		CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);
		BN_free(sig);
	}
	BN_free(m);

	/* All zero apart from a valid header: M = 0 must not crash. */
	memset(&bad, 0, sizeof(bad));
	bad.header = good.header;
	bad.exponent = 3;
	CHECK_EQ(sgx_sigstruct_verify(&bad), SGX_INVALID_SIGNATURE);
	sgx_signer_free(s);
}

/* Q1/Q2 stored by the signer are exactly the SDM's formulas. */
TEST(crypto_sigstruct_q1_q2_values)
{
	struct sgx_signer *s = sgx_signer_generate();
	struct sgx_sigstruct ss;
	BN_CTX *bctx = BN_CTX_new();
	BIGNUM *m, *sg, *q1, *q2, *t, *want;

	REQUIRE(s && bctx);
	REQUIRE(make_signed(s, &ss));
	m = BN_lebin2bn(ss.modulus, SGX_MODULUS_SIZE, NULL);
	sg = BN_lebin2bn(ss.signature, SGX_MODULUS_SIZE, NULL);
	q1 = BN_lebin2bn(ss.q1, SGX_MODULUS_SIZE, NULL);
	q2 = BN_lebin2bn(ss.q2, SGX_MODULUS_SIZE, NULL);
	t = BN_new();
	want = BN_new();
	REQUIRE(m && sg && q1 && q2 && t && want);
	/* Q1 = floor(S^2 / M) */
	REQUIRE(BN_mul(t, sg, sg, bctx));
	REQUIRE(BN_div(want, NULL, t, m, bctx));
	CHECK(BN_cmp(want, q1) == 0);
	/* Q2 = floor((S^3 - Q1*S*M) / M), computed literally. */
	BIGNUM *s3 = BN_new(), *q1sm = BN_new();

	REQUIRE(s3 && q1sm);
	REQUIRE(BN_mul(s3, t, sg, bctx));
	REQUIRE(BN_mul(q1sm, q1, sg, bctx));
	REQUIRE(BN_mul(q1sm, q1sm, m, bctx));
	REQUIRE(BN_sub(t, s3, q1sm));
	REQUIRE(BN_div(want, NULL, t, m, bctx));
	CHECK(BN_cmp(want, q2) == 0);
	BN_free(s3);
	BN_free(q1sm);
	BN_free(m);
	BN_free(sg);
	BN_free(q1);
	BN_free(q2);
	BN_free(t);
	BN_free(want);
	BN_CTX_free(bctx);
	sgx_signer_free(s);
}

static char *pem_of(EVP_PKEY *pkey, bool traditional)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;
	int ok;

	if (!bio)
		return NULL;
	ok = traditional ?
		PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) :
		PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &data);
	if (ok && len > 0 && (out = malloc((size_t)len + 1))) {
		memcpy(out, data, (size_t)len);
		out[len] = 0;
	}
	BIO_free(bio);
	return out;
}

static EVP_PKEY *openssl_rsa_key(unsigned int bits, unsigned int e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn_e = BN_new();
	EVP_PKEY *pkey = NULL;

	if (ctx && bn_e && BN_set_word(bn_e, e) && EVP_PKEY_keygen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn_e) > 0)
		EVP_PKEY_generate(ctx, &pkey);
	BN_free(bn_e);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

TEST_TIMEOUT(crypto_sigstruct_pem_keys, 120)
{
	EVP_PKEY *good = openssl_rsa_key(3072, 3);
	EVP_PKEY *wrong_e = openssl_rsa_key(3072, 65537);
	EVP_PKEY *small = openssl_rsa_key(2048, 3);
	struct sgx_signer *a, *b;
	struct sgx_sigstruct ss;
	uint8_t ma[32], mb[32];
	char *pem;

	REQUIRE(good && wrong_e && small);

	/* PKCS#8 and PKCS#1 ("traditional") encodings of one key. */
	pem = pem_of(good, false);
	REQUIRE(pem);
	CHECK(strstr(pem, "BEGIN PRIVATE KEY"));
	a = sgx_signer_from_pem(pem);
	free(pem);
	pem = pem_of(good, true);
	REQUIRE(pem);
	CHECK(strstr(pem, "BEGIN RSA PRIVATE KEY"));
	b = sgx_signer_from_pem(pem);
	free(pem);
	REQUIRE(a && b);
	sgx_signer_mrsigner(a, ma);
	sgx_signer_mrsigner(b, mb);
	CHECK(memcmp(ma, mb, 32) == 0);
	REQUIRE(make_signed(a, &ss));
	CHECK_EQ(sgx_sigstruct_verify(&ss), SGX_SUCCESS);
	sgx_sigstruct_mrsigner(&ss, mb);
	CHECK(memcmp(ma, mb, 32) == 0);
	sgx_signer_free(a);
	sgx_signer_free(b);

	/* Keys EINIT could never accept are refused at load time. */
	pem = pem_of(wrong_e, false);
	REQUIRE(pem);
	CHECK(sgx_signer_from_pem(pem) == NULL);
	free(pem);
	pem = pem_of(small, false);
	REQUIRE(pem);
	CHECK(sgx_signer_from_pem(pem) == NULL);
	free(pem);
	CHECK(sgx_signer_from_pem("not a key") == NULL);
	CHECK(sgx_signer_from_pem("") == NULL);

	EVP_PKEY_free(good);
	EVP_PKEY_free(wrong_e);
	EVP_PKEY_free(small);
}

TEST(crypto_sigstruct_two_keys_differ)
{
	struct sgx_signer *a = sgx_signer_generate(), *b = sgx_signer_generate();
	struct sgx_sigstruct sa, sb;
	uint8_t ma[32], mb[32];

	REQUIRE(a && b);
	REQUIRE(make_signed(a, &sa));
	REQUIRE(make_signed(b, &sb));
	sgx_signer_mrsigner(a, ma);
	sgx_signer_mrsigner(b, mb);
	CHECK(memcmp(ma, mb, 32) != 0);
	/* Another key's signature over the same content does not verify. */
	memcpy(sa.signature, sb.signature, SGX_MODULUS_SIZE);
	memcpy(sa.q1, sb.q1, SGX_MODULUS_SIZE);
	memcpy(sa.q2, sb.q2, SGX_MODULUS_SIZE);
	CHECK_EQ(sgx_sigstruct_verify(&sa), SGX_INVALID_SIGNATURE);
	sgx_signer_free(a);
	sgx_signer_free(b);
}

/* ---- MRENCLAVE calculator ---- */

TEST(crypto_mrenclave_calculator_matches_hand_built_blocks)
{
	static uint8_t tcs[4096], text[4096], heap[4096];
	uint8_t buf[64 * 4 + 2 * 16 * (64 + 256)], *p = buf, want[32], got[32];
	struct sgx_mrenclave m;
	uint64_t v;

	for (int i = 0; i < 4096; i++) {
		tcs[i] = (uint8_t)(i * 3);
		text[i] = (uint8_t)(i * 5 + 1);
		heap[i] = 0xCC;
	}
	memset(buf, 0, sizeof(buf));
	memcpy(p, "ECREATE", 8);
	v = 1;
	memcpy(p + 8, &v, 4);
	v = 0x4000;
	memcpy(p + 12, &v, 8);
	p += 64;

	/* TCS at 0 (flags 0x100), text at 0x1000 (R|X), both measured. */
	const struct { uint64_t off, flags; const uint8_t *page; } pages[] = {
		{ 0, 0x100, tcs }, { 0x1000, 0x205, text },
	};
	for (int i = 0; i < 2; i++) {
		memcpy(p, "EADD", 4);
		memcpy(p + 8, &pages[i].off, 8);
		memcpy(p + 16, &pages[i].flags, 8);
		p += 64;
		for (uint64_t k = 0; k < 4096; k += 256) {
			v = pages[i].off + k;
			memcpy(p, "EEXTEND", 8);
			memcpy(p + 8, &v, 8);
			p += 64;
			memcpy(p, pages[i].page + k, 256);
			p += 256;
		}
	}
	/* Heap at 0x2000 (R|W), not measured: only its EADD block. */
	memcpy(p, "EADD", 4);
	v = 0x2000;
	memcpy(p + 8, &v, 8);
	v = 0x203;
	memcpy(p + 16, &v, 8);
	p += 64;
	REQUIRE_EQ(p - buf, sizeof(buf));
	REQUIRE(EVP_Digest(buf, (size_t)(p - buf), want, NULL, EVP_sha256(), NULL) == 1);

	sgx_mrenclave_ecreate(&m, 1, 0x4000);
	sgx_mrenclave_add_page(&m, 0, 0x100, tcs, true);
	sgx_mrenclave_add_page(&m, 0x1000, 0x205, text, true);
	sgx_mrenclave_add_page(&m, 0x2000, 0x203, heap, false);
	sgx_mrenclave_final(&m, got);
	CHECK(memcmp(want, got, 32) == 0);
}

/*
 * The kernel selftests' own signing key (fetched at test time by
 * scripts/; absent in a fresh tree): our loader takes it and signs with it.
 */
#define SELFTEST_SIGN_KEY "build/selftests/src/tools/testing/selftests/sgx/sign_key.pem"

TEST(crypto_sigstruct_selftest_key)
{
	FILE *f = fopen(SELFTEST_SIGN_KEY, "r");
	struct sgx_signer *s;
	struct sgx_sigstruct ss;
	char pem[8192];
	size_t n;

	if (!f)
		SKIP(SELFTEST_SIGN_KEY " not fetched");
	n = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	pem[n] = 0;
	s = sgx_signer_from_pem(pem);
	REQUIRE(s);
	REQUIRE(make_signed(s, &ss));
	CHECK_EQ(sgx_sigstruct_verify(&ss), SGX_SUCCESS);
	sgx_signer_free(s);
}

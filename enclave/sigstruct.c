// SPDX-License-Identifier: MIT
/*
 * The signing-tool side of SGX: RSA-3072 (e = 3) keys, the MRENCLAVE a
 * loader will produce, and SIGSTRUCTs signed the way the kernel selftests'
 * sigstruct.c signs them (PKCS#1 v1.5 over SHA-256(header || body), Q1/Q2,
 * every big number stored little-endian).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "enclave/sigstruct.h"

#define SIGNER_BITS	3072
#define SIGNER_EXPONENT	3

struct sgx_signer {
	EVP_PKEY *pkey;
	/* The modulus as a SIGSTRUCT stores it; MRSIGNER is its hash. */
	uint8_t modulus_le[SGX_MODULUS_SIZE];
};

/* Accept the key only if it is what EINIT can verify; cache its modulus. */
static struct sgx_signer *signer_wrap(EVP_PKEY *pkey)
{
	struct sgx_signer *s = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (!pkey || !EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) != SIGNER_BITS)
		goto fail;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
		goto fail;
	if (!BN_is_word(e, SIGNER_EXPONENT))
		goto fail;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	if (BN_bn2lebinpad(n, s->modulus_le, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE) {
		free(s);
		s = NULL;
		goto fail;
	}
	s->pkey = pkey;
	BN_free(n);
	BN_free(e);
	return s;
fail:
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pkey);
	return NULL;
}

struct sgx_signer *sgx_signer_generate(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *e = BN_new();
	EVP_PKEY *pkey = NULL;

	if (!ctx || !e || !BN_set_word(e, SIGNER_EXPONENT) ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, SIGNER_BITS) <= 0 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0)
		pkey = NULL;
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return pkey ? signer_wrap(pkey) : NULL;
}

struct sgx_signer *sgx_signer_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey;

	if (!bio)
		return NULL;
	/* Handles both "RSA PRIVATE KEY" (PKCS#1) and "PRIVATE KEY" (PKCS#8). */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey ? signer_wrap(pkey) : NULL;
}

void sgx_signer_free(struct sgx_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey);
	free(s);
}

void sgx_signer_mrsigner(const struct sgx_signer *s, uint8_t out[32])
{
	sgx_sha256(s->modulus_le, SGX_MODULUS_SIZE, out);
}

/* ---- MRENCLAVE ---- */

void sgx_mrenclave_ecreate(struct sgx_mrenclave *m, uint32_t ssa_frame_size, uint64_t size)
{
	sgx_sha256_init(&m->h);
	sgx_measure_ecreate(&m->h, ssa_frame_size, size);
}

void sgx_mrenclave_add_page(struct sgx_mrenclave *m, uint64_t offset, uint64_t secinfo_flags,
			    const void *page, bool measure)
{
	const uint8_t *p = page;

	sgx_measure_eadd(&m->h, offset, secinfo_flags);
	if (!measure)
		return;
	for (uint64_t k = 0; k < SGX_PAGE_SIZE; k += SGX_EEXTEND_BLOCK_SIZE)
		sgx_measure_eextend(&m->h, offset + k, p + k);
}

void sgx_mrenclave_final(struct sgx_mrenclave *m, uint8_t out[32])
{
	sgx_sha256_final(&m->h, out);
}

/* ---- SIGSTRUCT ---- */

void sgx_sigstruct_init(struct sgx_sigstruct *ss, const uint8_t mrenclave[32],
			uint64_t attributes, uint64_t xfrm)
{
	memset(ss, 0, sizeof(*ss));
	ss->header.header1[0] = SGX_SIGSTRUCT_HEADER1_0;
	ss->header.header1[1] = SGX_SIGSTRUCT_HEADER1_1;
	ss->header.header2[0] = SGX_SIGSTRUCT_HEADER2_0;
	ss->header.header2[1] = SGX_SIGSTRUCT_HEADER2_1;
	ss->exponent = SIGNER_EXPONENT;
	ss->body.attributes = attributes;
	ss->body.xfrm = xfrm;
	memcpy(ss->body.mrenclave, mrenclave, 32);
}

/* PKCS#1 v1.5 / SHA-256 signature of header || body, big-endian. */
static int sign_header_body(const struct sgx_signer *s, const struct sgx_sigstruct *ss,
			    uint8_t sig_be[SGX_MODULUS_SIZE])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = SGX_MODULUS_SIZE;
	int ret = -1;

	if (md &&
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, s->pkey) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_DigestSignUpdate(md, &ss->header, sizeof(ss->header)) == 1 &&
	    EVP_DigestSignUpdate(md, &ss->body, sizeof(ss->body)) == 1 &&
	    EVP_DigestSignFinal(md, sig_be, &len) == 1 && len == SGX_MODULUS_SIZE)
		ret = 0;
	EVP_MD_CTX_free(md);
	return ret;
}

/* Q1 = floor(S^2 / M), Q2 = floor((S^3 - Q1*S*M) / M), stored little-endian. */
static int compute_q1_q2(const uint8_t sig_be[SGX_MODULUS_SIZE], struct sgx_sigstruct *ss)
{
	BN_CTX *bctx = BN_CTX_new();
	BIGNUM *m, *s, *t, *q1, *q2, *r;
	int ret = -1;

	if (!bctx)
		return -1;
	BN_CTX_start(bctx);
	m = BN_CTX_get(bctx);
	s = BN_CTX_get(bctx);
	t = BN_CTX_get(bctx);
	q1 = BN_CTX_get(bctx);
	q2 = BN_CTX_get(bctx);
	r = BN_CTX_get(bctx);
	if (!r ||
	    !BN_lebin2bn(ss->modulus, SGX_MODULUS_SIZE, m) ||
	    !BN_bin2bn(sig_be, SGX_MODULUS_SIZE, s))
		goto out;
	/* S^3 - Q1*S*M = S * (S^2 - Q1*M) = S * (S^2 mod M). */
	if (!BN_sqr(t, s, bctx) || !BN_div(q1, r, t, m, bctx) ||
	    !BN_mul(t, r, s, bctx) || !BN_div(q2, NULL, t, m, bctx))
		goto out;
	if (BN_bn2lebinpad(s, ss->signature, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE ||
	    BN_bn2lebinpad(q1, ss->q1, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE ||
	    BN_bn2lebinpad(q2, ss->q2, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE)
		goto out;
	ret = 0;
out:
	BN_CTX_end(bctx);
	BN_CTX_free(bctx);
	return ret;
}

int sgx_sigstruct_sign(const struct sgx_signer *s, struct sgx_sigstruct *ss)
{
	uint8_t sig_be[SGX_MODULUS_SIZE];

	/* The header and body are what is signed; the rest is derived. */
	memcpy(ss->modulus, s->modulus_le, SGX_MODULUS_SIZE);
	ss->exponent = SIGNER_EXPONENT;
	if (sign_header_body(s, ss, sig_be) != 0)
		return -1;
	return compute_q1_q2(sig_be, ss);
}

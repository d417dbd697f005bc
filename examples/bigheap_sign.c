// SPDX-License-Identifier: MIT
/*
 * The signing side, as a signing tool does it, with nothing but libcrypto.
 *
 * MRENCLAVE (SDM 3D, "ECREATE", "EADD", "EEXTEND"): SHA-256 over 64-byte
 * records, in the order the driver will run the leaves:
 *   ECREATE  "ECREATE\0", SSAFRAMESIZE (u32), SIZE (u64)
 *   EADD     "EADD\0\0\0\0", page offset (u64), the first 48 bytes of SECINFO
 *   EEXTEND  "EEXTEND\0", chunk offset (u64), zeros; then the 256 bytes
 * Offsets are from the enclave base: where ELRANGE lands is not measured.
 *
 * SIGSTRUCT: the SDM's header constants, then the body; the signature is
 * RSASSA-PKCS1-v1_5 with SHA-256 over header (first 128 bytes) || body (128
 * bytes), with a 3072-bit key whose public exponent is 3. EINIT checks the
 * signature with Q1 = floor(s^2 / n) and Q2 = floor((s^3 - Q1*s*n) / n).
 * Modulus, signature, Q1 and Q2 are stored little-endian.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "examples/bigheap.h"

#define SIGNED_HEADER_BYTES	128
#define SIGNED_BODY_OFFSET	900
#define SIGNED_BODY_BYTES	128

_Static_assert(offsetof(struct sgx_sigstruct, body) == SIGNED_BODY_OFFSET, "SIGSTRUCT body");
_Static_assert(sizeof(struct sgx_sigstruct_body) == SIGNED_BODY_BYTES, "SIGSTRUCT body size");

static int sha_record(EVP_MD_CTX *md, const char tag[8], uint64_t a, uint64_t b,
		      const void *tail, size_t tail_len)
{
	uint8_t rec[64] = { 0 };

	memcpy(rec, tag, 8);
	memcpy(rec + 8, &a, 8);
	memcpy(rec + 16, &b, 8);
	if (tail)
		memcpy(rec + 24, tail, tail_len);
	return EVP_DigestUpdate(md, rec, sizeof(rec)) == 1 ? 0 : -1;
}

int bh_measure(const struct bh_image *img, uint8_t mrenclave[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t ecreate[64] = "ECREATE";
	uint32_t ssa = BH_SSA_FRAME_PAGES;
	uint64_t size = img->config.encl_size;
	int ret = -1;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	/* ECREATE packs a u32 then a u64: not the layout sha_record() writes. */
	memcpy(ecreate + 8, &ssa, 4);
	memcpy(ecreate + 12, &size, 8);
	if (EVP_DigestUpdate(md, ecreate, sizeof(ecreate)) != 1)
		goto out;
	for (unsigned int i = 0; i < img->nr_segs; i++) {
		const struct bh_segment *s = &img->seg[i];

		for (uint64_t pg = 0; pg < s->size; pg += BH_PAGE_SIZE) {
			const uint8_t *page = s->src + pg;

			if (sha_record(md, "EADD\0\0\0", s->offset + pg, s->secinfo_flags,
				       NULL, 0))
				goto out;
			if (!s->measure)
				continue;
			for (unsigned int c = 0; c < BH_PAGE_SIZE; c += SGX_EEXTEND_BLOCK_SIZE) {
				if (sha_record(md, "EEXTEND", s->offset + pg + c, 0, NULL, 0) ||
				    EVP_DigestUpdate(md, page + c, SGX_EEXTEND_BLOCK_SIZE) != 1)
					goto out;
			}
		}
	}
	if (EVP_DigestFinal_ex(md, mrenclave, NULL) == 1)
		ret = 0;
out:
	EVP_MD_CTX_free(md);
	return ret;
}

EVP_PKEY *bh_key_generate(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *e = BN_new();

	if (!ctx || !e || !BN_set_word(e, 3) || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, SGX_MODULUS_SIZE * 8) != 1 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
		key = NULL;
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* Q1 and Q2 from the big-endian signature and the modulus, all stored little-endian. */
static int store_signature(const uint8_t *sig_be, size_t sig_len, const BIGNUM *n,
			   struct sgx_sigstruct *ss)
{
	BN_CTX *bctx = BN_CTX_new();
	BIGNUM *s, *t, *q1, *q2, *r;
	int ret = -1;

	if (!bctx)
		return -1;
	BN_CTX_start(bctx);
	s = BN_CTX_get(bctx);
	t = BN_CTX_get(bctx);
	q1 = BN_CTX_get(bctx);
	q2 = BN_CTX_get(bctx);
	r = BN_CTX_get(bctx);
	if (!r || !BN_bin2bn(sig_be, (int)sig_len, s))
		goto out;
	/* s^2 = q1*n + r, so s^3 - q1*s*n = r*s and Q2 = floor(r*s / n). */
	if (!BN_sqr(t, s, bctx) || !BN_div(q1, r, t, n, bctx) || !BN_mul(t, r, s, bctx) ||
	    !BN_div(q2, NULL, t, n, bctx))
		goto out;
	if (BN_bn2lebinpad(s, ss->signature, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE &&
	    BN_bn2lebinpad(q1, ss->q1, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE &&
	    BN_bn2lebinpad(q2, ss->q2, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE)
		ret = 0;
out:
	BN_CTX_end(bctx);
	BN_CTX_free(bctx);
	return ret;
}

int bh_sigstruct_sign(EVP_PKEY *key, const uint8_t mrenclave[32], struct sgx_sigstruct *ss)
{
	uint8_t msg[SIGNED_HEADER_BYTES + SIGNED_BODY_BYTES], sig[SGX_MODULUS_SIZE];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t sig_len = sizeof(sig);
	BIGNUM *n = NULL;
	int ret = -1;

	memset(ss, 0, sizeof(*ss));
	ss->header.header1[0] = SGX_SIGSTRUCT_HEADER1_0;
	ss->header.header1[1] = SGX_SIGSTRUCT_HEADER1_1;
	ss->header.header2[0] = SGX_SIGSTRUCT_HEADER2_0;
	ss->header.header2[1] = SGX_SIGSTRUCT_HEADER2_1;
	ss->header.vendor = 0;
	/* A production enclave: 64-bit, and the signature insists on no DEBUG. */
	ss->body.attributes = SGX_ATTR_MODE64BIT;
	ss->body.attributes_mask = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	ss->body.xfrm = BH_XFRM;
	ss->body.xfrm_mask = BH_XFRM;
	memcpy(ss->body.mrenclave, mrenclave, 32);
	ss->exponent = 3;

	if (!md || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    BN_num_bytes(n) != SGX_MODULUS_SIZE ||
	    BN_bn2lebinpad(n, ss->modulus, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE)
		goto out;
	memcpy(msg, ss, SIGNED_HEADER_BYTES);
	memcpy(msg + SIGNED_HEADER_BYTES, (uint8_t *)ss + SIGNED_BODY_OFFSET, SIGNED_BODY_BYTES);
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, sizeof(msg)) != 1 ||
	    sig_len != SGX_MODULUS_SIZE)
		goto out;
	ret = store_signature(sig, sig_len, n, ss);
out:
	BN_free(n);
	EVP_MD_CTX_free(md);
	return ret;
}

void bh_mrsigner(const struct sgx_sigstruct *ss, uint8_t out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(ss->modulus, SGX_MODULUS_SIZE, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

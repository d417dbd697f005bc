// SPDX-License-Identifier: MIT
/*
 * Symmetric primitives of the emulated CPU: SHA-256 (MRENCLAVE), the
 * measurement records of ECREATE/EADD/EEXTEND, AES-128-GCM (EWB/ELDU page
 * sealing), AES-128-CMAC (REPORT MAC, key derivation) and randomness.
 * RSA (EINIT's SIGSTRUCT check) lives in crypto_rsa.c.
 */

/*
 * The low-level SHA256_CTX API is deprecated in OpenSSL 3 but it is the only
 * one whose state is plain bytes: the CPU keeps the running MRENCLAVE hash
 * inside the SECS's hidden state and must be able to copy it into an
 * encrypted page when the SECS is evicted. EVP_MD_CTX is a heap object with
 * pointers and cannot be serialized.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "cpu/crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(struct sgx_sha256),
	       "struct sgx_sha256 too small for SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(struct sgx_sha256),
	       "struct sgx_sha256 under-aligned for SHA256_CTX");

static SHA256_CTX *sha_ctx(struct sgx_sha256 *h)
{
	return (SHA256_CTX *)h->opaque;
}

/* ---- SHA-256 ---- */

void sgx_sha256_init(struct sgx_sha256 *h)
{
	/* Zero the tail too, so that a serialized state is deterministic. */
	memset(h, 0, sizeof(*h));
	SHA256_Init(sha_ctx(h));
}

void sgx_sha256_update(struct sgx_sha256 *h, const void *data, size_t len)
{
	SHA256_Update(sha_ctx(h), data, len);
}

void sgx_sha256_final(struct sgx_sha256 *h, uint8_t out[32])
{
	SHA256_Final(out, sha_ctx(h));
}

void sgx_sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256(data, len, out);
}

/* ---- MRENCLAVE records (SDM ECREATE/EADD/EEXTEND, facts F.5) ---- */

#define MEASURE_BLOCK_SIZE 64

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void sgx_measure_ecreate(struct sgx_sha256 *h, uint32_t ssa_frame_size, uint64_t size)
{
	uint8_t block[MEASURE_BLOCK_SIZE] = "ECREATE";

	put_le32(block + 8, ssa_frame_size);
	put_le64(block + 12, size);
	sgx_sha256_update(h, block, sizeof(block));
}

void sgx_measure_eadd(struct sgx_sha256 *h, uint64_t offset, uint64_t secinfo_flags)
{
	/* Bytes 16..63 are the first 48 bytes of SECINFO: flags, then zeros. */
	uint8_t block[MEASURE_BLOCK_SIZE] = "EADD";

	put_le64(block + 8, offset);
	put_le64(block + 16, secinfo_flags);
	sgx_sha256_update(h, block, sizeof(block));
}

void sgx_measure_eextend(struct sgx_sha256 *h, uint64_t offset, const void *chunk256)
{
	uint8_t block[MEASURE_BLOCK_SIZE] = "EEXTEND";

	put_le64(block + 8, offset);
	sgx_sha256_update(h, block, sizeof(block));
	sgx_sha256_update(h, chunk256, SGX_EEXTEND_BLOCK_SIZE);
}

/* ---- AES-128-GCM ---- */

/*
 * The key schedule is computed once, in sgx_gcm_new(); each seal/open only
 * sets a new IV on the already keyed context, which keeps a 4 KiB page at
 * around a microsecond. Two contexts because OpenSSL fixes the direction at
 * key time. Not thread-safe: callers keep one object per thread or lock it.
 */
struct sgx_gcm {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

#define GCM_IV_LEN	12
#define GCM_TAG_LEN	16

struct sgx_gcm *sgx_gcm_new(const uint8_t key[16])
{
	struct sgx_gcm *g = calloc(1, sizeof(*g));
	const EVP_CIPHER *aes = EVP_aes_128_gcm();

	if (!g)
		return NULL;
	g->enc = EVP_CIPHER_CTX_new();
	g->dec = EVP_CIPHER_CTX_new();
	if (!g->enc || !g->dec ||
	    EVP_EncryptInit_ex(g->enc, aes, NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(g->dec, aes, NULL, key, NULL) != 1) {
		sgx_gcm_free(g);
		return NULL;
	}
	return g;
}

void sgx_gcm_free(struct sgx_gcm *g)
{
	if (!g)
		return;
	EVP_CIPHER_CTX_free(g->enc);
	EVP_CIPHER_CTX_free(g->dec);
	free(g);
}

/* EVP takes int lengths; pages and PCMDs are far below INT_MAX. */
static bool gcm_len_ok(size_t aad_len, size_t len)
{
	return aad_len <= (size_t)1 << 30 && len <= (size_t)1 << 30;
}

int sgx_gcm_seal(struct sgx_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
		 const void *src, void *dst, size_t len, uint8_t tag[16])
{
	uint8_t tail[GCM_TAG_LEN];
	int outl;

	if (!gcm_len_ok(aad_len, len))
		return -1;
	if (EVP_EncryptInit_ex(g->enc, NULL, NULL, NULL, iv) != 1)
		return -1;
	if (aad_len && EVP_EncryptUpdate(g->enc, NULL, &outl, aad, (int)aad_len) != 1)
		return -1;
	if (len && EVP_EncryptUpdate(g->enc, dst, &outl, src, (int)len) != 1)
		return -1;
	/* GCM emits nothing at final; 'tail' only keeps the pointer valid. */
	if (EVP_EncryptFinal_ex(g->enc, tail, &outl) != 1)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) != 1)
		return -1;
	return 0;
}

int sgx_gcm_open(struct sgx_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
		 const void *src, void *dst, size_t len, const uint8_t tag[16])
{
	uint8_t tag_copy[GCM_TAG_LEN], tail[GCM_TAG_LEN];
	int outl;

	if (!gcm_len_ok(aad_len, len))
		return -1;
	/* The ctrl takes a non-const pointer; never hand it the caller's tag. */
	memcpy(tag_copy, tag, sizeof(tag_copy));
	if (EVP_DecryptInit_ex(g->dec, NULL, NULL, NULL, iv) != 1)
		return -1;
	if (aad_len && EVP_DecryptUpdate(g->dec, NULL, &outl, aad, (int)aad_len) != 1)
		return -1;
	if (len && EVP_DecryptUpdate(g->dec, dst, &outl, src, (int)len) != 1)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(g->dec, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag_copy) != 1)
		return -1;
	/* Final is where the tag is compared (in constant time). */
	if (EVP_DecryptFinal_ex(g->dec, tail, &outl) != 1)
		return -1;
	return 0;
}

/* ---- AES-128-CMAC ---- */

void sgx_cmac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16])
{
	char cipher[] = "AES-128-CBC";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t outl = 0;
	bool ok;

	ok = ctx && EVP_MAC_init(ctx, key, 16, params) == 1 &&
	     EVP_MAC_update(ctx, data, len) == 1 &&
	     EVP_MAC_final(ctx, out, &outl, 16) == 1 && outl == 16;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	/*
	 * The interface has no error path: a MAC is a CPU-internal operation
	 * that cannot fail on real hardware. Failing here means libcrypto is
	 * broken (no default provider); continuing with a wrong MAC would make
	 * every REPORT and derived key silently wrong.
	 */
	if (!ok)
		abort();
}

/* ---- Randomness ---- */

int sgx_random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Cryptographic primitives of the emulated CPU, behind an interface that
 * hides OpenSSL from the leaves. Everything here is pure computation on
 * caller-provided memory: no EPCM knowledge, no locks, thread-safe.
 */
#ifndef SGXEMU_CPU_CRYPTO_H
#define SGXEMU_CPU_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sgxemu/arch.h"

/* ---- SHA-256, incremental (MRENCLAVE is built over many leaves) ---- */
struct sgx_sha256 {
	/* Opaque state, big enough for OpenSSL's SHA256_CTX; copyable. */
	uint64_t opaque[16];
};
void sgx_sha256_init(struct sgx_sha256 *h);
void sgx_sha256_update(struct sgx_sha256 *h, const void *data, size_t len);
void sgx_sha256_final(struct sgx_sha256 *h, uint8_t out[32]);
void sgx_sha256(const void *data, size_t len, uint8_t out[32]);

/*
 * MRENCLAVE records, exactly as the SDM's ECREATE, EADD and EEXTEND feed them
 * to SHA-256 (64-byte blocks; for EEXTEND followed by the 256 data bytes).
 */
void sgx_measure_ecreate(struct sgx_sha256 *h, uint32_t ssa_frame_size, uint64_t size);
void sgx_measure_eadd(struct sgx_sha256 *h, uint64_t offset, uint64_t secinfo_flags);
void sgx_measure_eextend(struct sgx_sha256 *h, uint64_t offset, const void *chunk256);

/* ---- AES-128-GCM page sealing (EWB / ELDU) ---- */
struct sgx_gcm;	/* a key with reusable cipher contexts; one per thread or locked */
struct sgx_gcm *sgx_gcm_new(const uint8_t key[16]);
void sgx_gcm_free(struct sgx_gcm *g);
/*
 * Encrypt 'len' bytes of src into dst (may be equal), authenticating aad too.
 * iv is 12 bytes. Returns 0 or -1.
 */
int sgx_gcm_seal(struct sgx_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
		 const void *src, void *dst, size_t len, uint8_t tag[16]);
/* Returns 0, or -1 if the tag does not verify (dst contents then undefined). */
int sgx_gcm_open(struct sgx_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
		 const void *src, void *dst, size_t len, const uint8_t tag[16]);

/* ---- AES-128-CMAC (REPORT MAC, key derivation) ---- */
void sgx_cmac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16]);

/* ---- SIGSTRUCT (EINIT) ---- */
/*
 * Verify the RSA-3072 signature of a SIGSTRUCT as EINIT does: exponent 3,
 * PKCS#1 v1.5 with SHA-256 over header || body, and Q1/Q2 consistent with
 * signature and modulus (Q1 = floor(S^2 / M), Q2 = floor((S^3 - Q1*S*M) / M)).
 * All big numbers are little-endian as stored in the SIGSTRUCT.
 * Returns SGX_SUCCESS, SGX_INVALID_SIG_STRUCT (malformed fields, exponent
 * not 3) or SGX_INVALID_SIGNATURE.
 */
int sgx_sigstruct_verify(const struct sgx_sigstruct *ss);

/* MRSIGNER = SHA-256 of the 384-byte little-endian modulus as stored. */
void sgx_sigstruct_mrsigner(const struct sgx_sigstruct *ss, uint8_t out[32]);

/* ---- Randomness ---- */
int sgx_random_bytes(void *buf, size_t len);	/* 0 or -1 */

#endif /* SGXEMU_CPU_CRYPTO_H */

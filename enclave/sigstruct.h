/* SPDX-License-Identifier: MIT */
/*
 * The enclave-building side of SGX, as a signing tool (the SDK's sgx_sign,
 * the selftests' sigstruct.c) does it: compute the MRENCLAVE that ECREATE,
 * EADD and EEXTEND will produce, and produce a SIGSTRUCT signed with an
 * RSA-3072 key whose public exponent is 3. Used by the showcase, the example
 * enclave loader and the tests. sgxemu's own code, built on cpu/crypto.h
 * and OpenSSL.
 */
#ifndef SGXEMU_ENCLAVE_SIGSTRUCT_H
#define SGXEMU_ENCLAVE_SIGSTRUCT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/crypto.h"
#include "sgxemu/arch.h"

struct sgx_signer;

/* A fresh RSA-3072 key with e = 3. NULL on failure. */
struct sgx_signer *sgx_signer_generate(void);
/* A key from PEM text (PKCS#1 or PKCS#8 private key, e must be 3). */
struct sgx_signer *sgx_signer_from_pem(const char *pem);
void sgx_signer_free(struct sgx_signer *s);
/* SHA-256 of the little-endian modulus: MRSIGNER and the LEPUBKEYHASH value. */
void sgx_signer_mrsigner(const struct sgx_signer *s, uint8_t out[32]);

/* MRENCLAVE as the CPU will compute it. */
struct sgx_mrenclave {
	struct sgx_sha256 h;
};
void sgx_mrenclave_ecreate(struct sgx_mrenclave *m, uint32_t ssa_frame_size, uint64_t size);
/* One EADD of 'page' at enclave offset 'offset'; measure = the 16 EEXTENDs. */
void sgx_mrenclave_add_page(struct sgx_mrenclave *m, uint64_t offset, uint64_t secinfo_flags,
			    const void *page, bool measure);
void sgx_mrenclave_final(struct sgx_mrenclave *m, uint8_t out[32]);

/*
 * A SIGSTRUCT with the SDM's header constants, vendor 0, date 0, the given
 * enclave hash and attributes/xfrm, masks 0 (the selftests' choice), ISV
 * product id and SVN 0. The caller may change body fields before signing.
 */
void sgx_sigstruct_init(struct sgx_sigstruct *ss, const uint8_t mrenclave[32],
			uint64_t attributes, uint64_t xfrm);
/* Fill modulus, exponent, signature, Q1, Q2. 0 or -1. */
int sgx_sigstruct_sign(const struct sgx_signer *s, struct sgx_sigstruct *ss);

#endif /* SGXEMU_ENCLAVE_SIGSTRUCT_H */

// SPDX-License-Identifier: MIT
/*
 * Tests of cpu/crypto.h: SHA-256 against published vectors, the MRENCLAVE
 * records against blocks built by hand, AES-128-GCM against the GCM spec's
 * vectors and tampering, AES-128-CMAC against RFC 4493.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cpu/crypto.h"
#include "tests/harness.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			abort();
		out[i] = (uint8_t)b;
	}
}

static bool eq_hex(const uint8_t *got, const char *hex)
{
	size_t len = strlen(hex) / 2;
	uint8_t want[64];

	if (len > sizeof(want))
		abort();
	unhex(hex, want, len);
	if (memcmp(got, want, len) == 0)
		return true;
	fprintf(stderr, "    got  ");
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02x", got[i]);
	fprintf(stderr, "\n    want %s\n", hex);
	return false;
}

/* ---- SHA-256 ---- */

TEST(crypto_sha256_vectors)
{
	static const char abc448[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[32];
	struct sgx_sha256 h;

	sgx_sha256("", 0, d);
	CHECK(eq_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	sgx_sha256("abc", 3, d);
	CHECK(eq_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	sgx_sha256(abc448, strlen(abc448), d);
	CHECK(eq_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));

	/* One million 'a', fed in odd-sized pieces through the incremental API. */
	char chunk[997];
	size_t left = 1000000;

	memset(chunk, 'a', sizeof(chunk));
	sgx_sha256_init(&h);
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		sgx_sha256_update(&h, chunk, n);
		left -= n;
	}
	sgx_sha256_final(&h, d);
	CHECK(eq_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

TEST(crypto_sha256_incremental_equals_oneshot)
{
	uint8_t data[1000], one[32], inc[32];
	struct sgx_sha256 h;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	sgx_sha256(data, sizeof(data), one);
	sgx_sha256_init(&h);
	for (size_t i = 0; i < sizeof(data); i++)
		sgx_sha256_update(&h, data + i, 1);
	sgx_sha256_final(&h, inc);
	CHECK(memcmp(one, inc, 32) == 0);
}

/*
 * The CPU stores the running hash in a SECS page and restores it after the
 * SECS was paged out: a byte copy of the state must continue the same hash.
 */
TEST(crypto_sha256_state_survives_byte_copy)
{
	uint8_t data[300], a[32], b[32], page[4096];
	struct sgx_sha256 h, restored;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	sgx_sha256_init(&h);
	sgx_sha256_update(&h, data, 100);	/* mid-block: buffered bytes matter */

	memset(page, 0xA5, sizeof(page));
	memcpy(page + 1000, &h, sizeof(h));
	memset(&h, 0xEE, sizeof(h));		/* the original is gone */
	memcpy(&restored, page + 1000, sizeof(restored));

	sgx_sha256_update(&restored, data + 100, 200);
	sgx_sha256_final(&restored, a);
	sgx_sha256(data, sizeof(data), b);
	CHECK(memcmp(a, b, 32) == 0);
}

/* ---- MRENCLAVE records ---- */

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);	/* x86-64 is little-endian, like the SDM */
}

TEST(crypto_measure_records_match_hand_built_blocks)
{
	uint8_t page[4096], blocks[64 * 3 + 16 * (64 + 256)], *p = blocks;
	uint8_t want[32], got[32];
	struct sgx_sha256 h;

	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i ^ (i >> 8));

	/* ECREATE: "ECREATE\0", SSAFRAMESIZE u32 @8, SIZE u64 @12. */
	memset(blocks, 0, sizeof(blocks));
	memcpy(p, "ECREATE", 8);
	p[8] = 0x01;
	put64(p + 12, 0x123456789000ULL);
	p += 64;
	/* EADD of a TCS at 0. */
	memcpy(p, "EADD", 4);
	put64(p + 8, 0);
	put64(p + 16, 0x100);
	p += 64;
	/* EADD of a measured R|X page at 0x1000, then its 16 EEXTENDs. */
	memcpy(p, "EADD", 4);
	put64(p + 8, 0x1000);
	put64(p + 16, 0x205);
	p += 64;
	for (int k = 0; k < 16; k++) {
		memcpy(p, "EEXTEND", 8);
		put64(p + 8, 0x1000 + k * 256);
		p += 64;
		memcpy(p, page + k * 256, 256);
		p += 256;
	}
	REQUIRE_EQ(p - blocks, sizeof(blocks));
	REQUIRE(EVP_Digest(blocks, sizeof(blocks), want, NULL, EVP_sha256(), NULL) == 1);

	sgx_sha256_init(&h);
	sgx_measure_ecreate(&h, 1, 0x123456789000ULL);
	sgx_measure_eadd(&h, 0, 0x100);
	sgx_measure_eadd(&h, 0x1000, 0x205);
	for (int k = 0; k < 16; k++)
		sgx_measure_eextend(&h, 0x1000 + k * 256, page + k * 256);
	sgx_sha256_final(&h, got);
	CHECK(memcmp(want, got, 32) == 0);
}

TEST(crypto_measure_fields_all_matter)
{
	uint8_t base[32], d[32], chunk[256] = { 0 };
	struct sgx_sha256 h;

	sgx_sha256_init(&h);
	sgx_measure_ecreate(&h, 1, 0x2000);
	sgx_measure_eadd(&h, 0x1000, 0x203);
	sgx_measure_eextend(&h, 0x1000, chunk);
	sgx_sha256_final(&h, base);

	/* Each variant changes one input; each must change the digest. */
	for (int v = 0; v < 5; v++) {
		sgx_sha256_init(&h);
		sgx_measure_ecreate(&h, v == 0 ? 2 : 1, v == 1 ? 0x4000 : 0x2000);
		sgx_measure_eadd(&h, v == 2 ? 0x2000 : 0x1000, v == 3 ? 0x201 : 0x203);
		chunk[255] = v == 4;
		sgx_measure_eextend(&h, 0x1000, chunk);
		chunk[255] = 0;
		sgx_sha256_final(&h, d);
		CHECK(memcmp(base, d, 32) != 0);
	}
}

/* ---- AES-128-GCM ---- */

TEST(crypto_gcm_spec_vectors)
{
	/* Test cases 1 and 2 of McGrew & Viega, "The GCM mode of operation". */
	uint8_t key[16] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16], back[16];
	struct sgx_gcm *g = sgx_gcm_new(key);

	REQUIRE(g);
	REQUIRE_EQ(sgx_gcm_seal(g, iv, NULL, 0, NULL, NULL, 0, tag), 0);
	CHECK(eq_hex(tag, "58e2fccefa7e3061367f1d57a4e7455a"));
	REQUIRE_EQ(sgx_gcm_seal(g, iv, NULL, 0, pt, ct, 16, tag), 0);
	CHECK(eq_hex(ct, "0388dace60b6a392f328c2b971b2fe78"));
	CHECK(eq_hex(tag, "ab6e47d42cec13bdf53a67b21257bddf"));
	CHECK_EQ(sgx_gcm_open(g, iv, NULL, 0, ct, back, 16, tag), 0);
	CHECK(memcmp(back, pt, 16) == 0);
	sgx_gcm_free(g);
}

struct gcm_case {
	uint8_t key[16], iv[12], aad[64], pt[4096], ct[4096], tag[16], out[4096];
};

static void gcm_case_fill(struct gcm_case *c)
{
	REQUIRE_EQ(sgx_random_bytes(c->key, sizeof(c->key)), 0);
	REQUIRE_EQ(sgx_random_bytes(c->iv, sizeof(c->iv)), 0);
	REQUIRE_EQ(sgx_random_bytes(c->aad, sizeof(c->aad)), 0);
	REQUIRE_EQ(sgx_random_bytes(c->pt, sizeof(c->pt)), 0);
}

TEST(crypto_gcm_round_trip_and_tamper)
{
	struct gcm_case *c = malloc(sizeof(*c));
	struct sgx_gcm *g;
	uint8_t iv2[12];

	REQUIRE(c);
	gcm_case_fill(c);
	g = sgx_gcm_new(c->key);
	REQUIRE(g);
	REQUIRE_EQ(sgx_gcm_seal(g, c->iv, c->aad, 64, c->pt, c->ct, 4096, c->tag), 0);
	CHECK(memcmp(c->pt, c->ct, 4096) != 0);
	REQUIRE_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), 0);
	CHECK(memcmp(c->pt, c->out, 4096) == 0);

	c->ct[4095] ^= 0x80;
	CHECK_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), -1);
	c->ct[4095] ^= 0x80;
	c->tag[0] ^= 1;
	CHECK_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), -1);
	c->tag[0] ^= 1;
	c->aad[17] ^= 4;
	CHECK_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), -1);
	c->aad[17] ^= 4;
	CHECK_EQ(sgx_gcm_open(g, c->iv, c->aad, 63, c->ct, c->out, 4096, c->tag), -1);
	memcpy(iv2, c->iv, 12);
	iv2[11] ^= 1;
	CHECK_EQ(sgx_gcm_open(g, iv2, c->aad, 64, c->ct, c->out, 4096, c->tag), -1);

	/* A failed open must not poison the reused context. */
	CHECK_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), 0);
	CHECK(memcmp(c->pt, c->out, 4096) == 0);

	/* A different key refuses it too. */
	c->key[0] ^= 1;
	struct sgx_gcm *other = sgx_gcm_new(c->key);

	REQUIRE(other);
	CHECK_EQ(sgx_gcm_open(other, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), -1);
	sgx_gcm_free(other);
	sgx_gcm_free(g);
	free(c);
}

TEST(crypto_gcm_in_place_and_reuse)
{
	struct gcm_case *c = malloc(sizeof(*c));
	uint8_t buf[4096], tag[16];
	struct sgx_gcm *g;

	REQUIRE(c);
	gcm_case_fill(c);
	g = sgx_gcm_new(c->key);
	REQUIRE(g);
	for (int i = 0; i < 100; i++) {
		c->iv[0] = (uint8_t)i;
		c->pt[i] ^= 0x5A;
		/* Out of place, as the reference. */
		REQUIRE_EQ(sgx_gcm_seal(g, c->iv, c->aad, 64, c->pt, c->ct, 4096, c->tag), 0);
		/* In place gives the same ciphertext and tag. */
		memcpy(buf, c->pt, 4096);
		REQUIRE_EQ(sgx_gcm_seal(g, c->iv, c->aad, 64, buf, buf, 4096, tag), 0);
		CHECK(memcmp(buf, c->ct, 4096) == 0);
		CHECK(memcmp(tag, c->tag, 16) == 0);
		REQUIRE_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, buf, buf, 4096, tag), 0);
		CHECK(memcmp(buf, c->pt, 4096) == 0);
	}
	sgx_gcm_free(g);
	free(c);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Not a benchmark gate: it prints the cost and catches a per-call rekey. */
TEST(crypto_gcm_4k_cost)
{
	struct gcm_case *c = malloc(sizeof(*c));
	const int rounds = 20000;
	struct sgx_gcm *g;
	double t0, per;

	REQUIRE(c);
	gcm_case_fill(c);
	g = sgx_gcm_new(c->key);
	REQUIRE(g);
	t0 = now_ns();
	for (int i = 0; i < rounds; i++) {
		memcpy(c->iv, &i, sizeof(i));
		REQUIRE_EQ(sgx_gcm_seal(g, c->iv, c->aad, 64, c->pt, c->ct, 4096, c->tag), 0);
		REQUIRE_EQ(sgx_gcm_open(g, c->iv, c->aad, 64, c->ct, c->out, 4096, c->tag), 0);
	}
	per = (now_ns() - t0) / rounds;
	printf("    gcm seal+open 4 KiB: %.0f ns\n", per);
	CHECK(per < 100000);	/* generous: sanitizers and a busy machine */
	sgx_gcm_free(g);
	free(c);
}

/* ---- AES-128-CMAC (RFC 4493, section 4) ---- */

TEST(crypto_cmac_rfc4493)
{
	static const char msg_hex[] =
		"6bc1bee22e409f96e93d7e117393172a"
		"ae2d8a571e03ac9c9eb76fac45af8e51"
		"30c81c46a35ce411e5fbc1191a0a52ef"
		"f69f2445df4f9b17ad2b417be66c3710";
	uint8_t key[16], msg[64], mac[16];

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	unhex(msg_hex, msg, 64);
	sgx_cmac(key, msg, 0, mac);
	CHECK(eq_hex(mac, "bb1d6929e95937287fa37d129b756746"));
	sgx_cmac(key, msg, 16, mac);
	CHECK(eq_hex(mac, "070a16b46b4d4144f79bdd9dd04a287c"));
	sgx_cmac(key, msg, 40, mac);
	CHECK(eq_hex(mac, "dfa66747de9ae63030ca32611497c827"));
	sgx_cmac(key, msg, 64, mac);
	CHECK(eq_hex(mac, "51f0bebf7e3b9d92fc49741779363cfe"));
}

/* ---- Randomness ---- */

TEST(crypto_random_bytes)
{
	uint8_t a[64], b[64], zero[64] = { 0 };

	REQUIRE_EQ(sgx_random_bytes(a, sizeof(a)), 0);
	REQUIRE_EQ(sgx_random_bytes(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
	CHECK_EQ(sgx_random_bytes(a, 0), 0);
}

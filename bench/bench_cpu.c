// SPDX-License-Identifier: MIT
/*
 * Benchmark group "cpu": the paging leaves of the emulated CPU against the
 * cost of the cryptography they cannot avoid.
 *
 *   ewb_eldu_ns         one page out and back in: EBLOCK + EWB + ELDU, with
 *                       one ETRACK per 16-page batch (amortised, as the
 *                       kernel's reclaimer does it: EBLOCK a batch, one
 *                       ETRACK, EWB each). No ETRACK/IPI retries happen:
 *                       no logical processor is inside the enclave.
 *   aes_gcm_pair_ns     the floor: OpenSSL EVP AES-128-GCM encrypt + decrypt
 *                       (with tag check) of 4 KiB with reused contexts,
 *                       called directly here, not through cpu/crypto.h.
 *   ewb_eldu_vs_crypto  the ratio of the two (target: <= 1.3).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench/bench.h"
#include "cli/encl_build.h"

#define CPU_BENCH_BATCH		16	/* pages per EBLOCK/ETRACK/EWB/ELDU round */
#define CPU_BENCH_EPC		(4ULL << 20)

struct paging_bench {
	struct sgx_cpu *cpu;
	struct built_encl encl;
	void *va;				/* the VA page (EPC address) */
	uint8_t *backing;			/* CPU_BENCH_BATCH encrypted pages */
	struct sgx_pcmd *pcmd;			/* CPU_BENCH_BATCH PCMDs */
	int error;				/* first failing leaf's result */
};

/* One round: the batch's pages go out to the backing store and come back. */
static int paging_round(struct paging_bench *pb)
{
	struct built_encl *e = &pb->encl;
	int ret;

	for (unsigned int i = 0; i < CPU_BENCH_BATCH; i++) {
		ret = __eblock(pb->cpu, e->pages[i].epc);
		if (ret)
			goto fail;
	}
	ret = __etrack(pb->cpu, e->secs);
	if (ret)
		goto fail;
	for (unsigned int i = 0; i < CPU_BENCH_BATCH; i++) {
		struct sgx_pageinfo pginfo = {
			.contents = SGX_CPU_PTR(pb->backing + i * SGX_PAGE_SIZE),
			.metadata = SGX_CPU_PTR(&pb->pcmd[i]),
		};

		ret = __ewb(pb->cpu, &pginfo, e->pages[i].epc, (uint64_t *)pb->va + i);
		if (ret)
			goto fail;
	}
	/* Each page comes back into the frame it left: the frame is free again. */
	for (unsigned int i = 0; i < CPU_BENCH_BATCH; i++) {
		struct sgx_pageinfo pginfo = {
			.addr = e->base + e->pages[i].offset,
			.contents = SGX_CPU_PTR(pb->backing + i * SGX_PAGE_SIZE),
			.metadata = SGX_CPU_PTR(&pb->pcmd[i]),
			.secs = SGX_CPU_PTR(e->secs),
		};

		ret = __eldu(pb->cpu, &pginfo, e->pages[i].epc, (uint64_t *)pb->va + i);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	pb->error = ret;
	return -1;
}

static int paging_batch(void *arg, unsigned int pages)
{
	for (unsigned int done = 0; done < pages; done += CPU_BENCH_BATCH)
		if (paging_round(arg))
			return -1;
	return 0;
}

static int paging_setup(struct bench_ctx *ctx, struct paging_bench *pb)
{
	struct sgx_cpu_config c;
	uint64_t hint = 0;
	uint8_t *src;
	char err[64];
	int ret;

	memset(pb, 0, sizeof(*pb));
	sgx_cpu_default_config(&c);
	c.epc_size = CPU_BENCH_EPC;
	ret = sgx_cpu_create(&c, &pb->cpu);
	if (ret)
		return bench_fail(ctx, "cpu: cannot create the CPU: %s", strerror(-ret));
	pb->backing = aligned_alloc(SGX_PAGE_SIZE, CPU_BENCH_BATCH * SGX_PAGE_SIZE);
	pb->pcmd = aligned_alloc(128, CPU_BENCH_BATCH * sizeof(*pb->pcmd));
	src = page_alloc();
	if (!pb->backing || !pb->pcmd || !src) {
		free(src);
		return bench_fail(ctx, "cpu: out of memory");
	}
	ret = encl_create(&pb->encl, pb->cpu, 0x100000, 0x100000, SGX_ATTR_MODE64BIT);
	for (unsigned int i = 0; !ret && i < CPU_BENCH_BATCH; i++) {
		memset(src, 0x40 + i, SGX_PAGE_SIZE);
		ret = encl_add_page(&pb->encl, i * SGX_PAGE_SIZE,
				    SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W, src, false);
	}
	free(src);
	if (ret)
		return bench_fail(ctx, "cpu: building the enclave: %s",
				  encl_strerror(ret, err, sizeof(err)));
	hint = pb->encl.frame_hint;
	pb->va = epc_find_free(pb->cpu, &hint);
	ret = pb->va ? __epa(pb->cpu, pb->va) : -ENOSPC;
	if (ret)
		return bench_fail(ctx, "cpu: EPA: %s", encl_strerror(ret, err, sizeof(err)));
	return 0;
}

static void paging_teardown(struct paging_bench *pb)
{
	if (pb->cpu) {
		encl_destroy(&pb->encl);
		if (pb->va)
			__eremove(pb->cpu, pb->va);
		sgx_cpu_destroy(pb->cpu);
	}
	free(pb->backing);
	free(pb->pcmd);
}

struct gcm_bench {
	EVP_CIPHER_CTX *enc, *dec;
	uint8_t iv[12];
	uint8_t tag[16];
	uint8_t *plain, *cipher, *out;
};

static int gcm_pair(struct gcm_bench *g)
{
	int len;

	/* A new IV per page, as EWB uses a new version per eviction. */
	g->iv[0]++;
	if (EVP_EncryptInit_ex(g->enc, NULL, NULL, NULL, g->iv) != 1 ||
	    EVP_EncryptUpdate(g->enc, g->cipher, &len, g->plain, SGX_PAGE_SIZE) != 1 ||
	    EVP_EncryptFinal_ex(g->enc, g->cipher + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_GET_TAG, 16, g->tag) != 1)
		return -1;
	if (EVP_DecryptInit_ex(g->dec, NULL, NULL, NULL, g->iv) != 1 ||
	    EVP_DecryptUpdate(g->dec, g->out, &len, g->cipher, SGX_PAGE_SIZE) != 1 ||
	    EVP_CIPHER_CTX_ctrl(g->dec, EVP_CTRL_GCM_SET_TAG, 16, g->tag) != 1 ||
	    EVP_DecryptFinal_ex(g->dec, g->out + len, &len) != 1)
		return -1;
	return 0;
}

static int gcm_batch(void *arg, unsigned int iters)
{
	for (unsigned int i = 0; i < iters; i++)
		if (gcm_pair(arg))
			return -1;
	return 0;
}

static int gcm_setup(struct gcm_bench *g)
{
	static const uint8_t key[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6 };

	memset(g, 0, sizeof(*g));
	g->enc = EVP_CIPHER_CTX_new();
	g->dec = EVP_CIPHER_CTX_new();
	g->plain = calloc(3, SGX_PAGE_SIZE);
	if (!g->enc || !g->dec || !g->plain)
		return -1;
	g->cipher = g->plain + SGX_PAGE_SIZE;
	g->out = g->cipher + SGX_PAGE_SIZE;
	memset(g->plain, 0x5a, SGX_PAGE_SIZE);
	if (EVP_EncryptInit_ex(g->enc, EVP_aes_128_gcm(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(g->dec, EVP_aes_128_gcm(), NULL, key, NULL) != 1)
		return -1;
	return 0;
}

static void gcm_teardown(struct gcm_bench *g)
{
	EVP_CIPHER_CTX_free(g->enc);
	EVP_CIPHER_CTX_free(g->dec);
	free(g->plain);
}

BENCH(cpu, "EWB/ELDU paging leaves against the AES-GCM floor")
{
	unsigned int pages = ctx->quick ? CPU_BENCH_BATCH : 64 * CPU_BENCH_BATCH;
	struct paging_bench pb;
	struct gcm_bench g;
	double paging_ns = 0, gcm_ns = 0;
	char err[64];
	int ret = 0;

	if (gcm_setup(&g) || bench_measure(ctx, gcm_batch, &g, pages, &gcm_ns))
		ret = bench_fail(ctx, "cpu: OpenSSL AES-128-GCM failed");
	gcm_teardown(&g);
	if (ret)
		return ret;
	if (paging_setup(ctx, &pb)) {
		paging_teardown(&pb);
		return -1;
	}
	if (bench_measure(ctx, paging_batch, &pb, pages, &paging_ns))
		ret = bench_fail(ctx, "cpu: a paging leaf failed: %s",
				 encl_strerror(pb.error, err, sizeof(err)));
	paging_teardown(&pb);
	if (ret)
		return ret;
	bench_metric("ewb_eldu_ns", paging_ns, "ns");
	bench_metric("aes_gcm_pair_ns", gcm_ns, "ns");
	bench_metric("ewb_eldu_vs_crypto", paging_ns / gcm_ns, "x");
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * Benchmark group "swap": the cost of an oversubscribed enclave.
 *
 *   swap_ns        per page of a sweep over a region twice the size of the
 *                  EPC, touched (one 8-byte write) page by page through a
 *                  real window: every touch faults (SIGBUS), the fault path
 *                  loads the page (ELDU + UFFDIO_COPY + alias), and ksgxd
 *                  and direct reclaim evict (EBLOCK + ETRACK + EWB + punch)
 *                  to make room.
 *   floor_swap_ns  the unavoidable work per page, in the same run, on a
 *                  plain memfd of the same size registered on a userfaultfd
 *                  in SIGBUS mode: evict (AES-128-GCM encrypt of the page +
 *                  PUNCH_HOLE, 16 adjacent pages per call), then fault
 *                  (SIGBUS) + decrypt + UFFDIO_COPY, all in the faulting
 *                  thread.
 *   swap_vs_floor  the ratio (target <= 1.5).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "asm/sgx.h"
#include "bench/bench.h"
#include "sgx/platform.h"

#define SWAP_EPC_PAGES		2048		/* 8 MiB */
#define SWAP_QUICK_EPC_PAGES	256
#define SWAP_BASE		0x7b0000000000ULL
#define FLOOR_BATCH		16

/* ---- The floor: a memfd, a userfaultfd and AES-GCM, nothing else ---- */

struct floor_swap {
	uint8_t *map;			/* the memfd, mapped */
	unsigned long pages, capacity;	/* region size, resident pages allowed */
	int memfd, uffd;
	uint8_t *sealed;		/* ciphertext of every page */
	uint8_t (*tag)[16];
	uint64_t *version;		/* IV per page, 0 = never evicted */
	unsigned long *fifo;		/* resident pages, oldest first (a ring) */
	unsigned long head, count;
	EVP_CIPHER_CTX *enc, *dec;
	uint8_t *buf;			/* decrypted page */
	unsigned long cursor;
	int error;
};

/* The signal handler's only way to its state. */
static struct floor_swap *floor_active;

static void floor_iv(uint8_t iv[12], unsigned long page, uint64_t version)
{
	memcpy(iv, &page, 4);
	memcpy(iv + 4, &version, 8);
}

static void floor_evict_batch(struct floor_swap *f)
{
	unsigned long first = f->fifo[f->head], run = 0, prev = 0;
	unsigned int i;

	for (i = 0; i < FLOOR_BATCH && f->count; i++) {
		unsigned long pg = f->fifo[f->head];
		uint8_t iv[12];
		int len;

		f->head = (f->head + 1) % f->capacity;
		f->count--;
		floor_iv(iv, pg, ++f->version[pg]);
		if (EVP_EncryptInit_ex(f->enc, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(f->enc, f->sealed + pg * 4096, &len, f->map + pg * 4096,
				      4096) != 1 ||
		    EVP_EncryptFinal_ex(f->enc, f->sealed + pg * 4096 + len, &len) != 1 ||
		    EVP_CIPHER_CTX_ctrl(f->enc, EVP_CTRL_GCM_GET_TAG, 16, f->tag[pg]) != 1)
			f->error = -1;
		/* Punch adjacent pages together, as the reclaimer does. */
		if (run && pg != prev + 1) {
			fallocate(f->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)(first * 4096), (off_t)(run * 4096));
			first = pg;
			run = 0;
		}
		prev = pg;
		run++;
	}
	if (run)
		fallocate(f->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(first * 4096), (off_t)(run * 4096));
}

static struct sigaction floor_prev_sigbus;	/* restored by floor_teardown() */

static void floor_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct floor_swap *f = floor_active;
	unsigned long pg = f ? ((unsigned long)si->si_addr - (unsigned long)f->map) / 4096 : 0;
	struct uffdio_copy copy;
	uint8_t iv[12];
	int len;

	if (!f || pg >= f->pages) {
		signal(SIGBUS, SIG_DFL);
		return;
	}
	if (f->count == f->capacity)
		floor_evict_batch(f);
	memset(f->buf, 0, 4096);
	if (f->version[pg]) {
		floor_iv(iv, pg, f->version[pg]);
		if (EVP_DecryptInit_ex(f->dec, NULL, NULL, NULL, iv) != 1 ||
		    EVP_DecryptUpdate(f->dec, f->buf, &len, f->sealed + pg * 4096, 4096) != 1 ||
		    EVP_CIPHER_CTX_ctrl(f->dec, EVP_CTRL_GCM_SET_TAG, 16, f->tag[pg]) != 1 ||
		    EVP_DecryptFinal_ex(f->dec, f->buf + len, &len) != 1)
			f->error = -1;
	}
	copy = (struct uffdio_copy){ .dst = (uintptr_t)(f->map + pg * 4096),
				     .src = (uintptr_t)f->buf, .len = 4096,
				     .mode = UFFDIO_COPY_MODE_DONTWAKE };
	if (ioctl(f->uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
		f->error = -1;
	f->fifo[(f->head + f->count) % f->capacity] = pg;
	f->count++;
}

static int floor_batch(void *arg, unsigned int iters)
{
	struct floor_swap *f = arg;

	for (unsigned int i = 0; i < iters; i++) {
		((volatile uint64_t *)(f->map + f->cursor * 4096))[0] += 1;
		f->cursor = (f->cursor + 1) % f->pages;
	}
	return f->error;
}

static int floor_setup(struct floor_swap *f, unsigned long pages, unsigned long capacity)
{
	static const uint8_t key[16] = { 0x2b, 0x7e, 0x15, 0x16 };
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM };
	struct uffdio_register reg;
	struct sigaction sa;

	memset(f, 0, sizeof(*f));
	f->pages = pages;
	f->capacity = capacity;
	f->memfd = memfd_create("floor", MFD_CLOEXEC);
	f->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (f->memfd < 0 || f->uffd < 0 || ftruncate(f->memfd, (off_t)(pages * 4096)) ||
	    ioctl(f->uffd, UFFDIO_API, &api))
		return -1;
	f->map = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->map == MAP_FAILED)
		return -1;
	reg = (struct uffdio_register){ .range = { (uintptr_t)f->map, pages * 4096 },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	f->sealed = malloc(pages * 4096);
	f->tag = calloc(pages, 16);
	f->version = calloc(pages, sizeof(*f->version));
	f->fifo = calloc(capacity, sizeof(*f->fifo));
	f->buf = aligned_alloc(4096, 4096);
	f->enc = EVP_CIPHER_CTX_new();
	f->dec = EVP_CIPHER_CTX_new();
	if (ioctl(f->uffd, UFFDIO_REGISTER, &reg) || !f->sealed || !f->tag || !f->version ||
	    !f->fifo || !f->buf || !f->enc || !f->dec ||
	    EVP_EncryptInit_ex(f->enc, EVP_aes_128_gcm(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(f->dec, EVP_aes_128_gcm(), NULL, key, NULL) != 1)
		return -1;
	floor_active = f;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = floor_sigbus;
	sa.sa_flags = SA_SIGINFO;
	return sigaction(SIGBUS, &sa, &floor_prev_sigbus);
}

static void floor_teardown(struct floor_swap *f)
{
	/*
	 * Give SIGBUS back to whoever had it (the EPC manager's fault handler,
	 * installed once per process, serves the other groups' windows).
	 */
	sigaction(SIGBUS, &floor_prev_sigbus, NULL);
	floor_active = NULL;
	if (f->map && f->map != MAP_FAILED)
		munmap(f->map, f->pages * 4096);
	if (f->memfd >= 0)
		close(f->memfd);
	if (f->uffd >= 0)
		close(f->uffd);
	free(f->sealed);
	free(f->tag);
	free(f->version);
	free(f->fifo);
	free(f->buf);
	EVP_CIPHER_CTX_free(f->enc);
	EVP_CIPHER_CTX_free(f->dec);
}

/* ---- The real thing: an enclave twice the EPC, through a window ---- */

struct enclave_swap {
	struct sgx_platform *p;
	struct sgx_encl *encl;
	unsigned long pages, cursor;
};

static int swap_batch(void *arg, unsigned int iters)
{
	struct enclave_swap *s = arg;

	for (unsigned int i = 0; i < iters; i++) {
		((volatile uint64_t *)(uintptr_t)(SWAP_BASE + s->cursor * 4096))[0] += 1;
		s->cursor = (s->cursor + 1) % s->pages;
	}
	return 0;
}

static int swap_setup(struct bench_ctx *ctx, struct enclave_swap *s, unsigned long epc_pages)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages add;
	struct sgx_enclave_create create;
	struct sgx_platform_config c;
	struct sgx_secs *secs;
	unsigned long chunk = 256, off;
	uint8_t *src;
	long ret;

	memset(s, 0, sizeof(*s));
	s->pages = 2 * epc_pages;
	sgx_platform_default_config(&c);
	c.cpu_config.epc_size = epc_pages * 4096;
	c.cpu_config.nr_sections = 1;
	ret = sgx_platform_create(&c, &s->p);
	if (ret)
		return bench_fail(ctx, "swap: cannot create the platform: %s", strerror((int)-ret));
	if (!sgx_platform_has_windows(s->p) || sgx_fault_install_sigbus_handler(s->p))
		return bench_fail(ctx, "swap: no userfaultfd: enclave windows unavailable");
	if (sgx_open(s->p, &s->encl))
		return bench_fail(ctx, "swap: open failed");

	secs = aligned_alloc(4096, 4096);
	src = aligned_alloc(4096, chunk * 4096);
	if (!secs || !src) {
		free(secs);
		free(src);
		return bench_fail(ctx, "swap: out of memory");
	}
	memset(secs, 0, 4096);
	secs->base = SWAP_BASE;
	secs->size = s->pages * 4096;	/* a power of two */
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = 3;
	create.src = (uintptr_t)secs;
	ret = sgx_ioctl(s->encl, SGX_IOC_ENCLAVE_CREATE, (unsigned long)&create);
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	memset(src, 0x5a, chunk * 4096);
	for (off = 0; !ret && off < s->pages * 4096; off += chunk * 4096) {
		add = (struct sgx_enclave_add_pages){ .src = (uintptr_t)src, .offset = off,
						      .length = chunk * 4096,
						      .secinfo = (uintptr_t)&secinfo };
		ret = sgx_ioctl(s->encl, SGX_IOC_ENCLAVE_ADD_PAGES, (unsigned long)&add);
	}
	free(secs);
	free(src);
	if (ret)
		return bench_fail(ctx, "swap: building the enclave: %s", strerror((int)-ret));
	ret = sgx_mmap(s->encl, SWAP_BASE, s->pages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (ret)
		return bench_fail(ctx, "swap: mmap: %s", strerror((int)-ret));
	return 0;
}

static void swap_teardown(struct enclave_swap *s)
{
	if (s->encl) {
		sgx_munmap(s->p, SWAP_BASE, s->pages * 4096);
		sgx_release(s->encl);
	}
	if (s->p)
		sgx_platform_destroy(s->p);
}

BENCH(swap, "oversubscribed sweep through an enclave window against the paging floor")
{
	unsigned long epc = ctx->quick ? SWAP_QUICK_EPC_PAGES : SWAP_EPC_PAGES;
	struct sgx_platform_stats st;
	struct enclave_swap s;
	struct floor_swap f;
	double swap_ns = 0, floor_ns = 0;
	int ret = 0;

	/* One sweep per batch; the first sweeps (warm-up) fill and overflow the EPC. */
	if (floor_setup(&f, 2 * epc, epc) || floor_batch(&f, 2 * epc) ||
	    bench_measure(ctx, floor_batch, &f, 2 * epc, &floor_ns))
		ret = bench_fail(ctx, "swap: the floor loop failed");
	floor_teardown(&f);
	if (ret)
		return ret;

	if (swap_setup(ctx, &s, epc)) {
		swap_teardown(&s);
		return -1;
	}
	swap_batch(&s, 2 * epc);
	if (bench_measure(ctx, swap_batch, &s, 2 * epc, &swap_ns))
		ret = bench_fail(ctx, "swap: the sweep failed");
	sgx_platform_get_stats(s.p, &st);
	swap_teardown(&s);
	if (ret)
		return ret;
	if (st.fault_sigbus || st.ewb_lost)
		return bench_fail(ctx, "swap: %lu faults failed, %lu pages lost",
				  (unsigned long)st.fault_sigbus, (unsigned long)st.ewb_lost);
	bench_metric("swap_ns", swap_ns, "ns");
	bench_metric("floor_swap_ns", floor_ns, "ns");
	bench_metric("swap_vs_floor", swap_ns / floor_ns, "x");
	fprintf(stderr, "bench: swap: %lu ewb, %lu eldu, %lu faults (%lu retried), %lu ksgxd and "
		"%lu direct reclaim passes, %lu punch calls\n",
		(unsigned long)st.ewb, (unsigned long)st.eldu, (unsigned long)st.faults,
		(unsigned long)st.fault_retries, (unsigned long)st.ksgxd_passes,
		(unsigned long)st.direct_reclaim_passes, (unsigned long)st.punches);
	return 0;
}

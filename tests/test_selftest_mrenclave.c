// SPDX-License-Identifier: MIT
/*
 * MRENCLAVE of the emulated CPU == what Linux's SGX selftest computes.
 *
 * scripts/selftest-mrenclave.sh builds build/selftests/harness/mrenclave_dump
 * (tests/selftest/mrenclave_dump.c linked with the selftest's own
 * sigstruct.o): it lays test_encl.elf out as the selftest's load.c does,
 * calls the selftest's encl_measure() and writes down the pages and the
 * SIGSTRUCT. Here every page goes through ECREATE, EADD and EEXTEND on a
 * fresh CPU and EINIT gets *their* SIGSTRUCT: SGX_SUCCESS proves that our
 * measurement, RSA check and launch control agree with theirs.
 *
 * The tests SKIP when the harness has not been built (no selftest sources on
 * this machine). They find it in $SGXEMU_SELFTEST_DIR, else in
 * <repo>/build/selftests (the repo found from this binary's path), else in
 * ./build/selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "cpu/crypto.h"
#include "enclave/sigstruct.h"
#include "sgxemu/arch.h"
#include "tests/harness.h"

#define ST_MAX_SEGMENTS		64
#define ST_MAX_ENCL_SIZE	(1ULL << 30)
/* Any 2^n-aligned base works for MRENCLAVE; this one is aligned to 1 TiB. */
#define ST_ENCL_BASE		(1ULL << 40)

struct st_segment {
	uint64_t offset, size, flags;
	bool measure;
};

/* What mrenclave_dump wrote for one heap size. */
struct st_dump {
	uint64_t encl_size, src_size;
	unsigned int nr_segments;
	struct st_segment seg[ST_MAX_SEGMENTS];
	uint8_t *pages;			/* page aligned, the segments back to back */
	uint64_t pages_len;
	struct sgx_sigstruct *ss;	/* page aligned, as EINIT requires */
};

/* An enclave built on the CPU from a dump: SECS in frame 0, page i in frame i + 1. */
struct st_encl {
	struct sgx_cpu *cpu;
	void *secs;
	uint64_t nr_pages;
};

/* out = a + b, false if it does not fit. */
static bool path_join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s%s", a, b);

	return n >= 0 && (size_t)n < len;
}

static bool is_file(const char *path, bool exec)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	       (!exec || !access(path, X_OK));
}

static bool root_ok(const char *root)
{
	char p[PATH_MAX];

	if (!path_join(p, sizeof(p), root, "/harness/mrenclave_dump") || !is_file(p, true))
		return false;
	return path_join(p, sizeof(p), root, "/sgx/test_encl.elf") && is_file(p, false);
}

/* The selftest output root, or false if the harness was never built. */
static bool find_selftest_root(char *root, size_t len)
{
	const char *env = getenv("SGXEMU_SELFTEST_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(root, len, "%s", env);
		return root_ok(root);
	}
	/* <repo>/<build dir>/tests/sgxemu-tests -> <repo>/build/selftests */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');

			if (!slash)
				break;
			*slash = 0;
		}
		if (path_join(root, len, exe, "/build/selftests") && root_ok(root))
			return true;
	}
	snprintf(root, len, "build/selftests");
	return root_ok(root);
}

static int run_dumper(const char *root, unsigned long heap_size, const char *outdir)
{
	char bin[PATH_MAX], elf[PATH_MAX], heap[32];
	int status;
	pid_t pid;

	if (!path_join(bin, sizeof(bin), root, "/harness/mrenclave_dump") ||
	    !path_join(elf, sizeof(elf), root, "/sgx/test_encl.elf"))
		return -1;
	snprintf(heap, sizeof(heap), "%lu", heap_size);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *const argv[] = { bin, elf, heap, (char *)outdir, NULL };

		execv(bin, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void *read_whole(const char *dir, const char *name, uint64_t *len)
{
	char path[PATH_MAX];
	struct stat sb;
	uint8_t *buf;
	size_t done = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) || sb.st_size <= 0 || (uint64_t)sb.st_size > ST_MAX_ENCL_SIZE) {
		close(fd);
		return NULL;
	}
	buf = aligned_alloc(SGX_PAGE_SIZE, (sb.st_size + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	while (buf && done < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + done, sb.st_size - done);

		if (n <= 0) {
			free(buf);
			buf = NULL;
			break;
		}
		done += n;
	}
	close(fd);
	*len = sb.st_size;
	return buf;
}

static void remove_dump_dir(const char *dir)
{
	static const char *const names[] = { "sigstruct.bin", "segments.txt", "pages.bin" };
	char path[PATH_MAX];

	for (unsigned int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static bool parse_segments(const char *dir, struct st_dump *d)
{
	char path[PATH_MAX];
	uint64_t total = 0, next = 0;
	bool ok = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/segments.txt", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "encl_size %" SCNx64 " src_size %" SCNx64 " nr_segments %u ",
		   &d->encl_size, &d->src_size, &d->nr_segments) != 3 ||
	    !d->nr_segments || d->nr_segments > ST_MAX_SEGMENTS)
		ok = false;
	for (unsigned int i = 0; ok && i < d->nr_segments; i++) {
		struct st_segment *s = &d->seg[i];
		int measure;

		if (fscanf(f, "offset %" SCNx64 " size %" SCNx64 " flags %" SCNx64 " measure %d ",
			   &s->offset, &s->size, &s->flags, &measure) != 4) {
			ok = false;
			break;
		}
		s->measure = measure;
		/* Segments are page multiples, contiguous from offset 0. */
		if (s->offset != next || !s->size || s->size % SGX_PAGE_SIZE ||
		    s->size > ST_MAX_ENCL_SIZE)
			ok = false;
		next = s->offset + s->size;
		total += s->size;
	}
	fclose(f);
	return ok && next == d->src_size && total == d->src_size &&
	       d->encl_size >= d->src_size && d->encl_size <= ST_MAX_ENCL_SIZE &&
	       !(d->encl_size & (d->encl_size - 1));
}

static void free_dump(struct st_dump *d)
{
	free(d->pages);
	free(d->ss);
	memset(d, 0, sizeof(*d));
}

/* Run the selftest's signing code for 'heap_size' and load what it wrote. */
static bool load_dump(unsigned long heap_size, struct st_dump *d)
{
	char root[PATH_MAX], dir[] = "/tmp/sgxemu-st-mre.XXXXXX";
	uint64_t ss_len = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!find_selftest_root(root, sizeof(root)))
		SKIP("MRENCLAVE harness not built (run scripts/selftest-mrenclave.sh)");
	if (!mkdtemp(dir)) {
		test_fail_at(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		return false;
	}
	rc = run_dumper(root, heap_size, dir);
	if (rc) {
		test_fail_at(__FILE__, __LINE__, "mrenclave_dump exited with %d", rc);
		remove_dump_dir(dir);
		return false;
	}
	if (!parse_segments(dir, d)) {
		test_fail_at(__FILE__, __LINE__, "malformed segments.txt");
		remove_dump_dir(dir);
		return false;
	}
	d->pages = read_whole(dir, "pages.bin", &d->pages_len);
	d->ss = read_whole(dir, "sigstruct.bin", &ss_len);
	remove_dump_dir(dir);
	if (!d->pages || d->pages_len != d->src_size || !d->ss ||
	    ss_len != sizeof(struct sgx_sigstruct)) {
		test_fail_at(__FILE__, __LINE__, "pages.bin/sigstruct.bin missing or wrong size");
		free_dump(d);
		return false;
	}
	return true;
}

static struct sgx_cpu *st_cpu_create(void)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;

	sgx_cpu_default_config(&c);
	c.epc_size = 8ULL << 20;	/* 2048 frames: more than the 1 MiB heap needs */
	if (sgx_cpu_create(&c, &cpu))
		return NULL;
	return cpu;
}

static void set_lehash(struct sgx_cpu *cpu, const uint8_t hash[32])
{
	uint64_t v;

	for (unsigned int i = 0; i < 4; i++) {
		memcpy(&v, hash + 8 * i, 8);
		CHECK_EQ(sgx_cpu_wrmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH0 + i, v), 0);
	}
}

/*
 * ECREATE as load.c's encl_ioc_create() asks for it, then EADD (+ the 16
 * EEXTENDs of a measured page) of every page of every segment in order, as
 * the kernel's SGX_IOC_ENCLAVE_ADD_PAGES does. Returns the first failing
 * leaf's result; pages added so far stay counted in e->nr_pages.
 */
static int st_build(struct st_encl *e, struct sgx_cpu *cpu, const struct st_dump *d)
{
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	struct sgx_secinfo secinfo = { .flags = SGX_SECINFO_SECS };
	struct sgx_pageinfo pi = { 0 };
	uint64_t page = 0;
	int ret;

	memset(e, 0, sizeof(*e));
	e->cpu = cpu;
	if (!secs)
		return -ENOMEM;
	if (d->src_size / SGX_PAGE_SIZE + 1 > sgx_cpu_nr_frames(cpu)) {
		free(secs);
		return -ENOSPC;
	}
	memset(secs, 0, sizeof(*secs));
	secs->ssa_frame_size = 1;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = 3;
	secs->base = ST_ENCL_BASE;
	secs->size = d->encl_size;
	pi.contents = SGX_CPU_PTR(secs);
	pi.metadata = SGX_CPU_PTR(&secinfo);
	ret = __ecreate(cpu, &pi, sgx_cpu_frame_addr(cpu, 0));
	free(secs);
	if (ret)
		return ret;
	e->secs = sgx_cpu_frame_addr(cpu, 0);

	for (unsigned int i = 0; i < d->nr_segments; i++) {
		const struct st_segment *s = &d->seg[i];

		for (uint64_t off = 0; off < s->size; off += SGX_PAGE_SIZE, page++) {
			uint8_t *epc = sgx_cpu_frame_addr(cpu, page + 1);

			memset(&secinfo, 0, sizeof(secinfo));
			secinfo.flags = s->flags;
			pi.addr = ST_ENCL_BASE + s->offset + off;
			pi.contents = SGX_CPU_PTR(d->pages + s->offset + off);
			pi.metadata = SGX_CPU_PTR(&secinfo);
			pi.secs = SGX_CPU_PTR(e->secs);
			ret = __eadd(cpu, &pi, epc);
			if (ret)
				return ret;
			e->nr_pages++;
			for (unsigned int c = 0; s->measure && c < 16; c++) {
				ret = __eextend(cpu, e->secs, epc + c * SGX_EEXTEND_BLOCK_SIZE);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

/* EREMOVE every page, then the SECS; the EPCM must be empty and consistent. */
static void st_destroy(struct st_encl *e)
{
	struct sgx_epcm_info info;
	char why[256];

	for (uint64_t i = 0; i < e->nr_pages; i++)
		CHECK_EQ(__eremove(e->cpu, sgx_cpu_frame_addr(e->cpu, i + 1)), 0);
	if (e->secs)
		CHECK_EQ(__eremove(e->cpu, e->secs), 0);
	for (uint64_t i = 0; i <= e->nr_pages; i++) {
		REQUIRE_EQ(sgx_epcm_read(e->cpu, sgx_cpu_frame_addr(e->cpu, i), &info), 0);
		CHECK(!info.valid);
	}
	if (sgx_cpu_check_invariants(e->cpu, why, sizeof(why)))
		test_fail_at(__FILE__, __LINE__, "EPCM invariants: %s", why);
}

static int st_einit(struct st_encl *e, const struct sgx_sigstruct *ss)
{
	struct sgx_einittoken *token = aligned_alloc(512, sizeof(*token));
	int ret;

	if (!token)
		return -ENOMEM;
	memset(token, 0, sizeof(*token));	/* invalid token: launch control decides */
	ret = __einit(e->cpu, (void *)ss, token, e->secs);
	free(token);
	return ret;
}

/* The whole proof for one heap size. */
static void check_selftest_enclave(unsigned long heap_size)
{
	struct sgx_secs *secs;
	struct sgx_mrenclave ours;
	uint8_t lehash[32], wrong[32], mr[32];
	struct st_encl e;
	struct st_dump d;
	struct sgx_cpu *cpu;
	uint64_t page = 0;

	if (!load_dump(heap_size, &d))
		return;
	/* The layout load.c produces: TCS first, the unmeasured heap last. */
	CHECK_EQ(d.seg[0].flags, SGX_SECINFO_TCS);
	CHECK(d.seg[0].measure);
	CHECK_EQ(d.seg[d.nr_segments - 1].flags, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	CHECK(!d.seg[d.nr_segments - 1].measure);
	CHECK_EQ(d.seg[d.nr_segments - 1].size, heap_size);
	CHECK_EQ(d.ss->exponent, 3);

	/* Our own calculator (enclave/sigstruct.h) must agree with sigstruct.c too. */
	sgx_mrenclave_ecreate(&ours, 1, d.encl_size);
	for (unsigned int i = 0; i < d.nr_segments; i++)
		for (uint64_t off = 0; off < d.seg[i].size; off += SGX_PAGE_SIZE)
			sgx_mrenclave_add_page(&ours, d.seg[i].offset + off, d.seg[i].flags,
					       d.pages + d.seg[i].offset + off, d.seg[i].measure);
	sgx_mrenclave_final(&ours, mr);
	CHECK(!memcmp(mr, d.ss->body.mrenclave, 32));

	cpu = st_cpu_create();
	if (!cpu) {
		test_fail_at(__FILE__, __LINE__, "sgx_cpu_create failed");
		free_dump(&d);
		return;
	}
	CHECK_EQ(st_build(&e, cpu, &d), 0);
	CHECK_EQ(e.nr_pages, d.src_size / SGX_PAGE_SIZE);

	/* Launch control: a foreign key hash refuses their enclave... */
	sgx_sha256(d.ss->modulus, SGX_MODULUS_SIZE, lehash);
	memcpy(wrong, lehash, 32);
	wrong[0] ^= 1;
	set_lehash(cpu, wrong);
	CHECK_EQ(st_einit(&e, d.ss), SGX_INVALID_EINITTOKEN);
	/* ...the hash of their modulus launches it. */
	set_lehash(cpu, lehash);
	CHECK_EQ(st_einit(&e, d.ss), SGX_SUCCESS);

	secs = sgx_epc_data(cpu, e.secs);
	REQUIRE(secs);
	CHECK(!memcmp(secs->mrenclave, d.ss->body.mrenclave, 32));
	CHECK(!memcmp(secs->mrsigner, lehash, 32));
	CHECK(secs->attributes & SGX_ATTR_INIT);
	/* A second EINIT of an initialised enclave is a #GP. */
	CHECK_EQ(st_einit(&e, d.ss), SGX_ENCLS_FAULT_FLAG | X86_TRAP_GP);

	/* Every page landed where load.c puts it, with its bytes. */
	for (unsigned int i = 0; i < d.nr_segments; i++) {
		for (uint64_t off = 0; off < d.seg[i].size; off += SGX_PAGE_SIZE, page++) {
			struct sgx_epcm_info info;
			void *epc = sgx_cpu_frame_addr(cpu, page + 1);

			REQUIRE_EQ(sgx_epcm_read(cpu, epc, &info), 0);
			CHECK(info.valid);
			CHECK_EQ(info.linaddr, ST_ENCL_BASE + d.seg[i].offset + off);
			CHECK_EQ(info.page_type, d.seg[i].flags >> SGX_SECINFO_PAGE_TYPE_SHIFT);
			if (d.seg[i].flags >> SGX_SECINFO_PAGE_TYPE_SHIFT == SGX_PAGE_TYPE_REG)
				CHECK(!memcmp(sgx_epc_data(cpu, epc),
					      d.pages + d.seg[i].offset + off, SGX_PAGE_SIZE));
		}
	}

	st_destroy(&e);
	sgx_cpu_destroy(cpu);
	free_dump(&d);
}

TEST(selftest_mrenclave_einit_heap_4k)
{
	check_selftest_enclave(4096);
}

TEST_TIMEOUT(selftest_mrenclave_einit_heap_1m, 120)
{
	check_selftest_enclave(1UL << 20);
}

/* Build the selftest enclave with one byte of page 'page' flipped; EINIT's result. */
static int einit_with_flipped_byte(struct st_dump *d, uint64_t page, uint64_t byte)
{
	uint8_t lehash[32];
	struct st_encl e;
	struct sgx_cpu *cpu = st_cpu_create();
	int ret;

	if (!cpu)
		return -ENOMEM;
	d->pages[page * SGX_PAGE_SIZE + byte] ^= 0x80;
	ret = st_build(&e, cpu, d);
	d->pages[page * SGX_PAGE_SIZE + byte] ^= 0x80;
	if (!ret) {
		sgx_sha256(d->ss->modulus, SGX_MODULUS_SIZE, lehash);
		set_lehash(cpu, lehash);
		ret = st_einit(&e, d->ss);
	} else {
		test_fail_at(__FILE__, __LINE__, "building the enclave failed: %d", ret);
		ret = -EIO;
	}
	st_destroy(&e);
	sgx_cpu_destroy(cpu);
	return ret;
}

static uint64_t first_page_of_type(const struct st_dump *d, uint64_t flags, bool measure)
{
	for (unsigned int i = 0; i < d->nr_segments; i++)
		if (d->seg[i].flags == flags && d->seg[i].measure == measure)
			return d->seg[i].offset / SGX_PAGE_SIZE;
	return UINT64_MAX;
}

TEST(selftest_mrenclave_tampered_page_refused)
{
	uint64_t text, data, heap;
	struct st_dump d;

	if (!load_dump(4096, &d))
		return;
	text = first_page_of_type(&d, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X, true);
	data = first_page_of_type(&d, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W, true);
	heap = first_page_of_type(&d, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W, false);
	CHECK(text != UINT64_MAX && data != UINT64_MAX && heap != UINT64_MAX);
	if (text != UINT64_MAX)		/* one byte of code, in the last 256-byte chunk */
		CHECK_EQ(einit_with_flipped_byte(&d, text, 4000), SGX_INVALID_MEASUREMENT);
	if (data != UINT64_MAX)
		CHECK_EQ(einit_with_flipped_byte(&d, data, 17), SGX_INVALID_MEASUREMENT);
	/* The heap is added unmeasured: its contents do not change MRENCLAVE. */
	if (heap != UINT64_MAX)
		CHECK_EQ(einit_with_flipped_byte(&d, heap, 5), SGX_SUCCESS);
	free_dump(&d);
}

TEST(selftest_mrenclave_tampered_sigstruct_refused)
{
	uint8_t lehash[32];
	struct sgx_cpu *cpu;
	struct st_encl e;
	struct st_dump d;

	if (!load_dump(4096, &d))
		return;
	cpu = st_cpu_create();
	REQUIRE(cpu);
	REQUIRE_EQ(st_build(&e, cpu, &d), 0);
	sgx_sha256(d.ss->modulus, SGX_MODULUS_SIZE, lehash);
	set_lehash(cpu, lehash);

	/* A signature byte flipped: the RSA check fails, the enclave stays unlaunched. */
	d.ss->signature[100] ^= 1;
	CHECK_EQ(st_einit(&e, d.ss), SGX_INVALID_SIGNATURE);
	d.ss->signature[100] ^= 1;
	/* A signed body field changed (ISVSVN): the signature no longer covers it. */
	d.ss->body.isvsvn ^= 1;
	CHECK_EQ(st_einit(&e, d.ss), SGX_INVALID_SIGNATURE);
	d.ss->body.isvsvn ^= 1;
	/* Intact again: the failed attempts left the enclave launchable. */
	CHECK_EQ(st_einit(&e, d.ss), SGX_SUCCESS);

	st_destroy(&e);
	sgx_cpu_destroy(cpu);
	free_dump(&d);
}

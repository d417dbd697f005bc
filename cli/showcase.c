// SPDX-License-Identifier: MIT
/*
 * sgxemu showcase: the life of an enclave on the emulated SGX CPU, told step
 * by step with the numbers the CPU gives back. Everything goes through the
 * CPU's public interface (cpu/cpu.h) and the signing side (enclave/), the
 * way a driver would drive real hardware: ECREATE/EADD/EEXTEND/EINIT, then
 * paging with EPA/EBLOCK/ETRACK/EWB/ELDU (including the refusals that make
 * paging safe: a tampered page and a replayed old version), paging the SECS,
 * and EREMOVE down to an empty EPC.
 *
 * Then the whole platform at work (part 6): sgxemu's own example SGX program
 * (examples/bigheap, built next to this binary) runs unmodified under
 * `sgxemu run --epc 16M --stats`: an enclave with a 48 MiB heap, three times
 * the EPC, writes and verifies its whole heap while the EPC manager pages it
 * out and in, and the stats report shows the paging.
 *
 * Every step states what it expects; the command exits 0 only if every step
 * got it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/encl_build.h"
#include "cli/size.h"

#define SHOWCASE_USAGE                                                         \
	"usage: sgxemu showcase [--epc SIZE] [--sections N] [--sgx1]\n"        \
	"\n"                                                                   \
	"Builds, initializes, pages out and back, and tears down an enclave\n" \
	"on the emulated SGX CPU, printing every step; then runs sgxemu's\n"  \
	"example SGX program (examples/bigheap: a 48M heap on a 16M EPC) under\n" \
	"`sgxemu run --stats`. Exit status 0 only if every step behaved as the\n" \
	"SDM says it must.\n"                                                  \
	"\n"                                                                   \
	CLI_PLATFORM_USAGE

#define SC_BASE		0x7f0000000000ULL	/* ELRANGE base, aligned to the size */
#define SC_SIZE		(8 * SGX_PAGE_SIZE)
#define SC_MIN_FRAMES	16			/* the enclave, a VA page and spares */
#define SC_PROGRAM_EPC	"16M"			/* part 6: the EPC ... */
#define SC_PROGRAM_HEAP	"48M"			/* ... and a heap three times its size */

/* The enclave's pages, in the order they are added. */
enum { PG_TCS, PG_SSA, PG_CODE, PG_DATA0, PG_DATA1, PG_DATA2, SC_NR_PAGES };
#define PG_VICTIM PG_DATA0			/* the page paged out in part 3 */

struct showcase {
	struct sgx_cpu *cpu;
	struct built_encl encl;
	void *va;				/* VA page, EPC address */
	uint8_t *contents[SC_NR_PAGES];		/* what each page must hold */
	uint8_t *backing[SC_NR_PAGES + 1];	/* EWB output, +1 for the SECS */
	struct sgx_pcmd *pcmd;			/* SC_NR_PAGES + 1 entries */
	unsigned int passed, failed;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const page_names[SC_NR_PAGES] = {
	"TCS", "SSA", "code", "data0", "data1", "data2",
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* Record one expectation; prints the verdict at the end of the line. */
static bool expect(struct showcase *sc, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool expect(struct showcase *sc, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("    ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("%s\n", ok ? "" : "   <-- UNEXPECTED");
	if (ok)
		sc->passed++;
	else
		sc->failed++;
	return ok;
}

/* A leaf result against the expected one, named. */
static bool expect_ret(struct showcase *sc, int ret, int want, const char *what)
{
	char got[64];

	encl_strerror(ret, got, sizeof(got));
	if (want == 0 || ret == want)
		return expect(sc, ret == want, "%-46s -> %s%s", what, got,
			      want ? " (refused, as it must be)" : "");
	return expect(sc, false, "%-46s -> %s (expected %s)", what, got,
		      sgx_status_name(want));
}

static uint64_t frame_index(struct sgx_cpu *cpu, void *epc)
{
	uint64_t n = sgx_cpu_nr_frames(cpu);

	for (uint64_t i = 0; i < n; i++)
		if (sgx_cpu_frame_addr(cpu, i) == epc)
			return i;
	return UINT64_MAX;
}

static void print_hex(const char *label, const uint8_t *b, size_t n)
{
	printf("    %-14s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static void print_usage_line(struct showcase *sc, const char *when)
{
	struct epc_usage u;

	epc_usage(sc->cpu, &u);
	printf("    EPC in use %s: %llu of %llu pages (SECS %llu, TCS %llu, REG %llu, VA %llu)\n",
	       when, (unsigned long long)u.used, (unsigned long long)u.total,
	       (unsigned long long)u.by_type[SGX_PAGE_TYPE_SECS],
	       (unsigned long long)u.by_type[SGX_PAGE_TYPE_TCS],
	       (unsigned long long)u.by_type[SGX_PAGE_TYPE_REG],
	       (unsigned long long)u.by_type[SGX_PAGE_TYPE_VA]);
}

/* Does the resident page hold exactly what it must? */
static bool page_matches(struct showcase *sc, unsigned int pg)
{
	void *epc = sc->encl.pages[pg].epc;
	void *data = epc ? sgx_epc_data(sc->cpu, epc) : NULL;

	return data && !memcmp(data, sc->contents[pg], SGX_PAGE_SIZE);
}

/* The page contents: a TCS that points at the SSA and code, and patterns. */
static void make_contents(struct showcase *sc)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)sc->contents[PG_TCS];
	/* mov $42, %eax; ret; a stand-in: nothing executes it in the showcase. */
	static const uint8_t code[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 };

	tcs->ssa_offset = PG_SSA * SGX_PAGE_SIZE;
	tcs->nr_ssa_frames = 1;
	tcs->entry_offset = PG_CODE * SGX_PAGE_SIZE;
	tcs->fs_limit = 0xFFF;
	tcs->gs_limit = 0xFFF;
	memcpy(sc->contents[PG_CODE], code, sizeof(code));
	for (unsigned int pg = PG_DATA0; pg < SC_NR_PAGES; pg++)
		for (unsigned int i = 0; i < SGX_PAGE_SIZE; i++)
			sc->contents[pg][i] = (uint8_t)(i * 7 + pg * 31);
	memcpy(sc->contents[PG_VICTIM], "secret v1: only the enclave sees me", 36);
}

static const uint64_t page_flags[SC_NR_PAGES] = {
	[PG_TCS] = SGX_SECINFO_TCS,
	[PG_SSA] = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
	[PG_CODE] = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X,
	[PG_DATA0] = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
	[PG_DATA1] = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W,
	[PG_DATA2] = SGX_SECINFO_REG | SGX_SECINFO_R,
};

/* Part 1 and 2: the platform, then ECREATE, EADD/EEXTEND, EINIT. */
static bool build_enclave(struct showcase *sc)
{
	struct built_encl *e = &sc->encl;
	struct sgx_epcm_info info = { 0 };
	struct sgx_signer *key;
	uint8_t mrsigner[32];
	double t0;
	int ret;

	say("\n[2] Building an enclave through ENCLS\n");
	ret = encl_create(e, sc->cpu, SC_BASE, SC_SIZE, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);
	if (!expect_ret(sc, ret, 0, "ECREATE (SECS)"))
		return false;
	say("      SECS in EPC frame %llu; ELRANGE 0x%llx + %llu KiB, SSA frame %u page, "
	    "attributes MODE64BIT|DEBUG, XFRM x87|SSE\n",
	    (unsigned long long)frame_index(sc->cpu, e->secs), (unsigned long long)e->base,
	    (unsigned long long)(e->size >> 10), e->ssa_frame_size);
	for (unsigned int pg = 0; pg < SC_NR_PAGES; pg++) {
		char what[64];

		snprintf(what, sizeof(what), "EADD + 16 x EEXTEND  %-5s at +0x%05llx",
			 page_names[pg], (unsigned long long)(pg * SGX_PAGE_SIZE));
		ret = encl_add_page(e, pg * SGX_PAGE_SIZE, page_flags[pg], sc->contents[pg], true);
		if (!expect_ret(sc, ret, 0, what))
			return false;
	}
	print_usage_line(sc, "after EADD");

	t0 = now_ms();
	key = sgx_signer_generate();
	if (!expect(sc, key != NULL, "signing key: a fresh RSA-3072 key, e = 3 (%.0f ms)",
		    now_ms() - t0))
		return false;
	sgx_signer_mrsigner(key, mrsigner);
	print_hex("MRSIGNER", mrsigner, sizeof(mrsigner));
	say("      LEPUBKEYHASH0..3 MSRs <- MRSIGNER (flexible launch control, as the kernel "
	    "does)\n");
	ret = encl_init(e, key, true);
	expect_ret(sc, ret, SGX_INVALID_MEASUREMENT, "EINIT, SIGSTRUCT hash off by one bit");
	ret = encl_init(e, key, false);
	sgx_signer_free(key);
	print_hex("MRENCLAVE", e->mrenclave, sizeof(e->mrenclave));
	say("      (computed like a signing tool: ECREATE, EADD and EEXTEND records, SHA-256)\n");
	if (!expect_ret(sc, ret, 0, "EINIT with the right SIGSTRUCT"))
		return false;
	sgx_epcm_read(sc->cpu, e->secs, &info);
	return expect(sc, info.initialized && info.child_count == SC_NR_PAGES,
		      "SECS in the EPCM: initialized %s, %u children",
		      info.initialized ? "yes" : "no", info.child_count);
}

/* EBLOCK + ETRACK + EWB of one page into its backing buffer and VA slot 'slot'. */
static int evict_page(struct showcase *sc, unsigned int pg, unsigned int slot, bool tell)
{
	struct built_encl *e = &sc->encl;
	struct sgx_pageinfo pginfo = {
		.contents = SGX_CPU_PTR(sc->backing[pg]),
		.metadata = SGX_CPU_PTR(&sc->pcmd[pg]),
	};
	int ret;

	ret = __eblock(sc->cpu, e->pages[pg].epc);
	if (tell && !expect_ret(sc, ret, 0, "EBLOCK  (no new TLB entries for the page)"))
		return ret;
	if (ret)
		return ret;
	ret = __etrack(sc->cpu, e->secs);
	if (tell && !expect_ret(sc, ret, 0, "ETRACK  (wait for the old ones to drain)"))
		return ret;
	if (ret)
		return ret;
	ret = __ewb(sc->cpu, &pginfo, e->pages[pg].epc, (uint64_t *)sc->va + slot);
	if (ret)
		return ret;
	e->pages[pg].epc = NULL;
	return 0;
}

/* ELDU of page 'pg' from 'blob'/'pcmd' into a free frame, using VA slot 'slot'. */
static int load_page(struct showcase *sc, unsigned int pg, const void *blob,
		     struct sgx_pcmd *pcmd, unsigned int slot)
{
	struct built_encl *e = &sc->encl;
	struct sgx_pageinfo pginfo = {
		.addr = e->base + e->pages[pg].offset,
		.contents = SGX_CPU_PTR(blob),
		.metadata = SGX_CPU_PTR(pcmd),
		.secs = SGX_CPU_PTR(e->secs),
	};
	void *epc = epc_find_free(sc->cpu, &e->frame_hint);
	int ret;

	if (!epc)
		return -ENOSPC;
	ret = __eldu(sc->cpu, &pginfo, epc, (uint64_t *)sc->va + slot);
	if (!ret)
		e->pages[pg].epc = epc;
	return ret;
}

/* Part 3: one page out and back, and the two attacks paging must stop. */
static bool page_out_and_in(struct showcase *sc)
{
	struct built_encl *e = &sc->encl;
	uint8_t *old_blob = page_alloc(), *bad_blob = page_alloc();
	struct sgx_pcmd old_pcmd __attribute__((aligned(128)));
	struct sgx_epcm_info info;
	uint64_t slot_version;
	void *old_epc;
	bool ok = false;
	int ret;

	say("\n[3] Paging the page 'data0' out of the EPC and back\n");
	if (!old_blob || !bad_blob)
		goto out;
	sc->va = epc_find_free(sc->cpu, &e->frame_hint);
	ret = sc->va ? __epa(sc->cpu, sc->va) : -ENOSPC;
	if (!expect_ret(sc, ret, 0, "EPA     (a Version Array page: 512 slots)")) {
		sc->va = NULL;
		goto out;
	}
	say("      VA page in EPC frame %llu\n", (unsigned long long)frame_index(sc->cpu, sc->va));

	old_epc = e->pages[PG_VICTIM].epc;
	ret = evict_page(sc, PG_VICTIM, 0, true);
	if (!expect_ret(sc, ret, 0, "EWB     (encrypt to backing, MAC in PCMD)"))
		goto out;
	slot_version = *(uint64_t *)sgx_epc_data(sc->cpu, sc->va);
	sgx_epcm_read(sc->cpu, old_epc, &info);
	expect(sc, !info.valid && slot_version != 0,
	       "frame %llu is free again; VA slot 0 holds the page's version",
	       (unsigned long long)frame_index(sc->cpu, old_epc));
	expect(sc, memcmp(sc->backing[PG_VICTIM], sc->contents[PG_VICTIM], 64) != 0 &&
		   !memmem(sc->backing[PG_VICTIM], SGX_PAGE_SIZE, "secret", 6),
	       "the backing copy is ciphertext: the plaintext is nowhere in it");
	memcpy(old_blob, sc->backing[PG_VICTIM], SGX_PAGE_SIZE);
	old_pcmd = sc->pcmd[PG_VICTIM];

	ret = load_page(sc, PG_VICTIM, sc->backing[PG_VICTIM], &sc->pcmd[PG_VICTIM], 0);
	if (!expect_ret(sc, ret, 0, "ELDU    (decrypt, check MAC and version)"))
		goto out;
	expect(sc, page_matches(sc, PG_VICTIM), "the page is back in frame %llu, all 4096 bytes "
	       "intact", (unsigned long long)frame_index(sc->cpu, e->pages[PG_VICTIM].epc));

	/* The enclave writes version 2 of its secret; the page goes out again. */
	memcpy(sc->contents[PG_VICTIM], "secret v2: the enclave moved on...", 35);
	memcpy(sgx_epc_data(sc->cpu, e->pages[PG_VICTIM].epc), sc->contents[PG_VICTIM], 35);
	say("      the enclave writes version 2 of its data; the page is paged out again\n");
	ret = evict_page(sc, PG_VICTIM, 0, false);
	if (!expect_ret(sc, ret, 0, "EBLOCK + ETRACK + EWB"))
		goto out;

	memcpy(bad_blob, sc->backing[PG_VICTIM], SGX_PAGE_SIZE);
	bad_blob[1234] ^= 0x10;
	ret = load_page(sc, PG_VICTIM, bad_blob, &sc->pcmd[PG_VICTIM], 0);
	expect_ret(sc, ret, SGX_MAC_COMPARE_FAIL, "ELDU of a copy with one bit flipped");
	ret = load_page(sc, PG_VICTIM, old_blob, &old_pcmd, 0);
	expect_ret(sc, ret, SGX_MAC_COMPARE_FAIL, "ELDU of the old version 1 (replay)");
	ret = load_page(sc, PG_VICTIM, sc->backing[PG_VICTIM], &sc->pcmd[PG_VICTIM], 0);
	if (!expect_ret(sc, ret, 0, "ELDU of the genuine version 2"))
		goto out;
	ok = expect(sc, page_matches(sc, PG_VICTIM), "the page holds version 2, byte for byte");
out:
	free(old_blob);
	free(bad_blob);
	return ok;
}

/* Part 4: every child out, then the SECS itself, and everything back. */
static bool page_secs(struct showcase *sc)
{
	struct built_encl *e = &sc->encl;
	struct sgx_pageinfo pginfo = {
		.contents = SGX_CPU_PTR(sc->backing[SC_NR_PAGES]),
		.metadata = SGX_CPU_PTR(&sc->pcmd[SC_NR_PAGES]),
	};
	const unsigned int secs_slot = SC_NR_PAGES + 1;
	struct sgx_epcm_info info;
	unsigned int intact = 0;
	void *epc;
	int ret;

	say("\n[4] Paging the SECS: the enclave leaves the EPC entirely\n");
	ret = __ewb(sc->cpu, &pginfo, e->secs, (uint64_t *)sc->va + secs_slot);
	expect_ret(sc, ret, SGX_CHILD_PRESENT, "EWB of the SECS with children resident");
	for (unsigned int pg = 0; pg < SC_NR_PAGES; pg++) {
		ret = evict_page(sc, pg, 1 + pg, false);
		if (ret)
			break;
	}
	if (!expect_ret(sc, ret, 0, "EBLOCK + ETRACK + EWB of all 6 children"))
		return false;
	ret = __ewb(sc->cpu, &pginfo, e->secs, (uint64_t *)sc->va + secs_slot);
	if (!expect_ret(sc, ret, 0, "EWB of the SECS"))
		return false;
	e->secs = NULL;
	print_usage_line(sc, "now");

	/* ELDU of a SECS: no linear address, no parent SECS. */
	pginfo.addr = 0;
	pginfo.secs = 0;
	epc = epc_find_free(sc->cpu, &e->frame_hint);
	ret = epc ? __eldu(sc->cpu, &pginfo, epc, (uint64_t *)sc->va + secs_slot) : -ENOSPC;
	if (!expect_ret(sc, ret, 0, "ELDU of the SECS"))
		return false;
	e->secs = epc;
	sgx_epcm_read(sc->cpu, e->secs, &info);
	expect(sc, info.initialized, "the SECS is back in frame %llu, still initialized",
	       (unsigned long long)frame_index(sc->cpu, epc));
	for (unsigned int pg = 0; pg < SC_NR_PAGES; pg++) {
		ret = load_page(sc, pg, sc->backing[pg], &sc->pcmd[pg], 1 + pg);
		if (ret)
			break;
		intact += page_matches(sc, pg);
	}
	if (!expect_ret(sc, ret, 0, "ELDU of all 6 children under the new SECS"))
		return false;
	sgx_epcm_read(sc->cpu, e->secs, &info);
	return expect(sc, intact == SC_NR_PAGES && info.child_count == SC_NR_PAGES,
		      "%u of %u pages intact, SECS counts %u children", intact, SC_NR_PAGES,
		      info.child_count);
}

/* Part 5: EREMOVE everything; the EPC must be empty again. */
static void tear_down(struct showcase *sc)
{
	struct built_encl *e = &sc->encl;
	char inv[256];
	struct epc_usage u;
	int ret;

	say("\n[5] Tearing down\n");
	ret = __eremove(sc->cpu, e->secs);
	expect_ret(sc, ret, SGX_CHILD_PRESENT, "EREMOVE of the SECS before its children");
	ret = encl_destroy(e);
	expect_ret(sc, ret, 0, "EREMOVE of the 6 children, then the SECS");
	ret = __eremove(sc->cpu, sc->va);
	if (!ret)
		sc->va = NULL;
	expect_ret(sc, ret, 0, "EREMOVE of the VA page");
	epc_usage(sc->cpu, &u);
	expect(sc, u.used == 0, "EPC in use: %llu pages; free %llu == capacity %llu",
	       (unsigned long long)u.used, (unsigned long long)(u.total - u.used),
	       (unsigned long long)u.total);
	ret = sgx_cpu_check_invariants(sc->cpu, inv, sizeof(inv));
	expect(sc, ret == 0, "EPCM invariants: %s", ret ? inv : "all hold");
}

/*
 * Part 6: `sgxemu run --epc 16M --stats -- examples/bigheap --heap 48M`, both
 * from this binary's directory (the build directory), output passed through.
 */
static void run_program(struct showcase *sc)
{
	char self[PATH_MAX], example[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int status;
	pid_t pid;

	say("\n[6] An unmodified SGX program on the whole platform: an enclave bigger than "
	    "the EPC\n");
	if (n <= 0) {
		expect(sc, false, "cannot find this binary (/proc/self/exe)");
		return;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	snprintf(example, sizeof(example), "%.*s/examples/bigheap",
		 slash ? (int)(slash - self) : 1, slash ? self : ".");
	if (access(example, X_OK)) {
		expect(sc, false, "%s is not built (run `make`)", example);
		return;
	}
	say("    $ sgxemu run --epc %s --stats -- examples/bigheap --heap %s\n\n",
	    SC_PROGRAM_EPC, SC_PROGRAM_HEAP);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { self, "run", "--epc", SC_PROGRAM_EPC, "--stats", "--",
				       example, "--heap", SC_PROGRAM_HEAP, NULL };

		execv(self, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		expect(sc, false, "cannot run the program: %s", strerror(errno));
		return;
	}
	say("\n");
	expect(sc, WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "bigheap exited with status %d: its %s heap %s through a %s EPC",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       SC_PROGRAM_HEAP, WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
	       "was written and verified" : "was NOT verified", SC_PROGRAM_EPC);
}

static int parse_options(int argc, char **argv, struct sgx_cpu_config *c)
{
	static const struct option longopts[] = { CLI_PLATFORM_LONGOPTS, { 0 } };
	char buf[32];
	int opt;

	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		int r;

		if (opt == '?' || opt == ':')
			return cli_bad_option("showcase", opt, argv);
		r = cli_platform_option("showcase", opt, optarg, c);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r == 0)
			return cli_usage_error("showcase", "unexpected option '%s'",
					       argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("showcase", "unexpected argument '%s'", argv[optind]);
	if (cli_platform_validate("showcase", c))
		return CLI_EXIT_USAGE;
	if (c->epc_size / SGX_PAGE_SIZE < SC_MIN_FRAMES)
		return cli_usage_error("showcase", "--epc %s is too small: the showcase needs %d "
				       "pages (64 KiB)", format_size(c->epc_size, buf, sizeof(buf)),
				       SC_MIN_FRAMES);
	return 0;
}

static void showcase_free(struct showcase *sc)
{
	for (unsigned int i = 0; i < SC_NR_PAGES; i++)
		free(sc->contents[i]);
	for (unsigned int i = 0; i <= SC_NR_PAGES; i++)
		free(sc->backing[i]);
	free(sc->pcmd);
	if (sc->cpu)
		sgx_cpu_destroy(sc->cpu);
}

static int cmd_showcase(int argc, char **argv)
{
	struct showcase sc = { 0 };
	struct sgx_cpu_config c;
	double t0 = now_ms();
	char buf[32];
	int ret;

	sgx_cpu_default_config(&c);
	ret = parse_options(argc, argv, &c);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < SC_NR_PAGES; i++)
		sc.contents[i] = page_alloc();
	for (unsigned int i = 0; i <= SC_NR_PAGES; i++)
		sc.backing[i] = page_alloc();
	sc.pcmd = aligned_alloc(128, (SC_NR_PAGES + 1) * sizeof(*sc.pcmd));
	ret = sgx_cpu_create(&c, &sc.cpu);
	if (ret || !sc.pcmd || !sc.contents[SC_NR_PAGES - 1] || !sc.backing[SC_NR_PAGES]) {
		fprintf(stderr, "sgxemu showcase: cannot set up: %s\n",
			ret ? strerror(-ret) : "out of memory");
		sc.cpu = ret ? NULL : sc.cpu;
		showcase_free(&sc);
		return CLI_EXIT_FAIL;
	}
	make_contents(&sc);

	say("sgxemu showcase: an enclave's life on the emulated SGX CPU\n");
	say("\n[1] The platform: %s of EPC\n", format_size(c.epc_size, buf, sizeof(buf)));
	cli_print_platform(sc.cpu, "    ");
	if (build_enclave(&sc) && page_out_and_in(&sc) && page_secs(&sc))
		tear_down(&sc);
	run_program(&sc);
	say("\n%s: %u of %u steps as expected, %.0f ms\n",
	    sc.failed ? "FAILED" : "OK", sc.passed, sc.passed + sc.failed,
	    now_ms() - t0);
	ret = sc.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	showcase_free(&sc);
	return ret;
}

CLI_COMMAND(showcase, "a CPU-level demonstration: build, page and tear down an enclave",
	    SHOWCASE_USAGE, cmd_showcase)

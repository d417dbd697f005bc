// SPDX-License-Identifier: MIT
/*
 * bigheap: an SGX program of sgxemu's own, written against the Linux SGX
 * driver's ABI only (no SDK, no sgxemu library), so it runs unchanged on a
 * machine with SGX and on sgxemu (`sgxemu run -- bigheap`).
 *
 * It loads an enclave whose heap is bigger than the EPC (48 MiB by default;
 * run it on a 16 MiB EPC), then, for each pass, asks the enclave to write a
 * pattern over its whole heap and read it all back, verifying every qword
 * and returning a checksum, which the host checks against its own
 * computation of the pattern. With the heap bigger than the EPC, every pass
 * pages the whole heap out and back in: the enclave only sees the right
 * bytes if paging (EWB/ELDU, VA versions, PCMD) is right.
 *
 * Exit status: 0 verified; 1 failure (load, entry, exception, mismatch);
 * 2 bad usage; 3 EINIT refused the enclave (what --bad-signature and
 * --wrong-mrenclave are for).
 */
#include <cpuid.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "examples/bigheap.h"

#define EXIT_VERIFY_FAIL	1
#define EXIT_USAGE		2
#define EXIT_EINIT_REFUSED	3

#define DEFAULT_HEAP		(48ULL << 20)
#define DEFAULT_PASSES		2
#define DEFAULT_SEED		0x5367784555ULL
#define BENCH_WARMUP		3
#define BENCH_REPS		15

struct options {
	uint64_t heap_size;
	unsigned long passes;
	unsigned long threads;
	unsigned long bench;		/* 0: the workload; N: N null calls per batch */
	uint64_t seed;
	bool bad_signature;
	bool wrong_mrenclave;
	bool close_fd;			/* close /dev/sgx_enclave's fd before entering */
	bool signals;			/* a 1 ms SIGALRM timer while the enclave runs */
};

struct program {
	struct options opt;
	struct bh_image img;
	struct bh_enclave encl;
	vdso_sgx_enter_enclave_t enter;
};

static const char usage_text[] =
	"usage: bigheap [--heap SIZE] [--passes N] [--threads 1|2] [--seed N]\n"
	"               [--bench N] [--bad-signature] [--wrong-mrenclave]\n"
	"               [--close-fd] [--signals]\n"
	"\n"
	"Loads an enclave with a SIZE heap (default 48M) through /dev/sgx_enclave, then\n"
	"for each pass has the enclave write a pattern over its heap and verify it,\n"
	"checking the checksum it returns. --threads 2 runs two TCSs concurrently.\n"
	"--bench N times N null EENTER/EEXIT round trips per batch (prints METRIC).\n"
	"--bad-signature / --wrong-mrenclave: sign wrongly; EINIT must refuse (exit 3).\n"
	"--close-fd: close the enclave's fd after EINIT; the mappings keep it alive.\n"
	"--signals: a SIGALRM every millisecond while the enclave works; the\n"
	"handler runs between AEX and ERESUME and the work must not notice.\n";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "bigheap: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage_text);
	return EXIT_USAGE;
}

/* "48M", "64K", "1G", "8192": a positive number of bytes, whole pages. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (1ULL << 40) >> shift)
		return -1;
	v <<= shift;
	if (v & (BH_PAGE_SIZE - 1))
		return -1;
	*out = v;
	return 0;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_HEAP = 0x100, OPT_PASSES, OPT_THREADS, OPT_SEED, OPT_BENCH, OPT_BADSIG,
	       OPT_WRONGMR, OPT_CLOSEFD, OPT_SIGNALS, OPT_HELP };
	static const struct option longopts[] = {
		{ "heap", required_argument, NULL, OPT_HEAP },
		{ "passes", required_argument, NULL, OPT_PASSES },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "bench", required_argument, NULL, OPT_BENCH },
		{ "bad-signature", no_argument, NULL, OPT_BADSIG },
		{ "wrong-mrenclave", no_argument, NULL, OPT_WRONGMR },
		{ "close-fd", no_argument, NULL, OPT_CLOSEFD },
		{ "signals", no_argument, NULL, OPT_SIGNALS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	unsigned long seed;
	int c;

	*o = (struct options){ .heap_size = DEFAULT_HEAP, .passes = DEFAULT_PASSES,
			       .threads = 1, .seed = DEFAULT_SEED };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_HEAP:
			if (parse_size(optarg, &o->heap_size))
				return usage_error("--heap wants a whole number of pages, e.g. 48M, "
						   "not '%s'", optarg);
			break;
		case OPT_PASSES:
			if (parse_ulong(optarg, 1, 1000, &o->passes))
				return usage_error("--passes wants 1..1000, not '%s'", optarg);
			break;
		case OPT_THREADS:
			if (parse_ulong(optarg, 1, BH_NR_TCS, &o->threads))
				return usage_error("--threads wants 1 or 2 (one per TCS), not '%s'",
						   optarg);
			break;
		case OPT_SEED:
			if (parse_ulong(optarg, 0, ~0UL, &seed))
				return usage_error("--seed wants a number, not '%s'", optarg);
			o->seed = seed;
			break;
		case OPT_BENCH:
			if (parse_ulong(optarg, 1, 100000000, &o->bench))
				return usage_error("--bench wants 1..100000000, not '%s'", optarg);
			break;
		case OPT_BADSIG:
			o->bad_signature = true;
			break;
		case OPT_WRONGMR:
			o->wrong_mrenclave = true;
			break;
		case OPT_CLOSEFD:
			o->close_fd = true;
			break;
		case OPT_SIGNALS:
			o->signals = true;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static void print_hex(const char *label, const uint8_t *b, size_t n)
{
	printf("  %-10s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static const char *mib(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 20) && !(bytes & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	return buf;
}

/* What CPUID says about SGX and the EPC (emulated under sgxemu, real otherwise). */
static void print_epc(void)
{
	unsigned int a, b, c, d, sections = 0;
	uint64_t total = 0;
	char buf[32];

	/*
	 * No check of the maximum leaf: SGX hosts always have leaf 0x12, and
	 * sgxemu answers leaves 7 and 0x12 whatever the real CPU's maximum.
	 */
	__cpuid_count(7, 0, a, b, c, d);
	if (!(b & (1u << 2))) {
		printf("  CPUID: this CPU reports no SGX\n");
		return;
	}
	__cpuid_count(0x12, 0, a, b, c, d);
	for (unsigned int sub = 2; sub < 2 + 8; sub++) {
		unsigned int ea, eb, ec, ed;

		__cpuid_count(0x12, sub, ea, eb, ec, ed);
		if ((ea & 0xF) != 1)
			break;
		total += ((uint64_t)(ed & 0xFFFFF) << 32) | (ec & 0xFFFFF000u);
		sections++;
	}
	printf("  CPUID: SGX1%s, EPC %s in %u section%s\n", (a & 2) ? " + SGX2" : "",
	       mib(total, buf, sizeof(buf)), sections, sections == 1 ? "" : "s");
}

static int sign(struct program *p, struct sgx_sigstruct *ss)
{
	uint8_t mrenclave[32], mrsigner[32];
	EVP_PKEY *key;
	double t0;
	int ret;

	if (bh_measure(&p->img, mrenclave)) {
		fprintf(stderr, "bigheap: computing MRENCLAVE failed\n");
		return -1;
	}
	print_hex("MRENCLAVE", mrenclave, sizeof(mrenclave));
	if (p->opt.wrong_mrenclave) {
		mrenclave[0] ^= 1;
		printf("  (--wrong-mrenclave: signing a MRENCLAVE with one bit flipped)\n");
	}
	t0 = now_ms();
	key = bh_key_generate();
	if (!key) {
		fprintf(stderr, "bigheap: generating the RSA-3072 signing key failed\n");
		return -1;
	}
	ret = bh_sigstruct_sign(key, mrenclave, ss);
	EVP_PKEY_free(key);
	if (ret) {
		fprintf(stderr, "bigheap: signing the SIGSTRUCT failed\n");
		return -1;
	}
	bh_mrsigner(ss, mrsigner);
	print_hex("MRSIGNER", mrsigner, sizeof(mrsigner));
	printf("  SIGSTRUCT signed with a fresh RSA-3072 key, e = 3 (%.0f ms)\n", now_ms() - t0);
	if (p->opt.bad_signature) {
		ss->signature[100] ^= 0x40;
		printf("  (--bad-signature: one bit of the signature flipped)\n");
	}
	return 0;
}

static int load(struct program *p, const struct sgx_sigstruct *ss)
{
	enum bh_load_step step;
	char buf[32];
	int ret;

	ret = bh_enclave_load(&p->encl, &p->img, ss, &step);
	if (ret == -EPERM && step == BH_STEP_INIT) {
		printf("  SGX_IOC_ENCLAVE_INIT: refused (EPERM): EINIT did not accept the "
		       "SIGSTRUCT\n");
		return EXIT_EINIT_REFUSED;
	}
	if (ret) {
		fprintf(stderr, "bigheap: %s failed: %s\n", bh_step_name(step), strerror(-ret));
		if (step == BH_STEP_OPEN)
			fprintf(stderr, "bigheap: no SGX driver here; on a machine without SGX "
				"run it under sgxemu: sgxemu run -- bigheap\n");
		return EXIT_VERIFY_FAIL;
	}
	printf("  ELRANGE 0x%llx, %s; ADD_PAGES added %llu pages in %.0f ms "
	       "(EADD + EEXTEND, heap EADD only); INIT ok\n",
	       (unsigned long long)p->encl.base, mib(p->encl.size, buf, sizeof(buf)),
	       (unsigned long long)p->encl.pages_added, p->encl.add_ms);
	return 0;
}

/* One entry; 0 when it EEXITed normally, else -1 after saying what happened. */
static int enter(struct program *p, unsigned int tcs, struct bh_op *op)
{
	struct sgx_enclave_run run;
	int ret;

	memset(&run, 0, sizeof(run));
	run.tcs = p->encl.base + tcs * BH_PAGE_SIZE;
	ret = bh_enter(p->enter, op, &run);
	if (ret == 0 && run.function == EEXIT)
		return 0;
	if (ret)
		fprintf(stderr, "bigheap: __vdso_sgx_enter_enclave returned %d\n", ret);
	else
		fprintf(stderr, "bigheap: exception in the enclave: vector %u, error code 0x%x, "
			"address 0x%llx (leaf %u)\n", run.exception_vector,
			run.exception_error_code, (unsigned long long)run.exception_addr,
			run.function);
	return -1;
}

/* The enclave must see the config it was measured with. */
static int check_config(struct program *p)
{
	struct bh_op op = { .type = BH_OP_CHECK_CONFIG, .status = ~0ULL };
	const struct bh_config *c = &p->img.config;

	if (enter(p, 0, &op))
		return -1;
	if (op.status != BH_OK || op.config[0] != c->magic || op.config[1] != c->encl_size ||
	    op.config[2] != c->heap_offset || op.config[3] != c->heap_size) {
		fprintf(stderr, "bigheap: the enclave sees another config (status %llu)\n",
			(unsigned long long)op.status);
		return -1;
	}
	return 0;
}

struct worker {
	struct program *p;
	pthread_t thread;
	bool started;
	struct bh_op op;
	int ret;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->ret = enter(w->p, (unsigned int)w->op.slice, &w->op);
	return NULL;
}

/* What the checksum of pass 'pass' must be, computed here from the pattern. */
static uint64_t expected_checksum(const struct program *p, uint64_t pass)
{
	uint64_t sum = 0, qwords = p->img.config.heap_size / 8;

	for (uint64_t i = 0; i < qwords; i++)
		sum += bh_checksum_term(bh_pattern(p->opt.seed, pass, i), i);
	return sum;
}

static int run_pass(struct program *p, uint64_t pass)
{
	struct worker w[BH_NR_TCS];
	uint64_t sum = 0, bad = 0, bytes = 0, want;
	unsigned int n = (unsigned int)p->opt.threads;
	double t0 = now_ms();
	char buf[32];
	int failed = 0;

	for (unsigned int i = 0; i < n; i++) {
		w[i] = (struct worker){ .p = p };
		w[i].op = (struct bh_op){ .type = BH_OP_RUN_PASS, .seed = p->opt.seed, .pass = pass,
					  .slice = i, .nr_slices = n, .status = ~0ULL };
		if (n == 1) {
			worker_main(&w[i]);
		} else if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			fprintf(stderr, "bigheap: pthread_create failed\n");
			w[i].ret = -1;
			n = i + 1;
			break;
		} else {
			w[i].started = true;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		if (w[i].ret || w[i].op.status != BH_OK) {
			fprintf(stderr, "bigheap: pass %llu, TCS %u failed (status %llu)\n",
				(unsigned long long)pass, i, (unsigned long long)w[i].op.status);
			failed = 1;
			continue;
		}
		sum += w[i].op.checksum;
		bad += w[i].op.mismatches;
		bytes += w[i].op.bytes;
	}
	if (failed)
		return -1;
	want = expected_checksum(p, pass);
	printf("  pass %llu: %s written and read back by %u TCS%s in %.0f ms: "
	       "%llu mismatches, checksum %016llx %s\n",
	       (unsigned long long)pass, mib(bytes, buf, sizeof(buf)), n, n > 1 ? "s" : "",
	       now_ms() - t0, (unsigned long long)bad, (unsigned long long)sum,
	       sum == want && !bad && bytes == p->img.config.heap_size ? "(verified)" :
	       "(WRONG)");
	return sum == want && !bad && bytes == p->img.config.heap_size ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* N null round trips per batch; the median batch, per round trip. */
static int bench(struct program *p)
{
	double per_op[BENCH_REPS];
	struct sgx_enclave_run run;

	for (unsigned int r = 0; r < BENCH_WARMUP + BENCH_REPS; r++) {
		double t0 = now_ms();

		for (unsigned long i = 0; i < p->opt.bench; i++) {
			memset(&run, 0, sizeof(run));
			run.tcs = p->encl.base;
			if (bh_enter(p->enter, NULL, &run) || run.function != EEXIT) {
				fprintf(stderr, "bigheap: null call %lu failed\n", i);
				return -1;
			}
		}
		if (r >= BENCH_WARMUP)
			per_op[r - BENCH_WARMUP] = (now_ms() - t0) * 1e6 / (double)p->opt.bench;
	}
	qsort(per_op, BENCH_REPS, sizeof(per_op[0]), cmp_double);
	printf("METRIC eenter_eexit_ns %.1f ns\n", per_op[BENCH_REPS / 2]);
	return 0;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * --signals: SIGALRM every millisecond. On SGX hardware a signal that hits
 * enclave code makes the CPU leave the enclave (AEX) and the kernel runs the
 * handler with the AEP as the interrupted address; the vDSO then ERESUMEs.
 */
static int set_alarm_timer(bool on)
{
	struct itimerval it = { 0 };
	struct sigaction sa = { 0 };

	if (on) {
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGALRM, &sa, NULL))
			return -1;
		it.it_interval.tv_usec = 1000;
		it.it_value.tv_usec = 1000;
	}
	return setitimer(ITIMER_REAL, &it, NULL);
}

static int run_workload(struct program *p)
{
	double t0 = now_ms();
	int ret = 0;

	printf("[3] The enclave writes and verifies its heap, %lu pass%s\n", p->opt.passes,
	       p->opt.passes == 1 ? "" : "es");
	if (p->opt.signals && set_alarm_timer(true)) {
		perror("bigheap: setitimer");
		return -1;
	}
	for (uint64_t pass = 1; pass <= p->opt.passes && !ret; pass++)
		if (run_pass(p, pass))
			ret = -1;
	if (p->opt.signals) {
		set_alarm_timer(false);
		printf("  %ld SIGALRM handled while the enclave worked\n", (long)alarms);
	}
	if (!ret)
		printf("  all %lu passes verified in %.0f ms\n", p->opt.passes, now_ms() - t0);
	return ret;
}

int main(int argc, char **argv)
{
	struct program p = { 0 };
	struct sgx_sigstruct ss;
	char b1[32], b2[32], b3[32];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = parse_options(argc, argv, &p.opt);
	if (ret)
		return ret;
	printf("bigheap: an SGX enclave with a heap of %s\n", mib(p.opt.heap_size, b1, sizeof(b1)));
	print_epc();
	if (bh_image_build(&p.img, p.opt.heap_size))
		return EXIT_VERIFY_FAIL;

	printf("[1] Measuring and signing\n");
	printf("  image %s (2 TCS, code, data with SSA frames and stacks) + heap %s, "
	       "ELRANGE %s\n", mib(p.img.image_size, b1, sizeof(b1)),
	       mib(p.img.config.heap_size, b2, sizeof(b2)),
	       mib(p.img.config.encl_size, b3, sizeof(b3)));
	if (sign(&p, &ss)) {
		ret = EXIT_VERIFY_FAIL;
		goto out;
	}
	printf("[2] Loading through /dev/sgx_enclave\n");
	ret = load(&p, &ss);
	if (ret)
		goto out;
	ret = EXIT_VERIFY_FAIL;
	if (p.opt.close_fd) {
		/* As with the kernel driver, the mappings hold the enclave now. */
		close(p.encl.fd);
		p.encl.fd = -1;
		printf("  enclave fd closed; the enclave lives on in its mappings\n");
	}
	/* Looked up once the device is open, as the kernel's selftest does. */
	p.enter = bh_find_vdso_enter();
	if (!p.enter) {
		fprintf(stderr, "bigheap: the vDSO has no __vdso_sgx_enter_enclave\n");
		goto out_release;
	}
	if (check_config(&p))
		goto out_release;
	printf("  the enclave sees its measured heap: offset 0x%llx, %s\n",
	       (unsigned long long)p.img.config.heap_offset,
	       mib(p.img.config.heap_size, b1, sizeof(b1)));
	if (p.opt.bench) {
		if (!bench(&p))
			ret = 0;
		goto out_release;
	}
	if (!run_workload(&p)) {
		printf("bigheap: OK\n");
		ret = 0;
	}
out_release:
	bh_enclave_release(&p.encl);
out:
	if (ret)
		printf("bigheap: FAILED\n");
	bh_image_free(&p.img);
	return ret;
}

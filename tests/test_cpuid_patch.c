// SPDX-License-Identifier: MIT
/*
 * Tests of host/cpuid_patch.h: find the CPUID instructions of this very
 * binary, turn one (or all) into UD2, and answer them from a SIGILL handler,
 * as the LD_PRELOAD shim will for test_sgx.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/cpuid_patch.h"
#include "tests/harness.h"

/* What the "emulated CPU" of these tests answers for leaf 0x12. */
#define FAKE_EAX 0x12000003u
#define FAKE_EBX 0x00000001u
#define FAKE_ECX 0x0000a5a5u
#define FAKE_EDX 0x00003f3fu

/*
 * The program code being patched: an ordinary function with an inline-asm
 * CPUID, found by its symbol. Not static, so that it keeps its name and
 * size in .symtab; noinline so that there is exactly one copy.
 */
void cpuid_patch_test_target(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
__attribute__((noinline)) void cpuid_patch_test_target(uint32_t leaf, uint32_t subleaf,
							uint32_t regs[4])
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(subleaf));
	regs[0] = a;
	regs[1] = b;
	regs[2] = c;
	regs[3] = d;
}

/*
 * The SIGILL handler needs the site table: test state, one per forked test
 * process (library code keeps no such globals; the shim will hang it off
 * its platform).
 */
static struct cpuid_sites *trap_sites;
static volatile sig_atomic_t traps, emulated;

static bool emulate_leaf_12(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	if (leaf != 0x12)
		return false;	/* the real CPUID answers */
	regs[0] = FAKE_EAX + subleaf;
	regs[1] = FAKE_EBX;
	regs[2] = FAKE_ECX;
	regs[3] = FAKE_EDX;
	emulated++;
	return true;
}

static void sigill_handler(int sig, siginfo_t *si, void *uc)
{
	traps++;
	if (trap_sites && cpuid_patch_handle_trap(trap_sites, uc, emulate_leaf_12, NULL))
		return;
	/* Not ours: die as the UD2 would have. */
	signal(SIGILL, SIG_DFL);
	raise(SIGILL);
}

static void install_handler(struct cpuid_sites *sites)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigill_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	trap_sites = sites;
	sigaction(SIGILL, &sa, NULL);
}

static bool self_path(char *path, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", path, len - 1);

	if (n <= 0)
		return false;
	path[n] = 0;
	return true;
}

/* The sites of this binary that lie inside cpuid_patch_test_target(), runtime addresses. */
static int target_sites(struct cpuid_sites *all, struct cpuid_sites *target)
{
	uint64_t bias, addr, size;
	int ret;

	if (cpuid_main_bias(&bias) || cpuid_elf_function("/proc/self/exe",
							 "cpuid_patch_test_target", &addr, &size))
		return -1;
	if ((uintptr_t)cpuid_patch_test_target != addr + bias)
		return -1;
	ret = cpuid_scan_elf("/proc/self/exe", bias, all, NULL);
	if (ret < 0)
		return ret;
	/* The same result as sweeping the function in memory directly. */
	return cpuid_sweep((const uint8_t *)(uintptr_t)(addr + bias), addr + bias, size, target,
			   NULL) == 1 ? (int)target->nr : -1;
}

TEST(cpuid_patch_emulates_leaf_12_in_program_code)
{
	struct cpuid_sites all, target;
	uint32_t before[4], after[4], vendor_real[4], vendor[4];
	const uint8_t *op;
	unsigned int skipped = 99;

	cpuid_sites_init(&all);
	cpuid_sites_init(&target);
	REQUIRE_EQ(target_sites(&all, &target), 1);
	/* The whole-binary scan found the target's CPUID too. */
	REQUIRE(cpuid_patch_lookup(&all, target.v[0].addr) == NULL);	/* not patched yet */
	{
		bool listed = false;

		for (size_t i = 0; i < all.nr; i++)
			listed |= all.v[i].addr == target.v[0].addr;
		CHECK(listed);
	}
	op = (const uint8_t *)(uintptr_t)(target.v[0].addr + target.v[0].opcode_offset);
	REQUIRE(op[0] == 0x0f && op[1] == 0xa2);

	cpuid_patch_test_target(0x12, 0, before);
	cpuid_patch_real_cpuid(0, 0, vendor_real);

	install_handler(&target);
	REQUIRE_EQ(cpuid_patch_apply(&target, &skipped), 1);
	CHECK_EQ(skipped, 0);
	CHECK(op[0] == 0x0f && op[1] == 0x0b);		/* UD2 */
	CHECK(target.v[0].patched);
	CHECK(cpuid_patch_lookup(&target, target.v[0].addr) == &target.v[0]);
	CHECK(cpuid_patch_lookup(&target, target.v[0].addr + 1) == NULL);

	/* Leaf 0x12 now comes from the "emulated CPU"... */
	cpuid_patch_test_target(0x12, 0, after);
	CHECK_EQ(after[0], FAKE_EAX);
	CHECK_EQ(after[1], FAKE_EBX);
	CHECK_EQ(after[2], FAKE_ECX);
	CHECK_EQ(after[3], FAKE_EDX);
	cpuid_patch_test_target(0x12, 2, after);
	CHECK_EQ(after[0], FAKE_EAX + 2);
	CHECK_EQ(emulated, 2);
	/* ...leaf 0 still from the host, through the same trap. */
	cpuid_patch_test_target(0, 0, vendor);
	CHECK_EQ(traps, 3);
	CHECK(!memcmp(vendor, vendor_real, sizeof(vendor)));
	CHECK(!memcmp(&vendor[1], "Auth", 4) || !memcmp(&vendor[1], "Genu", 4) ||
	      !memcmp(&vendor[1], "Hygo", 4));

	/* Revert: the original bytes, and the host answers leaf 0x12 again. */
	CHECK_EQ(cpuid_patch_revert(&target), 1);
	CHECK(op[0] == 0x0f && op[1] == 0xa2);
	CHECK(!target.v[0].patched);
	cpuid_patch_test_target(0x12, 0, after);
	CHECK(!memcmp(after, before, sizeof(after)));
	CHECK_EQ(traps, 3);
	cpuid_sites_free(&all);
	cpuid_sites_free(&target);
}

/* The shim's path: every CPUID of the main program patched at once. */
TEST(cpuid_patch_whole_main_program)
{
	struct cpuid_scan_report rep;
	struct cpuid_sites sites;
	uint32_t regs[4], real[4];
	int patched;

	cpuid_sites_init(&sites);
	install_handler(&sites);
	patched = cpuid_patch_main_program(&sites, &rep);
	REQUIRE(patched >= 1);
	CHECK_EQ(rep.method, CPUID_SCAN_SYMBOLS);
	CHECK_EQ(rep.ranges_out_of_sync, 0);
	CHECK(rep.bytes_swept > 0 && rep.bytes_swept <= rep.exec_bytes);
	/* cpuid_patch_real_cpuid()'s own CPUID is found but never patched. */
	CHECK_EQ((size_t)patched, sites.nr - 1);

	cpuid_patch_test_target(0x12, 1, regs);
	CHECK_EQ(regs[0], FAKE_EAX + 1);
	CHECK_EQ(regs[3], FAKE_EDX);
	cpuid_patch_real_cpuid(0x12, 1, real);	/* no trap: the host's value */
	CHECK_EQ(traps, 1);
	/* Patching again finds nothing left to do. */
	CHECK_EQ(cpuid_patch_apply(&sites, NULL), 0);
	CHECK_EQ(cpuid_patch_revert(&sites), patched);
	cpuid_patch_test_target(0x12, 1, regs);
	CHECK(!memcmp(regs, real, sizeof(regs)));
	CHECK_EQ(traps, 1);
	cpuid_sites_free(&sites);
}

TEST(cpuid_sweep_needs_instruction_boundaries)
{
	/* mov $0xa20f, %eax; cpuid; ret: a byte search sees 0f a2 twice. */
	static const uint8_t code[] = { 0xb8, 0x0f, 0xa2, 0x00, 0x00, 0x0f, 0xa2, 0xc3 };
	/* Two prefixes then cpuid: one site, the handler steps over 4 bytes. */
	static const uint8_t prefixed[] = { 0x66, 0x3e, 0x0f, 0xa2 };
	struct cpuid_sites s;
	unsigned long n;

	cpuid_sites_init(&s);
	CHECK_EQ(cpuid_sweep(code, 0x1000, sizeof(code), &s, &n), 1);
	CHECK_EQ(n, 3);
	REQUIRE_EQ(s.nr, 1);
	CHECK_EQ(s.v[0].addr, 0x1005);
	CHECK_EQ(s.v[0].length, 2);
	CHECK_EQ(s.v[0].opcode_offset, 0);

	/* Ending inside an instruction = out of sync: nothing is kept. */
	CHECK_EQ(cpuid_sweep(code, 0x2000, sizeof(code) - 1, &s, NULL), 1);
	CHECK_EQ(s.nr, 2);
	CHECK_EQ(cpuid_sweep(code, 0x3000, 6, &s, NULL), 0);
	CHECK_EQ(s.nr, 2);
	/* An invalid byte (06 = push %es) after a CPUID: the CPUID is dropped too. */
	CHECK_EQ(cpuid_sweep((const uint8_t[]){ 0x0f, 0xa2, 0x06, 0xc3 }, 0x4000, 4, &s, NULL), 0);
	CHECK_EQ(s.nr, 2);

	CHECK_EQ(cpuid_sweep(prefixed, 0x5000, sizeof(prefixed), &s, NULL), 1);
	REQUIRE_EQ(s.nr, 3);
	CHECK_EQ(s.v[2].length, 4);
	CHECK_EQ(s.v[2].opcode_offset, 2);
	cpuid_sites_sort(&s);
	CHECK_EQ(s.v[0].addr, 0x1005);
	CHECK_EQ(s.v[1].addr, 0x2005);
	CHECK_EQ(s.v[2].addr, 0x5000);
	CHECK(cpuid_patch_lookup(&s, 0x5000) == NULL);	/* found, not patched */
	cpuid_sites_free(&s);
}

TEST(cpuid_patch_trap_ignores_other_addresses)
{
	struct cpuid_sites s;
	ucontext_t uc;

	cpuid_sites_init(&s);
	memset(&uc, 0, sizeof(uc));
	uc.uc_mcontext.gregs[REG_RIP] = 0x1234;
	uc.uc_mcontext.gregs[REG_RAX] = 0x12;
	CHECK(!cpuid_patch_handle_trap(&s, &uc, emulate_leaf_12, NULL));
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RIP], 0x1234);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RAX], 0x12);
	/* A site that is listed but not patched is not ours to emulate either. */
	s.v = calloc(1, sizeof(*s.v));
	REQUIRE(s.v);
	s.nr = s.cap = 1;
	s.v[0].addr = 0x1234;
	s.v[0].length = 2;
	CHECK(!cpuid_patch_handle_trap(&s, &uc, emulate_leaf_12, NULL));
	s.v[0].patched = true;
	CHECK(cpuid_patch_handle_trap(&s, &uc, emulate_leaf_12, NULL));
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RIP], 0x1236);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RAX], FAKE_EAX);
	CHECK_EQ(uc.uc_mcontext.gregs[REG_RDX], FAKE_EDX);
	/* A table entry pointing at unmapped memory: refused, no crash. */
	s.v[0].addr = 0x10;
	s.v[0].patched = false;
	CHECK(cpuid_patch_apply(&s, NULL) < 0);
	CHECK(!s.v[0].patched);
	cpuid_sites_free(&s);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

TEST(cpuid_scan_elf_rejects_bad_files)
{
	char path[] = "/tmp/sgxemu-cpuid-elf.XXXXXX";
	struct cpuid_sites s;
	Elf64_Ehdr eh;
	uint64_t a, sz;
	int fd;

	cpuid_sites_init(&s);
	CHECK_EQ(cpuid_scan_elf("/nonexistent/file", 0, &s, NULL), -ENOENT);
	CHECK_EQ(cpuid_scan_elf(NULL, 0, &s, NULL), -EINVAL);
	CHECK_EQ(cpuid_scan_elf("/tmp", 0, &s, NULL), -ENOEXEC);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);

	REQUIRE_EQ(write_file(path, "#!/bin/sh\necho not an ELF file at all, sorry\n", 46), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), -ENOEXEC);
	REQUIRE_EQ(write_file(path, ELFMAG, 4), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), -ENOEXEC);

	/* A header whose tables point far outside the file. */
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = 1ULL << 40;
	eh.e_phnum = 3;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	REQUIRE_EQ(write_file(path, &eh, sizeof(eh)), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), -ENOEXEC);
	eh.e_phoff = 0;
	eh.e_phnum = 0;
	eh.e_shoff = sizeof(eh) - 8;
	eh.e_shnum = 100;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	REQUIRE_EQ(write_file(path, &eh, sizeof(eh)), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), -ENOEXEC);
	/* Valid but empty: no code, no sites. */
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	REQUIRE_EQ(write_file(path, &eh, sizeof(eh)), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), 0);
	CHECK_EQ(cpuid_elf_function(path, "main", &a, &sz), -ENOENT);
	/* Another architecture. */
	eh.e_machine = EM_AARCH64;
	REQUIRE_EQ(write_file(path, &eh, sizeof(eh)), 0);
	CHECK_EQ(cpuid_scan_elf(path, 0, &s, NULL), -ENOEXEC);
	CHECK_EQ(s.nr, 0);
	unlink(path);
	cpuid_sites_free(&s);
}

/*
 * Truncations and corruptions of this binary's own headers: any answer is
 * fine but a crash (ASan watches the reads).
 */
TEST(cpuid_scan_elf_survives_corrupted_binaries)
{
	char self[PATH_MAX], path[] = "/tmp/sgxemu-cpuid-elf.XXXXXX";
	uint64_t x = test_seed() | 1;
	struct cpuid_sites s;
	struct stat sb;
	uint8_t *img, *copy;
	int fd;

	REQUIRE(self_path(self, sizeof(self)));
	fd = open(self, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(!fstat(fd, &sb));
	img = malloc(sb.st_size);
	copy = malloc(sb.st_size);
	REQUIRE(img && copy);
	REQUIRE_EQ(read(fd, img, sb.st_size), sb.st_size);
	close(fd);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	cpuid_sites_init(&s);
	for (unsigned int round = 0; round < 24; round++) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
		size_t len = sb.st_size;

		memcpy(copy, img, sb.st_size);
		for (unsigned int k = 0; k < 8; k++) {
			uint64_t pos;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Hit the ELF header, the program headers or the section headers. */
			switch (k % 3) {
			case 0:
				pos = x % sizeof(Elf64_Ehdr);
				break;
			case 1:
				pos = eh->e_phoff + x % (eh->e_phnum * sizeof(Elf64_Phdr));
				break;
			default:
				pos = eh->e_shoff + x % (eh->e_shnum * sizeof(Elf64_Shdr));
			}
			if (pos < len)
				copy[pos] ^= (uint8_t)(x >> 32) | 1;
		}
		if (round % 4 == 3)
			len = x % sb.st_size;
		REQUIRE_EQ(write_file(path, copy, len), 0);
		s.nr = 0;
		(void)cpuid_scan_elf(path, 0, &s, NULL);
	}
	unlink(path);
	cpuid_sites_free(&s);
	free(img);
	free(copy);
}

/* Scan 'path' and compare its sites with 'expect'; returns the scan report. */
static void check_same_sites(const char *path, const struct cpuid_sites *expect,
			     enum cpuid_scan_method method)
{
	struct cpuid_scan_report rep;
	struct cpuid_sites got;
	int n;

	cpuid_sites_init(&got);
	n = cpuid_scan_elf(path, 0, &got, &rep);
	CHECK_EQ(rep.method, method);
	/* Almost everything is swept; only spans holding non-code are dropped. */
	CHECK(rep.ranges_out_of_sync * 50 < rep.ranges);
	CHECK(rep.bytes_swept * 10 > rep.exec_bytes * 9);
	CHECK_EQ(n, (int)expect->nr);
	for (size_t i = 0; i < expect->nr && i < got.nr; i++)
		CHECK_EQ(got.v[i].addr, expect->v[i].addr);
	cpuid_sites_free(&got);
}

/*
 * Without .symtab the executable sections are swept in spans between the
 * function starts of .dynsym and .eh_frame_hdr; without section headers
 * either, the executable segments. Both must find what the symbols find.
 */
TEST(cpuid_scan_stripped_binary_finds_the_same_sites)
{
	char self[PATH_MAX], path[] = "/tmp/sgxemu-cpuid-strip.XXXXXX", cmd[PATH_MAX * 2 + 64];
	struct cpuid_sites full;
	Elf64_Ehdr eh;
	int fd;

	if (system("strip --version >/dev/null 2>&1"))
		SKIP("strip not installed");
	REQUIRE(self_path(self, sizeof(self)));
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	REQUIRE((size_t)snprintf(cmd, sizeof(cmd), "strip -o '%s' '%s'", path, self) < sizeof(cmd));
	REQUIRE_EQ(system(cmd), 0);

	cpuid_sites_init(&full);
	CHECK(cpuid_scan_elf(self, 0, &full, NULL) >= 2);
	check_same_sites(path, &full, CPUID_SCAN_SECTIONS);

	/* Now drop the section headers too (what sstrip does). */
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	REQUIRE_EQ(pwrite(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	close(fd);
	check_same_sites(path, &full, CPUID_SCAN_SEGMENTS);
	unlink(path);
	cpuid_sites_free(&full);
}

/* SPDX-License-Identifier: MIT */
/*
 * Make a program's own CPUID instructions trap, so that the emulated CPU can
 * answer them, on a host without CPUID faulting (arch_prctl(ARCH_SET_CPUID)
 * fails with ENODEV on AMD).
 *
 * 1. Find: sweep the executable's code instruction by instruction
 *    (host/insn.h) from known instruction boundaries - the start of every
 *    function symbol (STT_FUNC/STT_GNU_IFUNC with a size, .symtab and
 *    .dynsym); without symbols, the start of every executable section (or
 *    segment) - and collect every instruction that decodes as CPUID. A range
 *    whose sweep does not end exactly at its end (invalid bytes, data in
 *    code) contributes nothing: an out-of-sync sweep could name a "0f a2"
 *    that is really inside another instruction.
 * 2. Patch: write 0f 0b (UD2, same length) over 0f a2 (mprotect RWX, write,
 *    back to R-X), after checking the bytes in memory are still 0f a2.
 * 3. Trap: the SIGILL handler calls cpuid_patch_handle_trap(), which
 *    recognises a patched site by its exact address, emulates CPUID and
 *    steps over the instruction (prefixes included).
 *
 * No globals: the site table is a value the caller owns. The trap-time
 * functions only read the table (sorted, binary search) and are
 * async-signal-safe; patching must happen before other threads run code
 * that is being patched.
 */
#ifndef SGXEMU_HOST_CPUID_PATCH_H
#define SGXEMU_HOST_CPUID_PATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpuid_site {
	uint64_t addr;		/* first byte of the instruction (prefixes included) */
	uint8_t length;		/* bytes the trap handler steps over */
	uint8_t opcode_offset;	/* 0f a2 starts at addr + opcode_offset */
	bool patched;		/* UD2 is in place (cpuid_patch_apply) */
};

/* Sites sorted by address, no duplicates (after a scan returns). */
struct cpuid_sites {
	struct cpuid_site *v;
	size_t nr, cap;
};

void cpuid_sites_init(struct cpuid_sites *s);
void cpuid_sites_free(struct cpuid_sites *s);

/*
 * Linear sweep of the code [addr, addr + size) whose bytes are at 'code'.
 * Returns 1 and appends the CPUID sites if every byte decoded and the last
 * instruction ends exactly at addr + size; 0 (nothing appended) if the sweep
 * lost sync; -ENOMEM. *nr_insns (optional) receives the number of
 * instructions decoded. Call cpuid_sites_sort() after the last sweep.
 */
int cpuid_sweep(const uint8_t *code, uint64_t addr, uint64_t size, struct cpuid_sites *out,
		unsigned long *nr_insns);
void cpuid_sites_sort(struct cpuid_sites *s);

enum cpuid_scan_method {
	CPUID_SCAN_SYMBOLS = 1,	/* function symbols */
	CPUID_SCAN_SECTIONS,	/* no function symbols: SHF_EXECINSTR sections */
	CPUID_SCAN_SEGMENTS,	/* no section headers either: PF_X PT_LOAD segments */
};

struct cpuid_scan_report {
	enum cpuid_scan_method method;
	unsigned long ranges;		/* functions / sections / segments swept */
	unsigned long ranges_out_of_sync; /* of those, rejected */
	unsigned long instructions;	/* decoded in the ranges that stayed in sync */
	uint64_t bytes_swept;		/* bytes in ranges that stayed in sync */
	uint64_t exec_bytes;		/* file bytes of the executable segments */
};

/*
 * Find the CPUID instructions of the x86-64 ELF file at 'path'; addresses
 * are the ELF's virtual addresses + 'bias' (the load bias of a running
 * image, 0 to work on the file). Returns the number of sites, or -errno
 * (-ENOEXEC: not a valid x86-64 ELF; -ENOMEM; open/mmap errors).
 * 'rep' (optional) says how.
 */
int cpuid_scan_elf(const char *path, uint64_t bias, struct cpuid_sites *out,
		   struct cpuid_scan_report *rep);

/*
 * Address (ELF virtual address) and size of the function symbol 'name' in
 * the ELF at 'path'. 0, -ENOENT, or -errno as cpuid_scan_elf().
 */
int cpuid_elf_function(const char *path, const char *name, uint64_t *addr, uint64_t *size);

/*
 * Patch every site not yet patched: the bytes at addr + opcode_offset must
 * be 0f a2 in memory, they become 0f 0b. The page is made RWX while writing
 * (the patching code may share it) and R-X afterwards (code pages are R-X).
 * The CPUID of cpuid_patch_real_cpuid() itself is never patched.
 * Returns the number of sites patched now, or -errno (mprotect failed; the
 * sites patched before the failure stay patched, marked so). A site whose
 * bytes are not 0f a2 is left alone and counted in *skipped (optional).
 */
int cpuid_patch_apply(struct cpuid_sites *s, unsigned int *skipped);

/* Put 0f a2 back at every patched site. Returns the number restored or -errno. */
int cpuid_patch_revert(struct cpuid_sites *s);

/*
 * The main executable (what dl_iterate_phdr reports first): its load bias.
 * Its file is /proc/self/exe. 0 or -ENOENT.
 */
int cpuid_main_bias(uint64_t *bias);

/*
 * Scan /proc/self/exe and patch every CPUID of the main executable.
 * Returns the number of sites patched or -errno; 'out' holds the sites
 * (to give to cpuid_patch_handle_trap), 'rep' how they were found.
 */
int cpuid_patch_main_program(struct cpuid_sites *out, struct cpuid_scan_report *rep);

/* The patched site that starts exactly at 'rip', or NULL. Async-signal-safe. */
const struct cpuid_site *cpuid_patch_lookup(const struct cpuid_sites *s, uint64_t rip);

/* The host's real CPUID (never patched, see cpuid_patch_apply()). */
void cpuid_patch_real_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/*
 * For a SIGILL handler (ucontext = its third argument): if RIP is a patched
 * site, take leaf/subleaf from EAX/ECX, let 'emulate' fill regs (EAX, EBX,
 * ECX, EDX) - when it returns false the real CPUID answers - write them to
 * RAX..RDX (zero-extended, as CPUID does), step RIP over the instruction and
 * return true. Otherwise return false and change nothing. Async-signal-safe
 * if 'emulate' is.
 */
bool cpuid_patch_handle_trap(const struct cpuid_sites *s, void *ucontext,
			     bool (*emulate)(void *arg, uint32_t leaf, uint32_t subleaf,
					     uint32_t regs[4]),
			     void *arg);

#endif /* SGXEMU_HOST_CPUID_PATCH_H */

/* SPDX-License-Identifier: MIT */
/*
 * The sgxemu command line: a table of commands that fills itself. Each
 * command lives in its own file and registers with CLI_COMMAND(); adding a
 * command means adding a file, nothing else.
 *
 * Exit status convention for every command: 0 success, 1 the operation
 * failed, 2 bad usage (the message went to stderr).
 */
#ifndef SGXEMU_CLI_H
#define SGXEMU_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

#define SGXEMU_VERSION "0.1.0"

#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

struct cli_command {
	const char *name;
	const char *summary;		/* one line, for `sgxemu help` */
	const char *usage;		/* full option text, for `sgxemu help CMD` */
	/* argv[0] is the command name; getopt_long state is reset before. */
	int (*run)(int argc, char **argv);
	struct cli_command *next;
};

void cli_register(struct cli_command *cmd);
const struct cli_command *cli_find(const char *name);

#define CLI_COMMAND(cname, csummary, cusage, cfn)                              \
	static struct cli_command cli_cmd_##cname = {                          \
		.name = #cname, .summary = csummary, .usage = cusage,          \
		.run = cfn };                                                  \
	__attribute__((constructor)) static void cli_reg_##cname(void)         \
	{ cli_register(&cli_cmd_##cname); }

/* Print "sgxemu CMD: msg" and the command's usage hint to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The usage error for a getopt_long() result of '?' (unknown option) or ':'
 * (missing argument; commands pass an optstring starting with ':'). Returns 2.
 */
int cli_bad_option(const char *cmd, int opt, char **argv);

/* Parse a decimal unsigned integer in [min, max]; 0 or -1. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Platform options shared by the commands that create an emulated CPU:
 *   --epc SIZE  --sections N  --sgx1
 * CLI_PLATFORM_LONGOPTS goes into a command's struct option array; each
 * getopt_long() result is first offered to cli_platform_option().
 */
enum {
	CLI_OPT_EPC = 0x1000,
	CLI_OPT_SECTIONS,
	CLI_OPT_SGX1,
	CLI_OPT_FIRST_PRIVATE = 0x1100,	/* commands number their own long options from here */
};

#define CLI_PLATFORM_LONGOPTS                                                  \
	{ "epc", required_argument, NULL, CLI_OPT_EPC },                       \
	{ "sections", required_argument, NULL, CLI_OPT_SECTIONS },             \
	{ "sgx1", no_argument, NULL, CLI_OPT_SGX1 }

#define CLI_PLATFORM_USAGE                                                     \
	"  --epc SIZE       EPC size (default 93.5M; e.g. 64M, 0x4000000, 1G)\n"   \
	"  --sections N     number of EPC sections / NUMA nodes (1..8, default 1)\n" \
	"  --sgx1           an SGX1-only CPU (no EDMM leaves, CPUID.12.0:EAX[1]=0)\n"

/*
 * Returns 1 if 'opt' was a platform option and was applied to *c, 0 if it
 * is not one, or -1 after printing a usage error (the command exits 2).
 */
int cli_platform_option(const char *cmd, int opt, const char *arg, struct sgx_cpu_config *c);

/*
 * Final checks of a configuration (the EPC splits into page-aligned
 * sections): 0, or -1 after printing a usage error.
 */
int cli_platform_validate(const char *cmd, const struct sgx_cpu_config *c);

/* Print the platform as CPUID leaf 0x12 describes it (used by info and showcase). */
void cli_print_platform(const struct sgx_cpu *cpu, const char *indent);

#endif /* SGXEMU_CLI_H */

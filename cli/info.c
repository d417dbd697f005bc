// SPDX-License-Identifier: MIT
/*
 * sgxemu info: the emulated platform as software sees it: EPC sections and
 * their NUMA nodes, sizes, and CPUID leaf 0x12 decoded.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/size.h"

#define INFO_USAGE                                                             \
	"usage: sgxemu info [--epc SIZE] [--sections N] [--sgx1]\n"            \
	"\n"                                                                   \
	"Creates the emulated SGX CPU the options describe and prints what\n"  \
	"CPUID leaf 0x12 reports about it: SGX1/SGX2, MISCSELECT, ATTRIBUTES,\n" \
	"XFRM and every EPC section (physical range, size, NUMA node).\n"      \
	"\n"                                                                   \
	CLI_PLATFORM_USAGE

/*
 * Parse the platform options of a command that takes nothing else; used by
 * info, and by any command with only platform options. Returns 0, or the exit
 * status (2) after a usage error.
 */
static int parse_platform_only(const char *cmd, int argc, char **argv, struct sgx_cpu_config *c)
{
	static const struct option longopts[] = { CLI_PLATFORM_LONGOPTS, { 0 } };
	int opt;

	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		int r;

		if (opt == '?' || opt == ':')
			return cli_bad_option(cmd, opt, argv);
		r = cli_platform_option(cmd, opt, optarg, c);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r == 0)
			return cli_usage_error(cmd, "unexpected option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (cli_platform_validate(cmd, c))
		return CLI_EXIT_USAGE;
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;
	char buf[32];
	int ret;

	sgx_cpu_default_config(&c);
	ret = parse_platform_only("info", argc, argv, &c);
	if (ret)
		return ret;
	ret = sgx_cpu_create(&c, &cpu);
	if (ret) {
		fprintf(stderr, "sgxemu info: cannot create the emulated CPU: %s\n",
			strerror(-ret));
		return CLI_EXIT_FAIL;
	}
	printf("sgxemu %s: emulated SGX platform\n", SGXEMU_VERSION);
	printf("  EPC: %s, %u section%s, %llu frames of 4 KiB\n",
	       format_size(c.epc_size, buf, sizeof(buf)), c.nr_sections,
	       c.nr_sections == 1 ? "" : "s", (unsigned long long)sgx_cpu_nr_frames(cpu));
	printf("  logical processors that may run enclave code: up to %u\n", c.max_lps);
	cli_print_platform(cpu, "  ");
	sgx_cpu_destroy(cpu);
	return CLI_EXIT_OK;
}

CLI_COMMAND(info, "show the emulated SGX platform (EPC sections, CPUID 0x12)", INFO_USAGE,
	    cmd_info)

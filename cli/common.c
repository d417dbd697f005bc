// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the commands: usage errors, integer options, the
 * platform options (--epc, --sections, --sgx1) and the platform printout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/size.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sgxemu %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see `sgxemu help %s`)\n", cmd);
	return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int opt, char **argv)
{
	/* getopt_long has just stepped past the offending word. */
	const char *word = argv[optind - 1];

	if (opt == ':')
		return cli_usage_error(cmd, "option '%s' needs an argument", word);
	if (!strncmp(word, "--", 2))
		return cli_usage_error(cmd, "unknown option '%s'", word);
	return cli_usage_error(cmd, "unknown option '-%c'", optopt ? optopt : '?');
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts "-1" and leading blanks; a count never has them. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_platform_option(const char *cmd, int opt, const char *arg, struct sgx_cpu_config *c)
{
	unsigned long n;
	uint64_t size;
	int err;

	switch (opt) {
	case CLI_OPT_EPC:
		err = parse_size(arg, SGX_PAGE_SIZE, &size);
		if (err) {
			cli_usage_error(cmd, "--epc '%s': %s", arg, size_strerror(err));
			return -1;
		}
		c->epc_size = size;
		return 1;
	case CLI_OPT_SECTIONS:
		if (cli_parse_uint(arg, 1, SGX_MAX_EPC_SECTIONS, &n)) {
			cli_usage_error(cmd, "--sections '%s': must be a number from 1 to %d", arg,
					SGX_MAX_EPC_SECTIONS);
			return -1;
		}
		c->nr_sections = n;
		return 1;
	case CLI_OPT_SGX1:
		c->sgx2 = false;
		return 1;
	default:
		return 0;
	}
}

int cli_platform_validate(const char *cmd, const struct sgx_cpu_config *c)
{
	char buf[32];

	/* The CPU splits the EPC evenly: every section is whole pages, at least 2. */
	if (c->epc_size % (SGX_PAGE_SIZE * c->nr_sections) ||
	    c->epc_size / c->nr_sections < 2 * SGX_PAGE_SIZE) {
		cli_usage_error(cmd, "--epc %s cannot be split into %u sections of at least 2 "
				"whole pages each", format_size(c->epc_size, buf, sizeof(buf)),
				c->nr_sections);
		return -1;
	}
	/* The emulated physical range must fit the 52 bits CPUID can express. */
	if (c->epc_size > (1ULL << 52) - c->epc_phys_base) {
		cli_usage_error(cmd, "--epc %s is larger than an EPC can be",
				format_size(c->epc_size, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static void print_bits(const char *indent, const char *what, uint64_t v,
		       const char *const names[], unsigned int nr)
{
	printf("%s%-22s 0x%llx", indent, what, (unsigned long long)v);
	if (v) {
		const char *sep = " (";

		for (unsigned int i = 0; i < 64; i++) {
			if (!(v & (1ULL << i)))
				continue;
			if (i < nr && names[i])
				printf("%s%s", sep, names[i]);
			else
				printf("%sbit%u", sep, i);
			sep = " ";
		}
		printf(")");
	}
	printf("\n");
}

void cli_print_platform(const struct sgx_cpu *cpu, const char *indent)
{
	static const char *const attr_names[] = {
		"INIT", "DEBUG", "MODE64BIT", NULL, "PROVISIONKEY", "EINITTOKENKEY", "CET",
		"KSS", NULL, NULL, "AEXNOTIFY",
	};
	static const char *const xfrm_names[] = {
		"x87", "SSE", "AVX", "BNDREGS", "BNDCSR", "opmask", "ZMM_Hi256", "Hi16_ZMM",
		NULL, "PKRU", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "XTILECFG", "XTILEDATA",
	};
	static const char *const misc_names[] = { "EXINFO" };
	uint32_t r[4];
	uint64_t total = 0;
	char buf[32], buf2[32];
	unsigned int i;

	sgx_cpu_cpuid(cpu, SGX_CPUID, 0, r);
	printf("%sCPUID 0x12.0: SGX1 %s, SGX2 (EDMM) %s, max enclave size 2^%u (64-bit), "
	       "2^%u (32-bit)\n", indent, r[0] & 1 ? "yes" : "no", r[0] & 2 ? "yes" : "no",
	       (r[3] >> 8) & 0xff, r[3] & 0xff);
	print_bits(indent, "  MISCSELECT", r[1], misc_names, 1);
	sgx_cpu_cpuid(cpu, SGX_CPUID, 1, r);
	print_bits(indent, "  ATTRIBUTES", r[0] | (uint64_t)r[1] << 32, attr_names,
		   sizeof(attr_names) / sizeof(attr_names[0]));
	print_bits(indent, "  XFRM", r[2] | (uint64_t)r[3] << 32, xfrm_names,
		   sizeof(xfrm_names) / sizeof(xfrm_names[0]));
	for (i = 0; i < SGX_MAX_EPC_SECTIONS; i++) {
		uint64_t base, size;

		sgx_cpu_cpuid(cpu, SGX_CPUID, SGX_CPUID_EPC + i, r);
		if ((r[0] & SGX_CPUID_EPC_MASK) != SGX_CPUID_EPC_SECTION)
			break;
		base = (r[0] & 0xFFFFF000u) | (uint64_t)(r[1] & 0xFFFFFu) << 32;
		size = (r[2] & 0xFFFFF000u) | (uint64_t)(r[3] & 0xFFFFFu) << 32;
		total += size;
		printf("%sCPUID 0x12.%u: EPC section %u, node %u: phys 0x%llx-0x%llx, %s "
		       "(%llu pages)%s\n", indent, SGX_CPUID_EPC + i, i, i,
		       (unsigned long long)base, (unsigned long long)(base + size - 1),
		       format_size(size, buf, sizeof(buf)),
		       (unsigned long long)(size / SGX_PAGE_SIZE),
		       (r[2] & 0xF) == 1 ? ", confidentiality+integrity protected" : "");
	}
	printf("%sEPC total: %s in %u section%s (%llu pages; CPUID 0x12.%u: type 0, end)\n",
	       indent, format_size(total, buf2, sizeof(buf2)), i, i == 1 ? "" : "s",
	       (unsigned long long)(total / SGX_PAGE_SIZE), SGX_CPUID_EPC + i);
}

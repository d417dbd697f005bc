// SPDX-License-Identifier: MIT
/*
 * sgxemu <command> [options]: find the command in the self-filled table and
 * run it. Global words: help, --help, -h, --version.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/*
 * The command table. Filled by the constructors of the command files before
 * main() runs, read-only afterwards; kept sorted by name so that `help` lists
 * commands in a stable order whatever the link order.
 */
static struct cli_command *commands;

void cli_register(struct cli_command *cmd)
{
	struct cli_command **p = &commands;

	while (*p && strcmp((*p)->name, cmd->name) < 0)
		p = &(*p)->next;
	cmd->next = *p;
	*p = cmd;
}

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = commands; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: sgxemu <command> [options]\n"
		"\n"
		"sgxemu is Intel SGX for Linux machines without SGX: an emulated SGX CPU and a\n"
		"user-space implementation of the Linux kernel's SGX EPC memory manager.\n"
		"\n"
		"commands:\n");
	for (const struct cli_command *c = commands; c; c = c->next)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f,
		"  %-10s %s\n"
		"\n"
		"`sgxemu help COMMAND` or `sgxemu COMMAND --help` shows a command's options.\n"
		"`sgxemu --version` prints the version.\n",
		"help", "show this help, or a command's options");
}

static void print_command_help(FILE *f, const struct cli_command *c)
{
	fprintf(f, "sgxemu %s: %s\n\n%s", c->name, c->summary, c->usage);
}

static int cmd_help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "sgxemu help: takes at most one command name\n");
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help")) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "sgxemu help: unknown command '%s'\n", argv[1]);
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	print_command_help(stdout, c);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cli_command *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		if (argc > 2) {
			fprintf(stderr, "sgxemu: --version takes no arguments\n");
			return CLI_EXIT_USAGE;
		}
		printf("sgxemu %s\n", SGXEMU_VERSION);
		return CLI_EXIT_OK;
	}
	c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "sgxemu: unknown command '%s'\n\n", argv[1]);
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* Per-command --help, whatever else is on the line. */
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_command_help(stdout, c);
			return CLI_EXIT_OK;
		}
	}
	/* Commands parse with getopt_long from argv[1] (their own name) on. */
	optind = 0;
	opterr = 0;
	return c->run(argc - 1, argv + 1);
}

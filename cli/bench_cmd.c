// SPDX-License-Identifier: MIT
/*
 * sgxemu bench [--list] [--quick] [--reps N] [NAME...]: run benchmark groups
 * (bench/), all of them or those named. Results are METRIC lines on stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli/cli.h"

#define BENCH_USAGE                                                            \
	"usage: sgxemu bench [--list] [--quick] [--reps N] [NAME...]\n"        \
	"\n"                                                                   \
	"Runs every benchmark group, or the groups named, and prints one line\n" \
	"per result: METRIC <name> <value> <unit>. Each figure is the median\n" \
	"of N measured batches, after warm-up batches.\n"                      \
	"\n"                                                                   \
	"  --list           list the groups and exit\n"                        \
	"  --quick          smoke mode: tiny counts, check that the benchmarks\n" \
	"                   run (the numbers mean nothing)\n"                  \
	"  --reps N         measured batches per figure (1..1000, default 21)\n"

enum { OPT_LIST = CLI_OPT_FIRST_PRIVATE, OPT_QUICK, OPT_REPS };

static int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, OPT_LIST },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "reps", required_argument, NULL, OPT_REPS },
		{ 0 },
	};
	struct bench_ctx ctx = { .reps = 21, .warmup = 3 };
	bool list = false, reps_given = false;
	unsigned int failed = 0;
	unsigned long n;
	int opt;

	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_LIST:
			list = true;
			break;
		case OPT_QUICK:
			ctx.quick = true;
			break;
		case OPT_REPS:
			if (cli_parse_uint(optarg, 1, 1000, &n))
				return cli_usage_error("bench", "--reps '%s': must be a number "
						       "from 1 to 1000", optarg);
			ctx.reps = n;
			reps_given = true;
			break;
		default:
			return cli_bad_option("bench", opt, argv);
		}
	}
	if (ctx.quick) {
		ctx.warmup = 1;
		if (!reps_given)
			ctx.reps = 3;
	}
	/* Every name is checked before anything runs. */
	for (int i = optind; i < argc; i++)
		if (!bench_find(argv[i]))
			return cli_usage_error("bench", "unknown benchmark '%s' (`sgxemu bench "
					       "--list` shows them)", argv[i]);
	if (list) {
		for (const struct bench *b = bench_list(); b; b = b->next)
			printf("%-10s %s\n", b->name, b->summary);
		return CLI_EXIT_OK;
	}
	for (const struct bench *b = bench_list(); b; b = b->next) {
		bool wanted = optind == argc;

		for (int i = optind; i < argc; i++)
			wanted |= !strcmp(argv[i], b->name);
		if (!wanted)
			continue;
		printf("# bench %s: %s%s\n", b->name, b->summary, ctx.quick ? " (quick)" : "");
		if (b->run(&ctx))
			failed++;
	}
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

CLI_COMMAND(bench, "run benchmarks (METRIC lines)", BENCH_USAGE, cmd_bench)

// SPDX-License-Identifier: MIT
/*
 * sgxemu cgroup: the EPC cgroup tree of a running daemon (docs/DAEMON.md),
 * operated as one would operate /sys/fs/cgroup: mkdir, rmdir, read and write
 * the misc.* files, and a table of the whole tree. Errors are the kernel's
 * errnos, printed as the shell would print them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/client.h"

#define CGROUP_USAGE                                                           \
	"usage: sgxemu cgroup [--socket PATH] mkdir PATH\n"                    \
	"       sgxemu cgroup [--socket PATH] rmdir PATH\n"                    \
	"       sgxemu cgroup [--socket PATH] read PATH FILE\n"                \
	"       sgxemu cgroup [--socket PATH] write PATH FILE VALUE\n"         \
	"       sgxemu cgroup [--socket PATH] tree\n"                          \
	"\n"                                                                   \
	"Operates the EPC cgroup tree of the running `sgxemu daemon`. PATH is\n" \
	"absolute within the tree: / is the root, /a/b a grandchild. FILE is one\n" \
	"of the misc controller's files: misc.capacity (root), misc.current,\n" \
	"misc.max (writable: \"sgx_epc <bytes>\" or \"sgx_epc max\"), misc.peak,\n" \
	"misc.events, misc.events.local. `read` prints the file's text exactly;\n" \
	"`tree` prints every cgroup with its usage, limit, peak and events (bytes).\n" \
	"\n"                                                                   \
	"  --socket PATH    the daemon's socket (default: $" SGXD_SOCKET_ENV ", else\n" \
	"                   " SGXD_DEFAULT_SOCKET ")\n"                        \
	"\n"                                                                   \
	"Exit status: 0 done, 1 the operation failed or no daemon, 2 bad usage.\n"

enum { OPT_SOCKET = CLI_OPT_FIRST_PRIVATE };

struct subcmd {
	const char *name;
	int nargs;
};

static const struct subcmd subcmds[] = {
	{ "mkdir", 1 }, { "rmdir", 1 }, { "read", 2 }, { "write", 3 }, { "tree", 0 },
};

/* "/a" + "misc.max" -> "/a/misc.max", "/" + "misc.max" -> "/misc.max" */
static void file_path(char *buf, size_t len, const char *path, const char *file)
{
	size_t n = strlen(path);

	snprintf(buf, len, "%s%s%s", path, n && path[n - 1] == '/' ? "" : "/", file);
}

static void print_tree(const struct sgxd_cg_entry *e, size_t nr)
{
	int w = (int)strlen("PATH");
	char max[24];

	for (size_t i = 0; i < nr; i++)
		if ((int)strlen(e[i].path) > w)
			w = (int)strlen(e[i].path);
	printf("%-*s  %14s  %14s  %14s  %8s\n", w, "PATH", "CURRENT", "MAX", "PEAK", "EVENTS");
	for (size_t i = 0; i < nr; i++) {
		if (e[i].max == UINT64_MAX)
			snprintf(max, sizeof(max), "max");
		else
			snprintf(max, sizeof(max), "%" PRIu64, e[i].max);
		printf("%-*s  %14" PRIu64 "  %14s  %14" PRIu64 "  %8" PRIu64 "\n", w, e[i].path,
		       e[i].current, max, e[i].peak, e[i].events);
	}
}

static int cmd_cgroup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ 0 }
	};
	const char *socket_opt = NULL, *what, *path;
	const struct subcmd *sc = NULL;
	struct sgxd_client *c;
	char err[512], text[1024], fp[SGXD_MAX_STR + 64];
	int opt, ret, status = 0;

	/* '+': options only before the subcommand, so VALUE may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option("cgroup", opt, argv);
		if (opt == OPT_SOCKET)
			socket_opt = optarg;
	}
	if (optind >= argc)
		return cli_usage_error("cgroup", "missing subcommand (mkdir, rmdir, read, write "
				       "or tree)");
	what = argv[optind++];
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (!strcmp(what, subcmds[i].name))
			sc = &subcmds[i];
	if (!sc)
		return cli_usage_error("cgroup", "unknown subcommand '%s'", what);
	if (argc - optind != sc->nargs)
		return cli_usage_error("cgroup", "%s takes %d argument%s, not %d", what, sc->nargs,
				       sc->nargs == 1 ? "" : "s", argc - optind);
	path = sc->nargs ? argv[optind] : "/";
	for (int i = optind; i < argc; i++)
		if (strlen(argv[i]) > SGXD_MAX_STR)
			return cli_usage_error("cgroup", "argument longer than %d bytes",
					       SGXD_MAX_STR);

	ret = sgxd_client_connect(sgxd_socket_path(socket_opt), SGXD_ROLE_CLI, "sgxemu cgroup",
				  &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu cgroup: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	if (!strcmp(what, "mkdir")) {
		ret = sgxd_cg_mkdir(c, path, &status);
		snprintf(fp, sizeof(fp), "%s", path);
	} else if (!strcmp(what, "rmdir")) {
		ret = sgxd_cg_rmdir(c, path, &status);
		snprintf(fp, sizeof(fp), "%s", path);
	} else if (!strcmp(what, "read")) {
		ret = sgxd_cg_read(c, path, argv[optind + 1], text, sizeof(text), &status);
		file_path(fp, sizeof(fp), path, argv[optind + 1]);
		if (!ret && !status)
			fputs(text, stdout);
	} else if (!strcmp(what, "write")) {
		ret = sgxd_cg_write(c, path, argv[optind + 1], argv[optind + 2], &status);
		file_path(fp, sizeof(fp), path, argv[optind + 1]);
	} else {
		struct sgxd_cg_entry *e;
		size_t nr;

		ret = sgxd_cg_tree(c, &e, &nr, &status);
		snprintf(fp, sizeof(fp), "/");
		if (!ret && !status) {
			print_tree(e, nr);
			sgxd_cg_tree_free(e, nr);
		}
	}
	if (ret) {
		fprintf(stderr, "sgxemu cgroup: %s\n", sgxd_client_error(c));
		sgxd_client_close(c);
		return CLI_EXIT_FAIL;
	}
	sgxd_client_close(c);
	if (status) {
		fprintf(stderr, "sgxemu cgroup: %s %s: %s\n", what, fp, strerror(-status));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

CLI_COMMAND(cgroup, "EPC cgroups of the running daemon: mkdir, rmdir, read, write, tree",
	    CGROUP_USAGE, cmd_cgroup)

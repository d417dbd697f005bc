// SPDX-License-Identifier: MIT
/* sgxemu status: what the running daemon hosts (docs/DAEMON.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/size.h"
#include "daemon/client.h"

#define STATUS_USAGE                                                           \
	"usage: sgxemu status [--socket PATH]\n"                               \
	"\n"                                                                   \
	"Asks the running `sgxemu daemon` about its platform: EPC size and\n"  \
	"free pages, enclaves, cgroups, connected clients, OOM policy.\n"      \
	"\n"                                                                   \
	"  --socket PATH    the daemon's socket (default: $" SGXD_SOCKET_ENV ", else\n" \
	"                   " SGXD_DEFAULT_SOCKET ")\n"

enum { OPT_SOCKET = CLI_OPT_FIRST_PRIVATE };

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ 0 }
	};
	const char *socket_opt = NULL, *path;
	struct sgxd_client *c;
	struct sgxd_status st;
	char err[512], buf[32];
	int opt, ret, status;

	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option("status", opt, argv);
		if (opt == OPT_SOCKET)
			socket_opt = optarg;
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	path = sgxd_socket_path(socket_opt);
	ret = sgxd_client_connect(path, SGXD_ROLE_CLI, "sgxemu status", &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu status: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	ret = sgxd_status(c, &st, &status);
	if (ret || status) {
		fprintf(stderr, "sgxemu status: %s\n",
			ret ? sgxd_client_error(c) : strerror(-status));
		sgxd_client_close(c);
		return CLI_EXIT_FAIL;
	}
	sgxd_client_close(c);
	printf("sgxemu daemon %s: pid %u, uid %u, socket %s, up %llu s\n", st.version, st.pid,
	       st.uid, path, (unsigned long long)(st.uptime_ms / 1000));
	printf("  EPC: %s in %u section%s, SGX2 %s; %llu of %llu pages free\n",
	       format_size(st.epc_bytes, buf, sizeof(buf)), st.nr_sections,
	       st.nr_sections == 1 ? "" : "s", st.sgx2 ? "yes" : "no",
	       (unsigned long long)st.free_pages, (unsigned long long)st.total_pages);
	printf("  enclaves: %llu; EPC cgroups: %llu; OOM policy: %s\n",
	       (unsigned long long)st.nr_encls, (unsigned long long)st.nr_cgroups,
	       st.oom_policy == 0 ? "kill" : "enomem");
	printf("  clients: %u connected (at most %u)\n", st.nr_clients, st.max_clients);
	return CLI_EXIT_OK;
}

CLI_COMMAND(status, "ask the running daemon about its platform", STATUS_USAGE, cmd_status)

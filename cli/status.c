// SPDX-License-Identifier: MIT
/* sgxemu status: what the running daemon hosts (docs/DAEMON.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/size.h"
#include "daemon/client.h"

#define STATUS_USAGE                                                           \
	"usage: sgxemu status [--enclaves] [--socket PATH]\n"                  \
	"\n"                                                                   \
	"Asks the running `sgxemu daemon` about its platform: EPC size and\n"  \
	"free pages, enclaves, cgroups, connected clients, OOM policy.\n"      \
	"\n"                                                                   \
	"  --enclaves       instead, one row per enclave the daemon hosts: the\n" \
	"                   owning pid (- once its handle is closed), its EPC\n" \
	"                   cgroup, ELRANGE base and size, EPC pages in use\n" \
	"                   (REG/TCS + SECS + VA), pages swapped out, state\n" \
	"                   (open, created, init; sgx2, debug, killed) and its\n" \
	"                   EWB/ELDU/EAUG counts. Non-root users see only\n"  \
	"                   their own processes' enclaves.\n"                \
	"  --socket PATH    the daemon's socket (default: $" SGXD_SOCKET_ENV ", else\n" \
	"                   " SGXD_DEFAULT_SOCKET ")\n"

enum { OPT_SOCKET = CLI_OPT_FIRST_PRIVATE, OPT_ENCLAVES };

static void encl_state(const struct sgxd_encl_entry *e, char *buf, size_t len)
{
	const char *life = e->flags & SGXD_ENCL_F_INITIALIZED ? "init" :
			   e->flags & SGXD_ENCL_F_CREATED ? "created" : "open";

	snprintf(buf, len, "%s%s%s%s", life, e->flags & SGXD_ENCL_F_SGX2 ? ",sgx2" : "",
		 e->flags & SGXD_ENCL_F_DEBUG ? ",debug" : "",
		 e->flags & SGXD_ENCL_F_KILLED ? ",killed" : "");
}

/* One header row, then one row per enclave; columns as wide as `sgxemu cgroup tree`'s. */
static void print_encls(const struct sgxd_encl_entry *e, size_t nr)
{
	char pid[16], state[48];
	int w = 6;

	for (size_t i = 0; i < nr; i++)
		if ((int)strlen(e[i].cgroup) > w)
			w = (int)strlen(e[i].cgroup);
	printf("%7s  %-*s  %18s  %12s  %8s  %8s  %-22s  %10s  %10s  %10s\n", "PID", w, "CGROUP",
	       "BASE", "SIZE", "EPC", "SWAPPED", "STATE", "EWB", "ELDU", "EAUG");
	for (size_t i = 0; i < nr; i++) {
		if (e[i].pid)
			snprintf(pid, sizeof(pid), "%" PRIu32, e[i].pid);
		else
			snprintf(pid, sizeof(pid), "-");
		encl_state(&e[i], state, sizeof(state));
		/* Hex sizes, one token each: the rows stay easy to parse. */
		printf("%7s  %-*s  0x%016" PRIx64 "  %#12" PRIx64 "  %8" PRIu64 "  %8" PRIu64
		       "  %-22s  %10" PRIu64 "  %10" PRIu64 "  %10" PRIu64 "\n",
		       pid, w, e[i].cgroup, e[i].base, e[i].size, e[i].epc_pages, e[i].swapped_pages,
		       state, e[i].ewb, e[i].eldu, e[i].eaug);
	}
}

static int status_enclaves(struct sgxd_client *c)
{
	struct sgxd_encl_entry *e;
	size_t nr;
	int ret, status;

	ret = sgxd_encl_list(c, &e, &nr, &status);
	if (ret || status) {
		fprintf(stderr, "sgxemu status: %s\n",
			ret ? sgxd_client_error(c) : strerror(-status));
		sgxd_client_close(c);
		return CLI_EXIT_FAIL;
	}
	sgxd_client_close(c);
	print_encls(e, nr);
	sgxd_encl_list_free(e, nr);
	return CLI_EXIT_OK;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "enclaves", no_argument, NULL, OPT_ENCLAVES },
		{ 0 }
	};
	const char *socket_opt = NULL, *path;
	struct sgxd_client *c;
	struct sgxd_status st;
	char err[512], buf[32];
	int opt, ret, status;
	bool enclaves = false;

	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option("status", opt, argv);
		if (opt == OPT_SOCKET)
			socket_opt = optarg;
		else if (opt == OPT_ENCLAVES)
			enclaves = true;
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	path = sgxd_socket_path(socket_opt);
	ret = sgxd_client_connect(path, SGXD_ROLE_CLI, "sgxemu status", &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu status: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	if (enclaves)
		return status_enclaves(c);
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

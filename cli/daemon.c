// SPDX-License-Identifier: MIT
/*
 * sgxemu daemon: the shared platform (docs/DAEMON.md). One emulated SGX
 * platform and one EPC cgroup tree for every process of the machine, served
 * over a Unix socket. In the background by default: the command returns once
 * the socket is listening (exit 0) or the daemon could not start (exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/daemon.h"
#include "daemon/client.h"
#include "daemon/proto.h"

#define DAEMON_USAGE                                                           \
	"usage: sgxemu daemon [--epc SIZE] [--sections N] [--sgx1] [--socket PATH]\n" \
	"                     [--oom kill|enomem] [--group GROUP] [--max-clients N]\n" \
	"                     [--log FILE] [--verbose] [--foreground]\n"       \
	"\n"                                                                   \
	"Hosts one emulated SGX platform and its EPC cgroup tree for every\n"  \
	"process of the machine (shared mode) and serves them on a Unix socket.\n" \
	"Only root, the daemon's own user and members of the socket's group may\n" \
	"connect. Stops cleanly (socket removed) on SIGTERM or SIGINT.\n"      \
	"\n"                                                                   \
	CLI_PLATFORM_USAGE                                                     \
	"  --socket PATH    the socket (default: $" SGXD_SOCKET_ENV ", else\n"  \
	"                   " SGXD_DEFAULT_SOCKET "); its directory is created 0755,\n" \
	"                   the socket is 0660\n"                              \
	"  --oom POLICY     kill: a cgroup over its limit with nothing reclaimable\n" \
	"                   loses an enclave (the v4 series, default); enomem: limits\n" \
	"                   only block new allocations (v6 and later)\n"       \
	"  --group GROUP    the socket's group (name or number): its members may connect\n" \
	"  --max-clients N  connections served at once (1..4096, default 64)\n" \
	"  --log FILE       append the log there (default: standard error)\n"  \
	"  --verbose        also log every connection and cgroup operation\n"   \
	"  --foreground     do not detach; the log goes to standard error\n"

enum {
	OPT_SOCKET = CLI_OPT_FIRST_PRIVATE,
	OPT_OOM,
	OPT_GROUP,
	OPT_MAX_CLIENTS,
	OPT_LOG,
	OPT_VERBOSE,
	OPT_FOREGROUND,
};

static struct sgxd *the_daemon;

static void on_signal(int sig)
{
	(void)sig;
	if (the_daemon)
		sgxd_stop(the_daemon);
}

static int parse_group(const char *s, gid_t *out)
{
	unsigned long n;
	struct group *g;

	if (!cli_parse_uint(s, 0, (gid_t)-2, &n)) {
		*out = (gid_t)n;
		return 0;
	}
	g = getgrnam(s);
	if (!g)
		return -1;
	*out = g->gr_gid;
	return 0;
}

/* Create the daemon and serve; 'ready' (if >= 0) gets one byte: 0 started, 1 failed. */
static int serve(struct sgxd_config *cfg, int ready)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t stop, old;
	char err[512];
	char byte;
	int ret;

	/*
	 * The platform's threads (ksgxd, the cgroup worker) start inside
	 * sgxd_create() and inherit this mask: SIGTERM/SIGINT reach only this
	 * thread, whose handler wakes the accept loop.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &old);
	ret = sgxd_create(cfg, &the_daemon, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu daemon: %s\n", err);
		if (ready >= 0) {
			byte = 1;
			if (write(ready, &byte, 1) < 0) {
				/* the parent is gone */
			}
		}
		return CLI_EXIT_FAIL;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ready >= 0) {
		byte = 0;
		if (write(ready, &byte, 1) < 0) {
			/* the parent is gone: serve anyway */
		}
		close(ready);
	}
	ret = sgxd_run(the_daemon);
	sgxd_destroy(the_daemon);
	the_daemon = NULL;
	if (ret) {
		fprintf(stderr, "sgxemu daemon: %s\n", strerror(-ret));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/*
 * Detach before anything starts a thread (the platform does): the child
 * creates the daemon and tells the parent through a pipe whether it runs.
 */
static int background(struct sgxd_config *cfg)
{
	int fds[2], st, devnull;
	char byte = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "sgxemu daemon: pipe: %s\n", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sgxemu daemon: fork: %s\n", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (pid == 0) {
		close(fds[0]);
		setsid();
		if (chdir("/")) {
			/* stay where we are */
		}
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			if (devnull > STDERR_FILENO)
				close(devnull);
		}
		_exit(serve(cfg, fds[1]));
	}
	close(fds[1]);
	while (read(fds[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (byte) {
		waitpid(pid, &st, 0);
		return CLI_EXIT_FAIL;
	}
	printf("sgxemu daemon: pid %d listening on %s\n", (int)pid, cfg->socket_path);
	return CLI_EXIT_OK;
}

static int cmd_daemon(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_PLATFORM_LONGOPTS,
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "oom", required_argument, NULL, OPT_OOM },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ 0 }
	};
	const char *socket_opt = NULL, *log_path = NULL;
	struct sgxd_config cfg;
	bool foreground = false;
	unsigned long n;
	int opt, r, ret;

	sgxd_default_config(&cfg);
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option("daemon", opt, argv);
		r = cli_platform_option("daemon", opt, optarg, &cfg.cpu);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case OPT_SOCKET:
			socket_opt = optarg;
			break;
		case OPT_OOM:
			if (!strcmp(optarg, "kill"))
				cfg.oom_policy = SGX_EPC_OOM_KILL;
			else if (!strcmp(optarg, "enomem"))
				cfg.oom_policy = SGX_EPC_OOM_ENOMEM;
			else
				return cli_usage_error("daemon", "--oom '%s': must be kill or enomem",
						       optarg);
			break;
		case OPT_GROUP:
			if (parse_group(optarg, &cfg.socket_gid))
				return cli_usage_error("daemon", "--group '%s': no such group",
						       optarg);
			break;
		case OPT_MAX_CLIENTS:
			if (cli_parse_uint(optarg, 1, SGXD_MAX_CLIENTS_LIMIT, &n))
				return cli_usage_error("daemon", "--max-clients '%s': must be a "
						       "number from 1 to %d", optarg,
						       SGXD_MAX_CLIENTS_LIMIT);
			cfg.max_clients = (unsigned int)n;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_VERBOSE:
			cfg.verbose = true;
			break;
		case OPT_FOREGROUND:
			foreground = true;
			break;
		default:
			return cli_usage_error("daemon", "unexpected option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("daemon", "unexpected argument '%s'", argv[optind]);
	if (cli_platform_validate("daemon", &cfg.cpu))
		return CLI_EXIT_USAGE;
	cfg.socket_path = sgxd_socket_path(socket_opt);
	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		if (fd < 0) {
			fprintf(stderr, "sgxemu daemon: --log %s: %s\n", log_path, strerror(errno));
			return CLI_EXIT_FAIL;
		}
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	cfg.log_fd = STDERR_FILENO;
	if (foreground)
		ret = serve(&cfg, -1);
	else
		ret = background(&cfg);
	return ret;
}

CLI_COMMAND(daemon, "the shared platform: one EPC for every process, on a Unix socket",
	    DAEMON_USAGE, cmd_daemon)

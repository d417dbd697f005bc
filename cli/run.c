// SPDX-License-Identifier: MIT
/*
 * sgxemu run: run an unmodified SGX program on the emulated platform. The
 * program is exec'ed with libsgxemu-preload.so (found next to this binary)
 * in LD_PRELOAD and the platform's configuration in the environment the
 * shim reads (host/preload.c): SGXEMU_EPC, SGXEMU_SECTIONS, SGXEMU_SGX1,
 * SGXEMU_STATS. exec replaces us, so the exit status is the program's.
 *
 * --shared[=SOCKET] runs the program's enclaves on a running `sgxemu
 * daemon` instead (SGXEMU_SHARED, SGXEMU_CGROUP): the platform's shape
 * (EPC size, sections, SGX2) is then the daemon's, asked here with STATUS,
 * so that CPUID leaf 0x12 in the program describes the EPC it really uses.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/size.h"
#include "daemon/client.h"

#define RUN_USAGE                                                              \
	"usage: sgxemu run [--epc SIZE] [--sections N] [--sgx1] [--stats[=FILE]]\n" \
	"                  [--] PROGRAM [ARGS...]\n"                           \
	"       sgxemu run --shared[=SOCKET] [--cgroup PATH] [--stats[=FILE]]\n" \
	"                  [--] PROGRAM [ARGS...]\n"                           \
	"\n"                                                                   \
	"Runs PROGRAM, an unmodified SGX program written for the Linux driver\n" \
	"(/dev/sgx_enclave, the vDSO's __vdso_sgx_enter_enclave, CPUID leaf\n"   \
	"0x12), on the emulated platform: the LD_PRELOAD shim\n"               \
	"libsgxemu-preload.so gives every process of PROGRAM an emulated SGX\n"  \
	"CPU and the kernel's EPC manager. The exit status is PROGRAM's.\n"     \
	"\n"                                                                   \
	CLI_PLATFORM_USAGE                                                     \
	"  --stats[=FILE]   at exit, print a report (enclaves, EPC peak, EWB/ELDU/\n" \
	"                   EAUG, faults, AEX, reclaimer passes) to stderr or\n"  \
	"                   append it to FILE; one per process that used SGX\n" \
	"  --shared[=SOCKET] shared mode: the enclaves run on the platform of a\n" \
	"                   running `sgxemu daemon` (one EPC, one EPC cgroup tree\n" \
	"                   for every program); SOCKET defaults to $" SGXD_SOCKET_ENV ",\n" \
	"                   else " SGXD_DEFAULT_SOCKET "; the EPC is the daemon's\n" \
	"                   (--epc/--sections/--sgx1 are refused)\n"          \
	"  --cgroup PATH    with --shared: charge the enclaves to the daemon's EPC\n" \
	"                   cgroup PATH (it must exist; default: the program's own\n" \
	"                   cgroup v2 path)\n"

enum { RUN_OPT_STATS = CLI_OPT_FIRST_PRIVATE, RUN_OPT_SHARED, RUN_OPT_CGROUP };

/* dirname(/proc/self/exe)/libsgxemu-preload.so, if it exists. */
static int shim_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, len, "%s/libsgxemu-preload.so", dirname(exe)) >= len)
		return -1;
	return access(buf, R_OK) ? -1 : 0;
}

/*
 * A sanitizer build of sgxemu has a sanitizer build of the shim next to it,
 * whose runtime must be the first library of the process: preload the
 * runtime this binary uses (found in /proc/self/maps) before the shim.
 */
static void sanitizer_runtime(char *buf, size_t len)
{
	char line[PATH_MAX + 128];
	FILE *f;

	buf[0] = '\0';
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && (strstr(p, "/libasan.so") || strstr(p, "/libtsan.so"))) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(buf, len, "%s", p);
			break;
		}
	}
	fclose(f);
#else
	(void)line;
	(void)f;
	(void)len;
#endif
}

/*
 * The daemon's platform, for the program's CPUID: its STATUS. The socket
 * path is made absolute (the program may chdir before its first open).
 */
static int shared_platform(const char *sock, struct sgx_cpu_config *c, char *abs, size_t len)
{
	struct sgxd_client *cl;
	struct sgxd_status st;
	char err[512], cwd[PATH_MAX];
	int ret, status = 0;

	if (sock[0] != '/' && getcwd(cwd, sizeof(cwd)))
		ret = snprintf(abs, len, "%s/%s", cwd, sock);
	else
		ret = snprintf(abs, len, "%s", sock);
	if (ret < 0 || (size_t)ret >= len) {
		fprintf(stderr, "sgxemu run: %s: socket path too long\n", sock);
		return -1;
	}
	ret = sgxd_client_connect(abs, SGXD_ROLE_CLI, "sgxemu run", &cl, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "sgxemu run: %s\n", err);
		return -1;
	}
	ret = sgxd_status(cl, &st, &status);
	if (ret || status) {
		fprintf(stderr, "sgxemu run: the daemon's status: %s\n",
			ret ? sgxd_client_error(cl) : strerror(-status));
		sgxd_client_close(cl);
		return -1;
	}
	sgxd_client_close(cl);
	c->epc_size = st.epc_bytes;
	c->nr_sections = st.nr_sections;
	c->sgx2 = st.sgx2;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_PLATFORM_LONGOPTS,
		{ "stats", optional_argument, NULL, RUN_OPT_STATS },
		{ "shared", optional_argument, NULL, RUN_OPT_SHARED },
		{ "cgroup", required_argument, NULL, RUN_OPT_CGROUP },
		{ 0 },
	};
	struct sgx_cpu_config c;
	const char *stats = NULL, *shared_opt = NULL, *cgroup = NULL;
	char sock[PATH_MAX];
	bool shared = false, platform_opt = false;
	char shim[PATH_MAX], runtime[PATH_MAX], preload[3 * PATH_MAX], num[32];
	const char *old;
	int opt;

	sgx_cpu_default_config(&c);
	/* '+': stop at the program's name, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		int r;

		if (opt == '?' || opt == ':')
			return cli_bad_option("run", opt, argv);
		if (opt == RUN_OPT_STATS) {
			if (optarg && !*optarg)
				return cli_usage_error("run", "--stats= needs a file name");
			stats = optarg ? optarg : "-";
			continue;
		}
		if (opt == RUN_OPT_SHARED) {
			if (optarg && !*optarg)
				return cli_usage_error("run", "--shared= needs a socket path");
			shared = true;
			shared_opt = optarg;
			continue;
		}
		if (opt == RUN_OPT_CGROUP) {
			if (optarg[0] != '/')
				return cli_usage_error("run", "--cgroup needs an absolute path "
						       "(/ is the root)");
			cgroup = optarg;
			continue;
		}
		platform_opt = true;
		r = cli_platform_option("run", opt, optarg, &c);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r == 0)
			return cli_usage_error("run", "unexpected option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error("run", "no program to run");
	if (cgroup && !shared)
		return cli_usage_error("run", "--cgroup needs --shared");
	if (shared && platform_opt)
		return cli_usage_error("run", "with --shared the platform is the daemon's "
				       "(no --epc, --sections, --sgx1)");
	if (cli_platform_validate("run", &c))
		return CLI_EXIT_USAGE;
	if (shared && shared_platform(sgxd_socket_path(shared_opt), &c, sock, sizeof(sock)))
		return CLI_EXIT_FAIL;
	if (shim_path(shim, sizeof(shim))) {
		fprintf(stderr, "sgxemu run: libsgxemu-preload.so not found next to the sgxemu "
			"binary (build it with make)\n");
		return CLI_EXIT_FAIL;
	}
	sanitizer_runtime(runtime, sizeof(runtime));
	old = getenv("LD_PRELOAD");
	snprintf(preload, sizeof(preload), "%s%s%s%s%s", runtime, *runtime ? " " : "", shim,
		 old && *old ? " " : "", old ? old : "");

	snprintf(num, sizeof(num), "%llu", (unsigned long long)c.epc_size);
	if (setenv("LD_PRELOAD", preload, 1) || setenv("SGXEMU_EPC", num, 1))
		goto env_fail;
	snprintf(num, sizeof(num), "%u", c.nr_sections);
	if (setenv("SGXEMU_SECTIONS", num, 1))
		goto env_fail;
	if (c.sgx2 ? unsetenv("SGXEMU_SGX1") : setenv("SGXEMU_SGX1", "1", 1))
		goto env_fail;
	if (stats ? setenv("SGXEMU_STATS", stats, 1) : unsetenv("SGXEMU_STATS"))
		goto env_fail;
	if (shared ? setenv("SGXEMU_SHARED", sock, 1) : unsetenv("SGXEMU_SHARED"))
		goto env_fail;
	if (cgroup ? setenv("SGXEMU_CGROUP", cgroup, 1) : unsetenv("SGXEMU_CGROUP"))
		goto env_fail;

	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "sgxemu run: cannot run '%s': %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
env_fail:
	fprintf(stderr, "sgxemu run: cannot set the environment: %s\n", strerror(errno));
	return CLI_EXIT_FAIL;
}

CLI_COMMAND(run, "run an unmodified SGX program on the emulated platform", RUN_USAGE, cmd_run)

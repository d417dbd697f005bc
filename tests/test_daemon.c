// SPDX-License-Identifier: MIT
/*
 * The daemon (daemon/), its protocol and `sgxemu cgroup` / `sgxemu daemon`:
 * the wire format's strict decoding, cgroup round trips through the CLI,
 * malformed and random messages (the daemon drops that connection and serves
 * everyone else), peer credentials, clients killed mid-message, a second
 * instance, SIGTERM shutdown. Daemons run in-process on a thread or as a
 * forked `sgxemu daemon --foreground`, always on a temporary socket.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/proto.h"
#include "tests/harness.h"

/* ---- fixtures ---- */

struct tdir {
	char dir[64];
	char sock[100];
	char log[128];
};

static int tdir_make(struct tdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/sgxemu-daemon-test.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	chmod(t->dir, 0755);	/* other uids must reach the socket */
	snprintf(t->sock, sizeof(t->sock), "%s/s.sock", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/log", t->dir);
	return 0;
}

static void tdir_remove(struct tdir *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(t->dir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	if (!buf)
		return NULL;
	if (f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* An in-process daemon serving on a thread. */
struct tdaemon {
	struct tdir t;
	struct sgxd *d;
	pthread_t thread;
	int log_fd;
};

static void *tdaemon_thread(void *arg)
{
	struct tdaemon *td = arg;

	sgxd_run(td->d);
	return NULL;
}

static int tdaemon_start_cfg(struct tdaemon *td, struct sgxd_config *cfg)
{
	char err[256];
	int ret;

	cfg->socket_path = td->t.sock;
	cfg->cpu.epc_size = 1 << 20;
	td->log_fd = open(td->t.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cfg->log_fd = td->log_fd;
	ret = sgxd_create(cfg, &td->d, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "    sgxd_create: %s\n", err);
		return ret;
	}
	return -pthread_create(&td->thread, NULL, tdaemon_thread, td);
}

static int tdaemon_start(struct tdaemon *td)
{
	struct sgxd_config cfg;

	if (tdir_make(&td->t))
		return -1;
	sgxd_default_config(&cfg);
	return tdaemon_start_cfg(td, &cfg);
}

static void tdaemon_stop(struct tdaemon *td)
{
	if (td->d) {
		sgxd_stop(td->d);
		pthread_join(td->thread, NULL);
		sgxd_destroy(td->d);
		td->d = NULL;
	}
	close(td->log_fd);
	tdir_remove(&td->t);
}

static bool log_has(struct tdaemon *td, const char *needle)
{
	char *s = slurp(td->t.log);
	bool found = s && strstr(s, needle);

	if (!found)
		fprintf(stderr, "    log lacks '%s':\n%s\n", needle, s ? s : "(none)");
	free(s);
	return found;
}

/* A well-behaved client can still do real work. */
static bool good_client_works(const char *sock)
{
	struct sgxd_client *c;
	char err[256], buf[128];
	int ret, st = -1;

	ret = sgxd_client_connect(sock, SGXD_ROLE_CLI, "good", &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "    good client: %s\n", err);
		return false;
	}
	ret = sgxd_cg_read(c, "/", "misc.capacity", buf, sizeof(buf), &st);
	sgxd_client_close(c);
	if (ret || st || strcmp(buf, "sgx_epc 1048576\n")) {
		fprintf(stderr, "    good client: read %d/%d '%s'\n", ret, st, buf);
		return false;
	}
	return true;
}

/* The CLI binary next to this test binary's directory (O/tests/ -> O/sgxemu). */
static bool cli_path(char *out, size_t len)
{
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	if (n <= 0)
		return false;
	dir[n] = '\0';
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(dir, '/');

		if (!slash)
			return false;
		*slash = '\0';
	}
	snprintf(out, len, "%s/sgxemu", dir);
	return !access(out, X_OK);
}

struct cli_result {
	int status;
	char out[8192];
	char err[8192];
};

/* Run `sgxemu ARGS...` with env SGXEMU_SOCKET=env_sock (or unset); capture both streams. */
static void run_cli(struct cli_result *r, const char *env_sock, const char *const *args)
{
	char cli[PATH_MAX + 16], outp[] = "/tmp/sgxemu-cli-out.XXXXXX",
	     errp[] = "/tmp/sgxemu-cli-err.XXXXXX";
	const char *argv[32];
	int ofd = mkstemp(outp), efd = mkstemp(errp), st, n = 0;
	pid_t pid;
	char *s;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (!cli_path(cli, sizeof(cli)) || ofd < 0 || efd < 0)
		return;
	argv[n++] = cli;
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		if (env_sock)
			setenv(SGXD_SOCKET_ENV, env_sock, 1);
		else
			unsetenv(SGXD_SOCKET_ENV);
		execv(cli, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	s = slurp(outp);
	snprintf(r->out, sizeof(r->out), "%s", s ? s : "");
	free(s);
	s = slurp(errp);
	snprintf(r->err, sizeof(r->err), "%s", s ? s : "");
	free(s);
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
}

#define CLI(r, sock, ...) run_cli((r), (sock), (const char *const[]){ __VA_ARGS__, NULL })

static void need_cli(void)
{
	char p[PATH_MAX + 16];

	if (!cli_path(p, sizeof(p)))
		SKIP("the sgxemu CLI is not built next to the tests");
}

/* ---- raw protocol helpers ---- */

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static size_t build_hello(uint8_t *buf, uint32_t pid)
{
	static struct sgxd_wbuf w;

	sgxd_w_init(&w);
	sgxd_w_u32(&w, pid);
	sgxd_w_u32(&w, SGXD_ROLE_CLI);
	sgxd_w_u32(&w, 0);
	sgxd_w_str(&w, "raw");
	sgxd_w_finish(&w, SGXD_MSG_HELLO, 1);
	memcpy(buf, w.data, SGXD_HDR_SIZE + w.len);
	return SGXD_HDR_SIZE + w.len;
}

/* Read one message: its header and up to len payload bytes. 0, or -1 on EOF/error. */
static int raw_recv(int fd, struct sgxd_hdr *h, uint8_t *payload, size_t len)
{
	uint8_t hdr[SGXD_HDR_SIZE];

	if (sgxd_recv_all(fd, hdr, sizeof(hdr), 5000, NULL))
		return -1;
	sgxd_hdr_decode(hdr, h);
	if (h->length > len || sgxd_recv_all(fd, payload, h->length, 5000, NULL))
		return -1;
	return 0;
}

static bool raw_hello(int fd)
{
	uint8_t buf[256], rep[256];
	struct sgxd_hdr h;
	size_t n = build_hello(buf, (uint32_t)getpid());

	if (sgxd_send_all(fd, buf, n) || raw_recv(fd, &h, rep, sizeof(rep)))
		return false;
	return h.type == (SGXD_MSG_HELLO | SGXD_REPLY) && rep[0] == 0;
}

/* True when the peer closes (EOF or reset) within 5 s; everything before is discarded. */
static bool raw_closed(int fd)
{
	char sink[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			return false;
		n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0)
			return true;
	}
}

/* Expect ERROR(err) and then the connection closed. */
static void expect_refusal(int fd, int err)
{
	uint8_t rep[SGXD_MAX_PAYLOAD];
	struct sgxd_hdr h;
	struct sgxd_rbuf r;

	REQUIRE_EQ(raw_recv(fd, &h, rep, sizeof(rep)), 0);
	CHECK_EQ(h.magic, SGXD_MAGIC);
	CHECK_EQ(h.type, SGXD_MSG_ERROR);
	sgxd_r_init(&r, rep, h.length);
	CHECK_EQ(sgxd_r_s32(&r), err);
	(void)sgxd_r_str(&r);
	CHECK_EQ(sgxd_r_end(&r), 0);
	CHECK(raw_closed(fd));
}

static void put_hdr(uint8_t *b, uint32_t magic, uint16_t ver, uint16_t type, uint32_t len,
		    uint32_t id)
{
	struct sgxd_hdr h = { magic, ver, type, len, id };

	sgxd_hdr_encode(&h, b);
}

/* ---- the wire format ---- */

TEST(daemon_proto_encode_decode)
{
	static struct sgxd_wbuf w;
	struct sgxd_rbuf r;
	struct sgxd_hdr h;
	const char *why;
	uint8_t bad[16];
	char big[SGXD_MAX_STR + 2];

	sgxd_w_init(&w);
	sgxd_w_u8(&w, 0xab);
	sgxd_w_u16(&w, 0xbeef);
	sgxd_w_u32(&w, 0xdeadbeef);
	sgxd_w_s32(&w, -17);
	sgxd_w_u64(&w, 0x0123456789abcdefULL);
	sgxd_w_str(&w, "/a/b");
	sgxd_w_str(&w, "");
	REQUIRE_EQ(sgxd_w_finish(&w, SGXD_MSG_CG_MKDIR, 77), 0);
	sgxd_hdr_decode(w.data, &h);
	CHECK_EQ(h.magic, SGXD_MAGIC);
	CHECK_EQ(h.version, SGXD_VERSION);
	CHECK_EQ(h.type, SGXD_MSG_CG_MKDIR);
	CHECK_EQ(h.length, w.len);
	CHECK_EQ(h.id, 77);
	CHECK_EQ(memcmp(w.data, "SGXD", 4), 0);	/* little-endian magic */
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), 0);

	sgxd_r_init(&r, w.data + SGXD_HDR_SIZE, w.len);
	CHECK_EQ(sgxd_r_u8(&r), 0xab);
	CHECK_EQ(sgxd_r_u16(&r), 0xbeef);
	CHECK_EQ(sgxd_r_u32(&r), 0xdeadbeef);
	CHECK_EQ(sgxd_r_s32(&r), -17);
	CHECK(sgxd_r_u64(&r) == 0x0123456789abcdefULL);
	CHECK(!strcmp(sgxd_r_str(&r), "/a/b"));
	CHECK(!strcmp(sgxd_r_str(&r), ""));
	CHECK_EQ(sgxd_r_end(&r), 0);

	/* trailing garbage, truncation: every prefix but the whole payload fails */
	sgxd_r_init(&r, w.data + SGXD_HDR_SIZE, w.len);
	(void)sgxd_r_u8(&r);
	CHECK_EQ(sgxd_r_end(&r), -EBADMSG);
	CHECK(!strcmp(r.err, "trailing bytes after the payload"));
	for (size_t n = 0; n < w.len; n++) {
		sgxd_r_init(&r, w.data + SGXD_HDR_SIZE, n);
		(void)sgxd_r_u8(&r);
		(void)sgxd_r_u16(&r);
		(void)sgxd_r_u32(&r);
		(void)sgxd_r_s32(&r);
		(void)sgxd_r_u64(&r);
		(void)sgxd_r_str(&r);
		(void)sgxd_r_str(&r);
		CHECK_EQ(sgxd_r_end(&r), -EBADMSG);
	}

	/* strings: unterminated, NUL inside, length 0, too long */
	{
		const uint8_t unterminated[] = { 3, 0, 'a', 'b', 'c' };
		const uint8_t nul_inside[] = { 4, 0, 'a', 0, 'c', 0 };
		const uint8_t zero_len[] = { 0, 0 };
		const uint8_t too_long[] = { 0x01, 0x10 };	/* 4097 */

		sgxd_r_init(&r, unterminated, sizeof(unterminated));
		CHECK(!strcmp(sgxd_r_str(&r), ""));
		CHECK(!strcmp(r.err, "unterminated string"));
		sgxd_r_init(&r, nul_inside, sizeof(nul_inside));
		(void)sgxd_r_str(&r);
		CHECK(!strcmp(r.err, "NUL inside a string"));
		sgxd_r_init(&r, zero_len, sizeof(zero_len));
		(void)sgxd_r_str(&r);
		CHECK(!strcmp(r.err, "bad string length"));
		sgxd_r_init(&r, too_long, sizeof(too_long));
		(void)sgxd_r_str(&r);
		CHECK(!strcmp(r.err, "bad string length"));
	}

	/* the writer refuses what the reader would refuse */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sgxd_w_init(&w);
	sgxd_w_str(&w, big);
	CHECK(w.overflow);
	CHECK_EQ(sgxd_w_finish(&w, SGXD_MSG_CG_MKDIR, 1), -EMSGSIZE);
	sgxd_w_init(&w);
	for (int i = 0; i < 20; i++)
		sgxd_w_str(&w, big + 2);	/* 4095 bytes each: the 16th does not fit */
	CHECK(w.overflow);

	/* headers */
	put_hdr(bad, 0x12345678, SGXD_VERSION, SGXD_MSG_HELLO, 0, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), -EPROTO);
	put_hdr(bad, SGXD_MAGIC, 2, SGXD_MSG_HELLO, 0, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), -EPROTONOSUPPORT);
	put_hdr(bad, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_HELLO, SGXD_MAX_PAYLOAD + 1, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), -EMSGSIZE);
	put_hdr(bad, SGXD_MAGIC, SGXD_VERSION, 0x4242, 0, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), -EBADMSG);
	put_hdr(bad, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_RESERVED_FIRST, 0, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), 0);		/* reserved: known */
	CHECK_EQ(sgxd_hdr_check(&h, false, &why), -EBADMSG);	/* not a reply */
	put_hdr(bad, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_TREE | SGXD_REPLY, 0, 0);
	sgxd_hdr_decode(bad, &h);
	CHECK_EQ(sgxd_hdr_check(&h, false, &why), 0);
	CHECK_EQ(sgxd_hdr_check(&h, true, &why), -EBADMSG);
}

TEST(daemon_proc_groups_matches_getgroups)
{
	gid_t mine[256], proc[256];
	int n = getgroups(256, mine), m = sgxd_proc_groups(getpid(), proc, 256);

	REQUIRE(n >= 0);
	REQUIRE_EQ(m, n);
	for (int i = 0; i < n; i++)
		CHECK_EQ(proc[i], mine[i]);
	CHECK(sgxd_proc_groups(-1, proc, 256) < 0);
}

/* ---- cgroups through the CLI ---- */

TEST(daemon_cli_cgroup_round_trip)
{
	struct tdaemon td = { 0 };
	struct cli_result r;
	const char *s;

	need_cli();
	REQUIRE_EQ(tdaemon_start(&td), 0);
	s = td.t.sock;
	CLI(&r, NULL, "cgroup", "--socket", s, "mkdir", "/a");
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, "") && !strcmp(r.err, ""));
	/* discovery through the environment */
	CLI(&r, s, "cgroup", "mkdir", "/a/b");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "write", "/a", "misc.max", "sgx_epc 524288");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "read", "/a", "misc.max");
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, "sgx_epc 524288\n"));
	CLI(&r, s, "cgroup", "write", "/a/b", "misc.max", "sgx_epc 0x1000\n");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "read", "/a/b/", "misc.max");
	CHECK(!strcmp(r.out, "sgx_epc 4096\n"));
	/* logged, with the client's newline made harmless */
	CHECK(log_has(&td, "write /a/b misc.max 'sgx_epc 0x1000?': 0"));
	CLI(&r, s, "cgroup", "read", "/", "misc.capacity");
	CHECK(!strcmp(r.out, "sgx_epc 1048576\n"));
	CLI(&r, s, "cgroup", "read", "/a", "misc.current");
	CHECK(!strcmp(r.out, "sgx_epc 0\n"));
	CLI(&r, s, "cgroup", "read", "/a", "misc.events");
	CHECK(!strcmp(r.out, "sgx_epc.max 0\n"));
	CLI(&r, s, "cgroup", "read", "/a", "misc.peak");
	CHECK(!strcmp(r.out, "sgx_epc 0\n"));

	CLI(&r, s, "cgroup", "tree");
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "PATH") && strstr(r.out, "CURRENT") && strstr(r.out, "MAX") &&
	      strstr(r.out, "PEAK") && strstr(r.out, "EVENTS"));
	{
		char path[16], max[32];
		unsigned long long cur, peak, ev;
		const char *line = strchr(r.out, '\n');
		int rows = 0;

		while (line && line[1]) {
			REQUIRE_EQ(sscanf(line + 1, "%15s %llu %31s %llu %llu", path, &cur, max,
					  &peak, &ev), 5);
			if (rows == 0)
				CHECK(!strcmp(path, "/") && !strcmp(max, "max"));
			if (rows == 1)
				CHECK(!strcmp(path, "/a") && !strcmp(max, "524288"));
			if (rows == 2)
				CHECK(!strcmp(path, "/a/b") && !strcmp(max, "4096"));
			CHECK_EQ(cur, 0);
			rows++;
			line = strchr(line + 1, '\n');
		}
		CHECK_EQ(rows, 3);
	}

	CLI(&r, s, "cgroup", "write", "/a", "misc.max", "sgx_epc max");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "read", "/a", "misc.max");
	CHECK(!strcmp(r.out, "sgx_epc max\n"));
	CLI(&r, s, "cgroup", "rmdir", "/a/b");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "rmdir", "/a");
	CHECK_EQ(r.status, 0);
	CLI(&r, s, "cgroup", "tree");
	CHECK(!strstr(r.out, "/a"));
	CHECK_EQ(atomic_load(&sgxd_tree(td.d)->nr_cgroups), 1);

	CLI(&r, s, "status");
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "256 of 256 pages free") != NULL);
	tdaemon_stop(&td);
}

TEST(daemon_cli_cgroup_errors)
{
	struct tdaemon td = { 0 };
	struct cli_result r;
	const char *s;

	need_cli();
	REQUIRE_EQ(tdaemon_start(&td), 0);
	s = td.t.sock;
	CLI(&r, s, "cgroup", "mkdir", "/a");
	CLI(&r, s, "cgroup", "mkdir", "/a/b");
	CLI(&r, s, "cgroup", "mkdir", "/a");
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.err, "sgxemu cgroup: mkdir /a: File exists\n"));
	CLI(&r, s, "cgroup", "mkdir", "/x/y");
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.err, "sgxemu cgroup: mkdir /x/y: No such file or directory\n"));
	CLI(&r, s, "cgroup", "mkdir", "relative");
	CHECK(!strcmp(r.err, "sgxemu cgroup: mkdir relative: Invalid argument\n"));
	CLI(&r, s, "cgroup", "rmdir", "/a");
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.err, "sgxemu cgroup: rmdir /a: Device or resource busy\n"));
	CLI(&r, s, "cgroup", "rmdir", "/");
	CHECK(!strcmp(r.err, "sgxemu cgroup: rmdir /: Device or resource busy\n"));
	CLI(&r, s, "cgroup", "rmdir", "/nope");
	CHECK(!strcmp(r.err, "sgxemu cgroup: rmdir /nope: No such file or directory\n"));
	CLI(&r, s, "cgroup", "write", "/a", "misc.max", "bogus 1");
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.err, "sgxemu cgroup: write /a/misc.max: Invalid argument\n"));
	CLI(&r, s, "cgroup", "write", "/a", "misc.max", "sgx_epc 99999999999999999999999");
	CHECK(!strcmp(r.err, "sgxemu cgroup: write /a/misc.max: Numerical result out of range\n"));
	CLI(&r, s, "cgroup", "write", "/a", "misc.current", "sgx_epc 1");
	CHECK(!strcmp(r.err, "sgxemu cgroup: write /a/misc.current: Permission denied\n"));
	CLI(&r, s, "cgroup", "write", "/", "misc.max", "sgx_epc 1");
	CHECK_EQ(r.status, 1);
	CLI(&r, s, "cgroup", "read", "/a", "misc.nope");
	CHECK_EQ(r.status, 1);
	CHECK(!strcmp(r.err, "sgxemu cgroup: read /a/misc.nope: No such file or directory\n"));
	CHECK(!strcmp(r.out, ""));
	CLI(&r, s, "cgroup", "read", "/a", "misc.capacity");	/* root only */
	CHECK_EQ(r.status, 1);

	/* bad usage: exit 2 and a pointer to the help */
	CLI(&r, s, "cgroup");
	CHECK_EQ(r.status, 2);
	CHECK(strstr(r.err, "sgxemu help cgroup") != NULL);
	CLI(&r, s, "cgroup", "mkdir");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "read", "/a");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "write", "/a", "misc.max");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "tree", "extra");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "frobnicate");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "--bogus", "tree");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "cgroup", "tree", "--socket");
	CHECK_EQ(r.status, 2);

	/* no daemon: exit 1 with a clear message; --socket wins over the environment */
	CLI(&r, s, "cgroup", "--socket", "/tmp/sgxemu-no-such-dir/none.sock", "tree");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "no sgxemu daemon at /tmp/sgxemu-no-such-dir/none.sock") != NULL);
	CLI(&r, "/tmp/sgxemu-no-such-dir/none.sock", "cgroup", "tree");
	CHECK_EQ(r.status, 1);
	CLI(&r, "/tmp/sgxemu-no-such-dir/none.sock", "status");
	CHECK_EQ(r.status, 1);
	tdaemon_stop(&td);
}

/* sgxemu status --enclaves: a header row, one row per enclave, the usual exit codes. */
TEST(daemon_cli_status_enclaves)
{
	struct tdaemon td = { 0 };
	struct sgxd_client *p;
	struct cli_result r;
	char err[256], want[64];
	uint32_t h[2];
	const char *s, *line;
	int st = -1, rows = 0;

	need_cli();
	REQUIRE_EQ(tdaemon_start(&td), 0);
	s = td.t.sock;
	CLI(&r, s, "status", "--enclaves");
	CHECK_EQ(r.status, 0);
	CHECK(!strncmp(r.out, "    PID  CGROUP", 15));
	CHECK(strstr(r.out, "BASE") && strstr(r.out, "SIZE") && strstr(r.out, "EPC") &&
	      strstr(r.out, "SWAPPED") && strstr(r.out, "STATE") && strstr(r.out, "EWB") &&
	      strstr(r.out, "ELDU") && strstr(r.out, "EAUG"));
	CHECK(strchr(r.out, '\n') && !strchr(r.out, '\n')[1]);	/* the header alone */

	REQUIRE_EQ(sgxd_client_connect(s, SGXD_ROLE_PROGRAM, "t", &p, err, sizeof(err)), 0);
	REQUIRE_EQ(sgxd_attach(p, "/", NULL, 0, &st), 0);
	REQUIRE_EQ(st, 0);
	for (int i = 0; i < 2; i++) {
		REQUIRE_EQ(sgxd_encl_open(p, &h[i], &st), 0);
		REQUIRE_EQ(st, 0);
	}
	CLI(&r, NULL, "status", "--socket", s, "--enclaves");
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.err, ""));
	snprintf(want, sizeof(want), "%d", (int)getpid());
	for (line = strchr(r.out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		char pid[16], cg[16], base[24], size[16], state[32];
		unsigned long long epc, swapped, ewb, eldu, eaug;

		REQUIRE_EQ(sscanf(line + 1, "%15s %15s %23s %15s %llu %llu %31s %llu %llu %llu",
				  pid, cg, base, size, &epc, &swapped, state, &ewb, &eldu, &eaug),
			   10);
		CHECK(!strcmp(pid, want) && !strcmp(cg, "/"));
		CHECK(!strcmp(base, "0x0000000000000000") && !strcmp(size, "0"));
		CHECK(!strncmp(state, "open", 4));
		CHECK_EQ(epc + swapped + ewb + eldu + eaug, 0);
		rows++;
	}
	CHECK_EQ(rows, 2);
	/* Without the flag the output is the platform summary, as before. */
	CLI(&r, s, "status");
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "pages free") && strstr(r.out, "enclaves: 2;") && !strstr(r.out, "CGROUP"));
	sgxd_client_close(p);

	/* Usage errors exit 2; --help shows the flag; no daemon exits 1. */
	CLI(&r, s, "status", "--enclaves", "extra");
	CHECK_EQ(r.status, 2);
	CHECK(strstr(r.err, "sgxemu help status") != NULL);
	CLI(&r, s, "status", "--enclaves=yes");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "status", "--enclave-list");
	CHECK_EQ(r.status, 2);
	CLI(&r, s, "status", "--enclaves", "--help");
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "--enclaves") != NULL);
	CLI(&r, "/tmp/sgxemu-no-such-dir/none.sock", "status", "--enclaves");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "no sgxemu daemon at /tmp/sgxemu-no-such-dir/none.sock") != NULL);
	CHECK(!strcmp(r.out, ""));
	tdaemon_stop(&td);
}

/* ---- the client library: many cgroups (a paged tree), concurrency, bounds ---- */

TEST(daemon_client_tree_paged)
{
	struct tdaemon td = { 0 };
	struct sgxd_client *c;
	struct sgxd_cg_entry *e;
	char err[256], path[300], name[240];
	size_t nr;
	int st;

	REQUIRE_EQ(tdaemon_start(&td), 0);
	REQUIRE_EQ(sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "t", &c, err, sizeof(err)), 0);
	memset(name, 'n', 200);
	name[200] = '\0';
	/* 600 entries of ~250 bytes: four or five replies */
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "/%s%04d", name, i);
		REQUIRE_EQ(sgxd_cg_mkdir(c, path, &st), 0);
		REQUIRE_EQ(st, 0);
	}
	REQUIRE_EQ(sgxd_cg_tree(c, &e, &nr, &st), 0);
	CHECK_EQ(st, 0);
	REQUIRE_EQ(nr, 601);
	CHECK(!strcmp(e[0].path, "/"));
	CHECK_EQ(e[0].depth, 0);
	for (size_t i = 1; i < nr; i++) {
		CHECK_EQ(e[i].depth, 1);
		CHECK(strlen(e[i].path) == 205 && e[i].max == UINT64_MAX);
	}
	sgxd_cg_tree_free(e, nr);
	sgxd_client_close(c);
	tdaemon_stop(&td);	/* removes the 600 cgroups itself */
}

struct worker_arg {
	const char *sock;
	int id;
	int failures;
};

static void *cg_worker(void *p)
{
	struct worker_arg *a = p;
	struct sgxd_client *c;
	char err[256], path[64], buf[64], want[64];
	int st;

	if (sgxd_client_connect(a->sock, SGXD_ROLE_CLI, "w", &c, err, sizeof(err))) {
		a->failures++;
		return NULL;
	}
	for (int i = 0; i < 150; i++) {
		snprintf(path, sizeof(path), "/w%d", a->id);
		snprintf(want, sizeof(want), "sgx_epc %d\n", (i + 1) * 4096);
		if (sgxd_cg_mkdir(c, path, &st) || st)
			a->failures++;
		if (sgxd_cg_write(c, path, "misc.max", want, &st) || st)
			a->failures++;
		if (sgxd_cg_read(c, path, "misc.max", buf, sizeof(buf), &st) || st ||
		    strcmp(buf, want))
			a->failures++;
		if (sgxd_cg_rmdir(c, path, &st) || st)
			a->failures++;
	}
	sgxd_client_close(c);
	return NULL;
}

TEST(daemon_concurrent_clients)
{
	struct tdaemon td = { 0 };
	struct worker_arg a[8];
	pthread_t t[8];

	REQUIRE_EQ(tdaemon_start(&td), 0);
	for (int i = 0; i < 8; i++) {
		a[i] = (struct worker_arg){ td.t.sock, i, 0 };
		REQUIRE_EQ(pthread_create(&t[i], NULL, cg_worker, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(a[i].failures, 0);
	}
	CHECK_EQ(atomic_load(&sgxd_tree(td.d)->nr_cgroups), 1);
	tdaemon_stop(&td);
}

TEST(daemon_max_clients_bound)
{
	struct tdaemon td = { 0 };
	struct sgxd_client *c1, *c2, *c3;
	struct sgxd_config cfg;
	char err[256];

	REQUIRE_EQ(tdir_make(&td.t), 0);
	sgxd_default_config(&cfg);
	cfg.max_clients = 2;
	REQUIRE_EQ(tdaemon_start_cfg(&td, &cfg), 0);
	REQUIRE_EQ(sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "1", &c1, err, sizeof(err)), 0);
	REQUIRE_EQ(sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "2", &c2, err, sizeof(err)), 0);
	CHECK_EQ(sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "3", &c3, err, sizeof(err)),
		 -EBUSY);
	CHECK(strstr(err, "too many clients") != NULL);
	CHECK(log_has(&td, "too many clients"));
	sgxd_client_close(c1);
	/* the slot comes back once the daemon reaps the connection */
	for (int i = 0; i < 100 && sgxd_nr_clients(td.d) > 1; i++)
		usleep(20000);
	REQUIRE_EQ(sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "3", &c3, err, sizeof(err)), 0);
	sgxd_client_close(c2);
	sgxd_client_close(c3);
	tdaemon_stop(&td);
}

/* ---- malformed messages: refused, logged, that connection dropped, the rest served ---- */

struct bad_msg {
	const char *name;
	bool hello_first;
	uint8_t bytes[64];
	size_t len;
	bool shut_wr;		/* half-close after sending (the rest never comes) */
	int err;		/* the ERROR the daemon must send */
	const char *log;	/* what the log line must say */
};

static void check_bad_msg(const struct bad_msg *m)
{
	struct tdaemon td = { 0 };
	int fd;

	REQUIRE_EQ(tdaemon_start(&td), 0);
	fd = raw_connect(td.t.sock);
	REQUIRE(fd >= 0);
	if (m->hello_first)
		REQUIRE(raw_hello(fd));
	REQUIRE_EQ(sgxd_send_all(fd, m->bytes, m->len), 0);
	if (m->shut_wr)
		shutdown(fd, SHUT_WR);
	expect_refusal(fd, m->err);
	close(fd);
	CHECK(log_has(&td, m->log));
	CHECK(good_client_works(td.t.sock));
	tdaemon_stop(&td);
}

TEST(daemon_malformed_truncated_header)
{
	struct bad_msg m = { .name = "truncated", .hello_first = true, .len = 7, .shut_wr = true,
			     .err = -EBADMSG, .log = "truncated header (7 of 16 bytes)" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_STATUS, 0, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_bad_magic)
{
	struct bad_msg m = { .len = 16, .err = -EPROTO, .log = "bad magic" };

	put_hdr(m.bytes, 0x50545448 /* "HTTP" */, SGXD_VERSION, SGXD_MSG_HELLO, 0, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_bad_version)
{
	struct bad_msg m = { .len = 16, .err = -EPROTONOSUPPORT,
			     .log = "unsupported protocol version" };

	put_hdr(m.bytes, SGXD_MAGIC, 9, SGXD_MSG_HELLO, 0, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_oversize_length)
{
	struct bad_msg m = { .hello_first = true, .len = 16, .err = -EMSGSIZE,
			     .log = "payload too large" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 0xfffffff0u, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_unknown_type)
{
	struct bad_msg m = { .hello_first = true, .len = 16, .err = -EBADMSG,
			     .log = "unknown message type" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, 0x1234, 0, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_truncated_payload)
{
	struct bad_msg m = { .hello_first = true, .len = 16 + 10, .shut_wr = true,
			     .err = -EBADMSG, .log = "CG_MKDIR: 10 of 100 payload bytes" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 100, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_unterminated_string)
{
	struct bad_msg m = { .hello_first = true, .len = 16 + 5, .err = -EBADMSG,
			     .log = "unterminated string" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 5, 5);
	memcpy(m.bytes + 16, "\x03\x00/ab", 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_trailing_garbage)
{
	struct bad_msg m = { .hello_first = true, .len = 16 + 7, .err = -EBADMSG,
			     .log = "trailing bytes after the payload" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 7, 5);
	memcpy(m.bytes + 16, "\x03\x00/a\0XX", 7);
	check_bad_msg(&m);
}

TEST(daemon_malformed_string_length_past_payload)
{
	struct bad_msg m = { .hello_first = true, .len = 16 + 5, .err = -EBADMSG,
			     .log = "truncated payload" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 5, 5);
	memcpy(m.bytes + 16, "\xff\x0f/a\0", 5);	/* claims 4095 bytes */
	check_bad_msg(&m);
}

TEST(daemon_malformed_request_before_hello)
{
	struct bad_msg m = { .len = 16, .err = -EPROTO, .log = "HELLO expected first" };

	put_hdr(m.bytes, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_STATUS, 0, 5);
	check_bad_msg(&m);
}

TEST(daemon_malformed_second_hello_and_wrong_pid)
{
	struct bad_msg m = { .hello_first = true, .err = -EPROTO, .log = "second HELLO" };
	struct bad_msg p = { .err = -EPERM, .log = "pid differs from the peer credentials" };

	m.len = build_hello(m.bytes, (uint32_t)getpid());
	check_bad_msg(&m);
	p.len = build_hello(p.bytes, (uint32_t)getpid() + 1);
	check_bad_msg(&p);
}

TEST(daemon_reserved_types_answer_enosys)
{
	struct tdaemon td = { 0 };
	uint8_t b[16 + 8], rep[64];
	struct sgxd_hdr h;
	int fd;

	REQUIRE_EQ(tdaemon_start(&td), 0);
	fd = raw_connect(td.t.sock);
	REQUIRE(fd >= 0);
	REQUIRE(raw_hello(fd));
	for (uint16_t t = SGXD_MSG_RESERVED_FIRST; t <= SGXD_MSG_RESERVED_LAST; t++) {
		put_hdr(b, SGXD_MAGIC, SGXD_VERSION, t, 8, 100 + t);
		memset(b + 16, 0xee, 8);
		REQUIRE_EQ(sgxd_send_all(fd, b, sizeof(b)), 0);
		REQUIRE_EQ(raw_recv(fd, &h, rep, sizeof(rep)), 0);
		CHECK_EQ(h.type, t | SGXD_REPLY);
		CHECK_EQ(h.id, 100 + t);
		CHECK_EQ(h.length, 4);
		CHECK_EQ((int32_t)(rep[0] | rep[1] << 8 | rep[2] << 16 | (uint32_t)rep[3] << 24),
			 -ENOSYS);
	}
	close(fd);
	CHECK(good_client_works(td.t.sock));
	tdaemon_stop(&td);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST_TIMEOUT(daemon_fuzz_random_messages, 120)
{
	static const uint16_t types[] = {
		SGXD_MSG_HELLO, SGXD_MSG_STATUS, SGXD_MSG_CG_MKDIR, SGXD_MSG_CG_RMDIR,
		SGXD_MSG_CG_READ, SGXD_MSG_CG_WRITE, SGXD_MSG_CG_TREE, SGXD_MSG_ENCL_IOCTL,
		SGXD_MSG_ENCL_LIST,
		SGXD_MSG_ERROR, 0x4444,
	};
	struct tdaemon td = { 0 };
	uint64_t s = test_seed() | 1;
	uint8_t msg[512];
	int refused = 0, answered = 0;

	REQUIRE_EQ(tdaemon_start(&td), 0);
	for (int i = 0; i < 400; i++) {
		uint64_t kind = rng_next(&s) % 4;
		size_t len = 1 + rng_next(&s) % 200;
		int fd = raw_connect(td.t.sock);
		uint8_t rep[SGXD_MAX_PAYLOAD];
		struct sgxd_hdr h;

		REQUIRE(fd >= 0);
		for (size_t j = 0; j < len; j++)
			msg[j] = (uint8_t)rng_next(&s);
		if (kind >= 1) {
			/* a plausible header over random bytes; lengths near the truth */
			size_t plen = len > 16 ? len - 16 : 0;
			uint32_t claimed = (uint32_t)plen;

			if (len < 16)
				len = 16;
			if (rng_next(&s) % 4 == 0)
				claimed = (uint32_t)(rng_next(&s) % 300);
			put_hdr(msg, SGXD_MAGIC, SGXD_VERSION,
				types[rng_next(&s) % (sizeof(types) / sizeof(types[0]))], claimed,
				(uint32_t)i);
		}
		if (kind >= 2 && !raw_hello(fd)) {
			CHECK(!"HELLO failed");
			close(fd);
			continue;
		}
		if (kind == 3) {	/* flip a few bits of the header too */
			for (int k = 0; k < 3; k++)
				msg[rng_next(&s) % 16] ^= (uint8_t)(1u << (rng_next(&s) % 8));
		}
		REQUIRE_EQ(sgxd_send_all(fd, msg, len), 0);
		shutdown(fd, SHUT_WR);
		/* whatever came back must be well-formed messages, then the end */
		while (!raw_recv(fd, &h, rep, sizeof(rep))) {
			CHECK_EQ(h.magic, SGXD_MAGIC);
			if (h.type == SGXD_MSG_ERROR)
				refused++;
			else
				answered++;
		}
		CHECK(raw_closed(fd));
		close(fd);
		if (i % 50 == 49)
			REQUIRE(good_client_works(td.t.sock));
	}
	CHECK(refused > 100);
	fprintf(stderr, "    %d refused, %d answered\n", refused, answered);
	CHECK(good_client_works(td.t.sock));
	for (int i = 0; i < 150 && sgxd_nr_clients(td.d) > 0; i++)
		usleep(20000);
	CHECK_EQ(sgxd_nr_clients(td.d), 0);
	tdaemon_stop(&td);
}

/* ---- peer credentials ---- */

/* In a child: become uid/gid (with supplementary groups), connect; the connect result. */
static int connect_as(const char *sock, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int fds[2], ret = -1, st;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sgxd_client *c;
		char err[256];
		int r;

		if (setgroups((size_t)ngroups, groups) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			r = -1000;
		else
			r = sgxd_client_connect(sock, SGXD_ROLE_CLI, "as", &c, err, sizeof(err));
		if (!r)
			sgxd_client_close(c);
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -2000;
	close(fds[0]);
	waitpid(pid, &st, 0);
	return ret;
}

TEST(daemon_peer_credentials)
{
	struct tdaemon td = { 0 };
	struct sgxd_config cfg;
	const gid_t none[1] = { 0 }, member[2] = { 65534, 4242 };
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root to connect as other users");
	REQUIRE_EQ(tdir_make(&td.t), 0);
	sgxd_default_config(&cfg);
	cfg.socket_gid = 4242;
	REQUIRE_EQ(tdaemon_start_cfg(&td, &cfg), 0);
	REQUIRE_EQ(stat(td.t.sock, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0660);
	CHECK_EQ(st.st_gid, 4242);

	/* The file mode alone keeps others out ... */
	CHECK_EQ(connect_as(td.t.sock, 65534, 65534, none, 0), -EACCES);
	/* ... and with a mode opened too wide, the credential check still does. */
	REQUIRE_EQ(chmod(td.t.sock, 0666), 0);
	CHECK_EQ(connect_as(td.t.sock, 65534, 65534, none, 0), -EACCES);
	CHECK(log_has(&td, "refused pid"));
	CHECK(log_has(&td, "nor in the socket's group 4242"));
	/* the socket's group, as primary or supplementary group: admitted */
	CHECK_EQ(connect_as(td.t.sock, 65534, 4242, none, 0), 0);
	CHECK_EQ(connect_as(td.t.sock, 65534, 65534, member, 2), 0);
	/* root is admitted whatever its groups */
	CHECK_EQ(connect_as(td.t.sock, 0, 65534, none, 0), 0);
	CHECK(good_client_works(td.t.sock));
	tdaemon_stop(&td);
}

/* A client in another pid namespace knows itself as pid 1: admitted, known by our pid for it. */
TEST(daemon_client_in_other_pid_namespace)
{
	struct tdaemon td = { 0 };
	int fds[2], ret = -1000, st;
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root for a pid namespace");
	REQUIRE_EQ(tdaemon_start(&td), 0);
	REQUIRE_EQ(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID))
			_exit(42);
		inner = fork();
		if (inner == 0) {
			struct sgxd_client *c;
			char err[256];
			int r = getpid() == 1 ? sgxd_client_connect(td.t.sock, SGXD_ROLE_CLI, "ns",
								    &c, err, sizeof(err)) : -999;

			if (!r)
				sgxd_client_close(c);
			if (write(fds[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
		waitpid(inner, NULL, 0);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -2000;
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
		SKIP("unshare(CLONE_NEWPID) is not permitted here");
	CHECK_EQ(ret, 0);
	CHECK(good_client_works(td.t.sock));
	tdaemon_stop(&td);
}

/* ---- clients dying ---- */

TEST(daemon_client_killed_mid_message)
{
	struct tdaemon td = { 0 };
	pid_t pids[3];

	REQUIRE_EQ(tdaemon_start(&td), 0);
	for (int k = 0; k < 3; k++) {
		int ready[2];
		char b;

		REQUIRE_EQ(pipe(ready), 0);
		pids[k] = fork();
		if (pids[k] == 0) {
			uint8_t msg[16 + 64];
			int fd = raw_connect(td.t.sock);

			if (fd < 0 || !raw_hello(fd))
				_exit(1);
			put_hdr(msg, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 64, 9);
			if (k == 0) {
				/* half a header */
				sgxd_send_all(fd, msg, 9);
			} else if (k == 1) {
				/* a header and part of the payload */
				sgxd_send_all(fd, msg, 16 + 20);
			} else {
				/* requests without reading a reply, until the socket is full */
				uint8_t st[16];

				put_hdr(st, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_TREE, 4, 9);
				fcntl(fd, F_SETFL, O_NONBLOCK);
				for (int i = 0; i < 4000; i++) {
					uint8_t m[20] = { 0 };

					memcpy(m, st, 16);
					if (send(fd, m, 20, MSG_NOSIGNAL) < 0)
						break;
				}
			}
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(ready[1]);
		CHECK_EQ(read(ready[0], &b, 1), 1);
		close(ready[0]);
	}
	CHECK_EQ(sgxd_nr_clients(td.d), 3);
	CHECK(good_client_works(td.t.sock));
	for (int k = 0; k < 3; k++) {
		kill(pids[k], SIGKILL);
		waitpid(pids[k], NULL, 0);
	}
	for (int i = 0; i < 200 && sgxd_nr_clients(td.d) > 0; i++)
		usleep(20000);
	CHECK_EQ(sgxd_nr_clients(td.d), 0);
	CHECK(good_client_works(td.t.sock));
	CHECK_EQ(atomic_load(&sgxd_tree(td.d)->nr_cgroups), 1);
	tdaemon_stop(&td);
}

TEST(daemon_stalled_message_times_out)
{
	struct tdaemon td = { 0 };
	struct sgxd_config cfg;
	uint8_t msg[16];
	int fd;

	REQUIRE_EQ(tdir_make(&td.t), 0);
	sgxd_default_config(&cfg);
	cfg.msg_timeout_ms = 200;
	REQUIRE_EQ(tdaemon_start_cfg(&td, &cfg), 0);
	fd = raw_connect(td.t.sock);
	REQUIRE(fd >= 0);
	REQUIRE(raw_hello(fd));
	put_hdr(msg, SGXD_MAGIC, SGXD_VERSION, SGXD_MSG_CG_MKDIR, 64, 9);
	REQUIRE_EQ(sgxd_send_all(fd, msg, 16), 0);	/* and the payload never comes */
	expect_refusal(fd, -ETIMEDOUT);
	close(fd);
	CHECK(log_has(&td, "0 of 64 payload bytes"));
	CHECK(good_client_works(td.t.sock));
	tdaemon_stop(&td);
}

/* ---- instances and shutdown (the CLI daemon, forked) ---- */

static pid_t spawn_daemon(const char *sock, const char *log, const char *extra)
{
	char cli[PATH_MAX + 16];
	pid_t pid;

	if (!cli_path(cli, sizeof(cli)))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(cli, cli, "daemon", "--foreground", "--epc", "1M", "--socket", sock,
		      extra, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait until the daemon at sock answers (or pid died): true if it does. */
static bool wait_ready(const char *sock, pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		struct sgxd_client *c;
		char err[256];

		if (!sgxd_client_connect(sock, SGXD_ROLE_CLI, "wait", &c, err, sizeof(err))) {
			sgxd_client_close(c);
			return true;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(20000);
	}
	return false;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	int st;

	for (int i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

TEST(daemon_refuses_second_instance)
{
	struct tdir t;
	struct cli_result r;
	struct sgxd_config cfg;
	struct sgxd *d2;
	char err[256], log[160];
	pid_t pid;
	int fd;

	need_cli();
	REQUIRE_EQ(tdir_make(&t), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", t.dir);
	pid = spawn_daemon(t.sock, log, NULL);
	REQUIRE(pid > 0);
	REQUIRE(wait_ready(t.sock, pid));

	/* a second CLI daemon on the same socket: exit 1, the first unharmed */
	CLI(&r, NULL, "daemon", "--foreground", "--epc", "1M", "--socket", t.sock);
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "another sgxemu daemon") != NULL);
	CLI(&r, NULL, "daemon", "--epc", "1M", "--socket", t.sock);	/* background too */
	CHECK_EQ(r.status, 1);
	CHECK(good_client_works(t.sock));

	/* in-process, too */
	sgxd_default_config(&cfg);
	cfg.socket_path = t.sock;
	cfg.cpu.epc_size = 1 << 20;
	cfg.log_fd = -1;
	CHECK_EQ(sgxd_create(&cfg, &d2, err, sizeof(err)), -EADDRINUSE);

	kill(pid, SIGTERM);
	CHECK_EQ(wait_exit(pid, 10000), 0);

	/* A live listener that holds no lock file (not an sgxemu daemon): still refused. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t.sock);
		REQUIRE_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		REQUIRE_EQ(listen(fd, 1), 0);
		CHECK_EQ(sgxd_create(&cfg, &d2, err, sizeof(err)), -EADDRINUSE);
		CHECK(strstr(err, "is listening") != NULL);
		/* closed without unlinking: a stale socket file, which is taken over */
		close(fd);
		REQUIRE_EQ(sgxd_create(&cfg, &d2, err, sizeof(err)), 0);
		sgxd_destroy(d2);
	}
	/* A path that is not a socket is never removed. */
	fd = open(t.sock, O_WRONLY | O_CREAT, 0644);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ(sgxd_create(&cfg, &d2, err, sizeof(err)), -EEXIST);
	CHECK_EQ(access(t.sock, F_OK), 0);
	tdir_remove(&t);
}

/* Exited: no such process, or a zombie nobody reaps (the daemon's parent already left). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

TEST(daemon_sigterm_shutdown_removes_socket)
{
	struct tdir t;
	struct cli_result r;
	char log[160], *text;
	int sigs[2] = { SIGTERM, SIGINT };

	need_cli();
	REQUIRE_EQ(tdir_make(&t), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", t.dir);
	for (int k = 0; k < 2; k++) {
		pid_t pid = spawn_daemon(t.sock, log, "--verbose");
		int idle;

		REQUIRE(pid > 0);
		REQUIRE(wait_ready(t.sock, pid));
		CLI(&r, t.sock, "cgroup", "mkdir", "/left-behind");
		CHECK_EQ(r.status, 0);
		/* an idle client and one in the middle of a message */
		idle = raw_connect(t.sock);
		REQUIRE(idle >= 0);
		REQUIRE(raw_hello(idle));
		kill(pid, sigs[k]);
		CHECK_EQ(wait_exit(pid, 10000), 0);
		CHECK(access(t.sock, F_OK) && errno == ENOENT);
		CHECK(raw_closed(idle));
		close(idle);
		CLI(&r, t.sock, "cgroup", "tree");
		CHECK_EQ(r.status, 1);
	}
	text = slurp(log);
	CHECK(text && strstr(text, "shutting down"));
	free(text);

	/* background mode: the command returns once the socket listens */
	CLI(&r, NULL, "daemon", "--epc", "1M", "--socket", t.sock, "--log", log);
	CHECK_EQ(r.status, 0);
	{
		int pid = 0;
		const char *p = strstr(r.out, "pid ");

		REQUIRE(p && sscanf(p, "pid %d", &pid) == 1 && pid > 0);
		CHECK(good_client_works(t.sock));
		kill(pid, SIGTERM);
		for (int i = 0; i < 500 && !access(t.sock, F_OK); i++)
			usleep(20000);
		CHECK(access(t.sock, F_OK) && errno == ENOENT);
		for (int i = 0; i < 500 && !proc_gone(pid); i++)
			usleep(20000);
		CHECK(proc_gone(pid));
	}
	tdir_remove(&t);
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the daemon's protocol (daemon/, docs/DAEMON.md).
 *
 * One in-process daemon (1 MiB EPC, a temporary socket) serves on a thread
 * for the whole process. Each input is one connection: if the first byte is
 * odd the target says a correct HELLO first (so the fuzzer reaches the
 * request handlers at once), then the rest of the input is sent as is and
 * the connection half-closed; everything the daemon answers is read back.
 *
 * Oracles: the daemon never crashes or hangs (libFuzzer's timeout); every
 * message it sends is well-formed (magic, version, a reply type or ERROR,
 * a bounded length, at least a status); every 128 inputs a good client
 * connects and reads misc.capacity exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/proto.h"

static struct sgxd *daemon_;
static char sock_path[64];
static pthread_t daemon_thread;
static unsigned long nr_inputs;

static void *serve(void *arg)
{
	sgxd_run(arg);
	return NULL;
}

static void cleanup(void)
{
	char lock[80];

	unlink(sock_path);
	snprintf(lock, sizeof(lock), "%s.lock", sock_path);
	unlink(lock);
	*strrchr(sock_path, '/') = '\0';
	rmdir(sock_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sgxd_config cfg;
	char dir[] = "/tmp/sgxemu-fuzz-daemon.XXXXXX", err[256];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
	sgxd_default_config(&cfg);
	cfg.socket_path = sock_path;
	cfg.cpu.epc_size = 1 << 20;
	cfg.log_fd = -1;
	cfg.max_clients = 8;
	if (sgxd_create(&cfg, &daemon_, err, sizeof(err))) {
		fprintf(stderr, "fuzz_daemon: %s\n", err);
		abort();
	}
	if (pthread_create(&daemon_thread, NULL, serve, daemon_))
		abort();
	atexit(cleanup);
	return 0;
}

/* Check every complete message in buf[0..len); returns the bytes consumed. */
static size_t check_messages(const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= SGXD_HDR_SIZE) {
		struct sgxd_hdr h;
		const char *why;

		sgxd_hdr_decode(buf + off, &h);
		if (sgxd_hdr_check(&h, false, &why) || h.length < 4) {
			fprintf(stderr, "fuzz_daemon: malformed message from the daemon: %s\n",
				why ? why : "no status");
			abort();
		}
		if (len - off - SGXD_HDR_SIZE < h.length)
			break;
		off += SGXD_HDR_SIZE + h.length;
	}
	return off;
}

static void good_client(void)
{
	struct sgxd_client *c;
	char err[256], buf[64];
	int st = -1;

	if (sgxd_client_connect(sock_path, SGXD_ROLE_CLI, "good", &c, err, sizeof(err))) {
		fprintf(stderr, "fuzz_daemon: good client refused: %s\n", err);
		abort();
	}
	if (sgxd_cg_read(c, "/", "misc.capacity", buf, sizeof(buf), &st) || st ||
	    strcmp(buf, "sgx_epc 1048576\n")) {
		fprintf(stderr, "fuzz_daemon: good client failed: %s\n", sgxd_client_error(c));
		abort();
	}
	sgxd_client_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t in[4 * (SGXD_HDR_SIZE + SGXD_MAX_PAYLOAD)];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct sgxd_wbuf hello;
	const uint8_t *out = data;
	size_t out_len = size, have = 0;
	bool hello_first = size && (data[0] & 1), shut = false;
	int fd;

	if (size) {
		out++;
		out_len--;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	if (hello_first) {
		sgxd_w_init(&hello);
		sgxd_w_u32(&hello, (uint32_t)getpid());
		sgxd_w_u32(&hello, SGXD_ROLE_CLI);
		sgxd_w_u32(&hello, 0);
		sgxd_w_str(&hello, "fuzz");
		sgxd_w_finish(&hello, SGXD_MSG_HELLO, 1);
		if (sgxd_send_all(fd, hello.data, SGXD_HDR_SIZE + hello.len))
			abort();
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Send and drain at once: replies must not fill up while we still send. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT) };
		ssize_t n;
		int r;

		if (!shut && !out_len) {
			shutdown(fd, SHUT_WR);
			shut = true;
			continue;
		}
		r = poll(&p, 1, 10000);

		if (r < 0 && errno == EINTR)	/* libFuzzer's timer */
			continue;
		if (r <= 0) {
			fprintf(stderr, "fuzz_daemon: the daemon neither reads, answers nor closes\n");
			abort();
		}
		if (p.revents & POLLIN) {
			n = recv(fd, in + have, sizeof(in) - have, 0);
			if (n == 0 || (n < 0 && errno == ECONNRESET))
				break;
			if (n > 0) {
				size_t used;

				have += (size_t)n;
				used = check_messages(in, have);
				memmove(in, in + used, have - used);
				have -= used;
			}
		}
		if (!shut && (p.revents & POLLOUT)) {
			n = send(fd, out, out_len, MSG_NOSIGNAL);
			if (n > 0) {
				out += n;
				out_len -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN) {
				out_len = 0;	/* the daemon dropped us: read what it said */
			}
		}
		if (p.revents & (POLLERR | POLLHUP) && !(p.revents & POLLIN))
			break;
	}
	close(fd);
	if (have) {
		fprintf(stderr, "fuzz_daemon: the daemon closed in the middle of a message\n");
		abort();
	}
	if (++nr_inputs % 128 == 0)
		good_client();
	return 0;
}

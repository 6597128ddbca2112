/*
 * test_transport_http.c — the http(s) transport against a real nginx.
 *
 * The first case starts nginx through tests/servers.sh (HTTP, and HTTPS
 * with a CA made for the run) serving a folder of files made here, plus a
 * small forked server that answers with the hostile responses nginx never
 * sends (a 206 at the wrong offset, a body longer than its Content-Range,
 * a redirect to file://).  Weak links are weakproxy between the transport
 * and nginx; what the server really sent is read back from nginx's access
 * log.  The last case stops everything; a watchdog in servers.sh does it
 * if this program dies first.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "sync/transport.h"
#include "tests/harness.h"

#define BIG_SIZE ((3u << 20) + 4321u)
#define PROXY_TARGET_PORT "FERRY_HTTP_PORT"

static char www[600], state[600];
static uint8_t *big;
static char http_base[128], https_base[128], http6_base[128], https6_base[128];
static char ca_file[700], access_log[700];
static int hostile_port;
static pid_t hostile_pid;

/* What a read delivered, in order. */
struct sink {
	uint8_t *p;
	size_t len, cap;
	unsigned calls;
	unsigned fail_at_call; /* 0: never */
};

static int sink_fn(const void *p, size_t n, void *ctx)
{
	struct sink *s = ctx;

	s->calls++;
	if (s->fail_at_call && s->calls == s->fail_at_call)
		return -ECANCELED;
	if (n > s->cap - s->len)
		return -EFBIG;
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return 0;
}

static void sink_init(struct sink *s, size_t cap)
{
	*s = (struct sink){ .p = mem_alloc(cap), .cap = cap };
	CHECK(s->p);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* Runs tests/servers.sh with args; each KEY=VALUE line it prints is setenv()ed. */
static int servers(const char *args)
{
	const char *src = getenv("FERRY_SRC");
	char cmd[2048], line[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "bash '%s/tests/servers.sh' %s", src ? src : ".", args);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (eq && strncmp(line, "FERRY_", 6) == 0) {
			*eq = '\0';
			setenv(line, eq + 1, 1);
		}
	}
	return pclose(f) == 0 ? 0 : -EIO;
}

static int proxy_start(const char *name, const char *args)
{
	char cmd[1024];

	CHECK(getenv(PROXY_TARGET_PORT));
	snprintf(cmd, sizeof(cmd), "proxy %s --to 127.0.0.1:%s %s", name,
		 getenv(PROXY_TARGET_PORT), args);
	CHECK_OK(servers(cmd));
	return atoi(getenv("FERRY_PROXY_PORT"));
}

static void proxy_stop(const char *name)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "proxy-stop %s", name);
	CHECK_OK(servers(cmd));
}

/* ---- the hostile server ------------------------------------------------ */

struct canned {
	const char *path;
	const char *response;
};

static const struct canned hostile[] = {
	{ "/wrongstart", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/100\r\n"
			 "Content-Length: 5\r\n\r\nabcde" },
	{ "/early", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-19/20\r\n"
		    "Content-Length: 20\r\n\r\n0123456789abcdefghij" },
	{ "/longer", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n14\r\n0123456789ABCDEFGHIJ\r\n0\r\n\r\n" },
	{ "/short", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/100\r\n"
		    "Content-Length: 5\r\n\r\n01234" },
	{ "/nolength", "HTTP/1.1 200 OK\r\n\r\n"
		       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX" },
	{ "/multipart", "HTTP/1.1 206 Partial Content\r\n"
			"Content-Type: multipart/byteranges; boundary=x\r\nContent-Length: 4\r\n\r\n"
			"--x\n" },
	{ "/nosize", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/*\r\n"
		     "Content-Length: 1\r\n\r\nx" },
	{ "/gone", "HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone" },
	{ "/forbidden", "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope" },
	{ "/busy", "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy" },
	{ "/teapot", "HTTP/1.1 418 Teapot\r\nContent-Length: 3\r\n\r\ntea" },
	{ "/tofile", "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
		     "Content-Length: 0\r\n\r\n" },
	{ "/garbage", "SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n" },
};

static void hostile_answer(int fd)
{
	char req[8192], path[256] = "";
	const char *resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(req) - 1 && (n = read(fd, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	if (sscanf(req, "%*s %255s", path) == 1)
		for (size_t i = 0; i < ARRAY_SIZE(hostile); i++)
			if (strcmp(path, hostile[i].path) == 0)
				resp = hostile[i].response;
	if (write(fd, resp, strlen(resp)) < 0)
		return;
	shutdown(fd, SHUT_WR);
	while (read(fd, req, sizeof(req)) > 0)
		;
}

static void hostile_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	hostile_port = ntohs(a.sin_port);
	hostile_pid = fork();
	CHECK(hostile_pid >= 0);
	if (hostile_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0) {
				hostile_answer(c);
				close(c);
			}
		}
	}
	close(fd);
}

/* ---- nginx's access log ------------------------------------------------- */

struct logline {
	unsigned long conn;
	char method[8], uri[256], range[64];
	int status;
	unsigned long long body;
};

/* Lines of the access log from line `from` on, into out (at most max). */
static size_t log_read(struct logline *out, size_t max, size_t from, size_t *total)
{
	FILE *f = fopen(access_log, "r");
	char line[1024];
	size_t n = 0, i = 0;

	if (!f)
		return 0;
	for (; fgets(line, sizeof(line), f); i++) {
		struct logline l = { 0 };

		if (i < from || n >= max)
			continue;
		if (sscanf(line, "%*s %lu %*u %7s %255s %d \"%63[^\"]\" %*u %llu", &l.conn, l.method,
			   l.uri, &l.status, l.range, &l.body) == 6)
			out[n++] = l;
	}
	fclose(f);
	if (total)
		*total = i;
	return n;
}

static size_t log_lines(void)
{
	size_t total = 0;
	struct logline l;

	log_read(&l, 0, 0, &total);
	return total;
}

/* nginx writes a request's log line after the response has gone out, so a
 * busy machine can let the client run ahead of the log.  A mark is taken
 * once the count has stood still for 200 ms; results are read once at
 * least the expected lines are there (or after 10 s, and the checks fail). */
static size_t log_mark(void)
{
	size_t last = log_lines(), now;

	for (int still = 0, waited = 0; still < 4 && waited < 200; waited++) {
		usleep(50 * 1000);
		now = log_lines();
		still = now == last ? still + 1 : 0;
		last = now;
	}
	return last;
}

static void log_wait(size_t from, size_t want)
{
	for (int waited = 0; log_lines() < from + want && waited < 200; waited++)
		usleep(50 * 1000);
}

/* ---- helpers ------------------------------------------------------------ */

static struct transport *open_ok(const char *url, const struct transport_opts *o)
{
	struct transport *t = NULL;

	CHECK_OK(transport_http_ops.open(&t, url, o));
	CHECK(t && t->ops == &transport_http_ops);
	return t;
}

static int read_into(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     struct sink *s)
{
	return transport_http_ops.read(t, path, off, len, sink_fn, s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the cases ---------------------------------------------------------- */

static void test_servers_start(void)
{
	char path[800], args[1400];

	snprintf(www, sizeof(www), "%s/www", t_tmpdir());
	snprintf(state, sizeof(state), "%s/servers", t_tmpdir());
	CHECK_OK(fs_mkdir_p(www, 0755));
	CHECK_OK(fs_mkdir_p(state, 0755));
	big = mem_alloc(BIG_SIZE);
	CHECK(big);
	fill(big, BIG_SIZE, 7);
	snprintf(path, sizeof(path), "%s/big.bin", www);
	CHECK_OK(fs_write_atomic(path, big, BIG_SIZE));
	snprintf(path, sizeof(path), "%s/small.txt", www);
	CHECK_OK(fs_write_atomic(path, "hello\n", 6));
	snprintf(path, sizeof(path), "%s/empty", www);
	CHECK_OK(fs_write_atomic(path, "", 0));
	snprintf(path, sizeof(path), "%s/课本 第1册.txt", www);
	CHECK_OK(fs_write_atomic(path, "ཀཁག ᠮᠣᠩᠭᠣᠯ\n", strlen("ཀཁག ᠮᠣᠩᠭᠣᠯ\n")));

	snprintf(args, sizeof(args), "%d", (int)getpid());
	setenv("FERRY_SERVERS_OWNER", args, 1);
	setenv("FERRY_SERVERS_DIR", state, 1);
	snprintf(args, sizeof(args), "nginx '%s'", www);
	CHECK_OK(servers(args));
	CHECK(getenv("FERRY_HTTP_PORT") && getenv("FERRY_HTTPS_PORT") && getenv("FERRY_CA"));
	snprintf(http_base, sizeof(http_base), "http://127.0.0.1:%s/", getenv("FERRY_HTTP_PORT"));
	snprintf(https_base, sizeof(https_base), "https://localhost:%s", getenv("FERRY_HTTPS_PORT"));
	snprintf(http6_base, sizeof(http6_base), "http://[::1]:%s/", getenv("FERRY_HTTP_PORT"));
	snprintf(https6_base, sizeof(https6_base), "https://[::1]:%s/", getenv("FERRY_HTTPS_PORT"));
	snprintf(ca_file, sizeof(ca_file), "%s", getenv("FERRY_CA"));
	snprintf(access_log, sizeof(access_log), "%s", getenv("FERRY_NGINX_LOG"));
	hostile_start();
}

static void test_handles(void)
{
	CHECK(transport_http_ops.handles("http://mirror.example/repo"));
	CHECK(transport_http_ops.handles("HTTPS://mirror.example/repo"));
	CHECK(!transport_http_ops.handles("sftp://u@h/repo"));
	CHECK(!transport_http_ops.handles("/media/usb/repo"));
	CHECK(!transport_http_ops.handles("file:///srv/repo"));
	CHECK_EQ_U(transport_http_ops.version, TRANSPORT_OPS_VERSION);
	CHECK(transport_http_ops.list == NULL);
}

static void test_open_refuses_bad_urls(void)
{
	static const char *const bad[] = {
		"ftp://mirror/repo",        "http://mirror/repo?x=1", "http://mirror/repo#top",
		"http://[::1/repo",         "https://",               "http//mirror/repo",
	};
	struct transport *t = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = transport_http_ops.open(&t, bad[i], NULL);

		CHECK_MSG(r == -EINVAL, "%s: %d", bad[i], r);
		CHECK(t == NULL);
	}
}

static void test_size(void)
{
	static const struct {
		const char *path;
		uint64_t size;
	} cases[] = {
		{ "big.bin", BIG_SIZE },
		{ "small.txt", 6 },
		{ "empty", 0 },
		{ "课本 第1册.txt", sizeof("ཀཁག ᠮᠣᠩᠭᠣᠯ\n") - 1 },
	};
	struct transport *t = open_ok(http_base, NULL);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t sz = 1234;

		CHECK_OK(transport_http_ops.size(t, cases[i].path, &sz));
		CHECK_EQ_U(sz, cases[i].size);
	}
	transport_http_ops.close(t);
}

/* Every range arrives exactly, the server sends only what was asked
 * (206, body bytes = len), and all requests share one connection. */
static void test_read_ranges(void)
{
	static const struct {
		uint64_t off, len;
	} cases[] = {
		{ 0, BIG_SIZE }, { 0, 1 },           { 1, 100 },          { BIG_SIZE - 1, 1 },
		{ 1234567, 1000000 }, { BIG_SIZE - 4096, 4096 }, { 65535, 65537 },
	};
	struct transport *t = open_ok(http_base, NULL);
	struct logline l[16];
	size_t mark = log_mark(), n;
	struct sink s;
	double t0 = now_s(), dt;

	sink_init(&s, BIG_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		s.len = 0;
		CHECK_OK(read_into(t, "big.bin", cases[i].off, cases[i].len, &s));
		CHECK_EQ_U(s.len, cases[i].len);
		CHECK_MSG(memcmp(s.p, big + cases[i].off, s.len) == 0, "range %zu differs", i);
		if (i == 0) {
			dt = now_s() - t0;
			printf("# http: %u bytes read in %.3f s (%.0f MB/s on loopback)\n", BIG_SIZE,
			       dt, BIG_SIZE / dt / 1e6);
		}
	}
	transport_http_ops.close(t);
	mem_free(s.p);
	log_wait(mark, ARRAY_SIZE(cases));
	n = log_read(l, ARRAY_SIZE(l), mark, NULL);
	CHECK_EQ_U(n, ARRAY_SIZE(cases));
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(l[i].method, "GET");
		CHECK_EQ_I(l[i].status, 206);
		CHECK_EQ_U(l[i].body, cases[i].len);
		CHECK_MSG(l[i].conn == l[0].conn, "request %zu on connection %lu, not %lu", i,
			  l[i].conn, l[0].conn);
	}
}

static void test_read_zero_and_bad_paths(void)
{
	static const char *const bad[] = { "../etc/passwd", "/big.bin", "a//b", "a/./b",
					   "",              "a/..",     "x\ny" };
	struct transport *t = open_ok(http_base, NULL);
	size_t mark = log_mark();
	struct sink s;
	uint64_t sz;

	sink_init(&s, 16);
	CHECK_OK(read_into(t, "big.bin", 5, 0, &s));
	CHECK_EQ_U(s.calls, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ_I(read_into(t, bad[i], 0, 1, &s), -EINVAL);
		CHECK_EQ_I(transport_http_ops.size(t, bad[i], &sz), -EINVAL);
	}
	CHECK_EQ_U(s.calls, 0);
	CHECK_EQ_U(log_mark(), mark); /* nothing reached the server */
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_unicode_name(void)
{
	struct transport *t = open_ok(http6_base, NULL);
	const char *want = "ཀཁག ᠮᠣᠩᠭᠣᠯ\n";
	struct sink s;

	sink_init(&s, 64);
	CHECK_OK(read_into(t, "课本 第1册.txt", 0, strlen(want), &s));
	CHECK_EQ_U(s.len, strlen(want));
	CHECK(memcmp(s.p, want, s.len) == 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_https_with_ca(void)
{
	struct transport_opts o = { .ca_file = ca_file };
	struct transport *t = open_ok(https_base, &o);
	struct sink s;
	uint64_t sz;

	sink_init(&s, 300000);
	CHECK_OK(transport_http_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	CHECK_OK(read_into(t, "big.bin", 2000000, 300000, &s));
	CHECK_EQ_U(s.len, 300000);
	CHECK(memcmp(s.p, big + 2000000, s.len) == 0);
	transport_http_ops.close(t);

	t = open_ok(https6_base, &o);
	s.len = 0;
	CHECK_OK(read_into(t, "big.bin", BIG_SIZE - 10, 10, &s));
	CHECK(s.len == 10 && memcmp(s.p, big + BIG_SIZE - 10, 10) == 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_https_refused_without_ca(void)
{
	struct transport *t = open_ok(https_base, NULL);
	struct transport_opts insecure = { .insecure_tls = true };
	struct sink s;
	uint64_t sz;
	int r;

	sink_init(&s, 100);
	r = read_into(t, "big.bin", 0, 100, &s);
	CHECK_EQ_I(r, -EKEYREJECTED);
	CHECK_EQ_U(s.len, 0);
	CHECK_MSG(strstr(t->detail, "certificate") && strstr(t->detail, "ca_file"), "%s",
		  t->detail);
	CHECK_STR(err_detail(), t->detail);
	CHECK_EQ_I(transport_http_ops.size(t, "big.bin", &sz), -EKEYREJECTED);
	transport_http_ops.close(t);

	/* Other CAs are no better than none. */
	{
		struct transport_opts o = { .ca_file = "/etc/ssl/certs/ca-certificates.crt" };

		t = open_ok(https_base, &o);
		CHECK_EQ_I(transport_http_ops.size(t, "big.bin", &sz), -EKEYREJECTED);
		transport_http_ops.close(t);
	}
	/* The explicit opt-out works, and is the only way past. */
	t = open_ok(https_base, &insecure);
	CHECK_OK(transport_http_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_not_found(void)
{
	struct transport *t = open_ok(http_base, NULL);
	struct sink s;
	uint64_t sz;

	sink_init(&s, 4096);
	CHECK_EQ_I(transport_http_ops.size(t, "packs/ab/missing.pack", &sz), -ENOENT);
	CHECK_EQ_I(read_into(t, "packs/ab/missing.pack", 0, 100, &s), -ENOENT);
	CHECK_EQ_U(s.len, 0); /* nginx's error page is not data */
	CHECK_MSG(strstr(t->detail, "404") && strstr(t->detail, "missing.pack"), "%s", t->detail);
	/* The connection survives an error status. */
	CHECK_OK(read_into(t, "small.txt", 0, 6, &s));
	CHECK(s.len == 6 && memcmp(s.p, "hello\n", 6) == 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

/* max_ranges 0: every GET is a 200 with the whole file. */
static void test_range_ignored(void)
{
	static const struct {
		uint64_t off, len;
	} cases[] = { { 0, 1000 }, { 2000000, 5000 }, { BIG_SIZE - 7, 7 }, { 0, BIG_SIZE } };
	char base[160];
	struct transport *t;
	struct logline l[8];
	size_t mark = log_mark(), n;
	struct sink s;
	uint64_t sz;

	snprintf(base, sizeof(base), "%snorange", http_base);
	t = open_ok(base, NULL);
	sink_init(&s, BIG_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		s.len = 0;
		CHECK_OK(read_into(t, "big.bin", cases[i].off, cases[i].len, &s));
		CHECK_EQ_U(s.len, cases[i].len);
		CHECK(memcmp(s.p, big + cases[i].off, s.len) == 0);
	}
	s.len = 0;
	CHECK_EQ_I(read_into(t, "big.bin", BIG_SIZE - 5, 10, &s), -EBADMSG);
	CHECK_EQ_U(s.len, 5);
	CHECK(memcmp(s.p, big + BIG_SIZE - 5, 5) == 0);
	CHECK_OK(transport_http_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	transport_http_ops.close(t);
	mem_free(s.p);
	log_wait(mark, ARRAY_SIZE(cases));
	n = log_read(l, ARRAY_SIZE(l), mark, NULL);
	CHECK(n >= ARRAY_SIZE(cases));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_EQ_I(l[i].status, 200);
}

static void test_head_refused(void)
{
	char base[160];
	struct transport *t;
	struct logline l[8];
	size_t mark = log_mark(), n;
	uint64_t sz = 99;

	snprintf(base, sizeof(base), "%snohead/", http_base);
	t = open_ok(base, NULL);
	CHECK_OK(transport_http_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	CHECK_OK(transport_http_ops.size(t, "empty", &sz));
	CHECK_EQ_U(sz, 0);
	CHECK_EQ_I(transport_http_ops.size(t, "nothing-here", &sz), -ENOENT);
	transport_http_ops.close(t);
	log_wait(mark, 6);
	n = log_read(l, ARRAY_SIZE(l), mark, NULL);
	CHECK_EQ_U(n, 6);
	CHECK(strcmp(l[0].method, "HEAD") == 0 && l[0].status == 405);
	CHECK(strcmp(l[1].method, "GET") == 0 && l[1].status == 206 && l[1].body == 1);
	CHECK(strcmp(l[3].method, "GET") == 0 && strcmp(l[3].range, "bytes=0-0") == 0);
	for (size_t i = 1; i < n; i++) /* error statuses and probes keep the connection */
		CHECK_EQ_U(l[i].conn, l[0].conn);
}

static void test_redirects(void)
{
	char base[160];
	struct transport *t;
	struct sink s;
	uint64_t sz;

	snprintf(base, sizeof(base), "%smoved", http_base);
	t = open_ok(base, NULL);
	sink_init(&s, 5000);
	CHECK_OK(read_into(t, "big.bin", 777, 5000, &s));
	CHECK(s.len == 5000 && memcmp(s.p, big + 777, 5000) == 0);
	CHECK_OK(transport_http_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	transport_http_ops.close(t);

	snprintf(base, sizeof(base), "%sloop", http_base);
	t = open_ok(base, NULL);
	s.len = 0;
	CHECK_EQ_I(read_into(t, "x", 0, 10, &s), -EPROTO);
	CHECK_MSG(strstr(t->detail, "redirects"), "%s", t->detail);
	CHECK_EQ_U(s.len, 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_server_error(void)
{
	char base[160];
	struct transport *t;
	struct sink s;
	uint64_t sz;

	snprintf(base, sizeof(base), "%sbroken", http_base);
	t = open_ok(base, NULL);
	sink_init(&s, 1000);
	CHECK_EQ_I(read_into(t, "big.bin", 0, 10, &s), -EIO);
	CHECK_EQ_I(transport_http_ops.size(t, "big.bin", &sz), -EIO);
	CHECK_EQ_U(s.len, 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_past_the_end(void)
{
	struct transport *t = open_ok(http_base, NULL);
	struct sink s;

	sink_init(&s, 100);
	CHECK_EQ_I(read_into(t, "big.bin", BIG_SIZE - 10, 20, &s), -EBADMSG);
	CHECK_EQ_U(s.len, 10);
	CHECK(memcmp(s.p, big + BIG_SIZE - 10, 10) == 0);
	s.len = 0;
	CHECK_EQ_I(read_into(t, "big.bin", BIG_SIZE + 10, 5, &s), -EBADMSG);
	CHECK_EQ_U(s.len, 0);
	CHECK_EQ_I(read_into(t, "big.bin", UINT64_MAX - 5, 10, &s), -EINVAL);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_sink_abort(void)
{
	struct transport *t = open_ok(http_base, NULL);
	struct sink s;

	sink_init(&s, BIG_SIZE);
	s.fail_at_call = 3;
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ECANCELED);
	CHECK_EQ_U(s.calls, 3);
	CHECK(s.len > 0 && memcmp(s.p, big, s.len) == 0);
	/* The transport is still usable after a sink said stop. */
	s.fail_at_call = 0;
	s.len = 0;
	CHECK_OK(read_into(t, "big.bin", 10, 10, &s));
	CHECK(s.len == 10 && memcmp(s.p, big + 10, 10) == 0);
	transport_http_ops.close(t);
	mem_free(s.p);
}

static void test_connection_refused(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[64];
	struct transport *t;
	uint64_t sz;

	/* A port that was just free: nothing listens there. */
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
	t = open_ok(url, NULL);
	CHECK_EQ_I(transport_http_ops.size(t, "big.bin", &sz), -ECONNREFUSED);
	transport_http_ops.close(t);
}

static void test_hostile_responses(void)
{
	static const struct {
		const char *path;
		uint64_t off, len;
		int want;
		const char *delivered;
	} cases[] = {
		{ "wrongstart", 0, 10, -EPROTO, "" },
		{ "early", 10, 5, 0, "abcde" },
		{ "longer", 0, 10, -EPROTO, "0123456789" },
		{ "short", 0, 10, -EBADMSG, "01234" },
		{ "nolength", 10, 5, 0, "klmno" },
		{ "nolength", 45, 10, -EBADMSG, "TUVWX" },
		{ "multipart", 0, 4, -EPROTO, "" },
		{ "gone", 0, 4, -ENOENT, "" },
		{ "forbidden", 0, 4, -EACCES, "" },
		{ "busy", 0, 4, -EIO, "" },
		{ "teapot", 0, 3, -EPROTO, "" },
		{ "tofile", 0, 10, -EPROTO, "" },
		{ "garbage", 0, 10, -EPROTO, "" },
	};
	char base[64];
	struct transport *t;
	struct sink s;
	uint64_t sz;

	snprintf(base, sizeof(base), "http://127.0.0.1:%d", hostile_port);
	t = open_ok(base, NULL);
	sink_init(&s, 100);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r;

		s.len = 0;
		r = read_into(t, cases[i].path, cases[i].off, cases[i].len, &s);
		CHECK_MSG(r == cases[i].want, "%s: %d, wanted %d (%s)", cases[i].path, r,
			  cases[i].want, t->detail);
		CHECK_MSG(s.len == strlen(cases[i].delivered) &&
				  memcmp(s.p, cases[i].delivered, s.len) == 0,
			  "%s: delivered %zu bytes", cases[i].path, s.len);
	}
	CHECK_OK(transport_http_ops.size(t, "nolength", &sz));
	CHECK_EQ_U(sz, 50);
	CHECK_EQ_I(transport_http_ops.size(t, "nosize", &sz), -EPROTO);
	CHECK_EQ_I(transport_http_ops.size(t, "gone", &sz), -ENOENT);
	transport_http_ops.close(t);
	mem_free(s.p);
}

/* A connection reset mid-body: the valid prefix arrives, then an error. */
static void test_weak_reset(void)
{
	struct transport *t;
	char url[64];
	struct sink s;
	int port = proxy_start("reset", "--reset-after 1M");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = open_ok(url, NULL);
	sink_init(&s, BIG_SIZE);
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ECONNRESET);
	CHECK_MSG(s.len > (1u << 20) - 1000 && s.len < (1u << 20), "delivered %zu", s.len);
	CHECK(memcmp(s.p, big, s.len) == 0);
	/* Resume from where it stopped, on a new connection (faults hit every
	 * connection: this one is cut 1 MiB into its response too). */
	{
		size_t got = s.len;

		CHECK_EQ_I(read_into(t, "big.bin", got, BIG_SIZE - got, &s), -ECONNRESET);
		CHECK(s.len > got && memcmp(s.p, big, s.len) == 0);
	}
	transport_http_ops.close(t);
	proxy_stop("reset");

	port = proxy_start("trunc", "--truncate-after 200000");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = open_ok(url, NULL);
	s.len = 0;
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ECONNRESET);
	CHECK(s.len > 190000 && s.len < 200000 && memcmp(s.p, big, s.len) == 0);
	transport_http_ops.close(t);
	proxy_stop("trunc");
	mem_free(s.p);
}

/* A link that stops moving hits the low-speed limit. */
static void test_weak_stall(void)
{
	struct transport_opts o = { .low_speed_time_s = 2, .low_speed_bytes = 1000 };
	struct transport *t;
	char url[64];
	struct sink s;
	double t0, dt;
	int port = proxy_start("stall", "--stall-after 300K --stall-for 30");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = open_ok(url, &o);
	sink_init(&s, BIG_SIZE);
	t0 = now_s();
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ETIMEDOUT);
	dt = now_s() - t0;
	CHECK_MSG(dt > 1.5 && dt < 10, "gave up after %.1f s", dt);
	CHECK(s.len > 250000 && s.len < 300 * 1024 && memcmp(s.p, big, s.len) == 0);
	transport_http_ops.close(t);
	proxy_stop("stall");
	mem_free(s.p);
}

/* A flipped byte is delivered as it came: verification is the caller's. */
static void test_weak_corrupt(void)
{
	struct transport *t;
	char url[64];
	struct sink s;
	size_t diff = 0, at = 0;
	int port = proxy_start("corrupt", "--corrupt-after 700000");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = open_ok(url, NULL);
	sink_init(&s, BIG_SIZE);
	CHECK_OK(read_into(t, "big.bin", 0, BIG_SIZE, &s));
	CHECK_EQ_U(s.len, BIG_SIZE);
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] != big[i]) {
			diff++;
			at = i;
		}
	CHECK_EQ_U(diff, 1);
	CHECK_EQ_U(s.p[at], (uint8_t)(big[at] ^ 0xff));
	CHECK(at > 699000 && at < 700000); /* 700000 minus the response headers */
	transport_http_ops.close(t);
	proxy_stop("corrupt");
	mem_free(s.p);
}

/* Satellite-like latency: reads still complete, on one connection. */
static void test_weak_latency(void)
{
	struct transport *t;
	char url[64];
	struct sink s;
	double t0, dt;
	int port = proxy_start("latency", "--latency 150 --rate 2M");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = open_ok(url, NULL);
	sink_init(&s, 1u << 20);
	t0 = now_s();
	CHECK_OK(read_into(t, "small.txt", 0, 6, &s));
	printf("# http: connect and a first small read through 150 ms each way: %.2f s\n",
	       now_s() - t0);
	t0 = now_s();
	for (int i = 0; i < 3; i++) {
		s.len = 0;
		CHECK_OK(read_into(t, "big.bin", (uint64_t)i << 20, 1u << 20, &s));
		CHECK(s.len == 1u << 20 && memcmp(s.p, big + ((size_t)i << 20), s.len) == 0);
	}
	dt = now_s() - t0;
	printf("# http: 3 x 1 MiB through 150 ms each way at 2 MiB/s: %.2f s\n", dt);
	CHECK(dt > 1.5);
	transport_http_ops.close(t);
	proxy_stop("latency");
	mem_free(s.p);
}

static void test_open_out_of_memory(void)
{
	struct transport *t = NULL;
	int r = -ENOMEM;

	for (long n = 0; n < 64 && r == -ENOMEM; n++) {
		mem_fail_after(n);
		r = transport_http_ops.open(&t, http_base, NULL);
		mem_fail_after(-1);
		if (r == -ENOMEM)
			CHECK(t == NULL);
	}
	CHECK_OK(r);
	transport_http_ops.close(t);
	transport_http_ops.close(NULL);
}

static void test_servers_stop(void)
{
	char args[700];

	if (hostile_pid > 0) {
		kill(hostile_pid, SIGKILL);
		waitpid(hostile_pid, NULL, 0);
	}
	snprintf(args, sizeof(args), "stop");
	CHECK_OK(servers(args));
	{
		struct transport *t = open_ok(http_base, NULL);
		uint64_t sz;

		CHECK_EQ_I(transport_http_ops.size(t, "big.bin", &sz), -ECONNREFUSED);
		transport_http_ops.close(t);
	}
	mem_free(big);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "servers start", test_servers_start },
		{ "handles http and https only", test_handles },
		{ "open refuses bad URLs", test_open_refuses_bad_urls },
		{ "size", test_size },
		{ "read ranges, one connection", test_read_ranges },
		{ "zero-length reads and bad paths stay local", test_read_zero_and_bad_paths },
		{ "names in any script, over IPv6", test_unicode_name },
		{ "https with the private CA, IPv4 and IPv6", test_https_with_ca },
		{ "https refused without the CA", test_https_refused_without_ca },
		{ "404 is ENOENT and delivers nothing", test_not_found },
		{ "a server ignoring Range", test_range_ignored },
		{ "HEAD refused: size from a 0-0 range", test_head_refused },
		{ "redirects followed, loops refused", test_redirects },
		{ "5xx is EIO", test_server_error },
		{ "reads past the end", test_past_the_end },
		{ "a sink's error stops the read", test_sink_abort },
		{ "connection refused", test_connection_refused },
		{ "hostile responses", test_hostile_responses },
		{ "weak link: reset and truncation", test_weak_reset },
		{ "weak link: stall hits the low-speed limit", test_weak_stall },
		{ "weak link: a corrupted byte is delivered as is", test_weak_corrupt },
		{ "weak link: latency", test_weak_latency },
		{ "open under allocation failure", test_open_out_of_memory },
		{ "servers stop", test_servers_stop },
		{ 0 },
	});
}

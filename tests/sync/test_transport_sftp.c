/*
 * test_transport_sftp.c — the sftp transport against a real OpenSSH sshd.
 *
 * The first case starts sshd through tests/servers.sh (its own host key,
 * one authorized ed25519 user key, a known_hosts for it, all in a temp
 * folder) and makes the files it serves.  Host-key refusals use the
 * known_hosts variants servers.sh writes or ones made here; weak links are
 * weakproxy between the transport and sshd.  The last case stops
 * everything; a watchdog in servers.sh does it if this program dies first.
 */
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "sync/transport.h"
#include "tests/harness.h"

#define BIG_SIZE ((3u << 20) + 4321u)
#define PROXY_TARGET_PORT "FERRY_SFTP_PORT"
#define UNICODE_NAME "ᠮᠣᠩᠭᠣᠯ ཀཁག 课本.txt"

static char www[600], state[600];
static uint8_t *big;
static char url4[900], url6[900];
static struct transport_opts opts;
static char known_hosts[700], identity[700];

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void write_file(const char *name, const void *p, size_t n)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s", www, name);
	CHECK_OK(fs_mkdir_parents(path, 0755));
	CHECK_OK(fs_write_atomic(path, p, n));
}

/* The server's host key line from known_hosts, re-labelled for a proxy
 * port, into a file of its own; returns its path (static). */
static const char *known_hosts_for_port(int port, const char *extra_lines)
{
	static char path[800];
	char line[2048], out[4096];
	FILE *f = fopen(known_hosts, "r");
	char *key;

	CHECK(f && fgets(line, sizeof(line), f));
	fclose(f);
	key = strchr(line, ' ');
	CHECK(key);
	snprintf(out, sizeof(out), "%s[127.0.0.1]:%d%s", extra_lines, port, key);
	snprintf(path, sizeof(path), "%s/known_hosts.%d", state, port);
	CHECK_OK(fs_write_atomic(path, out, strlen(out)));
	return path;
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

static struct transport *open_ok(const char *url, const struct transport_opts *o)
{
	struct transport *t = NULL;

	CHECK_OK(transport_sftp_ops.open(&t, url, o));
	CHECK(t && t->ops == &transport_sftp_ops);
	return t;
}

static int read_into(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     struct sink *s)
{
	return transport_sftp_ops.read(t, path, off, len, sink_fn, s);
}

/* ---- the cases ---------------------------------------------------------- */

static void test_servers_start(void)
{
	char args[1400];

	snprintf(www, sizeof(www), "%s/www", t_tmpdir());
	snprintf(state, sizeof(state), "%s/servers", t_tmpdir());
	CHECK_OK(fs_mkdir_p(www, 0755));
	CHECK_OK(fs_mkdir_p(state, 0755));
	big = mem_alloc(BIG_SIZE);
	CHECK(big);
	fill(big, BIG_SIZE, 11);
	write_file("big.bin", big, BIG_SIZE);
	write_file("small.txt", "hello\n", 6);
	write_file("empty", "", 0);
	write_file(UNICODE_NAME, "ok\n", 3);
	write_file("packs/ab/ab01.pack", "p1", 2);
	write_file("packs/ab/ab01.idx", "i1", 2);
	write_file("packs/ab/ab02.pack", "p2", 2);

	snprintf(args, sizeof(args), "%d", (int)getpid());
	setenv("FERRY_SERVERS_OWNER", args, 1);
	setenv("FERRY_SERVERS_DIR", state, 1);
	snprintf(args, sizeof(args), "sshd '%s'", www);
	CHECK_OK(servers(args));
	CHECK(getenv("FERRY_SFTP_PORT") && getenv("FERRY_SSH_KEY") && getenv("FERRY_KNOWN_HOSTS"));
	snprintf(known_hosts, sizeof(known_hosts), "%s", getenv("FERRY_KNOWN_HOSTS"));
	snprintf(identity, sizeof(identity), "%s", getenv("FERRY_SSH_KEY"));
	opts = (struct transport_opts){ .known_hosts = known_hosts, .identity = identity };
	CHECK(getenv("FERRY_SFTP_ROOT") && strcmp(getenv("FERRY_SFTP_ROOT"), www) == 0);
	snprintf(url4, sizeof(url4), "sftp://%s@127.0.0.1:%s%s", getenv("FERRY_SFTP_USER"),
		 getenv("FERRY_SFTP_PORT"), getenv("FERRY_SFTP_ROOT"));
	snprintf(url6, sizeof(url6), "sftp://%s@[::1]:%s%s/", getenv("FERRY_SFTP_USER"),
		 getenv("FERRY_SFTP_PORT"), getenv("FERRY_SFTP_ROOT"));
}

static void test_handles(void)
{
	CHECK(transport_sftp_ops.handles("sftp://county@mirror.example/srv/ferry"));
	CHECK(transport_sftp_ops.handles("SFTP://mirror/repo"));
	CHECK(!transport_sftp_ops.handles("https://mirror/repo"));
	CHECK(!transport_sftp_ops.handles("/media/usb"));
	CHECK_EQ_U(transport_sftp_ops.version, TRANSPORT_OPS_VERSION);
	CHECK(transport_sftp_ops.list != NULL);
}

static void test_open_refuses_bad_urls(void)
{
	static const char *const bad[] = {
		"http://h/x",          "sftp://",          "sftp://u@h:0/x",  "sftp://u@h:99999/x",
		"sftp://u@[::1/x",     "sftp://u:pw@h/x",  "sftp://u@h/a%00b", "sftp://u@h:22x/x",
		"sftp://u@h h/x",      "sftp://u@::1:22/x",
	};
	struct transport *t = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = transport_sftp_ops.open(&t, bad[i], &opts);

		CHECK_MSG(r == -EINVAL, "%s: %d", bad[i], r);
		CHECK(t == NULL);
	}
}

/* The forms an sftp URL may take all reach the same folder: no user (the
 * login name), a trailing '/', an escaped byte, a path from the login
 * folder ("/~/"). */
static void test_url_forms(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char urls[4][1600], up[300] = "";
	const char *port = getenv("FERRY_SFTP_PORT"), *www_tail = strrchr(www, '/') + 1;
	size_t head = (size_t)(www_tail - www);

	CHECK(pw && pw->pw_dir[0] == '/');
	for (const char *p = pw->pw_dir; *p; p++) /* from the login folder up to / */
		if (*p == '/' && p[1] && strlen(up) + 3 < sizeof(up))
			strcat(up, "../");
	snprintf(urls[0], sizeof(urls[0]), "sftp://127.0.0.1:%s%s", port, www);
	snprintf(urls[1], sizeof(urls[1]), "sftp://%s@localhost:%s%s//", getenv("FERRY_SFTP_USER"),
		 port, www);
	snprintf(urls[2], sizeof(urls[2]), "sftp://%s@127.0.0.1:%s%.*s%%77ww", getenv("FERRY_SFTP_USER"),
		 port, (int)head, www);
	snprintf(urls[3], sizeof(urls[3]), "sftp://%s@127.0.0.1:%s/~/%s%s", getenv("FERRY_SFTP_USER"),
		 port, up, www + 1);
	CHECK_STR(www_tail, "www");
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		struct transport *t = NULL;
		uint64_t sz = 0;
		int r = transport_sftp_ops.open(&t, urls[i], &opts);

		CHECK_MSG(r == 0, "%s: %d (%s)", urls[i], r, err_detail());
		r = transport_sftp_ops.size(t, "small.txt", &sz);
		CHECK_MSG(r == 0 && sz == 6, "%s: %d (%s)", urls[i], r, t->detail);
		transport_sftp_ops.close(t);
	}
}

static void test_size(void)
{
	static const struct {
		const char *path;
		int want;
		uint64_t size;
	} cases[] = {
		{ "big.bin", 0, BIG_SIZE },     { "small.txt", 0, 6 },
		{ "empty", 0, 0 },              { UNICODE_NAME, 0, 3 },
		{ "packs/ab/ab01.idx", 0, 2 },  { "nothing", -ENOENT, 0 },
		{ "packs/zz/x.pack", -ENOENT, 0 }, { "packs", -EISDIR, 0 },
	};
	struct transport *t = open_ok(url4, &opts);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t sz = 12345;
		int r = transport_sftp_ops.size(t, cases[i].path, &sz);

		CHECK_MSG(r == cases[i].want, "%s: %d (%s)", cases[i].path, r, t->detail);
		if (r == 0)
			CHECK_EQ_U(sz, cases[i].size);
	}
	transport_sftp_ops.close(t);
}

static void test_read_ranges(void)
{
	static const struct {
		uint64_t off, len;
	} cases[] = {
		{ 0, BIG_SIZE },   { 0, 1 },          { 1, 100 },         { BIG_SIZE - 1, 1 },
		{ 1234567, 1000000 }, { BIG_SIZE - 4096, 4096 }, { 65535, 65537 }, { 3000000, 150049 },
	};
	struct transport *t = open_ok(url4, &opts);
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
			printf("# sftp: %u bytes read in %.3f s (%.0f MB/s on loopback)\n", BIG_SIZE,
			       dt, BIG_SIZE / dt / 1e6);
		}
	}
	s.len = 0;
	CHECK_OK(read_into(t, UNICODE_NAME, 0, 3, &s));
	CHECK(s.len == 3 && memcmp(s.p, "ok\n", 3) == 0);
	CHECK_OK(read_into(t, "big.bin", 7, 0, &s));
	transport_sftp_ops.close(t);
	mem_free(s.p);
}

static void test_read_errors(void)
{
	static const char *const bad[] = { "../etc/passwd", "/etc/passwd", "a//b", "a/./b", "",
					   "x/.." };
	struct transport *t = open_ok(url4, &opts);
	struct sink s;

	sink_init(&s, 100);
	CHECK_EQ_I(read_into(t, "big.bin", BIG_SIZE - 10, 20, &s), -EBADMSG);
	CHECK_EQ_U(s.len, 10);
	CHECK(memcmp(s.p, big + BIG_SIZE - 10, 10) == 0);
	s.len = 0;
	CHECK_EQ_I(read_into(t, "big.bin", BIG_SIZE + 10, 5, &s), -EBADMSG);
	CHECK_EQ_U(s.len, 0);
	CHECK_EQ_I(read_into(t, "missing", 0, 5, &s), -ENOENT);
	CHECK_MSG(strstr(t->detail, "missing"), "%s", t->detail);
	CHECK_EQ_I(read_into(t, "big.bin", UINT64_MAX - 5, 10, &s), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(read_into(t, bad[i], 0, 1, &s) == -EINVAL, "%s", bad[i]);
	CHECK_EQ_U(s.len, 0);
	/* The session survived all of that. */
	CHECK_OK(read_into(t, "small.txt", 0, 6, &s));
	CHECK(s.len == 6 && memcmp(s.p, "hello\n", 6) == 0);
	transport_sftp_ops.close(t);
	mem_free(s.p);
}

static void test_sink_abort(void)
{
	struct transport *t = open_ok(url4, &opts);
	struct sink s;

	sink_init(&s, BIG_SIZE);
	s.fail_at_call = 2;
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ECANCELED);
	CHECK(s.len > 0 && s.len < BIG_SIZE && memcmp(s.p, big, s.len) == 0);
	s.fail_at_call = 0;
	s.len = 0;
	CHECK_OK(read_into(t, "big.bin", 100, 1000, &s));
	CHECK(s.len == 1000 && memcmp(s.p, big + 100, 1000) == 0);
	transport_sftp_ops.close(t);
	mem_free(s.p);
}

/* A file replaced on the server (as a head is): a size, then a read, see
 * the new version even though reads of one file share an open handle. */
static void test_replaced_file(void)
{
	struct transport *t = open_ok(url4, &opts);
	struct sink s;
	uint64_t sz;

	write_file("heads/demo", "version 1\n", 10);
	sink_init(&s, 100);
	CHECK_OK(read_into(t, "heads/demo", 0, 10, &s));
	CHECK_OK(read_into(t, "heads/demo", 8, 2, &s));
	CHECK(s.len == 12 && memcmp(s.p, "version 1\n1\n", 12) == 0);
	write_file("heads/demo", "version 22\n", 11);
	CHECK_OK(transport_sftp_ops.size(t, "heads/demo", &sz));
	CHECK_EQ_U(sz, 11);
	s.len = 0;
	CHECK_OK(read_into(t, "heads/demo", 0, 11, &s));
	CHECK(s.len == 11 && memcmp(s.p, "version 22\n", 11) == 0);
	transport_sftp_ops.close(t);
	mem_free(s.p);
}

struct names {
	char got[16][64];
	size_t n;
	int stop_with; /* returned by the callback when nonzero */
};

static int collect(const char *name, void *ctx)
{
	struct names *nm = ctx;

	if (nm->stop_with)
		return nm->stop_with;
	if (nm->n < ARRAY_SIZE(nm->got))
		snprintf(nm->got[nm->n++], sizeof(nm->got[0]), "%s", name);
	return 0;
}

static bool has(const struct names *nm, const char *name)
{
	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->got[i], name) == 0)
			return true;
	return false;
}

static void test_list(void)
{
	struct transport *t = open_ok(url6, &opts);
	struct names nm = { 0 };

	CHECK_OK(transport_sftp_ops.list(t, "", collect, &nm));
	CHECK_EQ_U(nm.n, 6);
	CHECK(has(&nm, "big.bin") && has(&nm, "small.txt") && has(&nm, "empty") &&
	      has(&nm, UNICODE_NAME) && has(&nm, "packs") && has(&nm, "heads"));
	nm.n = 0;
	CHECK_OK(transport_sftp_ops.list(t, "packs/ab", collect, &nm));
	CHECK_EQ_U(nm.n, 3);
	CHECK(has(&nm, "ab01.pack") && has(&nm, "ab01.idx") && has(&nm, "ab02.pack"));
	CHECK_EQ_I(transport_sftp_ops.list(t, "packs/zz", collect, &nm), -ENOENT);
	CHECK_EQ_I(transport_sftp_ops.list(t, "../..", collect, &nm), -EINVAL);
	nm.stop_with = -EINTR;
	CHECK_EQ_I(transport_sftp_ops.list(t, "packs/ab", collect, &nm), -EINTR);
	nm = (struct names){ 0 };
	CHECK_OK(transport_sftp_ops.list(t, "packs", collect, &nm));
	CHECK(nm.n == 1 && has(&nm, "ab"));
	transport_sftp_ops.close(t);
}

static void test_ipv6(void)
{
	struct transport *t = open_ok(url6, &opts);
	struct sink s;
	uint64_t sz;

	sink_init(&s, 500000);
	CHECK_OK(transport_sftp_ops.size(t, "big.bin", &sz));
	CHECK_EQ_U(sz, BIG_SIZE);
	CHECK_OK(read_into(t, "big.bin", 2500000, 500000, &s));
	CHECK(s.len == 500000 && memcmp(s.p, big + 2500000, s.len) == 0);
	transport_sftp_ops.close(t);
	mem_free(s.p);
}

static void test_host_key_changed(void)
{
	struct transport_opts o = opts;
	struct transport *t = NULL;
	char label[64];

	o.known_hosts = getenv("FERRY_KNOWN_HOSTS_WRONG");
	CHECK(o.known_hosts);
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EKEYREJECTED);
	CHECK(t == NULL);
	snprintf(label, sizeof(label), "[127.0.0.1]:%s", getenv("FERRY_SFTP_PORT"));
	CHECK_MSG(strstr(err_detail(), "CHANGED") && strstr(err_detail(), label) &&
			  strstr(err_detail(), "SHA256:") && strstr(err_detail(), "ssh-keygen -R"),
		  "%s", err_detail());
	CHECK_EQ_I(transport_sftp_ops.open(&t, url6, &o), -EKEYREJECTED);
}

static void test_host_unknown(void)
{
	struct transport_opts o = opts;
	struct transport *t = NULL;
	char path[800];

	snprintf(path, sizeof(path), "%s/known_hosts.empty", state);
	CHECK_OK(fs_write_atomic(path, "# nothing yet\n", 14));
	o.known_hosts = path;
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EKEYREJECTED);
	CHECK_MSG(strstr(err_detail(), "is not in") && strstr(err_detail(), "ssh-keyscan"), "%s",
		  err_detail());
	snprintf(path, sizeof(path), "%s/no-such-known_hosts", state);
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EKEYREJECTED);
	CHECK_MSG(strstr(err_detail(), "cannot read known_hosts"), "%s", err_detail());
	CHECK(t == NULL);
}

/* Real known_hosts files: hashed names, comments, keys libssh2 does not
 * know, markers — the right line still matches, @revoked refuses. */
static void test_known_hosts_formats(void)
{
	struct transport_opts o = opts;
	struct transport *t = NULL;
	const char *plain;
	char path[800], cmd[2600];
	int port = atoi(getenv("FERRY_SFTP_PORT"));

	plain = known_hosts_for_port(port, "# a comment\n\n"
					   "other.example sk-ssh-ed25519@openssh.com AAAAGnNr\n"
					   "@cert-authority *.example ssh-ed25519 AAAAC3Nz\n"
					   "garbage line\n");
	o.known_hosts = plain;
	t = open_ok(url4, &o);
	transport_sftp_ops.close(t);

	snprintf(path, sizeof(path), "%s/known_hosts.hashed", state);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && ssh-keygen -q -H -f '%s' >/dev/null 2>&1",
		 known_hosts, path, path);
	CHECK(system(cmd) == 0);
	o.known_hosts = path;
	t = open_ok(url4, &o);
	transport_sftp_ops.close(t);

	plain = known_hosts_for_port(port, "@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n");
	o.known_hosts = plain;
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EKEYREJECTED);
	CHECK_MSG(strstr(err_detail(), "@revoked"), "%s", err_detail());
}

static void test_login_refused(void)
{
	struct transport_opts o = opts;
	struct transport *t = NULL;
	char path[800];

	o.identity = getenv("FERRY_SSH_KEY_UNAUTHORIZED");
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EACCES);
	CHECK_MSG(strstr(err_detail(), "refused the key"), "%s", err_detail());
	snprintf(path, sizeof(path), "%s/no-such-key", state);
	o.identity = path;
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EACCES);
	snprintf(path, sizeof(path), "%s/id_ed25519.pub", state); /* not a private key */
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &o), -EACCES);
	CHECK(t == NULL);
}

static void test_connection_refused(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct transport *t = NULL;
	char url[64];

	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	close(fd);
	snprintf(url, sizeof(url), "sftp://u@127.0.0.1:%d/x", ntohs(a.sin_port));
	CHECK_EQ_I(transport_sftp_ops.open(&t, url, &opts), -ECONNREFUSED);
	CHECK(t == NULL);
}

/* A reset mid-read: the valid prefix, -ECONNRESET, then the next request
 * reconnects by itself (only the first connection is faulty). */
static void test_weak_reset(void)
{
	int port = proxy_start("reset", "--reset-after 1500K --faulty 1");
	struct transport_opts o = opts;
	struct transport *t;
	char url[900];
	struct sink s;
	size_t got;

	o.known_hosts = known_hosts_for_port(port, "");
	snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%d%s", getenv("FERRY_SFTP_USER"), port,
		 www);
	t = open_ok(url, &o);
	sink_init(&s, BIG_SIZE);
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ECONNRESET);
	CHECK_MSG(s.len > 1000000 && s.len <= 1500u << 10, "delivered %zu", s.len);
	CHECK(memcmp(s.p, big, s.len) == 0);
	got = s.len;
	CHECK_OK(read_into(t, "big.bin", got, BIG_SIZE - got, &s));
	CHECK_EQ_U(s.len, BIG_SIZE);
	CHECK(memcmp(s.p, big, BIG_SIZE) == 0);
	transport_sftp_ops.close(t);
	proxy_stop("reset");
	mem_free(s.p);
}

static void test_weak_stall(void)
{
	int port = proxy_start("stall", "--stall-after 600K --stall-for 30 --faulty 1");
	struct transport_opts o = opts;
	struct transport *t;
	char url[900];
	struct sink s;
	double t0, dt;

	o.known_hosts = known_hosts_for_port(port, "");
	o.low_speed_time_s = 2;
	snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%d%s", getenv("FERRY_SFTP_USER"), port,
		 www);
	t = open_ok(url, &o);
	sink_init(&s, BIG_SIZE);
	t0 = now_s();
	CHECK_EQ_I(read_into(t, "big.bin", 0, BIG_SIZE, &s), -ETIMEDOUT);
	dt = now_s() - t0;
	CHECK_MSG(dt > 1.5 && dt < 10, "gave up after %.1f s", dt);
	CHECK(s.len > 0 && s.len < 600 * 1024 && memcmp(s.p, big, s.len) == 0);
	s.len = 0;
	CHECK_OK(read_into(t, "big.bin", 5, 5000, &s));
	CHECK(s.len == 5000 && memcmp(s.p, big + 5, 5000) == 0);
	transport_sftp_ops.close(t);
	proxy_stop("stall");
	mem_free(s.p);
}

/* A flipped byte on an SSH link fails the MAC: nothing corrupt arrives. */
static void test_weak_corrupt(void)
{
	int port = proxy_start("corrupt", "--corrupt-after 1M --faulty 1");
	struct transport_opts o = opts;
	struct transport *t;
	char url[900];
	struct sink s;
	int r;

	o.known_hosts = known_hosts_for_port(port, "");
	snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%d%s", getenv("FERRY_SFTP_USER"), port,
		 www);
	t = open_ok(url, &o);
	sink_init(&s, BIG_SIZE);
	r = read_into(t, "big.bin", 0, BIG_SIZE, &s);
	CHECK_MSG(r == -ECONNRESET || r == -EPROTO, "%d (%s)", r, t->detail);
	CHECK(s.len < BIG_SIZE && memcmp(s.p, big, s.len) == 0);
	transport_sftp_ops.close(t);
	proxy_stop("corrupt");
	mem_free(s.p);
}

/* Satellite-like latency: libssh2's read-ahead keeps the link busy. */
static void test_weak_latency(void)
{
	int port = proxy_start("latency", "--latency 150 --rate 2M");
	struct transport_opts o = opts;
	struct transport *t;
	char url[900];
	struct sink s;
	double t0, dt;

	o.known_hosts = known_hosts_for_port(port, "");
	snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%d%s", getenv("FERRY_SFTP_USER"), port,
		 www);
	t0 = now_s();
	t = open_ok(url, &o);
	printf("# sftp: connect, host key check and login through 150 ms each way: %.2f s\n",
	       now_s() - t0);
	sink_init(&s, 1u << 20);
	t0 = now_s();
	for (int i = 0; i < 3; i++) {
		s.len = 0;
		CHECK_OK(read_into(t, "big.bin", (uint64_t)i << 20, 1u << 20, &s));
		CHECK(s.len == 1u << 20 && memcmp(s.p, big + ((size_t)i << 20), s.len) == 0);
	}
	dt = now_s() - t0;
	printf("# sftp: 3 x 1 MiB through 150 ms each way at 2 MiB/s: %.2f s\n", dt);
	CHECK(dt > 1.5);
	transport_sftp_ops.close(t);
	proxy_stop("latency");
	mem_free(s.p);
}

/* Each allocation of open fails in turn, those made while connected too. */
static void test_open_out_of_memory(void)
{
	struct transport *t = NULL;
	long total;
	int r;

	mem_fail_after(-1);
	t = open_ok(url4, &opts);
	total = mem_fail_after(-1);
	transport_sftp_ops.close(t);
	CHECK(total > 10);
	printf("# sftp: open makes %ld allocations; each fails in turn\n", total);
	for (long n = 0; n < total; n++) {
		t = NULL;
		mem_fail_after(n);
		r = transport_sftp_ops.open(&t, url4, &opts);
		mem_fail_after(-1);
		if (r == 0) {
			transport_sftp_ops.close(t);
			continue;
		}
		CHECK_MSG(r == -ENOMEM && t == NULL, "failing allocation %ld: %d (%s)", n, r,
			  err_detail());
	}
	transport_sftp_ops.close(NULL);
}

static void test_servers_stop(void)
{
	struct transport *t = NULL;
	char args[700];

	snprintf(args, sizeof(args), "stop");
	CHECK_OK(servers(args));
	CHECK_EQ_I(transport_sftp_ops.open(&t, url4, &opts), -ECONNREFUSED);
	mem_free(big);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "servers start", test_servers_start },
		{ "handles sftp only", test_handles },
		{ "open refuses bad URLs", test_open_refuses_bad_urls },
		{ "URL forms", test_url_forms },
		{ "size", test_size },
		{ "read ranges", test_read_ranges },
		{ "reads past the end, missing files, bad paths", test_read_errors },
		{ "a sink's error stops the read", test_sink_abort },
		{ "a replaced file is read afresh after a size", test_replaced_file },
		{ "list", test_list },
		{ "IPv6", test_ipv6 },
		{ "a changed host key is refused", test_host_key_changed },
		{ "an unknown host is refused", test_host_unknown },
		{ "known_hosts as people write them", test_known_hosts_formats },
		{ "login refused", test_login_refused },
		{ "connection refused", test_connection_refused },
		{ "weak link: reset, then reconnect", test_weak_reset },
		{ "weak link: stall hits the timeout", test_weak_stall },
		{ "weak link: corruption never passes SSH", test_weak_corrupt },
		{ "weak link: latency", test_weak_latency },
		{ "open under allocation failure", test_open_out_of_memory },
		{ "servers stop", test_servers_stop },
		{ 0 },
	});
}

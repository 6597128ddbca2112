/*
 * transport_sftp.c — repositories on an SSH server, over
 * sftp://user@host[:port]/path, through libssh2 (the only file that
 * includes libssh2.h).
 *
 * open connects at once (IPv4 or IPv6, whichever the name gives, within
 * the connect timeout), so a refused host key is reported before any
 * planning: the server's key must be in known_hosts (default
 * ~/.ssh/known_hosts) exactly as OpenSSH's StrictHostKeyChecking=yes
 * would demand — an unknown host or a changed key is -EKEYREJECTED with a
 * line saying which host, which key it offered, and what to do.  There is
 * no trust on first use: a school adds the county's key once, on purpose.
 * ed25519 host keys are preferred in the key exchange, as the known_hosts
 * entries ferry's documentation asks for are ed25519.  Login is by key
 * only, from identity (default ~/.ssh/id_ed25519, unencrypted OpenSSH
 * format: a nightly timer has nobody to type a passphrase).
 *
 * Then one SFTP session serves every request.  size is a stat; list an
 * opendir/readdir; read opens the file, seeks to the offset and streams:
 * resuming at any offset costs nothing extra.  libssh2 pipelines reads,
 * asking ahead up to four times the buffer handed to it; near the end of a
 * range the buffer shrinks so it never asks for more than a few bytes past
 * the range.  libssh2 runs in blocking mode with a timeout: a link that
 * moves nothing for low_speed_time seconds fails with -ETIMEDOUT, and one
 * slower than low_speed_bytes/s over such a window too (defaults 60 s and
 * 1 B/s, as for http).  After a link failure the session is dropped; the
 * next request reconnects (and checks the host key again).
 *
 * Remote paths: the URL path is absolute on the server ("sftp://h/srv/repo"
 * is /srv/repo); "sftp://h/~/repo" is relative to the login directory.
 *
 * Errors (libssh2's and SFTP's, translated here and nowhere else):
 *   no such file or path                   -ENOENT
 *   permission denied, login refused       -EACCES
 *   host key unknown, changed, revoked     -EKEYREJECTED
 *   a file shorter than the range          -EBADMSG
 *   connection refused / no route or name  -ECONNREFUSED / -EHOSTUNREACH
 *   no progress within the timeouts        -ETIMEDOUT
 *   the link failed (reset, bad MAC, EOF)  -ECONNRESET
 *   the server broke SSH or SFTP           -EPROTO
 * The transport owns its struct transport except base.url, which the
 * registry (transport.c) sets and frees;
 * base.detail the last error line (also left with err_set()).
 */
#include "sync/transport.h"

#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"

#define SFTP_CONNECT_TIMEOUT_S 30u
#define SFTP_LOW_SPEED_TIME_S 60u
#define SFTP_LOW_SPEED_BYTES 1u
#define SFTP_DEFAULT_PORT 22u
/* The buffer of one libssh2_sftp_read(); libssh2 keeps up to four times
 * this in flight, which is what fills a long fat link. */
#define SFTP_READ_BYTES (256u << 10)
/* How long an idle file handle is kept for another read of that file. */
#define SFTP_FILE_KEEP_MS 30000u

struct sftp_transport {
	struct transport base; /* first: the registry hands this back to close */
	char *user, *host, *root;
	unsigned port;
	char *known_hosts, *identity;
	char *shown; /* "sftp://user@host:port", for messages */
	unsigned connect_s, slow_s, slow_bytes;
	int fd;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	bool broken; /* the link failed: reconnect before the next request */
	/* The file of the last read, kept open for the next read of it. */
	LIBSSH2_SFTP_HANDLE *file;
	char *file_path;
	uint64_t file_used_ms;
	char *rbuf;
	struct buf path; /* remote path of the current request */
};

static pthread_once_t sftp_once = PTHREAD_ONCE_INIT;
static int sftp_init_rc;

static void sftp_global_init(void)
{
	sftp_init_rc = libssh2_init(0);
}

static int sftp_fail(struct sftp_transport *s, int code, const char *fmt, ...) FERRY_PRINTF(3, 4);

static int sftp_fail(struct sftp_transport *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->base.detail, sizeof(s->base.detail), fmt, ap);
	va_end(ap);
	return err_set(code, "%s", s->base.detail);
}

static uint64_t sftp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- URL and paths ------------------------------------------------------ */

static int sftp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into *out (caller frees): -EINVAL for a bad
 * escape, NUL or a control byte, -ENOMEM. */
static int sftp_unescape(char **out, const char *s, size_t n)
{
	char *o = mem_alloc(n + 1);

	*out = o;
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < n ? sftp_hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? sftp_hexval(s[i + 2]) : -1;

			c = hi < 0 || lo < 0 ? 0 : hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		*o++ = (char)c;
	}
	*o = '\0';
	return 0;
}

static bool sftp_host_ok(const char *h)
{
	if (!*h || strlen(h) > 253)
		return false;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' || *h == '_' || *h == ':' ||
		      *h == '%'))
			return false;
	return true;
}

/* "host", "host:port", "[v6]" or "[v6]:port" into host and port. */
static int sftp_parse_hostport(struct sftp_transport *s, const char *p, size_t n)
{
	const char *end = p + n, *colon;
	unsigned long port = SFTP_DEFAULT_PORT;

	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);

		if (!close || (close + 1 != end && close[1] != ':'))
			return -EINVAL;
		s->host = mem_strndup(p + 1, (size_t)(close - p - 1));
		colon = close + 1 != end ? close + 1 : NULL;
	} else {
		colon = memchr(p, ':', n);
		s->host = mem_strndup(p, colon ? (size_t)(colon - p) : n);
	}
	if (!s->host)
		return -ENOMEM;
	if (!sftp_host_ok(s->host) || (p[0] != '[' && strchr(s->host, ':')))
		return -EINVAL;
	if (colon) {
		char *e;

		if (colon + 1 == end || colon[1] < '0' || colon[1] > '9')
			return -EINVAL;
		port = strtoul(colon + 1, &e, 10);
		if (e != end || port == 0 || port > 65535)
			return -EINVAL;
	}
	s->port = (unsigned)port;
	return 0;
}

static int sftp_login_name(char **out)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *u = pw ? pw->pw_name : getenv("USER");

	*out = NULL;
	if (!u)
		return -EINVAL;
	*out = mem_strdup(u);
	return *out ? 0 : -ENOMEM;
}

/* Fills user, host, port and root from url; -EINVAL with a message if it
 * is not an sftp URL ferry can use. */
static int sftp_parse_url(struct sftp_transport *s, const char *url)
{
	const char *auth = url + 7, *slash, *at = NULL, *host, *end;
	size_t plen;
	int r;

	if (strncasecmp(url, "sftp://", 7) != 0)
		return err_set(-EINVAL, "%s: not an sftp:// URL", url);
	slash = strchr(auth, '/');
	end = slash ? slash : auth + strlen(auth);
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			at = q; /* the last '@': a user name may hold an escaped one */
	r = at ? sftp_unescape(&s->user, auth, (size_t)(at - auth)) : sftp_login_name(&s->user);
	if (r == 0 && (!*s->user || strchr(s->user, ':')))
		r = -EINVAL;
	if (r < 0)
		return err_set(r, "%s: %s", url,
			       r == -ENOMEM ? "out of memory"
					    : "bad user name (no passwords in URLs: keys only)");
	host = at ? at + 1 : auth;
	r = sftp_parse_hostport(s, host, (size_t)(end - host));
	if (r < 0)
		return err_set(r, "%s: %s", url, r == -ENOMEM ? "out of memory" : "bad host or port");
	r = slash ? sftp_unescape(&s->root, slash, strlen(slash))
		  : ((s->root = mem_strdup("")) ? 0 : -ENOMEM);
	if (r < 0)
		return err_set(r, "%s: %s", url, r == -ENOMEM ? "out of memory" : "bad path");
	if (strncmp(s->root, "/~", 2) == 0 && (s->root[2] == '/' || s->root[2] == '\0')) {
		size_t skip = s->root[2] ? 3 : 2;

		memmove(s->root, s->root + skip, strlen(s->root) - skip + 1);
	}
	for (plen = strlen(s->root); plen > 1 && s->root[plen - 1] == '/'; plen--)
		s->root[plen - 1] = '\0';
	return 0;
}

/* A relative repository path: no leading '/', no empty, "." or ".."
 * segment, no control bytes.  An empty one (the root) only if allowed. */
static bool sftp_path_ok(const char *path, bool empty_ok)
{
	size_t n = strlen(path), seg = 0;

	if (n == 0)
		return empty_ok;
	if (n > LIMIT_PATH_BYTES)
		return false;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '/' || c == '\0') {
			size_t len = i - seg;
			const char *p = path + seg;

			if (len == 0 || (len == 1 && p[0] == '.') ||
			    (len == 2 && p[0] == '.' && p[1] == '.'))
				return false;
			seg = i + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	return true;
}

/* Sets s->path to the remote name of rel. */
static int sftp_remote(struct sftp_transport *s, const char *rel, bool empty_ok)
{
	int r = 0;

	if (!sftp_path_ok(rel, empty_ok))
		return sftp_fail(s, -EINVAL, "%s: \"%s\" is not a relative repository path", s->shown,
				 rel);
	buf_reset(&s->path);
	if (s->root[0])
		r = buf_append_str(&s->path, s->root);
	if (r >= 0 && s->root[0] && rel[0] && strcmp(s->root, "/") != 0)
		r = buf_append_byte(&s->path, '/');
	if (r >= 0)
		r = buf_append_str(&s->path, rel);
	if (r >= 0 && s->path.len == 0)
		r = buf_append_byte(&s->path, '.');
	if (r < 0)
		return sftp_fail(s, r, "%s: path too long", s->shown);
	return 0;
}

/* ---- errors ------------------------------------------------------------- */

/* An SFTP status for the request on s->path. */
static int sftp_status_error(struct sftp_transport *s, const char *what)
{
	unsigned long fx = libssh2_sftp_last_error(s->sftp);
	const char *p = buf_str(&s->path);

	switch (fx) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return sftp_fail(s, -ENOENT, "%s: %s: no such file", s->shown, p);
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		return sftp_fail(s, -EACCES, "%s: %s: permission denied", s->shown, p);
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return sftp_fail(s, -ENOTDIR, "%s: %s: not a folder", s->shown, p);
	case LIBSSH2_FX_NO_CONNECTION:
	case LIBSSH2_FX_CONNECTION_LOST:
		s->broken = true;
		return sftp_fail(s, -ECONNRESET, "%s: %s: connection lost", s->shown, p);
	case LIBSSH2_FX_BAD_MESSAGE:
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return sftp_fail(s, -EPROTO, "%s: %s: the server refused to %s (SFTP status %lu)",
				 s->shown, p, what, fx);
	default:
		return sftp_fail(s, -EIO, "%s: %s: cannot %s (SFTP status %lu)", s->shown, p, what,
				 fx);
	}
}

static int sftp_ssh_code(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return -ETIMEDOUT;
	case LIBSSH2_ERROR_ALLOC:
		return -ENOMEM;
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_DECRYPT:
		return -ECONNRESET;
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_HOSTKEY_INIT:
	case LIBSSH2_ERROR_HOSTKEY_SIGN:
	case LIBSSH2_ERROR_METHOD_NONE:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
	case LIBSSH2_ERROR_CHANNEL_OUTOFORDER:
	case LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_REQUEST_DENIED:
	case LIBSSH2_ERROR_OUT_OF_BOUNDARY:
	case LIBSSH2_ERROR_BUFFER_TOO_SMALL:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* A libssh2 failure rc while doing `what`; every one but an SFTP status
 * leaves the session unusable. */
static int sftp_ssh_error(struct sftp_transport *s, int rc, const char *what)
{
	char *msg = NULL;

	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && s->sftp)
		return sftp_status_error(s, what);
	s->broken = true;
	if (s->session)
		libssh2_session_last_error(s->session, &msg, NULL, 0);
	return sftp_fail(s, sftp_ssh_code(rc), "%s: %s: %s", s->shown, what,
			 msg && *msg ? msg : "link failed");
}

/* ---- connecting --------------------------------------------------------- */

static int sftp_connect_errno(struct sftp_transport *s, int e)
{
	if (e == ETIMEDOUT)
		return sftp_fail(s, -ETIMEDOUT, "%s: connect timed out after %u s", s->shown,
				 s->connect_s);
	if (e == ENETUNREACH || e == EHOSTUNREACH || e == EADDRNOTAVAIL || e == ENETDOWN ||
	    e == EAFNOSUPPORT)
		return sftp_fail(s, -EHOSTUNREACH, "%s: no route to the server (%s)", s->shown,
				 strerror(e));
	return sftp_fail(s, -ECONNREFUSED, "%s: cannot connect (%s)", s->shown, strerror(e));
}

/* One address, non-blocking connect bounded by deadline_ms; 0 or an errno. */
static int sftp_try_connect(int *fd_out, const struct addrinfo *ai, uint64_t deadline_ms)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int e = 0, one = 1;
	socklen_t el = sizeof(e);

	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t now = sftp_now_ms();
		int n;

		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			return e;
		}
		do
			n = poll(&p, 1, now < deadline_ms ? (int)(deadline_ms - now) : 0);
		while (n < 0 && errno == EINTR && (now = sftp_now_ms()) < deadline_ms);
		if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			close(fd);
			return n == 0 ? ETIMEDOUT : e ? e : errno;
		}
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	*fd_out = fd;
	return 0;
}

static int sftp_tcp_connect(struct sftp_transport *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	uint64_t deadline = sftp_now_ms() + (uint64_t)s->connect_s * 1000u;
	char port[8];
	int r, e = ECONNREFUSED;

	snprintf(port, sizeof(port), "%u", s->port);
	r = getaddrinfo(s->host, port, &hints, &res);
	if (r != 0)
		return sftp_fail(s, r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH, "%s: %s", s->shown,
				 gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		e = sftp_try_connect(&s->fd, ai, deadline);
		if (e == 0 || sftp_now_ms() >= deadline)
			break;
	}
	freeaddrinfo(res);
	return e ? sftp_connect_errno(s, e) : 0;
}

/* ---- the host key ------------------------------------------------------- */

static int sftp_key_kind(int type, const char **name)
{
	static const struct {
		int type, bits;
		const char *name;
	} kinds[] = {
		{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519" },
		{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256" },
		{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384" },
		{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521" },
		{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa" },
		{ LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].type == type) {
			*name = kinds[i].name;
			return kinds[i].bits;
		}
	*name = "unknown";
	return -1;
}

/* "SHA256:<base64 without padding>", as ssh-keygen -l prints it. */
static void sftp_fingerprint(struct sftp_transport *s, char *out, size_t n)
{
	const char *h = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	struct buf b;

	snprintf(out, n, "SHA256:?");
	buf_init(&b, 64);
	if (h && base64_encode(&b, h, 32) >= 0) {
		while (b.len && b.data[b.len - 1] == '=')
			b.data[--b.len] = '\0';
		snprintf(out, n, "SHA256:%s", buf_str(&b));
	}
	buf_release(&b);
}

/* The host as known_hosts and ssh-keygen -R name it. */
static void sftp_host_label(const struct sftp_transport *s, char *out, size_t n)
{
	if (s->port == SFTP_DEFAULT_PORT)
		snprintf(out, n, "%s", s->host);
	else
		snprintf(out, n, "[%s]:%u", s->host, s->port);
}

/* Feeds known_hosts to libssh2 line by line: a line it cannot parse (a
 * key type it does not know, a @cert-authority) is skipped rather than
 * failing the whole file, but a @revoked line is a promise ferry cannot
 * keep, so it refuses instead. */
static int sftp_known_load(struct sftp_transport *s, LIBSSH2_KNOWNHOSTS *kh, const struct buf *f)
{
	const char *p = (const char *)f->data, *end = p + f->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (e - p >= 8 && strncmp(p, "@revoked", 8) == 0)
			return sftp_fail(s, -EKEYREJECTED,
					 "%s: %s has @revoked lines, which ferry cannot check; refusing",
					 s->shown, s->known_hosts);
		/* With its newline: libssh2 1.10 peeks one byte past the length
		 * it is given for one (the buffer is NUL-terminated at the end). */
		if (p < e && *p != '#' && *p != '@')
			(void)libssh2_knownhost_readline(kh, p, (size_t)(e - p) + (nl ? 1 : 0),
							 LIBSSH2_KNOWNHOST_FILE_OPENSSH);
		p = e + 1;
	}
	return 0;
}

static int sftp_key_verdict(struct sftp_transport *s, int check, const char *kname)
{
	char label[300], fp[64];

	sftp_host_label(s, label, sizeof(label));
	sftp_fingerprint(s, fp, sizeof(fp));
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return sftp_fail(s, -EKEYREJECTED,
				 "host key of %s CHANGED (now %s %s): possible attack; if the server "
				 "was reinstalled, confirm the key, then ssh-keygen -R '%s' -f %s",
				 label, kname, fp, label, s->known_hosts);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return sftp_fail(s, -EKEYREJECTED,
				 "%s is not in %s (it offers %s %s): confirm that key with its admin, "
				 "then add it (ssh-keyscan -p %u %s)",
				 label, s->known_hosts, kname, fp, s->port, s->host);
	default:
		return sftp_fail(s, -EKEYREJECTED, "%s: cannot check its host key against %s", label,
				 s->known_hosts);
	}
}

static int sftp_check_host(struct sftp_transport *s)
{
	size_t klen = 0;
	int ktype = 0, bits, r;
	const char *key = libssh2_session_hostkey(s->session, &klen, &ktype), *kname;
	LIBSSH2_KNOWNHOSTS *kh;
	struct buf f;

	bits = sftp_key_kind(ktype, &kname);
	if (!key || bits < 0)
		return sftp_fail(s, -EKEYREJECTED, "%s: host key of a kind ferry cannot check",
				 s->shown);
	buf_init(&f, LIMIT_KNOWN_HOSTS_BYTES);
	r = fs_read_file(&f, s->known_hosts, LIMIT_KNOWN_HOSTS_BYTES);
	if (r < 0) {
		buf_release(&f);
		return sftp_fail(s, r == -ENOMEM ? r : -EKEYREJECTED,
				 "%s: cannot read known_hosts %s (%s)", s->shown, s->known_hosts,
				 strerror(-r));
	}
	kh = libssh2_knownhost_init(s->session);
	r = kh ? sftp_known_load(s, kh, &f) : sftp_fail(s, -ENOMEM, "%s: out of memory", s->shown);
	buf_release(&f);
	if (r >= 0)
		r = sftp_key_verdict(s, libssh2_knownhost_checkp(kh, s->host, (int)s->port, key, klen,
							 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
								 LIBSSH2_KNOWNHOST_KEYENC_RAW | bits,
							 NULL),
				     kname);
	if (kh)
		libssh2_knownhost_free(kh);
	return r;
}

/* ---- the session -------------------------------------------------------- */

static int sftp_auth(struct sftp_transport *s)
{
	int rc;

	if (access(s->identity, R_OK) != 0)
		return sftp_fail(s, -EACCES, "%s: cannot read the identity %s (%s)", s->shown,
				 s->identity, strerror(errno));
	rc = libssh2_userauth_publickey_fromfile_ex(s->session, s->user, (unsigned)strlen(s->user),
						    NULL, s->identity, NULL);
	if (rc == 0)
		return 0;
	if (rc == LIBSSH2_ERROR_FILE)
		return sftp_fail(s, -EACCES,
				 "%s: cannot load the identity %s (an unencrypted OpenSSH key is "
				 "needed)",
				 s->shown, s->identity);
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		return sftp_fail(s, -EACCES, "%s: the server refused the key %s for %s", s->shown,
				 s->identity, s->user);
	return sftp_ssh_error(s, rc, "log in");
}

/* Host key algorithms this libssh2 offers, ed25519 first, without
 * certificates (known_hosts holds keys) or DSA.  Built from what it
 * supports because handing it a name it lacks trips a bug of 1.10. */
static int sftp_hostkey_pref(struct sftp_transport *s)
{
	const char **algs = NULL;
	struct buf b;
	int n, r = 0;

	n = libssh2_session_supported_algs(s->session, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n <= 0)
		return 0; /* keep libssh2's own order */
	buf_init(&b, 4096);
	for (int pass = 0; pass < 2 && r >= 0; pass++)
		for (int i = 0; i < n && r >= 0; i++) {
			bool ed = strcmp(algs[i], "ssh-ed25519") == 0;

			if ((pass == 0) != ed || strstr(algs[i], "-cert-") ||
			    strcmp(algs[i], "ssh-dss") == 0)
				continue;
			if (b.len)
				r = buf_append_byte(&b, ',');
			if (r >= 0)
				r = buf_append_str(&b, algs[i]);
		}
	libssh2_free(s->session, algs);
	if (r >= 0 && b.len &&
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY, buf_str(&b)) != 0)
		r = -ENOMEM;
	buf_release(&b);
	return r < 0 ? sftp_fail(s, r, "%s: cannot set host key preferences", s->shown) : 0;
}

static int sftp_session_start(struct sftp_transport *s)
{
	int rc;

	/* libssh2 keeps its own allocator: routed through mem_*(), injected
	 * failures showed 1.10 leaking on its error paths, which ferry cannot
	 * fix; failure injection covers this file's allocations only. */
	s->session = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (!s->session)
		return sftp_fail(s, -ENOMEM, "%s: out of memory", s->shown);
	libssh2_session_set_blocking(s->session, 1);
	libssh2_session_set_timeout(s->session, (long)s->connect_s * 1000L);
	rc = sftp_hostkey_pref(s);
	if (rc < 0)
		return rc;
	rc = libssh2_session_handshake(s->session, s->fd);
	if (rc)
		return sftp_ssh_error(s, rc, "SSH handshake");
	rc = sftp_check_host(s);
	if (rc < 0)
		return rc;
	rc = sftp_auth(s);
	if (rc < 0)
		return rc;
	s->sftp = libssh2_sftp_init(s->session);
	if (!s->sftp)
		return sftp_ssh_error(s, libssh2_session_last_errno(s->session), "start SFTP");
	libssh2_session_set_timeout(s->session, (long)s->slow_s * 1000L);
	return 0;
}

static void sftp_handle_close(struct sftp_transport *s, LIBSSH2_SFTP_HANDLE *h)
{
	/* On a failed link, shutting the socket makes the close fail fast
	 * (libssh2 frees the handle either way). */
	if (s->broken && s->fd >= 0)
		(void)shutdown(s->fd, SHUT_RDWR);
	(void)libssh2_sftp_close_handle(h);
}

/* Closes the file kept open by the last read, if any. */
static void sftp_file_drop(struct sftp_transport *s)
{
	if (s->file)
		sftp_handle_close(s, s->file);
	s->file = NULL;
	mem_free(s->file_path);
	s->file_path = NULL;
}

/* Drops the session.  After a link failure nothing waits for the peer: the
 * socket is shut first, so every goodbye fails at once. */
static void sftp_disconnect(struct sftp_transport *s)
{
	sftp_file_drop(s);
	if (s->broken && s->fd >= 0)
		(void)shutdown(s->fd, SHUT_RDWR);
	if (s->sftp)
		(void)libssh2_sftp_shutdown(s->sftp);
	if (s->session) {
		if (!s->broken)
			(void)libssh2_session_disconnect(s->session, "ferry is done");
		(void)libssh2_session_free(s->session);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->sftp = NULL;
	s->session = NULL;
	s->fd = -1;
	s->broken = false;
}

static int sftp_connect(struct sftp_transport *s)
{
	int r = sftp_tcp_connect(s);

	if (r >= 0)
		r = sftp_session_start(s);
	if (r < 0) {
		s->broken = true;
		sftp_disconnect(s);
	}
	return r;
}

/* A live session for the next request: reconnects after a link failure. */
static int sftp_ready(struct sftp_transport *s)
{
	if (s->sftp && !s->broken)
		return 0;
	sftp_disconnect(s);
	return sftp_connect(s);
}

/* ---- the operations ----------------------------------------------------- */

static int sftp_size(struct transport *t, const char *path, uint64_t *out)
{
	struct sftp_transport *s = (struct sftp_transport *)t;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int r, rc;

	r = sftp_remote(s, path, false);
	if (r >= 0)
		r = sftp_ready(s);
	if (r < 0)
		return r;
	sftp_file_drop(s);
	rc = libssh2_sftp_stat_ex(s->sftp, buf_str(&s->path), (unsigned)s->path.len,
				  LIBSSH2_SFTP_STAT, &a);
	if (rc)
		return sftp_ssh_error(s, rc, "stat");
	if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions))
		return sftp_fail(s, -EISDIR, "%s: %s: a folder, not a file", s->shown,
				 buf_str(&s->path));
	if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE))
		return sftp_fail(s, -EPROTO, "%s: %s: the server does not say its size", s->shown,
				 buf_str(&s->path));
	*out = a.filesize;
	return 0;
}

/* Fails a transfer that moved fewer than slow_bytes/s over a window of
 * slow_s seconds (a total stall is libssh2's timeout). */
struct sftp_pace {
	uint64_t since_ms, bytes;
};

static int sftp_pace_check(struct sftp_transport *s, struct sftp_pace *pc, size_t n)
{
	uint64_t now = sftp_now_ms(), window = (uint64_t)s->slow_s * 1000u;

	pc->bytes += n;
	if (now - pc->since_ms < window)
		return 0;
	if (pc->bytes < (uint64_t)s->slow_bytes * s->slow_s) {
		s->broken = true;
		return sftp_fail(s, -ETIMEDOUT, "%s: %s: slower than %u B/s for %u s", s->shown,
				 buf_str(&s->path), s->slow_bytes, s->slow_s);
	}
	pc->since_ms = now;
	pc->bytes = 0;
	return 0;
}

static int sftp_read_loop(struct sftp_transport *s, LIBSSH2_SFTP_HANDLE *h, uint64_t len,
			  transport_sink_fn sink, void *ctx)
{
	struct sftp_pace pc = { .since_ms = sftp_now_ms() };
	uint64_t done = 0;
	int r;

	while (done < len) {
		uint64_t left = len - done;
		size_t want = SFTP_READ_BYTES;
		ssize_t n;

		/* libssh2 asks ahead for four buffers' worth: near the end of
		 * the range, a quarter of what is left keeps it inside. */
		if (left < 4u * (uint64_t)SFTP_READ_BYTES)
			want = (size_t)((left + 3) / 4);
		n = libssh2_sftp_read(h, s->rbuf, want);
		if (n < 0) {
			char why[sizeof(s->base.detail)];

			r = sftp_ssh_error(s, (int)n, "read");
			memcpy(why, s->base.detail, sizeof(why));
			return sftp_fail(s, r, "%s (after %llu of %llu bytes)", why,
					 (unsigned long long)done, (unsigned long long)len);
		}
		if (n == 0)
			return sftp_fail(s, -EBADMSG, "%s: %s: the file ended after %llu of %llu bytes",
					 s->shown, buf_str(&s->path), (unsigned long long)done,
					 (unsigned long long)len);
		r = sink(s->rbuf, (size_t)n, ctx);
		if (r < 0)
			return r;
		done += (uint64_t)n;
		r = sftp_pace_check(s, &pc, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Opens s->path for reading, or keeps the handle of the last read if it
 * was of the same file and recent: reads of one pack in a row then cost
 * one round trip each instead of three (open, read, close).  Such reads
 * see the file as it was when first opened; size and list close it, so a
 * fetch (size, then read) always opens afresh. */
static int sftp_file_open(struct sftp_transport *s)
{
	if (s->file && strcmp(s->file_path, buf_str(&s->path)) == 0 &&
	    sftp_now_ms() - s->file_used_ms < SFTP_FILE_KEEP_MS)
		return 0;
	sftp_file_drop(s);
	s->file_path = mem_strdup(buf_str(&s->path));
	if (!s->file_path)
		return sftp_fail(s, -ENOMEM, "%s: out of memory", s->shown);
	s->file = libssh2_sftp_open_ex(s->sftp, s->file_path, (unsigned)s->path.len,
				       LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (!s->file) {
		mem_free(s->file_path);
		s->file_path = NULL;
		return sftp_ssh_error(s, libssh2_session_last_errno(s->session), "open");
	}
	return 0;
}

static int sftp_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx)
{
	struct sftp_transport *s = (struct sftp_transport *)t;
	int r;

	r = sftp_remote(s, path, false);
	if (r < 0 || len == 0)
		return r;
	if (len > UINT64_MAX - off)
		return sftp_fail(s, -EINVAL, "%s: %s: range past 2^64", s->shown, path);
	r = sftp_ready(s);
	if (r >= 0)
		r = sftp_file_open(s);
	if (r < 0)
		return r;
	libssh2_sftp_seek64(s->file, off);
	r = sftp_read_loop(s, s->file, len, sink, ctx);
	if (s->broken)
		sftp_file_drop(s);
	s->file_used_ms = sftp_now_ms();
	return r;
}

/* One directory entry: refuses names no real file system would hand out. */
static int sftp_list_entry(struct sftp_transport *s, const char *name, size_t n,
			   int (*fn)(const char *name, void *ctx), void *ctx)
{
	if (n == 0 || strlen(name) != n || memchr(name, '/', n))
		return sftp_fail(s, -EPROTO, "%s: %s: the server listed a bad name", s->shown,
				 buf_str(&s->path));
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	return fn(name, ctx);
}

static int sftp_list(struct transport *t, const char *dir,
		     int (*fn)(const char *name, void *ctx), void *ctx)
{
	struct sftp_transport *s = (struct sftp_transport *)t;
	char name[LIMIT_NAME_BYTES + 1];
	LIBSSH2_SFTP_ATTRIBUTES a;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned long entries = 0;
	int r, n;

	r = sftp_remote(s, dir, true);
	if (r >= 0)
		r = sftp_ready(s);
	if (r < 0)
		return r;
	sftp_file_drop(s);
	h = libssh2_sftp_open_ex(s->sftp, buf_str(&s->path), (unsigned)s->path.len, 0, 0,
				 LIBSSH2_SFTP_OPENDIR);
	if (!h)
		return sftp_ssh_error(s, libssh2_session_last_errno(s->session), "open the folder");
	while ((n = libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL, 0, &a)) > 0) {
		if (++entries > LIMIT_LIST_ENTRIES) {
			r = sftp_fail(s, -EFBIG, "%s: %s: more than %u entries", s->shown,
				      buf_str(&s->path), LIMIT_LIST_ENTRIES);
			break;
		}
		r = sftp_list_entry(s, name, (size_t)n, fn, ctx);
		if (r < 0)
			break;
	}
	if (n == LIBSSH2_ERROR_BUFFER_TOO_SMALL)
		r = sftp_fail(s, -EFBIG, "%s: %s: a name longer than %u bytes", s->shown,
			      buf_str(&s->path), LIMIT_NAME_BYTES);
	else if (n < 0)
		r = sftp_ssh_error(s, n, "list the folder");
	sftp_handle_close(s, h);
	return r < 0 ? r : 0;
}

static bool sftp_handles(const char *url)
{
	return strncasecmp(url, "sftp://", 7) == 0;
}

static void sftp_close(struct transport *t)
{
	struct sftp_transport *s = (struct sftp_transport *)t;

	if (!s)
		return;
	sftp_disconnect(s);
	buf_release(&s->path);
	mem_free(s->rbuf);
	mem_free(s->user);
	mem_free(s->host);
	mem_free(s->root);
	mem_free(s->known_hosts);
	mem_free(s->identity);
	mem_free(s->shown);
	mem_free(s);
}

/* opt if set, else ~/.ssh/<name>. */
static char *sftp_ssh_file(const char *opt, const char *name)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *dir, *path;

	if (opt)
		return mem_strdup(opt);
	if (!home || !*home) {
		pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : "/";
	}
	dir = fs_join(home, ".ssh");
	path = dir ? fs_join(dir, name) : NULL;
	mem_free(dir);
	return path;
}

/* Everything open needs but the connection. */
static int sftp_setup(struct sftp_transport *s, const char *url, const struct transport_opts *o)
{
	struct buf b;
	bool v6;
	int r;

	r = sftp_parse_url(s, url);
	if (r < 0)
		return r;
	s->connect_s = o && o->connect_timeout_s ? o->connect_timeout_s : SFTP_CONNECT_TIMEOUT_S;
	s->slow_s = o && o->low_speed_time_s ? o->low_speed_time_s : SFTP_LOW_SPEED_TIME_S;
	s->slow_bytes = o && o->low_speed_bytes ? o->low_speed_bytes : SFTP_LOW_SPEED_BYTES;
	s->known_hosts = sftp_ssh_file(o ? o->known_hosts : NULL, "known_hosts");
	s->identity = sftp_ssh_file(o ? o->identity : NULL, "id_ed25519");
	s->rbuf = mem_alloc(SFTP_READ_BYTES);
	buf_init(&b, LIMIT_PATH_BYTES);
	v6 = strchr(s->host, ':') != NULL;
	r = buf_printf(&b, "sftp://%s@%s%s%s:%u", s->user, v6 ? "[" : "", s->host, v6 ? "]" : "",
		       s->port);
	s->shown = r >= 0 ? (char *)buf_detach(&b, NULL) : NULL;
	buf_release(&b);
	if (!s->known_hosts || !s->identity || !s->rbuf || !s->shown)
		return err_set(-ENOMEM, "%s: out of memory", url);
	return 0;
}

static int sftp_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	struct sftp_transport *s;
	int r;

	*out = NULL;
	pthread_once(&sftp_once, sftp_global_init);
	if (sftp_init_rc != 0)
		return err_set(-ENOMEM, "libssh2 did not initialize (%d)", sftp_init_rc);
	s = mem_calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "%s: out of memory", url);
	s->base.ops = &transport_sftp_ops;
	s->fd = -1;
	buf_init(&s->path, LIMIT_PATH_BYTES * 2 + 16);
	r = sftp_setup(s, url, o);
	if (r >= 0)
		r = sftp_connect(s);
	if (r < 0) {
		sftp_close(&s->base);
		return r;
	}
	*out = &s->base;
	return 0;
}

const struct transport_ops transport_sftp_ops = {
	.version = TRANSPORT_OPS_VERSION,
	.name = "sftp",
	.handles = sftp_handles,
	.open = sftp_open,
	.close = sftp_close,
	.size = sftp_size,
	.read = sftp_read,
	.list = sftp_list,
};

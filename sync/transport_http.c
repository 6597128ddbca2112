/*
 * transport_http.c — repositories on any static web server, over http://
 * and https://, through libcurl (the only file that includes curl.h).
 *
 * One curl easy handle per transport, reused for every request, so
 * requests to one mirror share a kept-alive connection (and a TLS
 * session).  size is a HEAD (or, where HEAD is refused or says nothing, a
 * GET of bytes 0-0 read back from Content-Range); read is one GET with a
 * single Range.  Nothing in a response is trusted on its word: the bytes
 * delivered are counted here, a 206 must start where it was asked to, and
 * a body longer or shorter than the range is reported after what lay in
 * range was delivered.  A server or CDN that ignores Range answers 200
 * with the whole file: then the first off bytes are read and thrown away,
 * len bytes are delivered and the connection is dropped — a read at offset
 * off from such a server costs off + len bytes of link, and a new
 * connection afterwards (see docs/transports.md).  An error page is never
 * delivered as data.
 *
 * Link settings come from transport_opts: connect timeout (default 30 s)
 * and a low-speed abort (default: below 1 B/s for 60 s), generous because
 * a satellite hop adds most of a second per round trip.  TLS is verified
 * against the system CAs (plus ca_file where a county runs a private CA);
 * only insecure_tls turns that off.  Redirects are followed up to
 * LIMIT_HTTP_REDIRECTS hops, to http(s) only, and never from https down to
 * plain http.  Paths are relative repository paths; every byte outside
 * [A-Za-z0-9-._~/] is percent-encoded, so names in any script work.
 *
 * Errors (libcurl's and HTTP's, translated here and nowhere else):
 *   404, 410                               -ENOENT
 *   401, 403                               -EACCES
 *   416, a body shorter than the range     -EBADMSG (the file there is shorter)
 *   408, 429, 5xx                          -EIO     (retry later)
 *   other statuses, a body past the range, a 206 at the wrong offset,
 *   a redirect loop                        -EPROTO
 *   certificate not trusted or wrong name  -EKEYREJECTED
 *   connection refused / no route or name  -ECONNREFUSED / -EHOSTUNREACH
 *   too slow, or connect timed out         -ETIMEDOUT
 *   connection reset or cut mid-body       -ECONNRESET
 * The transport owns its struct transport except base.url, which the
 * registry (transport.c) sets and frees;
 * base.detail the last error line (also left with err_set()).
 */
#include "sync/transport.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/mem.h"

#define HTTP_CONNECT_TIMEOUT_S 30L
#define HTTP_LOW_SPEED_TIME_S 60L
#define HTTP_LOW_SPEED_BYTES 1L
#define HTTP_RECV_BUFFER (128L << 10)
#define HTTP_UNKNOWN UINT64_MAX
/* Bodies read only to keep the connection alive (error pages, the byte of a
 * size probe) are read up to this much; a longer one drops the connection. */
#define HTTP_DISCARD_MAX (64u << 10)

struct http_transport {
	struct transport base; /* first: the registry hands this back to close */
	CURL *easy;
	char *prefix; /* base URL without trailing '/' */
	char *shown;  /* the same without user:password, for messages */
	struct buf url;
	char curl_err[CURL_ERROR_SIZE];
};

enum http_mode { HTTP_READ, HTTP_SIZE };

/* One request: what was asked, and what the response has said so far. */
struct http_req {
	struct http_transport *h;
	const char *path;
	enum http_mode mode;
	uint64_t off, len; /* asked: [off, off + len) */
	transport_sink_fn sink;
	void *ctx;
	/* Content-Range of the last response (a redirect's is forgotten). */
	bool have_range;
	uint64_t range_first, range_last, range_total; /* HTTP_UNKNOWN: '*' */
	/* The body. */
	bool started;
	long status;
	uint64_t skip;     /* bytes of the body still before off */
	uint64_t declared; /* body length a 206 declared in Content-Range */
	uint64_t received; /* body bytes seen */
	uint64_t delivered;
	bool done; /* stopped on purpose: nothing more is wanted */
	int rc;    /* an error decided inside a callback */
	uint64_t size;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int http_fail(struct http_transport *h, int code, const char *fmt, ...)
	FERRY_PRINTF(3, 4);

static int http_fail(struct http_transport *h, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->base.detail, sizeof(h->base.detail), fmt, ap);
	va_end(ap);
	return err_set(code, "%s", h->base.detail);
}

/* A relative repository path: no leading '/', no empty, "." or ".."
 * segment, no control bytes. */
static bool http_path_ok(const char *path)
{
	size_t n = strlen(path), seg = 0;

	if (n == 0 || n > LIMIT_PATH_BYTES)
		return false;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '/' || c == '\0') {
			size_t len = i - seg;
			const char *s = path + seg;

			if (len == 0 || (len == 1 && s[0] == '.') ||
			    (len == 2 && s[0] == '.' && s[1] == '.'))
				return false;
			seg = i + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	return true;
}

static bool http_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

/* Points the handle at prefix/path, path percent-encoded. */
static int http_set_url(struct http_transport *h, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	if (!http_path_ok(path))
		return http_fail(h, -EINVAL, "%s: \"%s\" is not a relative repository path",
				 h->shown, path);
	buf_reset(&h->url);
	r = buf_append_str(&h->url, h->prefix);
	if (r >= 0)
		r = buf_append_byte(&h->url, '/');
	for (const unsigned char *p = (const unsigned char *)path; *p && r >= 0; p++) {
		if (http_unreserved(*p)) {
			r = buf_append_byte(&h->url, *p);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			r = buf_append(&h->url, esc, sizeof(esc));
		}
	}
	if (r < 0)
		return http_fail(h, r, "%s/%s: URL too long", h->shown, path);
	if (curl_easy_setopt(h->easy, CURLOPT_URL, buf_str(&h->url)) != CURLE_OK)
		return http_fail(h, -ENOMEM, "%s/%s: cannot set the URL", h->shown, path);
	return 0;
}

/* Decimal digits at *p (before end) into out; false on none or overflow. */
static bool http_parse_u64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return false;
	*p = s;
	*out = v;
	return true;
}

/* "Content-Range: bytes FIRST-LAST/TOTAL" (TOTAL may be '*'), or the
 * "bytes * /TOTAL" of a 416.  Anything else leaves have_range false. */
static void http_parse_content_range(struct http_req *q, const char *s, const char *end)
{
	uint64_t first = HTTP_UNKNOWN, last = HTTP_UNKNOWN, total = HTTP_UNKNOWN;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (end - s < 6 || strncasecmp(s, "bytes ", 6) != 0)
		return;
	s += 6;
	if (s < end && *s == '*') {
		s++;
	} else if (!http_parse_u64(&s, end, &first) || s >= end || *s++ != '-' ||
		   !http_parse_u64(&s, end, &last) || last < first) {
		return;
	}
	if (s >= end || *s++ != '/')
		return;
	if (s < end && *s == '*')
		s++;
	else if (!http_parse_u64(&s, end, &total) || (last != HTTP_UNKNOWN && last >= total))
		return;
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	if (s != end || (first == HTTP_UNKNOWN && total == HTTP_UNKNOWN))
		return;
	q->have_range = true;
	q->range_first = first;
	q->range_last = last;
	q->range_total = total;
}

static size_t http_on_header(char *p, size_t size, size_t n, void *ud)
{
	static const char name[] = "content-range:";
	struct http_req *q = ud;
	size_t len = size * n;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		q->have_range = false; /* a new response: forget a redirect's headers */
	else if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0)
		http_parse_content_range(q, p + sizeof(name) - 1, p + len);
	return len;
}

/* Decides, at the first body byte, what this body is. */
static int http_body_start(struct http_req *q)
{
	struct http_transport *h = q->h;
	curl_off_t cl = -1;

	q->started = true;
	if (curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &q->status) != CURLE_OK)
		return http_fail(h, -EPROTO, "%s/%s: no status", h->shown, q->path);
	if (q->status < 200 || q->status > 299)
		return 0; /* an error page: never data; the status says why */
	if (q->status == 206) {
		if (!q->have_range || q->range_first == HTTP_UNKNOWN)
			return http_fail(h, -EPROTO, "%s/%s: a 206 without a Content-Range", h->shown,
					 q->path);
		if (q->range_first > q->off)
			return http_fail(h, -EPROTO, "%s/%s: a 206 from byte %llu when %llu was asked",
					 h->shown, q->path, (unsigned long long)q->range_first,
					 (unsigned long long)q->off);
		/* A range that starts early (a server rounding ranges) is trimmed. */
		q->skip = q->off - q->range_first;
		q->declared = q->range_last - q->range_first + 1;
		if (q->mode == HTTP_SIZE) {
			if (q->range_total == HTTP_UNKNOWN)
				return http_fail(h, -EPROTO, "%s/%s: the server does not say its size",
						 h->shown, q->path);
			q->size = q->range_total;
		}
		return 0;
	}
	if (q->status != 200)
		return http_fail(h, -EPROTO, "%s/%s: unexpected HTTP %ld", h->shown, q->path,
				 q->status);
	/* The server ignored Range and sends the whole file. */
	q->skip = q->off;
	if (curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
	    cl >= 0)
		q->declared = (uint64_t)cl;
	if (q->mode == HTTP_SIZE && q->declared != HTTP_UNKNOWN) {
		q->size = q->declared;
		q->done = true;
	}
	return 0;
}

/* The size of a file from a server that answered 200 without a length:
 * the body itself is counted, up to LIMIT_FILE_BYTES. */
static size_t http_body_count(struct http_req *q, size_t n)
{
	q->size += n;
	if (q->size > LIMIT_FILE_BYTES) {
		q->rc = http_fail(q->h, -EFBIG, "%s/%s: larger than %llu bytes", q->h->shown,
				  q->path, (unsigned long long)LIMIT_FILE_BYTES);
		return 0;
	}
	return n;
}

/* Hands the in-range part of a body chunk to the sink.  The body may be
 * longer than asked (a whole file, a rounded range): the rest is not read.
 * It may not be longer than it said it was. */
static size_t http_body_deliver(struct http_req *q, const char *p, size_t n)
{
	size_t total = n;
	uint64_t want;
	int r;

	if (q->declared != HTTP_UNKNOWN && n > q->declared - q->received) {
		q->rc = http_fail(q->h, -EPROTO,
				  "%s/%s: the body runs past the %llu bytes its Content-Range declared",
				  q->h->shown, q->path, (unsigned long long)q->declared);
		n = (size_t)(q->declared - q->received);
	}
	q->received += n;
	if (q->skip) {
		size_t k = q->skip < n ? (size_t)q->skip : n;

		q->skip -= k;
		p += k;
		n -= k;
	}
	want = q->len - q->delivered;
	if (n > want)
		n = (size_t)want;
	if (n > 0) {
		r = q->sink(p, n, q->ctx);
		if (r < 0) {
			q->rc = r;
			return 0;
		}
		q->delivered += n;
	}
	if (q->rc < 0)
		return 0;
	if (q->delivered == q->len && (q->declared == HTTP_UNKNOWN || q->received < q->declared)) {
		/* The rest of the body is not wanted: drop the connection rather
		 * than read it. */
		q->done = true;
		return 0;
	}
	return total;
}

static size_t http_on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_req *q = ud;
	size_t len = size * n;
	int r;

	if (!q->started) {
		r = http_body_start(q);
		if (r < 0) {
			q->rc = r;
			return 0;
		}
	}
	if (q->done)
		return 0;
	if (q->status != 200 && q->status != 206) {
		/* Read a short error page to keep the connection; not a long one. */
		q->received += len;
		q->done = q->received > HTTP_DISCARD_MAX;
		return q->done ? 0 : len;
	}
	if (q->mode == HTTP_SIZE) {
		if (q->status == 200)
			return http_body_count(q, len);
		q->received += len;
		q->done = q->received > HTTP_DISCARD_MAX;
		return q->done ? 0 : len;
	}
	return http_body_deliver(q, p, len);
}

static int http_status_error(struct http_transport *h, long status, const char *path)
{
	const char *s = h->shown;

	switch (status) {
	case 404:
	case 410:
		return http_fail(h, -ENOENT, "%s/%s: not found (HTTP %ld)", s, path, status);
	case 401:
	case 403:
		return http_fail(h, -EACCES, "%s/%s: access refused (HTTP %ld)", s, path, status);
	case 416:
		return http_fail(h, -EBADMSG, "%s/%s: the file there is shorter than asked (HTTP 416)",
				 s, path);
	case 408:
	case 429:
		return http_fail(h, -EIO, "%s/%s: the server is busy (HTTP %ld)", s, path, status);
	default:
		if (status >= 500 && status <= 599)
			return http_fail(h, -EIO, "%s/%s: server error (HTTP %ld)", s, path, status);
		return http_fail(h, -EPROTO, "%s/%s: unexpected HTTP %ld", s, path, status);
	}
}

/* A failed connect, by what the socket said. */
static int http_connect_error(struct http_transport *h, const char *path)
{
	long os = 0;

	(void)curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &os);
	if (os == ETIMEDOUT)
		return http_fail(h, -ETIMEDOUT, "%s/%s: connect timed out", h->shown, path);
	if (os == ENETUNREACH || os == EHOSTUNREACH || os == EADDRNOTAVAIL || os == ENETDOWN)
		return http_fail(h, -EHOSTUNREACH, "%s/%s: no route to the server (%s)", h->shown,
				 path, h->curl_err);
	return http_fail(h, -ECONNREFUSED, "%s/%s: connection refused (%s)", h->shown, path,
			 h->curl_err);
}

static int http_curl_error(struct http_transport *h, CURLcode rc, const struct http_req *q)
{
	const char *s = h->shown, *p = q->path, *why = h->curl_err[0] ? h->curl_err : "";
	unsigned long long got = q->delivered, want = q->len;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return http_fail(h, -EHOSTUNREACH, "%s/%s: unknown host (%s)", s, p, why);
	case CURLE_COULDNT_CONNECT:
		return http_connect_error(h, p);
	case CURLE_OPERATION_TIMEDOUT:
		return http_fail(h, -ETIMEDOUT, "%s/%s: timed out after %llu of %llu bytes (%s)", s,
				 p, got, want, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return http_fail(h, -EKEYREJECTED,
				 "%s: TLS certificate refused; if this mirror uses a private CA, "
				 "give its certificate as ca_file (%s)",
				 s, why);
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return http_fail(h, -EINVAL, "%s: cannot load the CA file (%s)", s, why);
	case CURLE_TOO_MANY_REDIRECTS:
		return http_fail(h, -EPROTO, "%s/%s: more than %u redirects", s, p,
				 LIMIT_HTTP_REDIRECTS);
	case CURLE_OUT_OF_MEMORY:
		return http_fail(h, -ENOMEM, "%s/%s: out of memory", s, p);
	case CURLE_URL_MALFORMAT:
		return http_fail(h, -EINVAL, "%s/%s: bad URL (%s)", s, p, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return http_fail(h, -EPROTO, "%s/%s: %s", s, p, why);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return http_fail(h, -ECONNRESET, "%s/%s: connection lost after %llu of %llu bytes (%s)",
				 s, p, got, want, why);
	default:
		return http_fail(h, -EIO, "%s/%s: %s", s, p, why[0] ? why : curl_easy_strerror(rc));
	}
}

/* Runs q on the handle (URL already set); 0 when the transfer completed or
 * was stopped on purpose, else the translated error.  q->status is the
 * final status either way. */
static int http_perform(struct http_transport *h, struct http_req *q, const char *range)
{
	CURLcode rc;

	h->curl_err[0] = '\0';
	if (curl_easy_setopt(h->easy, CURLOPT_RANGE, range) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, q) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, q) != CURLE_OK)
		return http_fail(h, -ENOMEM, "%s/%s: cannot set up the request", h->shown, q->path);
	rc = curl_easy_perform(h->easy);
	if (!q->started)
		(void)curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->rc < 0)
		return q->rc;
	if (rc == CURLE_WRITE_ERROR && q->done)
		return 0;
	if (rc != CURLE_OK)
		return http_curl_error(h, rc, q);
	return 0;
}

static void http_req_init(struct http_req *q, struct http_transport *h, const char *path,
			  enum http_mode mode)
{
	*q = (struct http_req){ .h = h, .path = path, .mode = mode, .declared = HTTP_UNKNOWN };
}

/* size from a GET of byte 0: Content-Range of a 206, else the 200's length. */
static int http_size_get(struct http_transport *h, const char *path, uint64_t *out)
{
	struct http_req q;
	int r;

	http_req_init(&q, h, path, HTTP_SIZE);
	q.len = 1;
	if (curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK)
		return http_fail(h, -ENOMEM, "%s/%s: cannot set up the request", h->shown, path);
	r = http_perform(h, &q, "0-0");
	if (r < 0)
		return r;
	if (q.status == 416 && q.have_range && q.range_total != HTTP_UNKNOWN &&
	    q.range_first == HTTP_UNKNOWN) {
		*out = q.range_total; /* "bytes * /0": an empty file has no byte 0 */
		return 0;
	}
	if (q.status < 200 || q.status > 299)
		return http_status_error(h, q.status, path);
	/* A 206 said its total (checked as its body began); a 200 said its
	 * length or was counted whole. */
	if (q.status != 200 && !(q.status == 206 && q.started))
		return http_fail(h, -EPROTO, "%s/%s: the server does not say its size", h->shown,
				 path);
	*out = q.size;
	return 0;
}

static int http_size(struct transport *t, const char *path, uint64_t *out)
{
	struct http_transport *h = (struct http_transport *)t;
	curl_off_t cl = -1;
	struct http_req q;
	int r;

	r = http_set_url(h, path);
	if (r < 0)
		return r;
	http_req_init(&q, h, path, HTTP_SIZE);
	if (curl_easy_setopt(h->easy, CURLOPT_NOBODY, 1L) != CURLE_OK)
		return http_fail(h, -ENOMEM, "%s/%s: cannot set up the request", h->shown, path);
	r = http_perform(h, &q, NULL);
	(void)curl_easy_setopt(h->easy, CURLOPT_NOBODY, 0L);
	if (r < 0)
		return r;
	if (q.status == 200 &&
	    curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
	    cl >= 0) {
		*out = (uint64_t)cl;
		return 0;
	}
	/* HEAD refused, or answered without a length: ask for byte 0. */
	if ((q.status >= 200 && q.status <= 299) || q.status == 405 || q.status == 501)
		return http_size_get(h, path, out);
	return http_status_error(h, q.status, path);
}

static int http_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx)
{
	struct http_transport *h = (struct http_transport *)t;
	char range[48];
	struct http_req q;
	int r;

	r = http_set_url(h, path);
	if (r < 0 || len == 0)
		return r;
	if (len - 1 > UINT64_MAX - off)
		return http_fail(h, -EINVAL, "%s/%s: range past 2^64", h->shown, path);
	http_req_init(&q, h, path, HTTP_READ);
	q.off = off;
	q.len = len;
	q.sink = sink;
	q.ctx = ctx;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	if (curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK)
		return http_fail(h, -ENOMEM, "%s/%s: cannot set up the request", h->shown, path);
	r = http_perform(h, &q, range);
	if (r < 0)
		return r;
	if (q.status != 200 && q.status != 206)
		return http_status_error(h, q.status, path);
	if (q.delivered < len)
		return http_fail(h, -EBADMSG, "%s/%s: the body ended after %llu of %llu bytes",
				 h->shown, path, (unsigned long long)q.delivered,
				 (unsigned long long)len);
	return 0;
}

static bool http_handles(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* Options fixed for the life of the handle. */
static int http_setup(struct http_transport *h, const struct transport_opts *o, bool tls)
{
	long connect_s = o && o->connect_timeout_s ? (long)o->connect_timeout_s
						   : HTTP_CONNECT_TIMEOUT_S;
	long slow_s = o && o->low_speed_time_s ? (long)o->low_speed_time_s : HTTP_LOW_SPEED_TIME_S;
	long slow_b = o && o->low_speed_bytes ? (long)o->low_speed_bytes : HTTP_LOW_SPEED_BYTES;
	bool insecure = o && o->insecure_tls;
	CURL *e = h->easy;
	bool bad = false;

	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->curl_err) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, tls ? "https" : "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)LIMIT_HTTP_REDIRECTS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, connect_s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, slow_s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, slow_b) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_BUFFERSIZE, HTTP_RECV_BUFFER) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry/1") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L) != CURLE_OK;
	if (o && o->ca_file)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK;
	if (bad)
		return http_fail(h, -ENOMEM, "%s: cannot set up libcurl", h->shown);
	return 0;
}

/* Checks url and fills prefix and shown from it. */
static int http_parse_base(struct http_transport *h, const char *url, bool *tls)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *query = NULL, *full = NULL, *shown = NULL;
	int r = -EINVAL;
	size_t n;

	if (!u)
		return err_set(-ENOMEM, "%s: out of memory", url);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		err_set(r, "%s: not an http:// or https:// URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &query, 0) == CURLUE_OK) {
		err_set(r, "%s: a repository URL takes no query or fragment", url);
		goto out;
	}
	r = -ENOMEM;
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
		goto out;
	for (n = strlen(full); n > 0 && full[n - 1] == '/'; n--)
		;
	h->prefix = mem_strndup(full, n);
	for (n = strlen(shown); n > 0 && shown[n - 1] == '/'; n--)
		;
	h->shown = mem_strndup(shown, n);
	if (h->prefix && h->shown) {
		*tls = strcmp(scheme, "https") == 0;
		r = 0;
	}
out:
	curl_free(scheme);
	curl_free(query);
	curl_free(full);
	curl_free(shown);
	curl_url_cleanup(u);
	return r;
}

static void http_close(struct transport *t)
{
	struct http_transport *h = (struct http_transport *)t;

	if (!h)
		return;
	if (h->easy)
		curl_easy_cleanup(h->easy);
	buf_release(&h->url);
	mem_free(h->prefix);
	mem_free(h->shown);
	mem_free(h);
}

static int http_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	struct http_transport *h;
	bool tls = false;
	int r;

	*out = NULL;
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return err_set(-ENOMEM, "libcurl: %s", curl_easy_strerror(http_global_rc));
	h = mem_calloc(1, sizeof(*h));
	if (!h)
		return err_set(-ENOMEM, "%s: out of memory", url);
	h->base.ops = &transport_http_ops;
	buf_init(&h->url, LIMIT_PATH_BYTES * 3 + 4096);
	r = http_parse_base(h, url, &tls);
	if (r >= 0) {
		h->easy = curl_easy_init();
		r = h->easy ? http_setup(h, o, tls) : -ENOMEM;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			err_set(r, "%s: out of memory", url);
		http_close(&h->base);
		return r;
	}
	*out = &h->base;
	return 0;
}

const struct transport_ops transport_http_ops = {
	.version = TRANSPORT_OPS_VERSION,
	.name = "http",
	.handles = http_handles,
	.open = http_open,
	.close = http_close,
	.size = http_size,
	.read = http_read,
	.list = NULL,
};

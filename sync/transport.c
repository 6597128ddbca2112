/*
 * transport.c — the transport registry and the wrappers every caller uses
 * (see transport.h).
 *
 * transport_open() asks each table, built-in first, whether it handles a
 * URL.  The wrappers do what no transport should have to repeat: they
 * refuse hostile paths before a transport sees them, hold a transport to
 * its contract (a read delivers exactly what was asked, in pieces no
 * larger than TRANSPORT_PIECE_BYTES), and keep t->detail current.
 */
#include "sync/transport.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "sync/ratelimit.h"

/* The built-in transports; each handles URLs no other one does, so the
 * order does not matter.  A new transport is one line here (and its own
 * file). */
static const struct transport_ops *const builtin[] = {
    &transport_file_ops,
    &transport_http_ops,
    &transport_sftp_ops,
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct transport_ops *registered[TRANSPORT_MAX_REGISTERED];
static size_t n_registered;

/* Serializes writes to t->detail from concurrent reads that fail. */
static pthread_mutex_t detail_lock = PTHREAD_MUTEX_INITIALIZER;

static void detail_store(struct transport *t, const char *text)
{
	pthread_mutex_lock(&detail_lock);
	snprintf(t->detail, sizeof(t->detail), "%s", text);
	pthread_mutex_unlock(&detail_lock);
}

int transport_fail(struct transport *t, int code, const char *fmt, ...)
{
	char line[sizeof(t->detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	detail_store(t, line);
	return err_set(code, "%s", line);
}

/* After an operation failed: make sure both the thread's detail and
 * t->detail say something. */
static int failed(struct transport *t, int code, const char *what)
{
	if (!err_detail()[0])
		(void)err_set(code, "%s: %s: %s", t->url ? t->url : "source", what, strerror(-code));
	detail_store(t, err_detail());
	return code;
}

static bool ops_valid(const struct transport_ops *ops)
{
	/* version is the first member, so it can be read from a table of any
	 * version; nothing else may be touched before it matches. */
	return ops->version == TRANSPORT_OPS_VERSION && ops->name && ops->handles && ops->open &&
	       ops->close && ops->size && ops->read;
}

int transport_register(const struct transport_ops *ops)
{
	int r = 0;

	if (ops->version != TRANSPORT_OPS_VERSION)
		return err_set(-EINVAL, "transport table version %u refused (this ferry uses %u)",
			       ops->version, TRANSPORT_OPS_VERSION);
	if (!ops_valid(ops))
		return err_set(-EINVAL, "transport table %s lacks a required function",
			       ops->name ? ops->name : "(unnamed)");
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < n_registered; i++)
		if (registered[i] == ops)
			goto out;
	if (n_registered == TRANSPORT_MAX_REGISTERED) {
		r = err_set(-EFBIG, "more than %u transports registered", TRANSPORT_MAX_REGISTERED);
		goto out;
	}
	registered[n_registered++] = ops;
out:
	pthread_mutex_unlock(&registry_lock);
	return r;
}

static const struct transport_ops *pick(const char *url)
{
	const struct transport_ops *found = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		if (ops_valid(builtin[i]) && builtin[i]->handles(url))
			return builtin[i];
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; !found && i < n_registered; i++)
		if (registered[i]->handles(url))
			found = registered[i];
	pthread_mutex_unlock(&registry_lock);
	return found;
}

int transport_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	const struct transport_ops *ops = pick(url);
	struct transport *t = NULL;
	char *copy;
	int r;

	*out = NULL;
	if (!ops) {
		size_t n = strcspn(url, ":");

		return err_set(-EPROTONOSUPPORT, "%.*s: no transport for this kind of source",
			       (int)(n < 64 ? n : 64), url);
	}
	copy = mem_strdup(url);
	if (!copy)
		return -ENOMEM;
	err_clear();
	r = ops->open(&t, url, o);
	if (r < 0) {
		mem_free(copy);
		if (!err_detail()[0])
			(void)err_set(r, "%s: %s", url, strerror(-r));
		return r;
	}
	if (!t->ops)
		t->ops = ops;
	t->url = copy;
	t->limit = o ? o->limit : NULL;
	*out = t;
	return 0;
}

void transport_close(struct transport *t)
{
	char *url;

	if (!t)
		return;
	url = t->url;
	t->ops->close(t);
	mem_free(url);
}

static bool is_segment_char_ok(char c)
{
	return c != '\0' && c != '\\';
}

int transport_path_check(const char *p, size_t n, bool allow_root)
{
	size_t seg = 0, depth = 0;

	if (n == 0 && allow_root)
		return 0;
	if (n == 0)
		return err_set(-EINVAL, "an empty path is refused");
	if (n >= LIMIT_PATH_BYTES)
		return err_set(-EINVAL, "a path of %zu bytes is refused (limit %u)", n,
			       LIMIT_PATH_BYTES);
	if (p[0] == '/')
		return err_set(-EINVAL, "%.*s: absolute paths are refused", (int)n, p);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/') {
			if (!is_segment_char_ok(p[i]))
				return err_set(-EINVAL, "%.*s: a path with a %s is refused", (int)n,
					       p, p[i] ? "backslash" : "NUL byte");
			seg++;
			continue;
		}
		/* End of a segment: p[i - seg, i). */
		if (seg == 0)
			return err_set(-EINVAL, "%.*s: a path with an empty segment is refused",
				       (int)n, p);
		if ((seg == 1 && p[i - 1] == '.') ||
		    (seg == 2 && p[i - 2] == '.' && p[i - 1] == '.'))
			return err_set(-EINVAL,
				       "%.*s: a path with a \".\" or \"..\" segment is refused",
				       (int)n, p);
		if (seg > LIMIT_NAME_BYTES)
			return err_set(-EINVAL, "%.*s: a name longer than %u bytes is refused",
				       (int)n, p, LIMIT_NAME_BYTES);
		if (++depth > LIMIT_PATH_DEPTH)
			return err_set(-EINVAL, "%.*s: a path deeper than %u folders is refused",
				       (int)n, p, LIMIT_PATH_DEPTH);
		seg = 0;
	}
	return 0;
}

static int check_path(struct transport *t, const char *path, bool allow_root)
{
	int r = transport_path_check(path, strlen(path), allow_root);

	if (r < 0)
		detail_store(t, err_detail());
	return r;
}

int transport_size(struct transport *t, const char *path, uint64_t *out)
{
	int r = check_path(t, path, false);

	if (r < 0)
		return r;
	err_clear();
	r = t->ops->size(t, path, out);
	return r < 0 ? failed(t, r, path) : 0;
}

/* Sits between a transport and the caller's sink. */
struct guard {
	transport_sink_fn sink;
	void *ctx;
	struct ratelimit *limit;
	uint64_t want, got;
};

static int guard_sink(const void *p, size_t n, void *ctx)
{
	struct guard *g = ctx;
	const uint8_t *q = p;

	if (n > g->want - g->got)
		return err_set(-EPROTO, "the source sent more bytes than asked for");
	g->got += n;
	while (n) {
		size_t cap = g->limit ? RATELIMIT_SLICE_BYTES : TRANSPORT_PIECE_BYTES;
		size_t k = n < cap ? n : cap;
		int r;

		/* The cap is taken where bytes are handed on: a transport's
		 * own buffers are small, so this paces the link itself. */
		if (g->limit)
			ratelimit_take(g->limit, k);
		r = g->sink(q, k, g->ctx);
		if (r < 0)
			return r;
		q += k;
		n -= k;
	}
	return 0;
}

int transport_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		   transport_sink_fn sink, void *ctx)
{
	struct guard g = {sink, ctx, t->limit, len, 0};
	int r = check_path(t, path, false);

	if (r < 0)
		return r;
	if (off + len < off)
		return transport_fail(t, -EINVAL, "%s: range %llu+%llu overflows", path,
				      (unsigned long long)off, (unsigned long long)len);
	err_clear();
	r = t->ops->read(t, path, off, len, guard_sink, &g);
	if (r >= 0 && g.got != len)
		r = err_set(-EPROTO, "%s: the source delivered %llu of %llu bytes", path,
			    (unsigned long long)g.got, (unsigned long long)len);
	return r < 0 ? failed(t, r, path) : 0;
}

static int fetch_sink(const void *p, size_t n, void *ctx)
{
	return buf_append(ctx, p, n);
}

int transport_fetch(struct transport *t, const char *path, struct buf *out, size_t max)
{
	size_t start = out->len;
	uint64_t size;
	int r;

	r = transport_size(t, path, &size);
	if (r < 0)
		return r;
	if (size > max)
		return transport_fail(t, -EFBIG, "%s: %llu bytes, more than the limit of %zu", path,
				      (unsigned long long)size, max);
	err_clear();
	r = buf_reserve(out, (size_t)size);
	if (r < 0)
		return failed(t, r, path);
	r = transport_read(t, path, 0, size, fetch_sink, out);
	if (r < 0) {
		out->len = start;
		out->data[start] = 0;
		return r;
	}
	return 0;
}

bool transport_can_list(const struct transport *t)
{
	return t->ops->list != NULL;
}

struct list_filter {
	int (*fn)(const char *name, void *ctx);
	void *ctx;
};

static int list_one(const char *name, void *ctx)
{
	struct list_filter *f = ctx;
	size_t n = strlen(name);

	if (memchr(name, '/', n) || transport_path_check(name, n, false) < 0) {
		err_clear();
		return 0;
	}
	return f->fn(name, f->ctx);
}

int transport_list(struct transport *t, const char *dir, int (*fn)(const char *name, void *ctx),
		   void *ctx)
{
	struct list_filter f = {fn, ctx};
	int r;

	if (!t->ops->list)
		return transport_fail(t, -EOPNOTSUPP, "%s: this source cannot list folders",
				      t->url);
	r = check_path(t, dir, true);
	if (r < 0)
		return r;
	err_clear();
	r = t->ops->list(t, dir, list_one, &f);
	return r < 0 ? failed(t, r, dir[0] ? dir : "/") : 0;
}

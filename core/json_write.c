/*
 * json_write.c — streaming JSON writer (see json_write.h).
 */
#include "core/json_write.h"

#include <math.h>
#include <string.h>

void jw_init(struct jw *w, struct buf *out)
{
	w->out = out;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
	w->error = 0;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->error == 0)
		w->error = buf_append(w->out, s, n);
}

/* Called before every value or key. */
static void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		put(w, ",", 1);
	w->need_comma[w->depth] = true;
}

static void open_(struct jw *w, const char *c)
{
	sep(w);
	put(w, c, 1);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->error = -EFBIG;
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct jw *w, const char *c)
{
	if (w->depth > 0)
		w->depth--;
	put(w, c, 1);
}

void jw_obj_begin(struct jw *w)
{
	open_(w, "{");
}

void jw_obj_end(struct jw *w)
{
	close_(w, "}");
}

void jw_arr_begin(struct jw *w)
{
	open_(w, "[");
}

void jw_arr_end(struct jw *w)
{
	close_(w, "]");
}

static void quoted(struct jw *w, const char *s, size_t n)
{
	put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(w, esc, 2);
		} else if (c < 0x20) {
			if (w->error == 0)
				w->error = buf_printf(w->out, "\\u%04x", c);
		} else {
			put(w, (const char *)&s[i], 1);
		}
	}
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	sep(w);
	quoted(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	quoted(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_u64(struct jw *w, uint64_t v)
{
	sep(w);
	if (w->error == 0)
		w->error = buf_printf(w->out, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, int64_t v)
{
	sep(w);
	if (w->error == 0)
		w->error = buf_printf(w->out, "%lld", (long long)v);
}

void jw_double(struct jw *w, double v)
{
	sep(w);
	if (!isfinite(v))
		put(w, "null", 4);
	else if (w->error == 0)
		w->error = buf_printf(w->out, "%.6g", v);
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	sep(w);
	put(w, "null", 4);
}

int jw_error(const struct jw *w)
{
	return w->error;
}

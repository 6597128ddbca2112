/*
 * json_write.h — building the one JSON document a `--json` run prints.
 *
 * A small streaming writer over struct buf that tracks nesting so commas
 * come out right.  Strings are escaped per RFC 8259; bytes >= 0x80 are
 * passed through, so UTF-8 names (Chinese, Tibetan, Uyghur) stay readable.
 *
 *     struct jw w; jw_init(&w, &buf);
 *     jw_obj_begin(&w);
 *       jw_key(&w, "files"); jw_u64(&w, 12);
 *       jw_key(&w, "channel"); jw_str(&w, "renjiao/grade7/math");
 *     jw_obj_end(&w);
 *     if (jw_error(&w) < 0) ...
 *
 * The first failure (allocation, cap) sticks and is returned by jw_error().
 */
#ifndef FERRY_CORE_JSON_WRITE_H
#define FERRY_CORE_JSON_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

#define JW_MAX_DEPTH 32

struct jw {
	struct buf *out;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_key;
	int error;
};

void jw_init(struct jw *w, struct buf *out);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
int jw_error(const struct jw *w);

#endif

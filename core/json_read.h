/*
 * json_read.h — a small, strict JSON reader for ferry's own documents
 * (ferry.json, USB request files).
 *
 * Parses a whole document into a tree of nodes allocated in one arena.
 * Bounded: input size is capped by the caller, nesting by JSON_MAX_DEPTH,
 * node count by the input size.  Strings are decoded to UTF-8 (\u escapes
 * included, surrogate pairs checked); numbers are kept as integers only
 * (ferry's documents hold no fractions) and must fit in int64.
 *
 *     struct json_doc *d;
 *     r = json_parse(&d, text, len);
 *     const struct json_node *v = json_get(json_root(d), "version");
 *     json_free(d);
 */
#ifndef FERRY_CORE_JSON_READ_H
#define FERRY_CORE_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define JSON_MAX_DEPTH 32

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	const char *key; /* member name when inside an object, else NULL */
	const char *str; /* JSON_STRING: NUL-terminated UTF-8 */
	size_t len;      /* string length, or child count */
	int64_t num;     /* JSON_INT, JSON_BOOL */
	struct json_node *child; /* first child (array/object) */
	struct json_node *next;  /* next sibling */
};

struct json_doc;

/* -EBADMSG with "json: <what> at byte N" for malformed input. */
int json_parse(struct json_doc **out, const char *text, size_t n) FERRY_MUST_USE;
const struct json_node *json_root(const struct json_doc *d);
void json_free(struct json_doc *d);

/* Member of an object by name, or NULL (also when o is not an object). */
const struct json_node *json_get(const struct json_node *o, const char *key);
/* Typed getters: -EBADMSG if absent or of another type. */
int json_get_int(int64_t *out, const struct json_node *o, const char *key) FERRY_MUST_USE;
int json_get_str(const char **out, const struct json_node *o, const char *key) FERRY_MUST_USE;

#endif

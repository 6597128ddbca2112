/*
 * textline.h — a strict tokenizer for ferry's small line-based text formats
 * (pointers, release metadata, pack lists).
 *
 * Lines end in LF (the last one too); words are separated by exactly one
 * space; numbers are decimal without sign or leading zeros.  Anything else
 * is malformed.  Being strict keeps one canonical text per value, so the
 * same release always hashes the same, and leaves hostile input no room.
 *
 *     textline_init(&t, p, n);
 *     while (textline_next(&t)) { textline_word(&t, &w, &wlen); ... }
 *     if (t.bad) malformed;
 */
#ifndef FERRY_CORE_TEXTLINE_H
#define FERRY_CORE_TEXTLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct textline {
	const char *p;
	size_t n;
	size_t next;     /* start of the next line */
	const char *cur; /* cursor within the current line */
	const char *eol; /* end of the current line (at its LF) */
	unsigned lineno;
	bool bad; /* input malformed (NUL, CR, missing final LF) */
};

void textline_init(struct textline *t, const void *p, size_t n);
/* Moves to the next line; false at the end of input or on malformed input. */
bool textline_next(struct textline *t);
/* The next word of the current line. */
bool textline_word(struct textline *t, const char **w, size_t *len);
/* The rest of the current line (may contain spaces; may be empty). */
void textline_rest(struct textline *t, const char **s, size_t *len);
bool textline_end(const struct textline *t);
int textline_u64(struct textline *t, uint64_t *out) FERRY_MUST_USE;
/* The next word must equal word. */
int textline_expect(struct textline *t, const char *word) FERRY_MUST_USE;
/* Next line must be "<key> <u64>". */
int textline_key_u64(struct textline *t, const char *key, uint64_t *out) FERRY_MUST_USE;
/* Parses a whole string as a canonical decimal u64. */
int text_parse_u64(uint64_t *out, const char *s, size_t len) FERRY_MUST_USE;

#endif

/*
 * textline.c — strict line tokenizer (see textline.h).
 */
#include "core/textline.h"

#include <string.h>

void textline_init(struct textline *t, const void *p, size_t n)
{
	t->p = p;
	t->n = n;
	t->next = 0;
	t->cur = NULL;
	t->eol = NULL;
	t->lineno = 0;
	t->bad = false;
}

bool textline_next(struct textline *t)
{
	const char *start, *lf;

	if (t->bad || t->next >= t->n)
		return false;
	start = t->p + t->next;
	lf = memchr(start, '\n', t->n - t->next);
	if (!lf || memchr(start, '\0', (size_t)(lf - start)) || memchr(start, '\r', (size_t)(lf - start))) {
		t->bad = true;
		return false;
	}
	t->cur = start;
	t->eol = lf;
	t->next = (size_t)(lf - t->p) + 1;
	t->lineno++;
	return true;
}

bool textline_word(struct textline *t, const char **w, size_t *len)
{
	const char *s = t->cur, *e;

	if (!s || s >= t->eol)
		return false;
	e = memchr(s, ' ', (size_t)(t->eol - s));
	if (!e)
		e = t->eol;
	if (e == s)
		return false; /* double space or leading space */
	*w = s;
	*len = (size_t)(e - s);
	t->cur = e < t->eol ? e + 1 : e;
	if (e < t->eol && t->cur == t->eol)
		return false; /* trailing space */
	return true;
}

void textline_rest(struct textline *t, const char **s, size_t *len)
{
	*s = t->cur;
	*len = (size_t)(t->eol - t->cur);
	t->cur = t->eol;
}

bool textline_end(const struct textline *t)
{
	return t->cur == t->eol;
}

int text_parse_u64(uint64_t *out, const char *s, size_t len)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -EBADMSG;
	}
	*out = v;
	return 0;
}

int textline_u64(struct textline *t, uint64_t *out)
{
	const char *w;
	size_t len;

	if (!textline_word(t, &w, &len))
		return -EBADMSG;
	return text_parse_u64(out, w, len);
}

int textline_expect(struct textline *t, const char *word)
{
	const char *w;
	size_t len;

	if (!textline_word(t, &w, &len) || len != strlen(word) || memcmp(w, word, len) != 0)
		return -EBADMSG;
	return 0;
}

int textline_key_u64(struct textline *t, const char *key, uint64_t *out)
{
	if (!textline_next(t) || textline_expect(t, key) < 0 || textline_u64(t, out) < 0 ||
	    !textline_end(t))
		return -EBADMSG;
	return 0;
}

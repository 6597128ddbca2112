/*
 * json_read.c — strict recursive-descent JSON parser (see json_read.h).
 *
 * Nodes and decoded strings live in two arenas sized from the input
 * length up front (a document of n bytes has fewer than n/2+1 nodes and
 * at most n bytes of string data), so parsing allocates three times and
 * cannot be driven into unbounded growth.
 */
#include "core/json_read.h"

#include <string.h>

#include "core/mem.h"

struct json_doc {
	struct json_node *nodes;
	size_t nnodes, capnodes;
	char *strs;
	size_t nstrs, capstrs;
	struct json_node *root;
};

struct parser {
	const char *s;
	size_t n, i;
	struct json_doc *d;
	int depth;
};

static int fail(struct parser *p, const char *what)
{
	return err_set(-EBADMSG, "json: %s at byte %zu", what, p->i);
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\n' || p->s[p->i] == '\r' ||
			       p->s[p->i] == '\t'))
		p->i++;
}

static struct json_node *new_node(struct parser *p, enum json_type t)
{
	struct json_node *nd;

	if (p->d->nnodes == p->d->capnodes)
		return NULL;
	nd = &p->d->nodes[p->d->nnodes++];
	memset(nd, 0, sizeof(*nd));
	nd->type = t;
	return nd;
}

static void put_utf8(struct parser *p, uint32_t c)
{
	char *o = p->d->strs + p->d->nstrs;

	if (c < 0x80) {
		o[0] = (char)c;
		p->d->nstrs += 1;
	} else if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 63));
		p->d->nstrs += 2;
	} else if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 63));
		o[2] = (char)(0x80 | (c & 63));
		p->d->nstrs += 3;
	} else {
		o[0] = (char)(0xf0 | c >> 18);
		o[1] = (char)(0x80 | (c >> 12 & 63));
		o[2] = (char)(0x80 | (c >> 6 & 63));
		o[3] = (char)(0x80 | (c & 63));
		p->d->nstrs += 4;
	}
}

static int hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;

	if (p->n - p->i < 4)
		return fail(p, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if ((c | 32) >= 'a' && (c | 32) <= 'f')
			v |= (uint32_t)((c | 32) - 'a' + 10);
		else
			return fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static int escape(struct parser *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	uint32_t c, lo;
	int r;

	if (p->i >= p->n)
		return fail(p, "unterminated string");
	k = strchr(from, p->s[p->i]);
	if (p->s[p->i] != 'u') {
		if (!k || !*k)
			return fail(p, "bad escape");
		p->d->strs[p->d->nstrs++] = to[k - from];
		p->i++;
		return 0;
	}
	p->i++;
	r = hex4(p, &c);
	if (r < 0)
		return r;
	if (c >= 0xdc00 && c <= 0xdfff)
		return fail(p, "lone low surrogate");
	if (c >= 0xd800 && c <= 0xdbff) {
		if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
			return fail(p, "lone high surrogate");
		p->i += 2;
		r = hex4(p, &lo);
		if (r < 0)
			return r;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "bad surrogate pair");
		c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (c == 0)
		return fail(p, "NUL in string");
	put_utf8(p, c);
	return 0;
}

static int string(struct parser *p, const char **out, size_t *len)
{
	size_t start = p->d->nstrs;
	int r;

	p->i++; /* opening quote */
	while (p->i < p->n && p->s[p->i] != '"') {
		unsigned char c = (unsigned char)p->s[p->i];

		if (c < 0x20)
			return fail(p, "control character in string");
		if (c == '\\') {
			p->i++;
			r = escape(p);
			if (r < 0)
				return r;
			continue;
		}
		p->d->strs[p->d->nstrs++] = (char)c;
		p->i++;
	}
	if (p->i >= p->n)
		return fail(p, "unterminated string");
	p->i++;
	p->d->strs[p->d->nstrs++] = '\0';
	*out = p->d->strs + start;
	*len = p->d->nstrs - start - 1;
	return 0;
}

static int value(struct parser *p, struct json_node **out);

static int number(struct parser *p, struct json_node *nd)
{
	bool neg = false;
	uint64_t v = 0;
	size_t start;

	if (p->s[p->i] == '-') {
		neg = true;
		p->i++;
	}
	start = p->i;
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(p->s[p->i] - '0'), &v) ||
		    v > (uint64_t)INT64_MAX)
			return fail(p, "number out of range");
		p->i++;
	}
	if (p->i == start || (p->i - start > 1 && p->s[start] == '0'))
		return fail(p, "bad number");
	if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
		return fail(p, "fractions are not used here");
	nd->num = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int members(struct parser *p, struct json_node *nd, bool object)
{
	struct json_node **tail = &nd->child;
	char close = object ? '}' : ']';
	int r;

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen;
		struct json_node *child;

		skip_ws(p);
		if (object) {
			if (p->i >= p->n || p->s[p->i] != '"')
				return fail(p, "expected a member name");
			r = string(p, &key, &klen);
			if (r < 0)
				return r;
			if (json_get(nd, key))
				return fail(p, "duplicate member name");
			skip_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return fail(p, "expected ':'");
			p->i++;
		}
		r = value(p, &child);
		if (r < 0)
			return r;
		child->key = key;
		*tail = child;
		tail = &child->next;
		nd->len++;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			return 0;
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->n - p->i < n || memcmp(p->s + p->i, word, n) != 0)
		return fail(p, "unexpected character");
	p->i += n;
	return 0;
}

static int value(struct parser *p, struct json_node **out)
{
	struct json_node *nd;
	char c;
	int r;

	skip_ws(p);
	if (p->i >= p->n)
		return fail(p, "unexpected end");
	c = p->s[p->i];
	nd = new_node(p, c == '{' ? JSON_OBJECT : c == '[' ? JSON_ARRAY : c == '"' ? JSON_STRING
			 : c == 't' || c == 'f' ? JSON_BOOL : c == 'n' ? JSON_NULL : JSON_INT);
	if (!nd)
		return fail(p, "too many values");
	if (c == '{' || c == '[') {
		if (++p->depth > JSON_MAX_DEPTH)
			return fail(p, "nested too deeply");
		r = members(p, nd, c == '{');
		p->depth--;
	} else if (c == '"') {
		r = string(p, &nd->str, &nd->len);
	} else if (c == 't') {
		nd->num = 1;
		r = literal(p, "true");
	} else if (c == 'f') {
		r = literal(p, "false");
	} else if (c == 'n') {
		r = literal(p, "null");
	} else {
		r = number(p, nd);
	}
	*out = nd;
	return r;
}

int json_parse(struct json_doc **out, const char *text, size_t n)
{
	struct json_doc *d = mem_calloc(1, sizeof(*d));
	struct parser p = { .s = text, .n = n, .d = d };
	int r;

	if (!d)
		return -ENOMEM;
	d->capnodes = n / 2 + 1;
	d->capstrs = n + 1;
	d->nodes = mem_calloc(d->capnodes, sizeof(*d->nodes));
	d->strs = mem_alloc(d->capstrs);
	if (!d->nodes || !d->strs) {
		json_free(d);
		return -ENOMEM;
	}
	r = value(&p, &d->root);
	skip_ws(&p);
	if (r == 0 && p.i != n)
		r = fail(&p, "trailing data");
	if (r < 0) {
		json_free(d);
		return r;
	}
	*out = d;
	return 0;
}

const struct json_node *json_root(const struct json_doc *d)
{
	return d->root;
}

void json_free(struct json_doc *d)
{
	if (!d)
		return;
	mem_free(d->nodes);
	mem_free(d->strs);
	mem_free(d);
}

const struct json_node *json_get(const struct json_node *o, const char *key)
{
	if (!o || o->type != JSON_OBJECT)
		return NULL;
	for (const struct json_node *c = o->child; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

int json_get_int(int64_t *out, const struct json_node *o, const char *key)
{
	const struct json_node *v = json_get(o, key);

	if (!v || v->type != JSON_INT)
		return err_set(-EBADMSG, "json: \"%s\" missing or not a whole number", key);
	*out = v->num;
	return 0;
}

int json_get_str(const char **out, const struct json_node *o, const char *key)
{
	const struct json_node *v = json_get(o, key);

	if (!v || v->type != JSON_STRING)
		return err_set(-EBADMSG, "json: \"%s\" missing or not a string", key);
	*out = v->str;
	return 0;
}

/*
 * flute_fdt.c — the FDT instance: ferry's file table, written and parsed
 * as the small, fixed subset of RFC 6726's XML drawn in flute.h.
 *
 * The parser is a hand-written scanner over a bounded byte range, not an
 * XML library: it knows one element with attributes, self-closing children
 * and the five predefined entities, and refuses anything else.  Every
 * string it keeps is copied, bounded by LIMIT_PATH_BYTES.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "satellite/flute.h"

#define FDT_NS "urn:IETF:metadata:2005:FLUTE:FDT"
#define FERRY_NS "urn:ferry:fdt:1"

void flute_fdt_init(struct flute_fdt *fdt)
{
	memset(fdt, 0, sizeof(*fdt));
}

void flute_fdt_release(struct flute_fdt *fdt)
{
	for (size_t i = 0; i < fdt->n; i++)
		mem_free(fdt->files[i].location);
	mem_free(fdt->files);
	flute_fdt_init(fdt);
}

/* Takes ownership of location on success. */
static int add_owned(struct flute_fdt *fdt, uint32_t toi, char *location, uint64_t length,
		     const uint8_t sha256[32])
{
	struct flute_fdt_file *f;

	if (fdt->n >= FLUTE_FDT_MAX_FILES)
		return err_set(-EFBIG, "FDT: more than %u files", FLUTE_FDT_MAX_FILES);
	if ((fdt->n & (fdt->n - 1)) == 0) { /* grow at powers of two */
		size_t cap = fdt->n ? fdt->n * 2 : 16;
		void *p = mem_realloc(fdt->files, cap * sizeof(*fdt->files));

		if (!p)
			return -ENOMEM;
		fdt->files = p;
	}
	f = &fdt->files[fdt->n++];
	f->toi = toi;
	f->length = length;
	memcpy(f->sha256, sha256, 32);
	f->location = location;
	return 0;
}

int flute_fdt_add(struct flute_fdt *fdt, uint32_t toi, const char *location, uint64_t length,
		  const uint8_t sha256[32])
{
	char *copy;
	int rc;

	if (toi == FLUTE_FDT_TOI || length > LIMIT_FILE_BYTES ||
	    mf_path_check(location, strlen(location)) < 0)
		return err_set(-EINVAL, "FDT: cannot list %s (TOI %u, %llu bytes)", location, toi,
			       (unsigned long long)length);
	copy = mem_strdup(location);
	if (!copy)
		return -ENOMEM;
	rc = add_owned(fdt, toi, copy, length, sha256);
	if (rc < 0)
		mem_free(copy);
	return rc;
}

const struct flute_fdt_file *flute_fdt_find(const struct flute_fdt *fdt, uint32_t toi)
{
	for (size_t i = 0; i < fdt->n; i++)
		if (fdt->files[i].toi == toi)
			return &fdt->files[i];
	return NULL;
}

static int put_escaped(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		switch (*s) {
		case '&': rc = buf_append_str(out, "&amp;"); break;
		case '<': rc = buf_append_str(out, "&lt;"); break;
		case '>': rc = buf_append_str(out, "&gt;"); break;
		case '"': rc = buf_append_str(out, "&quot;"); break;
		case '\'': rc = buf_append_str(out, "&apos;"); break;
		default: rc = buf_append_byte(out, (uint8_t)*s); break;
		}
	}
	return rc;
}

int flute_fdt_write(struct buf *out, const struct flute_fdt *fdt)
{
	int rc = buf_printf(out,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<FDT-Instance xmlns=\"" FDT_NS "\" xmlns:ferry=\"" FERRY_NS
			    "\" Expires=\"%llu\">\n",
			    (unsigned long long)fdt->expires);

	for (size_t i = 0; i < fdt->n && rc == 0; i++) {
		const struct flute_fdt_file *f = &fdt->files[i];
		char hex[65];

		hex_encode(hex, f->sha256, 32);
		rc = buf_printf(out, "<File TOI=\"%u\" Content-Location=\"", f->toi);
		if (rc == 0)
			rc = put_escaped(out, f->location);
		if (rc == 0)
			rc = buf_printf(out, "\" Content-Length=\"%llu\" ferry:sha256=\"%s\"/>\n",
					(unsigned long long)f->length, hex);
	}
	if (rc == 0)
		rc = buf_append_str(out, "</FDT-Instance>\n");
	if (rc == -EFBIG || (rc == 0 && out->len > FLUTE_FDT_MAX_BYTES))
		return err_set(-EFBIG, "FDT: over %u bytes", FLUTE_FDT_MAX_BYTES);
	return rc;
}

/* ---- parser ---- */

struct scan {
	const char *p;
	size_t len, off;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct scan *s)
{
	while (s->off < s->len && is_space(s->p[s->off]))
		s->off++;
}

static bool take_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->len - s->off < n || memcmp(s->p + s->off, lit, n) != 0)
		return false;
	s->off += n;
	return true;
}

/* One attribute value, unescaped into a fresh string of at most
 * LIMIT_PATH_BYTES bytes. */
static int take_value(char **out, struct scan *s)
{
	char quote, *v;
	size_t n = 0;

	if (s->off >= s->len || (s->p[s->off] != '"' && s->p[s->off] != '\''))
		return err_set(-EBADMSG, "FDT: attribute value not quoted at byte %zu", s->off);
	quote = s->p[s->off++];
	v = mem_alloc(LIMIT_PATH_BYTES + 1);
	if (!v)
		return -ENOMEM;
	for (;;) {
		char c;

		if (s->off >= s->len) {
			mem_free(v);
			return err_set(-EBADMSG, "FDT: attribute value not closed");
		}
		c = s->p[s->off++];
		if (c == quote)
			break;
		if (c == '<' || c == '\0') {
			mem_free(v);
			return err_set(-EBADMSG, "FDT: '<' or NUL in an attribute value");
		}
		if (c == '&') {
			static const struct { const char *name; char c; } ents[] = {
				{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
				{ "quot;", '"' }, { "apos;", '\'' },
			};
			size_t e = 0;

			while (e < ARRAY_SIZE(ents) && !take_lit(s, ents[e].name))
				e++;
			if (e == ARRAY_SIZE(ents)) {
				mem_free(v);
				return err_set(-EBADMSG, "FDT: unknown entity at byte %zu", s->off);
			}
			c = ents[e].c;
		}
		if (n == LIMIT_PATH_BYTES) {
			mem_free(v);
			return err_set(-EBADMSG, "FDT: attribute value over %u bytes", LIMIT_PATH_BYTES);
		}
		v[n++] = c;
	}
	v[n] = '\0';
	*out = v;
	return 0;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '-' || c == '_' || c == '.';
}

/* name = value; *name points into the input, *name_len its length. */
static int take_attr(const char **name, size_t *name_len, char **value, struct scan *s)
{
	size_t start = s->off;

	while (s->off < s->len && is_name_char(s->p[s->off]))
		s->off++;
	if (s->off == start || s->off - start > 64)
		return err_set(-EBADMSG, "FDT: bad attribute name at byte %zu", start);
	*name = s->p + start;
	*name_len = s->off - start;
	skip_space(s);
	if (!take_lit(s, "="))
		return err_set(-EBADMSG, "FDT: '=' missing at byte %zu", s->off);
	skip_space(s);
	return take_value(value, s);
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(name, want, n) == 0;
}

static int parse_u64(uint64_t *out, const char *v, uint64_t max, const char *what)
{
	uint64_t x = 0;

	if (!*v || strlen(v) > 20 || (v[0] == '0' && v[1]))
		return err_set(-EBADMSG, "FDT: %s \"%.24s\" is not a number", what, v);
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || x > (max - (uint64_t)(*v - '0')) / 10)
			return err_set(-EBADMSG, "FDT: %s is not a number up to %llu", what,
				       (unsigned long long)max);
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*out = x;
	return 0;
}

/* The attributes of the element at s, up to and including its end: "/>"
 * when self_closing, else ">".  fn sees each attribute; duplicate names
 * are refused. */
enum { MAX_ATTRS = 16 };

struct attr {
	const char *name;
	size_t len;
};

static int take_attrs(struct scan *s, bool self_closing,
		      int (*fn)(void *ctx, const char *name, size_t n, char *value), void *ctx)
{
	struct attr seen[MAX_ATTRS];
	size_t nseen = 0;
	int rc;

	for (;;) {
		const char *name = NULL;
		size_t n = 0;
		char *value = NULL;
		bool had_space = s->off < s->len && is_space(s->p[s->off]);

		skip_space(s);
		if (take_lit(s, self_closing ? "/>" : ">"))
			return 0;
		if (!had_space)
			return err_set(-EBADMSG, "FDT: malformed element at byte %zu", s->off);
		rc = take_attr(&name, &n, &value, s);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < nseen; i++)
			if (seen[i].len == n && memcmp(seen[i].name, name, n) == 0) {
				mem_free(value);
				return err_set(-EBADMSG, "FDT: attribute %.*s twice", (int)n, name);
			}
		if (nseen == MAX_ATTRS) {
			mem_free(value);
			return err_set(-EBADMSG, "FDT: more than %d attributes", MAX_ATTRS);
		}
		seen[nseen++] = (struct attr){ name, n };
		rc = fn(ctx, name, n, value); /* takes value */
		if (rc < 0)
			return rc;
	}
}

static int instance_attr(void *ctx, const char *name, size_t n, char *value)
{
	struct flute_fdt *fdt = ctx;
	int rc = 0;

	if (name_is(name, n, "Expires"))
		rc = parse_u64(&fdt->expires, value, UINT32_MAX, "Expires");
	else if (name_is(name, n, "xmlns") && strcmp(value, FDT_NS) != 0)
		rc = err_set(-EBADMSG, "FDT: namespace is not " FDT_NS);
	mem_free(value);
	return rc;
}

struct file_attrs {
	uint64_t toi, length;
	uint8_t sha[32];
	char *location;
	unsigned have; /* bits: 1 TOI, 2 location, 4 length, 8 sha256 */
};

static int file_attr(void *ctx, const char *name, size_t n, char *value)
{
	struct file_attrs *a = ctx;
	int rc = 0;

	if (name_is(name, n, "TOI")) {
		rc = parse_u64(&a->toi, value, UINT32_MAX, "TOI");
		a->have |= 1;
	} else if (name_is(name, n, "Content-Location")) {
		a->location = value;
		a->have |= 2;
		return 0;
	} else if (name_is(name, n, "Content-Length")) {
		rc = parse_u64(&a->length, value, LIMIT_FILE_BYTES, "Content-Length");
		a->have |= 4;
	} else if (name_is(name, n, "ferry:sha256")) {
		if (strlen(value) != 64 || hex_decode(a->sha, 32, value, 64) < 0)
			rc = err_set(-EBADMSG, "FDT: ferry:sha256 is not 64 hex digits");
		a->have |= 8;
	}
	mem_free(value);
	return rc;
}

static int take_file(struct flute_fdt *fdt, struct scan *s)
{
	struct file_attrs a = { 0 };
	int rc = take_attrs(s, true, file_attr, &a);

	if (rc == 0 && a.have != 15)
		rc = err_set(-EBADMSG, "FDT: File element %zu lacks TOI, Content-Location, "
				       "Content-Length or ferry:sha256", fdt->n + 1);
	if (rc == 0 && a.toi == FLUTE_FDT_TOI)
		rc = err_set(-EBADMSG, "FDT: a File with TOI 0");
	if (rc == 0 && mf_path_check(a.location, strlen(a.location)) < 0)
		rc = err_set(-EBADMSG, "FDT: unsafe Content-Location \"%.100s\"", a.location);
	if (rc == 0)
		rc = add_owned(fdt, (uint32_t)a.toi, a.location, a.length, a.sha);
	if (rc < 0)
		mem_free(a.location);
	return rc;
}

static int by_toi(const void *x, const void *y)
{
	const struct flute_fdt_file *a = *(const struct flute_fdt_file *const *)x;
	const struct flute_fdt_file *b = *(const struct flute_fdt_file *const *)y;

	return a->toi < b->toi ? -1 : a->toi > b->toi;
}

static int by_location(const void *x, const void *y)
{
	const struct flute_fdt_file *a = *(const struct flute_fdt_file *const *)x;
	const struct flute_fdt_file *b = *(const struct flute_fdt_file *const *)y;

	return strcmp(a->location, b->location);
}

static int check_unique(const struct flute_fdt *fdt)
{
	AUTO_FREE const struct flute_fdt_file **v = NULL;

	if (fdt->n < 2)
		return 0;
	v = mem_calloc(fdt->n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < fdt->n; i++)
		v[i] = &fdt->files[i];
	qsort(v, fdt->n, sizeof(*v), by_toi);
	for (size_t i = 1; i < fdt->n; i++)
		if (v[i]->toi == v[i - 1]->toi)
			return err_set(-EBADMSG, "FDT: TOI %u listed twice", v[i]->toi);
	qsort(v, fdt->n, sizeof(*v), by_location);
	for (size_t i = 1; i < fdt->n; i++)
		if (strcmp(v[i]->location, v[i - 1]->location) == 0)
			return err_set(-EBADMSG, "FDT: %.100s listed twice", v[i]->location);
	return 0;
}

int flute_fdt_parse(struct flute_fdt *out, const void *xml, size_t len)
{
	struct scan s = { xml, len, 0 };
	int rc;

	flute_fdt_init(out);
	if (len > FLUTE_FDT_MAX_BYTES)
		return err_set(-EFBIG, "FDT: %zu bytes, over %u", len, FLUTE_FDT_MAX_BYTES);
	skip_space(&s);
	if (take_lit(&s, "<?xml")) {
		const char *end = memmem(s.p + s.off, s.len - s.off, "?>", 2);

		if (!end)
			return err_set(-EBADMSG, "FDT: XML declaration not closed");
		s.off = (size_t)(end - s.p) + 2;
		skip_space(&s);
	}
	if (!take_lit(&s, "<FDT-Instance"))
		return err_set(-EBADMSG, "FDT: no FDT-Instance element");
	rc = take_attrs(&s, false, instance_attr, out);
	if (rc < 0)
		return rc;
	for (;;) {
		skip_space(&s);
		if (take_lit(&s, "</FDT-Instance>"))
			break;
		if (!take_lit(&s, "<File"))
			return err_set(-EBADMSG, "FDT: unexpected content at byte %zu", s.off);
		rc = take_file(out, &s);
		if (rc < 0)
			return rc;
	}
	skip_space(&s);
	if (s.off != s.len)
		return err_set(-EBADMSG, "FDT: %zu bytes after </FDT-Instance>", s.len - s.off);
	return check_unique(out);
}

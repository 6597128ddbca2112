/*
 * git_libgit2_commit.c — release commits: written byte for byte as git
 * writes them, signed the way `git commit -S` signs, parsed back strictly.
 *
 * A release commit is "tree", an optional "parent", "author" and
 * "committer" (the same identity and time, in UTC), perhaps a "gpgsig"
 * header, a blank line and the message.  The signer sees exactly the
 * unsigned object; its armored text goes into the gpgsig header with every
 * line after the first indented by one space.  Reading splits a commit the
 * way git verify-commit does: the gpgsig value (indent removed, each line
 * ending in '\n') and the payload (the object without that header), which
 * is what was signed.
 *
 * Objects are stored and fetched through git_libgit2.c
 * (git_libgit2_int.h); this file does not include libgit2.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"

/* git's year 9999, far past any release and inside every parser. */
#define WHEN_MAX 253402300799LL

static int ident_check(const char *what, const char *s)
{
	size_t n = strnlen(s, LIMIT_NAME_BYTES + 1);

	if (n == 0 || n > LIMIT_NAME_BYTES)
		return err_set(-EINVAL, "commit %s: empty or longer than %u bytes", what,
			       LIMIT_NAME_BYTES);
	if (s[0] == ' ' || s[n - 1] == ' ')
		return err_set(-EINVAL, "commit %s: leading or trailing space", what);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return err_set(-EINVAL,
				       "commit %s: contains '<', '>' or a control character", what);
	}
	return 0;
}

/* The commit object exactly as git writes it, without a signature. */
static int commit_format(struct buf *out, const struct mgit_oid *tree,
			 const struct mgit_oid *parent, const char *name, const char *email,
			 int64_t when, const char *message)
{
	char hex[MGIT_OID_HEX + 1];
	int r;

	mgit_oid_fmt(hex, tree);
	r = buf_printf(out, "tree %s\n", hex);
	if (r >= 0 && parent) {
		mgit_oid_fmt(hex, parent);
		r = buf_printf(out, "parent %s\n", hex);
	}
	if (r >= 0)
		r = buf_printf(out, "author %s <%s> %lld +0000\ncommitter %s <%s> %lld +0000\n\n",
			       name, email, (long long)when, name, email, (long long)when);
	if (r >= 0)
		r = buf_append_str(out, message);
	return r == -EFBIG ? err_set(r, "commit larger than %u bytes", LIMIT_GIT_COMMIT_BYTES) : r;
}

/*
 * Inserts the signature as git's sign_with_header() does: a "gpgsig"
 * header at the end of the header block, its first line after "gpgsig ",
 * every further line after one space.
 */
static int commit_add_signature(struct buf *out, const struct buf *unsigned_commit,
				const struct buf *sig)
{
	const char *text = (const char *)unsigned_commit->data;
	const char *eoh = strstr(text, "\n\n");
	size_t head = (size_t)(eoh - text) + 1;
	int r = buf_append(out, text, head);

	if (r >= 0)
		r = buf_append_str(out, "gpgsig ");
	for (size_t i = 0; r >= 0 && i < sig->len; i++) {
		r = buf_append_byte(out, sig->data[i]);
		if (r >= 0 && sig->data[i] == '\n' && i + 1 < sig->len)
			r = buf_append_byte(out, ' ');
	}
	if (r >= 0 && sig->data[sig->len - 1] != '\n')
		r = buf_append_byte(out, '\n');
	if (r >= 0)
		r = buf_append(out, text + head, unsigned_commit->len - head);
	return r == -EFBIG
		   ? err_set(r, "signed commit larger than %u bytes", LIMIT_GIT_COMMIT_BYTES)
		   : r;
}

static int signature_check(const struct buf *sig)
{
	if (sig->len == 0)
		return err_set(-EINVAL, "the signer returned an empty signature");
	if (memchr(sig->data, 0, sig->len) || memchr(sig->data, '\r', sig->len))
		return err_set(-EINVAL, "the signature holds a NUL or CR byte");
	return 0;
}

static int commit_check_args(struct mgit *g, const struct mgit_oid *tree,
			     const struct mgit_oid *parent, const char *name, const char *email,
			     int64_t when)
{
	int r = ident_check("name", name);

	if (r >= 0)
		r = ident_check("email", email);
	if (r >= 0 && (when < 0 || when > WHEN_MAX))
		r = err_set(-EINVAL, "commit time %lld out of range", (long long)when);
	if (r >= 0)
		r = mgit_obj_expect(g, tree, MGIT_KIND_TREE, "commit tree");
	if (r >= 0 && parent)
		r = mgit_obj_expect(g, parent, MGIT_KIND_COMMIT, "commit parent");
	return r;
}

int mgit_commit_create(struct mgit_oid *out, struct mgit *g, const struct mgit_oid *tree,
		       const struct mgit_oid *parent, const char *name, const char *email,
		       int64_t when, const char *message, mgit_sign_fn sign, void *ctx)
{
	struct buf text, sig, signed_text;
	int r = commit_check_args(g, tree, parent, name, email, when);

	if (r < 0)
		return r;
	buf_init(&text, LIMIT_GIT_COMMIT_BYTES);
	buf_init(&sig, LIMIT_SIGNATURE_BYTES);
	buf_init(&signed_text, LIMIT_GIT_COMMIT_BYTES);
	r = commit_format(&text, tree, parent, name, email, when, message);
	if (r >= 0 && !sign) {
		r = mgit_obj_write(out, g, MGIT_KIND_COMMIT, text.data, text.len);
		goto out;
	}
	if (r >= 0)
		r = sign(&sig, text.data, text.len, ctx);
	if (r >= 0)
		r = signature_check(&sig);
	if (r >= 0)
		r = commit_add_signature(&signed_text, &text, &sig);
	if (r >= 0)
		r = mgit_obj_write(out, g, MGIT_KIND_COMMIT, signed_text.data, signed_text.len);
out:
	buf_release(&text);
	buf_release(&sig);
	buf_release(&signed_text);
	return r < 0 ? r : 0;
}

void mgit_commit_release(struct mgit_commit *c)
{
	mem_free(c->message);
	mem_free(c->signature);
	mem_free(c->payload);
	memset(c, 0, sizeof(*c));
}

/* One header line of a commit being parsed, without its '\n'. */
struct cline {
	const char *p;
	size_t n;
};

static bool cline_key(const struct cline *l, const char *key, const char **value)
{
	size_t k = strlen(key);

	if (l->n <= k || memcmp(l->p, key, k) != 0 || l->p[k] != ' ')
		return false;
	*value = l->p + k + 1;
	return true;
}

static int cline_oid(struct mgit_oid *out, const struct cline *l, const char *key)
{
	char hex[MGIT_OID_HEX + 1];
	const char *v;

	if (!cline_key(l, key, &v) || l->n != strlen(key) + 1 + MGIT_OID_HEX)
		return err_set(-EBADMSG, "commit: bad or missing \"%s\" line", key);
	memcpy(hex, v, MGIT_OID_HEX);
	hex[MGIT_OID_HEX] = '\0';
	return mgit_oid_parse(out, hex) < 0 ? err_set(-EBADMSG, "commit: bad %s ID", key) : 0;
}

/* "Name <email> 1700000000 +0800" after the key: the time. */
static int ident_time(int64_t *out, const struct cline *l)
{
	const char *gt = memrchr(l->p, '>', l->n), *p, *end = l->p + l->n;
	int64_t t = 0;

	if (!gt || !memchr(l->p, '<', (size_t)(gt - l->p)) || end - gt < 3 || gt[1] != ' ')
		return err_set(-EBADMSG, "commit: malformed identity line");
	for (p = gt + 2; p < end && *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(t, 10, &t) || __builtin_add_overflow(t, *p - '0', &t))
			return err_set(-EBADMSG, "commit: time out of range");
	}
	if (p == gt + 2 || end - p != 6 || p[0] != ' ' || (p[1] != '+' && p[1] != '-'))
		return err_set(-EBADMSG, "commit: malformed time or time zone");
	for (int i = 2; i < 6; i++) {
		if (p[i] < '0' || p[i] > '9')
			return err_set(-EBADMSG, "commit: malformed time zone");
	}
	*out = t;
	return 0;
}

enum cstate { C_TREE, C_PARENTS, C_COMMITTER, C_EXTRA };

/* The header block is split into the signed payload and the gpgsig value,
 * the way git's parse_signed_commit() splits it. */
struct cparse {
	struct mgit_commit *c;
	enum cstate state;
	struct buf payload;
	struct buf sig;
	bool have_sig;
	bool in_sig;	/* the last header line belonged to gpgsig */
	bool any_extra; /* an extra header was seen (continuations allowed) */
};

static int append_line(struct buf *b, const char *p, size_t n)
{
	int r = buf_append(b, p, n);

	return r < 0 ? r : buf_append_byte(b, '\n');
}

/* An extra header is "key value" with a lowercase key that is none of the
 * fixed ones ("parent" after "committer" is not a parent). */
static bool extra_key_ok(const struct cline *l)
{
	static const char *const fixed[] = {"tree", "parent", "author", "committer"};
	const char *sp = memchr(l->p, ' ', l->n), *v;

	if (!sp || sp == l->p)
		return false;
	for (const char *c = l->p; c < sp; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (cline_key(l, fixed[i], &v))
			return false;
	}
	return true;
}

/* Headers after committer: gpgsig, encoding, mergetag, ... */
static int cparse_extra(struct cparse *cp, const struct cline *l)
{
	const char *v;

	if (l->p[0] == ' ') {
		if (cp->in_sig)
			return append_line(&cp->sig, l->p + 1, l->n - 1);
		if (!cp->any_extra)
			return err_set(-EBADMSG, "commit: continuation line after committer");
		return append_line(&cp->payload, l->p, l->n);
	}
	cp->in_sig = false;
	cp->any_extra = true;
	if (!extra_key_ok(l))
		return err_set(-EBADMSG, "commit: malformed header \"%.*s\"",
			       (int)(l->n > 40 ? 40 : l->n), l->p);
	if (cline_key(l, "gpgsig", &v)) {
		if (cp->have_sig)
			return err_set(-EBADMSG, "commit: two gpgsig headers");
		cp->have_sig = cp->in_sig = true;
		return append_line(&cp->sig, v, l->n - 7);
	}
	return append_line(&cp->payload, l->p, l->n);
}

static int cparse_line(struct cparse *cp, const struct cline *l)
{
	struct mgit_oid parent;
	int64_t t;
	const char *v;
	int r = 0;

	switch (cp->state) {
	case C_TREE:
		r = cline_oid(&cp->c->tree, l, "tree");
		cp->state = C_PARENTS;
		break;
	case C_PARENTS:
		if (cline_key(l, "parent", &v)) {
			r = cline_oid(&parent, l, "parent");
			if (r >= 0 && cp->c->parent_count++ == 0) {
				cp->c->parent = parent;
				cp->c->has_parent = true;
			}
			if (cp->c->parent_count > LIMIT_PATH_DEPTH)
				r = err_set(-EBADMSG, "commit: too many parents");
			break;
		}
		if (!cline_key(l, "author", &v))
			return err_set(-EBADMSG, "commit: no author line");
		r = ident_time(&t, l);
		cp->state = C_COMMITTER;
		break;
	case C_COMMITTER:
		if (!cline_key(l, "committer", &v))
			return err_set(-EBADMSG, "commit: no committer line after author");
		r = ident_time(&cp->c->time, l);
		cp->state = C_EXTRA;
		break;
	case C_EXTRA:
		return cparse_extra(cp, l);
	}
	return r < 0 ? r : append_line(&cp->payload, l->p, l->n);
}

static int commit_finish(struct mgit_commit *c, struct cparse *cp, const char *body, size_t n)
{
	int r = buf_append_byte(&cp->payload, '\n');

	if (r >= 0)
		r = buf_append(&cp->payload, body, n);
	if (r < 0)
		return r;
	c->message = mem_strndup(body, n);
	if (!c->message)
		return -ENOMEM;
	c->payload = buf_detach(&cp->payload, &c->payload_len);
	if (cp->have_sig)
		c->signature = (char *)buf_detach(&cp->sig, &c->signature_len);
	return c->payload && (!cp->have_sig || c->signature) ? 0 : -ENOMEM;
}

/* Strict: "tree", "parent"*, "author", "committer", then extra headers
 * (with continuation lines), a blank line and the message; no NUL. */
static int commit_parse(struct mgit_commit *c, const struct buf *raw)
{
	const char *p = (const char *)raw->data, *end = p + raw->len, *body = NULL;
	struct cparse cp = {.c = c};
	int r = 0;

	buf_init(&cp.payload, LIMIT_GIT_COMMIT_BYTES);
	buf_init(&cp.sig, LIMIT_GIT_COMMIT_BYTES);
	if (raw->len && memchr(p, 0, raw->len))
		r = err_set(-EBADMSG, "commit: NUL byte");
	while (r >= 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cline l = {p, nl ? (size_t)(nl - p) : 0};

		if (!nl)
			r = err_set(-EBADMSG, "commit: header not terminated");
		else if (l.n == 0)
			body = nl + 1;
		else
			r = cparse_line(&cp, &l);
		if (r < 0 || body)
			break;
		p = nl + 1;
	}
	if (r >= 0 && (!body || cp.state != C_EXTRA))
		r = err_set(-EBADMSG, "commit: missing tree, author, committer or blank line");
	if (r >= 0)
		r = commit_finish(c, &cp, body, (size_t)(end - body));
	buf_release(&cp.payload);
	buf_release(&cp.sig);
	return r;
}

int mgit_commit_parse(struct mgit_commit *out, const void *p, size_t n)
{
	const struct buf raw = {.data = (uint8_t *)p, .len = n, .cap = n, .max = n};
	int r;

	memset(out, 0, sizeof(*out));
	r = commit_parse(out, &raw);
	if (r < 0)
		mgit_commit_release(out);
	return r < 0 ? r : 0;
}

int mgit_commit_read(struct mgit_commit *out, struct mgit *g, const struct mgit_oid *id)
{
	char hex[MGIT_OID_HEX + 1];
	struct buf raw;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&raw, LIMIT_GIT_COMMIT_BYTES);
	r = mgit_obj_read(&raw, g, id, MGIT_KIND_COMMIT, LIMIT_GIT_COMMIT_BYTES);
	if (r >= 0) {
		r = commit_parse(out, &raw);
		if (r < 0 && r != -ENOMEM) {
			mgit_oid_fmt(hex, id);
			r = mgit_err_wrap(r, "%s", hex);
		}
	}
	buf_release(&raw);
	if (r < 0)
		mgit_commit_release(out);
	return r < 0 ? r : 0;
}

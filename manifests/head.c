/*
 * head.c — formatting, parsing, signing and checking channel heads (see
 * head.h).
 *
 * One table lists the body's fields in order with their kind and place in
 * struct mf_head; the formatter and the parser both walk it, so the two
 * cannot drift apart and a head that parses formats back to the same
 * bytes (the fuzz target checks exactly that).  The parser reads each line
 * whole, insists on the expected key, and checks the value against its
 * kind with no tolerance: no blanks, no signs, no leading zeros, no
 * uppercase hex, no overflow.
 */
#include "manifests/head.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/codec_text.h"
#include "manifests/sshsig.h"

#define HEAD_MAGIC "ferry-head"
#define U64_DIGITS_MAX 20
#define PACK_PREFIX "pack-"
#define PACK_SUFFIX ".pack"

enum field_kind {
	FIELD_HEX,     /* lowercase hex of len bytes */
	FIELD_CHANNEL, /* mf_channel_valid() */
	FIELD_U64,     /* decimal, no leading zeros */
	FIELD_PACK,    /* pack-<40 hex>.pack */
};

struct field_def {
	const char *key;
	enum field_kind kind;
	size_t off;
	size_t len;
};

static const struct field_def fields[] = {
    {"repo", FIELD_HEX, offsetof(struct mf_head, repo), MF_HEAD_REPO_ID_LEN},
    {"channel", FIELD_CHANNEL, offsetof(struct mf_head, channel), 0},
    {"version", FIELD_U64, offsetof(struct mf_head, version), 0},
    {"commit", FIELD_HEX, offsetof(struct mf_head, commit), MF_HEAD_COMMIT_LEN},
    {"time", FIELD_U64, offsetof(struct mf_head, time), 0},
    {"expires", FIELD_U64, offsetof(struct mf_head, expires), 0},
    {"files", FIELD_U64, offsetof(struct mf_head, files), 0},
    {"size", FIELD_U64, offsetof(struct mf_head, size), 0},
    {"stored", FIELD_U64, offsetof(struct mf_head, stored), 0},
    {"git-pack", FIELD_PACK, offsetof(struct mf_head, git_pack), 0},
};

/* ---- channel names ---- */

static bool is_windows_device(const char *s, size_t n)
{
	static const char *const plain[] = {"con", "prn", "aux", "nul"};
	const char *dot = memchr(s, '.', n);
	size_t base = dot ? (size_t)(dot - s) : n;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (base == 3 && memcmp(s, plain[i], 3) == 0)
			return true;
	}
	return base == 4 && (memcmp(s, "com", 3) == 0 || memcmp(s, "lpt", 3) == 0) && s[3] >= '1' &&
	       s[3] <= '9';
}

static bool segment_valid(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	if (n >= 5 && memcmp(s + n - 5, ".lock", 5) == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
		/* git refuses ".." anywhere in a ref name. */
		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
	}
	return !is_windows_device(s, n);
}

bool mf_channel_valid(const char *name)
{
	size_t n, start = 0;

	if (!name)
		return false;
	n = strnlen(name, LIMIT_CHANNEL_BYTES + 1);
	if (n == 0 || n > LIMIT_CHANNEL_BYTES)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '/') {
			if (!segment_valid(name + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* ---- format ---- */

static bool pack_name_valid(const char *s, size_t n)
{
	const size_t pl = sizeof(PACK_PREFIX) - 1, sl = sizeof(PACK_SUFFIX) - 1;

	if (n != MF_HEAD_GIT_PACK_LEN || memcmp(s, PACK_PREFIX, pl) != 0 ||
	    memcmp(s + n - sl, PACK_SUFFIX, sl) != 0)
		return false;
	for (size_t i = pl; i < n - sl; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* The rules that tie fields together, shared by format and parse. */
static const char *head_rule_broken(const struct mf_head *h)
{
	if (h->version == 0)
		return "version must be at least 1";
	if (h->expires != 0 && h->expires <= h->time)
		return "expires must be 0 or after time";
	return NULL;
}

static int field_format(struct buf *out, const struct mf_head *h, const struct field_def *f)
{
	const uint8_t *p = (const uint8_t *)h + f->off;
	char hex[2 * MF_HEAD_COMMIT_LEN + 1];
	uint64_t v;

	switch (f->kind) {
	case FIELD_HEX:
		hex_encode(hex, p, f->len);
		return buf_printf(out, "%s %s\n", f->key, hex);
	case FIELD_U64:
		memcpy(&v, p, sizeof(v));
		return buf_printf(out, "%s %" PRIu64 "\n", f->key, v);
	case FIELD_CHANNEL:
	case FIELD_PACK:
		return buf_printf(out, "%s %s\n", f->key, (const char *)p);
	}
	return -EINVAL;
}

int mf_head_format(struct buf *out, const struct mf_head *h)
{
	size_t start = out->len;
	const char *broken = head_rule_broken(h);
	int e;

	if (!mf_channel_valid(h->channel))
		return err_set(-EINVAL, "head: channel name is not valid");
	if (!pack_name_valid(h->git_pack, strnlen(h->git_pack, sizeof(h->git_pack))))
		return err_set(-EINVAL, "head: git pack name is not pack-<40 hex>.pack");
	if (broken)
		return err_set(-EINVAL, "head: %s", broken);
	e = buf_printf(out, "%s %d\n", HEAD_MAGIC, MF_HEAD_FORMAT_VERSION);
	for (size_t i = 0; e >= 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
		e = field_format(out, h, &fields[i]);
	if (e < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
	}
	return e;
}

/* ---- parse ---- */

struct lines {
	const char *p;
	size_t n;
	size_t off;
	unsigned no;
};

/* Takes the next line, which must be "<key> <value>\n". */
static int line_take(const char **val, size_t *vlen, struct lines *l, const char *key)
{
	const char *s = l->p + l->off, *nl;
	size_t kl = strlen(key), len;

	l->no++;
	if (l->off >= l->n)
		return err_set(-EBADMSG, "head ends before line %u (%s)", l->no, key);
	nl = memchr(s, '\n', l->n - l->off);
	if (!nl)
		return err_set(-EBADMSG, "head line %u does not end with a newline", l->no);
	len = (size_t)(nl - s);
	if (len <= kl || memcmp(s, key, kl) != 0 || s[kl] != ' ')
		return err_set(-EBADMSG, "head line %u is not \"%s ...\"", l->no, key);
	*val = s + kl + 1;
	*vlen = len - kl - 1;
	l->off += len + 1;
	return 0;
}

static bool u64_parse(uint64_t *out, const char *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || n > U64_DIGITS_MAX || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

static bool lower_hex_parse(uint8_t *out, size_t len, const char *s, size_t n)
{
	if (n != 2 * len)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return hex_decode(out, len, s, n) == 0;
}

static int field_parse(struct mf_head *h, const struct field_def *f, const char *v, size_t n,
		       unsigned no)
{
	uint8_t *p = (uint8_t *)h + f->off;
	uint64_t u;
	bool ok = false;

	switch (f->kind) {
	case FIELD_HEX:
		ok = lower_hex_parse(p, f->len, v, n);
		break;
	case FIELD_U64:
		ok = u64_parse(&u, v, n);
		if (ok)
			memcpy(p, &u, sizeof(u));
		break;
	case FIELD_CHANNEL:
		if (n <= LIMIT_CHANNEL_BYTES && !memchr(v, '\0', n)) {
			memcpy(p, v, n);
			p[n] = '\0';
			ok = mf_channel_valid((const char *)p);
		}
		break;
	case FIELD_PACK:
		ok = pack_name_valid(v, n);
		if (ok) {
			memcpy(p, v, n);
			p[n] = '\0';
		}
		break;
	}
	return ok ? 0 : err_set(-EBADMSG, "head line %u: %s value is not valid", no, f->key);
}

int mf_head_parse(struct mf_head *out, const void *p, size_t n)
{
	struct lines l = {.p = p, .n = n};
	const char *v, *broken;
	size_t vl;
	int e;

	memset(out, 0, sizeof(*out));
	if (n > LIMIT_HEAD_BYTES)
		return err_set(-EFBIG, "head larger than %u bytes", LIMIT_HEAD_BYTES);
	e = line_take(&v, &vl, &l, HEAD_MAGIC);
	if (e < 0)
		return err_set(e, "not a ferry head");
	if (vl != 1 || v[0] != '0' + MF_HEAD_FORMAT_VERSION)
		return err_set(-EBADMSG, "head format version is not %d", MF_HEAD_FORMAT_VERSION);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		e = line_take(&v, &vl, &l, fields[i].key);
		if (e >= 0)
			e = field_parse(out, &fields[i], v, vl, l.no);
		if (e < 0)
			goto fail;
	}
	broken = head_rule_broken(out);
	if (l.off != n)
		e = err_set(-EBADMSG, "head has more after the git-pack line");
	else if (broken)
		e = err_set(-EBADMSG, "head: %s", broken);
fail:
	if (e < 0)
		memset(out, 0, sizeof(*out));
	return e;
}

/* ---- signed head files ---- */

/* Where the signature starts: the first line that is its BEGIN line. */
static const char *signature_start(const char *f, size_t n)
{
	static const char mark[] = "-----BEGIN " SSHSIG_ARMOR "-----";
	const char *nl = n ? memchr(f, '\n', n) : NULL;

	while (nl) {
		size_t left = n - (size_t)(nl + 1 - f);

		if (left >= sizeof(mark) - 1 && memcmp(nl + 1, mark, sizeof(mark) - 1) == 0)
			return nl + 1;
		nl = memchr(nl + 1, '\n', left);
	}
	return NULL;
}

int mf_head_sign(struct buf *file_out, const struct mf_head *h, const struct ssh_privkey *k)
{
	struct buf body;
	size_t start = file_out->len;
	int e;

	buf_init(&body, LIMIT_HEAD_BYTES);
	e = mf_head_format(&body, h);
	if (e >= 0)
		e = buf_append(file_out, body.data, body.len);
	if (e >= 0)
		e = sshsig_sign(file_out, k, SSHSIG_NS_HEAD, body.data, body.len);
	buf_release(&body);
	if (e < 0) {
		file_out->len = start;
		if (file_out->data)
			file_out->data[start] = 0;
	}
	return e;
}

int mf_head_verify(struct mf_head *out, size_t *signer_out, const void *file, size_t n,
		   const struct ssh_pubkey *trusted, size_t ntrusted)
{
	const char *f = file, *at;
	size_t body_len, which;
	int e;

	memset(out, 0, sizeof(*out));
	if (n > LIMIT_HEAD_BYTES)
		return err_set(-EFBIG, "head file larger than %u bytes", LIMIT_HEAD_BYTES);
	at = signature_start(f, n);
	if (!at)
		return err_set(-EBADMSG, "head file has no signature");
	body_len = (size_t)(at - f);
	e = sshsig_verify(&which, trusted, ntrusted, SSHSIG_NS_HEAD, f + body_len, n - body_len, f,
			  body_len);
	if (e < 0)
		return e;
	e = mf_head_parse(out, f, body_len);
	if (e < 0)
		return e;
	*signer_out = which;
	return 0;
}

/*
 * sshkey.c — reading and writing OpenSSH Ed25519 keys (see sshkey.h).
 *
 * Three layers, bottom up: the armor (BEGIN/END lines around wrapped
 * base64), the wire blobs (SSH strings read with the bounded struct rd),
 * and the two file forms on top.  Key files come from the admin, but a key
 * handed over on a stick is as hostile as anything else, so every field is
 * length-checked before use and nothing is accepted that ssh-keygen would
 * not have written (apart from CRLF line ends, which a trip through a
 * Windows editor adds).
 *
 * The private key path never lets seed bytes reach a block that is freed
 * unwiped: the file buffer and the decoded buffer are each allocated once
 * at full size (so no realloc copies them) and wiped by a cleanup handler.
 */
#include "manifests/sshkey.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"

#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
/* ssh-keygen wraps armor at 70 columns; PROTOCOL.sshsig allows 76. */
#define ARMOR_WRAP 70
#define ARMOR_LINE_MAX 76
#define ARMOR_LABEL_MAX 40
/* PROTOCOL.key: "openssh-key-v1" and its NUL. */
#define PRIVKEY_MAGIC "openssh-key-v1"
#define PRIVKEY_MAGIC_LEN 15
/* Cipher "none" pads the private section to 8-byte blocks. */
#define PRIVKEY_BLOCK 8
/* Room for one key file read: fs_read_file() asks for up to 64 KiB of
 * space beyond what it has read, so the buffer must exceed the file limit
 * by that much for the single up-front allocation to suffice. */
#define KEY_READ_ROOM ((size_t)LIMIT_KEY_FILE_BYTES + 65536u + 1u)

/* Wipes a buffer's whole allocation, then frees it.  Used as a cleanup
 * attribute on every buffer that may hold key material. */
static void buf_wipe_release(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

#define AUTO_WIPE __attribute__((cleanup(buf_wipe_release)))

/* Drops what a failed formatter appended past start. */
static int undo_append(struct buf *b, size_t start, int e)
{
	b->len = start;
	if (b->data)
		b->data[start] = 0;
	return e;
}

static bool bytes_are(const uint8_t *p, size_t n, const char *s)
{
	return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* A key type name worth quoting back in an error: short, and of the
 * characters SSH algorithm names use. */
static bool type_name_printable(const uint8_t *p, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '@' || c == '_'))
			return false;
	}
	return true;
}

static int type_refused(const uint8_t *type, size_t n)
{
	if (type_name_printable(type, n))
		return err_set(-ENOTSUP, "only ssh-ed25519 keys are supported (this key is %.*s)",
			       (int)n, (const char *)type);
	return err_set(-EBADMSG, "not an OpenSSH key: the key type is garbled");
}

/* ---- armor ---- */

static int b64_value(char c)
{
	const char *q = c ? strchr(B64_ALPHABET, c) : NULL;

	return q ? (int)(q - B64_ALPHABET) : -1;
}

/*
 * Checks that s (no whitespace) is canonical padded base64: whole groups
 * of four, at most two '=' and only at the end, and zero in the bits the
 * padding leaves unused.  base64_decode() alone is more forgiving, and
 * two spellings of one blob would make a signature malleable.
 */
static bool b64_canonical(const char *s, size_t n)
{
	size_t pad = 0;
	int last;

	if (n == 0 || n % 4 != 0)
		return false;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		if (b64_value(s[i]) < 0)
			return false;
	}
	if (pad == 0)
		return true;
	last = b64_value(s[n - 1 - pad]);
	return pad == 1 ? (last & 3) == 0 : (last & 15) == 0;
}

/* The next line of t from *off: its start and length without the "\n" or
 * "\r\n" ending; *ended says whether it had one. */
static const char *take_line(const char *t, size_t len, size_t *off, size_t *ll, bool *ended)
{
	const char *s = t + *off;
	const char *nl = memchr(s, '\n', len - *off);
	size_t n = nl ? (size_t)(nl - s) : len - *off;

	*off += nl ? n + 1 : n;
	if (nl && n > 0 && s[n - 1] == '\r')
		n--;
	*ll = n;
	*ended = nl != NULL;
	return s;
}

static bool line_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/*
 * Walks the base64 lines after the BEGIN line up to the END line.  On
 * success *b64 and *b64_len span the lines (line ends included, which
 * base64_decode() skips) and *chars counts the base64 characters.
 */
static int armor_body(const char **b64, size_t *b64_len, size_t *chars, const char *text,
		      size_t len, size_t off, const char *end)
{
	size_t start = off, total = 0;
	bool pad_seen = false;

	for (;;) {
		size_t at = off, ll;
		bool ended;
		const char *s;

		if (off >= len)
			return err_set(-EBADMSG, "armor has no \"%s\" line", end);
		s = take_line(text, len, &off, &ll, &ended);
		if (line_is(s, ll, end)) {
			if (off != len)
				return err_set(-EBADMSG, "armor is followed by other data");
			*b64 = text + start;
			*b64_len = at - start;
			*chars = total;
			return 0;
		}
		if (!ended || ll == 0 || ll > ARMOR_LINE_MAX)
			return err_set(-EBADMSG, "armor line %zu bytes long is not base64", ll);
		for (size_t i = 0; i < ll; i++) {
			if (s[i] == '=')
				pad_seen = true;
			else if (pad_seen || b64_value(s[i]) < 0)
				return err_set(-EBADMSG, "armor holds a byte that is not base64");
		}
		total += ll;
	}
}

int sshkey_armor_decode(struct buf *out, const char *label, const char *text, size_t len)
{
	char begin[ARMOR_LABEL_MAX + 16], end[ARMOR_LABEL_MAX + 16], tail[4];
	const char *b64 = NULL, *s;
	size_t off = 0, ll, b64_len = 0, chars = 0, dense = 0;
	bool ended;
	int e;

	assert(strlen(label) <= ARMOR_LABEL_MAX);
	if (len == 0)
		return err_set(-EBADMSG, "armor is empty");
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	s = take_line(text, len, &off, &ll, &ended);
	if (!ended || !line_is(s, ll, begin))
		return err_set(-EBADMSG, "does not start with \"%s\"", begin);
	e = armor_body(&b64, &b64_len, &chars, text, len, off, end);
	if (e < 0)
		return e;
	if (chars == 0 || chars % 4 != 0)
		return err_set(-EBADMSG, "armor base64 is not whole groups of four");
	/* The canonical check needs the last group without line ends; the
	 * rest was checked character by character above. */
	for (size_t i = b64_len; i > 0 && dense < 4; i--) {
		if (b64[i - 1] != '\n' && b64[i - 1] != '\r')
			tail[3 - dense++] = b64[i - 1];
	}
	if (!b64_canonical(tail, 4))
		return err_set(-EBADMSG, "armor base64 is not in canonical form");
	e = buf_reserve(out, chars / 4 * 3);
	if (e < 0)
		return e;
	e = base64_decode(out, b64, b64_len);
	return e < 0 ? err_set(e, "armor base64 does not decode") : 0;
}

int sshkey_armor_encode(struct buf *out, const char *label, const void *p, size_t n)
{
	AUTO_WIPE struct buf b64 = {0};
	size_t start = out->len, enc_len;
	int e;

	if (n > SIZE_MAX / 4 - 3)
		return err_set(-EFBIG, "armor input too large");
	enc_len = (n + 2) / 3 * 4;
	buf_init(&b64, enc_len);
	e = buf_reserve(&b64, enc_len);
	if (e >= 0)
		e = base64_encode(&b64, p, n);
	if (e >= 0)
		e = buf_printf(out, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; e >= 0 && i < b64.len; i += ARMOR_WRAP) {
		size_t k = b64.len - i < ARMOR_WRAP ? b64.len - i : ARMOR_WRAP;

		e = buf_append(out, b64.data + i, k);
		if (e >= 0)
			e = buf_append_byte(out, '\n');
	}
	if (e >= 0)
		e = buf_printf(out, "-----END %s-----\n", label);
	return e < 0 ? undo_append(out, start, e) : 0;
}

/* ---- the key blob ---- */

static void blob_write(uint8_t blob[SSHKEY_BLOB_LEN], const uint8_t key[ED25519_PUB_LEN])
{
	const size_t tl = sizeof(SSHKEY_TYPE_ED25519) - 1;

	put_be32(blob, (uint32_t)tl);
	memcpy(blob + 4, SSHKEY_TYPE_ED25519, tl);
	put_be32(blob + 4 + tl, ED25519_PUB_LEN);
	memcpy(blob + 8 + tl, key, ED25519_PUB_LEN);
}

int sshkey_blob_append(struct buf *out, const uint8_t key[ED25519_PUB_LEN])
{
	uint8_t blob[SSHKEY_BLOB_LEN];

	blob_write(blob, key);
	return buf_append(out, blob, sizeof(blob));
}

int sshkey_blob_parse(uint8_t key_out[ED25519_PUB_LEN], const void *blob, size_t n)
{
	const uint8_t *type, *key;
	size_t tl, kl;
	struct rd r;

	rd_init(&r, blob, n);
	type = rd_sshstr(&r, &tl);
	if (!type)
		return err_set(-EBADMSG, "key blob is truncated");
	if (!bytes_are(type, tl, SSHKEY_TYPE_ED25519))
		return type_refused(type, tl);
	key = rd_sshstr(&r, &kl);
	if (!key || kl != ED25519_PUB_LEN || rd_left(&r) != 0)
		return err_set(-EBADMSG, "malformed ssh-ed25519 key blob");
	memcpy(key_out, key, ED25519_PUB_LEN);
	return 0;
}

/* ---- public keys ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits [*i, len) at the next run of blanks: returns the field before it
 * and leaves *i on the start of the next field. */
static const char *take_field(const char *t, size_t len, size_t *i, size_t *flen)
{
	size_t s;

	while (*i < len && is_blank(t[*i]))
		(*i)++;
	s = *i;
	while (*i < len && !is_blank(t[*i]))
		(*i)++;
	*flen = *i - s;
	while (*i < len && is_blank(t[*i]))
		(*i)++;
	return t + s;
}

static bool comment_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int public_key_data(struct ssh_pubkey *out, const char *b64, size_t n)
{
	struct buf blob;
	int e;

	if (n == 0)
		return err_set(-EBADMSG, "public key line has no key data");
	if (!b64_canonical(b64, n))
		return err_set(-EBADMSG, "public key data is not canonical base64");
	buf_init(&blob, n);
	e = base64_decode(&blob, b64, n);
	if (e >= 0)
		e = sshkey_blob_parse(out->key, blob.data, blob.len);
	buf_release(&blob);
	if (e == -ENOTSUP)
		return err_set(-EBADMSG,
			       "public key line says ssh-ed25519 but its data is another type");
	return e;
}

int sshkey_parse_public(struct ssh_pubkey *out, const char *text, size_t len)
{
	const char *type, *b64, *comment;
	size_t i = 0, tl, bl, cl;
	int e;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return err_set(-EBADMSG, "public key line is empty");
	if (len > LIMIT_KEY_FILE_BYTES)
		return err_set(-EFBIG, "public key line longer than %u bytes",
			       LIMIT_KEY_FILE_BYTES);
	if (len >= 10 && memcmp(text, "-----BEGIN", 10) == 0)
		return err_set(-EBADMSG,
			       "this is a private key; give the public key (.pub) instead");
	if (len > 0 && text[len - 1] == '\n')
		len -= len > 1 && text[len - 2] == '\r' ? 2 : 1;
	if (memchr(text, '\n', len) || memchr(text, '\0', len))
		return err_set(-EBADMSG, "a public key is one line of text");
	type = take_field(text, len, &i, &tl);
	b64 = take_field(text, len, &i, &bl);
	comment = text + i;
	cl = len - i;
	while (cl > 0 && (is_blank(comment[cl - 1]) || comment[cl - 1] == '\r'))
		cl--;
	if (!line_is(type, tl, SSHKEY_TYPE_ED25519))
		return type_refused((const uint8_t *)type, tl);
	e = public_key_data(out, b64, bl);
	if (e < 0)
		return e;
	if (cl > SSHKEY_COMMENT_MAX)
		return err_set(-EFBIG, "public key comment longer than %d bytes",
			       SSHKEY_COMMENT_MAX);
	if (!comment_ok(comment, cl))
		return err_set(-EBADMSG, "public key comment holds a control character");
	memcpy(out->comment, comment, cl);
	return 0;
}

/* Adds the path to the detail a parser left. */
static int with_path(int e, const char *path)
{
	char d[512];

	snprintf(d, sizeof(d), "%s", err_detail());
	return err_set(e, "%s: %s", path, d[0] ? d : err_text(e));
}

/* Reads a key file into a buffer allocated once at full size. */
static int key_file_read(struct buf *out, const char *path)
{
	int e;

	buf_init(out, KEY_READ_ROOM);
	e = buf_reserve(out, KEY_READ_ROOM);
	if (e < 0)
		return e;
	return fs_read_file(out, path, LIMIT_KEY_FILE_BYTES);
}

int sshkey_load_public(struct ssh_pubkey *out, const char *path)
{
	AUTO_WIPE struct buf text = {0};
	int e;

	memset(out, 0, sizeof(*out));
	e = key_file_read(&text, path);
	if (e < 0)
		return e;
	e = sshkey_parse_public(out, (const char *)text.data, text.len);
	return e < 0 ? with_path(e, path) : 0;
}

int sshkey_format_public(struct buf *out, const struct ssh_pubkey *k)
{
	uint8_t blob[SSHKEY_BLOB_LEN];
	size_t start = out->len, cl = strnlen(k->comment, sizeof(k->comment));
	int e;

	if (cl == sizeof(k->comment) || !comment_ok(k->comment, cl))
		return err_set(-EINVAL, "key comment is not one line of text");
	blob_write(blob, k->key);
	e = buf_append_str(out, SSHKEY_TYPE_ED25519 " ");
	if (e >= 0)
		e = base64_encode(out, blob, sizeof(blob));
	if (e >= 0 && cl > 0)
		e = buf_printf(out, " %s", k->comment);
	return e < 0 ? undo_append(out, start, e) : 0;
}

int sshkey_fingerprint(char out[SSHKEY_FINGERPRINT_LEN], const struct ssh_pubkey *k)
{
	uint8_t blob[SSHKEY_BLOB_LEN];
	struct sha256 h;
	struct buf b;
	int e;

	blob_write(blob, k->key);
	sha256_buf(&h, blob, sizeof(blob));
	buf_init(&b, 64);
	e = base64_encode(&b, h.b, sizeof(h.b));
	if (e >= 0) {
		/* 44 characters, the last one padding, which ssh-keygen drops. */
		assert(b.len == 44 && b.data[43] == '=');
		memcpy(out, "SHA256:", 7);
		memcpy(out + 7, b.data, 43);
		out[SSHKEY_FINGERPRINT_LEN - 1] = '\0';
	}
	buf_release(&b);
	return e;
}

bool sshkey_public_equal(const struct ssh_pubkey *a, const struct ssh_pubkey *b)
{
	return memcmp(a->key, b->key, ED25519_PUB_LEN) == 0;
}

void sshkey_public_from_private(struct ssh_pubkey *out, const struct ssh_privkey *k)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key, k->pub, ED25519_PUB_LEN);
}

void sshkey_private_clear(struct ssh_privkey *k)
{
	if (k)
		explicit_bzero(k, sizeof(*k));
}

/* ---- private keys ---- */

/* The private section: check-ints, the key, a comment, then padding. */
static int privkey_section(struct ssh_privkey *out, const uint8_t pub[ED25519_PUB_LEN],
			   const uint8_t *p, size_t n)
{
	const uint8_t *type, *kpub, *kpriv;
	size_t tl, kpl, kvl, cl;
	uint8_t derived[ED25519_PUB_LEN];
	uint32_t check1, check2;
	struct rd r;

	if (n % PRIVKEY_BLOCK != 0)
		return err_set(-EBADMSG, "private key section is not whole blocks");
	rd_init(&r, p, n);
	check1 = rd_be32(&r);
	check2 = rd_be32(&r);
	type = rd_sshstr(&r, &tl);
	kpub = rd_sshstr(&r, &kpl);
	kpriv = rd_sshstr(&r, &kvl);
	(void)rd_sshstr(&r, &cl);
	if (!r.ok)
		return err_set(-EBADMSG, "private key section is truncated");
	if (check1 != check2)
		return err_set(-EBADMSG, "private key check-ints differ: the key file is corrupt");
	if (!bytes_are(type, tl, SSHKEY_TYPE_ED25519))
		return err_set(-EBADMSG, "private key type differs from its public key's");
	if (kpl != ED25519_PUB_LEN || kvl != ED25519_SEED_LEN + ED25519_PUB_LEN ||
	    memcmp(kpub, pub, ED25519_PUB_LEN) != 0 ||
	    memcmp(kpriv + ED25519_SEED_LEN, pub, ED25519_PUB_LEN) != 0)
		return err_set(-EBADMSG, "private key file holds disagreeing public keys");
	if (rd_left(&r) >= PRIVKEY_BLOCK)
		return err_set(-EBADMSG, "private key padding is too long");
	for (uint8_t i = 1; rd_left(&r) > 0; i++) {
		if (*rd_take(&r, 1) != i)
			return err_set(-EBADMSG, "private key padding is corrupt");
	}
	memcpy(out->seed, kpriv, ED25519_SEED_LEN);
	if (ed25519_public_from_seed(derived, out->seed) < 0 ||
	    memcmp(derived, pub, ED25519_PUB_LEN) != 0)
		return err_set(-EBADMSG, "private key seed does not match its public key");
	memcpy(out->pub, pub, ED25519_PUB_LEN);
	return 0;
}

static int privkey_blob(struct ssh_privkey *out, const uint8_t *p, size_t n)
{
	const uint8_t *magic, *cipher, *kdf, *pubblob, *section;
	size_t cl, kl, ol, pl, sl;
	uint8_t pub[ED25519_PUB_LEN];
	uint32_t nkeys;
	struct rd r;
	int e;

	rd_init(&r, p, n);
	magic = rd_take(&r, PRIVKEY_MAGIC_LEN);
	if (!magic || memcmp(magic, PRIVKEY_MAGIC, PRIVKEY_MAGIC_LEN) != 0)
		return err_set(-EBADMSG, "not an openssh-key-v1 private key");
	cipher = rd_sshstr(&r, &cl);
	kdf = rd_sshstr(&r, &kl);
	(void)rd_sshstr(&r, &ol);
	nkeys = rd_be32(&r);
	if (!r.ok)
		return err_set(-EBADMSG, "private key header is truncated");
	if (!bytes_are(cipher, cl, "none"))
		return err_set(
		    -ENOTSUP,
		    "private key is protected by a passphrase; ferry signs unattended with "
		    "an unencrypted key: copy the key to the signing machine and run "
		    "`ssh-keygen -p -N '' -f COPY` on the copy, readable only by the "
		    "publishing account");
	if (!bytes_are(kdf, kl, "none") || ol != 0)
		return err_set(-EBADMSG, "unencrypted private key names a KDF");
	if (nkeys != 1)
		return err_set(-EBADMSG, "private key file holds %u keys, expected 1", nkeys);
	pubblob = rd_sshstr(&r, &pl);
	section = rd_sshstr(&r, &sl);
	if (!r.ok || rd_left(&r) != 0)
		return err_set(-EBADMSG, "private key file is truncated or has trailing data");
	e = sshkey_blob_parse(pub, pubblob, pl);
	if (e < 0)
		return e;
	return privkey_section(out, pub, section, sl);
}

int sshkey_parse_private(struct ssh_privkey *out, const char *text, size_t len)
{
	static const char ours[] = "-----BEGIN " SSHKEY_ARMOR_PRIVATE "-----";
	AUTO_WIPE struct buf blob = {0};
	int e;

	memset(out, 0, sizeof(*out));
	if (len > LIMIT_KEY_FILE_BYTES)
		return err_set(-EFBIG, "private key file larger than %u bytes",
			       LIMIT_KEY_FILE_BYTES);
	buf_init(&blob, len);
	e = sshkey_armor_decode(&blob, SSHKEY_ARMOR_PRIVATE, text, len);
	/* A PEM key ("BEGIN RSA PRIVATE KEY", "BEGIN PRIVATE KEY") gets a
	 * message that says what to use instead. */
	if (e == -EBADMSG && len > 11 && memcmp(text, ours, 11) == 0 &&
	    (len < sizeof(ours) - 1 || memcmp(text, ours, sizeof(ours) - 1) != 0))
		e = err_set(-ENOTSUP, "not an OpenSSH-format private key; only ssh-ed25519 keys "
				      "are supported, made with `ssh-keygen -t ed25519`");
	if (e >= 0)
		e = privkey_blob(out, blob.data, blob.len);
	if (e < 0)
		sshkey_private_clear(out);
	return e;
}

int sshkey_load_private(struct ssh_privkey *out, const char *path)
{
	AUTO_WIPE struct buf text = {0};
	int e;

	memset(out, 0, sizeof(*out));
	e = key_file_read(&text, path);
	if (e < 0)
		return e;
	e = sshkey_parse_private(out, (const char *)text.data, text.len);
	return e < 0 ? with_path(e, path) : 0;
}

int sshkey_public_file_line(struct buf *out, const char *path)
{
	struct ssh_pubkey k;
	int r = sshkey_load_public(&k, path);

	if (r < 0)
		return err_keep(r, "%s: not an ed25519 public key", path);
	return sshkey_format_public(out, &k);
}

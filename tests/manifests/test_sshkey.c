/*
 * test_sshkey.c — OpenSSH key files: interoperation with ssh-keygen, and
 * every check the parsers make, each shown to fire on its own.
 *
 * Private key variants are built here field by field (build_private()),
 * so each case breaks exactly one rule of PROTOCOL.key while the rest of
 * the file stays valid; the unbroken build must parse, which keeps the
 * builder honest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/sshkey.h"
#include "tests/harness.h"

#define BIG (1u << 20)

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	CHECK_MSG(rc == 0, "command failed (%d): %s", rc, cmd);
}

static const char *tmp(const char *name)
{
	static char paths[8][600];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 600, "%s/%s", t_tmpdir(), name);
	return p;
}

/* Makes an ssh-keygen key pair at tmp(name) unless it exists. */
static const char *keygen(const char *name, const char *args)
{
	const char *path = tmp(name);

	if (!fs_exists(path))
		sh("ssh-keygen -q %s -f '%s' </dev/null >/dev/null 2>&1", args, path);
	return path;
}

static void slurp(struct buf *b, const char *path)
{
	buf_init(b, BIG + 65536);
	CHECK_OK(fs_read_file(b, path, BIG));
}

static bool detail_has(const char *s)
{
	return strstr(err_detail(), s) != NULL;
}

/* ---- building private key files field by field ---- */

struct privspec {
	const char *magic;	/* default "openssh-key-v1" */
	const char *cipher;	/* default "none" */
	const char *kdf;	/* default "none" */
	uint32_t nkeys;		/* default 1 */
	const char *outer_type; /* default ssh-ed25519 */
	const char *inner_type; /* default ssh-ed25519 */
	uint32_t check_delta;	/* added to the second check-int */
	bool flip_inner_pub;	/* the section's copy of the public key */
	bool flip_priv_pub;	/* the public half of the 64-byte private key */
	bool flip_seed;		/* the seed (so it derives another key) */
	int pad;		/* 0 right, 1 a wrong pad byte, 2 a block too many */
	bool unaligned;		/* section not a multiple of 8 */
	bool trailing;		/* a byte after the section */
};

static const uint8_t test_seed[ED25519_SEED_LEN] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

static void put_cstr(struct buf *b, const char *s)
{
	CHECK_OK(buf_append_sshstr(b, s, strlen(s)));
}

static void build_section(struct buf *sec, const struct privspec *s, const uint8_t pub[32])
{
	uint8_t priv[64], inner_pub[32];

	memcpy(priv, test_seed, 32);
	memcpy(priv + 32, pub, 32);
	memcpy(inner_pub, pub, 32);
	priv[0] ^= s->flip_seed ? 1 : 0;
	priv[40] ^= s->flip_priv_pub ? 1 : 0;
	inner_pub[7] ^= s->flip_inner_pub ? 1 : 0;
	CHECK_OK(buf_append_be32(sec, 0x5eed1234));
	CHECK_OK(buf_append_be32(sec, 0x5eed1234 + s->check_delta));
	put_cstr(sec, s->inner_type ? s->inner_type : "ssh-ed25519");
	CHECK_OK(buf_append_sshstr(sec, inner_pub, 32));
	CHECK_OK(buf_append_sshstr(sec, priv, 64));
	put_cstr(sec, "comment");
	for (uint8_t i = 1; sec->len % 8 != 0 || (s->pad == 2 && i < 9); i++)
		CHECK_OK(buf_append_byte(sec, i));
	CHECK(sec->data[sec->len - 1] != 1); /* at least two pad bytes to spoil */
	if (s->pad == 1)
		sec->data[sec->len - 2] ^= 0x40;
	if (s->unaligned)
		CHECK_OK(buf_append_byte(sec, (uint8_t)(sec->data[sec->len - 1] + 1)));
}

static void build_private(struct buf *text, const struct privspec *s)
{
	struct buf pubblob, sec, blob;
	uint8_t pub[32];
	const char *magic = s->magic ? s->magic : "openssh-key-v1";

	CHECK_OK(ed25519_public_from_seed(pub, test_seed));
	buf_init(&pubblob, BIG);
	buf_init(&sec, BIG);
	buf_init(&blob, BIG);
	put_cstr(&pubblob, s->outer_type ? s->outer_type : "ssh-ed25519");
	CHECK_OK(buf_append_sshstr(&pubblob, pub, 32));
	build_section(&sec, s, pub);
	CHECK_OK(buf_append(&blob, magic, strlen(magic) + 1));
	put_cstr(&blob, s->cipher ? s->cipher : "none");
	put_cstr(&blob, s->kdf ? s->kdf : "none");
	put_cstr(&blob, "");
	CHECK_OK(buf_append_be32(&blob, s->nkeys ? s->nkeys : 1));
	CHECK_OK(buf_append_sshstr(&blob, pubblob.data, pubblob.len));
	CHECK_OK(buf_append_sshstr(&blob, sec.data, sec.len));
	if (s->trailing)
		CHECK_OK(buf_append_byte(&blob, 0));
	buf_init(text, BIG);
	CHECK_OK(sshkey_armor_encode(text, SSHKEY_ARMOR_PRIVATE, blob.data, blob.len));
	buf_release(&pubblob);
	buf_release(&sec);
	buf_release(&blob);
}

/* ---- ssh-keygen interoperation ---- */

static void test_public_from_ssh_keygen(void)
{
	const char *path = keygen("utf8", "-t ed25519 -N '' -C '县资源中心 admin@county'");
	char pubpath[600], fp[SSHKEY_FINGERPRINT_LEN], want[128] = "", cmd[700];
	struct ssh_pubkey k;
	struct buf file, line;
	FILE *f;

	snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
	CHECK_OK(sshkey_load_public(&k, pubpath));
	CHECK_STR(k.comment, "县资源中心 admin@county");
	slurp(&file, pubpath);
	buf_init(&line, BIG);
	CHECK_OK(sshkey_format_public(&line, &k));
	CHECK_OK(buf_append_byte(&line, '\n'));
	CHECK_STR(buf_str(&line), buf_str(&file));
	CHECK_OK(sshkey_fingerprint(fp, &k));
	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -f '%s'", pubpath);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	CHECK(fscanf(f, "%*s %127s", want) == 1);
	pclose(f);
	CHECK_STR(fp, want);
	buf_release(&file);
	buf_release(&line);
}

static void test_private_from_ssh_keygen(void)
{
	const char *path = keygen("plain", "-t ed25519 -N '' -C plain");
	char pubpath[600];
	struct ssh_privkey k;
	struct ssh_pubkey pub, derived;
	uint8_t sig[ED25519_SIG_LEN];

	snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
	CHECK_OK(sshkey_load_private(&k, path));
	CHECK_OK(sshkey_load_public(&pub, pubpath));
	sshkey_public_from_private(&derived, &k);
	CHECK(sshkey_public_equal(&derived, &pub));
	CHECK_STR(derived.comment, "");
	/* The seed is the real one: it signs for the public key. */
	CHECK_OK(ed25519_sign(sig, k.seed, "x", 1));
	CHECK_OK(ed25519_verify(pub.key, sig, "x", 1));
	sshkey_private_clear(&k);
	for (size_t i = 0; i < sizeof(k); i++)
		CHECK(((uint8_t *)&k)[i] == 0);
	sshkey_private_clear(NULL);
}

static void test_other_key_types_refused(void)
{
	const char *rsa = keygen("rsa", "-t rsa -b 2048 -N ''");
	const char *ecdsa = keygen("ecdsa", "-t ecdsa -N ''");
	const char *keys[] = {rsa, ecdsa};
	char pubpath[600];
	struct ssh_privkey k;
	struct ssh_pubkey pub;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(pubpath, sizeof(pubpath), "%s.pub", keys[i]);
		err_clear();
		CHECK_EQ_I(sshkey_load_public(&pub, pubpath), -ENOTSUP);
		CHECK_MSG(detail_has("only ssh-ed25519 keys are supported"), "%s", err_detail());
		err_clear();
		CHECK_EQ_I(sshkey_load_private(&k, keys[i]), -ENOTSUP);
		CHECK_MSG(detail_has("only ssh-ed25519 keys are supported"), "%s", err_detail());
	}
	/* A PEM RSA key names the tool to use instead. */
	sh("cp '%s' '%s' && ssh-keygen -q -p -P '' -N '' -m PEM -f '%s' </dev/null >/dev/null", rsa,
	   tmp("pem"), tmp("pem"));
	CHECK_EQ_I(sshkey_load_private(&k, tmp("pem")), -ENOTSUP);
	CHECK_MSG(detail_has("ssh-keygen -t ed25519"), "%s", err_detail());
}

static void test_encrypted_key_refused(void)
{
	const char *path = keygen("secret", "-t ed25519 -N secret");
	struct ssh_privkey k;

	memset(&k, 0xaa, sizeof(k));
	CHECK_EQ_I(sshkey_load_private(&k, path), -ENOTSUP);
	CHECK_MSG(detail_has("passphrase") && detail_has("ssh-keygen -p"), "%s", err_detail());
	CHECK_MSG(detail_has(path), "detail names the file: %s", err_detail());
	for (size_t i = 0; i < sizeof(k); i++)
		CHECK(((uint8_t *)&k)[i] == 0);
}

/* ---- public key lines ---- */

/* Base64 of a blob made of the given type and key bytes. */
static void blob_b64(char *out, size_t cap, const char *type, const uint8_t *key, size_t kl,
		     bool trailing)
{
	struct buf blob, b64;

	buf_init(&blob, BIG);
	buf_init(&b64, BIG);
	put_cstr(&blob, type);
	CHECK_OK(buf_append_sshstr(&blob, key, kl));
	if (trailing)
		CHECK_OK(buf_append_byte(&blob, 0));
	CHECK_OK(base64_encode(&b64, blob.data, blob.len));
	snprintf(out, cap, "%s", buf_str(&b64));
	buf_release(&blob);
	buf_release(&b64);
}

static void test_public_lines(void)
{
	uint8_t key[33];
	char good[128], rsa_blob[128], short_key[128], trail[128], truncated[128];
	char line[512], long_comment[200];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	blob_b64(good, sizeof(good), "ssh-ed25519", key, 32, false);
	blob_b64(rsa_blob, sizeof(rsa_blob), "ssh-rsa", key, 32, false);
	blob_b64(short_key, sizeof(short_key), "ssh-ed25519", key, 31, false);
	blob_b64(trail, sizeof(trail), "ssh-ed25519", key, 32, true);
	/* 51 bytes are 68 characters without padding; one fewer is not base64. */
	CHECK_EQ_U(strlen(good), 68);
	snprintf(truncated, sizeof(truncated), "%.67s", good);
	memset(long_comment, 'c', 128);
	long_comment[128] = '\0';

	struct {
		const char *pre, *arg, *post;
		int want;
		const char *comment;
	} cases[] = {
	    {"ssh-ed25519 ", good, "", 0, ""},
	    {"ssh-ed25519 ", good, " teacher@school\n", 0, "teacher@school"},
	    {"  ssh-ed25519\t", good, "  two words \r\n", 0, "two words"},
	    {"ssh-ed25519 ", good, " 中文 ئۇيغۇر", 0, "中文 ئۇيغۇر"},
	    {"", "", "", -EBADMSG, NULL},
	    {"ssh-ed25519", "", "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", "!!!!", "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", "AAAA", "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", rsa_blob, "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", short_key, "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", trail, "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", truncated, "", -EBADMSG, NULL},
	    {"ssh-ed25519 ", good, " a\nssh-ed25519 x", -EBADMSG, NULL},
	    {"ssh-ed25519 ", good, " bell\a", -EBADMSG, NULL},
	    {"ssh-rsa ", rsa_blob, "", -ENOTSUP, NULL},
	    {"ecdsa-sha2-nistp256 ", good, "", -ENOTSUP, NULL},
	    {"sk-ssh-ed25519@openssh.com ", good, "", -ENOTSUP, NULL},
	    {"ssh-ed25519-cert-v01@openssh.com ", good, "", -ENOTSUP, NULL},
	    {"-----BEGIN OPENSSH PRIVATE KEY-----", "", "\n", -EBADMSG, NULL},
	    {"\x01\x02 ", good, "", -EBADMSG, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ssh_pubkey k;
		int e;

		snprintf(line, sizeof(line), "%s%s%s", cases[i].pre, cases[i].arg, cases[i].post);
		e = sshkey_parse_public(&k, line, strlen(line));
		CHECK_MSG(e == cases[i].want, "case %zu \"%s\": got %d, want %d (%s)", i, line, e,
			  cases[i].want, err_detail());
		if (e == 0) {
			CHECK(memcmp(k.key, key, 32) == 0);
			CHECK_STR(k.comment, cases[i].comment);
		}
	}
	/* The comment bound: 127 bytes fit, 128 do not. */
	snprintf(line, sizeof(line), "ssh-ed25519 %s %s", good, long_comment);
	struct ssh_pubkey k;

	CHECK_EQ_I(sshkey_parse_public(&k, line, strlen(line)), -EFBIG);
	CHECK_OK(sshkey_parse_public(&k, line, strlen(line) - 1));
	CHECK_EQ_U(strlen(k.comment), 127);
	/* Formatting refuses a comment that would break the line. */
	struct buf out;

	buf_init(&out, BIG);
	snprintf(k.comment, sizeof(k.comment), "two\nlines");
	CHECK_EQ_I(sshkey_format_public(&out, &k), -EINVAL);
	CHECK_EQ_U(out.len, 0);
	buf_release(&out);
	/* No input at all (UBSan would object to memchr(NULL, ...)). */
	struct ssh_privkey priv;

	CHECK_EQ_I(sshkey_parse_public(&k, NULL, 0), -EBADMSG);
	CHECK_EQ_I(sshkey_parse_private(&priv, NULL, 0), -EBADMSG);
}

static void test_private_fields(void)
{
	struct {
		const char *name;
		struct privspec s;
		int want;
	} cases[] = {
	    {"as ssh-keygen writes it", {0}, 0},
	    {"bad magic", {.magic = "openssh-key-v2"}, -EBADMSG},
	    {"encrypted", {.cipher = "aes256-ctr", .kdf = "bcrypt"}, -ENOTSUP},
	    {"KDF without cipher", {.kdf = "bcrypt"}, -EBADMSG},
	    {"two keys", {.nkeys = 2}, -EBADMSG},
	    {"RSA public blob", {.outer_type = "ssh-rsa"}, -ENOTSUP},
	    {"check-ints differ", {.check_delta = 1}, -EBADMSG},
	    {"inner type differs", {.inner_type = "ssh-rsa"}, -EBADMSG},
	    {"inner public differs", {.flip_inner_pub = true}, -EBADMSG},
	    {"private's public half differs", {.flip_priv_pub = true}, -EBADMSG},
	    {"seed of another key", {.flip_seed = true}, -EBADMSG},
	    {"wrong pad byte", {.pad = 1}, -EBADMSG},
	    {"a block of padding too many", {.pad = 2}, -EBADMSG},
	    {"section not whole blocks", {.unaligned = true}, -EBADMSG},
	    {"trailing byte", {.trailing = true}, -EBADMSG},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ssh_privkey k;
		struct buf text;
		int e;

		build_private(&text, &cases[i].s);
		memset(&k, 0xaa, sizeof(k));
		e = sshkey_parse_private(&k, (const char *)text.data, text.len);
		CHECK_MSG(e == cases[i].want, "%s: got %d, want %d (%s)", cases[i].name, e,
			  cases[i].want, err_detail());
		if (e == 0) {
			uint8_t pub[32];

			CHECK(memcmp(k.seed, test_seed, 32) == 0);
			CHECK_OK(ed25519_public_from_seed(pub, test_seed));
			CHECK(memcmp(k.pub, pub, 32) == 0);
		} else {
			/* A failed parse leaves no seed bytes behind. */
			for (size_t j = 0; j < sizeof(k); j++)
				CHECK_MSG(((uint8_t *)&k)[j] == 0, "%s: byte %zu not wiped",
					  cases[i].name, j);
		}
		buf_release(&text);
	}
}

/* ---- armor ---- */

/* Writes variant `which` of the good armor g (n bytes) into text and
 * returns its length; the cases are named in test_armor_strict(). */
static size_t armor_variant(char *text, size_t cap, int which, const char *g, size_t n)
{
	size_t first_nl = (size_t)(strchr(g, '\n') - g);
	size_t last_b64_end = (size_t)(strstr(g, "\n-----END") - g);
	size_t m = 0, j;

	CHECK(2 * n + 2 < cap);
	memcpy(text, g, n);
	switch (which) {
	case 0: /* CRLF */
		for (size_t i = 0; i < n; i++) {
			if (g[i] == '\n')
				text[m++] = '\r';
			text[m++] = g[i];
		}
		return m;
	case 1: /* no final newline */
		return n - 1;
	case 2: /* stop after the last base64 line */
		return last_b64_end + 1;
	case 3:
	case 4:
		text[n] = which == 3 ? 'x' : '\n';
		return n + 1;
	case 5: /* an empty line after BEGIN */
		text[first_nl + 1] = '\n';
		memcpy(text + first_nl + 2, g + first_nl + 1, n - first_nl - 1);
		return n + 1;
	case 6: /* join the first two base64 lines */
		memmove(text + first_nl + 71, text + first_nl + 72, n - first_nl - 72);
		return n - 1;
	case 7:
		text[first_nl + 5] = '=';
		return n;
	case 8: /* set an unused bit in the character before the padding */
		j = last_b64_end - 1;
		while (text[j] == '=')
			j--;
		CHECK(j < last_b64_end - 1); /* the builder's blob needs padding */
		/* The value is even (its unused bits are zero): the next
		 * character of the alphabet sets bit 0. */
		text[j] = text[j] == '+' ? '/' : (char)(text[j] + 1);
		return n;
	case 9:
		return (size_t)snprintf(text, cap, "-----BEGIN SSH SIGNATURE-----%s", g + first_nl);
	case 10:
		return (size_t)snprintf(text, cap, "\n%s", g);
	case 11:
		text[first_nl + 10] = ' ';
		return n;
	default: /* drop one base64 character */
		memcpy(text + last_b64_end - 1, g + last_b64_end, n - last_b64_end);
		return n - 1;
	}
}

static void test_armor_strict(void)
{
	static const struct {
		const char *name;
		int want;
	} cases[] = {
	    {"CRLF line ends", 0},
	    {"no final newline", 0},
	    {"no END line", -EBADMSG},
	    {"data after END", -EBADMSG},
	    {"blank line after END", -EBADMSG},
	    {"blank line inside", -EBADMSG},
	    {"line longer than 76", -EBADMSG},
	    {"padding in the middle", -EBADMSG},
	    {"non-canonical last group", -EBADMSG},
	    {"other label", -ENOTSUP},
	    {"leading blank line", -EBADMSG},
	    {"a space in the base64", -EBADMSG},
	    {"one character short", -EBADMSG},
	};
	struct ssh_privkey k;
	struct buf good;
	char text[4096];

	build_private(&good, &(struct privspec){0});
	CHECK_OK(sshkey_parse_private(&k, buf_str(&good), good.len));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t m = armor_variant(text, sizeof(text), (int)i, buf_str(&good), good.len);
		int e = sshkey_parse_private(&k, text, m);

		CHECK_MSG(e == cases[i].want, "%s: got %d, want %d (%s)", cases[i].name, e,
			  cases[i].want, err_detail());
	}
	buf_release(&good);
}

static void test_armor_round_trip(void)
{
	uint8_t data[300];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 17);
	for (size_t n = 1; n <= sizeof(data); n++) {
		struct buf text, back;
		const char *line;

		buf_init(&text, BIG);
		buf_init(&back, BIG);
		CHECK_OK(sshkey_armor_encode(&text, "TEST", data, n));
		/* ssh-keygen's layout: 70 columns, final newline. */
		for (line = buf_str(&text); *line; line = strchr(line, '\n') + 1)
			CHECK(strchr(line, '\n') - line <= 70);
		CHECK(text.data[text.len - 1] == '\n');
		CHECK_OK(sshkey_armor_decode(&back, "TEST", buf_str(&text), text.len));
		CHECK_EQ_U(back.len, n);
		CHECK(memcmp(back.data, data, n) == 0);
		/* A cap smaller than the data is an error, not an overflow. */
		buf_release(&back);
		buf_init(&back, n - 1);
		CHECK_EQ_I(sshkey_armor_decode(&back, "TEST", buf_str(&text), text.len), -EFBIG);
		buf_release(&back);
		buf_release(&text);
	}
}

/* ---- files ---- */

static void test_files(void)
{
	struct ssh_pubkey pub;
	struct ssh_privkey k;
	struct buf big;
	const char *plain = keygen("plain", "-t ed25519 -N '' -C plain");
	char two[700];

	CHECK_EQ_I(sshkey_load_public(&pub, tmp("missing.pub")), -ENOENT);
	CHECK_EQ_I(sshkey_load_private(&k, tmp("missing")), -ENOENT);
	CHECK(sshkey_load_private(&k, t_tmpdir()) < 0);
	/* One byte over the key file limit. */
	buf_init(&big, BIG);
	for (size_t i = 0; i <= LIMIT_KEY_FILE_BYTES; i++)
		CHECK_OK(buf_append_byte(&big, 'A'));
	CHECK_OK(fs_write_atomic(tmp("big"), big.data, big.len));
	CHECK_EQ_I(sshkey_load_private(&k, tmp("big")), -EFBIG);
	CHECK_EQ_I(sshkey_load_public(&pub, tmp("big")), -EFBIG);
	buf_release(&big);
	/* A public key file is one key. */
	snprintf(two, sizeof(two), "%s/two.pub", t_tmpdir());
	sh("cat '%s.pub' '%s.pub' > '%s'", plain, plain, two);
	CHECK_EQ_I(sshkey_load_public(&pub, two), -EBADMSG);
	/* The private key where the public one is expected. */
	CHECK_EQ_I(sshkey_load_public(&pub, plain), -EBADMSG);
	CHECK_MSG(detail_has("private key"), "%s", err_detail());
}

/* Every allocation the key functions make may fail; each failure must
 * come back as -ENOMEM with nothing leaked (LeakSanitizer checks). */
static void test_allocation_failures(void)
{
	const char *plain = keygen("plain", "-t ed25519 -N '' -C plain");
	char pubpath[600];
	int e = -ENOMEM;

	snprintf(pubpath, sizeof(pubpath), "%s.pub", plain);
	for (long n = 0; e == -ENOMEM; n++) {
		struct ssh_privkey k;
		struct ssh_pubkey pub;
		char fp[SSHKEY_FINGERPRINT_LEN];
		struct buf out;

		buf_init(&out, BIG);
		mem_fail_after(n);
		e = sshkey_load_private(&k, plain);
		if (e == 0)
			e = sshkey_load_public(&pub, pubpath);
		if (e == 0)
			e = sshkey_fingerprint(fp, &pub);
		if (e == 0)
			e = sshkey_format_public(&out, &pub);
		mem_fail_after(-1);
		CHECK_MSG(e == 0 || e == -ENOMEM, "after %ld allocations: %d (%s)", n, e,
			  err_detail());
		if (e == -ENOMEM)
			CHECK_EQ_U(out.len, 0);
		buf_release(&out);
		CHECK(n < 1000);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"public key from ssh-keygen: parse, format back, fingerprint",
	     test_public_from_ssh_keygen},
	    {"private key from ssh-keygen matches its public key", test_private_from_ssh_keygen},
	    {"RSA, ECDSA and PEM keys are refused", test_other_key_types_refused},
	    {"passphrase-protected key is refused and zeroed", test_encrypted_key_refused},
	    {"public key lines: accepted and refused", test_public_lines},
	    {"private key: each field checked on its own", test_private_fields},
	    {"armor: strict layout", test_armor_strict},
	    {"armor: round trip at every length", test_armor_round_trip},
	    {"key files: missing, too big, wrong kind", test_files},
	    {"allocation failures unwind cleanly", test_allocation_failures},
	    {0},
	});
}

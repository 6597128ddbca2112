/*
 * test_head.c — channel heads: the exact text format, every parser rule,
 * signing and checking, and the stock-tool check documented in
 * docs/signatures.md run as written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "manifests/sshsig.h"
#include "tests/harness.h"

#define BIG (1u << 20)

static const char golden[] = "ferry-head 1\n"
			     "repo 00112233445566778899aabbccddeeff\n"
			     "channel renjiao/grade7/math\n"
			     "version 12\n"
			     "commit 0123456789abcdef0123456789abcdef01234567\n"
			     "time 1767225600\n"
			     "expires 1769817600\n"
			     "files 3141\n"
			     "size 27182818284\n"
			     "stored 1618033988\n"
			     "git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n";

static void golden_head(struct mf_head *h)
{
	static const uint8_t repo[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t commit[20] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
					   0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
					   0xcd, 0xef, 0x01, 0x23, 0x45, 0x67};

	memset(h, 0, sizeof(*h));
	memcpy(h->repo, repo, sizeof(repo));
	snprintf(h->channel, sizeof(h->channel), "renjiao/grade7/math");
	h->version = 12;
	memcpy(h->commit, commit, sizeof(commit));
	h->time = 1767225600;
	h->expires = 1769817600;
	h->files = 3141;
	h->size = 27182818284ull;
	h->stored = 1618033988;
	snprintf(h->git_pack, sizeof(h->git_pack),
		 "pack-89abcdef0123456789abcdef0123456789abcdef.pack");
}

static void test_key(struct ssh_privkey *k, struct ssh_pubkey *pub, int i)
{
	for (int j = 0; j < ED25519_SEED_LEN; j++)
		k->seed[j] = (uint8_t)(i * 53 + j * 3 + 7);
	CHECK_OK(ed25519_public_from_seed(k->pub, k->seed));
	sshkey_public_from_private(pub, k);
}

/* golden with its first occurrence of from replaced by to, into out. */
static size_t edit(char *out, size_t cap, const char *from, const char *to)
{
	const char *at = strstr(golden, from);
	int n;

	CHECK_MSG(at != NULL, "golden has no \"%s\"", from);
	n = snprintf(out, cap, "%.*s%s%s", (int)(at - golden), golden, to, at + strlen(from));
	CHECK(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* ---- the body ---- */

static void test_format_exact(void)
{
	struct mf_head h;
	struct buf out;

	golden_head(&h);
	buf_init(&out, BIG);
	CHECK_OK(buf_append_str(&out, ">"));
	CHECK_OK(mf_head_format(&out, &h));
	CHECK_EQ_U(out.len, 1 + strlen(golden));
	CHECK_STR(buf_str(&out) + 1, golden);
	buf_release(&out);
}

static void test_parse_round_trip(void)
{
	struct mf_head want, got;
	struct buf out;
	char text[1024];
	size_t n;

	golden_head(&want);
	CHECK_OK(mf_head_parse(&got, golden, strlen(golden)));
	CHECK(memcmp(&got, &want, sizeof(got)) == 0);
	/* The extremes of every number, and "never expires". */
	n = edit(text, sizeof(text), "version 12\n", "version 18446744073709551615\n");
	CHECK_OK(mf_head_parse(&got, text, n));
	CHECK_EQ_U(got.version, UINT64_MAX);
	n = edit(text, sizeof(text),
		 "expires 1769817600\nfiles 3141\nsize 27182818284\nstored 1618033988\n",
		 "expires 0\nfiles 0\nsize 0\nstored 18446744073709551615\n");
	CHECK_OK(mf_head_parse(&got, text, n));
	CHECK_EQ_U(got.expires, 0);
	CHECK_EQ_U(got.files, 0);
	CHECK_EQ_U(got.stored, UINT64_MAX);
	buf_init(&out, BIG);
	CHECK_OK(mf_head_format(&out, &got));
	CHECK_STR(buf_str(&out), text);
	buf_release(&out);
}

/* Edits of golden that each break one rule of the body. */
static const struct {
	const char *from, *to;
} edits[] = {
    {"ferry-head 1\n", "ferry-head 2\n"},
    {"ferry-head 1\n", "ferry-head 01\n"},
    {"ferry-head 1\n", "ferry-head\n"},
    {"ferry-head 1\n", ""},
    {"ferry-head 1\n", "ferry-head 1\r\n"},
    {"version 12\n", ""},
    {"version 12\n", "version 12\nversion 12\n"},
    {"version 12\ncommit 0123456789abcdef0123456789abcdef01234567\n",
     "commit 0123456789abcdef0123456789abcdef01234567\nversion 12\n"},
    {"files 3141\n", "files 3141\nlabel math\n"},
    {"files 3141\n", "file 3141\n"},
    {"version 12\n", "version 0\n"},
    {"version 12\n", "version 012\n"},
    {"version 12\n", "version +12\n"},
    {"version 12\n", "version -1\n"},
    {"version 12\n", "version 12 \n"},
    {"version 12\n", "version  12\n"},
    {"version 12\n", "version\t12\n"},
    {"version 12\n", "version \n"},
    {"version 12\n", "version 0x12\n"},
    {"version 12\n", "version 18446744073709551616\n"},
    {"version 12\n", "version 99999999999999999999\n"},
    {"version 12\n", "version 100000000000000000000\n"},
    {"size 27182818284\n", "size 2.7e10\n"},
    {"repo 00112233445566778899aabbccddeeff\n", "repo 00112233445566778899AABBCCDDEEFF\n"},
    {"repo 00112233445566778899aabbccddeeff\n", "repo 00112233445566778899aabbccddeef\n"},
    {"repo 00112233445566778899aabbccddeeff\n", "repo 00112233445566778899aabbccddeeff0\n"},
    {"commit 0123456789abcdef0123456789abcdef01234567\n",
     "commit 0123456789abcdef0123456789abcdef0123456g\n"},
    {"channel renjiao/grade7/math\n", "channel Renjiao/grade7/math\n"},
    {"channel renjiao/grade7/math\n", "channel renjiao//math\n"},
    {"channel renjiao/grade7/math\n", "channel renjiao/../math\n"},
    {"channel renjiao/grade7/math\n", "channel \n"},
    {"channel renjiao/grade7/math\n", "channel renjiao/grade7/math.lock\n"},
    {"expires 1769817600\n", "expires 1767225600\n"},
    {"expires 1769817600\n", "expires 1\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89ABCDEF0123456789abcdef0123456789abcdef.pack\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89abcdef0123456789abcdef0123456789abcde.pack\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89abcdef0123456789abcdef0123456789abcdef.idx\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack objects/pack/pack-89abcdef0123456789abcdef0123456789abcdef.pack\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n",
     "git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\nextra 1\n"},
    {"git-pack pack-89abcdef0123456789abcdef0123456789abcdef.pack\n", ""},
};
static void test_parse_rejects(void)
{
	char text[1024];
	struct mf_head h;

	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		size_t n = edit(text, sizeof(text), edits[i].from, edits[i].to);
		int e;

		memset(&h, 0xaa, sizeof(h));
		e = mf_head_parse(&h, text, n);
		CHECK_MSG(e == -EBADMSG, "edit %zu (\"%s\"): got %d (%s)", i, edits[i].to, e,
			  err_detail());
		CHECK(h.version == 0 && h.channel[0] == '\0');
	}
	/* A NUL inside a value, and nothing at all. */
	memcpy(text, golden, sizeof(golden));
	text[strstr(golden, "grade7") - golden] = '\0';
	CHECK_EQ_I(mf_head_parse(&h, text, strlen(golden)), -EBADMSG);
	CHECK_EQ_I(mf_head_parse(&h, "", 0), -EBADMSG);
	CHECK_EQ_I(mf_head_parse(&h, golden, LIMIT_HEAD_BYTES + 1), -EFBIG);
}

static void test_format_refuses(void)
{
	struct mf_head h;
	struct buf out;

	buf_init(&out, BIG);
	for (int i = 0; i < 5; i++) {
		golden_head(&h);
		switch (i) {
		case 0:
			h.version = 0;
			break;
		case 1:
			h.expires = h.time;
			break;
		case 2:
			snprintf(h.channel, sizeof(h.channel), "math/");
			break;
		case 3:
			snprintf(h.git_pack, sizeof(h.git_pack), "pack-1.pack");
			break;
		case 4:
			memset(h.git_pack, 'a', sizeof(h.git_pack)); /* no NUL */
			break;
		}
		CHECK_MSG(mf_head_format(&out, &h) == -EINVAL, "case %d", i);
		CHECK_EQ_U(out.len, 0);
	}
	buf_release(&out);
}

static void test_channel_names(void)
{
	char longest[LIMIT_CHANNEL_BYTES + 2];
	static const char *const good[] = {
	    "math",    "renjiao/grade7/math", "a",     "0",    "a-b_c.d", "x/y/z/w",
	    "lockers", "grade7/v1.2",	      "com",   "com0", "comx",	  "lpt",
	    "console", "a.lock-not",	      "nul-x",
	};
	static const char *const bad[] = {
	    "",		  "/",	       "/math",	   "math/",   "a//b",	 ".",
	    "..",	  "a/./b",     "a/../b",   ".hidden", "a/.b",	 "math.",
	    "a/b./c",	  "math.lock", "a.lock/b", "a..b",    "Math",	 "数学",
	    "a b",	  "a\tb",      "a\\b",	   "a:b",     "a*b",	 "a?b",
	    "a@{b",	  "a~b",       "a^b",	   "a[b",     "con",	 "prn",
	    "aux",	  "nul",       "com1",	   "lpt9",    "con.txt", "grade7/aux/math",
	    "nul.tar.gz",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK_MSG(mf_channel_valid(good[i]), "\"%s\" should be valid", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(!mf_channel_valid(bad[i]), "\"%s\" should be invalid", bad[i]);
	CHECK(!mf_channel_valid(NULL));
	memset(longest, 'a', sizeof(longest));
	longest[LIMIT_CHANNEL_BYTES] = '\0';
	CHECK(mf_channel_valid(longest));
	longest[LIMIT_CHANNEL_BYTES] = 'a';
	longest[LIMIT_CHANNEL_BYTES + 1] = '\0';
	CHECK(!mf_channel_valid(longest));
}

/* ---- signed files ---- */

static void signed_golden(struct buf *file, const struct ssh_privkey *k)
{
	struct mf_head h;

	golden_head(&h);
	buf_init(file, BIG);
	CHECK_OK(mf_head_sign(file, &h, k));
}

static void test_sign_verify(void)
{
	struct ssh_privkey k[2];
	struct ssh_pubkey pub[2];
	struct mf_head want, got;
	struct buf file;
	size_t signer = 99;

	for (int i = 0; i < 2; i++)
		test_key(&k[i], &pub[i], i);
	signed_golden(&file, &k[1]);
	CHECK(strncmp(buf_str(&file), golden, strlen(golden)) == 0);
	CHECK(strncmp(buf_str(&file) + strlen(golden), "-----BEGIN SSH SIGNATURE-----\n", 30) == 0);
	CHECK_OK(mf_head_verify(&got, &signer, file.data, file.len, pub, 2));
	golden_head(&want);
	CHECK(memcmp(&got, &want, sizeof(got)) == 0);
	CHECK_EQ_U(signer, 1);
	/* Untrusted signer. */
	CHECK_EQ_I(mf_head_verify(&got, &signer, file.data, file.len, pub, 1), -EKEYREJECTED);
	CHECK(got.version == 0);
	buf_release(&file);
}

/* Changes one character of line `line` of a signed head to another of the
 * same kind, so the body still parses: only the signature can object. */
static void tamper_line(char *text, size_t line)
{
	char *p = text, *end, *at;

	for (size_t i = 0; i < line; i++)
		p = strchr(p, '\n') + 1;
	end = strchr(p, '\n');
	at = end - 1;
	if (strncmp(p, "git-pack ", 9) == 0)
		at = end - 1 - strlen(".pack");
	if (*at >= '0' && *at <= '8')
		(*at)++;
	else if (*at == '9')
		*at = '0';
	else if (*at >= 'a' && *at < 'f')
		(*at)++;
	else
		(*at)--;
}

static void test_every_field_tampered(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct mf_head h;
	struct buf file;
	size_t signer;

	test_key(&k, &pub, 0);
	signed_golden(&file, &k);
	for (size_t line = 0; line < 11; line++) {
		char *copy = mem_dup(file.data, file.len + 1);

		CHECK(copy != NULL);
		tamper_line(copy, line);
		CHECK(memcmp(copy, file.data, file.len) != 0);
		/* Lines after the magic still parse once changed. */
		if (line > 0)
			CHECK_MSG(mf_head_parse(&h, copy, strlen(golden)) == 0, "line %zu: %s",
				  line, err_detail());
		CHECK_MSG(mf_head_verify(&h, &signer, copy, file.len, &pub, 1) == -EKEYREJECTED,
			  "line %zu tampered: %s", line, err_detail());
		mem_free(copy);
	}
	buf_release(&file);
}

static void test_wrong_namespace(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct mf_head h;
	struct buf file;
	size_t signer;

	test_key(&k, &pub, 0);
	buf_init(&file, BIG);
	CHECK_OK(buf_append_str(&file, golden));
	CHECK_OK(sshsig_sign(&file, &k, SSHSIG_NS_GIT, golden, strlen(golden)));
	CHECK_EQ_I(mf_head_verify(&h, &signer, file.data, file.len, &pub, 1), -EKEYREJECTED);
	CHECK_MSG(strstr(err_detail(), "namespace") != NULL, "%s", err_detail());
	buf_release(&file);
}

static void test_damaged_files(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct mf_head h;
	struct buf file, other;
	size_t signer, body = strlen(golden);
	char *text;

	test_key(&k, &pub, 0);
	signed_golden(&file, &k);
	buf_init(&other, BIG);
	/* Nothing, body alone, signature alone. */
	CHECK_EQ_I(mf_head_verify(&h, &signer, NULL, 0, &pub, 1), -EBADMSG);
	CHECK_EQ_I(mf_head_parse(&h, NULL, 0), -EBADMSG);
	CHECK_EQ_I(mf_head_verify(&h, &signer, golden, body, &pub, 1), -EBADMSG);
	CHECK_EQ_I(mf_head_verify(&h, &signer, file.data + body, file.len - body, &pub, 1),
		   -EBADMSG);
	/* Every truncation but the final newline's. */
	for (size_t n = 0; n + 1 < file.len; n++) {
		int e = mf_head_verify(&h, &signer, file.data, n, &pub, 1);

		CHECK_MSG(e == -EBADMSG || e == -EKEYREJECTED, "truncated to %zu: %d", n, e);
	}
	CHECK_OK(mf_head_verify(&h, &signer, file.data, file.len - 1, &pub, 1));
	/* Something after the signature. */
	CHECK_OK(buf_append(&other, file.data, file.len));
	CHECK_OK(buf_append_str(&other, "\n"));
	CHECK_EQ_I(mf_head_verify(&h, &signer, other.data, other.len, &pub, 1), -EBADMSG);
	/* A blank line between body and signature joins the body. */
	buf_reset(&other);
	CHECK_OK(buf_append(&other, file.data, body));
	CHECK_OK(buf_append_str(&other, "\n"));
	CHECK_OK(buf_append(&other, file.data + body, file.len - body));
	CHECK_EQ_I(mf_head_verify(&h, &signer, other.data, other.len, &pub, 1), -EKEYREJECTED);
	/* A second signature block after the first. */
	buf_reset(&other);
	CHECK_OK(buf_append(&other, file.data, file.len));
	CHECK_OK(buf_append(&other, file.data + body, file.len - body));
	CHECK_EQ_I(mf_head_verify(&h, &signer, other.data, other.len, &pub, 1), -EBADMSG);
	/* Too big to be a head at all. */
	text = mem_calloc(1, LIMIT_HEAD_BYTES + 1);
	CHECK(text != NULL);
	memcpy(text, file.data, file.len);
	CHECK_EQ_I(mf_head_verify(&h, &signer, text, LIMIT_HEAD_BYTES + 1, &pub, 1), -EFBIG);
	mem_free(text);
	buf_release(&other);
	buf_release(&file);
}

/* ---- the stock-tool check, as docs/signatures.md writes it ---- */

static int sh_rc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh_rc(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The commands of docs/signatures.md, "Checking a head": split HEAD into
 * head.body and head.sig in dir and run ssh-keygen. */
static int stock_verify(const char *dir, const char *head)
{
	return sh_rc("cd '%s' && head='%s' && "
		     "sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' \"$head\" > head.body && "
		     "sed -n '/^-----BEGIN SSH SIGNATURE-----$/,$p' \"$head\" > head.sig && "
		     "ssh-keygen -Y verify -f allowed_signers -I ferry -n ferry-head "
		     "-s head.sig < head.body >/dev/null 2>&1",
		     dir, head);
}

static void test_stock_tool(void)
{
	const char *dir = t_tmpdir();
	char key[600], head[600];
	struct ssh_privkey k;
	struct buf file;
	struct mf_head h;
	size_t at;

	snprintf(key, sizeof(key), "%s/county", dir);
	snprintf(head, sizeof(head), "%s/math", dir);
	CHECK_EQ_I(sh_rc("ssh-keygen -q -t ed25519 -N '' -C county -f '%s' </dev/null", key), 0);
	CHECK_EQ_I(sh_rc("cd '%s' && echo \"ferry namespaces=\\\"git,ferry-head\\\" "
			 "$(cat county.pub)\" > allowed_signers",
			 dir),
		   0);
	CHECK_OK(sshkey_load_private(&k, key));
	golden_head(&h);
	buf_init(&file, BIG);
	CHECK_OK(mf_head_sign(&file, &h, &k));
	CHECK_OK(fs_write_atomic(head, file.data, file.len));
	CHECK_EQ_I(stock_verify(dir, head), 0);
	/* The split gives back exactly the body ferry signed, and the
	 * documented sed finds the release commit in it. */
	CHECK_EQ_I(sh_rc("cd '%s' && printf '%%s' '%s' | cmp -s - head.body", dir, golden), 0);
	CHECK_EQ_I(sh_rc("cd '%s' && test \"$(sed -n 's/^commit //p' head.body)\" = "
			 "0123456789abcdef0123456789abcdef01234567",
			 dir),
		   0);
	/* A changed version fails the stock check as well. */
	at = (size_t)(strstr(buf_str(&file), "version 12") - buf_str(&file));
	file.data[at + 9] = '3';
	CHECK_OK(fs_write_atomic(head, file.data, file.len));
	CHECK(stock_verify(dir, head) != 0);
	sshkey_private_clear(&k);
	buf_release(&file);
}

static void test_allocation_failures(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct mf_head h, got;
	int e = -ENOMEM;

	test_key(&k, &pub, 0);
	golden_head(&h);
	for (long n = 0; e == -ENOMEM; n++) {
		struct buf file;
		size_t signer;

		buf_init(&file, BIG);
		mem_fail_after(n);
		e = mf_head_sign(&file, &h, &k);
		if (e == -ENOMEM)
			CHECK_EQ_U(file.len, 0);
		if (e == 0)
			e = mf_head_verify(&got, &signer, file.data, file.len, &pub, 1);
		mem_fail_after(-1);
		CHECK_MSG(e == 0 || e == -ENOMEM, "after %ld allocations: %d", n, e);
		buf_release(&file);
		CHECK(n < 1000);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"format writes the exact text", test_format_exact},
	    {"parse round trip, number extremes", test_parse_round_trip},
	    {"parse rejects every rule broken", test_parse_rejects},
	    {"format refuses invalid heads", test_format_refuses},
	    {"channel names", test_channel_names},
	    {"sign and verify, signer index, untrusted key", test_sign_verify},
	    {"every field tampered is rejected", test_every_field_tampered},
	    {"signature in another namespace is rejected", test_wrong_namespace},
	    {"truncated, split and padded files", test_damaged_files},
	    {"ssh-keygen -Y verify checks a head (docs/signatures.md)", test_stock_tool},
	    {"allocation failures unwind cleanly", test_allocation_failures},
	    {0},
	});
}

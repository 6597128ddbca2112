/*
 * test_sshsig.c — sshsig signatures: byte-identical with ssh-keygen,
 * accepted by `ssh-keygen -Y verify` and `git verify-commit`, and every
 * rule of the strict parser and verifier shown to fire on its own.
 *
 * build_sig() assembles blobs field by field and signs whatever the
 * fields claim, so a variant fails only for the one rule it breaks.  Its
 * unbroken output must verify, which keeps the builder honest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/sshsig.h"
#include "tests/harness.h"

#define BIG (1u << 20)

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

#define SH(...) CHECK_MSG(sh_rc(__VA_ARGS__) == 0, "command failed: " __VA_ARGS__)

static const char *tmp(const char *name)
{
	static char paths[8][600];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 600, "%s/%s", t_tmpdir(), name);
	return p;
}

static void slurp(struct buf *b, const char *path)
{
	buf_init(b, BIG + 65536);
	CHECK_OK(fs_read_file(b, path, BIG));
}

static void spill(const char *path, const void *p, size_t n)
{
	CHECK_OK(fs_write_atomic(path, p, n));
}

static bool detail_has(const char *s)
{
	return strstr(err_detail(), s) != NULL;
}

/* A key made from a fixed seed: keys[i] has seed bytes i+1, i+2, ... */
static void test_key(struct ssh_privkey *k, struct ssh_pubkey *pub, int i)
{
	for (int j = 0; j < ED25519_SEED_LEN; j++)
		k->seed[j] = (uint8_t)(i * 37 + j + 1);
	CHECK_OK(ed25519_public_from_seed(k->pub, k->seed));
	sshkey_public_from_private(pub, k);
}

/* Writes an allowed_signers file naming pub as principal "ferry" for
 * ferry's two namespaces, as docs/signatures.md recommends. */
static void allowed_signers(const char *path, const struct ssh_pubkey *pub)
{
	struct buf line;

	buf_init(&line, BIG);
	CHECK_OK(buf_append_str(&line, "ferry namespaces=\"git,ferry-head\" "));
	CHECK_OK(sshkey_format_public(&line, pub));
	CHECK_OK(buf_append_byte(&line, '\n'));
	spill(path, line.data, line.len);
	buf_release(&line);
}

static const char msg[] = "release notes: grade 7 mathematics, errata of 2026-05\n";

/* ---- interoperation with OpenSSH and git ---- */

static void test_same_bytes_as_ssh_keygen(void)
{
	const char *nss[] = {"file", "git", "ferry-head"};
	struct ssh_privkey k;
	char key[600], data[600], sig[700];

	snprintf(key, sizeof(key), "%s", tmp("key"));
	snprintf(data, sizeof(data), "%s", tmp("data"));
	snprintf(sig, sizeof(sig), "%s.sig", data);
	SH("ssh-keygen -q -t ed25519 -N '' -C signer -f '%s' </dev/null", key);
	CHECK_OK(sshkey_load_private(&k, key));
	spill(data, msg, strlen(msg));
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		struct buf ours, theirs;

		(void)unlink(sig);
		SH("ssh-keygen -q -Y sign -n %s -f '%s' '%s' </dev/null", nss[i], key, data);
		slurp(&theirs, sig);
		buf_init(&ours, BIG);
		CHECK_OK(sshsig_sign(&ours, &k, nss[i], msg, strlen(msg)));
		/* Ed25519 is deterministic, so the whole armor must agree. */
		CHECK_STR(buf_str(&ours), buf_str(&theirs));
		buf_release(&ours);
		buf_release(&theirs);
	}
	sshkey_private_clear(&k);
}

static void test_ssh_keygen_verifies_ours(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct buf sig;
	uint8_t data[1000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * i + 3);
	test_key(&k, &pub, 0);
	allowed_signers(tmp("allowed"), &pub);
	spill(tmp("bin"), data, sizeof(data));
	buf_init(&sig, BIG);
	CHECK_OK(sshsig_sign(&sig, &k, "git", data, sizeof(data)));
	spill(tmp("bin.sig"), sig.data, sig.len);
	SH("ssh-keygen -Y verify -f '%s' -I ferry -n git -s '%s' < '%s' >/dev/null 2>&1",
	   tmp("allowed"), tmp("bin.sig"), tmp("bin"));
	/* The stock tool binds the namespace too. */
	CHECK(sh_rc("ssh-keygen -Y verify -f '%s' -I ferry -n ferry-head -s '%s' < '%s' "
		    ">/dev/null 2>&1",
		    tmp("allowed"), tmp("bin.sig"), tmp("bin")) != 0);
	data[500] ^= 1;
	spill(tmp("bin"), data, sizeof(data));
	CHECK(sh_rc("ssh-keygen -Y verify -f '%s' -I ferry -n git -s '%s' < '%s' >/dev/null 2>&1",
		    tmp("allowed"), tmp("bin.sig"), tmp("bin")) != 0);
	buf_release(&sig);
}

static void test_we_verify_ssh_keygen(void)
{
	const char *hashes[] = {"sha512", "sha256"};
	const enum sshsig_hash want[] = {SSHSIG_SHA512, SSHSIG_SHA256};
	struct ssh_pubkey pub[2];
	char key[600];

	snprintf(key, sizeof(key), "%s", tmp("key2"));
	SH("ssh-keygen -q -t ed25519 -N '' -f '%s' </dev/null", key);
	CHECK_OK(sshkey_load_public(&pub[1], tmp("key2.pub")));
	pub[0] = pub[1];
	pub[0].key[0] ^= 0xff; /* a trusted key that did not sign */
	spill(tmp("m"), msg, strlen(msg));
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++) {
		struct sshsig_info info;
		struct buf sig;
		size_t which = 99;

		(void)unlink(tmp("m.sig"));
		SH("ssh-keygen -q -Y sign -O hashalg=%s -n ferry-head -f '%s' '%s' </dev/null",
		   hashes[i], key, tmp("m"));
		slurp(&sig, tmp("m.sig"));
		CHECK_OK(sshsig_parse(&info, buf_str(&sig), sig.len));
		CHECK_EQ_I(info.hash, want[i]);
		CHECK_STR(info.ns, "ferry-head");
		CHECK_OK(sshsig_verify(&which, pub, 2, "ferry-head", buf_str(&sig), sig.len, msg,
				       strlen(msg)));
		CHECK_EQ_U(which, 1);
		CHECK_EQ_I(sshsig_verify(&which, pub, 2, "ferry-head", buf_str(&sig), sig.len, msg,
					 strlen(msg) - 1),
			   -EKEYREJECTED);
		buf_release(&sig);
	}
}

static void test_ssh_keygen_rsa_refused(void)
{
	struct ssh_pubkey pub;
	struct buf sig;
	size_t which;

	SH("ssh-keygen -q -t rsa -b 2048 -N '' -f '%s' </dev/null", tmp("rsa"));
	spill(tmp("r"), msg, strlen(msg));
	SH("ssh-keygen -q -Y sign -n file -f '%s' '%s' </dev/null", tmp("rsa"), tmp("r"));
	slurp(&sig, tmp("r.sig"));
	memset(&pub, 0, sizeof(pub));
	err_clear();
	CHECK_EQ_I(sshsig_verify(&which, &pub, 1, "file", buf_str(&sig), sig.len, msg, strlen(msg)),
		   -EKEYREJECTED);
	CHECK_MSG(detail_has("only ssh-ed25519 keys are supported"), "%s", err_detail());
	buf_release(&sig);
}

/* Writes a commit object signed in namespace ns over body (a commit
 * without its gpgsig header) and returns its id in oid. */
static void signed_commit(char oid[64], const char *repo, const struct ssh_privkey *k,
			  const char *ns, const char *body, const char *tamper)
{
	const char *split = strstr(body, "\n\n");
	struct buf sig, obj;
	char cmd[1400];
	FILE *f;

	buf_init(&sig, BIG);
	buf_init(&obj, BIG);
	CHECK_OK(sshsig_sign(&sig, k, ns, body, strlen(body)));
	/* The gpgsig header: every armor line but the first indented by one
	 * space, as git writes it; it goes after the committer line. */
	CHECK_OK(buf_append(&obj, body, (size_t)(split - body) + 1));
	CHECK_OK(buf_append_str(&obj, "gpgsig "));
	for (size_t i = 0; i < sig.len; i++) {
		CHECK_OK(buf_append_byte(&obj, sig.data[i]));
		if (sig.data[i] == '\n' && i + 1 < sig.len)
			CHECK_OK(buf_append_byte(&obj, ' '));
	}
	CHECK_OK(buf_append_str(&obj, tamper ? tamper : split + 1));
	spill(tmp("commit"), obj.data, obj.len);
	snprintf(cmd, sizeof(cmd), "git -C '%s' hash-object -t commit -w '%s'", repo,
		 tmp("commit"));
	f = popen(cmd, "r");
	CHECK(f && fscanf(f, "%63s", oid) == 1);
	pclose(f);
	buf_release(&sig);
	buf_release(&obj);
}

static int verify_commit(const char *repo, const char *allowed, const char *oid)
{
	return sh_rc("git -C '%s' -c gpg.format=ssh -c gpg.ssh.allowedSignersFile='%s' "
		     "verify-commit %s >/dev/null 2>&1",
		     repo, allowed, oid);
}

static void test_git_verify_commit(void)
{
	static const char body[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
				   "author ferry <ferry@example.org> 1767225600 +0800\n"
				   "committer ferry <ferry@example.org> 1767225600 +0800\n"
				   "\n"
				   "renjiao/grade7/math: release 12\n";
	char repo[600], oid[64], allowed[600];
	struct ssh_privkey k;
	struct ssh_pubkey pub;

	snprintf(repo, sizeof(repo), "%s", tmp("repo.git"));
	snprintf(allowed, sizeof(allowed), "%s", tmp("allowed_git"));
	SH("git init -q --bare '%s' && git -C '%s' hash-object -t tree -w /dev/null >/dev/null",
	   repo, repo);
	test_key(&k, &pub, 3);
	allowed_signers(allowed, &pub);
	signed_commit(oid, repo, &k, SSHSIG_NS_GIT, body, NULL);
	CHECK_MSG(verify_commit(repo, allowed, oid) == 0, "git verify-commit %s", oid);
	/* docs/signatures.md's second command: the channel's history. */
	SH("git -C '%s' update-ref refs/heads/renjiao/grade7/math %s && "
	   "git -C '%s' -c gpg.format=ssh -c gpg.ssh.allowedSignersFile='%s' "
	   "log --show-signature renjiao/grade7/math 2>&1 | grep -q 'Good \"git\" signature for "
	   "ferry'",
	   repo, oid, repo, allowed);
	/* A head signature does not pass for a commit signature. */
	signed_commit(oid, repo, &k, SSHSIG_NS_HEAD, body, NULL);
	CHECK(verify_commit(repo, allowed, oid) != 0);
	/* Nor does a signature over another message. */
	signed_commit(oid, repo, &k, SSHSIG_NS_GIT, body, "\nrenjiao/grade7/math: release 13\n");
	CHECK(verify_commit(repo, allowed, oid) != 0);
}

/* ---- ferry's own checks ---- */

static void test_round_trip_and_signer(void)
{
	struct ssh_privkey k[3];
	struct ssh_pubkey pub[3];
	struct buf sig;
	size_t which = 99;

	for (int i = 0; i < 3; i++)
		test_key(&k[i], &pub[i], i);
	buf_init(&sig, BIG);
	CHECK_OK(buf_append_str(&sig, "kept"));
	CHECK_OK(sshsig_sign(&sig, &k[2], SSHSIG_NS_HEAD, msg, strlen(msg)));
	CHECK(memcmp(sig.data, "kept-----BEGIN SSH SIGNATURE-----\n", 34) == 0);
	CHECK_OK(sshsig_verify(&which, pub, 3, SSHSIG_NS_HEAD, buf_str(&sig) + 4, sig.len - 4, msg,
			       strlen(msg)));
	CHECK_EQ_U(which, 2);
	/* The empty message is a message too. */
	buf_reset(&sig);
	CHECK_OK(sshsig_sign(&sig, &k[0], "file", "", 0));
	CHECK_OK(sshsig_verify(&which, pub, 3, "file", buf_str(&sig), sig.len, "", 0));
	CHECK_EQ_U(which, 0);
	buf_release(&sig);
}

static void test_rejections(void)
{
	struct ssh_privkey k[2];
	struct ssh_pubkey pub[2];
	struct buf sig;
	size_t which = 99;
	char fp[SSHKEY_FINGERPRINT_LEN];

	for (int i = 0; i < 2; i++)
		test_key(&k[i], &pub[i], i);
	buf_init(&sig, BIG);
	CHECK_OK(sshsig_sign(&sig, &k[1], "git", msg, strlen(msg)));
	err_clear();
	CHECK_EQ_I(
	    sshsig_verify(&which, pub, 2, SSHSIG_NS_HEAD, buf_str(&sig), sig.len, msg, strlen(msg)),
	    -EKEYREJECTED);
	CHECK_MSG(detail_has("namespace \"git\", not \"ferry-head\""), "%s", err_detail());
	err_clear();
	CHECK_EQ_I(sshsig_verify(&which, pub, 1, "git", buf_str(&sig), sig.len, msg, strlen(msg)),
		   -EKEYREJECTED);
	CHECK_OK(sshkey_fingerprint(fp, &pub[1]));
	CHECK_MSG(detail_has(fp) && detail_has("not trusted"), "%s", err_detail());
	CHECK_EQ_I(sshsig_verify(&which, pub, 0, "git", buf_str(&sig), sig.len, msg, strlen(msg)),
		   -EKEYREJECTED);
	err_clear();
	CHECK_EQ_I(sshsig_verify(&which, pub, 2, "git", buf_str(&sig), sig.len, "other", 5),
		   -EKEYREJECTED);
	CHECK_MSG(detail_has("does not match"), "%s", err_detail());
	CHECK_EQ_U(which, 99);
	buf_release(&sig);
}

static void test_sign_namespace_rules(void)
{
	const char *bad[] = {"", "two words", "tab\there", "ünicode",
			     "0123456789012345678901234567890123456789012345678901234567890123x"};
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct buf sig;

	test_key(&k, &pub, 0);
	buf_init(&sig, BIG);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ_I(sshsig_sign(&sig, &k, bad[i], msg, 1), -EINVAL);
		CHECK_EQ_U(sig.len, 0);
	}
	CHECK_OK(sshsig_sign(
	    &sig, &k, "0123456789012345678901234567890123456789012345678901234567890123", msg, 1));
	buf_release(&sig);
}

/* Every prefix and every single-byte change of a good armor fails, apart
 * from dropping the final newline. */
static void test_armor_damage(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct buf sig;
	char *copy;
	size_t which;

	test_key(&k, &pub, 0);
	buf_init(&sig, BIG);
	CHECK_OK(sshsig_sign(&sig, &k, "file", msg, strlen(msg)));
	copy = mem_dup(sig.data, sig.len);
	CHECK(copy != NULL);
	for (size_t n = 0; n < sig.len; n++) {
		int e = sshsig_verify(&which, &pub, 1, "file", copy, n, msg, strlen(msg));

		CHECK_MSG(n == sig.len - 1 ? e == 0 : e == -EBADMSG, "prefix %zu: %d", n, e);
	}
	for (size_t i = 0; i < sig.len; i++) {
		static const uint8_t flips[] = {0x01, 0x20, 0x80, 0x0f};

		for (size_t f = 0; f < sizeof(flips); f++) {
			int e;

			copy[i] = (char)(sig.data[i] ^ flips[f]);
			e = sshsig_verify(&which, &pub, 1, "file", copy, sig.len, msg, strlen(msg));
			CHECK_MSG(e == -EBADMSG || e == -EKEYREJECTED, "byte %zu ^ %#x: %d", i,
				  flips[f], e);
		}
		copy[i] = (char)sig.data[i];
	}
	mem_free(copy);
	buf_release(&sig);
}

/* ---- blob variants ---- */

struct sigspec {
	const char *magic;     /* default "SSHSIG" */
	uint32_t version;      /* default 1; UINT32_MAX means 0 */
	const char *key_type;  /* default ssh-ed25519 */
	const char *ns;	       /* default "ferry-head" */
	size_t ns_len;	       /* default strlen(ns) */
	const char *reserved;  /* default "" */
	const char *hash;      /* default "sha512" */
	const char *sign_hash; /* hash actually used for the signed data */
	const char *sig_type;  /* default ssh-ed25519 */
	size_t sig_len;	       /* default 64 */
	bool trailing, truncated, other_signer;
};

static void put_cstr(struct buf *b, const char *s)
{
	CHECK_OK(buf_append_sshstr(b, s, strlen(s)));
}

static void build_sig(struct buf *armor, const struct sigspec *s)
{
	struct ssh_privkey k, other;
	struct ssh_pubkey pub;
	struct buf data, blob, keyblob, sigfield;
	const char *ns = s->ns ? s->ns : SSHSIG_NS_HEAD;
	size_t ns_len = s->ns_len ? s->ns_len : strlen(ns);
	const char *hash = s->hash ? s->hash : "sha512";
	const char *sign_hash = s->sign_hash ? s->sign_hash : hash;
	uint8_t digest[SHA512_LEN], sig[ED25519_SIG_LEN];
	size_t dlen = SHA512_LEN;

	test_key(&k, &pub, 0);
	test_key(&other, &pub, 1);
	buf_init(&data, BIG);
	buf_init(&blob, BIG);
	buf_init(&keyblob, BIG);
	buf_init(&sigfield, BIG);
	if (strcmp(sign_hash, "sha256") == 0) {
		sha256_buf((struct sha256 *)digest, msg, strlen(msg));
		dlen = SHA256_LEN;
	} else {
		sha512_buf(digest, msg, strlen(msg));
	}
	CHECK_OK(buf_append(&data, "SSHSIG", 6));
	CHECK_OK(buf_append_sshstr(&data, ns, ns_len));
	put_cstr(&data, s->reserved ? s->reserved : "");
	put_cstr(&data, sign_hash);
	CHECK_OK(buf_append_sshstr(&data, digest, dlen));
	CHECK_OK(ed25519_sign(sig, s->other_signer ? other.seed : k.seed, data.data, data.len));

	put_cstr(&keyblob, s->key_type ? s->key_type : "ssh-ed25519");
	CHECK_OK(buf_append_sshstr(&keyblob, k.pub, ED25519_PUB_LEN));
	put_cstr(&sigfield, s->sig_type ? s->sig_type : "ssh-ed25519");
	CHECK_OK(buf_append_sshstr(&sigfield, sig, s->sig_len ? s->sig_len : ED25519_SIG_LEN));
	CHECK_OK(buf_append(&blob, s->magic ? s->magic : "SSHSIG", 6));
	CHECK_OK(buf_append_be32(&blob, s->version == UINT32_MAX ? 0
					: s->version		 ? s->version
								 : 1));
	CHECK_OK(buf_append_sshstr(&blob, keyblob.data, keyblob.len));
	CHECK_OK(buf_append_sshstr(&blob, ns, ns_len));
	put_cstr(&blob, s->reserved ? s->reserved : "");
	put_cstr(&blob, hash);
	CHECK_OK(buf_append_sshstr(&blob, sigfield.data, sigfield.len));
	if (s->trailing)
		CHECK_OK(buf_append_byte(&blob, 0));
	if (s->truncated)
		blob.len--;
	buf_init(armor, BIG);
	CHECK_OK(sshkey_armor_encode(armor, SSHSIG_ARMOR, blob.data, blob.len));
	buf_release(&data);
	buf_release(&blob);
	buf_release(&keyblob);
	buf_release(&sigfield);
}

static void test_blob_variants(void)
{
	static const char long_ns[] =
	    "ferry-head-012345678901234567890123456789012345678901234567890123";
	struct {
		const char *name;
		struct sigspec s;
		int want;
	} cases[] = {
	    {"as ssh-keygen writes it", {0}, 0},
	    {"sha256", {.hash = "sha256"}, 0},
	    {"bad magic", {.magic = "SSHSIH"}, -EBADMSG},
	    {"version 0", {.version = UINT32_MAX}, -EBADMSG},
	    {"version 2", {.version = 2}, -EBADMSG},
	    {"reserved field used", {.reserved = "tag"}, -EBADMSG},
	    {"empty namespace", {.ns = "", .ns_len = 0}, -EBADMSG},
	    {"NUL in namespace", {.ns = "ferry-head\0x", .ns_len = 12}, -EBADMSG},
	    {"signature of another type", {.sig_type = "rsa-sha2-512"}, -EBADMSG},
	    {"63-byte signature", {.sig_len = 63}, -EBADMSG},
	    {"trailing byte", {.trailing = true}, -EBADMSG},
	    {"truncated", {.truncated = true}, -EBADMSG},
	    {"hash sha1", {.hash = "sha1"}, -EKEYREJECTED},
	    {"RSA key", {.key_type = "ssh-rsa"}, -EKEYREJECTED},
	    {"namespace of 65 bytes", {.ns = long_ns}, -EKEYREJECTED},
	    {"namespace with a blank", {.ns = "ferry head"}, -EKEYREJECTED},
	    {"signed with sha256, says sha512", {.sign_hash = "sha256"}, -EKEYREJECTED},
	    {"signed by another key", {.other_signer = true}, -EKEYREJECTED},
	};
	struct ssh_privkey k;
	struct ssh_pubkey pub;

	CHECK_EQ_U(strlen(long_ns), 65);
	test_key(&k, &pub, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf armor;
		size_t which = 99;
		int e;

		build_sig(&armor, &cases[i].s);
		/* Always asked for "ferry-head": the odd namespaces above are
		 * for the parser to refuse before any comparison. */
		e = sshsig_verify(&which, &pub, 1, SSHSIG_NS_HEAD, buf_str(&armor), armor.len, msg,
				  strlen(msg));
		CHECK_MSG(e == cases[i].want, "%s: got %d, want %d (%s)", cases[i].name, e,
			  cases[i].want, err_detail());
		CHECK_EQ_U(which, e == 0 ? 0 : 99);
		buf_release(&armor);
	}
}

static void test_size_limit(void)
{
	struct buf big;
	struct sshsig_info info;

	buf_init(&big, BIG);
	CHECK_OK(buf_append_str(&big, "-----BEGIN SSH SIGNATURE-----\n"));
	while (big.len <= LIMIT_SIGNATURE_BYTES)
		CHECK_OK(buf_append_str(&big, "AAAA\n"));
	CHECK_OK(buf_append_str(&big, "-----END SSH SIGNATURE-----\n"));
	CHECK_EQ_I(sshsig_parse(&info, buf_str(&big), big.len), -EFBIG);
	buf_release(&big);
	CHECK_EQ_I(sshsig_parse(&info, NULL, 0), -EBADMSG);
}

static void test_allocation_failures(void)
{
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	int e = -ENOMEM;

	test_key(&k, &pub, 0);
	for (long n = 0; e == -ENOMEM; n++) {
		struct buf sig;
		size_t which;

		buf_init(&sig, BIG);
		mem_fail_after(n);
		e = sshsig_sign(&sig, &k, "git", msg, strlen(msg));
		if (e == 0)
			e = sshsig_verify(&which, &pub, 1, "git", buf_str(&sig), sig.len, msg,
					  strlen(msg));
		mem_fail_after(-1);
		CHECK_MSG(e == 0 || e == -ENOMEM, "after %ld allocations: %d", n, e);
		buf_release(&sig);
		CHECK(n < 1000);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"same bytes as ssh-keygen -Y sign", test_same_bytes_as_ssh_keygen},
	    {"ssh-keygen -Y verify -n git accepts ours", test_ssh_keygen_verifies_ours},
	    {"ssh-keygen -Y sign (sha512, sha256) verifies here", test_we_verify_ssh_keygen},
	    {"ssh-keygen -Y sign with an RSA key is refused", test_ssh_keygen_rsa_refused},
	    {"git verify-commit accepts a commit signed here", test_git_verify_commit},
	    {"round trip names the signer", test_round_trip_and_signer},
	    {"wrong namespace, untrusted key, other message", test_rejections},
	    {"sign refuses bad namespaces", test_sign_namespace_rules},
	    {"every prefix and byte flip of the armor fails", test_armor_damage},
	    {"blob fields checked one by one", test_blob_variants},
	    {"size limit and no input", test_size_limit},
	    {"allocation failures unwind cleanly", test_allocation_failures},
	    {0},
	});
}

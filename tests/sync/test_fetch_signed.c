/*
 * test_fetch_signed.c — the signed pack list a release tree's meta/packs
 * gives fetch_adopt.c (sync/fetch_signed.c): what it vouches for (a name
 * with exactly its listed size), and that a tree without the file, or with
 * one that does not parse, vouches for nothing.
 */
#include <stdio.h>
#include <string.h>

#include "core/codec_text.h"
#include "core/mem.h"
#include "manifests/mgit.h"
#include "sync/fetch_int.h"
#include "tests/harness.h"

static struct mgit *g;

/* A tree holding meta/packs = text (NULL: a tree without it). */
static struct mgit_oid tree_with(const char *text)
{
	struct mgit_tree *t;
	struct mgit_oid blob, tree;

	CHECK_OK(mgit_tree_new(&t, g));
	CHECK_OK(mgit_blob_write(&blob, g, "x", 1));
	CHECK_OK(mgit_tree_put(t, "files/a.txt", &blob));
	if (text) {
		CHECK_OK(mgit_blob_write(&blob, g, text, strlen(text)));
		CHECK_OK(mgit_tree_put(t, "meta/packs", &blob));
	}
	CHECK_OK(mgit_tree_write(&tree, t));
	mgit_tree_free(t);
	return tree;
}

static struct sha256 name_of(unsigned char fill)
{
	struct sha256 n;

	memset(n.b, fill, SHA256_LEN);
	return n;
}

static void open_repo(void)
{
	char path[512];

	if (g)
		return;
	snprintf(path, sizeof(path), "%s/signed.git", t_tmpdir());
	CHECK_OK(mgit_init(&g, path));
}

static void test_listed(void)
{
	struct signed_packs s = { 0 };
	struct sha256 a = name_of(0xaa), b = name_of(0x11), c = name_of(0x77);
	char ha[2 * SHA256_LEN + 1], hb[2 * SHA256_LEN + 1], text[256];
	struct mgit_oid tree;

	open_repo();
	hex_encode(ha, a.b, SHA256_LEN);
	hex_encode(hb, b.b, SHA256_LEN);
	/* out of order on purpose: the lookup must not depend on it */
	snprintf(text, sizeof(text), "%s 1000\n%s 42\n", ha, hb);
	tree = tree_with(text);
	CHECK_OK(signed_packs_load(&s, g, &tree));
	CHECK_EQ_U(s.n, 2);
	CHECK(signed_packs_has(&s, &a, 1000));
	CHECK(signed_packs_has(&s, &b, 42));
	CHECK(!signed_packs_has(&s, &a, 999));  /* size must match too */
	CHECK(!signed_packs_has(&s, &b, 43));
	CHECK(!signed_packs_has(&s, &c, 1000)); /* not listed */
	signed_packs_release(&s);
	CHECK(!signed_packs_has(&s, &a, 1000));
}

static void test_absent_or_bad(void)
{
	struct signed_packs s = { 0 };
	struct sha256 a = name_of(0xaa);
	char ha[2 * SHA256_LEN + 1], text[256];
	struct mgit_oid tree;

	open_repo();
	tree = tree_with(NULL);
	CHECK_OK(signed_packs_load(&s, g, &tree));
	CHECK_EQ_U(s.n, 0);
	hex_encode(ha, a.b, SHA256_LEN);
	/* a good line then a bad one: nothing is vouched for */
	snprintf(text, sizeof(text), "%s 1000\n%.63s 5\n", ha, ha);
	tree = tree_with(text);
	CHECK(signed_packs_load(&s, g, &tree) == -EBADMSG);
	CHECK(!signed_packs_has(&s, &a, 1000));
	snprintf(text, sizeof(text), "%s 1000", ha); /* no final newline */
	tree = tree_with(text);
	CHECK(signed_packs_load(&s, g, &tree) == -EBADMSG);
	CHECK(!signed_packs_has(&s, &a, 1000));
	snprintf(text, sizeof(text), "%s -1\n", ha);
	tree = tree_with(text);
	CHECK(signed_packs_load(&s, g, &tree) == -EBADMSG);
	signed_packs_release(&s);
}

int main(void)
{
	int r = t_main((struct t_case[]){ { "a listed name with its size", test_listed },
					  { "absent or malformed meta/packs vouches for nothing",
					    test_absent_or_bad },
					  { 0 } });

	mgit_free(g);
	return r;
}

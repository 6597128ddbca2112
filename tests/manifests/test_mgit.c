/*
 * test_mgit.c — the manifest repository (manifests/mgit.h) against libgit2
 * and against stock git.
 *
 * Releases are built with names in Chinese, Tibetan, Uyghur, Mongolian and
 * with spaces, read back, walked and diffed; stock git then checks what we
 * wrote (fsck --strict, count-objects, verify-commit with an ssh key, clone
 * from the folder and over plain HTTP).  Hostile trees and commits are
 * written through the internal object writer (git_libgit2_int.h) to check
 * that readers refuse them.  Tools used: git, ssh-keygen, python3 (its
 * http.server, for the dumb-HTTP clone).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"
#include "manifests/mgit.h"
#include "tests/harness.h"

#define GIT "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git"

/* ---- helpers ---------------------------------------------------------- */

/* The scratch path for name: one stable string per name. */
static const char *tmp_path(const char *name)
{
	static char names[64][64], paths[64][1024];
	static size_t n;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return paths[i];
	}
	CHECK(n < 64 && strlen(name) < sizeof(names[0]));
	snprintf(names[n], sizeof(names[0]), "%s", name);
	snprintf(paths[n], sizeof(paths[0]), "%s/%s", t_tmpdir(), name);
	return paths[n++];
}

/* Runs a shell command; its output goes to out (if given). */
static int sh(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sh(struct buf *out, const char *fmt, ...)
{
	char cmd[8192], full[8400];
	const char *log = tmp_path("sh.out");
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "( %s ) >'%s' 2>&1", cmd, log);
	rc = system(full);
	if (out) {
		buf_reset(out);
		if (fs_read_file(out, log, 1 << 24) < 0)
			buf_reset(out);
	}
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void rm_rf(const char *path)
{
	CHECK(sh(NULL, "rm -rf '%s'", path) == 0);
}

struct file {
	const char *path;
	const char *content;
};

/* The first release: every script the catalog carries, names with
 * spaces, and names that put git's "directory sorts as name/" rule to work
 * ("a-b.txt" < "a.txt" < "a/"). */
static const struct file release_a[] = {
	{ "files/七年级/数学/第一章 有理数/1.1 正数和负数.mp4", "pointer 1.1 v1\n" },
	{ "files/七年级/数学/第一章 有理数/1.2 有理数.pdf", "pointer 1.2 v1\n" },
	{ "files/七年级/数学/第二章 整式的加减/2.1 整式.pdf", "pointer 2.1 v1\n" },
	{ "files/七年级/语文/春.html", "pointer chun\n" },
	{ "files/བོད་ཡིག/སློབ་དེབ་དང་པོ།.pdf", "pointer tibetan\n" },
	{ "files/ئۇيغۇرچە/دەرسلىك 1.pdf", "pointer uyghur\n" },
	{ "files/ᠮᠣᠩᠭᠣᠯ/ᠨᠢᠭᠡ ᠳᠡᠪᠲᠡᠷ.mp4", "pointer mongolian\n" },
	{ "files/a b/c d.txt", "pointer spaces\n" },
	{ "files/a-b.txt", "pointer a-b\n" },
	{ "files/a.txt", "pointer a.txt\n" },
	{ "files/a/x.txt", "pointer a/x\n" },
	{ "meta/packs", "packs v1\n" },
};

/* The second release: 1.1 changed, 1.2 removed, 2.2 added, meta changed. */
static const struct file release_b[] = {
	{ "files/七年级/数学/第一章 有理数/1.1 正数和负数.mp4", "pointer 1.1 v2 (erratum)\n" },
	{ "files/七年级/数学/第二章 整式的加减/2.1 整式.pdf", "pointer 2.1 v1\n" },
	{ "files/七年级/数学/第二章 整式的加减/2.2 整式的加减.pdf", "pointer 2.2 new\n" },
	{ "files/七年级/语文/春.html", "pointer chun\n" },
	{ "files/བོད་ཡིག/སློབ་དེབ་དང་པོ།.pdf", "pointer tibetan\n" },
	{ "files/ئۇيغۇرچە/دەرسلىك 1.pdf", "pointer uyghur\n" },
	{ "files/ᠮᠣᠩᠭᠣᠯ/ᠨᠢᠭᠡ ᠳᠡᠪᠲᠡᠷ.mp4", "pointer mongolian\n" },
	{ "files/a b/c d.txt", "pointer spaces\n" },
	{ "files/a-b.txt", "pointer a-b\n" },
	{ "files/a.txt", "pointer a.txt\n" },
	{ "files/a/x.txt", "pointer a/x\n" },
	{ "meta/packs", "packs v2\n" },
};

#define CHANNEL "refs/heads/renjiao/grade7/math"

static struct mgit_oid tree_of(struct mgit *g, const struct file *files, size_t n)
{
	struct mgit_tree *t;
	struct mgit_oid blob, tree;

	CHECK_OK(mgit_tree_new(&t, g));
	for (size_t i = 0; i < n; i++) {
		CHECK_OK(mgit_blob_write(&blob, g, files[i].content, strlen(files[i].content)));
		CHECK_OK(mgit_tree_put(t, files[i].path, &blob));
	}
	CHECK_EQ_U(mgit_tree_count(t), n);
	CHECK_OK(mgit_tree_write(&tree, t));
	mgit_tree_free(t);
	return tree;
}

/* Builds, commits, flushes and publishes one release. */
static struct mgit_oid release(struct mgit *g, const struct file *files, size_t n,
			       const struct mgit_oid *parent, int64_t when, char *pack_out)
{
	struct mgit_oid tree = tree_of(g, files, n), commit;
	char pack[MGIT_PACK_NAME_MAX];

	CHECK_OK(mgit_commit_create(&commit, g, &tree, parent, "县教育局 County",
				    "county@example.cn", when, "release\n", NULL, NULL));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	CHECK(strncmp(pack, "pack-", 5) == 0 && strlen(pack) == 50);
	CHECK_EQ_U(mgit_pending(g), 0);
	CHECK_OK(mgit_ref_update(g, CHANNEL, &commit, parent));
	if (pack_out)
		strcpy(pack_out, pack);
	return commit;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects walk or diff output as "path" / "path old new" lines. */
struct seen {
	char *lines[256];
	size_t n;
};

static void seen_release(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i]);
	s->n = 0;
}

static int on_walk(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct seen *s = ctx;

	CHECK(s->n < 256 && blob);
	s->lines[s->n++] = strdup(path);
	return 0;
}

static int on_diff(const char *path, const struct mgit_oid *a, const struct mgit_oid *b, void *ctx)
{
	struct seen *s = ctx;
	char line[4200];

	CHECK(s->n < 256 && (a || b));
	snprintf(line, sizeof(line), "%s %s", a && b ? "M" : a ? "D" : "A", path);
	s->lines[s->n++] = strdup(line);
	return 0;
}

static void raw_entry(struct buf *b, const char *mode, const char *name, const struct mgit_oid *id)
{
	CHECK_OK(buf_printf(b, "%s %s", mode, name));
	CHECK_OK(buf_append_byte(b, 0));
	CHECK_OK(buf_append(b, id->id, MGIT_OID_LEN));
}

static struct mgit_oid blob_of(struct mgit *g, const char *s)
{
	struct mgit_oid id;

	CHECK_OK(mgit_blob_write(&id, g, s, strlen(s)));
	return id;
}

/* ---- object IDs and paths ---------------------------------------------- */

static void test_oid(void)
{
	struct mgit_oid id;
	char hex[MGIT_OID_HEX + 1];

	CHECK_OK(mgit_oid_parse(&id, "4B825DC642CB6EB9A060E54BF8D69288FBEE4904"));
	mgit_oid_fmt(hex, &id);
	CHECK_STR(hex, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	CHECK_EQ_I(mgit_oid_parse(&id, "4b825dc642cb6eb9a060e54bf8d69288fbee490"), -EBADMSG);
	CHECK_EQ_I(mgit_oid_parse(&id, "4b825dc642cb6eb9a060e54bf8d69288fbee49044"), -EBADMSG);
	CHECK_EQ_I(mgit_oid_parse(&id, "4b825dc642cb6eb9a060e54bf8d69288fbee490g"), -EBADMSG);
}

static void test_path_rules(void)
{
	static const char *const good[] = {
		"a", "files/七年级/数学/第一章 有理数/1.1 正数和负数.mp4", "files/བོད་ཡིག/དེབ།.pdf",
		"files/ئۇيغۇرچە/دەرسلىك 1.pdf", "ᠮᠣᠩᠭᠣᠯ/ᠨᠢᠭᠡ", "a b/ c /d ", ".gitignore", "x/.github/y",
		"...", "a/.git-x", "git~2", "a:b",
	};
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", "./a", "a/./b", "a/..", "../x", ".git", "a/.git/b", ".GIT",
		"x/.Git", ".git.", ".git ", ".git. . ", "GIT~1", "x/git~1/y", ".git::$INDEX_ALLOCATION",
		".g\xe2\x80\x8cit", "\xef\xbb\xbf.git", "a\nb", "a\tb", "a\x7f", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe4\xb8", "\xff", "a\\b",
	};
	char longname[LIMIT_NAME_BYTES + 2], deep[LIMIT_PATH_DEPTH * 2 + 2];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK_MSG(mgit_path_check(good[i]) == 0, "refused \"%s\": %s", good[i], err_detail());
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(mgit_path_check(bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ_I(mgit_path_check(longname), -EINVAL);
	longname[LIMIT_NAME_BYTES] = '\0';
	CHECK_OK(mgit_path_check(longname));
	for (size_t i = 0; i < LIMIT_PATH_DEPTH + 1; i++)
		memcpy(deep + 2 * i, "d/", 2);
	deep[2 * LIMIT_PATH_DEPTH + 1] = '\0';
	CHECK_EQ_I(mgit_path_check(deep), -EINVAL);
	deep[2 * LIMIT_PATH_DEPTH - 1] = '\0';
	CHECK_OK(mgit_path_check(deep));
}

/* ---- building trees ---------------------------------------------------- */

static void test_tree_put_refusals(void)
{
	struct mgit *g;
	struct mgit_tree *t;
	struct mgit_oid blob, missing, tree, got;

	rm_rf(tmp_path("refuse.git"));
	CHECK_OK(mgit_init(&g, tmp_path("refuse.git")));
	blob = blob_of(g, "x");
	memset(missing.id, 0xab, sizeof(missing.id));
	CHECK_OK(mgit_tree_new(&t, g));
	CHECK_OK(mgit_tree_put(t, "a/b/c", &blob));
	CHECK_EQ_I(mgit_tree_put(t, "a/b/c", &blob), -EEXIST);
	CHECK_EQ_I(mgit_tree_put(t, "a/b", &blob), -EISDIR);
	CHECK_EQ_I(mgit_tree_put(t, "a", &blob), -EISDIR);
	CHECK_EQ_I(mgit_tree_put(t, "a/b/c/d", &blob), -ENOTDIR);
	CHECK(strstr(err_detail(), "a/b/c") != NULL);
	CHECK_EQ_I(mgit_tree_put(t, "a/b/c/d/e/f", &blob), -ENOTDIR);
	CHECK_EQ_I(mgit_tree_put(t, "a/../x", &blob), -EINVAL);
	CHECK_EQ_I(mgit_tree_put(t, "a/.git/x", &blob), -EINVAL);
	CHECK_EQ_I(mgit_tree_put(t, "q", &missing), -ENOENT);
	/* Failed puts leave nothing behind: "a/b/c/d/e" was refused, so
	 * "a/b/c/d" must not have become a directory. */
	CHECK_OK(mgit_tree_put(t, "a/b/x", &blob));
	CHECK_OK(mgit_tree_put(t, "q", &blob));
	CHECK_EQ_U(mgit_tree_count(t), 3);
	CHECK_OK(mgit_tree_write(&tree, t));
	CHECK_OK(mgit_tree_get(&got, g, &tree, "a/b/c"));
	CHECK(mgit_oid_eq(&got, &blob));
	CHECK_EQ_I(mgit_tree_get(&got, g, &tree, "a/b/c/d"), -ENOENT);
	CHECK_EQ_I(mgit_tree_get(&got, g, &tree, "a/b"), -EISDIR);
	CHECK_EQ_I(mgit_tree_get(&got, g, &tree, "a/nothing"), -ENOENT);
	mgit_tree_free(t);
	mgit_free(g);
}

/* The builder's trees must be byte-identical to what git itself builds. */
static void test_tree_matches_git(void)
{
	const char *dir = tmp_path("same.git");
	struct buf out;
	struct mgit *g;
	struct mgit_oid tree;
	char hex[MGIT_OID_HEX + 1];

	rm_rf(dir);
	rm_rf(tmp_path("work"));
	CHECK_OK(mgit_init(&g, dir));
	tree = tree_of(g, release_a, ARRAY_SIZE(release_a));
	mgit_oid_fmt(hex, &tree);
	mgit_free(g);
	CHECK_OK(fs_mkdir_p(tmp_path("work"), 0755));
	for (size_t i = 0; i < ARRAY_SIZE(release_a); i++) {
		char path[1024];

		snprintf(path, sizeof(path), "%s/%s", tmp_path("work"), release_a[i].path);
		CHECK_OK(fs_mkdir_parents(path, 0755));
		CHECK_OK(fs_write_atomic(path, release_a[i].content, strlen(release_a[i].content)));
	}
	buf_init(&out, 1 << 20);
	CHECK(sh(&out, "cd '%s' && " GIT " init -q && " GIT " add -A && " GIT " write-tree",
		 tmp_path("work")) == 0);
	CHECK_MSG(strncmp((char *)out.data, hex, MGIT_OID_HEX) == 0, "git: %.40s, ours: %s",
		  out.data, hex);
	buf_release(&out);
}

/* ---- releases ---------------------------------------------------------- */

static void test_release_round_trip(void)
{
	const char *dir = tmp_path("rt.git");
	struct mgit *g;
	struct mgit_oid c1, c2, tree, blob, head;
	struct mgit_commit c;
	struct buf b;

	rm_rf(dir);
	CHECK_OK(mgit_init(&g, dir));
	c1 = release(g, release_a, ARRAY_SIZE(release_a), NULL, 1700000000, NULL);
	c2 = release(g, release_b, ARRAY_SIZE(release_b), &c1, 1700086400, NULL);
	mgit_free(g);

	CHECK_OK(mgit_open(&g, dir));
	CHECK_OK(mgit_ref_read(&head, g, CHANNEL));
	CHECK(mgit_oid_eq(&head, &c2));
	CHECK_OK(mgit_commit_read(&c, g, &c2));
	CHECK(c.has_parent && mgit_oid_eq(&c.parent, &c1));
	CHECK_EQ_U(c.parent_count, 1);
	CHECK_EQ_I(c.time, 1700086400);
	CHECK_STR(c.message, "release\n");
	CHECK(c.signature == NULL);
	tree = c.tree;
	mgit_commit_release(&c);
	CHECK_OK(mgit_commit_read(&c, g, &c1));
	CHECK(!c.has_parent && c.parent_count == 0);
	mgit_commit_release(&c);

	buf_init(&b, LIMIT_POINTER_BYTES);
	for (size_t i = 0; i < ARRAY_SIZE(release_b); i++) {
		CHECK_OK(mgit_tree_get(&blob, g, &tree, release_b[i].path));
		buf_reset(&b);
		CHECK_OK(mgit_blob_read(&b, g, &blob, LIMIT_POINTER_BYTES));
		CHECK_STR(buf_str(&b), release_b[i].content);
	}
	CHECK_EQ_I(mgit_tree_get(&blob, g, &tree, "files/七年级/数学/第一章 有理数/1.2 有理数.pdf"), -ENOENT);
	/* Limits and kinds on reading. */
	buf_reset(&b);
	CHECK_EQ_I(mgit_blob_read(&b, g, &blob, 3), -EFBIG);
	CHECK_EQ_U(b.len, 0);
	CHECK_EQ_I(mgit_blob_read(&b, g, &tree, 1 << 20), -EBADMSG);
	CHECK_EQ_I(mgit_commit_read(&c, g, &tree), -EBADMSG);
	mgit_commit_release(&c);
	memset(blob.id, 0x5a, sizeof(blob.id));
	CHECK_EQ_I(mgit_blob_read(&b, g, &blob, 1 << 20), -ENOENT);
	CHECK(!mgit_object_exists(g, &blob));
	CHECK(mgit_object_exists(g, &tree));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	buf_release(&b);
	mgit_free(g);
	CHECK_EQ_I(mgit_open(&g, tmp_path("nothing-here.git")), -ENOENT);
}

static void test_walk_order(void)
{
	const char *dir = tmp_path("walk.git");
	const char *sorted[ARRAY_SIZE(release_a)];
	struct seen s = { 0 };
	struct mgit *g;
	struct mgit_oid tree;

	rm_rf(dir);
	CHECK_OK(mgit_init(&g, dir));
	tree = tree_of(g, release_a, ARRAY_SIZE(release_a));
	for (size_t i = 0; i < ARRAY_SIZE(release_a); i++)
		sorted[i] = release_a[i].path;
	qsort(sorted, ARRAY_SIZE(sorted), sizeof(sorted[0]), cmp_str);
	CHECK_OK(mgit_tree_walk(g, &tree, NULL, on_walk, &s));
	CHECK_EQ_U(s.n, ARRAY_SIZE(release_a));
	for (size_t i = 0; i < s.n; i++)
		CHECK_STR(s.lines[i], sorted[i]);
	/* "files/a-b.txt" < "files/a.txt" < "files/a/x.txt" in byte order, and
	 * git's tree order agrees. */
	seen_release(&s);
	CHECK_OK(mgit_tree_walk(g, &tree, "files/七年级/数学", on_walk, &s));
	CHECK_EQ_U(s.n, 3);
	CHECK_STR(s.lines[0], "files/七年级/数学/第一章 有理数/1.1 正数和负数.mp4");
	CHECK_STR(s.lines[2], "files/七年级/数学/第二章 整式的加减/2.1 整式.pdf");
	seen_release(&s);
	CHECK_OK(mgit_tree_walk(g, &tree, "meta/packs", on_walk, &s));
	CHECK_EQ_U(s.n, 1);
	CHECK_STR(s.lines[0], "meta/packs");
	seen_release(&s);
	CHECK_EQ_I(mgit_tree_walk(g, &tree, "files/八年级", on_walk, &s), -ENOENT);
	CHECK_EQ_I(mgit_tree_walk(g, &tree, "files/../x", on_walk, &s), -EINVAL);
	mgit_free(g);
}

static int stop_after_two(const char *path, const struct mgit_oid *blob, void *ctx)
{
	return ++*(int *)ctx == 2 ? 42 : 0;
}

static void test_walk_stops(void)
{
	struct mgit *g;
	struct mgit_oid tree;
	int calls = 0;

	rm_rf(tmp_path("stop.git"));
	CHECK_OK(mgit_init(&g, tmp_path("stop.git")));
	tree = tree_of(g, release_a, ARRAY_SIZE(release_a));
	CHECK_EQ_I(mgit_tree_walk(g, &tree, "", stop_after_two, &calls), 42);
	CHECK_EQ_I(calls, 2);
	mgit_free(g);
}

static void test_diff_releases(void)
{
	static const char *const want[] = {
		"M files/七年级/数学/第一章 有理数/1.1 正数和负数.mp4",
		"D files/七年级/数学/第一章 有理数/1.2 有理数.pdf",
		"A files/七年级/数学/第二章 整式的加减/2.2 整式的加减.pdf",
		"M meta/packs",
	};
	struct seen s = { 0 };
	struct mgit *g;
	struct mgit_oid a, b;

	rm_rf(tmp_path("diff.git"));
	CHECK_OK(mgit_init(&g, tmp_path("diff.git")));
	a = tree_of(g, release_a, ARRAY_SIZE(release_a));
	b = tree_of(g, release_b, ARRAY_SIZE(release_b));
	CHECK_OK(mgit_tree_diff(g, &a, &b, NULL, on_diff, &s));
	CHECK_EQ_U(s.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < s.n; i++)
		CHECK_STR(s.lines[i], want[i]);
	seen_release(&s);
	CHECK_OK(mgit_tree_diff(g, &a, &b, "files/七年级/数学/第二章 整式的加减", on_diff, &s));
	CHECK_EQ_U(s.n, 1);
	CHECK_STR(s.lines[0], want[2]);
	seen_release(&s);
	CHECK_OK(mgit_tree_diff(g, &a, &b, "files/བོད་ཡིག", on_diff, &s));
	CHECK_EQ_U(s.n, 0);
	CHECK_OK(mgit_tree_diff(g, NULL, &b, "files/七年级", on_diff, &s));
	CHECK_EQ_U(s.n, 4);
	CHECK(s.lines[0][0] == 'A' && s.lines[3][0] == 'A');
	seen_release(&s);
	CHECK_OK(mgit_tree_diff(g, &b, &a, "files/七年级/数学/第二章 整式的加减", on_diff, &s));
	CHECK_EQ_U(s.n, 1);
	CHECK(s.lines[0][0] == 'D');
	seen_release(&s);
	/* A prefix absent from the old tree: everything in the new one is added. */
	CHECK_OK(mgit_tree_diff(g, &a, &b, "files/七年级/数学/第二章 整式的加减/2.2 整式的加减.pdf",
				on_diff, &s));
	CHECK_EQ_U(s.n, 1);
	CHECK(s.lines[0][0] == 'A');
	seen_release(&s);
	mgit_free(g);
}

/* A file replaced by a directory of the same name: the file's removal
 * comes first, then the directory's files, in path order. */
static void test_diff_file_becomes_dir(void)
{
	static const struct file one[] = { { "k", "file k\n" }, { "k-", "file k-\n" } };
	static const struct file two[] = { { "k/1", "one\n" }, { "k-", "file k-\n" }, { "k/2", "two\n" } };
	struct seen s = { 0 };
	struct mgit *g;
	struct mgit_oid a, b;

	rm_rf(tmp_path("fd.git"));
	CHECK_OK(mgit_init(&g, tmp_path("fd.git")));
	a = tree_of(g, one, ARRAY_SIZE(one));
	b = tree_of(g, two, ARRAY_SIZE(two));
	CHECK_OK(mgit_tree_diff(g, &a, &b, NULL, on_diff, &s));
	CHECK_EQ_U(s.n, 3);
	CHECK_STR(s.lines[0], "D k");
	CHECK_STR(s.lines[1], "A k/1");
	CHECK_STR(s.lines[2], "A k/2");
	seen_release(&s);
	mgit_free(g);
}

/* The point of git here: an unchanged subtree is skipped by its ID.  The
 * shared subtree "same" does not even exist; a diff must not notice, a
 * walk must. */
static void test_diff_skips_unchanged(void)
{
	struct seen s = { 0 };
	struct buf raw;
	struct mgit *g;
	struct mgit_oid ghost, v1, v2, a, b;

	rm_rf(tmp_path("skip.git"));
	CHECK_OK(mgit_init(&g, tmp_path("skip.git")));
	memset(ghost.id, 0x77, sizeof(ghost.id));
	v1 = blob_of(g, "v1");
	v2 = blob_of(g, "v2");
	buf_init(&raw, 1 << 16);
	raw_entry(&raw, "100644", "f", &v1);
	raw_entry(&raw, "40000", "same", &ghost);
	CHECK_OK(mgit_obj_write(&a, g, MGIT_KIND_TREE, raw.data, raw.len));
	buf_reset(&raw);
	raw_entry(&raw, "100644", "f", &v2);
	raw_entry(&raw, "40000", "same", &ghost);
	CHECK_OK(mgit_obj_write(&b, g, MGIT_KIND_TREE, raw.data, raw.len));
	CHECK_OK(mgit_tree_diff(g, &a, &b, NULL, on_diff, &s));
	CHECK_EQ_U(s.n, 1);
	CHECK_STR(s.lines[0], "M f");
	seen_release(&s);
	CHECK_EQ_I(mgit_tree_walk(g, &b, NULL, on_walk, &s), -ENOENT);
	seen_release(&s);
	buf_release(&raw);
	mgit_free(g);
}

/* Trees a hostile mirror could send: each must be refused by name. */
static void test_hostile_trees(void)
{
	static const struct {
		const char *mode1, *name1, *mode2, *name2, *detail;
	} cases[] = {
		{ "120000", "link", NULL, NULL, "symlink" },
		{ "160000", "sub", NULL, NULL, "submodule" },
		{ "100755", "run.sh", NULL, NULL, "executable" },
		{ "100664", "old", NULL, NULL, "unknown" },
		{ "040000", "padded", NULL, NULL, "unknown" },
		{ "100644", "..", NULL, NULL, "bad entry name" },
		{ "100644", ".GIT", NULL, NULL, "bad entry name" },
		{ "100644", "a/b", NULL, NULL, "bad entry name" },
		{ "100644", "\xff", NULL, NULL, "bad entry name" },
		{ "100644", "b", "100644", "a", "out of order" },
		{ "100644", "a", "100644", "a", "out of order" },
		{ "100644", "a", "40000", "a", "both a file and a directory" },
	};
	struct mgit *g;
	struct mgit_oid blob, sub, tree, got;
	struct seen s = { 0 };
	struct buf raw;

	rm_rf(tmp_path("hostile.git"));
	CHECK_OK(mgit_init(&g, tmp_path("hostile.git")));
	blob = blob_of(g, "x");
	CHECK_OK(mgit_obj_write(&sub, g, MGIT_KIND_TREE, NULL, 0));
	buf_init(&raw, 1 << 16);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&raw);
		raw_entry(&raw, cases[i].mode1, cases[i].name1, &blob);
		if (cases[i].mode2)
			raw_entry(&raw, cases[i].mode2, cases[i].name2, cases[i].mode2[0] == '4' ? &sub : &blob);
		CHECK_OK(mgit_obj_write(&tree, g, MGIT_KIND_TREE, raw.data, raw.len));
		err_clear();
		CHECK_MSG(mgit_tree_walk(g, &tree, NULL, on_walk, &s) == -EBADMSG, "case %zu accepted", i);
		CHECK_MSG(strstr(err_detail(), cases[i].detail), "case %zu: %s", i, err_detail());
		seen_release(&s);
		CHECK_EQ_I(mgit_tree_diff(g, NULL, &tree, NULL, on_diff, &s), -EBADMSG);
		seen_release(&s);
	}
	/* Truncated entries. */
	buf_reset(&raw);
	raw_entry(&raw, "100644", "f", &blob);
	CHECK_OK(mgit_obj_write(&tree, g, MGIT_KIND_TREE, raw.data, raw.len - 1));
	CHECK_EQ_I(mgit_tree_get(&got, g, &tree, "f"), -EBADMSG);
	/* A tree entry claiming to be a tree but naming a blob. */
	buf_reset(&raw);
	raw_entry(&raw, "40000", "d", &blob);
	CHECK_OK(mgit_obj_write(&tree, g, MGIT_KIND_TREE, raw.data, raw.len));
	CHECK_EQ_I(mgit_tree_walk(g, &tree, NULL, on_walk, &s), -EBADMSG);
	buf_release(&raw);
	mgit_free(g);
}

/* Pieces of a well-formed commit, to break one at a time. */
#define C_TREE "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
#define C_PARENT "parent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
#define C_AUTHOR "author a <b> 1 +0000\n"
#define C_COMMITTER "committer a <b> 1 +0000\n"

static void test_hostile_commits(void)
{
	static const char *const bad[] = {
		"",
		C_TREE "\nno author\n",
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee490\n" C_AUTHOR C_COMMITTER "\nm",
		C_PARENT C_TREE C_AUTHOR C_COMMITTER "\nm",
		C_TREE C_COMMITTER C_AUTHOR "\nm",
		C_TREE C_AUTHOR "committer a <b> x +0000\n\nm",
		C_TREE C_AUTHOR "committer a <b> 99999999999999999999 +0000\n\nm",
		C_TREE C_AUTHOR "committer a <b> 1 +000\n\nm",
		C_TREE C_AUTHOR "committer a b 1 +0000\n\nm",
		C_TREE C_AUTHOR C_COMMITTER "no blank line",
		C_TREE C_AUTHOR C_COMMITTER " continued\n\nm",
		C_TREE C_AUTHOR C_COMMITTER "gpgsig A\n B\ngpgsig C\n\nm",
		C_TREE C_AUTHOR C_COMMITTER "encoding x\n" C_PARENT "\nm",
		C_TREE C_AUTHOR C_COMMITTER "encoding x\nfoo\n\nm",
		C_TREE C_AUTHOR C_COMMITTER "Key v\n\nm",
	};
	static const char with_nul[] = C_TREE C_AUTHOR C_COMMITTER "\nm\0x";
	static const char good[] = C_TREE C_PARENT C_AUTHOR C_COMMITTER "encoding x\n x2\n"
				   "gpgsig A\n \n B\n\nmessage\n\nbody";
	struct mgit *g;
	struct mgit_oid id;
	struct mgit_commit c;

	rm_rf(tmp_path("hcommit.git"));
	CHECK_OK(mgit_init(&g, tmp_path("hcommit.git")));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_OK(mgit_obj_write(&id, g, MGIT_KIND_COMMIT, bad[i], strlen(bad[i])));
		CHECK_MSG(mgit_commit_read(&c, g, &id) == -EBADMSG, "commit %zu accepted", i);
		CHECK(c.message == NULL && c.payload == NULL);
		mgit_commit_release(&c);
	}
	/* A NUL anywhere is refused. */
	CHECK_OK(mgit_obj_write(&id, g, MGIT_KIND_COMMIT, with_nul, sizeof(with_nul) - 1));
	CHECK_EQ_I(mgit_commit_read(&c, g, &id), -EBADMSG);
	mgit_commit_release(&c);
	/* Extra headers and continuations are kept in the payload; the
	 * signature's lines (an empty one included) are unindented. */
	CHECK_OK(mgit_obj_write(&id, g, MGIT_KIND_COMMIT, good, sizeof(good) - 1));
	CHECK_OK(mgit_commit_read(&c, g, &id));
	CHECK_STR(c.signature, "A\n\nB\n");
	CHECK_STR((char *)c.payload, C_TREE C_PARENT C_AUTHOR C_COMMITTER "encoding x\n x2\n"
				     "\nmessage\n\nbody");
	CHECK_STR(c.message, "message\n\nbody");
	CHECK(c.has_parent && c.parent_count == 1 && c.time == 1);
	mgit_commit_release(&c);
	mgit_free(g);
}

static void test_commit_args(void)
{
	struct mgit *g;
	struct mgit_oid tree, blob, c, ghost;

	rm_rf(tmp_path("args.git"));
	CHECK_OK(mgit_init(&g, tmp_path("args.git")));
	tree = tree_of(g, release_a, 2);
	blob = blob_of(g, "b");
	memset(ghost.id, 0x42, sizeof(ghost.id));
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "a <b>", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "a\nb", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "a ", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "a", "e@x>", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, NULL, "a", "e@x", -1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &blob, NULL, "a", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &ghost, NULL, "a", "e@x", 1, "m\n", NULL, NULL), -ENOENT);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, &tree, "a", "e@x", 1, "m\n", NULL, NULL), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c, g, &tree, &ghost, "a", "e@x", 1, "m\n", NULL, NULL), -ENOENT);
	CHECK_OK(mgit_commit_create(&c, g, &tree, NULL, "a", "e@x", 1, "", NULL, NULL));
	mgit_free(g);
}

/* ---- signatures -------------------------------------------------------- */

struct signer {
	const char *key;
	struct buf seen_payload;
	char last[4096];
	int fail;
};

/* Signs with `ssh-keygen -Y sign -n git`, as git does with gpg.format=ssh. */
static int ssh_sign(struct buf *out, const void *payload, size_t len, void *ctx)
{
	struct signer *s = ctx;
	const char *msg = tmp_path("payload"), *sig = tmp_path("payload.sig");
	struct buf text;

	if (s->fail)
		return s->fail;
	buf_reset(&s->seen_payload);
	CHECK_OK(buf_append(&s->seen_payload, payload, len));
	CHECK_OK(fs_write_atomic(msg, payload, len));
	(void)unlink(sig);
	CHECK(sh(NULL, "ssh-keygen -Y sign -f '%s' -n git '%s'", s->key, msg) == 0);
	buf_init(&text, 1 << 16);
	CHECK_OK(fs_read_file(&text, sig, 1 << 15));
	snprintf(s->last, sizeof(s->last), "%s", buf_str(&text));
	CHECK_OK(buf_append(out, text.data, text.len));
	buf_release(&text);
	return 0;
}

static int bad_sign(struct buf *out, const void *payload, size_t len, void *ctx)
{
	return buf_append(out, ctx, strlen(ctx));
}

#define VERIFY_COMMIT                                                                              \
	GIT " --git-dir='%s' -c gpg.format=ssh -c gpg.ssh.allowedSignersFile='%s' verify-commit %s"

static void test_signed_commit(void)
{
	const char *dir = tmp_path("signed.git"), *key = tmp_path("id_ed25519");
	struct signer s = { .key = key };
	struct mgit *g;
	struct mgit_oid tree, c1, c2;
	struct mgit_commit c;
	struct buf out;
	char hex[MGIT_OID_HEX + 1], pack[MGIT_PACK_NAME_MAX];

	rm_rf(dir);
	(void)unlink(key);
	buf_init(&s.seen_payload, 1 << 20);
	buf_init(&out, 1 << 20);
	CHECK(sh(NULL, "ssh-keygen -q -t ed25519 -N '' -C ferry -f '%s'", key) == 0);
	CHECK(sh(NULL, "printf 'county@example.cn %%s\\n' \"$(cat '%s.pub')\" >'%s'", key,
		 tmp_path("allowed")) == 0);
	CHECK_OK(mgit_init(&g, dir));
	tree = tree_of(g, release_a, ARRAY_SIZE(release_a));
	CHECK_OK(mgit_commit_create(&c1, g, &tree, NULL, "County", "county@example.cn", 1700000000,
				    "七年级数学 release 1\n", ssh_sign, &s));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	CHECK_OK(mgit_ref_update(g, CHANNEL, &c1, NULL));

	CHECK_OK(mgit_commit_read(&c, g, &c1));
	CHECK(c.signature != NULL);
	CHECK_STR(c.signature, s.last);
	CHECK_EQ_U(c.signature_len, strlen(s.last));
	CHECK_EQ_U(c.payload_len, s.seen_payload.len);
	CHECK(memcmp(c.payload, s.seen_payload.data, c.payload_len) == 0);
	CHECK_STR(c.message, "七年级数学 release 1\n");
	mgit_commit_release(&c);

	/* Stock git agrees on both halves and accepts the signature. */
	mgit_oid_fmt(hex, &c1);
	CHECK(sh(&out, GIT " --git-dir='%s' cat-file commit %s | sed '/^gpgsig /,/^ -----END/d'",
		 dir, hex) == 0);
	CHECK_EQ_U(out.len, s.seen_payload.len);
	CHECK(memcmp(out.data, s.seen_payload.data, out.len) == 0);
	CHECK_MSG(sh(&out, VERIFY_COMMIT, dir, tmp_path("allowed"), hex) == 0, "git verify-commit: %s",
		  buf_str(&out));
	CHECK(strstr(buf_str(&out), "Good \"git\" signature") != NULL);

	/* A signature over other bytes is caught by stock git. */
	CHECK_OK(mgit_commit_create(&c2, g, &tree, &c1, "County", "county@example.cn", 1700000001, "r2\n",
				    bad_sign, s.last));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	mgit_oid_fmt(hex, &c2);
	CHECK(sh(NULL, VERIFY_COMMIT, dir, tmp_path("allowed"), hex) != 0);
	CHECK(sh(NULL, GIT " --git-dir='%s' fsck --strict", dir) == 0);

	/* Signer failures pass through; bad signature texts are refused. */
	s.fail = -EKEYREJECTED;
	CHECK_EQ_I(mgit_commit_create(&c2, g, &tree, &c1, "C", "c@x", 2, "m\n", ssh_sign, &s),
		   -EKEYREJECTED);
	CHECK_EQ_I(mgit_commit_create(&c2, g, &tree, &c1, "C", "c@x", 2, "m\n", bad_sign, ""), -EINVAL);
	CHECK_EQ_I(mgit_commit_create(&c2, g, &tree, &c1, "C", "c@x", 2, "m\n", bad_sign, "a\r\nb"),
		   -EINVAL);
	/* Without a final newline one is added; the text survives as lines. */
	CHECK_OK(mgit_commit_create(&c2, g, &tree, &c1, "C", "c@x", 2, "m\n", bad_sign, "x\n\ny"));
	CHECK_OK(mgit_commit_read(&c, g, &c2));
	CHECK_STR(c.signature, "x\n\ny\n");
	mgit_commit_release(&c);
	mgit_free(g);
	buf_release(&s.seen_payload);
	buf_release(&out);
}

/* ---- stock git: fsck, count-objects, clone ------------------------------- */

/* A repository with two releases on one channel, for the tests below. */
static void two_releases(const char *dir, char packs[2][MGIT_PACK_NAME_MAX],
			 struct mgit_oid *c2_out)
{
	struct mgit *g;
	struct mgit_oid c1, c2;

	rm_rf(dir);
	CHECK_OK(mgit_init(&g, dir));
	c1 = release(g, release_a, ARRAY_SIZE(release_a), NULL, 1700000000, packs[0]);
	c2 = release(g, release_b, ARRAY_SIZE(release_b), &c1, 1700086400, packs[1]);
	if (c2_out)
		*c2_out = c2;
	mgit_free(g);
}

static void test_git_fsck_and_packs(void)
{
	const char *dir = tmp_path("fsck.git");
	char packs[2][MGIT_PACK_NAME_MAX], pack[MGIT_PACK_NAME_MAX];
	struct buf out;
	struct mgit *g;

	buf_init(&out, 1 << 20);
	two_releases(dir, packs, NULL);
	CHECK(strcmp(packs[0], packs[1]) != 0);
	CHECK_MSG(sh(&out, GIT " --git-dir='%s' fsck --strict --no-dangling", dir) == 0, "%s",
		  buf_str(&out));
	CHECK(sh(&out, GIT " --git-dir='%s' count-objects -v", dir) == 0);
	CHECK_MSG(strstr(buf_str(&out), "count: 0\n") && strstr(buf_str(&out), "packs: 2\n") &&
			  strstr(buf_str(&out), "garbage: 0\n"),
		  "%s", buf_str(&out));
	CHECK(sh(&out, "find '%s/objects' -type f | grep -v -e /pack/ -e /info/packs$ | wc -l", dir) == 0);
	CHECK_STR(buf_str(&out), "0\n");
	/* Nothing pending: no pack. */
	CHECK_OK(mgit_open(&g, dir));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	CHECK_STR(pack, "");
	CHECK_EQ_I(mgit_flush(pack, 10, g), -EINVAL);
	/* Objects already packed are not stored again. */
	(void)tree_of(g, release_b, ARRAY_SIZE(release_b));
	CHECK_EQ_U(mgit_pending(g), 0);
	/* Unflushed objects die with the handle. */
	(void)blob_of(g, "never flushed");
	CHECK_EQ_U(mgit_pending(g), 1);
	mgit_free(g);
	CHECK(sh(&out, GIT " --git-dir='%s' count-objects -v", dir) == 0);
	CHECK(strstr(buf_str(&out), "count: 0\n") && strstr(buf_str(&out), "packs: 2\n"));
	CHECK(sh(&out, "cat '%s/objects/info/packs'", dir) == 0);
	CHECK(strstr(buf_str(&out), packs[0]) && strstr(buf_str(&out), packs[1]));
	CHECK(sh(&out, GIT " --git-dir='%s' config gc.auto", dir) == 0);
	CHECK_STR(buf_str(&out), "0\n");
	buf_release(&out);
}

/* Checks a fresh clone's working tree against release_b. */
static void check_checkout(const char *work)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(release_b); i++) {
		char path[2048];

		snprintf(path, sizeof(path), "%s/%s", work, release_b[i].path);
		buf_reset(&b);
		CHECK_MSG(fs_read_file(&b, path, 1 << 20) == 0, "%s missing in the clone", release_b[i].path);
		CHECK_STR(buf_str(&b), release_b[i].content);
	}
	buf_release(&b);
}

static void test_git_clone_folder(void)
{
	const char *dir = tmp_path("clone-src.git"), *work = tmp_path("clone-work");
	char packs[2][MGIT_PACK_NAME_MAX];
	struct buf out;

	buf_init(&out, 1 << 20);
	two_releases(dir, packs, NULL);
	rm_rf(work);
	CHECK_MSG(sh(&out, GIT " clone -q '%s' '%s'", dir, work) == 0, "%s", buf_str(&out));
	check_checkout(work);
	CHECK(sh(&out, GIT " -C '%s' rev-list --count HEAD", work) == 0);
	CHECK_STR(buf_str(&out), "2\n");
	CHECK(sh(&out, GIT " -C '%s' branch --show-current", work) == 0);
	CHECK_STR(buf_str(&out), "renjiao/grade7/math\n");
	buf_release(&out);
}

/* Plain ("dumb") HTTP: only info/refs, objects/info/packs and the files;
 * python's http.server knows nothing of git. */
static void test_git_clone_http(void)
{
	const char *top = tmp_path("www"), *work = tmp_path("http-work");
	char packs[2][MGIT_PACK_NAME_MAX], dir[1024];
	struct buf out;
	int rc;

	snprintf(dir, sizeof(dir), "%s/manifests.git", top);
	rm_rf(top);
	CHECK_OK(fs_mkdir_p(top, 0755));
	two_releases(dir, packs, NULL);
	rm_rf(work);
	buf_init(&out, 1 << 20);
	rc = sh(&out,
		"cd '%s' && "
		"{ python3 -u -m http.server --bind 127.0.0.1 0 >srv.log 2>&1 & echo $! >srv.pid; } && "
		"for i in $(seq 100); do grep -q 'port' srv.log && break; sleep 0.1; done; "
		"port=$(sed -n 's/.* port \\([0-9]*\\) .*/\\1/p' srv.log | head -n 1); "
		"NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "
		GIT " clone -q http://127.0.0.1:$port/manifests.git '%s'; "
		"rc=$?; kill $(cat srv.pid); exit $rc",
		top, work);
	CHECK_MSG(rc == 0, "dumb-HTTP clone failed: %s", buf_str(&out));
	check_checkout(work);
	buf_release(&out);
}

/* ---- packs from elsewhere ------------------------------------------------ */

static void test_pack_import(void)
{
	const char *src = tmp_path("pub.git"), *dst = tmp_path("school.git");
	char packs[2][MGIT_PACK_NAME_MAX], name[MGIT_PACK_NAME_MAX], path[2][1024];
	struct mgit_oid c2, head, tree, blob;
	struct mgit_commit c;
	struct mgit *g;
	struct buf out;

	buf_init(&out, 1 << 20);
	two_releases(src, packs, &c2);
	for (int i = 0; i < 2; i++)
		snprintf(path[i], sizeof(path[i]), "%s/objects/pack/%s", src, packs[i]);
	rm_rf(dst);
	CHECK_OK(mgit_init(&g, dst));
	/* The second release's pack alone is incomplete: it names blobs and
	 * its parent commit from the first. */
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, path[1]), -EBADMSG);
	CHECK(sh(&out, "ls -A '%s/objects/pack' | wc -l; ls -d '%s'/objects/incoming-* 2>/dev/null | wc -l",
		 dst, dst) == 0);
	CHECK_STR(buf_str(&out), "0\n0\n");
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[0]));
	CHECK_STR(name, packs[0]);
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[1]));
	CHECK_STR(name, packs[1]);
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[1]));
	CHECK_STR(name, packs[1]);
	CHECK(mgit_object_exists(g, &c2));
	CHECK_OK(mgit_commit_read(&c, g, &c2));
	tree = c.tree;
	mgit_commit_release(&c);
	CHECK_OK(mgit_tree_get(&blob, g, &tree, release_b[2].path));
	CHECK_OK(mgit_ref_update(g, CHANNEL, &c2, NULL));
	CHECK_OK(mgit_ref_read(&head, g, CHANNEL));
	CHECK(mgit_oid_eq(&head, &c2));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	/* Not a pack at all, and a missing file. */
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, tmp_path("allowed-not")), -ENOENT);
	CHECK_OK(fs_write_atomic(tmp_path("junk.pack"), "PACK\0\0\0\2junkjunkjunkjunkjunkjunk", 32));
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, tmp_path("junk.pack")), -EBADMSG);
	mgit_free(g);
	CHECK(sh(&out, GIT " --git-dir='%s' fsck --strict --no-dangling", dst) == 0);
	CHECK(sh(&out, GIT " --git-dir='%s' count-objects -v", dst) == 0);
	CHECK(strstr(buf_str(&out), "count: 0\n") && strstr(buf_str(&out), "packs: 2\n"));
	buf_release(&out);
}

static const char *mgit_oid_hex_tmp(const struct mgit_oid *id)
{
	static char hex[MGIT_OID_HEX + 1];

	mgit_oid_fmt(hex, id);
	return hex;
}

/* A release of one big flat folder and a long meta/ blob: `n` pointers,
 * file `changed` (and one meta line) at version v. */
static struct mgit_oid flat_release(struct mgit *g, int v, int changed,
				    const struct mgit_oid *parent, char *pack)
{
	enum { N = 300 };
	static struct file files[N + 1];
	static char paths[N][64], contents[N][64];
	struct buf meta;
	struct mgit_oid c;

	buf_init(&meta, 1 << 20);
	for (int i = 0; i < N; i++) {
		int ver = i == changed ? v : 1;

		snprintf(paths[i], sizeof(paths[i]), "files/modules/m%04d/index.cnxml", i);
		snprintf(contents[i], sizeof(contents[i]), "pointer m%04d v%d\n", i, ver);
		files[i] = (struct file){ paths[i], contents[i] };
		CHECK_OK(buf_printf(&meta, "pack %04d %s size %d\n", i, ver > 1 ? "new" : "old", i * 7919));
	}
	CHECK_OK(buf_append_byte(&meta, 0));
	files[N] = (struct file){ "meta/packs", buf_str(&meta) };
	c = release(g, files, N + 1, parent, 1700000000 + v, pack);
	buf_release(&meta);
	return c;
}

/* A thin pack (stock git's `pack-objects --thin`: trees and meta/ blobs as
 * deltas against the previous release's) imports where the previous
 * release is, and nowhere else. */
static void test_pack_import_thin(void)
{
	const char *src = tmp_path("thin-pub.git"), *dst = tmp_path("thin-school.git");
	const char *bare = tmp_path("thin-bare.git"), *thin = tmp_path("thin.pack");
	char packs[2][MGIT_PACK_NAME_MAX], name[MGIT_PACK_NAME_MAX], path[2][1024];
	char h1[MGIT_OID_HEX + 1], h2[MGIT_OID_HEX + 1];
	struct mgit_oid c1, c2, blob;
	struct mgit_commit c;
	struct mgit *g;
	struct buf out;
	uint64_t full = 0, small = 0;

	buf_init(&out, 1 << 20);
	rm_rf(src);
	rm_rf(dst);
	rm_rf(bare);
	CHECK_OK(mgit_init(&g, src));
	c1 = flat_release(g, 1, -1, NULL, packs[0]);
	c2 = flat_release(g, 2, 123, &c1, packs[1]);
	mgit_free(g);
	for (int i = 0; i < 2; i++)
		snprintf(path[i], sizeof(path[i]), "%s/objects/pack/%s", src, packs[i]);
	mgit_oid_fmt(h1, &c1);
	mgit_oid_fmt(h2, &c2);
	CHECK_MSG(sh(&out, "printf '%%s\\n^%%s\\n' %s %s | " GIT " --git-dir='%s' pack-objects --revs "
		     "--thin --stdout -q >'%s'", h2, h1, src, thin) == 0, "%s", buf_str(&out));
	CHECK_OK(fs_file_size(&full, path[1]));
	CHECK_OK(fs_file_size(&small, thin));
	printf("# release pack %llu bytes, thin pack %llu bytes\n", (unsigned long long)full,
	       (unsigned long long)small);
	CHECK_MSG(small * 2 < full, "thin %llu, full %llu", (unsigned long long)small,
		  (unsigned long long)full);
	/* A school without the previous release: refused, nothing installed. */
	CHECK_OK(mgit_init(&g, bare));
	CHECK_EQ_I(mgit_pack_import_thin(name, sizeof(name), g, thin), -EBADMSG);
	mgit_free(g);
	CHECK(sh(&out, "ls -A '%s/objects/pack' | wc -l", bare) == 0);
	CHECK_STR(buf_str(&out), "0\n");
	/* A school with it: the plain import refuses (the pack is thin), the
	 * thin one completes it. */
	CHECK_OK(mgit_init(&g, dst));
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[0]));
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, thin), -EBADMSG);
	CHECK_OK(mgit_pack_import_thin(name, sizeof(name), g, thin));
	CHECK_OK(mgit_commit_read(&c, g, &c2));
	CHECK_OK(mgit_tree_get(&blob, g, &c.tree, "files/modules/m0123/index.cnxml"));
	mgit_commit_release(&c);
	buf_reset(&out);
	CHECK_OK(mgit_blob_read(&out, g, &blob, 1024));
	CHECK_STR(buf_str(&out), "pointer m0123 v2\n");
	CHECK_OK(mgit_ref_update(g, CHANNEL, &c2, NULL));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	mgit_free(g);
	CHECK_MSG(sh(&out, GIT " --git-dir='%s' fsck --strict --no-dangling", dst) == 0, "%s",
		  buf_str(&out));
	buf_release(&out);
}

/* ferry's own thin pack of the second release against the first: small,
 * completed by stock git (`index-pack --fix-thin`) and by
 * mgit_pack_import_thin() where the first release is, refused where not. */
static void test_thin_pack_write(void)
{
	const char *src = tmp_path("thinw-pub.git"), *dst = tmp_path("thinw-school.git");
	const char *gitschool = tmp_path("thinw-git.git"), *thin = tmp_path("thinw.pack");
	char packs[3][MGIT_PACK_NAME_MAX], name[MGIT_PACK_NAME_MAX], path[3][1024];
	struct mgit_thin_stats st;
	struct mgit_oid c1, c2, c3, blob;
	struct mgit_commit c;
	struct mgit *g;
	struct buf out;
	uint64_t full = 0;

	buf_init(&out, 1 << 20);
	rm_rf(src);
	rm_rf(dst);
	rm_rf(gitschool);
	CHECK_OK(mgit_init(&g, src));
	c1 = flat_release(g, 1, -1, NULL, packs[0]);
	c2 = flat_release(g, 2, 123, &c1, packs[1]);
	c3 = flat_release(g, 3, 7, &c2, packs[2]);
	CHECK_OK(mgit_thin_pack_write(&st, g, &c2, &c1, thin));
	mgit_free(g);
	for (int i = 0; i < 3; i++)
		snprintf(path[i], sizeof(path[i]), "%s/objects/pack/%s", src, packs[i]);
	CHECK_OK(fs_file_size(&full, path[1]));
	printf("# release pack %llu bytes; ferry's thin pack %llu bytes, %llu objects, %llu deltas\n",
	       (unsigned long long)full, (unsigned long long)st.bytes,
	       (unsigned long long)st.objects, (unsigned long long)st.deltas);
	/* The commit, the root, files/, files/modules/, m0123/, its blob,
	 * meta/ and meta/packs; the 300-entry files/modules/ and meta/packs
	 * as deltas (the small trees' deltas are not under half their size). */
	CHECK_EQ_U(st.objects, 8);
	CHECK_EQ_U(st.deltas, 2);
	CHECK(st.bytes * 4 < full);
	/* Stock git completes it in a repository holding the first release. */
	CHECK_OK(mgit_init(&g, gitschool));
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[0]));
	mgit_free(g);
	CHECK_MSG(sh(&out, GIT " --git-dir='%s' index-pack --stdin --fix-thin <'%s'", gitschool, thin) == 0,
		  "%s", buf_str(&out));
	CHECK_MSG(sh(&out, GIT " --git-dir='%s' cat-file -p %s:files/modules/m0123/index.cnxml",
		     gitschool, mgit_oid_hex_tmp(&c2)) == 0, "%s", buf_str(&out));
	CHECK_STR(buf_str(&out), "pointer m0123 v2\n");
	/* ferry's import: not without the base, then with it. */
	CHECK_OK(mgit_init(&g, dst));
	CHECK_EQ_I(mgit_pack_import_thin(name, sizeof(name), g, thin), -EBADMSG);
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[0]));
	CHECK_OK(mgit_pack_import_thin(name, sizeof(name), g, thin));
	CHECK_OK(mgit_commit_read(&c, g, &c2));
	CHECK_OK(mgit_tree_get(&blob, g, &c.tree, "meta/packs"));
	mgit_commit_release(&c);
	/* And the third release's full pack on top. */
	CHECK_OK(mgit_pack_import(name, sizeof(name), g, path[2]));
	CHECK_OK(mgit_ref_update(g, CHANNEL, &c3, NULL));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	mgit_free(g);
	CHECK_MSG(sh(&out, GIT " --git-dir='%s' fsck --strict --no-dangling", dst) == 0, "%s",
		  buf_str(&out));
	buf_release(&out);
}

/* Packs stock git makes that are valid git but not valid releases. */
static void test_pack_import_refusals(void)
{
	const char *work = tmp_path("foreign"), *dst = tmp_path("strict.git");
	char name[MGIT_PACK_NAME_MAX], pack[1024];
	struct mgit *g;
	struct buf out;

	buf_init(&out, 1 << 20);
	rm_rf(work);
	rm_rf(dst);
	CHECK(sh(&out, "mkdir -p '%s' && cd '%s' && " GIT " init -q && ln -s target link && echo x > f && "
		 GIT " add -A && " GIT " -c user.name=a -c user.email=a@x commit -q -m m && "
		 GIT " rev-parse HEAD >/dev/null", work, work) == 0);
	CHECK_OK(mgit_init(&g, dst));
	/* Everything: a tree with a symlink. */
	CHECK(sh(&out, "cd '%s' && " GIT " rev-list --objects --all | " GIT " pack-objects -q '%s/all'",
		 work, t_tmpdir()) == 0);
	snprintf(pack, sizeof(pack), "%s/all-%.40s.pack", t_tmpdir(), buf_str(&out));
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, pack), -EBADMSG);
	CHECK_MSG(strstr(err_detail(), "symlink"), "%s", err_detail());
	/* The commit alone: its tree is nowhere. */
	CHECK(sh(&out, "cd '%s' && " GIT " rev-parse HEAD | " GIT " pack-objects -q '%s/lone'", work,
		 t_tmpdir()) == 0);
	snprintf(pack, sizeof(pack), "%s/lone-%.40s.pack", t_tmpdir(), buf_str(&out));
	CHECK_EQ_I(mgit_pack_import(name, sizeof(name), g, pack), -EBADMSG);
	CHECK_MSG(strstr(err_detail(), "incomplete"), "%s", err_detail());
	CHECK(sh(&out, "ls -A '%s/objects/pack' | wc -l", dst) == 0);
	CHECK_STR(buf_str(&out), "0\n");
	CHECK_OK(mgit_verify(g, NULL, NULL));
	mgit_free(g);
	buf_release(&out);
}

/* ---- verify ------------------------------------------------------------- */

struct problems {
	int n;
	char first[1024];
};

static int on_problem(const char *line, void *ctx)
{
	struct problems *p = ctx;

	if (p->n++ == 0)
		snprintf(p->first, sizeof(p->first), "%s", line);
	return 0;
}

static void flip_byte(const char *path, long long off)
{
	AUTO_CLOSE int fd = open(path, O_RDWR);
	struct stat st;
	uint8_t c;

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	if (off < 0)
		off += st.st_size;
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x01;
	CHECK(pwrite(fd, &c, 1, off) == 1);
}

static void test_verify_flipped_bytes(void)
{
	/* Offsets into the pack (header, first object, middle, trailer) and
	 * into the idx (fanout, names, CRCs, offsets, checksums); negative
	 * counts from the end. */
	static const struct {
		const char *ext;
		long long off;
	} flips[] = {
		{ ".pack", 5 },    { ".pack", 14 },    { ".pack", 200 },   { ".pack", -30 }, { ".pack", -1 },
		{ ".idx", 9 },     { ".idx", 8 + 1020 }, { ".idx", 1100 }, { ".idx", -45 }, { ".idx", -50 },
		{ ".idx", -30 },   { ".idx", -1 },
	};
	const char *dir = tmp_path("verify.git");
	char packs[2][MGIT_PACK_NAME_MAX], path[1024], base[1024], hex[MGIT_OID_HEX + 1];
	struct problems p;
	struct mgit *g;

	two_releases(dir, packs, NULL);
	snprintf(hex, sizeof(hex), "%.40s", packs[0] + 5);
	snprintf(base, sizeof(base), "%s/objects/pack/%.45s", dir, packs[0]);
	CHECK_OK(mgit_open(&g, dir));
	memset(&p, 0, sizeof(p));
	CHECK_OK(mgit_verify(g, on_problem, &p));
	CHECK_EQ_I(p.n, 0);
	for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
		snprintf(path, sizeof(path), "%s%s", base, flips[i].ext);
		CHECK(sh(NULL, "cp -p '%s' '%s' && chmod u+w '%s'", path, tmp_path("flip.orig"), path) == 0);
		flip_byte(path, flips[i].off);
		memset(&p, 0, sizeof(p));
		CHECK_MSG(mgit_verify(g, on_problem, &p) == -EBADMSG, "flip %zu (%s %lld) not found", i,
			  flips[i].ext, flips[i].off);
		CHECK_MSG(p.n >= 1 && strstr(p.first, hex), "flip %zu: %s", i, p.first);
		CHECK(sh(NULL, "cp -p '%s' '%s'", tmp_path("flip.orig"), path) == 0);
	}
	memset(&p, 0, sizeof(p));
	CHECK_OK(mgit_verify(g, on_problem, &p));
	mgit_free(g);
}

static void test_verify_repository_state(void)
{
	const char *dir = tmp_path("state.git");
	char packs[2][MGIT_PACK_NAME_MAX];
	struct problems p = { 0 };
	struct mgit_oid c2;
	struct mgit *g;

	two_releases(dir, packs, &c2);
	CHECK_OK(mgit_open(&g, dir));
	/* A loose object written by stock git. */
	CHECK(sh(NULL, "echo loose | " GIT " --git-dir='%s' hash-object -w --stdin", dir) == 0);
	CHECK_EQ_I(mgit_verify(g, on_problem, &p), -EBADMSG);
	CHECK_MSG(strstr(p.first, "loose object"), "%s", p.first);
	CHECK(sh(NULL, "rm -rf '%s'/objects/[0-9a-f][0-9a-f]", dir) == 0);
	/* Stale server info. */
	CHECK(sh(NULL, "echo > '%s/info/refs'", dir) == 0);
	memset(&p, 0, sizeof(p));
	CHECK_EQ_I(mgit_verify(g, on_problem, &p), -EBADMSG);
	CHECK_MSG(strstr(p.first, "info/refs"), "%s", p.first);
	CHECK_OK(mgit_server_info_update(g));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	/* A ref at a missing commit, and a stray file. */
	CHECK(sh(NULL, "echo 4242424242424242424242424242424242424242 > '%s/refs/heads/lost'", dir) == 0);
	CHECK(sh(NULL, "touch '%s/objects/pack/tmp_pack_x'", dir) == 0);
	memset(&p, 0, sizeof(p));
	CHECK_EQ_I(mgit_verify(g, on_problem, &p), -EBADMSG);
	CHECK_MSG(p.n >= 3, "%d problems, first: %s", p.n, p.first);
	mgit_free(g);
}

/* ---- refs --------------------------------------------------------------- */

static int collect_ref(const char *name, const struct mgit_oid *id, void *ctx)
{
	struct seen *s = ctx;

	s->lines[s->n++] = strdup(name);
	return 0;
}

static void test_ref_cas(void)
{
	const char *dir = tmp_path("refs.git");
	struct mgit_oid tree, c1, c2, c3, got;
	char pack[MGIT_PACK_NAME_MAX], hex[MGIT_OID_HEX + 1], line[200];
	struct seen s = { 0 };
	struct mgit *g;
	struct buf out;

	rm_rf(dir);
	buf_init(&out, 1 << 20);
	CHECK_OK(mgit_init(&g, dir));
	tree = tree_of(g, release_a, 3);
	CHECK_OK(mgit_commit_create(&c1, g, &tree, NULL, "a", "a@x", 1, "1\n", NULL, NULL));
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/b", &c1, NULL), -EINVAL);   /* not flushed */
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	CHECK_OK(mgit_commit_create(&c2, g, &tree, &c1, "a", "a@x", 2, "2\n", NULL, NULL));
	CHECK_OK(mgit_commit_create(&c3, g, &tree, &c1, "a", "a@x", 3, "3\n", NULL, NULL));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));

	CHECK_EQ_I(mgit_ref_read(&got, g, "refs/heads/b"), -ENOENT);
	CHECK_OK(mgit_ref_update(g, "refs/heads/b", &c1, NULL));
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/b", &c2, NULL), -EAGAIN);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/b", &c3, &c2), -EAGAIN);
	CHECK_OK(mgit_ref_update(g, "refs/heads/b", &c2, &c1));
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/b", &c3, &c1), -EAGAIN);
	CHECK_OK(mgit_ref_read(&got, g, "refs/heads/b"));
	CHECK(mgit_oid_eq(&got, &c2));
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/new", &c3, &c1), -EAGAIN);
	CHECK_EQ_I(mgit_ref_read(&got, g, "refs/heads/new"), -ENOENT);
	/* Held lock: another writer is mid-update. */
	CHECK(sh(NULL, "touch '%s/refs/heads/b.lock'", dir) == 0);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/b", &c3, &c2), -EAGAIN);
	CHECK(sh(NULL, "rm '%s/refs/heads/b.lock'", dir) == 0);
	/* Names and targets. */
	CHECK_EQ_I(mgit_ref_update(g, "heads/b", &c3, NULL), -EINVAL);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/a..b", &c3, NULL), -EINVAL);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/a b", &c3, NULL), -EINVAL);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/x.lock", &c3, NULL), -EINVAL);
	CHECK_EQ_I(mgit_ref_update(g, "refs/heads/t", &tree, NULL), -EINVAL);
	CHECK_OK(mgit_ref_update(g, "refs/heads/renjiao/grade7/math", &c3, NULL));
	CHECK_OK(mgit_ref_update(g, "refs/heads/a", &c1, NULL));
	CHECK_OK(mgit_refs_list(g, collect_ref, &s));
	CHECK_EQ_U(s.n, 3);
	CHECK_STR(s.lines[0], "refs/heads/a");
	CHECK_STR(s.lines[1], "refs/heads/b");
	CHECK_STR(s.lines[2], "refs/heads/renjiao/grade7/math");
	seen_release(&s);
	/* HEAD went to the first branch; info/refs lists every ref. */
	CHECK(sh(&out, "cat '%s/HEAD'", dir) == 0);
	CHECK_STR(buf_str(&out), "ref: refs/heads/b\n");
	CHECK(sh(&out, "cat '%s/info/refs'", dir) == 0);
	mgit_oid_fmt(hex, &c2);
	snprintf(line, sizeof(line), "%s\trefs/heads/b\n", hex);
	CHECK_MSG(strstr(buf_str(&out), line), "%s", buf_str(&out));
	/* Byte for byte what git update-server-info writes. */
	CHECK(sh(NULL, "cp '%s/info/refs' '%s'", dir, tmp_path("ours.refs")) == 0);
	CHECK(sh(NULL, GIT " --git-dir='%s' update-server-info", dir) == 0);
	CHECK(sh(&out, "cmp '%s/info/refs' '%s'", dir, tmp_path("ours.refs")) == 0);
	CHECK_OK(mgit_verify(g, NULL, NULL));
	mgit_free(g);
	buf_release(&out);
}

/* ---- scale and failure ---------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_100k_tree(void)
{
	enum { FILES = 100000 };
	const char *dir = tmp_path("big.git");
	double t0, t1, t2, t3, t4;
	struct mgit_tree *t;
	struct mgit_oid blob, tree, commit, got;
	char path[256], text[256], pack[MGIT_PACK_NAME_MAX];
	struct mgit *g;
	uint64_t size;

	rm_rf(dir);
	CHECK_OK(mgit_init(&g, dir));
	CHECK_OK(mgit_tree_new(&t, g));
	t0 = now_s();
	/* Put in an order unrelated to the sorted one. */
	for (unsigned i = 0; i < FILES; i++) {
		unsigned k = (i * 7919u) % FILES;
		int n = snprintf(text, sizeof(text),
				 "ferry-pointer 1\nsize %u\nsha256 %064x\nchunk %064x %u\n", k * 1000, k, k + 1, k);

		CHECK_OK(mgit_blob_write(&blob, g, text, (size_t)n));
		snprintf(path, sizeof(path), "files/年级%u/科目%u/单元 %u/课 %05u.mp4", k % 9, (k / 9) % 10,
			 (k / 90) % 10, k);
		CHECK_OK(mgit_tree_put(t, path, &blob));
	}
	t1 = now_s();
	CHECK_OK(mgit_tree_write(&tree, t));
	t2 = now_s();
	CHECK_OK(mgit_commit_create(&commit, g, &tree, NULL, "County", "c@x", 1700000000, "big\n",
				    NULL, NULL));
	CHECK_OK(mgit_flush(pack, sizeof(pack), g));
	t3 = now_s();
	CHECK_OK(mgit_ref_update(g, CHANNEL, &commit, NULL));
	CHECK_OK(mgit_tree_get(&got, g, &tree, "files/年级4/科目1/单元 1/课 00103.mp4"));
	t4 = now_s();
	snprintf(path, sizeof(path), "%s/objects/pack/%s", dir, pack);
	CHECK_OK(fs_file_size(&size, path));
	printf("# 100k files: blobs+puts %.2fs, tree write %.2fs (%zu files), commit+flush %.2fs, "
	       "record total %.2fs; pack %.1f MB\n",
	       t1 - t0, t2 - t1, mgit_tree_count(t), t3 - t2, t3 - t0, (double)size / 1e6);
	mgit_tree_free(t);
	CHECK(t4 > t0);
	mgit_free(g);
	CHECK(sh(NULL, GIT " --git-dir='%s' fsck --strict --no-dangling", dir) == 0);
}

static int count_walk(const char *path, const struct mgit_oid *blob, void *ctx)
{
	++*(int *)ctx;
	return 0;
}

static int count_diff(const char *path, const struct mgit_oid *a, const struct mgit_oid *b,
		      void *ctx)
{
	++*(int *)ctx;
	return 0;
}

/* One publish-and-read round; any step may fail for want of memory. */
static int oom_round(const char *dir)
{
	struct mgit_oid blob, tree, commit, head, *expected = NULL;
	struct mgit_tree *t = NULL;
	struct mgit_commit c = { 0 };
	struct mgit *g = NULL;
	char pack[MGIT_PACK_NAME_MAX];
	int r = mgit_open(&g, dir), n = 0;

	if (r >= 0)
		r = mgit_tree_new(&t, g);
	for (size_t i = 0; r >= 0 && i < 4; i++) {
		r = mgit_blob_write(&blob, g, release_a[i].content, strlen(release_a[i].content));
		if (r >= 0)
			r = mgit_tree_put(t, release_a[i].path, &blob);
	}
	if (r >= 0)
		r = mgit_tree_write(&tree, t);
	if (r >= 0)
		r = mgit_commit_create(&commit, g, &tree, NULL, "a", "a@x", 1, "m\n", NULL, NULL);
	if (r >= 0)
		r = mgit_flush(pack, sizeof(pack), g);
	if (r >= 0 && (r = mgit_ref_read(&head, g, CHANNEL)) >= 0)
		expected = &head;
	if (r == -ENOENT)
		r = 0;
	if (r >= 0 && !(expected && mgit_oid_eq(expected, &commit)))
		r = mgit_ref_update(g, CHANNEL, &commit, expected);
	if (r >= 0)
		r = mgit_commit_read(&c, g, &commit);
	if (r >= 0)
		r = mgit_tree_walk(g, &c.tree, "files", count_walk, &n);
	if (r >= 0)
		r = mgit_tree_diff(g, NULL, &c.tree, NULL, count_diff, &n);
	if (r >= 0)
		r = mgit_verify(g, NULL, NULL);
	mgit_commit_release(&c);
	mgit_tree_free(t);
	mgit_free(g);
	return r < 0 ? r : n;
}

/* Every allocation ferry makes (and zlib's, through mem_calloc) may fail:
 * each failure must come back as an error — ASan catches leaks and crashes
 * on the way — and the round that finally succeeds must see a sound
 * repository.  libgit2 keeps its own allocator (see git_libgit2.c). */
static void test_allocation_failures(void)
{
	const char *dir = tmp_path("oom.git");
	struct mgit *g;
	int failures = 0, r;

	rm_rf(dir);
	CHECK_OK(mgit_init(&g, dir));
	mgit_free(g);
	for (long n = 0;; n++) {
		CHECK_MSG(n < 20000, "no round succeeded");
		(void)mem_fail_after(n);
		r = oom_round(dir);
		(void)mem_fail_after(-1);
		if (r >= 0)
			break;
		failures++;
	}
	CHECK_EQ_I(r, 8);
	CHECK(failures > 50);
	CHECK_OK(mgit_open(&g, dir));
	CHECK_OK(mgit_verify(g, NULL, NULL));
	mgit_free(g);
	printf("# allocation failures: %d injected, each returned an error\n", failures);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "object IDs", test_oid },
		{ "path rules", test_path_rules },
		{ "tree put refusals", test_tree_put_refusals },
		{ "trees equal git's write-tree", test_tree_matches_git },
		{ "release round trip", test_release_round_trip },
		{ "walk order and prefixes", test_walk_order },
		{ "walk stops on callback value", test_walk_stops },
		{ "diff between releases", test_diff_releases },
		{ "diff file becomes directory", test_diff_file_becomes_dir },
		{ "diff skips unchanged subtrees", test_diff_skips_unchanged },
		{ "hostile trees refused", test_hostile_trees },
		{ "hostile commits refused", test_hostile_commits },
		{ "commit arguments", test_commit_args },
		{ "signed commit and git verify-commit", test_signed_commit },
		{ "git fsck, count-objects, one pack per flush", test_git_fsck_and_packs },
		{ "git clone from the folder", test_git_clone_folder },
		{ "git clone over plain HTTP", test_git_clone_http },
		{ "pack import", test_pack_import },
		{ "pack import refuses non-releases", test_pack_import_refusals },
		{ "a thin pack imports on top of the previous release only", test_pack_import_thin },
		{ "ferry writes a thin pack stock git and ferry complete", test_thin_pack_write },
		{ "verify finds flipped bytes", test_verify_flipped_bytes },
		{ "verify finds repository problems", test_verify_repository_state },
		{ "ref compare-and-swap", test_ref_cas },
		{ "100k-entry tree", test_100k_tree },
		{ "allocation failures", test_allocation_failures },
		{ 0 },
	});
}

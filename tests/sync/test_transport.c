/*
 * test_transport.c — the transport registry, the file transport and the
 * fake transport.
 *
 * The file transport is tried against real folders: hostile paths refused
 * before the disk is touched, symbolic links refused wherever they sit,
 * FIFOs and folders refused as files, reads at offsets around the 1 MiB
 * piece boundaries, short files, listings, every URL form, a real EIO (from
 * /proc/self/mem, which fails the way a pulled stick does), two threads
 * reading one file, files kept open between reads (shared by threads,
 * evicted, never leaked), allocation failure, and a '#' line comparing a 1 GiB
 * read with `cat` (FERRY_TRANSPORT_BENCH_MB sets the size; 0 skips it).
 * The registry is tried with tables written here: one that lies about
 * what it delivers, one of another version.  The fake's fault scripting is
 * tried one fault at a time.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "sync/transport.h"
#include "tests/harness.h"

#define MIB (1u << 20)

/* ---- fixtures ----------------------------------------------------------- */

static uint8_t pattern_byte(uint64_t i)
{
	uint64_t x = i * 0x9E3779B97F4A7C15ull;

	return (uint8_t)(x >> 56 ^ x >> 23 ^ i);
}

static void fill(uint8_t *p, size_t n, uint64_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern_byte(from + i);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = fs_join(dir, name);

	CHECK(p);
	return p;
}

/* A fresh folder under the test's scratch directory. */
static char *fresh_dir(const char *name)
{
	char *d = path_in(t_tmpdir(), name);
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
	CHECK_OK(fs_mkdir_p(d, 0755));
	return d;
}

static void put_file(const char *dir, const char *rel, const void *p, size_t n)
{
	AUTO_FREE char *f = path_in(dir, rel);

	CHECK_OK(fs_mkdir_parents(f, 0755));
	CHECK_OK(fs_write_atomic(f, p, n));
}

static void put_pattern(const char *dir, const char *rel, size_t n)
{
	AUTO_FREE uint8_t *b = mem_alloc(n ? n : 1);

	CHECK(b);
	fill(b, n, 0);
	put_file(dir, rel, b, n);
}

static void put_link(const char *dir, const char *rel, const char *target)
{
	AUTO_FREE char *f = path_in(dir, rel);

	CHECK_OK(fs_mkdir_parents(f, 0755));
	CHECK(symlink(target, f) == 0);
}

/* A sink that keeps what it is given and notes the pieces. */
struct collect {
	struct buf b;
	size_t pieces, max_piece;
	size_t stop_after; /* fail with -ECANCELED once this many bytes came (0: never) */
};

static void collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->b, 64u * MIB);
}

static int collect_sink(const void *p, size_t n, void *ctx)
{
	struct collect *c = ctx;

	c->pieces++;
	if (n > c->max_piece)
		c->max_piece = n;
	if (buf_append(&c->b, p, n) < 0)
		return -ENOMEM;
	if (c->stop_after && c->b.len >= c->stop_after)
		return -ECANCELED;
	return 0;
}

static bool is_pattern(const uint8_t *p, size_t n, uint64_t from)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern_byte(from + i))
			return false;
	return true;
}

static struct transport *open_ok(const char *url)
{
	struct transport *t = NULL;

	CHECK_OK(transport_open(&t, url, NULL));
	CHECK(t);
	return t;
}

/* ---- paths -------------------------------------------------------------- */

static void test_path_check(void)
{
	static char long_name[LIMIT_NAME_BYTES + 2], deep[LIMIT_PATH_DEPTH * 2 + 2],
	    too_long[LIMIT_PATH_BYTES + 2];
	static const struct {
		const char *p;
		size_t n; /* 0: strlen */
		bool root, ok;
	} cases[] = {
	    {"ferry.json", 0, false, true},
	    {"packs/ab/ab12.pack", 0, false, true},
	    {"课本/数学 七年级.pdf", 0, false, true},
	    {"...", 0, false, true},
	    {"..a/.b", 0, false, true},
	    {"", 0, true, true},
	    {"", 0, false, false},
	    {"/etc/passwd", 0, false, false},
	    {"/", 0, true, false},
	    {"../outside", 0, false, false},
	    {"packs/../../x", 0, false, false},
	    {"packs/..", 0, false, false},
	    {"..", 0, true, false},
	    {".", 0, true, false},
	    {"./ferry.json", 0, false, false},
	    {"packs/./ab", 0, false, false},
	    {"a//b", 0, false, false},
	    {"a/", 0, false, false},
	    {"packs\\..\\x", 0, false, false},
	    {"a\0/../b", 7, false, false},
	    {"ferry.json\0", 11, false, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].p);
		int r;

		err_clear();
		r = transport_path_check(cases[i].p, n, cases[i].root);
		CHECK_MSG(cases[i].ok ? r == 0 : r == -EINVAL, "case %zu \"%s\": %d", i, cases[i].p,
			  r);
		if (!cases[i].ok)
			CHECK_MSG(strstr(err_detail(), "refused"), "case %zu: %s", i, err_detail());
	}
	/* Limits: a name of LIMIT_NAME_BYTES, LIMIT_PATH_DEPTH folders. */
	memset(long_name, 'n', LIMIT_NAME_BYTES);
	CHECK_OK(transport_path_check(long_name, LIMIT_NAME_BYTES, false));
	CHECK_EQ_I(transport_path_check(long_name, LIMIT_NAME_BYTES + 1, false), -EINVAL);
	for (size_t i = 0; i < LIMIT_PATH_DEPTH + 1; i++)
		memcpy(deep + 2 * i, "d/", 2);
	CHECK_OK(transport_path_check(deep, 2 * LIMIT_PATH_DEPTH - 1, false));
	CHECK_EQ_I(transport_path_check(deep, 2 * LIMIT_PATH_DEPTH + 1, false), -EINVAL);
	memset(too_long, 'x', sizeof(too_long) - 1);
	for (size_t i = 200; i < LIMIT_PATH_BYTES; i += 200)
		too_long[i] = '/';
	CHECK_OK(transport_path_check(too_long, LIMIT_PATH_BYTES - 1, false));
	CHECK_EQ_I(transport_path_check(too_long, LIMIT_PATH_BYTES, false), -EINVAL);
}

/* Hostile paths never reach the disk: a file outside the root with the
 * name they point at stays unread. */
static void test_file_refuses_hostile_paths(void)
{
	static const char *const bad[] = {
	    "../outside.txt",	       "/etc/passwd", "a//b", "./ferry.json",
	    "packs/../../outside.txt", "ferry.json/", "x\\y"};
	AUTO_FREE char *top = fresh_dir("hostile");
	AUTO_FREE char *root = path_in(top, "repo");
	struct transport *t;

	put_file(top, "outside.txt", "secret", 6);
	put_file(root, "ferry.json", "{}", 2);
	t = open_ok(root);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct collect c;
		uint64_t size = 7;
		int r;

		collect_init(&c);
		r = transport_read(t, bad[i], 0, 6, collect_sink, &c);
		CHECK_MSG(r == -EINVAL, "%s: %d", bad[i], r);
		CHECK_EQ_U(c.b.len, 0);
		CHECK_MSG(strstr(t->detail, "refused"), "%s: %s", bad[i], t->detail);
		CHECK_EQ_I(transport_size(t, bad[i], &size), -EINVAL);
		CHECK_EQ_U(size, 7);
		buf_release(&c.b);
	}
	CHECK_EQ_I(transport_list(t, "..", NULL, NULL), -EINVAL);
	CHECK_EQ_I(transport_list(t, "/", NULL, NULL), -EINVAL);
	transport_close(t);
}

static int count_name(const char *name, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* Every symbolic link is refused, wherever it sits and wherever it points. */
static void test_file_refuses_links(void)
{
	static const struct {
		const char *path; /* what is asked for */
		const char *link; /* the link the walk meets */
	} cases[] = {
	    {"evil", "evil"},		       /* -> ../outside.txt */
	    {"inside", "inside"},	       /* -> ferry.json */
	    {"dangling", "dangling"},	       /* -> nowhere */
	    {"outdir/f.txt", "outdir"},	       /* folder -> ../outdir */
	    {"packs/ab/f.txt", "ab"},	       /* intermediate folder -> ../../outdir */
	    {"samedir/ferry.json", "samedir"}, /* folder -> . */
	};
	AUTO_FREE char *top = fresh_dir("links");
	AUTO_FREE char *root = path_in(top, "repo");
	struct transport *t;
	int n = 0;

	put_file(top, "outside.txt", "secret", 6);
	put_file(top, "outdir/f.txt", "secret", 6);
	put_file(root, "ferry.json", "{}", 2);
	put_link(root, "evil", "../outside.txt");
	put_link(root, "inside", "ferry.json");
	put_link(root, "dangling", "nowhere");
	put_link(root, "outdir", "../outdir");
	put_link(root, "packs/ab", "../../outdir");
	put_link(root, "samedir", ".");
	t = open_ok(root);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[64];
		struct collect c;
		uint64_t size = 0;
		int r;

		collect_init(&c);
		r = transport_read(t, cases[i].path, 0, 2, collect_sink, &c);
		CHECK_MSG(r == -ELOOP, "%s: %d (%s)", cases[i].path, r, t->detail);
		CHECK_EQ_U(c.b.len, 0);
		CHECK_MSG(strstr(t->detail, "is a symbolic link; refused"), "%s", t->detail);
		snprintf(want, sizeof(want), "\"%s\"", cases[i].link);
		CHECK_MSG(strstr(t->detail, want), "%s", t->detail);
		CHECK_MSG(strstr(err_detail(), "is a symbolic link"), "%s", err_detail());
		CHECK_EQ_I(transport_size(t, cases[i].path, &size), -ELOOP);
		buf_release(&c.b);
	}
	CHECK_EQ_I(transport_list(t, "outdir", count_name, &n), -ELOOP);
	CHECK_EQ_I(transport_list(t, "packs/ab", count_name, &n), -ELOOP);
	CHECK_EQ_I(n, 0);
	transport_close(t);
}

/* A FIFO on a stick must not hang the reader; a folder is not a file. */
static void test_file_refuses_special_files(void)
{
	AUTO_FREE char *root = fresh_dir("special");
	AUTO_FREE char *fifo = path_in(root, "fifo");
	struct transport *t;
	struct collect c;
	uint64_t size;

	put_file(root, "packs/ab/x.pack", "x", 1);
	CHECK(mkfifo(fifo, 0644) == 0);
	t = open_ok(root);
	collect_init(&c);
	CHECK_EQ_I(transport_read(t, "fifo", 0, 1, collect_sink, &c), -EINVAL);
	CHECK_MSG(strstr(t->detail, "not a regular file"), "%s", t->detail);
	CHECK_EQ_I(transport_size(t, "fifo", &size), -EINVAL);
	CHECK_EQ_I(transport_read(t, "packs/ab", 0, 1, collect_sink, &c), -EINVAL);
	CHECK_EQ_I(transport_size(t, "packs", &size), -EINVAL);
	CHECK_EQ_U(c.b.len, 0);
	buf_release(&c.b);
	transport_close(t);
}

/* ---- reading ------------------------------------------------------------ */

static void test_file_reads_across_pieces(void)
{
	static const size_t file_len = 3 * MIB + 123;
	static const struct {
		uint64_t off, len;
	} cases[] = {
	    {0, 3 * MIB + 123}, /* all of it */
	    {0, 1},
	    {MIB - 1, 2},	/* straddles the first boundary */
	    {MIB, MIB},		/* exactly the second piece */
	    {MIB - 1, MIB + 2}, /* three pieces for a piece's worth */
	    {5, 2 * MIB + 7},
	    {3 * MIB + 122, 1}, /* the last byte */
	    {3 * MIB + 123, 0}, /* nothing, at the end */
	    {12345, 0},
	};
	AUTO_FREE char *root = fresh_dir("pieces");
	struct transport *t;

	put_pattern(root, "packs/ab/big.pack", file_len);
	t = open_ok(root);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct collect c;

		collect_init(&c);
		CHECK_OK(transport_read(t, "packs/ab/big.pack", cases[i].off, cases[i].len,
					collect_sink, &c));
		CHECK_EQ_U(c.b.len, cases[i].len);
		CHECK_MSG(is_pattern(c.b.data, c.b.len, cases[i].off), "case %zu: wrong bytes", i);
		CHECK_MSG(c.max_piece <= TRANSPORT_PIECE_BYTES, "case %zu: piece of %zu", i,
			  c.max_piece);
		/* Pieces are as large as allowed: a read of L bytes takes
		 * ceil(L / 1 MiB) of them, not thousands of small ones. */
		CHECK_EQ_U(c.pieces,
			   (cases[i].len + TRANSPORT_PIECE_BYTES - 1) / TRANSPORT_PIECE_BYTES);
		buf_release(&c.b);
	}
	transport_close(t);
}

static void test_file_short_file(void)
{
	static const struct {
		size_t file_len;
		uint64_t off, len;
		size_t delivered;
	} cases[] = {
	    {1000, 900, 200, 100},
	    {1000, 1000, 1, 0},
	    {1000, 2000, 10, 0},
	    {0, 0, 1, 0},
	    {MIB + MIB / 2, 0, 2 * MIB, MIB + MIB / 2},
	    {MIB + MIB / 2, MIB - 10, MIB, MIB / 2 + 10},
	    {10, 1, UINT64_MAX - 1, 9},
	    {10, UINT64_MAX - 5, 5, 0},
	};
	AUTO_FREE char *root = fresh_dir("short");

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[32];
		struct transport *t;
		struct collect c;
		int r;

		snprintf(name, sizeof(name), "f%zu", i);
		put_pattern(root, name, cases[i].file_len);
		t = open_ok(root);
		collect_init(&c);
		r = transport_read(t, name, cases[i].off, cases[i].len, collect_sink, &c);
		CHECK_MSG(r == -EBADMSG, "case %zu: %d", i, r);
		CHECK_EQ_U(c.b.len, cases[i].delivered);
		CHECK(is_pattern(c.b.data, c.b.len, cases[i].off));
		CHECK_MSG(strstr(t->detail, name), "%s", t->detail);
		buf_release(&c.b);
		transport_close(t);
	}
}

static void test_file_size_and_missing(void)
{
	AUTO_FREE char *root = fresh_dir("size");
	struct transport *t;
	struct collect c;
	uint64_t size = 0;

	put_pattern(root, "heads/renjiao/all", 4321);
	put_pattern(root, "empty", 0);
	t = open_ok(root);
	CHECK_OK(transport_size(t, "heads/renjiao/all", &size));
	CHECK_EQ_U(size, 4321);
	CHECK_OK(transport_size(t, "empty", &size));
	CHECK_EQ_U(size, 0);
	CHECK_EQ_I(transport_size(t, "heads/renjiao/none", &size), -ENOENT);
	CHECK_MSG(strstr(t->detail, "heads/renjiao/none"), "%s", t->detail);
	CHECK_EQ_I(transport_size(t, "nofolder/x", &size), -ENOENT);
	/* A file where a folder should be. */
	CHECK_EQ_I(transport_size(t, "empty/x", &size), -ENOENT);
	collect_init(&c);
	CHECK_EQ_I(transport_read(t, "heads/missing", 0, 1, collect_sink, &c), -ENOENT);
	CHECK_EQ_I(transport_read(t, "heads/missing", 0, 0, collect_sink, &c), -ENOENT);
	CHECK_OK(transport_read(t, "empty", 0, 0, collect_sink, &c));
	CHECK_EQ_U(c.pieces, 0);
	buf_release(&c.b);
	transport_close(t);
}

/* ---- listing ------------------------------------------------------------ */

struct names {
	char s[512];
	int calls, stop_at;
};

static int note_name(const char *name, void *ctx)
{
	struct names *ns = ctx;

	ns->calls++;
	if (ns->stop_at && ns->calls == ns->stop_at)
		return -ECANCELED;
	/* Kept sorted, so the order of readdir does not matter. */
	{
		char *s = ns->s, tmp[512];
		char *p = s;

		while (*p) {
			char *e = strchr(p, ' ');

			if (strncmp(name, p, (size_t)(e - p)) < 0 ||
			    (strncmp(name, p, (size_t)(e - p)) == 0 &&
			     strlen(name) < (size_t)(e - p)))
				break;
			p = e + 1;
		}
		snprintf(tmp, sizeof(tmp), "%s", p);
		snprintf(p, sizeof(ns->s) - (size_t)(p - s), "%s %s", name, tmp);
	}
	return 0;
}

static void test_file_list(void)
{
	static const struct {
		const char *dir;
		int r;
		const char *names;
	} cases[] = {
	    {"", 0, "ferry.json heads packs "},
	    {"packs", 0, "ab cd "},
	    {"packs/ab", 0, "ab01.idx ab01.pack "},
	    {"packs/cd", 0, ""},
	    {"missing", -ENOENT, ""},
	    {"ferry.json", -ENOENT, ""},
	    {"packs/ab/", -EINVAL, ""},
	};
	AUTO_FREE char *root = fresh_dir("list");
	AUTO_FREE char *empty = path_in(root, "packs/cd");
	struct transport *t;
	struct names ns = {.stop_at = 2};

	put_file(root, "ferry.json", "{}", 2);
	put_file(root, "heads/renjiao/all", "h", 1);
	put_file(root, "packs/ab/ab01.pack", "p", 1);
	put_file(root, "packs/ab/ab01.idx", "i", 1);
	CHECK_OK(fs_mkdir_p(empty, 0755));
	t = open_ok(root);
	CHECK(transport_can_list(t));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct names got = {.calls = 0};

		CHECK_EQ_I(transport_list(t, cases[i].dir, note_name, &got), cases[i].r);
		CHECK_STR(got.s, cases[i].names);
	}
	/* A callback's error stops the listing and comes back. */
	CHECK_EQ_I(transport_list(t, "", note_name, &ns), -ECANCELED);
	CHECK_EQ_I(ns.calls, 2);
	transport_close(t);
}

/* ---- URLs and the registry ---------------------------------------------- */

/* tmpl with each '@' replaced by top. */
static void expand(char *out, size_t n, const char *tmpl, const char *top)
{
	size_t k = 0;

	for (; *tmpl && k + strlen(top) + 1 < n; tmpl++) {
		if (*tmpl == '@') {
			memcpy(out + k, top, strlen(top));
			k += strlen(top);
		} else {
			out[k++] = *tmpl;
		}
	}
	out[k] = '\0';
}

static void url_case(const char *url, int want, const char *detail)
{
	struct transport *t = NULL;
	struct buf b;
	int r;

	err_clear();
	r = transport_open(&t, url, NULL);
	CHECK_MSG(r == want, "%s: %d (%s)", url, r, err_detail());
	if (r < 0) {
		CHECK(!t);
		CHECK_MSG(strstr(err_detail(), detail), "%s: %s", url, err_detail());
		return;
	}
	CHECK(t->ops == &transport_file_ops);
	CHECK_STR(t->url, url);
	buf_init(&b, 100);
	r = transport_fetch(t, "ferry.json", &b, 100);
	transport_close(t);
	CHECK_OK(r);
	CHECK_STR(buf_str(&b), "{\"v\":1}");
	buf_release(&b);
}

/* Relative forms are resolved against the working directory, which is
 * the scratch folder '@' here. */
static void test_file_url_forms(void)
{
	static const struct {
		const char *tmpl;
		int r;
		const char *detail;
	} cases[] = {
	    {"@/repo", 0, NULL},
	    {"./repo", 0, NULL},
	    {"repo", 0, NULL},
	    {"repo/", 0, NULL},
	    {"file://@/repo", 0, NULL},
	    {"file://localhost@/repo", 0, NULL},
	    {"file://@/usb%20disk", 0, NULL},
	    {"file://@/%E8%AF%BE%E6%9C%AC", 0, NULL}, /* 课本 */
	    {"file://school-nas@/repo", -EINVAL, "only local folders"},
	    {"file://", -EINVAL, "needs a folder"},
	    {"file://@/usb%2", -EINVAL, "%-escape"},
	    {"file://@/x%00y", -EINVAL, "%-escape"},
	    {"file://@/x%g1", -EINVAL, "%-escape"},
	    {"file://@/x%", -EINVAL, "%-escape"},
	    {"file://@/x%4", -EINVAL, "%-escape"},
	    {"", -EINVAL, "empty"},
	    {"@/absent", -ENOENT, "plugged in"},
	    {"@/plain.txt", -ENOTDIR, "not a folder"},
	};
	AUTO_FREE char *top = fresh_dir("urls");
	char cwd[4096], url[2048];

	put_file(top, "repo/ferry.json", "{\"v\":1}", 7);
	put_file(top, "usb disk/ferry.json", "{\"v\":1}", 7);
	put_file(top, "课本/ferry.json", "{\"v\":1}", 7);
	put_file(top, "plain.txt", "x", 1);
	CHECK(getcwd(cwd, sizeof(cwd)));
	CHECK(chdir(top) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		expand(url, sizeof(url), cases[i].tmpl, top);
		url_case(url, cases[i].r, cases[i].detail);
	}
	CHECK(chdir(cwd) == 0);
}

/* A table written here, for the registry tests: it serves one 3 MiB file
 * of the pattern, and can be told to break its contract. */
enum probe_mode { PROBE_HONEST, PROBE_MORE, PROBE_LESS, PROBE_ONE_PIECE };
static enum probe_mode probe_mode;
static int probe_opens;

static bool probe_handles(const char *url)
{
	return strncmp(url, "probe://", 8) == 0;
}

static int probe_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	probe_opens++;
	*out = mem_calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void probe_close(struct transport *t)
{
	mem_free(t);
}

static int probe_size(struct transport *t, const char *path, uint64_t *out)
{
	*out = 3 * MIB;
	return 0;
}

static int probe_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		      transport_sink_fn sink, void *ctx)
{
	AUTO_FREE uint8_t *b = mem_alloc(len + 1);
	size_t n = (size_t)len;
	int r = 0;

	CHECK(b);
	fill(b, len + 1, off);
	if (probe_mode == PROBE_MORE)
		n++;
	if (probe_mode == PROBE_LESS)
		n--;
	if (probe_mode == PROBE_ONE_PIECE)
		return sink(b, n, ctx);
	for (size_t i = 0; r == 0 && i < n; i += 1000)
		r = sink(b + i, n - i < 1000 ? n - i : 1000, ctx);
	return r;
}

static const struct transport_ops probe_ops = {
    .version = TRANSPORT_OPS_VERSION,
    .name = "probe",
    .handles = probe_handles,
    .open = probe_open,
    .close = probe_close,
    .size = probe_size,
    .read = probe_read,
};

static bool old_handles(const char *url)
{
	return strncmp(url, "old://", 6) == 0;
}

static void test_registry_picks_table(void)
{
	static const struct {
		const char *url;
		const struct transport_ops *ops; /* NULL: -EPROTONOSUPPORT */
	} cases[] = {
	    {"probe://anything", &probe_ops}, {"fake://mirror", &transport_fake_ops},
	    {"/", &transport_file_ops},	      {"file:///", &transport_file_ops},
	    {".", &transport_file_ops},	      {"gopher://county.example/", NULL},
	    {"HTTP://county.example/", &transport_http_ops}, {"x-y.z+1://host", NULL},
	};

	CHECK_OK(transport_register(&probe_ops));
	CHECK_OK(transport_register(&probe_ops)); /* twice is harmless */
	CHECK_OK(transport_register(&transport_fake_ops));
	CHECK_OK(transport_fake_put("mirror", NULL, NULL, 0));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct transport *t = NULL;
		int r = transport_open(&t, cases[i].url, NULL);

		if (!cases[i].ops) {
			CHECK_MSG(r == -EPROTONOSUPPORT, "%s: %d", cases[i].url, r);
			CHECK(!t);
			CHECK_MSG(strstr(err_detail(), "no transport"), "%s", err_detail());
			continue;
		}
		CHECK_MSG(r == 0, "%s: %d (%s)", cases[i].url, r, err_detail());
		CHECK_MSG(t->ops == cases[i].ops, "%s: picked %s", cases[i].url, t->ops->name);
		CHECK_STR(t->url, cases[i].url);
		transport_close(t);
	}
	transport_close(NULL);
	transport_fake_reset();
}

static void test_registry_refuses_other_versions(void)
{
	struct transport_ops old = probe_ops, partial = probe_ops;
	struct transport *t = NULL;
	int opens = probe_opens;

	old.version = TRANSPORT_OPS_VERSION + 1;
	old.handles = old_handles;
	CHECK_EQ_I(transport_register(&old), -EINVAL);
	CHECK_MSG(strstr(err_detail(), "version"), "%s", err_detail());
	old.version = 0;
	CHECK_EQ_I(transport_register(&old), -EINVAL);
	CHECK_EQ_I(transport_open(&t, "old://x", NULL), -EPROTONOSUPPORT);
	CHECK(!t);
	partial.handles = old_handles;
	partial.read = NULL;
	CHECK_EQ_I(transport_register(&partial), -EINVAL);
	CHECK_MSG(strstr(err_detail(), "lacks a required function"), "%s", err_detail());
	CHECK_EQ_I(transport_open(&t, "old://x", NULL), -EPROTONOSUPPORT);
	CHECK_EQ_I(probe_opens, opens);
}

static void test_registry_holds_contract(void)
{
	static const struct {
		enum probe_mode mode;
		uint64_t len;
		int r;
	} cases[] = {
	    {PROBE_HONEST, 2500, 0},	       {PROBE_MORE, 2500, -EPROTO},
	    {PROBE_LESS, 2500, -EPROTO},       {PROBE_ONE_PIECE, 3 * MIB, 0},
	    {PROBE_ONE_PIECE, 3 * MIB - 1, 0},
	};
	struct transport *t;

	CHECK_OK(transport_register(&probe_ops));
	t = open_ok("probe://x");
	CHECK(!transport_can_list(t));
	CHECK_EQ_I(transport_list(t, "", count_name, NULL), -EOPNOTSUPP);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct collect c;

		collect_init(&c);
		probe_mode = cases[i].mode;
		CHECK_EQ_I(transport_read(t, "packs/x", 7, cases[i].len, collect_sink, &c),
			   cases[i].r);
		CHECK(c.b.len <= cases[i].len);
		CHECK(c.max_piece <= TRANSPORT_PIECE_BYTES);
		CHECK(is_pattern(c.b.data, c.b.len, 7));
		if (cases[i].r == 0)
			CHECK_EQ_U(c.b.len, cases[i].len);
		else
			CHECK_MSG(strstr(t->detail, "asked") || strstr(t->detail, "delivered"),
				  "%s", t->detail);
		buf_release(&c.b);
	}
	probe_mode = PROBE_HONEST;
	/* A range past 2^64 is refused before the transport sees it. */
	CHECK_EQ_I(transport_read(t, "x", UINT64_MAX, 2, collect_sink, NULL), -EINVAL);
	transport_close(t);
}

static void test_fetch(void)
{
	AUTO_FREE char *root = fresh_dir("fetch");
	struct transport *t;
	struct buf b;

	put_pattern(root, "ferry.json", 5000);
	t = open_ok(root);
	buf_init(&b, 1 << 20);
	CHECK_OK(buf_append_str(&b, "abc"));
	CHECK_OK(transport_fetch(t, "ferry.json", &b, 5000));
	CHECK_EQ_U(b.len, 5003);
	CHECK(memcmp(b.data, "abc", 3) == 0 && is_pattern(b.data + 3, 5000, 0));
	/* Too large for max: refused, out as it was. */
	b.len = 3;
	CHECK_EQ_I(transport_fetch(t, "ferry.json", &b, 4999), -EFBIG);
	CHECK_EQ_U(b.len, 3);
	CHECK_STR(buf_str(&b), "abc");
	CHECK_EQ_I(transport_fetch(t, "missing", &b, 4999), -ENOENT);
	CHECK_EQ_U(b.len, 3);
	buf_release(&b);
	/* Too large for the buffer's own cap. */
	buf_init(&b, 100);
	CHECK_EQ_I(transport_fetch(t, "ferry.json", &b, 5000), -EFBIG);
	CHECK_EQ_U(b.len, 0);
	buf_release(&b);
	transport_close(t);
}

/* /proc/self/mem is a regular file whose unmapped pages fail with EIO, as
 * the blocks of a stick pulled out mid-read do. */
static void test_file_eio(void)
{
	struct transport *t = open_ok("/proc/self");
	struct collect c;

	collect_init(&c);
	CHECK_EQ_I(transport_read(t, "mem", 0, 4096, collect_sink, &c), -EIO);
	CHECK_MSG(strstr(t->detail, "the USB stick or folder could not be read"), "%s", t->detail);
	CHECK_MSG(strstr(err_detail(), "the USB stick or folder could not be read: mem"), "%s",
		  err_detail());
	CHECK_EQ_U(c.b.len, 0);
	buf_release(&c.b);
	transport_close(t);
}

struct reader {
	struct transport *t;
	uint64_t off;
	int r;
	bool same;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	for (int i = 0; i < 8 && rd->r == 0 && rd->same; i++) {
		struct collect c;

		collect_init(&c);
		rd->r =
		    transport_read(rd->t, "packs/ab/big.pack", rd->off, 2 * MIB, collect_sink, &c);
		rd->same = c.b.len == 2 * MIB && is_pattern(c.b.data, c.b.len, rd->off);
		buf_release(&c.b);
	}
	return NULL;
}

static void test_file_two_threads(void)
{
	AUTO_FREE char *root = fresh_dir("threads");
	struct reader rd[2];
	pthread_t th[2];
	struct transport *t;

	put_pattern(root, "packs/ab/big.pack", 3 * MIB);
	t = open_ok(root);
	for (int i = 0; i < 2; i++) {
		rd[i] = (struct reader){t, (uint64_t)i * MIB / 2 + 17, 0, true};
		CHECK(pthread_create(&th[i], NULL, reader_main, &rd[i]) == 0);
	}
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	transport_close(t);
	for (int i = 0; i < 2; i++) {
		CHECK_OK(rd[i].r);
		CHECK(rd[i].same);
	}
}

/* Descriptors this process holds now. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	CHECK(d != NULL);
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

struct rotor {
	struct transport *t;
	int first, r;
	bool same;
};

/* Reads files f0..f5 round the clock from its own starting point. */
static void *rotor_main(void *arg)
{
	struct rotor *ro = arg;

	for (int i = 0; i < 60 && ro->r == 0 && ro->same; i++) {
		char name[32];
		struct collect c;
		int f = (ro->first + i) % 6;

		snprintf(name, sizeof(name), "packs/f%d.pack", f);
		collect_init(&c);
		ro->r = transport_read(ro->t, name, (uint64_t)f * 1000, 70000, collect_sink, &c);
		ro->same = c.b.len == 70000 && is_pattern(c.b.data, c.b.len, (uint64_t)f * 1000);
		buf_release(&c.b);
	}
	return NULL;
}

/* The last few files read stay open: reads of them share one descriptor,
 * a file evicted is reached again by its path, and nothing leaks. */
static void test_file_keeps_files_open(void)
{
	AUTO_FREE char *root = fresh_dir("open-files");
	struct rotor ro[3];
	pthread_t th[3];
	struct transport *t;
	int base;
	uint64_t size;

	for (int f = 0; f < 6; f++) {
		char name[32];

		snprintf(name, sizeof(name), "packs/f%d.pack", f);
		put_pattern(root, name, 200000);
	}
	base = open_fds();
	t = open_ok(root);
	/* Three threads over six files: more files than are kept open. */
	for (int i = 0; i < 3; i++) {
		ro[i] = (struct rotor){t, i * 2, 0, true};
		CHECK(pthread_create(&th[i], NULL, rotor_main, &ro[i]) == 0);
	}
	for (int i = 0; i < 3; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		CHECK_OK(ro[i].r);
		CHECK(ro[i].same);
	}
	CHECK_MSG(open_fds() <= base + 1 + 4, "%d descriptors open, %d before", open_fds(), base);
	/* f0..f3 read last: f4 is no longer open, f3 is.  Removed from the
	 * folder, f4 is gone for the transport; f3 is still read from its open
	 * descriptor (its bytes are verified like any source's). */
	for (int f = 0; f < 4; f++) {
		char name[32];

		snprintf(name, sizeof(name), "packs/f%d.pack", f);
		CHECK_OK(transport_size(t, name, &size));
		CHECK_EQ_U(size, 200000);
	}
	{
		AUTO_FREE char *f3 = path_in(root, "packs/f3.pack");
		AUTO_FREE char *f4 = path_in(root, "packs/f4.pack");

		CHECK(unlink(f3) == 0 && unlink(f4) == 0);
	}
	CHECK_EQ_I(transport_size(t, "packs/f4.pack", &size), -ENOENT);
	CHECK_OK(transport_size(t, "packs/f3.pack", &size));
	transport_close(t);
	CHECK_EQ_I(open_fds(), base);
}

/* Opens, sizes, reads and lists url with the nth allocation failing;
 * returns the first error (or 0). */
static int all_ops(const char *url, const char *file, const char *dir)
{
	struct transport *t = NULL;
	struct collect c;
	uint64_t size;
	int n = 0, r;

	r = transport_open(&t, url, NULL);
	if (r < 0)
		return r;
	collect_init(&c);
	r = transport_size(t, file, &size);
	if (r == 0)
		r = transport_read(t, file, 1, size - 1, collect_sink, &c);
	if (r == 0)
		r = transport_list(t, dir, count_name, &n);
	transport_close(t);
	buf_release(&c.b);
	return r;
}

static void test_allocation_failures(void)
{
	AUTO_FREE char *root = fresh_dir("alloc");
	static uint8_t data[100000];
	const char *urls[2] = {root, "fake://alloc"};

	put_pattern(root, "packs/ab/x.pack", sizeof(data));
	fill(data, sizeof(data), 0);
	CHECK_OK(transport_register(&transport_fake_ops));
	CHECK_OK(transport_fake_put("alloc", "packs/ab/x.pack", data, sizeof(data)));
	for (size_t u = 0; u < 2; u++) {
		long total;
		int r;

		mem_fail_after(-1);
		CHECK_OK(all_ops(urls[u], "packs/ab/x.pack", "packs"));
		total = mem_fail_after(-1);
		CHECK(total > 0);
		for (long i = 0; i < total; i++) {
			mem_fail_after(i);
			r = all_ops(urls[u], "packs/ab/x.pack", "packs");
			mem_fail_after(-1);
			/* The collecting sink's own buffer fails as -ENOMEM too. */
			CHECK_MSG(r == -ENOMEM, "%s, allocation %ld: %d", urls[u], i, r);
		}
	}
	transport_fake_reset();
}

/* ---- the fake ----------------------------------------------------------- */

static struct transport *fake_repo(const char *name, size_t n)
{
	AUTO_FREE uint8_t *b = mem_alloc(n);

	CHECK(b);
	fill(b, n, 0);
	CHECK_OK(transport_register(&transport_fake_ops));
	CHECK_OK(transport_fake_put(name, "packs/ab/ab01.pack", b, n));
	CHECK_OK(transport_fake_put(name, "packs/ab/ab01.idx", "idx", 3));
	CHECK_OK(transport_fake_put(name, "packs/cd/cd02.pack", "p", 1));
	CHECK_OK(transport_fake_put(name, "heads/renjiao/all", "head", 4));
	CHECK_OK(transport_fake_put(name, "ferry.json", "{}", 2));
	{
		char url[128];

		snprintf(url, sizeof(url), "fake://%s", name);
		return open_ok(url);
	}
}

static void test_fake_serves(void)
{
	static const struct {
		const char *dir;
		int r;
		const char *names;
	} lists[] = {
	    {"", 0, "ferry.json heads packs "},
	    {"packs", 0, "ab cd "},
	    {"packs/ab", 0, "ab01.idx ab01.pack "},
	    {"nope", -ENOENT, ""},
	};
	struct transport *t = fake_repo("county", 200000), *u = NULL;
	struct collect c;
	uint64_t size;
	struct buf b;

	CHECK_OK(transport_size(t, "packs/ab/ab01.pack", &size));
	CHECK_EQ_U(size, 200000);
	CHECK_EQ_I(transport_size(t, "packs/ab/none", &size), -ENOENT);
	collect_init(&c);
	CHECK_OK(transport_read(t, "packs/ab/ab01.pack", 1000, 150000, collect_sink, &c));
	CHECK_EQ_U(c.b.len, 150000);
	CHECK(is_pattern(c.b.data, c.b.len, 1000));
	CHECK(c.max_piece <= TRANSPORT_FAKE_PIECE_BYTES);
	CHECK_EQ_U(c.pieces, 3);
	CHECK_EQ_U(transport_fake_served("county"), 150000);
	CHECK_EQ_U(transport_fake_requests("county"), 1);
	/* Short: what exists, then -EBADMSG. */
	c.b.len = 0;
	CHECK_EQ_I(transport_read(t, "packs/ab/ab01.pack", 199990, 20, collect_sink, &c), -EBADMSG);
	CHECK_EQ_U(c.b.len, 10);
	CHECK_EQ_I(transport_read(t, "nothing", 0, 0, collect_sink, &c), -ENOENT);
	CHECK_EQ_U(transport_fake_served("county"), 150010);
	CHECK_EQ_U(transport_fake_requests("county"), 3);
	buf_release(&c.b);
	buf_init(&b, 100);
	CHECK_OK(transport_fetch(t, "heads/renjiao/all", &b, 100));
	CHECK_STR(buf_str(&b), "head");
	buf_release(&b);
	CHECK(transport_can_list(t));
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct names got = {.calls = 0};

		CHECK_EQ_I(transport_list(t, lists[i].dir, note_name, &got), lists[i].r);
		CHECK_STR(got.s, lists[i].names);
	}
	/* Replacing a file is seen by the next read. */
	CHECK_OK(transport_fake_put("county", "ferry.json", "{\"v\":2}", 7));
	CHECK_OK(transport_size(t, "ferry.json", &size));
	CHECK_EQ_U(size, 7);
	CHECK_EQ_I(transport_open(&u, "fake://elsewhere", NULL), -EHOSTUNREACH);
	CHECK_EQ_I(transport_open(&u, "fake://", NULL), -EINVAL);
	CHECK_EQ_I(transport_fake_put("county", "../x", "x", 1), -EINVAL);
	CHECK_EQ_U(transport_fake_served("elsewhere"), 0);
	transport_fake_reset();
	/* Gone with the reset, even for a transport still open on it. */
	CHECK_EQ_I(transport_size(t, "ferry.json", &size), -EHOSTUNREACH);
	CHECK_EQ_U(transport_fake_served("county"), 0);
	transport_close(t);
}

static void test_fake_faults(void)
{
	static const struct {
		const char *what;
		uint64_t after;
		int err;
		unsigned times;
		uint64_t len;	    /* of each read */
		int reads;	    /* made, in a row */
		int failures;	    /* how many of them fail */
		uint64_t delivered; /* by a failing read */
	} cases[] = {
	    {"reset once", 10, -ECONNRESET, 1, 1000, 3, 1, 10},
	    {"stall twice", 70000, -ETIMEDOUT, 2, 100000, 3, 2, 70000},
	    {"eio always", 0, -EIO, 0, 1000, 4, 4, 0},
	    {"past the read", 5000, -EIO, 0, 1000, 3, 0, 0},
	    {"at the end", 1000, -EIO, 0, 1000, 2, 0, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct transport *t = fake_repo("faulty", 200000);
		uint64_t served = 0;
		int failures = 0;

		CHECK_OK(transport_fake_fail("faulty", "packs/ab/ab01.pack", cases[i].after,
					     cases[i].err, cases[i].times));
		for (int k = 0; k < cases[i].reads; k++) {
			struct collect c;
			int r;

			collect_init(&c);
			r = transport_read(t, "packs/ab/ab01.pack", 100, cases[i].len, collect_sink,
					   &c);
			CHECK(is_pattern(c.b.data, c.b.len, 100));
			served += c.b.len;
			if (r < 0) {
				failures++;
				CHECK_MSG(r == cases[i].err, "%s: %d", cases[i].what, r);
				CHECK_EQ_U(c.b.len, cases[i].delivered);
				CHECK_MSG(strstr(t->detail, "scripted"), "%s", t->detail);
			} else {
				CHECK_EQ_U(c.b.len, cases[i].len);
			}
			buf_release(&c.b);
		}
		CHECK_MSG(failures == cases[i].failures, "%s: %d failures", cases[i].what,
			  failures);
		CHECK_EQ_U(transport_fake_served("faulty"), served);
		/* Other files of the repository are not touched. */
		CHECK_OK(transport_size(t, "ferry.json", &served));
		transport_close(t);
		transport_fake_reset();
	}
}

/* The fetcher's resume loop against a source that breaks every read: each
 * read delivers 300 bytes, so the file still arrives, in pieces. */
static void test_fake_resume(void)
{
	struct transport *t = fake_repo("flaky", 5000);
	struct collect c;
	int reads = 0;

	CHECK_OK(transport_fake_fail("flaky", "packs/ab/ab01.pack", 300, -ECONNRESET, 0));
	collect_init(&c);
	while (c.b.len < 5000) {
		int r = transport_read(t, "packs/ab/ab01.pack", c.b.len, 5000 - c.b.len,
				       collect_sink, &c);

		reads++;
		CHECK(r == 0 || r == -ECONNRESET);
		CHECK(reads < 100);
	}
	CHECK_EQ_U(c.b.len, 5000);
	CHECK(is_pattern(c.b.data, 5000, 0));
	CHECK_EQ_I(reads, 17);
	CHECK_EQ_U(transport_fake_served("flaky"), 5000);
	CHECK_EQ_U(transport_fake_requests("flaky"), 17);
	buf_release(&c.b);
	transport_close(t);
	transport_fake_reset();
}

static void test_fake_corrupt(void)
{
	struct transport *t = fake_repo("bitrot", 200000);
	struct collect c;
	size_t bad;

	CHECK_OK(transport_fake_corrupt("bitrot", "packs/ab/ab01.pack", 70000, 1));
	CHECK_EQ_I(transport_fake_corrupt("bitrot", NULL, 70000, 1), -EINVAL);
	collect_init(&c);
	/* A read that does not cover the byte leaves the fault armed. */
	CHECK_OK(transport_read(t, "packs/ab/ab01.pack", 0, 70000, collect_sink, &c));
	CHECK(is_pattern(c.b.data, c.b.len, 0));
	c.b.len = 0;
	CHECK_OK(transport_read(t, "packs/ab/ab01.pack", 60000, 20000, collect_sink, &c));
	CHECK(!is_pattern(c.b.data, c.b.len, 60000));
	for (bad = 0; bad < c.b.len && c.b.data[bad] == pattern_byte(60000 + bad); bad++)
		;
	CHECK_EQ_U(bad, 10000);
	CHECK_EQ_U(c.b.data[bad], (uint8_t)~pattern_byte(70000));
	CHECK(is_pattern(c.b.data + bad + 1, c.b.len - bad - 1, 70001));
	/* Spent: the next read is clean. */
	c.b.len = 0;
	CHECK_OK(transport_read(t, "packs/ab/ab01.pack", 60000, 20000, collect_sink, &c));
	CHECK(is_pattern(c.b.data, c.b.len, 60000));
	/* Always: every read. */
	CHECK_OK(transport_fake_corrupt("bitrot", "ferry.json", 1, 0));
	for (int k = 0; k < 3; k++) {
		c.b.len = 0;
		CHECK_OK(transport_read(t, "ferry.json", 0, 2, collect_sink, &c));
		CHECK(c.b.data[0] == '{' && c.b.data[1] == (uint8_t) ~'}');
	}
	buf_release(&c.b);
	transport_close(t);
	transport_fake_reset();
}

static void test_fake_source_down(void)
{
	struct transport *t = NULL, *u;
	uint64_t size;

	u = fake_repo("county", 10);
	CHECK_OK(transport_fake_fail("county", NULL, 0, -EHOSTUNREACH, 2));
	CHECK_EQ_I(transport_open(&t, "fake://county", NULL), -EHOSTUNREACH);
	CHECK_EQ_I(transport_size(u, "ferry.json", &size), -EHOSTUNREACH);
	CHECK(!t);
	t = open_ok("fake://county");
	CHECK_OK(transport_size(u, "ferry.json", &size));
	transport_close(t);
	transport_close(u);
	transport_fake_reset();
}

static void test_fake_refuses_listing(void)
{
	struct transport *t = fake_repo("web", 10), *u;
	int n = 0;

	CHECK(transport_can_list(t));
	CHECK_OK(transport_fake_set_listable("web", false));
	u = open_ok("fake://web");
	CHECK(!transport_can_list(u));
	CHECK_EQ_I(transport_list(u, "", count_name, &n), -EOPNOTSUPP);
	/* Already open: the table keeps list, the repository says no. */
	CHECK_EQ_I(transport_list(t, "", count_name, &n), -EOPNOTSUPP);
	CHECK_EQ_I(n, 0);
	CHECK_OK(transport_fake_set_listable("web", true));
	CHECK_OK(transport_list(t, "", count_name, &n));
	CHECK_EQ_I(n, 3);
	transport_close(t);
	transport_close(u);
	transport_fake_reset();
}

/* ---- speed -------------------------------------------------------------- */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The speed file: block i of 1 MiB is byte i*7+1 throughout, except its
 * first byte, which is i. */
static uint8_t speed_byte(uint64_t off)
{
	uint64_t block = off / MIB;

	return off % MIB ? (uint8_t)(block * 7 + 1) : (uint8_t)block;
}

/* Checks the first and last byte of each piece, whatever its size: enough
 * to see every piece arrive at its place, cheap enough not to be measured. */
struct tally {
	uint64_t bytes;
	bool right;
};

static int tally_sink(const void *p, size_t n, void *ctx)
{
	struct tally *t = ctx;
	const uint8_t *q = p;

	if (q[0] != speed_byte(t->bytes) || q[n - 1] != speed_byte(t->bytes + n - 1))
		t->right = false;
	t->bytes += n;
	return 0;
}

static void speed_file_write(const char *file, uint64_t mb)
{
	AUTO_FREE uint8_t *b = mem_alloc(MIB);
	AUTO_CLOSE int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(b && fd >= 0);
	for (uint64_t i = 0; i < mb; i++) {
		memset(b, (int)(i * 7 + 1), MIB);
		b[0] = (uint8_t)i;
		CHECK_OK(fs_write_all(fd, b, MIB));
	}
}

/* With cold set, drops the file from the page cache first (its pages
 * only), so the read comes from the disk. */
static void speed_prepare(const char *file, bool cold)
{
	AUTO_CLOSE int fd = open(file, O_RDONLY | O_CLOEXEC);
	char cmd[1200];

	CHECK(fd >= 0);
	if (cold) {
		CHECK(fdatasync(fd) == 0);
		CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
		return;
	}
	snprintf(cmd, sizeof(cmd), "cat '%s' > /dev/null", file);
	CHECK(system(cmd) == 0);
}

static double speed_cat(const char *file, bool cold)
{
	char cmd[1200];
	double t0;

	speed_prepare(file, cold);
	snprintf(cmd, sizeof(cmd), "cat '%s' > /dev/null", file);
	t0 = seconds();
	CHECK(system(cmd) == 0);
	return seconds() - t0;
}

static double speed_ours(const char *root, const char *file, uint64_t size, bool cold)
{
	struct tally tl = {0, true};
	struct transport *t;
	double t0, dt;

	speed_prepare(file, cold);
	t = open_ok(root);
	t0 = seconds();
	CHECK_OK(transport_read(t, "big.pack", 0, size, tally_sink, &tl));
	dt = seconds() - t0;
	transport_close(t);
	CHECK_EQ_U(tl.bytes, size);
	CHECK(tl.right);
	return dt;
}

/* FERRY_TRANSPORT_BENCH_MB sets the size (0 skips); with
 * FERRY_TRANSPORT_BENCH_COLD=1 both reads start from a cold page cache. */
static void test_file_speed(void)
{
	const char *env = getenv("FERRY_TRANSPORT_BENCH_MB");
	const char *cold_env = getenv("FERRY_TRANSPORT_BENCH_COLD");
	bool cold = cold_env && strcmp(cold_env, "1") == 0;
	uint64_t mb = env ? strtoull(env, NULL, 10) : 1024, size = mb * MIB;
	AUTO_FREE char *root = fresh_dir("speed");
	AUTO_FREE char *file = path_in(root, "big.pack");
	double ours, cat;

	if (mb == 0) {
		printf("# file transport speed: skipped (FERRY_TRANSPORT_BENCH_MB=0)\n");
		return;
	}
	speed_file_write(file, mb);
	ours = speed_ours(root, file, size, cold);
	cat = speed_cat(file, cold);
	printf("# file transport read %llu MiB (%s) in %.3f s (%.0f MB/s); cat > /dev/null "
	       "%.3f s (%.0f MB/s); ratio %.2f\n",
	       (unsigned long long)mb, cold ? "cold cache" : "page cache", ours,
	       (double)size / ours / 1e6, cat, (double)size / cat / 1e6, cat / ours);
	CHECK(unlink(file) == 0);
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"path check refuses hostile paths", test_path_check},
	    {"file: hostile paths never reach the disk", test_file_refuses_hostile_paths},
	    {"file: symbolic links are refused wherever they sit", test_file_refuses_links},
	    {"file: FIFOs and folders are not files", test_file_refuses_special_files},
	    {"file: reads at offsets across 1 MiB pieces", test_file_reads_across_pieces},
	    {"file: a short file delivers what it has, then -EBADMSG", test_file_short_file},
	    {"file: size, missing files and folders", test_file_size_and_missing},
	    {"file: listing folders", test_file_list},
	    {"file: URL forms", test_file_url_forms},
	    {"file: EIO is a sentence about the stick", test_file_eio},
	    {"file: two threads read one file at once", test_file_two_threads},
	    {"file: the last files read stay open, and nothing leaks", test_file_keeps_files_open},
	    {"registry picks the table that handles a URL", test_registry_picks_table},
	    {"registry refuses a table of another version", test_registry_refuses_other_versions},
	    {"registry holds a transport to its contract", test_registry_holds_contract},
	    {"fetch reads a small file whole, refuses a large one", test_fetch},
	    {"allocation failures unwind", test_allocation_failures},
	    {"fake: serves, counts and lists", test_fake_serves},
	    {"fake: scripted failures", test_fake_faults},
	    {"fake: resuming against a failure every read", test_fake_resume},
	    {"fake: a corrupted byte", test_fake_corrupt},
	    {"fake: a source scripted down", test_fake_source_down},
	    {"fake: a source that refuses listing", test_fake_refuses_listing},
	    {"file: 1 GiB read against cat", test_file_speed},
	    {0}});
}

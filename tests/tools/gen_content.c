/*
 * gen_content.c — deterministic sample content shaped like an export of the
 * national education platform.
 *
 * Tests, the demo and `make bench` need a tree that behaves like the real
 * catalog where it matters to ferry: <grade>/<subject>/<chapter>/<files>,
 * names in Chinese, Tibetan, Uyghur and Mongolian script (with spaces),
 * large incompressible videos, compressible PDFs and courseware text, small
 * incompressible images, the same shared assets in many courseware folders
 * and a few videos stored twice.
 *
 * Everything is a pure function of the command line.  The seed, size and
 * incompressible fraction fix a plan: the list of files with their sizes and
 * content seeds.  Each file's bytes depend only on its own kind, size and
 * content seed (plus its errata), so equal seeds give equal files and one
 * file can be regenerated alone.  --revision R replays R rounds of errata
 * over the plan (a few mid-file edits, one rename, one or two additions, one
 * deletion), so consecutive revisions differ exactly as a real errata update
 * would.  No rand(), no clock, no locale and no floating point reach the
 * output: the same arguments give byte-identical trees (and mtimes) on any
 * machine.  Names come from gen_content_catalog.h, the bytes of each kind of
 * file from gen_content_formats.h; docs/sample-content.md describes the tree
 * for its users.
 *
 *   gen_content OUT_DIR --seed N --size SIZE [--revision R] [--meta FILE]
 *               [--incompressible FRACTION] [--verbose]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "tests/tools/gen_content_catalog.h"
#include "tests/tools/gen_content_formats.h"

#define GEN_MIN_SIZE (1ull << 20)          /* below this the tree cannot hold every feature */
#define GEN_MAX_SIZE (1ull << 40)          /* 1 TiB */
#define GEN_MAX_REVISION 1000u
#define GEN_MAX_FILES (1u << 22)
#define GEN_CHAPTER_BYTES (32ull << 20)    /* one chapter per 32 MiB of requested size */
#define GEN_MIN_CHAPTERS 4u                /* Chinese, Tibetan, Uyghur, Mongolian */
#define GEN_EDIT_MAX (16u << 20)           /* errata touch files up to this size (built in RAM) */
#define GEN_EDIT_GROWTH (8u << 20)         /* room for errata growth over all revisions */
#define GEN_PPM 1000000u
#define GEN_EPOCH 1725148800               /* 2024-09-01 00:00 UTC: mtime of revision 0 */
#define GEN_DAY 86400
#define GEN_NAME 512                       /* scratch for one name component */

/* The kinds of file, and the sidecar type each belongs to. */
enum kind { K_VIDEO, K_PDF, K_TXT, K_EPUB, K_HTML, K_CSS, K_JS, K_PNG, K_JPG };

static const char *const kind_type[] = {
	[K_VIDEO] = "video", [K_PDF] = "pdf", [K_TXT] = "text", [K_EPUB] = "etextbook",
	[K_HTML] = "courseware", [K_CSS] = "courseware", [K_JS] = "courseware",
	[K_PNG] = "courseware", [K_JPG] = "courseware",
};

/* ---- the plan: every file of the tree ---- */

struct edit {
	uint64_t seed;
};

struct gfile {
	char *path;             /* relative to OUT_DIR, '/'-separated; owned */
	char *title;            /* Chinese title for the sidecar; owned */
	struct edit *edits;     /* errata, applied in order; owned */
	size_t nedits;
	uint64_t size;          /* bytes before errata */
	uint64_t noise;         /* of which incompressible (PDF images) */
	uint64_t seed;          /* content seed: equal kind, size and seed give equal bytes */
	uint64_t weight;        /* share of the budget (videos, e-books, PDF text) */
	uint64_t weight2;       /* share of the incompressible budget (PDF images) */
	uint32_t serial;        /* stable identity, the sidecar id is made from it */
	uint32_t chapter;
	uint16_t touched;       /* last round whose errata changed the bytes */
	uint16_t round_seen;    /* last round that picked this file for anything */
	uint8_t kind;
	bool fixed;             /* size drawn directly, not from the budget */
	bool deleted;
	bool twin;              /* a video stored twice: never deleted */
};

struct chapter {
	char *dir;              /* "<grade>/<subject>/<chapter>"; owned */
	const char *topic;      /* "topic|lesson|..." from the tables */
	uint8_t grade, subject, index, edition;
};

struct plan {
	struct gfile *files;
	size_t nfiles, cap;
	struct chapter *chapters;
	size_t nchapters;
	uint64_t seed;
	uint64_t id_key[2];
	uint64_t shared_seed[3]; /* style.css, player.js, logo.png */
	uint64_t shared_size[3];
	uint32_t next_serial;
};

/* Seed domains.  The values shape every tree: never renumber them. */
enum { TAG_ORDER = 1, TAG_SECTION = 2, TAG_CONTENT = 3, TAG_SHARED = 4, TAG_ROUND = 5, TAG_TWIN = 7 };

static int str_fmt(char **out, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int str_fmt(char **out, const char *fmt, ...)
{
	char tmp[LIMIT_PATH_BYTES];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return err_set(-ENAMETOOLONG, "name longer than %u bytes", LIMIT_PATH_BYTES);
	*out = mem_strdup(tmp);
	return *out ? 0 : -ENOMEM;
}

/* Piece i of a "a|b|c" topic string into out ("" past the last piece). */
static void topic_piece(char *out, size_t cap, const char *topic, unsigned i)
{
	const char *s = topic, *e;

	for (; i && s; i--) {
		s = strchr(s, '|');
		if (s)
			s++;
	}
	if (!s) {
		out[0] = '\0';
		return;
	}
	e = strchr(s, '|');
	snprintf(out, cap, "%.*s", (int)(e ? (size_t)(e - s) : strlen(s)), s);
}

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		mem_free(p->files[i].path);
		mem_free(p->files[i].title);
		mem_free(p->files[i].edits);
	}
	for (size_t i = 0; i < p->nchapters; i++)
		mem_free(p->chapters[i].dir);
	mem_free(p->files);
	mem_free(p->chapters);
	memset(p, 0, sizeof(*p));
}

static bool plan_path_taken(const struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (!p->files[i].deleted && strcmp(p->files[i].path, path) == 0)
			return true;
	return false;
}

/* Appends a file; takes ownership of path and title even on failure.
 * *out is its index (pointers into p->files move when it grows). */
static int plan_add(size_t *out, struct plan *p, size_t ch, uint8_t kind, char *path, char *title)
{
	struct gfile *f;

	if (!path || !title) {
		mem_free(path);
		mem_free(title);
		return -ENOMEM;
	}
	if (p->nfiles == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		void *n = cap <= GEN_MAX_FILES ? mem_realloc(p->files, cap * sizeof(*f)) : NULL;

		if (!n) {
			mem_free(path);
			mem_free(title);
			return cap <= GEN_MAX_FILES ? -ENOMEM : err_set(-EFBIG, "more than %u files", GEN_MAX_FILES);
		}
		p->files = n;
		p->cap = cap;
	}
	f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->title = title;
	f->serial = p->next_serial++;
	f->chapter = (uint32_t)ch;
	f->kind = kind;
	f->seed = mix2(p->seed ^ ((uint64_t)TAG_CONTENT << 56), f->serial);
	*out = p->nfiles++;
	return 0;
}

/* Adds "<chapter dir>/<stem><suffix>" titled "[科目 ]<lesson>（<what>）".  A
 * file whose size is drawn directly (fixed_size != UINT64_MAX) gets it here;
 * the others are sized from the budget by plan_scale(). */
static int plan_add_lesson(size_t *out, struct plan *p, size_t ch, uint8_t kind, const char *stem,
			   const char *suffix, const char *lesson, const char *what, uint64_t fixed_size)
{
	const struct chapter *c = &p->chapters[ch];
	const char *zh = subjects[c->subject].script == SC_ZH ? "" : subjects[c->subject].zh;
	char *path = NULL, *title = NULL;
	int r = str_fmt(&path, "%s/%s%s", c->dir, stem, suffix);

	if (r >= 0)
		r = str_fmt(&title, "%s%s%s（%s）", zh, *zh ? " " : "", lesson, what);
	if (r >= 0)
		r = plan_add(out, p, ch, kind, TAKE_PTR(path), TAKE_PTR(title));
	mem_free(path);
	if (r < 0)
		return r;
	if (fixed_size != UINT64_MAX) {
		p->files[*out].fixed = true;
		p->files[*out].size = fixed_size;
	}
	return 0;
}

/* The lesson of section s of a chapter, in the chapter's own script. */
static void lesson_name(char *out, size_t cap, const struct chapter *c, unsigned s)
{
	if (s < 3)
		topic_piece(out, cap, c->topic, s + 1);
	else
		snprintf(out, cap, "%s", "复习与练习");
}

enum { F_VIDEO = 1, F_PDF = 2, F_TXT = 4, F_COURSEWARE = 8 };

/* An HTML courseware folder: a unique page, script and figures, plus the
 * stylesheet, player and logo every courseware folder shares byte for byte. */
static int plan_courseware(struct plan *p, size_t ch, struct rng *r, const char *folder,
			   const char *lesson, const char *what)
{
	static const char *const shared[] = { "/css/style.css", "/js/player.js", "/images/logo.png" };
	static const uint8_t shared_kind[] = { K_CSS, K_JS, K_PNG };
	unsigned nfig = (unsigned)rng_range(r, 1, 3), nphoto = (unsigned)rng_below(r, 3);
	char suffix[32];
	size_t i;
	int rc;

	rc = plan_add_lesson(&i, p, ch, K_HTML, folder, "/index.html", lesson, what,
			     rng_range(r, 6 << 10, 40 << 10));
	for (unsigned k = 0; rc >= 0 && k < ARRAY_SIZE(shared); k++) {
		rc = plan_add_lesson(&i, p, ch, shared_kind[k], folder, shared[k], lesson, what,
				     p->shared_size[k]);
		if (rc >= 0)
			p->files[i].seed = p->shared_seed[k];
	}
	if (rc >= 0)
		rc = plan_add_lesson(&i, p, ch, K_JS, folder, "/js/lesson.js", lesson, what,
				     rng_range(r, 2 << 10, 12 << 10));
	for (unsigned k = 1; rc >= 0 && k <= nfig; k++) {
		snprintf(suffix, sizeof(suffix), "/images/fig%u.png", k);
		rc = plan_add_lesson(&i, p, ch, K_PNG, folder, suffix, lesson, what,
				     rng_range(r, 20 << 10, 120 << 10));
	}
	for (unsigned k = 1; rc >= 0 && k <= nphoto; k++) {
		snprintf(suffix, sizeof(suffix), "/images/photo%u.jpg", k);
		rc = plan_add_lesson(&i, p, ch, K_JPG, folder, suffix, lesson, what,
				     rng_range(r, 40 << 10, 200 << 10));
	}
	return rc;
}

/* One lesson: maybe a video, a PDF, notes and a courseware folder. */
static int plan_section(struct plan *p, size_t ch, unsigned s, unsigned force)
{
	static const char *const docs[] = { "教学设计", "学案", "课后练习" };
	const struct chapter *c = &p->chapters[ch];
	bool native = subjects[c->subject].script != SC_ZH;
	const char *cw = native ? "双语课件" : "互动课件";
	char lesson[GEN_NAME], stem[GEN_NAME * 2], suffix[64];
	struct rng r;
	size_t i;
	int rc = 0;

	rng_seed(&r, mix2(p->seed ^ ((uint64_t)TAG_SECTION << 56), (ch << 8) | s));
	lesson_name(lesson, sizeof(lesson), c, s);
	snprintf(stem, sizeof(stem), "%u.%u %s", c->index + 1, s + 1, lesson);
	if ((force & F_VIDEO) || rng_below(&r, 100) < (native ? 50u : 70u)) {
		rc = plan_add_lesson(&i, p, ch, K_VIDEO, stem, ".mp4", lesson, "教学视频", UINT64_MAX);
		if (rc >= 0)
			p->files[i].weight = rng_range(&r, 200, 1000);
	}
	if (rc >= 0 && ((force & F_PDF) || rng_below(&r, 100) < 70)) {
		const char *doc = docs[rng_below(&r, ARRAY_SIZE(docs))];

		snprintf(suffix, sizeof(suffix), " %s.pdf", doc);
		rc = plan_add_lesson(&i, p, ch, K_PDF, stem, suffix, lesson, doc, UINT64_MAX);
		if (rc >= 0) {
			p->files[i].weight = rng_range(&r, 100, 1000);
			p->files[i].weight2 = rng_range(&r, 20, 200);
		}
	}
	if (rc >= 0 && ((force & F_TXT) || rng_below(&r, 100) < 50))
		rc = plan_add_lesson(&i, p, ch, K_TXT, stem, " 课堂笔记.txt", lesson, "课堂笔记",
				     rng_range(&r, 2 << 10, 24 << 10));
	if (rc >= 0 && ((force & F_COURSEWARE) || rng_below(&r, 100) < (native ? 80u : 20u))) {
		snprintf(suffix, sizeof(suffix), " %s", cw);
		strncat(stem, suffix, sizeof(stem) - strlen(stem) - 1);
		rc = plan_courseware(p, ch, &r, stem, lesson, cw);
	}
	return rc;
}

static int plan_chapter(struct plan *p, size_t ch, bool first)
{
	const struct chapter *c = &p->chapters[ch];
	char topic[GEN_NAME], stem[GEN_NAME * 2];
	unsigned nsec, force = 0;
	struct rng r;
	size_t i;
	int rc = 0;

	rng_seed(&r, mix2(p->seed ^ ((uint64_t)TAG_SECTION << 56), (ch << 8) | 0xff));
	nsec = (unsigned)rng_range(&r, 2, 4);
	/* The first chapter of each script holds every kind, so that even the
	 * smallest tree has video, notes, courseware and an e-textbook in all
	 * four scripts (and a PDF, which plan_scale() relies on). */
	if (ch < GEN_MIN_CHAPTERS)
		force = F_VIDEO | F_TXT | F_COURSEWARE | (first ? F_PDF : 0);
	for (unsigned s = 0; rc >= 0 && s < nsec; s++)
		rc = plan_section(p, ch, s, s == 0 ? force : 0);
	if (rc >= 0 && (ch < GEN_MIN_CHAPTERS || rng_below(&r, 100) < 30)) {
		topic_piece(topic, sizeof(topic), c->topic, 0);
		snprintf(stem, sizeof(stem), "电子课本 %s", topic);
		rc = plan_add_lesson(&i, p, ch, K_EPUB, stem, ".epub", topic, "电子课本", UINT64_MAX);
		if (rc >= 0)
			p->files[i].weight = rng_range(&r, 100, 400);
	}
	return rc;
}

/* ---- which chapters exist: every (grade, subject) pair, interleaved ---- */

struct pair {
	uint8_t grade, subject, nchapters, edition;
};

static size_t pairs_list(struct pair *v, struct rng *r)
{
	size_t n = 0;

	for (uint8_t s = 0; s < ARRAY_SIZE(subjects); s++) {
		for (uint8_t g = subjects[s].first; g <= subjects[s].last; g++) {
			int8_t e = subjects[s].edition;

			v[n].grade = g;
			v[n].subject = s;
			v[n].nchapters = (uint8_t)rng_range(r, 4, GEN_MAX_CHAPTERS_PER_SUBJECT);
			v[n].edition = (uint8_t)(e == ED_DRAW ? (rng_below(r, 2) ? ED_BEISHIDA : ED_RENJIAO) : e);
			n++;
		}
	}
	/* Shuffle, then bring one pair of each script to the front in a fixed
	 * order (Chinese, Tibetan, Uyghur, Mongolian). */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng_below(r, i + 1);
		struct pair t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	for (unsigned want = 0; want < GEN_MIN_CHAPTERS; want++) {
		for (size_t i = want; i < n; i++) {
			if (subjects[v[i].subject].script != want)
				continue;
			struct pair t = v[i];

			memmove(&v[want + 1], &v[want], (i - want) * sizeof(*v));
			v[want] = t;
			break;
		}
	}
	return n;
}

static int chapter_dir(char **out, const struct pair *pr, unsigned index, const char *topic)
{
	const struct subject *sj = &subjects[pr->subject];
	const char *g = grades[pr->grade];

	switch (sj->style) {
	case ST_UNIT:
		return str_fmt(out, "%s/%s/第%s单元 %s", g, sj->name, cn_num[index], topic);
	case ST_ENGLISH:
		return str_fmt(out, "%s/%s/Unit %u %s", g, sj->name, index + 1, topic);
	case ST_NATIVE:
		return str_fmt(out, "%s/%s/%s %s", g, sj->name, sj->ordinals[index], topic);
	default:
		return str_fmt(out, "%s/%s/第%s章 %s", g, sj->name, cn_num[index], topic);
	}
}

static size_t topic_count(const char *const *t)
{
	size_t n = 0;

	while (t[n])
		n++;
	return n;
}

static int plan_chapters(struct plan *p, uint64_t size)
{
	struct pair pairs[ARRAY_SIZE(subjects) * ARRAY_SIZE(grades)];
	size_t npairs, total = 0, want;
	char topic[GEN_NAME];
	struct rng r;

	rng_seed(&r, mix2(p->seed, TAG_ORDER));
	npairs = pairs_list(pairs, &r);
	for (size_t i = 0; i < npairs; i++)
		total += pairs[i].nchapters;
	want = (size_t)(size / GEN_CHAPTER_BYTES);
	want = want < GEN_MIN_CHAPTERS ? GEN_MIN_CHAPTERS : want > total ? total : want;
	p->chapters = mem_calloc(want, sizeof(*p->chapters));
	if (!p->chapters)
		return -ENOMEM;
	/* Round k takes chapter k of every pair, so a small tree spans many
	 * grades and subjects rather than one whole textbook. */
	for (unsigned k = 0; p->nchapters < want && k < GEN_MAX_CHAPTERS_PER_SUBJECT; k++) {
		for (size_t i = 0; p->nchapters < want && i < npairs; i++) {
			const struct pair *pr = &pairs[i];
			const char *const *t = subjects[pr->subject].topics;
			struct chapter *c = &p->chapters[p->nchapters];
			int rc;

			if (k >= pr->nchapters)
				continue;
			c->grade = pr->grade;
			c->subject = pr->subject;
			c->index = (uint8_t)k;
			c->edition = pr->edition;
			c->topic = t[(pr->grade * 3u + k) % topic_count(t)];
			topic_piece(topic, sizeof(topic), c->topic, 0);
			rc = chapter_dir(&c->dir, pr, k, topic);
			if (rc < 0)
				return rc;
			p->nchapters++;
		}
	}
	return 0;
}

/* A few videos are also stored under another chapter as "拓展 <name>": the
 * same lesson reused elsewhere, which a deduplicating packer must store once. */
static int plan_twins(struct plan *p)
{
	size_t nvideo = 0, ntwins, *videos;
	struct rng r;
	int rc = 0;

	for (size_t i = 0; i < p->nfiles; i++)
		nvideo += p->files[i].kind == K_VIDEO;
	if (nvideo < 2)
		return 0;
	videos = mem_calloc(nvideo, sizeof(*videos));
	if (!videos)
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < p->nfiles; i++)
		if (p->files[i].kind == K_VIDEO)
			videos[k++] = i;
	rng_seed(&r, mix2(p->seed, TAG_TWIN));
	ntwins = 1 + nvideo / 25;
	for (size_t t = 0; rc >= 0 && t < ntwins; t++) {
		size_t j = t + rng_below(&r, nvideo - t), src = videos[j], ch, idx;
		const char *base;
		char *path = NULL;

		videos[j] = videos[t];
		videos[t] = src;
		ch = rng_below(&r, p->nchapters - 1);
		ch += ch >= p->files[src].chapter;
		base = strrchr(p->files[src].path, '/') + 1;
		rc = str_fmt(&path, "%s/拓展 %s", p->chapters[ch].dir, base);
		if (rc < 0)
			break;
		if (plan_path_taken(p, path)) {
			mem_free(path);
			continue;
		}
		rc = plan_add(&idx, p, ch, K_VIDEO, path, mem_strdup(p->files[src].title));
		if (rc < 0)
			break;
		p->files[idx].seed = p->files[src].seed;
		p->files[idx].weight = p->files[src].weight;
		p->files[idx].twin = p->files[src].twin = true;
	}
	mem_free(videos);
	return rc;
}

static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	return c ? (uint64_t)((unsigned __int128)a * b / c) : 0;
}

/* Shrinks fixed-size files of one class if they would take more than half
 * of its budget (tiny trees, extreme fractions); returns what they take. */
static uint64_t plan_fit_fixed(struct plan *p, bool noisy, uint64_t budget)
{
	uint64_t total = 0, after = 0;

	for (size_t i = 0; i < p->nfiles; i++) {
		const struct gfile *f = &p->files[i];

		if (f->fixed && (f->kind == K_PNG || f->kind == K_JPG) == noisy)
			total += f->size;
	}
	for (size_t i = 0; i < p->nfiles; i++) {
		struct gfile *f = &p->files[i];

		if (!f->fixed || (f->kind == K_PNG || f->kind == K_JPG) != noisy)
			continue;
		if (total > budget / 2)
			f->size = muldiv(f->size, budget / 2, total);
		after += f->size;
	}
	return after;
}

/* Sizes every budgeted file so that the tree is exactly `size` bytes with
 * ppm/10^6 of them incompressible.  Equal weights give equal sizes, so the
 * two copies of a twin video come out identical. */
static void plan_scale(struct plan *p, uint64_t size, uint32_t ppm)
{
	uint64_t noisy = muldiv(size, ppm, GEN_PPM), text = size - noisy;
	uint64_t wt = 0, wn = 0, st = 0, sn = 0;
	struct gfile *first_pdf = NULL;

	text -= plan_fit_fixed(p, false, text);
	noisy -= plan_fit_fixed(p, true, noisy);
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct gfile *f = &p->files[i];

		if (f->fixed)
			continue;
		wt += f->kind == K_PDF ? f->weight : 0;
		wn += f->kind == K_PDF ? f->weight2 : f->weight;
	}
	for (size_t i = 0; i < p->nfiles; i++) {
		struct gfile *f = &p->files[i];

		if (f->fixed)
			continue;
		if (f->kind == K_PDF) {
			f->noise = muldiv(noisy, f->weight2, wn);
			f->size = muldiv(text, f->weight, wt) + f->noise;
			st += f->size - f->noise;
			sn += f->noise;
			first_pdf = first_pdf ? first_pdf : f;
		} else {
			f->size = muldiv(noisy, f->weight, wn);
			sn += f->size;
		}
	}
	/* Rounding leftovers go to the first PDF, which always exists. */
	first_pdf->noise += noisy - sn;
	first_pdf->size += (text - st) + (noisy - sn);
}

static int plan_build(struct plan *p, uint64_t seed, uint64_t size, uint32_t ppm)
{
	struct rng r;
	int rc;

	memset(p, 0, sizeof(*p));
	p->seed = seed;
	rng_seed(&r, mix2(seed, TAG_SHARED));
	p->id_key[0] = rng_next(&r);
	p->id_key[1] = rng_next(&r);
	p->shared_size[0] = rng_range(&r, 12 << 10, 24 << 10);
	p->shared_size[1] = rng_range(&r, 40 << 10, 80 << 10);
	p->shared_size[2] = rng_range(&r, 8 << 10, 16 << 10);
	for (int i = 0; i < 3; i++)
		p->shared_seed[i] = rng_next(&r);
	rc = plan_chapters(p, size);
	for (size_t ch = 0; rc >= 0 && ch < p->nchapters; ch++)
		rc = plan_chapter(p, ch, ch == 0);
	if (rc >= 0)
		rc = plan_twins(p);
	if (rc >= 0)
		plan_scale(p, size, ppm);
	return rc;
}

/* ---- errata: revision R is R of these rounds on top of revision 0 ---- */

static bool editable(const struct gfile *f)
{
	return !f->deleted && (f->kind == K_TXT || f->kind == K_PDF || f->kind == K_HTML) &&
	       f->size <= GEN_EDIT_MAX;
}

static bool movable(const struct gfile *f)
{
	return !f->deleted && !f->twin &&
	       (f->kind == K_VIDEO || f->kind == K_PDF || f->kind == K_TXT || f->kind == K_EPUB);
}

/* Picks up to k distinct files passing pred and not yet seen in round; their
 * indices go to out.  Returns how many were picked. */
static int round_pick(size_t *out, size_t k, struct plan *p, struct rng *r, uint16_t round,
		      bool (*pred)(const struct gfile *))
{
	size_t n = 0, *cand = mem_calloc(p->nfiles ? p->nfiles : 1, sizeof(*cand));

	if (!cand)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfiles; i++)
		if (pred(&p->files[i]) && p->files[i].round_seen != round)
			cand[n++] = i;
	if (k > n)
		k = n;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + rng_below(r, n - i), t = cand[j];

		cand[j] = cand[i];
		cand[i] = t;
		out[i] = t;
		p->files[t].round_seen = round;
	}
	mem_free(cand);
	return (int)k;
}

static int round_edit(struct plan *p, struct rng *r, uint16_t round)
{
	size_t pick[5];
	int n = round_pick(pick, (size_t)rng_range(r, 2, 5), p, r, round, editable);

	for (int i = 0; i < n; i++) {
		struct gfile *f = &p->files[pick[i]];
		size_t add = (size_t)rng_range(r, 1, 2);
		struct edit *e = mem_realloc(f->edits, (f->nedits + add) * sizeof(*e));

		if (!e)
			return -ENOMEM;
		f->edits = e;
		for (size_t j = 0; j < add; j++)
			f->edits[f->nedits++].seed = rng_next(r);
		f->touched = round;
	}
	return n < 0 ? n : 0;
}

/* "1.2 X（修订3）.pdf" from "1.2 X.pdf" or "1.2 X（修订1）.pdf". */
static int round_rename(struct plan *p, struct rng *r, uint16_t round)
{
	size_t pick, stem;
	struct gfile *f;
	const char *base, *dot, *mark;
	char *path = NULL;
	int n = round_pick(&pick, 1, p, r, round, movable), rc;

	if (n <= 0)
		return n;
	f = &p->files[pick];
	base = strrchr(f->path, '/') + 1;
	dot = strrchr(base, '.');
	if (!dot)
		return 0;
	mark = strstr(base, "（修订");
	stem = (size_t)((mark && mark < dot ? mark : dot) - f->path);
	rc = str_fmt(&path, "%.*s（修订%u）%s", (int)stem, f->path, round, dot);
	if (rc < 0)
		return rc;
	if (plan_path_taken(p, path)) {
		mem_free(path);
		return 0;
	}
	mem_free(f->path);
	f->path = path;
	return 0;
}

static int round_add(struct plan *p, struct rng *r, uint16_t round)
{
	unsigned n = (unsigned)rng_range(r, 1, 2), pdf_first = (unsigned)rng_below(r, 2);
	char what[64], stem[128];
	int rc = 0;

	snprintf(what, sizeof(what), "第%u次修订", round);
	for (unsigned i = 0; rc >= 0 && i < n; i++) {
		size_t ch = rng_below(r, p->nchapters), idx;
		bool pdf = (i == 0) == pdf_first;
		const char *lesson = pdf ? "补充练习" : "勘误说明";
		uint64_t size = pdf ? rng_range(r, 64 << 10, 512 << 10) : rng_range(r, 1 << 10, 8 << 10);

		snprintf(stem, sizeof(stem), "%s（%s）", lesson, what);
		rc = plan_add_lesson(&idx, p, ch, pdf ? K_PDF : K_TXT, stem, pdf ? ".pdf" : ".txt",
				     lesson, what, size);
		if (rc < 0)
			break;
		p->files[idx].noise = pdf ? size * rng_range(r, 10, 30) / 100 : 0;
		p->files[idx].touched = p->files[idx].round_seen = round;
	}
	return rc;
}

static int plan_round(struct plan *p, uint16_t round)
{
	struct rng r;
	size_t gone;
	int rc;

	rng_seed(&r, mix2(p->seed ^ ((uint64_t)TAG_ROUND << 56), round));
	rc = round_edit(p, &r, round);
	if (rc >= 0)
		rc = round_rename(p, &r, round);
	if (rc >= 0)
		rc = round_add(p, &r, round);
	if (rc >= 0)
		rc = round_pick(&gone, 1, p, &r, round, movable);
	if (rc > 0)
		p->files[gone].deleted = true;
	return rc < 0 ? rc : 0;
}

/* ---- file contents, one generator per kind ---- */

static unsigned file_script(const struct plan *p, const struct gfile *f)
{
	return subjects[p->chapters[f->chapter].subject].script;
}

static void gen_content(struct out *o, const struct plan *p, const struct gfile *f)
{
	unsigned script = file_script(p, f);
	struct rng r;

	rng_seed(&r, f->seed);
	switch (f->kind) {
	case K_VIDEO:
		gen_video(o, &r);
		break;
	case K_PDF:
		gen_pdf(o, &r, f->noise, script);
		break;
	case K_EPUB:
		gen_epub(o, &r);
		break;
	case K_HTML:
		gen_html(o, &r, f->title, script);
		break;
	case K_CSS:
		gen_css(o, &r);
		break;
	case K_JS:
		gen_js(o, &r);
		break;
	case K_PNG:
		gen_png(o, &r);
		break;
	case K_JPG:
		gen_jpg(o, &r);
		break;
	default:
		out_fmt(o, "%s\n\n", f->title);
		out_text(o, &r, o->left, script);
		break;
	}
	/* Every generator lands exactly on the size; this only guards tiny files. */
	out_noise(o, &r, o->left);
}

/* ---- applying errata to a file held in memory ---- */

static int buf_splice(struct buf *b, size_t pos, size_t del, const void *p, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	memmove(b->data + pos + n, b->data + pos + del, b->len - pos - del);
	memcpy(b->data + pos, p, n);
	b->len = b->len - del + n;
	b->data[b->len] = 0;
	return 0;
}

/* Where an erratum lands: the start of a text line at or after pos (inside
 * a text stream for a PDF), never in the middle of a character. */
static size_t edit_anchor(const struct buf *b, size_t pos, uint8_t kind)
{
	const uint8_t *hit = NULL;
	size_t span = b->len - pos;

	if (kind == K_PDF)
		hit = memmem(b->data + pos, span < (1u << 20) ? span : (1u << 20), "\nBT\n", 4);
	if (hit)
		return (size_t)(hit - b->data) + 4;
	hit = memchr(b->data + pos, '\n', span < 4096 ? span : 4096);
	if (hit)
		return (size_t)(hit - b->data) + 1;
	while (pos < b->len && (b->data[pos] & 0xc0) == 0x80)
		pos++;
	return pos;
}

/* One erratum: a corrected or inserted line somewhere in the middle half. */
static int edit_apply(struct buf *b, const struct gfile *f, const struct edit *e, unsigned script)
{
	uint8_t line[GEN_LINE], ins[GEN_LINE + 64];
	const uint8_t *eol;
	size_t pos = 0, del = 0, n, len;
	struct rng r;

	rng_seed(&r, e->seed);
	if (b->len)
		pos = edit_anchor(b, b->len / 4 + rng_below(&r, b->len / 2 + 1), f->kind);
	eol = pos < b->len ? memchr(b->data + pos, '\n', b->len - pos < 1024 ? b->len - pos : 1024) : NULL;
	if (eol && rng_below(&r, 2))
		del = (size_t)(eol - (b->data + pos)) + 1;
	n = text_line(line, 160, &r, script, false);
	if (f->kind == K_HTML)
		len = (size_t)snprintf((char *)ins, sizeof(ins), "<p class=\"erratum\">%.*s</p>\n",
				       (int)(n - 1), (const char *)line);
	else if (f->kind == K_TXT)
		len = (size_t)snprintf((char *)ins, sizeof(ins), "【勘误】%.*s", (int)n, (const char *)line);
	else
		len = (size_t)snprintf((char *)ins, sizeof(ins), "%.*s", (int)n, (const char *)line);
	return buf_splice(b, pos, del, ins, len);
}

/* ---- writing the tree and the sidecar ---- */

static int file_write(uint64_t *bytes, uint64_t *noise, const char *root, const struct plan *p, const struct gfile *f,
		      uint8_t *io)
{
	AUTO_FREE char *path = fs_join(root, f->path);
	AUTO_CLOSE int fd = -1;
	struct out o = { .io = io, .left = f->size };
	struct timespec ts[2] = { { GEN_EPOCH + (time_t)f->touched * GEN_DAY, 0 } };
	struct buf b;
	size_t b_len;
	int r;

	if (!path)
		return -ENOMEM;
	r = fs_mkdir_parents(path, 0755);
	if (r < 0)
		return err_keep(r, "%s: %s", path, strerror(-r));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	o.fd = fd;
	buf_init(&b, GEN_EDIT_MAX + GEN_EDIT_GROWTH);
	if (f->nedits)
		o.mem = &b;
	gen_content(&o, p, f);
	out_flush(&o);
	r = o.err;
	for (size_t i = 0; r >= 0 && i < f->nedits; i++)
		r = edit_apply(&b, f, &f->edits[i], file_script(p, f));
	if (r >= 0 && f->nedits)
		r = fs_write_all(fd, b.data, b.len);
	b_len = b.len;
	buf_release(&b);
	if (r < 0)
		return err_keep(r, "%s: %s", path, strerror(-r));
	ts[1] = ts[0];
	if (futimens(fd, ts) < 0 || close(TAKE_FD(fd)) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	*noise += o.noise;
	*bytes += f->nedits ? b_len : f->size;
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	const struct gfile *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* The live files in byte order of their paths (the order of the sidecar). */
static int tree_sorted(const struct gfile ***out, size_t *n_out, const struct plan *p)
{
	const struct gfile **v = mem_calloc(p->nfiles ? p->nfiles : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfiles; i++)
		if (!p->files[i].deleted)
			v[n++] = &p->files[i];
	qsort(v, n, sizeof(*v), cmp_path);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1]->path, v[i]->path) == 0) {
			mem_free(v);
			return err_set(-EEXIST, "internal: two files planned at %s", v[i]->path);
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static uint64_t plan_id(const struct plan *p, uint32_t serial)
{
	const uint64_t m = (1ull << 48) - 1;
	uint64_t x = (serial + p->id_key[0]) & m;

	/* Odd multipliers and xor-shifts are bijections mod 2^48: ids never collide. */
	x = (x * 0x9e3779b97f4bull) & m;
	x ^= x >> 21;
	x = (x * 0xd6e8feb86659ull) & m;
	x ^= x >> 17;
	return x ^ (p->id_key[1] & m);
}

static int meta_write(const char *file, const struct plan *p, const struct gfile *const *v, size_t n)
{
	struct buf b;
	int r;

	buf_init(&b, LIMIT_CATALOG_BYTES);
	r = buf_append_str(&b, "path\tid\ttitle\tsubject\tgrade\tedition\ttype\n");
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct gfile *f = v[i];
		const struct chapter *c = &p->chapters[f->chapter];

		if (strpbrk(f->path, "\t\n\r") || strpbrk(f->title, "\t\n\r")) {
			r = err_set(-EINVAL, "internal: tab or newline in %s", f->path);
			break;
		}
		r = buf_printf(&b, "%s\tR%012" PRIx64 "\t%s\t%s\t%s\t%s\t%s\n", f->path,
			       plan_id(p, f->serial), f->title, subjects[c->subject].name,
			       grades[c->grade], editions[c->edition], kind_type[f->kind]);
	}
	if (r >= 0)
		r = fs_write_atomic(file, b.data, b.len);
	buf_release(&b);
	return r < 0 ? err_keep(r, "%s: %s", file, strerror(-r)) : 0;
}

/* OUT_DIR must be new or empty: stale files would silently join the tree. */
static int out_dir_prepare(const char *dir)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			return err_set(-errno, "%s: %s", dir, strerror(errno));
		r = fs_mkdir_p(dir, 0755);
		return r < 0 ? err_keep(r, "%s: %s", dir, strerror(-r)) : 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(-ENOTDIR, "%s: not a directory", dir);
	d = opendir(dir);
	if (!d)
		return err_set(-errno, "%s: %s", dir, strerror(errno));
	r = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = err_set(-EEXIST, "%s: exists and is not empty", dir);
	closedir(d);
	return r;
}

/* ---- command line ---- */

struct opts {
	const char *out_dir;
	const char *meta;
	uint64_t seed;
	uint64_t size;
	uint32_t revision;
	uint32_t noise_ppm;   /* incompressible share in parts per million */
	bool verbose;
	bool help;
};

static int parse_u64(uint64_t *out, const char *s, const char **end)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -ERANGE;
	*out = v;
	*end = s;
	return 0;
}

static int parse_size(uint64_t *out, const char *s)
{
	static const char units[] = "KMGT";
	const char *end, *u;
	uint64_t v;

	if (parse_u64(&v, s, &end) < 0)
		return err_set(-EINVAL, "--size: not a size: '%s'", s);
	if (*end) {
		u = strchr(units, *end & ~0x20);
		if (!u || end[1])
			return err_set(-EINVAL, "--size: expected a K, M, G or T suffix: '%s'", s);
		for (long i = 0; i <= u - units; i++)
			if (__builtin_mul_overflow(v, 1024, &v))
				return err_set(-EINVAL, "--size: too large: '%s'", s);
	}
	if (v < GEN_MIN_SIZE || v > GEN_MAX_SIZE)
		return err_set(-EINVAL, "--size: %s is outside 1M..1T", s);
	*out = v;
	return 0;
}

/* "0.5", ".25", "1", "0.333333": at most six decimals, between 0 and 1. */
static int parse_fraction(uint32_t *out, const char *s)
{
	const char *p = s;
	uint32_t v = 0, scale = GEN_PPM;

	if (*p == '0' || *p == '1')
		v = (uint32_t)(*p++ - '0') * GEN_PPM;
	if (*p == '.' && p[1])
		for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			v += (uint32_t)(*p - '0') * scale;
		}
	if (*p || p == s || v > GEN_PPM)
		return err_set(-EINVAL, "--incompressible: expected a fraction from 0 to 1 "
				       "with at most 6 decimals: '%s'", s);
	*out = v;
	return 0;
}

static int opt_take(const char **val, int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0 || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=')
		*val = a + n + 1;
	else if (*i + 1 < argc)
		*val = argv[++*i];
	else
		return err_set(-EINVAL, "%s needs a value", name);
	return 1;
}

static int opt_one(struct opts *o, int argc, char **argv, int *i)
{
	const char *v = NULL, *end;
	uint64_t n;
	int r;

	if ((r = opt_take(&v, argc, argv, i, "--seed")))
		return r < 0 ? r : parse_u64(&o->seed, v, &end) < 0 || *end ?
			err_set(-EINVAL, "--seed: not a number: '%s'", v) : 0;
	if ((r = opt_take(&v, argc, argv, i, "--size")))
		return r < 0 ? r : parse_size(&o->size, v);
	if ((r = opt_take(&v, argc, argv, i, "--revision"))) {
		if (r < 0)
			return r;
		if (parse_u64(&n, v, &end) < 0 || *end || n > GEN_MAX_REVISION)
			return err_set(-EINVAL, "--revision: expected 0..%u: '%s'", GEN_MAX_REVISION, v);
		o->revision = (uint32_t)n;
		return 0;
	}
	if ((r = opt_take(&v, argc, argv, i, "--meta")))
		return r < 0 ? r : (o->meta = v, 0);
	if ((r = opt_take(&v, argc, argv, i, "--incompressible")))
		return r < 0 ? r : parse_fraction(&o->noise_ppm, v);
	if (strcmp(argv[*i], "--verbose") == 0)
		return o->verbose = true, 0;
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0)
		return o->help = true, 0;
	return err_set(-EINVAL, "unknown option '%s'", argv[*i]);
}

static int opts_parse(struct opts *o, int argc, char **argv)
{
	bool seed = false;
	int r;

	memset(o, 0, sizeof(*o));
	o->noise_ppm = GEN_PPM / 2;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1]) {
			if (o->out_dir)
				return err_set(-EINVAL, "unexpected argument '%s'", argv[i]);
			o->out_dir = argv[i];
			continue;
		}
		seed |= strncmp(argv[i], "--seed", 6) == 0;
		r = opt_one(o, argc, argv, &i);
		if (r < 0 || o->help)
			return r;
	}
	if (!o->out_dir)
		return err_set(-EINVAL, "missing OUT_DIR");
	if (!seed || !o->size)
		return err_set(-EINVAL, "--seed and --size are required");
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: gen_content OUT_DIR --seed N --size SIZE [--revision R] [--meta FILE]\n"
		    "                   [--incompressible FRACTION] [--verbose]\n"
		    "  SIZE takes a K, M, G or T suffix (powers of 1024), 1M to 1T\n"
		    "  FRACTION is the share of bytes zstd cannot compress (default 0.5)\n"
		    "  R >= 1 applies R rounds of errata to revision 0 (at most %u)\n",
		GEN_MAX_REVISION);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int run(const struct opts *o)
{
	struct plan p = { 0 };
	AUTO_FREE const struct gfile **v = NULL;
	AUTO_FREE uint8_t *io = NULL;
	uint64_t noise = 0, bytes = 0;
	struct timespec t0;
	size_t n = 0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = out_dir_prepare(o->out_dir);
	if (r >= 0)
		r = plan_build(&p, o->seed, o->size, o->noise_ppm);
	for (uint32_t round = 1; r >= 0 && round <= o->revision; round++)
		r = plan_round(&p, (uint16_t)round);
	if (r >= 0)
		r = tree_sorted(&v, &n, &p);
	if (r >= 0 && o->meta)
		r = meta_write(o->meta, &p, v, n);
	if (r >= 0 && !(io = mem_alloc(GEN_IO_BYTES)))
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = file_write(&bytes, &noise, o->out_dir, &p, v[i], io);
	if (r >= 0 && o->verbose)
		printf("gen_content: %zu files, %" PRIu64 " bytes, %" PRIu64
		       " incompressible (%.1f%%), revision %u, %.2f s\n",
		       n, bytes, noise, bytes ? 100.0 * (double)noise / (double)bytes : 0.0,
		       o->revision, seconds_since(&t0));
	plan_release(&p);
	return r;
}

int main(int argc, char **argv)
{
	struct opts o;
	int r = opts_parse(&o, argc, argv);

	if (r < 0 || o.help) {
		if (r < 0)
			fprintf(stderr, "gen_content: %s\n", err_text(r));
		usage(r < 0 ? stderr : stdout);
		return r < 0 ? 2 : 0;
	}
	r = run(&o);
	if (r < 0) {
		fprintf(stderr, "gen_content: %s\n", err_text(r));
		return 1;
	}
	return 0;
}

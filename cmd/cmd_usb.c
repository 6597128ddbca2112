/*
 * cmd_usb.c — `ferry usb export|request|import`: the stick between the
 * county center and a school (sync/usb.h).
 *
 * These are run by teachers who are not computer experts, so every run ends
 * with sentences that say what happened and what to do next, in Chinese and
 * English; --json gives scripts the same facts.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/commands.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "sync/sync.h"
#include "sync/usb.h"

#define MAX_ARGS 64

static void on_log(const char *line, void *ctx)
{
	struct cli *c = ctx;

	cli_progress_end(c);
	fprintf(stderr, "ferry: %s\n", line);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct cli *c = ctx;
	char a[32], b[32], text[96];

	cli_size(a, sizeof(a), done);
	cli_size(b, sizeof(b), total);
	snprintf(text, sizeof(text), "%s of %s", a, b);
	cli_progress(c, "writing", total ? (double)done / (double)total : 1, text);
}

/* SIZE: bytes with an optional K, M, G or T (powers of 1024). */
static int load_request(struct usb_request *q, const char *path)
{
	struct buf b;
	int r;

	buf_init(&b, USB_REQUEST_MAX_BYTES);
	r = fs_read_file(&b, path, USB_REQUEST_MAX_BYTES);
	if (r == 0)
		r = usb_request_parse(q, b.data, b.len);
	buf_release(&b);
	return r;
}

static void export_report(struct cli *c, const struct usb_export_result *res)
{
	char a[32], b[32], s[32];

	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "channels");
		jw_arr_begin(&c->w);
		for (size_t i = 0; i < res->n; i++) {
			jw_obj_begin(&c->w);
			jw_key(&c->w, "channel");
			jw_str(&c->w, res->ch[i].name);
			jw_key(&c->w, "version");
			jw_u64(&c->w, res->ch[i].version);
			jw_key(&c->w, "included");
			jw_bool(&c->w, res->ch[i].included);
			jw_key(&c->w, "bytes");
			jw_u64(&c->w, res->ch[i].bytes);
			jw_key(&c->w, "reason");
			jw_str(&c->w, res->ch[i].reason);
			jw_obj_end(&c->w);
		}
		jw_arr_end(&c->w);
		jw_key(&c->w, "bytes_written");
		jw_u64(&c->w, res->bytes_written);
		jw_key(&c->w, "bytes_kept");
		jw_u64(&c->w, res->bytes_kept);
		jw_key(&c->w, "packs_copied");
		jw_u64(&c->w, res->packs_copied);
		jw_key(&c->w, "packs_made");
		jw_u64(&c->w, res->packs_made);
		jw_key(&c->w, "chunks");
		jw_u64(&c->w, res->chunks);
		jw_key(&c->w, "stick_bytes");
		jw_u64(&c->w, res->stick_bytes);
		jw_obj_end(&c->w);
		return;
	}
	if (c->quiet)
		return;
	for (size_t i = 0; i < res->n; i++) {
		const struct usb_export_channel *ch = &res->ch[i];

		cli_size(s, sizeof(s), ch->size);
		printf("%s: release %llu (%llu files, %s) %s%s%s\n", ch->name,
		       (unsigned long long)ch->version, (unsigned long long)ch->files, s,
		       ch->included ? "is on the stick" : "is NOT on the stick",
		       ch->reason[0] ? ": " : "", ch->reason);
	}
	cli_size(a, sizeof(a), res->bytes_written);
	cli_size(b, sizeof(b), res->bytes_kept);
	cli_size(s, sizeof(s), res->stick_bytes);
	printf("wrote %s, kept %s already on the stick; the stick's repository now holds %s\n", a,
	       b, s);
	printf(
	    "可以拔下U盘了。The stick is ready: take it to the school and run ferry usb import.\n");
}

int cmd_usb_export(struct cli *c, int argc, char **argv)
{
	const char *channels[MAX_ARGS], *paths[2], *req_path = NULL;
	struct usb_export_opts o = {0};
	struct usb_request *q = NULL;
	struct usb_export_result *res = NULL;
	size_t nc = 0, np = 0;
	int r, code;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;

		if (cli_common_option(c, a))
			continue;
		if (strcmp(a, "--channel") == 0 && has && nc < MAX_ARGS)
			channels[nc++] = argv[++i];
		else if (strcmp(a, "--for") == 0 && has)
			req_path = argv[++i];
		else if (strcmp(a, "--max-size") == 0 && has) {
			if (cli_parse_size(&o.max_size, argv[++i]) < 0) {
				fprintf(stderr,
					"ferry: usb export: --max-size %s: give bytes with "
					"K, M, G or T, like 7G\n",
					argv[i]);
				return EXIT_USAGE;
			}
		} else if (a[0] != '-' && np < 2)
			paths[np++] = a;
		else
			return EXIT_USAGE;
	}
	if (np != 2)
		return EXIT_USAGE;
	o.src = paths[0];
	o.dest = paths[1];
	o.channels = channels;
	o.nchannels = nc;
	o.log = on_log;
	o.progress = on_progress;
	o.ctx = c;
	res = mem_calloc(1, sizeof(*res));
	q = mem_calloc(1, sizeof(*q));
	if (!res || !q) {
		mem_free(res);
		mem_free(q);
		return cli_fail(-ENOMEM, "usb export");
	}
	r = req_path ? load_request(q, req_path) : 0;
	if (r < 0) {
		code = cli_fail(r, "usb export: the request %s", req_path);
		goto out;
	}
	o.req = req_path ? q : NULL;
	r = usb_export(res, &o);
	cli_progress_end(c);
	if (r < 0 && r != -EAGAIN) {
		code = cli_fail(r, "usb export to %s", o.dest);
		goto out;
	}
	export_report(c, res);
	code = r == -EAGAIN ? EXIT_PARTIAL : EXIT_DONE;
	if (r == -EAGAIN && !c->json)
		fprintf(stderr,
			"ferry: usb export: some channels are not on the stick (see above); "
			"use a bigger stick or fewer channels\n");
out:
	usb_request_release(q);
	mem_free(q);
	mem_free(res);
	return code;
}

int cmd_usb_request(struct cli *c, int argc, char **argv)
{
	const char *paths[2];
	struct usb_request *q = mem_calloc(1, sizeof(*q));
	struct store *st = NULL;
	AUTO_FREE char *file = NULL;
	struct buf b;
	size_t np = 0;
	int r, code = EXIT_DONE;

	if (!q)
		return cli_fail(-ENOMEM, "usb request");
	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (argv[i][0] == '-' || np == 2) {
			mem_free(q);
			return EXIT_USAGE;
		}
		paths[np++] = argv[i];
	}
	if (np != 2) {
		mem_free(q);
		return EXIT_USAGE;
	}
	buf_init(&b, USB_REQUEST_MAX_BYTES);
	file = fs_join(paths[1], USB_REQUEST_FILE);
	r = file ? store_open(&st, paths[0]) : -ENOMEM;
	if (r >= 0)
		r = usb_request_from_store(q, st, (int64_t)time(NULL));
	if (r >= 0)
		r = usb_request_format(&b, q);
	if (r >= 0 && !fs_exists(paths[1]))
		r = err_set(-ENOENT, "%s does not exist: is the stick plugged in?", paths[1]);
	if (r >= 0)
		r = fs_write_atomic(file, b.data, b.len);
	if (r < 0) {
		code = cli_fail(r, "usb request %s", paths[0]);
	} else if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "request");
		jw_str(&c->w, file);
		jw_key(&c->w, "channels");
		jw_u64(&c->w, q->n);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		printf("已把学校的需求写到U盘 / wrote this school's request (%zu channels) to %s\n"
		       "Take the stick to the county center; there they run\n"
		       "    ferry usb export REPOSITORY %s --for %s\n",
		       q->n, file, paths[1], file);
	}
	buf_release(&b);
	store_close(st);
	usb_request_release(q);
	mem_free(q);
	return code;
}

static const char *state_word(enum sync_state s)
{
	static const char *const words[] = {"up-to-date", "installed", "partial",
					    "planned",	  "no-head",   "refused"};

	return (size_t)s < sizeof(words) / sizeof(words[0]) ? words[s] : "unknown";
}

static void import_report(struct cli *c, const struct sync_result *res, int r)
{
	bool damaged = false, refused = false;

	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "channels");
		jw_arr_begin(&c->w);
		for (size_t i = 0; i < res->nchannels; i++) {
			jw_obj_begin(&c->w);
			jw_key(&c->w, "channel");
			jw_str(&c->w, res->channels[i].name);
			jw_key(&c->w, "state");
			jw_str(&c->w, state_word(res->channels[i].state));
			jw_key(&c->w, "version");
			jw_u64(&c->w, res->channels[i].version);
			jw_key(&c->w, "reason");
			jw_str(&c->w, res->channels[i].reason);
			jw_obj_end(&c->w);
		}
		jw_arr_end(&c->w);
		jw_key(&c->w, "bytes_read");
		jw_u64(&c->w, res->bytes_read);
		jw_key(&c->w, "bytes_written");
		jw_u64(&c->w, res->bytes_written);
		jw_obj_end(&c->w);
		return;
	}
	if (c->quiet)
		return;
	for (size_t i = 0; i < res->nchannels; i++) {
		const struct sync_channel *ch = &res->channels[i];
		unsigned long long v = (unsigned long long)ch->version;

		switch (ch->state) {
		case SYNC_INSTALLED:
			printf("已安装 installed: %s, release %llu\n", ch->name, v);
			break;
		case SYNC_UP_TO_DATE:
			printf("已是最新 already up to date: %s, release %llu\n", ch->name, v);
			break;
		case SYNC_PARTIAL:
			damaged = true;
			printf("未完成 not complete: %s, release %llu — %s\n", ch->name, v,
			       ch->reason[0] ? ch->reason
					     : "part of it is missing or damaged on the stick");
			break;
		case SYNC_NO_HEAD:
			printf("U盘上没有 not on this stick: %s\n", ch->name);
			break;
		case SYNC_REFUSED:
			refused = true;
			printf("拒绝 refused: %s — %s\n", ch->name, ch->reason);
			break;
		default:
			break;
		}
	}
	if (r == -EKEYREJECTED)
		printf(
		    "U盘上有未经县中心签名或被改动的内容，没有安装。Something on the stick is not "
		    "signed by your county or was changed: it was not installed. Copy the stick "
		    "again at the county center.\n");
	else if (damaged || r == -EAGAIN)
		printf(
		    "U盘上的部分文件损坏或缺少；完好的部分已经安装。请回县中心重新拷贝U盘，再运行一"
		    "次导入。\n"
		    "Some files on the stick were damaged or missing; everything sound was "
		    "installed. Copy the stick again at the county center and import it again.\n");
	else if (refused)
		printf(
		    "U盘上有的内容不能用（见上面），没有安装。请回县中心重新拷贝U盘。\n"
		    "Some of the stick could not be used (see above) and was not installed. Copy "
		    "the stick again at the county center.\n");
	else if (r == 0)
		printf("完成。Done: the school server is up to date with this stick.\n");
}

static int count_sub(const struct db_subscription *s, void *ctx)
{
	(void)s;
	++*(size_t *)ctx;
	return 0;
}

/* The channels whose heads are on the stick (heads/ walked, at most max). */
static void stick_channels(char **out, size_t *n, size_t max, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *f;

	while (d && (f = readdir(d)) && *n < max) {
		AUTO_FREE char *p = fs_join(dir, f->d_name);
		AUTO_FREE char *r = rel[0] ? fs_join(rel, f->d_name) : mem_strdup(f->d_name);
		struct stat st;

		if (f->d_name[0] == '.' || strstr(f->d_name, ".tmp-") || !p || !r ||
		    lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			stick_channels(out, n, max, p, r);
		else if (S_ISREG(st.st_mode) && mf_channel_valid(r))
			out[(*n)++] = TAKE_PTR(r);
	}
	if (d)
		closedir(d);
}

/* A store that subscribes to nothing yet takes the channels on the stick. */
static int default_channels(char **out, size_t *n, const char *store, const char *stick)
{
	struct store *st = NULL;
	size_t subs = 0;
	AUTO_FREE char *heads = fs_join(stick, "heads");
	int r = heads ? store_open(&st, store) : -ENOMEM;

	if (r >= 0)
		r = db_subscription_foreach(st->db, count_sub, &subs);
	store_close(st);
	if (r >= 0 && subs == 0)
		stick_channels(out, n, MAX_ARGS, heads, "");
	return r;
}

static bool any_partial(const struct sync_result *res)
{
	for (size_t i = 0; i < res->nchannels; i++)
		if (res->channels[i].state == SYNC_PARTIAL)
			return true;
	return false;
}

/* The stick served a chunk that did not verify, and the sync stopped using
 * it: read everything still sound off it into the store's cache, and sync
 * from there (sync/usb_salvage.c). */
static int import_salvaged(struct cli *c, struct sync_result *res, struct sync_opts *o,
			   const char *store, const char *stick)
{
	AUTO_FREE char *dir = fs_join(store, "cache/usb-salvage");
	struct usb_salvage_result sv;
	const char *src[1];
	int r;

	if (!dir)
		return -ENOMEM;
	if (!c->json && !c->quiet)
		fprintf(stderr, "ferry: usb import: something on the stick is damaged; reading "
				"what is still sound\n");
	r = usb_salvage(&sv, stick, dir);
	if (r >= 0) {
		for (size_t i = 0; i < sv.ndamaged && !c->json; i++)
			fprintf(stderr, "ferry: usb import: %s on the stick is damaged\n",
				sv.damaged[i]);
		if (!c->json && !c->quiet)
			fprintf(stderr,
				"ferry: usb import: %llu of %llu packs damaged; %llu chunks "
				"in them still sound, %llu lost\n",
				(unsigned long long)sv.damaged_packs, (unsigned long long)sv.packs,
				(unsigned long long)sv.rescued_chunks,
				(unsigned long long)sv.bad_chunks);
		bool installed[SYNC_MAX_CHANNELS] = {false};
		size_t n = res->nchannels;

		for (size_t i = 0; i < n; i++)
			installed[i] = res->channels[i].state == SYNC_INSTALLED;
		src[0] = dir;
		o->sources = src;
		r = sync_run(res, o);
		/* What the first pass installed is installed, not "up to date". */
		for (size_t i = 0; i < n && i < res->nchannels; i++)
			if (installed[i] && res->channels[i].state == SYNC_UP_TO_DATE)
				res->channels[i].state = SYNC_INSTALLED;
	} else {
		cli_fail(r, "usb import: reading the damaged stick %s", stick);
		r = -EAGAIN;
	}
	if (usb_remove_tree(dir) < 0)
		fprintf(stderr, "ferry: usb import: could not remove %s\n", dir);
	return r;
}

/* Whether DIR looks like a ferry repository (its ferry.json is there), so a
 * stick that holds no head yet is told apart from a wrong or absent folder. */
static bool stick_is_repository(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/ferry.json", dir) >= (int)sizeof(path))
		return false;
	return fs_exists(path);
}

int cmd_usb_import(struct cli *c, int argc, char **argv)
{
	const char *paths[2];
	struct sync_opts o = {0};
	struct sync_result *res = mem_calloc(1, sizeof(*res));
	char *chans[MAX_ARGS], *argv_channels[MAX_ARGS] = {0};
	size_t np = 0, nc = 0;
	int r;

	if (!res)
		return cli_fail(-ENOMEM, "usb import");
	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (strcmp(argv[i], "--wait") == 0)
			o.wait = true;
		else if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc && nc < MAX_ARGS)
			chans[nc] = argv_channels[nc] = argv[++i], nc++;
		else if (argv[i][0] == '-' || np == 2) {
			mem_free(res);
			return EXIT_USAGE;
		} else
			paths[np++] = argv[i];
	}
	if (np != 2) {
		mem_free(res);
		return EXIT_USAGE;
	}
	if (!fs_exists(paths[1])) {
		mem_free(res);
		fprintf(stderr,
			"ferry: usb import: %s cannot be read: is the stick plugged in, "
			"and is this its folder?\n",
			paths[1]);
		return EXIT_UNREACHABLE;
	}
	o.store = paths[0];
	o.sources = &paths[1];
	o.nsources = 1;
	o.log = on_log;
	o.ctx = c;
	if (nc == 0 && (r = default_channels(chans, &nc, paths[0], paths[1])) < 0) {
		mem_free(res);
		return cli_fail(r, "usb import into %s", paths[0]);
	}
	o.channels = (const char *const *)chans;
	o.nchannels = nc;
	r = sync_run(res, &o);
	if (r == -EAGAIN && any_partial(res))
		r = import_salvaged(c, res, &o, paths[0], paths[1]);
	for (size_t i = 0; i < nc; i++)
		if (chans[i] != argv_channels[i])
			mem_free(chans[i]);
	import_report(c, res, r);
	/* ferry sync ends 0 when a channel's head was refused for a file missing
	 * on the source; a stick that installed nothing it offered is partial. */
	for (size_t i = 0; r == 0 && i < res->nchannels; i++)
		if (res->channels[i].state == SYNC_REFUSED)
			r = -EAGAIN;
	mem_free(res);
	switch (r) {
	case 0:
		return EXIT_DONE;
	case -EAGAIN:
		return EXIT_PARTIAL;
	case -EKEYREJECTED:
		cli_fail(r, "usb import from %s", paths[1]);
		return EXIT_TRUST;
	case -EHOSTUNREACH:
		if (stick_is_repository(paths[1])) {
			/* A stick pulled before its first head was written: readable,
			 * holding none of the channels yet. Run again after a new copy. */
			fprintf(stderr,
				"ferry: usb import: U盘上还没有可导入的内容，拷贝可能中途停止了。请回县中心"
				"重新拷贝。\n"
				"ferry: usb import: %s holds none of these channels yet: its copy may "
				"have stopped early. Copy it again at the county center.\n",
				paths[1]);
			return EXIT_PARTIAL;
		}
		fprintf(stderr,
			"ferry: usb import: %s cannot be read: is the stick plugged in, "
			"and is this its folder?\n",
			paths[1]);
		return EXIT_UNREACHABLE;
	default:
		return cli_fail(r, "usb import from %s", paths[1]);
	}
}

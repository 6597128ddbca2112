/*
 * sync_run.c — one `ferry sync` run over every subscribed channel
 * (see sync.h).
 */
#include "sync/sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "sync/fetch.h"
#include "sync/plan.h"
#include "sync/plan_delta.h"
#include "sync/ratelimit.h"
#include "sync/source.h"
#include "sync/store.h"
#include "sync/trust.h"

/* Room kept free beyond what a plan needs (database, indexes, temporaries). */
#define STORE_DISK_MARGIN (64ull << 20)

struct run {
	const struct sync_opts *o;
	struct transport_opts topts; /* o->topts with the run's bandwidth cap */
	struct ratelimit limit;
	struct sync_result *res;
	struct store *st;
	struct source src[SYNC_MAX_SOURCES];
	size_t nsrc;
	bool packs_loaded;
	char **filters; /* the channel being synced: its subscription's filters */
};

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (!r->o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->log(line, r->o->ctx);
}

static int add_source_url(const struct db_source *s, void *ctx)
{
	struct run *r = ctx;

	if (r->nsrc == SYNC_MAX_SOURCES)
		return 0;
	return source_open(&r->src[r->nsrc++], s->url, &r->topts);
}

static int open_sources(struct run *r)
{
	int e = 0;

	if (r->o->nsources) {
		for (size_t i = 0; e == 0 && i < r->o->nsources && i < SYNC_MAX_SOURCES; i++)
			e = source_open(&r->src[r->nsrc++], r->o->sources[i], &r->topts);
	} else {
		e = db_source_foreach(r->st->db, add_source_url, r);
	}
	if (e < 0)
		return e;
	if (r->nsrc == 0)
		return err_set(-EINVAL, "no source given and none configured (--source PATH|URL)");
	for (size_t i = 0; i < r->nsrc; i++) {
		e = source_check_config(&r->src[i], r->st);
		if (e == -ENOMEM)
			return e;
		if (e == -EKEYREJECTED)
			r->res->trust_failure = true;
		if (e < 0)
			say(r, "source %s not used: %s", r->src[i].url, err_detail());
		else
			r->res->sources_usable++;
	}
	return 0;
}

/* The newest acceptable head among the sources; *from is its source. */
static int best_head(struct mf_head *best, struct buf *bytes, size_t *from, struct run *r,
		     struct sync_channel *ch, const struct trust_ctx *t)
{
	struct buf b;
	bool found = false;
	int e = 0;

	buf_init(&b, LIMIT_HEAD_BYTES);
	for (size_t i = 0; i < r->nsrc && e != -ENOMEM; i++) {
		struct mf_head h;
		enum trust_verdict v;

		if (!r->src[i].usable)
			continue;
		e = source_fetch_head(&b, &r->src[i], ch->name);
		if (e == -ENOENT)
			continue;
		if (e == 0)
			e = trust_head_check(&h, &v, t, r->src[i].url, ch->name, b.data, b.len);
		if (e < 0) {
			if (e == -EKEYREJECTED || e == -EBADMSG) {
				r->res->trust_failure = true;
				snprintf(ch->reason, sizeof(ch->reason), "%s", err_detail());
			}
			say(r, "%s", err_detail());
			continue;
		}
		if (v == TRUST_NEWER && (!found || h.version > best->version)) {
			*best = h;
			*from = i;
			found = true;
			buf_reset(bytes);
			e = buf_append(bytes, b.data, b.len);
		}
	}
	buf_release(&b);
	return e == -ENOMEM ? e : found ? 1 : 0;
}

static int release_tree(struct mgit_oid *tree, struct run *r, const struct mgit_oid *commit,
			const struct trust_ctx *t, const char *source, const char *channel)
{
	struct mgit_commit c;
	int e = mgit_commit_read(&c, r->st->git, commit);

	if (e == 0 && t)
		e = trust_commit_check(t, source, channel, c.signature, c.signature_len, c.payload,
				       c.payload_len);
	if (e == 0)
		*tree = c.tree;
	mgit_commit_release(&c);
	return e;
}

static int install(struct run *r, const struct mf_head *h, const struct buf *head,
		   const struct mgit_oid *commit)
{
	AUTO_FREE char *rel = fs_join(REPO_HEADS_DIR, h->channel);
	AUTO_FREE char *path = rel ? store_path(r->st, rel) : NULL;
	AUTO_FREE char *ref = fs_join("refs/heads", h->channel);
	struct db_channel c = { .name = h->channel, .version = h->version,
				.head = head->data, .head_len = head->len,
				.head_time = (int64_t)h->time, .installed_time = time(NULL),
				.files = h->files, .bytes = h->size };
	struct mgit_oid old;
	struct store_scan scan;
	int e;

	if (!path || !ref)
		return -ENOMEM;
	mgit_oid_fmt(c.commit, commit);
	if (r->filters) { /* a narrowed install: its size is what it holds */
		e = store_release_scan(&scan, r->st, c.commit, (const char *const *)r->filters);
		if (e < 0)
			return e;
		c.files = scan.files;
		c.bytes = scan.bytes;
	}
	e = fs_mkdir_parents(path, 0755);
	if (e == 0)
		e = fs_write_atomic(path, head->data, head->len);
	if (e == 0)
		e = mgit_ref_update(r->st->git, ref, commit,
				    mgit_ref_read(&old, r->st->git, ref) == 0 ? &old : NULL);
	if (e == 0)
		e = mgit_server_info_update(r->st->git);
	if (e == 0)
		e = db_begin(r->st->db);
	if (e == 0)
		e = db_channel_put(r->st->db, &c);
	if (e == 0)
		e = db_channel_seen_put(r->st->db, h->channel, h->version);
	if (e >= 0)
		e = store_installed_filters_put(r->st, h->channel, (const char *const *)r->filters);
	if (e >= 0) {
		e = db_pending_clear(r->st->db, h->channel);
		e = e == -ENOENT || e > 0 ? 0 : e;
	}
	if (e == 0)
		e = db_commit(r->st->db);
	else if (db_in_transaction(r->st->db))
		(void)db_rollback(r->st->db);
	return e;
}

/* Has the run reached stop_at?  Asked by fetch between requests and
 * batches, and here between channels. */
static bool should_stop(void *ctx)
{
	struct run *r = ctx;

	if (!r->o->stop_at || time(NULL) < r->o->stop_at)
		return false;
	if (!r->res->stopped)
		say(r, "stopping: %s", r->o->stop_reason ? r->o->stop_reason : "the deadline came");
	r->res->stopped = true;
	return true;
}

static void on_log(const char *line, void *ctx)
{
	struct run *r = ctx;

	say(r, "%s", line);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct run *r = ctx;

	if (r->o->progress)
		r->o->progress(done, total, r->o->ctx);
}

/* Fetches the planned chunks; installs when complete, else records pending. */
static int carry_out(struct run *r, struct sync_channel *ch, struct plan *p,
		     const struct mf_head *h, const struct buf *head, const struct mgit_oid *commit,
		     const struct mgit_oid *tree)
{
	struct fetch_opts fo = { .log = on_log, .progress = on_progress,
				 .should_stop = should_stop, .ctx = r, .release_tree = tree };
	struct fetch_stats fs;
	struct db_pending pend = { .channel = ch->name, .version = h->version,
				   .bytes_total = p->stored_bytes, .updated = time(NULL) };
	uint64_t missing;
	int e = fetch_plan(&fs, p, r->st, r->src, r->nsrc, &fo);

	r->res->chunks += fs.chunks;
	r->res->bytes_written += fs.bytes_written;
	ch->batches = fs.batches;
	ch->unlocated = fs.unlocated;
	if (e < 0 && e != -ECANCELED)
		return e;
	missing = fs.missing_bytes;
	say(r, "%s: %llu chunks were missing; whole packs, then %u ranged batch%s of at most %zu; "
	       "%llu still missing", ch->name, (unsigned long long)p->total, fs.batches,
	    fs.batches == 1 ? "" : "es", p->batch_max, (unsigned long long)fs.missing_chunks);
	if (fs.missing_chunks == 0) {
		e = install(r, h, head, commit);
		if (e == 0) {
			ch->state = SYNC_INSTALLED;
			ch->version = h->version;
			say(r, "%s: installed release %llu", ch->name, (unsigned long long)h->version);
		}
		return e;
	}
	mgit_oid_fmt(pend.commit, commit);
	pend.bytes_missing = missing;
	ch->state = SYNC_PARTIAL;
	if (e == -ECANCELED)
		snprintf(ch->reason, sizeof(ch->reason), "%s; %llu bytes of release %llu are left",
			 r->o->stop_reason ? r->o->stop_reason : "stopped at the deadline",
			 (unsigned long long)missing, (unsigned long long)h->version);
	else
		snprintf(ch->reason, sizeof(ch->reason),
			 "%llu bytes of release %llu are still missing; no source offered them "
			 "this time",
			 (unsigned long long)missing, (unsigned long long)h->version);
	return db_pending_put(r->st->db, &pend);
}

/* Refuses to start what cannot fit: the store keeps chunks as fetched. */
static int check_space(struct run *r, struct sync_channel *ch, const struct plan *p)
{
	struct statvfs vfs;
	uint64_t avail;

	if (statvfs(r->st->root, &vfs) < 0)
		return 0;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (p->stored_bytes + STORE_DISK_MARGIN <= avail)
		return 0;
	return err_set(-ENOSPC, "%s: release %llu needs %llu MiB in the store but only %llu MiB "
				"are free; nothing was fetched", ch->name,
		       (unsigned long long)ch->version,
		       (unsigned long long)((p->stored_bytes + STORE_DISK_MARGIN) >> 20),
		       (unsigned long long)(avail >> 20));
}

/* Locates the whole plan, batch by batch, only to count what no source
 * offers (--dry-run: nothing is fetched). */
static int count_unlocated(struct run *r, struct sync_channel *ch, struct plan *p)
{
	int e;

	ch->unlocated = 0;
	while ((e = plan_next_batch(p)) > 0) {
		e = plan_locate(p, r->src, r->nsrc);
		if (e < 0)
			return e;
		ch->unlocated += p->unlocated;
		ch->batches++;
	}
	return e;
}

static int load_packs(struct run *r)
{
	if (r->packs_loaded)
		return 0;
	r->packs_loaded = true;
	for (size_t i = 0; i < r->nsrc; i++) {
		int e;

		if (!r->src[i].usable)
			continue;
		e = source_load_packs(&r->src[i], r->st);
		if (e == -ENOMEM)
			return e;
		if (e < 0)
			say(r, "%s: %s", r->src[i].url, err_detail());
	}
	return 0;
}

/* Records the release as pending before anything is fetched, so a run
 * killed part-way leaves it known: status shows it, and gc keeps what it
 * has fetched so far (chunks and part-read packs) for the next run.
 * carry_out() replaces the row with what is still missing, or installs. */
static int note_pending(struct run *r, const struct sync_channel *ch, const struct plan *p,
			const struct mf_head *h, const struct mgit_oid *commit)
{
	struct db_pending pend = { .channel = ch->name, .version = h->version,
				   .bytes_total = p->stored_bytes,
				   .bytes_missing = p->stored_bytes, .updated = time(NULL) };

	if (p->total == 0)
		return 0;
	mgit_oid_fmt(pend.commit, commit);
	return db_pending_put(r->st->db, &pend);
}

/* Applies the deltas chosen for the plan (plan_delta.h) before the chunks
 * are fetched: their chunks go into the store, so no batch of the plan
 * holds them; the chunks of a delta that fails are fetched as usual. */
static int apply_deltas(struct run *r, struct sync_channel *ch, struct plan_deltas *pd,
			struct plan *p)
{
	struct delta_apply_stats ds;
	int e = delta_apply_plan(&ds, pd, p, r->st, r->src, r->nsrc, should_stop, on_log, r);

	ch->deltas_applied = ds.applied;
	ch->deltas_failed = ds.failed;
	r->res->chunks += ds.chunks;
	r->res->bytes_written += ds.bytes_written;
	return e;
}

/* Brings in the release head h names (from source from): its manifest,
 * its signature, the plan, and — unless --dry-run — the chunks. */
static int sync_release(struct run *r, struct sync_channel *ch, const struct mf_head *h,
			const struct buf *head, size_t from, const struct trust_ctx *t,
			const struct mgit_oid *old_tree)
{
	struct mgit_oid commit, tree;
	struct plan_deltas pd;
	struct plan p;
	int e;

	plan_init(&p);
	plan_deltas_init(&pd);
	memcpy(commit.id, h->commit, MGIT_OID_LEN);
	/* from == r->nsrc: the installed release again, for changed filters */
	if (from < r->nsrc)
		say(r, "%s: release %llu from %s", ch->name, (unsigned long long)h->version,
		    r->src[from].url);
	e = from < r->nsrc ? source_import_git(&r->src[from], r->st) : 0;
	if (e == 0)
		e = release_tree(&tree, r, &commit, from < r->nsrc ? t : NULL,
				 from < r->nsrc ? r->src[from].url : NULL, ch->name);
	if (e == 0)
		e = plan_build(&p, r->st, old_tree, &tree, (const char *const *)r->filters);
	if (e == 0)
		e = load_packs(r);
	if (e == 0 && r->o->dry_run)
		e = count_unlocated(r, ch, &p);
	if (e == 0 && !r->o->no_deltas)
		e = plan_deltas_choose(&pd, &p, r->st, old_tree, &tree,
				       (const char *const *)r->filters, r->src, r->nsrc);
	if (e < 0) {
		r->res->trust_failure |= e == -EKEYREJECTED || e == -EBADMSG;
		ch->state = SYNC_REFUSED;
		snprintf(ch->reason, sizeof(ch->reason), "%s", err_detail());
		say(r, "%s", ch->reason);
		plan_release(&p);
		plan_deltas_release(&pd);
		return e == -ENOMEM ? e : 0;
	}
	ch->deltas = pd.n;
	ch->delta_bytes = pd.delta_bytes;
	ch->delta_saved = pd.replaced_bytes > pd.delta_bytes ? pd.replaced_bytes - pd.delta_bytes : 0;
	ch->files = p.files;
	ch->missing_chunks = p.total;
	ch->fetch_bytes = p.stored_bytes;
	ch->raw_bytes = p.raw_bytes;
	ch->version = h->version;
	if (r->o->dry_run)
		ch->state = SYNC_PLANNED;
	else if ((e = check_space(r, ch, &p)) == 0 && (e = note_pending(r, ch, &p, h, &commit)) == 0 &&
		 (e = apply_deltas(r, ch, &pd, &p)) == 0)
		e = carry_out(r, ch, &p, h, head, &commit, &tree);
	plan_release(&p);
	plan_deltas_release(&pd);
	return e;
}

/* The installed release once more, when the subscription's filters differ
 * from those it was installed for: a widened filter fetches what is newly
 * included, a narrowed one only records the narrower set. */
static int refilter(struct run *r, struct sync_channel *ch, const struct trust_ctx *t)
{
	struct db_channel inst;
	struct mf_head h;
	struct buf head;
	size_t signer;
	int e = db_channel_get(&inst, r->st->db, ch->name);

	if (e < 0)
		return e;
	buf_init(&head, LIMIT_HEAD_BYTES);
	e = mf_head_verify(&h, &signer, inst.head, inst.head_len, r->st->keys, r->st->nkeys);
	if (e == 0)
		e = buf_append(&head, inst.head, inst.head_len);
	if (e == 0) {
		say(r, "%s: path filters changed; bringing release %llu to the new ones", ch->name,
		    (unsigned long long)h.version);
		e = sync_release(r, ch, &h, &head, r->nsrc, t, NULL);
	}
	db_channel_release(&inst);
	buf_release(&head);
	return e;
}

static int sync_channel(struct run *r, struct sync_channel *ch)
{
	struct trust_ctx t = { .keys = r->st->keys, .nkeys = r->st->nkeys,
			       .repo_id = r->st->has_config ? r->st->cfg.id : NULL,
			       .now = time(NULL) };
	struct db_channel inst;
	struct mf_head h;
	struct mgit_oid commit, old_tree;
	struct buf head;
	bool has_old = false, same_filters = true;
	char **had = NULL;
	size_t from = 0;
	int e;

	store_filters_free(r->filters);
	r->filters = NULL;
	e = store_subscription_get(&r->filters, r->st, ch->name);
	if (e == 0)
		e = store_installed_filters_get(&had, r->st, ch->name);
	if (e < 0)
		return e;
	same_filters = store_filters_equal((const char *const *)had,
					   (const char *const *)r->filters);
	store_filters_free(had);
	if (db_channel_get(&inst, r->st->db, ch->name) == 0) {
		t.installed = inst.version;
		ch->version = inst.version;
		has_old = mgit_oid_parse(&commit, inst.commit) == 0 &&
			  release_tree(&old_tree, r, &commit, NULL, NULL, NULL) == 0;
		db_channel_release(&inst);
	}
	e = db_channel_seen_get(&t.seen, r->st->db, ch->name);
	if (e < 0 && e != -ENOENT)
		return e;
	buf_init(&head, LIMIT_HEAD_BYTES);
	e = best_head(&h, &head, &from, r, ch, &t);
	if (e > 0) {
		/* With other filters than installed, files outside the old ones
		 * may be new to the store though unchanged in the release. */
		e = sync_release(r, ch, &h, &head, from, &t,
				 has_old && same_filters ? &old_tree : NULL);
	} else if (e == 0 && t.installed && !same_filters) {
		e = refilter(r, ch, &t);
	} else if (e == 0) {
		ch->state = t.installed ? SYNC_UP_TO_DATE : ch->reason[0] ? SYNC_REFUSED : SYNC_NO_HEAD;
		if (ch->state == SYNC_NO_HEAD)
			snprintf(ch->reason, sizeof(ch->reason), "no source offers this channel yet");
	}
	buf_release(&head);
	return e;
}

/* --channel NAME subscribes to NAME (kept as it is if already subscribed);
 * with --only, NAME's filters become exactly those prefixes. */
static int add_subscriptions(struct run *r)
{
	size_t nf = 0;

	while (r->o->filters && r->o->filters[nf])
		nf++;
	for (size_t i = 0; i < r->o->nchannels; i++) {
		char **cur = NULL;
		int e;

		if (!mf_channel_valid(r->o->channels[i]))
			return err_set(-EINVAL, "\"%s\" is not a valid channel name",
				       r->o->channels[i]);
		e = store_subscription_get(&cur, r->st, r->o->channels[i]);
		store_filters_free(cur);
		if (nf || e == -ENOENT)
			e = store_subscribe(r->st, r->o->channels[i], r->o->filters, nf);
		if (e < 0)
			return e;
	}
	return 0;
}

static int add_channel(const struct db_subscription *s, void *ctx)
{
	struct run *r = ctx;
	struct sync_result *res = r->res;

	for (size_t i = 0; i < res->nchannels; i++)
		if (strcmp(res->channels[i].name, s->channel) == 0)
			return 0;
	if (res->nchannels == SYNC_MAX_CHANNELS)
		return 0;
	snprintf(res->channels[res->nchannels++].name, sizeof(res->channels[0].name), "%s",
		 s->channel);
	return 0;
}

static const char *outcome_of(int e, const struct sync_result *res)
{
	if (e == 0)
		return "done";
	if (e == -EAGAIN)
		return "partial";
	if (e == -EKEYREJECTED)
		return "trust";
	if (e == -EHOSTUNREACH)
		return "unreachable";
	return "error";
}

static int conclude(struct run *r)
{
	bool partial = false;

	/* A channel refused for something other than trust (a source whose
	 * manifest objects are missing or cut short) installed nothing: that
	 * is unfinished work, not success. */
	for (size_t i = 0; i < r->res->nchannels; i++)
		partial |= r->res->channels[i].state == SYNC_PARTIAL ||
			   r->res->channels[i].state == SYNC_NO_HEAD ||
			   r->res->channels[i].state == SYNC_REFUSED;
	if (r->res->sources_usable == 0 && !r->res->trust_failure)
		return err_set(-EHOSTUNREACH, "no source could be used");
	if (r->res->trust_failure)
		return err_set(-EKEYREJECTED, "a source offered something this store refuses (see "
					      "above); nothing refused was installed");
	return partial ? -EAGAIN : 0;
}

int sync_run(struct sync_result *out, const struct sync_opts *o)
{
	struct run r = { .o = o, .res = out };
	struct db_run rec = { 0 };
	int64_t run_id = 0;
	struct statvfs vfs;
	struct timespec t0, t1;
	int e;

	memset(out, 0, sizeof(*out));
	ratelimit_init(&r.limit, o->bwlimit, 0);
	r.topts = o->topts;
	r.topts.limit = o->bwlimit ? &r.limit : NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = store_open(&r.st, o->store);
	if (e == 0)
		e = store_lock(r.st, o->wait);
	if (e == 0)
		e = add_subscriptions(&r);
	if (e == 0)
		e = db_subscription_foreach(r.st->db, add_channel, &r);
	if (e == 0 && out->nchannels == 0)
		e = err_set(-EINVAL, "this store subscribes to no channel yet (--channel NAME)");
	if (e == 0 && !o->dry_run)
		e = db_run_begin(&run_id, r.st->db, time(NULL));
	if (e == 0)
		e = open_sources(&r);
	if (e == 0)
		say(&r, "sync: start: %zu channel%s from %zu source%s%s%s", out->nchannels,
		    out->nchannels == 1 ? "" : "s", r.nsrc, r.nsrc == 1 ? "" : "s",
		    o->bwlimit ? ", bandwidth capped" : "", o->stop_at ? ", with a stop time" : "");
	for (size_t i = 0; e == 0 && i < out->nchannels; i++) {
		struct sync_channel *ch = &out->channels[i];

		if (should_stop(&r)) {
			ch->state = SYNC_PARTIAL;
			snprintf(ch->reason, sizeof(ch->reason), "%s; not started",
				 o->stop_reason ? o->stop_reason : "stopped at the deadline");
			continue;
		}
		e = sync_channel(&r, ch);
	}
	if (e == 0)
		e = conclude(&r);
	for (size_t i = 0; i < r.nsrc; i++)
		out->bytes_read += r.src[i].bytes_read;
	if (r.st && statvfs(r.st->root, &vfs) == 0)
		out->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (run_id) {
		const char *why = e < 0 && e != -EAGAIN ? err_detail() : "";

		for (size_t i = 0; e == -EAGAIN && i < out->nchannels; i++)
			if (out->channels[i].reason[0]) {
				why = out->channels[i].reason;
				break;
			}
		rec = (struct db_run){ .id = run_id, .started = 0, .ended = time(NULL),
				       .outcome = outcome_of(e, out), .bytes_read = out->bytes_read,
				       .bytes_written = out->bytes_written,
				       .chunks_stored = out->chunks,
				       .reason = why };
		(void)!db_run_end(r.st->db, run_id, &rec);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		say(&r, "sync: %s after %.1f s: read %llu bytes, stored %llu bytes%s%s",
		    rec.outcome,
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		    (unsigned long long)out->bytes_read, (unsigned long long)out->bytes_written,
		    why[0] ? ": " : "", why);
	}
	for (size_t i = 0; i < r.nsrc; i++)
		source_close(&r.src[i]);
	store_filters_free(r.filters);
	store_close(r.st);
	ratelimit_release(&r.limit);
	return e;
}

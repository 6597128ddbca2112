/*
 * carousel_recv_room.c — keeping the receiver's spool under its cap and
 * free of objects nobody sends any more.
 *
 * The cap (opts.spool_max, SAT_RECV_DEFAULT_SPOOL_MAX) bounds the bytes
 * the spool's object folders hold, as spool.h counts them.  Before a
 * symbol is kept (or a new object's folder made), sat_room_make() checks
 * that it fits; if not it evicts whole objects, least likely to complete
 * first:
 *
 *   1. objects the table in use does not list (an old release's, a file a
 *      sender announced once), least held first;
 *   2. listed objects holding a smaller fraction of their symbols than the
 *      object the symbol is for, least held first.
 *
 * Never the symbol's own object, and never one further along: when the
 * spool is full of files that are all further along, the symbol is
 * dropped (stats.dropped) and those files complete first, freeing their
 * room as each is placed.
 *
 * And a new object starts only if it fits whole (sat_room_admit(): its
 * spool_object_need() beside what every listed object in the spool may
 * still grow to); otherwise its symbols are dropped.  Without that, a
 * spool full of files being received admits a newcomer's first symbol in
 * the last few KiB, the next symbol of a file further along evicts it,
 * the newcomer's next symbol comes back, and so on: an eviction (and two
 * fsyncs) per packet.  With it, the files in the spool always have their
 * room, eviction is for objects no table lists and for spools left over
 * a smaller cap (after a restart with a new --spool-max), and a cap
 * smaller than the repository receives it file by file.  A file whose
 * need exceeds the cap (about twice its size when it is one block, a
 * little more than its size when it is many) is never received.  The symbol that lets a
 * block decode also needs room for the decoded block, which is written
 * before the block's symbols are deleted: so the cap holds at every
 * moment, not only between packets.
 *
 * Stale objects: the receiver never trusts the clock, so age is counted
 * in file-table rounds heard: a packet of the FDT after at least one
 * content packet since the previous FDT packet (the sender repeats the
 * table in a meta round at least every 1024 bulk packets).  Each round,
 * an object the table does not list ages by one; one listed is young
 * again.  At opts.stale_rounds (SAT_RECV_DEFAULT_STALE_ROUNDS = 256:
 * at least 256 x 1024 packets, some 370 MB of broadcast, sent without
 * listing it) it is deleted, whatever the room.  A rain fade or a power
 * cut hears no table, so it ages nothing; after a restart every object
 * starts at zero (the count lives in memory only); and a file still being
 * broadcast is listed in the table, so it never ages at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel_recv_int.h"

static uint64_t cap_of(const struct sat_recv *r)
{
	return r->o.spool_max ? r->o.spool_max : SAT_RECV_DEFAULT_SPOOL_MAX;
}

void sat_recv_room(const struct sat_recv *r, uint64_t *used, uint64_t *cap)
{
	*used = spool_used(r->sp);
	*cap = cap_of(r);
}

static bool listed(const struct sat_recv *r, const struct spool_info *in)
{
	for (size_t i = 0; i < r->ne; i++) {
		const struct sat_entry *e = &r->e[i];

		if ((e->state == SAT_WAITING || e->state == SAT_DEFERRED) &&
		    e->f->length == in->id.oti.transfer_length &&
		    memcmp(e->f->sha256, in->id.sha.b, SHA256_LEN) == 0)
			return true;
	}
	return false;
}

void sat_room_mark(struct sat_recv *r)
{
	for (size_t i = 0; i < spool_count(r->sp); i++) {
		struct spool_info *in = spool_info_at(r->sp, i);

		in->announced = listed(r, in);
		if (in->announced)
			in->unseen = 0;
	}
}

/* Closes the entry that has in open, if any. */
static void close_holder(struct sat_recv *r, const struct spool_info *in)
{
	for (size_t i = 0; in->open && i < r->ne; i++)
		if (r->e[i].o && spool_object_info(r->e[i].o) == in)
			sat_entry_close(r, &r->e[i]);
}

static int evict(struct sat_recv *r, size_t i, const char *why)
{
	struct spool_info *in = spool_info_at(r->sp, i);
	char name[SPOOL_ID_NAME_LEN + 1];

	spool_id_name(name, &in->id);
	sat_log(r, "spool: deleted %.16s... (%llu bytes, %llu of %llu symbols held): %s", name,
		(unsigned long long)in->bytes, (unsigned long long)in->held,
		(unsigned long long)in->needed, why);
	close_holder(r, in);
	return spool_evict(r->sp, i);
}

int sat_room_round(struct sat_recv *r)
{
	uint32_t limit = r->o.stale_rounds ? r->o.stale_rounds : SAT_RECV_DEFAULT_STALE_ROUNDS;
	size_t i = 0;
	int rc;

	r->st.fdt_rounds++;
	while (i < spool_count(r->sp)) {
		struct spool_info *in = spool_info_at(r->sp, i);

		if (in->announced) {
			in->unseen = 0;
			i++;
			continue;
		}
		if (++in->unseen < limit) {
			i++;
			continue;
		}
		rc = evict(r, i, "no file table lists it any more"); /* the catalog's last entry moves to i */
		if (rc < 0)
			return rc;
		r->st.stale++;
	}
	return 0;
}

/* held/needed of a < of b, without division. */
static bool less_held(const struct spool_info *a, const struct spool_info *b)
{
	return a->held * b->needed < b->held * a->needed;
}

/* The object to evict for own (NULL for a new object), or SIZE_MAX. */
static size_t victim(struct sat_recv *r, const struct spool_info *own)
{
	static const struct spool_info fresh = { .held = 0, .needed = 1 };
	const struct spool_info *self = own ? own : &fresh;
	size_t best = SIZE_MAX;
	const struct spool_info *b = NULL;

	for (size_t i = 0; i < spool_count(r->sp); i++) {
		const struct spool_info *in = spool_info_at(r->sp, i);

		if (in == own || (in->announced && !less_held(in, self)))
			continue;
		if (b && (b->announced < in->announced ||
			  (b->announced == in->announced && !less_held(in, b))))
			continue;
		best = i;
		b = in;
	}
	return best;
}

int sat_room_make(struct sat_recv *r, struct sat_entry *e, uint64_t need)
{
	const struct spool_info *own = e->o ? spool_object_info(e->o) : NULL;
	uint64_t cap = cap_of(r);
	int rc;

	while (spool_used(r->sp) + need > cap) {
		size_t v = victim(r, own);

		if (v == SIZE_MAX) {
			r->st.dropped++;
			return 0;
		}
		rc = evict(r, v,
			   spool_info_at(r->sp, v)->announced ? "room for a file further along"
							      : "room; no file table lists it");
		if (rc < 0)
			return rc;
		r->st.evicted++;
	}
	if (spool_used(r->sp) + need > r->st.spool_peak)
		r->st.spool_peak = spool_used(r->sp) + need;
	return 1;
}

bool sat_room_admit(struct sat_recv *r, uint64_t need)
{
	uint64_t held = need;

	for (size_t i = 0; i < spool_count(r->sp); i++) {
		const struct spool_info *in = spool_info_at(r->sp, i);

		if (in->announced)
			held += in->bytes > in->need ? in->bytes : in->need;
	}
	if (held <= cap_of(r))
		return true;
	r->st.dropped++;
	return false;
}

/* ---- SPOOL/room: the cap and counters, for status ---- */

static void parse_room(struct sat_room_saved *out, const char *text)
{
	unsigned long long cap, ev, st, dr;

	memset(out, 0, sizeof(*out));
	if (sscanf(text, "cap %llu\nevicted %llu\nstale %llu\ndropped %llu", &cap, &ev, &st,
		   &dr) != 4)
		return;
	out->cap = cap;
	out->evicted = ev;
	out->stale = st;
	out->dropped = dr;
}

void sat_room_read(struct sat_room_saved *out, const char *spool_dir)
{
	AUTO_FREE char *path = fs_join(spool_dir, SAT_ROOM_FILE);
	struct buf b;

	memset(out, 0, sizeof(*out));
	buf_init(&b, 256);
	if (path && fs_read_file(&b, path, 255) == 0 && buf_append(&b, "", 1) == 0)
		parse_room(out, (const char *)b.data);
	buf_release(&b);
}

void sat_room_load(struct sat_recv *r)
{
	sat_room_read(&r->saved, spool_dir(r->sp));
	r->st.evicted = r->saved.evicted;
	r->st.stale = r->saved.stale;
	r->st.dropped = r->saved.dropped;
	r->saved.cap = 0; /* written again at the first save */
}

int sat_recv_save_room(struct sat_recv *r)
{
	AUTO_FREE char *path = fs_join(spool_dir(r->sp), SAT_ROOM_FILE);
	char text[160];
	int n, rc;

	if (!path)
		return -ENOMEM;
	if (r->saved.cap == cap_of(r) && r->saved.evicted == r->st.evicted &&
	    r->saved.stale == r->st.stale && r->saved.dropped == r->st.dropped)
		return 0;
	n = snprintf(text, sizeof(text), "cap %llu\nevicted %llu\nstale %llu\ndropped %llu\n",
		     (unsigned long long)cap_of(r), (unsigned long long)r->st.evicted,
		     (unsigned long long)r->st.stale, (unsigned long long)r->st.dropped);
	rc = fs_write_atomic(path, text, (size_t)n);
	if (rc < 0)
		return err_keep(rc, "spool: %s: %s", path, strerror(-rc));
	r->saved.cap = cap_of(r);
	r->saved.evicted = r->st.evicted;
	r->saved.stale = r->st.stale;
	r->saved.dropped = r->st.dropped;
	return 0;
}

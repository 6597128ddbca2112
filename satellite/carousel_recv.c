/*
 * carousel_recv.c — the receiver: packets in, files out into the drop.
 *
 * Each content packet is looked up by TOI in the file table in use, which
 * gives the object's identity (with the packet's OTI); its symbol goes to
 * the spool under that identity; a block decodes as soon as it can; a
 * complete object is assembled into a temporary file beside its place in
 * the drop, checked (hash by the spool, the rest by carousel_check.c) and
 * renamed into place.  A marker in the spool (placed/<sha>-<length>)
 * remembers what is in the drop, so a restart does not receive it again.
 * See carousel_recv.h for the whole story.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/carousel_recv_int.h"

void sat_log(struct sat_recv *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o.log(line, r->o.ctx);
}

static char *placed_marker(struct sat_recv *r, const struct flute_fdt_file *f)
{
	char name[2 * 32 + 32], rel[sizeof(name) + 16];

	hex_encode(name, f->sha256, 32);
	snprintf(rel, sizeof(rel), SAT_PLACED_DIR "/%s-%llu", name,
		 (unsigned long long)f->length);
	return fs_join(spool_dir(r->sp), rel);
}

enum sat_entry_state sat_entry_initial(struct sat_recv *r, const struct flute_fdt_file *f)
{
	AUTO_FREE char *marker = NULL, *dest = NULL;
	uint64_t size;

	if (sat_check_location(f->location, f->length) < 0) {
		sat_log(r, "%s: ignored: %s", f->location, err_detail());
		return SAT_REFUSED;
	}
	if (f->length == 0)
		return SAT_EMPTY;
	marker = placed_marker(r, f);
	dest = fs_join(r->o.drop_dir, f->location);
	if (marker && dest && fs_exists(marker) && fs_file_size(&size, dest) == 0 &&
	    size == f->length)
		return SAT_PLACED;
	return SAT_WAITING;
}

void sat_entry_close(struct sat_recv *r, struct sat_entry *e)
{
	if (e->o) {
		spool_object_free(e->o);
		e->o = NULL;
		r->nopen--;
	}
}

void sat_entries_release(struct sat_recv *r)
{
	for (size_t i = 0; i < r->ne; i++)
		sat_entry_close(r, &r->e[i]);
	mem_free(r->e);
	r->e = NULL;
	r->ne = 0;
}

static struct sat_entry *entry_find(struct sat_recv *r, uint32_t toi)
{
	size_t lo = 0, hi = r->ne;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->e[mid].f->toi == toi)
			return &r->e[mid];
		if (r->e[mid].f->toi < toi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Opens e's spool object for oti, closing the least recently used one
 * when too many are open. */
static int entry_open(struct sat_recv *r, struct sat_entry *e, const struct rq_oti *oti)
{
	struct sat_object_id id;
	int rc;

	if (e->o) {
		const struct rq_oti *have = &spool_object_id(e->o)->oti;

		if (have->symbol_size == oti->symbol_size &&
		    have->source_blocks == oti->source_blocks && have->alignment == oti->alignment)
			return 0;
		sat_entry_close(r, e); /* the sender changed parameters: another identity */
	}
	if (r->nopen >= SAT_RECV_OPEN_OBJECTS) {
		struct sat_entry *lru = NULL;

		for (size_t i = 0; i < r->ne; i++)
			if (r->e[i].o && (!lru || r->e[i].used < lru->used))
				lru = &r->e[i];
		if (lru)
			sat_entry_close(r, lru);
	}
	memcpy(id.sha.b, e->f->sha256, 32);
	id.oti = *oti;
	rc = spool_object_open(&e->o, r->sp, &id);
	if (rc < 0)
		return rc;
	r->nopen++;
	spool_object_info(e->o)->announced = true; /* e is in the table */
	return spool_object_set_name(e->o, e->f->location);
}

static int place_empty(struct sat_recv *r, struct sat_entry *e)
{
	AUTO_FREE char *dest = fs_join(r->o.drop_dir, e->f->location);
	int rc;

	if (!dest)
		return -ENOMEM;
	if (fs_exists(dest))
		return 0;
	rc = fs_mkdir_parents(dest, 0755);
	return rc < 0 ? rc : fs_write_atomic(dest, "", 0);
}

/* Assembles, checks and places a complete object.  1 if placed. */
static int entry_finish(struct sat_recv *r, struct sat_entry *e)
{
	AUTO_FREE char *dest = fs_join(r->o.drop_dir, e->f->location);
	AUTO_FREE char *tmp = NULL, *marker = placed_marker(r, e->f);
	int fd = -1, rc;

	if (!dest || !marker)
		return -ENOMEM;
	rc = fs_mkdir_parents(dest, 0755);
	if (rc == 0)
		rc = fs_tmp_open(&fd, &tmp, dest);
	if (rc < 0)
		return rc;
	rc = spool_object_assemble(e->o, fd);
	if (rc < 0) {
		fs_tmp_abort(fd, tmp);
		if (rc != -EBADMSG)
			return rc;
		r->st.hash_bad++; /* the spool starts the object over */
		sat_log(r, "%s: decoded bytes do not match the file table's SHA-256; receiving it again",
			e->f->location);
		return 0;
	}
	rc = sat_check_file(e->f->location, tmp, e->f->sha256, r->o.drop_dir, r->o.keys,
			    r->o.nkeys);
	if (rc < 0) {
		fs_tmp_abort(fd, tmp);
		if (rc == -EAGAIN && e->state != SAT_DEFERRED) {
			sat_log(r, "%s", err_detail());
			e->state = SAT_DEFERRED;
		} else if (rc == -EBADMSG || rc == -EKEYREJECTED || rc == -EFBIG) {
			r->st.refused++;
			sat_log(r, "%s", err_detail());
			e->state = SAT_REFUSED;
			rc = spool_object_remove(e->o);
			e->o = NULL;
			r->nopen--;
			return rc < 0 ? rc : 0;
		}
		return rc == -EAGAIN ? 0 : rc;
	}
	rc = fs_tmp_commit(fd, tmp, dest);
	if (rc == 0)
		rc = fs_mkdir_parents(marker, 0755);
	if (rc == 0)
		rc = fs_write_atomic(marker, "", 0);
	if (rc < 0)
		return rc;
	e->state = SAT_PLACED;
	r->st.placed++;
	sat_log(r, "placed %s (%llu bytes)", e->f->location, (unsigned long long)e->f->length);
	rc = spool_object_remove(e->o);
	e->o = NULL;
	r->nopen--;
	return rc < 0 ? rc : 1;
}

/* Files whose check waited for another file: try them again. */
static int retry_deferred(struct sat_recv *r)
{
	int placed = 0, rc;

	for (size_t i = 0; i < r->ne; i++) {
		if (r->e[i].state != SAT_DEFERRED || !r->e[i].o)
			continue;
		rc = entry_finish(r, &r->e[i]);
		if (rc < 0)
			return rc;
		placed += rc;
	}
	return placed;
}

/* Opens e's object for p's symbol once there is room for it (its folder
 * if new, the symbol if it would be kept).  1 go on, 0 dropped. */
static int room_for(struct sat_recv *r, struct sat_entry *e, const struct flute_packet *p)
{
	const struct rq_oti *have = e->o ? &spool_object_id(e->o)->oti : NULL;
	struct sat_object_id id;
	int rc;

	if (!have || have->symbol_size != p->oti.symbol_size ||
	    have->source_blocks != p->oti.source_blocks || have->alignment != p->oti.alignment) {
		memcpy(id.sha.b, e->f->sha256, 32);
		id.oti = p->oti;
		if (rq_oti_check(&id.oti) == 0 && !spool_find(r->sp, &id)) {
			if (have)
				sat_entry_close(r, e); /* another identity: not its own */
			if (!sat_room_admit(r, spool_object_need(&p->oti) + strlen(e->f->location)))
				return 0;
			rc = sat_room_make(r, e,
					   spool_new_object_cost(&p->oti) + strlen(e->f->location));
			if (rc <= 0)
				return rc;
		}
	}
	rc = entry_open(r, e, &p->oti);
	if (rc < 0)
		return rc;
	if (!spool_object_wants(e->o, p->sbn, p->esi))
		return 1; /* spool_object_add() counts it */
	return sat_room_make(r, e, spool_object_add_cost(e->o, p->sbn));
}

static int content_packet(struct sat_recv *r, const struct flute_packet *p)
{
	struct sat_entry *e = entry_find(r, p->toi);
	int rc;

	if (!e) {
		r->st.unknown++;
		return 0;
	}
	if (e->state == SAT_EMPTY) {
		r->st.bad++; /* an empty file has no symbols */
		return 0;
	}
	if (e->state != SAT_WAITING) {
		r->st.useless++;
		return 0;
	}
	if (p->oti.transfer_length != e->f->length) {
		r->st.bad++;
		return 0;
	}
	rc = room_for(r, e, p);
	if (rc <= 0)
		return rc;
	e->used = ++r->tick;
	rc = spool_object_add(e->o, p->sbn, p->esi, p->symbol, p->oti.symbol_size);
	if (rc < 0) {
		r->st.bad += rc == -EBADMSG;
		return rc == -EBADMSG ? 0 : rc;
	}
	if (rc == 0) {
		r->st.useless++;
		/* Decoded by an earlier run that stopped before placing it. */
		return spool_object_complete(e->o) ? entry_finish(r, e) : 0;
	}
	r->st.kept++;
	if (spool_object_block_ready(e->o, p->sbn)) {
		rc = spool_object_decode_block(e->o, p->sbn);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	if (!spool_object_complete(e->o))
		return 0;
	return entry_finish(r, e);
}

int sat_recv_packet(struct sat_recv *r, const void *buf, size_t len)
{
	struct flute_packet p;
	int rc, more;

	r->st.packets++;
	rc = flute_packet_parse(&p, buf, len, r->o.tsi);
	if (rc == -ESRCH) {
		r->st.foreign++;
		return 0;
	}
	if (rc < 0) {
		r->st.bad++;
		return 0;
	}
	if (p.toi == FLUTE_FDT_TOI) {
		rc = 0;
		if (r->heard_content) {
			r->heard_content = false;
			rc = sat_room_round(r);
		}
		if (rc == 0)
			rc = sat_fdt_packet(r, &p);
		for (size_t i = 0; rc == 0 && i < r->ne; i++)
			if (r->e[i].state == SAT_EMPTY)
				rc = place_empty(r, &r->e[i]);
		return rc;
	}
	r->heard_content = true;
	rc = content_packet(r, &p);
	if (rc <= 0)
		return rc;
	more = retry_deferred(r);
	return more < 0 ? more : rc + more;
}

static int load_saved_fdt(struct sat_recv *r)
{
	AUTO_FREE char *path = fs_join(spool_dir(r->sp), SAT_FDT_FILE);
	struct buf xml;
	int rc;

	if (!path)
		return -ENOMEM;
	buf_init(&xml, FLUTE_FDT_MAX_BYTES);
	rc = fs_read_file(&xml, path, FLUTE_FDT_MAX_BYTES);
	if (rc == 0)
		rc = sat_fdt_apply(r, xml.data, xml.len, false);
	buf_release(&xml);
	/* None yet, or a damaged one: the next table on the air replaces it. */
	return rc == -ENOENT || rc == -EBADMSG || rc == -EFBIG ? 0 : rc;
}

int sat_recv_new(struct sat_recv **out, const struct sat_recv_opts *o)
{
	struct sat_recv *r = mem_calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->o.drop_dir = r->drop = mem_strdup(o->drop_dir);
	flute_fdt_init(&r->fdt);
	buf_init(&r->fdt_xml, FLUTE_FDT_MAX_BYTES);
	rc = r->drop ? spool_open(&r->sp, o->spool_dir) : -ENOMEM;
	if (rc == 0)
		rc = fs_mkdir_p(o->drop_dir, 0755);
	if (rc == 0) {
		sat_room_load(r);
		rc = load_saved_fdt(r);
	}
	if (rc < 0) {
		sat_recv_free(r);
		return err_keep(rc, "satellite receiver: %s", strerror(-rc));
	}
	*out = r;
	return 0;
}

void sat_recv_free(struct sat_recv *r)
{
	if (!r)
		return;
	sat_entries_release(r);
	sat_fdt_rx_release(&r->rx);
	flute_fdt_release(&r->fdt);
	buf_release(&r->fdt_xml);
	spool_free(r->sp);
	mem_free(r->drop);
	mem_free(r);
}

const struct sat_recv_stats *sat_recv_stats(const struct sat_recv *r)
{
	return &r->st;
}

void sat_recv_files(const struct sat_recv *r, size_t *listed, size_t *placed)
{
	*listed = r->ne;
	*placed = 0;
	for (size_t i = 0; i < r->ne; i++)
		*placed += r->e[i].state == SAT_PLACED || r->e[i].state == SAT_EMPTY;
}

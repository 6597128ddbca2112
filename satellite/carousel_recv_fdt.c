/*
 * carousel_recv_fdt.c — receiving the file table (TOI 0).
 *
 * The FDT is small and changes with every release, so it is decoded in
 * memory (at most FLUTE_FDT_MAX_BYTES) rather than spooled.  A packet of
 * another instance ID or other parameters starts a fresh table: the sender
 * moved on.  A decoded table is not trusted — it is unsigned — only used:
 * it says which TOI carries which (location, length, SHA-256), and every
 * file it names is checked by hash and more before it is placed.  The
 * table in use is kept in the spool (fdt.xml), so a receiver restarted
 * after a power cut can spool symbols at once instead of waiting for the
 * next table.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel_recv_int.h"

void sat_fdt_rx_release(struct sat_fdt_rx *rx)
{
	for (uint32_t i = 0; rx->dec && i < rx->oti.source_blocks; i++)
		rq_decoder_free(rx->dec[i]);
	mem_free(rx->dec);
	mem_free(rx->done);
	mem_free(rx->data);
	memset(rx, 0, sizeof(*rx));
}

static bool same_oti(const struct rq_oti *a, const struct rq_oti *b)
{
	return a->transfer_length == b->transfer_length && a->symbol_size == b->symbol_size &&
	       a->source_blocks == b->source_blocks && a->sub_blocks == b->sub_blocks &&
	       a->alignment == b->alignment;
}

static int rx_start(struct sat_fdt_rx *rx, const struct flute_packet *p)
{
	size_t z = p->oti.source_blocks;

	sat_fdt_rx_release(rx);
	if (p->oti.transfer_length > FLUTE_FDT_MAX_BYTES)
		return err_set(-EFBIG, "file table of %llu bytes",
			       (unsigned long long)p->oti.transfer_length);
	rx->oti = p->oti;
	rx->instance = p->fdt_instance;
	rx->dec = mem_calloc(z, sizeof(*rx->dec));
	rx->done = mem_calloc(z, sizeof(*rx->done));
	rx->data = mem_alloc((size_t)p->oti.transfer_length);
	if (!rx->dec || !rx->done || !rx->data) {
		sat_fdt_rx_release(rx);
		return -ENOMEM;
	}
	rx->active = true;
	return 0;
}

/* Offers the symbol to its block; decodes the block when it can. */
static int rx_symbol(struct sat_fdt_rx *rx, const struct flute_packet *p)
{
	struct rq_decoder **d = &rx->dec[p->sbn];
	AUTO_FREE uint8_t *out = NULL;
	struct rq_block b;
	int r;

	r = rq_oti_block(&b, &rx->oti, p->sbn);
	if (r < 0 || rx->done[p->sbn])
		return r;
	if (!*d && (r = rq_decoder_new(d, b.source_symbols, rx->oti.symbol_size)) < 0)
		return r;
	r = rq_decoder_add(*d, p->esi, p->symbol, rx->oti.symbol_size);
	if (r <= 0 || rq_decoder_count(*d) < b.source_symbols)
		return r < 0 ? r : 0;
	out = mem_alloc((size_t)b.source_symbols * rx->oti.symbol_size);
	if (!out)
		return -ENOMEM;
	r = rq_decoder_decode(out, *d);
	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return r;
	memcpy(rx->data + b.offset, out, b.length);
	rx->done[p->sbn] = true;
	rq_decoder_free(*d);
	*d = NULL;
	return 0;
}

static bool rx_complete(const struct sat_fdt_rx *rx)
{
	for (uint32_t i = 0; i < rx->oti.source_blocks; i++)
		if (!rx->done[i])
			return false;
	return true;
}

int sat_fdt_packet(struct sat_recv *r, const struct flute_packet *p)
{
	struct sat_fdt_rx *rx = &r->rx;
	int rc;

	if (r->fdt_current && p->fdt_instance == r->fdt_instance &&
	    same_oti(&p->oti, &r->fdt_oti)) {
		r->st.useless++;
		return 0;
	}
	if (!rx->active || rx->instance != p->fdt_instance || !same_oti(&rx->oti, &p->oti)) {
		rc = rx_start(rx, p);
		if (rc == -EFBIG) {
			r->st.bad++;
			return 0;
		}
		if (rc < 0)
			return rc;
	}
	rc = rx_symbol(rx, p);
	if (rc < 0)
		return rc;
	r->st.kept++;
	if (!rx_complete(rx))
		return 0;
	rc = sat_fdt_apply(r, rx->data, (size_t)rx->oti.transfer_length, true);
	if (rc == -EBADMSG || rc == -EFBIG) {
		sat_log(r, "file table %u refused: %s", rx->instance, err_detail());
		r->st.bad++;
		sat_fdt_rx_release(rx);
		return 0;
	}
	if (rc < 0)
		return rc;
	r->fdt_current = true;
	r->fdt_instance = rx->instance;
	r->fdt_oti = rx->oti;
	r->st.fdts++;
	sat_fdt_rx_release(rx);
	return 0;
}

static int by_toi(const void *a, const void *b)
{
	const struct sat_entry *x = a, *y = b;

	return x->f->toi < y->f->toi ? -1 : x->f->toi > y->f->toi;
}

static int build_entries(struct sat_recv *r)
{
	size_t placed = 0;

	r->e = mem_calloc(r->fdt.n ? r->fdt.n : 1, sizeof(*r->e));
	if (!r->e)
		return -ENOMEM;
	for (size_t i = 0; i < r->fdt.n; i++) {
		r->e[i].f = &r->fdt.files[i];
		r->e[i].state = sat_entry_initial(r, &r->fdt.files[i]);
		placed += r->e[i].state == SAT_PLACED;
	}
	r->ne = r->fdt.n;
	qsort(r->e, r->ne, sizeof(*r->e), by_toi);
	sat_room_mark(r);
	sat_log(r, "file table: %zu files, %zu already in the drop", r->ne, placed);
	return 0;
}

int sat_fdt_apply(struct sat_recv *r, const void *xml, size_t len, bool save)
{
	AUTO_FREE char *path = NULL;
	struct flute_fdt fdt;
	int rc;

	if (r->fdt_xml.len == len && len && memcmp(r->fdt_xml.data, xml, len) == 0)
		return 0; /* the same table again */
	rc = flute_fdt_parse(&fdt, xml, len);
	if (rc < 0) {
		flute_fdt_release(&fdt);
		return rc;
	}
	if (save) {
		path = fs_join(spool_dir(r->sp), SAT_FDT_FILE);
		rc = path ? fs_write_atomic(path, xml, len) : -ENOMEM;
		if (rc < 0) {
			flute_fdt_release(&fdt);
			return rc;
		}
	}
	sat_entries_release(r);
	flute_fdt_release(&r->fdt);
	r->fdt = fdt;
	buf_reset(&r->fdt_xml);
	rc = buf_append(&r->fdt_xml, xml, len);
	if (rc == 0)
		rc = build_entries(r);
	return rc;
}

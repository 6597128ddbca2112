/*
 * carousel_recv_int.h — the receiver's state, shared by carousel_recv.c
 * (objects, spool, drop) and carousel_recv_fdt.c (the file table).
 */
#ifndef FERRY_SATELLITE_CAROUSEL_RECV_INT_H
#define FERRY_SATELLITE_CAROUSEL_RECV_INT_H

#include "core/buf.h"
#include "satellite/carousel_recv.h"
#include "satellite/flute.h"
#include "satellite/spool.h"

#define SAT_FDT_FILE "fdt.xml"      /* the last file table, in the spool */
#define SAT_PLACED_DIR "placed"     /* <sha hex>-<length>: placed in the drop */
#define SAT_ROOM_FILE "room"        /* cap and counters, for status */

enum sat_entry_state {
	SAT_WAITING,   /* being received */
	SAT_PLACED,    /* in the drop */
	SAT_DEFERRED,  /* decoded and sound, a check waits for another file */
	SAT_REFUSED,   /* a location or content the checks refuse */
	SAT_EMPTY,     /* length 0: RaptorQ sends nothing (placed directly) */
};

struct sat_entry {
	const struct flute_fdt_file *f; /* into r->fdt */
	enum sat_entry_state state;
	struct spool_object *o;         /* open while receiving, or NULL */
	uint64_t used;                  /* for closing the least recently used */
};

/* The file table being decoded (TOI 0), in memory. */
struct sat_fdt_rx {
	bool active;
	uint32_t instance;
	struct rq_oti oti;
	struct rq_decoder **dec;        /* per block, created on first symbol */
	bool *done;
	uint8_t *data;                  /* F bytes */
};

struct sat_recv {
	struct sat_recv_opts o;
	char *drop;                     /* o.drop_dir, owned */
	struct spool *sp;
	struct sat_recv_stats st;
	struct sat_fdt_rx rx;
	bool fdt_current;               /* rx's instance is the table in use */
	uint32_t fdt_instance;
	struct rq_oti fdt_oti;
	struct buf fdt_xml;             /* the table in use, as received */
	struct flute_fdt fdt;
	struct sat_entry *e;            /* sorted by TOI */
	size_t ne;
	size_t nopen;
	uint64_t tick;
	bool heard_content;             /* a content packet since the last FDT packet */
	struct sat_room_saved saved;    /* what SPOOL/room holds */
};

void sat_log(struct sat_recv *r, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* Handles a TOI 0 packet. */
int sat_fdt_packet(struct sat_recv *r, const struct flute_packet *p) FERRY_MUST_USE;
void sat_fdt_rx_release(struct sat_fdt_rx *rx);

/* Makes xml (len bytes) the table in use: parsed, entries rebuilt, kept in
 * the spool.  -EBADMSG (nothing changed) if it does not parse. */
int sat_fdt_apply(struct sat_recv *r, const void *xml, size_t len, bool save) FERRY_MUST_USE;

/* Closes every open spool object and forgets the entries. */
void sat_entries_release(struct sat_recv *r);
/* Closes e's spool object (its files stay). */
void sat_entry_close(struct sat_recv *r, struct sat_entry *e);

/* carousel_recv_room.c: marks which spooled objects the table in use
 * lists (after every new table). */
void sat_room_mark(struct sat_recv *r);
/* A file-table round was heard: ages and deletes stale objects. */
int sat_room_round(struct sat_recv *r) FERRY_MUST_USE;
/* Makes need bytes of room for e (evicting other objects); 1 if there is
 * room, 0 if not (the caller drops the symbol and counts it). */
int sat_room_make(struct sat_recv *r, struct sat_entry *e, uint64_t need) FERRY_MUST_USE;
/* Whether a new object of need bytes may start: the objects the table
 * lists keep room for all they still need, so one starts only if it fits
 * beside them whole (objects no table lists do not count: they go first). */
bool sat_room_admit(struct sat_recv *r, uint64_t need);
/* Loads SPOOL/room's counters into the stats. */
void sat_room_load(struct sat_recv *r);

/* The state an entry starts in (placed already? a location refused?). */
enum sat_entry_state sat_entry_initial(struct sat_recv *r, const struct flute_fdt_file *f);

#endif

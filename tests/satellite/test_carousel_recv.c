/*
 * test_carousel_recv.c — unit tests of the satellite receiver
 * (satellite/carousel_recv*.c), fed packets directly (no network).
 *
 * A small repository (a signed head, a git list, two content-addressed
 * packs) is coded into FLUTE packets as a sender would; the receiver gets
 * them with random loss, repair symbols and a restart halfway (the file
 * table then comes from the spool, not the air), and must place every
 * file byte for byte.  Then the hostile cases: foreign TSI, truncated and
 * absurd packets, a forged table entry whose hash does not match, a pack
 * whose name is not its hash, a head signed by an untrusted key, a path
 * outside the repository layout — counted, never placed, never a crash.
 * The spool's room (carousel_recv_room.c): under a small cap, symbols of a
 * new file are dropped while the spool is full of files further along; a
 * file further along evicts one holding less; an object the table no
 * longer lists goes first; the cap is checked after every packet; packs
 * that together exceed the cap all arrive, file by file; an unlisted
 * object is deleted after the set number of file-table rounds and not
 * before, a restart starting its count over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "manifests/repo.h"
#include "manifests/sshsig.h"
#include "satellite/carousel_recv.h"
#include "satellite/flute.h"
#include "satellite/spool.h"
#include "tests/harness.h"

#define TSI 7u
#define T 256u
#define MAXK 40u

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct file {
	char location[200];
	struct buf data;
	uint8_t sha[32];     /* what the table claims */
};

struct repo {
	struct file f[8];
	size_t n;
	struct ssh_pubkey pub;
};

static struct file *add_file(struct repo *r, const char *loc, const void *p, size_t n)
{
	struct file *f = &r->f[r->n++];

	snprintf(f->location, sizeof(f->location), "%s", loc);
	buf_init(&f->data, 1 << 24);
	CHECK_OK(buf_append(&f->data, p, n));
	sha256_buf((struct sha256 *)f->sha, p, n);
	return f;
}

static void add_pack(struct repo *r, size_t n)
{
	AUTO_FREE uint8_t *p = malloc(n);
	char hex[65], loc[100];
	struct sha256 h;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
	sha256_buf(&h, p, n);
	hex_encode(hex, h.b, 32);
	snprintf(loc, sizeof(loc), "packs/%.2s/%s.pack", hex, hex);
	add_file(r, loc, p, n);
}

static void key_from_seed(struct ssh_privkey *k, struct ssh_pubkey *pub, uint8_t seed)
{
	memset(k, 0, sizeof(*k));
	memset(k->seed, seed, sizeof(k->seed));
	CHECK_OK(ed25519_public_from_seed(k->pub, k->seed));
	sshkey_public_from_private(pub, k);
}

static void add_head(struct repo *r, uint8_t seed)
{
	struct mf_head h = { .version = 3, .time = 1700000000, .files = 2, .size = 10,
			     .stored = 10 };
	struct ssh_privkey k;
	struct ssh_pubkey pub;
	struct buf file;

	snprintf(h.channel, sizeof(h.channel), "main");
	snprintf(h.git_pack, sizeof(h.git_pack), "pack-%040d.pack", 0);
	memset(h.repo, 0x11, sizeof(h.repo));
	memset(h.commit, 0x22, sizeof(h.commit));
	key_from_seed(&k, &pub, seed);
	buf_init(&file, 1 << 16);
	CHECK_OK(mf_head_sign(&file, &h, &k));
	add_file(r, "heads/main", file.data, file.len);
	buf_release(&file);
}

static void make_repo(struct repo *r)
{
	struct ssh_privkey k;
	static const char list[] = "P pack-0000000000000000000000000000000000000000.pack\n\n";

	memset(r, 0, sizeof(*r));
	key_from_seed(&k, &r->pub, 0x42);
	add_head(r, 0x42);
	add_file(r, "manifests.git/objects/info/packs", list, sizeof(list) - 1);
	add_pack(r, 30000); /* 118 symbols: 3 blocks */
	add_pack(r, 1000);
}

static void repo_free(struct repo *r)
{
	for (size_t i = 0; i < r->n; i++)
		buf_release(&r->f[i].data);
}

/* When set, every packet fed is followed by a check that the spool is
 * within its cap. */
static bool check_cap;

/* The packets of one object: ESIs esi_lo .. esi_end - 1 of every block. */
static void feed_range(struct sat_recv *rx, uint32_t toi, const void *data, size_t len,
		       uint32_t instance, uint32_t esi_lo, uint32_t esi_end, unsigned loss_pct)
{
	struct flute_packet p = { .tsi = TSI, .toi = toi, .fdt_instance = instance };
	uint8_t sym[T], pkt[FLUTE_PACKET_MAX];
	struct rq_encoder *enc;
	struct rq_block b;
	size_t n;

	CHECK_OK(rq_oti_for(&p.oti, len, T, MAXK));
	for (uint32_t s = 0; s < p.oti.source_blocks; s++) {
		CHECK_OK(rq_oti_block(&b, &p.oti, s));
		CHECK_OK(rq_encoder_new(&enc, (const uint8_t *)data + b.offset, b.length,
					b.source_symbols, T));
		for (uint32_t esi = esi_lo; esi < esi_end; esi++) {
			if (rng() % 100 < loss_pct)
				continue;
			CHECK_OK(rq_encoder_symbol(sym, enc, esi));
			p.sbn = (uint8_t)s;
			p.esi = esi;
			p.symbol = sym;
			CHECK_OK(flute_packet_encode(pkt, sizeof(pkt), &n, &p));
			CHECK(sat_recv_packet(rx, pkt, n) >= 0);
			if (check_cap) {
				uint64_t used, cap;

				sat_recv_room(rx, &used, &cap);
				CHECK_MSG(used <= cap, "spool %llu bytes over its cap %llu",
					  (unsigned long long)used, (unsigned long long)cap);
			}
		}
		rq_encoder_free(enc);
	}
}

static void feed_object(struct sat_recv *rx, uint32_t toi, const void *data, size_t len,
			uint32_t instance, uint32_t esi_end, unsigned loss_pct)
{
	feed_range(rx, toi, data, len, instance, 0, esi_end, loss_pct);
}

/* A table listing the files whose bit is set in mask (TOI = index + 1). */
static void feed_fdt_mask(struct sat_recv *rx, const struct repo *r, uint32_t instance,
			  unsigned mask)
{
	struct flute_fdt fdt;
	struct buf xml;

	flute_fdt_init(&fdt);
	for (size_t i = 0; i < r->n; i++)
		if (mask & (1u << i))
			CHECK_OK(flute_fdt_add(&fdt, (uint32_t)i + 1, r->f[i].location, r->f[i].data.len,
				       r->f[i].sha));
	buf_init(&xml, FLUTE_FDT_MAX_BYTES);
	CHECK_OK(flute_fdt_write(&xml, &fdt));
	feed_object(rx, 0, xml.data, xml.len, instance, 200, 0);
	buf_release(&xml);
	flute_fdt_release(&fdt);
}

static void feed_fdt(struct sat_recv *rx, const struct repo *r, uint32_t instance)
{
	feed_fdt_mask(rx, r, instance, ~0u);
}

static char *fresh(const char *name)
{
	char *d = fs_join(t_tmpdir(), name);
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
	return d;
}

static bool in_drop(const char *drop, const struct file *f)
{
	AUTO_FREE char *path = fs_join(drop, f->location);
	struct buf b;
	bool same;

	buf_init(&b, f->data.len + 1);
	same = fs_read_file(&b, path, f->data.len + 1) == 0 && b.len == f->data.len &&
	       memcmp(b.data, f->data.data, b.len) == 0;
	buf_release(&b);
	return same;
}

static void on_log(const char *line, void *ctx)
{
	(void)ctx;
	printf("# %s\n", line);
}

static void open_rx_room(struct sat_recv **rx, const char *base, const struct ssh_pubkey *key,
			 uint64_t spool_max, uint32_t stale_rounds)
{
	AUTO_FREE char *spool = fs_join(base, "spool"), *drop = fs_join(base, "drop");
	struct sat_recv_opts o = { .spool_dir = spool, .drop_dir = drop, .tsi = TSI,
				   .keys = key, .nkeys = 1, .log = on_log,
				   .spool_max = spool_max, .stale_rounds = stale_rounds };

	CHECK_OK(sat_recv_new(rx, &o));
}

static void open_rx(struct sat_recv **rx, const char *base, const struct ssh_pubkey *key)
{
	open_rx_room(rx, base, key, 0, 0);
}

/* Whether the spool under base holds a folder for file f. */
static bool spooled(const char *base, const struct file *f)
{
	char name[SPOOL_ID_NAME_LEN + 1], rel[SPOOL_ID_NAME_LEN + 16];
	struct sat_object_id id;
	AUTO_FREE char *path = NULL;

	memcpy(id.sha.b, f->sha, 32);
	CHECK_OK(rq_oti_for(&id.oti, f->data.len, T, MAXK));
	spool_id_name(name, &id);
	snprintf(rel, sizeof(rel), "spool/%s", name);
	path = fs_join(base, rel);
	return fs_exists(path);
}

static uint64_t spool_bytes(struct sat_recv *rx)
{
	uint64_t used, cap;

	sat_recv_room(rx, &used, &cap);
	return used;
}

/* Four packs, A B C D, of 40000 bytes (157 symbols each). */
static void make_packs(struct repo *r)
{
	struct ssh_privkey k;

	memset(r, 0, sizeof(*r));
	key_from_seed(&k, &r->pub, 0x42);
	for (int i = 0; i < 4; i++)
		add_pack(r, 40000);
}

static void test_room_eviction_order(void)
{
	AUTO_FREE char *base = fresh("room"), *drop = fs_join(base, "drop");
	const struct sat_recv_stats *st;
	struct sat_recv *rx;
	struct repo r;
	uint64_t filled;
	bool all;

	make_packs(&r);
	open_rx(&rx, base, &r.pub);
	feed_fdt(rx, &r, 1);
	feed_object(rx, 1, r.f[0].data.data, r.f[0].data.len, 0, 20, 0); /* A: half */
	feed_object(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 10, 0); /* B: a quarter */
	filled = spool_bytes(rx);
	sat_recv_free(rx);
	/* A cap 1000 bytes above that: no room for a new file's folder. */
	check_cap = true;
	open_rx_room(&rx, base, &r.pub, filled + 1000, 0);
	st = sat_recv_stats(rx);
	CHECK_EQ_U(spool_bytes(rx), filled);
	feed_object(rx, 3, r.f[2].data.data, r.f[2].data.len, 0, 20, 0);
	CHECK(!spooled(base, &r.f[2]));
	CHECK(st->dropped > 0);
	CHECK_EQ_U(st->evicted, 0);
	CHECK(spooled(base, &r.f[0]) && spooled(base, &r.f[1]));
	/* A, further along, grows: B (holding less) is evicted for it. */
	feed_range(rx, 1, r.f[0].data.data, r.f[0].data.len, 0, 20, 25, 0);
	CHECK_EQ_U(st->evicted, 1);
	CHECK(!spooled(base, &r.f[1]) && spooled(base, &r.f[0]));
	/* A new table without A; a cap with room for one pack whole (its
	 * need, about 55 KB) beside nothing else listed: C starts, and when it
	 * needs A's room, A goes though it holds more than C. */
	feed_fdt_mask(rx, &r, 2, 0xe);
	sat_recv_free(rx);
	open_rx_room(&rx, base, &r.pub, 60000, 0);
	st = sat_recv_stats(rx);
	feed_object(rx, 3, r.f[2].data.data, r.f[2].data.len, 0, 10, 0);
	CHECK(spooled(base, &r.f[0]) && spooled(base, &r.f[2]));
	CHECK_EQ_U(st->evicted, 0);
	feed_object(rx, 3, r.f[2].data.data, r.f[2].data.len, 0, 30, 0);
	CHECK_EQ_U(st->evicted, 1);
	CHECK(!spooled(base, &r.f[0]) && spooled(base, &r.f[2]));
	/* D may not start beside C: C keeps room for all it needs. */
	feed_object(rx, 4, r.f[3].data.data, r.f[3].data.len, 0, 10, 0);
	CHECK(!spooled(base, &r.f[3]));
	CHECK(st->dropped > 0);
	sat_recv_free(rx);
	/* Room for one pack and a bit: B, C and D, sent turn by turn, all
	 * arrive, file by file, and the spool never passes its cap. */
	open_rx_room(&rx, base, &r.pub, 60000, 0);
	st = sat_recv_stats(rx);
	all = false;
	for (uint32_t pass = 0; pass < 30 && !all; pass++) {
		all = true;
		for (size_t i = 1; i < 4; i++) {
			feed_range(rx, (uint32_t)i + 1, r.f[i].data.data, r.f[i].data.len, 0,
				   pass * 20, pass * 20 + 20, 0);
			all &= in_drop(drop, &r.f[i]);
		}
	}
	for (size_t i = 1; i < 4; i++)
		CHECK_MSG(in_drop(drop, &r.f[i]), "%s not placed", r.f[i].location);
	CHECK(st->dropped > 0); /* the cap did bite */
	CHECK(st->spool_peak <= 60000);
	CHECK_EQ_U(spool_bytes(rx), 0);
	check_cap = false;
	sat_recv_free(rx);
	repo_free(&r);
}

static void test_room_stale(void)
{
	AUTO_FREE char *base = fresh("stale");
	const struct sat_recv_stats *st;
	struct sat_recv *rx;
	struct repo r;
	uint64_t rounds;

	make_packs(&r);
	open_rx_room(&rx, base, &r.pub, 0, 3);
	st = sat_recv_stats(rx);
	feed_fdt_mask(rx, &r, 1, 0x3);
	feed_object(rx, 1, r.f[0].data.data, r.f[0].data.len, 0, 10, 0);
	feed_object(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 5, 0);
	/* The next release drops A; its table (one round) comes twice. */
	rounds = st->fdt_rounds;
	feed_fdt_mask(rx, &r, 2, 0x2);
	feed_fdt_mask(rx, &r, 2, 0x2); /* no content in between: no round */
	CHECK_EQ_U(st->fdt_rounds, rounds + 1);
	for (uint32_t i = 0; i < 2; i++) { /* A ages 1, 2 */
		feed_range(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 5 + i, 6 + i, 0);
		feed_fdt_mask(rx, &r, 2, 0x2);
	}
	CHECK(spooled(base, &r.f[0]));
	CHECK_EQ_U(st->stale, 0);
	/* A power cut: the count starts over. */
	sat_recv_free(rx);
	open_rx_room(&rx, base, &r.pub, 0, 3);
	st = sat_recv_stats(rx);
	for (uint32_t i = 0; i < 2; i++) {
		feed_range(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 7 + i, 8 + i, 0);
		feed_fdt_mask(rx, &r, 2, 0x2);
	}
	CHECK(spooled(base, &r.f[0]));
	feed_range(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 9, 10, 0);
	feed_fdt_mask(rx, &r, 2, 0x2); /* the third round heard without A */
	CHECK(!spooled(base, &r.f[0]));
	CHECK_EQ_U(st->stale, 1);
	/* B, listed, never ages however many rounds go by. */
	for (uint32_t i = 0; i < 6; i++) {
		feed_range(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 10 + i, 11 + i, 0);
		feed_fdt_mask(rx, &r, 2, 0x2);
	}
	CHECK(spooled(base, &r.f[1]));
	CHECK_EQ_U(st->stale, 1);
	sat_recv_free(rx);
	repo_free(&r);
}

static void test_lossy_with_restart(void)
{
	AUTO_FREE char *base = fresh("lossy"), *drop = fs_join(base, "drop");
	struct sat_recv *rx;
	struct repo r;
	size_t listed, placed;
	uint64_t before;

	make_repo(&r);
	open_rx(&rx, base, &r.pub);
	feed_fdt(rx, &r, 1);
	sat_recv_files(rx, &listed, &placed);
	CHECK_EQ_U(listed, r.n);
	CHECK_EQ_U(placed, 0);
	/* First pass: source symbols only, 25 % lost: nothing complete. */
	for (size_t i = 0; i < r.n; i++)
		feed_object(rx, (uint32_t)i + 1, r.f[i].data.data, r.f[i].data.len, 0, 10, 25);
	sat_recv_free(rx);
	/* A restart: the table is read back from the spool. */
	open_rx(&rx, base, &r.pub);
	sat_recv_files(rx, &listed, &placed);
	CHECK_EQ_U(listed, r.n);
	for (size_t i = 0; i < r.n; i++)
		feed_object(rx, (uint32_t)i + 1, r.f[i].data.data, r.f[i].data.len, 0, 80, 25);
	sat_recv_files(rx, &listed, &placed);
	CHECK_EQ_U(placed, r.n);
	before = sat_recv_stats(rx)->placed;
	CHECK(before >= 1); /* the 30000-byte pack needed the second run */
	for (size_t i = 0; i < r.n; i++)
		CHECK_MSG(in_drop(drop, &r.f[i]), "%s not placed intact", r.f[i].location);
	/* Everything again: nothing new, nothing re-placed. */
	feed_object(rx, 3, r.f[2].data.data, r.f[2].data.len, 0, 80, 0);
	CHECK_EQ_U(sat_recv_stats(rx)->placed, before);
	CHECK(sat_recv_stats(rx)->useless > 0);
	sat_recv_free(rx);
	repo_free(&r);
}

static void test_hostile(void)
{
	AUTO_FREE char *base = fresh("hostile"), *drop = fs_join(base, "drop");
	struct sat_recv *rx;
	struct repo r;
	const struct sat_recv_stats *st;
	uint8_t pkt[FLUTE_PACKET_MAX];
	size_t n;
	struct flute_packet p = { .tsi = TSI + 1, .toi = 1 };
	uint8_t sym[T] = { 0 };

	make_repo(&r);
	r.f[2].sha[5] ^= 1;           /* the table lies about a pack's hash */
	add_pack(&r, 500);
	r.f[4].location[20] = r.f[4].location[20] == '0' ? '1' : '0'; /* misnamed pack */
	add_head(&r, 0x43);           /* signed by an untrusted key ... */
	snprintf(r.f[5].location, sizeof(r.f[5].location), "heads/other");
	add_file(&r, "etc/passwd", "root::0:0\n", 10);
	open_rx(&rx, base, &r.pub);
	st = sat_recv_stats(rx);
	feed_fdt(rx, &r, 9);
	/* A foreign session, garbage, truncation, an absurd OTI. */
	p.symbol = sym;
	CHECK_OK(rq_oti_for(&p.oti, 1000, T, MAXK));
	CHECK_OK(flute_packet_encode(pkt, sizeof(pkt), &n, &p));
	CHECK_EQ_I(sat_recv_packet(rx, pkt, n), 0);
	CHECK_EQ_U(st->foreign, 1);
	pkt[11] = TSI; /* now our session: the length does not match the table */
	CHECK_EQ_I(sat_recv_packet(rx, pkt, n), 0);
	CHECK_EQ_I(sat_recv_packet(rx, pkt, n - 1), 0);
	pkt[18] = 0xff; /* F of 1 TiB and more */
	CHECK_EQ_I(sat_recv_packet(rx, pkt, n), 0);
	for (int i = 0; i < 2000; i++) {
		uint8_t junk[300];

		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = (uint8_t)rng();
		junk[0] = 0x10; /* LCT version 1, to get past the first check */
		CHECK_EQ_I(sat_recv_packet(rx, junk, 1 + rng() % sizeof(junk)), 0);
	}
	CHECK_MSG(st->bad + st->foreign >= 2004, "bad %llu unknown %llu foreign %llu",
		  (unsigned long long)st->bad, (unsigned long long)st->unknown,
		  (unsigned long long)st->foreign);
	for (size_t i = 0; i < r.n; i++)
		feed_object(rx, (uint32_t)i + 1, r.f[i].data.data, r.f[i].data.len, 0, 60, 0);
	CHECK(st->hash_bad >= 1);
	CHECK_EQ_U(st->refused, 2); /* the misnamed pack, the untrusted head */
	CHECK(in_drop(drop, &r.f[0]) && in_drop(drop, &r.f[1]) && in_drop(drop, &r.f[3]));
	for (size_t i = 2; i < r.n; i++) {
		AUTO_FREE char *path = fs_join(drop, r.f[i].location);

		if (i != 3)
			CHECK_MSG(!fs_exists(path), "%s was placed", r.f[i].location);
	}
	sat_recv_free(rx);
	repo_free(&r);
}

/* ferry.json waits for its signature; a power cut comes before the
 * signature; after the restart the decoded ferry.json in the spool is
 * placed once the signature is in the drop. */
static void test_config_waits_for_signature(void)
{
	AUTO_FREE char *base = fresh("config"), *drop = fs_join(base, "drop");
	static const char cfg[] = "{\"format\": 1}\n";
	struct ssh_privkey k;
	struct sat_recv *rx;
	struct repo r;
	struct buf sig;

	memset(&r, 0, sizeof(r));
	key_from_seed(&k, &r.pub, 0x42);
	buf_init(&sig, 1 << 16);
	CHECK_OK(sshsig_sign(&sig, &k, REPO_CONFIG_NAMESPACE, cfg, sizeof(cfg) - 1));
	add_file(&r, REPO_CONFIG_FILE, cfg, sizeof(cfg) - 1);
	add_file(&r, REPO_CONFIG_SIG_FILE, sig.data, sig.len);
	buf_release(&sig);
	open_rx(&rx, base, &r.pub);
	feed_fdt(rx, &r, 1);
	feed_object(rx, 1, r.f[0].data.data, r.f[0].data.len, 0, 3, 0);
	CHECK(!in_drop(drop, &r.f[0])); /* no signature yet */
	sat_recv_free(rx);
	open_rx(&rx, base, &r.pub);
	feed_object(rx, 2, r.f[1].data.data, r.f[1].data.len, 0, 5, 0);
	CHECK(in_drop(drop, &r.f[1]));
	feed_object(rx, 1, r.f[0].data.data, r.f[0].data.len, 0, 1, 0);
	CHECK(in_drop(drop, &r.f[0]));
	sat_recv_free(rx);
	repo_free(&r);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "a repository through loss, repair symbols and a restart", test_lossy_with_restart },
		{ "hostile packets and a lying file table", test_hostile },
		{ "ferry.json waits for its signature, across a restart",
		  test_config_waits_for_signature },
		{ "spool cap: drop, evict the least held, unlisted first, complete file by file",
		  test_room_eviction_order },
		{ "spool: an unlisted object deleted after N table rounds, a restart counts afresh",
		  test_room_stale },
		{ 0 } });
}

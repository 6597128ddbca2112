/*
 * cmd_sat_recv.c — `ferry sat recv STORE --group ADDR:PORT [--spool DIR]
 *                  [--drop DIR] [--iface IF] [--tsi N] [--channel NAME]...
 *                  [--sync-every S] [--exit-when-idle S | --until-installed]
 *                  [--spool-max SIZE]`
 *                  and `ferry sat status STORE [--spool DIR] [--drop DIR]`.
 *
 * The receiver (satellite/carousel_recv.h) turns packets into files in
 * the drop; this command hands the drop to the store: whenever files were
 * placed, and at most every --sync-every seconds, it runs exactly what
 * `ferry sync STORE --source DROP` runs, so a release broadcast completely
 * is installed with no other command.  Intervals use the monotonic clock
 * only; the wall clock is never consulted.  Bad and foreign packets are
 * counted and reported in one line at most every SAT_LOG_EVERY_MS.
 *
 * Defaults: spool STORE/local/sat/spool, drop STORE/local/sat/drop,
 * --spool-max SAT_RECV_DEFAULT_SPOOL_MAX (2 GiB; carousel_recv_room.c
 * keeps the spool under it).  The spool's cap and its eviction counters
 * are saved in SPOOL/room at start, every SAT_LOG_EVERY_MS and on exit,
 * for `ferry sat status`.
 * Exit: runs until SIGINT/SIGTERM (0); --exit-when-idle S: after S seconds
 * without a packet, 0 if the last hand-off left every channel up to date,
 * else 3; --until-installed: 0 as soon as a hand-off installs (or finds
 * installed) a release of every channel.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel_recv.h"
#include "satellite/spool.h"
#include "sync/store.h"
#include "sync/sync.h"

#define MAX_CHANNELS 64
#define SAT_LOG_EVERY_MS 10000
#define SAT_DRAIN_PACKETS 512
#define SAT_DGRAM_MAX 65536

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_log(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "ferry: sat recv: %s\n", line);
}

struct recv_args {
	const char *store, *group, *iface;
	char *spool, *drop;
	const char *channels[MAX_CHANNELS];
	size_t nchannels;
	uint32_t tsi;
	uint64_t sync_every_ms, idle_ms;
	uint64_t spool_max;
	bool until_installed;
};

struct recv_run {
	struct recv_args *a;
	struct sat_recv *r;
	int fd;
	bool pending;          /* files placed since the last hand-off */
	bool synced_once;
	bool up_to_date;       /* the last hand-off left nothing to do */
	bool installed;        /* ... and every channel has a release */
	uint64_t last_sync, last_packet, last_log, last_room;
	uint64_t logged_bad, logged_foreign;
};

/* Runs `ferry sync STORE --source DROP`. */
static void hand_off(struct recv_run *x)
{
	const char *sources[1] = { x->a->drop };
	struct sync_opts o = { 0 };
	struct sync_result res;
	int r;

	o.store = x->a->store;
	o.sources = sources;
	o.nsources = 1;
	o.channels = x->a->channels;
	o.nchannels = x->a->nchannels;
	o.log = on_log;
	r = sync_run(&res, &o);
	x->pending = r != 0 && r != -EKEYREJECTED && r != -EHOSTUNREACH && r != -EAGAIN;
	x->synced_once = true;
	x->last_sync = now_ms();
	x->up_to_date = r == 0;
	x->installed = r == 0 && res.nchannels > 0;
	for (size_t i = 0; i < res.nchannels; i++) {
		const struct sync_channel *ch = &res.channels[i];

		x->installed &= ch->version > 0;
		fprintf(stderr, "ferry: sat recv: hand-off: %s: %s release %llu%s%s\n", ch->name,
			ch->state == SYNC_INSTALLED	 ? "installed"
			: ch->state == SYNC_UP_TO_DATE ? "up to date at"
			: ch->state == SYNC_PARTIAL	 ? "partial,"
							 : "not yet,",
			(unsigned long long)ch->version, ch->reason[0] ? ": " : "", ch->reason);
	}
	if (r < 0 && res.nchannels == 0)
		fprintf(stderr, "ferry: sat recv: hand-off: %s\n", err_text(r));
}

static void log_drops(struct recv_run *x, uint64_t now)
{
	const struct sat_recv_stats *s = sat_recv_stats(x->r);

	if (now - x->last_log < SAT_LOG_EVERY_MS ||
	    (s->bad == x->logged_bad && s->foreign == x->logged_foreign))
		return;
	fprintf(stderr,
		"ferry: sat recv: dropped %llu malformed and %llu foreign-session packets "
		"(%llu packets in all)\n",
		(unsigned long long)(s->bad - x->logged_bad),
		(unsigned long long)(s->foreign - x->logged_foreign),
		(unsigned long long)s->packets);
	x->logged_bad = s->bad;
	x->logged_foreign = s->foreign;
	x->last_log = now;
}

/* Reads what the socket holds; <0 on a local failure. */
static int drain(struct recv_run *x, uint8_t *buf)
{
	for (int i = 0; i < SAT_DRAIN_PACKETS; i++) {
		ssize_t n = recv(x->fd, buf, SAT_DGRAM_MAX, MSG_DONTWAIT | MSG_TRUNC);
		int r;

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
		x->last_packet = now_ms();
		r = sat_recv_packet(x->r, buf, n > SAT_DGRAM_MAX ? SAT_DGRAM_MAX + 1 : (size_t)n);
		if (r < 0)
			return r;
		x->pending |= r > 0;
	}
	return 0;
}

/* The receive loop; returns the exit code. */
static int run_loop(struct recv_run *x)
{
	AUTO_FREE uint8_t *buf = mem_alloc(SAT_DGRAM_MAX + 1);
	struct pollfd pfd = { .fd = x->fd, .events = POLLIN };
	int r;

	if (!buf)
		return cli_fail(-ENOMEM, "sat recv");
	x->last_packet = x->last_log = now_ms();
	while (!stop_requested) {
		uint64_t now;

		if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
			return cli_fail(-errno, "sat recv: poll");
		r = drain(x, buf);
		if (r < 0)
			return cli_fail(r, "sat recv");
		now = now_ms();
		log_drops(x, now);
		if (now - x->last_room >= SAT_LOG_EVERY_MS) {
			r = sat_recv_save_room(x->r);
			if (r < 0)
				return cli_fail(r, "sat recv");
			x->last_room = now;
		}
		if (x->pending && (!x->synced_once || now - x->last_sync >= x->a->sync_every_ms))
			hand_off(x);
		if (x->a->until_installed && x->installed)
			return EXIT_DONE;
		if (x->a->idle_ms && now - x->last_packet >= x->a->idle_ms) {
			if (x->pending)
				hand_off(x);
			return x->up_to_date ? EXIT_DONE : EXIT_PARTIAL;
		}
	}
	return EXIT_DONE;
}

static int parse_seconds(uint64_t *ms, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 1e9)
		return -EINVAL;
	*ms = (uint64_t)(v * 1000);
	return 0;
}

static int parse_args(struct recv_args *a, struct cli *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		bool has = i + 1 < argc;
		char *end;

		if (cli_common_option(c, s))
			continue;
		if (strcmp(s, "--group") == 0 && has)
			a->group = argv[++i];
		else if (strcmp(s, "--iface") == 0 && has)
			a->iface = argv[++i];
		else if (strcmp(s, "--spool") == 0 && has)
			a->spool = argv[++i];
		else if (strcmp(s, "--drop") == 0 && has)
			a->drop = argv[++i];
		else if (strcmp(s, "--channel") == 0 && has && a->nchannels < MAX_CHANNELS)
			a->channels[a->nchannels++] = argv[++i];
		else if (strcmp(s, "--tsi") == 0 && has) {
			unsigned long v = strtoul(argv[++i], &end, 0);

			if (*end || v > UINT32_MAX)
				return EXIT_USAGE;
			a->tsi = (uint32_t)v;
		} else if (strcmp(s, "--sync-every") == 0 && has) {
			if (parse_seconds(&a->sync_every_ms, argv[++i]) < 0)
				return EXIT_USAGE;
		} else if (strcmp(s, "--exit-when-idle") == 0 && has) {
			if (parse_seconds(&a->idle_ms, argv[++i]) < 0 || a->idle_ms == 0)
				return EXIT_USAGE;
		} else if (strcmp(s, "--spool-max") == 0 && has) {
			if (cli_parse_size(&a->spool_max, argv[++i]) < 0 || a->spool_max == 0)
				return EXIT_USAGE;
		} else if (strcmp(s, "--until-installed") == 0)
			a->until_installed = true;
		else if (s[0] != '-' && !a->store)
			a->store = s;
		else
			return EXIT_USAGE;
	}
	return a->store ? 0 : EXIT_USAGE;
}

/* The spool and drop folders: given, or under STORE/local/sat/. */
static int default_dirs(struct recv_args *a, char **spool, char **drop)
{
	*spool = a->spool ? mem_strdup(a->spool) : fs_join(a->store, "local/sat/spool");
	*drop = a->drop ? mem_strdup(a->drop) : fs_join(a->store, "local/sat/drop");
	if (!*spool || !*drop)
		return -ENOMEM;
	a->spool = *spool;
	a->drop = *drop;
	return 0;
}

/* The store's trusted keys (copied: the store is closed again, since
 * every hand-off opens and locks it itself). */
static int store_keys(struct ssh_pubkey *keys, size_t *n, const char *root)
{
	struct store *st;
	int r = store_open(&st, root);

	if (r < 0)
		return r;
	*n = st->nkeys;
	memcpy(keys, st->keys, st->nkeys * sizeof(*keys));
	store_close(st);
	return 0;
}

int cmd_sat_recv(struct cli *c, int argc, char **argv)
{
	struct recv_args a = { .tsi = SAT_RECV_DEFAULT_TSI, .sync_every_ms = 10000 };
	struct ssh_pubkey keys[STORE_MAX_KEYS];
	struct sat_recv_opts o = { 0 };
	struct recv_run x = { .a = &a, .fd = -1, .pending = true };
	struct sigaction sa = { .sa_handler = on_signal };
	AUTO_FREE char *spool = NULL, *drop = NULL;
	int r, code;

	if (parse_args(&a, c, argc, argv) != 0 || !a.group || (a.idle_ms && a.until_installed))
		return EXIT_USAGE; /* cmd_sat() prints SAT_RECV_USAGE */
	r = default_dirs(&a, &spool, &drop);
	if (r == 0)
		r = store_keys(keys, &o.nkeys, a.store);
	if (r < 0)
		return cli_fail(r, "sat recv: %s", a.store);
	o.spool_dir = a.spool;
	o.drop_dir = a.drop;
	o.tsi = a.tsi;
	o.keys = keys;
	o.log = on_log;
	o.spool_max = a.spool_max;
	r = sat_recv_socket(&x.fd, a.group, a.iface);
	if (r < 0)
		return cli_fail(r, "sat recv");
	r = sat_recv_new(&x.r, &o);
	if (r < 0) {
		close(x.fd);
		return cli_fail(r, "sat recv");
	}
	r = sat_recv_save_room(x.r);
	if (r < 0) {
		sat_recv_free(x.r);
		close(x.fd);
		return cli_fail(r, "sat recv");
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	code = run_loop(&x);
	if (sat_recv_save_room(x.r) < 0)
		fprintf(stderr, "ferry: sat recv: %s\n", err_detail());
	if (c->json) {
		const struct sat_recv_stats *s = sat_recv_stats(x.r);

		jw_obj_begin(&c->w);
		jw_key(&c->w, "packets");
		jw_u64(&c->w, s->packets);
		jw_key(&c->w, "bad");
		jw_u64(&c->w, s->bad);
		jw_key(&c->w, "foreign");
		jw_u64(&c->w, s->foreign);
		jw_key(&c->w, "placed");
		jw_u64(&c->w, s->placed);
		jw_key(&c->w, "hash_mismatches");
		jw_u64(&c->w, s->hash_bad);
		jw_key(&c->w, "refused");
		jw_u64(&c->w, s->refused);
		jw_key(&c->w, "spool_peak_bytes");
		jw_u64(&c->w, s->spool_peak);
		jw_key(&c->w, "objects_evicted");
		jw_u64(&c->w, s->evicted);
		jw_key(&c->w, "objects_stale");
		jw_u64(&c->w, s->stale);
		jw_key(&c->w, "symbols_dropped");
		jw_u64(&c->w, s->dropped);
		jw_key(&c->w, "installed");
		jw_bool(&c->w, x.installed);
		jw_obj_end(&c->w);
	}
	sat_recv_free(x.r);
	close(x.fd);
	return code;
}

static int status_one(const struct sat_object_id *id, const char *name,
		      const struct spool_progress *p, void *ctx)
{
	struct cli *c = ctx;

	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "location");
		jw_str(&c->w, name);
		jw_key(&c->w, "length");
		jw_u64(&c->w, id->oti.transfer_length);
		jw_key(&c->w, "symbols_held");
		jw_u64(&c->w, p->held);
		jw_key(&c->w, "symbols_needed");
		jw_u64(&c->w, p->needed);
		jw_key(&c->w, "blocks");
		jw_u64(&c->w, p->blocks);
		jw_key(&c->w, "blocks_decoded");
		jw_u64(&c->w, p->blocks_done);
		jw_obj_end(&c->w);
	} else {
		printf("  %s: %llu of %llu symbols (%.0f%%), %u of %u blocks decoded\n",
		       name[0] ? name : "(unnamed)", (unsigned long long)p->held,
		       (unsigned long long)p->needed,
		       p->needed ? 100.0 * (double)p->held / (double)p->needed : 0.0,
		       p->blocks_done, p->blocks);
	}
	return 0;
}

/* The spool's room: bytes used of the cap, objects evicted or deleted as
 * stale, symbols dropped (the counters from SPOOL/room, which the
 * receiver writes; a cap of 0 means no receiver has run yet).  JSON: keys
 * of the object being written; text: one line. */
static void room_fields(struct cli *c, struct spool *sp, const char *dir)
{
	struct sat_room_saved s;
	char used[32], cap[32];

	sat_room_read(&s, dir);
	if (c->json) {
		jw_key(&c->w, "spool_bytes");
		jw_u64(&c->w, spool_used(sp));
		jw_key(&c->w, "spool_max");
		jw_u64(&c->w, s.cap);
		jw_key(&c->w, "objects_evicted");
		jw_u64(&c->w, s.evicted);
		jw_key(&c->w, "objects_stale");
		jw_u64(&c->w, s.stale);
		jw_key(&c->w, "symbols_dropped");
		jw_u64(&c->w, s.dropped);
		return;
	}
	cli_size(used, sizeof(used), spool_used(sp));
	if (s.cap)
		cli_size(cap, sizeof(cap), s.cap);
	else
		snprintf(cap, sizeof(cap), "(no receiver run yet)");
	printf("spool: %s used of %s; %llu objects evicted for room, %llu deleted as stale, "
	       "%llu symbols dropped for lack of room\n",
	       used, cap, (unsigned long long)s.evicted, (unsigned long long)s.stale,
	       (unsigned long long)s.dropped);
}

int cmd_sat_status(struct cli *c, int argc, char **argv)
{
	struct recv_args a = { 0 };
	struct sat_recv_opts o = { 0 };
	AUTO_FREE char *spool = NULL, *drop = NULL;
	struct sat_recv *r;
	struct spool *sp;
	size_t listed, placed;
	int rc;

	if (parse_args(&a, c, argc, argv) != 0 || a.group || a.spool_max)
		return EXIT_USAGE;
	rc = default_dirs(&a, &spool, &drop);
	if (rc < 0)
		return cli_fail(rc, "sat status");
	o.spool_dir = a.spool;
	o.drop_dir = a.drop;
	rc = sat_recv_new(&r, &o);
	if (rc == 0) {
		sat_recv_files(r, &listed, &placed);
		sat_recv_free(r);
		rc = spool_open(&sp, a.spool);
	}
	if (rc < 0)
		return cli_fail(rc, "sat status: %s", a.spool);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "files_listed");
		jw_u64(&c->w, listed);
		jw_key(&c->w, "files_in_drop");
		jw_u64(&c->w, placed);
		room_fields(c, sp, a.spool);
		jw_key(&c->w, "receiving");
		jw_arr_begin(&c->w);
	} else {
		printf("file table: %zu files, %zu in the drop (%s)\n", listed, placed, a.drop);
		room_fields(c, sp, a.spool);
		printf("receiving:\n");
	}
	rc = spool_walk(sp, status_one, c);
	spool_free(sp);
	if (c->json) {
		jw_arr_end(&c->w);
		jw_obj_end(&c->w);
	}
	return rc < 0 ? cli_fail(rc, "sat status: %s", a.spool) : EXIT_DONE;
}

/* The store's default spool, for `ferry status`: *out NULL (and 0) when
 * the store has none. */
static int open_store_spool(struct spool **out, const char *store)
{
	AUTO_FREE char *dir = fs_join(store, "local/sat/spool");

	*out = NULL;
	if (!dir)
		return -ENOMEM;
	return fs_exists(dir) ? spool_open(out, dir) : 0;
}

/* `ferry status`'s satellite spool section: one element. */
int sat_status_room(struct cli *c, const char *store)
{
	struct spool *sp;
	int rc = open_store_spool(&sp, store);

	if (rc < 0 || !sp)
		return rc;
	if (c->json)
		jw_obj_begin(&c->w);
	else
		printf("  ");
	room_fields(c, sp, spool_dir(sp));
	if (c->json)
		jw_obj_end(&c->w);
	spool_free(sp);
	return 0;
}

int sat_status_files(struct cli *c, const char *store)
{
	struct spool *sp;
	int rc = open_store_spool(&sp, store);

	if (rc < 0 || !sp)
		return rc;
	rc = spool_walk(sp, status_one, c);
	spool_free(sp);
	return rc;
}

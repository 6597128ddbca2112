/*
 * carousel_send.c — the sender: the repository, its FDT, the schedule and
 * the source, paced onto a UDP multicast group as FLUTE packets.
 *
 * Each object keeps its TOI for as long as its path and SHA-256 stay the
 * same; a changed file gets a new TOI.  Between passes the repository is
 * scanned again; when anything changed the FDT gets the next instance ID,
 * the schedule is rebuilt, and each unchanged object goes on with the
 * pass it had reached, so its symbols stay fresh.
 *
 * Pacing: every datagram is given its time on the wire (its bytes plus
 * the IP and UDP headers, divided by the rate) and the sender sleeps on
 * the monotonic clock until its slot.  A sender that falls more than a
 * second behind (a stalled machine) restarts its schedule from now rather
 * than bursting to catch up.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel.h"
#include "satellite/flute.h"

#define NTP_UNIX_OFFSET 2208988800ull
#define FDT_EXPIRES_SECONDS 86400u
#define MAX_SEND_ERRORS 10000u /* in a row: the link is gone for good */

struct known {  /* an object sent in an earlier scan */
	char *path;
	uint8_t sha256[32];
	uint32_t toi;
	uint64_t pass;
};

struct sender {
	const struct sat_send_opts *o;
	int sock;
	size_t ip_overhead;
	struct sat_repo repo;
	struct known *known;
	size_t nknown;
	uint32_t next_toi;
	uint32_t fdt_instance;
	/* the current carousel */
	struct sat_sched *sched;
	struct sat_source *src;
	struct sat_sched_object *objs; /* object index -> OTI, class */
	uint32_t *toi_of;     /* object index -> TOI */
	size_t *file_of;      /* object index -> repo file (SIZE_MAX: the FDT) */
	size_t nobj;
	struct sat_send_stats st;
	uint64_t errors_in_a_row;
	struct timespec start;
	double next_slot, next_report;
};

static double now_s(const struct sender *s)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - s->start.tv_sec) + (t.tv_nsec - s->start.tv_nsec) / 1e9;
}

int sat_addr_parse(struct sat_send_opts *o, const char *text)
{
	char host[128];
	const char *colon = strrchr(text, ':');
	char *end;
	unsigned long port;
	size_t hl;

	if (!colon || colon == text)
		return err_set(-EINVAL, "group %s: want ADDR:PORT", text);
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535 || !colon[1])
		return err_set(-EINVAL, "group %s: bad port", text);
	hl = (size_t)(colon - text);
	if (text[0] == '[' && colon[-1] == ']') {
		text++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return err_set(-EINVAL, "group %s: address too long", text);
	memcpy(host, text, hl);
	host[hl] = '\0';
	memset(&o->group, 0, sizeof(o->group));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->group;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->group;

	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		o->group_len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		o->group_len = sizeof(*v6);
	} else {
		return err_set(-EINVAL, "group %s: not an IPv4 or IPv6 address", host);
	}
	return 0;
}

static int open_socket(struct sender *s)
{
	const struct sat_send_opts *o = s->o;
	int ttl = o->ttl > 0 ? o->ttl : 1, loop = 1;
	unsigned ifindex = 0;
	bool v6 = o->group.ss_family == AF_INET6;

	if (o->iface) {
		ifindex = if_nametoindex(o->iface);
		if (!ifindex)
			return err_set(-ENODEV, "interface %s: %s", o->iface, strerror(errno));
	}
	s->sock = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->sock < 0)
		return err_set(-errno, "socket: %s", strerror(errno));
	s->ip_overhead = v6 ? 48 : 28;
	if (v6) {
		if (setsockopt(s->sock, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) < 0 ||
		    setsockopt(s->sock, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop)) < 0 ||
		    (ifindex && setsockopt(s->sock, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex,
					   sizeof(ifindex)) < 0))
			return err_set(-errno, "multicast options: %s", strerror(errno));
	} else {
		struct ip_mreqn mr = { .imr_ifindex = (int)ifindex };
		unsigned char t8 = (unsigned char)(ttl > 255 ? 255 : ttl), l8 = 1;

		if (setsockopt(s->sock, IPPROTO_IP, IP_MULTICAST_TTL, &t8, sizeof(t8)) < 0 ||
		    setsockopt(s->sock, IPPROTO_IP, IP_MULTICAST_LOOP, &l8, sizeof(l8)) < 0 ||
		    (ifindex &&
		     setsockopt(s->sock, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0))
			return err_set(-errno, "multicast options: %s", strerror(errno));
	}
	return 0;
}

static const struct known *find_known(const struct sender *s, const struct sat_file *f, size_t hint)
{
	for (size_t k = 0; k < s->nknown; k++) {
		const struct known *e = &s->known[(hint + k) % s->nknown];

		if (strcmp(e->path, f->path) == 0)
			return memcmp(e->sha256, f->sha256, 32) == 0 ? e : NULL;
	}
	return NULL;
}

static void drop_carousel(struct sender *s)
{
	sat_sched_free(s->sched);
	sat_source_free(s->src);
	mem_free(s->objs);
	mem_free(s->toi_of);
	mem_free(s->file_of);
	s->objs = NULL;
	s->sched = NULL;
	s->src = NULL;
	s->toi_of = NULL;
	s->file_of = NULL;
	s->nobj = 0;
}

static void free_known(struct known *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mem_free(k[i].path);
	mem_free(k);
}

/* TOIs, passes carried over, the FDT. */
static int assign(struct sender *s, struct known *nk, struct flute_fdt *fdt)
{
	/* where each known object's schedule had got to */
	for (size_t o = 0; s->sched && o < s->nobj; o++)
		if (s->file_of[o] != SIZE_MAX)
			s->known[s->file_of[o]].pass = sat_sched_object_pass(s->sched, (uint32_t)o);

	for (size_t i = 0; i < s->repo.n; i++) {
		const struct sat_file *f = &s->repo.files[i];
		const struct known *old = find_known(s, f, i);
		uint64_t pass = 0;
		int rc;

		nk[i].path = mem_strdup(f->path);
		if (!nk[i].path)
			return -ENOMEM;
		memcpy(nk[i].sha256, f->sha256, 32);
		if (old) {
			nk[i].toi = old->toi;
			pass = old->pass;
		} else {
			nk[i].toi = s->next_toi++;
			if (s->next_toi == 0)
				s->next_toi = 1; /* 2^32 changed files later; TOI 0 is the FDT */
		}
		nk[i].pass = pass;
		rc = flute_fdt_add(fdt, nk[i].toi, f->path, f->length, f->sha256);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Builds schedule and source for the current scan. */
static int build(struct sender *s)
{
	size_t t = s->o->symbol_size ? s->o->symbol_size : RQ_SYMBOL_SIZE_DEFAULT;
	struct sat_sched_object *objs = NULL;
	struct known *nk = NULL;
	struct flute_fdt fdt;
	struct buf xml;
	struct rq_oti oti;
	size_t n = 0;
	int rc;

	flute_fdt_init(&fdt);
	buf_init(&xml, FLUTE_FDT_MAX_BYTES);
	nk = mem_calloc(s->repo.n + 1, sizeof(*nk));
	objs = mem_calloc(s->repo.n + 1, sizeof(*objs));
	uint32_t *toi_of = mem_calloc(s->repo.n + 1, sizeof(*toi_of));
	size_t *file_of = mem_calloc(s->repo.n + 1, sizeof(*file_of));
	struct sat_source *src = NULL;

	rc = nk && objs && toi_of && file_of ? 0 : -ENOMEM;
	if (rc == 0)
		rc = assign(s, nk, &fdt);
	if (rc == 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		fdt.expires = ((uint64_t)now.tv_sec + NTP_UNIX_OFFSET + FDT_EXPIRES_SECONDS) & 0xffffffffu;
		rc = flute_fdt_write(&xml, &fdt);
	}
	if (rc == 0)
		rc = sat_source_new(&src, s->o->mem_budget);
	/* object 0: the FDT, in symbols 4 bytes smaller (EXT_FDT) */
	if (rc == 0)
		rc = rq_oti_for(&oti, xml.len, t - 4, LIMIT_RQ_SOURCE_SYMBOLS);
	if (rc == 0)
		rc = sat_source_add(src, &oti, xml.data, NULL);
	if (rc == 0) {
		objs[0] = (struct sat_sched_object){ oti, SAT_CLASS_META, 0 };
		toi_of[0] = FLUTE_FDT_TOI;
		file_of[0] = SIZE_MAX;
		n = 1;
	}
	for (size_t i = 0; rc == 0 && i < s->repo.n; i++) {
		const struct sat_file *f = &s->repo.files[i];
		AUTO_FREE char *full = NULL;

		if (f->length == 0)
			continue; /* listed in the FDT; nothing to code */
		rc = rq_oti_for(&oti, f->length, t, LIMIT_RQ_SOURCE_SYMBOLS);
		if (rc < 0) {
			rc = err_set(rc, "%s: too large to broadcast (%llu bytes)", f->path,
				     (unsigned long long)f->length);
			break;
		}
		full = f->mem ? NULL : fs_join(s->o->repo, f->path);
		rc = f->mem || full ? sat_source_add(src, &oti, f->mem, full) : -ENOMEM;
		objs[n] = (struct sat_sched_object){ oti, f->cls, nk[i].pass };
		toi_of[n] = nk[i].toi;
		file_of[n] = i;
		n++;
	}
	struct sat_sched_opts so = { .mem_budget = s->o->mem_budget };
	struct sat_sched *sched = NULL;

	if (rc == 0)
		rc = sat_sched_new(&sched, objs, n, &so);
	flute_fdt_release(&fdt);
	buf_release(&xml);
	if (rc < 0) {
		sat_source_free(src);
		mem_free(objs);
		mem_free(toi_of);
		mem_free(file_of);
		free_known(nk, s->repo.n);
		return rc;
	}
	drop_carousel(s);
	free_known(s->known, s->nknown);
	s->known = nk;
	s->nknown = s->repo.n;
	s->sched = sched;
	s->src = src;
	s->objs = objs;
	s->toi_of = toi_of;
	s->file_of = file_of;
	s->nobj = n;
	s->fdt_instance = (s->fdt_instance + 1) & FLUTE_FDT_INSTANCE_MAX;
	s->st.fdt_instance = s->fdt_instance;
	s->st.files = s->repo.n;
	s->st.repo_bytes = s->repo.bytes;
	return 0;
}

static int rescan(struct sender *s, bool first)
{
	struct sat_repo fresh;
	struct sat_prio prio;
	int rc = sat_prio_load(&prio, s->o->repo, s->o->first, s->o->nfirst);

	if (rc == 0)
		rc = sat_repo_scan(&fresh, s->o->repo, first ? NULL : &s->repo, &prio);
	sat_prio_release(&prio);
	if (rc < 0)
		return rc;
	if (!first && sat_repo_same(&fresh, &s->repo)) {
		sat_repo_release(&fresh);
		return 0;
	}
	if (fresh.n == 0) {
		sat_repo_release(&fresh);
		return err_set(-ENOENT, "%s: nothing to send (not a ferry repository?)", s->o->repo);
	}
	struct sat_repo old = s->repo;

	s->repo = fresh;
	rc = build(s);
	if (rc < 0) {
		s->repo = old;
		sat_repo_release(&fresh);
		return rc;
	}
	sat_repo_release(&old);
	return 1;
}

static void pace(struct sender *s, size_t wire)
{
	double now = now_s(s);

	if (s->next_slot < now - 1.0)
		s->next_slot = now; /* fell behind: do not burst */
	if (s->next_slot > now) {
		struct timespec until;
		double at = s->next_slot;

		until.tv_sec = s->start.tv_sec + (time_t)at;
		until.tv_nsec = s->start.tv_nsec + (long)((at - (double)(time_t)at) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
			;
	}
	s->next_slot += (double)wire / (double)s->o->rate;
}

static int send_one(struct sender *s, const struct sat_sched_sym *sym, uint8_t *symbuf,
		    uint8_t *pkt)
{
	struct flute_packet p = { 0 };
	size_t n;
	int rc = sat_source_symbol(symbuf, s->src, sym->object, sym->sbn, sym->esi);

	if (rc < 0)
		return 0; /* a file vanished or changed: the next scan will tell */
	p.tsi = s->o->tsi;
	p.toi = s->toi_of[sym->object];
	p.oti = s->objs[sym->object].oti;
	p.fdt_instance = s->fdt_instance;
	p.sbn = sym->sbn;
	p.esi = sym->esi;
	p.symbol = symbuf;
	rc = flute_packet_encode(pkt, FLUTE_PACKET_MAX, &n, &p);
	if (rc < 0)
		return rc;
	pace(s, n + s->ip_overhead);
	if (sendto(s->sock, pkt, n, 0, (const struct sockaddr *)&s->o->group, s->o->group_len) < 0) {
		s->st.send_errors++;
		if (++s->errors_in_a_row > MAX_SEND_ERRORS)
			return err_set(-errno, "send to the group: %s", strerror(errno));
		return 0;
	}
	s->errors_in_a_row = 0;
	s->st.packets++;
	s->st.wire_bytes += n + s->ip_overhead;
	s->st.header_bytes += n - p.oti.symbol_size + s->ip_overhead;
	return 0;
}

static int report(struct sender *s, const char *event)
{
	s->st.seconds = now_s(s);
	return s->o->progress ? s->o->progress(s->o->ctx, &s->st, event) : 0;
}

static int loop(struct sender *s)
{
	AUTO_FREE uint8_t *symbuf = mem_alloc(LIMIT_RQ_SYMBOL_BYTES);
	AUTO_FREE uint8_t *pkt = mem_alloc(FLUTE_PACKET_MAX);
	struct sat_sched_sym sym;
	char event[160];
	int rc;

	if (!symbuf || !pkt)
		return -ENOMEM;
	for (;;) {
		if (s->o->duration > 0 && now_s(s) >= s->o->duration)
			return report(s, "duration reached");
		if (now_s(s) >= s->next_report) {
			s->next_report = now_s(s) + 1.0;
			if (report(s, NULL) < 0)
				return 0;
		}
		if (sat_sched_next(s->sched, &sym) == 0) {
			s->st.passes++;
			snprintf(event, sizeof(event), "pass %llu done",
				 (unsigned long long)s->st.passes);
			if (report(s, event) < 0)
				return 0;
			if (s->o->passes && s->st.passes >= s->o->passes)
				return 0;
			rc = rescan(s, false);
			if (rc < 0) {
				/* e.g. gc removed a pack while it was read: keep going */
				snprintf(event, sizeof(event), "rescan failed, the carousel goes on: %s",
					 err_text(rc));
				if (report(s, event) < 0)
					return 0;
			} else if (rc > 0) {
				snprintf(event, sizeof(event),
					 "repository changed: FDT instance %u, %zu files",
					 s->fdt_instance, s->repo.n);
				if (report(s, event) < 0)
					return 0;
			}
			continue;
		}
		rc = send_one(s, &sym, symbuf, pkt);
		if (rc < 0)
			return rc;
	}
}

int sat_send_run(const struct sat_send_opts *opts, struct sat_send_stats *st)
{
	struct sender s = { .o = opts, .sock = -1, .next_toi = 1 };
	size_t t = opts->symbol_size ? opts->symbol_size : RQ_SYMBOL_SIZE_DEFAULT;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!opts->rate || t < 8 || t % RQ_ALIGNMENT || t > LIMIT_RQ_SYMBOL_BYTES ||
	    !opts->group_len)
		return err_set(-EINVAL, "sat send: bad rate, symbol size or group");
	clock_gettime(CLOCK_MONOTONIC, &s.start);
	s.fdt_instance = FLUTE_FDT_INSTANCE_MAX; /* the first build makes it 0 */
	rc = open_socket(&s);
	if (rc == 0)
		rc = rescan(&s, true);
	if (rc >= 0) {
		char event[160];

		snprintf(event, sizeof(event), "carousel of %zu files, %llu bytes", s.repo.n,
			 (unsigned long long)s.repo.bytes);
		rc = report(&s, event);
		if (rc >= 0)
			rc = loop(&s);
	}
	s.st.seconds = now_s(&s);
	*st = s.st;
	drop_carousel(&s);
	free_known(s.known, s.nknown);
	sat_repo_release(&s.repo);
	if (s.sock >= 0)
		close(s.sock);
	return rc < 0 ? rc : 0;
}

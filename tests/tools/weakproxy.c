/*
 * weakproxy.c — a TCP proxy that makes a good loopback link look like the
 * weak ones ferry meets in the field.
 *
 *   weakproxy --listen ADDR:PORT --to HOST:PORT [options]
 *
 * It accepts connections on ADDR:PORT (IPv4 "127.0.0.1:0" or IPv6
 * "[::1]:0"; port 0 picks a free one), opens one to HOST:PORT for each, and
 * copies bytes both ways through bounded buffers, so a slow reader slows
 * the sender as a real link would.  It prints the port it listens on as
 * one line on stdout (and into --port-file, written atomically), then runs
 * until SIGTERM/SIGINT or --max-seconds.
 *
 * Link shape (both directions, shared by all connections):
 *   --rate BYTES        at most this many bytes per second each way
 *   --latency MS        every byte leaves MS milliseconds after it arrived
 * Faults (server-to-client bytes, counted per connection from its first
 * byte, so a fault lands at a known offset of a response):
 *   --reset-after N[-M]     after N bytes, reset both ends (RST) once the
 *                           client has acknowledged all N, so it gets them all
 *   --truncate-after N[-M]  after N bytes, close both ends cleanly (FIN)
 *   --stall-after N --stall-for SECS
 *                           after N bytes, forward nothing for SECS
 *   --corrupt-after N       flip every bit of the byte at offset N
 *   --faulty K              faults hit only the first K connections
 *   --seed S                where N-M is a range, each connection draws
 *                           its offset from it, deterministically from S
 * Buffering:
 *   --buffer BYTES          hold at most BYTES per direction of a
 *                           connection, and ask the kernel for socket
 *                           buffers of that size too (SO_RCVBUF toward
 *                           the server, SO_SNDBUF toward the client), so
 *                           little is in flight when a fault cuts a
 *                           transfer: a server's count of bytes sent then
 *                           measures what the client asked for, not what
 *                           sat in buffers.  Without it, 1 MiB.
 * Whatever the buffer, the proxy never reads a server's bytes past the
 * offset where a reset or truncation will cut the connection.
 * Sizes take K, M or G suffixes (powers of 1024).
 *
 * Single-threaded around poll(); one event loop, no per-connection state
 * beyond two fixed buffers.  It is a test tool: it prints what it does to
 * stderr (more with --verbose) and exits non-zero on bad arguments.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/sockios.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

#define WP_MAX_CONNS 64
#define WP_PIPE_BYTES (1u << 20) /* holds 200 ms of a 5 MB/s link */
#define WP_MAX_SEGS 4096
#define WP_NONE UINT64_MAX
#define WP_RESET_GRACE_MS 50 /* for the client to read its last bytes before an RST */

struct wp_range {
	uint64_t lo, hi; /* lo == WP_NONE: not set */
};

struct wp_opts {
	const char *listen;
	const char *to;
	const char *port_file;
	uint64_t rate;
	unsigned latency_ms;
	struct wp_range reset, truncate;
	uint64_t stall_after;
	unsigned stall_secs;
	uint64_t corrupt_after;
	uint64_t seed;
	unsigned faulty; /* 0: every connection */
	unsigned max_seconds;
	uint64_t buffer; /* 0: WP_PIPE_BYTES */
	bool verbose;
};

/* A run of bytes read together, released to the far side at ready_ms. */
struct wp_seg {
	uint64_t end; /* stream offset one past its last byte */
	int64_t ready_ms;
};

/* One direction of one connection. */
struct wp_pipe {
	uint8_t buf[WP_PIPE_BYTES];
	size_t len;
	struct wp_seg seg[WP_MAX_SEGS];
	unsigned seg_first, seg_n;
	uint64_t in, out; /* bytes read from the source, written to the sink */
	bool eof;         /* the source closed its side */
	bool shut;        /* that close was forwarded */
	bool blocked;     /* the last write would have blocked */
};

struct wp_conn {
	unsigned id;
	int cfd, sfd;
	bool connecting;
	struct wp_pipe up, down;
	uint64_t reset_at, truncate_at, stall_at, corrupt_at; /* WP_NONE: none */
	int64_t stall_until;
	int64_t reset_wait_until; /* 0: no reset pending */
	int64_t reset_drained_at; /* when the client had acknowledged every byte */
};

/* A token bucket per direction, shared by every connection like a link. */
struct wp_bucket {
	double tokens;
	int64_t at_ms;
};

static volatile sig_atomic_t wp_stop;
static struct wp_opts opt;
static struct wp_bucket bucket_up, bucket_down;
static uint64_t rng_state;
static struct addrinfo *target;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rng_next(void)
{
	/* xorshift64*: deterministic from --seed, good enough for offsets. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void on_signal(int sig)
{
	(void)sig;
	wp_stop = 1;
}

static bool parse_size(uint64_t *out, const char *s, const char **end)
{
	char *e;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno)
		return false;
	if (*e == 'K' || *e == 'k')
		shift = 10;
	else if (*e == 'M' || *e == 'm')
		shift = 20;
	else if (*e == 'G' || *e == 'g')
		shift = 30;
	if (shift) {
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
		e++;
	}
	*out = v;
	*end = e;
	return true;
}

static bool parse_one(uint64_t *out, const char *s)
{
	const char *e;

	return parse_size(out, s, &e) && *e == '\0';
}

static bool parse_range(struct wp_range *r, const char *s)
{
	const char *e;

	if (!parse_size(&r->lo, s, &e))
		return false;
	r->hi = r->lo;
	if (*e == '-' && !parse_size(&r->hi, e + 1, &e))
		return false;
	return *e == '\0' && r->hi >= r->lo && r->lo != WP_NONE;
}

static uint64_t range_draw(const struct wp_range *r)
{
	uint64_t span;

	if (r->lo == WP_NONE)
		return WP_NONE;
	span = r->hi - r->lo;
	if (span == 0)
		return r->lo;
	return r->lo + rng_next() % (span + 1 == 0 ? span : span + 1);
}

/* "host:port" or "[v6]:port" into its parts (host is a copy to free). */
static bool split_hostport(char **host, char **port, const char *s)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		*host = mem_strndup(s + 1, (size_t)(close - s - 1));
		*port = mem_strdup(close + 2);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		*host = mem_strndup(s, (size_t)(colon - s));
		*port = mem_strdup(colon + 1);
	}
	return *host && *port;
}

static struct addrinfo *resolve(const char *s, bool passive)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	AUTO_FREE char *host = NULL;
	AUTO_FREE char *port = NULL;
	int r;

	if (!split_hostport(&host, &port, s)) {
		fprintf(stderr, "weakproxy: %s: expected HOST:PORT or [V6]:PORT\n", s);
		return NULL;
	}
	if (passive)
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "weakproxy: %s: %s\n", s, gai_strerror(r));
		return NULL;
	}
	return res;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int open_listener(int *port_out)
{
	struct addrinfo *ai = resolve(opt.listen, true);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1;

	if (!ai)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    set_nonblock(fd) < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, "weakproxy: listen on %s: %s\n", opt.listen, strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int write_port_file(int port)
{
	char tmp[4096], line[32];
	int fd, n;

	if (!opt.port_file)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file) >= (int)sizeof(tmp))
		return -1;
	n = snprintf(line, sizeof(line), "%d\n", port);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, opt.port_file);
}

static void close_fd(int *fd, bool reset)
{
	if (*fd < 0)
		return;
	if (reset) {
		/* A zero linger turns close() into an RST. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(*fd);
	*fd = -1;
}

static void conn_end(struct wp_conn **slot, bool reset, const char *why)
{
	struct wp_conn *c = *slot;

	fprintf(stderr, "weakproxy: conn %u: %s (down %" PRIu64 " bytes, up %" PRIu64 ")\n",
		c->id, why, c->down.out, c->up.out);
	close_fd(&c->cfd, reset);
	close_fd(&c->sfd, reset);
	mem_free(c);
	*slot = NULL;
}

static struct wp_conn *conn_new(int cfd, unsigned id)
{
	struct wp_conn *c = mem_calloc(1, sizeof(*c));
	bool faulty = opt.faulty == 0 || id < opt.faulty;

	if (!c)
		return NULL;
	c->id = id;
	c->cfd = cfd;
	c->sfd = socket(target->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->sfd < 0) {
		mem_free(c);
		return NULL;
	}
	if (opt.buffer) {
		int sz = (int)opt.buffer;

		(void)setsockopt(c->sfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (connect(c->sfd, target->ai_addr, target->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(c->sfd);
		mem_free(c);
		return NULL;
	}
	c->connecting = true;
	c->reset_at = faulty ? range_draw(&opt.reset) : WP_NONE;
	c->truncate_at = faulty ? range_draw(&opt.truncate) : WP_NONE;
	c->stall_at = faulty ? opt.stall_after : WP_NONE;
	c->corrupt_at = faulty ? opt.corrupt_after : WP_NONE;
	if (opt.verbose)
		fprintf(stderr,
			"weakproxy: conn %u: reset at %" PRIu64 ", truncate at %" PRIu64
			", stall at %" PRIu64 ", corrupt at %" PRIu64 "\n",
			id, c->reset_at, c->truncate_at, c->stall_at, c->corrupt_at);
	return c;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The next downstream offset where a fault stops the flow. */
static uint64_t conn_next_stop(const struct wp_conn *c)
{
	return min_u64(min_u64(c->reset_at, c->truncate_at), c->stall_at);
}

/* Where the downstream must stop reading: a reset or truncation ends the
 * connection there, so bytes past it would only be counted as sent. */
static uint64_t conn_read_limit(const struct wp_conn *c)
{
	return min_u64(c->reset_at, c->truncate_at);
}

static size_t pipe_cap(void)
{
	return opt.buffer ? (size_t)opt.buffer : WP_PIPE_BYTES;
}

/* How many bytes p may take in now; upto is the stream offset it must not
 * read past (WP_NONE: none). */
static size_t pipe_room(const struct wp_pipe *p, uint64_t upto)
{
	size_t room;

	if (p->eof || p->len >= pipe_cap() || p->seg_n >= WP_MAX_SEGS)
		return 0;
	room = pipe_cap() - p->len;
	if (upto != WP_NONE)
		room = upto > p->in ? (size_t)(upto - p->in < room ? upto - p->in : room) : 0;
	return room;
}

/* Reads what the source has into p; returns false when the connection
 * must be torn down (a reset from that side). */
static bool pipe_fill(struct wp_pipe *p, int src, int64_t now, uint64_t upto)
{
	size_t room = pipe_room(p, upto);
	ssize_t n;

	if (!room)
		return true;
	n = recv(src, p->buf + p->len, room, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	if (n == 0) {
		p->eof = true;
		return true;
	}
	p->len += (size_t)n;
	p->in += (uint64_t)n;
	p->seg[(p->seg_first + p->seg_n) % WP_MAX_SEGS] =
		(struct wp_seg){ .end = p->in, .ready_ms = now + opt.latency_ms };
	p->seg_n++;
	return true;
}

/* Bytes of p whose latency has passed. */
static uint64_t pipe_ready(const struct wp_pipe *p, int64_t now)
{
	uint64_t end = p->out;

	for (unsigned i = 0; i < p->seg_n; i++) {
		const struct wp_seg *s = &p->seg[(p->seg_first + i) % WP_MAX_SEGS];

		if (s->ready_ms > now)
			break;
		end = s->end;
	}
	return end - p->out;
}

static uint64_t bucket_burst(void)
{
	return opt.rate / 50 > 0 ? opt.rate / 50 : 1;
}

static void bucket_refill(struct wp_bucket *b, int64_t now)
{
	double cap = (double)bucket_burst();

	if (!opt.rate)
		return;
	b->tokens += (double)opt.rate * (double)(now - b->at_ms) / 1000.0;
	if (b->tokens > cap)
		b->tokens = cap;
	b->at_ms = now;
}


static void pipe_consume(struct wp_pipe *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	p->out += n;
	while (p->seg_n && p->seg[p->seg_first].end <= p->out) {
		p->seg_first = (p->seg_first + 1) % WP_MAX_SEGS;
		p->seg_n--;
	}
}

/* Writes what may leave p now to dst; returns false on a write error. */
static bool pipe_drain(struct wp_conn *c, struct wp_pipe *p, int dst, struct wp_bucket *b,
		       int64_t now)
{
	bool down = p == &c->down;
	uint64_t n = pipe_ready(p, now);
	ssize_t w;

	p->blocked = false;
	if (down && now < c->stall_until)
		return true;
	if (opt.rate) {
		bucket_refill(b, now);
		n = min_u64(n, (uint64_t)b->tokens);
	}
	if (down) {
		uint64_t stop = conn_next_stop(c);

		if (stop != WP_NONE)
			n = min_u64(n, stop - p->out);
		if (c->corrupt_at != WP_NONE && c->corrupt_at >= p->out && c->corrupt_at - p->out < n) {
			p->buf[c->corrupt_at - p->out] ^= 0xff;
			fprintf(stderr, "weakproxy: conn %u: corrupted the byte at %" PRIu64 "\n",
				c->id, c->corrupt_at);
			c->corrupt_at = WP_NONE;
		}
	}
	if (n > 0) {
		w = send(dst, p->buf, (size_t)n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return false;
			p->blocked = true;
			return true;
		}
		pipe_consume(p, (size_t)w);
		if (opt.rate)
			b->tokens -= (double)w;
	}
	if (p->eof && p->len == 0 && !p->shut) {
		(void)shutdown(dst, SHUT_WR);
		p->shut = true;
	}
	return true;
}

/* Applies a fault whose offset the downstream has reached; returns false
 * when the connection is gone. */
static bool conn_faults(struct wp_conn **slot, int64_t now)
{
	struct wp_conn *c = *slot;
	uint64_t at = c->down.out;

	if (at == c->reset_at) {
		/* Reset only once the client has every byte before the cut: an
		 * RST discards what still sits unread in its socket, which would
		 * move the cut to wherever the reader happened to be. */
		int unacked = 0;

		if (!c->reset_wait_until)
			c->reset_wait_until = now + 2000;
		if (ioctl(c->cfd, SIOCOUTQ, &unacked) == 0 && unacked > 0 &&
		    now < c->reset_wait_until)
			return true;
		if (!c->reset_drained_at)
			c->reset_drained_at = now;
		if (now - c->reset_drained_at < WP_RESET_GRACE_MS)
			return true;
		conn_end(slot, true, "reset as asked");
		return false;
	}
	if (at == c->truncate_at) {
		conn_end(slot, false, "truncated as asked");
		return false;
	}
	if (at == c->stall_at) {
		c->stall_until = now + (int64_t)opt.stall_secs * 1000;
		c->stall_at = WP_NONE;
		fprintf(stderr, "weakproxy: conn %u: stalling for %u s at %" PRIu64 "\n", c->id,
			opt.stall_secs, at);
	}
	return true;
}

static void conn_step(struct wp_conn **slot, const struct pollfd *cp, const struct pollfd *sp,
		      int64_t now)
{
	struct wp_conn *c = *slot;

	if (c->connecting) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!(sp->revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			conn_end(slot, true, "target refused");
			return;
		}
		c->connecting = false;
	}
	if ((cp->revents & (POLLIN | POLLHUP | POLLERR)) && !pipe_fill(&c->up, c->cfd, now, WP_NONE)) {
		conn_end(slot, true, "client reset");
		return;
	}
	if ((sp->revents & (POLLIN | POLLHUP | POLLERR)) && !pipe_fill(&c->down, c->sfd, now, conn_read_limit(c))) {
		conn_end(slot, true, "server reset");
		return;
	}
	if (!conn_faults(slot, now))
		return;
	if (!pipe_drain(c, &c->up, c->sfd, &bucket_up, now) ||
	    !pipe_drain(c, &c->down, c->cfd, &bucket_down, now)) {
		conn_end(slot, true, "write failed");
		return;
	}
	if (!conn_faults(slot, now))
		return;
	if (c->up.shut && c->down.shut)
		conn_end(slot, false, "closed");
}

static void conn_events(const struct wp_conn *c, short *cev, short *sev)
{
	*cev = 0;
	*sev = 0;
	if (c->connecting) {
		*sev = POLLOUT;
		return;
	}
	if (pipe_room(&c->up, WP_NONE))
		*cev |= POLLIN;
	if (pipe_room(&c->down, conn_read_limit(c)))
		*sev |= POLLIN;
	if (c->up.blocked)
		*sev |= POLLOUT;
	if (c->down.blocked)
		*cev |= POLLOUT;
}

/* How long poll() may sleep before some delayed byte, stall or token is due. */
static int wake_in(struct wp_conn *const *conns, int64_t now, int64_t deadline)
{
	int64_t next = deadline < now + 1000 ? deadline : now + 1000;

	for (unsigned i = 0; i < WP_MAX_CONNS; i++) {
		const struct wp_conn *c = conns[i];
		const struct wp_pipe *ps[2];

		if (!c)
			continue;
		ps[0] = &c->up;
		ps[1] = &c->down;
		if (c->stall_until > now && c->stall_until < next)
			next = c->stall_until;
		if (c->reset_wait_until && now + 5 < next)
			next = now + 5;
		for (int k = 0; k < 2; k++) {
			const struct wp_pipe *p = ps[k];
			const struct wp_bucket *b = k ? &bucket_down : &bucket_up;

			if (p->seg_n && p->seg[p->seg_first].ready_ms > now &&
			    p->seg[p->seg_first].ready_ms < next)
				next = p->seg[p->seg_first].ready_ms;
			if (opt.rate && p->len && b->tokens < 1.0) {
				double want = (double)min_u64(bucket_burst(), p->len) - b->tokens;
				int64_t t = now + 1 + (int64_t)(want * 1000.0 / (double)opt.rate);

				if (t < next)
					next = t;
			}
		}
	}
	return next > now ? (int)(next - now) : 0;
}

static void accept_one(int lfd, struct wp_conn **conns, unsigned *ids)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int one = 1;

	if (fd < 0)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (unsigned i = 0; i < WP_MAX_CONNS; i++) {
		if (conns[i])
			continue;
		conns[i] = conn_new(fd, (*ids)++);
		if (!conns[i])
			close_fd(&fd, true);
		return;
	}
	fprintf(stderr, "weakproxy: more than %d connections, refusing one\n", WP_MAX_CONNS);
	close_fd(&fd, true);
}

static void run(int lfd)
{
	struct wp_conn *conns[WP_MAX_CONNS] = { 0 };
	struct pollfd pfd[1 + 2 * WP_MAX_CONNS];
	int64_t deadline = now_ms() + (int64_t)opt.max_seconds * 1000;
	unsigned ids = 0;

	bucket_up.at_ms = bucket_down.at_ms = now_ms();
	while (!wp_stop) {
		int64_t now = now_ms();

		if (now >= deadline) {
			fprintf(stderr, "weakproxy: --max-seconds reached\n");
			break;
		}
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (unsigned i = 0; i < WP_MAX_CONNS; i++) {
			struct pollfd *cp = &pfd[1 + 2 * i], *sp = cp + 1;

			*cp = (struct pollfd){ .fd = -1 };
			*sp = (struct pollfd){ .fd = -1 };
			if (!conns[i])
				continue;
			cp->fd = conns[i]->cfd;
			sp->fd = conns[i]->sfd;
			conn_events(conns[i], &cp->events, &sp->events);
		}
		if (poll(pfd, 1 + 2 * WP_MAX_CONNS, wake_in(conns, now, deadline)) < 0 &&
		    errno != EINTR)
			break;
		now = now_ms();
		if (pfd[0].revents & POLLIN)
			accept_one(lfd, conns, &ids);
		for (unsigned i = 0; i < WP_MAX_CONNS; i++)
			if (conns[i])
				conn_step(&conns[i], &pfd[1 + 2 * i], &pfd[2 + 2 * i], now);
	}
	for (unsigned i = 0; i < WP_MAX_CONNS; i++)
		if (conns[i])
			conn_end(&conns[i], false, "proxy exiting");
}

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr,
		"usage: weakproxy --listen ADDR:PORT --to HOST:PORT [--rate BYTES] [--latency MS]\n"
		"       [--reset-after N[-M]] [--truncate-after N[-M]] [--stall-after N --stall-for "
		"SECS]\n"
		"       [--corrupt-after N] [--faulty K] [--seed S] [--max-seconds S] [--buffer BYTES]\n"
		"       [--port-file FILE] [--verbose]\n");
	exit(2);
}

static bool parse_uint(unsigned *out, const char *s)
{
	uint64_t v;

	if (!parse_one(&v, s) || v > 1000000)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_opt(int ch, const char *arg)
{
	switch (ch) {
	case 'l':
		opt.listen = arg;
		return true;
	case 't':
		opt.to = arg;
		return true;
	case 'p':
		opt.port_file = arg;
		return true;
	case 'v':
		opt.verbose = true;
		return true;
	case 'r':
		return parse_one(&opt.rate, arg);
	case 'R':
		return parse_range(&opt.reset, arg);
	case 'T':
		return parse_range(&opt.truncate, arg);
	case 's':
		return parse_one(&opt.stall_after, arg);
	case 'c':
		return parse_one(&opt.corrupt_after, arg);
	case 'e':
		return parse_one(&opt.seed, arg);
	case 'L':
		return parse_uint(&opt.latency_ms, arg);
	case 'S':
		return parse_uint(&opt.stall_secs, arg);
	case 'f':
		return parse_uint(&opt.faulty, arg);
	case 'm':
		return parse_uint(&opt.max_seconds, arg);
	case 'b':
		return parse_one(&opt.buffer, arg) && opt.buffer >= 1024 && opt.buffer <= WP_PIPE_BYTES;
	default:
		usage();
	}
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "latency", required_argument, NULL, 'L' },
		{ "reset-after", required_argument, NULL, 'R' },
		{ "truncate-after", required_argument, NULL, 'T' },
		{ "stall-after", required_argument, NULL, 's' },
		{ "stall-for", required_argument, NULL, 'S' },
		{ "corrupt-after", required_argument, NULL, 'c' },
		{ "faulty", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 'e' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "buffer", required_argument, NULL, 'b' },
		{ 0 },
	};
	int ch, idx = 0;

	opt = (struct wp_opts){ .reset = { WP_NONE, WP_NONE },
				.truncate = { WP_NONE, WP_NONE },
				.stall_after = WP_NONE,
				.corrupt_after = WP_NONE,
				.seed = 1,
				.max_seconds = 300 };
	while ((ch = getopt_long(argc, argv, "", lo, &idx)) != -1) {
		if (!parse_opt(ch, optarg)) {
			fprintf(stderr, "weakproxy: bad value for --%s: %s\n", lo[idx].name, optarg);
			usage();
		}
	}
	if (!opt.listen || !opt.to || optind != argc)
		usage();
	if (opt.stall_secs == 0)
		opt.stall_after = WP_NONE;
	rng_state = opt.seed ? opt.seed : 0x9e3779b97f4a7c15ull;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int lfd, port;

	parse_args(argc, argv);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	target = resolve(opt.to, false);
	if (!target)
		return 1;
	lfd = open_listener(&port);
	if (lfd < 0) {
		freeaddrinfo(target);
		return 1;
	}
	printf("%d\n", port);
	fflush(stdout);
	if (write_port_file(port) < 0) {
		fprintf(stderr, "weakproxy: cannot write %s: %s\n", opt.port_file, strerror(errno));
		close(lfd);
		freeaddrinfo(target);
		return 1;
	}
	run(lfd);
	close(lfd);
	freeaddrinfo(target);
	return 0;
}

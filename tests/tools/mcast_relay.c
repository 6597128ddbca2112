/*
 * mcast_relay.c — a lossy satellite link for tests: receives UDP datagrams
 * on one IPv4 multicast group and sends them on to another group (or
 * port), dropping some on the way.
 *
 *   mcast_relay --in ADDR:PORT --out ADDR:PORT [--loss P] [--fade N]
 *               [--fade-every M] [--seed S] [--ttl T] [--stats FILE]
 *
 * --loss P drops each datagram independently with probability P (0..1);
 * --fade N --fade-every M drops N consecutive datagrams out of every M (a
 * rain fade: everything lost, then the link comes back), counted in
 * datagrams so a run is the same at any rate; the first fade starts after
 * a seeded random offset below M.  The random choices come from --seed,
 * so a failing run can be repeated.  On SIGTERM or SIGINT it writes
 * "in N out N dropped N" to --stats (or stderr) and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t rng_state;

static double rng_unit(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static int parse_addr(struct sockaddr_in *sa, const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 && sa->sin_port ? 0 : -1;
}

static int open_in(const struct sockaddr_in *in)
{
	struct ip_mreqn mr = { .imr_multiaddr = in->sin_addr };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, big = 8 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (const struct sockaddr *)in, sizeof(*in)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct opts {
	struct sockaddr_in in, out;
	double loss;
	unsigned long fade, every, ttl;
	const char *stats;
};

static int parse(struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--in") == 0 && parse_addr(&o->in, v) == 0)
			continue;
		if (strcmp(k, "--out") == 0 && parse_addr(&o->out, v) == 0)
			continue;
		if (strcmp(k, "--loss") == 0)
			o->loss = atof(v);
		else if (strcmp(k, "--fade") == 0)
			o->fade = strtoul(v, NULL, 10);
		else if (strcmp(k, "--fade-every") == 0)
			o->every = strtoul(v, NULL, 10);
		else if (strcmp(k, "--seed") == 0)
			rng_state = strtoull(v, NULL, 10) * 2654435761ull + 1;
		else if (strcmp(k, "--ttl") == 0)
			o->ttl = strtoul(v, NULL, 10);
		else if (strcmp(k, "--stats") == 0)
			o->stats = v;
		else
			return -1;
	}
	if (argc % 2 == 0 || !o->in.sin_port || !o->out.sin_port || o->loss < 0 || o->loss > 1 ||
	    (o->fade && o->every <= o->fade))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	struct sigaction sa = { .sa_handler = on_signal };
	struct opts o;
	unsigned long long nin = 0, nout = 0, ndrop = 0, phase = 0;
	int fin, fout;
	FILE *f;

	if (parse(&o, argc, argv) < 0) {
		fprintf(stderr, "usage: mcast_relay --in ADDR:PORT --out ADDR:PORT [--loss P] "
				"[--fade N --fade-every M] [--seed S] [--ttl T] [--stats FILE]\n");
		return 2;
	}
	fin = open_in(&o.in);
	fout = socket(AF_INET, SOCK_DGRAM, 0);
	if (fin < 0 || fout < 0 ||
	    setsockopt(fout, IPPROTO_IP, IP_MULTICAST_TTL, &(unsigned char){ (unsigned char)o.ttl },
		       1) < 0) {
		perror("mcast_relay");
		return 1;
	}
	if (o.every)
		phase = (unsigned long long)(rng_unit() * (double)o.every);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		ssize_t n = recv(fin, buf, sizeof(buf), 0);
		int in_fade = o.every && (nin + phase) % o.every < o.fade;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mcast_relay: recv");
			return 1;
		}
		nin++;
		if (in_fade || (o.loss > 0 && rng_unit() < o.loss)) {
			ndrop++;
			continue;
		}
		if (sendto(fout, buf, (size_t)n, 0, (struct sockaddr *)&o.out, sizeof(o.out)) == n)
			nout++;
	}
	f = o.stats ? fopen(o.stats, "w") : stderr;
	if (f) {
		fprintf(f, "in %llu out %llu dropped %llu\n", nin, nout, ndrop);
		if (f != stderr)
			fclose(f);
	}
	return 0;
}

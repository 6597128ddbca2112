/*
 * carousel_recv_net.c — the receiver's socket: bound to the group's port,
 * joined to the multicast group (IPv4, or IPv6 for "[ADDR]:PORT") on the
 * interface asked for, non-blocking.  The receive buffer is enlarged so a
 * burst at a few Mbit/s is not lost while a block decodes.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mem.h"
#include "satellite/carousel_recv.h"

#define RCVBUF_BYTES (4 << 20)

/* Splits "ADDR:PORT" or "[ADDR]:PORT". */
static int split(char *addr, size_t cap, uint16_t *port, bool *v6, const char *group)
{
	const char *colon = strrchr(group, ':');
	const char *a = group;
	size_t n;
	char *end;
	unsigned long p;

	if (!colon)
		return err_set(-EINVAL, "--group %s: expected ADDR:PORT", group);
	n = (size_t)(colon - group);
	*v6 = group[0] == '[';
	if (*v6) {
		if (n < 2 || group[n - 1] != ']')
			return err_set(-EINVAL, "--group %s: expected [ADDR]:PORT", group);
		a++;
		n -= 2;
	}
	p = strtoul(colon + 1, &end, 10);
	if (n == 0 || n >= cap || *end || p == 0 || p > 65535)
		return err_set(-EINVAL, "--group %s: expected ADDR:PORT", group);
	memcpy(addr, a, n);
	addr[n] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int join4(int fd, const char *addr, uint16_t port, unsigned ifindex, const char *group)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct ip_mreqn mr = { .imr_ifindex = (int)ifindex };

	if (inet_pton(AF_INET, addr, &mr.imr_multiaddr) != 1 ||
	    !IN_MULTICAST(ntohl(mr.imr_multiaddr.s_addr)))
		return err_set(-EINVAL, "--group %s: not an IPv4 multicast address", group);
	sa.sin_addr = mr.imr_multiaddr; /* only the group's datagrams */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_set(-errno, "--group %s: bind: %s", group, strerror(errno));
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return err_set(-errno, "--group %s: join: %s", group, strerror(errno));
	return 0;
}

static int join6(int fd, const char *addr, uint16_t port, unsigned ifindex, const char *group)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct ipv6_mreq mr = { .ipv6mr_interface = ifindex };

	if (inet_pton(AF_INET6, addr, &mr.ipv6mr_multiaddr) != 1 ||
	    !IN6_IS_ADDR_MULTICAST(&mr.ipv6mr_multiaddr))
		return err_set(-EINVAL, "--group %s: not an IPv6 multicast address", group);
	sa.sin6_addr = mr.ipv6mr_multiaddr;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_set(-errno, "--group %s: bind: %s", group, strerror(errno));
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0)
		return err_set(-errno, "--group %s: join: %s", group, strerror(errno));
	return 0;
}

int sat_recv_socket(int *fd_out, const char *group, const char *iface)
{
	char addr[128];
	uint16_t port = 0;
	unsigned ifindex = 0;
	int one = 1, rcv = RCVBUF_BYTES, fd, r;
	bool v6 = false;

	r = split(addr, sizeof(addr), &port, &v6, group);
	if (r < 0)
		return r;
	if (iface && !(ifindex = if_nametoindex(iface)))
		return err_set(-EINVAL, "--iface %s: no such interface", iface);
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	r = v6 ? join6(fd, addr, port, ifindex, group) : join4(fd, addr, port, ifindex, group);
	if (r < 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

/*
 * tcp_stub.c - misbehaving TCP servers on 127.0.0.1 for the interrupt tests.
 *
 *   tcp_stub silent PORTFILE     accepts connections, reads, never answers
 *   tcp_stub blackhole PORTFILE  listens with a full backlog and never
 *                                accepts, so new connects hang in SYN
 *
 * Writes its port to PORTFILE once listening; exits by itself after 300 s
 * so a forgotten stub cannot outlive a test run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME_SECONDS 300
#define MAX_CLIENTS 64

static int
listen_on_loopback(int backlog, int *port)
{
	struct sockaddr_in addr = {0};
	socklen_t	len = sizeof(addr);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(fd, backlog) != 0 || getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
	{
		perror("tcp_stub: listen");
		exit(1);
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

/* Fills the accept queue of a never-accepting listener with our own connects. */
static void
fill_backlog(int port)
{
	struct sockaddr_in addr = {0};

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	for (int i = 0; i < 8; i++)
	{
		int			fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		(void) connect(fd, (struct sockaddr *) &addr, sizeof(addr));
	}
}

static void
write_port(const char *path, int port)
{
	char		tmp[4096];
	FILE	   *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
	{
		perror("tcp_stub: port file");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	time_t		end = time(NULL) + LIFETIME_SECONDS;
	int			port;
	int			listener;
	struct pollfd fds[MAX_CLIENTS + 1];
	int			n = 1;

	if (argc != 3 || (strcmp(argv[1], "silent") != 0 && strcmp(argv[1], "blackhole") != 0))
	{
		fprintf(stderr, "usage: tcp_stub silent|blackhole PORTFILE\n");
		return 2;
	}
	if (strcmp(argv[1], "blackhole") == 0)
	{
		listener = listen_on_loopback(0, &port);
		fill_backlog(port);
		write_port(argv[2], port);
		while (time(NULL) < end)
			sleep(1);
		return 0;
	}

	listener = listen_on_loopback(64, &port);
	write_port(argv[2], port);
	fds[0].fd = listener;
	fds[0].events = POLLIN;
	while (time(NULL) < end)
	{
		if (poll(fds, n, 1000) <= 0)
			continue;
		if ((fds[0].revents & POLLIN) && n <= MAX_CLIENTS)
		{
			fds[n].fd = accept(listener, NULL, NULL);
			fds[n].events = POLLIN;
			if (fds[n].fd >= 0)
				n++;
		}
		for (int i = 1; i < n; i++)
		{
			char		buf[4096];

			/* Read and drop; a closed client is left closed, its slot unused. */
			if ((fds[i].revents & POLLIN) && read(fds[i].fd, buf, sizeof(buf)) <= 0)
			{
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	return 0;
}

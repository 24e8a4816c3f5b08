/*
 * srv.c -- the servers under test: peerd (with a private redis-server),
 * mosquitto and openssl s_server, each on free 127.0.0.1 ports with the
 * same certificate and key, configured so that no limit of theirs
 * throttles the benchmark.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"

#define SRV_TRIES	3	/* starts on fresh ports, at most */
#define SRV_INFO_MAX	(64 * 1024)	/* bytes of a Redis INFO reply */
#define SRV_LOG_LINES	30	/* log lines shown when a server fails */
#define SRV_MAX_OUTPUT	(64L << 20) /* bytes, peerd's max_output here */
#define SRV_WRAP_WORDS	16	/* words of $PEERD_WRAPPER, at most */

/*
 * peerd's limits raised past anything the benchmark reaches: chat rate and
 * burst at their maxima, held messages and bytes far above a window, 100k
 * connections, the queue at its maximum, timeouts long enough that 10,000
 * connections queued behind their handshakes are not dropped.
 */
static const char srv_peerd_limits[] =
	"max_frame 1048576\n"
	"max_text 65536\n"
	"max_connections 100000\n"
	"max_queue 50000\n"
	"max_held_messages 1000000\n"
	"max_held_bytes 1073741824\n"
	"chat_rate 1000\n"
	"chat_burst 100000\n"
	"handshake_timeout 120\n"
	"hello_timeout 120\n"
	"idle_timeout 3600\n"
	"offer_timeout 60\n"
	"tag bench Benchmark tag\n";

const char *
srv_name(const struct srv *s)
{
	switch (s->kind) {
	case SRV_PEERD:
		return ("peerd");
	case SRV_MOSQUITTO:
		return ("mosquitto");
	case SRV_S_SERVER:
		return ("s_server");
	}
	return ("?");
}

/* Close a config file written with fprintf.  Returns 0 or -1. */
static int
srv_close_file(FILE *f)
{
	int	ok = ferror(f) == 0;

	if (fclose(f) != 0 || !ok)
		return (-1);
	return (0);
}

/* Start a private redis-server for peerd.  Returns 0 or -1. */
static int
srv_redis_start(struct srv *s)
{
	char	 port[16];
	char	*argv[] = { (char *)bench.redis_bin, (char *)"--port", port,
		    (char *)"--bind", (char *)"127.0.0.1",
		    (char *)"--save", (char *)"",
		    (char *)"--appendonly", (char *)"no",
		    (char *)"--dir", bench.dir, NULL };
	int	 try;

	for (try = 0; try < SRV_TRIES; try++) {
		if ((s->redis_port = proc_free_port(NULL, 0)) == -1)
			return (-1);
		snprintf(port, sizeof port, "%d", s->redis_port);
		if ((s->redis_pid = proc_spawn(argv, s->redis_log)) == -1)
			return (-1);
		if (proc_wait_listen(&s->redis_pid, s->redis_port,
		    LOAD_START_MS) == 0)
			return (0);
		proc_stop(&s->redis_pid);
	}
	fprintf(stderr, "bench: redis-server did not start\n");
	proc_log_tail(s->redis_log, SRV_LOG_LINES);
	return (-1);
}

/* Write peerd's config for the current ports.  Returns 0 or -1. */
static int
srv_peerd_conf(struct srv *s)
{
	FILE	*f;
	long	 max;

	if ((f = fopen(s->conf, "w")) == NULL)
		return (-1);
	fprintf(f, "# written by tests/bench (bench_relay)\n"
	    "listen 127.0.0.1:%d\n"
	    "admin_listen 127.0.0.1:%d\n"
	    "tls_cert %s\n"
	    "tls_key %s\n"
	    "redis 127.0.0.1:%d\n"
	    "log_level info\n"
	    "node_id bench\n"
	    "allow_root yes\n"
	    "signing_pubkey %s\n"
	    "requester_secret_file %s\n"
	    "%s",
	    s->port, s->admin_port, bench.cert, bench.key, s->redis_port,
	    bench.pub, bench.secret, srv_peerd_limits);
	/* Limits newer than the bench: set when this peerd has them. */
	if ((max = srv_peerd_option_max("max_connections_per_addr")) > 0)
		fprintf(f, "max_connections_per_addr %ld\n", max);
	if ((max = srv_peerd_option_max("max_output")) > 0)
		fprintf(f, "max_output %ld\n", max < SRV_MAX_OUTPUT ? max :
		    SRV_MAX_OUTPUT);
	return (srv_close_file(f));
}

/* Write mosquitto's config for the current port.  Returns 0 or -1. */
static int
srv_mosquitto_conf(struct srv *s)
{
	FILE	*f;

	if ((f = fopen(s->conf, "w")) == NULL)
		return (-1);
	/*
	 * As root mosquitto drops to user mosquitto and then cannot read the
	 * 0600 key: stay root.  In-flight and queue limits raised like
	 * peerd's (defaults 20 and 1000 would queue part of the window).
	 */
	fprintf(f, "# written by tests/bench (bench_relay)\n"
	    "listener %d 127.0.0.1\n"
	    "certfile %s\n"
	    "keyfile %s\n"
	    "set_tcp_nodelay true\n"
	    "allow_anonymous true\n"
	    "persistence false\n"
	    "max_inflight_messages 1000\n"
	    "max_queued_messages 100000\n"
	    "log_dest stderr\n"
	    "%s",
	    s->port, bench.cert, bench.key,
	    geteuid() == 0 ? "user root\n" : "");
	return (srv_close_file(f));
}

/*
 * Spawn peerd, under $PEERD_WRAPPER if set (words split on blanks, e.g.
 * "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p": the PID
 * stays peerd's, so its CPU time is still read; for profiles only, the
 * figures mean nothing then).  Returns the pid or -1.
 */
static pid_t
srv_spawn_wrapped(char *const argv[], const char *logpath)
{
	char		*words[SRV_WRAP_WORDS + 4], *copy, *w, *save = NULL;
	const char	*wrap = getenv("PEERD_WRAPPER");
	pid_t		 pid;
	int		 n = 0, i;

	if (wrap == NULL || *wrap == '\0')
		return (proc_spawn(argv, logpath));
	if ((copy = strdup(wrap)) == NULL)
		return (-1);
	for (w = strtok_r(copy, " \t", &save); w != NULL &&
	    n < SRV_WRAP_WORDS; w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	for (i = 0; argv[i] != NULL && i < 3; i++)
		words[n++] = argv[i];
	words[n] = NULL;
	pid = proc_spawn(words, logpath);
	free(copy);
	return (pid);
}

/* Spawn the server process on the current ports.  Returns pid or -1. */
static pid_t
srv_spawn(struct srv *s)
{
	char	 accept[64];
	char	*peerd[] = { (char *)bench.peerd_bin, (char *)"-c", s->conf,
		    NULL };
	char	*mosq[] = { (char *)bench.mosquitto_bin, (char *)"-c",
		    s->conf, NULL };
	char	*ssrv[] = { (char *)bench.openssl_bin, (char *)"s_server",
		    (char *)"-accept", accept, (char *)"-cert", bench.cert,
		    (char *)"-key", bench.key, (char *)"-tls1_3",
		    (char *)"-quiet", (char *)"-no-CAfile", (char *)"-no-CApath",
		    (char *)"-no-CAstore", NULL };

	switch (s->kind) {
	case SRV_PEERD:
		if (srv_peerd_conf(s) == -1)
			return (-1);
		return (srv_spawn_wrapped(peerd, s->log));
	case SRV_MOSQUITTO:
		if (srv_mosquitto_conf(s) == -1)
			return (-1);
		return (proc_spawn(mosq, s->log));
	case SRV_S_SERVER:
		snprintf(accept, sizeof accept, "127.0.0.1:%d", s->port);
		return (proc_spawn(ssrv, s->log));
	}
	return (-1);
}

int
srv_start(struct srv *s, enum srv_kind kind, const char *tag)
{
	char	name[128];
	int	try, avoid[3];

	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->pid = s->redis_pid = -1;
	snprintf(name, sizeof name, "%s.conf", tag);
	if (proc_path(s->conf, name) == -1)
		return (-1);
	snprintf(name, sizeof name, "%s.log", tag);
	if (proc_path(s->log, name) == -1)
		return (-1);
	snprintf(name, sizeof name, "%s-redis.log", tag);
	if (proc_path(s->redis_log, name) == -1)
		return (-1);
	if (kind == SRV_PEERD && srv_redis_start(s) == -1)
		return (-1);
	for (try = 0; try < SRV_TRIES; try++) {
		avoid[0] = s->redis_port;
		if ((s->port = proc_free_port(avoid, 1)) == -1)
			break;
		avoid[1] = s->port;
		if ((s->admin_port = proc_free_port(avoid, 2)) == -1)
			break;
		if ((s->pid = srv_spawn(s)) == -1)
			break;
		if (proc_wait_listen(&s->pid, s->port, LOAD_START_MS) == 0) {
			if (bench.verbose)
				fprintf(stderr, "# %s pid=%ld port=%d "
				    "log=%s\n", srv_name(s), (long)s->pid,
				    s->port, s->log);
			return (0);
		}
		if (s->pid != -1)	/* alive but not listening */
			break;
	}
	fprintf(stderr, "bench: %s did not start (see %s)\n", srv_name(s),
	    s->log);
	proc_log_tail(s->log, SRV_LOG_LINES);
	srv_stop(s);
	return (-1);
}

void
srv_stop(struct srv *s)
{
	proc_stop(&s->pid);
	proc_stop(&s->redis_pid);
}

int64_t
srv_cpu_us(const struct srv *s)
{
	return (s->pid > 0 ? proc_cpu_us(s->pid) : -1);
}

long
srv_rss_kb(const struct srv *s)
{
	return (s->pid > 0 ? proc_rss_kb(s->pid) : -1);
}

int
srv_check(struct srv *s)
{
	if (proc_alive(&s->pid))
		return (0);
	fprintf(stderr, "bench: %s exited during the run (see %s)\n",
	    srv_name(s), s->log);
	proc_log_tail(s->log, SRV_LOG_LINES);
	return (-1);
}

/* Read until len bytes are in buf or the socket fails.  0 or -1. */
static int
srv_read_full(int fd, char *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return (-1);
		got += (size_t)n;
	}
	return (0);
}

int
srv_redis_commands(const struct srv *s, uint64_t *count)
{
	static const char	 cmd[] = "INFO stats\r\n";
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 2, 0 };
	char			 head[32], *body = NULL, *p;
	size_t			 i;
	long			 len;
	int			 fd, rc = -1;

	if (s->redis_port <= 0)
		return (-1);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)s->redis_port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    write(fd, cmd, sizeof cmd - 1) != (ssize_t)sizeof cmd - 1)
		goto out;
	/* "$<len>\r\n" then the bulk string. */
	for (i = 0; i < sizeof head - 1; i++) {
		if (srv_read_full(fd, head + i, 1) == -1)
			goto out;
		if (head[i] == '\n')
			break;
	}
	head[i + 1 < sizeof head ? i + 1 : sizeof head - 1] = '\0';
	if (head[0] != '$' || (len = strtol(head + 1, NULL, 10)) <= 0 ||
	    len > SRV_INFO_MAX || (body = malloc((size_t)len + 1)) == NULL ||
	    srv_read_full(fd, body, (size_t)len) == -1)
		goto out;
	body[len] = '\0';
	if ((p = strstr(body, "total_commands_processed:")) == NULL)
		goto out;
	*count = strtoull(p + strlen("total_commands_processed:"), NULL, 10);
	rc = 0;
out:
	free(body);
	close(fd);
	return (rc);
}

/* peerd's option table, from peerd --help. */
static char	*srv_peerd_help;

int
srv_probe_peerd(void)
{
	char	 path[LOAD_PATH];
	char	*argv[] = { (char *)bench.peerd_bin, (char *)"--help", NULL };
	FILE	*f;
	long	 len;

	if (proc_path(path, "peerd-help.txt") == -1 ||
	    proc_run(argv, path, 10000) != 0 ||
	    (f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "bench: %s --help failed\n", bench.peerd_bin);
		return (-1);
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if (len <= 0 || (srv_peerd_help = calloc(1, (size_t)len + 1)) == NULL ||
	    fread(srv_peerd_help, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	return (0);
}

long
srv_peerd_option_max(const char *name)
{
	const char	*p, *eol, *dots;
	size_t		 len = strlen(name);

	/* Lines read "  NAME  help [default] (min..max)". */
	for (p = srv_peerd_help; p != NULL && (p = strstr(p, name)) != NULL;
	    p += len) {
		if (p == srv_peerd_help || p[-1] != ' ' || p[len] != ' ')
			continue;
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		for (dots = p; (dots = strstr(dots, "..")) != NULL &&
		    dots < eol; dots += 2)
			if (dots[2] >= '0' && dots[2] <= '9')
				return (strtol(dots + 2, NULL, 10));
		return (0);
	}
	return (0);
}

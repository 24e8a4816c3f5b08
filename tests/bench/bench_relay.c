/*
 * bench_relay.c -- peerd's relay, latency, idle memory, handshakes and
 * presence churn, measured against mosquitto 2.0 (and openssl s_server
 * for handshakes) on the same machine, certificate, message sizes, pair
 * counts and windows.  See tests/bench/README.md for what each line
 * means; load.h for how the pieces fit.
 *
 * Everything it starts listens on 127.0.0.1 only and is stopped by PID
 * (and dies with it: PR_SET_PDEATHSIG); the whole run has a deadline.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "load.h"

#define SC_RELAY	0x01
#define SC_LATENCY	0x02
#define SC_IDLE		0x04
#define SC_HANDSHAKE	0x08
#define SC_PRESENCE	0x10
#define SC_ALL		0x1f

#define BENCH_DEADLINE_S	900	/* seconds, the whole run at most */
#define BENCH_FD_SPARE		1024	/* descriptors beyond connections */

struct bench	bench;

static const struct {
	const char	*name;
	int		 bit;
} bench_scenarios[] = {
	{ "relay", SC_RELAY },
	{ "latency", SC_LATENCY },
	{ "idle", SC_IDLE },
	{ "handshake", SC_HANDSHAKE },
	{ "presence", SC_PRESENCE },
	{ "all", SC_ALL },
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: bench_relay [--scenario relay,latency,idle,handshake,presence|all]\n"
"           [--servers both|peerd|other] [--seconds S] [--warmup S]\n"
"           [--rounds N] [--pairs N] [--window N] [--sizes N[,N...]]\n"
"           [--rtts N] [--conns N] [--supporters N] [--changes N]\n"
"           [--deadline S] [--keep] [--dump-rtt FILE] [--verbose]\n"
"environment: PEERD_BIN (required), PEERD_SRC (repository, default .),\n"
"           MOSQUITTO_BIN, REDIS_SERVER_BIN, OPENSSL_BIN, PEERD_WRAPPER\n");
}

/* Parse a comma-separated scenario list.  Returns the bits or -1. */
static int
bench_parse_scenarios(const char *list)
{
	char	*copy, *w, *save = NULL;
	size_t	 i;
	int	 bits = 0, found;

	if ((copy = strdup(list)) == NULL)
		return (-1);
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		for (found = 0, i = 0; i < sizeof bench_scenarios /
		    sizeof bench_scenarios[0]; i++)
			if (strcmp(w, bench_scenarios[i].name) == 0) {
				bits |= bench_scenarios[i].bit;
				found = 1;
			}
		if (!found) {
			fprintf(stderr, "bench: unknown scenario %s\n", w);
			free(copy);
			return (-1);
		}
	}
	free(copy);
	return (bits);
}

/* Parse "512,4096" into bench.sizes.  Returns 0 or -1. */
static int
bench_parse_sizes(const char *list)
{
	const char	*p = list;
	char		*end;
	long		 v;

	bench.nsizes = 0;
	while (*p != '\0') {
		v = strtol(p, &end, 10);
		if (end == p || v < LOAD_IDX_LEN || v > LOAD_MSG_MAX ||
		    bench.nsizes == (int)(sizeof bench.sizes /
		    sizeof bench.sizes[0]))
			return (-1);
		bench.sizes[bench.nsizes++] = (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return (-1);
	}
	return (bench.nsizes > 0 ? 0 : -1);
}

/* Parse a positive integer option or die. */
static int
bench_int(const char *s, const char *what, long min, long max)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench: --%s must be %ld..%ld\n", what, min,
		    max);
		exit(2);
	}
	return ((int)v);
}

/* Parse a positive number of seconds or die. */
static double
bench_secs(const char *s, const char *what)
{
	char	*end;
	double	 v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 600) {
		fprintf(stderr, "bench: --%s must be 0..600 seconds\n", what);
		exit(2);
	}
	return (v);
}

/* Return 1 if the certificate at path has an ECDSA P-256 key. */
static int
bench_cert_is_p256(const char *path)
{
	FILE		*f;
	X509		*x;
	EVP_PKEY	*pk;
	char		 curve[64];
	size_t		 len;
	int		 ok = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return (0);
	if ((pk = X509_get0_pubkey(x)) != NULL &&
	    EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(pk, curve, sizeof curve, &len) == 1)
		ok = strcmp(curve, "prime256v1") == 0 ||
		    strcmp(curve, "P-256") == 0;
	X509_free(x);
	return (ok);
}

/*
 * Certificates: deploy/gen-dev-certs.sh into the temp dir (ECDSA P-256
 * today).  Should it ever make another key type, make a self-signed P-256
 * one with the openssl CLI instead: the handshake comparison wants P-256.
 */
static int
bench_certs(void)
{
	char	 script[LOAD_PATH], log[LOAD_PATH], dir[LOAD_PATH];
	char	*gen[] = { script, dir, NULL };
	char	*req[] = { (char *)bench.openssl_bin, (char *)"req",
		    (char *)"-x509", (char *)"-newkey", (char *)"ec",
		    (char *)"-pkeyopt", (char *)"ec_paramgen_curve:P-256",
		    (char *)"-nodes", (char *)"-keyout", bench.key,
		    (char *)"-out", bench.cert, (char *)"-days", (char *)"2",
		    (char *)"-subj", (char *)"/CN=localhost",
		    (char *)"-addext",
		    (char *)"subjectAltName=DNS:localhost,IP:127.0.0.1", NULL };

	snprintf(script, sizeof script, "%s/deploy/gen-dev-certs.sh",
	    bench.src);
	if (proc_path(dir, "certs") == -1 ||
	    proc_path(log, "certs.log") == -1 ||
	    proc_path(bench.ca, "certs/ca.pem") == -1 ||
	    proc_path(bench.cert, "certs/server.pem") == -1 ||
	    proc_path(bench.key, "certs/server.key") == -1)
		return (-1);
	if (proc_run(gen, log, 60000) != 0) {
		fprintf(stderr, "bench: %s failed\n", script);
		proc_log_tail(log, 20);
		return (-1);
	}
	if (bench_cert_is_p256(bench.cert))
		return (0);
	printf("# gen-dev-certs.sh made no ECDSA P-256 certificate: making "
	    "one with openssl\n");
	unlink(bench.cert);
	unlink(bench.key);
	if (proc_run(req, log, 60000) != 0 || !bench_cert_is_p256(bench.cert)) {
		fprintf(stderr, "bench: cannot make a P-256 certificate\n");
		proc_log_tail(log, 20);
		return (-1);
	}
	snprintf(bench.ca, sizeof bench.ca, "%s", bench.cert);
	return (0);
}

/* Fill defaults and parse the command line and environment. */
static int
bench_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "servers", required_argument, NULL, 'S' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'W' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "rtts", required_argument, NULL, 'l' },
		{ "conns", required_argument, NULL, 'c' },
		{ "supporters", required_argument, NULL, 'u' },
		{ "changes", required_argument, NULL, 'C' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "keep", no_argument, NULL, 'k' },
		{ "dump-rtt", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*e;
	int		 ch, which = SC_ALL, deadline = BENCH_DEADLINE_S;

	bench.seconds = 3;
	bench.warmup = 1;
	bench.rounds = 7;
	bench.pairs = 64;
	bench.window = 64;
	bench.sizes[0] = 512;
	bench.sizes[1] = 4096;
	bench.nsizes = 2;
	bench.rtts = 20000;
	bench.conns = 10000;
	bench.supporters = 10000;
	bench.changes = 1000;
	bench.run_peerd = bench.run_other = 1;
	while ((ch = getopt_long(argc, argv, "vkh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if ((which = bench_parse_scenarios(optarg)) <= 0)
				return (-1);
			break;
		case 'S':
			bench.run_peerd = strcmp(optarg, "other") != 0;
			bench.run_other = strcmp(optarg, "peerd") != 0;
			if (strcmp(optarg, "both") != 0 &&
			    strcmp(optarg, "peerd") != 0 &&
			    strcmp(optarg, "other") != 0)
				return (-1);
			break;
		case 't':
			bench.seconds = bench_secs(optarg, "seconds");
			if (bench.seconds <= 0)
				return (-1);
			break;
		case 'w':
			bench.warmup = bench_secs(optarg, "warmup");
			break;
		case 'r':
			bench.rounds = bench_int(optarg, "rounds", 1, 50);
			break;
		case 'p':
			bench.pairs = bench_int(optarg, "pairs", 1, 5000);
			break;
		case 'W':
			bench.window = bench_int(optarg, "window", 2, 100000);
			break;
		case 'z':
			if (bench_parse_sizes(optarg) == -1) {
				fprintf(stderr, "bench: --sizes: %d..%d bytes, "
				    "at most 4\n", LOAD_IDX_LEN, LOAD_MSG_MAX);
				return (-1);
			}
			break;
		case 'l':
			bench.rtts = bench_int(optarg, "rtts", 1, 10000000);
			break;
		case 'c':
			bench.conns = bench_int(optarg, "conns", 1, 100000);
			break;
		case 'u':
			bench.supporters = bench_int(optarg, "supporters", 1,
			    100000);
			break;
		case 'C':
			bench.changes = bench_int(optarg, "changes", 1, 100000);
			break;
		case 'D':
			deadline = bench_int(optarg, "deadline", 10, 86400);
			break;
		case 'k':
			bench.keep = 1;
			break;
		case 'R':
			bench.dump_rtt = optarg;
			break;
		case 'v':
			bench.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return (-1);
		}
	}
	if (optind != argc)
		return (-1);
	if ((bench.peerd_bin = getenv("PEERD_BIN")) == NULL) {
		fprintf(stderr, "bench: set PEERD_BIN (make bench does)\n");
		return (-1);
	}
	if ((bench.src = getenv("PEERD_SRC")) == NULL)
		bench.src = ".";
	if ((e = getenv("MOSQUITTO_BIN")) != NULL)
		bench.mosquitto_bin = e;
	else
		bench.mosquitto_bin = access("/usr/sbin/mosquitto", X_OK) == 0 ?
		    "/usr/sbin/mosquitto" : "mosquitto";
	bench.redis_bin = (e = getenv("REDIS_SERVER_BIN")) != NULL ? e :
	    "redis-server";
	bench.openssl_bin = (e = getenv("OPENSSL_BIN")) != NULL ? e :
	    "openssl";
	proc_guard(deadline);
	return (which);
}

/* Say what runs where, and how busy the machine is. */
static void
bench_header(int which, long nofile)
{
	FILE		*f;
	const char	*sep;
	double		 load = -1;
	int		 i;

	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	printf("# bench_relay scenarios=");
	for (i = 0, sep = ""; i < 5; i++)
		if (which & bench_scenarios[i].bit) {
			printf("%s%s", sep, bench_scenarios[i].name);
			sep = ",";
		}
	printf(" servers=%s seconds=%g warmup=%g rounds=%d pairs=%d "
	    "window=%d sizes=", bench.run_peerd && bench.run_other ? "both" :
	    bench.run_peerd ? "peerd" : "other", bench.seconds, bench.warmup,
	    bench.rounds, bench.pairs, bench.window);
	for (i = 0; i < bench.nsizes; i++)
		printf("%s%d", i ? "," : "", bench.sizes[i]);
	printf("\n# machine cpus=%ld loadavg=%.2f nofile=%ld peerd=%s "
	    "max_connections_per_addr=%s\n", sysconf(_SC_NPROCESSORS_ONLN),
	    load, nofile, bench.peerd_bin,
	    srv_peerd_option_max("max_connections_per_addr") > 0 ? "set" :
	    "unknown_to_peerd");
	fflush(stdout);
}

/* Bring up a testbed: a server and n pairs on it.  Returns 0 or -1. */
static int
bench_testbed(struct srv *srv, struct pairs *set, enum srv_kind kind,
    const char *tag, int n)
{
	char	tls[128];
	double	t0 = loop_now_s();

	if (srv_start(srv, kind, tag) == -1)
		return (-1);
	if (pairs_setup(set, srv, n) == -1 || pairs_check(set, "setup") == -1) {
		pairs_free(set);
		srv_stop(srv);
		return (-1);
	}
	printf("# testbed server=%s pairs=%d up_in_s=%.2f tls=\"%s\"\n",
	    srv_name(srv), n, loop_now_s() - t0,
	    tconn_describe(&set->pair[0].ep[0]->tc, tls, sizeof tls));
	fflush(stdout);
	return (0);
}

/* Print a RATIO line and whether its target is met. */
static void
bench_ratio(const char *name, const char *what, double a, double b,
    const char *op, double target)
{
	double	r;
	int	met;

	if (a <= 0 || b <= 0)
		return;
	r = a / b;
	printf("RATIO %s=%s %.2f\n", name, what, r);
	met = strcmp(op, ">=") == 0 ? r >= target : r <= target;
	printf("# target %s %s %.2f %s\n", name, op, target,
	    met ? "met" : "NOT MET");
}

int
main(int argc, char **argv)
{
	struct srv		 srv[2];
	struct pairs		 set[2];
	struct relay_result	 relay[2][4];
	double			 p99[2] = { 0, 0 }, idle[2] = { 0, 0 };
	double			 hs[2] = { 0, 0 }, t0 = loop_now_s();
	long			 nofile, need;
	int			 which, failed = 0, up[2] = { 0, 0 }, k, i512;

	memset(relay, 0, sizeof relay);
	if ((which = bench_options(argc, argv)) <= 0) {
		usage(stderr);
		return (2);
	}
	nofile = proc_raise_nofile();
	need = (long)(bench.conns > bench.supporters ? bench.conns :
	    bench.supporters) + 2L * bench.pairs + BENCH_FD_SPARE;
	if (nofile < need) {
		fprintf(stderr, "bench: need %ld descriptors, have %ld "
		    "(ulimit -n)\n", need, nofile);
		return (1);
	}
	if (proc_tmpdir() == -1 || bench_certs() == -1 || creds_init() == -1 ||
	    tconn_init(bench.ca) == -1 || loop_init() == -1) {
		proc_tmpdir_remove();
		return (1);
	}
	ep_text_init();
	if (srv_probe_peerd() == -1) {
		proc_tmpdir_remove();
		return (1);
	}
	bench_header(which, nofile);

	/* Testbeds for relay, latency and presence: pairs kept up. */
	for (k = 0; k < 2; k++) {
		int	on = k == 0 ? bench.run_peerd : bench.run_other;
		int	want = k == 0 ? SC_RELAY | SC_LATENCY | SC_PRESENCE :
			    SC_RELAY | SC_LATENCY;

		srv[k].pid = srv[k].redis_pid = -1;
		if (!on || !(which & want))
			continue;
		if (bench_testbed(&srv[k], &set[k], k == 0 ? SRV_PEERD :
		    SRV_MOSQUITTO, k == 0 ? "relay-peerd" : "relay-mosquitto",
		    which & (SC_RELAY | SC_PRESENCE) ? bench.pairs : 1) == -1)
			failed = 1;
		else
			up[k] = 1;
	}
	if (!failed && (which & SC_RELAY) &&
	    scen_relay(up[0] ? &set[0] : NULL, up[1] ? &set[1] : NULL,
	    relay) == -1)
		failed = 1;
	if (!failed && (which & SC_LATENCY) &&
	    scen_latency(up[0] ? &set[0] : NULL, up[1] ? &set[1] : NULL,
	    p99) == -1)
		failed = 1;
	if (up[1]) {
		pairs_free(&set[1]);
		srv_stop(&srv[1]);
		up[1] = 0;
	}
	if ((which & SC_IDLE) && scen_idle(idle) == -1)
		failed = 1;
	if ((which & SC_HANDSHAKE) && scen_handshake(hs) == -1)
		failed = 1;
	if (!failed && (which & SC_PRESENCE) && up[0]) {
		for (i512 = 0; i512 < bench.nsizes; i512++)
			if (bench.sizes[i512] == 512)
				break;
		if (scen_presence(&set[0], (which & SC_RELAY) &&
		    i512 < bench.nsizes ? relay[0][i512].msgs_per_s : 0) == -1)
			failed = 1;
	}
	if (up[0]) {
		pairs_free(&set[0]);
		srv_stop(&srv[0]);
	}

	for (i512 = 0; i512 < bench.nsizes && bench.sizes[i512] != 512; i512++)
		;
	if ((which & SC_RELAY) && i512 < bench.nsizes)
		bench_ratio("relay_cpu", "peerd/mosquitto",
		    relay[0][i512].msgs_per_cpu_s,
		    relay[1][i512].msgs_per_cpu_s, ">=", 2.0);
	if (which & SC_LATENCY)
		bench_ratio("latency_p99", "peerd/mosquitto", p99[0], p99[1],
		    "<=", 0.6);
	if (which & SC_IDLE) {
		bench_ratio("idle", "peerd/mosquitto", idle[0], idle[1], "<=",
		    1.1);
		if (idle[0] > 0)
			printf("# target idle_bytes_per_conn <= 17000 %s\n",
			    idle[0] <= 17000 ? "met" : "NOT MET");
	}
	if (which & SC_HANDSHAKE)
		bench_ratio("handshake", "peerd/s_server", hs[0], hs[1], ">=",
		    0.85);
	printf("# wall_s=%.0f%s\n", loop_now_s() - t0,
	    failed ? " FAILED (see stderr)" : "");
	fflush(stdout);

	tconn_shutdown();
	creds_free();
	loop_free();
	if (failed)
		bench.keep = 1;	/* the servers' logs tell why */
	proc_tmpdir_remove();
	return (failed ? 1 : 0);
}

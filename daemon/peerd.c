/*
 * peerd.c -- main: command line, configuration, then the event loop.
 *
 *   peerd [-t] [-c FILE] [-v] [--help] [--version]
 *
 * peerd stays in the foreground and logs to stderr; a service manager
 * (systemd, Type=notify) supervises it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peerd.h"

/* Print usage and the option table to f. */
static void
usage(FILE *f)
{
	const struct config_option	*o;
	size_t				 i, n;

	fprintf(f,
	    "usage: peerd [-t] [-c FILE] [-v] [--help] [--version]\n"
	    "  -c FILE     configuration file (default %s)\n"
	    "  -t          check the configuration and load every file it "
	    "names, then exit 0/1\n"
	    "  -v          log at debug level\n"
	    "  --help      this text\n"
	    "  --version   print the version\n"
	    "\nconfiguration options (\"key value\" lines, # comments):\n",
	    PEERD_CONF_DEFAULT);
	o = config_table(&n);
	for (i = 0; i < n; i++) {
		fprintf(f, "  %-22s %s", o[i].name, o[i].help);
		if (o[i].def != NULL)
			fprintf(f, " [%s]", o[i].def);
		if (o[i].type == CONF_UINT)
			fprintf(f, " (%lld..%lld)", o[i].min, o[i].max);
		fputc('\n', f);
	}
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = PEERD_CONF_DEFAULT;
	char		*err;
	int		 ch, check = 0, verbose = 0;

	xmalloc_wipe_libevent();	/* before libevent allocates */
	log_init(LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:tvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("peerd %s (protocol %d)\n", PEERD_VERSION,
			    PEERD_PROTOCOL);
			return (0);
		default:
			usage(stderr);
			return (1);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return (1);
	}

	if (config_load(path, &err) != 0) {
		fprintf(stderr, "peerd: %s\n", err);
		free(err);
		return (1);
	}
	log_set_level(verbose ? LOG_LVL_DEBUG : (enum log_level)conf.log_level);
	if (tls_init(&err) != 0) {
		fprintf(stderr, "peerd: %s\n", err);
		free(err);
		return (1);
	}
	if (check) {
		/*
		 * Load and drop what start-up loads, with start-up's own
		 * functions: a -t that passes is a start that does not fail
		 * on a file.  The Redis password file was read with the
		 * configuration.
		 */
		tls_free();
		if (auth_check(&err) != 0 || priv_check(&err) != 0) {
			fprintf(stderr, "peerd: %s\n", err);
			free(err);
			config_clear();
			return (1);
		}
		fprintf(stderr, "peerd: configuration %s is ok (%u tags)\n",
		    path, conf.ntags);
		config_clear();
		return (0);
	}
	log_info("event=starting version=%s config=%s pid=%ld", PEERD_VERSION,
	    path, (long)getpid());
	if (server_start() != 0)
		return (1);
	ch = server_run();
	config_clear();
	return (ch);
}

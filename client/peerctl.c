/*
 * peerctl.c -- the operator tool: command table, dispatch and helpers.
 *
 *	peerctl [--help | --version]
 *	peerctl help [COMMAND]
 *	peerctl COMMAND [ARGS] [--help]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerctl.h"

#ifndef PEERD_VERSION
#define PEERD_VERSION	"unknown"
#endif

/* Every subcommand, in the order `peerctl --help` lists them. */
static const struct peerctl_cmd *const peerctl_cmds[] = {
	&peerctl_cred_keygen_cmd,
	&peerctl_cred_issue_cmd,
	&peerctl_cred_show_cmd,
	&peerctl_revoke_cmd,
	&peerctl_revoke_undo_cmd,
	&peerctl_stats_cmd,
	&peerctl_top_cmd,
};
#define PEERCTL_NCMDS	(sizeof peerctl_cmds / sizeof peerctl_cmds[0])

/* Print "peerctl CMD: message" on stderr. */
void
peerctl_warnx(const struct peerctl_cmd *cmd, const char *fmt, ...)
{
	va_list	ap;

	if (cmd != NULL)
		fprintf(stderr, "peerctl %s: ", cmd->name);
	else
		fprintf(stderr, "peerctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print a command's usage line on stderr; return the usage exit code. */
int
peerctl_usage(const struct peerctl_cmd *cmd)
{
	fprintf(stderr, "usage: peerctl %s %s\n", cmd->name, cmd->args);
	fprintf(stderr, "Try 'peerctl %s --help'.\n", cmd->name);
	return (PEERCTL_EXIT_USAGE);
}

/* Print a command's full help on stdout; return success. */
int
peerctl_help(const struct peerctl_cmd *cmd)
{
	printf("usage: peerctl %s %s\n\n%s.\n", cmd->name, cmd->args,
	    cmd->summary);
	if (cmd->help != NULL)
		printf("\n%s", cmd->help);
	return (PEERCTL_EXIT_OK);
}

/*
 * Report the argument getopt_long refused (run with opterr = 0) and return
 * the usage exit code.
 */
int
peerctl_getopt_error(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	if (optind > 0 && optind <= argc)
		peerctl_warnx(cmd, "unknown option or missing value: %s",
		    argv[optind - 1]);
	else
		peerctl_warnx(cmd, "unknown option or missing value");
	return (peerctl_usage(cmd));
}

/*
 * Parse a decimal number for flag, between min and max.  Returns 0, or -1
 * after printing a message naming the flag.
 */
int
peerctl_number(const struct peerctl_cmd *cmd, const char *flag,
    const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	if (*s < '0' || *s > '9' || (v = strtoull(s, &end, 10), *end != '\0') ||
	    errno == ERANGE || v < min || v > max) {
		peerctl_warnx(cmd, "%s: must be a number from %llu to %llu, "
		    "not \"%s\"", flag, min, max, s);
		return (-1);
	}
	*out = v;
	return (0);
}

/* Format unix seconds as "2026-11-23 18:30:00 UTC". */
void
peerctl_time(uint64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (t > (uint64_t)INT64_MAX || (uint64_t)tt != t ||
	    gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "@%llu", (unsigned long long)t);
}

/* Return the command called name, or NULL. */
static const struct peerctl_cmd *
peerctl_find(const char *name)
{
	size_t	i;

	for (i = 0; i < PEERCTL_NCMDS; i++) {
		if (strcmp(peerctl_cmds[i]->name, name) == 0)
			return (peerctl_cmds[i]);
	}
	return (NULL);
}

/* Print the tool's help on f. */
static void
peerctl_list(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: peerctl COMMAND [ARGS] [--help]\n"
	    "       peerctl help [COMMAND]\n"
	    "       peerctl --version\n\n"
	    "Operator tool for peerd.  Commands:\n");
	for (i = 0; i < PEERCTL_NCMDS; i++) {
		fprintf(f, "  %-10s %s\n", peerctl_cmds[i]->name,
		    peerctl_cmds[i]->summary);
	}
	fprintf(f, "\nExit status: 0 done, 1 error (or invalid credential), "
	    "2 usage.\n");
}

int
main(int argc, char **argv)
{
	const struct peerctl_cmd	*cmd;
	const char			*name;

	if (argc < 2) {
		peerctl_list(stderr);
		return (PEERCTL_EXIT_USAGE);
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		peerctl_list(stdout);
		return (PEERCTL_EXIT_OK);
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("peerctl %s\n", PEERD_VERSION);
		return (PEERCTL_EXIT_OK);
	}
	if (strcmp(name, "help") == 0) {
		if (argc == 2) {
			peerctl_list(stdout);
			return (PEERCTL_EXIT_OK);
		}
		if ((cmd = peerctl_find(argv[2])) == NULL) {
			peerctl_warnx(NULL, "no command \"%s\"; try "
			    "'peerctl --help'", argv[2]);
			return (PEERCTL_EXIT_USAGE);
		}
		return (peerctl_help(cmd));
	}
	if ((cmd = peerctl_find(name)) == NULL) {
		peerctl_warnx(NULL, "no command \"%s\"; try 'peerctl --help'",
		    name);
		return (PEERCTL_EXIT_USAGE);
	}
	/* Commands parse their own options; getopt reports nothing itself. */
	opterr = 0;
	return (cmd->exec(cmd, argc - 1, argv + 1));
}

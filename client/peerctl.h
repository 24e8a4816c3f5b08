/*
 * peerctl.h -- private header of peerctl, the operator tool.
 *
 * Each subcommand is a struct peerctl_cmd defined next to its code, in a
 * client/peerctl_*.c file, declared here and listed once in the table in
 * peerctl.c (as tmux's cmd_entry).  To add one (say `stats`): write
 * client/peerctl_stats.c defining `const struct peerctl_cmd
 * peerctl_stats_cmd`, declare it below, add it to peerctl_cmds[].
 */
#ifndef PEERCTL_H
#define PEERCTL_H

#include <stdint.h>

/* Exit codes. */
#define PEERCTL_EXIT_OK		0	/* done */
#define PEERCTL_EXIT_ERROR	1	/* failed, or the credential is invalid */
#define PEERCTL_EXIT_USAGE	2	/* bad command line */

struct peerctl_cmd {
	const char	*name;
	/* Arguments after the name, for the usage line. */
	const char	*args;
	/* One line for `peerctl --help`. */
	const char	*summary;
	/* Options and details for `peerctl CMD --help`; may be NULL. */
	const char	*help;
	/* Run with argv[0] the command name; return a PEERCTL_EXIT_* code. */
	int		(*exec)(const struct peerctl_cmd *, int, char **);
};

/* peerctl.c */
void	peerctl_warnx(const struct peerctl_cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	peerctl_usage(const struct peerctl_cmd *);
int	peerctl_help(const struct peerctl_cmd *);
int	peerctl_getopt_error(const struct peerctl_cmd *, int, char **);
int	peerctl_number(const struct peerctl_cmd *, const char *, const char *,
	    unsigned long long, unsigned long long, unsigned long long *);
void	peerctl_time(uint64_t, char *, size_t);

/* peerctl_cred.c */
extern const struct peerctl_cmd peerctl_cred_keygen_cmd;
extern const struct peerctl_cmd peerctl_cred_issue_cmd;
extern const struct peerctl_cmd peerctl_cred_show_cmd;

/* peerctl_revoke.c */
extern const struct peerctl_cmd peerctl_revoke_cmd;
extern const struct peerctl_cmd peerctl_revoke_undo_cmd;

#endif

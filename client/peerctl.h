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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "peer.pb-c.h"

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

/* peerctl_stats.c */
extern const struct peerctl_cmd peerctl_stats_cmd;

/*
 * The operator connection, shared by stats and top: connect with
 * libpeerclient, Hello as OPERATOR with the credential, StatsRequest ->
 * StatsReply.
 */
#define PEERCTL_OP_SERVER	"127.0.0.1:7474"	/* default --server */
#define PEERCTL_OP_CA		"run/ca.pem"		/* default --ca */
#define PEERCTL_OP_CRED		"run/operator.cred"	/* default --credential */
#define PEERCTL_OP_NAME		"localhost"		/* default --name */

struct peerctl_op_opts {
	const char	*server;	/* as given, for messages */
	char		 host[256];
	char		 port[8];
	const char	*ca;
	const char	*credential;
	const char	*name;		/* TLS host name to verify */
	int		 json;		/* stats --json */
};

/* What happened on an operator connection. */
enum peerctl_op_event {
	PEERCTL_OP_REPLY,	/* a StatsReply arrived */
	PEERCTL_OP_LOST,	/* the connection failed or closed; retry */
	PEERCTL_OP_REFUSED	/* peerd refused us (credential, role): give up */
};

struct event_base;
struct peerctl_op;
/* reply is set for PEERCTL_OP_REPLY, why (human text) for the others. */
typedef void (*peerctl_op_cb)(struct peerctl_op *, enum peerctl_op_event,
	    const Peerd__V1__StatsReply *reply, const char *why, void *arg);

int	peerctl_op_args(const struct peerctl_cmd *, int, char **,
	    struct peerctl_op_opts *, int);
struct peerctl_op *peerctl_op_new(const struct peerctl_cmd *,
	    struct event_base *, const struct peerctl_op_opts *,
	    peerctl_op_cb, void *);
int	peerctl_op_connect(struct peerctl_op *);
int	peerctl_op_request(struct peerctl_op *);
int	peerctl_op_connected(const struct peerctl_op *);
const char *peerctl_op_version(const struct peerctl_op *);
void	peerctl_op_free(struct peerctl_op *);
void	peerctl_stats_duration(uint32_t, char *, size_t);
void	peerctl_stats_text(FILE *, const struct peerctl_op_opts *,
	    const char *, const Peerd__V1__StatsReply *);

/* peerctl_top.c */
extern const struct peerctl_cmd peerctl_top_cmd;

#endif

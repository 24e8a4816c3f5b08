/*
 * peerctl_revoke.c -- revoke and unrevoke: the revocation list in Redis.
 *
 * Schema (proto/credential.h): the set CRED_REDIS_REVOKED holds revoked
 * ids; revoke also PUBLISHes the id on CRED_REDIS_REVOCATIONS so a live
 * peerd ends that person's session at once.  hiredis's synchronous API is
 * enough for one short exchange; every step has a timeout.
 *
 * revoke also sets the marker CRED_REDIS_REVOKED_EPOCH if it is missing
 * (SETNX, a random value), so the set and its marker exist together even
 * before a peerd has run; peerd takes a set read without the marker it
 * knows for one Redis lost, and writes its copy back.  peerd sets the
 * marker itself too, so a refused SETNX (a Redis ACL written before the
 * marker existed) is only noted.  unrevoke warns when the marker is
 * missing: Redis has lost the list, and running peerd nodes are about to
 * write back what they hold, this id perhaps among it.
 *
 * A Redis that wants a password gets it from the environment, never from
 * the command line (where ps would show it): PEERCTL_REDIS_PASSWORD, and
 * PEERCTL_REDIS_USER for an ACL user, as peerd's redis_password and
 * redis_user.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "credential.h"
#include "peerctl.h"

#define PEERCTL_REDIS_DEFAULT	"127.0.0.1:7476" /* peerd's usual Redis */
#define PEERCTL_REDIS_TIMEOUT	3		/* seconds, connect and reply */
#define PEERCTL_REDIS_PASSENV	"PEERCTL_REDIS_PASSWORD" /* AUTH, if set */
#define PEERCTL_REDIS_USERENV	"PEERCTL_REDIS_USER"	/* ACL user, with it */

/* Where Redis is: a unix socket path, or a host and port. */
struct peerctl_revoke_addr {
	const char	*text;		/* as given, for messages */
	const char	*path;		/* unix socket, or NULL */
	char		 host[256];
	int		 port;
};

static int	peerctl_revoke(const struct peerctl_cmd *, int, char **);
static int	peerctl_revoke_undo(const struct peerctl_cmd *, int, char **);

#define PEERCTL_REVOKE_HELP						\
	"  --redis ADDR   Redis as HOST:PORT, [IPV6]:PORT or a unix socket\n" \
	"                 path (default " PEERCTL_REDIS_DEFAULT ")\n"	\
	"\n"								\
	"If Redis wants a password, set " PEERCTL_REDIS_PASSENV " (and\n"	\
	PEERCTL_REDIS_USERENV " for a Redis 6 ACL user): peerctl sends AUTH\n" \
	"first.  The environment keeps it off the command line.\n"

const struct peerctl_cmd peerctl_revoke_cmd = {
	"revoke", "ID [--redis ADDR]",
	"Revoke every credential issued under ID and end live sessions",
	"Adds ID to the Redis set " CRED_REDIS_REVOKED " (peerd refuses it at\n"
	"the next Hello) and publishes it on " CRED_REDIS_REVOCATIONS " (peerd\n"
	"ends a live session with that id).  Lasts until 'peerctl unrevoke'.\n"
	"\n"
	PEERCTL_REVOKE_HELP,
	peerctl_revoke
};

const struct peerctl_cmd peerctl_revoke_undo_cmd = {
	"unrevoke", "ID [--redis ADDR]",
	"Lift the revocation of ID",
	"Removes ID from the Redis set " CRED_REDIS_REVOKED ".  Credentials\n"
	"issued under ID are accepted again until they expire.\n"
	"\n"
	PEERCTL_REVOKE_HELP,
	peerctl_revoke_undo
};

/*
 * Parse --redis: a path if it has a '/', else HOST:PORT or [HOST]:PORT.
 * Returns 0, or -1 after a message naming the flag.
 */
static int
peerctl_revoke_parse_addr(const struct peerctl_cmd *cmd, const char *text,
    struct peerctl_revoke_addr *addr)
{
	unsigned long long	 port;
	const char		*colon, *h = text;
	size_t			 n;

	memset(addr, 0, sizeof *addr);
	addr->text = text;
	if (strchr(text, '/') != NULL) {
		addr->path = text;
		return (0);
	}
	if ((colon = strrchr(text, ':')) == NULL || colon == text) {
		peerctl_warnx(cmd, "--redis: \"%s\" is not HOST:PORT", text);
		return (-1);
	}
	n = (size_t)(colon - text);
	if (text[0] == '[' && colon[-1] == ']' && n > 2) {
		h++;
		n -= 2;
	}
	if (n >= sizeof addr->host) {
		peerctl_warnx(cmd, "--redis: host name too long");
		return (-1);
	}
	memcpy(addr->host, h, n);
	addr->host[n] = '\0';
	if (peerctl_number(cmd, "--redis port", colon + 1, 1, 65535, &port) ==
	    -1)
		return (-1);
	addr->port = (int)port;
	return (0);
}

/*
 * Parse ID [--redis ADDR].  Returns 0 with *id and *addr set, -1 for
 * --help (printed), or a PEERCTL_EXIT_* code after a message.
 */
static int
peerctl_revoke_args(const struct peerctl_cmd *cmd, int argc, char **argv,
    const char **id, struct peerctl_revoke_addr *addr)
{
	static const struct option	 opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char			*redis = PEERCTL_REDIS_DEFAULT;
	int				 ch;

	while ((ch = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			redis = optarg;
			break;
		case 'h':
			peerctl_help(cmd);
			return (-1);
		default:
			return (peerctl_getopt_error(cmd, argc, argv));
		}
	}
	if (argc - optind != 1) {
		peerctl_warnx(cmd, argc == optind ? "ID is required" :
		    "only one ID, please");
		return (peerctl_usage(cmd));
	}
	*id = argv[optind];
	if (!cred_id_valid(*id)) {
		peerctl_warnx(cmd, "ID: \"%s\" is not a credential id (1-64 "
		    "characters of A-Z a-z 0-9 . _ -)", *id);
		return (PEERCTL_EXIT_USAGE);
	}
	if (peerctl_revoke_parse_addr(cmd, redis, addr) == -1)
		return (PEERCTL_EXIT_USAGE);
	return (0);
}

/* Connect to Redis and AUTH if asked.  Returns NULL after a message. */
static redisContext *
peerctl_revoke_connect(const struct peerctl_cmd *cmd,
    const struct peerctl_revoke_addr *addr)
{
	struct timeval	 tv = { PEERCTL_REDIS_TIMEOUT, 0 };
	redisContext	*c;
	redisReply	*r;
	const char	*pass, *user, *argv[3];
	size_t		 argvlen[3];
	int		 argc = 0;

	if ((pass = getenv(PEERCTL_REDIS_PASSENV)) != NULL && *pass == '\0')
		pass = NULL;
	if ((user = getenv(PEERCTL_REDIS_USERENV)) != NULL && *user == '\0')
		user = NULL;
	if (user != NULL && pass == NULL) {
		peerctl_warnx(cmd, PEERCTL_REDIS_USERENV " is set but "
		    PEERCTL_REDIS_PASSENV " is not");
		return (NULL);
	}
	if (addr->path != NULL)
		c = redisConnectUnixWithTimeout(addr->path, tv);
	else
		c = redisConnectWithTimeout(addr->host, addr->port, tv);
	if (c == NULL || c->err) {
		peerctl_warnx(cmd, "cannot connect to Redis at %s: %s",
		    addr->text, c != NULL ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		return (NULL);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		peerctl_warnx(cmd, "cannot set a Redis timeout");
		redisFree(c);
		return (NULL);
	}
	if (pass != NULL) {
		argv[argc] = "AUTH";
		argvlen[argc++] = 4;
		if (user != NULL) {
			argv[argc] = user;
			argvlen[argc++] = strlen(user);
		}
		argv[argc] = pass;
		argvlen[argc++] = strlen(pass);
		r = redisCommandArgv(c, argc, argv, argvlen);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* Redis's error never quotes the password. */
			peerctl_warnx(cmd, "Redis AUTH failed: %s",
			    r != NULL ? r->str : c->errstr);
			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
			return (NULL);
		}
		freeReplyObject(r);
	}
	return (c);
}

/*
 * Run a command whose reply is an integer.  Returns it, or -1 after a
 * message (no reply, or an error reply).
 */
static long long
peerctl_revoke_int(const struct peerctl_cmd *cmd, redisContext *c,
    const char *what, const char *fmt, const char *key, const char *id)
{
	redisReply	*r;
	long long	 v = -1;

	errno = 0;
	if ((r = redisCommand(c, fmt, key, id)) == NULL) {
		if (c->err == REDIS_ERR_IO &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			peerctl_warnx(cmd, "Redis %s: no reply within %d "
			    "seconds", what, PEERCTL_REDIS_TIMEOUT);
		else
			peerctl_warnx(cmd, "Redis %s failed: %s", what,
			    c->errstr);
	}
	else if (r->type == REDIS_REPLY_ERROR)
		peerctl_warnx(cmd, "Redis %s failed: %s", what, r->str);
	else if (r->type != REDIS_REPLY_INTEGER)
		peerctl_warnx(cmd, "Redis %s: unexpected reply type %d", what,
		    r->type);
	else
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return (v);
}

/*
 * Set the marker if it is missing (a fresh random value, in hex).
 * Returns 0, or -1 after a message: not fatal, peerd sets it too.
 */
static int
peerctl_revoke_marker(const struct peerctl_cmd *cmd, redisContext *c)
{
	char	epoch[CRED_EPOCH_LEN + 1];

	if (cred_epoch_new(epoch) == -1) {
		peerctl_warnx(cmd, "no random bytes for %s",
		    CRED_REDIS_REVOKED_EPOCH);
		return (-1);
	}
	if (peerctl_revoke_int(cmd, c, "SETNX", "SETNX %s %s",
	    CRED_REDIS_REVOKED_EPOCH, epoch) == -1)
		return (-1);
	return (0);
}

/*
 * Return 1 if the marker exists, 0 if not, -1 if Redis would not say
 * (an ACL without it: nothing to warn about then).
 */
static int
peerctl_revoke_has_marker(redisContext *c)
{
	redisReply	*r;
	int		 v = -1;

	if ((r = redisCommand(c, "EXISTS %s", CRED_REDIS_REVOKED_EPOCH)) ==
	    NULL)
		return (-1);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer != 0;
	freeReplyObject(r);
	return (v);
}

static int
peerctl_revoke(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	redisContext			*c;
	struct peerctl_revoke_addr	 addr;
	const char			*id;
	long long			 added, heard;
	int				 rc;

	if ((rc = peerctl_revoke_args(cmd, argc, argv, &id, &addr)) != 0)
		return (rc == -1 ? PEERCTL_EXIT_OK : rc);
	if ((c = peerctl_revoke_connect(cmd, &addr)) == NULL)
		return (PEERCTL_EXIT_ERROR);
	/* The set first: a peerd told of a revocation must find it there. */
	added = peerctl_revoke_int(cmd, c, "SADD", "SADD %s %s",
	    CRED_REDIS_REVOKED, id);
	if (added == -1) {
		redisFree(c);
		return (PEERCTL_EXIT_ERROR);
	}
	if (peerctl_revoke_marker(cmd, c) == -1)
		peerctl_warnx(cmd, "%s is revoked; peerd sets %s itself",
		    id, CRED_REDIS_REVOKED_EPOCH);
	/* Publish even if it was there already: it ends stray sessions. */
	heard = peerctl_revoke_int(cmd, c, "PUBLISH", "PUBLISH %s %s",
	    CRED_REDIS_REVOCATIONS, id);
	redisFree(c);
	if (heard == -1) {
		peerctl_warnx(cmd, "%s is revoked, but live peerd instances "
		    "were not told: they refuse it at the next Hello", id);
		return (PEERCTL_EXIT_ERROR);
	}
	printf("%s %s; %lld peerd instance%s notified\n", id,
	    added ? "revoked" : "was already revoked", heard,
	    heard == 1 ? "" : "s");
	if (heard == 0)
		printf("no peerd is listening on %s: live sessions with %s "
		    "are not ended now\n", CRED_REDIS_REVOCATIONS, id);
	return (PEERCTL_EXIT_OK);
}

static int
peerctl_revoke_undo(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	redisContext			*c;
	struct peerctl_revoke_addr	 addr;
	const char			*id;
	long long			 removed;
	int				 rc, marker;

	if ((rc = peerctl_revoke_args(cmd, argc, argv, &id, &addr)) != 0)
		return (rc == -1 ? PEERCTL_EXIT_OK : rc);
	if ((c = peerctl_revoke_connect(cmd, &addr)) == NULL)
		return (PEERCTL_EXIT_ERROR);
	removed = peerctl_revoke_int(cmd, c, "SREM", "SREM %s %s",
	    CRED_REDIS_REVOKED, id);
	marker = removed != -1 ? peerctl_revoke_has_marker(c) : -1;
	redisFree(c);
	if (removed == -1)
		return (PEERCTL_EXIT_ERROR);
	printf("%s %s\n", id, removed ? "is no longer revoked" :
	    "was not revoked");
	if (marker == 0)
		peerctl_warnx(cmd, "%s is missing: Redis may have lost the "
		    "revocation list, and running peerd nodes write back the "
		    "ids they hold, %s perhaps among them; check with "
		    "SISMEMBER %s %s in a few seconds and unrevoke again if "
		    "need be", CRED_REDIS_REVOKED_EPOCH, id, CRED_REDIS_REVOKED,
		    id);
	return (PEERCTL_EXIT_OK);
}

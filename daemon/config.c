/*
 * config.c -- the configuration file: one "key value" per line.
 *
 * Every option is a row of config_options[] (name, type, range, default,
 * where it is stored, help); the parser knows types, not options.  Defaults
 * are strings parsed exactly like file values, so the table is the single
 * source of truth for deploy/peerd.conf.example and --help.
 *
 * Syntax: blank lines and lines whose first non-blank character is '#' are
 * ignored; otherwise the first word is the option and the rest of the line
 * (trimmed) its value.  Options take one word, except tag (NAME then a free
 * text description) and include.  Setting an option again overrides it
 * (last wins, as in redis.conf), so a base file can be followed by local
 * overrides; tags are the exception: a duplicate tag is an error.  Every
 * error names file:line.
 *
 * A secret (CONF_SECRET, the Redis password) is never echoed: an error
 * about it names the option, not the value.  redis_password_file is read
 * here, at load and again by config_reload_secrets (SIGHUP), into
 * conf.redis_password, so the rest of peerd sees one password whichever
 * way it was given.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "peerd.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes of one config file */
#define CONF_NODE_MAX	64		/* bytes of node_id */
#define CONF_SECRET_MAX	1024		/* bytes of the Redis password */
#define CONF_REDIS_USER_MAX 128		/* bytes of redis_user */
#define CONF_CHAT_OVERHEAD 64		/* bytes of a ChatMessage frame body
					   besides its text */

struct config	 conf;

static const char	*config_check_listen(const char *);
static const char	*config_check_node_id(const char *);
static const char	*config_check_language(const char *);
static const char	*config_check_user(const char *);
static const char	*config_check_yesno(const char *);
static const char	*config_check_printable(const char *);

static const struct config_option config_options[] = {
	{ "listen", CONF_ADDR, 0, 0, "127.0.0.1:7474", &conf.listen,
	  "address:port for clients (TLS)", config_check_listen },
	{ "admin_listen", CONF_ADDR, 0, 0, "127.0.0.1:7475", &conf.admin_listen,
	  "address:port for the admin HTTP server (/healthz)",
	  config_check_listen },
	{ "tls_cert", CONF_PATH, 1, PATH_MAX, "/etc/peerd/server.pem",
	  &conf.tls_cert, "server certificate chain (PEM)", NULL },
	{ "tls_key", CONF_PATH, 1, PATH_MAX, "/etc/peerd/server.key",
	  &conf.tls_key, "server private key (PEM)", NULL },
	{ "redis", CONF_ADDR, 0, 0, "127.0.0.1:6379", &conf.redis,
	  "host:port of Redis (presence); unreachable is not an error", NULL },
	{ "redis_user", CONF_STRING, 1, CONF_REDIS_USER_MAX, NULL,
	  &conf.redis_user,
	  "Redis ACL user to AUTH as (default: Redis's default user)",
	  config_check_printable },
	{ "redis_password", CONF_SECRET, 1, CONF_SECRET_MAX, NULL,
	  &conf.redis_password,
	  "password sent with AUTH on every Redis connection", NULL },
	{ "redis_password_file", CONF_PATH, 1, PATH_MAX, NULL,
	  &conf.redis_password_file,
	  "file holding the Redis password instead (mode 0600; re-read on "
	  "SIGHUP)", NULL },
	{ "log_level", CONF_LEVEL, 0, 0, "info", &conf.log_level,
	  "debug, info, warn or error", NULL },

	{ "max_frame", CONF_UINT, 1024, FRAME_MAX_HARD, "65536", &conf.max_frame,
	  "bytes, largest frame body after Hello", NULL },
	{ "max_frame_hello", CONF_UINT, 512, 1048576, "8192",
	  &conf.max_frame_hello,
	  "bytes, largest frame body before Hello (must fit a credential)",
	  NULL },
	{ "max_text", CONF_UINT, 1, 1048576, "4096", &conf.max_text,
	  "bytes, largest ChatMessage text", NULL },
	{ "max_tags", CONF_UINT, 1, CONF_TAGS_MAX, "16", &conf.max_tags,
	  "tags in one RequestPeer list", NULL },
	{ "max_connections", CONF_UINT, 1, 1000000, "10000",
	  &conf.max_connections, "client connections at once", NULL },
	{ "max_connections_per_addr", CONF_UINT, 1, 1000000, "64",
	  &conf.max_connections_per_addr,
	  "client connections at once from one IPv4 address or IPv6 /64",
	  NULL },
	{ "max_output", CONF_UINT, CONN_OUTPUT_HIGH + 1, 1073741824, "4194304",
	  &conf.max_output,
	  "bytes queued to one client before it is dropped as a slow reader",
	  NULL },

	{ "handshake_timeout", CONF_UINT, 1, 300, "10", &conf.handshake_timeout,
	  "seconds for the TLS handshake", NULL },
	{ "hello_timeout", CONF_UINT, 1, 300, "10", &conf.hello_timeout,
	  "seconds from TLS up to Hello", NULL },
	{ "idle_timeout", CONF_UINT, 10, 86400, "300", &conf.idle_timeout,
	  "seconds a client's output may stall, or it may be silent, before "
	  "it is dropped", NULL },
	{ "keepalive", CONF_UINT, 1, 3600, "30", &conf.keepalive,
	  "seconds; clients send Ping at least this often, and one silent "
	  "for 1.5 times as long is dropped", NULL },

	{ "node_id", CONF_STRING, 1, CONF_NODE_MAX, NULL, &conf.node_id,
	  "name of this peerd in Redis (default: the host name)",
	  config_check_node_id },
	{ "default_language", CONF_STRING, 2, 3, "en", &conf.default_language,
	  "ISO 639-1 code for requests naming no language",
	  config_check_language },

	{ "signing_pubkey", CONF_PATH, 1, PATH_MAX, NULL, &conf.signing_pubkey,
	  "Ed25519 public key that signs credentials (PEM; re-read on "
	  "SIGHUP)", NULL },
	{ "signing_pubkey_previous", CONF_PATH, 1, PATH_MAX, NULL,
	  &conf.signing_pubkey_previous,
	  "Ed25519 public key also accepted while rotating signing_pubkey "
	  "(PEM; re-read on SIGHUP)", NULL },
	{ "requester_secret_file", CONF_PATH, 1, PATH_MAX, NULL,
	  &conf.requester_secret_file,
	  "secret for HMACs of requester keys (32+ random bytes, mode 0600; "
	  "re-read on SIGHUP)", NULL },
	{ "grace", CONF_UINT, 0, 3600, "120", &conf.grace,
	  "seconds a dropped conversation waits for its peer", NULL },
	{ "offer_timeout", CONF_UINT, 5, 600, "30", &conf.offer_timeout,
	  "seconds a supporter has to answer an offer", NULL },
	{ "max_queue", CONF_UINT, 1, 50000, "1000", &conf.max_queue,
	  "requesters waiting at once; more get QUEUE_FULL", NULL },
	{ "max_held_messages", CONF_UINT, 1, 1000000, "1000",
	  &conf.max_held_messages,
	  "messages a conversation holds unacknowledged; more get "
	  "RATE_LIMITED", NULL },
	{ "max_held_bytes", CONF_UINT, 1024, 1073741824, "1048576",
	  &conf.max_held_bytes,
	  "bytes of text a conversation holds unacknowledged", NULL },
	{ "chat_rate", CONF_UINT, 1, 1000, "20", &conf.chat_rate,
	  "chat messages a second one connection may send, sustained",
	  NULL },
	{ "chat_burst", CONF_UINT, 1, 100000, "1000", &conf.chat_burst,
	  "chat messages one connection may send at once above chat_rate",
	  NULL },
	{ "presence_ttl", CONF_UINT, 5, 3600, "30", &conf.presence_ttl,
	  "seconds a presence record lives in Redis", NULL },
	{ "user", CONF_STRING, 1, 32, NULL, &conf.user,
	  "user to switch to after binding the ports and reading the keys",
	  config_check_user },
	{ "allow_root", CONF_STRING, 1, 16, "no", &conf.allow_root,
	  "yes: may keep running as root when no user is set",
	  config_check_yesno },

	{ "tag", CONF_TAG, 0, 0, NULL, NULL,
	  "NAME DESCRIPTION...: one catalogue tag (repeatable)", NULL },
	{ "include", CONF_INCLUDE, 0, 0, NULL, NULL,
	  "FILE: read another config file here", NULL },
};
#define CONFIG_NOPTIONS	(sizeof config_options / sizeof config_options[0])

/* Where each option was last set ("file:line"), for error messages. */
static char	*config_where[CONFIG_NOPTIONS];

static int	 config_parse(const char *, const char *, size_t, int, char **);

/* Return the option table and its length. */
const struct config_option *
config_table(size_t *n)
{
	*n = CONFIG_NOPTIONS;
	return (config_options);
}

/* Refuse a listen address that is not a numeric IPv4 or IPv6 address. */
static const char *
config_check_listen(const char *value)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		*host;
	u_short		 port;
	int		 ok;

	if (config_split_addr(value, &host, &port) != 0)
		return ("must be address:port");
	ok = inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
	free(host);
	return (ok ? NULL : "must be a numeric IP address and a port");
}

/* Allow node ids made of [A-Za-z0-9._-]: they go into Redis key names. */
static const char *
config_check_node_id(const char *value)
{
	if (value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-")] != '\0')
		return ("may only contain A-Z a-z 0-9 . _ -");
	return (NULL);
}

/* Allow lower-case ISO 639 codes. */
static const char *
config_check_language(const char *value)
{
	if (value[strspn(value, "abcdefghijklmnopqrstuvwxyz")] != '\0')
		return ("must be a lower-case ISO 639-1 code, e.g. en");
	return (NULL);
}

/* Allow POSIX portable user names. */
static const char *
config_check_user(const char *value)
{
	if (value[0] == '-' || value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-")] != '\0')
		return ("is not a valid user name");
	return (NULL);
}

/* Allow printable ASCII without blanks (Redis ACL user names). */
static const char *
config_check_printable(const char *value)
{
	for (; *value != '\0'; value++)
		if (*value < '!' || *value > '~')
			return ("may only contain printable ASCII");
	return (NULL);
}

/* Allow yes or no. */
static const char *
config_check_yesno(const char *value)
{
	if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
		return ("must be yes or no");
	return (NULL);
}

/*
 * Split "host:port" or "[v6]:port" into a new host string and a port
 * (1..65535).  Returns 0, or -1 if value is not of that form.
 */
int
config_split_addr(const char *value, char **host, u_short *port)
{
	const char	*colon, *end, *h;
	size_t		 hlen;
	char		*ep;
	long		 n;

	if (value[0] == '[') {
		if ((end = strchr(value, ']')) == NULL || end[1] != ':')
			return (-1);
		h = value + 1;
		hlen = end - h;
		colon = end + 1;
	} else {
		if ((colon = strrchr(value, ':')) == NULL ||
		    memchr(value, ':', colon - value) != NULL)
			return (-1);
		h = value;
		hlen = colon - value;
	}
	if (hlen == 0 || hlen > 255 || colon[1] < '0' || colon[1] > '9')
		return (-1);
	errno = 0;
	n = strtol(colon + 1, &ep, 10);
	if (errno != 0 || *ep != '\0' || n < 1 || n > 65535)
		return (-1);
	*host = xstrndup(h, hlen);
	*port = (u_short)n;
	return (0);
}

/* Return the catalogue tag called name, or NULL. */
const struct conf_tag *
config_tag_find(const char *name)
{
	u_int	i;

	for (i = 0; i < conf.ntags; i++) {
		if (strcmp(conf.tags[i].name, name) == 0)
			return (&conf.tags[i]);
	}
	return (NULL);
}

/* Free everything the configuration holds and zero it. */
void
config_clear(void)
{
	const struct config_option	*o;
	size_t				 i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		switch (o->type) {
		case CONF_SECRET:
			if (*(char **)o->var != NULL)
				OPENSSL_cleanse(*(char **)o->var,
				    strlen(*(char **)o->var));
			/* FALLTHROUGH */
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR:
			free(*(char **)o->var);
			*(char **)o->var = NULL;
			break;
		default:
			break;
		}
		free(config_where[i]);
		config_where[i] = NULL;
	}
	for (i = 0; i < conf.ntags; i++) {
		free(conf.tags[i].name);
		free(conf.tags[i].description);
		free(conf.tags[i].where);
	}
	free(conf.path);
	memset(&conf, 0, sizeof conf);
}

/* Return a new "dir/file" for a relative file, a copy for an absolute one. */
static char *
config_resolve(const char *dir, const char *file)
{
	char	*p;

	if (file[0] == '/' || dir == NULL)
		return (xstrdup(file));
	xasprintf(&p, "%s/%s", dir, file);
	return (p);
}

/* Return the directory of path as a new string. */
static char *
config_dirname(const char *path)
{
	const char	*slash;

	if ((slash = strrchr(path, '/')) == NULL)
		return (xstrdup("."));
	if (slash == path)
		return (xstrdup("/"));
	return (xstrndup(path, slash - path));
}

/* Add one catalogue tag from "NAME DESCRIPTION...". */
static const char *
config_add_tag(const char *value, const char *where, char **errp)
{
	const struct conf_tag	*old;
	struct conf_tag		*t;
	size_t			 nlen;
	const char		*desc;
	char			*name;

	nlen = strcspn(value, " \t");
	desc = value + nlen;
	desc += strspn(desc, " \t");
	if (nlen == 0 || *desc == '\0')
		return ("needs a name and a description");
	if (nlen > CONF_TAG_NAME_MAX || strspn(value,
	    "abcdefghijklmnopqrstuvwxyz0123456789-") < nlen)
		return ("name must match [a-z0-9-]{1,32}");
	if (strlen(desc) > CONF_TAG_DESC_MAX)
		return ("description is longer than 200 bytes");
	if (!util_utf8_valid(desc, strlen(desc)))
		return ("description is not valid UTF-8");
	name = xstrndup(value, nlen);
	if ((old = config_tag_find(name)) != NULL) {
		xasprintf(errp, "%s: duplicate tag \"%s\" (first at %s)",
		    where, name, old->where);
		free(name);
		return ("");
	}
	if (conf.ntags == CONF_TAGS_MAX) {
		free(name);
		return ("too many tags (at most 128)");
	}
	t = &conf.tags[conf.ntags++];
	t->name = name;
	t->description = xstrdup(desc);
	t->where = xstrdup(where);
	return (NULL);
}

/* Read a whole file into a new buffer; returns its length or -1. */
static ssize_t
config_read_file(const char *path, char **buf)
{
	struct stat	 st;
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fstat(fileno(f), &st) != 0) {
		fclose(f);
		return (-1);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		fclose(f);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return (-1);
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	n = fread(*buf, 1, (size_t)st.st_size, f);
	fclose(f);
	(*buf)[n] = '\0';
	return ((ssize_t)n);
}

/* Read an included file and parse it one level deeper. */
static const char *
config_include(const char *dir, const char *value, const char *where,
    int depth, char **errp)
{
	char	*path, *buf;
	ssize_t	 n;
	int	 rc;

	if (depth >= CONF_INCLUDE_DEPTH)
		return ("nested too deeply");
	path = config_resolve(dir, value);
	if ((n = config_read_file(path, &buf)) == -1) {
		xasprintf(errp, "%s: include %s: %s", where, path,
		    strerror(errno));
		free(path);
		return ("");
	}
	rc = config_parse(path, buf, (size_t)n, depth + 1, errp);
	free(buf);
	free(path);
	return (rc == 0 ? NULL : "");
}

/*
 * Set option o from value (dir: the directory relative paths are taken
 * from).  Returns NULL, or why the value is refused; "" means *errp is
 * already set.
 */
static const char *
config_set(const struct config_option *o, const char *value, const char *dir,
    const char *where, int depth, char **errp)
{
	static char	 why[128];
	const char	*bad;
	char		*ep, *host;
	u_short		 port;
	unsigned long long n;
	size_t		 len;
	int		 level;

	if (o->type == CONF_TAG)
		return (config_add_tag(value, where, errp));
	if (o->type == CONF_INCLUDE) {
		if (value[strcspn(value, " \t")] != '\0')
			return ("takes one value");
		return (config_include(dir, value, where, depth, errp));
	}
	if (value[strcspn(value, " \t")] != '\0')
		return ("takes one value");

	switch (o->type) {
	case CONF_UINT:
		if (value[0] < '0' || value[0] > '9')
			return ("is not a number");
		errno = 0;
		n = strtoull(value, &ep, 10);
		if (*ep != '\0')
			return ("is not a number");
		if (errno == ERANGE || n < (unsigned long long)o->min ||
		    n > (unsigned long long)o->max) {
			snprintf(why, sizeof why, "%s is out of range (%lld..%lld)",
			    value, o->min, o->max);
			return (why);
		}
		*(u_int *)o->var = (u_int)n;
		return (NULL);
	case CONF_LEVEL:
		if ((level = log_level_from_name(value)) == -1)
			return ("must be debug, info, warn or error");
		*(int *)o->var = level;
		return (NULL);
	case CONF_ADDR:
		if (config_split_addr(value, &host, &port) != 0)
			return ("must be host:port (port 1..65535)");
		free(host);
		break;
	case CONF_STRING:
	case CONF_SECRET:
	case CONF_PATH:
		len = strlen(value);
		if (len < (size_t)o->min || len > (size_t)o->max) {
			snprintf(why, sizeof why,
			    "length %zu is out of range (%lld..%lld)", len,
			    o->min, o->max);
			return (why);
		}
		break;
	default:
		return ("cannot be set");
	}
	if (o->check != NULL && (bad = o->check(value)) != NULL)
		return (bad);
	if (o->type == CONF_SECRET && *(char **)o->var != NULL)
		OPENSSL_cleanse(*(char **)o->var, strlen(*(char **)o->var));
	free(*(char **)o->var);
	if (o->type == CONF_PATH)
		*(char **)o->var = config_resolve(dir, value);
	else
		*(char **)o->var = xstrdup(value);
	return (NULL);
}

/* Return the option called name, or NULL. */
static const struct config_option *
config_find(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strlen(config_options[i].name) == len &&
		    strncmp(config_options[i].name, name, len) == 0)
			return (&config_options[i]);
	}
	return (NULL);
}

/* Parse one line; returns 0 or -1 with *errp set. */
static int
config_line(const char *file, const char *dir, u_int lineno, char *line,
    int depth, char **errp)
{
	const struct config_option	*o;
	const char			*why;
	char				 where[PATH_MAX + 32], esc[128];
	char				*key, *value, *end;
	size_t				 klen, idx;

	key = line + strspn(line, " \t");
	if (*key == '\0' || *key == '#')
		return (0);
	end = key + strlen(key);
	while (end > key && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	klen = strcspn(key, " \t");
	value = key + klen;
	value += strspn(value, " \t");
	snprintf(where, sizeof where, "%s:%u", file, lineno);

	if ((o = config_find(key, klen)) == NULL) {
		log_escape(esc, sizeof esc, key, klen);
		xasprintf(errp, "%s: unknown option \"%s\"", where, esc);
		return (-1);
	}
	if (*value == '\0') {
		xasprintf(errp, "%s: %s needs a value", where, o->name);
		return (-1);
	}
	idx = o - config_options;
	if ((why = config_set(o, value, dir, where, depth, errp)) != NULL) {
		/* A secret's value is never repeated back. */
		if (*errp == NULL && (o->type == CONF_TAG ||
		    o->type == CONF_INCLUDE || o->type == CONF_SECRET))
			xasprintf(errp, "%s: %s: %s", where, o->name, why);
		else if (*errp == NULL) {
			log_escape(esc, sizeof esc, value, strlen(value));
			xasprintf(errp, "%s: %s \"%s\": %s", where, o->name,
			    esc, why);
		}
		return (-1);
	}
	if (o->type != CONF_TAG && o->type != CONF_INCLUDE) {
		free(config_where[idx]);
		config_where[idx] = xstrdup(where);
	}
	return (0);
}

/* Parse len bytes of file text; returns 0 or -1 with *errp set. */
static int
config_parse(const char *file, const char *text, size_t len, int depth,
    char **errp)
{
	char		*copy, *line, *nl, *dir;
	u_int		 lineno = 0;
	int		 rc = 0;

	if (memchr(text, '\0', len) != NULL) {
		xasprintf(errp, "%s: contains a NUL byte", file);
		return (-1);
	}
	copy = xstrndup(text, len);
	dir = config_dirname(file);
	for (line = copy; rc == 0 && line != NULL; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (strlen(line) > CONF_LINE_MAX) {
			xasprintf(errp, "%s:%u: line is longer than %d bytes",
			    file, lineno, CONF_LINE_MAX);
			rc = -1;
			break;
		}
		rc = config_line(file, dir, lineno, line, depth, errp);
	}
	free(dir);
	OPENSSL_cleanse(copy, len);	/* it may hold redis_password */
	free(copy);
	return (rc);
}

/* Return where option name was set, or the top file if it was not. */
static const char *
config_where_set(const char *name)
{
	const struct config_option	*o;

	o = config_find(name, strlen(name));
	if (o != NULL && config_where[o - config_options] != NULL)
		return (config_where[o - config_options]);
	return (conf.path != NULL ? conf.path : "config");
}

/*
 * Read the Redis password from path into a new string: the whole file,
 * less one trailing newline, 1..CONF_SECRET_MAX bytes on one line.  Like
 * requester_secret_file, a file that group or others may read or write is
 * refused.  Returns the password, or NULL with *errp set (never quoting
 * the file).
 */
static char *
config_read_secret(const char *path, char **errp)
{
	char	 buf[CONF_SECRET_MAX + 3], *pw = NULL, *why;
	ssize_t	 n;
	size_t	 got;

	/* One byte more than a password and its CRLF tells "too long". */
	if ((n = util_read_secret(path, buf, sizeof buf, &why)) == -1) {
		xasprintf(errp, "redis_password_file %s: %s", path, why);
		free(why);
		return (NULL);
	}
	got = (size_t)n;
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	if (got == 0 || got > CONF_SECRET_MAX)
		xasprintf(errp, "redis_password_file %s: must hold a password "
		    "of 1 to %d bytes", path, CONF_SECRET_MAX);
	else if (memchr(buf, '\0', got) != NULL ||
	    memchr(buf, '\n', got) != NULL || memchr(buf, '\r', got) != NULL)
		xasprintf(errp, "redis_password_file %s: must hold one line "
		    "and no NUL byte", path);
	else
		pw = xstrndup(buf, got);
	OPENSSL_cleanse(buf, sizeof buf);
	return (pw);
}

/*
 * Check the Redis AUTH options and read redis_password_file into
 * conf.redis_password.  Returns 0 or -1 with *errp set.
 */
static int
config_finish_redis(char **errp)
{
	char	*pw, *why = NULL;

	if (conf.redis_password != NULL && conf.redis_password_file != NULL) {
		xasprintf(errp, "%s: redis_password and redis_password_file "
		    "are both set: keep one", config_where_set(
		    "redis_password_file"));
		return (-1);
	}
	if (conf.redis_user != NULL && conf.redis_password == NULL &&
	    conf.redis_password_file == NULL) {
		xasprintf(errp, "%s: redis_user needs redis_password or "
		    "redis_password_file", config_where_set("redis_user"));
		return (-1);
	}
	if (conf.redis_password_file == NULL)
		return (0);
	if ((pw = config_read_secret(conf.redis_password_file, &why)) ==
	    NULL) {
		xasprintf(errp, "%s: %s", config_where_set(
		    "redis_password_file"), why);
		free(why);
		return (-1);
	}
	conf.redis_password = pw;
	return (0);
}

/*
 * Read redis_password_file again (SIGHUP) into conf.redis_password.
 * Returns 1 if the password changed, 0 if it did not or no file is set,
 * or -1 with *errp set: the old password is kept.
 */
int
config_reload_secrets(char **errp)
{
	char	*pw;
	int	 same;

	*errp = NULL;
	if (conf.redis_password_file == NULL)
		return (0);
	if ((pw = config_read_secret(conf.redis_password_file, errp)) == NULL)
		return (-1);
	same = conf.redis_password != NULL &&
	    strcmp(pw, conf.redis_password) == 0;
	if (conf.redis_password != NULL) {
		OPENSSL_cleanse(conf.redis_password,
		    strlen(conf.redis_password));
		free(conf.redis_password);
	}
	conf.redis_password = pw;
	return (same ? 0 : 1);
}

/* Check rules between options; returns 0 or -1 with *errp set. */
static int
config_finish(char **errp)
{
	size_t	welcome = 256;		/* bytes, Welcome without its tags */
	u_int	i;

	/*
	 * A ChatMessage must fit a frame: lower max_text rather than refuse,
	 * so a small max_frame alone (tests, constrained links) still works.
	 * Welcome announces the lowered value.
	 */
	if (conf.max_text + CONF_CHAT_OVERHEAD > conf.max_frame) {
		log_warnx("event=config_adjusted where=%s option=max_text "
		    "from=%u to=%u reason=\"must be %d bytes below max_frame\"",
		    config_where_set("max_text"), conf.max_text,
		    conf.max_frame - CONF_CHAT_OVERHEAD, CONF_CHAT_OVERHEAD);
		conf.max_text = conf.max_frame - CONF_CHAT_OVERHEAD;
	}
	/* Only a key being rotated out: without a current one, it is not. */
	if (conf.signing_pubkey_previous != NULL &&
	    conf.signing_pubkey == NULL) {
		xasprintf(errp, "%s: signing_pubkey_previous needs "
		    "signing_pubkey",
		    config_where_set("signing_pubkey_previous"));
		return (-1);
	}
	if (conf.keepalive >= conf.idle_timeout) {
		xasprintf(errp, "%s: keepalive (%u) must be below idle_timeout "
		    "(%u)", config_where_set("keepalive"), conf.keepalive,
		    conf.idle_timeout);
		return (-1);
	}
	for (i = 0; i < conf.ntags; i++) {
		welcome += strlen(conf.tags[i].name) +
		    strlen(conf.tags[i].description) + 8;
	}
	if (welcome > conf.max_frame) {
		xasprintf(errp, "%s: max_frame (%u) is too small for the tag "
		    "catalogue in Welcome (%zu bytes)",
		    config_where_set("max_frame"), conf.max_frame, welcome);
		return (-1);
	}
	return (config_finish_redis(errp));
}

/* Return the host name made safe for node_id, or "peerd". */
static char *
config_hostname(void)
{
	char	host[256];
	size_t	n;

	if (gethostname(host, sizeof host) != 0)
		return (xstrdup("peerd"));
	host[sizeof host - 1] = '\0';
	n = strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-");
	if (n == 0)
		return (xstrdup("peerd"));
	if (n > CONF_NODE_MAX)
		n = CONF_NODE_MAX;
	return (xstrndup(host, n));
}

/* Reset every option to its default. */
void
config_defaults(void)
{
	const struct config_option	*o;
	const char			*why;
	char				*err = NULL;
	size_t				 i;

	config_clear();
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		if (o->def == NULL)
			continue;
		why = config_set(o, o->def, NULL, "default", 0, &err);
		if (why != NULL)
			fatalx("event=bug option=%s reason=bad_default", o->name);
	}
	conf.node_id = config_hostname();
}

/*
 * Load the configuration from text named file (its directory anchors
 * relative paths).  Returns 0, or -1 with *errp a new "file:line: why".
 */
int
config_load_buffer(const char *file, const char *text, size_t len,
    char **errp)
{
	*errp = NULL;
	config_defaults();
	conf.path = xstrdup(file);
	if (config_parse(file, text, len, 0, errp) != 0)
		return (-1);
	return (config_finish(errp));
}

/* Load the configuration file path; returns 0 or -1 with *errp set. */
int
config_load(const char *path, char **errp)
{
	char	*buf;
	ssize_t	 n;
	int	 rc, saved;

	*errp = NULL;
	if ((n = config_read_file(path, &buf)) == -1) {
		saved = errno;
		config_defaults();
		xasprintf(errp, "%s: %s", path, strerror(saved));
		return (-1);
	}
	rc = config_load_buffer(path, buf, (size_t)n, errp);
	OPENSSL_cleanse(buf, (size_t)n);
	free(buf);
	return (rc);
}

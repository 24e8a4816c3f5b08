/*
 * test_config.c -- the peerd config parser (daemon/config.c): defaults,
 * every option, range and syntax errors with their file:line, tags,
 * includes, relative paths, the Redis password (never echoed, read from a
 * file and re-read), and the shipped example files.
 */
#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "peerd.h"

static char	tmpdir[PATH_MAX];

/* Write text to dir/name; return the path (static buffer). */
static const char *
write_file(const char *name, const char *text)
{
	static char	 path[PATH_MAX + 64];
	FILE		*f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

/* Load text as tmpdir/peerd.conf; return 0/-1, error in *err. */
static int
load(const char *text, char **err)
{
	char	name[PATH_MAX + 16];

	snprintf(name, sizeof name, "%s/peerd.conf", tmpdir);
	return (config_load_buffer(name, text, strlen(text), err));
}

/* Load text expecting an error that contains want (after the dir). */
static void
load_fails(const char *text, const char *want)
{
	char	*err = NULL;

	assert_int_equal(load(text, &err), -1);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	free(err);
}

/* Load text expecting success. */
static void
load_ok(const char *text)
{
	char	*err = NULL;

	if (load(text, &err) != 0)
		fail_msg("unexpected error: %s", err);
	assert_null(err);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/peerd-test-config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	log_init(LOG_LVL_ERROR);
	return (0);
}

static int
teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	(void)state;
	config_clear();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* Every default is what the documentation promises. */
static void
test_defaults(void **state)
{
	(void)state;
	load_ok("# nothing but a comment\n\n");
	assert_string_equal(conf.listen, "127.0.0.1:7474");
	assert_string_equal(conf.admin_listen, "127.0.0.1:7475");
	assert_string_equal(conf.tls_cert, "/etc/peerd/server.pem");
	assert_string_equal(conf.tls_key, "/etc/peerd/server.key");
	assert_string_equal(conf.redis, "127.0.0.1:6379");
	assert_null(conf.redis_user);
	assert_null(conf.redis_password);
	assert_null(conf.redis_password_file);
	assert_int_equal(conf.log_level, LOG_LVL_INFO);
	assert_int_equal(conf.max_frame, 65536);
	assert_int_equal(conf.max_frame_hello, 8192);
	assert_int_equal(conf.max_text, 4096);
	assert_int_equal(conf.max_tags, 16);
	assert_int_equal(conf.max_connections, 10000);
	assert_int_equal(conf.handshake_timeout, 10);
	assert_int_equal(conf.hello_timeout, 10);
	assert_int_equal(conf.idle_timeout, 300);
	assert_int_equal(conf.keepalive, 30);
	assert_non_null(conf.node_id);
	assert_true(strlen(conf.node_id) > 0);
	assert_string_equal(conf.default_language, "en");
	assert_null(conf.signing_pubkey);
	assert_null(conf.requester_secret_file);
	assert_int_equal(conf.grace, 120);
	assert_int_equal(conf.offer_timeout, 30);
	assert_int_equal(conf.max_queue, 1000);
	assert_int_equal(conf.max_held_messages, 1000);
	assert_int_equal(conf.max_held_bytes, 1048576);
	assert_int_equal(conf.chat_rate, 20);
	assert_int_equal(conf.chat_burst, 1000);
	assert_int_equal(conf.presence_ttl, 30);
	assert_null(conf.user);
	assert_string_equal(conf.allow_root, "no");
	assert_int_equal(conf.ntags, 0);
}

/* Every option set to a non-default value, with tabs, CRLF and comments. */
static void
test_every_option(void **state)
{
	char	want[PATH_MAX + 64];

	(void)state;
	load_ok(
	    "# all options\n"
	    "listen\t\t[::1]:8000\n"
	    "admin_listen 127.0.0.2:8001\r\n"
	    "tls_cert certs/server.pem\n"
	    "tls_key /abs/server.key\n"
	    "redis redis.example.org:6380\n"
	    "redis_user peerd-node\n"
	    "redis_password pa$$-w0rd#not-a-comment\n"
	    "log_level debug\n"
	    "   max_frame 131072   \n"
	    "max_frame_hello 16384\n"
	    "max_text 8192\n"
	    "max_tags 32\n"
	    "max_connections 50\n"
	    "handshake_timeout 5\n"
	    "hello_timeout 6\n"
	    "idle_timeout 600\n"
	    "keepalive 20\n"
	    "node_id node-1.example_x\n"
	    "default_language cy\n"
	    "signing_pubkey keys/sign.pub\n"
	    "requester_secret_file /etc/peerd/secret\n"
	    "grace 0\n"
	    "offer_timeout 45\n"
	    "max_queue 50000\n"
	    "max_held_messages 20\n"
	    "max_held_bytes 65536\n"
	    "chat_rate 3\n"
	    "chat_burst 7\n"
	    "presence_ttl 60\n"
	    "user _peerd\n"
	    "allow_root yes\n"
	    "tag lgbtq LGBTQ+ peers, with \"quotes\" and ünïcode\n"
	    "tag a  b\n");
	assert_string_equal(conf.listen, "[::1]:8000");
	assert_string_equal(conf.admin_listen, "127.0.0.2:8001");
	snprintf(want, sizeof want, "%s/certs/server.pem", tmpdir);
	assert_string_equal(conf.tls_cert, want);
	assert_string_equal(conf.tls_key, "/abs/server.key");
	assert_string_equal(conf.redis, "redis.example.org:6380");
	assert_string_equal(conf.redis_user, "peerd-node");
	assert_string_equal(conf.redis_password, "pa$$-w0rd#not-a-comment");
	assert_null(conf.redis_password_file);
	assert_int_equal(conf.log_level, LOG_LVL_DEBUG);
	assert_int_equal(conf.max_frame, 131072);
	assert_int_equal(conf.max_frame_hello, 16384);
	assert_int_equal(conf.max_text, 8192);
	assert_int_equal(conf.max_tags, 32);
	assert_int_equal(conf.max_connections, 50);
	assert_int_equal(conf.handshake_timeout, 5);
	assert_int_equal(conf.hello_timeout, 6);
	assert_int_equal(conf.idle_timeout, 600);
	assert_int_equal(conf.keepalive, 20);
	assert_string_equal(conf.node_id, "node-1.example_x");
	assert_string_equal(conf.default_language, "cy");
	snprintf(want, sizeof want, "%s/keys/sign.pub", tmpdir);
	assert_string_equal(conf.signing_pubkey, want);
	assert_string_equal(conf.requester_secret_file, "/etc/peerd/secret");
	assert_int_equal(conf.grace, 0);
	assert_int_equal(conf.offer_timeout, 45);
	assert_int_equal(conf.max_queue, 50000);
	assert_int_equal(conf.max_held_messages, 20);
	assert_int_equal(conf.max_held_bytes, 65536);
	assert_int_equal(conf.chat_rate, 3);
	assert_int_equal(conf.chat_burst, 7);
	assert_int_equal(conf.presence_ttl, 60);
	assert_string_equal(conf.user, "_peerd");
	assert_string_equal(conf.allow_root, "yes");
	assert_int_equal(conf.ntags, 2);
	assert_string_equal(conf.tags[0].name, "lgbtq");
	assert_string_equal(conf.tags[0].description,
	    "LGBTQ+ peers, with \"quotes\" and ünïcode");
	assert_string_equal(conf.tags[1].name, "a");
	assert_string_equal(conf.tags[1].description, "b");
	assert_non_null(config_tag_find("lgbtq"));
	assert_null(config_tag_find("nope"));
}

/*
 * Every numeric option from the table: min and max are accepted, one
 * below and one above are refused naming file:line and the range.
 */
static void
test_every_range(void **state)
{
	const struct config_option	*o;
	size_t				 i, n;
	char				 text[256], want[PATH_MAX + 128];
	char				*err;
	long long			 v;
	int				 k;

	(void)state;
	o = config_table(&n);
	for (i = 0; i < n; i++) {
		if (o[i].type != CONF_UINT)
			continue;
		for (k = 0; k < 4; k++) {
			v = (k == 0) ? o[i].min : (k == 1) ? o[i].max :
			    (k == 2) ? o[i].min - 1 : o[i].max + 1;
			if (v < 0)
				continue;
			/* Keep the cross-option rules out of the way. */
			snprintf(text, sizeof text,
			    "# range test\n\n%s %lld\n%s%s%s",
			    o[i].name, v,
			    strcmp(o[i].name, "max_frame") == 0 ?
			    "max_text 1\n" : "",
			    strcmp(o[i].name, "idle_timeout") == 0 ?
			    "keepalive 1\n" : "",
			    strcmp(o[i].name, "keepalive") == 0 ?
			    "idle_timeout 86400\n" : "");
			if (strcmp(o[i].name, "max_text") == 0)
				strcat(text, "max_frame 16777216\n");
			err = NULL;
			if (k < 2) {
				if (load(text, &err) != 0)
					fail_msg("%s %lld refused: %s",
					    o[i].name, v, err);
				continue;
			}
			assert_int_equal(load(text, &err), -1);
			snprintf(want, sizeof want,
			    "%s/peerd.conf:3: %s \"%lld\": %lld is out of "
			    "range (%lld..%lld)", tmpdir, o[i].name, v, v,
			    o[i].min, o[i].max);
			assert_string_equal(err, want);
			free(err);
		}
	}
}

/* Numbers must be plain decimal. */
static void
test_not_numbers(void **state)
{
	(void)state;
	load_fails("max_frame 64k\n", "peerd.conf:1: max_frame \"64k\": "
	    "is not a number");
	load_fails("\nmax_frame -1\n", "peerd.conf:2: max_frame \"-1\": "
	    "is not a number");
	load_fails("max_frame 0x100\n", "is not a number");
	load_fails("max_frame 99999999999999999999999\n", "out of range");
	load_fails("max_frame +5\n", "is not a number");
}

/* Syntax errors name the file and line. */
static void
test_syntax_errors(void **state)
{
	char	*err = NULL;

	(void)state;
	load_fails("listen 127.0.0.1:7474\n\n# c\nfrobnicate 1\n",
	    "peerd.conf:4: unknown option \"frobnicate\"");
	load_fails("max_text\n", "peerd.conf:1: max_text needs a value");
	load_fails("max_text 1 2\n", "peerd.conf:1: max_text \"1 2\": "
	    "takes one value");
	load_fails("max_text 10 # comment\n", "takes one value");
	load_ok("max_text 10\nmax_text 20\n");		/* last wins */
	assert_int_equal(conf.max_text, 20);
	load_fails("max_text 10\nmax_text 20x\n",
	    "peerd.conf:2: max_text \"20x\": is not a number");
	load_fails("log_level loud\n", "peerd.conf:1: log_level \"loud\": "
	    "must be debug, info, warn or error");
	load_fails("listen localhost:7474\n", "peerd.conf:1: listen "
	    "\"localhost:7474\": must be a numeric IP address and a port");
	load_fails("listen 127.0.0.1\n", "must be host:port");
	load_fails("listen 127.0.0.1:0\n", "must be host:port");
	load_fails("admin_listen 127.0.0.1:65536\n", "must be host:port");
	load_fails("redis :6379\n", "must be host:port");
	load_fails("redis ::1:6379\n", "must be host:port");
	load_fails("node_id a/b\n", "peerd.conf:1: node_id \"a/b\": may only");
	load_fails("default_language EN\n", "lower-case");
	load_fails("default_language english\n", "length 7 is out of range");
	load_fails("user -x\n", "is not a valid user name");
	load_fails("allow_root maybe\n", "must be yes or no");
	load_fails("allow_root YES\n", "must be yes or no");
	load_fails("max_text 1\x01\n", "is not a number");
	assert_int_equal(config_load_buffer("nul.conf", "grace 1\0\n", 9,
	    &err), -1);
	assert_string_equal(err, "nul.conf: contains a NUL byte");
	free(err);
}

/* Rules between options. */
static void
test_cross_checks(void **state)
{
	(void)state;
	/* max_text is lowered to fit max_frame, not refused. */
	load_ok("max_frame 2048\n\nmax_text 2000\n");
	assert_int_equal(conf.max_text, 2048 - 64);
	load_ok("max_frame 1024\n");
	assert_int_equal(conf.max_text, 1024 - 64);
	load_fails("keepalive 300\n", "peerd.conf:1: keepalive (300) must be "
	    "below idle_timeout (300)");
	load_ok("max_frame 2048\nmax_text 1984\n");
	/* A previous signing key is only for rotating a current one. */
	load_fails("\nsigning_pubkey_previous /etc/peerd/old.pub\n",
	    "peerd.conf:2: signing_pubkey_previous needs signing_pubkey");
	load_ok("signing_pubkey /etc/peerd/new.pub\n"
	    "signing_pubkey_previous /etc/peerd/old.pub\n");
}

/* Tag names, descriptions, duplicates and the 128 limit. */
static void
test_tags(void **state)
{
	char	*text, *p;
	int	 i;

	(void)state;
	load_fails("tag lgbtq\n", "peerd.conf:1: tag: needs a name and a "
	    "description");
	load_fails("tag LGBTQ Capitals\n", "name must match");
	load_fails("tag a_b Underscore\n", "name must match");
	load_fails("tag abcdefghijklmnopqrstuvwxyz0123456 Too long\n",
	    "name must match");
	load_ok("tag abcdefghijklmnopqrstuvwxyz012345 Thirty-two\n");
	load_fails("tag x \xff\xfe\n", "not valid UTF-8");
	load_fails("tag women Women\n\ntag women Again\n",
	    "peerd.conf:3: duplicate tag \"women\" (first at ");
	load_fails("tag women Women\n\ntag women Again\n", "peerd.conf:1)");

	text = p = calloc(130, 32);
	assert_non_null(text);
	for (i = 0; i < 128; i++)
		p += sprintf(p, "tag t%d Tag %d\n", i, i);
	load_ok(text);
	assert_int_equal(conf.ntags, 128);
	sprintf(p, "tag t128 One too many\n");
	load_fails(text, "peerd.conf:129: tag: too many tags (at most 128)");
	free(text);
}

/* include: relative to the including file, depth-bounded, errors located. */
static void
test_include(void **state)
{
	char	 path[PATH_MAX + 64], want[PATH_MAX + 64], *err = NULL;

	(void)state;
	snprintf(path, sizeof path, "%s/sub", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file("sub/tags.conf", "tag carer Carers\ninclude more.conf\n");
	write_file("sub/more.conf", "\ntls_key key.pem\n");
	load_ok("include sub/tags.conf\ntag bme Black and minority ethnic\n");
	assert_int_equal(conf.ntags, 2);
	snprintf(want, sizeof want, "%s/sub/key.pem", tmpdir);
	assert_string_equal(conf.tls_key, want);

	write_file("sub/bad.conf", "tag ok Fine\n\nmax_text lots\n");
	load_fails("include sub/bad.conf\n", "sub/bad.conf:3: max_text "
	    "\"lots\": is not a number");

	load_fails("\ninclude missing.conf\n", "peerd.conf:2: include ");
	load_fails("\ninclude missing.conf\n", "No such file or directory");

	write_file("loop.conf", "include loop.conf\n");
	load_fails("include loop.conf\n", "include: nested too deeply");

	/* config_load itself reads files and reports unreadable ones. */
	snprintf(path, sizeof path, "%s/none.conf", tmpdir);
	assert_int_equal(config_load(path, &err), -1);
	assert_non_null(strstr(err, "none.conf: No such file"));
	free(err);
	write_file("top.conf", "include sub/tags.conf\n");
	snprintf(path, sizeof path, "%s/top.conf", tmpdir);
	assert_int_equal(config_load(path, &err), 0);
	assert_int_equal(conf.ntags, 1);
}

/* Load text expecting an error with want in it and without secret. */
static void
load_fails_quietly(const char *text, const char *want, const char *secret)
{
	char	*err = NULL;

	assert_int_equal(load(text, &err), -1);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	if (strstr(err, secret) != NULL)
		fail_msg("error \"%s\" repeats the secret", err);
	free(err);
}

/*
 * redis_password: one word of 1..1024 bytes, never repeated in an error;
 * redis_user needs a password; the two ways of giving one exclude each
 * other.
 */
static void
test_redis_password(void **state)
{
	char	 text[2048];

	(void)state;
	load_ok("redis_password hunter2\n");
	assert_string_equal(conf.redis_password, "hunter2");
	assert_null(conf.redis_user);
	load_ok("redis_password first\nredis_password second\n");
	assert_string_equal(conf.redis_password, "second");

	load_fails_quietly("redis_password hunter2 and more\n",
	    "peerd.conf:1: redis_password: takes one value", "hunter2");
	memset(text, 0, sizeof text);
	memcpy(text, "redis_password ", 15);
	memset(text + 15, 'k', 1025);
	text[15 + 1025] = '\n';
	load_fails_quietly(text, "peerd.conf:1: redis_password: length 1025 "
	    "is out of range (1..1024)", "kkkkkkkk");
	text[15 + 1024] = '\n';
	text[15 + 1025] = '\0';
	load_ok(text);
	assert_int_equal(strlen(conf.redis_password), 1024);

	load_fails("\nredis_user peerd\n", "peerd.conf:2: redis_user needs "
	    "redis_password or redis_password_file");
	load_fails("redis_user a\x01b\nredis_password x\n",
	    "may only contain printable ASCII");
	load_ok("redis_user peerd\nredis_password hunter2\n");
	assert_string_equal(conf.redis_user, "peerd");
	load_fails_quietly("redis_password hunter2\n"
	    "redis_password_file /nonexistent/pw\n",
	    "peerd.conf:2: redis_password and redis_password_file are both "
	    "set", "hunter2");
}

/*
 * redis_password_file: relative to the config, 0600, one line (the
 * newline is not part of it), read into conf.redis_password; errors name
 * the file, never its contents; config_reload_secrets reads it again and
 * keeps the old password when the file has gone bad.
 */
static void
test_redis_password_file(void **state)
{
	char	 path[PATH_MAX + 64], *err = NULL;

	(void)state;
	write_file("pw", "s3cret-from-file\n");
	snprintf(path, sizeof path, "%s/pw", tmpdir);
	assert_int_equal(chmod(path, 0600), 0);
	load_ok("redis_password_file pw\n");
	assert_string_equal(conf.redis_password_file, path);
	assert_string_equal(conf.redis_password, "s3cret-from-file");

	write_file("pw", "crlf-secret\r\n");
	load_ok("redis_password_file pw\n");
	assert_string_equal(conf.redis_password, "crlf-secret");
	write_file("pw", "no-newline");
	load_ok("redis_user peerd\nredis_password_file pw\n");
	assert_string_equal(conf.redis_password, "no-newline");

	/* Unchanged, changed, then broken: the old one stays. */
	assert_int_equal(config_reload_secrets(&err), 0);
	assert_null(err);
	write_file("pw", "rotated\n");
	assert_int_equal(config_reload_secrets(&err), 1);
	assert_string_equal(conf.redis_password, "rotated");
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(config_reload_secrets(&err), -1);
	assert_non_null(strstr(err, "mode 0640 lets group or others at it"));
	assert_null(strstr(err, "rotated"));
	free(err);
	err = NULL;
	assert_string_equal(conf.redis_password, "rotated");

	load_fails_quietly("\nredis_password_file pw\n", "peerd.conf:2: "
	    "redis_password_file ", "rotated");
	load_fails("redis_password_file pw\n", "(chmod 600)");
	assert_int_equal(chmod(path, 0600), 0);
	write_file("pw", "\n");
	load_fails("redis_password_file pw\n", "must hold a password of 1 to "
	    "1024 bytes");
	write_file("pw", "two\nlines\n");
	load_fails_quietly("redis_password_file pw\n", "must hold one line",
	    "lines");
	load_fails("redis_password_file missing\n", "No such file");
	load_fails("redis_password_file .\n", "not a regular file");

	/* Without a file, a reload changes nothing. */
	load_ok("redis_password inline\n");
	assert_int_equal(config_reload_secrets(&err), 0);
	assert_string_equal(conf.redis_password, "inline");
}

/* Return the path of a file in the source tree. */
static const char *
src_path(const char *rel)
{
	static char	 path[PATH_MAX];
	const char	*top = getenv("PEERD_SRC");

	snprintf(path, sizeof path, "%s/%s", top != NULL ? top : ".", rel);
	return (path);
}

/*
 * deploy/peerd.conf.example loads, includes tags.conf with the default
 * catalogue, and documents every option with its default.
 */
static void
test_example(void **state)
{
	const struct config_option	*o;
	const char			*need[] = { "lgbtq", "bme",
	    "first-episode-psychosis", "prison", "secure-hospital",
	    "inpatient", "women", "young-adult", "carer", "dementia",
	    "long-term-condition" };
	char				*err = NULL, *text, line[256];
	size_t				 i, n, len;
	FILE				*f;

	(void)state;
	if (config_load(src_path("deploy/peerd.conf.example"), &err) != 0)
		fail_msg("example: %s", err);
	for (i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (config_tag_find(need[i]) == NULL)
			fail_msg("tags.conf lacks %s", need[i]);
	}

	f = fopen(src_path("deploy/peerd.conf.example"), "r");
	assert_non_null(f);
	text = calloc(1, 65536);
	assert_non_null(text);
	len = fread(text, 1, 65535, f);
	fclose(f);
	text[len] = '\0';
	o = config_table(&n);
	for (i = 0; i < n; i++) {
		if (o[i].def != NULL) {
			/* "name<tabs>default" as a line of its own. */
			snprintf(line, sizeof line, "\n%s\t", o[i].name);
			if (strstr(text, line) == NULL)
				fail_msg("example does not set %s", o[i].name);
			if (strstr(strstr(text, line), o[i].def) == NULL)
				fail_msg("example lacks default of %s",
				    o[i].name);
		} else {
			snprintf(line, sizeof line, "%s", o[i].name);
			if (strstr(text, line) == NULL)
				fail_msg("example omits %s", o[i].name);
		}
	}
	free(text);
}

/* Client strings are escaped and cut for logs. */
static void
test_log_escape(void **state)
{
	char	buf[LOG_ESCAPE_MAX * 4 + 8], big[200];

	(void)state;
	assert_string_equal(log_escape(buf, sizeof buf, "peer/0.1", 8),
	    "peer/0.1");
	assert_string_equal(log_escape(buf, sizeof buf, "a\"b\\c\n\x01", 7),
	    "a\\x22b\\x5cc\\x0a\\x01");
	memset(big, 'x', sizeof big);
	log_escape(buf, sizeof buf, big, sizeof big);
	assert_int_equal(strlen(buf), LOG_ESCAPE_MAX + 3);
	assert_string_equal(buf + LOG_ESCAPE_MAX, "...");
	assert_string_equal(log_escape(buf, 4, "abcdef", 6), "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_every_range),
		cmocka_unit_test(test_not_numbers),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_redis_password),
		cmocka_unit_test(test_redis_password_file),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_log_escape),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}

/*
 * test_conf_check.c -- `peerd -t` loads what start-up loads, with the real
 * binary: the TLS certificate and key (and that they match), the signing
 * public key and the previous one, the requester secret (size, mode), the
 * Redis password file and the user to switch to.  A bad file is one line
 * naming the option and the file, and exit 1; a good one, "is ok" and
 * exit 0.  No secret is ever printed.  Start-up refuses the same bad
 * files for the same reason.
 */
#include <sys/stat.h>

#include <fcntl.h>
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "credential.h"
#include "harness.h"

#define T_OUT_MAX	8192	/* bytes of one run's output kept */
#define T_MARK		"MARK-never-printed-7f3a" /* inside secret files */

/* The files a good configuration names, in the harness dir. */
struct files {
	char	pub[HARNESS_PATH];	/* signing.pub, Ed25519 */
	char	priv[HARNESS_PATH];	/* signing.key, its private half */
	char	secret[HARNESS_PATH];	/* requester.secret, 0600 */
	char	redis_pw[HARNESS_PATH];	/* redis.password, 0600 */
	char	conf[HARNESS_PATH];	/* check.conf */
};

static struct files	f;

/* Write dir/name into out. */
static void
tpath(char *out, const char *dir, const char *name)
{
	if (snprintf(out, HARNESS_PATH, "%s/%s", dir, name) >= HARNESS_PATH)
		fail_msg("path too long: %s/%s", dir, name);
}

/* Write len bytes to path (replacing it) with mode. */
static void
put_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int	fd;

	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A harness without Redis or peerd, and the good files. */
static int
setup(void **state)
{
	struct harness	*h;
	EVP_PKEY	*key;
	char		 err[CRED_ERR_MAX], secret[65];
	int		 rc;

	if (harness_setup(state, HARNESS_NO_PEERD, NULL) != 0)
		return (-1);
	h = *state;
	tpath(f.pub, h->dir, "signing.pub");
	tpath(f.priv, h->dir, "signing.key");
	tpath(f.secret, h->dir, "requester.secret");
	tpath(f.redis_pw, h->dir, "redis.password");
	tpath(f.conf, h->dir, "check.conf");
	if ((key = cred_key_generate()) == NULL)
		return (-1);
	rc = cred_key_write(key, f.priv, f.pub, err, sizeof err);
	EVP_PKEY_free(key);
	if (rc != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return (-1);
	}
	/* 64 bytes holding the marker: a good secret, never to be shown. */
	snprintf(secret, sizeof secret, "%s-%040d", T_MARK, 0);
	put_file(f.secret, secret, 64, 0600);
	put_file(f.redis_pw, T_MARK "\n", strlen(T_MARK) + 1, 0600);
	return (0);
}

/*
 * Write f.conf: the harness certificate and key, every file above, then
 * extra lines (later lines win).  With ports, also listen, admin_listen,
 * redis and allow_root yes, for a start-up.
 */
static void
write_conf(struct harness *h, const char *extra, int ports)
{
	FILE	*fp;

	assert_non_null(fp = fopen(f.conf, "w"));
	fprintf(fp, "tls_cert %s\ntls_key %s\nsigning_pubkey %s\n"
	    "requester_secret_file %s\nredis_password_file %s\n",
	    h->cert, h->key, f.pub, f.secret, f.redis_pw);
	if (ports)
		fprintf(fp, "listen 127.0.0.1:%d\nadmin_listen 127.0.0.1:%d\n"
		    "redis 127.0.0.1:%d\nallow_root yes\n", h->port,
		    h->admin_port, h->redis_port);
	fprintf(fp, "%s", extra != NULL ? extra : "");
	assert_int_equal(fclose(fp), 0);
}

/*
 * Run peerd (-t when check) on f.conf; copy what it printed into out.
 * Returns its exit code (-1: killed or too slow).
 */
static int
run_peerd(struct harness *h, int check, char *out, size_t len)
{
	char	 log[HARNESS_PATH];
	char	*argv[5];
	FILE	*fp;
	long	 before;
	size_t	 n;
	int	 i = 0, rc;

	argv[i++] = (char *)h->peerd_bin;
	if (check)
		argv[i++] = (char *)"-t";
	argv[i++] = (char *)"-c";
	argv[i++] = f.conf;
	argv[i] = NULL;
	tpath(log, h->dir, "commands.log");
	before = 0;
	if ((fp = fopen(log, "r")) != NULL) {
		fseek(fp, 0, SEEK_END);
		before = ftell(fp);
		fclose(fp);
	}
	rc = harness_run_cmd(h, argv, HARNESS_START_MS);
	out[0] = '\0';
	if ((fp = fopen(log, "r")) != NULL) {
		fseek(fp, before, SEEK_SET);
		n = fread(out, 1, len - 1, fp);
		out[n] = '\0';
		fclose(fp);
	}
	return (rc);
}

/* peerd -t with extra lines: exit 0 and "is ok". */
static void
expect_ok(struct harness *h, const char *extra)
{
	char	out[T_OUT_MAX];
	int	rc;

	write_conf(h, extra, 0);
	rc = run_peerd(h, 1, out, sizeof out);
	if (rc != 0 || strstr(out, "is ok") == NULL)
		fail_msg("peerd -t with \"%s\": exit %d, \"%s\"",
		    extra != NULL ? extra : "", rc, out);
	assert_null(strstr(out, T_MARK));
}

/*
 * peerd -t with extra lines: exit 1 and exactly one line, "peerd: " then
 * option, a blank, file, ": " and why (why may be only its start).
 */
static void
expect_fails(struct harness *h, const char *extra, const char *option,
    const char *file, const char *why)
{
	char	out[T_OUT_MAX], want[HARNESS_PATH * 2 + 256];
	int	rc;

	write_conf(h, extra, 0);
	rc = run_peerd(h, 1, out, sizeof out);
	snprintf(want, sizeof want, "peerd: %s %s: %s", option, file, why);
	if (rc != 1 || strncmp(out, want, strlen(want)) != 0)
		fail_msg("peerd -t with \"%s\": exit %d, \"%s\"; wanted exit 1, "
		    "\"%s...\"", extra, rc, out, want);
	assert_non_null(strchr(out, '\n'));
	assert_string_equal(strchr(out, '\n'), "\n");	/* one line */
	assert_null(strstr(out, T_MARK));
}

/* The certificate and key: missing, not PEM, not a pair; then good. */
static void
test_check_tls(void **state)
{
	struct harness	*h = *state;
	char		 line[HARNESS_PATH * 2], other_ca[HARNESS_PATH];
	char		 other_key[HARNESS_PATH], missing[HARNESS_PATH];
	char		 want[HARNESS_PATH + 64];

	expect_ok(h, NULL);

	tpath(missing, h->dir, "missing.pem");
	snprintf(line, sizeof line, "tls_cert %s\n", missing);
	expect_fails(h, line, "tls_cert", missing, "No such file or directory");
	snprintf(line, sizeof line, "tls_cert %s\n", f.pub);
	expect_fails(h, line, "tls_cert", f.pub, "not a PEM certificate chain");

	snprintf(line, sizeof line, "tls_key %s\n", missing);
	expect_fails(h, line, "tls_key", missing, "No such file or directory");
	snprintf(line, sizeof line, "tls_key %s\n", h->cert);
	expect_fails(h, line, "tls_key", h->cert, "not a PEM private key");

	/* Another certificate's key (same type), then a key of another type. */
	assert_int_equal(harness_make_ca(h, "other", other_ca,
	    sizeof other_ca), 0);
	tpath(other_key, h->dir, "other/server.key");
	snprintf(line, sizeof line, "tls_key %s\n", other_key);
	snprintf(want, sizeof want, "does not match the certificate in "
	    "tls_cert %s", h->cert);
	expect_fails(h, line, "tls_key", other_key, want);
	snprintf(line, sizeof line, "tls_key %s\n", f.priv);
	expect_fails(h, line, "tls_key", f.priv, want);
}

/* signing_pubkey: missing, garbage, a private key, an EC key; then good. */
static void
test_check_signing_pubkey(void **state)
{
	struct harness	*h = *state;
	char		 line[HARNESS_PATH * 2], path[HARNESS_PATH];
	EVP_PKEY	*ec;
	FILE		*fp;

	expect_ok(h, NULL);

	tpath(path, h->dir, "missing.pub");
	snprintf(line, sizeof line, "signing_pubkey %s\n", path);
	expect_fails(h, line, "signing_pubkey", path,
	    "No such file or directory");

	tpath(path, h->dir, "garbage.pub");
	put_file(path, "hello\n", 6, 0644);
	snprintf(line, sizeof line, "signing_pubkey %s\n", path);
	expect_fails(h, line, "signing_pubkey", path, "not a PEM public key");

	/* The private half by mistake: refused, and not shown. */
	snprintf(line, sizeof line, "signing_pubkey %s\n", f.priv);
	expect_fails(h, line, "signing_pubkey", f.priv,
	    "not a PEM public key");

	/* The TLS key's public half: PEM, but not Ed25519. */
	assert_non_null(fp = fopen(h->key, "r"));
	assert_non_null(ec = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
	tpath(path, h->dir, "ec.pub");
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PUBKEY(fp, ec), 1);
	fclose(fp);
	EVP_PKEY_free(ec);
	snprintf(line, sizeof line, "signing_pubkey %s\n", path);
	expect_fails(h, line, "signing_pubkey", path, "not an Ed25519 key");
}

/*
 * signing_pubkey_previous: missing, garbage, the private half; then the
 * same file as signing_pubkey (harmless) and another good key.
 */
static void
test_check_signing_pubkey_previous(void **state)
{
	struct harness	*h = *state;
	char		 line[HARNESS_PATH * 2], path[HARNESS_PATH];
	char		 priv[HARNESS_PATH], err[CRED_ERR_MAX];
	EVP_PKEY	*key;

	tpath(path, h->dir, "missing.pub");
	snprintf(line, sizeof line, "signing_pubkey_previous %s\n", path);
	expect_fails(h, line, "signing_pubkey_previous", path,
	    "No such file or directory");

	tpath(path, h->dir, "garbage.pub");
	put_file(path, "hello\n", 6, 0644);
	snprintf(line, sizeof line, "signing_pubkey_previous %s\n", path);
	expect_fails(h, line, "signing_pubkey_previous", path,
	    "not a PEM public key");

	snprintf(line, sizeof line, "signing_pubkey_previous %s\n", f.priv);
	expect_fails(h, line, "signing_pubkey_previous", f.priv,
	    "not a PEM public key");

	snprintf(line, sizeof line, "signing_pubkey_previous %s\n", f.pub);
	expect_ok(h, line);

	tpath(priv, h->dir, "old.key");
	tpath(path, h->dir, "old.pub");
	assert_non_null(key = cred_key_generate());
	assert_int_equal(cred_key_write(key, priv, path, err, sizeof err), 0);
	EVP_PKEY_free(key);
	snprintf(line, sizeof line, "signing_pubkey_previous %s\n", path);
	expect_ok(h, line);
}

/*
 * requester_secret_file: missing, a directory, too short, too long, open
 * to group or others; the contents never printed; then good.
 */
static void
test_check_requester_secret(void **state)
{
	struct harness	*h = *state;
	char		 line[HARNESS_PATH * 2], path[HARNESS_PATH];
	char		 big[4097];

	expect_ok(h, NULL);

	tpath(path, h->dir, "missing.secret");
	snprintf(line, sizeof line, "requester_secret_file %s\n", path);
	expect_fails(h, line, "requester_secret_file", path,
	    "No such file or directory");
	snprintf(line, sizeof line, "requester_secret_file %s\n", h->dir);
	expect_fails(h, line, "requester_secret_file", h->dir,
	    "not a regular file");

	tpath(path, h->dir, "short.secret");
	put_file(path, T_MARK "-short", strlen(T_MARK) + 6, 0600);
	snprintf(line, sizeof line, "requester_secret_file %s\n", path);
	expect_fails(h, line, "requester_secret_file", path,
	    "29 bytes, at least 32 needed");

	tpath(path, h->dir, "big.secret");
	memset(big, 'x', sizeof big);
	memcpy(big, T_MARK, strlen(T_MARK));
	put_file(path, big, sizeof big, 0600);
	snprintf(line, sizeof line, "requester_secret_file %s\n", path);
	expect_fails(h, line, "requester_secret_file", path,
	    "over 4096 bytes");
	put_file(path, big, sizeof big - 1, 0600);
	expect_ok(h, line);

	assert_int_equal(chmod(f.secret, 0640), 0);
	expect_fails(h, NULL, "requester_secret_file", f.secret,
	    "mode 0640 lets group or others at it (chmod 600)");
	assert_int_equal(chmod(f.secret, 0604), 0);
	expect_fails(h, NULL, "requester_secret_file", f.secret,
	    "mode 0604 lets group or others at it (chmod 600)");
	assert_int_equal(chmod(f.secret, 0400), 0);
	expect_ok(h, NULL);
}

/*
 * redis_password_file (read with the configuration, so its line says
 * where it was set): open to others, empty; the password never printed.
 */
static void
test_check_redis_password_file(void **state)
{
	struct harness	*h = *state;
	char		 out[T_OUT_MAX], want[HARNESS_PATH * 2 + 128];

	expect_ok(h, NULL);
	assert_int_equal(chmod(f.redis_pw, 0644), 0);
	write_conf(h, NULL, 0);
	assert_int_equal(run_peerd(h, 1, out, sizeof out), 1);
	snprintf(want, sizeof want, "peerd: %s:5: redis_password_file %s: "
	    "mode 0644 lets group or others at it (chmod 600)\n", f.conf,
	    f.redis_pw);
	assert_string_equal(out, want);

	put_file(f.redis_pw, "\n", 1, 0600);
	write_conf(h, NULL, 0);
	assert_int_equal(run_peerd(h, 1, out, sizeof out), 1);
	assert_non_null(strstr(out, "must hold a password of 1 to 1024 bytes"));
	put_file(f.redis_pw, T_MARK "\n", strlen(T_MARK) + 1, 0600);
	expect_ok(h, NULL);
}

/* user: no such user, root without allow_root; then good ones. */
static void
test_check_user(void **state)
{
	struct harness	*h = *state;
	char		 out[T_OUT_MAX];

	write_conf(h, "user no-such-user-q7\n", 0);
	assert_int_equal(run_peerd(h, 1, out, sizeof out), 1);
	assert_string_equal(out, "peerd: user no-such-user-q7: no such user\n");
	write_conf(h, "user root\n", 0);
	assert_int_equal(run_peerd(h, 1, out, sizeof out), 1);
	assert_string_equal(out, "peerd: user root: user is root: name an "
	    "unprivileged user, or allow_root yes\n");
	expect_ok(h, "user root\nallow_root yes\n");
	expect_ok(h, "user nobody\n");
}

/*
 * What -t refuses, start-up refuses with the same words (they share the
 * loaders); neither listens.
 */
static void
test_check_agrees_with_start(void **state)
{
	struct harness	*h = *state;
	char		 line[HARNESS_PATH * 2], bad[HARNESS_PATH];
	char		 out[T_OUT_MAX], other_ca[HARNESS_PATH];
	struct {
		const char	*extra;
		const char	*why;
	} c[4];
	size_t		 i;

	tpath(bad, h->dir, "bad.pub");
	put_file(bad, "hello\n", 6, 0644);
	snprintf(line, sizeof line, "signing_pubkey %s\n", bad);
	assert_int_equal(harness_make_ca(h, "other", other_ca,
	    sizeof other_ca), 0);
	c[0].extra = line;
	c[0].why = "bad.pub: not a PEM public key";
	c[1].extra = "user no-such-user-q7\n";
	c[1].why = "no such user";
	c[2].extra = NULL;		/* the secret made 0644 below */
	c[2].why = "requester.secret: mode 0644 lets group or others at it";
	c[3].extra = "tls_key other/server.key\n";
	c[3].why = "other/server.key: does not match the certificate";
	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		assert_int_equal(chmod(f.secret, i == 2 ? 0644 : 0600), 0);
		write_conf(h, c[i].extra, 1);
		assert_int_equal(run_peerd(h, 1, out, sizeof out), 1);
		if (strstr(out, c[i].why) == NULL)
			fail_msg("-t: \"%s\" lacks \"%s\"", out, c[i].why);
		assert_int_equal(run_peerd(h, 0, out, sizeof out), 1);
		if (strstr(out, c[i].why) == NULL)
			fail_msg("start: \"%s\" lacks \"%s\"", out, c[i].why);
		assert_false(harness_port_listening(h->port));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_tls, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_signing_pubkey,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_signing_pubkey_previous, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_requester_secret,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_redis_password_file,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_user, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_agrees_with_start,
		    setup, harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * test_auth.c -- daemon/auth.c: the requester continuity key (a keyed
 * hash of Hello.requester_key) and credential checks at Hello, with a real
 * Ed25519 key pair made here; the signing key and requester secret
 * reloaded whole or not at all (SIGHUP), and checked without being kept
 * (peerd -t); a previous signing key accepted beside the current one.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "credential.h"
#include "peerd.h"

static char	 tmpdir[PATH_MAX];
static char	 pubpath[PATH_MAX + 32];
static EVP_PKEY	*signkey;	/* the organisation's key */
static EVP_PKEY	*otherkey;	/* someone else's key */

/* Write len bytes to tmpdir/name with mode; return the path (static). */
static const char *
write_file(const char *name, const void *buf, size_t len, mode_t mode)
{
	static char	 path[PATH_MAX + 64];
	FILE		*f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return (path);
}

/* Load a config made of text (plus the tag catalogue), then auth_init. */
static int
configure(const char *text, char **why)
{
	char	 name[PATH_MAX + 16], full[4096];
	char	*err = NULL;

	snprintf(name, sizeof name, "%s/peerd.conf", tmpdir);
	snprintf(full, sizeof full, "tag lgbtq LGBTQ+ peers\n"
	    "tag bme Black and minority ethnic peers\n%s", text);
	if (config_load_buffer(name, full, strlen(full), &err) != 0)
		fail_msg("config: %s", err);
	*why = NULL;
	return (auth_init(why));
}

/* As configure, expecting success. */
static void
configure_ok(const char *text)
{
	char	*why = NULL;

	if (configure(text, &why) != 0)
		fail_msg("auth_init: %s", why);
	assert_null(why);
}

/* A config line naming the signing key, and a secret file of n bytes. */
static const char *
conf_with_secret(const uint8_t *secret, size_t n)
{
	static char	 text[3 * PATH_MAX];
	const char	*path;
	char		 sp[PATH_MAX + 64];

	path = write_file("secret", secret, n, 0600);
	snprintf(sp, sizeof sp, "%s", path);
	snprintf(text, sizeof text, "signing_pubkey %s\n"
	    "requester_secret_file %s\n", pubpath, sp);
	return (text);
}

/*
 * Run auth_hello on c with copies of cred and rkey (auth_hello wipes
 * them, which is checked here); return the code.
 */
static ErrorCode
hello(struct conn *c, Role role, const uint8_t *cred, size_t credlen,
    const uint8_t *rkey, size_t rkeylen, Role *got, char *why, size_t len)
{
	Hello		h = PEERD__V1__HELLO__INIT;
	uint8_t		credcopy[CRED_MAX + 1], keycopy[64];
	const uint8_t	zero[CRED_MAX + 1] = { 0 };
	ErrorCode	code;

	assert_true(credlen <= sizeof credcopy && rkeylen <= sizeof keycopy);
	if (credlen != 0)
		memcpy(credcopy, cred, credlen);
	if (rkeylen != 0)
		memcpy(keycopy, rkey, rkeylen);
	h.protocol_version = PEERD_PROTOCOL;
	h.role = role;
	h.credential.data = credlen != 0 ? credcopy : NULL;
	h.credential.len = credlen;
	h.requester_key.data = rkeylen != 0 ? keycopy : NULL;
	h.requester_key.len = rkeylen;
	why[0] = '\0';
	code = auth_hello(c, &h, got, why, len);
	assert_memory_equal(credcopy, zero, credlen);
	assert_memory_equal(keycopy, zero, rkeylen);
	return (code);
}

/* Return the continuity key of a requester presenting key (32 bytes). */
static uint64_t
requester_key(const uint8_t *key)
{
	struct conn	c;
	Role		role = ROLE_NONE;
	char		why[256];
	uint64_t	k;

	memset(&c, 0, sizeof c);
	assert_int_equal(hello(&c, ROLE_REQUESTER, NULL, 0, key, 32, &role,
	    why, sizeof why), 0);
	assert_int_equal(role, ROLE_REQUESTER);
	assert_null(auth_cred(&c));
	k = auth_requester_key(&c);
	auth_free(&c);
	assert_null(c.auth);
	return (k);
}

/* Fill info with a valid supporter credential. */
static void
info_supporter(struct cred_info *info, const char *id)
{
	uint64_t	now = (uint64_t)time(NULL);

	memset(info, 0, sizeof *info);
	snprintf(info->id, sizeof info->id, "%s", id);
	snprintf(info->name, sizeof info->name, "Sam");
	info->role = ROLE_SUPPORTER;
	snprintf(info->tags[0], sizeof info->tags[0], "lgbtq");
	snprintf(info->tags[1], sizeof info->tags[1], "bme");
	info->ntags = 2;
	snprintf(info->languages[0], sizeof info->languages[0], "en");
	info->nlanguages = 1;
	info->capacity = 2;
	info->issued_at = now - 60;
	info->not_after = now + 86400;
}

/* Sign info with key into buf; return the length. */
static size_t
sign(const struct cred_info *info, EVP_PKEY *key, uint8_t *buf, size_t len)
{
	const char	*why = NULL;
	size_t		 n = 0;

	if (cred_sign(info, key, buf, len, &n, &why) != CRED_OK)
		fail_msg("cred_sign: %s", why != NULL ? why : "?");
	return (n);
}

static int
setup(void **state)
{
	char	privpath[PATH_MAX + 32], err[CRED_ERR_MAX];

	(void)state;
	log_init(LOG_LVL_ERROR);
	/* No Redis here: the mirror is what revoke_add puts in it. */
	revoke_assume_known();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/peerd-test-auth.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(privpath, sizeof privpath, "%s/sign.key", tmpdir);
	snprintf(pubpath, sizeof pubpath, "%s/sign.pub", tmpdir);
	if ((signkey = cred_key_generate()) == NULL ||
	    (otherkey = cred_key_generate()) == NULL)
		return (-1);
	if (cred_key_write(signkey, privpath, pubpath, err, sizeof err) != 0) {
		fprintf(stderr, "cred_key_write: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	(void)state;
	auth_shutdown();
	config_clear();
	EVP_PKEY_free(signkey);
	EVP_PKEY_free(otherkey);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* The same key under the same secret gives the same continuity key. */
static void
test_requester_stable(void **state)
{
	uint8_t		secret[32], key[32], key2[32];
	uint64_t	a, b;

	(void)state;
	memset(secret, 's', sizeof secret);
	memset(key, 'k', sizeof key);
	memcpy(key2, key, sizeof key2);
	key2[31] ^= 1;
	configure_ok(conf_with_secret(secret, sizeof secret));
	a = requester_key(key);
	assert_true(a != 0);
	assert_true(requester_key(key) == a);
	b = requester_key(key2);
	assert_true(b != 0);
	assert_true(b != a);

	/* The same secret file loaded again (a restart): the same key. */
	configure_ok(conf_with_secret(secret, sizeof secret));
	assert_true(requester_key(key) == a);

	/* Another secret: another key. */
	secret[0] ^= 1;
	configure_ok(conf_with_secret(secret, sizeof secret));
	assert_true(requester_key(key) != a);
}

/* Many random keys: never 0, and no collisions in a small sample. */
static void
test_requester_never_zero(void **state)
{
	uint8_t		secret[48], key[32];
	uint64_t	seen[500];
	int		i, j;

	(void)state;
	assert_int_equal(RAND_bytes(secret, sizeof secret), 1);
	configure_ok(conf_with_secret(secret, sizeof secret));
	for (i = 0; i < 500; i++) {
		assert_int_equal(RAND_bytes(key, sizeof key), 1);
		seen[i] = requester_key(key);
		assert_true(seen[i] != 0);
		for (j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
	}
}

/* Anonymous requesters have key 0; bad keys and credentials are refused. */
static void
test_requester_refused(void **state)
{
	struct conn	c;
	uint8_t		secret[32], key[33];
	Role		role = ROLE_NONE;
	char		why[256];
	size_t		len;

	(void)state;
	memset(secret, 1, sizeof secret);
	memset(key, 2, sizeof key);
	configure_ok(conf_with_secret(secret, sizeof secret));
	memset(&c, 0, sizeof c);

	assert_int_equal(hello(&c, ROLE_REQUESTER, NULL, 0, NULL, 0, &role,
	    why, sizeof why), 0);
	assert_int_equal(role, ROLE_REQUESTER);
	assert_true(auth_requester_key(&c) == 0);
	assert_null(auth_cred(&c));
	auth_free(&c);

	for (len = 1; len <= sizeof key; len++) {
		if (len == 32)
			continue;
		role = ROLE_NONE;
		assert_int_equal(hello(&c, ROLE_REQUESTER, NULL, 0, key, len,
		    &role, why, sizeof why), ERR(BAD_MESSAGE));
		assert_non_null(strstr(why, "32 bytes"));
		assert_int_equal(role, ROLE_NONE);
		assert_null(c.auth);
	}

	assert_int_equal(hello(&c, ROLE_REQUESTER, (const uint8_t *)"x", 1,
	    NULL, 0, &role, why, sizeof why), ERR(BAD_MESSAGE));
	assert_non_null(strstr(why, "credential"));
	assert_null(c.auth);

	assert_int_equal(hello(&c, (Role)7, NULL, 0, NULL, 0, &role, why,
	    sizeof why), ERR(BAD_MESSAGE));
}

/* The secret file: too short, too open, missing; or made at random. */
static void
test_requester_secret(void **state)
{
	uint8_t		 secret[64], key[32];
	char		 text[2 * PATH_MAX], *why = NULL;
	const char	*path;
	uint64_t	 a;

	(void)state;
	memset(secret, 3, sizeof secret);
	memset(key, 4, sizeof key);

	path = write_file("short", secret, 31, 0600);
	snprintf(text, sizeof text, "requester_secret_file %s\n", path);
	assert_int_equal(configure(text, &why), -1);
	assert_non_null(strstr(why, "at least 32"));
	free(why);

	path = write_file("open", secret, sizeof secret, 0640);
	snprintf(text, sizeof text, "requester_secret_file %s\n", path);
	assert_int_equal(configure(text, &why), -1);
	assert_non_null(strstr(why, "group or others"));
	free(why);

	path = write_file("world", secret, sizeof secret, 0604);
	snprintf(text, sizeof text, "requester_secret_file %s\n", path);
	assert_int_equal(configure(text, &why), -1);
	free(why);

	snprintf(text, sizeof text, "requester_secret_file %s/none\n", tmpdir);
	assert_int_equal(configure(text, &why), -1);
	assert_non_null(why);
	free(why);

	/* Unset: a random secret, so two starts give different keys. */
	configure_ok("");
	a = requester_key(key);
	assert_true(a != 0);
	assert_true(requester_key(key) == a);
	configure_ok("");
	assert_true(requester_key(key) != a);
}

/* A good supporter and a good operator credential. */
static void
test_cred_ok(void **state)
{
	struct cred_info	 info;
	const struct cred_info	*got;
	struct conn		 c;
	uint8_t			 buf[CRED_MAX];
	size_t			 n;
	Role			 role = ROLE_NONE;
	char			 why[256];

	(void)state;
	configure_ok(conf_with_secret((const uint8_t *)
	    "0123456789abcdef0123456789abcdef", 32));
	memset(&c, 0, sizeof c);

	info_supporter(&info, "s1");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), 0);
	assert_int_equal(role, ROLE_SUPPORTER);
	assert_non_null(got = auth_cred(&c));
	assert_string_equal(got->id, "s1");
	assert_string_equal(got->name, "Sam");
	assert_int_equal(got->role, ROLE_SUPPORTER);
	assert_int_equal(got->ntags, 2);
	assert_string_equal(got->tags[0], "lgbtq");
	assert_int_equal(got->capacity, 2);
	assert_true(auth_requester_key(&c) == 0);
	auth_free(&c);
	assert_null(c.auth);

	info_supporter(&info, "op.1");
	info.role = ROLE_OPERATOR;
	info.ntags = 0;
	info.capacity = 0;
	n = sign(&info, signkey, buf, sizeof buf);
	role = ROLE_NONE;
	assert_int_equal(hello(&c, ROLE_OPERATOR, buf, n, NULL, 0, &role,
	    why, sizeof why), 0);
	assert_int_equal(role, ROLE_OPERATOR);
	assert_non_null(got = auth_cred(&c));
	assert_string_equal(got->id, "op.1");
	assert_int_equal(got->role, ROLE_OPERATOR);
	auth_free(&c);
}

/* Each way a credential is wrong gets its own code. */
static void
test_cred_refused(void **state)
{
	struct cred_info	info;
	struct conn		c;
	uint8_t			buf[CRED_MAX], key[32];
	size_t			n;
	uint64_t		now = (uint64_t)time(NULL);
	Role			role = ROLE_NONE;
	char			why[256];

	(void)state;
	configure_ok(conf_with_secret((const uint8_t *)
	    "0123456789abcdef0123456789abcdef", 32));
	memset(&c, 0, sizeof c);

	/* Missing. */
	assert_int_equal(hello(&c, ROLE_SUPPORTER, NULL, 0, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_non_null(strstr(why, "credential"));

	/* Role mismatch, both ways. */
	info_supporter(&info, "s1");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_OPERATOR, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_non_null(strstr(why, "supporter"));
	assert_null(c.auth);
	info.role = ROLE_OPERATOR;
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_null(c.auth);

	/* A supporter sending a requester key. */
	info_supporter(&info, "s1");
	n = sign(&info, signkey, buf, sizeof buf);
	memset(key, 9, sizeof key);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, key, sizeof key,
	    &role, why, sizeof why), ERR(BAD_MESSAGE));

	/* Expired, and not yet valid. */
	info_supporter(&info, "s1");
	info.issued_at = now - 2 * 86400;
	info.not_after = now - 10;
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(CREDENTIAL_EXPIRED));
	assert_null(c.auth);
	info.issued_at = now + 3600;
	info.not_after = now + 86400;
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(CREDENTIAL_EXPIRED));
	assert_non_null(strstr(why, "not valid yet"));

	/* Signed by another key. */
	info_supporter(&info, "s1");
	n = sign(&info, otherkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_null(c.auth);

	/* One payload byte changed after signing. */
	n = sign(&info, signkey, buf, sizeof buf);
	buf[n / 2] ^= 0x20;
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));

	/* Garbage and a truncated credential. */
	assert_int_equal(hello(&c, ROLE_SUPPORTER, (const uint8_t *)"junk", 4,
	    NULL, 0, &role, why, sizeof why), ERR(BAD_CREDENTIAL));
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n - 1, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));

	/* A tag the catalogue does not have; the message never names it. */
	info_supporter(&info, "s1");
	snprintf(info.tags[1], sizeof info.tags[1], "secret-tag");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_null(strstr(why, "secret-tag"));

	assert_int_equal(role, ROLE_NONE);
	assert_null(c.auth);
}

/* A revoked id is refused; others under the same key are not. */
static void
test_cred_revoked(void **state)
{
	struct cred_info	info;
	struct conn		c;
	uint8_t			buf[CRED_MAX];
	size_t			n;
	Role			role = ROLE_NONE;
	char			why[256];

	(void)state;
	configure_ok(conf_with_secret((const uint8_t *)
	    "0123456789abcdef0123456789abcdef", 32));
	memset(&c, 0, sizeof c);

	revoke_add("gone-1");
	assert_true(revoke_is_revoked("gone-1"));
	assert_false(revoke_is_revoked("gone-2"));
	assert_false(revoke_is_revoked(""));

	info_supporter(&info, "gone-1");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(CREDENTIAL_REVOKED));
	assert_null(c.auth);
	assert_int_equal(role, ROLE_NONE);

	info_supporter(&info, "gone-2");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), 0);
	auth_free(&c);
	revoke_stop();
	assert_false(revoke_is_revoked("gone-1"));
}

/* The revocation mirror keeps only valid ids, and at most 100,000. */
static void
test_revoke_bounds(void **state)
{
	char	id[128];
	int	i;

	(void)state;
	memset(id, 'a', sizeof id);
	id[CRED_ID_MAX + 1] = '\0';
	assert_int_equal(revoke_add(id), -1);		/* 65 bytes */
	assert_false(revoke_is_revoked(id));
	id[CRED_ID_MAX] = '\0';
	assert_int_equal(revoke_add(id), 0);		/* 64 bytes */
	assert_true(revoke_is_revoked(id));
	assert_int_equal(revoke_add(""), -1);
	assert_int_equal(revoke_add("bad id"), -1);
	assert_int_equal(revoke_add("bad/id"), -1);
	assert_int_equal(revoke_add("caf\xc3\xa9"), -1);
	assert_false(revoke_is_revoked("bad id"));
	assert_false(revoke_is_revoked(NULL));
	assert_int_equal(revoke_add(id), 0);		/* again: no change */

	for (i = 1; i < 100000; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		assert_int_equal(revoke_add(id), 0);
	}
	assert_int_equal(revoke_add("one-too-many"), -1);
	assert_false(revoke_is_revoked("one-too-many"));
	assert_true(revoke_is_revoked("id-1"));
	assert_true(revoke_is_revoked("id-99999"));
	assert_false(revoke_is_revoked("id-100000"));
	revoke_stop();
	assert_false(revoke_is_revoked("id-1"));
	assert_int_equal(revoke_add("one-too-many"), 0);
	revoke_stop();
}

/* Without signing_pubkey supporters and operators are refused. */
static void
test_cred_no_key(void **state)
{
	struct cred_info	info;
	struct conn		c;
	uint8_t			buf[CRED_MAX];
	size_t			n;
	Role			role = ROLE_NONE;
	char			why[256], *err = NULL;

	(void)state;
	configure_ok("");
	memset(&c, 0, sizeof c);
	info_supporter(&info, "s1");
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_string_equal(why, "no signing key configured");
	info.role = ROLE_OPERATOR;
	n = sign(&info, signkey, buf, sizeof buf);
	assert_int_equal(hello(&c, ROLE_OPERATOR, buf, n, NULL, 0, &role,
	    why, sizeof why), ERR(BAD_CREDENTIAL));
	assert_string_equal(why, "no signing key configured");
	assert_null(c.auth);

	/* A signing_pubkey that is not a key stops start-up. */
	write_file("notakey.pub", "hello\n", 6, 0644);
	{
		char	text[PATH_MAX + 64];

		snprintf(text, sizeof text, "signing_pubkey %s/notakey.pub\n",
		    tmpdir);
		assert_int_equal(configure(text, &err), -1);
		assert_non_null(strstr(err, "signing_pubkey"));
		free(err);
	}
}

/* Write key's public half to pubpath through a new file and rename(2). */
static void
install_pubkey(EVP_PKEY *key)
{
	char	priv[PATH_MAX + 32], pub[PATH_MAX + 32], err[CRED_ERR_MAX];

	snprintf(priv, sizeof priv, "%s/next.key", tmpdir);
	snprintf(pub, sizeof pub, "%s/next.pub", tmpdir);
	unlink(priv);
	unlink(pub);
	if (cred_key_write(key, priv, pub, err, sizeof err) != 0)
		fail_msg("cred_key_write: %s", err);
	assert_int_equal(rename(pub, pubpath), 0);
}

/* Return the code auth_hello gives a supporter credential for id by key. */
static ErrorCode
supporter_code(const char *id, EVP_PKEY *key)
{
	struct cred_info	info;
	struct conn		c;
	uint8_t			buf[CRED_MAX];
	size_t			n;
	Role			role = ROLE_NONE;
	char			why[256];
	ErrorCode		code;

	memset(&c, 0, sizeof c);
	info_supporter(&info, id);
	n = sign(&info, key, buf, sizeof buf);
	code = hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role, why,
	    sizeof why);
	auth_free(&c);
	return (code);
}

/*
 * auth_reload: a new key and a new secret are taken together; a key file
 * gone bad, or a secret file gone bad beside a good new key, changes
 * neither (never one new and one old); revocations hold across keys.
 */
static void
test_reload(void **state)
{
	uint8_t		 s1[32], s2[40], key[32];
	uint64_t	 h1, h2;
	char		 secret[PATH_MAX + 32], text[3 * PATH_MAX];

	(void)state;
	memset(s1, 0x11, sizeof s1);
	memset(s2, 0x22, sizeof s2);
	memset(key, 'k', sizeof key);
	install_pubkey(signkey);
	configure_ok(conf_with_secret(s1, sizeof s1));
	snprintf(secret, sizeof secret, "%s/secret", tmpdir);
	h1 = requester_key(key);
	assert_int_equal(supporter_code("s1", signkey), 0);
	assert_int_equal(supporter_code("s1", otherkey), ERR(BAD_CREDENTIAL));

	/* Unchanged files: a no-op. */
	assert_int_equal(auth_reload(), 0);
	assert_true(requester_key(key) == h1);
	assert_int_equal(supporter_code("s1", signkey), 0);

	/* Rotated: the new key and the new secret, both. */
	revoke_add("struck-off");
	install_pubkey(otherkey);
	write_file("secret", s2, sizeof s2, 0600);
	assert_int_equal(auth_reload(), 0);
	assert_int_equal(supporter_code("s1", signkey), ERR(BAD_CREDENTIAL));
	assert_int_equal(supporter_code("s1", otherkey), 0);
	assert_int_equal(supporter_code("struck-off", otherkey),
	    ERR(CREDENTIAL_REVOKED));
	h2 = requester_key(key);
	assert_true(h2 != 0 && h2 != h1);

	/* A key file gone bad: both old ones stay. */
	write_file("sign.pub", "not a key\n", 10, 0644);
	write_file("secret", s1, sizeof s1, 0600);
	assert_int_equal(auth_reload(), -1);
	assert_int_equal(supporter_code("s1", otherkey), 0);
	assert_true(requester_key(key) == h2);

	/* A good new key beside a bad secret: the key is not taken alone. */
	install_pubkey(signkey);
	assert_int_equal(chmod(secret, 0644), 0);
	assert_int_equal(auth_reload(), -1);
	assert_int_equal(supporter_code("s1", signkey), ERR(BAD_CREDENTIAL));
	assert_int_equal(supporter_code("s1", otherkey), 0);
	assert_true(requester_key(key) == h2);

	/* Both good again: taken. */
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(auth_reload(), 0);
	assert_int_equal(supporter_code("s1", signkey), 0);
	assert_true(requester_key(key) == h1);
	revoke_stop();

	/* No secret file: the random secret survives a reload. */
	snprintf(text, sizeof text, "signing_pubkey %s\n", pubpath);
	configure_ok(text);
	h1 = requester_key(key);
	assert_int_equal(auth_reload(), 0);
	assert_true(requester_key(key) == h1);
}

/* Return auth_hello's code for a credential signed by key; why filled. */
static ErrorCode
signed_code(const struct cred_info *info, EVP_PKEY *key, char *why,
    size_t len)
{
	struct conn	c;
	uint8_t		buf[CRED_MAX];
	size_t		n;
	Role		role = ROLE_NONE;
	ErrorCode	code;

	memset(&c, 0, sizeof c);
	n = sign(info, key, buf, sizeof buf);
	code = hello(&c, ROLE_SUPPORTER, buf, n, NULL, 0, &role, why, len);
	auth_free(&c);
	return (code);
}

/*
 * signing_pubkey_previous: credentials signed by either key are admitted;
 * one neither verifies is refused with the same reason as without the
 * option; the previous key's checks beyond the signature still apply; a
 * bad previous-key file on reload keeps every old key; the same key in
 * both is harmless.
 */
static void
test_previous_key(void **state)
{
	struct cred_info	 info;
	EVP_PKEY		*third;
	char			 prev[PATH_MAX + 32], priv[PATH_MAX + 32];
	char			 text[3 * PATH_MAX], err[CRED_ERR_MAX];
	char			 why[256], want[256], *msg = NULL;

	(void)state;
	assert_non_null(third = cred_key_generate());
	info_supporter(&info, "s1");
	install_pubkey(signkey);
	snprintf(text, sizeof text, "signing_pubkey %s\n", pubpath);
	configure_ok(text);
	assert_int_equal(signed_code(&info, third, want, sizeof want),
	    ERR(BAD_CREDENTIAL));

	/* Rotating from signkey (now previous) to otherkey. */
	snprintf(priv, sizeof priv, "%s/prev.key", tmpdir);
	snprintf(prev, sizeof prev, "%s/prev.pub", tmpdir);
	if (cred_key_write(signkey, priv, prev, err, sizeof err) != 0)
		fail_msg("cred_key_write: %s", err);
	install_pubkey(otherkey);
	snprintf(text, sizeof text, "signing_pubkey %s\n"
	    "signing_pubkey_previous %s\n", pubpath, prev);
	configure_ok(text);
	assert_int_equal(signed_code(&info, signkey, why, sizeof why), 0);
	assert_int_equal(signed_code(&info, otherkey, why, sizeof why), 0);
	assert_int_equal(signed_code(&info, third, why, sizeof why),
	    ERR(BAD_CREDENTIAL));
	assert_string_equal(why, want);
	info.not_after = info.issued_at + 1;
	assert_int_equal(signed_code(&info, signkey, why, sizeof why),
	    ERR(CREDENTIAL_EXPIRED));
	info_supporter(&info, "s1");

	/* A bad previous-key file: both old keys stay. */
	write_file("prev.pub", "not a key\n", 10, 0644);
	assert_int_equal(auth_reload(), -1);
	assert_int_equal(signed_code(&info, signkey, why, sizeof why), 0);
	assert_int_equal(signed_code(&info, otherkey, why, sizeof why), 0);
	assert_int_equal(auth_check(&msg), -1);
	assert_non_null(strstr(msg, "signing_pubkey_previous "));
	free(msg);

	/* The same key in both: the old one refused, the new one fine. */
	install_pubkey(otherkey);
	assert_int_equal(rename(pubpath, prev), 0);
	install_pubkey(otherkey);
	assert_int_equal(auth_reload(), 0);
	assert_int_equal(signed_code(&info, signkey, why, sizeof why),
	    ERR(BAD_CREDENTIAL));
	assert_string_equal(why, want);
	assert_int_equal(signed_code(&info, otherkey, why, sizeof why), 0);
	EVP_PKEY_free(third);
}

/*
 * auth_check (peerd -t) loads the configured files as auth_init does, with
 * the same one-line errors naming option and file, and keeps nothing.
 */
static void
test_check(void **state)
{
	uint8_t		 s1[32], key[32];
	uint64_t	 h;
	char		 text[3 * PATH_MAX], *why = NULL, *err = NULL;
	char		 name[PATH_MAX + 16];
	const char	*path;

	(void)state;
	memset(s1, 0x33, sizeof s1);
	memset(key, 'k', sizeof key);
	install_pubkey(signkey);
	configure_ok(conf_with_secret(s1, sizeof s1));
	h = requester_key(key);
	assert_int_equal(auth_check(&why), 0);
	assert_null(why);

	/* Each bad file: the same line from auth_check and auth_init. */
	path = write_file("short", "0123456789012345678901234567890", 31,
	    0600);
	snprintf(text, sizeof text, "requester_secret_file %s\n", path);
	snprintf(name, sizeof name, "%s/peerd.conf", tmpdir);
	if (config_load_buffer(name, text, strlen(text), &err) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(auth_check(&why), -1);
	assert_non_null(strstr(why, "requester_secret_file "));
	assert_non_null(strstr(why, "/short: 31 bytes, at least 32 needed"));
	assert_null(strstr(why, "0123456789"));
	/* What peerd uses is untouched by a check. */
	assert_true(requester_key(key) == h);
	assert_int_equal(auth_init(&err), -1);
	assert_string_equal(why, err);
	free(why);
	free(err);
	why = err = NULL;

	write_file("notakey.pub", "-----BEGIN PUBLIC KEY-----\n", 27, 0644);
	snprintf(text, sizeof text, "signing_pubkey %s/notakey.pub\n", tmpdir);
	if (config_load_buffer(name, text, strlen(text), &err) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(auth_check(&why), -1);
	/* The file is named once, after the option. */
	snprintf(text, sizeof text, "signing_pubkey %s/notakey.pub: not a "
	    "PEM public key", tmpdir);
	if (strncmp(why, text, strlen(text)) != 0)
		fail_msg("\"%s\" does not start \"%s\"", why, text);
	assert_int_equal(auth_init(&err), -1);
	assert_string_equal(why, err);
	free(why);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requester_stable),
		cmocka_unit_test(test_requester_never_zero),
		cmocka_unit_test(test_requester_refused),
		cmocka_unit_test(test_requester_secret),
		cmocka_unit_test(test_cred_ok),
		cmocka_unit_test(test_cred_refused),
		cmocka_unit_test(test_cred_revoked),
		cmocka_unit_test(test_cred_no_key),
		cmocka_unit_test(test_revoke_bounds),
		cmocka_unit_test(test_previous_key),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_check),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}

/*
 * auth.c -- decide a connection's role from its Hello.
 *
 * Requesters are anonymous.  A requester may present its own random
 * requester_key so that continuity and blocks work across visits; peerd
 * keeps only HMAC-SHA256(secret, key), never the key, and hands out the
 * first 8 bytes of it as the requester's continuity key.  The secret comes
 * from requester_secret_file, or is made at start-up (then continuity does
 * not survive a restart).
 *
 * The signing key, the previous signing key and the requester secret are
 * loaded together into one struct auth_keys by auth_keys_load, the one
 * loader of start-up (auth_init), peerd -t (auth_check) and SIGHUP
 * (auth_reload), so the three cannot disagree about a file.  A reload puts
 * the new set in place only once all loaded: never one new and one old.
 *
 * signing_pubkey_previous is for rotating the signing key gradually: while
 * it is set, credentials signed by the old key are still admitted, so
 * supporters can be given new-key credentials over days rather than all
 * being refused at their next Hello.  The current key is always tried
 * first; the previous one only for a signature the current one refused.
 *
 * Supporters and operators present a credential signed by the
 * organisation.  cred_verify checks the signature before any field is
 * looked at, then the fields and the time; auth_hello then checks the role,
 * the tags against the catalogue and revocation (revoke.c's local mirror of
 * peerd:revoked).  A session whose credential's not_after passes is ended
 * with CREDENTIAL_EXPIRED by a timer.
 *
 * Revocation fails closed: until revoke.c has read the whole set once
 * since start-up (Redis unreachable, or its answer not in yet), a revoked
 * supporter would look clean, so supporters are told TRY_LATER.  Operators
 * are admitted all the same: they see only counts, never a person, and an
 * operator is who one needs while Redis is down.
 *
 * Identity tags are special-category data: nothing here logs a tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "credential.h"
#include "peerd.h"

#define AUTH_SECRET_MIN		32	/* bytes, requester_secret_file */
#define AUTH_SECRET_MAX		4096	/* bytes, requester_secret_file */
#define AUTH_SECRET_GEN		32	/* bytes, a secret made at start-up */
#define AUTH_REQUESTER_KEY	32	/* bytes, Hello.requester_key */
#define AUTH_HMAC_LEN		32	/* bytes, HMAC-SHA256 */
#define AUTH_EXPIRY_MAX		86400	/* seconds, longest expiry timer
					   (re-armed: the wall clock may jump) */

/* What auth_hello attached to a connection (c->auth). */
struct auth {
	struct cred_info	 cred;		/* supporter, operator */
	int			 has_cred;
	uint64_t		 requester;	/* continuity key, 0 = none */
	struct event		*expiry;	/* credential not_after */
	struct conn		*conn;
};

/* The keys auth_hello checks with; replaced whole, never in part. */
struct auth_keys {
	EVP_PKEY	*pubkey;	/* signing_pubkey, NULL if not set */
	EVP_PKEY	*previous;	/* signing_pubkey_previous, or NULL */
	uint8_t		 secret[AUTH_SECRET_MAX]; /* requester secret */
	size_t		 secret_len;	/* 0: none loaded (yet) */
};

static struct auth_keys	*auth_keys;

static void	auth_expiry_arm(struct auth *);

/* Return the wall clock in unix seconds (credentials carry wall time). */
static uint64_t
auth_wall(void)
{
	time_t	t = time(NULL);

	return (t < 0 ? 0 : (uint64_t)t);
}

/* Wipe and free k.  NULL is fine. */
static void
auth_keys_free(struct auth_keys *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pubkey);
	EVP_PKEY_free(k->previous);
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
}

/*
 * Read the requester secret from path into k.  The file must be a regular
 * file of AUTH_SECRET_MIN..AUTH_SECRET_MAX bytes that neither group nor
 * others may read or write.  Returns 0, or -1 with *why a new reason that
 * does not name the file (and never quotes it).
 */
static int
auth_secret_load(const char *path, struct auth_keys *k, char **why)
{
	ssize_t	n;

	if ((n = util_read_secret(path, k->secret, sizeof k->secret, why)) ==
	    -1)
		return (-1);
	if (n < AUTH_SECRET_MIN) {
		xasprintf(why, "%zd bytes, at least %d needed", n,
		    AUTH_SECRET_MIN);
		OPENSSL_cleanse(k->secret, sizeof k->secret);
		return (-1);
	}
	k->secret_len = (size_t)n;
	return (0);
}

/* Load a signing key from path into *key; 0, or -1 with *why a new reason. */
static int
auth_pubkey_load(const char *path, EVP_PKEY **key, char **why)
{
	char		 err[CRED_ERR_MAX];
	const char	*r = err;
	size_t		 len = strlen(path);

	if ((*key = cred_key_load_public(path, err, sizeof err)) != NULL)
		return (0);
	/* credential.c starts with the path; our callers name it once. */
	if (strncmp(err, path, len) == 0 && strncmp(err + len, ": ", 2) == 0)
		r = err + len + 2;
	*why = xstrdup(r);
	return (-1);
}

/* Return the file the option what (one of auth_keys_load's) names. */
static const char *
auth_file(const char *what)
{
	if (strcmp(what, "signing_pubkey") == 0)
		return (conf.signing_pubkey);
	if (strcmp(what, "signing_pubkey_previous") == 0)
		return (conf.signing_pubkey_previous);
	return (conf.requester_secret_file);
}

/*
 * Load the files the configuration names into new keys: signing_pubkey,
 * signing_pubkey_previous and requester_secret_file, each only if set (no
 * secret file leaves secret_len 0).  Returns the keys, or NULL with *what
 * the option whose file failed and *why a new reason.
 */
static struct auth_keys *
auth_keys_load(const char **what, char **why)
{
	struct auth_keys	*k;

	*what = NULL;
	*why = NULL;
	k = xcalloc(1, sizeof *k);
	if (conf.signing_pubkey != NULL &&
	    auth_pubkey_load(conf.signing_pubkey, &k->pubkey, why) != 0) {
		*what = "signing_pubkey";
		auth_keys_free(k);
		return (NULL);
	}
	if (conf.signing_pubkey_previous != NULL &&
	    auth_pubkey_load(conf.signing_pubkey_previous, &k->previous,
	    why) != 0) {
		*what = "signing_pubkey_previous";
		auth_keys_free(k);
		return (NULL);
	}
	if (conf.requester_secret_file != NULL &&
	    auth_secret_load(conf.requester_secret_file, k, why) != 0) {
		*what = "requester_secret_file";
		auth_keys_free(k);
		return (NULL);
	}
	return (k);
}

/*
 * Load the keys as auth_keys_load, with a failure as one line for start-up
 * and peerd -t: "option file: reason".  Returns the keys or NULL.
 */
static struct auth_keys *
auth_keys_load_or_say(char **why)
{
	struct auth_keys	*k;
	const char		*what;
	char			*reason;

	*why = NULL;
	if ((k = auth_keys_load(&what, &reason)) == NULL) {
		xasprintf(why, "%s %s: %s", what, auth_file(what), reason);
		free(reason);
	}
	return (k);
}

/*
 * Load the signing public keys (signing_pubkey and, if set,
 * signing_pubkey_previous) and the requester secret
 * (requester_secret_file, or a random one).  Without a signing key peerd
 * still runs, but refuses every supporter and operator.  Returns 0, or -1
 * with *why a new message.
 */
int
auth_init(char **why)
{
	struct auth_keys	*k;

	auth_shutdown();
	if ((k = auth_keys_load_or_say(why)) == NULL)
		return (-1);
	if (k->pubkey == NULL)
		log_warnx("event=auth_warning reason=no_signing_key "
		    "msg=\"signing_pubkey is not set: supporters and "
		    "operators will be refused\"");
	if (k->secret_len == 0) {
		if (RAND_bytes(k->secret, AUTH_SECRET_GEN) != 1) {
			xasprintf(why, "cannot make a requester secret: "
			    "RAND_bytes failed");
			auth_keys_free(k);
			return (-1);
		}
		k->secret_len = AUTH_SECRET_GEN;
		log_warnx("event=auth_warning reason=no_requester_secret "
		    "msg=\"requester_secret_file is not set: requester "
		    "continuity keys will not survive a restart\"");
	}
	auth_keys = k;
	log_info("event=auth_ready signing_key=%s previous_key=%s "
	    "requester_secret=%s", k->pubkey != NULL ? "loaded" : "none",
	    k->previous != NULL ? "loaded" : "none",
	    conf.requester_secret_file != NULL ? "file" : "random");
	return (0);
}

/*
 * For peerd -t: load signing_pubkey, signing_pubkey_previous and
 * requester_secret_file as auth_init would, then drop them.  Returns 0,
 * or -1 with *why a new message.
 */
int
auth_check(char **why)
{
	struct auth_keys	*k;

	if ((k = auth_keys_load_or_say(why)) == NULL)
		return (-1);
	auth_keys_free(k);
	return (0);
}

/* Return 1 if a and b (either may be NULL) are the same public key. */
static int
auth_pubkey_same(EVP_PKEY *a, EVP_PKEY *b)
{
	uint8_t	ra[64], rb[64];
	size_t	la = sizeof ra, lb = sizeof rb;

	if (a == NULL || b == NULL)
		return (a == b);
	if (EVP_PKEY_get_raw_public_key(a, ra, &la) != 1 ||
	    EVP_PKEY_get_raw_public_key(b, rb, &lb) != 1)
		return (0);
	return (la == lb && memcmp(ra, rb, la) == 0);
}

/*
 * SIGHUP: load signing_pubkey, signing_pubkey_previous and
 * requester_secret_file again, all before any is used, and put them in
 * place together; if any fails, all the old ones stay.  Sessions already
 * admitted are not checked again (their credential was verified at their
 * Hello); the next Hello is checked with the new keys, so dropping
 * signing_pubkey_previous refuses old-key credentials from then on.
 * Revocations are by credential id, so they hold whichever key signed a
 * credential.  A new requester secret makes every requester key hash to
 * something new: blocks, previous-supporter links and kept queue places
 * from before no longer match (a connected requester keeps its hash for
 * that connection).  A secret made at random because no file is set is
 * kept.  Returns 0, or -1 (logged) if nothing changed because a file was
 * bad.
 */
int
auth_reload(void)
{
	struct auth_keys	*k;
	const char		*what;
	char			*why;
	int			 key_changed, previous_changed;
	int			 secret_changed;

	if (auth_keys == NULL || (conf.signing_pubkey == NULL &&
	    conf.signing_pubkey_previous == NULL &&
	    conf.requester_secret_file == NULL))
		return (0);
	if ((k = auth_keys_load(&what, &why)) == NULL) {
		log_warnx("event=reload_failed what=%s file=%s reason=\"%s\" "
		    "action=keeping_old_keys", what, auth_file(what), why);
		free(why);
		return (-1);
	}
	if (k->secret_len == 0) {
		memcpy(k->secret, auth_keys->secret, auth_keys->secret_len);
		k->secret_len = auth_keys->secret_len;
	}
	key_changed = !auth_pubkey_same(auth_keys->pubkey, k->pubkey);
	previous_changed = !auth_pubkey_same(auth_keys->previous, k->previous);
	secret_changed = k->secret_len != auth_keys->secret_len ||
	    CRYPTO_memcmp(k->secret, auth_keys->secret, k->secret_len) != 0;
	auth_keys_free(auth_keys);
	auth_keys = k;

	if (conf.signing_pubkey != NULL)
		log_info("event=reloaded what=signing_pubkey file=%s "
		    "changed=%s", conf.signing_pubkey,
		    key_changed ? "yes" : "no");
	if (conf.signing_pubkey_previous != NULL)
		log_info("event=reloaded what=signing_pubkey_previous file=%s "
		    "changed=%s", conf.signing_pubkey_previous,
		    previous_changed ? "yes" : "no");
	if (conf.requester_secret_file != NULL && secret_changed)
		log_warnx("event=reloaded what=requester_secret_file file=%s "
		    "changed=yes reason=\"requester keys now hash anew: "
		    "blocks, previous-supporter links and kept queue places "
		    "made before are forgotten\"",
		    conf.requester_secret_file);
	else if (conf.requester_secret_file != NULL)
		log_info("event=reloaded what=requester_secret_file file=%s "
		    "changed=no", conf.requester_secret_file);
	return (0);
}

/* Release the signing keys and wipe the requester secret. */
void
auth_shutdown(void)
{
	auth_keys_free(auth_keys);
	auth_keys = NULL;
}

/*
 * Return the continuity key for a 32-byte requester key: the first 8 bytes
 * (big-endian) of HMAC-SHA256(secret, key), never 0.  Returns 0 only if
 * the HMAC cannot be computed.
 */
static uint64_t
auth_requester_hash(const uint8_t *key, size_t len)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	u_int		mdlen = 0;
	uint64_t	v = 0;
	int		i;

	if (auth_keys == NULL || auth_keys->secret_len == 0 ||
	    HMAC(EVP_sha256(), auth_keys->secret, (int)auth_keys->secret_len,
	    key, len, md, &mdlen) == NULL || mdlen != AUTH_HMAC_LEN)
		return (0);
	for (i = 0; i < 8; i++)
		v = (v << 8) | md[i];
	OPENSSL_cleanse(md, sizeof md);
	return (v == 0 ? 1 : v);
}

/* Return c's auth data, made on first use. */
static struct auth *
auth_get(struct conn *c)
{
	struct auth	*a;

	if ((a = c->auth) == NULL) {
		a = xcalloc(1, sizeof *a);
		a->conn = c;
		c->auth = a;
	}
	return (a);
}

/* Hello as a requester: no credential, an optional 32-byte key. */
static ErrorCode
auth_requester(struct conn *c, const Hello *h, char *why, size_t len)
{
	uint64_t	k;

	if (h->credential.len != 0) {
		snprintf(why, len, "requesters present no credential");
		return (ERR(BAD_MESSAGE));
	}
	if (h->requester_key.len == 0)
		return (0);
	if (h->requester_key.len != AUTH_REQUESTER_KEY ||
	    h->requester_key.data == NULL) {
		snprintf(why, len, "requester_key must be %d bytes",
		    AUTH_REQUESTER_KEY);
		return (ERR(BAD_MESSAGE));
	}
	if ((k = auth_requester_hash(h->requester_key.data,
	    h->requester_key.len)) == 0) {
		snprintf(why, len, "cannot hash requester_key");
		return (ERR(INTERNAL));
	}
	auth_get(c)->requester = k;
	return (0);
}

/* The credential's not_after passed: end the session. */
static void
auth_expired(evutil_socket_t fd, short events, void *arg)
{
	struct auth	*a = arg;
	struct conn	*c = a->conn;

	(void)fd;
	(void)events;
	if (auth_wall() < a->cred.not_after) {
		auth_expiry_arm(a);	/* the wall clock moved back */
		return;
	}
	log_info("conn=%llu event=credential_expired id=%s",
	    (unsigned long long)c->id, a->cred.id);
	conn_error(c, 0, ERR(CREDENTIAL_EXPIRED), 1, "credential has expired");
}

/* Arm a's expiry timer for the credential's not_after. */
static void
auth_expiry_arm(struct auth *a)
{
	struct timeval	tv = { 0, 0 };
	uint64_t	now = auth_wall(), left;

	if (server_base == NULL)
		return;		/* unit tests: no loop */
	if (a->expiry == NULL &&
	    (a->expiry = evtimer_new(server_base, auth_expired, a)) == NULL)
		return;
	left = a->cred.not_after > now ? a->cred.not_after - now : 0;
	if (left > AUTH_EXPIRY_MAX)
		left = AUTH_EXPIRY_MAX;
	tv.tv_sec = (time_t)left;
	evtimer_add(a->expiry, &tv);
}

/* Hello as a supporter or operator: a good credential for that role. */
static ErrorCode
auth_credential(struct conn *c, const Hello *h, char *why, size_t len)
{
	struct cred_info	 info;
	struct auth		*a;
	enum cred_status	 st, st_prev;
	size_t			 i;
	uint64_t		 now;
	const char		*role = cred_role_name(h->role);
	int			 by_previous = 0;

	if (h->requester_key.len != 0) {
		snprintf(why, len, "requester_key is for requesters only");
		return (ERR(BAD_MESSAGE));
	}
	if (auth_keys == NULL || auth_keys->pubkey == NULL) {
		snprintf(why, len, "no signing key configured");
		return (ERR(BAD_CREDENTIAL));
	}
	if (h->credential.len == 0 || h->credential.data == NULL) {
		snprintf(why, len, "a %s must present a credential", role);
		return (ERR(BAD_CREDENTIAL));
	}
	now = auth_wall();
	st = cred_verify(h->credential.data, h->credential.len,
	    auth_keys->pubkey, now, &info);
	/*
	 * Only a signature the current key refused is tried with the previous
	 * one: anything else is the credential's own fault whichever key.  If
	 * the previous key does not verify it either, the answer is the
	 * current key's, exactly as without the option.
	 */
	if (st == CRED_BAD_SIGNATURE && auth_keys->previous != NULL) {
		st_prev = cred_verify(h->credential.data, h->credential.len,
		    auth_keys->previous, now, &info);
		if (st_prev != CRED_BAD_SIGNATURE && st_prev != CRED_INTERNAL) {
			st = st_prev;
			by_previous = 1;
		}
	}
	if (st != CRED_OK) {
		snprintf(why, len, "%s", cred_strerror(st));
		/* The id is trustworthy only when the signature was good. */
		if (st == CRED_EXPIRED || st == CRED_NOT_YET_VALID)
			log_info("conn=%llu event=auth_failed role=%s id=%s "
			    "reason=%s", (unsigned long long)c->id, role,
			    info.id, st == CRED_EXPIRED ? "expired" :
			    "not_yet_valid");
		else
			log_info("conn=%llu event=auth_failed role=%s "
			    "reason=\"%s\"", (unsigned long long)c->id, role,
			    cred_strerror(st));
		OPENSSL_cleanse(&info, sizeof info);
		/* PROTOCOL.md: CREDENTIAL_EXPIRED covers "not yet valid". */
		return (st == CRED_NOT_YET_VALID ? ERR(CREDENTIAL_EXPIRED) :
		    cred_error_code(st));
	}
	if (info.role != h->role) {
		snprintf(why, len, "the credential is for a%s %s, not a%s %s",
		    info.role == ROLE_OPERATOR ? "n" : "",
		    cred_role_name(info.role),
		    h->role == ROLE_OPERATOR ? "n" : "", role);
		log_info("conn=%llu event=auth_failed role=%s id=%s "
		    "reason=role_mismatch", (unsigned long long)c->id, role,
		    info.id);
		goto refuse;
	}
	for (i = 0; i < info.ntags; i++) {
		if (config_tag_find(info.tags[i]) == NULL) {
			/* Never name the tag: it is special-category data. */
			snprintf(why, len, "the credential carries a tag this "
			    "server does not know");
			log_info("conn=%llu event=auth_failed role=%s id=%s "
			    "reason=unknown_tag", (unsigned long long)c->id,
			    role, info.id);
			goto refuse;
		}
	}
	if (revoke_is_revoked(info.id)) {
		snprintf(why, len, "%s", cred_strerror(CRED_REVOKED));
		log_info("conn=%llu event=auth_failed role=%s id=%s "
		    "reason=revoked", (unsigned long long)c->id, role, info.id);
		OPENSSL_cleanse(&info, sizeof info);
		return (ERR(CREDENTIAL_REVOKED));
	}
	if (h->role == ROLE_SUPPORTER && !revoke_known()) {
		snprintf(why, len, "the server cannot check revocations yet; "
		    "try again shortly");
		log_info("conn=%llu event=auth_deferred role=supporter "
		    "reason=revocations_unknown id=%s",
		    (unsigned long long)c->id, info.id);
		OPENSSL_cleanse(&info, sizeof info);
		return (ERR(TRY_LATER));
	}

	a = auth_get(c);
	a->cred = info;
	a->has_cred = 1;
	OPENSSL_cleanse(&info, sizeof info);
	auth_expiry_arm(a);
	log_info("conn=%llu event=auth role=%s id=%s capacity=%u "
	    "expires_in=%llus%s", (unsigned long long)c->id, role, a->cred.id,
	    a->cred.capacity,
	    (unsigned long long)(a->cred.not_after - now),
	    by_previous ? " key=previous" : "");
	return (0);

refuse:
	OPENSSL_cleanse(&info, sizeof info);
	return (ERR(BAD_CREDENTIAL));
}

/*
 * Decide the role for Hello h.  Returns 0 with *role set, or the error code
 * to send (the connection then closes) with why filled in: BAD_MESSAGE
 * (unknown role, a requester with a credential, a requester_key that is not
 * 32 bytes or sent by a supporter/operator), BAD_CREDENTIAL (no signing key
 * configured, credential missing, malformed, badly signed, for another
 * role, carrying a tag not in the catalogue), CREDENTIAL_EXPIRED (expired
 * or not yet valid), CREDENTIAL_REVOKED, TRY_LATER (a supporter before the
 * revocation list has been read), INTERNAL.  On success attaches
 * the verified credential or the requester's continuity key to c->auth;
 * auth_free releases it.  Either way the bytes of Hello.requester_key and
 * Hello.credential (a bearer token) are wiped: nothing later needs them.
 */
ErrorCode
auth_hello(struct conn *c, const Hello *h, Role *role, char *why,
    size_t len)
{
	ErrorCode	code;

	auth_free(c);		/* a second Hello never reaches here; still */
	switch (h->role) {
	case ROLE_REQUESTER:
		code = auth_requester(c, h, why, len);
		break;
	case ROLE_SUPPORTER:
	case ROLE_OPERATOR:
		code = auth_credential(c, h, why, len);
		break;
	default:
		snprintf(why, len, "unknown role %d", (int)h->role);
		code = ERR(BAD_MESSAGE);
		break;
	}
	if (h->requester_key.data != NULL)
		OPENSSL_cleanse(h->requester_key.data, h->requester_key.len);
	if (h->credential.data != NULL)
		OPENSSL_cleanse(h->credential.data, h->credential.len);
	if (code != 0) {
		auth_free(c);
		return (code);
	}
	*role = h->role;
	return (0);
}

/* Release whatever auth_hello attached to c, wiping the credential. */
void
auth_free(struct conn *c)
{
	struct auth	*a = c->auth;

	if (a == NULL)
		return;
	if (a->expiry != NULL)
		event_free(a->expiry);
	OPENSSL_cleanse(a, sizeof *a);
	free(a);
	c->auth = NULL;
}

/* Return c's verified credential (supporter, operator), else NULL. */
const struct cred_info *
auth_cred(const struct conn *c)
{
	const struct auth	*a = c->auth;

	return (a != NULL && a->has_cred ? &a->cred : NULL);
}

/* Return c's requester continuity key, 0 if it gave none. */
uint64_t
auth_requester_key(const struct conn *c)
{
	const struct auth	*a = c->auth;

	return (a != NULL ? a->requester : 0);
}

/*
 * credential.h -- organisation-signed credentials, shared by peerd and peerctl.
 *
 * A supporter's identity tags are matched on, so they must be vetted by the
 * organisation, never self-declared.  The organisation holds an Ed25519
 * signing key (its private half never goes near peerd); peerctl signs a
 * peerd.v1.CredentialPayload with it and wraps payload and signature in a
 * peerd.v1.Credential.  peerd holds only the public key and calls cred_verify
 * on Hello.credential.
 *
 * Untrusted input: cred_verify bounds the length, unpacks only the outer
 * Credential, checks the signature over the payload bytes, and only then
 * unpacks and validates the payload.  Nothing inside the payload is looked at
 * before the signature is known to be good.
 *
 * The credential is a bearer token: whoever holds the file can present it.
 * Files are written mode 0600; treat them like passwords.
 *
 * Revocation lives in Redis (see CRED_REDIS_REVOKED below); cred_verify does
 * not talk to Redis, the daemon checks revocation after cred_verify succeeds.
 */
#ifndef PEERD_CREDENTIAL_H
#define PEERD_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "peer.pb-c.h"

#define CRED_VERSION		1	/* CredentialPayload.version we speak */

/* Field bounds (bytes unless said otherwise). */
#define CRED_ID_MAX		64	/* id, [A-Za-z0-9._-] */
#define CRED_NAME_MAX		64	/* display name, UTF-8 */
#define CRED_TAGS_MAX		32	/* tags per credential */
#define CRED_TAG_MAX		32	/* one tag, [a-z0-9-] */
#define CRED_LANGS_MAX		8	/* languages per credential */
#define CRED_LANG_LEN		2	/* one ISO 639-1 code, [a-z]{2} */
#define CRED_CAPACITY_MAX	16	/* conversations at once */
#define CRED_DAYS_MAX		1096	/* days, longest lifetime (3 years, the
					   usual renewal period of a vetting check) */
#define CRED_LIFETIME_MAX	((uint64_t)CRED_DAYS_MAX * 86400) /* seconds */
#define CRED_CLOCK_SKEW		300	/* seconds a credential may be early:
					   issuer and daemon clocks differ */

/* Size bounds, checked before anything is unpacked or allocated. */
#define CRED_SIG_LEN		64	/* bytes, an Ed25519 signature */
#define CRED_PAYLOAD_MAX	1536	/* bytes, serialized payload; the
					   largest valid one is 1,280 */
#define CRED_MAX		2048	/* bytes, serialized Credential */
#define CRED_FILE_MAX		(8 * 1024) /* bytes, an armored credential file */
#define CRED_KEY_FILE_MAX	(8 * 1024) /* bytes, a PEM key file */
#define CRED_ERR_MAX		256	/* bytes, a useful size for err buffers */

#define CRED_ARMOR_BEGIN	"-----BEGIN PEERD CREDENTIAL-----"
#define CRED_ARMOR_END		"-----END PEERD CREDENTIAL-----"

/*
 * Redis revocation schema (written by `peerctl revoke`, read by peerd).
 *
 *   SET     peerd:revoked      members are revoked credential ids.  Revoking
 *                              is by person id, so every credential ever
 *                              issued under that id is refused until
 *                              `peerctl unrevoke` removes it.  No expiry.
 *   CHANNEL peerd:revocations  `peerctl revoke` PUBLISHes the bare id here
 *                              after the SADD, so a subscribed peerd can end a
 *                              live session with that id at once.  Pub/Sub is
 *                              fire-and-forget: a peerd that was disconnected
 *                              from Redis must re-check its live sessions
 *                              against the set when it reconnects.  Unrevoke
 *                              publishes nothing.
 *   STRING  peerd:revoked:epoch
 *                              a random value (hex) that lives as long as the
 *                              set: `peerctl revoke` and peerd SETNX it when
 *                              it is missing, nobody changes it.  A set read
 *                              without the marker a peerd saw before was lost
 *                              by Redis (restart without persistence, flush),
 *                              not emptied on purpose: peerd keeps its copy
 *                              and writes it back.  No expiry.
 *
 * peerd checks SISMEMBER peerd:revoked <id> at Hello, after cred_verify.
 */
#define CRED_REDIS_REVOKED	"peerd:revoked"
#define CRED_REDIS_REVOCATIONS	"peerd:revocations"
#define CRED_REDIS_REVOKED_EPOCH "peerd:revoked:epoch"
#define CRED_EPOCH_BYTES	16	/* random bytes of a new marker */
#define CRED_EPOCH_LEN		(2 * CRED_EPOCH_BYTES)	/* in hex */

enum cred_status {
	CRED_OK = 0,
	CRED_MALFORMED,		/* too long or short, not a Credential, signature
				   not 64 bytes, payload did not unpack or is not
				   in canonical form, armor broken */
	CRED_BAD_SIGNATURE,	/* signature does not verify with this key */
	CRED_UNSUPPORTED_VERSION, /* payload version is not CRED_VERSION */
	CRED_BAD_FIELD,		/* a payload field breaks its rule */
	CRED_EXPIRED,		/* now >= not_after */
	CRED_NOT_YET_VALID,	/* now + CRED_CLOCK_SKEW < issued_at */
	CRED_REVOKED,		/* for the daemon's revocation check; never
				   returned by this file */
	CRED_INTERNAL		/* OpenSSL or memory failure, or the key is not
				   an Ed25519 key */
};

/*
 * A credential's contents as plain copies: callers never manage protobuf
 * memory.  Strings are NUL-terminated.  role is PEERD__V1__ROLE__SUPPORTER or
 * PEERD__V1__ROLE__OPERATOR in any valid credential.
 */
struct cred_info {
	char		 id[CRED_ID_MAX + 1];
	char		 name[CRED_NAME_MAX + 1];
	Peerd__V1__Role	 role;
	char		 tags[CRED_TAGS_MAX][CRED_TAG_MAX + 1];
	size_t		 ntags;
	char		 languages[CRED_LANGS_MAX][CRED_LANG_LEN + 1];
	size_t		 nlanguages;
	uint32_t	 capacity;	/* supporter 1-16; operator 0-16, unused */
	uint64_t	 issued_at;	/* unix seconds, nonzero */
	uint64_t	 not_after;	/* unix seconds, > issued_at */
};

/* ---- keys ---- */

/* Generate a new Ed25519 key pair.  Returns NULL on OpenSSL failure. */
EVP_PKEY	*cred_key_generate(void);

/*
 * Write key's private half as PKCS#8 PEM to privpath (mode 0600) and its
 * public half as PEM to pubpath (mode 0644).  Neither file may exist: an
 * existing file is never overwritten.  Returns 0, or -1 with a message in
 * err (errlen bytes) and neither file left behind.
 */
int		 cred_key_write(EVP_PKEY *key, const char *privpath,
		     const char *pubpath, char *err, size_t errlen);

/*
 * Load an Ed25519 private key from a PEM file.  The file must not be
 * readable by group or others and at most CRED_KEY_FILE_MAX bytes; an
 * encrypted key prompts for its passphrase on the terminal.  Returns the key
 * (free with EVP_PKEY_free), or NULL with a message in err.
 */
EVP_PKEY	*cred_key_load_private(const char *path, char *err,
		     size_t errlen);

/*
 * Load an Ed25519 public key from a PEM file (at most CRED_KEY_FILE_MAX
 * bytes).  Returns the key (free with EVP_PKEY_free), or NULL with a message
 * in err, also when the key is of another type.
 */
EVP_PKEY	*cred_key_load_public(const char *path, char *err,
		     size_t errlen);

/* ---- signing and verifying ---- */

/*
 * Check info against every field rule (the rules cred_verify applies; time
 * against a clock is not checked).  Returns CRED_OK, or CRED_BAD_FIELD with
 * *why (if why is not NULL) set to a static reason whose first word is the
 * field: "id", "name", "role", "tag(s)", "language(s)", "capacity",
 * "issued_at", "not_after" or "lifetime".
 */
enum cred_status cred_check_info(const struct cred_info *info,
		     const char **why);

/* Return whether id is a valid credential id, [A-Za-z0-9._-]{1,64}. */
int		 cred_id_valid(const char *id);

/*
 * Return whether name is a valid display name: 1-64 bytes of valid UTF-8
 * without control characters (C0, DEL, C1), line separators or
 * bidirectional override/isolate characters.
 */
int		 cred_name_valid(const char *name);

/* Return whether tag is a valid tag, [a-z0-9-]{1,32}. */
int		 cred_tag_valid(const char *tag);

/* Return whether lang is a valid language code, [a-z]{2} (ISO 639-1). */
int		 cred_lang_valid(const char *lang);

/*
 * Sign info with the private key and write the serialized Credential to out
 * (outlen bytes; CRED_MAX is always enough), its length to *lenp.  Returns
 * CRED_OK; CRED_BAD_FIELD (with *why set as cred_check_info) if info breaks a
 * rule, so nothing cred_verify would refuse is ever signed; CRED_INTERNAL if
 * out is too small, the key is not Ed25519 or OpenSSL fails.
 */
enum cred_status cred_sign(const struct cred_info *info, EVP_PKEY *key,
		     uint8_t *out, size_t outlen, size_t *lenp,
		     const char **why);

/*
 * Verify a serialized Credential (buf, len bytes, untrusted) with the
 * organisation's public key at time now (unix seconds), in this order:
 * length bounds, outer Credential, signature length, signature over the
 * payload bytes; only then the payload: version, canonical encoding, field
 * rules, then expiry.  Returns CRED_OK, CRED_MALFORMED, CRED_BAD_SIGNATURE,
 * CRED_UNSUPPORTED_VERSION, CRED_BAD_FIELD, CRED_EXPIRED, CRED_NOT_YET_VALID
 * or CRED_INTERNAL.  *out is filled on CRED_OK, CRED_EXPIRED and
 * CRED_NOT_YET_VALID (signature and fields are good: the id may be logged),
 * zeroed otherwise.  The OpenSSL error queue is left empty.
 */
enum cred_status cred_verify(const uint8_t *buf, size_t len, EVP_PKEY *pub,
		     uint64_t now, struct cred_info *out);

/*
 * Decode a serialized Credential WITHOUT checking its signature or time,
 * for display only (peerctl show without a key).  Strings are truncated to
 * fit *out and the lists to their maximum; nothing in *out may be trusted.
 * Returns CRED_OK, CRED_MALFORMED, CRED_UNSUPPORTED_VERSION or CRED_BAD_FIELD
 * (with *why set if why is not NULL).  *out is filled unless CRED_MALFORMED.
 */
enum cred_status cred_inspect(const uint8_t *buf, size_t len,
		     struct cred_info *out, const char **why);

/* Return a static, human message for a status ("credential has expired"). */
const char	*cred_strerror(enum cred_status);

/* Return the wire ErrorCode peerd sends for a status other than CRED_OK. */
Peerd__V1__ErrorCode cred_error_code(enum cred_status);

/* Return "supporter", "operator", "requester" or "unknown". */
const char	*cred_role_name(Peerd__V1__Role);

/* ---- files ---- */

/*
 * Armor a serialized Credential as text: CRED_ARMOR_BEGIN, base64 in lines of
 * 64 characters, CRED_ARMOR_END, each line ending in "\n", NUL-terminated.
 * Returns the text length, or 0 if len is 0 or over CRED_MAX or out (outlen
 * bytes; CRED_FILE_MAX is always enough) is too small.
 */
size_t		 cred_armor(const uint8_t *buf, size_t len, char *out,
		     size_t outlen);

/*
 * Decode armored text (untrusted, at most CRED_FILE_MAX bytes, not
 * necessarily NUL-terminated).  Text before the BEGIN line and after the END
 * line is ignored (mail); "\r\n" line ends are accepted.  Writes the
 * serialized Credential to out (outlen bytes) and its length to *lenp.
 * Returns CRED_OK or CRED_MALFORMED with *why set if why is not NULL.
 */
enum cred_status cred_dearmor(const char *text, size_t textlen, uint8_t *out,
		     size_t outlen, size_t *lenp, const char **why);

/*
 * Write a serialized Credential to path, armored, mode 0600.  An existing
 * file is never overwritten.  Returns 0, or -1 with a message in err.
 */
int		 cred_write_file(const char *path, const uint8_t *buf,
		     size_t len, char *err, size_t errlen);

/*
 * Read an armored credential file of at most CRED_FILE_MAX bytes into out
 * (outlen bytes; CRED_MAX is always enough), its length to *lenp.  Returns
 * 0, or -1 with a message in err (too large, unreadable, bad armor).
 */
/*
 * A new value for CRED_REDIS_REVOKED_EPOCH: CRED_EPOCH_BYTES random bytes
 * in hex, NUL-terminated.  Returns 0, or -1 if OpenSSL had no random
 * bytes.
 */
int		 cred_epoch_new(char out[CRED_EPOCH_LEN + 1]);

int		 cred_read_file(const char *path, uint8_t *out, size_t outlen,
		     size_t *lenp, char *err, size_t errlen);

#endif

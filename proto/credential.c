/*
 * credential.c -- sign, verify, armor and store organisation credentials.
 *
 * Trust order in cred_verify (see credential.h): nothing in the payload is
 * read until the Ed25519 signature over its exact bytes has verified.  After
 * that the payload must also be in canonical protobuf form with no unknown
 * fields, so what was signed is exactly what we understood: no duplicated
 * fields (last one wins), no strings with embedded NULs that C would cut
 * short, no signed data we silently ignore.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "credential.h"

typedef Peerd__V1__CredentialPayload	CredentialPayload;
typedef Peerd__V1__Credential		Credential;

static void	cred_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Format a message into err, appending OpenSSL's last error if any. */
static void
cred_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 e;
	size_t		 n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if ((e = ERR_peek_last_error()) != 0) {
		n = strlen(err);
		if (n + 3 < errlen) {
			memcpy(err + n, ": ", 3);
			ERR_error_string_n(e, err + n + 2, errlen - n - 2);
		}
	}
	ERR_clear_error();
}

/* Copy src into dst (dstlen bytes), truncating; dst is always terminated. */
static void
cred_copy(char *dst, size_t dstlen, const char *src)
{
	size_t	n;

	n = strnlen(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- field rules ---- */

int
cred_id_valid(const char *id)
{
	size_t	i;
	char	c;

	for (i = 0; id[i] != '\0'; i++) {
		if (i == CRED_ID_MAX)
			return (0);
		c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return (0);
	}
	return (i > 0);
}

int
cred_tag_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == CRED_TAG_MAX)
			return (0);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return (0);
	}
	return (i > 0);
}

int
cred_lang_valid(const char *s)
{
	return (s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' &&
	    s[2] == '\0');
}

/*
 * Return whether a code point may appear in a display name shown to a peer:
 * no C0/C1 controls or DEL, no line separators, and no bidirectional
 * embedding, override or isolate controls, which can make a name display as
 * something it is not.
 */
static int
cred_name_char_ok(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return (0);
	if (cp == 0x2028 || cp == 0x2029)
		return (0);
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return (0);
	return (1);
}

/*
 * Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF,
 * and only characters cred_name_char_ok accepts.
 */
int
cred_name_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp, min;
	size_t			 len;
	int			 i, more;

	len = strnlen(s, CRED_NAME_MAX + 1);
	if (len == 0 || len > CRED_NAME_MAX)
		return (0);
	while (*p != '\0') {
		if (*p < 0x80) {
			cp = *p;
			more = 0;
			min = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
			min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
			min = 0x10000;
		} else
			return (0);
		p++;
		/* A NUL fails the continuation test: no reading past it. */
		for (i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		if (!cred_name_char_ok(cp))
			return (0);
	}
	return (1);
}

/* Return whether list[i] equals an earlier entry. */
static int
cred_is_dup(char *const *list, size_t i)
{
	size_t	j;

	for (j = 0; j < i; j++) {
		if (strcmp(list[j], list[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Check every field rule of a payload except its version.  Returns CRED_OK
 * or CRED_BAD_FIELD with *why naming the field.
 */
static enum cred_status
cred_check_payload(const CredentialPayload *p, const char **why)
{
	const char	*reason = NULL;
	size_t		 i;

	if (p->id == NULL || !cred_id_valid(p->id))
		reason = "id must be 1-64 characters of A-Z a-z 0-9 . _ -";
	else if (p->name == NULL || !cred_name_valid(p->name))
		reason = "name must be 1-64 bytes of UTF-8 without control "
		    "characters";
	else if (p->role != PEERD__V1__ROLE__SUPPORTER &&
	    p->role != PEERD__V1__ROLE__OPERATOR)
		reason = "role must be supporter or operator";
	else if (p->n_tags > CRED_TAGS_MAX)
		reason = "tags: at most 32";
	else if (p->n_languages > CRED_LANGS_MAX)
		reason = "languages: at most 8";
	else if (p->role == PEERD__V1__ROLE__SUPPORTER &&
	    (p->capacity < 1 || p->capacity > CRED_CAPACITY_MAX))
		reason = "capacity must be 1-16 for a supporter";
	else if (p->capacity > CRED_CAPACITY_MAX)
		reason = "capacity must be 0-16";
	else if (p->issued_at == 0)
		reason = "issued_at: missing";
	else if (p->not_after <= p->issued_at)
		reason = "not_after: must be later than issued_at";
	else if (p->not_after - p->issued_at > CRED_LIFETIME_MAX)
		reason = "lifetime: longer than 1096 days";
	for (i = 0; reason == NULL && i < p->n_tags; i++) {
		if (p->tags[i] == NULL || !cred_tag_valid(p->tags[i]))
			reason = "tag must be 1-32 characters of a-z 0-9 -";
		else if (cred_is_dup(p->tags, i))
			reason = "tag listed twice";
	}
	for (i = 0; reason == NULL && i < p->n_languages; i++) {
		if (p->languages[i] == NULL ||
		    !cred_lang_valid(p->languages[i]))
			reason = "language must be two lowercase letters "
			    "(ISO 639-1)";
		else if (cred_is_dup(p->languages, i))
			reason = "language listed twice";
	}
	if (reason == NULL)
		return (CRED_OK);
	if (why != NULL)
		*why = reason;
	return (CRED_BAD_FIELD);
}

/*
 * Point a payload at info's strings (tags and langs are arrays the caller
 * provides).  Returns CRED_OK, or CRED_BAD_FIELD if a string is not
 * terminated inside its buffer or a count is over its bound.
 */
static enum cred_status
cred_info_to_payload(const struct cred_info *info, CredentialPayload *p,
    char **tags, char **langs, const char **why)
{
	const char	*reason = NULL;
	size_t		 i;

	peerd__v1__credential_payload__init(p);
	if (strnlen(info->id, sizeof info->id) == sizeof info->id)
		reason = "id too long";
	else if (strnlen(info->name, sizeof info->name) == sizeof info->name)
		reason = "name too long";
	else if (info->ntags > CRED_TAGS_MAX)
		reason = "tags: at most 32";
	else if (info->nlanguages > CRED_LANGS_MAX)
		reason = "languages: at most 8";
	for (i = 0; reason == NULL && i < info->ntags; i++) {
		if (strnlen(info->tags[i], sizeof info->tags[i]) ==
		    sizeof info->tags[i])
			reason = "tag too long";
		tags[i] = (char *)info->tags[i];
	}
	for (i = 0; reason == NULL && i < info->nlanguages; i++) {
		if (strnlen(info->languages[i], sizeof info->languages[i]) ==
		    sizeof info->languages[i])
			reason = "language must be two lowercase letters "
			    "(ISO 639-1)";
		langs[i] = (char *)info->languages[i];
	}
	if (reason != NULL) {
		if (why != NULL)
			*why = reason;
		return (CRED_BAD_FIELD);
	}
	p->version = CRED_VERSION;
	p->id = (char *)info->id;
	p->name = (char *)info->name;
	p->role = info->role;
	p->n_tags = info->ntags;
	p->tags = tags;
	p->n_languages = info->nlanguages;
	p->languages = langs;
	p->capacity = info->capacity;
	p->issued_at = info->issued_at;
	p->not_after = info->not_after;
	return (CRED_OK);
}

enum cred_status
cred_check_info(const struct cred_info *info, const char **why)
{
	CredentialPayload	 p;
	char			*tags[CRED_TAGS_MAX], *langs[CRED_LANGS_MAX];
	enum cred_status	 st;

	if ((st = cred_info_to_payload(info, &p, tags, langs, why)) != CRED_OK)
		return (st);
	return (cred_check_payload(&p, why));
}

/* Copy a payload into info, truncating what does not fit (cred_inspect). */
static void
cred_payload_to_info(const CredentialPayload *p, struct cred_info *info)
{
	size_t	i;

	memset(info, 0, sizeof *info);
	cred_copy(info->id, sizeof info->id, p->id != NULL ? p->id : "");
	cred_copy(info->name, sizeof info->name, p->name != NULL ? p->name : "");
	info->role = p->role;
	for (i = 0; i < p->n_tags && i < CRED_TAGS_MAX; i++)
		cred_copy(info->tags[i], sizeof info->tags[i], p->tags[i]);
	info->ntags = i;
	for (i = 0; i < p->n_languages && i < CRED_LANGS_MAX; i++) {
		cred_copy(info->languages[i], sizeof info->languages[i],
		    p->languages[i]);
	}
	info->nlanguages = i;
	info->capacity = p->capacity;
	info->issued_at = p->issued_at;
	info->not_after = p->not_after;
}

/*
 * Unpack a payload whose bytes are already trusted or only displayed, and
 * check its version, canonical form and fields.  On anything but
 * CRED_MALFORMED, *pp is the unpacked payload for the caller to free.
 */
static enum cred_status
cred_unpack_payload(const uint8_t *buf, size_t len, CredentialPayload **pp,
    const char **why)
{
	CredentialPayload	*p;
	uint8_t			 again[CRED_PAYLOAD_MAX];

	*pp = NULL;
	if (len == 0 || len > CRED_PAYLOAD_MAX) {
		if (why != NULL)
			*why = "payload size out of bounds";
		return (CRED_MALFORMED);
	}
	if ((p = peerd__v1__credential_payload__unpack(NULL, len, buf)) ==
	    NULL) {
		if (why != NULL)
			*why = "payload does not unpack";
		return (CRED_MALFORMED);
	}
	*pp = p;
	if (p->version != CRED_VERSION) {
		if (why != NULL)
			*why = "payload version is not 1";
		return (CRED_UNSUPPORTED_VERSION);
	}
	/* Re-encoding must give back exactly the signed bytes. */
	if (p->base.n_unknown_fields != 0 ||
	    peerd__v1__credential_payload__get_packed_size(p) != len ||
	    peerd__v1__credential_payload__pack(p, again) != len ||
	    memcmp(again, buf, len) != 0) {
		if (why != NULL)
			*why = "payload is not in canonical form";
		return (CRED_MALFORMED);
	}
	return (cred_check_payload(p, why));
}

/* ---- signatures ---- */

/* Return whether key is an Ed25519 key. */
static int
cred_key_is_ed25519(EVP_PKEY *key)
{
	return (key != NULL && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519);
}

enum cred_status
cred_sign(const struct cred_info *info, EVP_PKEY *key, uint8_t *out,
    size_t outlen, size_t *lenp, const char **why)
{
	CredentialPayload	 p;
	Credential		 c = PEERD__V1__CREDENTIAL__INIT;
	char			*tags[CRED_TAGS_MAX], *langs[CRED_LANGS_MAX];
	uint8_t			 payload[CRED_PAYLOAD_MAX], sig[CRED_SIG_LEN];
	EVP_MD_CTX		*ctx;
	enum cred_status	 st;
	size_t			 plen, siglen = sizeof sig;
	int			 ok;

	*lenp = 0;
	if ((st = cred_info_to_payload(info, &p, tags, langs, why)) != CRED_OK)
		return (st);
	if ((st = cred_check_payload(&p, why)) != CRED_OK)
		return (st);
	if (!cred_key_is_ed25519(key))
		return (CRED_INTERNAL);
	/* Valid fields bound the size; this guards the bound itself. */
	plen = peerd__v1__credential_payload__get_packed_size(&p);
	if (plen > sizeof payload)
		return (CRED_INTERNAL);
	peerd__v1__credential_payload__pack(&p, payload);

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (CRED_INTERNAL);
	/* Ed25519 is one-shot and hashes internally: no digest. */
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, payload, plen) == 1 &&
	    siglen == CRED_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return (CRED_INTERNAL);
	}

	c.payload.data = payload;
	c.payload.len = plen;
	c.signature.data = sig;
	c.signature.len = siglen;
	if (peerd__v1__credential__get_packed_size(&c) > outlen ||
	    peerd__v1__credential__get_packed_size(&c) > CRED_MAX)
		return (CRED_INTERNAL);
	*lenp = peerd__v1__credential__pack(&c, out);
	return (CRED_OK);
}

/* Check an Ed25519 signature of CRED_SIG_LEN bytes over msg. */
static enum cred_status
cred_sig_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
    const uint8_t *sig)
{
	EVP_MD_CTX	*ctx;
	int		 r;

	if (!cred_key_is_ed25519(pub))
		return (CRED_INTERNAL);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (CRED_INTERNAL);
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) != 1) {
		EVP_MD_CTX_free(ctx);
		return (CRED_INTERNAL);
	}
	r = EVP_DigestVerify(ctx, sig, CRED_SIG_LEN, msg, len);
	EVP_MD_CTX_free(ctx);
	/* Anything but 1 (0 bad, <0 malformed signature) is a refusal. */
	return (r == 1 ? CRED_OK : CRED_BAD_SIGNATURE);
}

/*
 * Unpack the outer Credential and check its shape.  On CRED_OK *cp is the
 * unpacked message for the caller to free.
 */
static enum cred_status
cred_unpack_outer(const uint8_t *buf, size_t len, Credential **cp)
{
	Credential	*c;

	*cp = NULL;
	if (buf == NULL || len == 0 || len > CRED_MAX)
		return (CRED_MALFORMED);
	if ((c = peerd__v1__credential__unpack(NULL, len, buf)) == NULL)
		return (CRED_MALFORMED);
	if (c->signature.len != CRED_SIG_LEN || c->payload.len == 0 ||
	    c->payload.len > CRED_PAYLOAD_MAX) {
		peerd__v1__credential__free_unpacked(c, NULL);
		return (CRED_MALFORMED);
	}
	*cp = c;
	return (CRED_OK);
}

enum cred_status
cred_verify(const uint8_t *buf, size_t len, EVP_PKEY *pub, uint64_t now,
    struct cred_info *out)
{
	Credential		*c;
	CredentialPayload	*p = NULL;
	enum cred_status	 st;

	memset(out, 0, sizeof *out);
	if ((st = cred_unpack_outer(buf, len, &c)) != CRED_OK)
		goto done;
	st = cred_sig_verify(pub, c->payload.data, c->payload.len,
	    c->signature.data);
	if (st != CRED_OK)
		goto done;
	/* From here on the payload bytes are the organisation's. */
	st = cred_unpack_payload(c->payload.data, c->payload.len, &p, NULL);
	if (st != CRED_OK)
		goto done;
	cred_payload_to_info(p, out);
	if (now >= p->not_after)
		st = CRED_EXPIRED;
	else if (p->issued_at > CRED_CLOCK_SKEW &&
	    p->issued_at - CRED_CLOCK_SKEW > now)	/* no overflow */
		st = CRED_NOT_YET_VALID;

done:
	if (st != CRED_OK && st != CRED_EXPIRED && st != CRED_NOT_YET_VALID)
		memset(out, 0, sizeof *out);
	if (p != NULL)
		peerd__v1__credential_payload__free_unpacked(p, NULL);
	if (c != NULL)
		peerd__v1__credential__free_unpacked(c, NULL);
	/* Leave no stale errors for the caller's TLS code to find. */
	ERR_clear_error();
	return (st);
}

enum cred_status
cred_inspect(const uint8_t *buf, size_t len, struct cred_info *out,
    const char **why)
{
	Credential		*c;
	CredentialPayload	*p;
	enum cred_status	 st;

	memset(out, 0, sizeof *out);
	if ((st = cred_unpack_outer(buf, len, &c)) != CRED_OK) {
		if (why != NULL)
			*why = "not a credential";
		return (st);
	}
	st = cred_unpack_payload(c->payload.data, c->payload.len, &p, why);
	if (p != NULL) {
		cred_payload_to_info(p, out);
		peerd__v1__credential_payload__free_unpacked(p, NULL);
	}
	peerd__v1__credential__free_unpacked(c, NULL);
	return (st);
}

const char *
cred_strerror(enum cred_status st)
{
	switch (st) {
	case CRED_OK:
		return ("credential is valid");
	case CRED_MALFORMED:
		return ("credential is malformed");
	case CRED_BAD_SIGNATURE:
		return ("credential signature does not verify: not signed by "
		    "this organisation's key, or altered");
	case CRED_UNSUPPORTED_VERSION:
		return ("credential version is not supported");
	case CRED_BAD_FIELD:
		return ("credential has an invalid field");
	case CRED_EXPIRED:
		return ("credential has expired");
	case CRED_NOT_YET_VALID:
		return ("credential is not valid yet (check the clocks)");
	case CRED_REVOKED:
		return ("credential has been revoked");
	case CRED_INTERNAL:
		return ("internal error while checking the credential");
	}
	return ("unknown credential status");
}

Peerd__V1__ErrorCode
cred_error_code(enum cred_status st)
{
	switch (st) {
	case CRED_OK:
		return (PEERD__V1__ERROR_CODE__ERROR_UNSPECIFIED);
	case CRED_EXPIRED:
		return (PEERD__V1__ERROR_CODE__CREDENTIAL_EXPIRED);
	case CRED_REVOKED:
		return (PEERD__V1__ERROR_CODE__CREDENTIAL_REVOKED);
	case CRED_INTERNAL:
		return (PEERD__V1__ERROR_CODE__INTERNAL);
	case CRED_MALFORMED:
	case CRED_BAD_SIGNATURE:
	case CRED_UNSUPPORTED_VERSION:
	case CRED_BAD_FIELD:
	case CRED_NOT_YET_VALID:
		break;
	}
	return (PEERD__V1__ERROR_CODE__BAD_CREDENTIAL);
}

const char *
cred_role_name(Peerd__V1__Role role)
{
	switch (role) {
	case PEERD__V1__ROLE__SUPPORTER:
		return ("supporter");
	case PEERD__V1__ROLE__OPERATOR:
		return ("operator");
	case PEERD__V1__ROLE__REQUESTER:
		return ("requester");
	default:
		break;
	}
	return ("unknown");
}

/* ---- armor ---- */

size_t
cred_armor(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
	EVP_ENCODE_CTX	*ctx;
	char		*p = out;
	size_t		 need;
	int		 n, ok;

	need = sizeof CRED_ARMOR_BEGIN + EVP_ENCODE_LENGTH(len) +
	    sizeof CRED_ARMOR_END + 1;
	if (len == 0 || len > CRED_MAX || outlen < need)
		return (0);
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		return (0);
	memcpy(p, CRED_ARMOR_BEGIN "\n", sizeof CRED_ARMOR_BEGIN);
	p += sizeof CRED_ARMOR_BEGIN;
	/* 64 characters and "\n" per line. */
	EVP_EncodeInit(ctx);
	ok = EVP_EncodeUpdate(ctx, (unsigned char *)p, &n, buf, (int)len) == 1;
	if (ok) {
		p += n;
		EVP_EncodeFinal(ctx, (unsigned char *)p, &n);
		p += n;
	}
	EVP_ENCODE_CTX_free(ctx);
	if (!ok)
		return (0);
	memcpy(p, CRED_ARMOR_END "\n", sizeof CRED_ARMOR_END + 1);
	p += sizeof CRED_ARMOR_END;
	return ((size_t)(p - out));
}

/* Return whether c may appear in the base64 body. */
static int
cred_b64_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=');
}

/*
 * Gather the base64 characters between the BEGIN and END lines into b64
 * (room for textlen bytes).  Returns their count, or 0 with *why set.
 */
static size_t
cred_armor_body(const char *text, size_t textlen, char *b64,
    const char **why)
{
	const char	*p = text, *end = text + textlen, *nl, *s;
	size_t		 l, n = 0;
	int		 inside = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		s = p;
		l = (size_t)((nl != NULL ? nl : end) - p);
		p = nl != NULL ? nl + 1 : end;
		while (l > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			l--;
		}
		while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' ||
		    s[l - 1] == '\t'))
			l--;
		if (!inside) {
			if (l == sizeof CRED_ARMOR_BEGIN - 1 &&
			    memcmp(s, CRED_ARMOR_BEGIN, l) == 0)
				inside = 1;
			continue;
		}
		if (l == sizeof CRED_ARMOR_END - 1 &&
		    memcmp(s, CRED_ARMOR_END, l) == 0) {
			if (n == 0)
				*why = "nothing between BEGIN and END";
			return (n);
		}
		for (; l > 0; s++, l--) {
			if (!cred_b64_char(*s)) {
				*why = "bad character in base64 body";
				return (0);
			}
			b64[n++] = *s;
		}
	}
	*why = inside ? "no END PEERD CREDENTIAL line" :
	    "no BEGIN PEERD CREDENTIAL line";
	return (0);
}

enum cred_status
cred_dearmor(const char *text, size_t textlen, uint8_t *out, size_t outlen,
    size_t *lenp, const char **why)
{
	EVP_ENCODE_CTX	*ctx;
	char		 b64[CRED_FILE_MAX];
	uint8_t		 bin[CRED_FILE_MAX / 4 * 3];
	const char	*reason = NULL, *eq;
	size_t		 n;
	int		 a, b = 0, r;

	*lenp = 0;
	if (textlen > CRED_FILE_MAX) {
		reason = "larger than 8 KiB";
		goto fail;
	}
	if ((n = cred_armor_body(text, textlen, b64, &reason)) == 0)
		goto fail;
	/* Padding only at the very end, and the length a multiple of 4. */
	if ((eq = memchr(b64, '=', n)) != NULL &&
	    (size_t)(eq - b64) < n - 2 + (b64[n - 1] != '=')) {
		reason = "base64 padding in the middle";
		goto fail;
	}
	if (n % 4 != 0) {
		reason = "base64 length is not a multiple of 4";
		goto fail;
	}
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL) {
		reason = "out of memory";
		goto fail;
	}
	EVP_DecodeInit(ctx);
	/* n <= CRED_FILE_MAX: bin holds n / 4 * 3 bytes. */
	r = EVP_DecodeUpdate(ctx, bin, &a, (unsigned char *)b64, (int)n);
	if (r != -1)
		r = EVP_DecodeFinal(ctx, bin + a, &b);
	EVP_ENCODE_CTX_free(ctx);
	ERR_clear_error();
	if (r == -1) {
		reason = "bad base64";
		goto fail;
	}
	n = (size_t)a + (size_t)b;
	if (n == 0 || n > CRED_MAX || n > outlen) {
		reason = "credential too long";
		goto fail;
	}
	memcpy(out, bin, n);
	*lenp = n;
	return (CRED_OK);

fail:
	*lenp = 0;
	if (why != NULL)
		*why = reason;
	return (CRED_MALFORMED);
}

/* ---- files ---- */

/*
 * Read a whole regular file of at most max bytes into buf.  If secret, the
 * file must not be readable or writable by group or others.  Returns the
 * length, or -1 with a message in err.
 */
static ssize_t
cred_slurp(const char *path, int secret, char *buf, size_t max, char *err,
    size_t errlen)
{
	struct stat	 sb;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		cred_err(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1) {
		cred_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		cred_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (secret && (sb.st_mode & 077) != 0) {
		cred_err(err, errlen, "%s: permissions %04o are too open for a "
		    "private key (chmod 600)", path,
		    (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	if ((uintmax_t)sb.st_size > max) {
		cred_err(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	/* Read one byte past max to catch a file that grew. */
	for (;;) {
		r = read(fd, buf + n, max + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cred_err(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			cred_err(err, errlen, "%s: larger than %zu bytes", path,
			    max);
			goto fail;
		}
	}
	close(fd);
	return ((ssize_t)n);

fail:
	close(fd);
	if (secret)
		OPENSSL_cleanse(buf, n);
	return (-1);
}

/* Create path, which must not exist, for writing with mode. */
static int
cred_create(const char *path, mode_t mode, char *err, size_t errlen)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		if (errno == EEXIST)
			cred_err(err, errlen, "%s: already exists, not "
			    "overwriting", path);
		else
			cred_err(err, errlen, "%s: %s", path, strerror(errno));
	}
	return (fd);
}

/* Write all of buf to fd, flush it to disk and close fd. */
static int
cred_write_close(int fd, const char *path, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const char	*p = buf;
	ssize_t		 r;

	while (len > 0) {
		if ((r = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += r;
		len -= (size_t)r;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		cred_err(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);

fail:
	cred_err(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return (-1);
}

/* Write the contents of a memory BIO to fd and close fd. */
static int
cred_write_bio(int fd, const char *path, BIO *bio, char *err, size_t errlen)
{
	char	*data;
	long	 len;

	if ((len = BIO_get_mem_data(bio, &data)) <= 0) {
		cred_err(err, errlen, "%s: PEM encoding failed", path);
		close(fd);
		return (-1);
	}
	return (cred_write_close(fd, path, data, (size_t)len, err, errlen));
}

EVP_PKEY *
cred_key_generate(void)
{
	EVP_PKEY	*key;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL)
		ERR_clear_error();
	return (key);
}

int
cred_key_write(EVP_PKEY *key, const char *privpath, const char *pubpath,
    char *err, size_t errlen)
{
	BIO	*priv = NULL, *pub = NULL;
	int	 pfd = -1, qfd = -1, ok = 0;

	if (!cred_key_is_ed25519(key)) {
		cred_err(err, errlen, "not an Ed25519 key");
		return (-1);
	}
	/* Secure memory BIO: the private key's PEM is wiped when freed. */
	if ((priv = BIO_new(BIO_s_secmem())) == NULL ||
	    (pub = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL,
	    NULL) != 1 || PEM_write_bio_PUBKEY(pub, key) != 1) {
		cred_err(err, errlen, "PEM encoding failed");
		goto out;
	}
	/* Create both before writing either, so a clash leaves nothing. */
	if ((pfd = cred_create(privpath, 0600, err, errlen)) == -1)
		goto out;
	if ((qfd = cred_create(pubpath, 0644, err, errlen)) == -1) {
		close(pfd);
		unlink(privpath);
		goto out;
	}
	if (cred_write_bio(pfd, privpath, priv, err, errlen) == -1) {
		close(qfd);
		goto fail;
	}
	if (cred_write_bio(qfd, pubpath, pub, err, errlen) == -1)
		goto fail;
	ok = 1;
	goto out;

fail:
	unlink(privpath);
	unlink(pubpath);
out:
	BIO_free(priv);
	BIO_free(pub);
	return (ok ? 0 : -1);
}

/*
 * Load a PEM key of either half from path; private selects the half.
 * Returns the key, or NULL with a message in err.
 */
static EVP_PKEY *
cred_key_load(const char *path, int private, char *err, size_t errlen)
{
	char		 buf[CRED_KEY_FILE_MAX + 1];
	BIO		*bio;
	EVP_PKEY	*key = NULL;
	ssize_t		 n;

	n = cred_slurp(path, private, buf, CRED_KEY_FILE_MAX, err, errlen);
	if (n == -1)
		return (NULL);
	if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL) {
		cred_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (private)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL) {
		cred_err(err, errlen, "%s: not a PEM %s key", path,
		    private ? "private" : "public");
		goto out;
	}
	if (!cred_key_is_ed25519(key)) {
		cred_err(err, errlen, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	if (private)
		OPENSSL_cleanse(buf, sizeof buf);
	ERR_clear_error();
	return (key);
}

EVP_PKEY *
cred_key_load_private(const char *path, char *err, size_t errlen)
{
	return (cred_key_load(path, 1, err, errlen));
}

EVP_PKEY *
cred_key_load_public(const char *path, char *err, size_t errlen)
{
	return (cred_key_load(path, 0, err, errlen));
}

int
cred_write_file(const char *path, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	char	text[CRED_FILE_MAX];
	size_t	n;
	int	fd;

	if ((n = cred_armor(buf, len, text, sizeof text)) == 0) {
		cred_err(err, errlen, "%s: credential of %zu bytes cannot be "
		    "armored", path, len);
		return (-1);
	}
	if ((fd = cred_create(path, 0600, err, errlen)) == -1)
		return (-1);
	if (cred_write_close(fd, path, text, n, err, errlen) == -1) {
		unlink(path);
		return (-1);
	}
	return (0);
}

int
cred_read_file(const char *path, uint8_t *out, size_t outlen, size_t *lenp,
    char *err, size_t errlen)
{
	char		 text[CRED_FILE_MAX + 1];
	const char	*why = NULL;
	ssize_t		 n;

	*lenp = 0;
	n = cred_slurp(path, 0, text, CRED_FILE_MAX, err, errlen);
	if (n == -1)
		return (-1);
	if (cred_dearmor(text, (size_t)n, out, outlen, lenp, &why) != CRED_OK) {
		cred_err(err, errlen, "%s: not a peerd credential: %s", path,
		    why);
		return (-1);
	}
	return (0);
}

int
cred_epoch_new(char out[CRED_EPOCH_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			rnd[CRED_EPOCH_BYTES];
	size_t			i;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return (-1);
	for (i = 0; i < sizeof rnd; i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[CRED_EPOCH_LEN] = '\0';
	return (0);
}

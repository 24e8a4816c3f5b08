/*
 * test_credential.c -- proto/credential.c: signing, verifying, field rules,
 * armor and files.
 *
 * Payloads that cred_sign would refuse are built and signed here by hand
 * (sign_bytes), so the verifier's own checks are what is tested.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "credential.h"

#define NOW	((uint64_t)1790000000)	/* unix seconds, a fixed "now" */
#define DAY	((uint64_t)86400)	/* seconds */

static EVP_PKEY	*key;		/* the organisation's key */
static EVP_PKEY	*other;		/* somebody else's Ed25519 key */

/* Generate the keys once: Ed25519 generation is cheap but not free. */
static int
setup_keys(void **state)
{
	(void)state;
	key = cred_key_generate();
	other = cred_key_generate();
	return (key == NULL || other == NULL ? -1 : 0);
}

static int
teardown_keys(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return (0);
}

/* Fill info with a valid supporter credential. */
static void
good_info(struct cred_info *info)
{
	memset(info, 0, sizeof *info);
	strcpy(info->id, "sup-0042");
	strcpy(info->name, "Zo\xc3\xab");	/* "Zoë" */
	info->role = PEERD__V1__ROLE__SUPPORTER;
	strcpy(info->tags[0], "lgbtq");
	strcpy(info->tags[1], "bme");
	strcpy(info->tags[2], "prison-history");
	info->ntags = 3;
	strcpy(info->languages[0], "en");
	strcpy(info->languages[1], "fr");
	info->nlanguages = 2;
	info->capacity = 3;
	info->issued_at = NOW - DAY;
	info->not_after = NOW + 364 * DAY;
}

/* Sign info with the test key; assert it works. */
static size_t
sign_info(const struct cred_info *info, uint8_t *out)
{
	size_t	len = 0;

	assert_int_equal(cred_sign(info, key, out, CRED_MAX, &len, NULL),
	    CRED_OK);
	assert_true(len > CRED_SIG_LEN && len <= CRED_MAX);
	return (len);
}

/* Sign raw payload bytes with k and pack a Credential into out. */
static size_t
sign_bytes(const uint8_t *payload, size_t plen, EVP_PKEY *k, uint8_t *out,
    size_t outlen)
{
	Peerd__V1__Credential	 c = PEERD__V1__CREDENTIAL__INIT;
	uint8_t			 sig[CRED_SIG_LEN];
	size_t			 siglen = sizeof sig;
	EVP_MD_CTX		*ctx;

	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, payload, plen), 1);
	EVP_MD_CTX_free(ctx);
	c.payload.data = (uint8_t *)payload;
	c.payload.len = plen;
	c.signature.data = sig;
	c.signature.len = siglen;
	assert_true(peerd__v1__credential__get_packed_size(&c) <= outlen);
	return (peerd__v1__credential__pack(&c, out));
}

/* Build a payload from info without any checks, as a hostile signer could. */
static void
raw_payload(const struct cred_info *info, Peerd__V1__CredentialPayload *p,
    char **tags, char **langs)
{
	size_t	i;

	peerd__v1__credential_payload__init(p);
	p->version = CRED_VERSION;
	p->id = (char *)info->id;
	p->name = (char *)info->name;
	p->role = info->role;
	for (i = 0; i < info->ntags; i++)
		tags[i] = (char *)info->tags[i];
	p->n_tags = info->ntags;
	p->tags = tags;
	for (i = 0; i < info->nlanguages; i++)
		langs[i] = (char *)info->languages[i];
	p->n_languages = info->nlanguages;
	p->languages = langs;
	p->capacity = info->capacity;
	p->issued_at = info->issued_at;
	p->not_after = info->not_after;
}

/* Sign a payload struct as-is and verify the result at NOW. */
static enum cred_status
verify_payload(const Peerd__V1__CredentialPayload *p)
{
	uint8_t			 pbuf[4096], cbuf[4096 + 128];
	struct cred_info	 out;
	size_t			 plen, clen;

	plen = peerd__v1__credential_payload__get_packed_size(p);
	assert_true(plen <= sizeof pbuf);
	peerd__v1__credential_payload__pack(p, pbuf);
	clen = sign_bytes(pbuf, plen, key, cbuf, sizeof cbuf);
	return (cred_verify(cbuf, clen, key, NOW, &out));
}

/* Sign info unchecked and verify it; also ask cred_check_info. */
static enum cred_status
verify_raw(const struct cred_info *info)
{
	Peerd__V1__CredentialPayload	 p;
	char				*tags[CRED_TAGS_MAX + 8];
	char				*langs[CRED_LANGS_MAX + 8];

	raw_payload(info, &p, tags, langs);
	return (verify_payload(&p));
}

/* Assert that info is refused by the verifier and by the signer. */
static void
assert_bad_field(const struct cred_info *info)
{
	uint8_t		 buf[CRED_MAX];
	const char	*why = NULL;
	size_t		 len = 1;

	assert_int_equal(verify_raw(info), CRED_BAD_FIELD);
	assert_int_equal(cred_check_info(info, &why), CRED_BAD_FIELD);
	assert_non_null(why);
	assert_int_equal(cred_sign(info, key, buf, sizeof buf, &len, NULL),
	    CRED_BAD_FIELD);
	assert_int_equal(len, 0);
}

/* Assert that info is accepted by the verifier and by the signer. */
static void
assert_good(const struct cred_info *info)
{
	assert_int_equal(cred_check_info(info, NULL), CRED_OK);
	assert_int_equal(verify_raw(info), CRED_OK);
}

/* ---- signature and structure ---- */

static void
test_round_trip(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len, i;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out), CRED_OK);
	assert_string_equal(out.id, "sup-0042");
	assert_string_equal(out.name, "Zo\xc3\xab");
	assert_int_equal(out.role, PEERD__V1__ROLE__SUPPORTER);
	assert_int_equal(out.ntags, 3);
	for (i = 0; i < in.ntags; i++)
		assert_string_equal(out.tags[i], in.tags[i]);
	assert_int_equal(out.nlanguages, 2);
	assert_string_equal(out.languages[0], "en");
	assert_string_equal(out.languages[1], "fr");
	assert_int_equal(out.capacity, 3);
	assert_true(out.issued_at == in.issued_at);
	assert_true(out.not_after == in.not_after);
	assert_memory_equal(&in, &out, sizeof in);
}

/* Flipping any bit of the payload breaks the signature, checked first. */
static void
test_payload_bit_flip(void **state)
{
	Peerd__V1__Credential	*c;
	struct cred_info	 in, out;
	uint8_t			 buf[CRED_MAX], bad[CRED_MAX];
	uint8_t			 payload[CRED_PAYLOAD_MAX], sig[CRED_SIG_LEN];
	size_t			 len, plen, i, blen;
	int			 bit;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	c = peerd__v1__credential__unpack(NULL, len, buf);
	assert_non_null(c);
	plen = c->payload.len;
	memcpy(payload, c->payload.data, plen);
	memcpy(sig, c->signature.data, sizeof sig);
	peerd__v1__credential__free_unpacked(c, NULL);

	for (i = 0; i < plen; i++) {
		for (bit = 0; bit < 8; bit++) {
			Peerd__V1__Credential	d = PEERD__V1__CREDENTIAL__INIT;

			payload[i] ^= 1u << bit;
			d.payload.data = payload;
			d.payload.len = plen;
			d.signature.data = sig;
			d.signature.len = sizeof sig;
			blen = peerd__v1__credential__pack(&d, bad);
			assert_int_equal(cred_verify(bad, blen, key, NOW, &out),
			    CRED_BAD_SIGNATURE);
			assert_string_equal(out.id, "");
			payload[i] ^= 1u << bit;
		}
	}
}

static void
test_signature_bit_flip(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len, i;
	int			bit;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	/* The signature is the last 64 bytes of the packed Credential. */
	for (i = len - CRED_SIG_LEN; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= 1u << bit;
			assert_int_equal(cred_verify(buf, len, key, NOW, &out),
			    CRED_BAD_SIGNATURE);
			buf[i] ^= 1u << bit;
		}
	}
	assert_int_equal(cred_verify(buf, len, key, NOW, &out), CRED_OK);
}

static void
test_wrong_key(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	assert_int_equal(cred_verify(buf, len, other, NOW, &out),
	    CRED_BAD_SIGNATURE);
	assert_string_equal(out.id, "");
	assert_int_equal(cred_verify(buf, len, key, NOW, &out), CRED_OK);
}

/* A key of another type is an internal error, not a verdict. */
static void
test_non_ed25519_key(void **state)
{
	struct cred_info	 in, out;
	uint8_t			 buf[CRED_MAX];
	size_t			 len;
	EVP_PKEY		*ec;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	assert_int_equal(cred_verify(buf, len, ec, NOW, &out), CRED_INTERNAL);
	/* Nothing left on the OpenSSL error queue for TLS code to trip on. */
	assert_int_equal(ERR_peek_error(), 0);
	buf[len - 1] ^= 1;
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_BAD_SIGNATURE);
	assert_int_equal(ERR_peek_error(), 0);
	buf[len - 1] ^= 1;
	assert_int_equal(cred_verify(buf, len, NULL, NOW, &out),
	    CRED_INTERNAL);
	assert_int_equal(cred_sign(&in, ec, buf, sizeof buf, &len, NULL),
	    CRED_INTERNAL);
	EVP_PKEY_free(ec);
}

static void
test_truncated(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len, n;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	for (n = 0; n < len; n++)
		assert_int_equal(cred_verify(buf, n, key, NOW, &out),
		    CRED_MALFORMED);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out), CRED_OK);
}

static void
test_empty(void **state)
{
	struct cred_info	out;
	uint8_t			zero = 0;

	(void)state;
	assert_int_equal(cred_verify(NULL, 0, key, NOW, &out), CRED_MALFORMED);
	assert_int_equal(cred_verify(&zero, 0, key, NOW, &out),
	    CRED_MALFORMED);
	/* A Credential with a signature but an empty payload. */
	{
		Peerd__V1__Credential	c = PEERD__V1__CREDENTIAL__INIT;
		uint8_t			sig[CRED_SIG_LEN], buf[128];
		size_t			len;

		memset(sig, 1, sizeof sig);
		c.signature.data = sig;
		c.signature.len = sizeof sig;
		len = peerd__v1__credential__pack(&c, buf);
		assert_int_equal(cred_verify(buf, len, key, NOW, &out),
		    CRED_MALFORMED);
	}
}

static void
test_garbage(void **state)
{
	struct cred_info	out;
	uint8_t			buf[CRED_MAX + 1];
	size_t			i;

	(void)state;
	memset(buf, 0xff, sizeof buf);
	assert_int_equal(cred_verify(buf, 100, key, NOW, &out),
	    CRED_MALFORMED);
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(cred_verify(buf, 300, key, NOW, &out),
	    CRED_MALFORMED);
	/* Over the bound: refused before unpacking. */
	assert_int_equal(cred_verify(buf, CRED_MAX + 1, key, NOW, &out),
	    CRED_MALFORMED);
}

/* A signature of 63 or 65 bytes is malformed, however it came about. */
static void
test_signature_length(void **state)
{
	Peerd__V1__Credential	c = PEERD__V1__CREDENTIAL__INIT;
	struct cred_info	out;
	uint8_t			payload[] = { 0x08, 0x01 }, sig[65], buf[128];
	size_t			len;

	(void)state;
	memset(sig, 0x5a, sizeof sig);
	c.payload.data = payload;
	c.payload.len = sizeof payload;
	c.signature.data = sig;
	c.signature.len = 63;
	len = peerd__v1__credential__pack(&c, buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_MALFORMED);
	c.signature.len = 65;
	len = peerd__v1__credential__pack(&c, buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_MALFORMED);
	/* 64 bytes of nonsense: now it is the signature that fails. */
	c.signature.len = 64;
	len = peerd__v1__credential__pack(&c, buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_BAD_SIGNATURE);
}

/* Garbage signed by the right key passes the signature, then fails. */
static void
test_signed_garbage(void **state)
{
	struct cred_info	out;
	uint8_t			junk[40], buf[256];
	size_t			len;

	(void)state;
	memset(junk, 0xff, sizeof junk);
	len = sign_bytes(junk, sizeof junk, key, buf, sizeof buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_MALFORMED);
	/* The same garbage signed by another key: the signature fails first. */
	len = sign_bytes(junk, sizeof junk, other, buf, sizeof buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_BAD_SIGNATURE);
}

static void
test_version(void **state)
{
	Peerd__V1__CredentialPayload	 p;
	struct cred_info		 in;
	char				*tags[CRED_TAGS_MAX];
	char				*langs[CRED_LANGS_MAX];

	(void)state;
	good_info(&in);
	raw_payload(&in, &p, tags, langs);
	assert_int_equal(verify_payload(&p), CRED_OK);
	p.version = 2;
	assert_int_equal(verify_payload(&p), CRED_UNSUPPORTED_VERSION);
	p.version = 0;
	assert_int_equal(verify_payload(&p), CRED_UNSUPPORTED_VERSION);
}

/* Signed bytes the verifier would not re-encode identically are refused. */
static void
test_not_canonical(void **state)
{
	Peerd__V1__CredentialPayload	 p;
	struct cred_info		 in, out;
	char				*tags[CRED_TAGS_MAX];
	char				*langs[CRED_LANGS_MAX];
	uint8_t				 pbuf[CRED_PAYLOAD_MAX];
	uint8_t				 cbuf[CRED_MAX];
	size_t				 plen, clen;
	char				 nul_name[] = "Ann\0Admin";

	(void)state;
	good_info(&in);
	raw_payload(&in, &p, tags, langs);
	plen = peerd__v1__credential_payload__pack(&p, pbuf);

	/* An unknown field 15 (varint 1) appended. */
	pbuf[plen] = 15 << 3;
	pbuf[plen + 1] = 1;
	clen = sign_bytes(pbuf, plen + 2, key, cbuf, sizeof cbuf);
	assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out),
	    CRED_MALFORMED);

	/* capacity (field 7) given twice: protobuf keeps the last one. */
	pbuf[plen] = 7 << 3;
	pbuf[plen + 1] = 16;
	clen = sign_bytes(pbuf, plen + 2, key, cbuf, sizeof cbuf);
	assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out),
	    CRED_MALFORMED);

	/* Same bytes, other order: version (first, 2 bytes) moved last. */
	{
		uint8_t	moved[CRED_PAYLOAD_MAX];

		assert_int_equal(pbuf[0], 1 << 3);
		assert_int_equal(pbuf[1], CRED_VERSION);
		memcpy(moved, pbuf + 2, plen - 2);
		memcpy(moved + plen - 2, pbuf, 2);
		clen = sign_bytes(moved, plen, key, cbuf, sizeof cbuf);
		assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out),
		    CRED_MALFORMED);
	}

	/* Untouched, the same bytes verify. */
	clen = sign_bytes(pbuf, plen, key, cbuf, sizeof cbuf);
	assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out), CRED_OK);

	/* A name with an embedded NUL, which C would read as "Ann". */
	{
		Peerd__V1__CredentialPayload	 q;
		uint8_t				*at;

		raw_payload(&in, &q, tags, langs);
		q.name = (char *)"AnnXAdmin";
		plen = peerd__v1__credential_payload__pack(&q, pbuf);
		at = memmem(pbuf, plen, q.name, strlen(q.name));
		assert_non_null(at);
		memcpy(at, nul_name, sizeof nul_name - 1);
		clen = sign_bytes(pbuf, plen, key, cbuf, sizeof cbuf);
		assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out),
		    CRED_MALFORMED);
		/* The same position with the X back: accepted. */
		at[3] = 'X';
		clen = sign_bytes(pbuf, plen, key, cbuf, sizeof cbuf);
		assert_int_equal(cred_verify(cbuf, clen, key, NOW, &out),
		    CRED_OK);
		assert_string_equal(out.name, "AnnXAdmin");
	}
}

/* ---- time ---- */

static void
test_expired(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	assert_int_equal(cred_verify(buf, len, key, in.not_after - 1, &out),
	    CRED_OK);
	assert_int_equal(cred_verify(buf, len, key, in.not_after, &out),
	    CRED_EXPIRED);
	/* The signature was good: the id is there to be logged. */
	assert_string_equal(out.id, "sup-0042");
	assert_int_equal(cred_verify(buf, len, key, in.not_after + 400 * DAY,
	    &out), CRED_EXPIRED);
}

static void
test_not_yet_valid(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	size_t			len;

	(void)state;
	good_info(&in);
	in.issued_at = NOW + 3600;
	in.not_after = NOW + 30 * DAY;
	len = sign_info(&in, buf);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_NOT_YET_VALID);
	assert_string_equal(out.id, "sup-0042");
	/* Within the allowed clock skew it is accepted. */
	assert_int_equal(cred_verify(buf, len, key,
	    in.issued_at - CRED_CLOCK_SKEW - 1, &out), CRED_NOT_YET_VALID);
	assert_int_equal(cred_verify(buf, len, key,
	    in.issued_at - CRED_CLOCK_SKEW, &out), CRED_OK);
}

static void
test_lifetime(void **state)
{
	struct cred_info	in;

	(void)state;
	good_info(&in);
	in.not_after = in.issued_at;
	assert_bad_field(&in);
	in.not_after = in.issued_at - 1;
	assert_bad_field(&in);
	in.not_after = in.issued_at + CRED_LIFETIME_MAX + 1;
	assert_bad_field(&in);
	in.not_after = in.issued_at + CRED_LIFETIME_MAX;
	assert_good(&in);
	in.issued_at = 0;
	in.not_after = 30 * DAY;
	assert_bad_field(&in);
}

/* ---- field rules ---- */

static void
test_field_id(void **state)
{
	static const char	*bad[] = { "", "a b", "a/b", "a:b", "caf\xc3\xa9",
	    "a\tb", "a+b" };
	struct cred_info	 in;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		good_info(&in);
		strcpy(in.id, bad[i]);
		assert_bad_field(&in);
		assert_false(cred_id_valid(bad[i]));
	}
	good_info(&in);
	strcpy(in.id, "A.b_c-9");
	assert_good(&in);
	memset(in.id, 'x', CRED_ID_MAX);
	in.id[CRED_ID_MAX] = '\0';
	assert_good(&in);
	/* 65 characters: through the raw payload, and unterminated in info. */
	{
		Peerd__V1__CredentialPayload	 p;
		char				*tags[CRED_TAGS_MAX];
		char				*langs[CRED_LANGS_MAX];
		char				 longid[CRED_ID_MAX + 2];

		memset(longid, 'x', CRED_ID_MAX + 1);
		longid[CRED_ID_MAX + 1] = '\0';
		assert_false(cred_id_valid(longid));
		raw_payload(&in, &p, tags, langs);
		p.id = longid;
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);
		memset(in.id, 'x', sizeof in.id);
		assert_int_equal(cred_check_info(&in, NULL), CRED_BAD_FIELD);
	}
}

static void
test_field_name(void **state)
{
	static const char	*bad[] = {
		"",
		"a\x01z",		/* C0 control */
		"a\x7fz",		/* DEL */
		"a\nb",			/* newline */
		"\xc3",			/* truncated sequence */
		"\xc0\xaf",		/* overlong "/" */
		"\xed\xa0\x80",		/* surrogate */
		"\xf4\x90\x80\x80",	/* past U+10FFFF */
		"\xc2\x85",		/* C1 control NEL */
		"evil\xe2\x80\xaegnp.exe", /* right-to-left override */
		"\xe2\x81\xa6x",	/* left-to-right isolate */
		"\xff",
	};
	static const char	*good[] = { "Zo\xc3\xab", "\xe6\x9d\x8e",
	    "Sam \xf0\x9f\x8c\x88", "A", "Mary-Jane O'Neil" };
	struct cred_info	 in;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		good_info(&in);
		strcpy(in.name, bad[i]);
		assert_bad_field(&in);
		assert_false(cred_name_valid(bad[i]));
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		good_info(&in);
		strcpy(in.name, good[i]);
		assert_good(&in);
		assert_true(cred_name_valid(good[i]));
	}
	good_info(&in);
	memset(in.name, 'n', CRED_NAME_MAX);
	in.name[CRED_NAME_MAX] = '\0';
	assert_good(&in);
	{
		Peerd__V1__CredentialPayload	 p;
		char				*tags[CRED_TAGS_MAX];
		char				*langs[CRED_LANGS_MAX];
		char				 longname[CRED_NAME_MAX + 2];

		memset(longname, 'n', CRED_NAME_MAX + 1);
		longname[CRED_NAME_MAX + 1] = '\0';
		raw_payload(&in, &p, tags, langs);
		p.name = longname;
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);
	}
}

static void
test_field_role(void **state)
{
	struct cred_info	in;

	(void)state;
	good_info(&in);
	in.role = PEERD__V1__ROLE__REQUESTER;
	assert_bad_field(&in);
	in.role = PEERD__V1__ROLE__ROLE_UNSPECIFIED;
	assert_bad_field(&in);
	in.role = (Peerd__V1__Role)99;
	assert_bad_field(&in);
	in.role = PEERD__V1__ROLE__OPERATOR;
	assert_good(&in);
	in.capacity = 0;
	assert_good(&in);
	in.capacity = CRED_CAPACITY_MAX + 1;
	assert_bad_field(&in);
}

static void
test_field_capacity(void **state)
{
	struct cred_info	in;

	(void)state;
	good_info(&in);
	in.capacity = 0;
	assert_bad_field(&in);
	in.capacity = 17;
	assert_bad_field(&in);
	in.capacity = UINT32_MAX;
	assert_bad_field(&in);
	in.capacity = 1;
	assert_good(&in);
	in.capacity = 16;
	assert_good(&in);
}

static void
test_field_tags(void **state)
{
	static const char	*bad[] = { "", "LGBT", "a_b", "a b", "l\xc3\xa9",
	    "a.b" };
	struct cred_info	 in;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		good_info(&in);
		strcpy(in.tags[1], bad[i]);
		assert_bad_field(&in);
		assert_false(cred_tag_valid(bad[i]));
	}
	good_info(&in);
	strcpy(in.tags[2], "lgbtq");		/* duplicate */
	assert_bad_field(&in);

	good_info(&in);
	memset(in.tags[0], 'a', CRED_TAG_MAX);	/* 32: fine */
	in.tags[0][CRED_TAG_MAX] = '\0';
	assert_good(&in);

	/* 32 tags are fine, 33 are not. */
	good_info(&in);
	for (i = 0; i < CRED_TAGS_MAX; i++)
		snprintf(in.tags[i], sizeof in.tags[i], "tag-%zu", i);
	in.ntags = CRED_TAGS_MAX;
	assert_good(&in);
	in.ntags = 0;
	assert_good(&in);
	{
		Peerd__V1__CredentialPayload	 p;
		char				*tags[CRED_TAGS_MAX + 1];
		char				*langs[CRED_LANGS_MAX];
		char				 extra[] = "tag-extra";
		char				 longtag[CRED_TAG_MAX + 2];

		in.ntags = CRED_TAGS_MAX;
		raw_payload(&in, &p, tags, langs);
		tags[CRED_TAGS_MAX] = extra;
		p.n_tags = CRED_TAGS_MAX + 1;
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);

		memset(longtag, 'a', CRED_TAG_MAX + 1);
		longtag[CRED_TAG_MAX + 1] = '\0';
		p.n_tags = 1;
		tags[0] = longtag;
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);

		in.ntags = CRED_TAGS_MAX + 1;
		assert_int_equal(cred_check_info(&in, NULL), CRED_BAD_FIELD);
	}
}

static void
test_field_languages(void **state)
{
	static const char	*bad[] = { "", "EN", "eng", "e", "e1", "e-" };
	static const char	*codes[] = { "en", "fr", "de", "es", "pl", "ur",
	    "pa", "so", "ar" };
	struct cred_info	 in;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		Peerd__V1__CredentialPayload	 p;
		char				*tags[CRED_TAGS_MAX];
		char				*langs[CRED_LANGS_MAX];

		good_info(&in);
		raw_payload(&in, &p, tags, langs);
		langs[1] = (char *)bad[i];	/* "eng" does not fit info */
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);
		assert_false(cred_lang_valid(bad[i]));
	}
	good_info(&in);
	strcpy(in.languages[1], "EN");
	assert_bad_field(&in);
	strcpy(in.languages[1], "en");		/* duplicate */
	assert_bad_field(&in);

	good_info(&in);
	for (i = 0; i < CRED_LANGS_MAX; i++)
		strcpy(in.languages[i], codes[i]);
	in.nlanguages = CRED_LANGS_MAX;
	assert_good(&in);
	{
		Peerd__V1__CredentialPayload	 p;
		char				*tags[CRED_TAGS_MAX];
		char				*langs[CRED_LANGS_MAX + 1];

		raw_payload(&in, &p, tags, langs);
		langs[CRED_LANGS_MAX] = (char *)codes[CRED_LANGS_MAX];
		p.n_languages = CRED_LANGS_MAX + 1;
		assert_int_equal(verify_payload(&p), CRED_BAD_FIELD);
	}
	in.nlanguages = CRED_LANGS_MAX + 1;
	assert_int_equal(cred_check_info(&in, NULL), CRED_BAD_FIELD);
}

/* The largest valid credential fits the size bounds. */
static void
test_largest(void **state)
{
	struct cred_info	in, out;
	uint8_t			buf[CRED_MAX];
	char			text[CRED_FILE_MAX];
	size_t			len, i;

	(void)state;
	good_info(&in);
	memset(in.id, 'i', CRED_ID_MAX);
	memset(in.name, 'n', CRED_NAME_MAX);
	for (i = 0; i < CRED_TAGS_MAX; i++) {
		memset(in.tags[i], 'a', CRED_TAG_MAX);
		snprintf(in.tags[i], 3, "%02zu", i);
		in.tags[i][2] = 'a';
	}
	in.ntags = CRED_TAGS_MAX;
	for (i = 0; i < CRED_LANGS_MAX; i++) {
		in.languages[i][0] = 'a' + (char)i;
		in.languages[i][1] = 'z';
	}
	in.nlanguages = CRED_LANGS_MAX;
	in.capacity = CRED_CAPACITY_MAX;
	in.issued_at = UINT64_MAX - CRED_LIFETIME_MAX;
	in.not_after = UINT64_MAX;
	len = sign_info(&in, buf);
	assert_true(len <= CRED_MAX);
	assert_int_equal(cred_verify(buf, len, key, UINT64_MAX - 1, &out),
	    CRED_OK);
	assert_memory_equal(&in, &out, sizeof in);
	assert_true(cred_armor(buf, len, text, sizeof text) > 0);
}

/* ---- armor and files ---- */

static void
test_armor_round_trip(void **state)
{
	struct cred_info	 in, out;
	uint8_t			 buf[CRED_MAX], back[CRED_MAX];
	char			 text[CRED_FILE_MAX], mail[CRED_FILE_MAX];
	char			*p, *q;
	size_t			 len, tlen, blen;
	const char		*why = NULL;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	tlen = cred_armor(buf, len, text, sizeof text);
	assert_true(tlen > 0);
	assert_int_equal(strlen(text), tlen);
	assert_memory_equal(text, CRED_ARMOR_BEGIN "\n",
	    sizeof CRED_ARMOR_BEGIN);
	assert_string_equal(text + tlen - sizeof CRED_ARMOR_END,
	    CRED_ARMOR_END "\n");
	assert_int_equal(cred_dearmor(text, tlen, back, sizeof back, &blen,
	    &why), CRED_OK);
	assert_int_equal(blen, len);
	assert_memory_equal(back, buf, len);
	assert_int_equal(cred_verify(back, blen, key, NOW, &out), CRED_OK);

	/* Mailed: text around it, CRLF line ends. */
	p = mail;
	p += sprintf(p, "Hi Sam,\r\nhere is your credential:\r\n\r\n");
	for (q = text; *q != '\0'; q++) {
		if (*q == '\n')
			*p++ = '\r';
		*p++ = *q;
	}
	p += sprintf(p, "\r\n-- \r\nthe office\r\n");
	assert_int_equal(cred_dearmor(mail, (size_t)(p - mail), back,
	    sizeof back, &blen, NULL), CRED_OK);
	assert_int_equal(blen, len);
	assert_memory_equal(back, buf, len);

	/* Too small a buffer is refused, not overrun. */
	assert_int_equal(cred_armor(buf, len, text, 64), 0);
	assert_int_equal(cred_armor(buf, 0, text, sizeof text), 0);
}

static void
test_armor_bad(void **state)
{
	struct cred_info	 in;
	uint8_t			 buf[CRED_MAX], back[CRED_MAX];
	char			 text[CRED_FILE_MAX], t2[CRED_FILE_MAX];
	size_t			 len, tlen, blen;
	const char		*why;
	char			*body;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	tlen = cred_armor(buf, len, text, sizeof text);
	body = text + sizeof CRED_ARMOR_BEGIN;

	/* No END line. */
	why = NULL;
	assert_int_equal(cred_dearmor(text, tlen - sizeof CRED_ARMOR_END, back,
	    sizeof back, &blen, &why), CRED_MALFORMED);
	assert_non_null(why);
	assert_int_equal(blen, 0);
	/* No BEGIN line. */
	assert_int_equal(cred_dearmor(body, strlen(body), back, sizeof back,
	    &blen, NULL), CRED_MALFORMED);
	/* Nothing inside. */
	snprintf(t2, sizeof t2, "%s\n%s\n", CRED_ARMOR_BEGIN, CRED_ARMOR_END);
	assert_int_equal(cred_dearmor(t2, strlen(t2), back, sizeof back,
	    &blen, NULL), CRED_MALFORMED);
	/* A character outside base64. */
	memcpy(t2, text, tlen + 1);
	t2[sizeof CRED_ARMOR_BEGIN + 3] = '*';
	assert_int_equal(cred_dearmor(t2, tlen, back, sizeof back, &blen,
	    NULL), CRED_MALFORMED);
	/* Padding in the middle. */
	memcpy(t2, text, tlen + 1);
	t2[sizeof CRED_ARMOR_BEGIN + 4] = '=';
	assert_int_equal(cred_dearmor(t2, tlen, back, sizeof back, &blen,
	    NULL), CRED_MALFORMED);
	/* A dropped character: length no longer a multiple of 4. */
	memcpy(t2, text, sizeof CRED_ARMOR_BEGIN);
	strcpy(t2 + sizeof CRED_ARMOR_BEGIN, body + 1);
	assert_int_equal(cred_dearmor(t2, strlen(t2), back, sizeof back,
	    &blen, NULL), CRED_MALFORMED);
	/* Output buffer too small. */
	assert_int_equal(cred_dearmor(text, tlen, back, 10, &blen, NULL),
	    CRED_MALFORMED);
	/* Over the size bound. */
	assert_int_equal(cred_dearmor(text, CRED_FILE_MAX + 1, back,
	    sizeof back, &blen, NULL), CRED_MALFORMED);
	/* The untouched text still decodes: the cases above were the cause. */
	assert_int_equal(cred_dearmor(text, tlen, back, sizeof back, &blen,
	    NULL), CRED_OK);
}

/* A scratch directory under /tmp, removed by the caller. */
static void
scratch(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/test_credential.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void
test_file_round_trip(void **state)
{
	struct cred_info	in, out;
	struct stat		sb;
	uint8_t			buf[CRED_MAX], back[CRED_MAX];
	char			dir[64], path[128], err[CRED_ERR_MAX];
	size_t			len, blen;

	(void)state;
	scratch(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/sam.cred", dir);
	good_info(&in);
	len = sign_info(&in, buf);
	assert_int_equal(cred_write_file(path, buf, len, err, sizeof err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(cred_read_file(path, back, sizeof back, &blen, err,
	    sizeof err), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, buf, len);
	assert_int_equal(cred_verify(back, blen, key, NOW, &out), CRED_OK);
	/* Never overwritten. */
	assert_int_equal(cred_write_file(path, buf, len, err, sizeof err), -1);
	assert_non_null(strstr(err, "already exists"));
	unlink(path);
	/* Missing file. */
	assert_int_equal(cred_read_file(path, back, sizeof back, &blen, err,
	    sizeof err), -1);
	rmdir(dir);
}

static void
test_file_too_large(void **state)
{
	struct cred_info	 in;
	uint8_t			 buf[CRED_MAX], back[CRED_MAX];
	char			 text[CRED_FILE_MAX];
	char			 dir[64], path[128], err[CRED_ERR_MAX];
	size_t			 len, tlen, blen, pad;
	FILE			*f;

	(void)state;
	scratch(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/big.cred", dir);
	good_info(&in);
	len = sign_info(&in, buf);
	tlen = cred_armor(buf, len, text, sizeof text);

	/* Exactly at the bound (padded with mail text first): accepted. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (pad = 0; pad < CRED_FILE_MAX - tlen; pad++)
		fputc(pad % 64 == 63 || pad == CRED_FILE_MAX - tlen - 1 ?
		    '\n' : 'x', f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(cred_read_file(path, back, sizeof back, &blen, err,
	    sizeof err), 0);
	assert_int_equal(blen, len);

	/* One byte over: refused. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputc('\n', f);
	fclose(f);
	err[0] = '\0';
	assert_int_equal(cred_read_file(path, back, sizeof back, &blen, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "larger than"));
	unlink(path);
	rmdir(dir);
}

static void
test_keys(void **state)
{
	struct cred_info	 in, out;
	struct stat		 sb;
	EVP_PKEY		*k, *priv, *pub;
	uint8_t			 buf[CRED_MAX];
	char			 dir[64], kpath[128], ppath[128];
	char			 err[CRED_ERR_MAX];
	size_t			 len;

	(void)state;
	scratch(dir, sizeof dir);
	snprintf(kpath, sizeof kpath, "%s/org.key", dir);
	snprintf(ppath, sizeof ppath, "%s/org.pub", dir);
	k = cred_key_generate();
	assert_non_null(k);
	assert_int_equal(cred_key_write(k, kpath, ppath, err, sizeof err), 0);
	assert_int_equal(stat(kpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(ppath, &sb), 0);
	assert_int_equal(sb.st_mode & 0022, 0);

	/* Refuses to overwrite, and leaves the existing pair intact. */
	assert_int_equal(cred_key_write(key, kpath, ppath, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "already exists"));

	priv = cred_key_load_private(kpath, err, sizeof err);
	assert_non_null(priv);
	pub = cred_key_load_public(ppath, err, sizeof err);
	assert_non_null(pub);
	good_info(&in);
	assert_int_equal(cred_sign(&in, priv, buf, sizeof buf, &len, NULL),
	    CRED_OK);
	assert_int_equal(cred_verify(buf, len, pub, NOW, &out), CRED_OK);
	assert_int_equal(cred_verify(buf, len, k, NOW, &out), CRED_OK);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_BAD_SIGNATURE);

	/* A private key readable by others is refused. */
	assert_int_equal(chmod(kpath, 0644), 0);
	assert_null(cred_key_load_private(kpath, err, sizeof err));
	assert_non_null(strstr(err, "too open"));
	/* A public key file is not a private key, and vice versa. */
	assert_int_equal(chmod(ppath, 0600), 0);
	assert_null(cred_key_load_private(ppath, err, sizeof err));
	assert_non_null(strstr(err, "not a PEM private key"));
	assert_int_equal(chmod(kpath, 0600), 0);
	assert_null(cred_key_load_public(kpath, err, sizeof err));
	assert_null(cred_key_load_public("/nonexistent/org.pub", err,
	    sizeof err));

	/* A pub path that exists: the private key is not left behind. */
	unlink(kpath);
	assert_int_equal(cred_key_write(k, kpath, ppath, err, sizeof err), -1);
	assert_int_equal(stat(kpath, &sb), -1);

	EVP_PKEY_free(k);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	unlink(ppath);
	rmdir(dir);
}

static void
test_non_ed25519_key_file(void **state)
{
	EVP_PKEY	*ec;
	FILE		*f;
	char		 dir[64], path[128], err[CRED_ERR_MAX];

	(void)state;
	scratch(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/ec.pub", dir);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, ec), 1);
	fclose(f);
	assert_null(cred_key_load_public(path, err, sizeof err));
	assert_non_null(strstr(err, "not an Ed25519 key"));
	EVP_PKEY_free(ec);
	unlink(path);
	rmdir(dir);
}

/* ---- inspect, messages ---- */

static void
test_inspect(void **state)
{
	struct cred_info	 in, out;
	uint8_t			 buf[CRED_MAX];
	size_t			 len;
	const char		*why = NULL;

	(void)state;
	good_info(&in);
	len = sign_info(&in, buf);
	assert_int_equal(cred_inspect(buf, len, &out, &why), CRED_OK);
	assert_memory_equal(&in, &out, sizeof in);
	/* Inspect ignores signature and time, by design. */
	buf[len - 1] ^= 1;
	assert_int_equal(cred_inspect(buf, len, &out, NULL), CRED_OK);
	assert_int_equal(cred_verify(buf, len, key, NOW, &out),
	    CRED_BAD_SIGNATURE);
	assert_int_equal(cred_inspect(buf, 5, &out, &why), CRED_MALFORMED);
}

static void
test_inspect_bad_field(void **state)
{
	Peerd__V1__CredentialPayload	 p;
	struct cred_info		 in, out;
	char				*tags[CRED_TAGS_MAX];
	char				*langs[CRED_LANGS_MAX];
	uint8_t				 pbuf[CRED_PAYLOAD_MAX];
	uint8_t				 cbuf[CRED_MAX];
	size_t				 plen, clen;
	const char			*why = NULL;

	(void)state;
	good_info(&in);
	in.role = PEERD__V1__ROLE__REQUESTER;
	raw_payload(&in, &p, tags, langs);
	plen = peerd__v1__credential_payload__pack(&p, pbuf);
	clen = sign_bytes(pbuf, plen, key, cbuf, sizeof cbuf);
	assert_int_equal(cred_inspect(cbuf, clen, &out, &why), CRED_BAD_FIELD);
	assert_non_null(why);
	assert_non_null(strstr(why, "role"));
	assert_string_equal(out.id, "sup-0042");
}

static void
test_strerror(void **state)
{
	enum cred_status	st, st2;

	(void)state;
	for (st = CRED_OK; st <= CRED_INTERNAL; st++) {
		assert_non_null(cred_strerror(st));
		assert_string_not_equal(cred_strerror(st),
		    "unknown credential status");
		for (st2 = CRED_OK; st2 < st; st2++)
			assert_string_not_equal(cred_strerror(st),
			    cred_strerror(st2));
	}
	assert_int_equal(cred_error_code(CRED_EXPIRED),
	    PEERD__V1__ERROR_CODE__CREDENTIAL_EXPIRED);
	assert_int_equal(cred_error_code(CRED_REVOKED),
	    PEERD__V1__ERROR_CODE__CREDENTIAL_REVOKED);
	assert_int_equal(cred_error_code(CRED_BAD_SIGNATURE),
	    PEERD__V1__ERROR_CODE__BAD_CREDENTIAL);
	assert_int_equal(cred_error_code(CRED_NOT_YET_VALID),
	    PEERD__V1__ERROR_CODE__BAD_CREDENTIAL);
	assert_int_equal(cred_error_code(CRED_INTERNAL),
	    PEERD__V1__ERROR_CODE__INTERNAL);
	assert_string_equal(cred_role_name(PEERD__V1__ROLE__OPERATOR),
	    "operator");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_payload_bit_flip),
		cmocka_unit_test(test_signature_bit_flip),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_non_ed25519_key),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_signature_length),
		cmocka_unit_test(test_signed_garbage),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_not_canonical),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_field_id),
		cmocka_unit_test(test_field_name),
		cmocka_unit_test(test_field_role),
		cmocka_unit_test(test_field_capacity),
		cmocka_unit_test(test_field_tags),
		cmocka_unit_test(test_field_languages),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_armor_round_trip),
		cmocka_unit_test(test_armor_bad),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_non_ed25519_key_file),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_inspect_bad_field),
		cmocka_unit_test(test_strerror),
	};

	return (cmocka_run_group_tests(tests, setup_keys, teardown_keys));
}

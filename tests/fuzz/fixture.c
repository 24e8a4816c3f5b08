/*
 * fixture.c -- the fuzz fixture key and quiet logging (see fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "peer.pb-c.h"
#include "fixture.h"

/* 32 public bytes: the fixture is for fuzzing only. */
static const uint8_t	fixture_seed[32] = "peerd fuzz fixture: not a secret";

/* Make the fixture key from its seed, once. */
EVP_PKEY *
fixture_key(void)
{
	static EVP_PKEY	*key;

	if (key == NULL) {
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    fixture_seed, sizeof fixture_seed);
		if (key == NULL) {
			fprintf(stderr, "fixture: cannot make the key\n");
			abort();
		}
	}
	return (key);
}

/* Sign a payload with the fixture key; wrap both as a Credential. */
size_t
fixture_sign_payload(const uint8_t *payload, size_t len, uint8_t *out,
    size_t outlen)
{
	Peerd__V1__Credential	 c = PEERD__V1__CREDENTIAL__INIT;
	EVP_MD_CTX		*ctx;
	uint8_t			 sig[64];
	size_t			 siglen = sizeof sig;
	int			 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (0);
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, fixture_key()) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, payload, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return (0);
	c.payload.data = (uint8_t *)payload;
	c.payload.len = len;
	c.signature.data = sig;
	c.signature.len = siglen;
	if (peerd__v1__credential__get_packed_size(&c) > outlen)
		return (0);
	return (peerd__v1__credential__pack(&c, out));
}

/* Write the fixture public key as PEM. */
int
fixture_write_pubkey(const char *path)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	ok = PEM_write_PUBKEY(f, fixture_key()) == 1;
	if (fclose(f) != 0)
		ok = 0;
	return (ok ? 0 : -1);
}

/* The quiet stream: drop everything but error lines. */
static ssize_t
fixture_log_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	if (memmem(buf, size, "level=error", 11) != NULL)
		(void)write(STDERR_FILENO, buf, size);
	return ((ssize_t)size);
}

/* Point stderr (peerd's log) at a stream that drops all but errors. */
void
fixture_quiet(void)
{
	cookie_io_functions_t	 io = { NULL, fixture_log_write, NULL, NULL };
	const char		*v = getenv("FUZZ_VERBOSE");
	FILE			*f;

	if (v != NULL && *v != '\0' && *v != '0')
		return;
	if ((f = fopencookie(NULL, "w", io)) == NULL)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;	/* glibc: a plain variable; libFuzzer kept its copy */
}

/*
 * fixture.h -- what the fuzz harnesses and the seed generator share.
 *
 * The Ed25519 key here is a TEST FIXTURE: it is made from a fixed, public
 * 32-byte seed so that seeds signed by gen_seeds verify in the harnesses
 * run after run.  It signs fuzz inputs and nothing else; never configure
 * it as a real signing_pubkey.
 */
#ifndef FUZZ_FIXTURE_H
#define FUZZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define FIXTURE_NOW	1767225600ULL	/* unix s, 2026-01-01T00:00:00Z: the
					   clock fuzz_credential verifies at */
#define FIXTURE_DAY	86400ULL	/* seconds */

/* Return the fixture key (both halves; made once, never freed). */
EVP_PKEY	*fixture_key(void);

/*
 * Sign len payload bytes with the fixture key and write the serialized
 * Credential {payload, signature} to out (outlen bytes).  Returns its
 * length, or 0 if it does not fit or OpenSSL fails.  The payload is not
 * checked: this reaches what cred_verify does after the signature.
 */
size_t		 fixture_sign_payload(const uint8_t *payload, size_t len,
		     uint8_t *out, size_t outlen);

/* Write the fixture's public key as PEM to path; 0 or -1. */
int		 fixture_write_pubkey(const char *path);

/*
 * Send what the daemon logs to stderr nowhere (libFuzzer and the
 * sanitizers keep the real stderr), except lines with level=error, which
 * say why a harness died in fatalx.  FUZZ_VERBOSE=1 keeps everything.
 */
void		 fixture_quiet(void);

#endif

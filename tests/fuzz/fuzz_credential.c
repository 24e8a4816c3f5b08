/*
 * fuzz_credential.c -- libFuzzer harness for credentials
 * (proto/credential.c): the armor parser and the verify path.
 *
 * Input: one mode byte, then data.  Mode bits 0-1 pick what data is:
 *
 *   0  armored text: cred_dearmor, then whatever it gives goes through
 *      cred_verify and cred_inspect, and is armored and dearmored again;
 *   1  a serialized Credential: cred_verify and cred_inspect;
 *   2  a CredentialPayload, signed here with the fixture key (fixture.h),
 *      so what cred_verify does after the signature is reached;
 *   3  armored text in a file: cred_read_file.
 *
 * Bits 2-3 pick the clock: FIXTURE_NOW, 0, UINT64_MAX or FIXTURE_NOW plus
 * two years.  Checked: a credential cred_verify accepts (or finds only
 * expired or not yet valid) passes cred_check_info, cred_inspect reads the
 * same fields, and signing those fields again verifies to the same.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "credential.h"
#include "fixture.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static EVP_PKEY	*fz_pub;		/* the fixture's public half */
static char	 fz_file[PATH_MAX];	/* mode 3's file */

static void	fz_fail(const char *) __attribute__((__noreturn__));

/* Die with a message: libFuzzer keeps the input. */
static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_credential: %s\n", what);
	abort();
}

/* Remove mode 3's file at exit. */
static void
fz_cleanup(void)
{
	unlink(fz_file);
}

/* Make the public key and the file mode 3 writes. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t	 raw[32];
	size_t	 len = sizeof raw;
	int	 fd;

	(void)argc;
	(void)argv;
	/* Verify with a public-only key, as peerd does. */
	if (EVP_PKEY_get_raw_public_key(fixture_key(), raw, &len) != 1 ||
	    (fz_pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    len)) == NULL)
		fz_fail("cannot make the public key");
	snprintf(fz_file, sizeof fz_file, "/tmp/fuzz_credential.XXXXXX");
	if ((fd = mkstemp(fz_file)) == -1)
		fz_fail("mkstemp");
	close(fd);
	atexit(fz_cleanup);
	return (0);
}

/* Check what cred_verify said about buf against the other functions. */
static void
fz_check(const uint8_t *buf, size_t len, uint64_t now)
{
	struct cred_info	 info, seen, again;
	enum cred_status	 st, st2;
	const char		*why = NULL;
	uint8_t			 out[CRED_MAX];
	size_t			 n;

	st = cred_verify(buf, len, fz_pub, now, &info);
	(void)cred_strerror(st);
	(void)cred_error_code(st);
	if (ERR_peek_error() != 0)
		fz_fail("cred_verify left OpenSSL errors");
	st2 = cred_inspect(buf, len, &seen, &why);
	if (st2 == CRED_OK)
		(void)cred_role_name(seen.role);
	if (st != CRED_OK && st != CRED_EXPIRED && st != CRED_NOT_YET_VALID) {
		if (st != CRED_MALFORMED && st != CRED_BAD_SIGNATURE &&
		    st != CRED_UNSUPPORTED_VERSION && st != CRED_BAD_FIELD)
			fz_fail("cred_verify gave an unlisted status");
		if (info.id[0] != '\0' || info.issued_at != 0)
			fz_fail("a refused credential left fields behind");
		return;
	}

	/* Signed by the fixture and every field is good. */
	if (cred_check_info(&info, &why) != CRED_OK)
		fz_fail("cred_verify accepted fields cred_check_info refuses");
	if (st2 != CRED_OK || memcmp(&info, &seen, sizeof info) != 0)
		fz_fail("cred_inspect and cred_verify disagree");
	if (st == CRED_EXPIRED && now < info.not_after)
		fz_fail("CRED_EXPIRED before not_after");
	if (st == CRED_OK && (now >= info.not_after ||
	    (info.issued_at > CRED_CLOCK_SKEW &&
	    info.issued_at - CRED_CLOCK_SKEW > now)))
		fz_fail("CRED_OK outside the validity window");
	if (cred_sign(&info, fixture_key(), out, sizeof out, &n, &why) !=
	    CRED_OK)
		fz_fail("cannot sign fields cred_verify accepted");
	if (cred_verify(out, n, fz_pub, now, &again) != st ||
	    memcmp(&info, &again, sizeof info) != 0)
		fz_fail("signing the same fields again verifies differently");
}

/* Armor buf, dearmor it: the bytes must come back. */
static void
fz_armor(const uint8_t *buf, size_t len)
{
	char		 text[CRED_FILE_MAX];
	uint8_t		 out[CRED_MAX];
	const char	*why = NULL;
	size_t		 n, m;

	n = cred_armor(buf, len, text, sizeof text);
	if (len == 0 || len > CRED_MAX) {
		if (n != 0)
			fz_fail("cred_armor took a bad length");
		return;
	}
	if (n == 0 || strlen(text) != n)
		fz_fail("cred_armor failed");
	if (cred_dearmor(text, n, out, sizeof out, &m, &why) != CRED_OK ||
	    m != len || memcmp(out, buf, len) != 0)
		fz_fail("armor does not round-trip");
}

/* Write data to mode 3's file and read it back as a credential. */
static void
fz_file_read(const uint8_t *data, size_t size, uint64_t now)
{
	FILE	*f;
	uint8_t	 out[CRED_MAX];
	char	 err[CRED_ERR_MAX];
	size_t	 n;

	if ((f = fopen(fz_file, "w")) == NULL)
		fz_fail("cannot write the file");
	if (size != 0 && fwrite(data, 1, size, f) != size)
		fz_fail("short write");
	fclose(f);
	if (cred_read_file(fz_file, out, sizeof out, &n, err, sizeof err) == 0)
		fz_check(out, n, now);
	else if (n != 0 || err[0] == '\0')
		fz_fail("cred_read_file failed without a message");
}

/* Run one input through the mode its first byte picks. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t	 clocks[] = { FIXTURE_NOW, 0, UINT64_MAX,
	    FIXTURE_NOW + 730 * FIXTURE_DAY };
	uint8_t			 out[CRED_FILE_MAX];
	const char		*why = NULL;
	uint64_t		 now;
	size_t			 n;
	uint8_t			 mode;

	if (size < 1)
		return (0);
	mode = data[0];
	now = clocks[(mode >> 2) & 3];
	data++;
	size--;

	switch (mode & 3) {
	case 0:
		if (cred_dearmor((const char *)data, size, out, sizeof out, &n,
		    &why) == CRED_OK) {
			if (n == 0 || n > CRED_MAX)
				fz_fail("cred_dearmor gave a bad length");
			fz_check(out, n, now);
			fz_armor(out, n);
		} else if (n != 0 || why == NULL)
			fz_fail("cred_dearmor failed without a reason");
		break;
	case 1:
		fz_check(data, size, now);
		fz_armor(data, size);
		break;
	case 2:
		if ((n = fixture_sign_payload(data, size, out,
		    sizeof out)) != 0)
			fz_check(out, n, now);
		break;
	case 3:
		if (size <= CRED_FILE_MAX + 1)
			fz_file_read(data, size, now);
		break;
	}
	return (0);
}

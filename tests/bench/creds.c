/*
 * creds.c -- the organisation's signing key, made at the start of each
 * run (peerd is configured with its public half), and supporter
 * credentials signed with it in-process, as peerctl issue does.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "credential.h"
#include "load.h"

#define CREDS_DAYS	1	/* days a bench credential is valid */

static EVP_PKEY	*creds_key;

/* Write 32 random bytes as hex to path, mode 0600.  Returns 0 or -1. */
static int
creds_write_secret(const char *path)
{
	unsigned char	raw[32];
	char		hex[65];
	size_t		i;
	int		fd, ok;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return (-1);
	for (i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return (-1);
	ok = write(fd, hex, 64) == 64;
	if (close(fd) == -1 || !ok)
		return (-1);
	return (0);
}

int
creds_init(void)
{
	char	priv[LOAD_PATH], err[CRED_ERR_MAX];

	if (proc_path(priv, "signing.key") == -1 ||
	    proc_path(bench.pub, "signing.pub") == -1 ||
	    proc_path(bench.secret, "requester.secret") == -1)
		return (-1);
	if ((creds_key = cred_key_generate()) == NULL) {
		fprintf(stderr, "bench: cannot generate the signing key\n");
		return (-1);
	}
	if (cred_key_write(creds_key, priv, bench.pub, err, sizeof err) ==
	    -1) {
		fprintf(stderr, "bench: %s\n", err);
		return (-1);
	}
	if (creds_write_secret(bench.secret) == -1) {
		fprintf(stderr, "bench: cannot write %s\n", bench.secret);
		return (-1);
	}
	return (0);
}

void
creds_free(void)
{
	EVP_PKEY_free(creds_key);
	creds_key = NULL;
}

int
creds_make(struct cred *c, const char *id)
{
	struct cred_info	 info;
	uint8_t			 buf[CRED_MAX];
	const char		*why = NULL;
	enum cred_status	 st;
	uint64_t		 now = (uint64_t)time(NULL);

	memset(c, 0, sizeof *c);
	memset(&info, 0, sizeof info);
	snprintf(info.id, sizeof info.id, "%s", id);
	snprintf(info.name, sizeof info.name, "Bench %s", id);
	info.role = PEERD__V1__ROLE__SUPPORTER;
	snprintf(info.languages[0], sizeof info.languages[0], "en");
	info.nlanguages = 1;
	info.capacity = 1;
	info.issued_at = now - 60;
	info.not_after = now + CREDS_DAYS * 86400;
	st = cred_sign(&info, creds_key, buf, sizeof buf, &c->len, &why);
	if (st != CRED_OK) {
		fprintf(stderr, "bench: cred_sign %s: %s (%s)\n", id,
		    cred_strerror(st), why != NULL ? why : "");
		return (-1);
	}
	if ((c->buf = malloc(c->len)) == NULL)
		return (-1);
	memcpy(c->buf, buf, c->len);
	return (0);
}

void
creds_clear(struct cred *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}

/*
 * tls.c -- the one server TLS context.
 *
 * Built once at start-up (and by peerd -t, with the same code, then
 * dropped) and again on SIGHUP (the certificate may have been renewed).  A reload that fails keeps the old context: a broken file on
 * disk must not take the service down.  Connections hold a reference to
 * the context they were accepted with, so swapping it is safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "peerd.h"

static SSL_CTX	*tls_ctx;
static uint64_t	 tls_generation;	/* contexts built, for logs */

/* Drain OpenSSL's error queue into buf; returns buf ("" if empty). */
char *
tls_errors(char *buf, size_t len)
{
	unsigned long	 e;
	size_t		 o = 0;
	char		 one[256];

	if (len == 0)
		return (buf);
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof one);
		if (o < len)
			o += snprintf(buf + o, len - o, "%s%s", o ? "; " : "",
			    one);
	}
	return (buf);
}

/*
 * Say why loading a file failed, from the first error OpenSSL queued (the
 * cause; the rest say where it surfaced): strerror for a system error
 * (missing, unreadable), else "not a PEM <what> (library: reason)".
 * Empties the queue.  Returns buf.
 */
static char *
tls_file_error(char *buf, size_t len, const char *what)
{
	unsigned long	 e;
	const char	*lib, *reason;

	e = ERR_peek_error();
	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (e != 0 && (lib = ERR_lib_error_string(e)) != NULL &&
	    (reason = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, "not a PEM %s (%s: %s)", what, lib, reason);
	else
		snprintf(buf, len, "not a PEM %s", what);
	ERR_clear_error();
	return (buf);
}

/*
 * Build a context from conf.tls_cert and conf.tls_key, or NULL with *errp
 * one line naming the option and its file ("tls_key FILE: why").
 */
static SSL_CTX *
tls_ctx_new(char **errp)
{
	SSL_CTX		*ctx;
	char		 err[512];
	const char	*what;
	unsigned long	 e;
	int		 mismatch = 0;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		what = "SSL_CTX_new";
		goto fail;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		what = "min_proto_version";
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_CLEANSE_PLAINTEXT
	/* Wipe each record's plaintext (chat text) once it is read. */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
#endif
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/*
	 * OpenSSL 3 reports a peer closing without close_notify as an error,
	 * which libevent's allow_dirty_shutdown does not recognise.  Frames
	 * are length-prefixed, so a truncation is seen anyway: treat it as EOF.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf.tls_cert) != 1) {
		xasprintf(errp, "tls_cert %s: %s", conf.tls_cert,
		    tls_file_error(err, sizeof err, "certificate chain"));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	/*
	 * OpenSSL 3 compares a key with the certificate of its type as it
	 * loads it; a key of another type is caught by the check after.
	 */
	if (SSL_CTX_use_PrivateKey_file(ctx, conf.tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) != ERR_LIB_X509 ||
		    ERR_GET_REASON(e) != X509_R_KEY_VALUES_MISMATCH) {
			xasprintf(errp, "tls_key %s: %s", conf.tls_key,
			    tls_file_error(err, sizeof err, "private key"));
			SSL_CTX_free(ctx);
			return (NULL);
		}
		mismatch = 1;
	}
	if (mismatch || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		xasprintf(errp, "tls_key %s: does not match the certificate "
		    "in tls_cert %s", conf.tls_key, conf.tls_cert);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);

fail:
	tls_errors(err, sizeof err);
	xasprintf(errp, "tls: %s: %s", what, err[0] ? err : "failed");
	SSL_CTX_free(ctx);
	return (NULL);
}

/* Build the context at start-up (and for -t); 0 or -1 with *errp set. */
int
tls_init(char **errp)
{
	*errp = NULL;
	if ((tls_ctx = tls_ctx_new(errp)) == NULL)
		return (-1);
	tls_generation = 1;
	return (0);
}

/* Rebuild the context from the files on disk; keep the old one on error. */
int
tls_reload(void)
{
	SSL_CTX	*ctx;
	char	*err = NULL;

	if ((ctx = tls_ctx_new(&err)) == NULL) {
		log_warnx("event=tls_reload_failed reason=\"%s\" "
		    "action=keeping_old_certificate", err);
		free(err);
		return (-1);
	}
	SSL_CTX_free(tls_ctx);
	tls_ctx = ctx;
	tls_generation++;
	log_info("event=tls_reloaded generation=%llu cert=%s",
	    (unsigned long long)tls_generation, conf.tls_cert);
	return (0);
}

/* Return a new SSL for an accepted connection, or NULL. */
SSL *
tls_new_ssl(void)
{
	if (tls_ctx == NULL)
		return (NULL);
	return (SSL_new(tls_ctx));
}

/* Free the context. */
void
tls_free(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}

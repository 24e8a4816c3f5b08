/*
 * pc_hello.c -- libpeerclient: the Hello builder and names for logs.
 *
 * The builder keeps every protobuf-c struct of a Hello inside one caller-
 * owned struct peerclient_hello and points at the caller's bytes, so a
 * Hello costs no allocation at all.
 */
#include <string.h>

#include "frame.h"
#include "peerclient.h"

void
peerclient_hello_init(struct peerclient_hello *h, Peerd__V1__Role role,
    const char *client_name)
{
	static const Envelope		env = PEERD__V1__ENVELOPE__INIT;
	static const Peerd__V1__Hello	hello = PEERD__V1__HELLO__INIT;

	memset(h, 0, sizeof *h);
	h->env = env;
	h->hello = hello;
	h->hello.protocol_version = PEERCLIENT_PROTOCOL_VERSION;
	h->hello.role = role;
	if (client_name != NULL)
		h->hello.client_name = (char *)client_name;
	h->hello.resume = h->resume_ptr;
	h->env.body_case = PEERD__V1__ENVELOPE__BODY_HELLO;
	h->env.hello = &h->hello;
}

int
peerclient_hello_set_credential(struct peerclient_hello *h, const void *cred,
    size_t len)
{
	if (h == NULL || cred == NULL || len == 0)
		return (PEERCLIENT_ERR_INVAL);
	h->hello.credential.data = (uint8_t *)cred;
	h->hello.credential.len = len;
	return (PEERCLIENT_OK);
}

int
peerclient_hello_set_requester_key(struct peerclient_hello *h,
    const void *key, size_t len)
{
	if (h == NULL || key == NULL || len != PEERCLIENT_REQUESTER_KEY_LEN)
		return (PEERCLIENT_ERR_INVAL);
	h->hello.requester_key.data = (uint8_t *)key;
	h->hello.requester_key.len = len;
	return (PEERCLIENT_OK);
}

int
peerclient_hello_add_resume(struct peerclient_hello *h, const void *token,
    size_t len, uint64_t last_seq)
{
	static const Peerd__V1__Resume	 init = PEERD__V1__RESUME__INIT;
	Peerd__V1__Resume		*r;

	if (h == NULL || token == NULL || len == 0)
		return (PEERCLIENT_ERR_INVAL);
	if (h->hello.n_resume >= PEERCLIENT_MAX_RESUME)
		return (PEERCLIENT_ERR_FULL);
	r = &h->resume[h->hello.n_resume];
	*r = init;
	r->token.data = (uint8_t *)token;
	r->token.len = len;
	r->last_seq = last_seq;
	h->resume_ptr[h->hello.n_resume++] = r;
	return (PEERCLIENT_OK);
}

Envelope *
peerclient_hello_envelope(struct peerclient_hello *h, uint64_t id)
{
	/* Re-point in case the caller copied the struct. */
	h->env.hello = &h->hello;
	h->hello.resume = h->resume_ptr;
	for (size_t i = 0; i < h->hello.n_resume; i++)
		h->resume_ptr[i] = &h->resume[i];
	h->env.id = id;
	return (&h->env);
}

int
peerclient_send_hello(struct peerclient *pc, struct peerclient_hello *h,
    uint64_t id)
{
	if (h == NULL)
		return (PEERCLIENT_ERR_INVAL);
	return (peerclient_send(pc, peerclient_hello_envelope(h, id)));
}

void
peerclient_envelope_free(Envelope *env)
{
	frame_free(env);
}

const char *
peerclient_strerror(int error)
{
	static const char	*names[] = {
		[PEERCLIENT_OK] = "success",
		[PEERCLIENT_ERR_INVAL] = "invalid argument",
		[PEERCLIENT_ERR_NOMEM] = "out of memory",
		[PEERCLIENT_ERR_STATE] = "not allowed in this state",
		[PEERCLIENT_ERR_RESOLVE] = "host or port did not resolve",
		[PEERCLIENT_ERR_CONNECT] = "connect failed",
		[PEERCLIENT_ERR_TLS] = "TLS setup failed",
		[PEERCLIENT_ERR_CA] = "CA file could not be loaded",
		[PEERCLIENT_ERR_TOO_LARGE] = "envelope empty or too large",
		[PEERCLIENT_ERR_FULL] = "no room left",
	};

	if (error < 0 || (size_t)error >= sizeof names / sizeof names[0] ||
	    names[error] == NULL)
		return ("unknown error");
	return (names[error]);
}

const char *
peerclient_reason_name(enum peerclient_reason reason)
{
	static const char	*names[] = {
		[PEERCLIENT_CLOSED_LOCAL] = "local",
		[PEERCLIENT_CLOSED_EOF] = "eof",
		[PEERCLIENT_CLOSED_CONNECT] = "connect",
		[PEERCLIENT_CLOSED_TLS_VERIFY] = "tls_verify",
		[PEERCLIENT_CLOSED_TLS] = "tls",
		[PEERCLIENT_CLOSED_ERROR] = "error",
		[PEERCLIENT_CLOSED_TIMEOUT] = "timeout",
		[PEERCLIENT_CLOSED_FRAME] = "frame",
		[PEERCLIENT_CLOSED_NOMEM] = "nomem",
	};

	if ((unsigned)reason >= sizeof names / sizeof names[0] ||
	    names[reason] == NULL)
		return ("unknown");
	return (names[reason]);
}

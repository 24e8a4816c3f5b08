/*
 * people.c -- requesters, supporters and operators for integration tests:
 * the world (keys, secret, config), credentials, Hello, one call per
 * request, bounded waits with diagnostics, and a whole match.
 *
 * Redis and log helpers are in people_redis.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "frame.h"
#include "people.h"

#define PEOPLE_CONF_MAX		16384	/* bytes of config lines */
#define PEOPLE_DESC_MAX		512	/* bytes, one envelope described */
#define PEOPLE_LIST_MAX		16	/* entries in a comma-separated list */
#define PEOPLE_WORD_MAX		64	/* bytes, one list entry */

/* ---- the world ---------------------------------------------------------- */

const char *
world_conf(struct world *w, const char *extra)
{
	static char	buf[PEOPLE_CONF_MAX];

	snprintf(buf, sizeof buf,
	    "signing_pubkey %s\n"
	    "requester_secret_file %s\n"
	    "grace %d\n"
	    "offer_timeout %d\n"
	    "presence_ttl %d\n"
	    "default_language en\n"
	    "tag " PEOPLE_TAG_LGBTQ " Lesbian, gay, bisexual, trans or queer\n"
	    "tag " PEOPLE_TAG_BME " Black or minority ethnic\n"
	    "tag " PEOPLE_TAG_PRISON " Experience of prison\n"
	    "tag " PEOPLE_TAG_PSYCHOSIS " First episode of psychosis\n"
	    "tag " PEOPLE_TAG_WARD " Experience of an inpatient ward\n"
	    "%s",
	    w->pub, w->secret, PEOPLE_GRACE_S, PEOPLE_OFFER_S,
	    PEOPLE_PRESENCE_TTL_S, extra != NULL ? extra : "");
	return (buf);
}

/* Write 32 random bytes as 64 hex digits to path, mode 0600.  0 or -1. */
static int
world_write_secret(const char *path)
{
	unsigned char	raw[32];
	char		hex[65];
	int		fd, ok;
	size_t		i;

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

/* Join dir and name into out (HARNESS_PATH bytes).  Returns 0 or -1. */
static int
people_path(char *out, const char *dir, const char *name)
{
	int	n;

	n = snprintf(out, HARNESS_PATH, "%s/%s", dir, name);
	return (n < 0 || n >= HARNESS_PATH ? -1 : 0);
}

/* Copy src into dst of size len.  Returns 0, or -1 if it does not fit. */
static int
people_copy(char *dst, size_t len, const char *src)
{
	size_t	n = strlen(src);

	if (n >= len)
		return (-1);
	memcpy(dst, src, n + 1);
	return (0);
}

static void
world_free(struct world *w)
{
	if (w == NULL)
		return;
	harness_free(w->h);
	EVP_PKEY_free(w->org);
	EVP_PKEY_free(w->forger);
	free(w->extra);
	free(w);
}

int
world_setup_extra(void **state, const char *extra)
{
	struct world	*w;
	char		 priv[HARNESS_PATH], err[CRED_ERR_MAX];

	signal(SIGPIPE, SIG_IGN);
	*state = NULL;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return (-1);
	if (extra != NULL && (w->extra = strdup(extra)) == NULL)
		goto fail;
	if ((w->h = harness_new()) == NULL)
		goto fail;
	if (people_path(priv, w->h->dir, "signing.key") == -1 ||
	    people_path(w->pub, w->h->dir, "signing.pub") == -1 ||
	    people_path(w->secret, w->h->dir, "requester.secret") == -1)
		goto fail;
	if ((w->org = cred_key_generate()) == NULL ||
	    (w->forger = cred_key_generate()) == NULL) {
		fprintf(stderr, "people: cannot generate keys\n");
		goto fail;
	}
	if (cred_key_write(w->org, priv, w->pub, err, sizeof err) == -1) {
		fprintf(stderr, "people: %s\n", err);
		goto fail;
	}
	if (world_write_secret(w->secret) == -1) {
		fprintf(stderr, "people: cannot write %s\n", w->secret);
		goto fail;
	}
	if (harness_redis_start(w->h) == -1 ||
	    harness_peerd_start(w->h, world_conf(w, w->extra)) == -1)
		goto fail;
	*state = w;
	return (0);
fail:
	world_free(w);
	return (-1);
}

int
world_setup(void **state)
{
	return (world_setup_extra(state, NULL));
}

int
world_teardown(void **state)
{
	struct world	*w = *state;
	int		 r;

	r = harness_check(w != NULL ? w->h : NULL);
	world_free(w);
	*state = NULL;
	return (r);
}

int
world_restart_peerd(struct world *w)
{
	if (harness_peerd_stop(w->h) == -1)
		return (-1);
	return (harness_peerd_start(w->h, world_conf(w, w->extra)));
}

/* ---- credentials -------------------------------------------------------- */

/*
 * Split a comma-separated list into out (n entries at most, each
 * PEOPLE_WORD_MAX bytes).  Returns the count, or -1 if it does not fit.
 */
static int
people_split(const char *list, char out[][PEOPLE_WORD_MAX], size_t n)
{
	const char	*p, *comma;
	size_t		 len, count = 0;

	if (list == NULL || *list == '\0')
		return (0);
	for (p = list;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (count == n || len >= PEOPLE_WORD_MAX)
			return (-1);
		memcpy(out[count], p, len);
		out[count++][len] = '\0';
		if (comma == NULL)
			break;
	}
	return ((int)count);
}

int
world_cred_full(struct world *w, struct pcred *out, const char *id,
    const char *name, const char *tags, const char *langs, uint32_t capacity,
    int flags)
{
	struct cred_info	 info;
	char			 words[CRED_TAGS_MAX][PEOPLE_WORD_MAX];
	const char		*why = "?";
	enum cred_status	 st;
	uint64_t		 now = (uint64_t)time(NULL);
	int			 n, i;

	memset(out, 0, sizeof *out);
	memset(&info, 0, sizeof info);
	snprintf(info.id, sizeof info.id, "%s", id);
	snprintf(info.name, sizeof info.name, "%s", name);
	info.role = (flags & PCRED_OPERATOR) ? PEERD__V1__ROLE__OPERATOR :
	    PEERD__V1__ROLE__SUPPORTER;
	if ((n = people_split(tags, words, CRED_TAGS_MAX)) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (people_copy(info.tags[i], sizeof info.tags[i], words[i]) ==
		    -1)
			return (-1);
	info.ntags = (size_t)n;
	if ((n = people_split(langs != NULL ? langs : "en", words,
	    CRED_LANGS_MAX)) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (people_copy(info.languages[i], sizeof info.languages[i],
		    words[i]) == -1)
			return (-1);
	info.nlanguages = (size_t)n;
	info.capacity = capacity;
	info.issued_at = now - 60;
	info.not_after = now + 86400;
	if (flags & PCRED_EXPIRED) {
		info.issued_at = now - 2 * 86400;
		info.not_after = now - 3600;
	}
	if (flags & PCRED_SHORT)
		info.not_after = now + PCRED_SHORT_S;
	if (flags & PCRED_FUTURE) {
		info.issued_at = now + 86400;
		info.not_after = now + 2 * 86400;
	}
	st = cred_sign(&info, (flags & PCRED_FORGED) ? w->forger : w->org,
	    out->buf, sizeof out->buf, &out->len, &why);
	if (st != CRED_OK) {
		fprintf(stderr, "people: cred_sign %s: %s (%s)\n", id,
		    cred_strerror(st), why != NULL ? why : "");
		return (-1);
	}
	snprintf(out->id, sizeof out->id, "%s", id);
	snprintf(out->name, sizeof out->name, "%s", name);
	out->capacity = capacity;
	return (0);
}

int
world_cred(struct world *w, struct pcred *out, const char *id,
    const char *tags, uint32_t capacity, int flags)
{
	char	name[CRED_NAME_MAX + 1];

	snprintf(name, sizeof name, "Peer %s", id);
	return (world_cred_full(w, out, id, name, tags, "en", capacity,
	    flags));
}

/* ---- describing envelopes ----------------------------------------------- */

/* Append a repeated string field as "a,b" to buf. */
static void
people_cat_list(char *buf, size_t len, const char *label, char **v, size_t n)
{
	size_t	used = strlen(buf), i;

	if (used >= len)
		return;
	snprintf(buf + used, len - used, " %s=", label);
	for (i = 0; i < n; i++) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", i ? "," : "", v[i]);
	}
}

const char *
people_describe(const Envelope *env, char *buf, size_t len)
{
	const ProtobufCEnumValue	*ev;

	if (env == NULL) {
		snprintf(buf, len, "(nothing)");
		return (buf);
	}
	switch (env->body_case) {
	case PEERD__V1__ENVELOPE__BODY_ERROR:
		ev = protobuf_c_enum_descriptor_get_value(
		    &peerd__v1__error_code__descriptor, env->error->code);
		snprintf(buf, len, "Error{%s fatal=%d \"%s\"} id=%llu",
		    ev != NULL ? ev->name : "?", env->error->fatal,
		    env->error->message, (unsigned long long)env->id);
		break;
	case PEERD__V1__ENVELOPE__BODY_QUEUE_UPDATE:
		snprintf(buf, len, "QueueUpdate{position=%u eta=%u relaxed=%d "
		    "compatible=%u} id=%llu", env->queue_update->position,
		    env->queue_update->eta_s, env->queue_update->relaxed,
		    env->queue_update->compatible_supporters,
		    (unsigned long long)env->id);
		break;
	case PEERD__V1__ENVELOPE__BODY_OFFER:
		snprintf(buf, len, "Offer{offer_id=%llu returning=%d "
		    "expires=%u", (unsigned long long)env->offer->offer_id,
		    env->offer->returning, env->offer->expires_s);
		people_cat_list(buf, len, "shared", env->offer->shared,
		    env->offer->n_shared);
		people_cat_list(buf, len, "need", env->offer->need,
		    env->offer->n_need);
		snprintf(buf + strlen(buf), len - strlen(buf), "}");
		break;
	case PEERD__V1__ENVELOPE__BODY_MATCHED:
		snprintf(buf, len, "Matched{conv=%llu peer=\"%s\" resumed=%d "
		    "last_client_msg_id=%llu delivered_seq=%llu}",
		    (unsigned long long)env->matched->conversation_id,
		    env->matched->peer_name, env->matched->resumed,
		    (unsigned long long)env->matched->last_client_msg_id,
		    (unsigned long long)env->matched->delivered_seq);
		break;
	case PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE:
		snprintf(buf, len, "ChatMessage{conv=%llu seq=%llu "
		    "text=\"%.40s\"}",
		    (unsigned long long)env->chat_message->conversation_id,
		    (unsigned long long)env->chat_message->seq,
		    env->chat_message->text);
		break;
	case PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED:
		snprintf(buf, len, "MessageAccepted{conv=%llu cmid=%llu "
		    "seq=%llu} id=%llu",
		    (unsigned long long)env->message_accepted->conversation_id,
		    (unsigned long long)env->message_accepted->client_msg_id,
		    (unsigned long long)env->message_accepted->seq,
		    (unsigned long long)env->id);
		break;
	case PEERD__V1__ENVELOPE__BODY_END_CONVERSATION:
		ev = protobuf_c_enum_descriptor_get_value(
		    &peerd__v1__end_reason__descriptor,
		    env->end_conversation->reason);
		snprintf(buf, len, "EndConversation{conv=%llu reason=%s} "
		    "id=%llu",
		    (unsigned long long)env->end_conversation->conversation_id,
		    ev != NULL ? ev->name : "?", (unsigned long long)env->id);
		break;
	case PEERD__V1__ENVELOPE__BODY_PEER_STATUS:
		snprintf(buf, len, "PeerStatus{conv=%llu state=%d}",
		    (unsigned long long)env->peer_status->conversation_id,
		    env->peer_status->state);
		break;
	case PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY:
		snprintf(buf, len, "SetAvailability{status=%d capacity=%u} "
		    "id=%llu", env->set_availability->status,
		    env->set_availability->capacity,
		    (unsigned long long)env->id);
		break;
	case PEERD__V1__ENVELOPE__BODY_DELIVERED:
		snprintf(buf, len, "Delivered{conv=%llu seq=%llu}",
		    (unsigned long long)env->delivered->conversation_id,
		    (unsigned long long)env->delivered->seq);
		break;
	case PEERD__V1__ENVELOPE__BODY_TYPING:
		snprintf(buf, len, "Typing{conv=%llu typing=%d}",
		    (unsigned long long)env->typing->conversation_id,
		    env->typing->typing);
		break;
	default:
		snprintf(buf, len, "%s id=%llu", frame_body_name(env),
		    (unsigned long long)env->id);
		break;
	}
	return (buf);
}

void
people_dump(struct tclient *c, const char *who)
{
	const Envelope	*env;
	char		 buf[PEOPLE_DESC_MAX];
	size_t		 i;

	fprintf(stderr, "  %s: %zu queued%s\n", who, tclient_queued(c),
	    tclient_closed(c) ? " (connection closed)" : "");
	for (i = 0; (env = tclient_peek(c, i)) != NULL; i++)
		fprintf(stderr, "    %s\n", people_describe(env, buf,
		    sizeof buf));
}

/* ---- connecting --------------------------------------------------------- */

Envelope *
people_hello(struct tclient *c, Peerd__V1__Role role, const struct pcred *cred,
    const uint8_t *key, const struct presume *res, size_t nres)
{
	struct peerclient_hello	 hb;
	uint64_t		 id = peerclient_next_id(tclient_pc(c));
	size_t			 i;

	peerclient_hello_init(&hb, role, "peerd-tests/people");
	if (cred != NULL &&
	    peerclient_hello_set_credential(&hb, cred->buf, cred->len) !=
	    PEERCLIENT_OK)
		return (NULL);
	if (key != NULL && peerclient_hello_set_requester_key(&hb, key,
	    PEERCLIENT_REQUESTER_KEY_LEN) != PEERCLIENT_OK)
		return (NULL);
	for (i = 0; i < nres; i++)
		if (peerclient_hello_add_resume(&hb, res[i].token, res[i].len,
		    res[i].last_seq) != PEERCLIENT_OK)
			return (NULL);
	if (peerclient_send_hello(tclient_pc(c), &hb, id) != PEERCLIENT_OK)
		return (NULL);
	return (tclient_recv_id(c, id, HARNESS_IO_MS));
}

/* Connect and Hello; keep the client only if Welcome came. */
static struct tclient *
people_join(struct world *w, Peerd__V1__Role role, const struct pcred *cred,
    const uint8_t *key)
{
	struct tclient	*c;
	Envelope	*env;
	char		 buf[PEOPLE_DESC_MAX];

	if ((c = tclient_connect(w->h)) == NULL)
		return (NULL);
	env = people_hello(c, role, cred, key, NULL, 0);
	if (env == NULL ||
	    env->body_case != PEERD__V1__ENVELOPE__BODY_WELCOME) {
		fprintf(stderr, "people: Hello as %s%s%s: got %s\n",
		    cred_role_name(role), cred != NULL ? " " : "",
		    cred != NULL ? cred->id : "",
		    people_describe(env, buf, sizeof buf));
		frame_free(env);
		tclient_free(c);
		return (NULL);
	}
	frame_free(env);
	return (c);
}

struct tclient *
people_requester(struct world *w, const uint8_t *key)
{
	return (people_join(w, PEERD__V1__ROLE__REQUESTER, NULL, key));
}

struct tclient *
people_supporter(struct world *w, const struct pcred *cred)
{
	return (people_join(w, PEERD__V1__ROLE__SUPPORTER, cred, NULL));
}

struct tclient *
people_operator(struct world *w, const struct pcred *cred)
{
	return (people_join(w, PEERD__V1__ROLE__OPERATOR, cred, NULL));
}

struct tclient *
people_supporter_available(struct world *w, const struct pcred *cred)
{
	struct tclient	*c;
	int		 r;

	if ((c = people_supporter(w, cred)) == NULL)
		return (NULL);
	if ((r = people_avail(c, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0)) !=
	    0) {
		fprintf(stderr, "people: SetAvailability AVAILABLE for %s: "
		    "%s\n", cred->id, people_code_name(r));
		tclient_free(c);
		return (NULL);
	}
	return (c);
}

/* ---- requests ----------------------------------------------------------- */

Envelope *
people_call(struct tclient *c, Envelope *env, int timeout_ms)
{
	env->id = peerclient_next_id(tclient_pc(c));
	if (tclient_send(c, env) != PEERCLIENT_OK) {
		fprintf(stderr, "people: cannot send %s\n",
		    frame_body_name(env));
		return (NULL);
	}
	return (tclient_recv_id(c, env->id, timeout_ms));
}

int
people_code(const Envelope *env)
{
	if (env == NULL)
		return (-1);
	if (env->body_case == PEERD__V1__ENVELOPE__BODY_ERROR)
		return (env->error->code != 0 ? (int)env->error->code : 1000);
	return (0);
}

const char *
people_code_name(int code)
{
	const ProtobufCEnumValue	*ev;

	if (code == 0)
		return ("OK");
	if (code == -1)
		return ("(no reply)");
	ev = protobuf_c_enum_descriptor_get_value(
	    &peerd__v1__error_code__descriptor, code);
	return (ev != NULL ? ev->name : "(unknown code)");
}

/*
 * Call env and expect Ok (or want, if not 0).  Returns 0, the ErrorCode, or
 * -1 (timeout, or an unexpected reply, printed).
 */
static int
people_call_ok(struct tclient *c, Envelope *env, int want)
{
	Envelope	*rep;
	char		 buf[PEOPLE_DESC_MAX];
	const char	*name = frame_body_name(env);
	int		 r;

	if (want == 0)
		want = PEERD__V1__ENVELOPE__BODY_OK;
	rep = people_call(c, env, HARNESS_IO_MS);
	if (rep == NULL) {
		fprintf(stderr, "people: no reply to %s\n", name);
		return (-1);
	}
	if (people_code(rep) > 0)
		fprintf(stderr, "people: %s refused: %s\n", name,
		    people_describe(rep, buf, sizeof buf));
	if ((r = people_code(rep)) == 0 && (int)rep->body_case != want) {
		fprintf(stderr, "people: %s answered %s\n", name,
		    people_describe(rep, buf, sizeof buf));
		r = -1;
	}
	frame_free(rep);
	return (r);
}

Envelope *
people_request(struct tclient *c, const char *need, const char *prefer,
    const char *langs, int flags)
{
	return (people_request_relax(c, need, prefer, langs, flags, 0));
}

Envelope *
people_request_relax(struct tclient *c, const char *need, const char *prefer,
    const char *langs, int flags, uint32_t relax_after_s)
{
	Peerd__V1__RequestPeer	 rp = PEERD__V1__REQUEST_PEER__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	char			 nw[PEOPLE_LIST_MAX][PEOPLE_WORD_MAX];
	char			 pw[PEOPLE_LIST_MAX][PEOPLE_WORD_MAX];
	char			 lw[PEOPLE_LIST_MAX][PEOPLE_WORD_MAX];
	char			*np[PEOPLE_LIST_MAX], *pp[PEOPLE_LIST_MAX];
	char			*lp[PEOPLE_LIST_MAX];
	int			 nn, np_, nl, i;

	if ((nn = people_split(need, nw, PEOPLE_LIST_MAX)) == -1 ||
	    (np_ = people_split(prefer, pw, PEOPLE_LIST_MAX)) == -1 ||
	    (nl = people_split(langs, lw, PEOPLE_LIST_MAX)) == -1)
		return (NULL);
	for (i = 0; i < nn; i++)
		np[i] = nw[i];
	for (i = 0; i < np_; i++)
		pp[i] = pw[i];
	for (i = 0; i < nl; i++)
		lp[i] = lw[i];
	rp.n_need = (size_t)nn;
	rp.need = np;
	rp.n_prefer = (size_t)np_;
	rp.prefer = pp;
	rp.n_languages = (size_t)nl;
	rp.languages = lp;
	rp.urgent = (flags & PREQ_URGENT) != 0;
	rp.prefer_previous = (flags & PREQ_PREVIOUS) != 0;
	rp.relax_after_s = relax_after_s;
	env.body_case = PEERD__V1__ENVELOPE__BODY_REQUEST_PEER;
	env.request_peer = &rp;
	return (people_call(c, &env, HARNESS_IO_MS));
}

int
people_cancel(struct tclient *c)
{
	Peerd__V1__CancelRequest	cr = PEERD__V1__CANCEL_REQUEST__INIT;
	Envelope			env = PEERD__V1__ENVELOPE__INIT;

	env.body_case = PEERD__V1__ENVELOPE__BODY_CANCEL_REQUEST;
	env.cancel_request = &cr;
	return (people_call_ok(c, &env, 0));
}

int
people_avail(struct tclient *c, Peerd__V1__SupporterStatus status,
    uint32_t capacity)
{
	Peerd__V1__SetAvailability	sa = PEERD__V1__SET_AVAILABILITY__INIT;
	Envelope			env = PEERD__V1__ENVELOPE__INIT;

	sa.status = status;
	sa.capacity = capacity;
	env.body_case = PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY;
	env.set_availability = &sa;
	return (people_call_ok(c, &env, 0));
}

int
people_accept(struct tclient *c, uint64_t offer_id)
{
	Peerd__V1__AcceptOffer	ao = PEERD__V1__ACCEPT_OFFER__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	ao.offer_id = offer_id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER;
	env.accept_offer = &ao;
	return (people_call_ok(c, &env, 0));
}

int
people_decline(struct tclient *c, uint64_t offer_id)
{
	Peerd__V1__DeclineOffer	dof = PEERD__V1__DECLINE_OFFER__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	dof.offer_id = offer_id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_DECLINE_OFFER;
	env.decline_offer = &dof;
	return (people_call_ok(c, &env, 0));
}

int
people_end(struct tclient *c, uint64_t conv)
{
	Peerd__V1__EndConversation	ec = PEERD__V1__END_CONVERSATION__INIT;
	Envelope			env = PEERD__V1__ENVELOPE__INIT;

	ec.conversation_id = conv;
	env.body_case = PEERD__V1__ENVELOPE__BODY_END_CONVERSATION;
	env.end_conversation = &ec;
	return (people_call_ok(c, &env, 0));
}

int
people_report(struct tclient *c, uint64_t conv, const char *reason)
{
	Peerd__V1__Report	rp = PEERD__V1__REPORT__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	rp.conversation_id = conv;
	rp.reason = (char *)reason;
	env.body_case = PEERD__V1__ENVELOPE__BODY_REPORT;
	env.report = &rp;
	return (people_call_ok(c, &env, 0));
}

int
people_chat(struct tclient *c, uint64_t conv, uint64_t cmid, const char *text,
    uint64_t *seq)
{
	Peerd__V1__ChatMessage	 cm = PEERD__V1__CHAT_MESSAGE__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT, *rep;
	char			 buf[PEOPLE_DESC_MAX];
	int			 r;

	cm.conversation_id = conv;
	cm.client_msg_id = cmid;
	cm.text = (char *)text;
	env.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
	env.chat_message = &cm;
	if ((rep = people_call(c, &env, HARNESS_IO_MS)) == NULL) {
		fprintf(stderr, "people: no reply to ChatMessage cmid=%llu\n",
		    (unsigned long long)cmid);
		return (-1);
	}
	if ((r = people_code(rep)) == 0) {
		if (rep->body_case !=
		    PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED ||
		    rep->message_accepted->conversation_id != conv ||
		    rep->message_accepted->client_msg_id != cmid) {
			fprintf(stderr, "people: ChatMessage cmid=%llu "
			    "answered %s\n", (unsigned long long)cmid,
			    people_describe(rep, buf, sizeof buf));
			r = -1;
		} else if (seq != NULL)
			*seq = rep->message_accepted->seq;
	}
	frame_free(rep);
	return (r);
}

uint64_t
people_chat_send(struct tclient *c, uint64_t conv, uint64_t cmid,
    const char *text)
{
	Peerd__V1__ChatMessage	 cm = PEERD__V1__CHAT_MESSAGE__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;

	cm.conversation_id = conv;
	cm.client_msg_id = cmid;
	cm.text = (char *)text;
	env.id = peerclient_next_id(tclient_pc(c));
	env.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
	env.chat_message = &cm;
	return (tclient_send(c, &env) == PEERCLIENT_OK ? env.id : 0);
}

int
people_delivered(struct tclient *c, uint64_t conv, uint64_t seq)
{
	Peerd__V1__Delivered	d = PEERD__V1__DELIVERED__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	d.conversation_id = conv;
	d.seq = seq;
	env.id = peerclient_next_id(tclient_pc(c));
	env.body_case = PEERD__V1__ENVELOPE__BODY_DELIVERED;
	env.delivered = &d;
	if (tclient_send(c, &env) != PEERCLIENT_OK)
		return (-1);
	return (tclient_flush(c, HARNESS_IO_MS));
}

int
people_typing(struct tclient *c, uint64_t conv, int typing)
{
	Peerd__V1__Typing	t = PEERD__V1__TYPING__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	t.conversation_id = conv;
	t.typing = typing != 0;
	env.id = peerclient_next_id(tclient_pc(c));
	env.body_case = PEERD__V1__ENVELOPE__BODY_TYPING;
	env.typing = &t;
	if (tclient_send(c, &env) != PEERCLIENT_OK)
		return (-1);
	return (tclient_flush(c, HARNESS_IO_MS));
}

/* ---- waiting ------------------------------------------------------------ */

/* Name of a body case, from the generated descriptor. */
static const char *
people_body_name(int body)
{
	const ProtobufCFieldDescriptor	*f;

	if (body == 0)
		return ("anything");
	f = protobuf_c_message_descriptor_get_field(
	    &peerd__v1__envelope__descriptor, (unsigned)body);
	return (f != NULL ? f->name : "?");
}

Envelope *
people_wait(struct tclient *c, const char *who, int body, int timeout_ms)
{
	Envelope	*env;

	if ((env = tclient_recv(c, body, timeout_ms)) != NULL)
		return (env);
	fprintf(stderr, "people: %s waited %d ms for %s in vain\n", who,
	    timeout_ms, people_body_name(body));
	people_dump(c, who);
	return (NULL);
}

/* tclient_match: a ChatMessage of conversation *(uint64_t *)arg. */
static int
people_is_chat_of(const Envelope *env, void *arg)
{
	return (env->body_case == PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE &&
	    env->chat_message->conversation_id == *(uint64_t *)arg);
}

Envelope *
people_wait_chat(struct tclient *c, uint64_t conv, int timeout_ms)
{
	Envelope	*env;

	env = tclient_recv_if(c, people_is_chat_of, &conv, timeout_ms);
	if (env == NULL) {
		fprintf(stderr, "people: no ChatMessage for conv=%llu within "
		    "%d ms\n", (unsigned long long)conv, timeout_ms);
		people_dump(c, "receiver");
	}
	return (env);
}

/* ---- a whole match ------------------------------------------------------ */

void
people_note_matched(struct pconv *out, const Envelope *m, int requester)
{
	const Peerd__V1__Matched	*mt = m->matched;
	size_t				 n = mt->resume_token.len;

	if (n > PEOPLE_TOKEN_MAX)
		n = PEOPLE_TOKEN_MAX;
	out->id = mt->conversation_id;
	if (requester) {
		memcpy(out->rtoken, mt->resume_token.data, n);
		out->rtoken_len = n;
		snprintf(out->rpeer, sizeof out->rpeer, "%s", mt->peer_name);
	} else {
		memcpy(out->stoken, mt->resume_token.data, n);
		out->stoken_len = n;
		snprintf(out->speer, sizeof out->speer, "%s", mt->peer_name);
	}
}

int
people_match(struct tclient *r, struct tclient *s, const char *need,
    const char *prefer, struct pconv *out)
{
	Envelope	*env, *rm = NULL, *sm = NULL;
	char		 buf[PEOPLE_DESC_MAX];
	int		 rc = -1;

	memset(out, 0, sizeof *out);
	env = people_request(r, need, prefer, NULL, 0);
	if (env == NULL ||
	    env->body_case != PEERD__V1__ENVELOPE__BODY_QUEUE_UPDATE) {
		fprintf(stderr, "people_match: RequestPeer answered %s\n",
		    people_describe(env, buf, sizeof buf));
		frame_free(env);
		return (-1);
	}
	frame_free(env);
	if ((env = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_OFFER, PEOPLE_PUSH_MS)) == NULL)
		return (-1);
	out->offer_id = env->offer->offer_id;
	frame_free(env);
	if (people_accept(s, out->offer_id) != 0) {
		fprintf(stderr, "people_match: AcceptOffer refused\n");
		return (-1);
	}
	if ((sm = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, PEOPLE_PUSH_MS)) == NULL ||
	    (rm = people_wait(r, "requester",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, PEOPLE_PUSH_MS)) == NULL)
		goto out;
	if (sm->matched->conversation_id != rm->matched->conversation_id ||
	    sm->matched->conversation_id == 0) {
		fprintf(stderr, "people_match: conversation ids %llu (supporter)"
		    " and %llu (requester)\n",
		    (unsigned long long)sm->matched->conversation_id,
		    (unsigned long long)rm->matched->conversation_id);
		goto out;
	}
	people_note_matched(out, rm, 1);
	people_note_matched(out, sm, 0);
	rc = 0;
out:
	frame_free(rm);
	frame_free(sm);
	return (rc);
}

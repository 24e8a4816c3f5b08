/*
 * admin_json.c -- /stats.json: the figures of stats_snapshot() as JSON,
 * plus the per-minute history for the status page's chart.
 *
 *   { "version", "now", "redis_up",
 *     "queue": { waiting, oldest_wait_s, wait_p50_s, wait_p90_s },
 *     "supporters": { available, away, on_break, offline },
 *     "capacity_available", "conversations_active",
 *     "connections": { requester, supporter, operator, none },
 *     "totals": { matches, messages_relayed, offers_accepted,
 *                 offers_declined, offers_timed_out, reports,
 *                 tls_handshake_failures },
 *     "wait_histogram": { "buckets": [{le, count}], sum_s, count },
 *     "tags": [{ tag, description, waiting, capacity_available, gap }],
 *     "history_every_s", "history": [{ t, waiting, oldest_wait_s,
 *                                       wait_p50_s }] }
 *
 * Counts only; the strings are catalogue tag names and descriptions.
 */
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

#include "peerd.h"

/*
 * Write s as a JSON string.  '<', '>' and '&' are escaped too, so the
 * text stays inert even if someone pastes it into HTML.
 */
static void
admin_json_string(struct evbuffer *out, const char *s)
{
	const u_char	*p;

	evbuffer_add(out, "\"", 1);
	for (p = (const u_char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/* Write the tags array. */
static void
admin_json_tags(struct evbuffer *out, const struct stats_snapshot *sn)
{
	const struct stats_tag	*t;
	u_int			 i;

	evbuffer_add_printf(out, "\"tags\":[");
	for (i = 0; i < sn->ntags; i++) {
		t = &sn->tags[i];
		evbuffer_add_printf(out, "%s{\"tag\":", i > 0 ? "," : "");
		admin_json_string(out, t->name);
		evbuffer_add_printf(out, ",\"description\":");
		admin_json_string(out, t->description != NULL ?
		    t->description : "");
		evbuffer_add_printf(out, ",\"waiting\":%u,"
		    "\"capacity_available\":%u,\"gap\":%u}", t->waiting,
		    t->capacity, t->waiting > t->capacity ?
		    t->waiting - t->capacity : 0);
	}
	evbuffer_add_printf(out, "],");
}

/* Write the wait histogram (cumulative, as /metrics). */
static void
admin_json_histogram(struct evbuffer *out, const struct stats_snapshot *sn)
{
	u_int	i;

	evbuffer_add_printf(out, "\"wait_histogram\":{\"buckets\":[");
	for (i = 0; i < STATS_NBUCKETS; i++) {
		if (stats_bucket_le[i] == 0)
			evbuffer_add_printf(out, "%s{\"le\":null,\"count\":%"
			    PRIu64 "}", i > 0 ? "," : "", sn->wait_buckets[i]);
		else
			evbuffer_add_printf(out, "%s{\"le\":%u,\"count\":%"
			    PRIu64 "}", i > 0 ? "," : "", stats_bucket_le[i],
			    sn->wait_buckets[i]);
	}
	evbuffer_add_printf(out, "],\"sum_s\":%" PRIu64 ".%03u,\"count\":%"
	    PRIu64 "},", sn->wait_sum_ms / 1000,
	    (u_int)(sn->wait_sum_ms % 1000), sn->wait_count);
}

/* Write the history ring, oldest first. */
static void
admin_json_history(struct evbuffer *out)
{
	const struct stats_sample	*h;
	u_int				 i, n;

	evbuffer_add_printf(out, "\"history_every_s\":%d,\"history\":[",
	    STATS_HISTORY_EVERY);
	for (i = 0; (h = stats_history(i, &n)) != NULL; i++)
		evbuffer_add_printf(out, "%s{\"t\":%" PRId64 ",\"waiting\":%u,"
		    "\"oldest_wait_s\":%u,\"wait_p50_s\":%u}",
		    i > 0 ? "," : "", h->t, h->waiting, h->oldest_wait_s,
		    h->wait_p50_s);
	evbuffer_add_printf(out, "]");
}

/* Write sn and the history as one JSON object. */
void
admin_json_write(struct evbuffer *out, const struct stats_snapshot *sn)
{
	u_int	i;

	evbuffer_add_printf(out, "{\"version\":\"%s\",\"now\":%" PRId64
	    ",\"redis_up\":%s,", PEERD_VERSION, sn->now,
	    sn->redis_up ? "true" : "false");
	evbuffer_add_printf(out, "\"queue\":{\"waiting\":%u,"
	    "\"oldest_wait_s\":%u,\"wait_p50_s\":%u,\"wait_p90_s\":%u},",
	    sn->queue_waiting, sn->oldest_wait_s, sn->wait_p50_s,
	    sn->wait_p90_s);
	evbuffer_add_printf(out, "\"supporters\":{");
	for (i = 0; i < STATS_NSTATUS; i++)
		evbuffer_add_printf(out, "%s\"%s\":%u", i > 0 ? "," : "",
		    stats_status_name(i), sn->supporters[i]);
	evbuffer_add_printf(out, "},\"capacity_available\":%u,"
	    "\"conversations_active\":%u,\"connections\":{",
	    sn->capacity_total, sn->conversations_active);
	for (i = 0; i < STATS_NROLES; i++)
		evbuffer_add_printf(out, "%s\"%s\":%u", i > 0 ? "," : "",
		    stats_role_name(i), sn->connections[i]);
	evbuffer_add_printf(out, "},\"totals\":{\"matches\":%" PRIu64
	    ",\"messages_relayed\":%" PRIu64 ",\"offers_accepted\":%" PRIu64
	    ",\"offers_declined\":%" PRIu64 ",\"offers_timed_out\":%" PRIu64
	    ",\"reports\":%" PRIu64 ",\"tls_handshake_failures\":%" PRIu64
	    "},", sn->matches, sn->messages_relayed, sn->offers_accepted,
	    sn->offers_declined, sn->offers_timed_out, sn->reports,
	    sn->tls_failed);
	admin_json_histogram(out, sn);
	admin_json_tags(out, sn);
	admin_json_history(out);
	evbuffer_add_printf(out, "}\n");
}

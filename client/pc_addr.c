/*
 * pc_addr.c -- server addresses as people type them: HOST:PORT, [V6]:PORT.
 */
#include <string.h>

#include "frame.h"
#include "peerclient.h"

#define PC_PORT_MAX	65535	/* highest TCP port */

int
peerclient_split_hostport(const char *s, char *host, size_t hostlen,
    char *port, size_t portlen)
{
	const char	*colon, *h = s, *p;
	size_t		 hlen, plen;
	unsigned long	 v = 0;

	if (s == NULL || host == NULL || port == NULL)
		return (PEERCLIENT_ERR_INVAL);
	if (*s == '[') {
		/* An IPv6 literal keeps its colons inside the brackets. */
		if ((colon = strstr(s, "]:")) == NULL)
			return (PEERCLIENT_ERR_INVAL);
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return (PEERCLIENT_ERR_INVAL);
		hlen = (size_t)(colon - s);
	}
	p = colon + 1;
	plen = strlen(p);
	if (hlen == 0 || hlen >= hostlen || plen == 0 || plen >= portlen ||
	    strspn(p, "0123456789") != plen)
		return (PEERCLIENT_ERR_INVAL);
	for (; *p != '\0' && v <= PC_PORT_MAX; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (v < 1 || v > PC_PORT_MAX)
		return (PEERCLIENT_ERR_INVAL);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, plen + 1);
	return (PEERCLIENT_OK);
}

/* dns_upstream: the resolvers cobble asks: parsed from the configuration or /etc/resolv.conf,
 * and handed to getdns (stub mode only: see dns.c). */
#include "common/dns_internal.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLV_CONF "/etc/resolv.conf"

/* Parses "HOST:PORT", "HOST", "[V6]:PORT", "[V6]" or a bare IPv6 address. HOST must be an
 * address literal: resolving a resolver's name would itself need DNS. */
int dns_upstream_parse(const char *s, struct dns_upstream *u, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	const char *colon = strchr(s, ':');
	size_t hlen;

	memset(u, 0, sizeof *u);
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (end[1] != '\0' && end[1] != ':')) {
			util_snprintf_utf8(err, errlen, "resolver \"%s\": expected [IPv6]:PORT", s);
			return -1;
		}
		hlen = (size_t)(end - s - 1);
		if (hlen >= sizeof host)
			goto bad_host;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (end[1] == ':')
			port = end + 2;
	} else if (colon && strchr(colon + 1, ':')) {
		hlen = strlen(s); /* bare IPv6, port 53 */
		if (hlen >= sizeof host)
			goto bad_host;
		memcpy(host, s, hlen + 1);
	} else {
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen >= sizeof host)
			goto bad_host;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (colon)
			port = colon + 1;
	}
	if (inet_pton(AF_INET, host, u->addr) == 1)
		u->family = AF_INET;
	else if (inet_pton(AF_INET6, host, u->addr) == 1)
		u->family = AF_INET6;
	else
		goto bad_host;
	u->port = 53;
	if (port) {
		char *end;
		errno = 0;
		unsigned long p = strtoul(port, &end, 10);
		if (*port < '0' || *port > '9' || *end != '\0' || errno || p == 0 || p > 65535) {
			util_snprintf_utf8(err, errlen, "resolver \"%s\": the port must be 1 to 65535", s);
			return -1;
		}
		u->port = (uint16_t)p;
	}
	if (u->family == AF_INET)
		snprintf(u->text, sizeof u->text, "%s:%u", host, u->port);
	else
		snprintf(u->text, sizeof u->text, "[%s]:%u", host, u->port);
	return 0;
bad_host:
	util_snprintf_utf8(err, errlen, "resolver \"%s\": not an IP address (HOST:PORT, HOST or [IPv6]:PORT)", s);
	return -1;
}

/* The nameserver lines of /etc/resolv.conf (port 53); other lines are ignored. */
int dns_upstream_resolv_conf(struct dns *d, char *err, size_t errlen)
{
	FILE *f = fopen(RESOLV_CONF, "r");
	char line[512];
	int rc = -1;

	if (!f) {
		util_snprintf_utf8(err, errlen, "cannot read %s: %s (give a resolver)", RESOLV_CONF, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *kw = strtok_r(line, " \t\r\n", &save);
		char *addr = kw ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct dns_upstream u;
		char ignored[128];
		if (!kw || !addr || strcmp(kw, "nameserver") != 0 || strchr(addr, '%'))
			continue;
		if (strchr(addr, ':') && addr[0] != '[') { /* bare IPv6: keep every colon in the host */
			char v6[INET6_ADDRSTRLEN + 3];
			snprintf(v6, sizeof v6, "[%s]", addr);
			if (dns_upstream_parse(v6, &u, ignored, sizeof ignored) < 0)
				continue;
		} else if (dns_upstream_parse(addr, &u, ignored, sizeof ignored) < 0) {
			continue;
		}
		d->ups = xrealloc(d->ups, (d->nups + 1) * sizeof *d->ups);
		d->ups[d->nups++] = u;
	}
	if (d->nups == 0)
		util_snprintf_utf8(err, errlen, "no usable nameserver line in %s (give a resolver)", RESOLV_CONF);
	else
		rc = 0;
	fclose(f);
	return rc;
}

int dns_upstream_apply(struct dns *d, char *err, size_t errlen)
{
	getdns_list *list = getdns_list_create();
	int rc = -1;

	if (!list)
		goto out;
	for (size_t i = 0; i < d->nups; i++) {
		getdns_dict *a = getdns_dict_create();
		getdns_bindata data = {d->ups[i].family == AF_INET ? 4 : 16, d->ups[i].addr};
		getdns_bindata type = {4, (uint8_t *)(d->ups[i].family == AF_INET ? "IPv4" : "IPv6")};
		getdns_return_t r;
		if (!a)
			goto out;
		r = getdns_dict_set_bindata(a, "address_type", &type);
		if (!r)
			r = getdns_dict_set_bindata(a, "address_data", &data);
		if (!r)
			r = getdns_dict_set_int(a, "port", d->ups[i].port);
		if (!r)
			r = getdns_list_set_dict(list, i, a); /* copies */
		getdns_dict_destroy(a);
		if (r)
			goto out;
	}
	if (getdns_context_set_upstream_recursive_servers(d->ctx, list) == GETDNS_RETURN_GOOD)
		rc = 0;
out:
	if (rc < 0)
		util_snprintf_utf8(err, errlen, "getdns refused the resolver list");
	getdns_list_destroy(list);
	return rc;
}

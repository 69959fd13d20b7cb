/* dns_dnssec: the trust anchors read from a file and the second, offline DNSSEC validation. */
#include "common/dns.h"
#include "common/dns_internal.h"
#include "common/util.h"

#include <errno.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Lowercase, without the trailing dot, so that names compare as strings. */
static char *name_canon(const getdns_bindata *wire)
{
	char *fqdn = NULL;
	size_t n;

	if (getdns_convert_dns_name_to_fqdn(wire, &fqdn) != GETDNS_RETURN_GOOD || !fqdn)
		return NULL;
	n = strlen(fqdn);
	if (n > 0 && fqdn[n - 1] == '.')
		fqdn[n - 1] = '\0';
	util_lower(fqdn);
	return fqdn;
}

static int anchor_names(struct dns *d, getdns_list *anchors)
{
	getdns_dict *rr;
	getdns_bindata *owner;

	for (size_t i = 0; !getdns_list_get_dict(anchors, i, &rr); i++) {
		char *name;
		size_t j;
		if (getdns_dict_get_bindata(rr, "name", &owner) || !(name = name_canon(owner)))
			return -1;
		for (j = 0; j < d->nanchor_names && strcmp(d->anchor_names[j], name) != 0; j++)
			;
		if (j < d->nanchor_names) {
			free(name);
			continue;
		}
		d->anchor_names = xrealloc(d->anchor_names, (d->nanchor_names + 1) * sizeof *d->anchor_names);
		d->anchor_names[d->nanchor_names++] = name;
	}
	return 0;
}

/* Reads DS and DNSKEY RRs (zone-file text) into the context's trust anchors. With dnssec off
 * the anchors are set to an empty list: getdns then never looks for root anchors anywhere. */
int dns_dnssec_set_trust_anchors(struct dns *d, const struct dns_options *opt, char *err,
                                 size_t errlen)
{
	getdns_list *rrs = NULL, *anchors = getdns_list_create();
	FILE *f = NULL;
	size_t n = 0, nanchors = 0;
	int rc = -1;
	getdns_return_t r;

	if (!anchors) {
		util_snprintf_utf8(err, errlen, "getdns_list_create failed");
		goto out;
	}
	if (opt->dnssec != DNS_DNSSEC_OFF) {
		if (!opt->trust_anchor_file || !*opt->trust_anchor_file) {
			util_snprintf_utf8(err, errlen, "dnssec %s needs a trust anchor file (DS or DNSKEY records)",
			               opt->dnssec == DNS_DNSSEC_REQUIRE ? "require" : "validate");
			goto out;
		}
		if (!(f = fopen(opt->trust_anchor_file, "r"))) {
			util_snprintf_utf8(err, errlen, "cannot read trust anchor file %s: %s",
			               opt->trust_anchor_file, strerror(errno));
			goto out;
		}
		if ((r = getdns_fp2rr_list(f, &rrs, NULL, 3600)) != GETDNS_RETURN_GOOD) {
			util_snprintf_utf8(err, errlen, "trust anchor file %s is not zone-file text: %s",
			               opt->trust_anchor_file, getdns_get_errorstr_by_id(r));
			goto out;
		}
		if (getdns_list_get_length(rrs, &n))
			n = 0;
		for (size_t i = 0; i < n; i++) {
			getdns_dict *rr;
			uint32_t type;
			if (getdns_list_get_dict(rrs, i, &rr) || getdns_dict_get_int(rr, "type", &type))
				continue;
			if (type != GETDNS_RRTYPE_DS && type != GETDNS_RRTYPE_DNSKEY)
				continue;
			if (getdns_list_set_dict(anchors, nanchors, rr)) {
				util_snprintf_utf8(err, errlen, "getdns_list_set_dict failed");
				goto out;
			}
			nanchors++;
		}
		if (nanchors == 0) {
			util_snprintf_utf8(err, errlen, "trust anchor file %s holds no DS or DNSKEY record",
			               opt->trust_anchor_file);
			goto out;
		}
		util_snprintf_utf8(d->anchor_file, sizeof d->anchor_file, "%s", opt->trust_anchor_file);
		if (anchor_names(d, anchors) < 0) {
			util_snprintf_utf8(err, errlen, "trust anchor file %s: unusable owner name",
			               opt->trust_anchor_file);
			goto out;
		}
	}
	if (getdns_context_set_dnssec_trust_anchors(d->ctx, anchors) != GETDNS_RETURN_GOOD) {
		util_snprintf_utf8(err, errlen, "getdns refused the trust anchors");
		goto out;
	}
	if (opt->dnssec != DNS_DNSSEC_OFF) {
		d->anchors = anchors; /* kept for the second opinion in dns_dnssec_validate_again() */
		anchors = NULL;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	getdns_list_destroy(rrs);
	getdns_list_destroy(anchors);
	return rc;
}

/* Appends to `to` the RRs of `from` (a list of RR dicts), or those of types t1/t2 at owner. */
static int rrs_append(getdns_list *to, getdns_list *from, const char *owner, uint32_t t1, uint32_t t2)
{
	getdns_dict *rr;
	getdns_bindata *name;
	size_t n = 0;
	uint32_t t;

	(void)getdns_list_get_length(to, &n);
	for (size_t i = 0; !getdns_list_get_dict(from, i, &rr); i++) {
		if (owner) {
			char *c;
			int same;
			if (getdns_dict_get_int(rr, "type", &t) || (t != t1 && t != t2) ||
			    getdns_dict_get_bindata(rr, "name", &name) || !(c = name_canon(name)))
				continue;
			same = strcmp(c, owner) == 0;
			free(c);
			if (!same)
				continue;
		}
		if (getdns_list_set_dict(to, n++, rr))
			return -1;
	}
	return 0;
}

/* getdns 1.6's stub validator asks for the DS and the DNSKEY of each signer zone at once; when
 * the upstream is authoritative for the zone (not its parent) the DS query comes back as the
 * zone's own signed NSEC "no DS here", which getdns takes for an insecure delegation and then
 * cancels the DNSKEY query if it has not come back yet: the answer is then "bogus" at random
 * (about one time in five against Knot). So a non-secure answer at or below a trust anchor is
 * validated once more, offline, with getdns's validation chain plus the anchor zones' own
 * DNSKEY RRsets (fetched here). A truly bogus answer stays bogus. */
uint32_t dns_dnssec_validate_again(struct dns *d, const char *qname, getdns_dict *resp,
                                   getdns_dict *reply, uint32_t status)
{
	getdns_list *support = getdns_list_create(), *replies = getdns_list_create(), *chain, *ans;
	char *name = xstrdup(qname);
	size_t n = strlen(name);
	int fetched = 0;

	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	util_lower(name);
	if (!support || !replies || getdns_list_set_dict(replies, 0, reply))
		goto out;
	if (!getdns_dict_get_list(resp, "validation_chain", &chain) &&
	    rrs_append(support, chain, NULL, 0, 0) < 0)
		goto out;
	for (size_t i = 0; i < d->nanchor_names; i++) {
		const char *a = d->anchor_names[i];
		size_t alen = strlen(a);
		getdns_dict *kresp = NULL;
		int r;
		/* only anchors at or above the queried name */
		if (!(strcmp(name, a) == 0 || alen == 0 ||
		      (strlen(name) > alen && name[strlen(name) - alen - 1] == '.' &&
		       strcmp(name + strlen(name) - alen, a) == 0)))
			continue;
		if (getdns_general_sync(d->ctx, alen ? a : ".", GETDNS_RRTYPE_DNSKEY, d->ext, &kresp))
			continue;
		r = getdns_dict_get_list(kresp, "/replies_tree/0/answer", &ans) ? -1
		    : rrs_append(support, ans, a, GETDNS_RRTYPE_DNSKEY, GETDNS_RRTYPE_RRSIG);
		getdns_dict_destroy(kresp);
		if (r < 0)
			goto out;
		fetched++;
	}
	if (fetched)
		status = (uint32_t)getdns_validate_dnssec2(replies, support, d->anchors, time(NULL), 0);
out:
	free(name);
	getdns_list_destroy(support);
	getdns_list_destroy(replies);
	return status;
}

/* dns: lookups through getdns in stub mode only, with raw TXT octets, TTLs and DNSSEC status
 * (the trust anchors and the second validation are in dns_dnssec.c). */
#include "common/dns.h"
#include "common/dns_internal.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_DEFAULT_TIMEOUT_MS 5000
#define DNS_MAX_CNAME_HOPS 8     /* re-queries for CNAME targets an authoritative upstream left out */
#define DNS_MAX_CHAIN 16         /* CNAMEs followed inside one answer section */
#define DNS_UDP_PAYLOAD 1232     /* DNS flag day 2020: larger answers come back truncated, then TCP */

/* Called for every RR of the asked type at the final owner: rdata is the wire-format RDATA. */
typedef int (*dns_rr_fn)(struct dns_answer *ans, uint16_t type, const uint8_t *rd, size_t rdlen,
                         uint32_t ttl);

const char *dns_result_name(enum dns_rcode_class c)
{
	switch (c) {
	case DNS_OK: return "NOERROR";
	case DNS_NODATA: return "NODATA";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	case DNS_SERVFAIL: return "SERVFAIL";
	case DNS_TIMEOUT: return "TIMEOUT";
	case DNS_BOGUS: return "BOGUS";
	case DNS_INSECURE: return "INSECURE";
	}
	return "UNKNOWN";
}

static const char *rcode_name(uint32_t rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                                    "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
	                                    "NXRRSET", "NOTAUTH", "NOTZONE"};
	return rcode < sizeof names / sizeof names[0] ? names[rcode] : "an error rcode";
}

static const char *type_name(uint16_t type)
{
	switch (type) {
	case GETDNS_RRTYPE_A: return "A";
	case GETDNS_RRTYPE_AAAA: return "AAAA";
	case GETDNS_RRTYPE_TXT: return "TXT";
	case GETDNS_RRTYPE_CAA: return "CAA";
	}
	return "?";
}

struct dns *dns_new(const struct dns_options *opt, char *err, size_t errlen)
{
	static const getdns_transport_list_t transports[] = {GETDNS_TRANSPORT_UDP, GETDNS_TRANSPORT_TCP};
	static const getdns_namespace_t namespaces[] = {GETDNS_NAMESPACE_DNS};
	struct dns *d = xcalloc(1, sizeof *d);
	getdns_return_t r;

	d->dnssec = opt->dnssec;
	d->timeout_ms = opt->timeout_ms ? opt->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
	for (size_t i = 0; opt->resolvers && i < opt->nresolvers; i++) {
		d->ups = xrealloc(d->ups, (d->nups + 1) * sizeof *d->ups);
		if (dns_upstream_parse(opt->resolvers[i], &d->ups[d->nups], err, errlen) < 0)
			goto fail;
		d->nups++;
	}
	if (d->nups == 0 && dns_upstream_resolv_conf(d, err, errlen) < 0)
		goto fail;

	/* set_from_os = 0: no resolv.conf, no hosts file, no search list inside getdns. */
	if ((r = getdns_context_create(&d->ctx, 0)) != GETDNS_RETURN_GOOD) {
		util_snprintf_utf8(err, errlen, "getdns_context_create: %s", getdns_get_errorstr_by_id(r));
		goto fail;
	}
	/* Stub only; and an empty verify CA/e-mail turns off getdns 1.6's zero-configuration DNSSEC
	 * (it would otherwise read and fetch root-anchors.xml from data.iana.org). */
	if ((r = getdns_context_set_resolution_type(d->ctx, GETDNS_RESOLUTION_STUB)) ||
	    (r = getdns_context_set_trust_anchors_verify_CA(d->ctx, "")) ||
	    (r = getdns_context_set_trust_anchors_verify_email(d->ctx, "")) ||
	    (r = getdns_context_set_namespaces(d->ctx, 1, namespaces)) ||
	    (r = getdns_context_set_append_name(d->ctx, GETDNS_APPEND_NAME_NEVER)) ||
	    (r = getdns_context_set_dns_transport_list(d->ctx, 2, (getdns_transport_list_t *)transports)) ||
	    (r = getdns_context_set_edns_maximum_udp_payload_size(d->ctx, DNS_UDP_PAYLOAD)) ||
	    (r = getdns_context_set_round_robin_upstreams(d->ctx, 0)) ||
	    (r = getdns_context_set_timeout(d->ctx, d->timeout_ms))) {
		util_snprintf_utf8(err, errlen, "getdns context setup: %s", getdns_get_errorstr_by_id(r));
		goto fail;
	}
	if (dns_upstream_apply(d, err, errlen) < 0 || dns_dnssec_set_trust_anchors(d, opt, err, errlen) < 0)
		goto fail;

	d->ext = getdns_dict_create();
	if (!d->ext || getdns_dict_set_int(d->ext, "return_call_reporting", GETDNS_EXTENSION_TRUE)) {
		util_snprintf_utf8(err, errlen, "getdns_dict_create failed");
		goto fail;
	}
	/* dnssec_return_status sets the DO bit and validates; all_statuses keeps bogus replies in
	 * the response (marked) instead of dropping them, so bogus is told apart from no answer. */
	if (d->dnssec != DNS_DNSSEC_OFF &&
	    (getdns_dict_set_int(d->ext, "dnssec_return_status", GETDNS_EXTENSION_TRUE) ||
	     getdns_dict_set_int(d->ext, "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE) ||
	     getdns_dict_set_int(d->ext, "dnssec_return_validation_chain", GETDNS_EXTENSION_TRUE))) {
		util_snprintf_utf8(err, errlen, "getdns_dict_set_int failed");
		goto fail;
	}
	return d;
fail:
	dns_free(d);
	return NULL;
}

void dns_free(struct dns *d)
{
	if (!d)
		return;
	getdns_dict_destroy(d->ext);
	getdns_list_destroy(d->anchors);
	for (size_t i = 0; i < d->nanchor_names; i++)
		free(d->anchor_names[i]);
	free(d->anchor_names);
	if (d->ctx)
		getdns_context_destroy(d->ctx);
	free(d->ups);
	free(d);
}

void dns_set_deadline(struct dns *d, double deadline)
{
	d->deadline = deadline;
}

struct dns *dns_new_backend(const struct dns_backend *b)
{
	struct dns *d = xcalloc(1, sizeof *d);
	d->backend = *b;
	return d;
}

void dns_answer_clear(struct dns_answer *ans)
{
	if (!ans)
		return;
	for (size_t i = 0; i < ans->ntxt; i++) {
		for (size_t j = 0; j < ans->txt[i].nstrs; j++)
			free(ans->txt[i].strs[j].data);
		free(ans->txt[i].strs);
	}
	free(ans->txt);
	for (size_t i = 0; i < ans->naddrs; i++)
		free(ans->addrs[i]);
	free(ans->addrs);
	for (size_t i = 0; i < ans->ncaa; i++)
		free(ans->caa[i]);
	free(ans->caa);
	memset(ans, 0, sizeof *ans);
}

/* Drop the records of a failed lookup, keeping its detail and resolver. */
static void answer_clear_records(struct dns_answer *ans)
{
	char detail[sizeof ans->detail], resolver[sizeof ans->resolver];
	enum dns_rcode_class result = ans->result;
	bool refused = ans->refused;
	memcpy(detail, ans->detail, sizeof detail);
	memcpy(resolver, ans->resolver, sizeof resolver);
	dns_answer_clear(ans);
	memcpy(ans->detail, detail, sizeof detail);
	memcpy(ans->resolver, resolver, sizeof resolver);
	ans->result = result;
	ans->refused = refused;
}

/* The upstreams as one string for details: "127.0.0.1:53, [::1]:53". */
static void upstreams_text(const struct dns *d, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < d->nups && used < outlen; i++) {
		int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", d->ups[i].text);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Which configured upstream the last query went to, from getdns's call reporting. */
static void note_resolver(const struct dns *d, getdns_dict *resp, struct dns_answer *ans)
{
	getdns_list *calls;
	getdns_dict *call, *to;
	getdns_bindata *addr;
	size_t n;

	util_snprintf_utf8(ans->resolver, sizeof ans->resolver, "%s", d->nups ? d->ups[0].text : "");
	if (getdns_dict_get_list(resp, "call_reporting", &calls) || getdns_list_get_length(calls, &n) ||
	    n == 0 || getdns_list_get_dict(calls, n - 1, &call) ||
	    getdns_dict_get_dict(call, "query_to", &to) ||
	    getdns_dict_get_bindata(to, "address_data", &addr))
		return;
	for (size_t i = 0; i < d->nups; i++) {
		size_t alen = d->ups[i].family == AF_INET ? 4 : 16;
		if (addr->size == alen && memcmp(addr->data, d->ups[i].addr, alen) == 0) {
			util_snprintf_utf8(ans->resolver, sizeof ans->resolver, "%s", d->ups[i].text);
			return;
		}
	}
}

/* One query, tried on each upstream in turn while they time out, all within d->timeout_ms
 * (getdns's stub sends one UDP query per request and moves to the next upstream only for the
 * next request). Returns the response (caller destroys) or NULL on timeout or failure; a
 * failure sets *failed and the detail. */
static getdns_dict *query(struct dns *d, const char *name, uint16_t type, struct dns_answer *ans,
                          int *failed)
{
	double start = util_now_mono();
	getdns_dict *resp = NULL;
	/* the whole query within d->timeout_ms, and within the caller's deadline when one is set */
	double budget_ms = d->timeout_ms;
	bool cut = false;
	if (d->deadline > 0 && (d->deadline - start) * 1000.0 < budget_ms) {
		budget_ms = (d->deadline - start) * 1000.0;
		cut = true;
	}

	*failed = 0;
	if (budget_ms < 1) {
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "the validation deadline had passed before %s %s could be asked", type_name(type), name);
		return NULL;
	}
	for (size_t attempt = 0; attempt < d->nups; attempt++) {
		double elapsed_ms = (util_now_mono() - start) * 1000.0;
		uint32_t status;
		getdns_return_t r;
		if (attempt > 0 && elapsed_ms + 20 >= budget_ms)
			break;
		uint64_t slice = (uint64_t)((budget_ms - elapsed_ms) / (double)(d->nups - attempt));
		getdns_context_set_timeout(d->ctx, slice ? slice : 1);
		r = getdns_general_sync(d->ctx, name, type, d->ext, &resp);
		if (r == GETDNS_RETURN_BAD_DOMAIN_NAME) {
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "\"%s\" is not a valid domain name", name);
			*failed = 1;
			return NULL;
		}
		if (r == GETDNS_RETURN_MEMORY_ERROR) {
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "getdns_general_sync for %s %s: %s",
			               type_name(type), name, getdns_get_errorstr_by_id(r));
			*failed = 1;
			return NULL;
		}
		if (r != GETDNS_RETURN_GOOD) /* the stub could not send (no route, ...): next one */
			continue;
		note_resolver(d, resp, ans);
		if (getdns_dict_get_int(resp, "status", &status) == GETDNS_RETURN_GOOD &&
		    status != GETDNS_RESPSTATUS_ALL_TIMEOUT)
			return resp;
		getdns_dict_destroy(resp);
		resp = NULL;
	}
	double took_ms = (util_now_mono() - start) * 1000.0;
	char ups[200];
	upstreams_text(d, ups, sizeof ups);
	util_snprintf_utf8(ans->resolver, sizeof ans->resolver, "%s", ups);
	if (took_ms + 100 < budget_ms)
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "no answer from %s for %s %s: the query failed after %.0f ms "
		               "(nothing listening there, or unreachable)", ups, type_name(type), name, took_ms);
	else if (cut)
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "no answer from %s for %s %s within the %.0f ms left before the validation deadline",
		               ups, type_name(type), name, budget_ms);
	else
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "no answer from %s for %s %s within %u ms", ups,
		               type_name(type), name, d->timeout_ms);
	return NULL;
}

/* Wire-format names compare case-insensitively: length octets are at most 63, below 'A'. */
static int wire_name_eq(const getdns_bindata *a, const getdns_bindata *b)
{
	if (a->size != b->size)
		return 0;
	for (size_t i = 0; i < a->size; i++) {
		unsigned char x = a->data[i], y = b->data[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

static void ttl_min(uint32_t *min, uint32_t ttl)
{
	if (ttl < *min)
		*min = ttl;
}

/* The answer section's RRs of `type` at the end of the CNAME chain that starts at `asked`, the
 * name this query was sent for (never the reply's own question: RFC 1034 §3.7 and RFC 5452 §9.1,
 * an answer counts only for the question that was asked). Returns how many RRs were passed to fn
 * (-1 if fn failed, -2 for a CNAME chain that does not end: a loop); *end is the chain's last
 * owner (borrowed from asked or the reply). */
static int collect(getdns_dict *reply, getdns_bindata *asked, uint16_t type, dns_rr_fn fn,
                   struct dns_answer *ans, uint32_t *min, getdns_bindata **end)
{
	getdns_list *answer;
	getdns_dict *rr;
	getdns_bindata *owner = asked, *name, *target, *rdata;
	size_t n = 0;
	uint32_t t, ttl;
	int found = 0, moved = 1;

	*end = owner;
	if (getdns_dict_get_list(reply, "answer", &answer) || getdns_list_get_length(answer, &n))
		return 0;
	for (int hops = 0; moved && hops < DNS_MAX_CHAIN; hops++) {
		moved = 0;
		for (size_t i = 0; i < n && !moved; i++) {
			if (getdns_list_get_dict(answer, i, &rr) || getdns_dict_get_int(rr, "type", &t) ||
			    t != GETDNS_RRTYPE_CNAME || getdns_dict_get_bindata(rr, "name", &name) ||
			    !wire_name_eq(name, owner) ||
			    getdns_dict_get_bindata(rr, "/rdata/cname", &target))
				continue;
			if (!getdns_dict_get_int(rr, "ttl", &ttl))
				ttl_min(min, ttl);
			owner = target;
			moved = 1;
		}
	}
	if (moved) /* still moving after DNS_MAX_CHAIN hops: a loop (or an absurd chain) */
		return -2;
	*end = owner;
	for (size_t i = 0; i < n; i++) {
		if (getdns_list_get_dict(answer, i, &rr) || getdns_dict_get_int(rr, "type", &t) ||
		    t != type || getdns_dict_get_bindata(rr, "name", &name) ||
		    !wire_name_eq(name, owner) || getdns_dict_get_int(rr, "ttl", &ttl) ||
		    getdns_dict_get_bindata(rr, "/rdata/rdata_raw", &rdata))
			continue;
		if (fn(ans, type, rdata->data, rdata->size, ttl) < 0)
			return -1;
		ttl_min(min, ttl);
		found++;
	}
	return found;
}

/* RFC 5452 §9.1: a reply is for the question asked, same name (in any case) and type, or it is
 * not an answer at all. 1 when it matches; else 0 with what the reply asked in words in got. */
static int question_matches(getdns_dict *reply, const getdns_bindata *asked, uint16_t type, char *got,
                            size_t gotlen)
{
	getdns_bindata *qname;
	uint32_t qtype;
	char *text = NULL;

	if (getdns_dict_get_bindata(reply, "/question/qname", &qname) ||
	    getdns_dict_get_int(reply, "/question/qtype", &qtype)) {
		util_snprintf_utf8(got, gotlen, "no question at all (QDCOUNT 0)");
		return 0;
	}
	if (qtype == type && wire_name_eq(qname, asked))
		return 1;
	if (getdns_convert_dns_name_to_fqdn(qname, &text) != GETDNS_RETURN_GOOD)
		text = NULL;
	size_t tl = text ? strlen(text) : 0;
	if (tl > 1 && text[tl - 1] == '.')
		text[tl - 1] = '\0';
	util_snprintf_utf8(got, gotlen, "the question %s %s", qtype == type ? type_name(type) : "of another type",
	               text ? text : "(unreadable name)");
	free(text);
	return 0;
}

enum judged { JUDGED_DONE, JUDGED_FOLLOW, JUDGED_FAILED };

/* One response (resp, as getdns gives it) to the question (cur, type), asked while looking up
 * `name`, judged into ans: DONE with ans->result set; FOLLOW with *next the CNAME target the
 * upstream left out (the caller owns it); FAILED for an internal failure (detail set). The one
 * path every reply takes, from the network (resolve) or from raw bytes (dns_judge_wire). */
static enum judged judge(struct dns *d, const char *name, const char *cur, getdns_bindata *asked, uint16_t type,
                         dns_rr_fn fn, getdns_dict *resp, struct dns_answer *ans, uint32_t *min, int *secure,
                         char **next)
{
	getdns_dict *reply;
	getdns_bindata *end;
	uint32_t rcode, tc, dstatus = GETDNS_DNSSEC_INDETERMINATE;
	int found;
	char got[300];

	*next = NULL;
	if (getdns_dict_get_dict(resp, "/replies_tree/0", &reply) ||
	    getdns_dict_get_int(reply, "/header/rcode", &rcode)) {
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "getdns gave no reply for %s %s", type_name(type), cur);
		return JUDGED_FAILED;
	}
	if (!question_matches(reply, asked, type, got, sizeof got)) {
		ans->result = DNS_SERVFAIL;
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "the reply from %s for %s %s answered %s; it was discarded (RFC 5452 §9.1)",
		               ans->resolver, type_name(type), cur, got);
		return JUDGED_DONE;
	}
	if (!getdns_dict_get_int(reply, "/header/tc", &tc) && tc) {
		/* RFC 7766: a truncated answer is retried over TCP; this one could not be */
		ans->result = DNS_SERVFAIL;
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "the answer from %s for %s %s was truncated and the TCP retry failed", ans->resolver,
		               type_name(type), cur);
		return JUDGED_DONE;
	}
	if (rcode != 0 && rcode != 3) {
		ans->result = DNS_SERVFAIL;
		ans->refused = rcode == 5;
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "%s from %s for %s %s", rcode_name(rcode), ans->resolver,
		               type_name(type), cur);
		return JUDGED_DONE;
	}
	if (d->dnssec != DNS_DNSSEC_OFF) {
		(void)getdns_dict_get_int(reply, "dnssec_status", &dstatus);
		if (dstatus == GETDNS_DNSSEC_BOGUS || (dstatus != GETDNS_DNSSEC_SECURE && d->dnssec == DNS_DNSSEC_REQUIRE))
			dstatus = dns_dnssec_validate_again(d, cur, resp, reply, dstatus);
		if (dstatus == GETDNS_DNSSEC_BOGUS) {
			ans->result = DNS_BOGUS;
			util_snprintf_utf8(ans->detail, sizeof ans->detail,
			               "DNSSEC validation failed (bogus) for %s %s from %s "
			               "with the trust anchors of %s",
			               type_name(type), cur, ans->resolver, d->anchor_file);
			return JUDGED_DONE;
		}
		if (dstatus != GETDNS_DNSSEC_SECURE) {
			*secure = 0;
			if (d->dnssec == DNS_DNSSEC_REQUIRE) {
				ans->result = DNS_INSECURE;
				util_snprintf_utf8(ans->detail, sizeof ans->detail,
				               "the answer for %s %s from %s is not DNSSEC-signed under the "
				               "trust anchors of %s, and dnssec is require",
				               type_name(type), cur, ans->resolver, d->anchor_file);
				return JUDGED_DONE;
			}
		}
	}
	if (rcode == 3) {
		ans->result = DNS_NXDOMAIN;
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "NXDOMAIN from %s: %s does not exist", ans->resolver, cur);
		return JUDGED_DONE;
	}
	if ((found = collect(reply, asked, type, fn, ans, min, &end)) == -2) {
		ans->result = DNS_SERVFAIL; /* RFC 1034 §3.6.2: CNAME loops are an error, not "no data" */
		util_snprintf_utf8(ans->detail, sizeof ans->detail,
		               "the answer from %s for %s %s is a CNAME loop (no end after %d CNAMEs)", ans->resolver,
		               type_name(type), cur, DNS_MAX_CHAIN);
		return JUDGED_DONE;
	}
	if (found < 0) {
		/* the upstream's fault, not ours: a dns failure, and nothing of this answer is kept */
		ans->result = DNS_SERVFAIL;
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "malformed %s record in the answer from %s for %s",
		               type_name(type), ans->resolver, cur);
		return JUDGED_DONE;
	}
	if (found > 0) {
		ans->result = DNS_OK;
		if (strcmp(cur, name) == 0 && wire_name_eq(asked, end))
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "%d %s record%s at %s from %s", found,
			               type_name(type), found == 1 ? "" : "s", name, ans->resolver);
		else
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "%d %s record%s at %s (through CNAME) from %s", found,
			               type_name(type), found == 1 ? "" : "s", name, ans->resolver);
		return JUDGED_DONE;
	}
	if (!wire_name_eq(asked, end) && getdns_convert_dns_name_to_fqdn(end, next) == 0)
		return JUDGED_FOLLOW; /* the chain ends at a CNAME target the upstream left out */
	ans->result = DNS_NODATA;
	util_snprintf_utf8(ans->detail, sizeof ans->detail, "no %s record at %s%s%s (NOERROR, no data) from %s",
	               type_name(type), name, strcmp(cur, name) ? " via CNAME to " : "", strcmp(cur, name) ? cur : "",
	               ans->resolver);
	return JUDGED_DONE;
}

/* What is kept of a finished lookup: DNSSEC status only for a real answer, the smallest TTL, and
 * no records after a failure. */
static void finish_answer(struct dns_answer *ans, int secure, uint32_t min)
{
	if (ans->result != DNS_TIMEOUT && ans->result != DNS_SERVFAIL && ans->result != DNS_BOGUS &&
	    ans->result != DNS_INSECURE)
		ans->secure = secure;
	if (ans->result == DNS_SERVFAIL)
		answer_clear_records(ans);
	ans->min_ttl = min == UINT32_MAX ? 0 : min;
}

static void bindata_free(getdns_bindata *b)
{
	if (b)
		free(b->data);
	free(b);
}

/* Looks up `type` at `name`, following CNAMEs (also those an authoritative upstream does not
 * chase itself), and classifies the outcome into ans. Returns 0, or -1 on internal failure. */
static int resolve(struct dns *d, const char *name, uint16_t type, dns_rr_fn fn,
                   struct dns_answer *ans)
{
	char *cur = xstrdup(name), *next = NULL;
	getdns_dict *resp = NULL;
	getdns_bindata *asked = NULL;
	uint32_t min = UINT32_MAX;
	int secure = d->dnssec != DNS_DNSSEC_OFF, rc = -1, failed;

	memset(ans, 0, sizeof *ans);
	for (int hop = 0;; hop++) {
		if (hop > DNS_MAX_CNAME_HOPS) {
			ans->result = DNS_SERVFAIL;
			util_snprintf_utf8(ans->detail, sizeof ans->detail,
			               "CNAME chain from %s is longer than %d hops", name, DNS_MAX_CNAME_HOPS);
			break;
		}
		getdns_dict_destroy(resp);
		resp = NULL;
		bindata_free(asked);
		asked = NULL;
		if (getdns_convert_fqdn_to_dns_name(cur, &asked) != GETDNS_RETURN_GOOD) {
			asked = NULL;
			ans->result = DNS_SERVFAIL;
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "\"%s\" is not a valid domain name", cur);
			break;
		}
		if (!(resp = query(d, cur, type, ans, &failed))) {
			if (failed)
				goto out;
			ans->result = DNS_TIMEOUT;
			break;
		}
		enum judged j = judge(d, name, cur, asked, type, fn, resp, ans, &min, &secure, &next);
		if (j == JUDGED_FAILED)
			goto out;
		if (j == JUDGED_DONE)
			break;
		free(cur);
		cur = next;
		next = NULL;
	}
	finish_answer(ans, secure, min);
	rc = 0;
out:
	if (rc < 0) { /* keep only the detail: nothing else of a failed lookup is meaningful */
		answer_clear_records(ans);
		ans->result = DNS_SERVFAIL;
	}
	getdns_dict_destroy(resp);
	bindata_free(asked);
	free(cur);
	free(next);
	return rc;
}

/* One question: to the backend when there is one (unit tests), else through getdns. */
static int ask(struct dns *d, const char *name, uint16_t type, dns_rr_fn fn, struct dns_answer *ans)
{
	if (!d->backend.lookup)
		return resolve(d, name, type, fn, ans);
	memset(ans, 0, sizeof *ans);
	return d->backend.lookup(d->backend.arg, name, type, ans);
}

/* RFC 1035 §3.3.14: TXT RDATA is one or more <character-string>s, each a length octet and
 * that many octets, kept here exactly as they are on the wire. */
static int txt_rr(struct dns_answer *ans, uint16_t type, const uint8_t *rd, size_t rdlen,
                  uint32_t ttl)
{
	struct dns_txt_rr rr = {NULL, 0, ttl};
	size_t off = 0;

	(void)type;
	while (off < rdlen) {
		size_t len = rd[off++];
		if (len > rdlen - off) {
			for (size_t i = 0; i < rr.nstrs; i++)
				free(rr.strs[i].data);
			free(rr.strs);
			return -1;
		}
		rr.strs = xrealloc(rr.strs, (rr.nstrs + 1) * sizeof *rr.strs);
		rr.strs[rr.nstrs].data = xmalloc(len + 1);
		memcpy(rr.strs[rr.nstrs].data, rd + off, len);
		rr.strs[rr.nstrs].data[len] = '\0';
		rr.strs[rr.nstrs].len = len;
		rr.nstrs++;
		off += len;
	}
	ans->txt = xrealloc(ans->txt, (ans->ntxt + 1) * sizeof *ans->txt);
	ans->txt[ans->ntxt++] = rr;
	return 0;
}

static int addr_rr(struct dns_answer *ans, uint16_t type, const uint8_t *rd, size_t rdlen,
                   uint32_t ttl)
{
	char text[INET6_ADDRSTRLEN];
	int af = type == GETDNS_RRTYPE_A ? AF_INET : AF_INET6;

	(void)ttl;
	if (rdlen != (af == AF_INET ? 4u : 16u) || !inet_ntop(af, rd, text, sizeof text))
		return -1;
	ans->addrs = xrealloc(ans->addrs, (ans->naddrs + 1) * sizeof *ans->addrs);
	ans->addrs[ans->naddrs++] = xstrdup(text);
	return 0;
}

/* RFC 8659 §4.1: flags octet, tag length, tag, value (the rest). Kept as "flags tag value"
 * with the value's octets unquoted. */
static int caa_rr(struct dns_answer *ans, uint16_t type, const uint8_t *rd, size_t rdlen,
                  uint32_t ttl)
{
	(void)type;
	(void)ttl;
	if (rdlen < 2 || rd[1] == 0 || (size_t)rd[1] > rdlen - 2)
		return -1;
	size_t taglen = rd[1], vlen = rdlen - 2 - taglen;
	char *s = xasprintf("%u %.*s ", rd[0], (int)taglen, (const char *)rd + 2);
	size_t slen = strlen(s);
	s = xrealloc(s, slen + vlen + 1);
	memcpy(s + slen, rd + 2 + taglen, vlen);
	s[slen + vlen] = '\0';
	ans->caa = xrealloc(ans->caa, (ans->ncaa + 1) * sizeof *ans->caa);
	ans->caa[ans->ncaa++] = s;
	return 0;
}

int dns_judge_wire(struct dns *d, const char *name, uint16_t type, const uint8_t *wire, size_t len,
                   struct dns_answer *ans)
{
	static const struct {
		uint16_t type;
		dns_rr_fn fn;
	} fns[] = {{GETDNS_RRTYPE_TXT, txt_rr}, {GETDNS_RRTYPE_A, addr_rr}, {GETDNS_RRTYPE_AAAA, addr_rr},
	           {GETDNS_RRTYPE_CAA, caa_rr}};
	dns_rr_fn fn = NULL;
	getdns_bindata *asked = NULL;
	getdns_dict *reply = NULL, *resp = NULL;
	getdns_list *tree = NULL;
	uint32_t min = UINT32_MAX;
	int secure = 0, rc = -1;
	char *next = NULL;

	memset(ans, 0, sizeof *ans);
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
		if (fns[i].type == type)
			fn = fns[i].fn;
	if (!fn || getdns_convert_fqdn_to_dns_name(name, &asked) != GETDNS_RETURN_GOOD) {
		asked = NULL;
		goto out;
	}
	util_snprintf_utf8(ans->resolver, sizeof ans->resolver, "%s", "(wire)");
	if (getdns_wire2msg_dict(wire, len, &reply) != GETDNS_RETURN_GOOD) {
		/* what getdns itself refuses never reaches judge(): a timeout, as for a dropped reply */
		ans->result = DNS_TIMEOUT;
		rc = 0;
		goto out;
	}
	if (!(resp = getdns_dict_create()) || !(tree = getdns_list_create()) ||
	    getdns_list_set_dict(tree, 0, reply) || getdns_dict_set_list(resp, "replies_tree", tree))
		goto out;
	if (judge(d, name, name, asked, type, fn, resp, ans, &min, &secure, &next) == JUDGED_FAILED)
		goto out;
	if (next) { /* a CNAME to follow: the lookup would ask again; here it ends without data */
		ans->result = DNS_NODATA;
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "the answer ends at a CNAME to %s", next);
	}
	finish_answer(ans, secure, min);
	rc = 0;
out:
	if (rc < 0) {
		answer_clear_records(ans);
		ans->result = DNS_SERVFAIL;
	}
	free(next);
	getdns_list_destroy(tree);
	getdns_dict_destroy(resp);
	getdns_dict_destroy(reply);
	bindata_free(asked);
	return rc;
}

int dns_txt(struct dns *d, const char *name, struct dns_answer *ans)
{
	return ask(d, name, GETDNS_RRTYPE_TXT, txt_rr, ans);
}

int dns_caa(struct dns *d, const char *name, struct dns_answer *ans)
{
	return ask(d, name, GETDNS_RRTYPE_CAA, caa_rr, ans);
}

/* A then AAAA. Addresses from either make the answer OK (as Boulder does); otherwise a failure
 * of either lookup decides, then NXDOMAIN, then NODATA. */
int dns_addrs(struct dns *d, const char *name, struct dns_answer *ans)
{
	struct dns_answer a6;
	int rc = -1;

	memset(&a6, 0, sizeof a6);
	if (ask(d, name, GETDNS_RRTYPE_A, addr_rr, ans) < 0)
		return -1;
	if (ask(d, name, GETDNS_RRTYPE_AAAA, addr_rr, &a6) < 0) {
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "%s", a6.detail);
		goto out;
	}
	if (a6.naddrs > 0) {
		ans->addrs = xrealloc(ans->addrs, (ans->naddrs + a6.naddrs) * sizeof *ans->addrs);
		memcpy(ans->addrs + ans->naddrs, a6.addrs, a6.naddrs * sizeof *a6.addrs);
		ans->naddrs += a6.naddrs;
		free(a6.addrs);
		a6.addrs = NULL;
		a6.naddrs = 0;
		if (ans->result != DNS_OK || a6.min_ttl < ans->min_ttl)
			ans->min_ttl = a6.min_ttl;
	}
	if (ans->naddrs > 0) {
		bool failed6 = a6.result != DNS_OK && a6.result != DNS_NODATA;
		bool failed4 = ans->result != DNS_OK && ans->result != DNS_NODATA;
		ans->secure = (ans->result == DNS_OK ? ans->secure : true) &&
		              (a6.result == DNS_OK ? a6.secure : true);
		if (failed4 || failed6)
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "%zu address%s for %s from %s (%s lookup: %s)",
			               ans->naddrs, ans->naddrs == 1 ? "" : "es", name, ans->resolver,
			               failed4 ? "A" : "AAAA", failed4 ? "failed" : a6.detail);
		else
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "%zu address%s for %s from %s", ans->naddrs,
			               ans->naddrs == 1 ? "" : "es", name, ans->resolver);
		ans->result = DNS_OK;
	} else if (a6.result != ans->result && ans->result != DNS_BOGUS &&
	           ans->result != DNS_INSECURE && ans->result != DNS_SERVFAIL &&
	           ans->result != DNS_TIMEOUT &&
	           (a6.result != DNS_NODATA || ans->result != DNS_NXDOMAIN)) {
		ans->result = a6.result; /* the AAAA failure is the more telling one */
		ans->secure = a6.secure;
		util_snprintf_utf8(ans->detail, sizeof ans->detail, "%s", a6.detail);
		util_snprintf_utf8(ans->resolver, sizeof ans->resolver, "%s", a6.resolver);
	} else {
		ans->secure = ans->secure && a6.secure;
		if (ans->result == DNS_NODATA)
			util_snprintf_utf8(ans->detail, sizeof ans->detail, "no A or AAAA record at %s (NOERROR, no data) from %s",
			               name, ans->resolver);
	}
	rc = 0;
out:
	dns_answer_clear(&a6);
	return rc;
}

/* dns_fake: answers one DNS question from a table (see dns_fake.h), with details worded as
 * common/dns.c words them so the validators' messages read as they do against a real resolver. */
#include "test/unit/dns_fake.h"
#include "common/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *qtype_name(uint16_t t)
{
	switch (t) {
	case DNS_QTYPE_A: return "A";
	case DNS_QTYPE_AAAA: return "AAAA";
	case DNS_QTYPE_TXT: return "TXT";
	case DNS_QTYPE_CAA: return "CAA";
	default: return "?";
	}
}

static void add_record(struct dns_answer *ans, const struct dns_fake_rr *rr)
{
	if (rr->qtype == DNS_QTYPE_TXT) {
		struct dns_txt_rr *t;
		ans->txt = xrealloc(ans->txt, (ans->ntxt + 1) * sizeof *ans->txt);
		t = &ans->txt[ans->ntxt++];
		memset(t, 0, sizeof *t);
		t->ttl = rr->ttl;
		for (size_t i = 0; i < DNS_FAKE_MAX_STRS && rr->data[i]; i++) {
			t->strs = xrealloc(t->strs, (t->nstrs + 1) * sizeof *t->strs);
			t->strs[t->nstrs].data = (unsigned char *)xstrdup(rr->data[i]);
			t->strs[t->nstrs].len = strlen(rr->data[i]);
			t->nstrs++;
		}
	} else if (rr->qtype == DNS_QTYPE_CAA) {
		ans->caa = xrealloc(ans->caa, (ans->ncaa + 1) * sizeof *ans->caa);
		ans->caa[ans->ncaa++] = xstrdup(rr->data[0]);
	} else {
		ans->addrs = xrealloc(ans->addrs, (ans->naddrs + 1) * sizeof *ans->addrs);
		ans->addrs[ans->naddrs++] = xstrdup(rr->data[0]);
	}
	if (ans->min_ttl == 0 || rr->ttl < ans->min_ttl)
		ans->min_ttl = rr->ttl;
}

/* Whether name exists: it owns a row, or a row stands below it (an empty non-terminal). */
static bool exists(const struct dns_fake *f, const char *name)
{
	size_t nl = strlen(name);
	for (const struct dns_fake_rr *rr = f->rrs; rr && rr->name; rr++) {
		size_t rl = strlen(rr->name);
		if (strcasecmp(rr->name, name) == 0 ||
		    (rl > nl && rr->name[rl - nl - 1] == '.' && strcasecmp(rr->name + rl - nl, name) == 0))
			return true;
	}
	return false;
}

static int lookup(void *arg, const char *name, uint16_t qtype, struct dns_answer *ans)
{
	struct dns_fake *f = arg;
	const char *tn = qtype_name(qtype), *dot = strchr(name, '.');
	char owner[300];
	int found = 0;

	if (f->nasked < DNS_FAKE_MAX_ASKED)
		snprintf(f->asked[f->nasked++], sizeof f->asked[0], "%s %s", tn, name);
	if (f->on_question) {
		char q[320];
		snprintf(q, sizeof q, "%s %s", tn, name);
		f->on_question(f->ctx, q);
	}
	snprintf(ans->resolver, sizeof ans->resolver, "%s", DNS_FAKE_RESOLVER);
	if (f->fail_internal) {
		snprintf(ans->detail, sizeof ans->detail, "fake internal failure for %s %s", tn, name);
		ans->result = DNS_SERVFAIL;
		return -1;
	}
	/* RFC 4592 §3.3.1: a name that does not exist is answered from *.<its parent> when that
	 * exists, even as an empty non-terminal (then NODATA) */
	snprintf(owner, sizeof owner, "%s", name);
	if (!exists(f, name) && dot)
		snprintf(owner, sizeof owner, "*%s", dot);
	if (!exists(f, owner)) {
		ans->result = DNS_NXDOMAIN;
		snprintf(ans->detail, sizeof ans->detail, "NXDOMAIN from %s: %s does not exist", DNS_FAKE_RESOLVER,
		         name);
		return 0;
	}
	for (const struct dns_fake_rr *rr = f->rrs; rr && rr->name; rr++) {
		if (strcasecmp(rr->name, owner) != 0 || rr->qtype != qtype)
			continue;
		if (rr->result != DNS_OK) {
			dns_answer_clear(ans);
			snprintf(ans->resolver, sizeof ans->resolver, "%s", DNS_FAKE_RESOLVER);
			ans->result = rr->result;
			snprintf(ans->detail, sizeof ans->detail, "%s from %s for %s %s", dns_result_name(rr->result),
			         DNS_FAKE_RESOLVER, tn, name);
			return 0;
		}
		add_record(ans, rr);
		found++;
	}
	if (found) {
		ans->result = DNS_OK;
		snprintf(ans->detail, sizeof ans->detail, "%d %s record%s at %s from %s", found, tn,
		         found == 1 ? "" : "s", name, DNS_FAKE_RESOLVER);
	} else {
		ans->result = DNS_NODATA;
		snprintf(ans->detail, sizeof ans->detail, "no %s record at %s (NOERROR, no data) from %s", tn, name,
		         DNS_FAKE_RESOLVER);
	}
	return 0;
}

struct dns *dns_fake_new(struct dns_fake *f)
{
	struct dns_backend b = {.lookup = lookup, .arg = f};
	return dns_new_backend(&b);
}

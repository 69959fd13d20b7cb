/* cmd_dig: `cobble dig`, one lookup through common/dns printed as a JSON object, so a user (or a
 * test) sees exactly what the validator would see: raw TXT octets, TTLs, DNSSEC status. */
#include "common/dns.h"
#include "server/cmd.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIG_MAX_RESOLVERS 16

static void usage(FILE *out)
{
	fputs("usage: cobble dig [--resolver HOST:PORT]... [--dnssec off|validate|require]\n"
	      "                  [--trust-anchor FILE] [--timeout MS] TYPE NAME\n"
	      "TYPE is TXT, A (asks A and AAAA) or CAA. Without --resolver the nameservers of\n"
	      "/etc/resolv.conf are asked. Prints one JSON object; exits 0 when the name has records\n"
	      "of that type or none (NOERROR), 1 on any other outcome, 2 on a usage error.\n",
	      out);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* A JSON string of raw octets: valid UTF-8 (NUL included) as is, each other octet as U+FFFD;
 * the "hex" member next to it keeps the exact bytes. */
static json_t *json_octets(const unsigned char *s, size_t n)
{
	char *buf = malloc(n * 3 + 1);
	size_t o = 0;
	json_t *j;

	if (!buf)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(s + i, n - i);
		if (len == 0) {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, s + i, len);
			o += len;
			i += len;
		}
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

static json_t *json_hex(const unsigned char *s, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *buf = malloc(n * 2 + 1);
	json_t *j;

	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[s[i] >> 4];
		buf[2 * i + 1] = digits[s[i] & 15];
	}
	j = json_stringn(buf, n * 2);
	free(buf);
	return j;
}

/* {"ttl": N, "strings": [...], "hex": [...]} for one TXT RR. */
static json_t *txt_json(const struct dns_txt_rr *rr)
{
	json_t *strs = json_array(), *hex = json_array();

	for (size_t i = 0; strs && hex && i < rr->nstrs; i++) {
		json_array_append_new(strs, json_octets(rr->strs[i].data, rr->strs[i].len));
		json_array_append_new(hex, json_hex(rr->strs[i].data, rr->strs[i].len));
	}
	return json_pack("{s:I, s:o, s:o}", "ttl", (json_int_t)rr->ttl, "strings", strs, "hex", hex);
}

static json_t *answer_json(const char *type, const char *name, const struct dns_answer *a)
{
	/* the name is the user's bytes, and the detail may quote it: both through json_octets */
	json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:I}", "type", type, "name",
	                      json_octets((const unsigned char *)name, strlen(name)), "result",
	                      dns_result_name(a->result), "detail",
	                      json_octets((const unsigned char *)a->detail, strlen(a->detail)),
	                      "resolver",
	                      json_octets((const unsigned char *)a->resolver, strlen(a->resolver)),
	                      "secure", a->secure, "min_ttl", (json_int_t)a->min_ttl);
	json_t *arr;

	if (!o)
		return NULL;
	if (strcmp(type, "TXT") == 0) {
		arr = json_array();
		for (size_t i = 0; arr && i < a->ntxt; i++)
			json_array_append_new(arr, txt_json(&a->txt[i]));
		json_object_set_new(o, "txt", arr);
	} else if (strcmp(type, "A") == 0) {
		arr = json_array();
		for (size_t i = 0; arr && i < a->naddrs; i++)
			json_array_append_new(arr, json_string(a->addrs[i]));
		json_object_set_new(o, "addrs", arr);
	} else {
		arr = json_array();
		for (size_t i = 0; arr && i < a->ncaa; i++)
			json_array_append_new(arr, json_octets((const unsigned char *)a->caa[i],
			                                       strlen(a->caa[i])));
		json_object_set_new(o, "caa", arr);
	}
	return o;
}

int cmd_dig(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"resolver", required_argument, NULL, 'r'},
		{"dnssec", required_argument, NULL, 'd'},
		{"trust-anchor", required_argument, NULL, 't'},
		{"timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *resolvers[DIG_MAX_RESOLVERS];
	struct dns_options opt = {.resolvers = resolvers, .dnssec = DNS_DNSSEC_OFF};
	struct dns_answer ans;
	struct dns *d = NULL;
	json_t *out = NULL;
	const char *type;
	char err[256];
	int c, rc = 2, lookup;

	memset(&ans, 0, sizeof ans);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (opt.nresolvers == DIG_MAX_RESOLVERS) {
				fprintf(stderr, "cobble dig: at most %d resolvers\n", DIG_MAX_RESOLVERS);
				return 2;
			}
			resolvers[opt.nresolvers++] = optarg;
			break;
		case 'd':
			if (strcmp(optarg, "off") == 0)
				opt.dnssec = DNS_DNSSEC_OFF;
			else if (strcmp(optarg, "validate") == 0)
				opt.dnssec = DNS_DNSSEC_VALIDATE;
			else if (strcmp(optarg, "require") == 0)
				opt.dnssec = DNS_DNSSEC_REQUIRE;
			else {
				fprintf(stderr, "cobble dig: --dnssec must be off, validate or require\n");
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			opt.trust_anchor_file = optarg;
			break;
		case 'T': {
			char *end;
			unsigned long ms = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || ms == 0 || ms > 600000) {
				fprintf(stderr, "cobble dig: --timeout must be 1 to 600000 milliseconds\n");
				return 2;
			}
			opt.timeout_ms = (unsigned)ms;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "cobble dig: unknown or incomplete option %s\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (strcasecmp(argv[optind], "TXT") == 0)
		type = "TXT";
	else if (strcasecmp(argv[optind], "A") == 0)
		type = "A";
	else if (strcasecmp(argv[optind], "CAA") == 0)
		type = "CAA";
	else {
		fprintf(stderr, "cobble dig: TYPE must be TXT, A or CAA, not \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (opt.dnssec != DNS_DNSSEC_OFF && !opt.trust_anchor_file) {
		fprintf(stderr, "cobble dig: --dnssec %s needs --trust-anchor FILE\n",
		        opt.dnssec == DNS_DNSSEC_VALIDATE ? "validate" : "require");
		return 2;
	}
	if (!(d = dns_new(&opt, err, sizeof err))) {
		fprintf(stderr, "cobble dig: %s\n", err);
		return 2;
	}

	const char *name = argv[optind + 1];
	if (strcmp(type, "TXT") == 0)
		lookup = dns_txt(d, name, &ans);
	else if (strcmp(type, "A") == 0)
		lookup = dns_addrs(d, name, &ans);
	else
		lookup = dns_caa(d, name, &ans);
	if (lookup < 0) {
		fprintf(stderr, "cobble dig: %s\n", ans.detail[0] ? ans.detail : "lookup failed");
		rc = 1;
		goto out;
	}
	if (!(out = answer_json(type, name, &ans)) ||
	    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) < 0) {
		fprintf(stderr, "cobble dig: cannot write the JSON answer\n");
		rc = 1;
		goto out;
	}
	fputc('\n', stdout);
	rc = ans.result == DNS_OK || ans.result == DNS_NODATA ? 0 : 1;
out:
	json_decref(out);
	dns_answer_clear(&ans);
	dns_free(d);
	return rc;
}

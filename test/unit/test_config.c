/* test_config: server/config.c — config/cobble.json is the embedded default written out, every
 * file in config/ loads and validates, every key is read into its field, and every error message,
 * word for word, for a bad file, a bad environment knob and a configuration that cannot work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static char config_dir[PATH_MAX / 2]; /* the tree's config/, found by main */
static char tmp_dir[] = "/tmp/cobble-test-config.XXXXXX";

/* Write text to a file in tmp_dir; returns its path (static buffer). */
static const char *write_json(const char *text)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/c.json", tmp_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char *config_file(const char *name)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", config_dir, name);
	return path;
}

/* --- config/cobble.json ---------------------------------------------------------------------- */

static void assert_lists_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

/* Loaded into a zeroed struct (not over the defaults), so a key missing from the file shows. */
static void test_cobble_json_is_every_default(void **state)
{
	struct config def, file;
	char err[1024] = "";
	config_defaults(&def);
	memset(&file, 0, sizeof file);
	if (config_load(&file, config_file("cobble.json"), err, sizeof err) < 0)
		fail_msg("%s", err);
	/* not in the file: vaWorkers (4 per core, README), and what has no key at all (the
	 * environment's knobs, the queue length) */
	file.va_workers = def.va_workers;
	file.va_queue = def.va_queue;
	file.va_always_valid = def.va_always_valid;
	file.va_sleep_max = def.va_sleep_max;
	file.nonce_reject_percent = def.nonce_reject_percent;
	file.authz_reuse_percent = def.authz_reuse_percent;
	assert_lists_equal(file.tls_names, file.ntls_names, def.tls_names, def.ntls_names);
	assert_lists_equal(file.domain_blocklist, file.ndomain_blocklist, def.domain_blocklist, def.ndomain_blocklist);
	assert_lists_equal(file.challenges, file.nchallenges, def.challenges, def.nchallenges);
	assert_lists_equal(file.issuer_names, file.nissuer_names, def.issuer_names, def.nissuer_names);
	assert_lists_equal(file.resolvers, file.nresolvers, def.resolvers, def.nresolvers);
	assert_int_equal(file.neab_keys, def.neab_keys);
	/* everything else byte for byte, once the list pointers are set aside */
	struct config a = def, b = file;
	memset(a.tls_names, 0, sizeof a.tls_names);
	memset(b.tls_names, 0, sizeof b.tls_names);
	memset(a.domain_blocklist, 0, sizeof a.domain_blocklist);
	memset(b.domain_blocklist, 0, sizeof b.domain_blocklist);
	memset(a.challenges, 0, sizeof a.challenges);
	memset(b.challenges, 0, sizeof b.challenges);
	memset(a.issuer_names, 0, sizeof a.issuer_names);
	memset(b.issuer_names, 0, sizeof b.issuer_names);
	memset(a.resolvers, 0, sizeof a.resolvers);
	memset(b.resolvers, 0, sizeof b.resolvers);
	a.eab_keys = b.eab_keys = NULL;
	assert_memory_equal(&a, &b, sizeof a);
	config_clear(&def);
	config_clear(&file);
}

static void test_every_config_file_loads_and_validates(void **state)
{
	static const char *const files[] = {"cobble.json", "pebble.json", "dns-persist-02.json", "eab.json",
	                                    "ci.json"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct config c;
		char err[1024] = "";
		config_defaults(&c);
		if (config_load(&c, config_file(files[i]), err, sizeof err) < 0 || config_validate(&c, err, sizeof err) < 0)
			fail_msg("config/%s: %s", files[i], err);
		config_clear(&c);
	}
}

/* --- every key ------------------------------------------------------------------------------- */

/* Every key at a value other than its default; read into the field it names. */
static const char every_key[] =
    "{\"listenAddress\": \"127.0.0.1:1\", \"managementListenAddress\": \"127.0.0.1:2\","
    " \"certificate\": \"c.pem\", \"privateKey\": \"k.pem\", \"caBundleOut\": \"b.pem\","
    " \"baseURL\": \"https://ca.test:3\", \"tlsNames\": [\"cobble\", \"10.0.0.1\"], \"httpPort\": 4,"
    " \"tlsPort\": 5, \"ocspResponderURL\": \"http://ocsp.test\", \"externalAccountBindingRequired\": true,"
    " \"externalAccountMACKeys\": {\"kid-1\": \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"},"
    " \"domainBlocklist\": [\"blocked.test\"], \"retryAfter\": {\"authz\": 6, \"order\": 7},"
    " \"profiles\": {\"short\": {\"description\": \"six days\", \"validityPeriod\": 518400}, \"bare\": {}},"
    " \"certificateValidityPeriod\": 157766400, \"termsOfService\": \"https://tos.test\","
    " \"challenges\": [\"dns-01\"], \"keyAlgorithm\": \"rsa\", \"certificateValidityDays\": 8,"
    " \"chainLength\": 2, \"alternateRoots\": 3,"
    " \"dnsPersist\": {\"draft\": \"02\", \"issuerDomainNames\": [\"a.test\", \"b.test\"], \"jit\": true,"
    " \"subdomains\": true, \"strict\": true, \"reuse\": false, \"reuseMaxDays\": 9,"
    " \"accountHashPrefix\": \"https://ca.test/h/\","
    " \"failedValidationLimits\": {\"perIdentifier\": 1, \"perAccount\": 2, \"windowSeconds\": 60}},"
    " \"caa\": false, \"caaIdentities\": [\"a.test\", \"b.test\", \"c.test\"],"
    " \"dns\": {\"resolvers\": [\"127.0.0.1:53\", \"[::1]:5353\"], \"dnssec\": \"require\","
    " \"trustAnchor\": \"anchor.key\", \"timeoutMs\": 100},"
    " \"listeners\": {\"maxConnections\": 50, \"perAddress\": 5, \"reserve\": 10, \"reserveHolding\": 2,"
    " \"requestSeconds\": 30, \"handshakeSeconds\": 3},"
    " \"vaWorkers\": 11, \"logLevel\": \"debug\", \"logFormat\": \"json\", \"strict\": true}";

static void test_every_key_is_read_into_its_field(void **state)
{
	static const char *const wrappers[][2] = {{"", ""}, {"{\"cobble\": ", "}"}, {"{\"pebble\": ", "}"}};
	for (size_t w = 0; w < sizeof wrappers / sizeof wrappers[0]; w++) {
		struct config c;
		char err[1024] = "", text[4096];
		snprintf(text, sizeof text, "%s%s%s", wrappers[w][0], every_key, wrappers[w][1]);
		config_defaults(&c);
		if (config_load(&c, write_json(text), err, sizeof err) < 0 || config_validate(&c, err, sizeof err) < 0)
			fail_msg("%s", err);
		assert_string_equal(c.listen_address, "127.0.0.1:1");
		assert_string_equal(c.management_address, "127.0.0.1:2");
		assert_string_equal(c.certificate, "c.pem");
		assert_string_equal(c.private_key, "k.pem");
		assert_string_equal(c.ca_bundle_out, "b.pem");
		assert_string_equal(c.base_url, "https://ca.test:3");
		assert_int_equal(c.ntls_names, 2);
		assert_string_equal(c.tls_names[1], "10.0.0.1");
		assert_int_equal(c.http_port, 4);
		assert_int_equal(c.tls_port, 5);
		assert_string_equal(c.ocsp_responder_url, "http://ocsp.test");
		assert_true(c.eab_required);
		assert_int_equal(c.neab_keys, 1);
		assert_string_equal(c.eab_keys[0].kid, "kid-1");
		assert_int_equal(c.eab_keys[0].keylen, 32);
		assert_memory_equal(c.eab_keys[0].key, "0123456789abcdef0123456789abcdef", 32);
		assert_non_null(config_eab_key(&c, "kid-1"));
		assert_null(config_eab_key(&c, "kid-2"));
		assert_int_equal(c.ndomain_blocklist, 1);
		assert_string_equal(c.domain_blocklist[0], "blocked.test");
		assert_int_equal(c.retry_after_authz, 6);
		assert_int_equal(c.retry_after_order, 7);
		assert_int_equal(c.nprofiles, 2);
		assert_string_equal(c.profiles[0].name, "short");
		assert_string_equal(c.profiles[0].description, "six days");
		assert_int_equal(c.profiles[0].validity_seconds, 518400);
		assert_string_equal(c.profiles[1].description, "");
		assert_int_equal(c.profiles[1].validity_seconds, 90L * 86400); /* Pebble's default */
		assert_string_equal(c.terms_of_service, "https://tos.test");
		assert_int_equal(c.nchallenges, 1);
		assert_true(config_challenge_enabled(&c, "dns-01"));
		assert_false(config_challenge_enabled(&c, "http-01"));
		assert_int_equal(c.listeners.max_connections, 50);
		assert_int_equal(c.listeners.per_address, 5);
		assert_int_equal(c.listeners.reserve, 10);
		assert_int_equal(c.listeners.reserve_holding, 2);
		assert_int_equal(c.listeners.request_seconds, 30);
		assert_int_equal(c.listeners.handshake_seconds, 3);
		assert_int_equal(c.ca.key_type, CA_KEY_RSA2048);
		assert_int_equal(c.ca.validity_days, 8);
		assert_int_equal(c.ca.chain_length, 2);
		assert_int_equal(c.ca.alternate_roots, 3);
		assert_int_equal(c.persist_draft, PERSIST_DRAFT_02);
		assert_int_equal(c.nissuer_names, 2);
		assert_string_equal(c.issuer_names[1], "b.test");
		assert_true(c.persist_jit && c.persist_subdomains && c.persist_strict);
		assert_false(c.persist_reuse);
		assert_int_equal(c.persist_reuse_days, 9);
		assert_string_equal(c.account_hash_prefix, "https://ca.test/h/");
		assert_int_equal(c.fail_limit_identifier, 1);
		assert_int_equal(c.fail_limit_account, 2);
		assert_int_equal(c.fail_limit_window, 60);
		assert_false(c.caa);
		assert_int_equal(c.ncaa_identities, 3);
		assert_string_equal(c.caa_identities[2], "c.test");
		assert_int_equal(c.nresolvers, 2);
		assert_string_equal(c.resolvers[1], "[::1]:5353");
		assert_string_equal(c.dnssec, "require");
		assert_string_equal(c.trust_anchor, "anchor.key");
		assert_int_equal(c.dns_timeout_ms, 100);
		assert_int_equal(c.va_workers, 11);
		assert_string_equal(c.log_level, "debug");
		assert_string_equal(c.log_format, "json");
		assert_true(c.strict);
		config_clear(&c);
	}
}

static void test_a_later_list_replaces_the_default(void **state)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	assert_int_equal(config_load(&c, write_json("{\"dnsPersist\": {\"issuerDomainNames\": [\"x.test\"]}}"), err,
	                             sizeof err),
	                 0);
	assert_int_equal(c.nissuer_names, 1);
	assert_string_equal(c.issuer_names[0], "x.test");
	config_clear(&c);
}

/* --- every error message -------------------------------------------------------------------- */

/* A file and the message it gets: from config_load after "<path>: ", or from config_validate. */
struct bad_case {
	const char *rule, *json, *message;
};

#define ARR17 "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]"
#define LIST_MSG ": expected an array of strings (at most the documented number)"
#define RETRY_MSG "retryAfter: expected {\"authz\": seconds, \"order\": seconds}"
#define PROFILE_MSG "profiles.p: expected {\"description\": text, \"validityPeriod\": seconds}"
#define EAB_B64_MSG                                                                                                \
	"externalAccountMACKeys.kid-1: expected the MAC key as a base64url string (RFC 4648 §5: A-Z a-z 0-9 - _, no " \
	"padding)"

static const struct bad_case bad_files[] = {
    {"an unknown key is named", "{\"listenAdress\": \"x\"}", "unknown key \"listenAdress\""},
    {"an unknown key inside dnsPersist is named with its section", "{\"dnsPersist\": {\"jitt\": true}}",
     "unknown key \"dnsPersist.jitt\""},
    {"an unknown key inside dns is named with its section", "{\"dns\": {\"resolver\": []}}",
     "unknown key \"dns.resolver\""},
    {"dnsPersist that is not an object is not a section", "{\"dnsPersist\": true}", "unknown key \"dnsPersist\""},
    {"dns that is not an object is not a section", "{\"dns\": []}", "unknown key \"dns\""},
    {"listeners that is not an object is not a section", "{\"listeners\": 5}", "unknown key \"listeners\""},
    {"an unknown key inside listeners is named with its section", "{\"listeners\": {\"maxConns\": 5}}",
     "unknown key \"listeners.maxConns\""},
    {"a string key given a number", "{\"listenAddress\": 14000}", "listenAddress: expected a string"},
    {"a string longer than its field", "{\"logLevel\": \"aaaaaaaaaaaaaaaaaaaa\"}", "logLevel: expected a string"},
    {"an integer key given a string", "{\"httpPort\": \"5002\"}", "httpPort: expected an integer"},
    {"an integer beyond a billion", "{\"vaWorkers\": 2000000000}", "vaWorkers: expected an integer"},
    {"a boolean key given 1", "{\"strict\": 1}", "strict: expected true or false"},
    {"a list key given a string", "{\"tlsNames\": \"cobble\"}", "tlsNames" LIST_MSG},
    {"a list holding a number", "{\"domainBlocklist\": [\"a\", 1]}", "domainBlocklist" LIST_MSG},
    {"a list longer than its capacity", "{\"dns\": {\"resolvers\": " ARR17 "}}", "dns.resolvers" LIST_MSG},
    {"more than ten issuer names",
     "{\"dnsPersist\": {\"issuerDomainNames\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]}}",
     "dnsPersist.issuerDomainNames" LIST_MSG},
    {"failedValidationLimits is an object of whole numbers",
     "{\"dnsPersist\": {\"failedValidationLimits\": {\"perIdentifier\": -1}}}",
     "dnsPersist.failedValidationLimits: expected {\"perIdentifier\": n, \"perAccount\": n, \"windowSeconds\": "
     "seconds} with whole numbers >= 0 (0 turns a limit off)"},
    {"failedValidationLimits knows its keys", "{\"dnsPersist\": {\"failedValidationLimits\": {\"perIdent\": 1}}}",
     "dnsPersist.failedValidationLimits: expected {\"perIdentifier\": n, \"perAccount\": n, \"windowSeconds\": "
     "seconds} with whole numbers >= 0 (0 turns a limit off)"},
    {"caa is a boolean", "{\"caa\": \"on\"}", "caa: expected true or false"},
    {"a section key of the wrong type names its section", "{\"dnsPersist\": {\"jit\": \"yes\"}}",
     "dnsPersist.jit: expected true or false"},
    {"retryAfter must be an object", "{\"retryAfter\": 3}", RETRY_MSG},
    {"retryAfter seconds are integers", "{\"retryAfter\": {\"authz\": \"3\"}}", RETRY_MSG},
    {"retryAfter has no other keys", "{\"retryAfter\": {\"authz\": 3, \"cert\": 1}}", RETRY_MSG},
    {"keyAlgorithm is ecdsa or rsa", "{\"keyAlgorithm\": \"ed25519\"}", "keyAlgorithm: expected \"ecdsa\" or \"rsa\""},
    {"profiles must not be empty", "{\"profiles\": {}}", "profiles: expected an object of 1 to 16 profiles"},
    {"profiles is an object", "{\"profiles\": [\"default\"]}", "profiles: expected an object of 1 to 16 profiles"},
    {"a profile is an object", "{\"profiles\": {\"p\": 90}}", PROFILE_MSG},
    {"a profile's validityPeriod is an integer", "{\"profiles\": {\"p\": {\"validityPeriod\": \"90d\"}}}",
     PROFILE_MSG},
    {"a profile's description is text", "{\"profiles\": {\"p\": {\"description\": 1}}}", PROFILE_MSG},
    {"certificateValidityPeriod other than an integer is not Pebble's key",
     "{\"certificateValidityPeriod\": \"5y\"}", "unknown key \"certificateValidityPeriod\""},
    {"the draft is 01 or 02", "{\"dnsPersist\": {\"draft\": \"03\"}}", "dnsPersist.draft: expected \"01\" or \"02\""},
    {"the draft is a string", "{\"dnsPersist\": {\"draft\": 2}}", "dnsPersist.draft: expected \"01\" or \"02\""},
    {"externalAccountMACKeys is an object", "{\"externalAccountMACKeys\": [\"kid-1\"]}",
     "externalAccountMACKeys: expected an object {\"key id\": \"base64url MAC key\"}"},
    {"an empty EAB key id", "{\"externalAccountMACKeys\": {\"\": \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}}",
     "externalAccountMACKeys: a key id must be 1 to 127 characters, not 0"},
    {"an EAB key that is not base64url names its kid", "{\"externalAccountMACKeys\": {\"kid-1\": \"not base64!\"}}",
     EAB_B64_MSG},
    {"a padded EAB key is refused, as by Pebble",
     "{\"externalAccountMACKeys\": {\"kid-1\": \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY0=\"}}", EAB_B64_MSG},
    {"an empty EAB key", "{\"externalAccountMACKeys\": {\"kid-1\": \"\"}}", EAB_B64_MSG},
    {"an EAB key under 32 bytes (RFC 7518 §3.2)", "{\"externalAccountMACKeys\": {\"kid-1\": \"MDEyMzQ1Njc4OWFiY2RlZg\"}}",
     "externalAccountMACKeys.kid-1: the key is 16 bytes; HS256 needs at least 32 (RFC 7518 §3.2), e.g. "
     "`openssl rand 32 | basenc --base64url | tr -d =`"},
    {"keys inside Pebble's wrapper are checked too", "{\"pebble\": {\"httpPort\": \"5002\"}}",
     "httpPort: expected an integer"},
    {"a wrapper beside other keys is an unknown key", "{\"pebble\": {}, \"httpPort\": 1}", "unknown key \"pebble\""},
    {"the file must be a JSON object", "[1, 2]", "the configuration must be a JSON object"},
};

static void test_every_load_error_names_file_and_key(void **state)
{
	for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		struct config c;
		char err[1024] = "", want[1200];
		const char *path = write_json(bad_files[i].json);
		config_defaults(&c);
		print_message("# %s\n", bad_files[i].rule);
		assert_int_equal(config_load(&c, path, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: %s", path, bad_files[i].message);
		assert_string_equal(err, want);
		config_clear(&c);
	}
}

static void test_invalid_json_gives_file_line_and_column(void **state)
{
	struct config c;
	char err[1024] = "", want[1200];
	const char *path = write_json("{\"httpPort\": 5002,\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2:0: string or '}' expected", path);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(config_load(&c, write_json("{\"a\": 1, \"a\": 2}"), err, sizeof err), -1);
	assert_non_null(strstr(err, "duplicate object key"));
	config_clear(&c);
}

/* A configuration that loads but cannot work: config_validate's message, word for word. */
static const struct bad_case bad_configs[] = {
    {"listenAddress is HOST:PORT", "{\"listenAddress\": \"localhost\"}",
     "listenAddress \"localhost\": expected HOST:PORT"},
    {"managementListenAddress is HOST:PORT", "{\"managementListenAddress\": \"h:99999\"}",
     "managementListenAddress \"h:99999\": expected HOST:PORT"},
    {"certificate without privateKey", "{\"certificate\": \"c.pem\"}",
     "certificate and privateKey: give both or neither"},
    {"EAB required without keys", "{\"externalAccountBindingRequired\": true}",
     "externalAccountBindingRequired is true but externalAccountMACKeys is empty: no client could create an "
     "account; add {\"key id\": \"base64url MAC key\"}"},
    {"httpPort is a port", "{\"httpPort\": 0}", "httpPort/tlsPort: expected a port from 1 to 65535"},
    {"tlsPort is a port", "{\"tlsPort\": 65536}", "httpPort/tlsPort: expected a port from 1 to 65535"},
    {"retryAfter is not negative", "{\"retryAfter\": {\"order\": -1}}", "retryAfter: seconds must not be negative"},
    {"certificateValidityDays from 1", "{\"certificateValidityDays\": 0}", "certificateValidityDays: expected 1 to 3650"},
    {"certificateValidityDays to 3650", "{\"certificateValidityDays\": 3651}",
     "certificateValidityDays: expected 1 to 3650"},
    {"chainLength from 1", "{\"chainLength\": 0}", "chainLength: expected 1 to 10"},
    {"alternateRoots to 10", "{\"alternateRoots\": 11}", "alternateRoots: expected 0 to 10"},
    {"at least one challenge type", "{\"challenges\": []}", "challenges: enable at least one challenge type"},
    {"an unknown challenge type lists the known ones", "{\"challenges\": [\"http-02\"]}",
     "challenges: unknown type \"http-02\" (known: http-01, dns-01, tls-alpn-01, dns-persist-01, dns-account-01)"},
    {"at least one issuer name", "{\"dnsPersist\": {\"issuerDomainNames\": []}}",
     "dnsPersist.issuerDomainNames: expected 1 to 10 names"},
    {"issuer names are canonical", "{\"dnsPersist\": {\"issuerDomainNames\": [\"CA.Example.\"]}}",
     "dnsPersist.issuerDomainNames: \"CA.Example.\" is not a lowercase A-label domain name without a trailing dot"},
    {"reuse is capped at 10 days", "{\"dnsPersist\": {\"reuseMaxDays\": 11}}",
     "dnsPersist.reuseMaxDays: expected 0 to 10 (the Baseline Requirements cap reuse at 10 days)"},
    {"resolvers are addresses", "{\"dns\": {\"resolvers\": [\"dns.example:53\"]}}",
     "dns.resolvers: \"dns.example:53\" is not IP:PORT (an address, not a name: cobble asks no other resolver to "
     "find its resolver; IPv6 as [::1]:53)"},
    {"an IPv6 resolver is in brackets", "{\"dns\": {\"resolvers\": [\"::1:53x\"]}}",
     "dns.resolvers: \"::1:53x\" is not IP:PORT (an address, not a name: cobble asks no other resolver to find "
     "its resolver; IPv6 as [::1]:53)"},
    {"tlsNames are names or addresses", "{\"tlsNames\": [\"a b\"]}",
     "tlsNames: \"a b\" is not a host name or IP address"},
    {"dnssec is off, validate or require", "{\"dns\": {\"dnssec\": \"on\"}}",
     "dns.dnssec: expected \"off\", \"validate\" or \"require\""},
    {"DNSSEC needs a trust anchor", "{\"dns\": {\"dnssec\": \"validate\"}}",
     "dns.trustAnchor: a trust anchor file is required when dns.dnssec is not \"off\" (cobble never downloads one)"},
    {"the DNS timeout from 100 ms", "{\"dns\": {\"timeoutMs\": 99}}", "dns.timeoutMs: expected 100 to 60000"},
    {"the DNS timeout to a minute", "{\"dns\": {\"timeoutMs\": 60001}}", "dns.timeoutMs: expected 100 to 60000"},
    {"a listener takes at least one connection", "{\"listeners\": {\"maxConnections\": 0}}",
     "listeners.maxConnections: expected 1 to 100000"},
    {"an address holds no more than the listener", "{\"listeners\": {\"perAddress\": 1001}}",
     "listeners.perAddress: expected 1 to listeners.maxConnections (1000)"},
    {"the reserve leaves room for others", "{\"listeners\": {\"maxConnections\": 10, \"perAddress\": 5, "
     "\"reserve\": 10}}",
     "listeners.reserve: expected 0 to listeners.maxConnections - 1 (9)"},
    {"the handshake deadline from a second", "{\"listeners\": {\"handshakeSeconds\": 0}}",
     "listeners.handshakeSeconds: expected 1 to 3600"},
    {"the request deadline to an hour", "{\"listeners\": {\"requestSeconds\": 3601}}",
     "listeners.requestSeconds: expected 1 to 3600"},
    {"vaWorkers from 1", "{\"vaWorkers\": 0}", "vaWorkers: expected 1 to 256"},
    {"vaWorkers to 256", "{\"vaWorkers\": 257}", "vaWorkers: expected 1 to 256"},
    {"logFormat is text or json", "{\"logFormat\": \"xml\"}", "logFormat: expected \"text\" or \"json\""},
    {"logLevel is a known level", "{\"logLevel\": \"trace\"}", "logLevel: expected debug, info, warn or error"},
    {"baseURL is https", "{\"baseURL\": \"http://ca.test\"}", "baseURL: must start with https://"},
    {"accountHashPrefix is https (draft -02 §3.2)", "{\"dnsPersist\": {\"accountHashPrefix\": \"http://ca.test/h/\"}}",
     "dnsPersist.accountHashPrefix \"http://ca.test/h/\": expected an absolute https URI prefix with a host and no "
     "\";\", \"=\" or white space (draft -02 §3.2), e.g. \"https://ca.internal:14000/acme/account-hash/\""},
    {"accountHashPrefix has no ';'", "{\"dnsPersist\": {\"accountHashPrefix\": \"https://ca.test/h;/\"}}",
     "dnsPersist.accountHashPrefix \"https://ca.test/h;/\": expected an absolute https URI prefix with a host and no "
     "\";\", \"=\" or white space (draft -02 §3.2), e.g. \"https://ca.internal:14000/acme/account-hash/\""},
    {"the failure window from 1 second", "{\"dnsPersist\": {\"failedValidationLimits\": {\"windowSeconds\": 0}}}",
     "dnsPersist.failedValidationLimits.windowSeconds: expected 1 to 2592000"},
    {"caaIdentities are canonical", "{\"caaIdentities\": [\"Cobble.Test\"]}",
     "caaIdentities: \"Cobble.Test\" is not a lowercase A-label domain name without a trailing dot"},
    {"every issuer domain name is a CAA identity (draft -02 §3.1-3.2)",
     "{\"caaIdentities\": [\"other.test\"]}",
     "caaIdentities: lacks \"cobble.test\" from dnsPersist.issuerDomainNames; every issuer domain name must also "
     "be a CAA identity (draft -02 §3.1-3.2): add it to caaIdentities or remove it from issuerDomainNames"},
};

static void test_every_validation_error(void **state)
{
	for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
		struct config c;
		char err[1024] = "";
		config_defaults(&c);
		print_message("# %s\n", bad_configs[i].rule);
		if (config_load(&c, write_json(bad_configs[i].json), err, sizeof err) < 0)
			fail_msg("%s", err);
		assert_int_equal(config_validate(&c, err, sizeof err), -1);
		assert_string_equal(err, bad_configs[i].message);
		config_clear(&c);
	}
}

/* --- the environment knobs ------------------------------------------------------------------ */

static void clear_env(void)
{
	static const char *const names[] = {"VA_ALWAYS_VALID", "VA_NOSLEEP", "VA_SLEEPTIME", "WFE_NONCEREJECT",
	                                    "AUTHZREUSE", "CHAIN_LENGTH", "ALTERNATE_ROOTS"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char buf[64];
		snprintf(buf, sizeof buf, "COBBLE_%s", names[i]);
		unsetenv(buf);
		snprintf(buf, sizeof buf, "PEBBLE_%s", names[i]);
		unsetenv(buf);
	}
}

static void test_environment_knobs(void **state)
{
	struct config c;
	char err[256] = "";
	clear_env();
	setenv("PEBBLE_VA_ALWAYS_VALID", "1", 1);
	setenv("PEBBLE_WFE_NONCEREJECT", "0", 1);
	setenv("COBBLE_WFE_NONCEREJECT", "7", 1); /* COBBLE_ wins over PEBBLE_ */
	setenv("COBBLE_AUTHZREUSE", "100", 1);
	setenv("COBBLE_CHAIN_LENGTH", "3", 1);
	setenv("COBBLE_ALTERNATE_ROOTS", "2", 1);
	setenv("COBBLE_VA_SLEEPTIME", "9", 1);
	config_defaults(&c);
	assert_int_equal(config_env(&c, err, sizeof err), 0);
	assert_true(c.va_always_valid);
	assert_int_equal(c.nonce_reject_percent, 7);
	assert_int_equal(c.authz_reuse_percent, 100);
	assert_int_equal(c.ca.chain_length, 3);
	assert_int_equal(c.ca.alternate_roots, 2);
	assert_int_equal(c.va_sleep_max, 9);
	setenv("COBBLE_VA_NOSLEEP", "true", 1); /* no pause at all, whatever VA_SLEEPTIME says */
	assert_int_equal(config_env(&c, err, sizeof err), 0);
	assert_int_equal(c.va_sleep_max, 0);
	config_clear(&c);

	static const struct {
		const char *name, *value, *message;
	} bad[] = {
	    {"COBBLE_WFE_NONCEREJECT", "abc",
	     "COBBLE_WFE_NONCEREJECT (or PEBBLE_WFE_NONCEREJECT) = \"abc\": expected a whole number from 0 to 100"},
	    {"PEBBLE_AUTHZREUSE", "101",
	     "COBBLE_AUTHZREUSE (or PEBBLE_AUTHZREUSE) = \"101\": expected a whole number from 0 to 100"},
	    {"COBBLE_CHAIN_LENGTH", "0",
	     "COBBLE_CHAIN_LENGTH (or PEBBLE_CHAIN_LENGTH) = \"0\": expected a whole number from 1 to 10"},
	    {"COBBLE_ALTERNATE_ROOTS", "2x",
	     "COBBLE_ALTERNATE_ROOTS (or PEBBLE_ALTERNATE_ROOTS) = \"2x\": expected a whole number from 0 to 10"},
	    {"COBBLE_VA_SLEEPTIME", "61",
	     "COBBLE_VA_SLEEPTIME (or PEBBLE_VA_SLEEPTIME) = \"61\": expected a whole number from 0 to 60"},
	    {"COBBLE_VA_ALWAYS_VALID", "yes",
	     "COBBLE_VA_ALWAYS_VALID (or PEBBLE_VA_ALWAYS_VALID) = \"yes\": expected 1/0 or true/false"},
	    {"PEBBLE_VA_NOSLEEP", "2", "COBBLE_VA_NOSLEEP (or PEBBLE_VA_NOSLEEP) = \"2\": expected 1/0 or true/false"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		clear_env();
		setenv(bad[i].name, bad[i].value, 1);
		config_defaults(&c);
		assert_int_equal(config_env(&c, err, sizeof err), -1);
		assert_string_equal(err, bad[i].message);
		config_clear(&c);
	}
	clear_env();
}

static int find_config_dir(void)
{
	char exe[PATH_MAX / 4];
	ssize_t n;
	/* from the tree's root (as test/run.sh runs us), else beside the binary (build/test/) */
	if (access("config/cobble.json", R_OK) == 0)
		return snprintf(config_dir, sizeof config_dir, "config") < 0 ? -1 : 0;
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) < 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(config_dir, sizeof config_dir, "%s/../../config", exe);
	return access(config_file("cobble.json"), R_OK);
}

int main(void)
{
	if (find_config_dir() < 0 || !mkdtemp(tmp_dir)) {
		fprintf(stderr, "test_config: no config/ directory found, or no scratch directory\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cobble_json_is_every_default),
	    cmocka_unit_test(test_every_config_file_loads_and_validates),
	    cmocka_unit_test(test_every_key_is_read_into_its_field),
	    cmocka_unit_test(test_a_later_list_replaces_the_default),
	    cmocka_unit_test(test_every_load_error_names_file_and_key),
	    cmocka_unit_test(test_invalid_json_gives_file_line_and_column),
	    cmocka_unit_test(test_every_validation_error),
	    cmocka_unit_test(test_environment_knobs),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(write_json(""));
	rmdir(tmp_dir);
	return rc;
}

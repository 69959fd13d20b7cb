/* main: flags, config, wiring and signals; subcommands dispatch to server/cmd_*.c. */
#include "common/log.h"
#include "common/util.h"
#include "server/ca.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/crl.h"
#include "server/faults.h"
#include "server/faillimit.h"
#include "server/http.h"
#include "server/issuer.h"
#include "server/jwk.h"
#include "server/mgmt.h"
#include "server/nonce.h"
#include "server/server.h"
#include "server/store.h"
#include "server/va.h"
#include "server/wfe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONCE_WINDOW (1u << 18) /* nonces redeemable at once: 32 KiB of bitmap */

static void usage(FILE *f)
{
	fputs("usage: cobble [-config FILE] [-dnsserver HOST:PORT] [-strict] [--check-config]\n"
	      "              [-listen HOST:PORT] [-management HOST:PORT] [-ca-bundle-out FILE]\n"
	      "              [-tls-name NAME]... (extra names on the made-up TLS certificate)\n"
	      "              [-log-format text|json] [-log-level debug|info|warn|error]\n"
	      "       cobble check-record ...   explain whether a dns-persist-01 record validates\n"
	      "       cobble record ...         print the dns-persist-01 or dns-account-01 TXT record to publish\n"
	      "       cobble dig TYPE NAME ...  one DNS lookup as the validator makes it\n"
	      "       cobble report URL|FILE [-ca-bundle FILE]  the client conformance report\n"
	      "With no arguments cobble starts on its embedded default: ACME on https://localhost:14000/dir,\n"
	      "management on https://localhost:15000/, a TLS certificate made at start-up.\n",
	      f);
}

/* Go-style flags: -name or --name, value as the next argument or after '='. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	while (*a == '-')
		a++;
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "cobble: %s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

static bool flag_is(const char *arg, const char *name)
{
	while (*arg == '-')
		arg++;
	return strcmp(arg, name) == 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		size_t r = fread(buf + len, 1, 4096, f);
		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int write_file_atomic(const char *path, const char *data)
{
	char *tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	int rc = -1;
	if (f) {
		rc = fputs(data, f) < 0 ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -1;
	}
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* "localhost" for loopback and wildcard listeners: the name the TLS certificate carries. */
static void public_url(const char *listen, char *out, size_t outlen)
{
	const char *colon = strrchr(listen, ':');
	const char *port = colon ? colon + 1 : "14000";
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	bool local = hl == 0 || strncmp(listen, "127.0.0.1", hl) == 0 || strncmp(listen, "0.0.0.0", hl) == 0 ||
	             strncmp(listen, "[::]", hl) == 0 || strncmp(listen, "[::1]", hl) == 0 ||
	             strncmp(listen, "localhost", hl) == 0;
	if (local)
		snprintf(out, outlen, "https://localhost:%s", port);
	else
		snprintf(out, outlen, "https://%.*s:%s", (int)hl, listen, port);
}

static int run_server(int argc, char **argv)
{
	struct config cfg;
	char err[1024];
	const char *config_file = NULL, *dnsserver = NULL, *listen = NULL, *mgmt = NULL, *bundle = NULL;
	const char *log_format = NULL, *log_level = NULL;
	bool check_only = false, strict = false;
	const char *tls_names[CONFIG_MAX_LIST];
	size_t ntls = 0;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = flag_value(argc, argv, &i, "config")))
			config_file = v;
		else if ((v = flag_value(argc, argv, &i, "dnsserver")))
			dnsserver = v;
		else if ((v = flag_value(argc, argv, &i, "listen")))
			listen = v;
		else if ((v = flag_value(argc, argv, &i, "management")))
			mgmt = v;
		else if ((v = flag_value(argc, argv, &i, "ca-bundle-out")))
			bundle = v;
		else if ((v = flag_value(argc, argv, &i, "tls-name"))) {
			if (ntls >= CONFIG_MAX_LIST) {
				fprintf(stderr, "cobble: at most %d -tls-name flags\n", CONFIG_MAX_LIST);
				return 2;
			}
			tls_names[ntls++] = v;
		} else if ((v = flag_value(argc, argv, &i, "log-format")))
			log_format = v;
		else if ((v = flag_value(argc, argv, &i, "log-level")))
			log_level = v;
		else if (flag_is(argv[i], "check-config"))
			check_only = true;
		else if (flag_is(argv[i], "strict") || flag_is(argv[i], "strict=true"))
			strict = true;
		else if (flag_is(argv[i], "strict=false"))
			strict = false;
		else if (flag_is(argv[i], "h") || flag_is(argv[i], "help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "cobble: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

	config_defaults(&cfg);
	int rc = 1;
	struct server srv = {.cfg = &cfg};
	char *cert_pem = NULL, *key_pem = NULL;
	if (config_file && config_load(&cfg, config_file, err, sizeof err) < 0)
		goto config_error;
	if (config_env(&cfg, err, sizeof err) < 0)
		goto config_error;
	if (dnsserver) {
		for (size_t i = 0; i < cfg.nresolvers; i++)
			free(cfg.resolvers[i]);
		cfg.resolvers[0] = xstrdup(dnsserver);
		cfg.nresolvers = 1;
	}
	if (listen)
		snprintf(cfg.listen_address, sizeof cfg.listen_address, "%s", listen);
	if (mgmt)
		snprintf(cfg.management_address, sizeof cfg.management_address, "%s", mgmt);
	if (bundle)
		snprintf(cfg.ca_bundle_out, sizeof cfg.ca_bundle_out, "%s", bundle);
	if (log_format)
		snprintf(cfg.log_format, sizeof cfg.log_format, "%s", log_format);
	if (log_level)
		snprintf(cfg.log_level, sizeof cfg.log_level, "%s", log_level);
	if (strict)
		cfg.strict = true;
	for (size_t i = 0; i < ntls && cfg.ntls_names < CONFIG_MAX_LIST; i++)
		cfg.tls_names[cfg.ntls_names++] = xstrdup(tls_names[i]);
	if (config_validate(&cfg, err, sizeof err) < 0)
		goto config_error;
	if (check_only) {
		printf("cobble: configuration %s is valid\n", config_file ? config_file : "(embedded default)");
		config_clear(&cfg);
		return 0;
	}
	enum log_level lvl;
	log_level_parse(cfg.log_level, &lvl);
	log_init(lvl, strcmp(cfg.log_format, "json") == 0);

	/* Signals are taken by sigwait below; block them before any thread starts. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* RFC 5280 §4.2.1.13: the plain-HTTP CRL listener's URL in every leaf (crlDistributionPoints) */
	if (cfg.crl_cdp) {
		const char *colon = strrchr(cfg.crl_listen_address, ':');
		int hl = (int)(colon - cfg.crl_listen_address);
		bool any = hl == 0 || strncmp(cfg.crl_listen_address, "0.0.0.0", (size_t)hl) == 0 ||
		           strncmp(cfg.crl_listen_address, "[::]", (size_t)hl) == 0;
		snprintf(cfg.ca.crl_url, sizeof cfg.ca.crl_url, "http://%.*s%s/crl/0", any ? 9 : hl,
		         any ? "localhost" : cfg.crl_listen_address, colon);
	}
	faults_limits_configure(cfg.rate_limit_count, cfg.rate_limit_window);
	srv.ca = ca_new(&cfg.ca);
	if (!srv.ca || !(srv.crl = crl_new(srv.ca))) {
		fprintf(stderr, "cobble: could not create the CA keys (see the log above)\n");
		goto out;
	}
	if (cfg.certificate[0]) {
		if (!(cert_pem = read_file(cfg.certificate, err, sizeof err)) ||
		    !(key_pem = read_file(cfg.private_key, err, sizeof err))) {
			fprintf(stderr, "cobble: TLS certificate: %s\n", err);
			goto out;
		}
	} else {
		/* localhost and loopback, plus tlsNames / -tls-name (e.g. a compose service name) */
		const char *dns[1 + CONFIG_MAX_LIST] = {"localhost"}, *ips[2 + CONFIG_MAX_LIST] = {"127.0.0.1", "::1"};
		size_t nd = 1, ni = 2;
		for (size_t i = 0; i < cfg.ntls_names; i++) {
			unsigned char buf[16];
			const char *n = cfg.tls_names[i];
			if (inet_pton(AF_INET, n, buf) == 1 || inet_pton(AF_INET6, n, buf) == 1)
				ips[ni++] = n;
			else
				dns[nd++] = n;
		}
		if (ca_tls_identity(dns, nd, ips, ni, &cert_pem, &key_pem, &srv.tls_root_pem) < 0) {
			fprintf(stderr, "cobble: could not make the TLS certificate\n");
			goto out;
		}
		if (!cfg.ca_bundle_out[0]) {
			const char *tmp = getenv("TMPDIR");
			snprintf(cfg.ca_bundle_out, sizeof cfg.ca_bundle_out, "%s/cobble-ca.pem",
			         tmp && *tmp ? tmp : "/tmp");
		}
	}
	srv.store = store_new();
	store_set_max_orders(srv.store, (size_t)cfg.max_orders);
	srv.nonces = nonce_pool_new(NONCE_WINDOW);
	srv.fails = faillimit_new(cfg.fail_limit_identifier, cfg.fail_limit_account, cfg.fail_limit_window);
	srv.va = va_new(&srv, err, sizeof err);
	if (!srv.va) {
		fprintf(stderr, "cobble: validation: %s\n", err);
		goto out;
	}
	srv.issuer = issuer_new(&srv, ISSUER_WORKERS, ISSUER_QUEUE);
	if (!srv.issuer) {
		fprintf(stderr, "cobble: could not start the signing threads\n");
		goto out;
	}
	issuer_set_caa(srv.issuer, va_caa_recheck, &srv); /* BR §3.2.2.8: the issuer sits below the VA */
	const struct http_site acme_site = {wfe_routes, wfe_nroutes, NULL, wfe_faults, PATH_DIRECTORY};
	const struct http_site mgmt_site = {NULL, 0, mgmt_route, NULL, NULL};
	const struct http_site crl_site = {NULL, 0, mgmt_crl_listener, NULL, NULL};
	if (http_start(&srv, &acme_site, &mgmt_site, &crl_site, cert_pem, key_pem, err, sizeof err) < 0) {
		fprintf(stderr, "cobble: %s\n", err);
		goto out;
	}
	/* the bundle is written once the listeners are up, so "file exists" means "ready" */
	if (srv.tls_root_pem && write_file_atomic(cfg.ca_bundle_out, srv.tls_root_pem) < 0) {
		fprintf(stderr, "cobble: cannot write the CA bundle to %s: %s\n", cfg.ca_bundle_out, strerror(errno));
		goto stop;
	}
	char acme[300], mgmt_url[300];
	public_url(cfg.listen_address, acme, sizeof acme);
	public_url(cfg.management_address, mgmt_url, sizeof mgmt_url);
	printf("cobble is running\n"
	       "  ACME directory:   %s/dir\n"
	       "  management:       %s/   (roots at %s/roots/0)\n",
	       cfg.base_url[0] ? cfg.base_url : acme, mgmt_url, mgmt_url);
	if (srv.tls_root_pem)
		printf("  trust this CA bundle in your client: %s\n"
		       "    e.g. lego: LEGO_CA_CERTIFICATES=%s   certbot: REQUESTS_CA_BUNDLE=%s\n",
		       cfg.ca_bundle_out, cfg.ca_bundle_out, cfg.ca_bundle_out);
	printf("  dns-persist-01: draft -%s, issuer domain name%s:", cfg.persist_draft == PERSIST_DRAFT_01 ? "01" : "02",
	       cfg.nissuer_names > 1 ? "s" : "");
	for (size_t i = 0; i < cfg.nissuer_names; i++)
		printf(" %s", cfg.issuer_names[i]);
	printf("\n  DNS for validation: %s%s\n", cfg.nresolvers ? cfg.resolvers[0] : "the resolvers of /etc/resolv.conf",
	       cfg.nresolvers > 1 ? " (and more)" : "");
	if (cfg.va_always_valid)
		printf("  COBBLE_VA_ALWAYS_VALID is set: every challenge is valid without validation\n");
	fflush(stdout);

	int sig = 0;
	sigwait(&sigs, &sig);
	log_info("signal %d: shutting down", sig);
	rc = 0;
	/* a CI teardown must never hang: no new connections, queued validations dropped, and no
	 * waiting on a validation that is stuck (each ends by its own deadline anyway) */
	http_quiesce();
stop:
	if (va_stop(srv.va) > 0) { /* resumes requests suspended on JIT checks while the daemon runs */
		log_info("validations still running after %.1f s: exiting without waiting for them", VA_STOP_SECONDS);
		fflush(NULL);
		_exit(rc);
	}
	http_stop();
out:
	va_free(srv.va);
	issuer_free(srv.issuer);
	faillimit_free(srv.fails);
	store_free(srv.store);
	nonce_pool_free(srv.nonces);
	crl_free(srv.crl);
	ca_free(srv.ca);
	jwk_cache_clear();
	free(srv.tls_root_pem);
	free(cert_pem);
	free(key_pem);
	config_clear(&cfg);
	return rc;
config_error:
	fprintf(stderr, "cobble: configuration error: %s\n", err);
	config_clear(&cfg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "check-record") == 0)
		return cmd_check_record(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dig") == 0)
		return cmd_dig(argc - 1, argv + 1);
	return run_server(argc, argv);
}

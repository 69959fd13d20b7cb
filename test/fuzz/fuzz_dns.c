/* fuzz_dns: libFuzzer target for DNS replies. Input: one byte choosing the question (TXT, A,
 * AAAA or CAA at _validation-persist.example.com), then a raw DNS message. The message goes
 * through dns_judge_wire, the very code a lookup's replies take in common/dns.c (question check,
 * rcode, CNAME chain, record parsing). Besides memory safety it checks the answer's invariants:
 * a known result class, a detail that is set, records only for NOERROR.
 * The message sits at the start of a 64 KiB zeroed buffer, as a received one sits in getdns's
 * own receive buffer: Debian's getdns 1.6.0 reads past the end of some malformed messages
 * (test/fuzz/corpus/fuzz_dns/getdns_overread), which inside a larger buffer reads zeros. */
#include "common/dns.h"
#include "common/dns_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct dns *d;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {DNS_QTYPE_TXT, DNS_QTYPE_A, DNS_QTYPE_AAAA, DNS_QTYPE_CAA};
	if (!d) {
		static const char *const resolvers[] = {"127.0.0.1:9"}; /* never asked */
		struct dns_options opt = {.resolvers = resolvers, .nresolvers = 1};
		char err[256];
		if (!(d = dns_new(&opt, err, sizeof err)))
			abort();
	}
	if (size < 1)
		return 0;
	static uint8_t buf[65536];
	if (size - 1 > sizeof buf)
		return 0;
	memset(buf, 0, sizeof buf);
	memcpy(buf, data + 1, size - 1);
	struct dns_answer ans;
	if (dns_judge_wire(d, "_validation-persist.example.com", types[data[0] & 3], buf, size - 1, &ans) < 0) {
		dns_answer_clear(&ans);
		return 0;
	}
	if (ans.result > DNS_INSECURE || memchr(ans.detail, '\0', sizeof ans.detail) == NULL)
		abort();
	if (ans.result != DNS_OK && (ans.ntxt || ans.naddrs || ans.ncaa))
		abort();
	if (ans.result == DNS_OK && !(ans.ntxt || ans.naddrs || ans.ncaa))
		abort();
	for (size_t i = 0; i < ans.ntxt; i++)
		for (size_t j = 0; j < ans.txt[i].nstrs; j++)
			if (ans.txt[i].strs[j].len > 255)
				abort();
	dns_answer_clear(&ans);
	return 0;
}

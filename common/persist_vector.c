/* persist_vector: see persist_vector.h. */
#include "common/persist_vector.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void persist_vector_clear(struct persist_vector *v)
{
	for (size_t i = 0; i < v->nissuers; i++)
		free(v->issuers[i]);
	free(v->rr_buf);
	free(v->str_buf);
	memset(v, 0, sizeof *v);
}

const char *persist_vector_parse(json_t *o, struct persist_vector *v)
{
	struct persist_input *in = &v->in;
	json_t *x;
	if (!json_is_object(o))
		return "not a JSON object";
	x = json_object_get(o, "id");
	if (x && !json_is_string(x) && !json_is_integer(x))
		return "\"id\" must be a string or an integer";
	x = json_object_get(o, "expect");
	if (x && (!json_is_string(x) || (strcmp(json_string_value(x), "valid") != 0 &&
	                                 strcmp(json_string_value(x), "malformed") != 0 &&
	                                 strcmp(json_string_value(x), "unauthorized") != 0)))
		return "\"expect\" must be \"valid\", \"malformed\" or \"unauthorized\"";
	v->expect = json_string_value(x);
	x = json_object_get(o, "identifier");
	if (!json_is_string(x) || json_string_length(x) == 0)
		return "\"identifier\" must be a non-empty string";
	in->identifier = json_string_value(x);
	x = json_object_get(o, "account_url");
	if (!json_is_string(x))
		return "\"account_url\" must be a string";
	in->account_url = json_string_value(x);
	x = json_object_get(o, "time");
	if (!json_is_integer(x))
		return "\"time\" must be an integer (UNIX seconds)";
	in->time = (int64_t)json_integer_value(x);
	x = json_object_get(o, "draft");
	if (!x || (json_is_string(x) && strcmp(json_string_value(x), "01") == 0))
		in->draft = PERSIST_DRAFT_01;
	else if (json_is_string(x) && strcmp(json_string_value(x), "02") == 0)
		in->draft = PERSIST_DRAFT_02;
	else
		return "\"draft\" must be \"01\" or \"02\"";
	x = json_object_get(o, "strict");
	if (x && !json_is_boolean(x))
		return "\"strict\" must be a boolean";
	in->strict = json_is_true(x);
	x = json_object_get(o, "at_ancestor");
	if (x && !json_is_boolean(x))
		return "\"at_ancestor\" must be a boolean";
	in->at_ancestor = json_is_true(x);
	x = json_object_get(o, "account_deactivated");
	if (x && !json_is_boolean(x))
		return "\"account_deactivated\" must be a boolean";
	in->account_deactivated = json_is_true(x);
	x = json_object_get(o, "record_name");
	if (x && !json_is_string(x))
		return "\"record_name\" must be a string";
	in->record_name = json_string_value(x);

	x = json_object_get(o, "issuers");
	if (!json_is_array(x) || json_array_size(x) == 0 || json_array_size(x) > PERSIST_VECTOR_MAX_LIST)
		return "\"issuers\" must be an array of 1 to 64 domain names";
	for (size_t i = 0; i < json_array_size(x); i++) {
		json_t *s = json_array_get(x, i);
		char *n = json_is_string(s) ? persist_normalize_issuer(json_string_value(s), json_string_length(s), false)
		                            : NULL;
		if (!n)
			return "\"issuers\" holds something that is not a domain name";
		v->issuers[v->nissuers++] = n;
	}
	in->issuers = (const char *const *)v->issuers;
	in->nissuers = v->nissuers;

	if (in->draft == PERSIST_DRAFT_02) {
		x = json_object_get(o, "thumbprints");
		if (!json_is_array(x) || json_array_size(x) == 0 || json_array_size(x) > PERSIST_VECTOR_MAX_LIST)
			return "draft 02 needs \"thumbprints\", an array of 1 to 64 strings (current key first)";
		for (size_t i = 0; i < json_array_size(x); i++) {
			if (!json_is_string(json_array_get(x, i)))
				return "\"thumbprints\" must hold strings";
			v->tps[i] = json_string_value(json_array_get(x, i));
		}
		in->thumbprints = v->tps;
		in->nthumbprints = json_array_size(x);
		x = json_object_get(o, "hash_prefix");
		if (!json_is_string(x))
			return "draft 02 needs \"hash_prefix\", a string";
		in->hash_prefix = json_string_value(x);
	}

	x = json_object_get(o, "records");
	if (!json_is_array(x))
		return "\"records\" must be an array of records, each an array of strings";
	size_t total = 0;
	for (size_t i = 0; i < json_array_size(x); i++) {
		json_t *rr = json_array_get(x, i);
		if (!json_is_array(rr))
			return "\"records\" must be an array of records, each an array of strings";
		for (size_t k = 0; k < json_array_size(rr); k++)
			if (!json_is_string(json_array_get(rr, k)))
				return "\"records\" must be an array of records, each an array of strings";
		total += json_array_size(rr);
	}
	v->nrrs = json_array_size(x);
	v->rr_buf = xcalloc(v->nrrs ? v->nrrs : 1, sizeof *v->rr_buf);
	v->str_buf = xcalloc(total ? total : 1, sizeof *v->str_buf);
	v->rrs = v->rr_buf;
	size_t at = 0;
	for (size_t i = 0; i < v->nrrs; i++) {
		json_t *rr = json_array_get(x, i);
		v->rr_buf[i].strs = v->str_buf + at;
		v->rr_buf[i].nstrs = json_array_size(rr);
		for (size_t k = 0; k < json_array_size(rr); k++, at++) {
			/* The JSON text's UTF-8 bytes are the raw octets (a "\t" is a TAB byte). */
			json_t *s = json_array_get(rr, k);
			v->str_buf[at].data = (const unsigned char *)json_string_value(s);
			v->str_buf[at].len = json_string_length(s);
		}
	}
	return NULL;
}

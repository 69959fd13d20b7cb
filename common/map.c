/* map: a string-keyed hash table (chained, growing), the store's index. */
#include "common/map.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	uint64_t hash;
	char *key;
	void *value;
};

struct map {
	struct entry **buckets;
	size_t nbuckets, size;
	void (*free_value)(void *);
};

/* FNV-1a: keys are random ids or names, not attacker-chosen collisions of consequence. */
static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct map *map_new(void (*free_value)(void *))
{
	struct map *m = xcalloc(1, sizeof *m);
	m->nbuckets = 64;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->free_value = free_value;
	return m;
}

void map_free(struct map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i];
		while (e) {
			struct entry *n = e->next;
			if (m->free_value)
				m->free_value(e->value);
			free(e->key);
			free(e);
			e = n;
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **find(const struct map *m, const char *key, uint64_t h)
{
	struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];
	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

void *map_get(const struct map *m, const char *key)
{
	struct entry **pp = find(m, key, hash_key(key));
	return *pp ? (*pp)->value : NULL;
}

static void grow(struct map *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **b = xcalloc(n, sizeof *b);
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i];
		while (e) {
			struct entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void map_put(struct map *m, const char *key, void *value)
{
	uint64_t h = hash_key(key);
	struct entry **pp = find(m, key, h);
	if (*pp) {
		if (m->free_value && (*pp)->value != value)
			m->free_value((*pp)->value);
		(*pp)->value = value;
		return;
	}
	struct entry *e = xcalloc(1, sizeof *e);
	e->hash = h;
	e->key = xstrdup(key);
	e->value = value;
	*pp = e;
	if (++m->size > m->nbuckets)
		grow(m);
}

int map_del(struct map *m, const char *key)
{
	struct entry **pp = find(m, key, hash_key(key));
	if (!*pp)
		return -1;
	struct entry *e = *pp;
	*pp = e->next;
	if (m->free_value)
		m->free_value(e->value);
	free(e->key);
	free(e);
	m->size--;
	return 0;
}

size_t map_size(const struct map *m)
{
	return m->size;
}

int map_each(const struct map *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e; e = e->next) {
			int r = fn(e->key, e->value, ctx);
			if (r)
				return r;
		}
	return 0;
}

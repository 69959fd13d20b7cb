/* map: a string-keyed hash table (chained, growing), the store's index. Not thread-safe. */
#ifndef COBBLE_MAP_H
#define COBBLE_MAP_H

#include <stddef.h>

struct map;

/* free_value is called on values when they are replaced, deleted or the map is freed (may be NULL). */
struct map *map_new(void (*free_value)(void *));
void map_free(struct map *m); /* NULL is a no-op */
/* Borrowed pointer or NULL. */
void *map_get(const struct map *m, const char *key);
/* Insert or replace; the map copies key and owns value. */
void map_put(struct map *m, const char *key, void *value);
/* Remove (freeing the value); returns 0, or -1 when absent. */
int map_del(struct map *m, const char *key);
size_t map_size(const struct map *m);
/* Call fn for each entry until it returns non-zero (which is returned). */
int map_each(const struct map *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx);

#endif

/*
 * json.h - cJSON trees whose lifetime follows a PostgreSQL memory context.
 *
 * cJSON allocates with malloc.  Rather than wrapping every use in
 * PG_TRY, each root is registered with CurrentMemoryContext and deleted when
 * that context is reset or deleted, so an ereport anywhere cannot leak it.
 * Allocation failures are raised as ERRCODE_OUT_OF_MEMORY.
 */
#ifndef DYNAMO_ATOMIC_JSON_H
#define DYNAMO_ATOMIC_JSON_H

#include <cjson/cJSON.h>

/* Ties root (which may be NULL) to CurrentMemoryContext; returns it. */
extern cJSON *json_own(cJSON *root);

extern cJSON *json_new_object(void);
extern cJSON *json_add_object(cJSON *parent, const char *name);
extern cJSON *json_add_array(cJSON *parent, const char *name);
extern void json_add_string(cJSON *parent, const char *name, const char *value);
extern void json_add_bool(cJSON *parent, const char *name, bool value);
extern void json_append_object(cJSON *array, cJSON **child);

/* Serialises root into a palloc'd string. */
extern char *json_print(const cJSON *root);

/* Parses len bytes; returns an owned tree, or NULL when malformed. */
extern cJSON *json_parse(const char *data, size_t len);

/*
 * The same without refusing U+0000, for answers whose strings are not
 * handed on as text: error bodies, and what a write returns (refusing
 * there would report an applied write as failed).
 */
extern cJSON *json_parse_unchecked(const char *data, size_t len);

/* obj.name when it is a string, else NULL. */
extern const char *json_get_string(const cJSON *obj, const char *name);
extern const cJSON *json_get(const cJSON *obj, const char *name);

#endif

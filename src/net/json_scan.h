/*
 * json_scan.h - a scan of JSON text that cJSON's parse would lose.
 */
#ifndef DYNAMO_ATOMIC_JSON_SCAN_H
#define DYNAMO_ATOMIC_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Does the JSON text hold a string (value or key) with the escape \u0000?
 * cJSON would decode it into a NUL that ends the C string there: the rest
 * of the string is lost, and keys that differ after it merge.  True with
 * *where, the path of the string (such as "Item.note.S"; keys cut at 40
 * bytes, "[3]" for array elements), NUL-terminated within where_size.
 */
extern bool json_find_nul(const char *json, size_t len, char *where, size_t where_size);

#endif

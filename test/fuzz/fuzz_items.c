/*
 * fuzz_items.c - libFuzzer harness for what DynamoDB's answers go through
 * before they become SQL values: the U+0000 scan of the raw text, cJSON,
 * AttributeValues -> JSON text (every type, sets, nesting), the item size
 * DynamoDB would count, and the number check.  Plain C, the same sources
 * as the extension (src/dynamodb/marshal.c, src/net/strbuf.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_scan.h"
#include "marshal.h"
#include "strbuf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		where[256];
	char	   *text = malloc(size + 1);
	cJSON	   *root;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void) json_find_nul(text, size, where, sizeof(where));
	(void) ddb_number_problem(text);
	(void) ddb_base64_is_valid(text);
	root = cJSON_ParseWithLength(text, size);
	if (root)
	{
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "Item");
		const cJSON *av;
		strbuf		out;

		if (!cJSON_IsObject(item))
			item = root;
		strbuf_init(&out);
		(void) ddb_item_to_json(item, &out);
		strbuf_free(&out, false);
		(void) ddb_item_size(item);
		cJSON_ArrayForEach(av, item)
		{
			strbuf_init(&out);
			(void) ddb_av_to_json(av, &out);
			strbuf_free(&out, false);
		}
		cJSON_Delete(root);
	}
	free(text);
	return 0;
}

/*
 * json_scan.c - finds the escape \u0000 in JSON text (see json_scan.h).
 * Plain C: unit-tested and fuzzed without a server.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json_scan.h"

#define NUL_SCAN_DEPTH 64
#define NUL_SCAN_KEY 41

typedef struct ScanLevel
{
	char		type;			/* '{' or '[' */
	bool		want_key;		/* in an object, the next string is a key */
	long		index;			/* in an array, the element's position */
	char		key[NUL_SCAN_KEY];
} ScanLevel;

/* Appends the path of levels[0..depth] to where. */
static void
scan_path(const ScanLevel *levels, int depth, char *where, size_t where_size)
{
	size_t		used = 0;

	where[0] = '\0';
	for (int d = 0; d <= depth && d < NUL_SCAN_DEPTH && used < where_size; d++)
	{
		int			n;

		if (levels[d].type == '{')
			n = snprintf(where + used, where_size - used, "%s%s", used ? "." : "", levels[d].key);
		else
			n = snprintf(where + used, where_size - used, "[%ld]", levels[d].index);
		if (n < 0)
			break;
		used += (size_t) n;
	}
}

bool
json_find_nul(const char *json, size_t len, char *where, size_t where_size)
{
	ScanLevel	levels[NUL_SCAN_DEPTH];
	int			depth = -1;

	for (size_t i = 0; i < len; i++)
	{
		char		c = json[i];

		if (c == '"')
		{
			char		text[NUL_SCAN_KEY];
			size_t		text_len = 0;
			bool		nul = false;
			bool		is_key;

			for (i++; i < len && json[i] != '"'; i++)
			{
				if (json[i] == '\\' && i + 1 < len)
				{
					if (json[i + 1] == 'u' && i + 5 < len && memcmp(json + i + 2, "0000", 4) == 0)
						nul = true;
					if (text_len < sizeof(text) - 1)
						text[text_len++] = json[i + 1] == 'u' ? '?' : json[i + 1];
					i += json[i + 1] == 'u' ? 5 : 1;
					continue;
				}
				if (text_len < sizeof(text) - 1)
					text[text_len++] = json[i];
			}
			text[text_len] = '\0';
			is_key = depth >= 0 && depth < NUL_SCAN_DEPTH && levels[depth].type == '{' &&
				levels[depth].want_key;
			if (is_key)
			{
				memcpy(levels[depth].key, text, text_len + 1);
				levels[depth].want_key = false;
			}
			if (nul)
			{
				scan_path(levels, depth, where, where_size);
				return true;
			}
		}
		else if (c == '{' || c == '[')
		{
			depth++;
			if (depth < NUL_SCAN_DEPTH)
			{
				levels[depth].type = c;
				levels[depth].want_key = c == '{';
				levels[depth].index = 0;
				levels[depth].key[0] = '\0';
			}
		}
		else if (c == '}' || c == ']')
		{
			if (depth < 0)
				return false;	/* unbalanced: not JSON, cJSON refuses it */
			depth--;
		}
		else if (c == ',' && depth >= 0 && depth < NUL_SCAN_DEPTH)
		{
			if (levels[depth].type == '{')
				levels[depth].want_key = true;
			else
				levels[depth].index++;
		}
	}
	return false;
}

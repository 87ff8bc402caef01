/*
 * marshal.c - AttributeValues to JSON text (see marshal.h).  Plain C.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marshal.h"

/*
 * Is text a number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * jsonb accepts nothing else ("+5", ".5", "5.", "007" are refused there).
 */
static bool
is_json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char) *p))
			p++;
	else
		return false;
	if (*p == '.')
	{
		if (!isdigit((unsigned char) *++p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
	}
	return *p == '\0';
}

const char *
ddb_number_problem(const char *text)
{
	const char *p = text;
	int			digits = 0;		/* significant: first to last non-zero digit */
	int			pending_zeros = 0;	/* zeros that count only if a non-zero follows */
	int			int_digits = 0;	/* before the point, from the first non-zero */
	int			zeros_after_point = 0;	/* before the first non-zero, if none before the point */
	bool		seen_nonzero = false;
	bool		seen_point = false;
	bool		seen_digit = false;
	long		exponent = 0;
	long		magnitude;		/* 10^magnitude <= |x| < 10^(magnitude+1) */

	if (!is_json_number(text))
		return "not a number";
	if (*p == '-')
		p++;
	for (; *p && *p != 'e' && *p != 'E'; p++)
	{
		if (*p == '.' && !seen_point)
		{
			seen_point = true;
			continue;
		}
		if (!isdigit((unsigned char) *p))
			return "not a number";
		seen_digit = true;
		if (*p != '0')
		{
			seen_nonzero = true;
			digits += pending_zeros + 1;
			pending_zeros = 0;
		}
		else if (seen_nonzero)
			pending_zeros++;
		else if (seen_point)
			zeros_after_point++;
		if (seen_nonzero && !seen_point)
			int_digits++;
	}
	if (!seen_digit)
		return "not a number";
	if (*p == 'e' || *p == 'E')
	{
		char	   *end;

		errno = 0;
		exponent = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0')
			return "not a number";
		/* Far past either limit (and no overflow in the sums below). */
		if (errno == ERANGE || exponent > 100000 || exponent < -100000)
			exponent = exponent > 0 ? 100000 : -100000;
	}
	if (!seen_nonzero)
		return NULL;			/* zero */
	if (digits > DDB_MAX_NUMBER_DIGITS)
		return "more than 38 significant digits, DynamoDB's precision";
	magnitude = (int_digits > 0 ? int_digits - 1 : -(zeros_after_point + 1)) + exponent;
	if (magnitude >= 126)
		return "larger than DynamoDB's largest number (below 1E+126)";
	if (magnitude < -130)
		return "smaller than DynamoDB's smallest number (1E-130)";
	return NULL;
}

bool
ddb_base64_is_valid(const char *text)
{
	size_t		len = strlen(text);
	size_t		pad = 0;

	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = text[i];

		if (c == '=')
		{
			if (i < len - 2)
				return false;
			pad++;
		}
		else if (pad > 0 || !(isalnum((unsigned char) c) || c == '+' || c == '/'))
			return false;
	}
	return true;
}

static void
append_json_string(strbuf *out, const char *s)
{
	strbuf_appendc(out, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				strbuf_appends(out, "\\\"");
				break;
			case '\\':
				strbuf_appends(out, "\\\\");
				break;
			case '\n':
				strbuf_appends(out, "\\n");
				break;
			case '\r':
				strbuf_appends(out, "\\r");
				break;
			case '\t':
				strbuf_appends(out, "\\t");
				break;
			default:
				if (*p < 0x20)
				{
					char		esc[8];

					snprintf(esc, sizeof(esc), "\\u%04x", *p);
					strbuf_appends(out, esc);
				}
				else
					strbuf_appendc(out, (char) *p);
		}
	}
	strbuf_appendc(out, '"');
}

/* ["a", "b"] from a set of strings (as strings or as numbers). */
static const char *
append_set(strbuf *out, const char *form, const cJSON *set, bool numbers)
{
	const cJSON *e;

	strbuf_appends(out, "{\"");
	strbuf_appends(out, form);
	strbuf_appends(out, "\":[");
	cJSON_ArrayForEach(e, set)
	{
		if (!cJSON_IsString(e))
			return "a set element is not a string";
		if (e != set->child)
			strbuf_appendc(out, ',');
		if (numbers)
		{
			if (ddb_number_problem(e->valuestring))
				return "a number set holds something that is not a number";
			strbuf_appends(out, e->valuestring);
		}
		else
			append_json_string(out, e->valuestring);
	}
	strbuf_appends(out, "]}");
	return NULL;
}

const char *
ddb_av_to_json(const cJSON *av, strbuf *out)
{
	const cJSON *typed = cJSON_IsObject(av) ? av->child : NULL;
	const char *type;

	if (typed == NULL || typed->next != NULL || typed->string == NULL)
		return "an AttributeValue must have exactly one type";
	type = typed->string;
	if (strcmp(type, "S") == 0 && cJSON_IsString(typed))
		append_json_string(out, typed->valuestring);
	else if (strcmp(type, "N") == 0 && cJSON_IsString(typed))
	{
		if (ddb_number_problem(typed->valuestring))
			return "an N value is not a number";
		strbuf_appends(out, typed->valuestring);
	}
	else if (strcmp(type, "BOOL") == 0 && cJSON_IsBool(typed))
		strbuf_appends(out, cJSON_IsTrue(typed) ? "true" : "false");
	else if (strcmp(type, "NULL") == 0)
		strbuf_appends(out, "null");
	else if (strcmp(type, "B") == 0 && cJSON_IsString(typed))
	{
		strbuf_appends(out, "{\"$b\":");
		append_json_string(out, typed->valuestring);
		strbuf_appendc(out, '}');
	}
	else if (strcmp(type, "SS") == 0 && cJSON_IsArray(typed))
		return append_set(out, "$ss", typed, false);
	else if (strcmp(type, "NS") == 0 && cJSON_IsArray(typed))
		return append_set(out, "$ns", typed, true);
	else if (strcmp(type, "BS") == 0 && cJSON_IsArray(typed))
		return append_set(out, "$bs", typed, false);
	else if (strcmp(type, "L") == 0 && cJSON_IsArray(typed))
	{
		const cJSON *e;

		strbuf_appendc(out, '[');
		cJSON_ArrayForEach(e, typed)
		{
			const char *why;

			if (e != typed->child)
				strbuf_appendc(out, ',');
			if ((why = ddb_av_to_json(e, out)) != NULL)
				return why;
		}
		strbuf_appendc(out, ']');
	}
	else if (strcmp(type, "M") == 0 && cJSON_IsObject(typed))
		return ddb_item_to_json(typed, out);
	else
		return "an AttributeValue of an unknown type";
	return NULL;
}

const char *
ddb_item_to_json(const cJSON *item, strbuf *out)
{
	const cJSON *attr;

	strbuf_appendc(out, '{');
	cJSON_ArrayForEach(attr, item)
	{
		const char *why;

		if (attr != item->child)
			strbuf_appendc(out, ',');
		append_json_string(out, attr->string ? attr->string : "");
		strbuf_appendc(out, ':');
		if ((why = ddb_av_to_json(attr, out)) != NULL)
			return why;
	}
	strbuf_appendc(out, '}');
	return NULL;
}

static size_t
number_size(const char *text)
{
	size_t		digits = 0;

	for (const char *p = text; *p && *p != 'e' && *p != 'E'; p++)
		if (isdigit((unsigned char) *p))
			digits++;
	return digits / 2 + 2;
}

/* The bytes a base64 text stands for (DynamoDB counts binary values decoded). */
static size_t
base64_decoded_size(const char *b64)
{
	size_t		len = strlen(b64);
	size_t		padding = 0;

	if (len >= 1 && b64[len - 1] == '=')
		padding++;
	if (len >= 2 && b64[len - 2] == '=')
		padding++;
	return len / 4 * 3 - padding;
}

static size_t
value_size(const cJSON *av)
{
	const cJSON *typed = cJSON_IsObject(av) ? av->child : NULL;
	const cJSON *e;
	size_t		size = 0;

	if (typed == NULL || typed->string == NULL)
		return 0;
	if (strcmp(typed->string, "S") == 0 && cJSON_IsString(typed))
		return strlen(typed->valuestring);
	if (strcmp(typed->string, "N") == 0 && cJSON_IsString(typed))
		return number_size(typed->valuestring);
	if (strcmp(typed->string, "B") == 0 && cJSON_IsString(typed))
		return base64_decoded_size(typed->valuestring);
	/* As DynamoDB counts: each element as its type would be alone (binary decoded). */
	if (strcmp(typed->string, "SS") == 0 || strcmp(typed->string, "BS") == 0 ||
		strcmp(typed->string, "NS") == 0)
	{
		cJSON_ArrayForEach(e, typed)
		{
			if (!cJSON_IsString(e))
				continue;
			size += typed->string[0] == 'B' ? base64_decoded_size(e->valuestring) :
				typed->string[0] == 'N' ? number_size(e->valuestring) : strlen(e->valuestring);
		}
		return size;
	}
	if (strcmp(typed->string, "L") == 0 || strcmp(typed->string, "M") == 0)
	{
		size = 3;
		cJSON_ArrayForEach(e, typed)
			size += 1 + value_size(e) + (e->string ? strlen(e->string) : 0);
		return size;
	}
	return 1;
}

size_t
ddb_item_size(const cJSON *item)
{
	const cJSON *attr;
	size_t		size = 0;

	cJSON_ArrayForEach(attr, item)
		size += strlen(attr->string ? attr->string : "") + value_size(attr);
	return size;
}

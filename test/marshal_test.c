/*
 * marshal_test.c - unit test of the plain-C AttributeValue code: number
 * limits, base64, and AttributeValue -> JSON for every type.
 */
#include <stdio.h>
#include <string.h>

#include "json_scan.h"
#include "marshal.h"

static int	passed = 0;
static int	failed = 0;

static void
check(bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	ok ? passed++ : failed++;
}

static void
number(const char *text, bool fine)
{
	char		what[200];

	snprintf(what, sizeof(what), "number %s is %s", text, fine ? "accepted" : "refused");
	check((ddb_number_problem(text) == NULL) == fine, what);
}

static void
to_json(const char *av_text, const char *want)
{
	cJSON	   *av = cJSON_Parse(av_text);
	strbuf		out;
	const char *why;
	char		what[300];

	strbuf_init(&out);
	why = av ? ddb_av_to_json(av, &out) : "unparsable";
	snprintf(what, sizeof(what), "%s -> %s", av_text, want);
	check(why == NULL && strcmp(strbuf_str(&out), want) == 0, what);
	if (why || strcmp(strbuf_str(&out), want) != 0)
		printf("     got %s (%s)\n", strbuf_str(&out), why ? why : "");
	strbuf_free(&out, false);
	cJSON_Delete(av);
}

int
main(void)
{
	number("0", true);
	number("-0.000", true);
	number("12345678901234567890123456789012345678", true);	/* 38 digits */
	number("123456789012345678901234567890123456789", false);	/* 39 */
	number("1234567890123456789012345678901234567800000", true);	/* trailing zeros */
	number("0.00000000000000000000000000000000000000012345678901234567890123456789012345678", true);
	number("1.000000000000000000000000000000000000001", false);	/* 40 digits */
	number("9.9999999999999999999999999999999999999E+125", true);
	number("1E+126", false);
	number("1E-130", true);
	number("0.001E-127", true);	/* 1E-130 */
	number("0.0001E-127", false);
	number("-1.5e3", true);
	number("", false);
	number("-", false);
	number("1.2.3", false);
	number("12a", false);
	/* jsonb would refuse these: so must the check (DynamoDB writes none of them) */
	number("+5", false);
	number(".5", false);
	number("5.", false);
	number("007", false);
	number("1e", false);
	number("0.5", true);
	number("5E+3", true);
	/* an exponent far out of range: refused, with no overflow in the arithmetic (UBSan) */
	number("12E9223372036854775807", false);
	number("12E-9223372036854775808", false);
	number("12E99999999999999999999999", false);
	number("1e", false);

	{
		char		where[128];
		const char *ok_text = "{\"Item\":{\"a\":{\"S\":\"x\\\\u0000y\"}}}";
		const char *in_value = "{\"Item\":{\"note\":{\"S\":\"before\\u0000after\"}}}";
		const char *in_key = "{\"Items\":[{\"pk\":{\"S\":\"p\"}},{\"k\\u0000x\":{\"N\":\"1\"}}]}";
		const char *in_list = "{\"Item\":{\"l\":{\"L\":[{\"S\":\"a\"},{\"S\":\"\\u0000\"}]}}}";

		check(!json_find_nul(ok_text, strlen(ok_text), where, sizeof(where)),
			  "an escaped backslash before u0000 is no NUL");
		check(json_find_nul(in_value, strlen(in_value), where, sizeof(where)) &&
			  strcmp(where, "Item.note.S") == 0, "a NUL in a string value is found, with its path");
		check(json_find_nul(in_key, strlen(in_key), where, sizeof(where)) &&
			  strcmp(where, "Items[1].k?x") == 0, "a NUL in an attribute name is found, with its path");
		check(json_find_nul(in_list, strlen(in_list), where, sizeof(where)) &&
			  strcmp(where, "Item.l.L[1].S") == 0, "a NUL in a list element is found, with its path");
		check(!json_find_nul("{\"a\":\"\\u00001\"", 8, where, sizeof(where)),
			  "a cut-off text is scanned only as far as it goes");
		check(!json_find_nul("]]]]{{\"\\u0000\":1}", 17, where, sizeof(where)),
			  "unbalanced text (closers first) is not JSON, and is scanned without going below the top");
	}
	check(ddb_base64_is_valid("AAEC"), "base64 AAEC is valid");
	check(ddb_base64_is_valid("AA=="), "base64 AA== is valid");
	check(!ddb_base64_is_valid("AAE"), "base64 of a wrong length is refused");
	check(!ddb_base64_is_valid("A=AA"), "base64 with inner padding is refused");
	check(!ddb_base64_is_valid("AA!A"), "base64 with a stray character is refused");

	to_json("{\"S\":\"caf\\u00e9 \\\"q\\\" \\\\ \\n\\u0001\"}", "\"caf\xc3\xa9 \\\"q\\\" \\\\ \\n\\u0001\"");
	to_json("{\"N\":\"-1.5\"}", "-1.5");
	to_json("{\"BOOL\":true}", "true");
	to_json("{\"NULL\":true}", "null");
	to_json("{\"L\":[]}", "[]");
	to_json("{\"M\":{}}", "{}");
	to_json("{\"L\":[{\"N\":\"1\"},{\"M\":{\"a\":{\"S\":\"x\"}}}]}", "[1,{\"a\":\"x\"}]");
	to_json("{\"B\":\"AAEC\"}", "{\"$b\":\"AAEC\"}");
	to_json("{\"SS\":[\"a\",\"b\"]}", "{\"$ss\":[\"a\",\"b\"]}");
	to_json("{\"NS\":[\"1\",\"2.5\"]}", "{\"$ns\":[1,2.5]}");
	to_json("{\"BS\":[\"AAEC\"]}", "{\"$bs\":[\"AAEC\"]}");

	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

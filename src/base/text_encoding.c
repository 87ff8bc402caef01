/*
 * text_encoding.c - the one boundary between the database's encoding and
 * UTF-8 (text_encoding.h).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "text_encoding.h"

/* UTF-8 -> the database encoding, looked up once (see text_encoding_prepare). */
static bool prepared = false;
static bool have_conversion = false;
static FmgrInfo to_database;

void
text_encoding_prepare(void)
{
	int			encoding = GetDatabaseEncoding();
	Oid			proc;

	if (prepared)
		return;
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
	{
		prepared = true;
		return;
	}
	if (!IsTransactionState())
		return;
	proc = FindDefaultConversionProc(PG_UTF8, encoding);
	if (OidIsValid(proc))
	{
		fmgr_info_cxt(proc, &to_database, TopMemoryContext);
		have_conversion = true;
	}
	prepared = true;
}

/*
 * Converts len bytes of valid UTF-8 into dest (room for len *
 * MAX_CONVERSION_GROWTH + 1) without raising: the number of bytes
 * converted, less than len where a character has no equivalent.
 */
static int
convert_prefix(const char *utf8, int len, char *dest)
{
	if (!have_conversion)
		return 0;
	return DatumGetInt32(FunctionCall6(&to_database,
									   Int32GetDatum(PG_UTF8),
									   Int32GetDatum(GetDatabaseEncoding()),
									   CStringGetDatum(utf8),
									   CStringGetDatum(dest),
									   Int32GetDatum(len),
									   BoolGetDatum(true)));
}

char *
text_to_utf8(const char *s, int len, const char *what)
{
	char	   *copy = pnstrdup(s, len);

	text_encoding_prepare();
	if (GetDatabaseEncoding() == PG_SQL_ASCII)
	{
		if (!pg_verify_mbstr(PG_UTF8, copy, len, true))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("%s is not valid UTF-8", what),
					 errdetail("The database's encoding is SQL_ASCII, which says nothing of what other bytes mean: "
							   "dynamo_atomic takes its text as UTF-8, DynamoDB's only encoding.")));
		return copy;
	}
	return (char *) pg_server_to_any(copy, len, PG_UTF8);
}

char *
text_to_utf8_or_escaped(const char *s)
{
	int			len = strlen(s);
	int			encoding = GetDatabaseEncoding();
	StringInfoData out;

	if (pg_verify_mbstr(encoding == PG_SQL_ASCII ? PG_UTF8 : encoding, s, len, true))
		return text_to_utf8(s, len, "text");
	initStringInfo(&out);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x80)
			appendStringInfoChar(&out, (char) *p);
		else
			appendStringInfo(&out, "\\x%02X", *p);
	}
	return out.data;
}

char *
text_from_utf8(const char *utf8, const char *what)
{
	int			len = strlen(utf8);
	int			encoding = GetDatabaseEncoding();
	char	   *dest;

	if (!pg_verify_mbstr(PG_UTF8, utf8, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s is not valid UTF-8: \"%s\"", what, text_display(utf8))));
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return pstrdup(utf8);
	text_encoding_prepare();
	dest = palloc((Size) len * MAX_CONVERSION_GROWTH + 1);
	if (convert_prefix(utf8, len, dest) == len)
		return dest;
	if (!have_conversion)
		return (char *) pg_any_to_server(utf8, len, PG_UTF8);	/* raises as PostgreSQL does */
	ereport(ERROR,
			(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
			 errmsg("%s has a character that the database encoding \"%s\" cannot represent: \"%s\"",
					what, GetDatabaseEncodingName(), text_display(utf8)),
			 errhint("Read it from a database whose encoding can (UTF8 holds every character).")));
	return NULL;				/* not reached */
}

char *
text_display(const char *utf8)
{
	const unsigned char *p = (const unsigned char *) utf8;
	const unsigned char *end = p + strlen(utf8);
	int			encoding = GetDatabaseEncoding();
	StringInfoData out;

	initStringInfo(&out);
	while (p < end)
	{
		int			n;
		char		one[8];
		char		converted[8 * MAX_CONVERSION_GROWTH + 1];

		if (*p < 0x80)
		{
			appendStringInfoChar(&out, (char) *p++);
			continue;
		}
		n = pg_utf_mblen(p);
		if (n > end - p || !pg_utf8_islegal(p, n))
		{
			appendStringInfo(&out, "\\x%02X", *p++);
			continue;
		}
		if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
			appendBinaryStringInfo(&out, (const char *) p, n);
		else
		{
			memcpy(one, p, n);
			one[n] = '\0';
			if (convert_prefix(one, n, converted) == n)
				appendStringInfoString(&out, converted);
			else
			{
				pg_wchar	c = utf8_to_unicode(p);

				appendStringInfo(&out, c > 0xFFFF ? "\\U%08X" : "\\u%04X", (unsigned int) c);
			}
		}
		p += n;
	}
	return out.data;
}

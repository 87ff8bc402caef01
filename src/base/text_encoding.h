/*
 * text_encoding.h - the one boundary between the database's encoding and
 * UTF-8, DynamoDB's only one.
 *
 * Everything inside the extension is UTF-8: names, ids, keys, attribute
 * names, payloads and items as sent to DynamoDB, the lock registry, the ID
 * slots.  Text crosses into it once, from an argument (text_to_utf8), and
 * out of it once, into a result (text_from_utf8) or into a message or a
 * view (text_display).
 *
 * SQL_ASCII has no encoding to convert from: its text is taken as UTF-8,
 * and bytes that are not valid UTF-8 are refused with 22021.  (Most
 * SQL_ASCII databases hold UTF-8; anything else has no meaning DynamoDB
 * could keep.)  Text coming back is returned as the UTF-8 it is.
 */
#ifndef DYNAMO_ATOMIC_TEXT_ENCODING_H
#define DYNAMO_ATOMIC_TEXT_ENCODING_H

/*
 * Text in the database encoding (len bytes) as UTF-8, palloc'd; what names
 * it in the 22021 raised when it cannot be (SQL_ASCII: not valid UTF-8).
 */
extern char *text_to_utf8(const char *s, int len, const char *what);

/*
 * The same for text the database did not check (a database's name, stored
 * as the bytes its creator's session sent): bytes not valid in the
 * database encoding are written \xNN instead of raising.
 */
extern char *text_to_utf8_or_escaped(const char *s);

/*
 * UTF-8 from DynamoDB (or the registry) in the database encoding, for a
 * result; 22P05 naming what when it holds a character the encoding lacks,
 * 22021 when it is not valid UTF-8.
 */
extern char *text_from_utf8(const char *utf8, const char *what);

/*
 * UTF-8 for a message, a DETAIL or a view, in the database encoding: never
 * raises, so it may stand among ereport's arguments.  A character the
 * encoding lacks (and any non-ASCII one before the backend first converted
 * text: see text_encoding_prepare) is written \uXXXX (\UXXXXXXXX past the
 * BMP), as JSON would, and so is a byte that is not UTF-8 (\xNN).
 */
extern char *text_display(const char *utf8);

/*
 * Looks up, once per backend, the conversion text_display uses (a catalog
 * look-up: in a transaction, never inside ereport).  text_to_utf8 and
 * text_from_utf8 call it; a lock worker calls it once connected.
 */
extern void text_encoding_prepare(void);

#endif

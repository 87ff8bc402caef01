/*
 * strbuf.h - a growable byte buffer for plain C code (no PostgreSQL).
 *
 * The SigV4 signer is plain C so that it can be unit-tested outside a
 * backend; it builds its strings here.  An allocation failure does not
 * abort: it marks the buffer failed, later appends do nothing, and the
 * caller checks strbuf_failed() once at the end.
 */
#ifndef DYNAMO_ATOMIC_STRBUF_H
#define DYNAMO_ATOMIC_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf
{
	char	   *data;			/* always NUL-terminated once anything is
								 * appended */
	size_t		len;
	size_t		cap;
	bool		failed;
} strbuf;

extern void strbuf_init(strbuf *b);
extern void strbuf_append(strbuf *b, const char *s, size_t n);
extern void strbuf_appends(strbuf *b, const char *s);
extern void strbuf_appendc(strbuf *b, char c);
extern void strbuf_reset(strbuf *b);

/* Frees the buffer; wipe = true first zeroes it (for secrets). */
extern void strbuf_free(strbuf *b, bool wipe);

static inline bool
strbuf_failed(const strbuf *b)
{
	return b->failed;
}

/* The contents, "" when nothing was appended. */
static inline const char *
strbuf_str(const strbuf *b)
{
	return b->data ? b->data : "";
}

#endif

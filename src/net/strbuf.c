/*
 * strbuf.c - a growable byte buffer for plain C code (see strbuf.h).
 */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

void
strbuf_init(strbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

static bool
strbuf_reserve(strbuf *b, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *grown;

	if (b->failed)
		return false;
	if (extra > ((size_t) -1) / 2 - b->len)
	{
		b->failed = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;

	/*
	 * Grow by copying rather than realloc so that a buffer holding a secret
	 * can be wiped in full: realloc may leave the old bytes behind.
	 */
	grown = malloc(cap);
	if (grown == NULL)
	{
		b->failed = true;
		return false;
	}
	if (b->data)
	{
		memcpy(grown, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	else
		grown[0] = '\0';
	b->data = grown;
	b->cap = cap;
	return true;
}

void
strbuf_append(strbuf *b, const char *s, size_t n)
{
	if (!strbuf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
strbuf_appends(strbuf *b, const char *s)
{
	strbuf_append(b, s, strlen(s));
}

void
strbuf_appendc(strbuf *b, char c)
{
	strbuf_append(b, &c, 1);
}

void
strbuf_reset(strbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
strbuf_free(strbuf *b, bool wipe)
{
	if (b->data)
	{
		if (wipe)
			explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	strbuf_init(b);
}

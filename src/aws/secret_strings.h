/*
 * secret_strings.h - the two string helpers every credentials file needs:
 * is a setting (or variable) given, and free a string that held a secret.
 */
#ifndef DYNAMO_SECRET_STRINGS_H
#define DYNAMO_SECRET_STRINGS_H

#include <string.h>

/* Set and not empty: an empty variable counts as unset, as in the SDKs. */
static inline bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Wipes s (it may hold a key or a token), then frees it; NULL is fine. */
static inline void
wipe_pfree(const char *s)
{
	if (s)
	{
		explicit_bzero((char *) s, strlen(s));
		pfree((char *) s);
	}
}

#endif

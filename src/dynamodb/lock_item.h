/*
 * lock_item.h - the lock item in DynamoDB and the writes that move it.
 *
 * One item per lock, keyed by lock_name in a lock table, or, in a table
 * keyed pk + sk shared with counters and items (single-table design), the
 * item {pk: lock name, sk: "#lock"}:
 *   owner          the holding session (absent when free)
 *   fencing_token  N, +1 on every acquisition; a new item starts from the
 *                  clock (epoch ms x 1000), so tokens never go back, even
 *                  after TTL removed an abandoned item
 *   version        changes on every write (acquire, heartbeat, release)
 *   lease_until    N, epoch ms: the lease ends then, by the holder's clock
 *   ttl            N, epoch s: DynamoDB's cleanup only, a day past the lease
 *   holder, acquired_at   for people reading the table (epoch ms)
 *   payload        S, JSON text the acquire gave (dynamo_get_lock's payload),
 *                  removed by an acquire without one and by a release
 *   payload_token  N, the fencing token of the acquire that stored it: a
 *                  payload an older version left at a takeover is not read
 *   last_release   the version the last release set (no acquire touches it)
 *
 * Each write says what a lost answer means for it:
 *   acquire    resent: its condition admits the owner itself, so a resend
 *              takes the lock it already took (the token moves on by one);
 *              each sending counts its lease from its own start
 *   heartbeat  resent: conditioned on owner and fencing token (never on
 *              the version, which a lost heartbeat would have moved); each
 *              sending counts its lease from its own start
 *   release    resent: a refusal after a lost answer reads the item; its
 *              last_release says whether the first sending landed
 *   create     (dynamo_read_lock) resent: conditional on no item; a
 *              refused resend finds the item, which is all it wanted
 *   ttl        resent: setting the same ttl again changes nothing
 */
#ifndef DYNAMO_ATOMIC_LOCK_ITEM_H
#define DYNAMO_ATOMIC_LOCK_ITEM_H

#include "datatype/timestamp.h"

#include "json.h"

#define LOCK_VERSION_LEN 32		/* hex characters */

/*
 * The key of every lock item.  Counter and item functions refuse to name
 * it (42501): whoever may increment a counter or put an item must not be
 * able to rewrite a lock's lease, and the lock table has to be allowed
 * for locks to work.
 */
#define LOCK_KEY_ATTRIBUTE "lock_name"

/* Raises 42501 for a counter or item function that names the lock key. */
extern void lock_key_refuse(const char *attribute, const char *what);

/*
 * In a table keyed pk + sk, a lock's item has this sort key, and every sort
 * key beginning so is reserved: counter and item functions refuse it (42501),
 * so that whoever may write items beside the locks cannot forge, overwrite
 * or end a lock.
 */
#define LOCK_SORT_KEY "#lock"
#define SINGLE_TABLE_PARTITION_KEY "pk"
#define SINGLE_TABLE_SORT_KEY "sk"

/* Raises 42501 for a sort key (UTF-8) of the reserved form; what names the caller. */
extern void lock_sort_key_refuse(const char *sort_key, const char *what);

/* How a table keys its lock items. */
typedef enum LockKeyForm
{
	LOCK_KEY_UNKNOWN = 0,		/* not learned yet in this backend */
	LOCK_KEY_LOCK_NAME,			/* a lock table: hash key lock_name */
	LOCK_KEY_PK_SK				/* a single table: pk = name, sk = LOCK_SORT_KEY */
} LockKeyForm;

typedef struct LockTarget
{
	const char *endpoint_url;	/* NULL: from the settings */
	const char *region;			/* NULL: from the settings */
	const char *table;
	const char *name;			/* UTF-8 */
	const char *owner;
	LockKeyForm key_form;		/* UNKNOWN: learned (see lock_item_key_form) */
	/*
	 * Told when a write finds its table to be a single table, before it
	 * sends again with that key; NULL for none.
	 */
	void		(*key_form_learned) (void *arg, LockKeyForm form);
	void	   *key_form_learned_arg;
} LockTarget;

typedef struct LockGrant
{
	int64		fencing_token;
	char		version[LOCK_VERSION_LEN + 1];
	int64		lease_until_ms;
} LockGrant;

/* What the item says, for messages about who holds a lock. */
typedef struct LockHolder
{
	bool		exists;
	bool		held;			/* has an owner */
	char	   *owner;
	char	   *holder;			/* "host pid N database D", or NULL */
	int64		lease_until_ms;
	int64		fencing_token;
	char	   *version;
	char	   *last_release;
	int64		ttl_s;
	int64		acquired_at_ms;	/* 0: not said */
	char	   *payload;		/* JSON text, or NULL */
	int64		payload_token;	/* the acquisition that stored it */
} LockHolder;

/* Milliseconds since the Unix epoch, by this server's clock. */
extern int64 lock_now_ms(void);
extern TimestampTz lock_ms_to_timestamptz(int64 ms);

/*
 * How t's table keys its locks, learned once per backend and table (and
 * identity).  The writes and reads below send a lock table's key first when
 * the form is not known yet, so a lock table costs nothing extra; refused
 * for not fitting the key (DynamoDB checks the key before anything else),
 * they check with a consistent GetItem of the lock's own item that it is a
 * single table and send again.  A table that is neither raises 22023 naming
 * its key schema.
 */
/* The form when known (t->key_form, or learned before); UNKNOWN otherwise. */
extern LockKeyForm lock_item_known_key_form(const LockTarget *t);
/* The form, learned now with consistent GetItems if need be (nothing is written). */
extern LockKeyForm lock_item_key_form(const LockTarget *t);

/* Adds the lock item's key attributes to obj (a Key, or an Item). */
extern void lock_item_add_key(cJSON *obj, const LockTarget *t);

/* A new random version (LOCK_VERSION_LEN hex characters) into out. */
extern void lock_new_version(char *out);

/*
 * One conditional UpdateItem: takes the lock when it is free, when its
 * lease ended more than skew_ms ago, or when t->owner holds it, with this
 * payload (JSON text; NULL: none).  Returns false when someone else holds it.
 */
extern bool lock_item_acquire(const LockTarget *t, int lease_ms, int skew_ms,
							  const char *holder, const char *payload, LockGrant *out);

/*
 * Extends the lease of the acquisition identified by owner and token.
 * Returns false when the lock is no longer that acquisition's.  No attempt
 * runs past deadline (0: none).
 */
extern bool lock_item_heartbeat(const LockTarget *t, int64 token, int lease_ms,
								TimestampTz deadline, LockGrant *out);

/*
 * Frees the lock if that acquisition still holds it; false if not, with
 * *why_not (when not NULL) naming the holder if that was read.  Token 0:
 * whatever acquisition of this owner holds it (an acquire cut short, whose
 * token is unknown; owners are unique to a backend).  No attempt runs past
 * deadline (0: none).
 */
extern bool lock_item_release(const LockTarget *t, int64 token, TimestampTz deadline,
							  char **why_not);

/* The item as it is (a consistent read, where t says). */
extern void lock_item_read(const LockTarget *t, LockHolder *out);

/* Creates a free lock item unless one exists (owner unused). */
extern void lock_item_create(const LockTarget *t);

/* Pushes an idle item's ttl out a day, unless its version moved on (owner unused). */
extern void lock_item_refresh_ttl(const LockTarget *t, const char *version);

/* "held by H until T" / "free", for messages. */
extern char *lock_holder_text(const LockHolder *h);

#endif

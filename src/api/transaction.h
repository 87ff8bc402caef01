/*
 * transaction.h - one TransactWriteItems, sent until DynamoDB decides it:
 * all of its actions applied, or none.
 *
 * A ClientRequestToken goes with every sending (the caller's, or a new
 * random one), so that DynamoDB applies a resent transaction at most once:
 * the transaction is resent after a lost answer.  Cancellations that a
 * later sending may not meet (a conflicting transaction or write,
 * throttling) are resent with backoff up to dynamo_atomic.max_retries;
 * TransactionInProgressException (a sending with the same token is still
 * being committed) for 10 s more, as AWS advises.  Once a sending may have
 * been applied, no later failure or cancellation says it was not: 40003.
 */
#ifndef DYNAMO_ATOMIC_TRANSACTION_H
#define DYNAMO_ATOMIC_TRANSACTION_H

#include "ddb.h"

/* DynamoDB's limit on the actions of one transaction. */
#define TRANSACTION_MAX_ACTIONS 100
/* ClientRequestToken: 1 to 36 characters. */
#define TRANSACTION_TOKEN_MAX 36

typedef struct TransactionOutcome
{
	bool		applied;
	/* Not applied: a condition did not hold (ConditionalCheckFailed), in this action (0-based) */
	int			failed_action;
	/* ...whose item, as it is, DynamoDB returned (ReturnValuesOnConditionCheckFailure), or NULL */
	const cJSON *failed_item;
	DdbFailure *failure;		/* the cancellation, for messages */
} TransactionOutcome;

/*
 * Sends req ({"TransactItems": [...]}) with token (NULL: a new one) until
 * applied or a condition fails; any other end is raised.  what names the
 * transaction in messages ("the dynamo_set_atomic transaction"), hint says
 * how to find out whether it was applied when that is unknown.
 */
extern void transaction_run(cJSON *req, const char *token, const char *what, const char *unknown_hint,
							TransactionOutcome *out);

#endif

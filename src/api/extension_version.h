/*
 * extension_version.h - the library and the extension installed in this
 * database must be the same version.
 *
 * After a package upgrade the server runs the new library while each
 * database keeps the SQL objects of the version it was created or last
 * updated at, until ALTER EXTENSION dynamo_atomic UPDATE; a library older
 * than the SQL (a downgrade, a server not restarted) is the other way out
 * of step.  Either may call a function with arguments it does not expect,
 * so nothing runs until they agree (55000, naming both and the remedy).
 */
#ifndef DYNAMO_ATOMIC_EXTENSION_VERSION_H
#define DYNAMO_ATOMIC_EXTENSION_VERSION_H

/* The library's version: the control file's default_version (the Makefile passes it). */
#ifndef DYNAMO_ATOMIC_VERSION
#error "DYNAMO_ATOMIC_VERSION must come from the control file (see the Makefile)"
#endif

StaticAssertDecl(sizeof(DYNAMO_ATOMIC_VERSION) > 1, "DYNAMO_ATOMIC_VERSION is empty: the control file was not read");

/* Raises 55000 unless this database's extension is the library's version (read once a statement). */
extern void extension_version_check(void);

/*
 * Every SQL-callable function of the extension is defined through this:
 * the versions are compared before the function reads a single argument
 * (an older or newer SQL may pass other arguments).  The body follows as
 * "static Datum name_checked(PG_FUNCTION_ARGS)".
 */
#define DYNAMO_SQL_FUNCTION(name) \
	static Datum name##_checked(PG_FUNCTION_ARGS); \
	PG_FUNCTION_INFO_V1(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		extension_version_check(); \
		return name##_checked(fcinfo); \
	} \
	extern int	no_such_variable

#endif

#!/usr/bin/env bash
# Databases that are not UTF-8: text crosses into UTF-8 (DynamoDB's only
# encoding) once on its way in and once on its way out.  In LATIN1,
# WIN1252, EUC_JP and SQL_ASCII databases of one server, with non-ASCII
# names each encoding can hold:
#   - a lock's name comes back as given, dynamo_set_atomic with it works
#     (no false 40001), its non-ASCII payload is stored and read back;
#   - a counter, a lock and an item named so from the UTF-8 database and
#     from the other database are the same object;
#   - a character the database encoding lacks, stored by another program
#     (an item's '€' read into LATIN1, a holder's name in a DETAIL, a lock
#     name in dynamo_held_locks), gives 22P05 for a value and an escape
#     (\u20AC) in a message or the view, never an error inside an error and
#     never a mangled name;
#   - SQL_ASCII: text is taken as UTF-8; bytes that are not UTF-8 are 22021.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseEncodingCounters
L=CaseEncodingLocks
I=CaseEncodingItems
case_begin "$T"
sql -c "SET client_min_messages = warning" \
	-c "SELECT dynamo_create_lock_table('$L', if_not_exists => true)" \
	-c "SELECT dynamo_create_item_table('$I', if_not_exists => true)" >/dev/null
export PGCLIENTENCODING=UTF8
utf8_db=enc_utf8
# in DB SQL...: statements in that database (the client speaks UTF-8)
in_db() { local db=$1; shift; PGDATABASE=$db sql "$@"; }
in_error() { local db=$1; shift; PGDATABASE=$db sql_error "$@"; }

sql -c "DROP DATABASE IF EXISTS $utf8_db" -c "CREATE DATABASE $utf8_db ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
in_db $utf8_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" >/dev/null

check_encoding() { # ENCODING WORD (non-ASCII text the encoding can hold)
	local enc=$1 word=$2 db out r
	db=enc_$(tr 'A-Z' 'a-z' <<<"$enc")
	sql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
	in_db "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" >/dev/null
	local name="lock-$enc-$word"

	# a lock: its name back as given, an optimistic write with it, a payload
	out=$(in_db "$db" -v ON_ERROR_STOP=1 <<SQL 2>&1
SELECT dynamo_get_lock('$name', 10000, 0, '$L', jsonb_build_object('who', '$word')) AS l \\gset
SELECT 'name ' || (:'l'::dynamo_lock).lock_name;
SELECT 'set ' || ((dynamo_set_atomic(jsonb_build_object('pk', 'item-$word', 'sk', 's', 'v', '$word'), :'l'::dynamo_lock, '$I')).lock_name = '$name');
SELECT 'payload ' || (payload->>'who') FROM dynamo_lock_info('$name', '$L');
SELECT 'held ' || count(*) FROM dynamo_held_locks WHERE lock_name = '$name';
\\! psql -X -qAt -d $utf8_db -c "SELECT 'other ' || coalesce((SELECT 'took' FROM dynamo_try_get_lock('$name', 5000, '$L') l WHERE l IS NOT NULL), 'held')"
\\! psql -X -qAt -d $utf8_db -c "SELECT 'payload-utf8 ' || (payload->>'who') FROM dynamo_lock_info('$name', '$L')"
SELECT 'released ' || dynamo_release_lock(:'l'::dynamo_lock);
SQL
	) || true
	expect_eq "$enc: a lock named '$word' comes back with its name as given" "name $name" "$(grep '^name ' <<<"$out")"
	expect_eq "$enc: dynamo_set_atomic with that lock writes (no false 40001)" "set true" "$(grep '^set ' <<<"$out" || grep -m1 ERROR <<<"$out")"
	expect_eq "$enc: its non-ASCII payload is stored and read back" "payload $word" "$(grep '^payload ' <<<"$out")"
	expect_eq "...and read the same from the UTF-8 database" "payload-utf8 $word" "$(grep '^payload-utf8 ' <<<"$out")"
	expect_eq "$enc: dynamo_held_locks shows it by its name" "held 1" "$(grep '^held ' <<<"$out")"
	expect_eq "$enc: the UTF-8 database finds the same lock held" "other held" "$(grep '^other ' <<<"$out")"
	expect_eq "$enc: the release frees it" "released true" "$(grep '^released ' <<<"$out")"

	# the same counter and item from both databases
	in_db $utf8_db -c "SELECT dynamo_increment('count-$enc-$word', 1, '$T')" >/dev/null
	expect_eq "$enc: a counter named '$word' is the UTF-8 database's counter" 2 \
		"$(in_db "$db" -c "SELECT dynamo_increment('count-$enc-$word', 1, '$T')")"
	expect_eq "$enc: the item written with the lock is the UTF-8 database's" "$word" \
		"$(in_db $utf8_db -c "SELECT dynamo_get('item-$word', 's', '$I')->>'v'")"
	in_db $utf8_db -c "SELECT dynamo_put(jsonb_build_object('pk', 'from-utf8-$enc', 'sk', '$word-1', 'v', '$word'), '$I')" >/dev/null
	expect_eq "$enc: an item put from the UTF-8 database is found by a non-ASCII sort-key prefix" "$word" \
		"$(in_db "$db" -c "SELECT string_agg(i->>'v', ',') FROM dynamo_query('from-utf8-$enc', '$word', '$I') i")"
	expect_eq "$enc: a dynamo_id_trigger's non-ASCII counter_id is the same counter" 3 \
		"$(in_db "$db" -c "CREATE TEMP TABLE t (id bigint, v text)" \
			-c "CREATE TRIGGER id BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'count-$enc-$word', 1, '$T')" \
			-c "INSERT INTO t (v) VALUES ('x') RETURNING id")"
}

check_encoding LATIN1 "café"
check_encoding WIN1252 "café€"
check_encoding EUC_JP "日本語"
check_encoding SQL_ASCII "café"

# --- characters the database encoding lacks, stored by another program
latin=enc_latin1
in_db $utf8_db -c "SELECT dynamo_put('{\"pk\": \"euro\", \"sk\": \"s\", \"price\": \"5 €\"}', '$I')" >/dev/null
r=$(in_error $latin "SELECT dynamo_get('euro', 's', '$I')")
expect_eq "LATIN1: an item holding '€' is 22P05 when read" 22P05 "$(field 1 "$r")"
# a lock held from a database whose name LATIN1 cannot hold: the holder's name says it
sql -c "DROP DATABASE IF EXISTS \"enc_€\"" -c "CREATE DATABASE \"enc_€\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
in_db "enc_€" -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" >/dev/null
in_db "enc_€" -c "SELECT dynamo_get_lock('held-elsewhere', 30000, 0, '$L')" \
	-c "\\! psql -X -qAt -v VERBOSITY=verbose -d $latin -c \"SELECT dynamo_get_lock('held-elsewhere', 5000, 0, '$L')\" >$work/held.out 2>&1" \
	-c "\\! psql -X -qAt -v VERBOSITY=verbose -d $latin -c \"SELECT holder FROM dynamo_lock_info('held-elsewhere', '$L')\" >$work/info.out 2>&1" \
	-c "SELECT dynamo_get_lock('price €', 30000, 0, '$L')" \
	-c "\\! psql -X -qAt -d $latin -c \"SELECT lock_name FROM dynamo_held_locks WHERE lock_name LIKE 'price%'\" >$work/view.out 2>&1" >/dev/null
expect_eq "LATIN1: a lock held by a holder whose name LATIN1 lacks is 55P03" "55P03" \
	"$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' "$work/held.out" | head -1)"
expect_true "...its DETAIL names the holder with the character escaped (database enc_\\u20AC), no error within it" \
	grep -q 'DETAIL:  .*database enc_\\u20AC' "$work/held.out"
expect_eq "LATIN1: dynamo_lock_info's holder naming '€' is 22P05" "22P05" \
	"$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' "$work/info.out" | head -1)"
expect_eq "LATIN1: dynamo_held_locks shows another database's '€' lock escaped, not an error" 'price \u20AC' "$(cat "$work/view.out")"

# --- SQL_ASCII: bytes that are not UTF-8
r=$(in_error enc_sql_ascii "SELECT dynamo_increment(E'caf\\xe9', 1, '$T')")
expect_eq "SQL_ASCII: a name whose bytes are not UTF-8 is 22021" 22021 "$(field 1 "$r")"
r=$(in_error enc_sql_ascii "SELECT dynamo_put(E'{\"pk\": \"caf\\xe9\", \"sk\": \"s\"}'::text::jsonb, '$I')")
expect_eq "SQL_ASCII: an item whose text is not UTF-8 is 22021" 22021 "$(field 1 "$r")"

sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"enc_€\"" >/dev/null
for db in enc_utf8 enc_latin1 enc_win1252 enc_euc_jp enc_sql_ascii; do
	sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null
done

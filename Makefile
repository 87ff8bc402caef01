# dynamo_atomic: PGXS build.
#   make && make install        build and install the extension
#   make check-unit             the unit tests: SigV4, container URLs (plain C, no server)
#   make installcheck           pg_regress in a temporary instance of the installed
#                               server, preloaded, against the DynamoDB (Local) at
#                               DYNAMODB_ENDPOINT (default http://127.0.0.1:8000)
#   make installcheck USE_RUNNING_SERVER=1
#                               ...against the running, preloaded server that
#                               PGHOST/PGPORT name instead (test/suite.sh does)

MODULE_big = dynamo_atomic
# src/ by floor, one floor per folder; each includes only the floors below it
# (test/static_analysis.sh checks it):
#   api/       SQL-callable functions and their argument checks
#   server/    module entry, shared memory's owner, the lock registry, the
#              lock workers, the shared ID blocks
#   dynamodb/  the DynamoDB protocol: one path for every call, errors, the
#              counter and lock items, item marshalling
#   aws/       where requests go and with which identity
#   net/       HTTP transport, the SigV4 signer, JSON (sigv4, strbuf,
#              json_scan: plain C)
#   base/      the ground every floor may use: settings and statistics
OBJS = \
	src/api/args.o \
	src/api/counter.o \
	src/api/tally.o \
	src/api/extension_version.o \
	src/api/general_item.o \
	src/api/global_tables.o \
	src/api/info.o \
	src/api/item.o \
	src/api/item_api.o \
	src/api/item_batch.o \
	src/api/item_batch_api.o \
	src/api/item_scan.o \
	src/api/lease_lock.o \
	src/api/item_value.o \
	src/api/lock.o \
	src/api/lock_commit.o \
	src/api/lock_info.o \
	src/api/lock_interrupt.o \
	src/api/lock_session.o \
	src/api/nextval.o \
	src/api/resolved_counters.o \
	src/api/optimistic.o \
	src/api/table.o \
	src/api/transaction.o \
	src/api/transact_write.o \
	src/server/dynamo_atomic.o \
	src/server/id_blocks.o \
	src/server/increment_batches.o \
	src/server/lock_registry.o \
	src/server/lock_worker.o \
	src/server/shmem.o \
	src/dynamodb/counter_item.o \
	src/dynamodb/ddb.o \
	src/dynamodb/ddb_error.o \
	src/dynamodb/item_request.o \
	src/dynamodb/key_schema.o \
	src/dynamodb/lock_item.o \
	src/dynamodb/marshal.o \
	src/dynamodb/table_replication.o \
	src/aws/aws_profile.o \
	src/aws/container_url.o \
	src/aws/credentials.o \
	src/aws/credentials_cache.o \
	src/aws/credentials_metadata.o \
	src/aws/credentials_provider_assume_role.o \
	src/aws/credentials_provider_container.o \
	src/aws/credentials_provider_imds.o \
	src/aws/credentials_provider_process.o \
	src/aws/credentials_provider_profile.o \
	src/aws/credentials_provider_web_identity.o \
	src/aws/endpoint.o \
	src/aws/sts.o \
	src/net/http.o \
	src/net/http_direct.o \
	src/net/http_response.o \
	src/net/json.o \
	src/net/json_scan.o \
	src/net/sigv4.o \
	src/net/strbuf.o \
	src/base/config_check.o \
	src/base/op_stats.o \
	src/base/settings.o \
	src/base/text_encoding.o \
	src/base/wait_events.o

EXTENSION = dynamo_atomic
DATA = $(wildcard sql/dynamo_atomic--*.sql)
PGFILEDESC = "dynamo_atomic - DynamoDB-backed atomic counters and locks"

REGRESS = config counters errors locks items ids
REGRESS_OPTS = --encoding=UTF8


CURL_CONFIG ?= curl-config
PKG_CONFIG ?= pkg-config
# Warnings are errors here and in the test command; a distribution's build
# (debian/rules) passes WERROR= so that a newer compiler's new warning does
# not fail a package build.
WERROR ?= -Werror
WARNINGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare $(WERROR)
SRC_DIRS = src/api src/server src/dynamodb src/aws src/net src/base
# The library's version is the control file's default_version: one place to bump.
DYNAMO_ATOMIC_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(dir $(firstword $(MAKEFILE_LIST)))dynamo_atomic.control)
PG_CPPFLAGS = -DDYNAMO_ATOMIC_VERSION='"$(DYNAMO_ATOMIC_VERSION)"' $(WARNINGS) $(addprefix -I$(srcdir)/,$(SRC_DIRS)) $(shell $(CURL_CONFIG) --cflags) $(shell $(PKG_CONFIG) --cflags libcjson)
SHLIB_LINK = $(shell $(CURL_CONFIG) --libs) $(shell $(PKG_CONFIG) --libs libcjson) -lcrypto

EXTRA_CLEAN = $(FUZZERS) test/sigv4_test test/container_url_test test/marshal_test test/http_response_test test/helpers/tcp_stub test/helpers/slow_dns.so test/bench/raw_curl_loop

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The extension must be preloaded, so a packager's installcheck runs in a
# temporary instance with its own configuration (as pg_cron's does).  The
# endpoint must be on loopback: these tests create and delete tables.
ifndef USE_RUNNING_SERVER
DYNAMODB_ENDPOINT ?= http://127.0.0.1:8000
REGRESS_OPTS += --temp-instance=tmp_check --temp-config=tmp_check_regress.conf
EXTRA_CLEAN += tmp_check tmp_check_regress.conf
installcheck: tmp_check_regress.conf
# No test may reach instance metadata (169.254.169.254) or a profile's keys.
installcheck: export AWS_EC2_METADATA_DISABLED = true
installcheck: export AWS_EC2_METADATA_SERVICE_ENDPOINT = http://127.0.0.1:9
installcheck: export AWS_ENDPOINT_URL_STS = http://127.0.0.1:9
installcheck: export AWS_SHARED_CREDENTIALS_FILE = /nonexistent/dynamo_atomic/credentials
installcheck: export AWS_CONFIG_FILE = /nonexistent/dynamo_atomic/config
.PHONY: tmp_check_regress.conf
tmp_check_regress.conf:
	@echo '$(DYNAMODB_ENDPOINT)' | grep -Eq '^http://127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$$' || \
		{ echo 'DYNAMODB_ENDPOINT must be http://127.x.x.x:PORT (a DynamoDB Local), not $(DYNAMODB_ENDPOINT)' >&2; exit 1; }
	@printf '%s\n' "shared_preload_libraries = 'dynamo_atomic'" \
		"dynamo_atomic.endpoint = '$(DYNAMODB_ENDPOINT)'" \
		"dynamo_atomic.region = 'us-east-1'" \
		"dynamo_atomic.access_key_id = 'AKIDDYNAMOATOMICTEST'" \
		"dynamo_atomic.secret_access_key = 'test-secret-9f8e7d6c5b4a-never-print-me'" >$@
endif

# The objects that use the version are rebuilt when the control file moves it.
src/api/extension_version.o src/server/dynamo_atomic.o: dynamo_atomic.control

# PGXS tracks no header dependencies: a changed header rebuilds every object.
$(OBJS): $(wildcard $(addsuffix /*.h,$(SRC_DIRS)))

# The plain-C unit tests run under AddressSanitizer, LeakSanitizer and UBSan:
# a report fails them.
UNIT_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

test/sigv4_test: test/sigv4_test.c src/net/sigv4.c src/net/sigv4.h src/net/strbuf.c src/net/strbuf.h
	$(CC) -std=gnu11 -O1 -g $(UNIT_SANITIZE) $(WARNINGS) -Isrc/net -o $@ test/sigv4_test.c src/net/sigv4.c src/net/strbuf.c \
		$(shell $(PKG_CONFIG) --cflags --libs libcjson) -lcrypto

test/container_url_test: test/container_url_test.c src/aws/container_url.c src/aws/container_url.h
	$(CC) -std=gnu11 -O1 -g $(UNIT_SANITIZE) $(WARNINGS) -Isrc/aws -o $@ test/container_url_test.c src/aws/container_url.c \
		$(shell $(CURL_CONFIG) --cflags --libs)

test/http_response_test: test/http_response_test.c src/net/http_response.c src/net/http_response.h
	$(CC) -std=gnu11 -O1 -g $(UNIT_SANITIZE) $(WARNINGS) -Isrc/net -o $@ test/http_response_test.c src/net/http_response.c

test/marshal_test: test/marshal_test.c src/dynamodb/marshal.c src/dynamodb/marshal.h src/net/strbuf.c src/net/json_scan.c src/net/json_scan.h
	$(CC) -std=gnu11 -O1 -g $(UNIT_SANITIZE) $(WARNINGS) -Isrc/dynamodb -Isrc/net -o $@ test/marshal_test.c \
		src/dynamodb/marshal.c src/net/strbuf.c src/net/json_scan.c $(shell $(PKG_CONFIG) --cflags --libs libcjson)

test/helpers/tcp_stub: test/helpers/tcp_stub.c
	$(CC) -std=gnu11 -O1 -g $(WARNINGS) -o $@ $<

test/helpers/slow_dns.so: test/helpers/slow_dns.c
	$(CC) -std=gnu11 -O1 -g -shared -fPIC $(WARNINGS) -o $@ $< -ldl

test/bench/raw_curl_loop: test/bench/raw_curl_loop.c src/net/sigv4.c src/net/strbuf.c
	$(CC) -std=gnu11 -O2 $(WARNINGS) -Isrc/net -o $@ test/bench/raw_curl_loop.c src/net/sigv4.c src/net/strbuf.c \
		$(shell $(CURL_CONFIG) --cflags --libs) -lcrypto

# libFuzzer harnesses for the parsers of outside input (clang, sanitizers on);
# test/run.sh runs each for a bounded time over test/fuzz/corpus/NAME.
FUZZERS = test/fuzz/fuzz_items test/fuzz/fuzz_sigv4 test/fuzz/fuzz_container_url test/fuzz/fuzz_item_request \
	test/fuzz/fuzz_http_response
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(WARNINGS)

test/fuzz/fuzz_items: test/fuzz/fuzz_items.c src/dynamodb/marshal.c src/net/strbuf.c src/net/json_scan.c src/dynamodb/marshal.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc/dynamodb -Isrc/net -o $@ test/fuzz/fuzz_items.c src/dynamodb/marshal.c \
		src/net/strbuf.c src/net/json_scan.c $(shell $(PKG_CONFIG) --cflags --libs libcjson)

test/fuzz/fuzz_item_request: test/fuzz/fuzz_item_request.c src/dynamodb/item_request.c src/dynamodb/key_schema.c src/dynamodb/item_request.h src/dynamodb/key_schema.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc/dynamodb -o $@ test/fuzz/fuzz_item_request.c src/dynamodb/item_request.c \
		src/dynamodb/key_schema.c $(shell $(PKG_CONFIG) --cflags --libs libcjson)

test/fuzz/fuzz_sigv4: test/fuzz/fuzz_sigv4.c src/net/sigv4.c src/net/strbuf.c src/net/sigv4.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc/net -o $@ test/fuzz/fuzz_sigv4.c src/net/sigv4.c src/net/strbuf.c \
		$(shell $(PKG_CONFIG) --cflags --libs libcjson) -lcrypto

test/fuzz/fuzz_container_url: test/fuzz/fuzz_container_url.c src/aws/container_url.c src/aws/container_url.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc/aws -o $@ test/fuzz/fuzz_container_url.c src/aws/container_url.c \
		$(shell $(CURL_CONFIG) --cflags --libs)

test/fuzz/fuzz_http_response: test/fuzz/fuzz_http_response.c src/net/http_response.c src/net/http_response.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc/net -o $@ test/fuzz/fuzz_http_response.c src/net/http_response.c

.PHONY: fuzzers
fuzzers: $(FUZZERS)

.PHONY: check-unit
check-unit: test/sigv4_test test/container_url_test test/marshal_test test/http_response_test
	test/sigv4_test test/sigv4-test-suite test/sigv4-dynamodb-examples
	test/container_url_test
	test/marshal_test
	test/http_response_test

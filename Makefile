# dynamo_atomic: PGXS build.
#   make && make install        build and install the extension
#   make check-unit             the unit tests: SigV4, container URLs (plain C, no server)
#   make installcheck           pg_regress against a running server (see test/run.sh)

MODULE_big = dynamo_atomic
OBJS = \
	src/args.o \
	src/aws_profile.o \
	src/counter.o \
	src/container_url.o \
	src/credentials.o \
	src/ddb.o \
	src/ddb_error.o \
	src/dynamo_atomic.o \
	src/endpoint.o \
	src/http.o \
	src/info.o \
	src/json.o \
	src/settings.o \
	src/sigv4.o \
	src/strbuf.o \
	src/table.o

EXTENSION = dynamo_atomic
DATA = sql/dynamo_atomic--1.0.sql
PGFILEDESC = "dynamo_atomic - DynamoDB-backed atomic counters"

REGRESS = config counters errors
REGRESS_OPTS = --encoding=UTF8

CURL_CONFIG ?= curl-config
PKG_CONFIG ?= pkg-config
WARNINGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Werror
PG_CPPFLAGS = $(WARNINGS) $(shell $(CURL_CONFIG) --cflags) $(shell $(PKG_CONFIG) --cflags libcjson)
SHLIB_LINK = $(shell $(CURL_CONFIG) --libs) $(shell $(PKG_CONFIG) --libs libcjson) -lcrypto

EXTRA_CLEAN = test/sigv4_test test/container_url_test test/helpers/tcp_stub test/helpers/slow_dns.so test/bench/raw_curl_loop

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

test/sigv4_test: test/sigv4_test.c src/sigv4.c src/sigv4.h src/strbuf.c src/strbuf.h
	$(CC) -std=gnu11 -O1 -g $(WARNINGS) -o $@ test/sigv4_test.c src/sigv4.c src/strbuf.c \
		$(shell $(PKG_CONFIG) --cflags --libs libcjson) -lcrypto

test/container_url_test: test/container_url_test.c src/container_url.c src/container_url.h
	$(CC) -std=gnu11 -O1 -g $(WARNINGS) -o $@ test/container_url_test.c src/container_url.c \
		$(shell $(CURL_CONFIG) --cflags --libs)

test/helpers/tcp_stub: test/helpers/tcp_stub.c
	$(CC) -std=gnu11 -O1 -g $(WARNINGS) -o $@ $<

test/helpers/slow_dns.so: test/helpers/slow_dns.c
	$(CC) -std=gnu11 -O1 -g -shared -fPIC $(WARNINGS) -o $@ $< -ldl

test/bench/raw_curl_loop: test/bench/raw_curl_loop.c src/sigv4.c src/strbuf.c
	$(CC) -std=gnu11 -O2 $(WARNINGS) -o $@ test/bench/raw_curl_loop.c src/sigv4.c src/strbuf.c \
		$(shell $(CURL_CONFIG) --cflags --libs) -lcrypto

.PHONY: check-unit
check-unit: test/sigv4_test test/container_url_test
	test/sigv4_test test/sigv4-test-suite test/sigv4-dynamodb-examples
	test/container_url_test

#!/usr/bin/env python3
"""boto3_loop.py - the boto3 baseline for test/bench/scale.sh: the same
guarded UpdateItem ADD that dynamo_increment sends, from THREADS threads
(one client each) sharing N requests.

Usage: boto3_loop.py ENDPOINT TABLE COUNTER N THREADS
Prints the wall time in milliseconds."""
import sys
import threading
import time

import boto3

endpoint, table, counter, n, threads = sys.argv[1:6]
n, threads = int(n), int(threads)


def client():
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDDYNAMOATOMICTEST", aws_secret_access_key="bench")


def work(count):
    c = client()
    for _ in range(count):
        c.update_item(TableName=table, Key={"id": {"S": counter}},
                      UpdateExpression="ADD #v :inc",
                      ConditionExpression="attribute_not_exists(#v) OR #v BETWEEN :lo AND :hi",
                      ExpressionAttributeNames={"#v": "lastValue"},
                      ExpressionAttributeValues={":inc": {"N": "1"}, ":lo": {"N": "-9223372036854775809"},
                                                 ":hi": {"N": "9223372036854775806"}},
                      ReturnValues="UPDATED_NEW")


work(20)  # warm-up: connection and botocore's caches
start = time.monotonic()
pool = [threading.Thread(target=work, args=(n // threads,)) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print("%.1f" % ((time.monotonic() - start) * 1000))

#!/usr/bin/python3
"""Builds the CBOR fixtures from Jackson's write rules (jackson.py), checks every one with an
independent decoder (Debian's python3-cbor2) and writes its origin next to it (<name>.txt).

Run: /usr/bin/python3 make_fixtures.py   (writes *.cbor and *.txt here; --check only compares)
Nothing here comes from kinesisd: the request bytes follow the Java SDK v2's generator, the replies
follow the same generator as AWS's own replies do, with the placeholders the replay test knows.
"""
import hashlib
import os
import sys
from importlib.metadata import version

import cbor2.decoder as pydecoder  # cbor2's pure-Python decoder, so tag 1 can be kept raw

from jackson import arr, blob, integer, obj, text, timestamp_ms

# cbor2 reads tag 1 as RFC 8949 epoch SECONDS and fails on the Java SDK's milliseconds
# ("year 57036 is out of range"): keep tag 1 as a CBORTag and check the milliseconds ourselves.
del pydecoder.semantic_decoders[1]

HERE = os.path.dirname(os.path.abspath(__file__))
STREAM = "cbor-fixture"  # created by the replay test with 2 shards
T_MS = 1738951482123  # 2025-02-07T18:04:42.123Z: the replay test pins its fake clock here
SEQ = "49590338271490256608559692538361571095921575989136588898"  # a real 56-digit number (placeholder)
ITER = "AAAAAAAAAAE" + "x" * 149  # shape of an AWS iterator (placeholder)
ITER_IN = "ITERATOR-PLACEHOLDER"  # the replay test splices a live iterator in here

DATA = [b"hello, world!", bytes(i % 256 for i in range(300)), b"\x00\xff"]
KEYS = ["alpha", "beta", "pk-1"]
EHK = [None, None, "0"]


def shard_of(i):
    """The shard of record i in a 2-shard stream: MD5 of the key, or the explicit hash key."""
    h = int(EHK[i]) if EHK[i] is not None else int.from_bytes(hashlib.md5(KEYS[i].encode()).digest(), "big")
    return "shardId-%012d" % (0 if h < 2**127 else 1)


def entry(i):
    members = [("Data", blob(DATA[i]))]  # PutRecordsRequestEntry: Data, ExplicitHashKey, PartitionKey
    if EHK[i] is not None:
        members.append(("ExplicitHashKey", text(EHK[i])))
    members.append(("PartitionKey", text(KEYS[i])))
    return obj(*members)


def record(i):  # Record: SequenceNumber, ApproximateArrivalTimestamp, Data, PartitionKey, EncryptionType
    return obj(("SequenceNumber", text(SEQ)), ("ApproximateArrivalTimestamp", timestamp_ms(T_MS)),
               ("Data", blob(DATA[i])), ("PartitionKey", text(KEYS[i])), ("EncryptionType", text("NONE")))


shard0 = [i for i in range(3) if shard_of(i) == "shardId-000000000000"]
Tag = pydecoder.CBORTag

FIXTURES = {
    # name: (bytes, the value cbor2 must read, origin)
    "putrecords.request": (
        obj(("Records", arr(*(entry(i) for i in range(3)))), ("StreamName", text(STREAM))),
        {"Records": [{"Data": DATA[0], "PartitionKey": KEYS[0]}, {"Data": DATA[1], "PartitionKey": KEYS[1]},
                     {"Data": DATA[2], "ExplicitHashKey": "0", "PartitionKey": KEYS[2]}], "StreamName": STREAM},
        "PutRecordsRequest as the Java SDK v2 writes it: PutRecordsInput members Records, StreamName; "
        "entries Data (byte string; 300 bytes takes a 2-byte length), ExplicitHashKey, PartitionKey."),
    "putrecords.response": (
        obj(("FailedRecordCount", integer(0)),
            ("Records", arr(*(obj(("SequenceNumber", text(SEQ)), ("ShardId", text(shard_of(i)))) for i in range(3)))),
            ("EncryptionType", text("NONE"))),
        {"FailedRecordCount": 0, "Records": [{"SequenceNumber": SEQ, "ShardId": shard_of(i)} for i in range(3)],
         "EncryptionType": "NONE"},
        "Expected reply: PutRecordsOutput members FailedRecordCount, Records (SequenceNumber, ShardId), "
        "EncryptionType. Shards computed here from MD5(partition key) / ExplicitHashKey over 2 shards. "
        "SequenceNumber is a placeholder (56 digits): the replay test checks its shape only."),
    "getsharditerator-at-timestamp.request": (
        obj(("StreamName", text(STREAM)), ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")), ("Timestamp", timestamp_ms(T_MS))),
        {"StreamName": STREAM, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
         "Timestamp": Tag(1, T_MS)},
        "GetShardIteratorRequest with AT_TIMESTAMP: members StreamName, ShardId, ShardIteratorType, "
        "Timestamp = tag 1 + epoch MILLISECONDS as a long (0xc1 0x1b + 8 bytes), SdkCborGenerator.writeValue(Instant)."),
    "getsharditerator-at-timestamp.response": (
        obj(("ShardIterator", text(ITER))),
        {"ShardIterator": ITER},
        "Expected reply: GetShardIteratorOutput {ShardIterator}; the iterator is a placeholder."),
    "getrecords.request": (
        obj(("ShardIterator", text(ITER_IN)), ("Limit", integer(10000))),
        {"ShardIterator": ITER_IN, "Limit": 10000},
        "GetRecordsRequest: members ShardIterator, Limit (Integer: writeNumber(int), 0x19 0x2710). The replay "
        "test replaces the text item \"%s\" with a live iterator, every other byte as here." % ITER_IN),
    "getrecords.response": (
        obj(("Records", arr(*(record(i) for i in shard0))), ("NextShardIterator", text(ITER)),
            ("MillisBehindLatest", integer(0))),
        {"Records": [{"SequenceNumber": SEQ, "ApproximateArrivalTimestamp": Tag(1, T_MS), "Data": DATA[i],
                      "PartitionKey": KEYS[i], "EncryptionType": "NONE"} for i in shard0],
         "NextShardIterator": ITER, "MillisBehindLatest": 0},
        "Expected reply for shardId-000000000000 after putrecords.request at the pinned time: GetRecordsOutput "
        "members Records, NextShardIterator, MillisBehindLatest; Record members SequenceNumber, "
        "ApproximateArrivalTimestamp (tag 1 + ms), Data (byte string), PartitionKey, EncryptionType. "
        "SequenceNumber and NextShardIterator are placeholders."),
    "error-not-found.request": (
        obj(("StreamName", text("missing"))),
        {"StreamName": "missing"},
        "DescribeStreamSummaryRequest for a stream that does not exist."),
    "error-not-found.response": (
        obj(("__type", text("ResourceNotFoundException")),
            ("message", text("Stream missing under account 000000000000 not found."))),
        {"__type": "ResourceNotFoundException", "message": "Stream missing under account 000000000000 not found."},
        "Expected error reply (HTTP 400, X-Amzn-ErrorType ResourceNotFoundException): the map {__type, message} "
        "as kinesalite writes CBOR errors (index.js sendCborUnknown: bf 66 __type 78 19 ... ff), with AWS's "
        "JSON message text."),
    "putrecord-localstack.request": (
        b"\xbfjStreamNamedtestdDataMhello, world!lPartitionKeylpartitionkey\xff",
        {"StreamName": "test", "Data": b"hello, world!", "PartitionKey": "partitionkey"},
        "Copied from localstack/localstack tests/unit/aws/protocol/test_parser.py (test_json_cbor_blob_parsing): "
        "a PutRecord body sent by a Java SDK (headers amz-sdk-invocation-id, amz-sdk-request; X-Amz-Date "
        "20220721T081553Z). That test's Content-Length header says 103 for these 60 bytes, so treat it as an "
        "edited capture. It agrees with jackson.py: obj(StreamName, Data, PartitionKey) gives the same bytes."),
    "unknown-operation.response": (
        bytes.fromhex("bf66") + b"__type" + bytes.fromhex("7819") + b"UnknownOperationException" + b"\xff",
        {"__type": "UnknownOperationException"},
        "Copied byte for byte from kinesalite index.js sendCborUnknown(): the reply (HTTP 400) to an empty "
        "CBOR body whose X-Amz-Target names no operation."),
    "serialization.response": (
        bytes.fromhex("bf66") + b"__type" + bytes.fromhex("76") + b"SerializationException" + b"\xff",
        {"__type": "SerializationException"},
        "Copied byte for byte from kinesalite index.js sendCborSerialization(): the reply (HTTP 400) to an "
        "empty CBOR body for a valid operation."),
}


def main():
    # The localstack capture and the rules must agree.
    assert FIXTURES["putrecord-localstack.request"][0] == obj(
        ("StreamName", text("test")), ("Data", blob(b"hello, world!")), ("PartitionKey", text("partitionkey")))
    check = "--check" in sys.argv
    bad = 0
    for name, (data, want, origin) in FIXTURES.items():
        got = pydecoder.CBORDecoder(__import__("io").BytesIO(data)).decode()
        if got != want:
            print("%s: cbor2 reads %r, want %r" % (name, got, want))
            bad += 1
        path = os.path.join(HERE, name + ".cbor")
        if check:
            with open(path, "rb") as f:
                if f.read() != data:
                    print("%s: file differs from the rules" % name)
                    bad += 1
            continue
        with open(path, "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, name + ".txt"), "w") as f:
            f.write("Origin: %s\n\nBuilt by make_fixtures.py from jackson.py (Jackson CBORGenerator rules).\n"
                    "Checked with python3-cbor2 %s (pure-Python decoder, tag 1 kept raw), which reads:\n%r\n\n"
                    "%d bytes:\n%s\n" % (origin, version("cbor2"), got, len(data), data.hex(" ")))
    print("%d fixtures, %d problems" % (len(FIXTURES), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

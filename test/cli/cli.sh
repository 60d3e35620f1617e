#!/usr/bin/env bash
# The AWS CLI (Debian's awscli, v2) against a kinesisd binary, run as the README shows a user.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/cli.sh
set -uo pipefail

suite=cli
. "$(dirname "$0")/harness.bash"

kin create-stream --stream-name orders --shard-count 2
check "create-stream" 0 $?
check "describe-stream-summary status" ACTIVE "$(kin describe-stream-summary --stream-name orders | field 'd["StreamDescriptionSummary"]["StreamStatus"]')"
check "describe-stream-summary shards" 2 "$(kin describe-stream-summary --stream-name orders | field 'd["StreamDescriptionSummary"]["OpenShardCount"]')"
check "list-streams" "['orders']" "$(kin list-streams | field 'd["StreamNames"]')"
check "list-shards" "['shardId-000000000000', 'shardId-000000000001']" "$(kin list-shards --stream-name orders | field '[s["ShardId"] for s in d["Shards"]]')"

# hello = aGVsbG8= in base64; the CLI v2 takes blobs in base64.
put=$(kin put-record --stream-name orders --partition-key k1 --data aGVsbG8= --explicit-hash-key 0)
check "put-record shard" shardId-000000000000 "$(echo "$put" | field 'd["ShardId"]')"
check "put-record sequence number" 56 "$(echo "$put" | field 'len(d["SequenceNumber"])')"
puts=$(kin put-records --stream-name orders --records Data=d29ybGQ=,PartitionKey=k2,ExplicitHashKey=1 Data=IQ==,PartitionKey=k3,ExplicitHashKey=2)
check "put-records failed count" 0 "$(echo "$puts" | field 'd["FailedRecordCount"]')"
check "put-records results" 2 "$(echo "$puts" | field 'len(d["Records"])')"

iter=$(kin get-shard-iterator --stream-name orders --shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON | field 'd["ShardIterator"]')
recs=$(kin get-records --shard-iterator "$iter")
check "get-records data" "['aGVsbG8=', 'd29ybGQ=', 'IQ==']" "$(echo "$recs" | field '[r["Data"] for r in d["Records"]]')"
check "get-records keys" "['k1', 'k2', 'k3']" "$(echo "$recs" | field '[r["PartitionKey"] for r in d["Records"]]')"
check "get-records next iterator" True "$(echo "$recs" | field 'bool(d["NextShardIterator"])')"

err=$(kin describe-stream-summary --stream-name missing 2>&1 >/dev/null)
check "missing stream error" "True" "$(python3 -c "import sys; print('ResourceNotFoundException' in sys.argv[1] and 'Stream missing under account 000000000000 not found.' in sys.argv[1])" "$err")"

kin delete-stream --stream-name orders
check "delete-stream" 0 $?
check "list-streams after delete" "[]" "$(kin list-streams | field 'd["StreamNames"]')"

# HTTPS: a second server with a generated certificate, trusted by the CLI as its CA bundle.
"$KINESISD_BIN" -listen 127.0.0.1:0 -in-memory -tls 2>"$work/tls.log" &
tls_server=$!
trap 'kill "$server" "$tls_server" 2>/dev/null; wait "$server" "$tls_server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  cert=$(grep -o 'TLS certificate [^ "]*' "$work/tls.log" | head -1 | cut -d' ' -f3)
  tls_addr=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/tls.log" | head -1 | cut -d' ' -f3)
  [ -n "$cert" ] && [ -n "$tls_addr" ] && break
  sleep 0.05
done
tkin() { "$AWS" --endpoint-url "https://$tls_addr" --ca-bundle "$cert" --output json kinesis "$@"; }
tkin create-stream --stream-name secure --shard-count 1
check "create-stream over https" 0 $?
tput=$(tkin put-record --stream-name secure --partition-key k --data c2VjdXJl)
check "put-record over https" shardId-000000000000 "$(echo "$tput" | field 'd["ShardId"]')"
titer=$(tkin get-shard-iterator --stream-name secure --shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON | field 'd["ShardIterator"]')
check "get-records over https" "['c2VjdXJl']" "$(tkin get-records --shard-iterator "$titer" | field '[r["Data"] for r in d["Records"]]')"
untrusted=$("$AWS" --endpoint-url "https://$tls_addr" --output json kinesis list-streams 2>&1)
check "an untrusted certificate is refused" True "$(python3 -c "import sys; print('CERTIFICATE_VERIFY_FAILED' in sys.argv[1] or 'SSL' in sys.argv[1])" "$untrusted")"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

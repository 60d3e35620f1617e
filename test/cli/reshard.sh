#!/usr/bin/env bash
# Resharding with the AWS CLI (Debian's awscli, v2) against a kinesisd binary, typed as a user would.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/reshard.sh
set -uo pipefail

suite=reshard
. "$(dirname "$0")/harness.bash"
open_ids() { kin list-shards --stream-name orders --shard-filter Type=AT_LATEST | field '[s["ShardId"] for s in d["Shards"]]'; }

kin create-stream --stream-name orders --shard-count 2
check "create-stream" 0 $?
# 2^127 splits shard 0 ([0, 2^127-1]) into [0, 2^126-1] and [2^126, 2^127-1].
kin split-shard --stream-name orders --shard-to-split shardId-000000000000 --new-starting-hash-key 85070591730234615865843651857942052864
check "split-shard" 0 $?
check "list-shards after split" "['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']" \
  "$(kin list-shards --stream-name orders | field '[s["ShardId"] for s in d["Shards"]]')"
check "split children's parent" "['shardId-000000000000', 'shardId-000000000000']" \
  "$(kin list-shards --stream-name orders | field '[s.get("ParentShardId") for s in d["Shards"][2:]]')"
check "split parent closed" True "$(kin list-shards --stream-name orders | field '"EndingSequenceNumber" in d["Shards"][0]["SequenceNumberRange"]')"
check "open shards after split" "['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']" "$(open_ids)"

err=$(kin split-shard --stream-name orders --shard-to-split shardId-000000000000 --new-starting-hash-key 12345 2>&1 >/dev/null)
check "split a closed shard" True "$(python3 -c "import sys; print('InvalidArgumentException' in sys.argv[1] and 'has already been merged or split, and thus is not eligible for merging or splitting.' in sys.argv[1])" "$err")"

kin merge-shards --stream-name orders --shard-to-merge shardId-000000000002 --adjacent-shard-to-merge shardId-000000000003
check "merge-shards" 0 $?
check "merged child's parents" "['shardId-000000000002', 'shardId-000000000003']" \
  "$(kin list-shards --stream-name orders | field '[d["Shards"][4]["ParentShardId"], d["Shards"][4]["AdjacentParentShardId"]]')"
err=$(kin merge-shards --stream-name orders --shard-to-merge shardId-000000000001 --adjacent-shard-to-merge shardId-000000000004 2>&1 >/dev/null)
check "merge out of order" True "$(python3 -c "import sys; print('are not an adjacent pair of shards eligible for merging' in sys.argv[1])" "$err")"

usc=$(kin update-shard-count --stream-name orders --target-shard-count 4 --scaling-type UNIFORM_SCALING)
check "update-shard-count current" 2 "$(echo "$usc" | field 'd["CurrentShardCount"]')"
check "update-shard-count target" 4 "$(echo "$usc" | field 'd["TargetShardCount"]')"
check "open shards after update-shard-count" 4 "$(kin describe-stream-summary --stream-name orders | field 'd["StreamDescriptionSummary"]["OpenShardCount"]')"
check "open ranges even" "['0', '85070591730234615865843651857942052864', '170141183460469231731687303715884105728', '255211775190703847597530955573826158592']" \
  "$(kin list-shards --stream-name orders --shard-filter Type=AT_LATEST | field 'sorted([s["HashKeyRange"]["StartingHashKey"] for s in d["Shards"]], key=int)')"
err=$(kin update-shard-count --stream-name orders --target-shard-count 9 --scaling-type UNIFORM_SCALING 2>&1 >/dev/null)
check "update-shard-count over double" True "$(python3 -c "import sys; print('LimitExceededException' in sys.argv[1] and 'UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4, Target shard count: 9' in sys.argv[1])" "$err")"

check "list-shards after-shard-id" "['shardId-000000000005', 'shardId-000000000006']" \
  "$(kin list-shards --stream-name orders --shard-filter Type=AFTER_SHARD_ID,ShardId=shardId-000000000004 | field '[s["ShardId"] for s in d["Shards"]][:2]')"
check "list-shards at-trim-horizon" "['shardId-000000000000', 'shardId-000000000001']" \
  "$(kin list-shards --stream-name orders --shard-filter Type=AT_TRIM_HORIZON | field '[s["ShardId"] for s in d["Shards"]]')"
# The CLI's own paginator resends --stream-name with the NextToken, which AWS refuses ("NextToken and
# StreamName cannot be provided together.", boto/botocore#2009), as kinesisd does: page by hand.
pages=$(kin list-shards --stream-name orders --max-results 3 --no-paginate)
check "list-shards max-results" 3 "$(echo "$pages" | field 'len(d["Shards"])')"
rest=$(kin list-shards --next-token "$(echo "$pages" | field 'd["NextToken"]')" --no-paginate | field '[s["ShardId"] for s in d["Shards"]][0]')
check "list-shards next-token" shardId-000000000003 "$rest"

echo "reshard: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

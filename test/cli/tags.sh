#!/usr/bin/env bash
# The AWS CLI (Debian's awscli, v2) against a kinesisd binary: tags, retention and enhanced monitoring,
# typed as a user types them.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/tags.sh
set -uo pipefail

suite=tags
. "$(dirname "$0")/harness.bash"
summary() { kin describe-stream-summary --stream-name orders | field "d['StreamDescriptionSummary']$1"; }

kin create-stream --stream-name orders --shard-count 1
check "create-stream" 0 $?

kin add-tags-to-stream --stream-name orders --tags team=data,env=prod,cost-centre=
check "add-tags-to-stream" 0 $?
check "list-tags-for-stream" "['cost-centre=', 'env=prod', 'team=data']" \
  "$(kin list-tags-for-stream --stream-name orders | field '[t["Key"] + "=" + t.get("Value", "") for t in d["Tags"]]')"
page=$(kin list-tags-for-stream --stream-name orders --limit 1 --exclusive-start-tag-key cost-centre)
check "list-tags-for-stream page" "['env'] True" "$(echo "$page" | field '" ".join([str([t["Key"] for t in d["Tags"]]), str(d["HasMoreTags"])])')"
kin remove-tags-from-stream --stream-name orders --tag-keys env unknown
check "remove-tags-from-stream" 0 $?
check "tags after remove" "['cost-centre', 'team']" "$(kin list-tags-for-stream --stream-name orders | field '[t["Key"] for t in d["Tags"]]')"
err=$(kin add-tags-to-stream --stream-name orders --tags '{"bad;key": "1"}' 2>&1 >/dev/null)
check "bad tag refused" True "$(python3 -c "import sys; print('InvalidArgumentException' in sys.argv[1] and 'Some tags contain invalid characters.' in sys.argv[1])" "$err")"

kin increase-stream-retention-period --stream-name orders --retention-period-hours 168
check "increase-stream-retention-period" 0 $?
check "retention after increase" 168 "$(summary '["RetentionPeriodHours"]')"
err=$(kin increase-stream-retention-period --stream-name orders --retention-period-hours 48 2>&1 >/dev/null)
check "shorter increase refused" True "$(python3 -c "import sys; print('InvalidArgumentException' in sys.argv[1] and 'can not be shorter than existing retention period (168 hours). Use DecreaseRetentionPeriod API.' in sys.argv[1])" "$err")"

mon=$(kin enable-enhanced-monitoring --stream-name orders --shard-level-metrics IncomingBytes OutgoingRecords)
check "enable-enhanced-monitoring current" "[]" "$(echo "$mon" | field 'd["CurrentShardLevelMetrics"]')"
check "enable-enhanced-monitoring desired" "['IncomingBytes', 'OutgoingRecords']" "$(echo "$mon" | field 'd["DesiredShardLevelMetrics"]')"
check "enhanced monitoring in summary" "['IncomingBytes', 'OutgoingRecords']" "$(summary '["EnhancedMonitoring"][0]["ShardLevelMetrics"]')"
mon=$(kin enable-enhanced-monitoring --stream-name orders --shard-level-metrics ALL)
check "enable-enhanced-monitoring ALL" 7 "$(echo "$mon" | field 'len(d["DesiredShardLevelMetrics"])')"

echo "tags: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

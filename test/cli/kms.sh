#!/usr/bin/env bash
# The AWS CLI's KMS commands (Debian's awscli) against kinesisd's KMS API on the API port: create-key,
# create-alias, describe-key, list-keys, list-aliases, disable/enable-key, schedule/cancel-key-deletion
# and KMS's errors, then a Kinesis stream encrypted under the key through its alias.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/kms.sh
set -uo pipefail

suite=kms
. "$(dirname "$0")/harness.bash"

kms() { "$AWS" --endpoint-url "http://$addr" --output json kms "$@"; }
has() { # has TEXT PART...: True when TEXT contains every PART
  python3 -c "import sys; print(all(p in sys.argv[1] for p in sys.argv[2:]))" "$@"
}

out=$(kms create-key --description "cli key")
check "create-key answers" 0 $?
id=$(echo "$out" | field 'd["KeyMetadata"]["KeyId"]')
arn=arn:aws:kms:us-east-1:000000000000:key/$id
check "its ARN" "$arn" "$(echo "$out" | field 'd["KeyMetadata"]["Arn"]')"
check "Enabled" "Enabled True" "$(echo "$out" | field 'd["KeyMetadata"]["KeyState"], d["KeyMetadata"]["Enabled"]' | tr -d "(),'")"
check "a creation date" True "$(echo "$out" | field 'bool(d["KeyMetadata"]["CreationDate"])')"
check "its description" "cli key" "$(echo "$out" | field 'd["KeyMetadata"]["Description"]')"

kms create-alias --alias-name alias/cli --target-key-id "$id"
check "create-alias" 0 $?
check "describe-key by alias" "$id" "$(kms describe-key --key-id alias/cli | field 'd["KeyMetadata"]["KeyId"]')"
check "describe-key by ARN" "$id" "$(kms describe-key --key-id "$arn" | field 'd["KeyMetadata"]["KeyId"]')"
check "list-keys" "['$id']" "$(kms list-keys | field '[k["KeyId"] for k in d["Keys"]]')"
check "list-aliases" "['alias/aws/kinesis', 'alias/cli']" "$(kms list-aliases | field '[a["AliasName"] for a in d["Aliases"]]')"
check "list-aliases of the key" "['$id']" "$(kms list-aliases --key-id "$id" | field '[a["TargetKeyId"] for a in d["Aliases"]]')"

kms disable-key --key-id "$id"
check "disable-key" 0 $?
check "Disabled" Disabled "$(kms describe-key --key-id "$id" | field 'd["KeyMetadata"]["KeyState"]')"
kms enable-key --key-id "$id"
check "enable-key" Enabled "$(kms describe-key --key-id "$id" | field 'd["KeyMetadata"]["KeyState"]')"
out=$(kms schedule-key-deletion --key-id "$id" --pending-window-in-days 7)
check "schedule-key-deletion" "PendingDeletion 7" "$(echo "$out" | field 'd["KeyState"], d["PendingWindowInDays"]' | tr -d "(),'")"
check "cancel-key-deletion" "$arn" "$(kms cancel-key-deletion --key-id "$id" | field 'd["KeyId"]')"
check "cancelled: Disabled" Disabled "$(kms describe-key --key-id "$id" | field 'd["KeyMetadata"]["KeyState"]')"
kms enable-key --key-id "$id"

err=$(kms describe-key --key-id alias/nope 2>&1 >/dev/null)
check "an unknown alias" True "$(has "$err" '(NotFoundException)' 'Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found.')"
err=$(kms create-alias --alias-name alias/cli --target-key-id "$id" 2>&1 >/dev/null)
check "an alias taken" True "$(has "$err" '(AlreadyExistsException)' 'An alias with the name arn:aws:kms:us-east-1:000000000000:alias/cli already exists')"
err=$(kms schedule-key-deletion --key-id "$id" --pending-window-in-days 3 2>&1 >/dev/null)
check "a window too short" True "$(has "$err" '(ValidationException)' "Value '3' at 'pendingWindowInDays'")"
err=$(kms encrypt --key-id "$id" --plaintext aGVsbG8= 2>&1 >/dev/null)
check "an operation kinesisd does not serve" True "$(has "$err" '(UnknownOperationException)')"

kin create-stream --stream-name sealed --shard-count 1
kin start-stream-encryption --stream-name sealed --encryption-type KMS --key-id alias/cli
check "start-stream-encryption with the alias" 0 $?
check "the stream is KMS-encrypted" "KMS alias/cli" \
  "$(kin describe-stream-summary --stream-name sealed | field 'd["StreamDescriptionSummary"]["EncryptionType"], d["StreamDescriptionSummary"]["KeyId"]' | tr -d "(),'")"
check "put-record encrypts" KMS "$(kin put-record --stream-name sealed --partition-key k --data aGVsbG8= --cli-binary-format base64 | field 'd["EncryptionType"]')"
kms disable-key --key-id alias/cli
err=$(kin put-record --stream-name sealed --partition-key k --data aGVsbG8= --cli-binary-format base64 2>&1 >/dev/null)
check "a disabled key refuses put-record" True "$(has "$err" '(KMSDisabledException)' "$arn is disabled.")"

echo "kms: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

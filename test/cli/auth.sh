#!/usr/bin/env bash
# The AWS CLI (Debian's awscli, v2) against a kinesisd started with -credentials (through its
# KINESISD_CREDENTIALS variable): the listed key works, a wrong secret is refused with AWS's message.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/auth.sh
set -uo pipefail

suite=auth
creds=$(mktemp)
# The harness's key and secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
printf '# accepted keys\nAKIAIOSFODNN7EXAMPLE secret\n' >"$creds"
export KINESISD_CREDENTIALS=$creds
. "$(dirname "$0")/harness.bash"
rm -f "$creds" # read at start

kin create-stream --stream-name signed --shard-count 1
check "create-stream with the listed key" 0 $?
kin put-record --stream-name signed --partition-key k --data "$(printf signed | base64)" >/dev/null
check "put-record with the listed key" 0 $?
err=$(AWS_SECRET_ACCESS_KEY=wrong kin put-record --stream-name signed --partition-key k --data "$(printf refused | base64)" 2>&1 >/dev/null)
check "wrong secret refused" True "$(python3 -c "import sys; print('(InvalidSignatureException)' in sys.argv[1] and 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' in sys.argv[1])" "$err")"
err=$(AWS_ACCESS_KEY_ID=AKIDUNKNOWN kin list-streams 2>&1 >/dev/null)
check "unknown key refused" True "$(python3 -c "import sys; print('(UnrecognizedClientException)' in sys.argv[1] and 'The security token included in the request is invalid.' in sys.argv[1])" "$err")"
iter=$(kin get-shard-iterator --stream-name signed --shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON | field 'd["ShardIterator"]')
check "only the signed record was written" "['signed']" \
  "$(kin get-records --shard-iterator "$iter" | field '[__import__("base64").b64decode(r["Data"]).decode() for r in d["Records"]]')"

echo "auth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

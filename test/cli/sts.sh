#!/usr/bin/env bash
# The AWS CLI's STS (Debian's awscli) against a kinesisd started with -credentials whose key line names
# an account and a principal: `aws sts get-caller-identity --endpoint-url …` answers them, a wrong
# secret and another STS action are refused as STS refuses them, and Kinesis streams stay in the
# region the CLI signs for.
# Usage: KINESISD_BIN=path/to/kinesisd test/cli/sts.sh
set -uo pipefail

suite=sts
creds=$(mktemp)
# The harness's key and secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), in account 111122223333 as alice.
printf '# ACCESS_KEY_ID SECRET [ACCOUNT_ID [PRINCIPAL]]\nAKIAIOSFODNN7EXAMPLE secret 111122223333 alice\n' >"$creds"
export KINESISD_CREDENTIALS=$creds
. "$(dirname "$0")/harness.bash"
rm -f "$creds" # read at start

sts() { "$AWS" --endpoint-url "http://$addr" --output json sts "$@"; }
has() { # has TEXT PART...: True when TEXT contains every PART
  python3 -c "import sys; print(all(p in sys.argv[1] for p in sys.argv[2:]))" "$@"
}

out=$(sts get-caller-identity)
check "get-caller-identity answers" 0 $?
check "its account" 111122223333 "$(echo "$out" | field 'd["Account"]')"
check "its principal" arn:aws:iam::111122223333:user/alice "$(echo "$out" | field 'd["Arn"]')"
check "an IAM user id" True "$(echo "$out" | field '__import__("re").fullmatch(r"AIDA[A-Z2-7]{17}", d["UserId"]) is not None')"
out=$(AWS_DEFAULT_REGION=eu-west-1 sts get-caller-identity)
check "get-caller-identity signed for eu-west-1" 111122223333 "$(echo "$out" | field 'd["Account"]')"
err=$(AWS_SECRET_ACCESS_KEY=wrong sts get-caller-identity 2>&1 >/dev/null)
check "wrong secret refused" True "$(has "$err" '(SignatureDoesNotMatch)' 'The request signature we calculated does not match')"
err=$(sts assume-role --role-arn arn:aws:iam::111122223333:role/reader --role-session-name cli 2>&1 >/dev/null)
check "assume-role is not supported" True "$(has "$err" '(InvalidAction)' 'Could not find operation AssumeRole for version 2011-06-15')"

AWS_DEFAULT_REGION=eu-west-1 kin create-stream --stream-name european --shard-count 1
check "create-stream in eu-west-1" 0 $?
check "its ARN names the region and account" arn:aws:kinesis:eu-west-1:111122223333:stream/european \
  "$(AWS_DEFAULT_REGION=eu-west-1 kin describe-stream-summary --stream-name european | field 'd["StreamDescriptionSummary"]["StreamARN"]')"
check "eu-west-1 lists it" "['european']" "$(AWS_DEFAULT_REGION=eu-west-1 kin list-streams | field 'd["StreamNames"]')"
check "us-east-1 does not" "[]" "$(kin list-streams | field 'd["StreamNames"]')"

echo "sts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

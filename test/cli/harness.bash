# Sourced by the CLI suites: starts an in-memory kinesisd, sets up the AWS CLI against it, and gives
# kin (the CLI's kinesis commands), check (one assertion) and field (a value from JSON output).
# The suite sets suite (its name) first; it prints "$suite: N passed, M failed" at the end.

AWS=${AWS_CLI:-/usr/bin/aws}
: "${KINESISD_BIN:?set KINESISD_BIN to the kinesisd binary}"
[ -x "$AWS" ] || { echo "$suite: $AWS not found: install Debian's awscli"; exit 1; }

work=$(mktemp -d)
"$KINESISD_BIN" -listen 127.0.0.1:0 -in-memory 2>"$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  addr=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/server.log" | head -1 | cut -d' ' -f3)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "$suite: kinesisd did not start"; cat "$work/server.log"; exit 1; }

export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
kin() { "$AWS" --endpoint-url "http://$addr" --output json kinesis "$@"; }

passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1: want [$2] got [$3]"; fi
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

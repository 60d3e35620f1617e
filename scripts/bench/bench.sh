#!/usr/bin/env bash
# bench.sh: kinesisd (durable default, -throughput-limits=false) and kinesalite 3.3.3 (in memory, zero
# delays) under the same `kinesisd bench` load, one server at a time, each started fresh for each run;
# prints both rows side by side and kinesisd's ratio to kinesalite.
#
# Environment: RUNS (1; with more, every number is the median of the runs), DURATION (15s), WARMUP (2s),
# WORKERS (8), SHARDS (4), RECORDS (500 per request), SIZE (1024 bytes), BENCH_FLAGS (more flags for
# `kinesisd bench`, e.g. -h2c), SERVERS ("kinesisd kinesalite"), KINESISD_BIN (a built kinesisd;
# default: build one), OUT (where the logs and JSON lines go; default bin/bench/<time>).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-1} DURATION=${DURATION:-15s} WARMUP=${WARMUP:-2s} WORKERS=${WORKERS:-8}
SHARDS=${SHARDS:-4} RECORDS=${RECORDS:-500} SIZE=${SIZE:-1024} BENCH_FLAGS=${BENCH_FLAGS:-}
SERVERS=${SERVERS:-kinesisd kinesalite}
OUT=${OUT:-$root/bin/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
tmp=$(mktemp -d)

server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

command -v jq >/dev/null || { say "bench.sh needs jq (apt-get install jq)"; exit 1; }

bin=${KINESISD_BIN:-}
if [ -z "$bin" ]; then
	bin=$tmp/kinesisd
	say "building kinesisd"
	(cd "$root" && go build -o "$bin" ./cmd/kinesisd)
fi

# wait_for LOG PATTERN PID: until the server's log shows PATTERN (it is listening), at most 30 s.
wait_for() {
	for _ in $(seq 300); do
		if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_kinesisd LOG: a fresh durable kinesisd on a free port; sets server_pid and endpoint.
start_kinesisd() {
	rm -rf "$tmp/data"
	"$bin" -listen 127.0.0.1:0 -data "$tmp/data" -throughput-limits=false >"$1" 2>&1 &
	server_pid=$!
	wait_for "$1" "listening on" "$server_pid" || { say "kinesisd did not start:"; cat "$1" >&2; return 1; }
	endpoint=http://$(grep -o 'listening on [^ ]*' "$1" | head -1 | sed 's/listening on //; s/"//g; s/^addr=//')
}

# kinesalite: installed from package-lock.json with npm ci; the reason when it cannot be is in $kinesalite_why.
kinesalite_why=
install_kinesalite() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		kinesalite_why="node and npm are not installed"
		return 1
	fi
	if [ ! -d "$here/node_modules/kinesalite" ]; then
		say "installing kinesalite 3.3.3 (npm ci in scripts/bench)"
		if ! (cd "$here" && npm ci --no-audit --no-fund >"$OUT/npm.log" 2>&1); then
			kinesalite_why="npm ci failed (see $OUT/npm.log): $(tail -3 "$OUT/npm.log" | tr '\n' ' ')"
			return 1
		fi
	fi
}

start_kinesalite() {
	node "$here/kinesalite.js" 0 >"$1" 2>&1 &
	server_pid=$!
	wait_for "$1" "Listening at" "$server_pid" || { say "kinesalite did not start:"; cat "$1" >&2; return 1; }
	endpoint=$(grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -1)
}

status=0
for run in $(seq "$RUNS"); do
	for srv in $SERVERS; do
		if [ "$srv" = kinesalite ] && { [ -n "$kinesalite_why" ] || ! install_kinesalite; }; then
			continue
		fi
		log=$OUT/$srv-$run.server.log
		"start_$srv" "$log" || { status=1; stop_server; continue; }
		say "run $run/$RUNS: $srv at $endpoint (pid $server_pid)"
		code=0
		# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
		"$bin" bench -endpoint "$endpoint" -pid "$server_pid" -shards "$SHARDS" -records "$RECORDS" -size "$SIZE" \
			-workers "$WORKERS" -duration "$DURATION" -warmup "$WARMUP" $BENCH_FLAGS \
			>"$OUT/$srv-$run.out" 2>"$OUT/$srv-$run.err" || code=$?
		stop_server
		if [ "$code" -ne 0 ]; then
			say "$srv run $run: kinesisd bench exited $code:"
			grep -v '^{' "$OUT/$srv-$run.err" >&2 || true
			status=1
		fi
		tail -1 "$OUT/$srv-$run.out" | jq -ec . >>"$OUT/$srv.jsonl" 2>/dev/null || { say "$srv run $run: no JSON result"; status=1; }
	done
done

# median FILE JQ: the median of a number over the runs in FILE (the mean of the middle two for an even count).
median() {
	[ -s "$1" ] || { echo -; return; }
	jq -rs "[.[] | ($2) // empty] | sort | if length == 0 then \"-\" elif length % 2 == 1 then .[length/2|floor]
		else (.[length/2-1] + .[length/2]) / 2 end" "$1"
}

rows=(
	"records/s|%.0f|.records_per_sec"
	"MB/s|%.1f|.mb_per_sec"
	"p50 ms|%.2f|.p50_ms"
	"p90 ms|%.2f|.p90_ms"
	"p99 ms|%.2f|.p99_ms"
	"max ms|%.2f|.max_ms"
	"failed records|%.0f|[.failed_records[]] | add // 0"
	"failed requests|%.0f|[.failed_requests[]] | add // 0"
	"read records/s|%.0f|.read.records_per_sec"
	"read MB/s|%.1f|.read.mb_per_sec"
	"read throttles|%.0f|.read.throttles"
	"server CPU % (write)|%.1f|.server.cpu_pct"
	"server CPU % (read)|%.1f|.server.read_cpu_pct"
	"server RSS idle MiB|%.1f|.server.rss_idle_mib"
	"server RSS peak MiB|%.1f|.server.rss_peak_mib"
	"server RSS write MiB|%.1f|.server.rss_write_peak_mib"
	"client CPU % (write)|%.1f|.client.cpu_pct"
	"client RSS peak MiB|%.1f|.client.rss_peak_mib"
)
a=$OUT/kinesisd.jsonl b=$OUT/kinesalite.jsonl
echo
echo "$WORKERS workers × $RECORDS records × $SIZE bytes, $SHARDS shards, $DURATION after $WARMUP warm-up${BENCH_FLAGS:+, $BENCH_FLAGS}"
echo "kinesisd durable (-throughput-limits=false), kinesalite 3.3.3 in memory; medians of $RUNS run(s); ratio = kinesisd ÷ kinesalite"
printf '%-22s %14s %14s %8s\n' "" kinesisd kinesalite ratio
for row in "${rows[@]}"; do
	IFS='|' read -r name format expr <<<"$row"
	x=$(median "$a" "$expr") y=$(median "$b" "$expr")
	ratio=$(jq -nr --arg x "$x" --arg y "$y" 'try (($x|tonumber) / ($y|tonumber) * 100 | round / 100 | tostring + "x") catch "-"')
	[ "$x" = - ] || x=$(printf "$format" "$x")
	[ "$y" = - ] || y=$(printf "$format" "$y")
	printf '%-22s %14s %14s %8s\n' "$name" "$x" "$y" "$ratio"
done
passed() { [ -s "$1" ] && jq -s '"\([.[] | select(.read.check.passed)] | length)/\(length)"' -r "$1" || echo -; }
printf '%-22s %14s %14s\n' "read-back check passed" "$(passed "$a")" "$(passed "$b")"
runs_a=$([ -s "$a" ] && wc -l <"$a" || echo 0) runs_b=$([ -s "$b" ] && wc -l <"$b" || echo 0)
echo "runs completed: kinesisd $runs_a, kinesalite $runs_b; logs and JSON lines in $OUT"
if [ -n "$kinesalite_why" ]; then
	echo "kinesalite was not run: $kinesalite_why"
fi
for f in "$OUT"/*.err; do
	[ -e "$f" ] || continue
	if grep -q 'READ-BACK CHECK FAILED' "$f"; then
		echo "$(basename "$f" .err): $(grep 'READ-BACK CHECK FAILED' "$f")"
		status=3
	fi
done
exit "$status"

#!/usr/bin/env bash
# bench.sh: kinesisd (durable default, -throughput-limits=false) and kinesalite 3.3.3 (in memory, zero
# delays) under the same `kinesisd bench` load, one server at a time, each started fresh for each run;
# prints both rows side by side and kinesisd's ratio to kinesalite.
#
# MODE picks the measurement:
#   compare (default)  the headline load, both servers side by side
#   large              the same with records of 1 MiB (1,048,560 bytes of data and the 16-byte partition
#                      key), 4 per PutRecords (SIZE and RECORDS preset; MB/s is the number to read)
#   fanout             kinesisd alone, without read-back, under the headline load with enhanced fan-out
#                      readers: none, 1 consumer on every shard, FANOUT (20) consumers on the first
#                      shard only (issue #5's "many subscribers on one shard") and FANOUT consumers on
#                      every shard, one after the other in each of the RUNS rounds; prints per case the
#                      PutRecords records/s and its ratio to none, p99, the records/s the subscriptions
#                      received and their acknowledgment-to-event lag
#   backlog            kinesisd alone: one run without read-back that fills the store to BACKLOG_GIB
#                      (5) GiB on disk, printing every SAMPLE seconds (5) the data directory's size, the
#                      server's RSS and the records/s since the last sample, so that memory and speed
#                      can be seen against the backlog; then the run's summary
#
# Environment: RUNS (1; with more, every number is the median of the runs), DURATION (15s), WARMUP (2s),
# WORKERS (8), SHARDS (4), RECORDS (500 per request), SIZE (1024 bytes), BENCH_FLAGS (more flags for
# `kinesisd bench`, e.g. -h2c), SERVERS ("kinesisd kinesalite"), KINESISD_BIN (a built kinesisd;
# default: build one), BENCH_BIN (the kinesisd whose `bench` drives the load; default KINESISD_BIN:
# set it to compare two servers with one client), KINESISD_FLAGS (more server flags), SETTLE (10: seconds to wait before each
# kinesisd starts, for the disk to finish with the run before), OUT (where the logs and JSON lines
# go; default bin/bench/<time>).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MODE=${MODE:-compare}
case $MODE in
compare) ;;
fanout) FANOUT=${FANOUT:-20} ;;
large) SIZE=${SIZE:-1048560} RECORDS=${RECORDS:-4} ;;
backlog) BACKLOG_GIB=${BACKLOG_GIB:-5} SAMPLE=${SAMPLE:-5} ;;
*) printf 'bench.sh: MODE=%s is not compare, fanout, large or backlog\n' "$MODE" >&2; exit 2 ;;
esac
RUNS=${RUNS:-1} DURATION=${DURATION:-15s} WARMUP=${WARMUP:-2s} WORKERS=${WORKERS:-8}
SHARDS=${SHARDS:-4} RECORDS=${RECORDS:-500} SIZE=${SIZE:-1024} BENCH_FLAGS=${BENCH_FLAGS:-}
KINESISD_FLAGS=${KINESISD_FLAGS:-}
SETTLE=${SETTLE:-10}
SERVERS=${SERVERS:-kinesisd kinesalite}
OUT=${OUT:-$root/bin/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
tmp=$(mktemp -d)

server_pid= bench_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
cleanup() {
	if [ -n "$bench_pid" ]; then # MODE=backlog's bench, when the script ends early
		kill -INT "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
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
client=${BENCH_BIN:-$bin}

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
	# The previous run's gigabytes, just deleted, keep the disk busy for seconds (measured here: the
	# p99 of a run at half rate started at once after one was 34 ms, 23 ms 20 s later): let it settle.
	sync
	sleep "$SETTLE"
	# shellcheck disable=SC2086 # KINESISD_FLAGS is a list of flags
	"$bin" -listen 127.0.0.1:0 -data "$tmp/data" -throughput-limits=false $KINESISD_FLAGS >"$1" 2>&1 &
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

# backlog: see the header. The bench runs for up to an hour and is interrupted (SIGINT: it prints its
# summary and deletes its stream) once the data directory holds BACKLOG_GIB.
backlog() {
	local log=$OUT/kinesisd-backlog.server.log
	start_kinesisd "$log" || exit 1
	say "backlog: filling kinesisd at $endpoint (pid $server_pid) to $BACKLOG_GIB GiB"
	# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
	"$client" bench -endpoint "$endpoint" -pid "$server_pid" -shards "$SHARDS" -records "$RECORDS" -size "$SIZE" \
		-workers "$WORKERS" -duration 1h -warmup 0s -read=false $BENCH_FLAGS \
		>"$OUT/kinesisd-backlog.out" 2>"$OUT/kinesisd-backlog.err" &
	bench_pid=$!
	local target=$((BACKLOG_GIB << 30)) start prev_t prev_n=0 t n bytes rss peak=0
	start=$(date +%s.%N) prev_t=$start
	echo
	echo "$WORKERS workers × $RECORDS records × $SIZE bytes, $SHARDS shards, kinesisd durable (-throughput-limits=false) $KINESISD_FLAGS"
	printf '%8s %12s %14s %14s %14s\n' elapsed "data GiB" "records/s" "RSS MiB" "RSS peak MiB"
	while kill -0 "$bench_pid" 2>/dev/null; do
		sleep "$SAMPLE"
		t=$(date +%s.%N)
		# du complains (and fails) when the engine deletes a file while it walks the directory.
		bytes=$(du -sb "$tmp/data" 2>/dev/null | cut -f1 || true)
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
		peak=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
		# PutRecords answered, from the server's request counter, times the records in each
		n=$( (curl -sf "$endpoint/metrics" || true) | awk -v r="$RECORDS" '/^kinesisd_http_requests_total\{operation="PutRecords"/ {s += $2} END {print s * r}')
		bytes=${bytes:-0} n=${n:-$prev_n}
		printf '%8.0f %12.2f %14.0f %14.1f %14.1f\n' "$(echo "$t - $start" | bc)" "$(echo "$bytes / 2^30" | bc -l)" \
			"$(echo "($n - $prev_n) / ($t - $prev_t)" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
		prev_t=$t prev_n=$n
		if [ "$bytes" -ge "$target" ]; then
			kill -INT "$bench_pid" 2>/dev/null || true
			break
		fi
	done
	wait "$bench_pid" || true
	bench_pid=
	stop_server
	echo
	tail -1 "$OUT/kinesisd-backlog.out" | jq -r '"whole run: \(.records) records in \(.duration_s) s, \(.records_per_sec | round) records/s, \(.mb_per_sec) MB/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms, failed records \([.failed_records[]] | add // 0)"' ||
		{ say "no JSON result:"; cat "$OUT/kinesisd-backlog.err" >&2; exit 1; }
	echo "logs in $OUT"
}
if [ "$MODE" = backlog ]; then
	command -v bc >/dev/null && command -v curl >/dev/null || { say "MODE=backlog needs bc and curl"; exit 1; }
	backlog
	exit 0
fi

# median FILE JQ: the median of a number over the runs in FILE (the mean of the middle two for an even count).
median() {
	[ -s "$1" ] || { echo -; return; }
	jq -rs "[.[] | ($2) // empty] | sort | if length == 0 then \"-\" elif length % 2 == 1 then .[length/2|floor]
		else (.[length/2-1] + .[length/2]) / 2 end" "$1"
}

# fanout: see the header. Each case runs on a fresh kinesisd; the cases alternate within a round, so
# that a noisy machine spreads over all of them.
fanout() {
	local cases=("none|" "1 consumer x every shard|-subscribers 1"
		"$FANOUT consumers x shard 0|-subscribers $FANOUT -subscribe-shards 1" "$FANOUT consumers x every shard|-subscribers $FANOUT")
	local status=0 run i log name flags code
	for run in $(seq "$RUNS"); do
		for i in "${!cases[@]}"; do
			IFS='|' read -r name flags <<<"${cases[$i]}"
			log=$OUT/fanout-$i-$run
			start_kinesisd "$log.server.log" || exit 1
			say "run $run/$RUNS: $name (kinesisd pid $server_pid)"
			code=0
			# shellcheck disable=SC2086 # BENCH_FLAGS and flags are lists of flags
			"$client" bench -endpoint "$endpoint" -pid "$server_pid" -shards "$SHARDS" -records "$RECORDS" -size "$SIZE" \
				-workers "$WORKERS" -duration "$DURATION" -warmup "$WARMUP" -read=false $flags $BENCH_FLAGS \
				>"$log.out" 2>"$log.err" || code=$?
			stop_server
			if [ "$code" -ne 0 ]; then
				say "$name, run $run: kinesisd bench exited $code:"
				grep -v '^{' "$log.err" >&2 || true
				status=1
			fi
			tail -1 "$log.out" | jq -ec . >>"$OUT/fanout-$i.jsonl" 2>/dev/null || { say "$name, run $run: no JSON result"; status=1; }
		done
	done
	echo
	echo "$WORKERS workers × $RECORDS records × $SIZE bytes, $SHARDS shards, $DURATION after $WARMUP warm-up${BENCH_FLAGS:+, $BENCH_FLAGS}"
	echo "kinesisd durable (-throughput-limits=false${KINESISD_FLAGS:+ $KINESISD_FLAGS}); medians of $RUNS run(s); lag: PutRecords acknowledged → SubscribeToShardEvent"
	printf '%-28s %12s %8s %9s %14s %10s %10s %6s\n' "" "records/s" "÷ none" "p99 ms" "received/s" "lag p50" "lag p99" "order"
	local none
	none=$(median "$OUT/fanout-0.jsonl" .records_per_sec)
	for i in "${!cases[@]}"; do
		IFS='|' read -r name flags <<<"${cases[$i]}"
		local f=$OUT/fanout-$i.jsonl rps ratio
		rps=$(median "$f" .records_per_sec)
		ratio=$(jq -nr --arg x "$rps" --arg y "$none" 'try (($x|tonumber) / ($y|tonumber) * 100 | round / 100 | tostring) catch "-"')
		printf '%-28s %12.0f %8s %9.1f %14s %10s %10s %6s\n' "$name" "$rps" "$ratio" "$(median "$f" .p99_ms)" \
			"$(median "$f" '.subscribe.records_per_sec // empty')" "$(median "$f" '.subscribe.lag_p50_ms // empty')" \
			"$(median "$f" '.subscribe.lag_p99_ms // empty')" "$([ -s "$f" ] && jq -s '[.[].subscribe.out_of_order // 0] | add' "$f" || echo -)"
	done
	echo "logs and JSON lines in $OUT"
	exit "$status"
}

if [ "$MODE" = fanout ]; then
	fanout
fi

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
		"$client" bench -endpoint "$endpoint" -pid "$server_pid" -shards "$SHARDS" -records "$RECORDS" -size "$SIZE" \
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

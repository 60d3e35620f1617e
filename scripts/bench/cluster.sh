#!/usr/bin/env bash
# cluster.sh: the cluster benchmark. Three nats-servers (built from the module version go.mod pins)
# form one JetStream cluster on loopback ports, two kinesisd front-ends use it (replicas 3), and two
# `kinesisd bench` clients, one per front-end, write to one stream at once (the second writes to the
# stream the first created). Prints each client's JSON summary and the total records/s.
#
# Environment: DURATION (15s), WORKERS (4 per client), SHARDS (4), RECORDS (500), SIZE (1024),
# KINESISD_BIN (a built kinesisd for the front-ends; default: build one), OUT (logs; default
# bin/bench/cluster-<time>). Every process it starts is stopped by its PID at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-15s} WORKERS=${WORKERS:-4} SHARDS=${SHARDS:-4} RECORDS=${RECORDS:-500} SIZE=${SIZE:-1024}
OUT=${OUT:-$root/bin/bench/cluster-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$root/bin"
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '%s\n' "$*" >&2; }
command -v jq >/dev/null || { say "cluster.sh needs jq (apt-get install jq)"; exit 1; }

cd "$root"
go build -o bin/kinesisd ./cmd/kinesisd
go build -o bin/nats-server github.com/nats-io/nats-server/v2
KINESISD_BIN=${KINESISD_BIN:-bin/kinesisd}

# Free loopback ports: 3 client, 3 route, 2 front-end.
ports=($(python3 -c 'import socket
ss=[socket.socket() for _ in range(8)]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
routes=""
for i in 0 1 2; do routes="$routes nats://127.0.0.1:${ports[$((3+i))]},"; done
for i in 0 1 2; do
	cat >"$tmp/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:${ports[$i]}
max_payload: 11MB
jetstream { store_dir: "$tmp/n$i" }
cluster {
  name: kinesisd-bench
  listen: 127.0.0.1:${ports[$((3+i))]}
  routes: [${routes%,}]
}
CONF
	bin/nats-server -c "$tmp/n$i.conf" >"$OUT/nats-n$i.log" 2>&1 &
	pids+=($!)
done
nats="nats://127.0.0.1:${ports[0]},nats://127.0.0.1:${ports[1]},nats://127.0.0.1:${ports[2]}"
fe=()
# Both front-ends seal KMS keys with one master key (required on NATS JetStream).
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/kms-master-key"
for i in 0 1; do
	"$KINESISD_BIN" -store "$nats" -listen "127.0.0.1:${ports[$((6+i))]}" -throughput-limits=false -kms-master-key-file "$tmp/kms-master-key" >"$OUT/kinesisd-$i.log" 2>&1 &
	pids+=($!)
	fe+=("http://127.0.0.1:${ports[$((6+i))]}")
done
for e in "${fe[@]}"; do
	for _ in $(seq 300); do
		curl -s -o /dev/null -X POST -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Kinesis_20131202.ListStreams' -d '{}' "$e" && break
		sleep 0.1
	done
done
say "cluster up: $nats; front-ends ${fe[*]}"

stream=cluster-bench-$RANDOM
api() { # api OPERATION JSON: one call to the first front-end (any credentials do; the signature is not checked)
	curl -s -X POST -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: Kinesis_20131202.$1" \
		-H "X-Amz-Date: $(date -u +%Y%m%dT%H%M%SZ)" \
		-H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/$(date -u +%Y%m%d)/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0" \
		-d "$2" "${fe[0]}"
}
api CreateStream "{\"StreamName\":\"$stream\",\"ShardCount\":$SHARDS}" >/dev/null
for _ in $(seq 300); do
	api DescribeStreamSummary "{\"StreamName\":\"$stream\"}" | grep -q '"ACTIVE"' && break
	sleep 0.1
done
flags=(-workers "$WORKERS" -records "$RECORDS" -size "$SIZE" -duration "$DURATION" -read=false -json-only -stream "$stream")
for i in 0 1; do
	bin/kinesisd bench -endpoint "${fe[$i]}" "${flags[@]}" >"$OUT/bench-$i.json" 2>"$OUT/bench-$i.log" &
	pids+=($!)
	bench[$i]=$!
done
wait "${bench[0]}" "${bench[1]}"
for i in 0 1; do jq -c '{endpoint, records_per_sec, p50_ms, p99_ms, failed_records}' "$OUT/bench-$i.json"; done
jq -s '{total_records_per_sec: (map(.records_per_sec) | add), p99_ms_max: (map(.p99_ms) | max)}' "$OUT"/bench-*.json

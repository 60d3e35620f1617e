# kinesisd: `make run` starts the server on its embedded durable default; `make test` runs every test,
# installing what the tests need (npm packages from test/js/package-lock.json).

GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN := $(CURDIR)/bin/kinesisd
# The companion executable that writes channels to S3 Tables (kinesisd finds it next to itself).
ICEBERG_BIN := $(CURDIR)/bin/kinesisd-iceberg

.PHONY: run build test check gotest clustertest jstest clitest producttest release crashtest faulttest

# Without cgo, as the release builds: the first build skips compiling a C zstd library kinesisd does
# not use (Pebble compresses its tables with Snappy). `run` builds kinesisd-iceberg into bin/ first,
# for channels to S3 Tables.
run:
	CGO_ENABLED=0 $(GO) build -o $(ICEBERG_BIN) ./cmd/kinesisd-iceberg
	CGO_ENABLED=0 $(GO) run ./cmd/kinesisd -iceberg-writer $(ICEBERG_BIN)

build:
	CGO_ENABLED=0 $(GO) build -o $(CURDIR)/bin/ ./cmd/kinesisd ./cmd/kinesisd-iceberg

test: check gotest clustertest jstest consoletest clitest producttest

# Static checks: formatting, vet, staticcheck, and go.mod/go.sum tidy.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/js/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(GO) mod tidy -diff

# Every Go package but test/product, which producttest runs once its tools are installed; then the
# API suite again against the built binary (test/api's bodies on a started kinesisd, about 3 minutes).
gotest: build
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/test/product$$')
	KINESISD_TEST_BINARY=$(BIN) $(GO) test -race -count=1 -timeout 15m ./test/api/

# The cluster tests (3-node NATS JetStream clusters with replicas 3: the storage contract and the API in
# process, and real nats-server and kinesisd processes killed under load) skip under gotest; here they
# run on their own, one package at a time, so that raft elections are not starved of CPU.
clustertest:
	KINESISD_CLUSTER_TESTS=1 $(GO) test -race -p 1 -count=1 -timeout 10m -run '^TestCluster' ./internal/storage/jetstream/ ./test/cluster/

# Queues (issue 19) at scale, never in the test command: 16 consumers receive and acknowledge 100,000
# records (KINESISD_QUEUE_RECORDS) on every engine, each exactly once; then the kill -9 test of test/queue.
.PHONY: queuetest
queuetest: build
	KINESISD_QUEUE_RECORDS=100000 $(GO) test -race -count=1 -timeout 60m -run '^TestQueueManyConsumers$$' -v ./test/api/
	KINESISD_BIN=$(BIN) $(GO) test -race -count=1 -timeout 10m ./test/queue/

# Channels (issue 18) at scale, never in the test command: 100,000 records (KINESISD_CHANNEL_RECORDS)
# delivered to gofakes3, the embedded buckets and an Iceberg table, each read back exactly once; then
# 20 SIGKILLs of the binary while it delivers (KINESISD_CHANNEL_KILLS). Without the race detector: the
# test command runs the same tests with it at 3,000 records, and under it the JetStream delivery of
# 100,000 records alone took over 10 minutes on 2 cores.
.PHONY: channeltest
channeltest: build
	KINESISD_CHANNEL_RECORDS=100000 KINESISD_CHANNEL_KILLS=20 KINESISD_BIN=$(BIN) $(GO) test -count=1 -timeout 60m -v ./test/channel/

# The AWS CLI from Debian's awscli package (installed here when missing) against the built binary.
clitest: build
	@[ -x /usr/bin/aws ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli; }
	@for script in test/cli/*.sh; do echo "== $$script"; KINESISD_BIN=$(BIN) $$script || exit 1; done

# The JavaScript SDK v3 suite (HTTP/2 on every call) against the built binary.
jstest: build
	cd test/js && npm ci --no-audit --no-fund
	cd test/js && KINESISD_BIN=$(BIN) npm test

# The web console in headless Chromium (Debian's chromium, installed here when missing, driven with
# chromedp) against the built binary; aws-kinesis-agg from test/js builds the KPL aggregate it shows.
# Screenshots go to test/console/artifacts/. `make consolebench` is the page's long run at 5,000
# records/s (CONSOLE_BENCH, 10m), never in the test command.
CONSOLE_BENCH ?= 10m
.PHONY: consoletest consolebench consoledeps
consoledeps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@[ -d test/js/node_modules/aws-kinesis-agg ] || { cd test/js && npm ci --no-audit --no-fund; }

consoletest: build consoledeps
	KINESISD_CONSOLE_TESTS=1 KINESISD_BIN=$(BIN) $(GO) test -race -count=1 -timeout 10m -v ./test/console/

consolebench: build consoledeps
	KINESISD_CONSOLE_TESTS=1 KINESISD_CONSOLE_BENCH=$(CONSOLE_BENCH) KINESISD_BIN=$(BIN) $(GO) test -count=1 -timeout 0 -v -run '^TestConsoleBench$$' ./test/console/

# kinesisd (durable, -throughput-limits=false) and kinesalite 3.3.3 side by side under `kinesisd bench`
# (scripts/bench/bench.sh; RUNS=3 for medians, DURATION, WORKERS, BENCH_FLAGS: see the script).
.PHONY: bench
bench: build
	KINESISD_BIN=$(BIN) scripts/bench/bench.sh

# What users install: the release binaries (one static build per target checked), the container image
# built with podman from the release binary (Debian's podman, installed here when missing; containers
# cannot run in this sandbox, so the image's binary is extracted and run), and the systemd unit
# (systemd-analyze verify, where systemd is installed).
producttest:
	@command -v podman >/dev/null || command -v buildah >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman; }
	KINESISD_IMAGE_TESTS=1 $(GO) test -count=1 -timeout 10m ./test/product/

# Static binaries for linux/amd64, linux/arm64, darwin/amd64, darwin/arm64 and windows/amd64 in dist/
# (kinesisd and kinesisd-iceberg for each), with SHA256SUMS (scripts/release.sh; TARGETS and DIST change it).
release:
	scripts/release.sh

# The crash campaign: CYCLES (100) rounds of load, SIGKILL at a random moment (also during resharding
# and deletes), restart, every acknowledged record checked once and in order. SEED repeats a run.
CYCLES ?= 100
crashtest:
	KINESISD_CRASH_CYCLES=$(CYCLES) $(if $(SEED),KINESISD_CRASH_SEED=$(SEED)) $(GO) test -count=1 -timeout 0 -v -run '^TestCrashCampaign$$' ./test/crash/

# The fault tests that need root (a tmpfs for the disk-full cases) fail here instead of skipping, and
# the opt-in memory bound (24 concurrent PutRecords of 10 MiB records under 512 MiB RSS) runs.
faulttest:
	KINESISD_FAULT_TESTS=1 KINESISD_MEMORY_TESTS=1 $(GO) test -count=1 -timeout 20m -v ./test/faults/

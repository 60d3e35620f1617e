// Command kinesisd serves the Amazon Kinesis Data Streams API; `kinesisd bench` drives any Kinesis
// endpoint with PutRecords and reports throughput and latency; `kinesisd export` and `kinesisd import`
// copy a store's streams and records to an archive and from one into another store.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"kinesisd/internal/bench"
	"kinesisd/internal/config"
	"kinesisd/internal/server"
	"kinesisd/internal/transfer"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := bench.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && (os.Args[1] == "export" || os.Args[1] == "import") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := transfer.Main(ctx, os.Args[1], os.Args[2:], transfer.Env{
			Open: server.OpenStore, Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		})
		stop()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kinesisd: %v\n", err)
		return 2
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cfg.MemoryLimitMiB > 0 {
		// Process-wide, so set here rather than by the server value (tests run many in one process).
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("kinesisd failed", "err", err)
		return 1
	}
	return 0
}

// Package backup is `kinesisd backup`: it asks a running kinesisd to copy its store, consistently and
// without stopping, into a directory on the server's machine.
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Path is the admin request the server answers.
const Path = "/admin/backup"

// Env is what Main reads besides its arguments.
type Env struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	Client         *http.Client // nil: http.DefaultClient
}

// Main runs `kinesisd backup` with args and returns the exit code: 0 when the backup is written, 1 when
// the server refused or failed it, 2 for bad arguments.
func Main(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("kinesisd backup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4567", "the running server")
	dir := fs.String("dir", "", "directory to write the backup to, on the server's machine; it must not exist or be empty (required)")
	region := fs.String("region", "us-east-1", "region to sign for (the server's -region, when it runs with -credentials)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the backup")
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, `usage: kinesisd backup -dir DIR [-endpoint URL] [-region R]

Copies the running server's store (the embedded engine) to DIR on the server's machine, consistently,
while it serves: everything acknowledged before the backup is in it. Restore by starting kinesisd with
-data DIR (or copying DIR in place of the data directory while the server is stopped).

Requests are signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN if set): with
-credentials the server accepts a key it lists; without, it accepts the request from loopback only.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(env.Stderr, "kinesisd backup: give -dir DIR (and no other arguments)")
		return 2
	}
	body, _ := json.Marshal(map[string]string{"dir": *dir})
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*endpoint, "/")+Path, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd backup: %v\n", err)
		return 2
	}
	req.Header.Set("Content-Type", "application/json")
	creds := aws.Credentials{AccessKeyID: env.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: env.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: env.Getenv("AWS_SESSION_TOKEN")}
	if creds.AccessKeyID == "" {
		creds.AccessKeyID, creds.SecretAccessKey = "kinesisd", "kinesisd" // accepted by a server without -credentials
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kinesis", *region, time.Now()); err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd backup: sign: %v\n", err)
		return 2
	}
	client := env.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd backup: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	var out struct {
		Dir        string `json:"dir"`
		DurationMs int64  `json:"duration_ms"`
		Error      string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &out); err != nil {
		fmt.Fprintf(env.Stderr, "kinesisd backup: %s: %s\n", resp.Status, strings.TrimSpace(string(raw)))
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.Stderr, "kinesisd backup: %s: %s\n", resp.Status, out.Error)
		return 1
	}
	fmt.Fprintf(env.Stdout, "backup written to %s in %d ms\n", out.Dir, out.DurationMs)
	return 0
}

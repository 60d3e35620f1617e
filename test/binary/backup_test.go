package binary_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/kinesistest"
)

// TestOnlineBackup: `kinesisd backup` copies a running server's store while writes go on; a server
// started on the copy has every record acknowledged before the backup began. With -credentials the
// admin request must be signed by a listed key.
func TestOnlineBackup(t *testing.T) {
	bin := buildBinary(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("AKIDBACKUP backupsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startLogged(t, bin, nil, "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-credentials", keys, "-init-streams", "b:2")
	if p.Endpoint == "" {
		t.Fatalf("kinesisd did not start: %v\n%s", p.ExitErr(), p.Log())
	}
	c := kinesis.New(kinesistest.NewClient(p.Endpoint).Options(), func(o *kinesis.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDBACKUP", "backupsecret", "")
	})
	before := kinesistest.PutN(t, c, "b", "before", 500)

	// Writes go on while the backup runs.
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !done.Load(); i++ {
			k := fmt.Sprintf("during-%d", i)
			if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("b"), PartitionKey: aws.String(k), Data: []byte(k)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	dir := filepath.Join(t.TempDir(), "backup")
	run := func(env ...string) (int, string) {
		cmd := exec.Command(bin, "backup", "-endpoint", p.Endpoint, "-dir", dir)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("AWS_ACCESS_KEY_ID=AKIDBACKUP", "AWS_SECRET_ACCESS_KEY=wrong"); code != 1 || !strings.Contains(out, "403") {
		t.Errorf("backup with a wrong secret: exit %d, %q; want 1 and 403", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused backup left %s (%v)", dir, err)
	}
	code, out := run("AWS_ACCESS_KEY_ID=AKIDBACKUP", "AWS_SECRET_ACCESS_KEY=backupsecret")
	done.Store(true)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "backup written to "+dir) {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	if code, out := run("AWS_ACCESS_KEY_ID=AKIDBACKUP", "AWS_SECRET_ACCESS_KEY=backupsecret"); code != 1 {
		t.Errorf("a second backup into the same directory: exit %d, %q; want 1", code, out)
	}
	stop(t, p)

	q := startLogged(t, bin, nil, "-listen", "127.0.0.1:0", "-data", dir)
	if q.Endpoint == "" {
		t.Fatalf("kinesisd did not start on the backup: %v\n%s", q.ExitErr(), q.Log())
	}
	got := map[string]bool{}
	for _, recs := range shardRecords(t, kinesistest.NewClient(q.Endpoint), "b") {
		for _, r := range recs {
			got[*r.SequenceNumber] = true
		}
	}
	missing := 0
	for _, seq := range before {
		if !got[seq] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d records acknowledged before the backup are not in it", missing, len(before))
	}
	t.Logf("backup holds %d records (%d written before it began)", len(got), len(before))
}

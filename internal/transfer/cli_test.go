package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kinesisd/internal/server"
	"kinesisd/internal/storage"
	"kinesisd/internal/storage/pebble"
	"kinesisd/internal/transfer"
	"kinesisd/internal/transfer/archive"
)

// runMain runs transfer.Main in process and returns its exit code, stdout and stderr.
func runMain(t *testing.T, env map[string]string, stdin []byte, cmd string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := transfer.Main(t.Context(), cmd, args, transfer.Env{
		Open: server.OpenStore, Getenv: func(k string) string { return env[k] },
		Stdin: bytes.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
	})
	return code, stdout.String(), stderr.String()
}

func TestFlags(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		env  map[string]string
		code int
		want []string
	}{
		{"export", nil, nil, 2, []string{"-out: required", "usage of kinesisd export"}},
		{"import", nil, nil, 2, []string{"-in: required"}},
		{"export", []string{"-out", "-", "-map", "-"}, nil, 2, []string{"-map:", "stdout"}},
		{"export", []string{"-out", "x", "-store", "redis"}, nil, 2, []string{"-store:", "redis"}},
		{"import", []string{"-in", "x"}, map[string]string{"KINESISD_STORE": "bogus"}, 2, []string{"-store:", "bogus"}},
		{"import", []string{"-in", "x", "-no-such-flag"}, nil, 2, []string{"-no-such-flag"}},
		{"import", []string{"-in", "x", "extra"}, nil, 2, []string{`unexpected argument "extra"`}},
		{"export", []string{"-out", "x", "-data", "/nonexistent/kinesisd"}, nil, 1, []string{"no kinesisd store in /nonexistent/kinesisd"}},
		{"import", []string{"-in", "/nonexistent/archive"}, nil, 1, []string{"-in:", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runMain(t, tt.env, nil, tt.cmd, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
	code, stdout, _ := runMain(t, nil, nil, "import", "-h")
	if code != 0 || !strings.Contains(stdout, "-replace") {
		t.Errorf("-h: exit %d, usage %q", code, stdout)
	}
}

// TestStoreInUse: with the store open elsewhere (a running server), export and import say so and
// change nothing.
func TestStoreInUse(t *testing.T) {
	dir := t.TempDir()
	st := openPebble(t, dir)
	defer closeStore(t, st)
	archivePath := filepath.Join(t.TempDir(), "a.kar")
	for _, args := range [][]string{{"export", "-data", dir, "-out", archivePath}} {
		code, _, stderr := runMain(t, nil, nil, args[0], args[1:]...)
		if code != 1 || !strings.Contains(stderr, "in use by another process") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, err := os.Stat(archivePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed export left %s behind", archivePath)
	}
	var empty bytes.Buffer
	if _, err := transfer.Export(t.Context(), st, &empty, transfer.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, nil, empty.Bytes(), "import", "-data", dir, "-in", "-")
	if code != 1 || !strings.Contains(stderr, "in use by another process") {
		t.Errorf("import: exit %d, stderr %q", code, stderr)
	}
}

// TestCommands runs export and import as a user would: files, the JSON map, the refusal to overwrite,
// -replace (the replaced incarnation's records dropped) and -renumber.
func TestCommands(t *testing.T) {
	src := buildSource(t)
	tmp := t.TempDir()
	file, expMap := filepath.Join(tmp, "backup.kar.gz"), filepath.Join(tmp, "export.json")
	code, _, stderr := runMain(t, nil, nil, "export", "-data", src.dir, "-out", file, "-map", expMap)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "exported 2 streams, 6 shards") || !strings.Contains(stderr, "skipped 000000000000/us-east-1/doomed") {
		t.Errorf("export report: %s", stderr)
	}
	if raw, _ := os.ReadFile(file); len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Error("-out *.gz is not gzip")
	}
	exp := readReport(t, expMap)

	dst := filepath.Join(tmp, "dst")
	impMap := filepath.Join(tmp, "import.json")
	if code, _, stderr := runMain(t, nil, nil, "import", "-data", dst, "-in", file, "-map", impMap); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	imp := readReport(t, impMap)
	if imp.SequenceNumbers != transfer.SequencesKept || imp.Source != "pebble" || imp.Target != "pebble" || len(imp.Streams) != len(exp.Streams) {
		t.Errorf("import report: %+v", imp)
	}
	for i, s := range imp.Streams {
		for j, sh := range s.Shards {
			if e := exp.Streams[i].Shards[j]; sh.OldFirst != e.OldFirst || sh.OldLast != e.OldLast || sh.NewFirst != e.OldFirst || sh.NewLast != e.OldLast {
				t.Errorf("%s %s: import maps %s…%s to %s…%s, export said %s…%s", s.Name, sh.ShardID, sh.OldFirst, sh.OldLast, sh.NewFirst, sh.NewLast, e.OldFirst, e.OldLast)
			}
		}
	}

	// Again: refused, naming what is there, and nothing changes.
	st := openPebble(t, dst)
	before := streamDoc(t, st, "orders")
	closeStore(t, st)
	code, _, stderr = runMain(t, nil, nil, "import", "-data", dst, "-in", file)
	if code != 1 || !strings.Contains(stderr, "stream orders (account 000000000000, us-east-1)") || !strings.Contains(stderr, "stream quiet") || !strings.Contains(stderr, "-replace") {
		t.Errorf("second import: exit %d, stderr %q", code, stderr)
	}
	st = openPebble(t, dst)
	if after := streamDoc(t, st, "orders"); after.ID() != before.ID() {
		t.Error("a refused import changed the stream")
	}
	closeStore(t, st)

	// -replace -renumber: a new incarnation, reassigned sequence numbers, the old records gone.
	if code, stdout, stderr := runMain(t, nil, nil, "import", "-data", dst, "-in", file, "-replace", "-renumber", "-map", "-"); code != 0 {
		t.Fatalf("import -replace: exit %d: %s", code, stderr)
	} else if !strings.Contains(stdout, `"sequenceNumbers": "reassigned"`) || !strings.Contains(stderr, "sequence numbers reassigned") {
		t.Errorf("import -renumber: stdout %s stderr %s", stdout, stderr)
	}
	st = openPebble(t, dst)
	defer closeStore(t, st)
	after := streamDoc(t, st, "orders")
	if after.ID() == before.ID() {
		t.Fatal("-replace kept the old incarnation")
	}
	for _, sh := range before.Shards() {
		if recs, err := st.Read(t.Context(), storage.ShardRef{StreamID: before.ID(), Shard: sh.Index}, 0, 10, 1<<20); err != nil || len(recs) != 0 {
			t.Errorf("replaced incarnation, shard %d: %d records left, %v", sh.Index, len(recs), err)
		}
	}
	if got := takeSnapshot(t, st).streams[key("orders")]; got.shards[1].recs[0].Offset != 0 {
		t.Errorf("shard 1 after -renumber starts at offset %d, want 0", got.shards[1].recs[0].Offset)
	}
}

func readReport(t *testing.T, path string) *transfer.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep transfer.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &rep
}

// recording is a store that remembers which stream incarnations got records and which were dropped.
type recording struct {
	storage.Store
	appended, dropped map[uint64]bool
}

func (r *recording) Append(ctx context.Context, appends []storage.Append) error {
	for _, a := range appends {
		r.appended[a.Shard.StreamID] = true
	}
	return r.Store.Append(ctx, appends)
}

func (r *recording) DropStream(ctx context.Context, id uint64) error {
	r.dropped[id] = true
	return r.Store.DropStream(ctx, id)
}

// TestCutShort: an archive cut short imports the streams before the cut whole, nothing of the one cut
// (its records are dropped again), and says the archive was cut short.
func TestCutShort(t *testing.T) {
	src := buildSource(t)
	data, _ := exportSource(t, src, false)
	tests := []struct {
		name   string
		cut    int
		before []string // streams imported whole
	}{
		// orders comes first and holds nearly every byte; quiet, without records, follows.
		{"InsideTheRecordsOfTheFirstStream", len(data) / 2, nil},
		{"InsideTheSecondStream", bytes.LastIndex(data, []byte(key("quiet"))) + 40, []string{"orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := pebble.Open(pebble.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore(t, st)
			rec := &recording{Store: st, appended: map[uint64]bool{}, dropped: map[uint64]bool{}}
			rep, err := transfer.Import(t.Context(), rec, bytes.NewReader(data[:tt.cut]), transfer.ImportOptions{Renumber: true})
			if !errors.Is(err, archive.ErrCorrupt) || !strings.Contains(err.Error(), "cut short") {
				t.Fatalf("import of a cut archive: %v", err)
			}
			var names []string
			for _, s := range rep.Streams {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.before) {
				t.Errorf("report of the streams imported: %v, want %v", names, tt.before)
			}
			snap := takeSnapshot(t, st)
			kept := map[uint64]bool{}
			for k, s := range snap.streams {
				if !slices.Contains(tt.before, strings.TrimPrefix(k, key(""))) {
					t.Errorf("stream %s in the target", k)
				}
				kept[s.doc.ID()] = true
			}
			if len(rec.appended) == 0 {
				t.Fatal("no records were appended")
			}
			for id := range rec.appended {
				if !kept[id] && !rec.dropped[id] {
					t.Errorf("records of the unfinished incarnation %d were not dropped", id)
				}
			}
		})
	}
}

package product_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"kinesisd/internal/kinesistest"
)

// imageConfig is the part of an image's configuration (docker image format) the test checks.
type imageConfig struct {
	Config struct {
		User         string
		ExposedPorts map[string]struct{}
		Env          []string
		Entrypoint   []string
		Cmd          []string
		Volumes      map[string]struct{}
		WorkingDir   string
		Healthcheck  *struct{ Test []string }
	} `json:"config"`
}

// containerTool returns podman or buildah, or skips (fails with KINESISD_IMAGE_TESTS=1) without them.
func containerTool(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"podman", "buildah"} {
		if _, err := exec.LookPath(name); err == nil {
			return name
		}
	}
	if os.Getenv("KINESISD_IMAGE_TESTS") == "1" {
		t.Fatal("KINESISD_IMAGE_TESTS=1, but neither podman nor buildah is installed (make imagetest installs podman)")
	}
	t.Skip("neither podman nor buildah is installed: the image is not built (make imagetest installs podman; KINESISD_IMAGE_TESTS=1 makes this a failure)")
	return ""
}

// TestImage builds the Dockerfile's final stage from the release binary (target image-from-binary,
// which pulls nothing), checks the image's configuration and files, and runs its binary as the
// container would: it can build images here, but not run containers.
func TestImage(t *testing.T) {
	tool := containerTool(t)
	r := needRelease(t)

	// The build context: the files the stage copies, laid out as in the repository, and its
	// .dockerignore, which must keep contrib/image/data's README out of /data.
	ctx := t.TempDir()
	for _, f := range []string{".dockerignore", "contrib/image/passwd", "contrib/image/group", "contrib/image/data/README.md"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(ctx, f))
	}
	copyFile(t, r.linux, filepath.Join(ctx, "dist", "image", filepath.Base(r.linux)))
	iceberg := filepath.Join(r.dir, strings.Replace(filepath.Base(r.linux), "kinesisd-", "kinesisd-iceberg-", 1))
	copyFile(t, iceberg, filepath.Join(ctx, "dist", "image", filepath.Base(iceberg)))

	tag := fmt.Sprintf("localhost/kinesisd-product-test:%d-%d", os.Getpid(), time.Now().UnixNano())
	build := []string{"build", "--target", "image-from-binary", "--format", "docker", "--layers=false",
		"--platform", "linux/" + runtime.GOARCH, "-f", filepath.Join(root, "Dockerfile"), "-t", tag, ctx}
	start := time.Now()
	run(t, tool, build...)
	t.Logf("%s build --target image-from-binary: %v", tool, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { exec.Command(tool, "rmi", "-f", tag).Run() })

	archive := filepath.Join(t.TempDir(), "image.tar")
	if tool == "podman" {
		run(t, tool, "save", "--format", "docker-archive", "-o", archive, tag)
	} else {
		run(t, tool, "push", tag, "docker-archive:"+archive+":"+tag)
	}
	cfg, files, layers := readDockerArchive(t, archive)

	c := cfg.Config
	if c.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532", c.User)
	}
	if _, ok := c.ExposedPorts["4567/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts %v, want 4567/tcp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok || len(c.Volumes) != 1 {
		t.Errorf("Volumes %v, want /data", c.Volumes)
	}
	if c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/kinesisd", "health"}) {
		t.Errorf("Healthcheck %+v, want CMD /kinesisd health", c.Healthcheck)
	}
	if !slices.Equal(c.Entrypoint, []string{"/kinesisd"}) || len(c.Cmd) != 0 {
		t.Errorf("Entrypoint %q Cmd %q, want [/kinesisd] and no Cmd", c.Entrypoint, c.Cmd)
	}
	for _, kv := range []string{"KINESISD_LISTEN=0.0.0.0:4567", "KINESISD_DATA=/data", "KINESISD_CONSOLE=true"} {
		if !slices.Contains(c.Env, kv) {
			t.Errorf("Env %q lacks %s", c.Env, kv)
		}
	}
	if tool == "podman" {
		var inspect []struct {
			Size        int64
			HealthCheck *struct{ Test []string }
			Config      struct{ User string }
		}
		if err := json.Unmarshal(run(t, tool, "image", "inspect", tag), &inspect); err != nil || len(inspect) != 1 {
			t.Fatalf("podman image inspect: %v", err)
		}
		if in := inspect[0]; in.Config.User != c.User || in.HealthCheck == nil || !slices.Equal(in.HealthCheck.Test, c.Healthcheck.Test) {
			t.Errorf("podman image inspect: user %q, health check %+v; the archive says %q, %+v", in.Config.User, in.HealthCheck, c.User, c.Healthcheck)
		}
		t.Logf("image size (podman image inspect): %.1f MiB", float64(inspect[0].Size)/(1<<20))
	}
	t.Logf("image layers: %.1f MiB, %.1f MiB gzipped (as a registry stores them)", float64(layers.raw)/(1<<20), float64(layers.gzipped)/(1<<20))

	data, ok := files["data"]
	switch {
	case !ok || data.Typeflag != tar.TypeDir:
		t.Errorf("/data is not a directory in the image")
	case data.Uid != 65532 || data.Gid != 65532:
		t.Errorf("/data belongs to %d:%d, want 65532:65532", data.Uid, data.Gid)
	}
	for name := range files {
		if strings.HasPrefix(name, "data/") {
			t.Errorf("/%s is in the image: /data should be empty", name)
		}
	}
	if passwd, ok := files["etc/passwd"]; !ok || !strings.Contains(string(passwd.content), "kinesisd:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the kinesisd user 65532")
	}
	bin, ok := files["kinesisd"]
	if !ok || bin.Typeflag != tar.TypeReg || bin.Mode&0o111 == 0 || !bytes.Equal(bin.content, mustRead(t, r.linux)) {
		t.Fatalf("/kinesisd is not the release binary, executable (found %v)", ok)
	}
	// kinesisd finds its S3 Tables writer next to itself.
	if w, ok := files["kinesisd-iceberg"]; !ok || w.Typeflag != tar.TypeReg || w.Mode&0o111 == 0 || !bytes.Equal(w.content, mustRead(t, iceberg)) {
		t.Errorf("/kinesisd-iceberg is not the release's kinesisd-iceberg, executable (found %v)", ok)
	}
	extracted := filepath.Join(t.TempDir(), "kinesisd")
	if err := os.WriteFile(extracted, bin.content, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"durable in /data", nil},
		{"in memory", []string{"-in-memory"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runLikeContainer(t, extracted, c.Env, tt.args)
		})
	}

	if tool == "podman" {
		tryPodmanRun(t, tag, r)
	}
}

// runLikeContainer starts bin with the image's environment (its listen address moved to a free
// loopback port and its data to a temporary directory), waits until `kinesisd health` run with that
// same environment, as the HEALTHCHECK runs it, exits 0, and does a PutRecord/GetRecords round trip
// on a stream created at start-up.
func runLikeContainer(t *testing.T, bin string, imageEnv, args []string) {
	port := freePort(t)
	env := []string{}
	for _, kv := range imageEnv {
		switch {
		case strings.HasPrefix(kv, "KINESISD_LISTEN="):
			kv = "KINESISD_LISTEN=127.0.0.1:" + port
		case strings.HasPrefix(kv, "KINESISD_DATA="):
			kv = "KINESISD_DATA=" + t.TempDir()
		}
		env = append(env, kv)
	}
	env = append(env, "KINESISD_INIT_STREAMS=roundtrip:2")

	health := func() (int, string) {
		cmd := exec.Command(bin, "health", "-timeout", "2s")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := health(); code != 1 || !strings.Contains(out, "connection refused") {
		t.Errorf("kinesisd health before the server starts: exit %d, %q; want 1 and connection refused", code, out)
	}

	server := exec.Command(bin, args...)
	server.Env = env
	var log bytes.Buffer
	server.Stderr = &log
	start := time.Now()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		server.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})

	// The server opens its port only once ready, so the first healthy answer is the moment it is.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		code, out := health()
		if code == 0 {
			t.Logf("start to healthy: %v (%s)", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("kinesisd exited before it was healthy: %v", err)
		case <-ctx.Done():
			t.Fatalf("not healthy after 30s; last answer: exit %d, %s", code, out)
		case <-poll.C:
		}
	}

	client := kinesistest.NewClient("http://127.0.0.1:" + port)
	desc, err := client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("roundtrip")})
	if err != nil || desc.StreamDescriptionSummary.StreamStatus != types.StreamStatusActive {
		t.Fatalf("the start-up stream roundtrip: %v, %+v; want it ACTIVE once healthy", err, desc)
	}
	put, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("roundtrip"), PartitionKey: aws.String("k"), Data: []byte("from the image")})
	if err != nil {
		t.Fatal(err)
	}
	it, err := client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("roundtrip"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 1 || string(got.Records[0].Data) != "from the image" || *got.Records[0].SequenceNumber != *put.SequenceNumber {
		t.Fatalf("GetRecords: %+v; want the one record put (%s)", got.Records, *put.SequenceNumber)
	}

	// The image turns the web console on (its port is not loopback inside a container).
	resp, err := http.Get("http://127.0.0.1:" + port + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("<html")) {
		t.Errorf("GET /console/: %d %.80q; want the console's page", resp.StatusCode, page)
	}

	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Errorf("after SIGTERM (docker stop): %v", err)
	}
	exited <- nil
}

// tryPodmanRun runs the image once with podman and says what happened: in this sandbox the runtime
// cannot create the container's cgroup, elsewhere it prints the version.
func tryPodmanRun(t *testing.T, tag string, r release) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "podman", "run", "--rm", "--network", "none", tag, "version").CombinedOutput()
	want := fmt.Sprintf("kinesisd %s (%s)", r.version, r.commit)
	switch {
	case err == nil && strings.TrimSpace(string(out)) == want:
		t.Logf("podman run %s version: %s", tag, out)
	case err == nil:
		t.Errorf("podman run %s version: %q, want %q", tag, out, want)
	default:
		t.Logf("podman run could not run the container here (not a failure of the image): %v\n%s", err, out)
	}
}

// archiveFile is a file of an image's filesystem.
type archiveFile struct {
	*tar.Header
	content []byte // of regular files
}

// layerSizes are the sizes of an image's layers, as tar and gzipped.
type layerSizes struct{ raw, gzipped int64 }

// readDockerArchive reads a docker-archive (`podman save --format docker-archive`): the image's
// configuration and its filesystem, the layers applied in order (the image has no deletions).
func readDockerArchive(t *testing.T, path string) (imageConfig, map[string]archiveFile, layerSizes) {
	t.Helper()
	entries := map[string][]byte{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			entries[h.Name] = b
		}
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of the archive: %v, %d images", err, len(manifest))
	}
	var cfg imageConfig
	if err := json.Unmarshal(entries[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("image configuration %s: %v", manifest[0].Config, err)
	}
	files := map[string]archiveFile{}
	var sizes layerSizes
	for _, name := range manifest[0].Layers {
		layer := entries[name]
		if r, err := gzip.NewReader(bytes.NewReader(layer)); err == nil {
			if layer, err = io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
		}
		sizes.raw += int64(len(layer))
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(layer)
		w.Close()
		sizes.gzipped += int64(gz.Len())
		lr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", name, err)
			}
			var content []byte
			if h.Typeflag == tar.TypeReg {
				if content, err = io.ReadAll(lr); err != nil {
					t.Fatal(err)
				}
			}
			clean := strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
			files[clean] = archiveFile{Header: h, content: content}
		}
	}
	return cfg, files, sizes
}

// run runs name with args and returns its standard output, failing the test with its output if it fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	data := mustRead(t, from)
	info, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

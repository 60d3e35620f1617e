package iceberg

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hadoop"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// restServer is a small Iceberg REST catalog for the tests: the handful of
// routes a Writer uses, over a Hadoop catalog (in a directory, its data files
// on the local file system, or in an S3 bucket). A failed commit requirement
// is a 409, as the REST spec has it.
type restServer struct {
	*httptest.Server
	mu         sync.Mutex
	warehouses []string // the warehouse query parameter of each config request
	auth       []string // each request's Authorization header
}

func newRESTServer(t *testing.T, warehouse string, props iceberg.Properties) *restServer {
	t.Helper()
	cat, err := hadoop.NewCatalog("server", warehouse, props)
	if err != nil {
		t.Fatal(err)
	}
	s := &restServer{}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, code int, kind string, err error) {
		reply(w, code, map[string]any{"error": map[string]any{"message": err.Error(), "type": kind, "code": code}})
	}
	loaded := func(w http.ResponseWriter, tbl *table.Table) {
		reply(w, http.StatusOK, map[string]any{"metadata-location": tbl.MetadataLocation(), "metadata": tbl.Metadata(), "config": map[string]string{}})
	}
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.warehouses = append(s.warehouses, r.URL.Query().Get("warehouse"))
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}})
	})
	mux.HandleFunc("POST /v1/namespaces", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Namespace []string `json:"namespace"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, "BadRequestException", err)
			return
		}
		err := cat.CreateNamespace(r.Context(), req.Namespace, nil)
		switch {
		case errors.Is(err, catalog.ErrNamespaceAlreadyExists):
			fail(w, http.StatusConflict, "AlreadyExistsException", err)
		case err != nil:
			fail(w, http.StatusInternalServerError, "ServerError", err)
		default:
			reply(w, http.StatusOK, map[string]any{"namespace": req.Namespace, "properties": map[string]string{}})
		}
	})
	mux.HandleFunc("POST /v1/namespaces/{ns}/tables", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name          string                 `json:"name"`
			Schema        *iceberg.Schema        `json:"schema"`
			PartitionSpec *iceberg.PartitionSpec `json:"partition-spec"`
			Props         iceberg.Properties     `json:"properties"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, "BadRequestException", err)
			return
		}
		opts := []catalog.CreateTableOpt{catalog.WithProperties(req.Props)}
		if req.PartitionSpec != nil {
			opts = append(opts, catalog.WithPartitionSpec(req.PartitionSpec))
		}
		tbl, err := cat.CreateTable(r.Context(), table.Identifier{r.PathValue("ns"), req.Name}, req.Schema, opts...)
		switch {
		case errors.Is(err, catalog.ErrTableAlreadyExists):
			fail(w, http.StatusConflict, "AlreadyExistsException", err)
		case err != nil:
			fail(w, http.StatusInternalServerError, "ServerError", err)
		default:
			loaded(w, tbl)
		}
	})
	mux.HandleFunc("GET /v1/namespaces/{ns}/tables/{tbl}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		tbl, err := cat.LoadTable(r.Context(), table.Identifier{r.PathValue("ns"), r.PathValue("tbl")})
		switch {
		case errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace):
			fail(w, http.StatusNotFound, "NoSuchTableException", err)
		case err != nil:
			fail(w, http.StatusInternalServerError, "ServerError", err)
		default:
			loaded(w, tbl)
		}
	})
	mux.HandleFunc("POST /v1/namespaces/{ns}/tables/{tbl}", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Requirements table.Requirements `json:"requirements"`
			Updates      table.Updates      `json:"updates"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, "BadRequestException", err)
			return
		}
		meta, loc, err := cat.CommitTable(r.Context(), table.Identifier{r.PathValue("ns"), r.PathValue("tbl")}, req.Requirements, req.Updates)
		if err != nil {
			fail(w, http.StatusConflict, "CommitFailedException", err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"metadata-location": loc, "metadata": meta})
	})
	mux.HandleFunc("POST /v1/namespaces/{ns}/tables/{tbl}/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestRESTCatalog(t *testing.T) {
	srv := newRESTServer(t, t.TempDir(), iceberg.Properties{})
	cfg := Config{CatalogURL: srv.URL, Region: "us-east-1", S3AccessKey: "AKIDEXAMPLE", S3Secret: "secret"}
	w := openWriter(t, cfg)
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events", Partition: &HourPartition{Source: "ts"}}
	if p, ok := position(t, w, tb); ok {
		t.Fatalf("Position of a missing table = %q", p)
	}
	appendOK(t, w, tb, events(0, 20, t0, 10*time.Minute), "p20")
	appendOK(t, w, tb, events(20, 5, t0, 10*time.Minute), "p25")
	equalRows(t, scan(t, w, tb), want(0, 25, t0, 10*time.Minute))

	// Another Writer (another front-end) sees the position and loses a
	// delivery the first already committed.
	w2 := openWriter(t, cfg)
	if p, ok := position(t, w2, tb); !ok || p != "p25" {
		t.Fatalf("second Writer's Position = %q, %t", p, ok)
	}
	position(t, w, tb)
	appendOK(t, w, tb, events(25, 5, t0, 10*time.Minute), "p30")
	if _, err := w2.Append(t.Context(), tb, events(25, 5, t0, 10*time.Minute), "p30"); !errors.Is(err, ErrConflict) {
		t.Fatalf("second delivery: %v, want ErrConflict", err)
	}
	equalRows(t, scan(t, w2, tb), want(0, 30, t0, 10*time.Minute))

	tbl, err := w.Load(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tbl.Properties()[table.MetadataDeleteAfterCommitEnabledKey]; ok {
		t.Errorf("a REST catalog's table is told to delete metadata files: %v", tbl.Properties())
	}
	spec := tbl.Spec()
	if f := spec.Field(0); f.Name != "ts_hour" || f.Transform.String() != "hour" {
		t.Fatalf("partition spec %s", tbl.Spec())
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, wh := range srv.warehouses {
		if wh != testBucket {
			t.Errorf("config asked for warehouse %q, want the bucket ARN", wh)
		}
	}
	for _, a := range srv.auth {
		if !strings.Contains(a, "Credential=AKIDEXAMPLE/") || !strings.Contains(a, "/us-east-1/s3tables/aws4_request") {
			t.Fatalf("Authorization %q is not SigV4 for s3tables", a)
		}
	}
	if len(srv.warehouses) == 0 || len(srv.auth) == 0 {
		t.Fatal("the server saw no config or load request")
	}
	srv.auth = nil
	srv.mu.Unlock()

	// Without keys, a catalog outside amazonaws.com gets unsigned requests.
	w3 := openWriter(t, Config{CatalogURL: srv.URL, Region: "us-east-1"})
	if p, _ := position(t, w3, tb); p != "p30" {
		t.Fatalf("unsigned Writer's Position = %q", p)
	}
	srv.mu.Lock()
	if len(srv.auth) != 1 || srv.auth[0] != "" {
		t.Fatalf("Authorization headers %q, want one empty", srv.auth)
	}
}

// The REST catalog's tables in an S3-compatible store (gofakes3), as S3
// Tables keep theirs in S3: data files go through S3Endpoint with the keys.
func TestRESTCatalogS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("warehouse"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	props := iceberg.Properties{
		"allow-unsafe-commits": "true", iceio.S3EndpointURL: s3srv.URL, iceio.S3ForceVirtualAddressing: "false",
		iceio.S3AccessKeyID: "key", iceio.S3SecretAccessKey: "secret", iceio.S3Region: "us-east-1",
	}
	srv := newRESTServer(t, "s3://warehouse/tables", props)
	w := openWriter(t, Config{CatalogURL: srv.URL, S3Endpoint: s3srv.URL, S3AccessKey: "key", S3Secret: "secret", Region: "us-east-1"})
	tb := Table{Bucket: testBucket, Namespace: "ns", Name: "events", Partition: &HourPartition{Source: "ts"}}
	position(t, w, tb)
	appendOK(t, w, tb, events(0, 20, t0, 10*time.Minute), "p20")
	equalRows(t, scan(t, w, tb), want(0, 20, t0, 10*time.Minute))
	if p, _ := position(t, w, tb); p != "p20" {
		t.Fatalf("Position = %q", p)
	}
	list, err := backend.ListBucket("warehouse", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	parquet := 0
	for _, o := range list.Contents {
		if strings.HasPrefix(o.Key, "tables/ns/events/data/") && strings.HasSuffix(o.Key, ".parquet") {
			parquet++
		}
	}
	if parquet != 4 { // 10:17 to 13:27
		t.Fatalf("%d Parquet objects under tables/ns/events/data/, want one per hour (4)", parquet)
	}
}

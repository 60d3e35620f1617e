package iceberg

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// memCatalog is the embedded catalog of -in-memory: tables whose metadata,
// manifests and data files live in one MemFS owned by the catalog, gone with
// it. A commit is a compare-and-swap under mu, so concurrent commits behave
// as against a real catalog: requirements are checked against the current
// metadata, and the loser gets table.ErrCommitFailed.
type memCatalog struct {
	root string // mem://BUCKET, unique to this catalog
	fs   *iceio.MemFS

	mu     sync.Mutex
	tables map[string]memTable // by strings.Join(ident, ".")
}

type memTable struct {
	meta     table.Metadata
	location string // of the current metadata file
	version  int
}

var _ table.CatalogIO = (*memCatalog)(nil)

func newMemCatalog(root string) *memCatalog {
	return &memCatalog{root: root, fs: iceio.NewMemFS(), tables: map[string]memTable{}}
}

func (c *memCatalog) fsF(context.Context) (iceio.IO, error) { return c.fs, nil }

func (c *memCatalog) CreateNamespace(context.Context, table.Identifier, iceberg.Properties) error {
	return nil // namespaces exist implicitly
}

func (c *memCatalog) CreateTable(_ context.Context, ident table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	var cfg catalog.CreateTableCfg
	for _, opt := range opts {
		opt(&cfg)
	}
	key := strings.Join(ident, ".")
	meta, err := table.NewMetadata(sc, cfg.PartitionSpec, table.UnsortedSortOrder, c.root+"/"+strings.Join(ident, "/"), cfg.Properties)
	if err != nil {
		return nil, fmt.Errorf("table metadata: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tables[key]; ok {
		return nil, fmt.Errorf("%w: %s", catalog.ErrTableAlreadyExists, key)
	}
	mt, err := c.publish(meta, 1)
	if err != nil {
		return nil, err
	}
	c.tables[key] = mt
	return table.New(ident, mt.meta, mt.location, c.fsF, c), nil
}

func (c *memCatalog) LoadTable(_ context.Context, ident table.Identifier) (*table.Table, error) {
	key := strings.Join(ident, ".")
	c.mu.Lock()
	mt, ok := c.tables[key]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", catalog.ErrNoSuchTable, key)
	}
	return table.New(ident, mt.meta, mt.location, c.fsF, c), nil
}

func (c *memCatalog) CommitTable(_ context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	key := strings.Join(ident, ".")
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.tables[key]
	if !ok {
		return nil, "", fmt.Errorf("%w: %s", catalog.ErrNoSuchTable, key)
	}
	for _, r := range reqs {
		if err := r.Validate(cur.meta); err != nil {
			return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
		}
	}
	meta, err := table.UpdateTableMetadata(cur.meta, updates, cur.location)
	if err != nil {
		return nil, "", fmt.Errorf("apply updates: %w", err)
	}
	mt, err := c.publish(meta, cur.version+1)
	if err != nil {
		return nil, "", err
	}
	c.tables[key] = mt
	return mt.meta, mt.location, nil
}

// publish writes a metadata file, as a file catalog would, so that the table
// reads the same whichever catalog holds it. The caller holds mu.
func (c *memCatalog) publish(meta table.Metadata, version int) (memTable, error) {
	b, err := json.Marshal(meta)
	if err != nil {
		return memTable{}, fmt.Errorf("encode metadata: %w", err)
	}
	loc := fmt.Sprintf("%s/metadata/v%d.metadata.json", meta.Location(), version)
	if err := c.fs.WriteFile(loc, b); err != nil {
		return memTable{}, err
	}
	return memTable{meta: meta, location: loc, version: version}, nil
}

func (c *memCatalog) Close() error { return nil }

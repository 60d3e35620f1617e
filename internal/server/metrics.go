package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"kinesisd/internal/storage"
)

// storeCollector exposes a store's storage.Stats at GET /metrics, read at each scrape: gauges, and
// counters for the figures that only grow while the store is open.
type storeCollector struct {
	store                                        storage.StatsReporter
	disk, wal, memtable, l0Files, compactionDebt *prometheus.Desc
	diskFree, writesRefused, corruptions         *prometheus.Desc
	tailCache, reads                             *prometheus.Desc
}

func newStoreCollector(st storage.StatsReporter) *storeCollector {
	return &storeCollector{
		store:          st,
		disk:           prometheus.NewDesc("kinesisd_storage_disk_bytes", "Space the storage engine's files take on disk, as allocated (preallocated and recycled write-ahead log files included).", nil, nil),
		wal:            prometheus.NewDesc("kinesisd_storage_wal_bytes", "Live data in the storage engine's write-ahead log.", nil, nil),
		memtable:       prometheus.NewDesc("kinesisd_storage_memtable_bytes", "Memory allocated to writes not yet flushed to tables.", nil, nil),
		l0Files:        prometheus.NewDesc("kinesisd_storage_l0_files", "Tables in level 0 of the storage engine's LSM tree.", nil, nil),
		compactionDebt: prometheus.NewDesc("kinesisd_storage_compaction_debt_bytes", "Estimated bytes compactions must still write.", nil, nil),
		diskFree:       prometheus.NewDesc("kinesisd_storage_disk_free_bytes", "Free space of the file system holding the storage engine's files.", nil, nil),
		writesRefused:  prometheus.NewDesc("kinesisd_storage_writes_refused_total", "Writes refused because the disk's free space was below the reserve (-disk-reserve).", nil, nil),
		corruptions:    prometheus.NewDesc("kinesisd_storage_corruptions_total", "Corrupt blocks or files the storage engine found.", nil, nil),
		tailCache:      prometheus.NewDesc("kinesisd_storage_tail_cache_bytes", "Memory the storage engine's cache of the shards' latest records holds (-tail-cache-mib).", nil, nil),
		reads: prometheus.NewDesc("kinesisd_storage_reads_total", "Reads of a shard's records (GetRecords, subscriptions, channels, the console), by where the records came from: tail_cache (memory, the latest records) or engine (the engine's files).",
			[]string{"source"}, nil),
	}
}

// Describe sends the metrics' descriptions.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.disk, c.wal, c.memtable, c.l0Files, c.compactionDebt, c.diskFree, c.writesRefused, c.corruptions, c.tailCache, c.reads} {
		ch <- d
	}
}

// Collect reads the store's Stats and sends them; a closed store sends nothing.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.store.Stats()
	if err != nil {
		return
	}
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{c.disk, prometheus.GaugeValue, float64(st.DiskBytes)},
		{c.wal, prometheus.GaugeValue, float64(st.WALBytes)},
		{c.memtable, prometheus.GaugeValue, float64(st.MemtableBytes)},
		{c.l0Files, prometheus.GaugeValue, float64(st.L0Files)},
		{c.compactionDebt, prometheus.GaugeValue, float64(st.CompactionDebtBytes)},
		{c.diskFree, prometheus.GaugeValue, float64(st.DiskFreeBytes)},
		{c.writesRefused, prometheus.CounterValue, float64(st.WritesRefused)},
		{c.corruptions, prometheus.CounterValue, float64(st.Corruptions)},
		{c.tailCache, prometheus.GaugeValue, float64(st.TailCacheBytes)},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(st.CachedReads), "tail_cache")
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(st.EngineReads), "engine")
}

package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"kinesisd/internal/storage"
)

// storeCollector exposes a store's storage.Stats as gauges at GET /metrics, read at each scrape.
type storeCollector struct {
	store                                        storage.StatsReporter
	disk, wal, memtable, l0Files, compactionDebt *prometheus.Desc
}

func newStoreCollector(st storage.StatsReporter) *storeCollector {
	return &storeCollector{
		store:          st,
		disk:           prometheus.NewDesc("kinesisd_storage_disk_bytes", "Space the storage engine's files take.", nil, nil),
		wal:            prometheus.NewDesc("kinesisd_storage_wal_bytes", "Live data in the storage engine's write-ahead log.", nil, nil),
		memtable:       prometheus.NewDesc("kinesisd_storage_memtable_bytes", "Memory allocated to writes not yet flushed to tables.", nil, nil),
		l0Files:        prometheus.NewDesc("kinesisd_storage_l0_files", "Tables in level 0 of the storage engine's LSM tree.", nil, nil),
		compactionDebt: prometheus.NewDesc("kinesisd_storage_compaction_debt_bytes", "Estimated bytes compactions must still write.", nil, nil),
	}
}

// Describe sends the gauges' descriptions.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.disk, c.wal, c.memtable, c.l0Files, c.compactionDebt} {
		ch <- d
	}
}

// Collect reads the store's Stats and sends them; a closed store sends nothing.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.store.Stats()
	if err != nil {
		return
	}
	for _, g := range []struct {
		d *prometheus.Desc
		v float64
	}{
		{c.disk, float64(st.DiskBytes)}, {c.wal, float64(st.WALBytes)}, {c.memtable, float64(st.MemtableBytes)},
		{c.l0Files, float64(st.L0Files)}, {c.compactionDebt, float64(st.CompactionDebtBytes)},
	} {
		ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, g.v)
	}
}

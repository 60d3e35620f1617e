package pebble

import (
	"context"

	"kinesisd/internal/storage"
)

var _ storage.StatsReporter = (*Store)(nil)

// Stats reports Pebble's metrics an operator watches: disk space, WAL and memtable sizes, L0 tables
// and the estimated compaction debt.
func (s *Store) Stats() (storage.Stats, error) {
	if err := s.gate.Enter(context.Background()); err != nil {
		return storage.Stats{}, err
	}
	defer s.gate.Leave()
	m := s.db.Metrics()
	return storage.Stats{
		DiskBytes:           m.DiskSpaceUsage(),
		WALBytes:            m.WAL.PhysicalSize,
		MemtableBytes:       m.MemTable.Size,
		L0Files:             m.Levels[0].TablesCount,
		CompactionDebtBytes: m.Compact.EstimatedDebt,
	}, nil
}

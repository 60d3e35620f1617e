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
	// Pebble's physical WAL size is the live files' sizes as of their creation (recycled files come
	// preallocated); the live data (Size) grows with every write. Disk usage counts the larger.
	disk := m.DiskSpaceUsage()
	if m.WAL.Size > m.WAL.PhysicalSize {
		disk += m.WAL.Size - m.WAL.PhysicalSize
	}
	return storage.Stats{
		DiskBytes:           disk,
		WALBytes:            m.WAL.Size,
		MemtableBytes:       m.MemTable.Size,
		L0Files:             m.Levels[0].TablesCount,
		CompactionDebtBytes: m.Compact.EstimatedDebt,
	}, nil
}

package pebble

func (s *Store) checkWAL(accept bool) error { return nil }

package service

import "kinesisd/internal/storage"

// noteWrites is told of every successful append, for the ON_DEMAND scaling of streams.
func (s *Service) noteWrites(st *stream, appends []storage.Append) {}

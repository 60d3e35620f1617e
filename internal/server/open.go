package server

import (
	"log/slog"

	"kinesisd/internal/config"
	"kinesisd/internal/storage"
)

// OpenStore opens the store cfg names, as Start does, for tools that work on a store without serving
// it (kinesisd export and import). The caller closes it.
func OpenStore(cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return openStore(cfg, log)
}

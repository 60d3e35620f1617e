package server

import (
	"context"
	"log/slog"

	"kinesisd/internal/config"
	"kinesisd/internal/storage"
)

// OpenStore opens the store cfg names, as Start does, for tools that work on a store without serving
// it (kinesisd export and import). The caller closes it.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return openStore(ctx, cfg, log, exitOnFatal(log))
}

package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"kinesisd/internal/storage"
)

// The keys of subscription leases (lease.go) and their removal with their consumer or stream.

// leaseMetaPrefix starts the key of every lease: "lease/<account>/<stream id>/<consumer>/<created>/<shard>".
const leaseMetaPrefix = "lease/"

// streamLeasePrefix is the key prefix of the leases of stream incarnation streamID.
func streamLeasePrefix(account string, streamID uint64) string {
	return fmt.Sprintf("%s%s/%d/", leaseMetaPrefix, account, streamID)
}

// consumerLeasePrefix is the key prefix of the leases of one consumer registration (its name and
// creation second) on stream incarnation streamID.
func consumerLeasePrefix(account string, streamID uint64, consumer string, created int64) string {
	return fmt.Sprintf("%s%s/%d/", streamLeasePrefix(account, streamID), consumer, created)
}

// dropLeases deletes every lease under prefix: those of a deregistered consumer or of a purged stream,
// which no subscription can take over any more (a consumer registered again under the same name has
// another creation second, a stream created again another id). A failure is logged: the operation that
// called it has taken effect, and a lease left behind blocks nothing.
func dropLeases(ctx context.Context, store storage.Store, log *slog.Logger, prefix string) {
	entries, err := store.ListMeta(ctx, prefix)
	if err != nil {
		log.Warn("list subscription leases", "prefix", prefix, "err", err)
		return
	}
	for _, e := range entries {
		err := store.DeleteMeta(ctx, e.Key, e.Version)
		if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			log.Warn("drop subscription lease", "key", e.Key, "err", err)
		}
	}
}

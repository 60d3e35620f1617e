package protocol

import "kinesisd/internal/service"

// reshardOps are the resharding, mode and capacity operations (SplitShard, MergeShards, UpdateShardCount, UpdateStreamMode, UpdateStreamWarmThroughput).
func reshardOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{}
}

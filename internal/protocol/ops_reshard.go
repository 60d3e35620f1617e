package protocol

import "kinesisd/internal/service"

// reshardOps are the resharding, mode and capacity operations (SplitShard, MergeShards, UpdateShardCount, UpdateStreamMode, UpdateStreamWarmThroughput).
func reshardOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{
		"SplitShard":                 unit(svc.SplitShard),
		"MergeShards":                unit(svc.MergeShards),
		"UpdateShardCount":           call(svc.UpdateShardCount),
		"UpdateStreamMode":           unit(svc.UpdateStreamMode),
		"UpdateStreamWarmThroughput": call(svc.UpdateStreamWarmThroughput),
	}
}

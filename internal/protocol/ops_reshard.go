package protocol

import "kinesisd/internal/service"

// reshardOps are the resharding, mode and capacity operations (SplitShard, MergeShards, UpdateShardCount, UpdateStreamMode, UpdateStreamWarmThroughput).
func reshardOps() map[string]opFunc {
	return map[string]opFunc{
		"SplitShard":                 unit((*service.Service).SplitShard),
		"MergeShards":                unit((*service.Service).MergeShards),
		"UpdateShardCount":           call((*service.Service).UpdateShardCount),
		"UpdateStreamMode":           unit((*service.Service).UpdateStreamMode),
		"UpdateStreamWarmThroughput": call((*service.Service).UpdateStreamWarmThroughput),
	}
}

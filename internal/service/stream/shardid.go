package stream

import (
	"fmt"
	"strconv"
	"strings"
)

const shardIDPrefix = "shardId-"

// ShardID is the API's id of the shard with index: shardId- and 12 digits.
func ShardID(index uint32) string {
	return fmt.Sprintf("%s%012d", shardIDPrefix, index)
}

// ParseShardID returns the index a shard id names. Like AWS it reads the digits after the last '-'
// (or the whole id): shardId-000000000005, shardId-5 and 5 all name shard 5, up to 2147483647.
func ParseShardID(id string) (uint32, bool) {
	digits := id[strings.LastIndexByte(id, '-')+1:]
	if digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 31)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

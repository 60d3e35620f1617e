package protocol

// channelOps are the channel operations (issue 18).
func channelOps() map[string]opFunc {
	return map[string]opFunc{}
}

package protocol

// queueOps are the queue operations (issue 19).
func queueOps() map[string]opFunc {
	return map[string]opFunc{}
}

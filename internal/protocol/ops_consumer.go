package protocol

import "kinesisd/internal/service"

// consumerOps are the enhanced fan-out consumer operations.
func consumerOps() map[string]opFunc {
	return map[string]opFunc{
		"RegisterStreamConsumer":   call((*service.Service).RegisterStreamConsumer),
		"DescribeStreamConsumer":   call((*service.Service).DescribeStreamConsumer),
		"ListStreamConsumers":      call((*service.Service).ListStreamConsumers),
		"DeregisterStreamConsumer": unit((*service.Service).DeregisterStreamConsumer),
	}
}

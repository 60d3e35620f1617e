package protocol

import "kinesisd/internal/service"

// consumerOps are the enhanced fan-out consumer operations.
func consumerOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{
		"RegisterStreamConsumer":   call(svc.RegisterStreamConsumer),
		"DescribeStreamConsumer":   call(svc.DescribeStreamConsumer),
		"ListStreamConsumers":      call(svc.ListStreamConsumers),
		"DeregisterStreamConsumer": unit(svc.DeregisterStreamConsumer),
	}
}

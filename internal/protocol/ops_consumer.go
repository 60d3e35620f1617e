package protocol

import "kinesisd/internal/service"

// consumerOps are the enhanced fan-out consumer operations.
func consumerOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{}
}

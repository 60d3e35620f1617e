package protocol

import "kinesisd/internal/service"

// resourceOps are tags, policies, monitoring, encryption, retention, record size and distribution, limits and account settings.
func resourceOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{}
}

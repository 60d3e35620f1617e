package protocol

import "kinesisd/internal/service"

// resourceOps are tags, policies, monitoring, encryption, retention, record size and distribution, limits and account settings.
func resourceOps(svc *service.Service) map[string]opFunc {
	return map[string]opFunc{
		"AddTagsToStream":                        unit(svc.AddTagsToStream),
		"RemoveTagsFromStream":                   unit(svc.RemoveTagsFromStream),
		"ListTagsForStream":                      call(svc.ListTagsForStream),
		"TagResource":                            unit(svc.TagResource),
		"UntagResource":                          unit(svc.UntagResource),
		"ListTagsForResource":                    call(svc.ListTagsForResource),
		"PutResourcePolicy":                      unit(svc.PutResourcePolicy),
		"GetResourcePolicy":                      call(svc.GetResourcePolicy),
		"DeleteResourcePolicy":                   unit(svc.DeleteResourcePolicy),
		"EnableEnhancedMonitoring":               call(svc.EnableEnhancedMonitoring),
		"DisableEnhancedMonitoring":              call(svc.DisableEnhancedMonitoring),
		"StartStreamEncryption":                  unit(svc.StartStreamEncryption),
		"StopStreamEncryption":                   unit(svc.StopStreamEncryption),
		"IncreaseStreamRetentionPeriod":          unit(svc.IncreaseStreamRetentionPeriod),
		"DecreaseStreamRetentionPeriod":          unit(svc.DecreaseStreamRetentionPeriod),
		"UpdateMaxRecordSize":                    unit(svc.UpdateMaxRecordSize),
		"UpdateStreamRecordDistributionStrategy": unit(svc.UpdateStreamRecordDistributionStrategy),
		"DescribeLimits":                         call(svc.DescribeLimits),
		"DescribeAccountSettings":                call(svc.DescribeAccountSettings),
		"UpdateAccountSettings":                  call(svc.UpdateAccountSettings),
	}
}

package protocol

import "kinesisd/internal/service"

// resourceOps are tags, policies, monitoring, encryption, retention, record size and distribution, limits and account settings.
func resourceOps() map[string]opFunc {
	return map[string]opFunc{
		"AddTagsToStream":                        unit((*service.Service).AddTagsToStream),
		"RemoveTagsFromStream":                   unit((*service.Service).RemoveTagsFromStream),
		"ListTagsForStream":                      call((*service.Service).ListTagsForStream),
		"TagResource":                            unit((*service.Service).TagResource),
		"UntagResource":                          unit((*service.Service).UntagResource),
		"ListTagsForResource":                    call((*service.Service).ListTagsForResource),
		"PutResourcePolicy":                      unit((*service.Service).PutResourcePolicy),
		"GetResourcePolicy":                      call((*service.Service).GetResourcePolicy),
		"DeleteResourcePolicy":                   unit((*service.Service).DeleteResourcePolicy),
		"EnableEnhancedMonitoring":               call((*service.Service).EnableEnhancedMonitoring),
		"DisableEnhancedMonitoring":              call((*service.Service).DisableEnhancedMonitoring),
		"StartStreamEncryption":                  unit((*service.Service).StartStreamEncryption),
		"StopStreamEncryption":                   unit((*service.Service).StopStreamEncryption),
		"IncreaseStreamRetentionPeriod":          unit((*service.Service).IncreaseStreamRetentionPeriod),
		"DecreaseStreamRetentionPeriod":          unit((*service.Service).DecreaseStreamRetentionPeriod),
		"UpdateMaxRecordSize":                    unit((*service.Service).UpdateMaxRecordSize),
		"UpdateStreamRecordDistributionStrategy": unit((*service.Service).UpdateStreamRecordDistributionStrategy),
		"DescribeLimits":                         call((*service.Service).DescribeLimits),
		"DescribeAccountSettings":                call((*service.Service).DescribeAccountSettings),
		"UpdateAccountSettings":                  call((*service.Service).UpdateAccountSettings),
	}
}

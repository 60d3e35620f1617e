package protocol

import "kinesisd/internal/service"

// channelOps are the channel operations (issue 18).
func channelOps() map[string]opFunc {
	return map[string]opFunc{
		"CreateChannel":   call((*service.Service).CreateChannel),
		"UpdateChannel":   call((*service.Service).UpdateChannel),
		"DeleteChannel":   unit((*service.Service).DeleteChannel),
		"DescribeChannel": call((*service.Service).DescribeChannel),
		"ListChannels":    call((*service.Service).ListChannels),
	}
}

package protocol

import "kinesisd/internal/service"

// queueOps are the queue operations (issue 19).
func queueOps() map[string]opFunc {
	return map[string]opFunc{
		"CreateQueue":                            call((*service.Service).CreateQueue),
		"UpdateQueue":                            call((*service.Service).UpdateQueue),
		"DeleteQueue":                            unit((*service.Service).DeleteQueue),
		"DescribeQueue":                          call((*service.Service).DescribeQueue),
		"ListQueues":                             call((*service.Service).ListQueues),
		"ReceiveQueueRecords":                    call((*service.Service).ReceiveQueueRecords),
		"AcknowledgeQueueRecords":                call((*service.Service).AcknowledgeQueueRecords),
		"UpdateQueueRecordsVisibility":           call((*service.Service).UpdateQueueRecordsVisibility),
		"ReceiveDeadLetterQueueRecords":          call((*service.Service).ReceiveDeadLetterQueueRecords),
		"AcknowledgeDeadLetterQueueRecords":      call((*service.Service).AcknowledgeDeadLetterQueueRecords),
		"UpdateDeadLetterQueueRecordsVisibility": call((*service.Service).UpdateDeadLetterQueueRecordsVisibility),
		"RestoreDeadLetterQueueRecords":          call((*service.Service).RestoreDeadLetterQueueRecords),
	}
}

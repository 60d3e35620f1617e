package service

// Reused memory of PutRecords and GetRecords: the working slices of a call and its reply's records and
// sequence numbers come from a pool, and go back to it when the caller releases the output
// (PutRecordsOutput.Release, GetRecordsOutput.Release), which the protocol handler does once the reply
// is encoded or written. A caller that never releases leaves the memory to the garbage collector.
// putMem (putrecords.go) and getMem (getrecords.go) are the two calls' memory.
//
// Why: at 130k records/s of PutRecords the server allocated ~320 bytes a record (585 MB in 14 s),
// most of it these slices (results, sequence numbers, the records handed to the store, routing, the
// decoded request's records), and its garbage collector ran six times a second. With them pooled,
// 60 MB in the same run.

// pooledMax bounds what a pool keeps: a call with more records gets memory of its own. PutRecords
// takes 500 records, GetRecords returns up to 10,000.
const pooledMax = 10_000

// resize returns s with length n, reusing its array when it is large enough: zeroed when s is new or
// was cleared to its capacity (free does).
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Queues (issue 19): a queue delivers its stream's records one by one to queue consumers, with
// visibility timeouts, receive counts and dead letters. Each queue is one document in the store,
// "queue/<account>/<region>/<name>" (queueDoc: its stream, starting position, attributes, tags and
// policy), and keeps its delivery state per shard in documents of their own beneath it,
// "queue/<account>/<region>/<name>/<incarnation>/<shard>" (queue.Shard), each changed only by
// compare-and-set, so that consumers of different shards never contend and every front-end of a
// JetStream cluster serves every queue. A queue's ARN ends in an id generated when it is created
// (queueDoc.ARNID, like a channel's), not in its name; "queue-id/<account>/<region>/<id>" holds the
// name the id belongs to, so that an ARN resolves with one read of that index (once per process: ids
// never change) and one of the queue's document, which must carry the same id. The stream's document lists its queues' names (CreateQueue
// and the purge of a deleted queue change it under the stream's compare-and-set): they share the
// consumer limit and hold DeleteStream off. DeleteQueue sets a queue DELETING (and the stream notes
// since when, stream.Doc.QueuesDeleting); the consumer delay later the queue is gone, and the first
// read that finds it so purges it (purgeQueue): from the stream's list, its shards' states, its id's
// index, then its document. This process keeps only the long polls waiting (queueRuntime).

const (
	queueMetaPrefix         = "queue/"
	queueDefaultVisibility  = 30 // seconds (the model's default)
	queueMaxVisibility      = 12 * 60 * 60
	queueDefaultMaxReceive  = 6
	queueMaxMaxReceive      = 1000
	queueReceiveMax         = 10
	queueDefaultWaitSeconds = 9 // the model: "The default is 9"
	queueMaxWaitSeconds     = 20
	queueEntriesMax         = 10
	receiptHandleMax        = 2048
	listQueuesMax           = 100
	deadLetterBuiltIn       = "BUILT_IN"
	deadLetterNone          = "NONE"
)

// queueDoc is a queue's stored document.
type queueDoc struct {
	Name         string `json:"name"`
	ID           uint64 `json:"id"`    // incarnation: receipt handles and shard states are bound to it
	ARNID        string `json:"arnId"` // the resource id of its ARN (newResourceID)
	CreatedMilli int64  `json:"created"`
	Status       string `json:"status"` // CREATING, ACTIVE, UPDATING or DELETING, settled by the clock (settleQueue)
	StatusMilli  int64  `json:"statusSince"`

	Stream             string `json:"stream"`
	StreamID           uint64 `json:"streamId"`
	StreamCreatedMilli int64  `json:"streamCreated"`
	Start              string `json:"start"`             // LATEST, TRIM_HORIZON or AT_TIMESTAMP
	StartMilli         int64  `json:"startAt,omitempty"` // AT_TIMESTAMP's time
	// Latest holds, for LATEST, where each shard of the stream ended when the queue was created;
	// shards opened later are delivered from their start.
	Latest map[uint32]uint64 `json:"latest,omitempty"`

	VisibilitySecs int          `json:"visibility"`
	MaxReceive     int          `json:"maxReceive"` // 0: no dead-letter handling
	Tags           []stream.Tag `json:"tags,omitempty"`
	Policy         string       `json:"policy,omitempty"`
}

// loadedQueue is a queue's document with its version, in the Service of its account.
type loadedQueue struct {
	doc     queueDoc
	version uint64
	key     string
}

// parseQueueARN returns the region, account and resource id of a queue ARN; ok is false when it is
// not one or its id could not be one.
func parseQueueARN(arn string) (region, account, id string, ok bool) {
	if !isQueueARN(arn) {
		return "", "", "", false
	}
	parts := strings.SplitN(arn, ":", 6)
	id = strings.TrimPrefix(parts[5], "queue/")
	if !namePattern.MatchString(id) || len(id) > 128 || !accountPattern.MatchString(parts[4]) {
		return "", "", "", false
	}
	return parts[3], parts[4], id, true
}

// queueARN is the ARN of the queue whose ARN id is id, in this account and region.
func (s *Service) queueARN(id string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:queue/%s", s.cfg.Region, s.cfg.Account, id)
}

// queueIDKey is the key of the index document from an ARN id to its queue's name.
func (s *Service) queueIDKey(id string) string {
	return "queue-id/" + s.cfg.Account + "/" + s.cfg.Region + "/" + id
}

// queueNameOf returns the name of the queue whose ARN id is id ("" when the index has none).
func (s *Service) queueNameOf(ctx context.Context, id string) (string, error) {
	key := s.queueIDKey(id)
	if n, ok := s.queues.names.Load(key); ok {
		return n.(string), nil
	}
	raw, _, err := s.store.GetMeta(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s.queues.names.Store(key, string(raw))
	return string(raw), nil
}

// loadQueueByID reads the queue whose ARN id is id, settled; nil when there is none (a queue of its
// name since created again has another id).
func (s *Service) loadQueueByID(ctx context.Context, id string) (*loadedQueue, error) {
	name, err := s.queueNameOf(ctx, id)
	if err != nil || name == "" {
		return nil, err
	}
	q, err := s.loadQueue(ctx, name)
	if err != nil || q == nil || q.doc.ARNID != id {
		return nil, err
	}
	return q, nil
}

func (s *Service) queueKey(name string) string {
	return queueMetaPrefix + s.cfg.Account + "/" + s.cfg.Region + "/" + name
}

// queueShardKey is the key of a queue incarnation's state on shard index.
func queueShardKey(queueKey string, id uint64, index uint32) string {
	return queueKey + "/" + strconv.FormatUint(id, 16) + "/" + strconv.FormatUint(uint64(index), 10)
}

// queueNotFound is the error for a queue ARN (its id) that names no queue.
func (s *Service) queueNotFound(id string) error {
	return kerr.NewResourceNotFound(fmt.Sprintf("Queue %s under account %s not found.", id, s.cfg.Account))
}

// queueResource resolves a queue's ARN (or, for CreateQueue, its name) for Authorize: the Service of
// the queue's account, its ARN and its resource policy; ok is false when it names no queue this service
// can read. The ARN of a queue CreateQueue would make is not known before: the action then applies to
// the account's queues (queue/*), as CreateChannel's to its channels.
func (s *Service) queueResource(ctx context.Context, queue *string) (owner *Service, arn, policy string, ok bool) {
	if queue == nil {
		return nil, "", "", false
	}
	if !isQueueARN(*queue) { // CreateQueue: a name in the caller's account
		if !namePattern.MatchString(*queue) || len(*queue) > 128 {
			return nil, "", "", false
		}
		return s, s.queueARN("*"), "", true
	}
	region, account, id, ok := parseQueueARN(*queue)
	if !ok || region != s.cfg.Region {
		return nil, "", "", false
	}
	owner = s.For(account, region)
	q, err := owner.loadQueueByID(ctx, id)
	if err != nil || q == nil {
		return nil, "", "", false
	}
	return owner, owner.queueARN(id), q.doc.Policy, true
}

// loadQueue reads a queue's document, settled; nil when there is none (or its deletion has completed:
// then it is purged).
func (s *Service) loadQueue(ctx context.Context, name string) (*loadedQueue, error) {
	key := s.queueKey(name)
	raw, version, err := s.store.GetMeta(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	q := &loadedQueue{version: version, key: key}
	if err := json.Unmarshal(raw, &q.doc); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	if s.settleQueue(&q.doc) {
		return nil, s.purgeQueue(ctx, q)
	}
	return q, nil
}

// settleQueue moves a queue from CREATING or UPDATING to ACTIVE once the consumer delay has passed;
// it reports whether a DELETING queue's deletion has completed (the same delay after DeleteQueue).
func (s *Service) settleQueue(d *queueDoc) (gone bool) {
	if d.Status == stream.StatusActive || stream.Milli(d.StatusMilli).Add(s.cfg.ConsumerDelay).After(s.now()) {
		return false
	}
	if d.Status == stream.StatusDeleting {
		return true
	}
	d.Status, d.StatusMilli = stream.StatusActive, d.StatusMilli+s.cfg.ConsumerDelay.Milliseconds()
	return false
}

// queuesOn returns the queues of a stream's document that still count (toward the consumer limit, and
// against DeleteStream): all but those whose deletion has completed. A DELETING queue counts, as a
// DELETING consumer does (stream.States.LiveConsumers).
func (s *Service) queuesOn(doc *stream.Doc) []string {
	out := make([]string, 0, len(doc.Queues))
	for _, n := range doc.Queues {
		if since, ok := doc.QueuesDeleting[n]; ok && !stream.Milli(since).Add(s.cfg.ConsumerDelay).After(s.now()) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// pruneQueues drops from a stream's document the queues whose deletion has completed.
func (s *Service) pruneQueues(doc *stream.Doc) {
	live := s.queuesOn(doc)
	for n := range doc.QueuesDeleting {
		if !slices.Contains(live, n) {
			delete(doc.QueuesDeleting, n)
		}
	}
	doc.Queues = live
	if len(doc.QueuesDeleting) == 0 {
		doc.QueuesDeleting = nil
	}
}

// errQueueUnlinked stops a purge's stream change that has nothing to remove.
var errQueueUnlinked = errors.New("queue not on its stream")

// purgeQueue removes a queue whose deletion has completed: from its stream's list, then its shards'
// states and its id's index, then its document (q.version: the document's), so that a crash between
// the steps leaves a document the next read purges again.
func (s *Service) purgeQueue(ctx context.Context, q *loadedQueue) error {
	d := &q.doc
	_, err := s.streams.Mutate(ctx, d.Stream, func(doc *stream.Doc) error {
		since, deleting := doc.QueuesDeleting[d.Name]
		if doc.ID != d.StreamID || !slices.Contains(doc.Queues, d.Name) || deleting && since != d.StatusMilli {
			return errQueueUnlinked // not this incarnation's entry
		}
		doc.Queues = slices.DeleteFunc(doc.Queues, func(n string) bool { return n == d.Name })
		delete(doc.QueuesDeleting, d.Name)
		s.pruneQueues(doc)
		return nil
	})
	if err != nil && !errors.Is(err, errQueueUnlinked) && !isStreamNotFound(err) {
		return fmt.Errorf("purge queue %s: %w", d.Name, err)
	}
	s.queues.notify(q.key)
	s.queues.forget(q.key + "/")
	entries, err := s.store.ListMeta(ctx, q.key+"/")
	if err != nil {
		return fmt.Errorf("purge queue %s: %w", d.Name, err)
	}
	for _, e := range entries {
		if err := s.store.DeleteMeta(ctx, e.Key, e.Version); err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("purge queue %s: %w", d.Name, err)
		}
	}
	idKey := s.queueIDKey(d.ARNID)
	s.queues.names.Delete(idKey)
	if raw, v, err := s.store.GetMeta(ctx, idKey); err == nil && string(raw) == d.Name {
		if err := s.store.DeleteMeta(ctx, idKey, v); err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("purge queue %s: %w", d.Name, err)
		}
	}
	err = s.store.DeleteMeta(ctx, q.key, q.version)
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("purge queue %s: %w", d.Name, err)
	}
	s.log.Info("queue deleted", "queue", d.Name, "id", d.ARNID, "account", s.cfg.Account)
	return nil
}

// queueNotActive is the ResourceInUseException of an operation a queue's state refuses.
func (s *Service) queueNotActive(d *queueDoc) error {
	return kerr.NewResourceInUse(fmt.Sprintf("Queue %s under account %s not ACTIVE, instead in state %s", d.Name, s.cfg.Account, d.Status))
}

// openQueue resolves a QueueARN (checked against the model) to its queue in this service's account.
func (s *Service) openQueue(ctx context.Context, arn string) (*loadedQueue, error) {
	region, account, id, ok := parseQueueARN(arn)
	if !ok {
		return nil, kerr.NewInvalidArgument(fmt.Sprintf("QueueARN %s is invalid.", arn))
	}
	if region != s.cfg.Region || account != s.cfg.Account {
		return nil, kerr.NewResourceNotFound(fmt.Sprintf("Queue %s under account %s not found.", id, account))
	}
	q, err := s.loadQueueByID(ctx, id)
	if err != nil {
		return nil, internal("load queue", err)
	}
	if q == nil {
		return nil, s.queueNotFound(id)
	}
	return q, nil
}

// saveQueue writes q's document if its version is still q.version.
func (s *Service) saveQueue(ctx context.Context, q *loadedQueue) error {
	raw, err := json.Marshal(&q.doc)
	if err != nil {
		return err
	}
	v, err := s.store.PutMeta(ctx, q.key, raw, q.version)
	if err == nil {
		q.version = v
	}
	return err
}

// mutateQueue applies change to the queue's document under compare-and-set, retrying on conflict.
func (s *Service) mutateQueue(ctx context.Context, arn string, change func(d *queueDoc) error) (*loadedQueue, error) {
	for {
		q, err := s.openQueue(ctx, arn)
		if err != nil {
			return nil, err
		}
		if err := change(&q.doc); err != nil {
			return nil, err
		}
		err = s.saveQueue(ctx, q)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, internal("save queue", err)
		}
		return q, nil
	}
}

// checkQueueAttributes checks a QueueAttributes member against the model.
func (c *checker) queueAttributes(a *QueueAttributes, required bool) {
	if a == nil {
		if required {
			c.v.Add(kerr.Null, "queueAttributes", "Member must not be null")
		}
		return
	}
	c.integer("queueAttributes.visibilityTimeoutSeconds", a.VisibilityTimeoutSeconds, false, 0, queueMaxVisibility)
	if dl := a.DeadLetterConfiguration; dl != nil {
		c.enum("queueAttributes.deadLetterConfiguration.targetType", dl.TargetType, true, deadLetterBuiltIn, deadLetterNone)
		c.integer("queueAttributes.deadLetterConfiguration.maxReceiveCount", dl.MaxReceiveCount, false, 1, queueMaxMaxReceive)
	}
}

// deadLetterRule checks the rules of DeadLetterConfiguration the model's constraints do not say.
func deadLetterRule(a *QueueAttributes) error {
	if a == nil || a.DeadLetterConfiguration == nil {
		return nil
	}
	dl := a.DeadLetterConfiguration
	switch {
	case *dl.TargetType == deadLetterBuiltIn && dl.MaxReceiveCount == nil:
		return kerr.NewValidation("MaxReceiveCount is required when TargetType is BUILT_IN.")
	case *dl.TargetType == deadLetterNone && dl.MaxReceiveCount != nil:
		return kerr.NewValidation("MaxReceiveCount must not be specified when TargetType is NONE.")
	}
	return nil
}

// applyAttributes sets the attributes a names on d, leaving the others.
func applyAttributes(d *queueDoc, a *QueueAttributes) {
	if a == nil {
		return
	}
	if a.VisibilityTimeoutSeconds != nil {
		d.VisibilitySecs = int(*a.VisibilityTimeoutSeconds)
	}
	if dl := a.DeadLetterConfiguration; dl != nil {
		d.MaxReceive = 0
		if *dl.TargetType == deadLetterBuiltIn {
			d.MaxReceive = int(*dl.MaxReceiveCount)
		}
	}
}

// CreateQueue creates a queue on an ON_DEMAND stream.
func (s *Service) CreateQueue(ctx context.Context, in *CreateQueueInput) (*QueueOutput, error) {
	var c checker
	c.str("queueName", in.QueueName, true, 1, 128, namePattern, namePatternText)
	switch n := len(in.StreamConfigurationList); {
	case in.StreamConfigurationList == nil:
		c.v.Add(kerr.Null, "streamConfigurationList", "Member must not be null")
	case n < 1:
		c.v.Add(kerr.Quote("[]"), "streamConfigurationList", "Member must have length greater than or equal to 1")
	case n > 1:
		c.v.Add(kerr.Quote(fmt.Sprintf("[%d entries]", n)), "streamConfigurationList", "Member must have length less than or equal to 1")
	}
	for i, sc := range in.StreamConfigurationList {
		path := fmt.Sprintf("streamConfigurationList.%d.member.", i+1)
		c.str(path+"streamARN", sc.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
		if sc.StartingPosition != nil {
			c.enum(path+"startingPosition.type", sc.StartingPosition.Type, true, trimHorizon, latest, atTimestamp)
		}
	}
	c.queueAttributes(in.QueueAttributes, false)
	c.tagMap("tags", in.Tags, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := deadLetterRule(in.QueueAttributes); err != nil {
		return nil, err
	}
	sc := in.StreamConfigurationList[0]
	start, startMilli := latest, int64(0)
	if p := sc.StartingPosition; p != nil {
		start = *p.Type
		switch {
		case start == atTimestamp && p.Timestamp == nil:
			return nil, kerr.NewValidation("StartingPosition Timestamp is required when Type is AT_TIMESTAMP.")
		case start != atTimestamp && p.Timestamp != nil:
			return nil, kerr.NewValidation(fmt.Sprintf("StartingPosition Timestamp must not be specified when Type is %s.", start))
		case start == atTimestamp:
			startMilli = p.Timestamp.UnixMilli()
		}
	}
	streamName, err := s.streamName(StreamRef{StreamARN: sc.StreamARN})
	if err != nil {
		return nil, err
	}
	name := *in.QueueName
	if err := s.checkRate("CreateQueue", streamName); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if _, err := s.addTags(nil, in.Tags, tagTarget{"queue", name}); err != nil {
			return nil, err
		}
	}
	st, err := s.findStream(ctx, StreamRef{StreamName: &streamName})
	if err != nil {
		return nil, err
	}
	if err := s.queueStreamReady(&st.Doc); err != nil {
		return nil, err
	}
	now := s.now()
	d := queueDoc{
		Name: name, ID: stream.NewID(), ARNID: newResourceID(), CreatedMilli: now.UnixMilli(), Status: stream.StatusCreating, StatusMilli: now.UnixMilli(),
		Stream: streamName, StreamID: st.Doc.ID, StreamCreatedMilli: st.Doc.CreatedMilli, Start: start, StartMilli: startMilli,
		VisibilitySecs: queueDefaultVisibility, MaxReceive: queueDefaultMaxReceive,
	}
	applyAttributes(&d, in.QueueAttributes)
	for k, v := range in.Tags {
		d.Tags = append(d.Tags, stream.Tag{Key: k, Value: v})
	}
	slices.SortFunc(d.Tags, func(a, b stream.Tag) int { return strings.Compare(a.Key, b.Key) })
	if start == latest {
		d.Latest = make(map[uint32]uint64, len(st.Doc.Shards))
		for _, sh := range st.Doc.Shards {
			end := sh.EndOffset
			if !sh.Closed {
				if end, err = s.store.NextOffset(ctx, st.Ref(sh.Index)); err != nil {
					return nil, internal("create queue", err)
				}
			}
			d.Latest[sh.Index] = end
		}
	}
	// The ARN id's index is written first (an index whose queue has another id names nothing), then
	// the name is claimed, account-wide; then the stream counts the queue, or the claim and index go.
	idKey := s.queueIDKey(d.ARNID)
	idVersion, err := s.store.PutMeta(ctx, idKey, []byte(name), 0)
	if err != nil {
		return nil, internal("create queue", err)
	}
	dropIndex := func() {
		if derr := s.store.DeleteMeta(context.WithoutCancel(ctx), idKey, idVersion); derr != nil {
			s.log.Warn("create queue: drop the id's index", "queue", name, "err", derr)
		}
	}
	if _, err := s.loadQueue(ctx, name); err != nil { // purges one of the name whose deletion has completed
		dropIndex()
		return nil, internal("create queue", err)
	}
	q := &loadedQueue{doc: d, key: s.queueKey(name)}
	if err := s.saveQueue(ctx, q); errors.Is(err, storage.ErrConflict) {
		dropIndex()
		return nil, kerr.NewResourceInUse(fmt.Sprintf("Queue %s under account %s already exists.", name, s.cfg.Account))
	} else if err != nil {
		dropIndex()
		return nil, internal("create queue", err)
	}
	_, err = s.streams.Mutate(ctx, streamName, func(doc *stream.Doc) error {
		if doc.ID != d.StreamID {
			return kerr.StreamNotFound(streamName, s.cfg.Account)
		}
		if err := s.queueStreamReady(doc); err != nil {
			return err
		}
		s.pruneQueues(doc)
		if len(s.streams.LiveConsumers(doc))+len(doc.Queues) >= consumersPerStream {
			return kerr.NewLimitExceeded(fmt.Sprintf("This request would exceed the limit of %d consumers registered "+
				"to stream %s under account %s.", consumersPerStream, streamName, s.cfg.Account))
		}
		if !slices.Contains(doc.Queues, name) {
			doc.Queues = append(doc.Queues, name)
		}
		delete(doc.QueuesDeleting, name)
		return nil
	})
	if err != nil {
		if derr := s.store.DeleteMeta(context.WithoutCancel(ctx), q.key, q.version); derr != nil {
			s.log.Warn("create queue: release the name", "queue", name, "err", derr)
		}
		dropIndex()
		return nil, err
	}
	s.settleQueue(&q.doc)
	return &QueueOutput{QueueDescription: s.describeQueue(&q.doc)}, nil
}

// queueStreamReady refuses a queue on a stream that is not ACTIVE or UPDATING, or not ON_DEMAND.
func (s *Service) queueStreamReady(doc *stream.Doc) error {
	if doc.Status != stream.StatusActive && doc.Status != stream.StatusUpdating {
		return s.notActive(doc)
	}
	if doc.Mode != stream.ModeOnDemand {
		return kerr.NewValidation(fmt.Sprintf("Queues are supported only on streams in ON_DEMAND capacity mode. Stream %s under account %s is %s.",
			doc.Name, s.cfg.Account, doc.Mode))
	}
	return nil
}

// describeQueue is a queue's QueueDescription.
func (s *Service) describeQueue(d *queueDoc) QueueDescription {
	vis := int64(d.VisibilitySecs)
	dl := &DeadLetterConfiguration{TargetType: refOf(deadLetterNone)}
	if d.MaxReceive > 0 {
		dl = &DeadLetterConfiguration{TargetType: refOf(deadLetterBuiltIn), MaxReceiveCount: refOf(int64(d.MaxReceive))}
	}
	pos := &QueueStartingPosition{Type: refOf(d.Start)}
	switch {
	case d.Start == atTimestamp:
		pos.Timestamp = &Timestamp{stream.Milli(d.StartMilli)}
	case d.Status == stream.StatusCreating:
	case d.Start == latest:
		pos.Timestamp = &Timestamp{stream.Milli(d.CreatedMilli)}
	default:
		pos.Timestamp = &Timestamp{stream.Milli(d.StreamCreatedMilli)}
	}
	if d.Start == atTimestamp && d.Status != stream.StatusCreating && d.StartMilli < d.StreamCreatedMilli {
		pos.Timestamp = &Timestamp{stream.Milli(d.StreamCreatedMilli)}
	}
	return QueueDescription{
		QueueName:              d.Name,
		QueueARN:               s.queueARN(d.ARNID),
		QueueStatus:            d.Status,
		QueueCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
		StreamConfigurationList: []QueueStreamConfiguration{{
			StreamARN: refOf(s.arn(d.Stream)), StartingPosition: pos,
		}},
		QueueAttributes: &QueueAttributes{VisibilityTimeoutSeconds: &vis, DeadLetterConfiguration: dl},
	}
}

func refOf[T any](v T) *T { return &v }

// UpdateQueue changes a queue's visibility timeout or dead-letter handling.
func (s *Service) UpdateQueue(ctx context.Context, in *UpdateQueueInput) (*QueueOutput, error) {
	var c checker
	c.str("queueARN", in.QueueARN, true, 1, 2048, queueARNPattern, queueARNPatternText)
	c.queueAttributes(in.QueueAttributes, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := deadLetterRule(in.QueueAttributes); err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateQueue", ""); err != nil {
		return nil, err
	}
	q, err := s.mutateQueue(ctx, *in.QueueARN, func(d *queueDoc) error {
		if d.Status == stream.StatusCreating || d.Status == stream.StatusDeleting {
			return s.queueNotActive(d)
		}
		applyAttributes(d, in.QueueAttributes)
		d.Status, d.StatusMilli = stream.StatusUpdating, s.now().UnixMilli()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleQueue(&q.doc)
	return &QueueOutput{QueueDescription: s.describeQueue(&q.doc)}, nil
}

// DescribeQueue describes a queue.
func (s *Service) DescribeQueue(ctx context.Context, in *QueueARNInput) (*QueueOutput, error) {
	var c checker
	c.str("queueARN", in.QueueARN, true, 1, 2048, queueARNPattern, queueARNPatternText)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("DescribeQueue", ""); err != nil {
		return nil, err
	}
	q, err := s.openQueue(ctx, *in.QueueARN)
	if err != nil {
		return nil, err
	}
	return &QueueOutput{QueueDescription: s.describeQueue(&q.doc)}, nil
}

// DeleteQueue sets a queue DELETING (the model: "A queue in the DELETING state does not deliver
// records"): receipt handles stop being valid and polls waiting on it answer. The stream notes it, and
// the queue is gone the consumer delay later (at once without one), when the next read purges it.
func (s *Service) DeleteQueue(ctx context.Context, in *QueueARNInput) error {
	var c checker
	c.str("queueARN", in.QueueARN, true, 1, 2048, queueARNPattern, queueARNPatternText)
	if err := c.err(); err != nil {
		return err
	}
	if err := s.checkRate("DeleteQueue", ""); err != nil {
		return err
	}
	already := false
	q, err := s.mutateQueue(ctx, *in.QueueARN, func(d *queueDoc) error {
		if already = d.Status == stream.StatusDeleting; already {
			return nil
		}
		d.Status, d.StatusMilli = stream.StatusDeleting, s.now().UnixMilli()
		return nil
	})
	if err != nil || already {
		return err
	}
	s.queues.notify(q.key)
	_, err = s.streams.Mutate(ctx, q.doc.Stream, func(doc *stream.Doc) error {
		if doc.ID != q.doc.StreamID || !slices.Contains(doc.Queues, q.doc.Name) {
			return errQueueUnlinked
		}
		if doc.QueuesDeleting == nil {
			doc.QueuesDeleting = map[string]int64{}
		}
		doc.QueuesDeleting[q.doc.Name] = q.doc.StatusMilli
		return nil
	})
	if err != nil && !errors.Is(err, errQueueUnlinked) && !isStreamNotFound(err) {
		return err
	}
	if _, err := s.loadQueue(ctx, q.doc.Name); err != nil { // without a delay: gone now
		return internal("delete queue", err)
	}
	return nil
}

// ListQueues lists the queues of the account and region, by name, optionally of one stream.
func (s *Service) ListQueues(ctx context.Context, in *ListQueuesInput) (*ListQueuesOutput, error) {
	var c checker
	c.integer("maxResults", in.MaxResults, false, 1, listQueuesMax)
	c.str("nextToken", in.NextToken, false, 1, 1048576, nil, "")
	for i, f := range in.StreamFilter {
		c.str(fmt.Sprintf("streamFilter.%d.member.streamARN", i+1), f.StreamARN, true, 1, 2048, streamARNPattern, streamARNPatternText)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("ListQueues", ""); err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || !strings.HasPrefix(string(raw), "q:") {
			return nil, kerr.NewInvalidArgument(fmt.Sprintf("Invalid NextToken: %s", *in.NextToken))
		}
		after = string(raw[2:])
	}
	limit := listQueuesMax
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	prefix := queueMetaPrefix + s.cfg.Account + "/" + s.cfg.Region + "/"
	entries, err := s.store.ListMeta(ctx, prefix)
	if err != nil {
		return nil, internal("list queues", err)
	}
	out := &ListQueuesOutput{QueueSummaries: []QueueSummary{}}
	for _, e := range entries {
		name := strings.TrimPrefix(e.Key, prefix)
		if strings.Contains(name, "/") || name <= after {
			continue // a shard's state, or before the page
		}
		var d queueDoc
		if err := json.Unmarshal(e.Value, &d); err != nil {
			return nil, internal("list queues", err)
		}
		if s.settleQueue(&d) {
			if err := s.purgeQueue(ctx, &loadedQueue{doc: d, version: e.Version, key: e.Key}); err != nil {
				return nil, internal("list queues", err)
			}
			continue
		}
		if !s.queueMatches(&d, in.StreamFilter) {
			continue
		}
		if len(out.QueueSummaries) == limit {
			token := base64.RawURLEncoding.EncodeToString([]byte("q:" + out.QueueSummaries[limit-1].QueueName))
			out.NextToken = &token
			break
		}
		out.QueueSummaries = append(out.QueueSummaries, QueueSummary{
			QueueName: d.Name, QueueARN: s.queueARN(d.ARNID), QueueStatus: d.Status,
			QueueCreationTimestamp: Timestamp{stream.Milli(d.CreatedMilli)},
			Streams:                []QueueStreamIdentifier{{StreamARN: s.arn(d.Stream), StreamCreationTimestamp: Timestamp{stream.Milli(d.StreamCreatedMilli)}}},
		})
	}
	return out, nil
}

// queueMatches tells whether d passes ListQueues' stream filter (none: every queue).
func (s *Service) queueMatches(d *queueDoc, filter []QueueStreamFilter) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if *f.StreamARN != s.arn(d.Stream) {
			continue
		}
		if f.StreamCreationTimestamp == nil || f.StreamCreationTimestamp.UnixMilli()/1000 == d.StreamCreatedMilli/1000 {
			return true
		}
	}
	return false
}

// mutateQueueResource applies a change of tags or policy to the queue arn names (TagResource,
// UntagResource, PutResourcePolicy, DeleteResourcePolicy).
func (s *Service) mutateQueueResource(ctx context.Context, arn string, change func(tags *[]stream.Tag, policy *string, target tagTarget) error) error {
	_, err := s.mutateQueue(ctx, arn, func(d *queueDoc) error {
		if d.Status == stream.StatusDeleting {
			return s.queueNotActive(d)
		}
		return change(&d.Tags, &d.Policy, tagTarget{"queue", d.Name})
	})
	return err
}

// readQueueResource returns the tags and policy of the queue arn names.
func (s *Service) readQueueResource(ctx context.Context, arn string) ([]stream.Tag, string, error) {
	q, err := s.openQueue(ctx, arn)
	if err != nil {
		return nil, "", err
	}
	return q.doc.Tags, q.doc.Policy, nil
}

// queueWaitTimer returns a timer for d (at least a millisecond).
func queueWaitTimer(d time.Duration) *time.Timer { return time.NewTimer(max(d, time.Millisecond)) }

package stream

// Enhanced fan-out consumers live in their stream's document (Doc.Consumers) and change only through
// States.Mutate, so registration limits hold atomically per stream. Their state moves lazily with the
// clock, as streams' do: CREATING becomes ACTIVE, and DELETING goes, once ConsumerDelay has passed since
// the status was set. Stored documents keep the status last written; every reader looks through
// LiveConsumers (or FindConsumer), which applies the transitions.

// SettleConsumer returns c as it stands now, and whether it is gone (deregistered and past the delay).
func (s *States) SettleConsumer(c Consumer) (Consumer, bool) {
	if c.Status != StatusCreating && c.Status != StatusDeleting {
		return c, false
	}
	due := Milli(c.StatusMilli).Add(s.cfg.ConsumerDelay)
	if s.cfg.Clock.Now().Before(due) {
		return c, false
	}
	if c.Status == StatusDeleting {
		return c, true
	}
	c.Status, c.StatusMilli = StatusActive, due.UnixMilli()
	return c, false
}

// LiveConsumers returns the consumers of d as they stand now, leaving out those gone.
func (s *States) LiveConsumers(d *Doc) []Consumer {
	out := make([]Consumer, 0, len(d.Consumers))
	for _, c := range d.Consumers {
		if c, gone := s.SettleConsumer(c); !gone {
			out = append(out, c)
		}
	}
	return out
}

// FindConsumer returns the live consumer of d named name, or nil. With createdSecs >= 0 the consumer
// must also have been created in that second (the suffix of its ARN): a consumer ARN names one
// registration, and re-registering a name makes a new one.
func (s *States) FindConsumer(d *Doc, name string, createdSecs int64) *Consumer {
	for _, c := range s.LiveConsumers(d) {
		if c.Name == name && (createdSecs < 0 || c.CreatedMilli/1000 == createdSecs) {
			return &c
		}
	}
	return nil
}

// PruneConsumers settles the consumers of a document about to be saved and drops the gone ones,
// except those created in the current second or later: they stay as hidden tombstones so that a
// re-registration within the same second still gets a later creation second, hence a new ARN.
func (s *States) PruneConsumers(d *Doc) {
	nowSecs := s.cfg.Clock.Now().Unix()
	kept := d.Consumers[:0]
	for _, c := range d.Consumers {
		settled, gone := s.SettleConsumer(c)
		if gone && c.CreatedMilli/1000 < nowSecs {
			continue
		}
		if !gone {
			c = settled
		}
		kept = append(kept, c)
	}
	d.Consumers = kept
}

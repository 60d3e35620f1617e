package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"kinesisd/internal/kerr"
	"kinesisd/internal/service/stream"
	"kinesisd/internal/storage"
)

// Account-level operations: DescribeLimits, and the account settings (DescribeAccountSettings,
// UpdateAccountSettings) kept in one versioned document per account.

const (
	// commitmentMinimum is how long a minimum throughput billing commitment must last (AWS: 24 hours).
	commitmentMinimum = 24 * time.Hour

	commitmentEnabled      = "ENABLED"
	commitmentDisabled     = "DISABLED"
	commitmentEnabledUntil = "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
)

// DescribeLimitsInput is the input of DescribeLimits.
type DescribeLimitsInput struct{}

// DescribeLimitsOutput is the output of DescribeLimits.
type DescribeLimitsOutput struct {
	ShardLimit               int `json:"ShardLimit"`
	OpenShardCount           int `json:"OpenShardCount"`
	OnDemandStreamCount      int `json:"OnDemandStreamCount"`
	OnDemandStreamCountLimit int `json:"OnDemandStreamCountLimit"`
	ChannelCount             int `json:"ChannelCount"`
	ChannelCountLimit        int `json:"ChannelCountLimit"`
}

// DescribeAccountSettingsInput is the input of DescribeAccountSettings.
type DescribeAccountSettingsInput struct{}

// UpdateAccountSettingsInput is the input of UpdateAccountSettings.
type UpdateAccountSettingsInput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentInput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// MinimumThroughputBillingCommitmentInput is the commitment status UpdateAccountSettings asks for.
type MinimumThroughputBillingCommitmentInput struct {
	Status *string `json:"Status,omitempty"`
}

// AccountSettingsOutput is the output of DescribeAccountSettings and UpdateAccountSettings.
type AccountSettingsOutput struct {
	MinimumThroughputBillingCommitment MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment"`
}

// MinimumThroughputBillingCommitmentOutput is the account's commitment as AWS reports it.
type MinimumThroughputBillingCommitmentOutput struct {
	Status               string     `json:"Status"`
	StartedAt            *Timestamp `json:"StartedAt,omitempty"`
	EndedAt              *Timestamp `json:"EndedAt,omitempty"`
	EarliestAllowedEndAt *Timestamp `json:"EarliestAllowedEndAt,omitempty"`
}

// accountDoc is the account's settings document.
type accountDoc struct {
	Commitment       string `json:"commitment,omitempty"` // "" (never enabled), or a commitment status
	StartedMilli     int64  `json:"started,omitempty"`
	EarliestEndMilli int64  `json:"earliestEnd,omitempty"`
	EndedMilli       int64  `json:"ended,omitempty"`
}

func (s *Service) accountKey() string { return "account/" + s.cfg.Account + "/settings" }

// settle ends a commitment whose disabling was pending once its earliest end has passed.
func (d *accountDoc) settle(now time.Time) {
	if d.Commitment == commitmentEnabledUntil && !now.Before(stream.Milli(d.EarliestEndMilli)) {
		d.Commitment, d.EndedMilli = commitmentDisabled, d.EarliestEndMilli
	}
}

func (d *accountDoc) output() *AccountSettingsOutput {
	at := func(ms int64) *Timestamp {
		if ms == 0 {
			return nil
		}
		return &Timestamp{stream.Milli(ms)}
	}
	out := MinimumThroughputBillingCommitmentOutput{Status: d.Commitment, StartedAt: at(d.StartedMilli)}
	switch d.Commitment {
	case "":
		out.Status = commitmentDisabled
	case commitmentDisabled:
		out.EndedAt = at(d.EndedMilli)
	default:
		out.EarliestAllowedEndAt = at(d.EarliestEndMilli)
	}
	return &AccountSettingsOutput{MinimumThroughputBillingCommitment: out}
}

// loadAccount returns the account's settings document, settled at now, and its version (0: none yet).
func (s *Service) loadAccount(ctx context.Context) (accountDoc, uint64, error) {
	var d accountDoc
	raw, version, err := s.store.GetMeta(ctx, s.accountKey())
	if errors.Is(err, storage.ErrNotFound) {
		return d, 0, nil
	}
	if err != nil {
		return d, 0, internal("load account settings", err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, 0, internal("decode account settings", err)
	}
	d.settle(s.now())
	return d, version, nil
}

// DescribeLimits reports the account's shard limit and use, and its on-demand stream count and limit.
func (s *Service) DescribeLimits(ctx context.Context, _ *DescribeLimitsInput) (*DescribeLimitsOutput, error) {
	if err := s.checkRate("DescribeLimits", ""); err != nil {
		return nil, err
	}
	out := &DescribeLimitsOutput{ShardLimit: s.cfg.ShardLimit, OnDemandStreamCountLimit: onDemandStreamLimit, ChannelCountLimit: channelsPerAccount}
	channels, err := s.channelCount(ctx)
	if err != nil {
		return nil, internal("describe limits", err)
	}
	out.ChannelCount = channels
	err = s.streams.Each(ctx, func(st *stream.Stream) error {
		out.OpenShardCount += len(st.OpenShards())
		if st.Doc.Mode == stream.ModeOnDemand {
			out.OnDemandStreamCount++
		}
		return nil
	})
	if err != nil {
		return nil, internal("describe limits", err)
	}
	return out, nil
}

// DescribeAccountSettings reports the account's minimum throughput billing commitment.
func (s *Service) DescribeAccountSettings(ctx context.Context, _ *DescribeAccountSettingsInput) (*AccountSettingsOutput, error) {
	if err := s.checkRate("DescribeAccountSettings", ""); err != nil {
		return nil, err
	}
	d, _, err := s.loadAccount(ctx)
	if err != nil {
		return nil, err
	}
	return d.output(), nil
}

// UpdateAccountSettings enables or disables the minimum throughput billing commitment. A commitment
// lasts at least 24 hours: disabling it earlier schedules the end for its earliest allowed end
// (ENABLED_UNTIL_EARLIEST_ALLOWED_END), and enabling it again before then cancels that.
func (s *Service) UpdateAccountSettings(ctx context.Context, in *UpdateAccountSettingsInput) (*AccountSettingsOutput, error) {
	var c checker
	if in.MinimumThroughputBillingCommitment == nil {
		c.v.Add(kerr.Null, "minimumThroughputBillingCommitment", "Member must not be null")
	} else {
		c.enum("minimumThroughputBillingCommitment.status", in.MinimumThroughputBillingCommitment.Status, true, commitmentEnabled, commitmentDisabled)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.checkRate("UpdateAccountSettings", ""); err != nil {
		return nil, err
	}
	want := *in.MinimumThroughputBillingCommitment.Status
	for {
		d, version, err := s.loadAccount(ctx)
		if err != nil {
			return nil, err
		}
		now := s.now()
		switch {
		case want == commitmentEnabled && d.Commitment == commitmentEnabledUntil:
			d.Commitment = commitmentEnabled
		case want == commitmentEnabled && d.Commitment != commitmentEnabled:
			d = accountDoc{Commitment: commitmentEnabled, StartedMilli: now.UnixMilli(), EarliestEndMilli: now.Add(commitmentMinimum).UnixMilli()}
		case want == commitmentDisabled && d.Commitment == commitmentEnabled:
			d.Commitment = commitmentEnabledUntil
			d.settle(now)
			if d.Commitment == commitmentDisabled {
				d.EndedMilli = now.UnixMilli() // past the earliest end: it ends now
			}
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, internal("encode account settings", err)
		}
		_, err = s.store.PutMeta(ctx, s.accountKey(), raw, version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, internal("save account settings", err)
		}
		return d.output(), nil
	}
}

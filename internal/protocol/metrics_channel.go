package protocol

import (
	"github.com/prometheus/client_golang/prometheus"

	"kinesisd/internal/service"
)

// channelCollector exports the delivery figures of the channels this process delivers (issue 18).
type channelCollector struct {
	stats func() []*service.ChannelStats
	descs [7]*prometheus.Desc
}

// NewChannelCollector returns the /metrics collector of svc's channel deliveries (register it with
// Handler.Register).
func NewChannelCollector(svc *service.Service) prometheus.Collector {
	labels := []string{"account", "region", "channel"}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, labels, nil) }
	return &channelCollector{stats: svc.ChannelStatsAll, descs: [7]*prometheus.Desc{
		d("kinesisd_channel_records_delivered_total", "Records a channel delivered (to its destination or its dead-letter location)."),
		d("kinesisd_channel_bytes_delivered_total", "Bytes a channel wrote to its destination: objects as written (compressed), for a table the records' data."),
		d("kinesisd_channel_dead_letter_records_total", "Records a channel could not convert and wrote to its dead-letter location."),
		d("kinesisd_channel_objects_total", "Objects (or table commits) a channel wrote."),
		d("kinesisd_channel_errors_total", "Failed writes to a channel's destination; each is retried."),
		d("kinesisd_channel_records_expired_total", "Records that left the stream's retention before the channel delivered them."),
		d("kinesisd_channel_lag_seconds", "Arrival-to-delivery time of the first record of the channel's last delivery."),
	}}
}

func (c *channelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *channelCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		l := []string{s.Account, s.Region, s.Channel}
		for i, v := range []int64{s.Records.Load(), s.Bytes.Load(), s.DeadLettered.Load(), s.Objects.Load(), s.Errors.Load(), s.Expired.Load()} {
			ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(v), l...)
		}
		ch <- prometheus.MustNewConstMetric(c.descs[6], prometheus.GaugeValue, float64(s.LagMilli.Load())/1000, l...)
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr []string // substrings that must all appear
	}{
		{name: "defaults", want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "flags", args: []string{"-listen", "127.0.0.1:0", "-in-memory", "-account-id", "123456789012", "-region", "eu-west-1"},
			want: Config{Listen: "127.0.0.1:0", DataDir: "./kinesisd-data", InMemory: true, Store: "pebble", AccountID: "123456789012", Region: "eu-west-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "env fallback", env: map[string]string{"KINESISD_LISTEN": "127.0.0.1:9999", "KINESISD_IN_MEMORY": "true", "KINESISD_DATA": "/tmp/x"},
			want: Config{Listen: "127.0.0.1:9999", DataDir: "/tmp/x", InMemory: true, Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "flag beats env", args: []string{"-listen", "127.0.0.1:1"}, env: map[string]string{"KINESISD_LISTEN": "127.0.0.1:2"},
			want: Config{Listen: "127.0.0.1:1", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "every problem at once", args: []string{"-listen", "nope", "-account-id", "12", "-region", "mars", "-store", "etcd"},
			wantErr: []string{"-listen:", "-account-id:", "-region:", "-store:"}},
		{name: "bad env value names the flag", env: map[string]string{"KINESISD_IN_MEMORY": "maybe"}, wantErr: []string{"-in-memory:", "KINESISD_IN_MEMORY"}},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: []string{"-nope"}},
		{name: "bad port", args: []string{"-listen", "127.0.0.1:70000"}, wantErr: []string{"-listen:"}},
		{name: "limits and delays", args: []string{"-create-stream-delay", "500ms", "-shard-limit", "10", "-throughput-limits=false", "-api-rate-limits"},
			env: map[string]string{"KINESISD_DELETE_STREAM_DELAY": "2s", "KINESISD_UPDATE_STREAM_DELAY": "1m"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info",
				CreateStreamDelay: 500 * time.Millisecond, DeleteStreamDelay: 2 * time.Second, UpdateStreamDelay: time.Minute, ShardLimit: 10, APIRateLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "bad durations and limit", args: []string{"-create-stream-delay", "-1s", "-shard-limit", "0"}, env: map[string]string{"KINESISD_UPDATE_STREAM_DELAY": "soon"},
			wantErr: []string{"-create-stream-delay:", "-shard-limit:", "-update-stream-delay:"}},
		{name: "nats", args: []string{"-store", "nats://127.0.0.1:4222,10.0.0.2:4222", "-nats-creds", "/etc/k.creds", "-nats-tls-ca", "/etc/ca.pem", "-nats-replicas", "3"},
			env: map[string]string{"KINESISD_NATS_ACK_TIMEOUT": "2s", "KINESISD_NATS_PREFIX": "prod-1"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "nats://127.0.0.1:4222,10.0.0.2:4222", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB,
				NATSCreds: "/etc/k.creds", NATSTLSCA: "/etc/ca.pem", NATSReplicas: 3, NATSAckTimeout: 2 * time.Second, NATSPrefix: "prod-1"}},
		{name: "nats problems", args: []string{"-store", "nats://127.0.0.1,http://h:1", "-nats-replicas", "7", "-nats-ack-timeout", "0s", "-nats-prefix", "a.b", "-in-memory"},
			wantErr: []string{"-store: \"nats://127.0.0.1\"", "-store: \"http://h:1\"", "-nats-replicas:", "-nats-ack-timeout:", "-nats-prefix:", "-in-memory:"}},
		{name: "nats over tls", args: []string{"-store", "tls://nats.example:4222"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "tls://nats.example:4222", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.args, env(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load succeeded, want error with %q", tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("Load = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

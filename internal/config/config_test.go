package config

import (
	"errors"
	"flag"
	"reflect"
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
		{name: "defaults", want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "flags", args: []string{"-listen", "127.0.0.1:0", "-in-memory", "-account-id", "123456789012", "-region", "eu-west-1"},
			want: Config{Listen: "127.0.0.1:0", DataDir: "./kinesisd-data", InMemory: true, Store: "pebble", AccountID: "123456789012", Region: "eu-west-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "env fallback", env: map[string]string{"KINESISD_LISTEN": "127.0.0.1:9999", "KINESISD_IN_MEMORY": "true", "KINESISD_DATA": "/tmp/x"},
			want: Config{Listen: "127.0.0.1:9999", DataDir: "/tmp/x", InMemory: true, Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "flag beats env", args: []string{"-listen", "127.0.0.1:1"}, env: map[string]string{"KINESISD_LISTEN": "127.0.0.1:2"},
			want: Config{Listen: "127.0.0.1:1", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "every problem at once", args: []string{"-listen", "nope", "-account-id", "12", "-region", "mars", "-store", "etcd"},
			wantErr: []string{"-listen:", "-account-id:", "-region:", "-store:"}},
		{name: "bad env value names the flag", env: map[string]string{"KINESISD_IN_MEMORY": "maybe"}, wantErr: []string{"-in-memory:", "KINESISD_IN_MEMORY"}},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: []string{"-nope"}},
		{name: "bad port", args: []string{"-listen", "127.0.0.1:70000"}, wantErr: []string{"-listen:"}},
		{name: "limits and delays", args: []string{"-create-stream-delay", "500ms", "-shard-limit", "10", "-throughput-limits=false", "-api-rate-limits"},
			env: map[string]string{"KINESISD_DELETE_STREAM_DELAY": "2s", "KINESISD_UPDATE_STREAM_DELAY": "1m"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info",
				CreateStreamDelay: 500 * time.Millisecond, DeleteStreamDelay: 2 * time.Second, UpdateStreamDelay: time.Minute, ShardLimit: 10, APIRateLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "bad durations and limit", args: []string{"-create-stream-delay", "-1s", "-shard-limit", "0"}, env: map[string]string{"KINESISD_UPDATE_STREAM_DELAY": "soon"},
			wantErr: []string{"-create-stream-delay:", "-shard-limit:", "-update-stream-delay:"}},
		{name: "nats", args: []string{"-store", "nats://127.0.0.1:4222,10.0.0.2:4222", "-nats-creds", "/etc/k.creds", "-nats-tls-ca", "/etc/ca.pem", "-nats-replicas", "3", "-kms-master-key-file", "/etc/kms-master-key"},
			env: map[string]string{"KINESISD_NATS_ACK_TIMEOUT": "2s", "KINESISD_NATS_PREFIX": "prod-1"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "nats://127.0.0.1:4222,10.0.0.2:4222", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSMasterKeyFile: "/etc/kms-master-key", KMSRate: 10000, KMSDeletionDay: 24 * time.Hour,
				NATSCreds: "/etc/k.creds", NATSTLSCA: "/etc/ca.pem", NATSReplicas: 3, NATSAckTimeout: 2 * time.Second, NATSPrefix: "prod-1"}},
		{name: "nats problems", args: []string{"-store", "nats://127.0.0.1,http://h:1", "-nats-replicas", "7", "-nats-ack-timeout", "0s", "-nats-prefix", "a.b", "-in-memory"},
			wantErr: []string{"-store: \"nats://127.0.0.1\"", "-store: \"http://h:1\"", "-nats-replicas:", "-nats-ack-timeout:", "-nats-prefix:", "-in-memory:"}},
		{name: "init streams", args: []string{"-init-streams", "orders:4, clicks:ON_DEMAND,audit:1:168h"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD",
				InitStreams: []InitStream{{Name: "orders", Shards: 4}, {Name: "clicks", OnDemand: true}, {Name: "audit", Shards: 1, RetentionHours: 168}}}},
		{name: "init stream problems", args: []string{"-init-streams", "a:0,b:2:90m,c,111111111111/us-east-1/d:1,e:1,e:2"},
			wantErr: []string{`"a:0": shards`, `"b:2:90m": retention`, `"c": want NAME:SHARDS`, "ACCOUNT/REGION/ prefix is not supported yet", `"e:2": stream "e" is named twice`}},
		{name: "init streams from env name the variable", env: map[string]string{"KINESISD_INIT_STREAMS": "x:y"}, wantErr: []string{"-init-streams (KINESISD_INIT_STREAMS)", `"x:y"`}},
		{name: "boolean written apart", args: []string{"-in-memory", "false"}, wantErr: []string{"write -in-memory=false"}},
		{name: "fault and log flags", args: []string{"-disk-reserve", "64", "-accept-wal-loss", "-read-timeout", "5s", "-max-request-memory", "100", "-log-format", "json", "-log-requests"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD",
				DiskReserveMiB: 64, AcceptWALLoss: true, ReadTimeout: 5 * time.Second, MaxRequestMemoryMiB: 100, LogFormat: "json", LogRequests: true}},
		{name: "bad fault and log flags", args: []string{"-disk-reserve", "-1", "-read-timeout", "0s", "-max-request-memory", "-5", "-log-format", "xml"},
			wantErr: []string{"-disk-reserve:", "-read-timeout:", "-max-request-memory:", "-log-format:"}},
		{name: "nats over tls", args: []string{"-store", "tls://nats.example:4222", "-kms-master-key-file", "/etc/kms-master-key"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "tls://nats.example:4222", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSMasterKeyFile: "/etc/kms-master-key", KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD"}},
		{name: "cors origins", args: []string{"-cors-origins", " https://app.example.com, http://dev.local:*,,http://[::1]:8080"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD",
				CORSOrigins: []string{"https://app.example.com", "http://dev.local:*", "http://[::1]:8080"}}},
		{name: "cors origins from env, every origin", env: map[string]string{"KINESISD_CORS_ORIGINS": "*"},
			want: Config{Listen: "127.0.0.1:4567", DataDir: "./kinesisd-data", Store: "pebble", AccountID: "000000000000", Region: "us-east-1", LogLevel: "info", ShardLimit: 500, ThroughputLimits: true, RetentionInterval: time.Minute, OnDemandWindow: time.Minute, MemoryLimitMiB: DefaultMemoryLimitMiB, KMSRate: 10000, KMSDeletionDay: 24 * time.Hour, NATSAckTimeout: 5 * time.Second, NATSPrefix: "KINESISD",
				CORSOrigins: []string{"*"}}},
		{name: "bad cors origins", args: []string{"-cors-origins", "app.example.com,https://app.example.com/,http://h:99999,http://h:x,https://"},
			wantErr: []string{`-cors-origins: "app.example.com" is not an origin`, `-cors-origins: "https://app.example.com/" is not an origin`,
				`-cors-origins: "http://h:99999" has no valid port`, `-cors-origins: "http://h:x" has no valid port`, `-cors-origins: "https://" is not an origin`}},
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
			if want := withNewDefaults(tt.want); !reflect.DeepEqual(*got, want) {
				tt.want = want
				t.Errorf("Load = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// withNewDefaults fills the defaults of the flags added after the table was written, where a case
// leaves them zero.
func withNewDefaults(c Config) Config {
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.DiskReserveMiB == 0 {
		c.DiskReserveMiB = 256
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.TailCacheMiB == 0 {
		c.TailCacheMiB = 16
	}
	return c
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		if _, err := Load([]string{arg}, nil); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Load(%s) = %v, want flag.ErrHelp", arg, err)
		}
	}
	var b strings.Builder
	Usage(&b)
	help := b.String()
	var initStreams string
	newFlagSet(&Config{}, &initStreams).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(help, "  -"+f.Name+" ") && !strings.Contains(help, "  -"+f.Name+"   ") {
			t.Errorf("help lacks -%s", f.Name)
		}
		if !strings.Contains(help, "("+EnvName(f.Name)+")") {
			t.Errorf("help lacks %s", EnvName(f.Name))
		}
	})
	for _, sub := range []string{"bench", "export", "import", "backup", "health", "version"} {
		if !strings.Contains(help, "kinesisd "+sub+" ") {
			t.Errorf("help lacks the subcommand %s", sub)
		}
	}
}

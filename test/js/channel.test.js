// Channels through the JavaScript SDK v3 (HTTP/2 on every call): a channel from an ON_DEMAND stream
// to the embedded buckets (a directory per bucket under the data directory), records put over HTTP/2
// and read back from the objects, exactly once; DescribeChannel, ListChannels, DeleteStream refused
// while the channel exists, DeleteChannel, and the errors of bad requests.
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateChannelCommand,
  CreateStreamCommand,
  DeleteChannelCommand,
  DeleteStreamCommand,
  DescribeChannelCommand,
  DescribeStreamSummaryCommand,
  InvalidArgumentException,
  ListChannelsCommand,
  PutRecordsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';
import { http2Requests, waitFor } from './streams.js';

const STREAM = 'js-channel-orders';
const CHANNEL = 'js-orders-to-files';
const BUCKET = 'js-orders';
const ROLE = 'arn:aws:iam::000000000000:role/kinesisd-channel';
const RECORDS = 500;

let dataDir;
let server;
let client;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kinesisd-js-channel-'));
  // On disk (not the suite's default -in-memory), so that the embedded buckets are files to read.
  server = await startServer(['-in-memory=false', '-data', join(dataDir, 'data'), '-throughput-limits=false']);
  client = newClient(server.endpoint);
});

after(async () => {
  client?.destroy();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The files under dir, by their path relative to it (empty when dir does not exist yet). */
function files(dir) {
  const out = new Map();
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.startsWith('.put-')) out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

test('a channel delivers records put over HTTP/2 to the embedded buckets, exactly once', async () => {
  await client.send(new CreateStreamCommand({ StreamName: STREAM, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
  let streamARN;
  await waitFor('stream ACTIVE', async () => {
    const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    streamARN = s.StreamARN;
    return s.StreamStatus === 'ACTIVE';
  });

  const created = await client.send(
    new CreateChannelCommand({
      ChannelName: CHANNEL,
      ServiceExecutionRoleARN: ROLE,
      StreamConfigurationList: [{ StreamARN: streamARN, RecordConfiguration: { RecordFormatType: 'JSON' } }],
      S3DestinationConfiguration: {
        StorageConfiguration: { BucketARN: `arn:aws:s3:::${BUCKET}`, CompressionType: 'GZIP', ExpectedBucketOwner: '000000000000' },
        DataFreshnessInSeconds: 1,
      },
    }),
  );
  const channelARN = created.ChannelDescription.ChannelARN;
  assert.match(channelARN, /^arn:aws:kinesis:us-east-1:000000000000:channel\/\S+$/);
  await waitFor('channel ACTIVE', async () => {
    const { ChannelDescription: d } = await client.send(new DescribeChannelCommand({ ChannelARN: channelARN }));
    return d.ChannelStatus === 'ACTIVE';
  });

  const { ChannelSummaries: listed } = await client.send(new ListChannelsCommand({}));
  assert.ok(
    listed.some((c) => c.ChannelARN === channelARN && c.ChannelName === CHANNEL),
    `ListChannels ${JSON.stringify(listed)} lacks ${CHANNEL}`,
  );
  const { StreamDescriptionSummary: summary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
  assert.equal(summary.ChannelCount, 1);

  const want = new Set();
  for (let start = 0; start < RECORDS; start += 250) {
    const entries = [];
    for (let i = start; i < Math.min(start + 250, RECORDS); i++) {
      const data = JSON.stringify({ order: i, item: `sku-${i % 13}` });
      want.add(data);
      entries.push({ Data: Buffer.from(data), PartitionKey: `customer-${i % 29}` });
    }
    const out = await client.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
    assert.equal(out.FailedRecordCount, 0);
  }

  // Each object is JSON lines, gzipped; the channel also keeps its progress under .kinesisd/.
  const bucket = join(dataDir, 'data', 'buckets', BUCKET);
  let got = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    got = [];
    for (const [key, body] of files(bucket)) {
      if (key.startsWith('.kinesisd') || key.startsWith('error/')) continue;
      assert.ok(key.endsWith('.gz'), `object ${key}: GZIP objects end in .gz`);
      for (const line of gunzipSync(body).toString('utf8').split('\n')) {
        if (line !== '') got.push(line);
      }
    }
    if (got.length >= RECORDS || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(got.length, RECORDS, `delivered ${got.length} records, want ${RECORDS}`);
  assert.deepEqual(new Set(got), want);

  await assert.rejects(
    client.send(new DeleteStreamCommand({ StreamName: STREAM, EnforceConsumerDeletion: true })),
    (err) => err instanceof ResourceInUseException,
  );

  await client.send(new DeleteChannelCommand({ ChannelARN: channelARN }));
  await waitFor('channel gone', async () => {
    try {
      await client.send(new DescribeChannelCommand({ ChannelARN: channelARN }));
      return false;
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return true;
      throw err;
    }
  });
  await client.send(new DeleteStreamCommand({ StreamName: STREAM }));

  assert.ok((await http2Requests(server.endpoint, 'CreateChannel')) >= 1, 'CreateChannel did not arrive over HTTP/2');
  assert.ok((await http2Requests(server.endpoint, 'DescribeChannel')) >= 1, 'DescribeChannel did not arrive over HTTP/2');
});

test('CreateChannel without a destination is an InvalidArgumentException and creates nothing', async () => {
  await assert.rejects(
    client.send(
      new CreateChannelCommand({
        ChannelName: 'js-no-destination',
        ServiceExecutionRoleARN: ROLE,
        StreamConfigurationList: [
          {
            StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/js-channel-orders',
            RecordConfiguration: { RecordFormatType: 'JSON' },
          },
        ],
      }),
    ),
    (err) => err instanceof InvalidArgumentException && err.$metadata.httpStatusCode === 400,
  );
  const { ChannelSummaries: Channels } = await client.send(new ListChannelsCommand({}));
  assert.ok(!Channels.some((c) => c.ChannelName === 'js-no-destination'));
});

test('CreateChannel without its required ExpectedBucketOwner is a ValidationException naming the member', async () => {
  await assert.rejects(
    client.send(
      new CreateChannelCommand({
        ChannelName: 'js-no-owner',
        ServiceExecutionRoleARN: ROLE,
        StreamConfigurationList: [
          {
            StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/js-channel-orders',
            RecordConfiguration: { RecordFormatType: 'JSON' },
          },
        ],
        S3DestinationConfiguration: { StorageConfiguration: { BucketARN: 'arn:aws:s3:::js-orders' } },
      }),
    ),
    (err) =>
      err instanceof ValidationException &&
      err.message.includes("'s3DestinationConfiguration.storageConfiguration.expectedBucketOwner'"),
  );
});

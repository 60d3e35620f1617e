// SubscribeToShard through @aws-sdk/client-kinesis (JS SDK v3): an event stream over cleartext
// HTTP/2, the client's transport for every call.
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  PutRecordsCommand,
  ResourceInUseException,
  SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';
import { createActiveStream, http2Requests, registerActiveConsumer } from './streams.js';

const SEQ_RE = /^\d{56}$/;

let server;
let client;

before(async () => {
  server = await startServer();
  client = newClient(server.endpoint);
});

after(async () => {
  client?.destroy();
  await server?.stop();
});

/** Reads events from an async iterator of SubscribeToShard events until `n` records have come. */
async function collect(events, n) {
  const records = [];
  let last;
  while (records.length < n) {
    const { value, done } = await events.next();
    assert.ok(!done, `stream ended after ${records.length} of ${n} records`);
    const ev = value.SubscribeToShardEvent;
    assert.ok(ev, `unexpected event ${JSON.stringify(Object.keys(value))}`);
    assert.match(ev.ContinuationSequenceNumber, SEQ_RE);
    assert.equal(typeof ev.MillisBehindLatest, 'number');
    records.push(...ev.Records);
    last = ev;
  }
  assert.equal(records.length, n, 'more records than written');
  return { records, last };
}

test('SubscribeToShard: records written during the subscription arrive in order, over HTTP/2', async () => {
  const name = `js-subscribe-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const streamARN = await createActiveStream(client, name, 1);
  const consumerARN = await registerActiveConsumer(client, streamARN, 'js');

  const subscribe = () =>
    client.send(new SubscribeToShardCommand({
      ConsumerARN: consumerARN,
      ShardId: 'shardId-000000000000',
      StartingPosition: { Type: 'LATEST' },
    }));
  const out = await subscribe();
  const events = out.EventStream[Symbol.asyncIterator]();
  const { value: opening } = await events.next(); // the event sent at once on subscribing
  assert.deepEqual(opening.SubscribeToShardEvent.Records, []);

  // A second subscription for the consumer and shard within 5 s is refused.
  await assert.rejects(subscribe(), (err) => err instanceof ResourceInUseException);

  const data = Array.from({ length: 25 }, (_, i) => randomBytes(16 + i));
  const put = await client.send(new PutRecordsCommand({
    StreamName: name,
    Records: data.map((d, i) => ({ Data: d, PartitionKey: `pk-${i}` })),
  }));
  assert.equal(put.FailedRecordCount, 0);
  const { records, last } = await collect(events, data.length);
  assert.deepEqual(records.map((r) => r.SequenceNumber), put.Records.map((r) => r.SequenceNumber));
  records.forEach((r, i) => {
    assert.ok(Buffer.from(r.Data).equals(data[i]), `record ${i} data differs`);
    assert.equal(r.PartitionKey, `pk-${i}`);
    assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
  });
  assert.equal(last.ContinuationSequenceNumber, put.Records.at(-1).SequenceNumber);
  await events.return?.(); // end the subscription from the client side

  // Both subscriptions arrived over HTTP/2 (the server counts requests by protocol).
  const n = await http2Requests(server.endpoint, 'SubscribeToShard');
  assert.ok(n >= 2, `${n} SubscribeToShard requests counted over HTTP/2, want at least 2`);
});

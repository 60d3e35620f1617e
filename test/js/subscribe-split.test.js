// SubscribeToShard through @aws-sdk/client-kinesis (cleartext HTTP/2) across a resubscription and a
// split of the subscribed shard, consumed the way KCL consumes with enhanced fan-out: a writer runs
// throughout; the subscription is dropped and resumed AFTER its last ContinuationSequenceNumber; the
// shard splits; the parent's last event names the children, and subscriptions to them from
// TRIM_HORIZON get the rest. Per shard, every acknowledged record arrives once, in order, with its data.
//
// The suite starts its own server with a short re-subscribe window (the 5-second rule, 100 ms here)
// and without the per-shard write limits (the writer is not what is tested).
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PutRecordsCommand,
  ResourceInUseException,
  SplitShardCommand,
  SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';
import { createActiveStream, http2Requests, registerActiveConsumer } from './streams.js';

const SEQ_RE = /^\d{56}$/;
const SHARD0 = 'shardId-000000000000';

let server;
let client;
const clients = [];

before(async () => {
  server = await startServer(['-subscribe-takeover', '100ms', '-subscribe-heartbeat', '200ms', '-throughput-limits=false']);
  client = newClient(server.endpoint);
});

after(async () => {
  for (const c of [client, ...clients]) c?.destroy();
  await server?.stop();
});

/** Subscribes with a client of its own, retrying while the previous subscription still holds the shard. */
async function subscribe(consumerARN, shardId, startingPosition) {
  const c = newClient(server.endpoint);
  clients.push(c);
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await c.send(new SubscribeToShardCommand({ ConsumerARN: consumerARN, ShardId: shardId, StartingPosition: startingPosition }));
      return out.EventStream[Symbol.asyncIterator]();
    } catch (err) {
      if (!(err instanceof ResourceInUseException) || attempt >= 20) throw err;
      await sleep(100);
    }
  }
}

/** Reads events until `records` holds at least n records, or the shard's last event came; returns that last event. */
async function readUntil(events, records, n) {
  let last;
  do {
    const { value, done } = await events.next();
    assert.ok(!done, `stream ended after ${records.length} of ${n} records`);
    last = value.SubscribeToShardEvent;
    assert.ok(last, `unexpected event ${JSON.stringify(Object.keys(value))}`);
    assert.equal(typeof last.MillisBehindLatest, 'number');
    records.push(...last.Records);
    if (last.ChildShards?.length) return last;
    assert.match(last.ContinuationSequenceNumber, SEQ_RE);
  } while (records.length < n);
  return last;
}

/** Writes batches of five records with random keys until stopped; keeps what was acknowledged per shard. */
function startWriter(stream) {
  const acked = new Map(); // shard id -> sequence numbers, in acknowledgement (= sequence) order
  const data = new Map(); // sequence number -> data
  let stopped = false;
  const done = (async () => {
    for (let n = 0; !stopped; n++) {
      const records = Array.from({ length: 5 }, (_, i) => ({
        PartitionKey: randomBytes(12).toString('hex'),
        Data: Buffer.from(`batch ${n} record ${i}`),
      }));
      const out = await client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
      assert.equal(out.FailedRecordCount, 0, `PutRecords: ${out.Records.find((r) => r.ErrorCode)?.ErrorCode}`);
      out.Records.forEach((r, i) => {
        if (!acked.has(r.ShardId)) acked.set(r.ShardId, []);
        acked.get(r.ShardId).push(r.SequenceNumber);
        data.set(r.SequenceNumber, records[i].Data);
      });
      await sleep(5); // a steady trickle, not a flood
    }
  })();
  done.catch(() => {}); // reported by stop()
  return {
    acked: (shard) => acked.get(shard) ?? [],
    data,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

function assertDelivered(shard, records, writer) {
  assert.deepEqual(records.map((r) => r.SequenceNumber), writer.acked(shard), `${shard}: records missing, repeated or out of order`);
  for (const r of records) {
    assert.ok(Buffer.from(r.Data).equals(writer.data.get(r.SequenceNumber)), `${shard}: data of ${r.SequenceNumber} differs`);
  }
}

test('SubscribeToShard across a resubscription and a split, following ChildShards, over HTTP/2', { timeout: 60_000 }, async () => {
  const name = `js-split-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const arn = await registerActiveConsumer(client, await createActiveStream(client, name, 1), 'kcl');

  let events = await subscribe(arn, SHARD0, { Type: 'LATEST' });
  await readUntil(events, [], 0); // the opening event: the subscription stands at the shard's end
  const writer = startWriter(name);

  // Part of the records, then the subscription is dropped and resumed from its continuation.
  const parent = [];
  let last = await readUntil(events, parent, 40);
  await events.return?.();
  events = await subscribe(arn, SHARD0, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last.ContinuationSequenceNumber });
  last = await readUntil(events, parent, parent.length + 40);

  // The shard splits while the writer goes on; the parent's subscription reads to its end.
  await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: SHARD0, NewStartingHashKey: (1n << 127n).toString() }));
  while (!last.ChildShards?.length) last = await readUntil(events, parent, parent.length + 1);
  assert.equal(last.ContinuationSequenceNumber, undefined, 'the last event of a closed shard has no continuation');
  const { done: ended } = await events.next();
  assert.ok(ended, 'the parent subscription goes on after its last event');
  const children = last.ChildShards.map((c) => c.ShardId);
  assert.deepEqual(children, ['shardId-000000000001', 'shardId-000000000002']);
  for (const c of last.ChildShards) assert.deepEqual(c.ParentShards, [SHARD0]);

  // The children, followed as KCL does: from TRIM_HORIZON, with the same consumer.
  const childEvents = await Promise.all(children.map((id) => subscribe(arn, id, { Type: 'TRIM_HORIZON' })));
  const childRecords = children.map(() => []);
  for (const [i, ev] of childEvents.entries()) await readUntil(ev, childRecords[i], 20);
  await writer.stop(); // every write acknowledged: what each shard must deliver is known
  assertDelivered(SHARD0, parent, writer);
  for (const [i, id] of children.entries()) {
    await readUntil(childEvents[i], childRecords[i], writer.acked(id).length);
    assertDelivered(id, childRecords[i], writer);
    const { value } = await childEvents[i].next(); // the next event, a heartbeat, brings nothing more
    assert.deepEqual(value.SubscribeToShardEvent.Records, [], `${id}: records beyond what was written`);
    await childEvents[i].return?.();
  }

  const n = await http2Requests(server.endpoint, 'SubscribeToShard');
  assert.ok(n >= 4, `${n} SubscribeToShard requests counted over HTTP/2, want at least 4`);
});

// KPL aggregated records through kinesisd: user records aggregated with the npm package
// aws-kinesis-agg (the KPL's format: magic F3 89 9A C2, a protobuf AggregatedRecord, its MD5) are put
// as one Kinesis record each; GetRecords returns each aggregate byte for byte, and it de-aggregates
// (checksum verified) into the original user records: partition keys, explicit hash keys, data.
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import agg from 'aws-kinesis-agg';
import aggCommon from 'aws-kinesis-agg/lib/common.js';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';
import { createActiveStream } from './streams.js';

const MID_HASH = 1n << 127n; // two shards: shard 1 starts here

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

/** Every record of a shard from TRIM_HORIZON, reading until a read comes back empty. */
async function readShard(stream, shardId) {
  let { ShardIterator: iterator } = await client.send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON',
  }));
  const records = [];
  for (;;) {
    const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    if (out.Records.length === 0) return records;
    records.push(...out.Records);
    iterator = out.NextShardIterator;
  }
}

/** De-aggregates one record as returned by the JS SDK v3, checking the aggregate's MD5. */
function deaggregate(record) {
  let result;
  agg.deaggregateSync(record, true, (err, userRecords) => {
    assert.ifError(err);
    result = userRecords;
  });
  assert.ok(result, 'deaggregateSync did not call back');
  return result;
}

/**
 * Checks de-aggregated user records against the originals, in order. aws-kinesis-agg 4.2.8 reads an
 * absent explicit-hash-key index as 0 and so names the table's first entry for a user record that had
 * none: for those, the aggregate's protobuf (read with the package's own model) must carry no index.
 */
function assertUserRecords(got, want, sequenceNumber, data) {
  assert.equal(got.length, want.length, 'user record count');
  const raw = aggCommon.AggregatedRecord.decode(Buffer.from(data).subarray(4, data.length - 16));
  got.forEach((u, i) => {
    assert.equal(u.PartitionKey, want[i].partitionKey, `user record ${i}: partition key`);
    if (want[i].explicitHashKey !== undefined) {
      assert.equal(u.ExplicitPartitionKey, want[i].explicitHashKey, `user record ${i}: explicit hash key`);
    } else {
      assert.ok(!Object.hasOwn(raw.records[i], 'explicit_hash_key_index'), `user record ${i}: an explicit hash key appeared`);
    }
    assert.ok(Buffer.from(u.Data, 'base64').equals(want[i].data), `user record ${i}: data differs`);
    assert.equal(u.SequenceNumber, sequenceNumber);
    assert.equal(u.SubSequenceNumber, i);
  });
}

test('KPL aggregated records pass through untouched and de-aggregate into the user records', async () => {
  const stream = `kpl-${Date.now()}-${randomBytes(3).toString('hex')}`;
  await createActiveStream(client, stream, 2);

  // An aggregate put with PutRecord under its first user record's keys: the explicit hash key routes it
  // to shard 1 whatever the partition key hashes to. (Explicit hash keys below 2^32 are left out:
  // aws-kinesis-agg 4.2.8 builds its key table with Object.keys, which puts such integer-like strings
  // first, out of the order its indexes assume.)
  const users = [
    { partitionKey: 'user-0', explicitHashKey: (MID_HASH + 5n).toString(), data: randomBytes(40) },
    { partitionKey: 'user-1', data: Buffer.from('plain text user record') },
    { partitionKey: 'user-0', data: randomBytes(1) },
    { partitionKey: 'ключ-ü', explicitHashKey: (1n << 64n).toString(), data: Buffer.from([0, 0xff, 0xf3, 0x89, 0x9a, 0xc2]) },
    { partitionKey: 'user-2', explicitHashKey: (MID_HASH + 5n).toString(), data: randomBytes(3000) },
  ];
  const aggregator = new agg.RecordAggregator();
  for (const u of users) aggregator.addUserRecord(u);
  const encoded = aggregator.build();
  assert.ok(encoded.data.subarray(0, 4).equals(Buffer.from('f3899ac2', 'hex')), 'not a KPL aggregate');
  const put = await client.send(new PutRecordCommand({
    StreamName: stream, PartitionKey: encoded.partitionKey, ExplicitHashKey: encoded.ExplicitHashKey, Data: encoded.data,
  }));
  assert.equal(put.ShardId, 'shardId-000000000001', 'the aggregate goes where its explicit hash key says');

  // Two more aggregates through the package's batch API, put together with PutRecords.
  const batchUsers = Array.from({ length: 30 }, (_, i) => ({ partitionKey: `batch-${i % 4}`, data: randomBytes(10 + i) }));
  const aggregates = [];
  await new Promise((resolve, reject) => {
    agg.aggregate(batchUsers.slice(0, 20), (e, done) => { aggregates.push(e); done(); }, resolve, reject);
  });
  await new Promise((resolve, reject) => {
    agg.aggregate(batchUsers.slice(20), (e, done) => { aggregates.push(e); done(); }, resolve, reject);
  });
  assert.equal(aggregates.length, 2);
  const batch = await client.send(new PutRecordsCommand({
    StreamName: stream, Records: aggregates.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data })),
  }));
  assert.equal(batch.FailedRecordCount, 0);

  // Read back: every aggregate byte for byte, under its sequence number and partition key.
  const bySeq = new Map();
  for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
    for (const r of await readShard(stream, shard)) bySeq.set(r.SequenceNumber, { ...r, shard });
  }
  assert.equal(bySeq.size, 3, 'three aggregates stored as three records');

  const single = bySeq.get(put.SequenceNumber);
  assert.ok(single, 'the PutRecord aggregate was not read back');
  assert.ok(Buffer.from(single.Data).equals(encoded.data), 'aggregate bytes changed on the way');
  assert.equal(single.PartitionKey, encoded.partitionKey);
  assertUserRecords(deaggregate(single), users, put.SequenceNumber, single.Data);

  batch.Records.forEach((res, i) => {
    const r = bySeq.get(res.SequenceNumber);
    assert.ok(r, `aggregate ${i} of PutRecords was not read back`);
    assert.equal(r.shard, res.ShardId);
    assert.ok(Buffer.from(r.Data).equals(aggregates[i].data), `aggregate ${i} bytes changed on the way`);
    const want = i === 0 ? batchUsers.slice(0, 20) : batchUsers.slice(20);
    assertUserRecords(deaggregate(r), want, res.SequenceNumber, r.Data);
  });
});

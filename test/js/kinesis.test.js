// Real-client suite: @aws-sdk/client-kinesis (JS SDK v3) against kinesisd.
//
// The v3 Kinesis client uses its HTTP/2 handler for every operation, so against
// an http:// endpoint every call below is cleartext HTTP/2 with prior knowledge;
// the last test checks on the server's /metrics that this is what arrived.
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test
// Tests run in file order and share one server.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisServiceException,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const MAX_HASH = (1n << 128n) - 1n;
const SHARD_ID_RE = /^shardId-\d{12}$/;
const SEQ_RE = /^\d{56}$/;

let server;
let client;

// Operation name -> number of client.send calls this suite made (test 4 compares
// these with the server's per-protocol request counters).
const calls = {};

async function send(command) {
  const op = command.constructor.name.replace(/Command$/, '');
  // Reads are limited per shard (GetRecords 5 calls/s, GetShardIterator 5 calls/s), as on AWS: a reader
  // that goes faster backs off and tries again, as real consumers do.
  for (let attempt = 1; ; attempt++) {
    calls[op] = (calls[op] ?? 0) + 1;
    try {
      return await client.send(command);
    } catch (err) {
      const read = op === 'GetRecords' || op === 'GetShardIterator';
      if (!read || err.name !== 'ProvisionedThroughputExceededException' || attempt >= 20) throw err;
      await sleep(300);
    }
  }
}

before(async () => {
  server = await startServer();
  client = newClient(server.endpoint);
});

after(async () => {
  client?.destroy(); // closes the HTTP/2 session so the process can exit
  await server?.stop();
});

// ---------------------------------------------------------------- helpers

const uniqueName = (prefix) => `${prefix}-${Date.now()}-${randomBytes(3).toString('hex')}`;

const shardIdOf = (index) => `shardId-${String(index).padStart(12, '0')}`;

/** The partition-key hash Kinesis routes on: MD5 of the UTF-8 key as a big-endian 128-bit integer. */
const hashKeyOf = (partitionKey) =>
  BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));

/**
 * Initial hash ranges of a stream created with n shards: step = floor(2^128 / n),
 * shard i covers [i*step, (i+1)*step - 1], and the last shard ends at 2^128 - 1.
 */
function initialRanges(n) {
  const step = (1n << 128n) / BigInt(n);
  return Array.from({ length: n }, (_, i) => ({
    start: BigInt(i) * step,
    end: i === n - 1 ? MAX_HASH : BigInt(i + 1) * step - 1n,
  }));
}

function shardIndexOfHash(ranges, hash) {
  const i = ranges.findIndex((r) => hash >= r.start && hash <= r.end);
  assert.notEqual(i, -1, `hash ${hash} is in no range`);
  return i;
}

/** Creates a stream and waits (max 10 s) until DescribeStreamSummary says ACTIVE. */
async function createActiveStream(name, shardCount) {
  const created = await send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  assert.equal(created.$metadata.httpStatusCode, 200);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { StreamDescriptionSummary: s } = await send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamStatus === 'ACTIVE') return s;
    assert.equal(s.StreamStatus, 'CREATING', `unexpected status of new stream ${name}`);
    assert.ok(Date.now() < deadline, `stream ${name} still ${s.StreamStatus} after 10 s`);
    await sleep(100);
  }
}

/**
 * Follows a shard iterator until a GetRecords returns no records; returns every
 * record read. Each NextShardIterator must be a new string, even on the empty read.
 */
async function readUntilEmpty(shardIterator, limit) {
  const records = [];
  let iterator = shardIterator;
  for (let reads = 1; ; reads++) {
    assert.ok(reads <= 100, 'GetRecords never returned an empty batch');
    const out = await send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    assert.equal(typeof out.NextShardIterator, 'string', 'open shard must return a NextShardIterator');
    assert.notEqual(out.NextShardIterator, iterator, `NextShardIterator did not advance on read ${reads}`);
    assert.equal(typeof out.MillisBehindLatest, 'number');
    iterator = out.NextShardIterator;
    if (out.Records.length === 0) return { records, nextIterator: iterator };
    if (limit !== undefined) assert.ok(out.Records.length <= limit, `got ${out.Records.length} > Limit ${limit}`);
    records.push(...out.Records);
  }
}

async function iteratorFor(params) {
  const out = await send(new GetShardIteratorCommand(params));
  assert.equal(typeof out.ShardIterator, 'string');
  assert.ok(out.ShardIterator.length >= 1 && out.ShardIterator.length <= 512, 'iterator length out of 1..512');
  return out.ShardIterator;
}

function assertRecentDate(d, what) {
  assert.ok(d instanceof Date, `${what}: ApproximateArrivalTimestamp is not a Date: ${d}`);
  const skew = Math.abs(Date.now() - d.getTime());
  assert.ok(skew < 60_000, `${what}: ApproximateArrivalTimestamp ${d.toISOString()} is ${skew} ms from now`);
}

function assertSameBytes(got, want, what) {
  assert.ok(got instanceof Uint8Array, `${what}: Data is not a Uint8Array`);
  const g = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  assert.ok(
    g.equals(want),
    `${what}: data differs (got ${g.length} bytes ${g.subarray(0, 16).toString('hex')}…, ` +
      `want ${want.length} bytes ${want.subarray(0, 16).toString('hex')}…)`,
  );
}

/** Asserts err is the SDK's modelled exception class `cls` for a 400 client fault, with this message. */
function expectServiceError(cls, message) {
  return (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.name}: ${err?.message}`);
    assert.ok(err instanceof KinesisServiceException);
    assert.equal(err.name, cls.name);
    assert.equal(err.$fault, 'client');
    assert.equal(err.$metadata.httpStatusCode, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

// ------------------------------------------------------------------ tests

test('1. PutRecords by StreamARN: 500 records routed by MD5 / ExplicitHashKey, read back byte for byte', async () => {
  const name = uniqueName('js-putrecords');
  const SHARDS = 4;
  const summary = await createActiveStream(name, SHARDS);
  const arn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}`;
  assert.equal(summary.StreamName, name);
  assert.equal(summary.StreamARN, arn);
  assert.equal(summary.StreamStatus, 'ACTIVE');
  assert.equal(summary.OpenShardCount, SHARDS);

  // The routing below assumes the documented initial layout; check the server agrees.
  const ranges = initialRanges(SHARDS);
  const { Shards } = await send(new ListShardsCommand({ StreamName: name }));
  assert.deepEqual(
    Shards.map((s) => [s.ShardId, s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey]),
    ranges.map((r, i) => [shardIdOf(i), r.start.toString(), r.end.toString()]),
  );

  // 500 records of random bytes, 0..2000 bytes each, every partition key distinct.
  // Some keys are non-ASCII so that hashing the UTF-8 bytes is exercised.
  const N = 500;
  const records = [];
  for (let i = 0; i < N; i++) {
    const size = i === 0 ? 0 : i === 1 ? 2000 : randomInt(0, 2001);
    const pk = i % 50 === 0 ? `ключ-${i}-鍵-😀-${randomBytes(4).toString('hex')}` : `pk-${i}-${randomBytes(6).toString('hex')}`;
    records.push({ data: randomBytes(size), pk, ehk: undefined });
  }
  // A few records carry an ExplicitHashKey, including every shard boundary. Each
  // gets a partition key whose MD5 lands on a different shard, so the test can
  // only pass if the ExplicitHashKey really overrides the key.
  const explicitKeys = [
    0n,
    ranges[0].end,
    ranges[1].start,
    ranges[1].end,
    ranges[2].start + 12345n,
    ranges[3].start,
    MAX_HASH,
    BigInt('0x' + randomBytes(16).toString('hex')),
  ];
  explicitKeys.forEach((ehk, k) => {
    const rec = records[7 + k * 61];
    const target = shardIndexOfHash(ranges, ehk);
    let pk;
    do pk = `ehk-${k}-${randomBytes(6).toString('hex')}`;
    while (shardIndexOfHash(ranges, hashKeyOf(pk)) === target);
    rec.pk = pk;
    rec.ehk = ehk;
  });
  for (const rec of records) {
    rec.shard = shardIndexOfHash(ranges, rec.ehk ?? hashKeyOf(rec.pk));
  }
  assert.equal(new Set(records.map((r) => r.pk)).size, N, 'partition keys must be distinct');

  // The spec's example call, with the StreamARN only.
  const put = await send(
    new PutRecordsCommand({
      StreamARN: arn,
      Records: records.map((r) => ({
        Data: r.data,
        PartitionKey: r.pk,
        ...(r.ehk !== undefined && { ExplicitHashKey: r.ehk.toString() }),
      })),
    }),
  );
  assert.equal(put.$metadata.httpStatusCode, 200);
  assert.equal(put.FailedRecordCount, 0);
  assert.equal(put.EncryptionType, 'NONE');
  assert.equal(put.Records.length, N);
  put.Records.forEach((res, i) => {
    const what = `result ${i} (pk ${records[i].pk}${records[i].ehk !== undefined ? `, ehk ${records[i].ehk}` : ''})`;
    assert.equal(res.ErrorCode, undefined, `${what}: ${res.ErrorCode} ${res.ErrorMessage}`);
    assert.match(res.ShardId, SHARD_ID_RE, what);
    assert.match(res.SequenceNumber, SEQ_RE, what);
    assert.equal(res.ShardId, shardIdOf(records[i].shard), `${what}: wrong shard`);
    records[i].seq = res.SequenceNumber;
  });
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  assert.equal(bySeq.size, N, 'sequence numbers must be unique in the stream');

  // Read every shard from TRIM_HORIZON (in pages of 100) and match each record to its put.
  let total = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    const iterator = await iteratorFor({ StreamName: name, ShardId: shardIdOf(shard), ShardIteratorType: 'TRIM_HORIZON' });
    const { records: got } = await readUntilEmpty(iterator, 100);
    const expected = records.filter((r) => r.shard === shard).length;
    assert.equal(got.length, expected, `${shardIdOf(shard)}: read ${got.length} records, put ${expected}`);
    let prev = -1n;
    for (const rec of got) {
      const what = `${shardIdOf(shard)} seq ${rec.SequenceNumber}`;
      const want = bySeq.get(rec.SequenceNumber);
      assert.ok(want, `${what}: not a sequence number PutRecords returned`);
      assert.equal(want.shard, shard, `${what}: read from the wrong shard`);
      assert.equal(rec.PartitionKey, want.pk, what);
      assertSameBytes(rec.Data, want.data, what);
      assertRecentDate(rec.ApproximateArrivalTimestamp, what);
      const seq = BigInt(rec.SequenceNumber);
      assert.ok(seq > prev, `${what}: sequence numbers not strictly increasing`);
      prev = seq;
    }
    total += got.length;
  }
  assert.equal(total, N);
});

test('2. PutRecord by StreamName, then AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER / AT_TIMESTAMP / LATEST iterators', async () => {
  const name = uniqueName('js-putrecord');
  await createActiveStream(name, 2);
  const ranges = initialRanges(2);
  const pk = 'same-key-same-shard';
  const shardId = shardIdOf(shardIndexOfHash(ranges, hashKeyOf(pk)));
  const enc = new TextEncoder();

  const puts = [];
  const putOne = async (i) => {
    const data = Buffer.from(enc.encode(`record-${i} ${randomBytes(8).toString('hex')}`));
    const out = await send(new PutRecordCommand({ StreamName: name, PartitionKey: pk, Data: data }));
    assert.equal(out.ShardId, shardId, `record ${i}: wrong shard`);
    assert.match(out.SequenceNumber, SEQ_RE);
    assert.equal(out.EncryptionType, 'NONE');
    if (puts.length > 0) assert.ok(BigInt(out.SequenceNumber) > BigInt(puts.at(-1).seq), 'PutRecord sequence numbers must increase');
    puts.push({ data, seq: out.SequenceNumber });
  };
  const expectRecords = (got, indexes, what) => {
    assert.deepEqual(got.map((r) => r.SequenceNumber), indexes.map((i) => puts[i].seq), what);
    got.forEach((r, k) => {
      assert.equal(r.PartitionKey, pk);
      assertSameBytes(r.Data, puts[indexes[k]].data, `${what} record ${k}`);
      assertRecentDate(r.ApproximateArrivalTimestamp, `${what} record ${k}`);
    });
  };

  // record 0, then a timestamp strictly between records 0 and 1, then records 1 and 2.
  await putOne(0);
  await sleep(50);
  const between = new Date();
  await sleep(50);
  await putOne(1);
  await putOne(2);

  const base = { StreamName: name, ShardId: shardId };
  let r = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: puts[1].seq }));
  expectRecords(r.records, [1, 2], 'AT_SEQUENCE_NUMBER record 1');

  r = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: puts[1].seq }));
  expectRecords(r.records, [2], 'AFTER_SEQUENCE_NUMBER record 1');

  r = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: puts[2].seq }));
  expectRecords(r.records, [], 'AFTER_SEQUENCE_NUMBER of the last record');

  r = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: between }));
  expectRecords(r.records, [1, 2], 'AT_TIMESTAMP between records 0 and 1');

  r = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'TRIM_HORIZON' }));
  expectRecords(r.records, [0, 1, 2], 'TRIM_HORIZON');

  // LATEST sees nothing now, and the same iterator chain picks up the next put.
  const latest = await readUntilEmpty(await iteratorFor({ ...base, ShardIteratorType: 'LATEST' }));
  expectRecords(latest.records, [], 'LATEST before the next put');
  await putOne(3);
  const next = await send(new GetRecordsCommand({ ShardIterator: latest.nextIterator }));
  expectRecords(next.Records, [3], 'LATEST after the next put');
  assert.equal(next.MillisBehindLatest, 0, 'a reader at the tip is 0 ms behind');
});

test('3. errors arrive as the SDK exception classes with AWS messages', async () => {
  const missing = uniqueName('js-missing');
  await assert.rejects(
    send(new PutRecordsCommand({ StreamName: missing, Records: [{ Data: new Uint8Array([1, 2, 3]), PartitionKey: 'k' }] })),
    expectServiceError(ResourceNotFoundException, `Stream ${missing} under account ${ACCOUNT} not found.`),
  );

  const name = uniqueName('js-errors');
  await createActiveStream(name, 1);

  await assert.rejects(send(new PutRecordsCommand({ StreamName: name, Records: [] })), (err) => {
    expectServiceError(ValidationException, /.*/)(err);
    const want =
      "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: " +
      'Member must have length greater than or equal to 1';
    assert.ok(err.message.startsWith(want), `ValidationException message:\n  got:  ${err.message}\n  want: ${want}…`);
    return true;
  });

  await assert.rejects(
    send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 })),
    expectServiceError(ResourceInUseException, `Stream ${name} under account ${ACCOUNT} already exists.`),
  );
});

test('5. DeleteStream, then DescribeStreamSummary is ResourceNotFoundException', async () => {
  const name = uniqueName('js-delete');
  await createActiveStream(name, 1);
  await send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: new Uint8Array([42]) }));

  const del = await send(new DeleteStreamCommand({ StreamName: name }));
  assert.equal(del.$metadata.httpStatusCode, 200);

  // Deletion is asynchronous on AWS: the stream may show DELETING for a while first.
  const deadline = Date.now() + 10_000;
  for (;;) {
    let summary;
    try {
      summary = await send(new DescribeStreamSummaryCommand({ StreamName: name }));
    } catch (err) {
      expectServiceError(ResourceNotFoundException, `Stream ${name} under account ${ACCOUNT} not found.`)(err);
      break;
    }
    assert.equal(summary.StreamDescriptionSummary.StreamStatus, 'DELETING');
    assert.ok(Date.now() < deadline, `stream ${name} still DELETING after 10 s`);
    await sleep(100);
  }
});

// Runs last so that it covers every call the suite made.
test('4. /metrics shows every SDK call arrived over HTTP/2', async () => {
  const res = await httpGet(`${server.endpoint}/metrics`);
  assert.equal(res.status, 200, `GET /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  assert.equal(res.httpVersion, '1.1');
  assert.match(res.headers['content-type'] ?? '', /^text\/plain/);

  const counts = parseRequestCounters(res.body);
  const count = (op, proto) => counts.get(`${op}\u0000${proto}`) ?? 0;

  assert.ok((calls.PutRecords ?? 0) >= 3, 'the suite should have made PutRecords calls');
  assert.ok(
    count('PutRecords', 'HTTP/2.0') >= calls.PutRecords,
    `kinesisd_http_requests_total{operation="PutRecords",proto="HTTP/2.0"} is ${count('PutRecords', 'HTTP/2.0')}, ` +
      `but the suite made ${calls.PutRecords} PutRecords calls`,
  );
  for (const [op, n] of Object.entries(calls)) {
    assert.equal(count(op, 'HTTP/1.1'), 0, `${op} requests arrived over HTTP/1.1`);
    assert.ok(count(op, 'HTTP/2.0') >= n, `${op}: ${count(op, 'HTTP/2.0')} HTTP/2.0 requests counted, suite made ${n} calls`);
  }
});

// A plain HTTP/1.1 GET with node:http (no keep-alive, so nothing holds the process open).
function httpGet(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, httpVersion: res.httpVersion, headers: res.headers, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * Sums kinesisd_http_requests_total samples by (operation, proto) from
 * Prometheus text format; any other labels are summed over.
 */
function parseRequestCounters(text) {
  const sums = new Map();
  for (const line of text.split('\n')) {
    const m = /^kinesisd_http_requests_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    if (labels.operation === undefined || labels.proto === undefined) continue;
    const key = `${labels.operation}\u0000${labels.proto}`;
    sums.set(key, (sums.get(key) ?? 0) + Number(m[2]));
  }
  assert.ok(sums.size > 0, `no kinesisd_http_requests_total{operation,proto} samples in /metrics:\n${text.slice(0, 2000)}`);
  return sums;
}

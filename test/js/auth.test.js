// -credentials: kinesisd started with a credentials file verifies SigV4 on every call. The JS SDK v3
// signs over cleartext HTTP/2 (the :authority pseudo-header is the signed host): the listed key
// works, a wrong secret is refused with AWS's InvalidSignatureException and writes nothing.
//
// Run: KINESISD_BIN=/path/to/kinesisd npm test

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { newClient, startServer } from './kinesisd-server.js';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

let dir;
let server;
let client;
let wrong;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kinesisd-auth-'));
  const file = join(dir, 'credentials');
  // newClient's key, and another.
  await writeFile(file, '# accepted keys\nAKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nAKIDOTHER other\n');
  server = await startServer(['-credentials', file]);
  client = newClient(server.endpoint);
  wrong = new KinesisClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'not-the-secret' },
  });
});

after(async () => {
  client?.destroy();
  wrong?.destroy();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the listed key works; a wrong secret is refused and writes nothing', async () => {
  const stream = `auth-${Date.now()}`;
  await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  const { StreamDescriptionSummary: summary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  assert.equal(summary.StreamStatus, 'ACTIVE');

  const put = await client.send(new PutRecordsCommand({
    StreamName: stream,
    Records: [1, 2, 3].map((i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`signed ${i}`) })),
  }));
  assert.equal(put.FailedRecordCount, 0);

  await assert.rejects(
    wrong.send(new PutRecordsCommand({
      StreamName: stream,
      Records: [{ PartitionKey: 'refused', Data: Buffer.from('must not be written') }],
    })),
    (err) => {
      assert.equal(err.name, 'InvalidSignatureException');
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.message, MISMATCH);
      return true;
    },
  );

  const { ShardIterator } = await client.send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON',
  }));
  const { Records } = await client.send(new GetRecordsCommand({ ShardIterator }));
  assert.deepEqual(Records.map((r) => Buffer.from(r.Data).toString()), ['signed 1', 'signed 2', 'signed 3']);
});

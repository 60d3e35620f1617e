// Helpers the suites share: waiting for a state, a stream and a consumer made ACTIVE, and the
// server's count of requests by operation over HTTP/2.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';

/** Calls check every 50 ms until it returns true; fails after 10 s naming `what`. */
export async function waitFor(what, check) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await check()) return;
    assert.ok(Date.now() < deadline, `${what} not reached within 10 s`);
    await sleep(50);
  }
}

/** Creates a stream, waits until it is ACTIVE and returns its ARN. */
export async function createActiveStream(client, name, shardCount) {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  let streamARN;
  await waitFor(`stream ${name} ACTIVE`, async () => {
    const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    streamARN = s.StreamARN;
    return s.StreamStatus === 'ACTIVE';
  });
  return streamARN;
}

/** Registers a consumer, waits until it is ACTIVE and returns its ARN. */
export async function registerActiveConsumer(client, streamARN, name) {
  const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamARN, ConsumerName: name }));
  await waitFor(`consumer ${name} ACTIVE`, async () => {
    const { ConsumerDescription: c } = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
    return c.ConsumerStatus === 'ACTIVE';
  });
  return Consumer.ConsumerARN;
}

/** kinesisd_http_requests_total for op over HTTP/2.0 on the server's /metrics (0 when absent). */
export async function http2Requests(endpoint, op) {
  const metrics = await (await fetch(`${endpoint}/metrics`)).text();
  const m = new RegExp(`kinesisd_http_requests_total\\{operation="${op}",proto="HTTP/2\\.0"\\} (\\d+)`).exec(metrics);
  return m ? Number(m[1]) : 0;
}

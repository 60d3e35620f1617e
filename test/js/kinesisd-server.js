// Starts a throwaway kinesisd for the suite and builds an SDK client against it.
//
// The binary comes from $KINESISD_BIN (required). The server is started as
//   $KINESISD_BIN -listen 127.0.0.1:0 -in-memory [extra flags]
// and its address is taken from the slog line on stderr that says
//   time=... level=INFO msg="listening on 127.0.0.1:38211"
// Set KINESISD_LOG=1 to copy the server's output to this process's stderr.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KinesisClient } from '@aws-sdk/client-kinesis';

const STARTUP_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

// How many server output lines to keep for error messages.
const LOG_TAIL_LINES = 200;

// The address (host:port) in a "listening on <addr>" log line; the value may be
// followed by the closing quote of msg="...".
const LISTENING_RE = /listening on ([^\s"]+)/;

/**
 * Spawns kinesisd (with any extra flags) and resolves once it reports its listening address.
 * @param {string[]} [extraArgs]
 * @returns {Promise<{endpoint: string, hostPort: string, pid: number, logTail: () => string, stop: () => Promise<void>}>}
 */
export async function startServer(extraArgs = []) {
  const bin = process.env.KINESISD_BIN;
  if (!bin) {
    throw new Error(
      'KINESISD_BIN is not set: build the server and point KINESISD_BIN at it, e.g.\n' +
        '  (cd /work/main && go build -o /tmp/kinesisd ./cmd/kinesisd)\n' +
        '  KINESISD_BIN=/tmp/kinesisd npm test',
    );
  }

  const child = spawn(bin, ['-listen', '127.0.0.1:0', '-in-memory', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const tail = [];
  const keep = (line) => {
    tail.push(line);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    if (process.env.KINESISD_LOG) process.stderr.write(`[kinesisd] ${line}\n`);
  };
  const logTail = () => tail.join('\n');

  // Both pipes are drained for the server's whole life, so it never blocks on a full pipe.
  createInterface({ input: child.stdout }).on('line', keep);
  const stderrLines = createInterface({ input: child.stderr });

  let exited = false;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });

  const hostPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(reject, new Error(`kinesisd did not log "listening on <host:port>" within ${STARTUP_TIMEOUT_MS} ms; output so far:\n${logTail()}`));
    }, STARTUP_TIMEOUT_MS);
    let done = false;
    function finish(fn, value) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn(value);
    }
    stderrLines.on('line', (line) => {
      keep(line);
      const m = LISTENING_RE.exec(line);
      if (m) finish(resolve, m[1]);
    });
    child.once('error', (err) => finish(reject, new Error(`cannot start ${bin}: ${err.message}`)));
    exitPromise.then(({ code, signal }) =>
      finish(reject, new Error(`kinesisd exited before listening (code ${code}, signal ${signal}); output:\n${logTail()}`)),
    );
  }).catch(async (err) => {
    await stopChild(child, exitPromise, () => exited);
    throw err;
  });

  return {
    endpoint: `http://${hostPort}`,
    hostPort,
    pid: child.pid,
    logTail,
    stop: () => stopChild(child, exitPromise, () => exited),
  };
}

// SIGTERM the child by pid, then SIGKILL if it has not exited after a grace period.
async function stopChild(child, exitPromise, hasExited) {
  if (hasExited() || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  let timer;
  const timedOut = await Promise.race([
    exitPromise.then(() => false),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut && !hasExited()) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exitPromise;
  }
}

/**
 * A Kinesis client with nothing but endpoint, region and static credentials:
 * the SDK's default request handler (NodeHttp2Handler) is used, so every call
 * goes over cleartext HTTP/2 with prior knowledge.
 */
export function newClient(endpoint) {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
  });
}

// The console's client: Kinesis API calls (AWS JSON 1.1 on POST /, signed with SigV4 like any SDK's)
// and the console endpoints under /console/api/ (signed GETs), with the access key, secret and region
// the page was given.

import { sha256, hmac, hex } from './sha256.js';

export const session = { accessKeyId: 'console', secretAccessKey: 'console', region: 'us-east-1', auth: false, account: '' };

/** APIError is a refusal from the server, with AWS's error code. */
export class APIError extends Error {
  constructor(code, message, status) {
    super(`${code}: ${message}`);
    this.code = code;
    this.status = status;
  }
}

function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// uriEncode is SigV4's encoding: RFC 3986 unreserved characters stay, everything else is %XX.
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** sign returns the headers that sign a request (SigV4, service kinesis) for this page's host. */
export function sign(method, path, query, headers, body) {
  const now = new Date();
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const all = { ...headers, host: location.host, 'x-amz-date': date };
  const names = Object.keys(all).map((k) => k.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const canonicalQuery = Object.keys(query).sort().map((k) => `${uriEncode(k)}=${uriEncode(query[k])}`).join('&');
  const canonical = [
    method, path.split('/').map(uriEncode).join('/'), canonicalQuery,
    names.map((n) => `${n}:${lower[n]}\n`).join(''), names.join(';'), hex(sha256(body)),
  ].join('\n');
  const scope = `${day}/${session.region}/kinesis/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, hex(sha256(canonical))].join('\n');
  let key = hmac('AWS4' + session.secretAccessKey, day);
  key = hmac(key, session.region);
  key = hmac(key, 'kinesis');
  key = hmac(key, 'aws4_request');
  const signature = hex(hmac(key, toSign));
  const out = { ...headers, 'X-Amz-Date': date };
  out.Authorization = `AWS4-HMAC-SHA256 Credential=${session.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return out;
}

/** call runs the Kinesis operation op with input and returns its output. */
export async function call(op, input = {}) {
  const body = JSON.stringify(input);
  const headers = sign('POST', '/', {}, {
    'Content-Type': 'application/x-amz-json-1.1',
    'X-Amz-Target': `Kinesis_20131202.${op}`,
  }, body);
  const resp = await fetch('/', { method: 'POST', headers, body });
  const text = await resp.text();
  const out = text ? JSON.parse(text) : {};
  if (!resp.ok) {
    const code = String(out.__type || resp.headers.get('X-Amzn-ErrorType') || 'Error').split('#').pop();
    throw new APIError(code, out.message || out.Message || resp.statusText, resp.status);
  }
  return out;
}

/** consoleGet fetches a console endpoint (signed), returning the Response; signal may abort it. */
export async function consoleGet(endpoint, query = {}, signal) {
  const path = `/console/api/${endpoint}`;
  const headers = sign('GET', path, query, {}, '');
  const qs = new URLSearchParams(query).toString();
  const resp = await fetch(path + (qs ? '?' + qs : ''), { headers, signal, cache: 'no-store' });
  if (!resp.ok) {
    let out = {};
    try { out = await resp.json(); } catch { /* not JSON */ }
    throw new APIError(out.__type || 'Error', out.message || resp.statusText, resp.status);
  }
  return resp;
}

/**
 * events reads a server-sent event stream from resp, calling onEvent(name, data) for each event
 * (data parsed as JSON). It resolves when the stream ends.
 */
export async function events(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

/** listAll calls a paginated List operation until its NextToken runs out, gathering key's items. */
export async function listAll(op, input, key) {
  const items = [];
  let out = await call(op, input);
  items.push(...(out[key] || []));
  while (out.NextToken) {
    out = await call(op, { NextToken: out.NextToken, ...(op === 'ListStreamConsumers' ? { StreamARN: input.StreamARN } : {}) });
    items.push(...(out[key] || []));
  }
  return items;
}

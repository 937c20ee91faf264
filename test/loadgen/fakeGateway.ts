import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

export interface ReceivedRequest {
  /** Milliseconds since the gateway started, when the request's body had arrived. */
  atMs: number;
  ids: string[];
  status: number;
}

export interface FakeGateway {
  url: string;
  requests: ReceivedRequest[];
  /** The most requests it held at once. */
  mostConcurrent: number;
  close(): Promise<void>;
}

type Policy = (index: number, ids: string[]) => FakeAnswer;

const acceptAll: Policy = (_index, ids) => ({ status: 202, body: { accepted: ids.length } });

/** A stand-in for the gateway's `POST /v1/events` that answers as `policy` says and records what it got. */
export async function startFakeGateway(policy: Policy = acceptAll): Promise<FakeGateway> {
  const startMs = performance.now();
  let concurrent = 0;
  const gateway: FakeGateway = { url: '', requests: [], mostConcurrent: 0, close: () => new Promise((closed) => { server.closeAllConnections(); server.close(() => closed()); }) };
  const server = http.createServer(async (request, response) => {
    concurrent += 1;
    gateway.mostConcurrent = Math.max(gateway.mostConcurrent, concurrent);
    let body = '';
    for await (const chunk of request) body += chunk;
    const ids = (JSON.parse(body) as { id: string }[]).map((event) => event.id);
    const answer = policy(gateway.requests.length, ids);
    gateway.requests.push({ atMs: performance.now() - startMs, ids, status: answer.status });
    if (answer.delayMs) await sleep(answer.delayMs);
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body));
    concurrent -= 1;
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gateway;
}

export function eventsAnswered(gateway: FakeGateway, status: number): string[] {
  return gateway.requests.filter((request) => request.status === status).flatMap((request) => request.ids);
}

// JSON over the services' HTTP APIs: the stages' admin API and the gateway's routes.
import type { IncomingMessage, ServerResponse } from 'node:http';

const maxBodyBytes = 4096;

/** The request's JSON body (at most 4 KiB), or the error to answer 400 with. */
export function readJson(request: IncomingMessage): Promise<unknown> {
  return readJsonStream(request, maxBodyBytes);
}

/** JSON of at most `maxBytes` from a byte stream (a request, or a reply's body), or the error saying why not. */
export async function readJsonStream(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) return new Error(`the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return new Error('the body is not valid JSON');
  }
}

export function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

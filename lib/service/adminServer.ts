import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { FaultSettingsError, type FaultSwitches } from '../faults.js';
import type { HopPressure } from '../telemetry/HopPressure.js';
import { readJson, reply } from './jsonHttp.js';

export interface AdminApi {
  pressure: HopPressure;
  faults: FaultSwitches;
  metrics: Registry;
}

/**
 * A hop's admin API, over HTTP beside its gRPC port: Prometheus metrics
 * (`/metrics`; `?format=json` for the gateway to merge), its pressure figures
 * (`/v1/pressure`) and its fault switches (`GET|PUT /v1/faults`).
 */
export function adminHandler(api: AdminApi): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    route(request, response, api).catch((error: unknown) => {
      if (!response.headersSent) reply(response, 500, { error: String(error) });
      else response.destroy();
    });
  };
}

async function route(request: IncomingMessage, response: ServerResponse, api: AdminApi): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://admin');
  const method = request.method ?? 'GET';
  switch (`${method} ${url.pathname}`) {
    case 'GET /metrics':
      if (url.searchParams.get('format') === 'json') return reply(response, 200, await api.metrics.getMetricsAsJSON());
      response.writeHead(200, { 'Content-Type': api.metrics.contentType });
      response.end(await api.metrics.metrics());
      return;
    case 'GET /v1/pressure':
      return reply(response, 200, api.pressure.snapshot());
    case 'GET /v1/faults':
      return reply(response, 200, { ...api.faults.settings, enabled: api.faults.enabled });
    case 'PUT /v1/faults': {
      const body = await readJson(request);
      if (body instanceof Error) return reply(response, 400, { error: body.message });
      try {
        return reply(response, 200, { ...api.faults.update(body), enabled: api.faults.enabled });
      } catch (error) {
        if (!(error instanceof FaultSettingsError)) throw error;
        return reply(response, api.faults.enabled ? 400 : 403, { error: error.message });
      }
    }
    case 'GET /healthz':
      return reply(response, 200, { status: 'ok' });
    default:
      return reply(response, 404, { error: `no route ${method} ${url.pathname}` });
  }
}

export async function listenAdmin(handler: (request: IncomingMessage, response: ServerResponse) => void, address: string): Promise<{ server: Server; address: string }> {
  const [, host, port] = /^(.*):(\d+)$/.exec(address)!;
  const server = createServer(handler);
  server.listen(Number(port), host!.replace(/^\[|\]$/g, ''));
  await once(server, 'listening');
  const bound = server.address();
  return { server, address: `${host}:${typeof bound === 'object' && bound ? bound.port : port}` };
}

// A container healthcheck that needs no curl or grpc_health_probe in the image:
//   node dist/tools/healthcheck.js grpc HOST:PORT    grpc.health.v1.Health/Check; exit 0 when SERVING
//   node dist/tools/healthcheck.js http URL          exit 0 on a 2xx answer
//   node dist/tools/healthcheck.js tcp HOST:PORT     exit 0 once a connection opens (a service without health)
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const timeoutMs = 3_000;

function checkGrpc(address: string): Promise<boolean> {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: { status: string | number }) => void): void;
  };
  return new Promise((resolve) => {
    client.check({ service: '' }, { deadline: Date.now() + timeoutMs }, (error, reply) => {
      client.close();
      if (error) console.error(`${address}: ${error.message}`);
      else console.error(`${address}: ${reply?.status}`);
      resolve(!error && (reply?.status === 'SERVING' || reply?.status === 1));
    });
  });
}

async function checkHttp(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch((error: unknown) => { console.error(`${url}: ${String(error)}`); return undefined; });
  return response !== undefined && response.ok;
}

function checkTcp(address: string): Promise<boolean> {
  const [, host, port] = /^(.*):(\d+)$/.exec(address) ?? [];
  return new Promise((resolve) => {
    const socket = connect({ host: host!, port: Number(port), timeout: timeoutMs });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', (error) => { console.error(`${address}: ${error.message}`); resolve(false); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

const checks = { grpc: checkGrpc, http: checkHttp, tcp: checkTcp };
const [kind, target] = process.argv.slice(2);
if (!kind || !(kind in checks) || !target) {
  console.error('usage: healthcheck grpc HOST:PORT | healthcheck http URL | healthcheck tcp HOST:PORT');
  process.exit(2);
}
process.exit((await checks[kind as keyof typeof checks](target)) ? 0 : 1);

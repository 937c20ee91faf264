import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Breaker } from '../breaker.js';
import { packageDefinition } from '../contract/loadContract.js';

const flowServiceName = 'mesh.flow.v1.Flow';

/**
 * A gRPC service's health (grpc.health.v1.Health) and server reflection. It
 * reports NOT_SERVING while any of its dependencies' breakers is not closed,
 * or once it drains (stopping): what a readiness probe should see. Liveness is
 * another matter (the admin API's /healthz): a process that holds because its
 * database is down is alive, and restarting it would only add a restart storm.
 */
export class ServiceHealth {
  readonly #health = new HealthImplementation({ '': 'SERVING', [flowServiceName]: 'SERVING' });
  readonly #breakers: Breaker[] = [];
  #draining = false;

  watch(breaker: Breaker): void {
    this.#breakers.push(breaker);
    breaker.onStateChange(() => this.#update());
  }

  addTo(server: grpc.Server): void {
    this.#health.addToServer(server);
    new ReflectionService(packageDefinition).addToServer(server);
  }

  drain(): void {
    this.#draining = true;
    this.#update();
  }

  get serving(): boolean {
    return !this.#draining && this.#breakers.every((breaker) => breaker.state === 'closed');
  }

  #update(): void {
    const status = this.serving ? 'SERVING' : 'NOT_SERVING';
    this.#health.setStatus('', status);
    this.#health.setStatus(flowServiceName, status);
  }
}

import { status } from '@grpc/grpc-js';

/** The largest grant, and the largest outstanding credit, a link may carry (rule 1). */
export const MAX_CREDIT = 2 ** 31 - 1;

/** A breach of the wire contract, carrying the gRPC status proto/CONTRACT.md assigns to it. */
export class ProtocolError extends Error {
  constructor(readonly code: status, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }

  toStatus(): { code: status; details: string } {
    return { code: this.code, details: this.message };
  }
}

export const invalidArgument = (message: string) => new ProtocolError(status.INVALID_ARGUMENT, message);
export const resourceExhausted = (message: string) => new ProtocolError(status.RESOURCE_EXHAUSTED, message);
export const failedPrecondition = (message: string) => new ProtocolError(status.FAILED_PRECONDITION, message);

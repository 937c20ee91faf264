import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * A sender pings only while its link's call is open, and no more often than a
 * server with gRPC's default enforcement accepts (5 minutes between pings;
 * faster ones earn a GOAWAY "too_many_pings" and reset the link): the other
 * end may be another language's gRPC stack.
 */
const senderKeepalive = {
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
};

// A receiver finds an upstream that vanished without closing its socket (a killed
// container, a cut network) in seconds: clients accept pings at any rate.
const receiverKeepalive = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
};

export function clientChannelOptions(): ChannelOptions {
  return { ...senderKeepalive, 'grpc.max_receive_message_length': 64 * 1024 };
}

/** A receiving server: frames above `maxBatchBytes` are refused before they are buffered (rule 9). */
export function serverChannelOptions(maxBatchBytes: number): ChannelOptions {
  return { ...receiverKeepalive, 'grpc.max_receive_message_length': maxBatchBytes };
}

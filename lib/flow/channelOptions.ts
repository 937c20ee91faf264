import type { ChannelOptions } from '@grpc/grpc-js';

// Keepalive pings find a peer that vanished without closing its socket (a
// killed container, a cut network) in seconds rather than at the next write.
const keepalive = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
};

export function clientChannelOptions(): ChannelOptions {
  return { ...keepalive, 'grpc.max_receive_message_length': 64 * 1024 };
}

/** A receiving server: frames above `maxBatchBytes` are refused before they are buffered (rule 9). */
export function serverChannelOptions(maxBatchBytes: number): ChannelOptions {
  return {
    ...keepalive,
    'grpc.max_receive_message_length': maxBatchBytes,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

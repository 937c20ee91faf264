import { ChildHandle, type ChildExit } from './ChildHandle.js';
import type { LinkMode, ReceiverReport } from './messages.js';

export interface LinkPair {
  receiver: ChildHandle;
  sender: ChildHandle;
  /** Settles when either process dies before stop(). */
  crashed: Promise<ChildExit>;
  stop(): void;
}

/** Starts a receiver process, then a sender process that dials it and starts offering at once. */
export async function startLinkPair(mode: LinkMode, capacity: number): Promise<LinkPair> {
  const receiver = new ChildHandle('receiver', './receiverProcess.js', [mode, String(capacity)]);
  try {
    const listening = await receiver.nextMessage<ReceiverReport>();
    if (listening.type !== 'listening') throw new Error(`receiver said ${listening.type} before listening`);
    const sender = new ChildHandle('sender', './senderProcess.js', [mode, `127.0.0.1:${listening.port}`]);
    return {
      receiver,
      sender,
      crashed: Promise.race([receiver.exited, sender.exited]),
      stop: () => {
        sender.kill();
        receiver.kill();
      },
    };
  } catch (error) {
    receiver.kill();
    throw error;
  }
}

/** One party waiting in a line that the line's owner settles (a grant, an open connection) or ends. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** Joins `line` until its owner settles this waiter, or `signal` aborts (which takes it out of the line again). */
export function waitInLine<T>(line: Array<Waiter<T>>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const aborted = () => {
      const at = line.indexOf(waiter);
      if (at >= 0) line.splice(at, 1);
      reject(signal!.reason);
    };
    const waiter: Waiter<T> = {
      resolve: (value) => { signal?.removeEventListener('abort', aborted); resolve(value); },
      reject: (error) => { signal?.removeEventListener('abort', aborted); reject(error); },
    };
    signal?.addEventListener('abort', aborted, { once: true });
    line.push(waiter);
  });
}

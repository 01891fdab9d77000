/**
 * A one-at-a-time queue: the functions given to it run one after another, in
 * call order, each starting once the one before it has settled (a failure
 * does not stop the ones after it; its caller gets the error).
 *
 * Its own small module because two layers that may not reach into each other
 * both need it: the runtime (actors/replica, which sees storage only through
 * its ports) keeps its stages and locks with it, and storage (which imports
 * nothing of the runtime) keeps its two writers with it. It imports nothing.
 */
export type Serial = <T>(run: () => Promise<T>) => Promise<T>;

export function createSerial(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(run: () => Promise<T>): Promise<T> => {
    const next = tail.then(run, run);
    tail = next.catch(() => undefined);
    return next;
  };
}

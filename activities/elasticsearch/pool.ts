/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, in order of `items`. `fn` handles its own
 * errors. Once `stop()` answers true no new item starts; the ones in flight finish. Returns the items started.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<number> {
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  const width = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: width }, runner));
  return next;
}

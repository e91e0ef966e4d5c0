/**
 * Bounded parallelism for I/O: runs `fn` over `items` with at most `limit` in flight. The first
 * error stops new work from starting and is rethrown once the calls in flight have settled.
 * (A dozen lines, so no dependency: the scheduler's pool is for stages, not for transfers.)
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.e;
}

/** Running a statement or a transaction again when PostgreSQL asks for it. */

/**
 * Failures that leave nothing stored and go away when the statement runs again:
 * deadlocks and serialization failures. Concurrent batches lock subject and rollup
 * rows in a fixed order, but an insert trigger and an update trigger of one
 * statement can still meet another's in opposite orders.
 */
const RETRYABLE = new Set(['40P01', '40001']);

export async function retryWhole<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || code === undefined || !RETRYABLE.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

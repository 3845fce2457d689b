/**
 * A Kysely dialect for PGlite whose transactions are exclusive.
 *
 * PGlite is one backend shared by every caller in the process. A naive driver
 * sends BEGIN on that shared session and lets other requests' queries run inside
 * someone else's transaction. Here a Kysely transaction runs inside
 * `pglite.transaction()`, which holds PGlite's transaction mutex: queries from
 * other callers wait until it commits or rolls back, as they would on a real
 * PostgreSQL connection pool.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';

type Runner = Pick<Transaction, 'query' | 'exec'>;

class PGliteConnection implements DatabaseConnection {
  #tx: Transaction | undefined;
  #finish: ((commit: boolean) => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(private readonly pglite: PGlite) {}

  async begin(): Promise<void> {
    const started = new Promise<Transaction>((resolve, reject) => {
      this.#done = this.pglite.transaction(async (tx) => {
        resolve(tx);
        const commit = await new Promise<boolean>((release) => {
          this.#finish = release;
        });
        if (!commit) await tx.rollback();
      });
      this.#done.catch(reject);
    });
    this.#tx = await started;
  }

  async end(commit: boolean): Promise<void> {
    const done = this.#done;
    this.#finish?.(commit);
    this.#tx = undefined;
    this.#finish = undefined;
    this.#done = undefined;
    await done;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const runner: Runner = this.#tx ?? this.pglite;
    if (compiled.parameters.length === 0) {
      // Parameterless SQL (migrations, DDL) may hold several statements, which only
      // the simple query protocol accepts; its last result is the answer.
      const results = await runner.exec(compiled.sql);
      const last = results.at(-1);
      return {
        rows: (last?.rows ?? []) as R[],
        numAffectedRows: last?.affectedRows === undefined ? undefined : BigInt(last.affectedRows),
      };
    }
    const result = await runner.query<R>(compiled.sql, [...compiled.parameters]);
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }

  // biome-ignore lint/correctness/useYield: PGlite has no cursors; Kysely only calls this for .stream()
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }
}

class PGliteDriver implements Driver {
  constructor(private readonly pglite: PGlite) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PGliteConnection(this.pglite);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).end(true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).end(false);
  }

  async releaseConnection(): Promise<void> {}

  /** The PGlite instance belongs to whoever opened it (db/database.ts closes it). */
  async destroy(): Promise<void> {}
}

export function pgliteDialect(pglite: PGlite): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PGliteDriver(pglite),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

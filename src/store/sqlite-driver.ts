import type { Configuration } from '@mikro-orm/core';
import { AbstractSqlDriver, SqliteConnection, SqliteKnexDialect, SqlitePlatform } from '@mikro-orm/sqlite';

interface KnexTransaction {
  begin(connection: unknown): Promise<unknown>;
  trxClient: { query(connection: unknown, sql: string): Promise<unknown> };
}

/**
 * Begins every transaction with `BEGIN IMMEDIATE`, which takes SQLite's write
 * lock up front (waiting up to busy_timeout for it). knex begins DEFERRED: a
 * transaction that reads, then writes would hold only a read snapshot until its
 * first write, and a check it made (the folder is empty, no alias targets the
 * node) could rest on rows another writer has changed meanwhile — in WAL mode
 * the write then fails with SQLITE_BUSY instead of waiting. Taking the write
 * lock first makes the checks and the writes of one transaction serial with
 * every other writer, in this process or another sharing the file.
 */
class ImmediateTransactionDialect extends SqliteKnexDialect {
  transaction(...args: unknown[]): unknown {
    const trx = (SqliteKnexDialect.prototype as unknown as { transaction: (...a: unknown[]) => KnexTransaction }).transaction.apply(this, args);
    // Only an outermost transaction calls begin (nested ones take a savepoint); knex calls it
    // after it has acquired a connection, later than this constructor returns. The statement
    // goes straight to the transaction's client so that a lock not granted (SQLITE_BUSY) rejects
    // the transaction itself: knex's own `query` would note the failure and go on, and every
    // later statement would then fail with "Transaction query already complete".
    trx.begin = (connection: unknown) => trx.trxClient.query(connection, 'BEGIN IMMEDIATE;');
    return trx;
  }
}

class ImmediateTransactionConnection extends SqliteConnection {
  override createKnex(): void {
    this.client = this.createKnexClient(ImmediateTransactionDialect as never);
    this.connected = true;
  }
}

/** MikroORM's SQLite driver whose transactions take the write lock when they begin. */
export class BerthSqliteDriver extends AbstractSqlDriver<ImmediateTransactionConnection, SqlitePlatform> {
  constructor(config: Configuration) {
    super(config, new SqlitePlatform(), ImmediateTransactionConnection, ['knex', 'sqlite3']);
  }
}

import { DeadlockException, LockWaitTimeoutException, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { ConflictError, UnavailableError, type ResourceKind } from '../domain/errors';
import { AccessBindingRepository } from './access-binding.repository';
import { AliasRepository } from './alias.repository';
import { ApiKeyRepository } from './api-key.repository';
import { AuditRecordRepository } from './audit-record.repository';
import { CheckpointRepository } from './checkpoint.repository';
import { FolderRepository } from './folder.repository';
import { NodeRepository } from './node.repository';
import { OperationRepository } from './operation.repository';
import { SecretRepository } from './secret.repository';
import { PrincipalRepository } from './principal.repository';
import { translateWrite } from './translate';

/**
 * The repositories of one unit of work (one forked EntityManager): what they
 * add or change is written together by `flush`, and inside `transaction` the
 * rows they lock stay locked until it commits.
 *
 * Lock order, the same in every transaction so that none waits on another in
 * a cycle: folder → checkpoint → secret (in id order) → node (in id order) →
 * alias → operation.
 */
export class Store {
  readonly folders: FolderRepository;
  readonly nodes: NodeRepository;
  readonly aliases: AliasRepository;
  readonly checkpoints: CheckpointRepository;
  readonly operations: OperationRepository;
  readonly secrets: SecretRepository;
  readonly principals: PrincipalRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly accessBindings: AccessBindingRepository;
  readonly auditRecords: AuditRecordRepository;

  constructor(private readonly em: EntityManager) {
    this.folders = new FolderRepository(em);
    this.nodes = new NodeRepository(em);
    this.aliases = new AliasRepository(em);
    this.checkpoints = new CheckpointRepository(em);
    this.operations = new OperationRepository(em);
    this.secrets = new SecretRepository(em);
    this.principals = new PrincipalRepository(em);
    this.apiKeys = new ApiKeyRepository(em);
    this.accessBindings = new AccessBindingRepository(em);
    this.auditRecords = new AuditRecordRepository(em);
  }

  /**
   * Writes what the unit of work holds. A unique violation becomes
   * AlreadyExistsError and a lost optimistic version check ConflictError,
   * both naming `kind` and `ids`.
   */
  async flush(kind: ResourceKind, ids: { id: string; name?: string; scope?: string }): Promise<void> {
    await translateWrite(kind, ids, () => this.em.flush());
  }
}

/** Repositories on a fresh EntityManager, for reads and for writes that check no other row. */
export function openStore(orm: MikroORM): Store {
  return new Store(orm.em.fork({ clear: true }));
}

/**
 * Runs `work` in one transaction whose reads and writes are one unit: the
 * rows it locks (PostgreSQL `FOR SHARE`/`FOR UPDATE`; SQLite takes its write
 * lock when the transaction begins) stay locked until it commits, so checks
 * that read other rows (a folder is empty, no alias targets a node, a quota)
 * still hold when the write lands. A deadlock or serialization failure is
 * retried once on a fresh unit of work, then answered with ConflictError
 * (ABORTED) for `subject`; a lock not granted within the database's wait
 * (SQLite's busy_timeout) is UnavailableError. `work` must have no effect
 * outside the database.
 */
export async function transaction<T>(orm: MikroORM, subject: { kind: ResourceKind; id: string }, work: (store: Store) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await orm.em.fork({ clear: true }).transactional((em) => work(new Store(em)));
    } catch (err) {
      if (err instanceof LockWaitTimeoutException) throw new UnavailableError('the database is busy with other writes; retry', { cause: err });
      if (!(err instanceof DeadlockException)) throw err;
      if (attempt >= 2) throw new ConflictError(subject.kind, subject.id, 'was changed by concurrent requests', { cause: err });
    }
  }
}

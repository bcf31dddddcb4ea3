import { UniqueConstraintViolationException, type EntityManager, type MikroORM } from '@mikro-orm/core';
import type { UsageRun } from '../domain/usage';
import { UsageIntervalEntity } from './entities/usage-interval.entity';
import { newId } from './ids';

function toRun(e: UsageIntervalEntity): UsageRun {
  return {
    id: e.id,
    folderId: e.folderId,
    nodeId: e.nodeId,
    instanceId: e.instanceId,
    runtimeId: e.runtimeId,
    configurationName: e.configurationName,
    units: e.units,
    startTime: new Date(e.startTime),
    endTime: e.endTime === null ? null : new Date(e.endTime),
    lastSeenTime: new Date(e.lastSeenTime),
  };
}

/**
 * The runs usage is computed from. A run is keyed by its instance and its
 * container or process, so whoever sees it first records it, once: a
 * restarted Berth (or a new leader) finds the runs it must go on with, and
 * never records one twice. Written with native statements only, like the
 * supervisor's rows.
 */
export class UsageRepository {
  constructor(private readonly orm: MikroORM) {}

  private em(): EntityManager {
    return this.orm.em.fork({ clear: true });
  }

  /** Runs not ended. */
  async open(): Promise<UsageRun[]> {
    const rows = await this.em().find(UsageIntervalEntity, { endTime: null }, { disableIdentityMap: true });
    return rows.map(toRun);
  }

  /** Records a run; false when it is recorded already (seen by another pass, or ended). */
  async begin(run: Omit<UsageRun, 'id'>): Promise<boolean> {
    try {
      await this.em().insert(UsageIntervalEntity, { id: newId('us', run.startTime.getTime()), ...run });
      return true;
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) return false;
      throw err;
    }
  }

  /** These runs were seen running at `at`. */
  async seen(ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.em().nativeUpdate(UsageIntervalEntity, { id: { $in: ids }, endTime: null }, { lastSeenTime: at });
  }

  /** Ends the run of this instance's container or process at `at`; false when none was going on. */
  async end(instanceId: string, runtimeId: string, at: Date): Promise<boolean> {
    const changed = await this.em().nativeUpdate(UsageIntervalEntity, { instanceId, runtimeId, endTime: null }, { endTime: at, lastSeenTime: at });
    return changed > 0;
  }

  /** Ends whatever run of this instance is going on at `at` (it was removed). */
  async endInstance(instanceId: string, at: Date): Promise<void> {
    await this.em().nativeUpdate(UsageIntervalEntity, { instanceId, endTime: null }, { endTime: at, lastSeenTime: at });
  }

  /** Ends a run by id, at the last time it was seen running (it ended unseen). */
  async endAtLastSeen(run: UsageRun): Promise<void> {
    await this.em().nativeUpdate(UsageIntervalEntity, { id: run.id, endTime: null }, { endTime: run.lastSeenTime });
  }

  /** Whether this instance's container or process has a run recorded (going on or ended). */
  async known(instanceId: string, runtimeId: string): Promise<boolean> {
    return (await this.em().count(UsageIntervalEntity, { instanceId, runtimeId })) > 0;
  }

  /** A folder's runs (or one node's) that overlap [start, end). */
  async overlapping(folderId: string, nodeId: string, start: Date, end: Date): Promise<UsageRun[]> {
    const rows = await this.em().find(
      UsageIntervalEntity,
      {
        folderId,
        ...(nodeId ? { nodeId } : {}),
        startTime: { $lt: end },
        $or: [{ endTime: null }, { endTime: { $gt: start } }],
      },
      { orderBy: { nodeId: 'asc', startTime: 'asc' }, disableIdentityMap: true },
    );
    return rows.map(toRun);
  }
}

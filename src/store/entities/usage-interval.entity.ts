import { DateTimeType, EntitySchema } from '@mikro-orm/core';

/**
 * One run of one instance, as usage counts it: from the start of its
 * container or process to its end (null while it runs), with the units an
 * instance-second of it counts, fixed when the run was first seen. A restart
 * of the instance is a new run (a new container or process).
 */
export class UsageIntervalEntity {
  id!: string;
  folderId!: string;
  nodeId!: string;
  instanceId!: string;
  /** The container id or pid of this run. */
  runtimeId!: string;
  /** The named configuration the units came from; empty for a raw one. */
  configurationName!: string;
  /** Units per instance-second. */
  units!: number;
  startTime!: Date;
  /** Null while the run goes on. */
  endTime!: Date | null;
  /** When the run was last seen running: its end when it ended unseen (while Berth was down). */
  lastSeenTime!: Date;
}

export const UsageIntervalSchema = new EntitySchema<UsageIntervalEntity>({
  class: UsageIntervalEntity,
  tableName: 'usage_intervals',
  uniques: [{ name: 'usage_intervals_run_unique', properties: ['instanceId', 'runtimeId'] }],
  indexes: [
    { name: 'usage_intervals_folder_index', properties: ['folderId', 'startTime'] },
    { name: 'usage_intervals_open_index', properties: ['endTime'] },
  ],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64 },
    nodeId: { type: 'string', length: 64 },
    instanceId: { type: 'string', length: 64 },
    runtimeId: { type: 'string', length: 128 },
    configurationName: { type: 'string', length: 63 },
    units: { type: 'double' },
    startTime: { type: DateTimeType },
    endTime: { type: DateTimeType, nullable: true },
    lastSeenTime: { type: DateTimeType },
  },
});

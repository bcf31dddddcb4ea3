import { RAW_UNITS_FORMULA, unitsOf, type Configuration, type ConfigurationCatalog } from '../domain/configuration';
import { ValidationError } from '../domain/errors';
import { MAX_HOURLY_RANGE_MS, usageBuckets, type UsageBucket, type UsageGranularity } from '../domain/usage';
import { Violations, checkId } from '../domain/validation';
import type { Logger } from '../logger';
import type { Runtime } from '../runtime/runtime';
import { UsageRepository } from '../store/usage.repository';
import { DEFAULT_USAGE_METER_OPTIONS, UsageMeter, type UsageMeterOptions } from '../supervisor/usage-meter';
import { store, type ControlContext } from './context';
import type { Folders } from './folders';

export interface UsageQuery {
  folderId: string;
  nodeId: string;
  startTime: Date | undefined;
  endTime: Date | undefined;
  granularity: UsageGranularity | undefined;
}

export interface UsageReport {
  records: UsageBucket[];
  totalInstanceSeconds: number;
  totalUnits: number;
}

/**
 * Named configurations and usage: the catalog nodes name their resources
 * from, the meter that records every instance's runs (on the leader), and
 * the folder's usage computed from those runs.
 */
export class Usage {
  private readonly repo: UsageRepository;
  private readonly meter: UsageMeter;

  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    readonly catalog: ConfigurationCatalog,
    runtime: Runtime,
    /** Whether this process supervises (and so records usage) now. */
    leads: () => boolean,
    log: Logger,
    options: UsageMeterOptions = DEFAULT_USAGE_METER_OPTIONS,
  ) {
    this.repo = new UsageRepository(ctx.orm);
    this.meter = new UsageMeter(this.repo, runtime, (nodeId) => this.pricing(nodeId), leads, log, options, ctx.now);
  }

  start(): void {
    this.meter.start();
  }

  /** The runtime for the supervisor: the instances it starts and removes are metered at once (see UsageMeter.metered). */
  metered(runtime: Runtime): Runtime {
    return this.meter.metered(runtime);
  }

  stop(): Promise<void> {
    return this.meter.stop();
  }

  /** What an instance of the node counts from now on: its named configuration's units, or the raw formula's. */
  private async pricing(nodeId: string): Promise<{ folderId: string; configurationName: string; units: number } | undefined> {
    const node = await store(this.ctx).nodes.get(nodeId);
    if (!node) return undefined;
    const configuration = node.spec.configuration;
    return { folderId: node.folderId, configurationName: configuration.name, units: unitsOf(configuration, this.catalog) };
  }

  configurations(): { configurations: Configuration[]; rawAllowed: boolean; rawUnits: string } {
    return { configurations: this.catalog.configurations.map((c) => ({ ...c })), rawAllowed: this.catalog.rawAllowed, rawUnits: RAW_UNITS_FORMULA };
  }

  /** A folder's usage in [start, end) per node and bucket; INVALID_ARGUMENT naming the field for a bad range. */
  async get(q: UsageQuery): Promise<UsageReport> {
    const v = new Violations();
    checkId(v, 'folder_id', q.folderId);
    if (q.nodeId !== '') checkId(v, 'node_id', q.nodeId);
    if (!q.startTime) v.add('start_time', 'is required');
    else if (!Number.isFinite(q.startTime.getTime())) v.add('start_time', 'is not a valid time');
    if (!q.endTime) v.add('end_time', 'is required');
    else if (!Number.isFinite(q.endTime.getTime())) v.add('end_time', 'is not a valid time');
    if (!q.granularity) v.add('granularity', 'is required: USAGE_GRANULARITY_HOUR, USAGE_GRANULARITY_DAY or USAGE_GRANULARITY_TOTAL');
    v.throwIfAny();
    const start = q.startTime!;
    const end = q.endTime!;
    if (end.getTime() <= start.getTime()) throw ValidationError.of('end_time', `${end.toISOString()} is not after start_time ${start.toISOString()}`);
    if (q.granularity === 'hour' && end.getTime() - start.getTime() > MAX_HOURLY_RANGE_MS)
      throw ValidationError.of('end_time', 'an hourly report covers at most 366 days; ask for USAGE_GRANULARITY_DAY or a shorter range');
    await this.folders.mustExist(q.folderId, 'folder_id');
    await this.meter.refresh();
    const runs = await this.repo.overlapping(q.folderId, q.nodeId, start, end);
    const records = usageBuckets(runs, start, end, q.granularity!, this.ctx.now());
    return {
      records,
      totalInstanceSeconds: records.reduce((sum, r) => sum + r.instanceSeconds, 0),
      totalUnits: records.reduce((sum, r) => sum + r.units, 0),
    };
  }
}

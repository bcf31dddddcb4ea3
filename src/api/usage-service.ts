import { UsageGranularity, type UsageServiceService } from '../../gen/berth/v1/usage_service';
import type { Usage } from '../control/usage';
import type { UsageGranularity as Granularity } from '../domain/usage';
import type { ServiceHandlers } from './adapter';
import { enumFrom } from './common.mapper';

const GRANULARITIES: Partial<Record<number, Granularity>> = {
  [UsageGranularity.USAGE_GRANULARITY_HOUR]: 'hour',
  [UsageGranularity.USAGE_GRANULARITY_DAY]: 'day',
  [UsageGranularity.USAGE_GRANULARITY_TOTAL]: 'total',
};

export function usageService(usage: Usage): ServiceHandlers<typeof UsageServiceService> {
  return {
    async listConfigurations() {
      return usage.configurations();
    },
    async getUsage(req) {
      const report = await usage.get({
        folderId: req.folderId,
        nodeId: req.nodeId,
        startTime: req.startTime,
        endTime: req.endTime,
        granularity: enumFrom(req.granularity, GRANULARITIES, 'granularity', false),
      });
      return {
        records: report.records.map((r) => ({ ...r })),
        totalInstanceSeconds: report.totalInstanceSeconds,
        totalUnits: report.totalUnits,
      };
    },
  };
}

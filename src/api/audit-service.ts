import { AuditServiceService } from '../../gen/berth/v1/audit_service';
import type { AuditTrail } from '../control/audit-trail';
import type { ServiceHandlers } from './adapter';

export function auditService(trail: AuditTrail): ServiceHandlers<typeof AuditServiceService> {
  return {
    async listAuditRecords(req) {
      const page = await trail.list(req.folderId, req);
      return { auditRecords: page.items, nextPageToken: page.nextPageToken };
    },
  };
}

/** One control-plane write (or attempt at one) by an authenticated caller. */
export interface AuditRecord {
  id: string;
  /** Empty for server-wide writes (principals, keys, folders). */
  folderId: string;
  principalId: string;
  principalName: string;
  keyId: string;
  /** `berth.v1.NodeService/CreateNode` */
  method: string;
  resourceId: string;
  /** The gRPC code name of the answer. */
  result: string;
  message: string;
  requestId: string;
  time: Date;
}

export type AuditEntry = Omit<AuditRecord, 'id'>;

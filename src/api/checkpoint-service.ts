import { status as Code } from '@grpc/grpc-js';
import { CheckpointServiceService } from '../../gen/berth/v1/checkpoint_service';
import type { Checkpoints } from '../control/checkpoints';
import type { ServiceHandlers } from './adapter';
import { checkpointToProto } from './checkpoint.mapper';
import { StatusError } from './status';

export function checkpointService(checkpoints: Checkpoints): ServiceHandlers<typeof CheckpointServiceService> {
  return {
    async createCheckpoint() {
      throw new StatusError(Code.UNIMPLEMENTED, 'checkpoint capture is not available in this version of Berth');
    },
    async getCheckpoint(req) {
      return checkpointToProto(await checkpoints.get(req.checkpointId));
    },
    async listCheckpoints(req) {
      const page = await checkpoints.list(req.folderId, req, req.filter);
      return { checkpoints: page.items.map(checkpointToProto), nextPageToken: page.nextPageToken };
    },
    async deleteCheckpoint(req) {
      await checkpoints.delete(req.checkpointId);
      return {};
    },
  };
}

import { CheckpointServiceService } from '../../gen/berth/v1/checkpoint_service';
import type { Checkpoints } from '../control/checkpoints';
import type { ServiceHandlers } from './adapter';
import { checkpointToProto } from './checkpoint.mapper';
import { required } from './common.mapper';
import { codeCellsOf } from '../checkpoint/notebook';
import type { Nodes } from '../control/nodes';
import { validateCellSources, validateNotebookSize } from '../domain/checkpoint';
import { ValidationError } from '../domain/errors';
import { operationView } from './operation-view';

export function checkpointService(checkpoints: Checkpoints, nodes: Nodes): ServiceHandlers<typeof CheckpointServiceService> {
  return {
    async createCheckpoint(req) {
      let cells: string[];
      if (req.notebook !== undefined && req.cells !== undefined) throw ValidationError.of('source', 'give notebook or cells, not both');
      if (req.notebook !== undefined) {
        validateNotebookSize(req.notebook);
        cells = codeCellsOf(req.notebook);
        validateCellSources(cells, 'notebook');
      } else if (req.cells !== undefined) {
        cells = req.cells.cells;
        validateCellSources(cells);
      }
      else throw ValidationError.of('source', 'give the notebook (.ipynb JSON) or its cells');
      const op = await checkpoints.create({
        folderId: required(req.folderId, 'folder_id'),
        name: req.name,
        description: req.description,
        cells,
        servedCellIndex: req.servedCellIndex,
        environmentImage: req.environmentImage,
      });
      return operationView(op, nodes, checkpoints);
    },
    async getCheckpoint(req) {
      return checkpointToProto(await checkpoints.get(required(req.checkpointId, 'checkpoint_id')));
    },
    async listCheckpoints(req) {
      const page = await checkpoints.list(required(req.folderId, 'folder_id'), req, req.filter);
      return { checkpoints: page.items.map(checkpointToProto), nextPageToken: page.nextPageToken };
    },
    async deleteCheckpoint(req) {
      await checkpoints.delete(required(req.checkpointId, 'checkpoint_id'));
      return {};
    },
  };
}

import type { CaptureSandbox } from '../checkpoint/capture-sandbox';
import type { Checkpoint } from '../domain/checkpoint';
import { FailedPreconditionError } from '../domain/errors';
import { checkpointImageOf, restoreMismatch } from '../domain/environment';

/**
 * Whether a checkpoint node's environment can restore its checkpoint: the
 * environment (the node's image, else the checkpoint's, under docker; Berth's
 * --python under the process runtime) is probed for its Python and the
 * packages the checkpoint needs, and compared (the pure rule is in
 * `domain/environment.ts`).
 */
export class Environments {
  constructor(
    private readonly sandbox: CaptureSandbox,
    private readonly systemImage: string,
  ) {}

  /** FAILED_PRECONDITION naming both sides when `environmentImage` (empty: the checkpoint's) cannot restore the checkpoint. */
  async checkRestorable(checkpoint: Checkpoint, environmentImage: string, node?: string): Promise<void> {
    if (checkpoint.state !== 'ready') return;
    const image = checkpointImageOf(environmentImage, checkpoint, this.systemImage);
    // The system image, removed since the capture, is built again for the node's instances
    // (minutes): the node is not held up for it, and Berth's standard environment is taken as it is.
    if (image === this.systemImage && !(await this.sandbox.isPresent(image))) return;
    const facts = await this.sandbox.probe(image, Object.keys(checkpoint.moduleVersions));
    const mismatch = restoreMismatch(checkpoint, facts);
    if (mismatch) throw new FailedPreconditionError(mismatch, node ? `nodes/${node}` : `checkpoints/${checkpoint.id}`, 'ENVIRONMENT_MISMATCH');
  }
}

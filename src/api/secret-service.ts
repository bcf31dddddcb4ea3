import { SecretServiceService } from '../../gen/berth/v1/secret_service';
import type { Secrets } from '../control/secrets';
import { ValidationError } from '../domain/errors';
import type { ServiceHandlers } from './adapter';
import { required } from './common.mapper';
import { applyFieldMask } from './field-mask';
import { secretEntriesFromProto, secretInputFromProto, secretToProto } from './secret.mapper';

export function secretService(secrets: Secrets): ServiceHandlers<typeof SecretServiceService> {
  return {
    async createSecret(req) {
      const input = { folderId: required(req.folderId, 'folder_id'), name: req.name, description: req.description, labels: req.labels };
      return secretToProto(await secrets.create(input, secretEntriesFromProto(req.entries)));
    },
    async getSecret(req) {
      return secretToProto(await secrets.get(required(req.secretId, 'secret_id')));
    },
    async listSecrets(req) {
      const page = await secrets.list(required(req.folderId, 'folder_id'), req, req.filter);
      return { secrets: page.items.map(secretToProto), nextPageToken: page.nextPageToken };
    },
    async updateSecret(req) {
      const patch = req.secret;
      if (!patch) throw ValidationError.of('secret', 'is required');
      const id = required(patch.id, 'secret.id');
      const updated = await secrets.update(
        id,
        (current) => {
          const currentProto = secretToProto({ ...current, id, keys: [], currentVersion: 0, createTime: new Date(0), updateTime: new Date(0), version: 0 });
          return secretInputFromProto(applyFieldMask('berth.v1.Secret', currentProto, patch, req.updateMask ?? []));
        },
        patch.etag || undefined,
      );
      return secretToProto(updated);
    },
    async addSecretVersion(req) {
      return secretToProto(await secrets.addVersion(required(req.secretId, 'secret_id'), secretEntriesFromProto(req.entries), req.etag || undefined));
    },
    async deleteSecret(req) {
      await secrets.delete(required(req.secretId, 'secret_id'), req.etag || undefined);
      return {};
    },
  };
}

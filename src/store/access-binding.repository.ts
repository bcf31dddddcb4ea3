import type { EntityManager } from '@mikro-orm/core';
import type { AccessBinding, Role } from '../domain/access';
import { AccessBindingEntity } from './entities/principal.entity';
import { translateWrite } from './translate';

function toBinding(e: AccessBindingEntity): AccessBinding {
  return { folderId: e.folderId, principalId: e.principalId, role: e.role as Role };
}

/** Who holds which role in which folder: one row per (folder, principal). */
export class AccessBindingRepository {
  constructor(private readonly em: EntityManager) {}

  async ofFolder(folderId: string): Promise<AccessBinding[]> {
    return (await this.em.find(AccessBindingEntity, { folderId }, { orderBy: { principalId: 'asc' } })).map(toBinding);
  }

  async ofPrincipal(principalId: string): Promise<AccessBinding[]> {
    return (await this.em.find(AccessBindingEntity, { principalId })).map(toBinding);
  }

  /** Sets the principal's role in the folder, replacing the one it had there. */
  async put(binding: AccessBinding, now: Date): Promise<void> {
    await translateWrite('folder', { id: binding.folderId }, async () => {
      await this.em.nativeDelete(AccessBindingEntity, { folderId: binding.folderId, principalId: binding.principalId });
      await this.em.insert(AccessBindingEntity, { ...binding, createTime: now });
    });
  }

  /** Removes the binding; false when there was none with that role. */
  async remove(binding: AccessBinding): Promise<boolean> {
    return (await this.em.nativeDelete(AccessBindingEntity, { ...binding })) > 0;
  }

  async removeFolder(folderId: string): Promise<void> {
    await this.em.nativeDelete(AccessBindingEntity, { folderId });
  }
}

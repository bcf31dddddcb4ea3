import type { EntityManager } from '@mikro-orm/core';
import type { Principal, PrincipalInput, PrincipalKind } from '../domain/access';
import type { Page, PageRequest } from '../domain/listing';
import { AccessBindingEntity, ApiKeyEntity, PrincipalEntity } from './entities/principal.entity';
import { listPage } from './paging';
import { translateWrite } from './translate';

function toPrincipal(e: PrincipalEntity): Principal {
  return { id: e.id, name: e.name, description: e.description, kind: e.kind as PrincipalKind, serverAdmin: e.serverAdmin, createTime: e.createTime };
}

/** Principal rows. Deleting one deletes its keys and access bindings in the same unit of work. */
export class PrincipalRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Principal | undefined> {
    const e = await this.em.findOne(PrincipalEntity, { id });
    return e ? toPrincipal(e) : undefined;
  }

  async count(): Promise<number> {
    return this.em.count(PrincipalEntity, {});
  }

  async countServerAdmins(): Promise<number> {
    return this.em.count(PrincipalEntity, { serverAdmin: true });
  }

  /** Every principal, or only those with the given ids. */
  async list(page: PageRequest, onlyIds?: readonly string[]): Promise<Page<Principal>> {
    const where = onlyIds ? { id: { $in: [...onlyIds] } } : {};
    const result = await listPage(this.em, PrincipalEntity, where, page, `principals|${onlyIds ? onlyIds.join(',') : '*'}`);
    return { items: result.items.map(toPrincipal), nextPageToken: result.nextPageToken };
  }

  async insert(id: string, input: PrincipalInput, now: Date): Promise<Principal> {
    const entity = this.em.create(PrincipalEntity, { id, ...input, createTime: now, version: 1 });
    await translateWrite('principal', { id, name: input.name, scope: 'Berth' }, () => this.em.persistAndFlush(entity));
    return toPrincipal(entity);
  }

  async remove(id: string): Promise<void> {
    await translateWrite('principal', { id }, async () => {
      await this.em.nativeDelete(ApiKeyEntity, { principalId: id });
      await this.em.nativeDelete(AccessBindingEntity, { principalId: id });
      await this.em.nativeDelete(PrincipalEntity, { id });
    });
  }
}

import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125082049 } from './Migration20261125082049';
import { Migration20261203132824 } from './Migration20261203132824';
import { Migration20261203135243 } from './Migration20261203135243';
import { Migration20261203163628 } from './Migration20261203163628';
import { Migration20261203163718 } from './Migration20261203163718';
import { Migration20261204162921 } from './Migration20261204162921';

/** The committed migrations of this dialect, oldest first; `npx tsx scripts/make-migration.ts` adds to them. */
export const SQLITE_MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261125082049', class: Migration20261125082049 },
  { name: 'Migration20261203132824', class: Migration20261203132824 },
  { name: 'Migration20261203135243', class: Migration20261203135243 },
  { name: 'Migration20261203163628', class: Migration20261203163628 },
  { name: 'Migration20261203163718', class: Migration20261203163718 },
  { name: 'Migration20261204162921', class: Migration20261204162921 },
];

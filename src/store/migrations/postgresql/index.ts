import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125082049 } from './Migration20261125082049';
import { Migration20261203132824 } from './Migration20261203132824';
import { Migration20261203135244 } from './Migration20261203135244';
import { Migration20261203163629 } from './Migration20261203163629';
import { Migration20261203163719 } from './Migration20261203163719';
import { Migration20261204162921 } from './Migration20261204162921';

/** The committed migrations of this dialect, oldest first; `npx tsx scripts/make-migration.ts` adds to them. */
export const POSTGRES_MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261125082049', class: Migration20261125082049 },
  { name: 'Migration20261203132824', class: Migration20261203132824 },
  { name: 'Migration20261203135244', class: Migration20261203135244 },
  { name: 'Migration20261203163629', class: Migration20261203163629 },
  { name: 'Migration20261203163719', class: Migration20261203163719 },
  { name: 'Migration20261204162921', class: Migration20261204162921 },
];

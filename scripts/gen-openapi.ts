/**
 * Writes docs/openapi.json, the OpenAPI 3 document of the control plane that
 * `GET /openapi.json` serves, from gen/berth.binpb (`npm run gen` runs it
 * after `buf build`; test/api/openapi.test.ts checks that the two agree):
 *   npx tsx scripts/gen-openapi.ts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BERTH_SERVICES, descriptors } from '../src/api/descriptors';
import { controlPlaneOpenApi } from '../src/api/rest/openapi';

const file = path.join(__dirname, '..', 'docs', 'openapi.json');
writeFileSync(file, `${JSON.stringify(controlPlaneOpenApi(descriptors().registry, BERTH_SERVICES), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);

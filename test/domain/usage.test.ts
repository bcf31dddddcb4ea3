/**
 * Usage maths and named configurations, without I/O: billed seconds rounded
 * up per run and attributed to the bucket each second begins in (so buckets
 * add up to the run's total), and how a spec's configuration resolves
 * against the catalog.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIGURATIONS, parseConfigurations, rawUnitsOf, resolveConfiguration, unitsOf, type ConfigurationCatalog } from '../../src/domain/configuration';
import { ValidationError } from '../../src/domain/errors';
import { billedSecondsWithin, usageBuckets, type UsageRun } from '../../src/domain/usage';

const T = Date.parse('2026-12-04T10:00:00Z');
const run = (startMs: number, endMs: number | null, units = 1, nodeId = 'nd1'): UsageRun => ({
  id: `us${startMs}`,
  folderId: 'default',
  nodeId,
  instanceId: `in${startMs}`,
  runtimeId: '1',
  configurationName: '',
  units,
  startTime: new Date(startMs),
  endTime: endMs === null ? null : new Date(endMs),
  lastSeenTime: new Date(endMs ?? startMs),
});

describe('billed seconds', () => {
  const cases: Array<[string, number, number, number, number, number]> = [
    ['a whole run of 2.1 s bills 3 s', 0, 2100, -1e9, 1e9, 3],
    ['a run of exactly 2 s bills 2 s', 0, 2000, -1e9, 1e9, 2],
    ['a run of 1 ms bills 1 s', 0, 1, -1e9, 1e9, 1],
    ['an empty run bills nothing', 0, 0, -1e9, 1e9, 0],
    ['seconds beginning in the window only', 0, 10_000, 2500, 5500, 3],
    ['a window after the run', 0, 2100, 3000, 4000, 0],
    ['the last, partial second begins inside the window', 0, 2100, 2000, 2001, 1],
  ];
  for (const [name, start, end, from, to, expected] of cases) it(name, () => assert.equal(billedSecondsWithin(start, end, from, to), expected));
});

describe('usage buckets', () => {
  it('splits a run over hours without a second more than its total', () => {
    const r = run(T + 59 * 60_000 + 500, T + 61 * 60_000 + 700, 2); // 120.2 s across 11:00: 121 billed seconds
    const hours = usageBuckets([r], new Date(T), new Date(T + 3 * 3_600_000), 'hour', new Date(T + 4 * 3_600_000));
    assert.deepEqual(hours.map((b) => [b.startTime.toISOString(), b.instanceSeconds, b.units]), [
      ['2026-12-04T10:00:00.000Z', 60, 120],
      ['2026-12-04T11:00:00.000Z', 61, 122],
    ]);
    const total = usageBuckets([r], new Date(T), new Date(T + 3 * 3_600_000), 'total', new Date(T + 4 * 3_600_000));
    assert.equal(total[0]!.instanceSeconds, 121);
  });

  it('counts a run still going up to now, per node, days clipped to the range', () => {
    const runs = [run(T, null, 1, 'nd2'), run(T, T + 10_000, 0.5, 'nd1'), run(T + 5000, T + 6000, 0.5, 'nd1')];
    const buckets = usageBuckets(runs, new Date(T - 1000), new Date(T + 86_400_000), 'day', new Date(T + 30_000));
    assert.deepEqual(buckets.map((b) => [b.nodeId, b.startTime.getTime() - T, b.endTime.getTime() - T, b.instanceSeconds, b.units]), [
      ['nd1', -1000, 14 * 3_600_000, 11, 5.5],
      ['nd2', -1000, 14 * 3_600_000, 30, 30],
    ]);
  });
});

describe('named configurations', () => {
  const catalog: ConfigurationCatalog = { configurations: [...DEFAULT_CONFIGURATIONS], rawAllowed: true };

  it('prices the shipped presets as their raw values would be', () => {
    for (const c of DEFAULT_CONFIGURATIONS) assert.equal(rawUnitsOf(c), c.units, c.name);
    assert.equal(rawUnitsOf({ cpu: 0, memoryBytes: 0, gpu: 0 }), 1, 'an instance without limits counts as one core');
  });

  it('gives a named node the configuration\'s values, replacing values sent with the name', () => {
    assert.deepEqual(resolveConfiguration({ name: 'medium', cpu: 64, memoryBytes: 0, gpu: 0 }, catalog), { name: 'medium', cpu: 4, memoryBytes: 16 * 2 ** 30, gpu: 0 });
    assert.equal(unitsOf({ name: 'medium', cpu: 4, memoryBytes: 16 * 2 ** 30, gpu: 0 }, catalog), 8);
  });

  it('keeps the values a node got when its name is unchanged, even when the catalog changed', () => {
    const current = { name: 'retired', cpu: 3, memoryBytes: 2 ** 30, gpu: 0 };
    assert.deepEqual(resolveConfiguration({ ...current, cpu: 5 }, catalog, current), current);
  });

  it('refuses an unknown name, listing the known ones', () => {
    assert.throws(
      () => resolveConfiguration({ name: 'xl', cpu: 0, memoryBytes: 0, gpu: 0 }, catalog),
      (err: unknown) => err instanceof ValidationError && err.violations[0]!.field === 'node.spec.configuration.name' && /known: small, medium, large, gpu/.test(err.message),
    );
  });

  it('refuses raw values where only named configurations are allowed, but keeps a node\'s unchanged raw ones', () => {
    const strict = { ...catalog, rawAllowed: false };
    const raw = { name: '', cpu: 1, memoryBytes: 0, gpu: 0 };
    assert.throws(() => resolveConfiguration(raw, strict), /node\.spec\.configuration\.name: is required/);
    assert.deepEqual(resolveConfiguration(raw, strict, raw), raw);
  });

  it('reads a catalog file, reporting every mistake with its entry', () => {
    assert.deepEqual(parseConfigurations('{"configurations":[{"name":"a","cpu":1,"memory_bytes":"1073741824","units":1.5}]}'), [
      { name: 'a', description: '', cpu: 1, memoryBytes: 2 ** 30, gpu: 0, units: 1.5 },
    ]);
    assert.throws(() => parseConfigurations('{"configurations":[{"name":"A","cpu":0,"memoryBytes":1,"units":-1,"ram":2}]}'), (err: Error) =>
      ['configurations[0].ram', 'configurations[0].name', 'configurations[0].cpu', 'configurations[0].memory_bytes', 'configurations[0].units'].every((f) => err.message.includes(`${f}:`)),
    );
    assert.throws(() => parseConfigurations('[]'), /"configurations" list/);
    assert.throws(() => parseConfigurations('{'), /not JSON/);
  });
});

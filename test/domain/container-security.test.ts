/**
 * What a Docker node may change about its containers: normalized as stored,
 * and every refusal naming its field. Table tests, no I/O.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADDABLE_CAPABILITIES,
  DEFAULT_TMPFS_BYTES,
  DOCKER_DEFAULT_CAPABILITIES,
  checkSecurity,
  defaultSecurity,
  normalizeCapability,
  securityWithDefaults,
  type ContainerSecurity,
} from '../../src/domain/container-security';
import { Violations } from '../../src/domain/validation';
import { ValidationError } from '../../src/domain/errors';

const F = 'node.spec.docker.security';

/** The fields refused (after defaults, as validateNode sees them), with their descriptions. */
function refused(over: Partial<ContainerSecurity>): Array<[string, string]> {
  const v = new Violations();
  checkSecurity(v, F, securityWithDefaults({ ...defaultSecurity(), ...over }));
  try {
    v.throwIfAny();
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.violations.map((x) => [x.field, x.description]);
  }
}

describe('container security: normalized', () => {
  it('takes capability names with or without CAP_, in any case', () => {
    for (const name of ['NET_RAW', 'CAP_NET_RAW', 'cap_net_raw', 'net_raw']) assert.equal(normalizeCapability(name), 'NET_RAW');
    const s = securityWithDefaults({ ...defaultSecurity(), capAdd: ['cap_sys_nice'], capDrop: ['Cap_Chown', 'all'] });
    assert.deepEqual(s.capAdd, ['SYS_NICE']);
    assert.deepEqual(s.capDrop, ['CHOWN', 'ALL']);
  });

  it('gives a tmpfs mount without a size the default size', () => {
    const s = securityWithDefaults({ ...defaultSecurity(), tmpfs: [{ path: '/run', sizeBytes: 0 }, { path: '/tmp', sizeBytes: 2 ** 20 }] });
    assert.deepEqual(s.tmpfs, [
      { path: '/run', sizeBytes: DEFAULT_TMPFS_BYTES },
      { path: '/tmp', sizeBytes: 2 ** 20 },
    ]);
  });

  it('may add Docker\'s defaults, NET_RAW, IPC_LOCK and SYS_NICE', () => {
    assert.deepEqual([...ADDABLE_CAPABILITIES].sort(), [...DOCKER_DEFAULT_CAPABILITIES, 'IPC_LOCK', 'SYS_NICE'].sort());
    assert.deepEqual(refused({ capAdd: [...ADDABLE_CAPABILITIES] }), []);
  });
});

describe('container security: accepted', () => {
  for (const [label, over] of [
    ['nothing changed', {}],
    ['a numeric user', { user: '1000' }],
    ['a user and group', { user: '1000:1000' }],
    ['a user name', { user: 'nginx' }],
    ['a user and group by name', { user: 'www-data:www-data' }],
    ['dropping every capability', { capDrop: ['ALL'] }],
    ['dropping ALL and adding one back', { capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }],
    ['dropping any capability', { capDrop: ['SYS_ADMIN', 'CAP_CHOWN', 'setuid'] }],
    ['a read-only root with tmpfs', { readOnlyRootFilesystem: true, tmpfs: [{ path: '/run', sizeBytes: 0 }, { path: '/var/lib/nginx', sizeBytes: 16 * 2 ** 30 }] }],
  ] as Array<[string, Partial<ContainerSecurity>]>) {
    it(`accepts ${label}`, () => assert.deepEqual(refused(over), []));
  }
});

describe('container security: refused', () => {
  for (const [label, over, field, pattern] of [
    ['a user with a space', { user: 'a b' }, `${F}.user`, /not a user/],
    ['a user with two colons', { user: '1:2:3' }, `${F}.user`, /not a user/],
    ['an empty group', { user: '1000:' }, `${F}.user`, /not a user/],
    ['a uid beyond 2^31-1', { user: '4294967296' }, `${F}.user`, /at most 2147483647/],
    ['an overlong user', { user: 'u'.repeat(65) }, `${F}.user`, /at most 64/],
    ['adding SYS_ADMIN', { capAdd: ['SYS_ADMIN'] }, `${F}.cap_add[0]`, /"SYS_ADMIN" may not be added: it gives power beyond the container/],
    ['adding CAP_NET_ADMIN', { capAdd: ['CAP_NET_ADMIN'] }, `${F}.cap_add[0]`, /"NET_ADMIN" may not be added/],
    ['adding sys_module', { capAdd: ['sys_module'] }, `${F}.cap_add[0]`, /"SYS_MODULE" may not be added/],
    ['adding SYS_PTRACE second', { capAdd: ['SYS_NICE', 'SYS_PTRACE'] }, `${F}.cap_add[1]`, /"SYS_PTRACE" may not be added/],
    ['adding ALL', { capAdd: ['ALL'] }, `${F}.cap_add[0]`, /"ALL" cannot be added/],
    ['adding what is no capability', { capAdd: ['FLY'] }, `${F}.cap_add[0]`, /not a Linux capability/],
    ['adding and dropping one', { capAdd: ['SYS_NICE'], capDrop: ['CAP_SYS_NICE'] }, `${F}.cap_add[0]`, /also in cap_drop/],
    ['a capability added twice', { capAdd: ['SYS_NICE', 'cap_sys_nice'] }, `${F}.cap_add[1]`, /named twice/],
    ['an empty capability', { capDrop: [''] }, `${F}.cap_drop[0]`, /is empty/],
    ['dropping what is no capability', { capDrop: ['NET_RAWW'] }, `${F}.cap_drop[0]`, /not a Linux capability/],
    ['a relative tmpfs path', { tmpfs: [{ path: 'run', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /absolute, normalized/],
    ['an empty tmpfs path', { tmpfs: [{ path: '', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /required/],
    ['a tmpfs on /', { tmpfs: [{ path: '/', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /cannot be "\/"/],
    ['a tmpfs path with ..', { tmpfs: [{ path: '/var/../etc', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /normalized/],
    ['a tmpfs path with a trailing slash', { tmpfs: [{ path: '/run/', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /normalized/],
    ['a tmpfs path with a comma', { tmpfs: [{ path: '/run,exec', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /normalized/],
    ['a tmpfs on /proc', { tmpfs: [{ path: '/proc', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /under \/proc, which the engine mounts/],
    ['a tmpfs under /sys', { tmpfs: [{ path: '/sys/fs/cgroup', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /under \/sys/],
    ['a tmpfs under /dev', { tmpfs: [{ path: '/dev/shm', sizeBytes: 0 }] }, `${F}.tmpfs[0].path`, /under \/dev/],
    ['a tmpfs path twice', { tmpfs: [{ path: '/run', sizeBytes: 0 }, { path: '/tmp', sizeBytes: 0 }, { path: '/run', sizeBytes: 0 }] }, `${F}.tmpfs[2].path`, /also mounted by node.spec.docker.security.tmpfs\[0\]/],
    ['a tmpfs under 1 MiB', { tmpfs: [{ path: '/run', sizeBytes: 4096 }] }, `${F}.tmpfs[0].size_bytes`, /from 1 MiB to 16 GiB/],
    ['a tmpfs over 16 GiB', { tmpfs: [{ path: '/run', sizeBytes: 16 * 2 ** 30 + 1 }] }, `${F}.tmpfs[0].size_bytes`, /from 1 MiB to 16 GiB/],
    ['a negative tmpfs size', { tmpfs: [{ path: '/run', sizeBytes: -1 }] }, `${F}.tmpfs[0].size_bytes`, /from 1 MiB/],
    ['too many tmpfs mounts', { tmpfs: Array.from({ length: 17 }, (_, i) => ({ path: `/t${i}`, sizeBytes: 0 })) }, `${F}.tmpfs`, /at most 16/],
  ] as Array<[string, Partial<ContainerSecurity>, string, RegExp]>) {
    it(`refuses ${label}, naming ${field}`, () => {
      const got = refused(over);
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0]![0], field);
      assert.match(got[0]![1], pattern);
    });
  }

  it('refuses more than 64 capabilities, naming the list first', () => {
    const got = refused({ capDrop: Array.from({ length: 65 }, () => 'CHOWN') });
    assert.deepEqual(got[0], [`${F}.cap_drop`, 'has 65 entries; at most 64']);
  });
});

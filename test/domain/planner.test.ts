import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterProbe, type Instance } from '../../src/domain/instance';
import { initialNodeStatus, withDefaults, type InstanceState, type Node } from '../../src/domain/node';
import { attemptDeadlineMs, attemptTimedOut, nodeStatusOf, startAttemptOf } from '../../src/domain/node-status';
import { planNode, type ObservedSummary, type PlanInput } from '../../src/domain/planner';
import { decideScale } from '../../src/domain/autoscaler';
import { defaultSecurity } from '../../src/domain/container-security';

const NOW = new Date('2026-01-01T00:00:00Z');

function node(over: Partial<Node> = {}, range = { min: 2, max: 4 }, maintenanceLimit = 1): Node {
  return {
    id: 'nd1',
    folderId: 'default',
    name: 'web',
    description: '',
    labels: {},
    generation: 2,
    suspended: false,
    deleting: false,
    createTime: NOW,
    updateTime: NOW,
    version: 1,
    spec: withDefaults({
      source: {
        kind: 'docker',
        image: 'x:1',
        registrySecretId: '',
        endpoint: { type: 'http', port: 8080, timeoutMs: 0, idleTimeoutMs: 0 },
        env: {},
        envFromSecrets: [],
        command: [],
        args: [],
        telemetry: null,
        healthCheck: { type: 'http', port: 0, path: '', grpcService: '', timeoutMs: 0, intervalMs: 0, failsThreshold: 0, passesThreshold: 0 },
        security: defaultSecurity(),
      },
      configuration: { name: '', cpu: 0, memoryBytes: 0, gpu: 0 },
      instanceRange: range,
      autoscaling: { targetInFlight: 0, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 0 },
      maintenanceLimit,
      acl: { folderIds: [] },
    }),
    ...over,
  };
}

function inst(id: string, state: InstanceState, generation = 2): Instance {
  return {
    id,
    nodeId: 'nd1',
    folderId: 'default',
    generation,
    state,
    reason: '',
    runtimeId: state === 'undefined' ? '' : `c-${id}`,
    address: '127.0.0.1:1',
    startTime: state === 'undefined' ? null : NOW,
    restartCount: 0,
    lastHealthCheck: null,
    createTime: NOW,
    updateTime: NOW,
  };
}

function plan(n: Node, instances: Instance[], over: Partial<PlanInput> = {}) {
  const observed = new Map<string, ObservedSummary>(instances.filter((i) => i.state !== 'undefined').map((i) => [i.id, { state: 'running' }]));
  return planNode({ node: n, desired: n.spec.instanceRange.min, failed: false, instances, observed, stuck: new Map(), ...over });
}

const kinds = (p: ReturnType<typeof plan>) => p.steps.map((s) => (s.kind === 'create' ? 'create' : `${s.kind}:${s.instanceId}`));

describe('planNode', () => {
  it('creates instances up to min', () => {
    assert.deepEqual(kinds(plan(node(), [])), ['create', 'create']);
    assert.deepEqual(kinds(plan(node(), [inst('a', 'healthy')])), ['create']);
    assert.deepEqual(kinds(plan(node(), [inst('a', 'healthy'), inst('b', 'preparing')])), []);
  });

  it('clamps the desired count into the instance range', () => {
    assert.equal(plan(node(), [], { desired: 10 }).desired, 4);
    assert.equal(plan(node(), [], { desired: 0 }).desired, 2);
  });

  it('removes everything of a deleted, suspended or failed node', () => {
    const two = [inst('a', 'healthy'), inst('b', 'unhealthy')];
    for (const n of [node({ deleting: true }), node({ suspended: true })]) assert.deepEqual(kinds(plan(n, two)), ['remove:a', 'remove:b']);
    assert.deepEqual(kinds(plan(node(), two, { failed: true })), ['remove:a', 'remove:b']);
  });

  it('finishes removing instances already being deleted', () => {
    assert.deepEqual(kinds(plan(node(), [inst('a', 'healthy'), inst('b', 'healthy'), inst('c', 'deleting')])), ['remove:c']);
  });

  it('starts a dead instance again in place', () => {
    const instances = [inst('a', 'healthy'), inst('b', 'healthy')];
    const observed = new Map<string, ObservedSummary>([
      ['a', { state: 'running' }],
      ['b', { state: 'exited', exitReason: 'exit code 137' }],
    ]);
    const p = plan(node(), instances, { observed });
    assert.deepEqual(kinds(p), ['restart:b']);
    assert.match((p.steps[0] as { reason: string }).reason, /exit code 137/);
    assert.deepEqual(kinds(plan(node(), instances, { observed: new Map([['a', { state: 'running' }]]) })), ['restart:b']);
  });

  it('starts a stuck unhealthy instance again, within the maintenance limit', () => {
    const instances = [inst('a', 'unhealthy'), inst('b', 'unhealthy'), inst('c', 'healthy')];
    const stuck = new Map([
      ['a', 'HTTP 500'],
      ['b', 'HTTP 500'],
    ]);
    assert.deepEqual(kinds(plan(node({}, { min: 3, max: 4 }), instances, { stuck })), ['restart:a']);
    assert.deepEqual(kinds(plan(node({}, { min: 3, max: 4 }, 2), instances, { stuck })), ['restart:a', 'restart:b']);
  });

  it('scales down by removing instances that do not serve first', () => {
    const p = plan(node(), [inst('a', 'healthy'), inst('b', 'healthy'), inst('c', 'preparing'), inst('d', 'healthy')]);
    assert.deepEqual(kinds(p), ['remove:c', 'remove:d']);
  });

  it('rolls a new generation over by surging, removing old instances only once new ones serve', () => {
    const old = [inst('a', 'healthy', 1), inst('b', 'healthy', 1)];
    // Step 1: one new instance (maintenance limit 1), nothing removed yet.
    assert.deepEqual(kinds(plan(node(), old)), ['create']);
    // Step 2: the new one is still preparing: nothing more.
    assert.deepEqual(kinds(plan(node(), [...old, inst('n1', 'preparing')])), []);
    // Step 3: the new one serves: one more new, and one old can go (3 healthy > 2 desired).
    assert.deepEqual(kinds(plan(node(), [...old, inst('n1', 'healthy')])), ['create', 'remove:a']);
    // Step 4: two new serve: the last old one goes.
    assert.deepEqual(kinds(plan(node(), [inst('b', 'healthy', 1), inst('n1', 'healthy'), inst('n2', 'healthy')])), ['remove:b']);
  });

  it('removes unhealthy old instances as soon as the new generation covers', () => {
    assert.deepEqual(kinds(plan(node(), [inst('a', 'unhealthy', 1), inst('n1', 'healthy'), inst('n2', 'healthy')])), ['remove:a']);
  });
});

describe('afterProbe', () => {
  const t = { failsThreshold: 3, passesThreshold: 2 };
  it('needs passes_threshold passes to become healthy', () => {
    let s = afterProbe('started', { passes: 0, fails: 0 }, true, t);
    assert.equal(s.state, 'preparing');
    s = afterProbe(s.state, s.counters, true, t);
    assert.equal(s.state, 'healthy');
  });
  it('needs fails_threshold failures in a row to become unhealthy', () => {
    let s = { state: 'healthy' as InstanceState, counters: { passes: 5, fails: 0 } };
    s = afterProbe(s.state, s.counters, false, t);
    s = afterProbe(s.state, s.counters, false, t);
    assert.equal(s.state, 'healthy');
    s = afterProbe(s.state, s.counters, true, t);
    s = afterProbe(s.state, s.counters, false, t);
    s = afterProbe(s.state, s.counters, false, t);
    assert.equal(s.state, 'healthy', 'a pass resets the failure count');
    s = afterProbe(s.state, s.counters, false, t);
    assert.equal(s.state, 'unhealthy');
    s = afterProbe(s.state, s.counters, true, t);
    assert.equal(s.state, 'unhealthy');
    s = afterProbe(s.state, s.counters, true, t);
    assert.equal(s.state, 'healthy');
  });
});

describe('nodeStatusOf', () => {
  const status = (n: Node, instances: Instance[], previous = initialNodeStatus(), failure?: string) =>
    nodeStatusOf({ node: n, instances, previous, desired: 2, now: new Date(NOW.getTime() + 5000), failure });

  it('is Created until the minimum is first healthy, then Healthy, then Unhealthy below it', () => {
    const created = status(node(), [inst('a', 'healthy'), inst('b', 'preparing')]);
    assert.equal(created.state, 'created');
    assert.match(created.reason, /1 of 2 required instances healthy/);
    const healthy = status(node(), [inst('a', 'healthy'), inst('b', 'healthy')]);
    assert.equal(healthy.state, 'healthy');
    assert.equal(healthy.timeToHealthyMs, 5000);
    assert.equal(healthy.instanceCounts.healthy, 2);
    const down = status(node(), [inst('a', 'healthy'), { ...inst('b', 'unhealthy'), reason: 'HTTP 500 from /' }], healthy);
    assert.equal(down.state, 'unhealthy');
    assert.match(down.reason, /HTTP 500/);
    assert.equal(down.timeToHealthyMs, 5000);
  });

  it('reports deleting, suspended and failures with reasons', () => {
    assert.equal(status(node({ deleting: true }), [inst('a', 'healthy')]).state, 'deleting');
    assert.equal(status(node({ suspended: true }), []).state, 'suspended');
    const failed = status(node(), [], initialNodeStatus(), 'image x:1 is not available');
    assert.equal(failed.state, 'unhealthy');
    assert.equal(failed.reason, 'image x:1 is not available');
  });

  it('shows a rollout as a Progressing condition', () => {
    const s = status(node(), [inst('a', 'healthy', 1), inst('b', 'healthy')]);
    const progressing = s.conditions.find((c) => c.type === 'Progressing')!;
    assert.equal(progressing.status, true);
    assert.equal(progressing.reason, 'RollingUpdate');
  });

  it('shows crashing instances as an InstancesCrashing condition, kept by the generation that failed with it', () => {
    const calm = status(node(), [inst('a', 'healthy')]).conditions.find((c) => c.type === 'InstancesCrashing')!;
    assert.equal(calm.status, false);
    assert.equal(calm.reason, 'NoCrashes');
    const crashing = nodeStatusOf({ node: node(), instances: [inst('a', 'unhealthy')], previous: initialNodeStatus(), desired: 2, now: NOW, crashing: '1 of 1 instance exited: exit code 1' });
    const c = crashing.conditions.find((x) => x.type === 'InstancesCrashing')!;
    assert.deepEqual([c.status, c.reason, c.message], [true, 'CrashLoop', '1 of 1 instance exited: exit code 1']);
    // Its instances removed, a failed generation still says why.
    const failed = status(node(), [], crashing, 'instances keep crashing');
    assert.deepEqual(failed.conditions.find((x) => x.type === 'InstancesCrashing'), c);
    // A new attempt (no failure) without crashes clears it.
    assert.equal(status(node(), [], failed).conditions.find((x) => x.type === 'InstancesCrashing')!.status, false);
  });
});

describe('the status of a node that may sleep (min 0)', () => {
  const sleepy = node({}, { min: 0, max: 2 });
  const status = (instances: Instance[], desired: number) => nodeStatusOf({ node: sleepy, instances, previous: initialNodeStatus(), desired, now: NOW });
  const condition = (s: ReturnType<typeof status>, type: string) => s.conditions.find((c) => c.type === type)!;

  it('is Healthy and Ready while asleep, with an Asleep condition saying so', () => {
    const asleep = status([], 0);
    assert.equal(asleep.state, 'healthy');
    assert.match(asleep.reason, /^asleep: no instance runs; the next call wakes it \(the node sleeps after 300s without calls\)$/);
    assert.deepEqual([condition(asleep, 'Ready').status, condition(asleep, 'Ready').reason], [true, 'Asleep']);
    assert.deepEqual([condition(asleep, 'Asleep').status, condition(asleep, 'Asleep').reason], [true, 'ScaledToZero']);
  });
  it('says it is waking while a call woke it and its instance starts, and awake once it serves', () => {
    const waking = status([inst('a', 'preparing')], 1);
    assert.equal(waking.state, 'healthy');
    assert.match(waking.reason, /^waking: /);
    assert.deepEqual([condition(waking, 'Asleep').status, condition(waking, 'Asleep').reason], [false, 'Waking']);
    const awake = status([inst('a', 'healthy')], 1);
    assert.deepEqual([condition(awake, 'Asleep').status, condition(awake, 'Asleep').reason], [false, 'Awake']);
    assert.deepEqual([condition(awake, 'Ready').status, condition(awake, 'Ready').reason], [true, 'MinimumHealthy']);
  });
  it('says it is falling asleep while its instances stop', () => {
    assert.match(status([inst('a', 'healthy')].map((i) => ({ ...i, state: 'unhealthy' as const })), 0).reason, /^falling asleep: stopping 1 instance after 300s without calls$/);
  });
  it('has no Asleep condition when its min is above 0', () => {
    assert.equal(nodeStatusOf({ node: node(), instances: [], previous: initialNodeStatus(), desired: 2, now: NOW }).conditions.find((c) => c.type === 'Asleep'), undefined);
  });
});

describe('decideScale', () => {
  const base = { current: 1, min: 1, max: 4, target: 1, stabilizationMs: 10_000, idleMs: 0, sleepAfterMs: 300_000, now: 0, state: { lowSince: null } };
  it('scales up at once to what the load needs, within max', () => {
    const d = decideScale({ ...base, inFlight: 2.5 });
    assert.equal(d.desired, 3);
    assert.match(d.reason!, /scaled up 1 -> 3/);
    assert.equal(decideScale({ ...base, inFlight: 50 }).desired, 4);
  });
  it('scales down only after the stabilization window, never below min', () => {
    let d = decideScale({ ...base, current: 4, inFlight: 0, now: 1000 });
    assert.equal(d.desired, 4);
    assert.equal(d.reason, undefined);
    d = decideScale({ ...base, current: 4, inFlight: 0, now: 6000, state: d.state });
    assert.equal(d.desired, 4);
    d = decideScale({ ...base, current: 4, inFlight: 0, now: 11_000, state: d.state });
    assert.equal(d.desired, 1);
    assert.match(d.reason!, /scaled down 4 -> 1/);
  });
  it('forgets a low spell when the load comes back', () => {
    let d = decideScale({ ...base, current: 3, inFlight: 0, now: 0 });
    d = decideScale({ ...base, current: 3, inFlight: 3, now: 5000, state: d.state });
    assert.equal(d.state.lowSince, null);
    d = decideScale({ ...base, current: 3, inFlight: 0, now: 12_000, state: d.state });
    assert.equal(d.desired, 3, 'the window starts again');
  });
  it('keeps a node with min 0 at one instance while it has calls, however low its load', () => {
    const sleepy = { ...base, min: 0, current: 2, inFlight: 0, sleepAfterMs: 60_000 };
    let d = decideScale({ ...sleepy, idleMs: 5000, now: 0 });
    d = decideScale({ ...sleepy, idleMs: 30_000, now: 30_000, state: d.state });
    assert.equal(d.desired, 1, 'down to one after the stabilization window, not to zero');
    assert.match(d.reason!, /scaled down 2 -> 1/);
  });
  it('puts a node with min 0 to sleep after a whole window without calls', () => {
    const d = decideScale({ ...base, min: 0, current: 1, inFlight: 0, idleMs: 60_000, sleepAfterMs: 60_000 });
    assert.equal(d.desired, 0);
    assert.equal(d.reason, 'asleep: scaled 1 -> 0 after 60s without calls');
  });
  it('leaves a sleeping node asleep without load, and wakes it when load appears', () => {
    const asleep = { ...base, min: 0, current: 0, idleMs: 600_000, sleepAfterMs: 60_000 };
    const d = decideScale({ ...asleep, inFlight: 0 });
    assert.equal(d.desired, 0);
    assert.equal(d.reason, undefined);
    assert.equal(decideScale({ ...asleep, inFlight: 2 }).desired, 2);
  });
  it('never puts a node with min above 0 to sleep', () => {
    assert.equal(decideScale({ ...base, current: 1, inFlight: 0, idleMs: 10 ** 9, sleepAfterMs: 1000 }).desired, 1);
  });
});

describe('planNode after Berth was killed during a create', () => {
  // An intent row ('undefined', no runtime id) in each situation a kill can leave it.
  const cases: Array<{ name: string; observed?: ObservedSummary; steps: string[] }> = [
    { name: 'row written, nothing created: start it', steps: ['restart:a'] },
    { name: 'container created but never started: start it (the runtime replaces it)', observed: { state: 'exited' }, steps: ['restart:a'] },
    { name: 'container running, row not updated: nothing to do (the pass adopts it)', observed: { state: 'running' }, steps: [] },
    { name: 'container gone from the engine: start it', observed: { state: 'missing' }, steps: ['restart:a'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const n = node({}, { min: 1, max: 1 });
      const observed = new Map<string, ObservedSummary>(c.observed ? [['a', c.observed]] : []);
      assert.deepEqual(kinds(plan(n, [inst('a', 'undefined')], { observed })), c.steps);
    });
  }

  it('creates nothing more while intent rows cover the count', () => {
    const n = node({}, { min: 3, max: 3 });
    const rows = [inst('a', 'healthy'), inst('b', 'undefined'), inst('c', 'undefined')];
    const observed = new Map<string, ObservedSummary>([['a', { state: 'running' }], ['b', { state: 'running' }]]);
    assert.deepEqual(kinds(plan(n, rows, { observed })), ['restart:c']);
  });
});

describe('planNode of a failed generation', () => {
  it('removes the failed generation but leaves the old one serving', () => {
    const rows = [inst('old1', 'healthy', 1), inst('old2', 'unhealthy', 1), inst('new1', 'preparing', 2)];
    assert.deepEqual(kinds(plan(node(), rows, { failed: true })).sort(), ['remove:new1', 'remove:old2']);
  });

  it('removes everything of a failed first generation', () => {
    assert.deepEqual(kinds(plan(node(), [inst('a', 'preparing'), inst('b', 'unhealthy')], { failed: true })), ['remove:a', 'remove:b']);
  });
});

describe('startAttemptOf', () => {
  const T0 = new Date('2026-01-01T00:00:00Z');
  const LATER = new Date('2026-01-01T00:05:00Z');
  const stored = { generation: 2, since: T0.toISOString() as unknown as Date, reached: false };
  const status = (attempt: typeof stored | null) => ({ ...initialNodeStatus(), attempt });
  const cases: Array<{ name: string; node: Partial<Node>; attempt: typeof stored | null; resume?: Date; expect: { generation: number; since: Date; reached: boolean } | null }> = [
    { name: 'a new node starts its first attempt now', node: {}, attempt: null, expect: { generation: 2, since: LATER, reached: false } },
    { name: 'the same generation keeps its attempt (and its clock)', node: {}, attempt: stored, expect: { generation: 2, since: T0, reached: false } },
    { name: 'a new generation starts a new attempt', node: { generation: 3 }, attempt: stored, expect: { generation: 3, since: LATER, reached: false } },
    { name: 'a resume asked after the attempt began starts a new one', node: {}, attempt: stored, resume: new Date('2026-01-01T00:01:00Z'), expect: { generation: 2, since: LATER, reached: false } },
    { name: 'a resume asked before the attempt began is that attempt', node: {}, attempt: stored, resume: new Date('2025-12-31T23:59:00Z'), expect: { generation: 2, since: T0, reached: false } },
    { name: 'a suspended node has no attempt', node: { suspended: true }, attempt: stored, expect: null },
    { name: 'a node being deleted has no attempt', node: { deleting: true }, attempt: stored, expect: null },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(startAttemptOf(node(c.node), status(c.attempt), LATER, c.resume), c.expect));
  }

  it('times out only an attempt that has not reached health, from its own start', () => {
    const a = { generation: 2, since: T0, reached: false };
    assert.equal(attemptTimedOut(a, new Date(T0.getTime() + 120_000), 120_000), false);
    assert.equal(attemptTimedOut(a, new Date(T0.getTime() + 120_001), 120_000), true);
    assert.equal(attemptTimedOut({ ...a, reached: true }, LATER, 120_000), false);
    assert.equal(attemptTimedOut(null, LATER, 120_000), false);
    assert.equal(attemptDeadlineMs(a, new Date(T0.getTime() + 20_000), 120_000), 100_000);
    assert.equal(attemptDeadlineMs({ ...a, reached: true }, LATER, 120_000), undefined);
  });
});

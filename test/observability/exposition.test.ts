/**
 * The exposition-format reader behind /metrics/folders/{id}: what instances
 * publish is read, labelled and merged so that the result always parses
 * (promtool judges it), whatever an instance sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FamilyMerger, parseExposition, parseSample, withLabels } from '../../src/observability/exposition';
import { promtoolCheck } from '../helpers/metrics';

const INSTANCE = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",path="/a \\"b\\" \\\\ c\\nd"} 3 1700000000000
http_requests_total{method="POST"} 1
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
# a comment
temperature{node_id="theirs"} -1.5e3
up NaN
`;

describe('exposition format', () => {
  it('parses samples with escaped label values, timestamps and special values; refuses broken lines', () => {
    assert.deepEqual(parseSample('a_b{x="1",y="q\\"z"} +Inf 12'), { name: 'a_b', labels: [['x', '1'], ['y', 'q\\"z']], value: '+Inf', timestamp: '12' });
    assert.deepEqual(parseSample('m 2'), { name: 'm', labels: [], value: '2' });
    assert.deepEqual(parseSample('m{} 2'), { name: 'm', labels: [], value: '2' });
    assert.deepEqual(parseSample('m{a="1",} 2'), { name: 'm', labels: [['a', '1']], value: '2' });
    for (const bad of ['m', 'm{a="1"}', 'm{a=1} 2', 'm{a="1} 2', 'm{a="\\x"} 2', 'm two', 'm 1 2.5', '1m 2', 'm{a="1"}2', 'm 1 2 3'])
      assert.equal(parseSample(bad), undefined, bad);
  });

  it('groups samples into families by TYPE and HELP, suffixes included; a stray sample is its own untyped family', () => {
    const families = parseExposition(INSTANCE);
    assert.deepEqual(
      families.map((f) => [f.name, f.type, f.samples.length]),
      [
        ['http_requests_total', 'counter', 2],
        ['latency_seconds', 'histogram', 4],
        ['temperature', 'untyped', 1],
        ['up', 'untyped', 1],
      ],
    );
  });

  it('adds node_id and instance_id first, keeping a label of the same name as exported_<name>', () => {
    const [sample] = parseExposition(INSTANCE).find((f) => f.name === 'temperature')!.samples;
    const labelled = withLabels(sample!, { node_id: 'nd1', instance_id: 'in"1' });
    assert.deepEqual(labelled.labels, [
      ['node_id', 'nd1'],
      ['instance_id', 'in\\"1'],
      ['exported_node_id', 'theirs'],
    ]);
  });

  it('merges the expositions of several instances into one that promtool finds valid, leaving out a family whose type conflicts', () => {
    const merger = new FamilyMerger();
    for (const instanceId of ['in1', 'in2']) for (const f of parseExposition(INSTANCE)) merger.add({ ...f, samples: f.samples.map((s) => withLabels(s, { node_id: 'nd1', instance_id: instanceId })) });
    // A third instance says http_requests_total is a gauge: left out, counted.
    for (const f of parseExposition('# TYPE http_requests_total gauge\nhttp_requests_total 5\n# TYPE other gauge\nother 1\n'))
      merger.add({ ...f, samples: f.samples.map((s) => withLabels(s, { node_id: 'nd2', instance_id: 'in3' })) });
    assert.equal(merger.dropped, 1);
    const text = merger.text();
    assert.equal(text.match(/^# TYPE http_requests_total /gm)?.length, 1);
    assert.equal(text.match(/^http_requests_total\{/gm)?.length, 4);
    assert.match(text, /^other\{node_id="nd2",instance_id="in3"\} 1$/m);
    assert.match(text, /^http_requests_total\{node_id="nd1",instance_id="in2",method="GET",path="\/a \\"b\\" \\\\ c\\nd"\} 3 1700000000000$/m);
    // promtool parses it all; its only advice is about the help text these families came without.
    const lint = promtoolCheck(text);
    const advice = lint.output.split('\n').filter(Boolean);
    assert.deepEqual(advice.sort(), ['latency_seconds no help text', 'other no help text', 'temperature no help text', 'up no help text'], lint.output);
  });
});

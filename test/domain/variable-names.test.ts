import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/domain/errors';
import { validateNode, withDefaults, type NodeInput, type Variable } from '../../src/domain/node';
import { nodeApiNames, packageComponent } from '../../src/domain/node-api-names';
import { jsonNameOf, variableNameProblem } from '../../src/domain/variable-names';

function checkpointNode(inputVariables: Variable[], outputVariables: Variable[] = [{ name: 'y', type: 'int' }]): NodeInput {
  return {
    folderId: 'default',
    name: 'model',
    description: '',
    labels: {},
    spec: withDefaults({
      source: { kind: 'checkpoint', checkpointId: 'cp1', inputVariables, outputVariables, environmentImage: '' },
      configuration: { name: '', cpu: 0, memoryBytes: 0, gpu: 0 },
      instanceRange: { min: 0, max: 0 },
      autoscaling: { targetInFlight: 0, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 0 },
      maintenanceLimit: 0,
      acl: { folderIds: [] },
    }),
  };
}

/** The refused fields and their messages, or [] when the node is accepted. */
function refused(node: NodeInput): Array<[string, string]> {
  try {
    validateNode(node);
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.violations.map((v) => [v.field, v.description]);
  }
}

describe('variable names', () => {
  it('accepts lower_snake_case names that are not Python keywords', () => {
    // Names the rest of the suite uses, and a few shapes lint and protoc accept.
    for (const name of ['x', 'y', 'n', 'trained_at', 'reversed_chunks', 'v0', 'v129', 'price_2', 'a1b', 'x_1_y', 'match', 'type', 'int', 'new', 'default', 'string', 'self'])
      assert.equal(variableNameProblem(name), undefined, name);
  });

  it('refuses what a generated API or the cell cannot use, saying why', () => {
    const cases: Array<[name: string, why: RegExp]> = [
      ['', /required/],
      ['1x', /lower_snake_case/],
      ['X', /lower_snake_case/],
      ['aB', /lower_snake_case/],
      ['_x', /lower_snake_case/],
      ['x_', /lower_snake_case/],
      ['a__b', /lower_snake_case/],
      ['a-b', /lower_snake_case/],
      ['naïve', /lower_snake_case/],
      ['class', /Python keyword/],
      ['lambda', /Python keyword/],
      ['async', /Python keyword/],
      ['yield', /Python keyword/],
    ];
    for (const [name, why] of cases) assert.match(variableNameProblem(name) ?? 'accepted', why, name);
  });

  it('gives each field the JSON name protoc gives it', () => {
    assert.equal(jsonNameOf('out_v'), 'outV');
    assert.equal(jsonNameOf('a_1'), 'a1');
    assert.equal(jsonNameOf('trained_at_2_b'), 'trainedAt2B');
  });

  it('names the refused variable by its field path in CreateNode and UpdateNode', () => {
    const at = 'node.spec.checkpoint.input_variables';
    const cases: Array<[what: string, inputs: Variable[], fields: string[]]> = [
      ['a camelCase name', [{ name: 'x', type: 'int' }, { name: 'aB', type: 'int' }], [`${at}[1].name`]],
      ['a Python keyword', [{ name: 'class', type: 'str' }], [`${at}[0].name`]],
      ['the same JSON name', [{ name: 'a_1', type: 'int' }, { name: 'a1', type: 'int' }], [`${at}[1].name`]],
      ['the same JSON name, further apart', [{ name: 'a_b1', type: 'int' }, { name: 'x', type: 'int' }, { name: 'a_b_1', type: 'int' }], [`${at}[2].name`]],
      ['declared twice', [{ name: 'x', type: 'int' }, { name: 'x', type: 'str' }], [`${at}[1].name`]],
      ['a name starting with a digit', [{ name: '1x', type: 'int' }], [`${at}[0].name`]],
    ];
    for (const [what, inputs, fields] of cases) assert.deepEqual(refused(checkpointNode(inputs)).map(([f]) => f), fields, what);
    const [[, message]] = refused(checkpointNode([{ name: 'a_1', type: 'int' }, { name: 'a1', type: 'int' }])) as [[string, string]];
    assert.match(message, /"a1" has the JSON name "a1", as node\.spec\.checkpoint\.input_variables\[0\] "a_1" has/);
  });

  it('lets an input and an output share a name (they are fields of two messages)', () => {
    assert.deepEqual(refused(checkpointNode([{ name: 'x', type: 'int' }], [{ name: 'x', type: 'int' }])), []);
  });

  it('checks outputs as inputs', () => {
    assert.deepEqual(
      refused(checkpointNode([], [{ name: 'y', type: 'int' }, { name: 'out_v', type: 'int' }, { name: 'outV', type: 'int' }, { name: 'def', type: 'int' }])).map(([f]) => f),
      ['node.spec.checkpoint.output_variables[2].name', 'node.spec.checkpoint.output_variables[3].name'],
    );
  });
});

describe('node API names', () => {
  it('are made of the folder and node names, with a version suffix and a matching file path', () => {
    assert.deepEqual(nodeApiNames('team-a', 'price-model'), {
      package: 'berth.nodes.team_a.price_model.v1',
      service: 'PriceModelService',
      file: 'berth/nodes/team_a/price_model/v1/api.proto',
    });
    assert.deepEqual(nodeApiNames('ml', 'm2-x'), { package: 'berth.nodes.ml.m2_x.v1', service: 'M2XService', file: 'berth/nodes/ml/m2_x/v1/api.proto' });
  });

  it('keep clear of "__" and of words a language reserves, one to one', () => {
    const cases: Array<[label: string, component: string]> = [
      ['xn--p1ai', 'xn_h2_p1ai'],
      ['a---b-c', 'a_h3_b_c'],
      ['a-h2', 'a_hh2'],
      ['h2', 'hh2'],
      // "default" is a C++ and Java keyword: `namespace default` and `package berth.nodes.default` do not compile.
      ['default', 'default_pb'],
      ['default-pb', 'default_pb_pb'],
      ['class', 'class_pb'],
      ['linux', 'linux_pb'],
      ['import', 'import_pb'],
      ['fun', 'fun_pb'],
      ['defaults', 'defaults'],
      ['price-model', 'price_model'],
    ];
    for (const [label, component] of cases) assert.equal(packageComponent(label), component, label);
    assert.equal(nodeApiNames('default', 'price-model').file, 'berth/nodes/default_pb/price_model/v1/api.proto');
  });

  it('differ for the same node name in two folders', () => {
    assert.notEqual(nodeApiNames('team-a', 'model').package, nodeApiNames('team-b', 'model').package);
  });

  it('never give two folder and node name pairs the same package', () => {
    // Every DNS label of up to 5 characters over a small alphabet, as folder and as node name.
    const labels: string[] = [];
    const grow = (prefix: string): void => {
      if (prefix.length > 0 && !prefix.endsWith('-')) labels.push(prefix);
      if (prefix.length === 5) return;
      for (const c of prefix === '' ? ['a', 'h'] : ['a', 'h', '1', '-']) grow(prefix + c);
    };
    grow('');
    labels.push('default', 'default-pb', 'default-pb-pb', 'do', 'do-pb', 'as', 'as-pb', 'in', 'if-pb-pb');
    assert.equal(new Set(labels.map(packageComponent)).size, new Set(labels).size, 'two labels share a component');
    const seen = new Map<string, string>();
    const sample = labels.filter((l, i) => i % 29 === 0 || l.includes('pb') || l.includes('--'));
    for (const folder of sample)
      for (const node of labels) {
        const p = nodeApiNames(folder, node).package;
        const pair = `${folder}/${node}`;
        assert.equal(seen.get(p) ?? pair, pair, `${pair} and ${seen.get(p)} share ${p}`);
        seen.set(p, pair);
        assert.match(p, /^berth\.nodes(\.[a-z][a-z0-9]*(_[a-z0-9]+)*){2}\.v1$/, p);
      }
    assert.ok(seen.size > 3000, `only ${seen.size} pairs`);
  });
});

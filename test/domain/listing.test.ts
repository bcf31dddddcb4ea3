import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/domain/errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decodePageToken, encodePageToken, pageSize, parseFilter, type FilterClause } from '../../src/domain/listing';

/** The field and description of the ValidationError that `fn` throws. */
function refusal(fn: () => unknown): { field: string; description: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.violations.length, 1);
    return err.violations[0]!;
  }
  return assert.fail('accepted');
}

describe('parseFilter', () => {
  const allowed = ['name', 'kind', 'state', 'resource_id'];
  const cases: Array<[filter: string, clauses: FilterClause[]]> = [
    ['', []],
    ['   ', []],
    ['name = "web"', [{ field: 'name', op: 'eq', value: 'web' }]],
    ['name="web"', [{ field: 'name', op: 'eq', value: 'web' }]],
    ['name:"we"', [{ field: 'name', op: 'prefix', value: 'we' }]],
    ['name : "we"', [{ field: 'name', op: 'prefix', value: 'we' }]],
    ['kind = docker', [{ field: 'kind', op: 'eq', value: 'docker' }]],
    ['state = HEALTHY', [{ field: 'state', op: 'eq', value: 'HEALTHY' }]],
    ['resource_id = nd1-x.y', [{ field: 'resource_id', op: 'eq', value: 'nd1-x.y' }]],
    ['name = ""', [{ field: 'name', op: 'eq', value: '' }]],
    ['name = "a\\"b"', [{ field: 'name', op: 'eq', value: 'a"b' }]],
    ['name = "a\\\\b"', [{ field: 'name', op: 'eq', value: 'a\\b' }]],
    [
      '  name:"w"   AND  kind = docker ',
      [
        { field: 'name', op: 'prefix', value: 'w' },
        { field: 'kind', op: 'eq', value: 'docker' },
      ],
    ],
    [
      'name = "a" AND kind = docker AND state = HEALTHY',
      [
        { field: 'name', op: 'eq', value: 'a' },
        { field: 'kind', op: 'eq', value: 'docker' },
        { field: 'state', op: 'eq', value: 'HEALTHY' },
      ],
    ],
    // Regression: the filter was split on " AND " before it was parsed, so a
    // quoted value holding " AND " could not be written.
    ['name = "salt AND pepper"', [{ field: 'name', op: 'eq', value: 'salt AND pepper' }]],
    [
      'name:"a AND b" AND kind = docker',
      [
        { field: 'name', op: 'prefix', value: 'a AND b' },
        { field: 'kind', op: 'eq', value: 'docker' },
      ],
    ],
  ];
  for (const [filter, clauses] of cases) {
    it(`parses ${JSON.stringify(filter)}`, () => assert.deepEqual(parseFilter(filter, allowed), clauses));
  }

  const bad: Array<[filter: string, description: RegExp]> = [
    ['colour = "red"', /cannot filter on "colour"; use one of name, kind, state, resource_id/],
    ['Name = "x"', /cannot parse/],
    ['name', /cannot parse "name"/],
    ['name = ', /cannot parse/],
    ['name = "unterminated', /cannot parse/],
    ['name == "x"', /cannot parse/],
    ['name = two words', /cannot parse/],
    ['name = "x" OR kind = docker', /cannot parse/],
    ['name = "x" and kind = docker', /cannot parse/],
    ['name = "x" AND', /cannot parse/],
    ['name = "x"AND kind = docker', /cannot parse/],
    ['name = "x" AND colour = red', /cannot filter on "colour"/],
    ['name = "x" AND ???', /cannot parse "\?\?\?"/],
  ];
  for (const [filter, description] of bad) {
    it(`refuses ${JSON.stringify(filter)}, naming the filter field`, () => {
      const v = refusal(() => parseFilter(filter, allowed));
      assert.equal(v.field, 'filter');
      assert.match(v.description, description);
    });
  }

  it('names the field it is given', () => {
    assert.equal(refusal(() => parseFilter('x = 1', ['name'], 'request.filter')).field, 'request.filter');
  });
});

describe('pageSize', () => {
  const cases: Array<[size: number, expected: number | null]> = [
    [0, DEFAULT_PAGE_SIZE],
    [1, 1],
    [100, 100],
    [MAX_PAGE_SIZE, MAX_PAGE_SIZE],
    [MAX_PAGE_SIZE + 1, null],
    [-1, null],
    [2.5, null],
  ];
  for (const [size, expected] of cases) {
    it(`${size} → ${expected ?? 'refused'}`, () => {
      if (expected !== null) assert.equal(pageSize({ pageSize: size, pageToken: '' }), expected);
      else {
        const v = refusal(() => pageSize({ pageSize: size, pageToken: '' }));
        assert.equal(v.field, 'page_size');
        assert.match(v.description, new RegExp(`is ${size}; must be from 0 to ${MAX_PAGE_SIZE}`));
      }
    });
  }
});

describe('page tokens', () => {
  const query = 'nodes|fl1|name:"w"';

  it('round-trip within the query that made them', () => {
    const token = encodePageToken('nd123', query);
    assert.match(token, /^[A-Za-z0-9_-]+$/, 'URL-safe, so it can go in a query string as is');
    assert.equal(decodePageToken(token, query), 'nd123');
  });

  it('an empty token starts at the beginning', () => {
    assert.equal(decodePageToken('', query), undefined);
  });

  it('are bound to their query: another folder or filter is refused', () => {
    const token = encodePageToken('nd123', query);
    for (const other of ['nodes|fl2|name:"w"', 'nodes|fl1|', 'aliases|fl1|name:"w"']) {
      const v = refusal(() => decodePageToken(token, other));
      assert.equal(v.field, 'page_token');
      assert.match(v.description, /different folder or filter/);
    }
  });

  const garbage = ['zzz', '!!!', Buffer.from('null').toString('base64url'), Buffer.from('42').toString('base64url'), Buffer.from('{"after":1,"query":"q"}').toString('base64url'), Buffer.from('{"after":"x"}').toString('base64url')];
  for (const token of garbage) {
    it(`refuses the token ${JSON.stringify(token)}, naming the field it is given`, () => {
      const v = refusal(() => decodePageToken(token, query, 'request.page_token'));
      assert.equal(v.field, 'request.page_token');
      assert.match(v.description, /not a token returned by this method/);
    });
  }
});

/**
 * A web page the user visits must not be able to turn Berth against them.
 * Headless Chromium (Debian's `chromium`, driven by playwright-core) loads a
 * page from another origin (a server on another loopback port) whose script
 * tries what any page can: `fetch` with a `text/plain` JSON body (`no-cors`
 * and `cors`), form posts (urlencoded and `text/plain`), a JSON `fetch`
 * (which needs a preflight), and DNS rebinding (`rebind.test` resolved to
 * 127.0.0.1 by `--host-resolver-rules`, the page served under that name on
 * Berth's own port, so that its calls are same-origin and carry
 * `Host: rebind.test:<port>`) — against the REST API and the node API.
 * Nothing is created (a trusted client lists before and after), no instance
 * is reached, and what the page could see is a refusal. With `--cors-origin`
 * naming the page's origin, its JSON fetch works.
 *
 * Chromium's own Local Network Access checks are switched off: they stop a
 * page it takes for public (as it takes the rebinding page, whose document
 * did not come from loopback) from reaching loopback, but other browsers
 * have no such check and a user may allow the access. What stops the page
 * here is Berth alone.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import type { Browser, Page } from 'playwright-core';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { chromiumAvailable, launchChromium } from '../helpers/chromium';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { buildTestImages } from '../images/test-images';

const PAGE = '<!doctype html><html><head><title>cat pictures</title></head><body><p>Nothing to see here.</p></body></html>';

/** What Berth answered, as the browser's network stack saw it (the page itself may see less). */
interface Answer {
  method: string;
  url: string;
  status: number;
}

/** What the page's script could observe of one `fetch`. */
type Observed = { type: string; status: number; text: string } | { error: string };

/** The attacker's site: one page, on its own loopback port. */
async function startAttackerSite(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A page at `url` (served by the attacker, whatever the host), recording every answer its requests got. */
async function openPage(browser: Browser, url: string, answers: Answer[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('response', (r) => answers.push({ method: r.request().method(), url: r.url(), status: r.status() }));
  if (!url.startsWith('http://127.0.0.1')) {
    // Under a rebinding name the document comes from the attacker's server, as it would before the DNS answer flips.
    await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
  }
  await page.goto(url);
  return page;
}

/** Runs `fetch(url, init)` in the page and returns what its script could see. */
function pageFetch(page: Page, url: string, init: { method?: string; mode?: 'cors' | 'no-cors'; headers?: Record<string, string>; body?: string }): Promise<Observed> {
  return page.evaluate(async ({ url, init }) => {
    try {
      const res = await fetch(url, init);
      return { type: res.type, status: res.status, text: await res.text() };
    } catch (err) {
      return { error: String(err) };
    }
  }, { url, init });
}

/**
 * Submits a hidden form (into a hidden frame, as an attack page would) and
 * returns the status Berth answered, which the page itself cannot read.
 * `name` and `value` make a text/plain body `name=value`: the classic way to
 * post JSON from a form (`{"name":"x","pad":"` + `=` + `"}`).
 */
async function formPost(page: Page, action: string, enctype: string, name: string, value: string): Promise<number> {
  const answered = page.waitForResponse((r) => r.url() === action && r.request().method() === 'POST');
  await page.evaluate(({ action, enctype, name, value }) => {
    // Runs in the page (the DOM's types are not in this project's lib).
    const document = (globalThis as any).document;
    const frame = document.createElement('iframe');
    frame.name = `sink-${Math.random()}`;
    frame.style.display = 'none';
    document.body.append(frame);
    const form = document.createElement('form');
    Object.assign(form, { method: 'POST', action, enctype, target: frame.name });
    const input = document.createElement('input');
    Object.assign(input, { type: 'hidden', name, value });
    form.append(input);
    document.body.append(form);
    form.submit();
  }, { action, enctype, name, value });
  return (await answered).status();
}

function isRefusal(o: Observed): boolean {
  // An opaque answer (no-cors) shows nothing; a CORS failure is a TypeError; a readable one must be a refusal.
  if ('error' in o) return /TypeError|Failed to fetch/.test(o.error);
  if (o.type === 'opaque') return o.status === 0 && o.text === '';
  return o.status === 401 || o.status === 403 || o.status === 415;
}

/** The headers of a trusted caller: the server admin's key when keys are on. */
function trusted(t: TestBerth): Record<string, string> {
  return t.config.auth === 'keys' ? { authorization: `Bearer ${readFileSync(path.join(t.config.dataDir, 'admin.key'), 'utf8').trim()}` } : {};
}

async function folderNames(t: TestBerth): Promise<string[]> {
  const res = await rest(t.http, 'GET', '/v1/folders?page_size=1000', undefined, trusted(t));
  assert.equal(res.status, 200);
  return (res.body.folders as { name: string }[]).map((f) => f.name).sort();
}

/** Every answer Berth gave on `port` was a refusal: nothing the page sent was carried out. */
function assertAllRefused(answers: Answer[], port: number): void {
  const onBerth = answers.filter((a) => new URL(a.url).port === String(port));
  assert.ok(onBerth.length > 0, 'the attacks reached Berth');
  for (const a of onBerth) assert.ok(a.status === 403 || a.status === 415, `${a.method} ${a.url} was answered ${a.status}`);
}

for (const auth of ['keys', 'none'] as const) describe(`a web page cannot turn Berth against its user (headless Chromium, --auth ${auth})`, () => {
  let skip = false;
  let docker = false;
  let attacker: Awaited<ReturnType<typeof startAttackerSite>> | undefined;
  let berth: TestBerth | undefined;
  let withCors: TestBerth | undefined;
  let browser: Browser | undefined;
  const clusterId = `br${randomBytes(4).toString('hex')}`;
  /** A Docker node whose instance would exit on `POST /exit`; a made-up id without Docker (refusals come before routing). */
  let nodeId = 'nd0000000000000000000';

  before(async () => {
    if (!chromiumAvailable()) {
      skip = true;
      return;
    }
    attacker = await startAttackerSite();
    docker = await dockerAvailable();
    const images = docker ? await buildTestImages() : undefined;
    berth = await startTestBerth('sqlite', docker ? { runtime: 'docker', clusterId, startupTimeoutMs: 30_000, auth } : { auth });
    withCors = await startTestBerth('sqlite', { corsOrigins: [attacker.origin], auth });
    browser = await launchChromium('MAP rebind.test 127.0.0.1', ['--disable-features=LocalNetworkAccessChecks']);
    if (images !== undefined) {
      const created = await rest(berth!.http, 'POST', '/v1/nodes', {
        folderId: 'default',
        name: 'victim',
        spec: {
          docker: {
            image: images.http,
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
          },
          instanceRange: { min: 1, max: 1 },
        },
      }, trusted(berth!));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const op = await rest(berth!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' }, trusted(berth!));
      assert.equal(op.body.done, true, JSON.stringify(op.body));
      assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
      nodeId = op.body.resourceId;
    }
  });

  after(async () => {
    await browser?.close();
    await berth?.close();
    await withCors?.close();
    await attacker?.close();
    if (docker) await removeByClusterId(clusterId);
  });

  it('creates nothing through the REST API from another origin: text/plain fetch (no-cors and cors), form posts, a JSON fetch', async (t) => {
    if (skip) return t.skip('no Chromium');
    const folders = `${berth!.http}/v1/folders`;
    const before = await folderNames(berth!);
    const answers: Answer[] = [];
    const page = await openPage(browser!, `${attacker!.origin}/`, answers);
    const body = (name: string) => JSON.stringify({ name });
    const observed: Record<string, Observed> = {
      noCors: await pageFetch(page, folders, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: body('attack-no-cors') }),
      cors: await pageFetch(page, folders, { method: 'POST', mode: 'cors', headers: { 'content-type': 'text/plain' }, body: body('attack-cors') }),
      noType: await pageFetch(page, folders, { method: 'POST', mode: 'no-cors', body: body('attack-no-type') }),
      json: await pageFetch(page, folders, { method: 'POST', mode: 'cors', headers: { 'content-type': 'application/json' }, body: body('attack-json') }),
      read: await pageFetch(page, folders, { mode: 'cors' }),
    };
    for (const [label, o] of Object.entries(observed)) assert.ok(isRefusal(o), `${label}: the page saw ${JSON.stringify(o)}`);
    assert.ok('error' in observed.json!, 'the JSON fetch fails at its preflight');
    assert.ok('error' in observed.read!, 'the page cannot read the folder list');

    assert.equal(await formPost(page, folders, 'text/plain', '{"name":"attack-text-form","pad":"', '"}'), 403);
    assert.equal(await formPost(page, folders, 'application/x-www-form-urlencoded', '{"name":"attack-url-form","pad":"', '"}'), 403);
    assertAllRefused(answers, berth!.berth.httpPort);
    await page.close();
    assert.deepEqual(await folderNames(berth!), before);
  });

  it('creates nothing through DNS rebinding: the same calls made same-origin under a name that resolves to 127.0.0.1', async (t) => {
    if (skip) return t.skip('no Chromium');
    const port = berth!.berth.httpPort;
    const before = await folderNames(berth!);
    const answers: Answer[] = [];
    const page = await openPage(browser!, `http://rebind.test:${port}/cats`, answers);
    assert.equal(await page.evaluate(() => (globalThis as any).location.origin), `http://rebind.test:${port}`);
    // Same-origin: no preflight, every header allowed, every answer readable — if Berth answered.
    const create = await pageFetch(page, '/v1/folders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'attack-rebind' }) });
    const read = await pageFetch(page, '/v1/folders', {});
    for (const o of [create, read]) {
      assert.ok(!('error' in o) && o.status === 403, `the page saw ${JSON.stringify(o)}`);
      assert.match((o as { text: string }).text, /is not served here/);
      assert.doesNotMatch((o as { text: string }).text, /"folders"/);
    }
    assertAllRefused(answers.filter((a) => !a.url.endsWith('/cats')), port);
    await page.close();
    assert.deepEqual(await folderNames(berth!), before);
  });

  it('reaches no instance through the node API, from another origin or by rebinding', async (t) => {
    if (skip) return t.skip('no Chromium');
    const port = berth!.berth.nodeApiPort;
    const nodeApi = `http://127.0.0.1:${port}`;
    const route = { 'x-node-id': nodeId };
    const answers: Answer[] = [];
    const page = await openPage(browser!, `${attacker!.origin}/`, answers);
    const observed: Record<string, Observed> = {
      cors: await pageFetch(page, `${nodeApi}/exit`, { method: 'POST', mode: 'cors', headers: route }),
      // no-cors drops the routing header, and the page sees nothing either way.
      noCors: await pageFetch(page, `${nodeApi}/exit`, { method: 'POST', mode: 'no-cors', headers: { ...route, 'content-type': 'text/plain' }, body: 'x' }),
      read: await pageFetch(page, `${nodeApi}/whoami`, { mode: 'cors', headers: route }),
    };
    for (const [label, o] of Object.entries(observed)) assert.ok(isRefusal(o), `${label}: the page saw ${JSON.stringify(o)}`);
    assert.equal(await formPost(page, `${nodeApi}/exit`, 'text/plain', 'x-node-id', nodeId), 403);
    assertAllRefused(answers, port);
    await page.close();

    const rebound: Answer[] = [];
    const same = await openPage(browser!, `http://rebind.test:${port}/cats`, rebound);
    for (const o of [
      await pageFetch(same, '/exit', { method: 'POST', headers: route }),
      await pageFetch(same, '/whoami', { headers: route }),
    ]) {
      assert.ok(!('error' in o) && o.status === 403, `the page saw ${JSON.stringify(o)}`);
      assert.match((o as { text: string }).text, /is not served here/);
    }
    assertAllRefused(rebound.filter((a) => !a.url.endsWith('/cats')), port);
    await same.close();

    if (!docker) return t.skip('no Docker engine: the refusals were checked, not an instance');
    // The instance answers a trusted caller, and never logged an exit.
    const whoami = await fetch(`${nodeApi}/whoami`, { headers: { ...route, ...trusted(berth!) } });
    assert.equal(whoami.status, 200);
    const docker_ = new Dockerode();
    const containers = await docker_.listContainers({ all: true, filters: { label: [`berth.run_id=${clusterId}`, `berth.node_id=${nodeId}`] } });
    assert.equal(containers.length, 1);
    assert.equal(containers[0]!.State, 'running');
    const logs = (await docker_.getContainer(containers[0]!.Id).logs({ stdout: true, stderr: true })).toString();
    assert.doesNotMatch(logs, /exiting with code/);
  });

  it('lets a page of an origin named by --cors-origin call the API with JSON, and still refuses its text/plain bodies', async (t) => {
    if (skip) return t.skip('no Chromium');
    const folders = `${withCors!.http}/v1/folders`;
    const answers: Answer[] = [];
    const page = await openPage(browser!, `${attacker!.origin}/`, answers);
    // The app's page holds a key of its own when keys are on (here the admin's).
    const key = trusted(withCors!);
    const created = await pageFetch(page, folders, { method: 'POST', mode: 'cors', headers: { 'content-type': 'application/json', 'x-request-id': 'from-the-page', ...key }, body: JSON.stringify({ name: 'from-the-app' }) });
    assert.ok(!('error' in created), JSON.stringify(created));
    assert.equal(created.status, 200, created.text);
    assert.equal(JSON.parse(created.text).name, 'from-the-app');
    const listed = await pageFetch(page, folders, { mode: 'cors', headers: key });
    assert.ok(!('error' in listed) && listed.status === 200 && listed.text.includes('from-the-app'), JSON.stringify(listed));
    // A simple request from the same page is still not taken as JSON. A no-cors request carries no
    // authorization header (the browser drops it): with keys on it is refused as unauthenticated first.
    const plain = await pageFetch(page, folders, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain', ...key }, body: JSON.stringify({ name: 'plain-text' }) });
    assert.ok(isRefusal(plain), JSON.stringify(plain));
    assert.equal(answers.find((a) => a.method === 'POST' && a.status !== 200 && a.url === folders)?.status, auth === 'keys' ? 401 : 415);
    await page.close();
    const names = await folderNames(withCors!);
    assert.ok(names.includes('from-the-app'));
    assert.ok(!names.includes('plain-text'));
  });
});

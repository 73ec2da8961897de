// The demo page and /wshub.js in a real browser: Debian's headless Chromium, driven by
// playwright-core, against a wshub started here on a free loopback port.
//   node wshub_browser_test.mjs path/to/wshub
// playwright-core is looked for in $WSHUB_BROWSER_TEST_MODULES (default where
// scripts/install-deps.sh --test puts it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const binary = process.argv[2];
assert.ok(binary, 'usage: node wshub_browser_test.mjs path/to/wshub');
const modules = process.env.WSHUB_BROWSER_TEST_MODULES ?? '/usr/local/lib/wshub-browser-test';
const { chromium } = createRequire(path.join(modules, 'node_modules', '/'))('playwright-core');

const WAIT = 10_000; // any one wait; every wait is bounded
const TEST_TIMEOUT = 60_000;
const MAX_MESSAGE_SIZE = 4096; // a larger message from a page makes the hub close it (1009)

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A wshub process on 127.0.0.1; port 0 lets the kernel choose (read back from the log).
async function startHub(port = 0, extraArgs = []) {
  const args = ['--address', '127.0.0.1', '--port', String(port), '--threads', '1', '--log-level', 'info',
                '--max-message-size', String(MAX_MESSAGE_SIZE), ...extraArgs];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let log = '';
  const listening = new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/wshub listening on 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    exited.then((how) => reject(new Error(`wshub exited (${JSON.stringify(how)}) before listening:\n${log}`)));
  });
  const actual = await withTimeout(listening, WAIT, 'wshub reports its port');
  return {
    port: actual,
    http: `http://127.0.0.1:${actual}`,
    ws: `ws://127.0.0.1:${actual}`,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      try {
        await withTimeout(exited, WAIT, 'wshub exits on SIGTERM');
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
    },
  };
}

async function post(hub, apiPath, body) {
  const res = await withTimeout(fetch(`${hub.http}${apiPath}`, { method: 'POST', body: JSON.stringify(body) }),
                                WAIT, `POST ${apiPath}`);
  const answer = await res.json();
  assert.equal(res.status, 200, `POST ${apiPath} ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
  return answer;
}

let context;
let userDataDir;
const pageErrors = [];

before(async () => {
  userDataDir = mkdtempSync(path.join(tmpdir(), 'wshub-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  context.setDefaultTimeout(WAIT);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function newPage(url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
  await page.goto(url);
  return page;
}

// The data of the messages the demo page shows, oldest first, with seq and channel.
function shown(page) {
  return page.$$eval('#messages tr[data-seq]', (rows) =>
    rows.reverse().map((r) => ({ seq: Number(r.dataset.seq), channel: r.dataset.channel,
                                 data: r.lastChild.textContent })));
}

function waitForShown(page, data) {
  return page.waitForFunction(
    (text) => [...document.querySelectorAll('#messages tr[data-seq]')].some((r) => r.lastChild.textContent === text),
    data, { timeout: WAIT });
}

test('the demo page: one page sends and the other receives; a publish shows up in both', { timeout: TEST_TIMEOUT },
     async () => {
  const hub = await startHub();
  try {
    const alice = await newPage(`${hub.http}/?user_id=alice&channels=news&connect`);
    const bob = await newPage(`${hub.http}/?user_id=bob&channels=news,sport&connect`);
    for (const page of [alice, bob]) await page.waitForFunction(() => document.querySelector('#state').textContent === 'open', null, { timeout: WAIT });
    assert.match(await alice.textContent('#curl'), new RegExp(`^curl -X POST ${hub.http}/api/publish -d '\\{"data":"hello","channel":"news"\\}'$`));

    // (a) bob sends through the form; both see it (the sender too), on the all-clients stream.
    await bob.fill('#text', 'hello from bob');
    await bob.click('#send');
    for (const page of [alice, bob]) await waitForShown(page, 'hello from bob');

    // (b) the publish API, to everyone and to a channel both are on.
    const everyone = await post(hub, '/api/publish', { data: 'from the backend' });
    const news = await post(hub, '/api/publish', { data: 'news flash', channel: 'news' });
    assert.equal(everyone.delivered, 2);
    assert.equal(news.delivered, 2);
    for (const page of [alice, bob]) {
      await waitForShown(page, 'news flash');
      await waitForShown(page, 'from the backend');
      const rows = await shown(page);
      assert.deepEqual(rows.map((r) => r.data), ['hello from bob', 'from the backend', 'news flash']);
      assert.deepEqual(rows.slice(1), [{ seq: everyone.id, channel: '', data: 'from the backend' },
                                       { seq: news.id, channel: 'news', data: 'news flash' }]);
    }
    assert.deepEqual(pageErrors, []);
  } finally {
    await hub.stop();
  }
});

// A page with a WshubClient of its own whose automatic reconnect waits an hour: the test says when
// it reconnects (connect()), so what is published while it is away is published before it is back.
async function clientPage(hub, userId, channels) {
  const page = await newPage(`${hub.http}/`);
  const frames = []; // every frame the hub sent this page, as the browser received it
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  await page.evaluate(async ({ userId, channels }) => {
    const { WshubClient } = await import('/wshub.js');
    window.received = [];
    window.states = [];
    window.gaps = [];
    const client = new WshubClient({ userId, channels, backoff: { min: 3_600_000, max: 3_600_000 } });
    client.addEventListener('message', (e) => window.received.push(e.detail));
    client.addEventListener('state', (e) => window.states.push(e.detail));
    client.addEventListener('gap', (e) => window.gaps.push(e.detail));
    window.client = client;
    client.connect();
  }, { userId, channels });
  await waitForState(page, 'open');
  return { page, frames };
}

async function waitForState(page, state) {
  await page.waitForFunction((s) => window.client.state === s, state, { timeout: WAIT });
  return page.evaluate(() => window.states.at(-1));
}

function waitForReceived(page, data) {
  return page.waitForFunction((d) => window.received.some((m) => m.data === d), data, { timeout: WAIT });
}

const received = (page) => page.evaluate(() => window.received.map(({ seq, channel, data, replayed }) => ({ seq, channel, data, replayed })));

test('the client: after the hub drops it, it reconnects and gets what it missed, in order, once', { timeout: TEST_TIMEOUT },
     async () => {
  let hub = await startHub();
  try {
    const { page, frames } = await clientPage(hub, 'carol', ['news']);
    const live = [await post(hub, '/api/publish', { data: 'before-1' }),
                  await post(hub, '/api/publish', { data: 'before-2', channel: 'news' })];
    await waitForReceived(page, 'before-2');

    // The hub drops the connection: a message over --max-message-size is closed with 1009.
    await page.evaluate((n) => window.client.send('x'.repeat(n)), MAX_MESSAGE_SIZE + 1);
    assert.equal((await waitForState(page, 'reconnecting')).code, 1009);

    // Published while the page is away: the all-clients stream and the channel, interleaved.
    const away = [await post(hub, '/api/publish', { data: 'away-1' }),
                  await post(hub, '/api/publish', { data: 'away-2', channel: 'news' }),
                  await post(hub, '/api/publish', { data: 'away-3' })];
    await page.evaluate(() => window.client.connect());
    await waitForState(page, 'open');
    await waitForReceived(page, 'away-3');
    const later = await post(hub, '/api/publish', { data: 'after' });
    await waitForReceived(page, 'after');

    assert.deepEqual(await received(page), [
      { seq: live[0].id, channel: null, data: 'before-1', replayed: false },
      { seq: live[1].id, channel: 'news', data: 'before-2', replayed: false },
      { seq: away[0].id, channel: null, data: 'away-1', replayed: true },
      { seq: away[1].id, channel: 'news', data: 'away-2', replayed: true },
      { seq: away[2].id, channel: null, data: 'away-3', replayed: true },
      { seq: later.id, channel: null, data: 'after', replayed: false },
    ]);
    // Once on the wire too, not only after the client's own check for duplicates.
    const envelopes = frames.map((f) => JSON.parse(f));
    for (const data of ['away-1', 'away-2', 'away-3'])
      assert.equal(envelopes.filter((f) => f.data === data).length, 1, data);
    assert.deepEqual(await page.evaluate(() => window.gaps), []);

    // POST /api/disconnect (4002) is final: the client stays closed until the page connects it
    // again, and then it resumes where it was.
    await post(hub, '/api/disconnect', { user_id: 'carol' });
    assert.equal((await waitForState(page, 'closed')).code, 4002);
    const whileOut = await post(hub, '/api/publish', { data: 'while-out', channel: 'news' });
    await page.evaluate(() => window.client.connect());
    await waitForReceived(page, 'while-out');
    assert.deepEqual((await received(page)).at(-1), { seq: whileOut.id, channel: 'news', data: 'while-out', replayed: true });

    // A restart (a new epoch) cannot be recovered from: a gap event for each stream, then what the
    // new process has, from its first message on.
    const port = hub.port;
    await hub.stop();
    assert.equal((await waitForState(page, 'reconnecting')).code, 1001);
    hub = await startHub(port);
    const fresh = await post(hub, '/api/publish', { data: 'new-epoch', channel: 'news' });
    await page.evaluate(() => window.client.connect());
    await page.waitForFunction(() => window.gaps.length === 2, null, { timeout: WAIT });
    await waitForReceived(page, 'new-epoch');
    const gaps = await page.evaluate(() => window.gaps);
    assert.deepEqual(gaps.map((g) => g.channel).sort(), ['news', null].sort());
    assert.deepEqual((await received(page)).at(-1), { seq: fresh.id, channel: 'news', data: 'new-epoch', replayed: true });
    assert.deepEqual(pageErrors, []);
  } finally {
    await hub.stop();
  }
});

test('Chromium accepts the wshub.json subprotocol', { timeout: TEST_TIMEOUT }, async () => {
  const hub = await startHub();
  try {
    const page = await newPage(`${hub.http}/`);
    const result = await page.evaluate(async ({ url, wait }) => new Promise((resolve) => {
      const ws = new WebSocket(url, ['wshub.json']);
      const timer = setTimeout(() => resolve({ error: 'no first frame' }), wait);
      ws.onmessage = (e) => {
        clearTimeout(timer);
        resolve({ protocol: ws.protocol, first: JSON.parse(e.data) });
        ws.close();
      };
      ws.onclose = (e) => resolve({ error: `closed ${e.code}` });
    }), { url: `${hub.ws}/im?user_id=dave`, wait: WAIT });
    assert.equal(result.protocol, 'wshub.json', JSON.stringify(result));
    assert.equal(result.first.type, 'join');
  } finally {
    await hub.stop();
  }
});

test('Chromium negotiates permessage-deflate and gets the same messages, compressed or not', { timeout: TEST_TIMEOUT },
     async () => {
  const hub = await startHub(0, ['--compression', 'on', '--compression-min-size', '64']);
  try {
    const page = await newPage(`${hub.http}/`);
    // A page whose socket records what it received; it sends one large message of its own, which
    // Chromium compresses, so inflating is checked against a browser's deflate too.
    const own = JSON.stringify({ from: 'page', items: Array.from({ length: 40 }, (_, i) => ({ i, status: 'online' })) });
    assert.ok(own.length < MAX_MESSAGE_SIZE);
    const extensions = await page.evaluate(({ url, wait }) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      window.got = [];
      window.ws = ws;
      const timer = setTimeout(() => resolve({ error: 'not open' }), wait);
      ws.onmessage = (e) => window.got.push(e.data);
      ws.onopen = () => { clearTimeout(timer); resolve(ws.extensions); };
      ws.onclose = (e) => resolve({ error: `closed ${e.code}` });
    }), { url: `${hub.ws}/im?user_id=erin`, wait: WAIT });
    assert.match(String(extensions), /^permessage-deflate; server_no_context_takeover; client_no_context_takeover$/,
                 JSON.stringify(extensions));

    const big = JSON.stringify({ items: Array.from({ length: 30 }, (_, i) => ({ id: i, symbol: 'ACME', price: 101.25 })) });
    const sent = [big, 'small', JSON.stringify({ text: 'caf\u00e9 \u20ac '.repeat(20) })];
    for (const data of sent) await post(hub, '/api/publish', { data });
    await page.evaluate((m) => window.ws.send(m), own);
    const expected = [...sent, own];
    await page.waitForFunction((n) => window.got.length >= n, expected.length, { timeout: WAIT });
    assert.deepEqual(await page.evaluate(() => window.got), expected);
    // The connection is still open: nothing the browser sent was refused.
    assert.equal(await page.evaluate(() => window.ws.readyState), 1);
    await page.evaluate(() => window.ws.close());
    assert.deepEqual(pageErrors, []);
  } finally {
    await hub.stop();
  }
});

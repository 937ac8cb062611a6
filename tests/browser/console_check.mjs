#!/usr/bin/env node
// Drives botgate's web console in a real (headless) Chromium: the API token (from the console
// URL's #token= fragment, or typed into the page's form), sandbox chat round trip, a streamed
// reply growing in the chat (opened and grown through the API), bot cards,
// message log and its search, and the layout at desktop and phone widths. Every /api call the page
// makes is watched: each answered one carried `Authorization: Bearer <token>`, and the token is
// in no request's URL.
//
//   node tests/browser/console_check.mjs --url http://127.0.0.1:PORT/[#token=T] [--token T] \
//        --screenshots DIR [--expect-bot NAME]...
//
// Exit 0 with one JSON line of results on stdout; exit 1 with the failed step on stderr.
// Needs playwright-core (npm install in tests/browser) and /usr/bin/chromium (Debian package).

import {mkdtempSync, mkdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {randomBytes} from 'node:crypto';
import {chromium} from 'playwright-core';

const CHROMIUM = process.env.BOTGATE_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const STEP_TIMEOUT_MS = 10000;

class CheckFailed extends Error {}

function usage(message) {
  process.stderr.write(`console_check: ${message}\n` +
    'usage: node console_check.mjs --url URL [--token T] --screenshots DIR [--expect-bot NAME]...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {url: '', token: '', screenshots: '', bots: []};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!['--url', '--token', '--screenshots', '--expect-bot'].includes(key)) usage(`unknown argument ${key}`);
    if (value === undefined) usage(`${key} needs a value`);
    i++;
    if (key === '--url') args.url = value;
    else if (key === '--token') args.token = value;
    else if (key === '--screenshots') args.screenshots = value;
    else args.bots.push(value);
  }
  if (!args.url) usage('--url is required');
  if (!args.screenshots) usage('--screenshots is required');
  args.urlToken = new URLSearchParams(new URL(args.url).hash.slice(1)).get('token') || '';
  if (!args.token && !args.urlToken) usage('give the API token: --token T, or #token=T in --url');
  return args;
}

const args = parseArgs(process.argv.slice(2));
const results = {ok: false, url: args.url, steps: []};
let currentStep = 'start';

/** Runs one named step; any failure in it becomes "step <name>: <why>". */
async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  await fn();
  results.steps.push({step: name, ms: Date.now() - t0});
}

function fail(message) {
  throw new CheckFailed(message);
}

/** Waits for `locator` to be visible; fails with `what` (and the page's state) otherwise. */
async function expectVisible(locator, what, timeout = STEP_TIMEOUT_MS) {
  try {
    await locator.first().waitFor({state: 'visible', timeout});
  } catch {
    fail(`${what} did not appear within ${timeout / 1000} s`);
  }
}

const nonce = randomBytes(5).toString('hex');
const message = `hello from the browser test ${nonce}`;
const reply = `Hello, ${message}`;

const profile = mkdtempSync(join(tmpdir(), 'botgate-console-check-'));
const pageErrors = [];
const cspViolations = [];
const apiCalls = []; // {path, status, authorization}, filled as the page's /api calls finish
const token = args.urlToken || args.token;
let context;

async function run() {
  mkdirSync(args.screenshots, {recursive: true});
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: {width: 1280, height: 800},
    colorScheme: 'light',
    locale: 'en-US',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (e) => pageErrors.push(String(e?.message ?? e)));
  page.on('response', async (response) => {
    const request = response.request();
    const url = new URL(request.url());
    const sent = request.url().split('#')[0]; // what went to the server (no fragment)
    if (url.pathname.startsWith('/api/') || sent.includes(token)) {
      const headers = await request.allHeaders().catch(() => ({}));
      apiCalls.push({url: sent, path: url.pathname, status: response.status(),
        authorization: headers.authorization || ''});
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });

  await step('open the page', async () => {
    const response = await page.goto(args.url, {waitUntil: 'load'});
    if (!response || !response.ok()) fail(`GET ${args.url} answered ${response ? response.status() : 'nothing'}`);
    const csp = response.headers()['content-security-policy'] || '';
    results.csp = csp;
    await expectVisible(page.locator('#chat'), 'the sandbox chat pane');
  });

  if (args.urlToken) {
    await step('the token from the address', async () => {
      // The page takes the token from the fragment: no form, and the status loads.
      try {
        await page.waitForFunction(() => document.querySelector('#token-dialog[open]') ||
          document.getElementById('summary-ready')?.dataset.ready !== undefined,
        null, {timeout: STEP_TIMEOUT_MS});
      } catch {
        fail('the page shows no status from /api/v1/status');
      }
      if (await page.locator('#token-dialog[open]').count()) {
        fail('the page asks for the API token although the address carried it (#token=)');
      }
      const where = await page.evaluate(() => ({hash: location.hash, href: location.href}));
      if (where.hash || where.href.includes(token)) {
        fail(`the token is still in the address bar: ${where.href}`);
      }
      const kept = await page.evaluate(() => localStorage.getItem('botgate.token'));
      if (kept !== token) fail('the page did not keep the token from the address');
      results.token_from = 'url';
    });
  } else {
    await step('enter the API token', async () => {
      // The API answers 401 without the token: the page must ask for it.
      await expectVisible(page.locator('#token-dialog[open] #token-input'), 'the API token form');
      await page.fill('#token-input', args.token);
      await page.click('#token-submit');
      try {
        await page.locator('#token-dialog').waitFor({state: 'hidden', timeout: STEP_TIMEOUT_MS});
      } catch {
        const error = await page.locator('#token-error').textContent().catch(() => '');
        fail(`the token form is still open after submitting the token (${error || 'no error shown'})`);
      }
      results.token_from = 'form';
    });
  }

  await step('sandbox chat round trip', async () => {
    await page.fill('#chat-input', message);
    const posted = page.waitForResponse(
      (r) => r.url().includes('/api/v1/sandbox/messages') && r.request().method() === 'POST');
    await page.press('#chat-input', 'Enter');
    const answer = await posted;
    if (answer.status() !== 202) {
      fail(`POST /api/v1/sandbox/messages answered ${answer.status()}: ${await answer.text()}`);
    }
    const sent = JSON.parse(answer.request().postData() || '{}');
    if (!/^tab-/.test(sent.chat_id || '')) fail(`the chat_id sent was ${JSON.stringify(sent.chat_id)}`);
    results.chat_id = sent.chat_id;
    const mine = page.locator('#chat-messages .msg[data-direction="in"] .bubble', {hasText: message});
    await expectVisible(mine, `the message "${message}" in the chat pane`);
    const theirs = page.locator('#chat-messages .msg[data-direction="out"]')
      .filter({has: page.locator('.bubble', {hasText: reply})});
    await expectVisible(theirs, `the echo reply "${reply}" in the chat pane`);
    const text = (await theirs.first().locator('.bubble').textContent()).trim();
    if (text !== reply) fail(`the reply in the chat pane reads ${JSON.stringify(text)}, expected ${JSON.stringify(reply)}`);
    results.chat = {message, reply};
  });

  await step('a streamed reply grows in the chat', async () => {
    // A producer (an LLM relayed through the API) opens a stream to this chat and grows it; the
    // page shows each step as it comes, without a reload, and the end without the label.
    await page.evaluate((n) => { window.__streamCheck = n; }, nonce);
    const origin = new URL(args.url).origin;
    const call = async (method, path, body) => {
      const response = await fetch(`${origin}${path}`, {
        method,
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text);
    };
    const bubble = (text) => page.locator('#chat-messages .msg[data-direction="out"]')
      .filter({has: page.locator('.bubble', {hasText: text})});
    /** Waits until the chat shows a bot message reading exactly `text` with `outcome`. */
    const expectShown = async (text, outcome, what) => {
      try {
        await page.waitForFunction(([want, state]) => [...document.querySelectorAll(
          '#chat-messages .msg[data-direction="out"]')].some((m) =>
          m.querySelector('.bubble')?.textContent === want && m.dataset.outcome === state),
        [text, outcome], {timeout: STEP_TIMEOUT_MS});
      } catch {
        const shown = await page.locator('#chat-messages .msg[data-direction="out"]').evaluateAll(
          (ms) => ms.map((m) => `${m.dataset.outcome}: ${m.querySelector('.bubble')?.textContent}`));
        fail(`${what}: the chat shows ${JSON.stringify(shown)}`);
      }
    };
    const start = `Streaming ${nonce}: one`;
    const opened = await call('POST', '/api/v1/messages',
      {bot: 'sandbox', chat_id: results.chat_id, stream: true, text: start});
    if (opened.stream !== 'open') fail(`the stream opened as ${JSON.stringify(opened)}`);
    await expectShown(start, 'streaming', 'the stream as it opened, labelled as streaming');
    const label = (await bubble(start).first().locator('[data-field="outcome"]').textContent()).trim();
    if (label !== 'streaming…') fail(`the growing reply is labelled "${label}", expected "streaming…"`);
    const longer = `${start}, two`;
    await call('PATCH', `/api/v1/messages/${opened.id}`, {append: ', two'});
    await expectShown(longer, 'streaming', 'the stream after it grew');
    const final = `${longer}, three.`;
    await call('PATCH', `/api/v1/messages/${opened.id}`, {append: ', three.', finish: true});
    await expectShown(final, 'sent', 'the finished stream');
    const finalLabel = (await bubble(final).first().locator('[data-field="outcome"]').textContent()).trim();
    if (/streaming/.test(finalLabel)) fail(`the finished reply is still labelled "${finalLabel}"`);
    const count = await bubble(`Streaming ${nonce}`).count();
    if (count !== 1) fail(`the stream shows as ${count} messages in the chat, expected one`);
    if (await page.evaluate(() => window.__streamCheck) !== nonce) fail('the page was reloaded');
    results.stream = {id: opened.id, steps: [start, longer, final], final_label: finalLabel};
  });

  await step('bot cards', async () => {
    results.bots = {};
    for (const bot of args.bots) {
      const card = page.locator(`#bot-list [data-bot="${bot}"]`);
      await expectVisible(card, `a card for bot "${bot}"`);
      try {
        await page.locator(`#bot-list [data-bot="${bot}"][data-ready="true"]`)
          .waitFor({state: 'visible', timeout: STEP_TIMEOUT_MS});
      } catch {
        const state = await card.first().locator('[data-field="state"]').textContent().catch(() => '?');
        const error = await card.first().locator('[data-field="last_error"]').textContent().catch(() => '');
        fail(`bot "${bot}" is not shown as ready (state "${state}"${error ? `, error "${error}"` : ''})`);
      }
      const state = (await card.first().locator('[data-field="state"]').textContent()).trim();
      if (state !== 'ready') fail(`bot "${bot}" card state reads "${state}", expected "ready"`);
      results.bots[bot] = state;
    }
  });

  await step('message log shows the message and the reply', async () => {
    const rowIn = page.locator('#log-list .log-row[data-direction="in"]')
      .filter({has: page.locator('[data-field="text"]', {hasText: message})})
      .filter({hasNot: page.locator('[data-field="text"]', {hasText: reply})});
    await expectVisible(rowIn, `the log row of the message "${message}"`);
    const rowOut = page.locator('#log-list .log-row[data-direction="out"]')
      .filter({has: page.locator('[data-field="text"]', {hasText: reply})});
    await expectVisible(rowOut, `the log row of the reply "${reply}"`);
    try {
      await page.locator('#log-list .log-row[data-direction="out"][data-outcome="sent"]')
        .filter({has: page.locator('[data-field="text"]', {hasText: reply})})
        .first().waitFor({state: 'visible', timeout: STEP_TIMEOUT_MS});
    } catch {
      const outcome = await rowOut.first().locator('[data-field="outcome"]').textContent().catch(() => '?');
      fail(`the reply's log row shows outcome "${outcome.trim()}", expected "sent"`);
    }
    const outcomeText = (await rowOut.first().locator('[data-field="outcome"]').textContent()).trim();
    if (!/^sent\b/.test(outcomeText)) fail(`the reply's outcome reads "${outcomeText}", expected "sent"`);
    results.log = {
      message_outcome: await rowIn.first().getAttribute('data-outcome'),
      reply_outcome: await rowOut.first().getAttribute('data-outcome'),
    };
  });

  await step('log text search', async () => {
    const searched = page.waitForRequest((r) => {
      const u = new URL(r.url());
      return u.pathname === '/api/v1/log' && u.searchParams.get('q') === nonce;
    }, {timeout: STEP_TIMEOUT_MS}).catch(() => null);
    await page.fill('#log-q', nonce);
    if (!(await searched)) fail(`typing in the log's text search sent no /api/v1/log?q=${nonce} request`);
    // Every row shown matches; the message and the reply are both among them.
    try {
      await page.waitForFunction((n) => {
        const list = document.getElementById('log-list');
        if (!list || list.dataset.loading) return false;
        const rows = [...list.querySelectorAll('.log-row')];
        return rows.length >= 2 && rows.every((r) => r.textContent.includes(n));
      }, nonce, {timeout: STEP_TIMEOUT_MS});
    } catch {
      const texts = await page.locator('#log-list .log-row [data-field="text"]').allTextContents();
      fail(`the log search for "${nonce}" shows ${JSON.stringify(texts.slice(0, 5))}` +
        ` (${texts.length} rows), expected only the message and its reply`);
    }
    const texts = await page.locator('#log-list .log-row [data-field="text"]').allTextContents();
    if (!texts.includes(message)) fail(`the log search for "${nonce}" does not show the message`);
    if (!texts.includes(reply)) fail(`the log search for "${nonce}" does not show the reply`);
    results.search = {query: nonce, rows: texts.length};
  });

  await step('desktop screenshot', async () => {
    await page.setViewportSize({width: 1280, height: 800});
    await page.evaluate(() => window.scrollTo(0, 0));
    const path = resolve(args.screenshots, 'console-desktop.png');
    await page.screenshot({path, fullPage: true});
    results.screenshots = [path];
  });

  await step('phone layout', async () => {
    await page.setViewportSize({width: 390, height: 844});
    await page.waitForTimeout(200);
    const widths = {};
    const tabs = page.locator('#tabs .tab');
    const tabCount = await tabs.count();
    if (!tabCount || !(await tabs.first().isVisible())) fail('no section tabs at phone width');
    for (const name of ['bots', 'log', 'chat']) {
      await page.click(`#tabs .tab[data-tab="${name}"]`);
      await expectVisible(page.locator(`#${name}`), `the "${name}" section after tapping its tab`);
      const w = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      widths[name] = w;
      if (w.scrollWidth > w.innerWidth) {
        fail(`the "${name}" tab scrolls horizontally at 390 px: scrollWidth ${w.scrollWidth} > innerWidth ${w.innerWidth}`);
      }
    }
    const path = resolve(args.screenshots, 'console-phone.png');
    await page.screenshot({path});
    results.screenshots.push(path);
    results.phone = widths.chat;
  });

  await step('every API call carried the token, and no URL did', async () => {
    const answered = apiCalls.filter((c) => c.status !== 401);
    if (!answered.length) fail('the page made no /api call that was answered');
    for (const call of apiCalls) {
      if (call.url.includes(token)) fail(`the token is in a request's URL: ${call.path}`);
    }
    for (const call of answered) {
      if (call.authorization !== `Bearer ${token}`) {
        fail(`${call.path} answered ${call.status} to a request without the bearer token`);
      }
    }
    const refused = apiCalls.length - answered.length;
    // With the token in the address the page never has to ask for it.
    if (args.urlToken && refused) fail(`${refused} /api calls answered 401`);
    results.api_calls = {answered: answered.length, refused};
  });

  await step('no script errors', async () => {
    if (pageErrors.length) fail(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
    if (cspViolations.length) fail(`Content-Security-Policy violations: ${cspViolations.join(' | ')}`);
  });
}

let code = 0;
try {
  await run();
  results.ok = true;
  process.stdout.write(`${JSON.stringify(results)}\n`);
} catch (e) {
  code = 1;
  const why = e instanceof CheckFailed ? e.message : (e?.stack || String(e));
  process.stderr.write(`console_check: FAILED at step "${currentStep}": ${why}\n`);
  if (pageErrors.length) process.stderr.write(`page errors: ${pageErrors.join(' | ')}\n`);
  try {
    const page = context?.pages()[0];
    if (page) {
      const path = resolve(args.screenshots, 'console-failure.png');
      await page.screenshot({path, fullPage: true});
      process.stderr.write(`screenshot of the failure: ${path}\n`);
    }
  } catch {
    // The browser may be gone; the message above is what matters.
  }
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, {recursive: true, force: true});
}
process.exit(code);

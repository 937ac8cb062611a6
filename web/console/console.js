// botgate web console: sandbox chat, bot status and message log over botgate's JSON API
// (/api/v1/status, /api/v1/log, /api/v1/sandbox/messages). Plain ES module, no build step.
// The page is served with `Content-Security-Policy: default-src 'self'`: every element is built
// with the DOM API (never from HTML strings, which also keeps chat text from being markup).

const TOKEN_KEY = 'botgate.token';
const CHAT_ID_KEY = 'botgate.chat_id';
const USER_KEY = 'botgate.user';
const PLATFORM_KEY = 'botgate.platform';
const CHAT_TYPE_KEY = 'botgate.chat_type';

const STATUS_INTERVAL_MS = 2000;
const LONG_POLL_MS = 20000;
const REQUEST_TIMEOUT_MS = LONG_POLL_MS + 10000;
const LOG_KEEP = 500; // entries kept in the page's log view
const MAX_TEXT_BYTES = 4000; // what POST /api/v1/sandbox/messages accepts

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** el('span', {class: 'x', dataset: {field: 'a'}}, 'text', child) -> a new element. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function randomId(bytes = 6) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ------------------------------------------------------------------------------------ time

/** Milliseconds between the server's clock and ours (from status.time), so "in 5 min" is right
 *  even when this machine's clock is off. */
let clockSkewMs = 0;
const serverNow = () => Date.now() + clockSkewMs;

function parseTime(value) {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** 95_000 -> "1 min 35 s"; 6_720_000 -> "1 h 52 min"; two units at most. */
function duration(ms) {
  let s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  s %= 60;
  if (m < 10) return s ? `${m} min ${s} s` : `${m} min`;
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "in 1 h 52 min", "42 s ago", "just now". */
function relative(value) {
  const t = parseTime(value);
  if (t === null) return '';
  const diff = t - serverNow();
  if (Math.abs(diff) < 3000) return 'just now';
  return diff > 0 ? `in ${duration(diff)}` : `${duration(diff)} ago`;
}

function clockTime(value) {
  const t = parseTime(value);
  if (t === null) return '';
  return new Date(t).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'});
}

function fullTime(value) {
  const t = parseTime(value);
  return t === null ? '' : new Date(t).toLocaleString();
}

// ------------------------------------------------------------------------------------ API

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The token in the address's fragment (`#token=…`: the console URL that botgate logs at start
 *  carries it there, and a browser never sends a fragment to a server). Once read it leaves the
 *  address bar, so that it is not bookmarked, shown in a screenshot or kept in the history. */
function tokenFromFragment() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token')?.trim() || '';
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return token;
}

const fragmentToken = tokenFromFragment();
if (fragmentToken) localStorage.setItem(TOKEN_KEY, fragmentToken);

const auth = {
  token: fragmentToken || localStorage.getItem(TOKEN_KEY) || '',
  waiting: null, // the promise every caller waits on while the token form is open

  /** Opens the token form (once, however many requests got a 401) and resolves when the user
   *  has entered a token. */
  ask(rejected) {
    if (!this.waiting) {
      this.waiting = new Promise((resolve) => {
        const dialog = $('token-dialog');
        const error = $('token-error');
        error.hidden = !rejected;
        error.textContent = rejected
          ? 'That token was not accepted. Use [api] token, or the console URL in botgate\'s log.' : '';
        $('token-input').value = '';
        this.resolve = resolve;
        if (!dialog.open) dialog.showModal();
        $('token-input').focus();
      });
    }
    return this.waiting;
  },

  submit(token) {
    this.token = token;
    localStorage.setItem(TOKEN_KEY, token);
    $('forget-token').hidden = false;
    $('token-dialog').close();
    const resolve = this.resolve;
    this.waiting = null;
    this.resolve = null;
    resolve?.();
  },
};

/** fetch + JSON with the bearer token. A 401 opens the token form and retries once the user
 *  has given one; other failures throw (HttpError with the server's {"error"} text). */
async function api(path, {method = 'GET', body, signal, timeoutMs = 10000} = {}) {
  for (;;) {
    const headers = {Accept: 'application/json'};
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const onAbort = () => timeout.abort();
    signal?.addEventListener('abort', onAbort);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeout.signal,
        cache: 'no-store',
      });
    } catch (e) {
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      throw new HttpError(0, timeout.signal.aborted ? 'no answer from botgate' : 'botgate is unreachable');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (response.status === 401) {
      const hadToken = Boolean(auth.token);
      await auth.ask(hadToken);
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      continue;
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = data && typeof data.error === 'string' ? data.error : `HTTP ${response.status}`;
      throw new HttpError(response.status, message);
    }
    return data;
  }
}

const isAbort = (e) => e instanceof DOMException && e.name === 'AbortError';

/**
 * Follows /api/v1/log for one filter: a first page of the newest entries, then long polls with
 * `after` = the newest seq seen. restart() drops the request in flight and starts over (new
 * filter). onEntries(entries, reset) gets each batch; reset means "forget what you had".
 */
class LogFeed {
  constructor(params, onEntries, onState) {
    this.params = params;
    this.onEntries = onEntries;
    this.onState = onState;
    this.generation = 0;
    this.controller = null;
  }

  restart() {
    this.generation += 1;
    this.controller?.abort();
    this.controller = new AbortController();
    this.run(this.generation, this.controller.signal);
  }

  async run(generation, signal) {
    let after = null;
    let failures = 0;
    while (generation === this.generation) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(this.params())) if (value) query.set(key, value);
      const first = after === null;
      if (first) {
        query.set('limit', '200');
      } else {
        query.set('after', String(after));
        query.set('wait_ms', String(LONG_POLL_MS));
      }
      const started = Date.now();
      try {
        const page = await api(`/api/v1/log?${query}`, {signal, timeoutMs: REQUEST_TIMEOUT_MS});
        if (generation !== this.generation) return;
        failures = 0;
        const entries = Array.isArray(page?.entries) ? page.entries : [];
        const seq = Number(page?.seq) || 0;
        if (!first && seq < after) {
          // The server restarted (its seq went back): start over from its newest entries.
          after = null;
          continue;
        }
        after = Math.max(seq, ...entries.map((e) => Number(e.seq) || 0));
        this.onState('live');
        if (first || entries.length) this.onEntries(entries, first);
        // A server that answers at once with nothing is not long polling: do not spin.
        if (!first && !entries.length && Date.now() - started < 500) await sleep(1000);
      } catch (e) {
        if (isAbort(e) || generation !== this.generation) return;
        failures += 1;
        this.onState('offline', e.message);
        await sleep(Math.min(1000 * 2 ** Math.min(failures - 1, 4), 15000));
      }
    }
  }
}

/** Keeps the newest version of each log entry by id, and the seq it was first seen with (for a
 *  stable order while an entry changes from queued to sent). */
class EntryStore {
  constructor() {
    this.clear();
  }

  clear() {
    this.byId = new Map();
    this.firstSeq = new Map();
  }

  merge(entries) {
    let changed = false;
    for (const entry of entries) {
      if (!entry || typeof entry.id !== 'string') continue;
      const seq = Number(entry.seq) || 0;
      const old = this.byId.get(entry.id);
      if (old && (Number(old.seq) || 0) >= seq) continue;
      this.byId.set(entry.id, entry);
      if (!this.firstSeq.has(entry.id) || this.firstSeq.get(entry.id) > seq) {
        this.firstSeq.set(entry.id, seq);
      }
      changed = true;
    }
    return changed;
  }

  order(id) {
    return this.firstSeq.get(id) ?? 0;
  }

  /** Drops the oldest entries beyond `keep`. */
  trim(keep) {
    if (this.byId.size <= keep) return;
    const ids = [...this.byId.keys()].sort((a, b) => this.order(a) - this.order(b));
    for (const id of ids.slice(0, ids.length - keep)) {
      this.byId.delete(id);
      this.firstSeq.delete(id);
    }
  }
}

function outcomeText(entry) {
  switch (entry.outcome) {
    case 'retrying':
      return entry.attempts ? `retrying (attempt ${entry.attempts})` : 'retrying';
    case 'failed':
      return 'failed';
    case 'streaming':
      // A streamed reply still growing: its text is what it has so far.
      return 'streaming…';
    default:
      return entry.outcome || '';
  }
}

// ------------------------------------------------------------------------------------ status

const statusView = {
  platforms: [],
  lastOk: 0,
  inFlight: false,
  again: false,

  async refresh() {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      const status = await api('/api/v1/status');
      const t = parseTime(status.time);
      if (t !== null) clockSkewMs = t - Date.now();
      this.lastOk = Date.now();
      this.render(status);
    } catch (e) {
      if (!isAbort(e)) this.renderOffline(e.message);
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  },

  /** A refresh soon, not one per log entry. */
  soon() {
    clearTimeout(this.soonTimer);
    this.soonTimer = setTimeout(() => this.refresh(), 150);
  },

  renderOffline(message) {
    const pill = $('summary-ready');
    pill.textContent = 'offline';
    pill.className = 'pill bad';
    pill.title = message;
    $('bots-updated').textContent = this.lastOk ? `not updated since ${clockTime(new Date(this.lastOk).toISOString())}` : '';
  },

  render(status) {
    const bots = Array.isArray(status.bots) ? status.bots : [];
    const ready = bots.filter((b) => b.ready).length;
    const pill = $('summary-ready');
    pill.title = '';
    pill.dataset.ready = String(Boolean(status.ready));
    if (status.ready) {
      pill.textContent = bots.length === 1 ? 'ready' : `all ${bots.length} bots ready`;
      pill.className = 'pill ok';
    } else {
      pill.textContent = `${ready} of ${bots.length} bots ready`;
      pill.className = 'pill warn';
    }
    const started = parseTime(status.started_at);
    $('summary-uptime').textContent = started === null ? '' : `up ${duration(serverNow() - started)}`;
    $('summary-uptime').title = started === null ? '' : `started ${fullTime(status.started_at)}`;
    const badge = $('bots-badge');
    badge.hidden = ready === bots.length;
    badge.textContent = String(bots.length - ready);
    badge.title = `${bots.length - ready} not ready`;
    $('bots-updated').textContent = `updated ${clockTime(status.time) || clockTime(new Date().toISOString())}`;

    const list = $('bot-list');
    const cards = new Map([...list.children].map((c) => [c.dataset.bot, c]));
    const wanted = bots.map((bot) => {
      const fresh = botCard(bot);
      const old = cards.get(bot.name);
      // Same content: keep the old node, so that a selection in it survives the refresh.
      return old && old.isEqualNode(fresh) ? old : fresh;
    });
    if (wanted.length !== list.children.length || wanted.some((c, i) => list.children[i] !== c)) {
      list.replaceChildren(...wanted);
    }
    if (!bots.length) list.replaceChildren(el('p', {class: 'muted'}, 'No bot is enabled.'));

    const names = $('bot-names');
    const options = bots.map((b) => b.name).join('\n');
    if (names.dataset.names !== options) {
      names.dataset.names = options;
      names.replaceChildren(...bots.map((b) => el('option', {value: b.name})));
    }
    if (Array.isArray(status.platforms)) chat.setPlatforms(status.platforms);
    const dead = bots.reduce((n, b) => n + (Number(b.dead_letters) || 0), 0);
    deadLetters.refresh(dead);
  },
};

/** The dead letters (GET /api/v1/dead-letters), shown while there are any, each with Retry and
 *  Discard. Loaded again when the count in the status changes. */
const deadLetters = {
  count: 0,

  async refresh(count) {
    const box = $('dead-letters');
    if (count === this.count && (count === 0 || !box.hidden)) return;
    this.count = count;
    box.hidden = count === 0;
    if (count === 0) return;
    let data;
    try {
      data = await api('/api/v1/dead-letters?limit=50');
    } catch (e) {
      $('dead-letter-list').replaceChildren(el('li', {class: 'warn-text'}, `cannot list them: ${e.message}`));
      return;
    }
    const letters = Array.isArray(data?.dead_letters) ? data.dead_letters : [];
    $('dead-letter-list').replaceChildren(...letters.map((d) => this.item(d)));
  },

  item(d) {
    const text = d.event?.message?.text ?? '(no message)';
    const act = (label) => el('button', {type: 'button', class: 'small-button',
      dataset: {action: label.toLowerCase()}}, label);
    const retry = act('Retry');
    const discard = act('Discard');
    const li = el('li', {dataset: {deadLetter: String(d.id)}},
      el('span', {class: 'tag'}, d.bot),
      el('span', {class: 'dead-text', title: `chat ${d.event?.chat?.id ?? '?'}`}, text),
      el('span', {class: 'warn-text', dataset: {field: 'reason'}}, d.reason),
      el('span', {class: 'muted small', title: fullTime(d.dead_at)}, relative(d.dead_at)),
      retry, discard);
    const run = async (method, path) => {
      retry.disabled = discard.disabled = true;
      try {
        await api(path, {method, body: method === 'POST' ? {} : undefined});
        li.remove();
        statusView.soon();
      } catch (e) {
        retry.disabled = discard.disabled = false;
        li.title = e.message;
      }
    };
    retry.addEventListener('click', () => run('POST', `/api/v1/dead-letters/${d.id}/retry`));
    discard.addEventListener('click', () => run('DELETE', `/api/v1/dead-letters/${d.id}`));
    return li;
  },
};

function fact(label, field, value, extra = {}) {
  return el('div', {class: 'fact'},
    el('dt', {}, label),
    el('dd', {dataset: {field}, ...extra}, value === '' || value === null ? '—' : value));
}

function counter(label, field, value, {warn = false, hint} = {}) {
  const n = Number(value) || 0;
  return el('div', {class: `counter${warn && n > 0 ? ' warn' : ''}`, title: hint},
    el('dd', {dataset: {field}}, n.toLocaleString()),
    el('dt', {}, label));
}

function botCard(bot) {
  const ready = Boolean(bot.ready);
  const card = el('article', {
    class: `bot-card${ready ? '' : ' not-ready'}`,
    dataset: {bot: bot.name, ready: String(ready), platform: bot.platform || ''},
  });
  card.append(el('header', {class: 'bot-head'},
    el('h3', {dataset: {field: 'name'}}, bot.name),
    el('span', {class: 'tag', dataset: {field: 'platform'}}, bot.platform || '?'),
    el('span', {class: `state ${ready ? 'ok' : 'bad'}`, dataset: {field: 'state'}},
      ready ? 'ready' : 'not ready')));
  if (bot.last_error) {
    card.append(el('p', {class: 'bot-error', dataset: {field: 'last_error'}}, bot.last_error));
  }

  const facts = el('dl', {class: 'facts'});
  if (bot.webhook_path) {
    facts.append(fact('Webhook', 'webhook_path', el('code', {}, bot.webhook_path)));
    facts.append(fact('Last verified callback', 'last_callback',
      bot.last_callback_at ? relative(bot.last_callback_at) : 'none yet',
      {title: fullTime(bot.last_callback_at)}));
  }
  facts.append(fact('Last event', 'last_event',
    bot.last_event_at ? relative(bot.last_event_at) : 'none yet', {title: fullTime(bot.last_event_at)}));
  if (bot.token_expires_at) {
    const t = parseTime(bot.token_expires_at);
    const expired = t !== null && t <= serverNow();
    facts.append(fact('Access token', 'token_expiry',
      expired ? `expired ${relative(bot.token_expires_at)}` : `expires ${relative(bot.token_expires_at)}`,
      {title: fullTime(bot.token_expires_at), class: expired ? 'warn-text' : undefined}));
  }
  card.append(facts);

  const connections = Array.isArray(bot.connections) ? bot.connections : [];
  if (connections.length) {
    const list = el('ul', {class: 'connections', 'aria-label': 'Gateway connections'});
    // Gateway shards are numbered among themselves; OneBot's connections say what they are.
    const shards = connections.filter((c) => !c.kind).length;
    let shard = 0;
    const connectionName = (c) => {
      if (c.kind === 'forward') return `OneBot forward${c.peer ? ` from ${c.peer}` : ''}`;
      if (c.kind === 'reverse') return 'OneBot reverse';
      if (c.kind) return c.kind;
      const n = shard++;
      return shards > 1 ? `shard ${n}` : 'gateway';
    };
    connections.forEach((c, i) => {
      const good = c.state === 'connected' || c.state === 'resumed';
      const bad = c.state === 'fatal' || c.state === 'stopped';
      list.append(el('li', {dataset: {connection: String(i)}},
        el('span', {class: 'conn-name'}, connectionName(c)),
        el('span', {class: `state ${good ? 'ok' : bad ? 'bad' : 'warn'}`, dataset: {field: 'connection_state'}},
          c.state || '?'),
        c.detail ? el('span', {class: 'conn-detail', dataset: {field: 'detail'}}, c.detail) : null,
        el('span', {class: 'conn-counts muted'},
          el('span', {dataset: {field: 'reconnects'}}, plural(c.reconnects, 'reconnect')), ' · ',
          el('span', {dataset: {field: 'resumes'}}, plural(c.resumes, 'resume')))));
    });
    card.append(list);
  }

  const rateHint = bot.rate_limited_ms ? `waited ${duration(bot.rate_limited_ms)} in total` : undefined;
  const queues = el('div', {class: 'counter', title: 'inbox: accepted, not yet handled · outbox: queued, not yet sent'},
    el('dd', {},
      el('span', {dataset: {field: 'inbox_depth'}}, String(Number(bot.inbox_depth) || 0)),
      el('span', {class: 'sep'}, ' / '),
      el('span', {dataset: {field: 'outbox_depth'}}, String(Number(bot.outbox_depth) || 0))),
    el('dt', {}, 'inbox / outbox'));
  card.append(el('dl', {class: 'counters'},
    counter('messages in', 'events_in', bot.events_in),
    counter('messages out', 'messages_sent', bot.messages_sent),
    counter('send failures', 'send_failures', bot.send_failures, {warn: true}),
    counter('uncertain deliveries', 'delivery_uncertain', bot.delivery_uncertain,
      {warn: true, hint: 'sent, then the connection broke before the answer: maybe delivered, not sent again'}),
    counter('callbacks rejected', 'callbacks_rejected', bot.callbacks_rejected, {warn: true}),
    counter('dead letters', 'dead_letters', bot.dead_letters,
      {warn: true, hint: 'events a handler gave up on (a forward service that kept failing); listed below'}),
    queues,
    counter('rate-limit waits', 'rate_limit_waits', bot.rate_limit_waits, {hint: rateHint})));
  return card;
}

function plural(n, word) {
  const v = Number(n) || 0;
  return `${v} ${word}${v === 1 ? '' : 's'}`;
}

// ------------------------------------------------------------------------------------ chat

const FIRST_NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy'];

const chat = {
  store: new EntryStore(),
  pending: [], // sent by this tab, not yet in the log: {localId, logId, text, state, error, time}
  platforms: [],

  init() {
    let id = sessionStorage.getItem(CHAT_ID_KEY);
    if (!id) {
      id = `tab-${randomId()}`;
      sessionStorage.setItem(CHAT_ID_KEY, id);
    }
    this.chatId = id;
    let user = sessionStorage.getItem(USER_KEY);
    if (!user) {
      const n = crypto.getRandomValues(new Uint8Array(2));
      user = `${FIRST_NAMES[n[0] % FIRST_NAMES.length]} ${10 + (n[1] % 90)}`;
      sessionStorage.setItem(USER_KEY, user);
    }
    $('chat-user').value = user;
    $('chat-id').textContent = id;
    $('chat-type').value = sessionStorage.getItem(CHAT_TYPE_KEY) || 'private';

    $('chat-user').addEventListener('input', () => {
      sessionStorage.setItem(USER_KEY, $('chat-user').value.trim());
    });
    $('chat-platform').addEventListener('change', () => {
      sessionStorage.setItem(PLATFORM_KEY, $('chat-platform').value);
    });
    $('chat-type').addEventListener('change', () => {
      sessionStorage.setItem(CHAT_TYPE_KEY, $('chat-type').value);
    });
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.sendFromInput();
    });
    const input = $('chat-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendFromInput();
      }
    });
    input.addEventListener('input', () => this.autosize());
    $('chat-new').addEventListener('click', () => this.newChat());

    this.feed = new LogFeed(
      () => ({bot: 'sandbox', chat: this.chatId}),
      (entries, reset) => {
        if (reset) this.store.clear();
        if (this.store.merge(entries) || reset) this.render();
        statusView.soon();
      },
      () => {});
    this.feed.restart();
    this.render();
  },

  setPlatforms(platforms) {
    const list = ['sandbox', ...platforms.filter((p) => p !== 'sandbox')];
    const key = list.join(',');
    if (key === this.platformsKey) return;
    this.platformsKey = key;
    const select = $('chat-platform');
    const wanted = sessionStorage.getItem(PLATFORM_KEY) || select.value || 'sandbox';
    select.replaceChildren(...list.map((p) => el('option', {value: p}, p)));
    select.value = list.includes(wanted) ? wanted : 'sandbox';
  },

  newChat() {
    this.chatId = `tab-${randomId()}`;
    sessionStorage.setItem(CHAT_ID_KEY, this.chatId);
    $('chat-id').textContent = this.chatId;
    this.store.clear();
    this.pending = [];
    this.feed.restart();
    this.render();
    $('chat-input').focus();
  },

  autosize() {
    const input = $('chat-input');
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  },

  sendFromInput() {
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    this.autosize();
    this.send(text);
  },

  async send(text) {
    const user = $('chat-user').value.trim() || sessionStorage.getItem(USER_KEY) || 'someone';
    const platform = $('chat-platform').value || 'sandbox';
    const item = {
      localId: randomId(),
      logId: '',
      text,
      user,
      platform,
      state: 'sending',
      error: '',
      time: new Date(serverNow()).toISOString(),
      chatId: this.chatId,
    };
    this.pending.push(item);
    this.render(true);
    const body = {chat_id: this.chatId, user, text, chat_type: $('chat-type').value};
    if (platform !== 'sandbox') body.platform = platform;
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > MAX_TEXT_BYTES) {
      item.state = 'failed';
      item.error = `The message is ${bytes} bytes; the sandbox takes at most ${MAX_TEXT_BYTES}.`;
      this.render();
      return;
    }
    try {
      const answer = await api('/api/v1/sandbox/messages', {method: 'POST', body});
      item.logId = typeof answer?.log_id === 'string' ? answer.log_id : '';
      item.state = 'received';
    } catch (e) {
      item.state = 'failed';
      item.error = e.message;
    }
    if (item.chatId === this.chatId) this.render();
  },

  /** The log entries of this chat in conversation order: each reply right after the message it
   *  answers, even when the reply's entry changed (and got a newer seq) later. */
  ordered() {
    const entries = [...this.store.byId.values()];
    const key = (e) => {
      const parent = e.direction === 'out' && e.reply_to ? this.store.byId.get(e.reply_to) : null;
      return parent ? [this.store.order(parent.id), 1, this.store.order(e.id)] : [this.store.order(e.id), 0, 0];
    };
    const keys = new Map(entries.map((e) => [e.id, key(e)]));
    return entries.sort((a, b) => {
      const ka = keys.get(a.id);
      const kb = keys.get(b.id);
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
    });
  },

  render(forceScroll = false) {
    const list = $('chat-messages');
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    // A message sent from here leaves `pending` once its log entry is in: found by the log_id
    // the POST answered, or else by its text and user.
    const ins = [...this.store.byId.values()].filter((e) => e.direction === 'in');
    this.pending = this.pending.filter((p) => {
      if (p.logId && this.store.byId.has(p.logId)) return false;
      return !(p.state === 'received' && ins.some((e) => e.text === p.text && e.user === p.user));
    });
    const items = this.ordered().map((e) => chatMessage({
      id: e.id,
      direction: e.direction,
      text: e.text,
      user: e.user,
      platform: e.platform,
      time: e.time,
      outcome: e.outcome,
      label: outcomeText(e),
      error: e.error,
    }));
    for (const p of this.pending) {
      items.push(chatMessage({
        id: p.logId || `local:${p.localId}`,
        direction: 'in',
        text: p.text,
        user: p.user,
        platform: p.platform,
        time: p.time,
        outcome: p.state,
        label: p.state === 'sending' ? 'sending…' : p.state === 'failed' ? 'not sent' : 'received',
        error: p.error,
      }));
    }
    list.replaceChildren(...items);
    $('chat-empty').hidden = items.length > 0;
    if (forceScroll || nearBottom) list.scrollTop = list.scrollHeight;
  },
};

function chatMessage(m) {
  const mine = m.direction === 'in';
  const who = mine ? `${m.user || 'you'}${m.platform && m.platform !== 'sandbox' ? ` · as ${m.platform}` : ''}` : 'bot';
  const outcome = el('span', {class: `outcome ${m.outcome}`, dataset: {field: 'outcome'}}, m.label);
  return el('li', {
    class: `msg ${mine ? 'mine' : 'theirs'}`,
    dataset: {logId: m.id, direction: m.direction, outcome: m.outcome},
  },
  el('div', {class: 'bubble', dataset: {field: 'text'}}, m.text),
  el('div', {class: 'msg-meta'},
    el('span', {}, who),
    el('time', {datetime: m.time || undefined, title: fullTime(m.time)}, clockTime(m.time)),
    outcome),
  m.error ? el('div', {class: 'msg-error', dataset: {field: 'error'}}, m.error) : null);
}

// ------------------------------------------------------------------------------------ log

const logView = {
  store: new EntryStore(),
  rows: new Map(), // id -> [seq, element]

  init() {
    const filters = ['log-bot', 'log-chat', 'log-q'];
    let timer;
    for (const id of filters) {
      $(id).addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.apply(), 300);
      });
    }
    $('log-filters').addEventListener('submit', (e) => {
      e.preventDefault();
      clearTimeout(timer);
      this.apply();
    });
    $('log-clear').addEventListener('click', () => {
      for (const id of filters) $(id).value = '';
      clearTimeout(timer);
      this.apply();
    });
    $('log-list').addEventListener('click', (e) => {
      const button = e.target.closest('button[data-filter]');
      if (!button) return;
      $(`log-${button.dataset.filter}`).value = button.dataset.value;
      this.apply();
    });

    this.feed = new LogFeed(
      () => this.params(),
      (entries, reset) => {
        if (reset) this.store.clear();
        const changed = this.store.merge(entries);
        this.store.trim(LOG_KEEP);
        if (changed || reset) this.render();
        if (!reset) statusView.soon();
      },
      (state, detail) => {
        const live = $('log-live');
        live.dataset.state = state;
        live.textContent = state === 'live' ? 'live' : 'reconnecting…';
        live.title = detail || '';
      });
    this.applied = JSON.stringify(this.params());
    this.feed.restart();
  },

  params() {
    return {bot: $('log-bot').value.trim(), chat: $('log-chat').value.trim(), q: $('log-q').value.trim()};
  },

  apply() {
    const now = JSON.stringify(this.params());
    if (now === this.applied) return;
    this.applied = now;
    this.store.clear();
    this.render();
    $('log-list').dataset.loading = 'true';
    this.feed.restart();
  },

  render() {
    const list = $('log-list');
    delete list.dataset.loading;
    list.dataset.query = this.applied || '';
    const entries = [...this.store.byId.values()]
      .sort((a, b) => this.store.order(b.id) - this.store.order(a.id) || (b.seq || 0) - (a.seq || 0));
    const next = new Map();
    const elements = entries.map((e) => {
      const cached = this.rows.get(e.id);
      const row = cached && cached[0] === e.seq ? cached[1] : logRow(e);
      next.set(e.id, [e.seq, row]);
      return row;
    });
    this.rows = next;
    const current = list.children;
    if (elements.length !== current.length || elements.some((r, i) => current[i] !== r)) {
      list.replaceChildren(...elements);
    }
    const filtered = Object.values(this.params()).some(Boolean);
    $('log-empty').hidden = entries.length > 0;
    $('log-empty').textContent = filtered ? 'Nothing matches this search.' : 'No messages yet.';
  },
};

function filterButton(kind, value, label = value) {
  if (!value) return el('span', {class: 'muted'}, '—');
  return el('button', {type: 'button', class: 'chip', title: `${value}: show only this ${kind}`,
    dataset: {filter: kind, value}}, label);
}

function logRow(e) {
  const incoming = e.direction === 'in';
  const outcome = el('span', {class: 'c-outcome', dataset: {field: 'outcome'}},
    el('span', {class: `badge ${e.outcome || ''}`}, outcomeText(e)));
  if (e.error) outcome.append(el('span', {class: 'log-error', dataset: {field: 'error'}}, e.error));
  return el('li', {
    class: `log-row ${incoming ? 'in' : 'out'}`,
    dataset: {logId: e.id, direction: e.direction, outcome: e.outcome || '', bot: e.bot || ''},
  },
  el('time', {class: 'c-time', datetime: e.time || undefined, title: fullTime(e.time)}, clockTime(e.time)),
  el('span', {class: 'c-bot'}, filterButton('bot', e.bot),
    e.platform && e.platform !== e.bot ? el('span', {class: 'muted small'}, e.platform) : null),
  el('span', {class: 'c-chat'}, filterButton('chat', e.chat_id)),
  el('span', {class: 'c-who', dataset: {field: 'direction'}},
    el('span', {class: `dir ${incoming ? 'in' : 'out'}`, title: incoming ? 'received' : 'sent by the bot'},
      incoming ? 'in' : 'out'),
    el('span', {class: 'who-name', title: incoming ? e.user || undefined : undefined},
      incoming ? (e.user || '') : (e.reply_to ? 'reply' : 'message'))),
  el('span', {class: 'c-text', dataset: {field: 'text'}}, e.text || ''),
  outcome);
}

// ------------------------------------------------------------------------------------ shell

function initTabs() {
  const layout = $('layout');
  const tabs = [...document.querySelectorAll('#tabs .tab')];
  const select = (name) => {
    layout.dataset.active = name;
    for (const t of tabs) t.setAttribute('aria-selected', String(t.dataset.tab === name));
    if (name === 'chat') chat.render(true);
  };
  for (const t of tabs) t.addEventListener('click', () => select(t.dataset.tab));
}

function initAuth() {
  $('forget-token').hidden = !auth.token;
  $('forget-token').addEventListener('click', () => {
    localStorage.removeItem(TOKEN_KEY);
    auth.token = '';
    location.reload();
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token-input').value.trim();
    if (token) auth.submit(token);
  });
  // The API is unusable without a token: Escape does not dismiss the form.
  $('token-dialog').addEventListener('cancel', (e) => e.preventDefault());
  // The console URL pasted into a tab that is open already changes only the fragment.
  window.addEventListener('hashchange', () => {
    const token = tokenFromFragment();
    if (token) auth.submit(token);
  });
}

function main() {
  initAuth();
  initTabs();
  chat.init();
  logView.init();
  statusView.refresh();
  setInterval(() => {
    if (!document.hidden) statusView.refresh();
  }, STATUS_INTERVAL_MS);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) statusView.refresh();
  });
}

main();

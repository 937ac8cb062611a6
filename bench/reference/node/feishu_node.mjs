#!/usr/bin/env node
// The reference Feishu event handler on Feishu's official Node SDK (@larksuiteoapi/node-sdk), as
// its README shows it: an EventDispatcher with the Encrypt Key and the Verification Token (it
// checks X-Lark-Signature and decrypts), a handler registered for im.message.receive_v1, and
// lark.adaptDefault on node:http with autoChallenge (the URL verification the console sends).
//
// To do what botgate does for each event, the handler also checks the verification token, keeps
// the event ids it has seen in memory (dedup) and inserts each new event into SQLite
// (better-sqlite3, WAL, synchronous=NORMAL, a commit per event) before the answer goes out.
//
//   node feishu_node.mjs --port 8000 --encrypt-key K --verification-token T --db /tmp/ref.db

import http from 'node:http';
import { parseArgs } from 'node:util';

import * as lark from '@larksuiteoapi/node-sdk';
import Database from 'better-sqlite3';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'encrypt-key': { type: 'string' },
    'verification-token': { type: 'string' },
    db: { type: 'string' },
  },
});

const db = new Database(args.db);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, event_type TEXT, ' +
        'body TEXT, received_at REAL)');
const insert = db.prepare('INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)');
const seen = new Set();

// The SDK answers 200 whether or not a callback's signature held (it logs a warning and skips the
// handler); the count lets the benchmark see that every callback reached the handler.
let rejected = 0;
const logger = {
  error: (...m) => console.error(...m),
  warn: (...m) => { rejected += 1; console.error(...m); },
  info: () => {},
  debug: () => {},
  trace: () => {},
};

const dispatcher = new lark.EventDispatcher({
  encryptKey: args['encrypt-key'],
  verificationToken: args['verification-token'],
  logger,
}).register({
  'im.message.receive_v1': async (data) => {
    if (data.token !== args['verification-token']) {
      rejected += 1;
      return { msg: 'bad token' };
    }
    if (seen.has(data.event_id)) return {};
    seen.add(data.event_id);
    insert.run(data.event_id, data.event_type, JSON.stringify(data), Date.now() / 1000);
    return {};
  },
});

const webhook = lark.adaptDefault('/webhook/feishu', dispatcher, { autoChallenge: true });

http.createServer((req, res) => {
  if (req.url === '/readyz') {
    res.end(JSON.stringify({ ok: true, rejected }));
    return;
  }
  webhook(req, res);
}).listen(Number(args.port), '127.0.0.1');

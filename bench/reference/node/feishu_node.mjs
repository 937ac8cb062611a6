#!/usr/bin/env node
// The reference Feishu event handler on Feishu's official Node SDK (@larksuiteoapi/node-sdk), as
// its README shows it: an EventDispatcher with the Encrypt Key and the Verification Token (it
// checks X-Lark-Signature and decrypts), a handler registered for im.message.receive_v1, and
// lark.adaptDefault on node:http with autoChallenge (the URL verification the console sends).
//
// The handler checks the verification token and counts the event (GET /stats). With --db, to do
// what botgate does for each event, it also puts each new event into its inbox (inbox.mjs: dedup
// in memory, one SQLite commit per event) before the answer goes out; with --no-db it is the
// README's handler, which stores nothing.
//
//   node feishu_node.mjs --port 8000 --encrypt-key K --verification-token T --db /tmp/ref.db
//   node feishu_node.mjs --port 8000 --encrypt-key K --verification-token T --no-db

import http from 'node:http';
import { parseArgs } from 'node:util';

import * as lark from '@larksuiteoapi/node-sdk';

import { handledCounter, openInbox } from './inbox.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'encrypt-key': { type: 'string' },
    'verification-token': { type: 'string' },
    db: { type: 'string' },
    'no-db': { type: 'boolean', default: false },
  },
});
if (!args.db === !args['no-db']) throw new Error('give --db PATH or --no-db');

const store = args.db ? await openInbox(args.db, 'event_id', 'event_type') : null;
const handled = handledCounter();

// The SDK answers 200 even to a callback whose signature failed (it logs a warning and skips
// the handler): the benchmark counts the events stored to see that each reached the handler.
const logger = {
  error: (...m) => console.error(...m),
  warn: (...m) => console.error(...m),
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
    if (data.token !== args['verification-token']) return { msg: 'bad token' };
    handled.add();
    if (store) store(data.event_id, data.event_type, JSON.stringify(data));
    return {};
  },
});

const webhook = lark.adaptDefault('/webhook/feishu', dispatcher, { autoChallenge: true });

http.createServer((req, res) => {
  if (req.url === '/readyz') {
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  if (req.url === '/stats') {
    handled.serve(res);
    return;
  }
  webhook(req, res);
}).listen(Number(args.port), '127.0.0.1');

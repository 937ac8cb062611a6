#!/usr/bin/env node
// The reference Feishu event handler on Feishu's official Node SDK (@larksuiteoapi/node-sdk), as
// its README shows it: an EventDispatcher with the Encrypt Key and the Verification Token (it
// checks X-Lark-Signature and decrypts), a handler registered for im.message.receive_v1, and
// lark.adaptDefault on node:http with autoChallenge (the URL verification the console sends).
//
// To do what botgate does for each event, the handler also checks the verification token and
// puts each new event into its inbox (inbox.mjs: dedup in memory, one SQLite commit per event)
// before the answer goes out.
//
//   node feishu_node.mjs --port 8000 --encrypt-key K --verification-token T --db /tmp/ref.db

import http from 'node:http';
import { parseArgs } from 'node:util';

import * as lark from '@larksuiteoapi/node-sdk';

import { openInbox } from './inbox.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'encrypt-key': { type: 'string' },
    'verification-token': { type: 'string' },
    db: { type: 'string' },
  },
});

const store = openInbox(args.db, 'event_id', 'event_type');

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
    store(data.event_id, data.event_type, JSON.stringify(data));
    return {};
  },
});

const webhook = lark.adaptDefault('/webhook/feishu', dispatcher, { autoChallenge: true });

http.createServer((req, res) => {
  if (req.url === '/readyz') {
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  webhook(req, res);
}).listen(Number(args.port), '127.0.0.1');

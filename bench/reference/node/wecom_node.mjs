#!/usr/bin/env node
// The reference WeCom callback handler on WeCom's official Node crypto library (@wecom/crypto):
// the msg_signature check with getSignature (SHA-1 over the sorted token, timestamp, nonce and
// ciphertext), decrypt (WXBizMsgCrypt's AES-256-CBC with the EncodingAESKey), the XML parsed
// with fast-xml-parser, on node:http. GET answers the URL verification (the echostr).
//
// It counts the messages handled (GET /stats). With --db, to do what botgate does for each event,
// it also puts each new message into its inbox (inbox.mjs: dedup by MsgId in memory, one SQLite
// commit per message) before answering 200; with --no-db it stores nothing, as the README's
// handler.
//
//   node wecom_node.mjs --port 8000 --token T --encoding-aes-key K --receive-id '' --db /tmp/ref.db
//   node wecom_node.mjs --port 8000 --token T --encoding-aes-key K --receive-id CORPID --no-db

import http from 'node:http';
import { parseArgs } from 'node:util';

import { decrypt, getSignature } from '@wecom/crypto';
import { XMLParser } from 'fast-xml-parser';

import { handledCounter, openInbox } from './inbox.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    token: { type: 'string' },
    'encoding-aes-key': { type: 'string' },
    'receive-id': { type: 'string', default: '' },
    db: { type: 'string' },
    'no-db': { type: 'boolean', default: false },
  },
});
if (!args.db === !args['no-db']) throw new Error('give --db PATH or --no-db');

const store = args.db ? await openInbox(args.db, 'msg_id', 'msg_type') : null;
const handled = handledCounter();
// MsgIds and the like are digits: kept as text, as WeCom sends them.
const parser = new XMLParser({ parseTagValue: false });

function answer(res, status, body = '') {
  res.statusCode = status;
  res.end(body);
}

// The plaintext of a signed ciphertext, or undefined after answering the error.
function open(res, query, ciphered) {
  const signature = getSignature(args.token, query.get('timestamp') ?? '',
                                 query.get('nonce') ?? '', ciphered);
  if (signature !== query.get('msg_signature')) {
    answer(res, 401);
    return undefined;
  }
  try {
    const { message, id } = decrypt(args['encoding-aes-key'], ciphered);
    if (args['receive-id'] && id !== args['receive-id']) {
      answer(res, 401);
      return undefined;
    }
    return message;
  } catch {
    answer(res, 400);
    return undefined;
  }
}

function callback(res, query, body) {
  let ciphered;
  try {
    ciphered = parser.parse(body).xml.Encrypt;
  } catch {
    answer(res, 400);
    return;
  }
  const plain = open(res, query, ciphered ?? '');
  if (plain === undefined) return;
  const msg = parser.parse(plain).xml ?? {};
  handled.add();
  if (store) store(String(msg.MsgId ?? ''), String(msg.MsgType ?? ''), plain);
  answer(res, 200);
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/readyz') {
    answer(res, 200, '{"ok":true}');
    return;
  }
  if (url.pathname === '/stats') {
    handled.serve(res);
    return;
  }
  if (url.pathname !== '/webhook/wecom') {
    answer(res, 404);
    return;
  }
  if (req.method === 'GET') {
    const plain = open(res, url.searchParams, url.searchParams.get('echostr') ?? '');
    if (plain !== undefined) answer(res, 200, plain);
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => callback(res, url.searchParams, Buffer.concat(chunks).toString('utf8')));
}).listen(Number(args.port), '127.0.0.1');

// The official WeCom AI-bot SDK's WSClient (@wecom/aibot-node-sdk, pinned in package.json), run
// against the fake AI-bot long connection by tests/integration/test_wecom_aibot_ws_fake.py.
//
// It answers each text message with a streamed reply through the SDK's own replyStream: two
// growing contents, then finish, all three handed to the SDK at once (its per-req_id queue must
// send them one at a time). enter_chat gets a welcome text, a template_card_event a card update,
// an image or mixed message has its files downloaded and decrypted by the SDK. Every fact is
// printed on stdout as one JSON line; the SDK's own log goes to stderr.
//
// Commands, one JSON object per stdin line:
//   {"send": CHATID, "content": "..."}   sendMessage markdown
//   {"upload": BASE64, "filename": "a.png", "send_to": CHATID}   uploadMedia, then an image
//   {"disconnect": true}
//
// Usage: node ws_client.mjs --url ws://127.0.0.1:PORT --bot-id ID --secret S
//        [--heartbeat MS] [--reconnect MS] [--max-auth-failures N] [--max-reconnects N]

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { WSClient, generateReqId } from '@wecom/aibot-node-sdk';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

function fact(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function describe(err) {
  if (err instanceof Error) return { message: err.message, code: err.code ?? null };
  return { errcode: err?.errcode ?? null, errmsg: err?.errmsg ?? null };
}

const stderrLog = (level) => (message, ...rest) => {
  process.stderr.write(`[sdk ${level}] ${message} ${rest.map((x) => String(x)).join(' ')}\n`);
};

const options = {
  botId: args['bot-id'],
  secret: args.secret,
  wsUrl: args.url,
  logger: {
    debug: stderrLog('debug'), info: stderrLog('info'),
    warn: stderrLog('warn'), error: stderrLog('error'),
  },
};
if (args.heartbeat) options.heartbeatInterval = Number(args.heartbeat);
if (args.reconnect) options.reconnectInterval = Number(args.reconnect);
if (args['max-auth-failures']) options.maxAuthFailureAttempts = Number(args['max-auth-failures']);
if (args['max-reconnects']) options.maxReconnectAttempts = Number(args['max-reconnects']);

const client = new WSClient(options);

client.on('connected', () => fact({ fact: 'connected' }));
client.on('authenticated', () => fact({ fact: 'authenticated' }));
client.on('disconnected', (reason) => fact({ fact: 'disconnected', reason }));
client.on('reconnecting', (attempt) => fact({ fact: 'reconnecting', attempt }));
client.on('error', (err) => fact({ fact: 'error', ...describe(err) }));

client.on('message.text', async (frame) => {
  const reqId = frame.headers.req_id;
  const text = frame.body.text.content;
  fact({ fact: 'message', req_id: reqId, msgtype: 'text', text, msgid: frame.body.msgid,
         chattype: frame.body.chattype, chatid: frame.body.chatid ?? null,
         from: frame.body.from?.userid ?? null });
  const streamId = generateReqId('stream');
  const parts = [`echo: ${text}`, `echo: ${text} (more)`, `echo: ${text} (done)`];
  // Handed over at once: the SDK queues replies that share a req_id.
  const sends = parts.map((content, i) =>
    client.replyStream(frame, streamId, content, i === parts.length - 1));
  const results = await Promise.allSettled(sends);
  results.forEach((r, i) => fact({
    fact: 'reply_result', req_id: reqId, stream_id: streamId, step: i,
    ok: r.status === 'fulfilled',
    errcode: r.status === 'fulfilled' ? r.value.errcode : (r.reason?.errcode ?? null),
    error: r.status === 'fulfilled' ? null : describe(r.reason),
  }));
});

async function downloadAll(frame, items) {
  for (const it of items) {
    try {
      const { buffer } = await client.downloadFile(it.url, it.aeskey);
      fact({ fact: 'download', req_id: frame.headers.req_id,
             sha256: createHash('sha256').update(buffer).digest('hex'), size: buffer.length });
    } catch (err) {
      fact({ fact: 'download_error', req_id: frame.headers.req_id, ...describe(err) });
    }
  }
}

client.on('message.image', (frame) => {
  fact({ fact: 'message', req_id: frame.headers.req_id, msgtype: 'image' });
  downloadAll(frame, [frame.body.image]);
});

client.on('message.mixed', (frame) => {
  const items = frame.body.mixed.msg_item;
  fact({ fact: 'message', req_id: frame.headers.req_id, msgtype: 'mixed',
         text: items.filter((x) => x.msgtype === 'text').map((x) => x.text.content).join('') });
  downloadAll(frame, items.filter((x) => x.msgtype === 'image').map((x) => x.image));
});

client.on('event', (frame) => {
  fact({ fact: 'event', req_id: frame.headers.req_id,
         eventtype: frame.body.event?.eventtype ?? null });
});

client.on('event.enter_chat', async (frame) => {
  try {
    const ack = await client.replyWelcome(frame, { msgtype: 'text', text: { content: 'welcome' } });
    fact({ fact: 'welcome_result', req_id: frame.headers.req_id, errcode: ack.errcode });
  } catch (err) {
    fact({ fact: 'welcome_result', req_id: frame.headers.req_id, ...describe(err) });
  }
});

client.on('event.template_card_event', async (frame) => {
  const ev = frame.body.event.template_card_event ?? {};
  try {
    const ack = await client.updateTemplateCard(frame, {
      card_type: 'text_notice', main_title: { title: 'done' }, task_id: ev.task_id,
    });
    fact({ fact: 'update_result', req_id: frame.headers.req_id, errcode: ack.errcode });
  } catch (err) {
    fact({ fact: 'update_result', req_id: frame.headers.req_id, ...describe(err) });
  }
});

async function command(cmd) {
  if (cmd.send) {
    try {
      const ack = await client.sendMessage(cmd.send, {
        msgtype: 'markdown', markdown: { content: cmd.content } });
      fact({ fact: 'send_result', chatid: cmd.send, errcode: ack.errcode });
    } catch (err) {
      fact({ fact: 'send_result', chatid: cmd.send, ...describe(err) });
    }
  } else if (cmd.upload) {
    try {
      const up = await client.uploadMedia(Buffer.from(cmd.upload, 'base64'),
                                          { type: 'image', filename: cmd.filename });
      fact({ fact: 'uploaded', media_id: up.media_id, type: up.type });
      const ack = await client.sendMediaMessage(cmd.send_to, 'image', up.media_id);
      fact({ fact: 'send_result', chatid: cmd.send_to, errcode: ack.errcode });
    } catch (err) {
      fact({ fact: 'upload_error', ...describe(err) });
    }
  } else if (cmd.disconnect) {
    client.disconnect();
    fact({ fact: 'disconnect_called' });
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim()) command(JSON.parse(line));
});

client.connect();
fact({ fact: 'started' });

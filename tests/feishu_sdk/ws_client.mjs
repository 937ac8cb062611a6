// The official Feishu/Lark Node SDK's long-connection client (WSClient of
// @larksuiteoapi/node-sdk, pinned in package.json) pointed at the fake long-connection server,
// for tests/integration/test_feishu_longconn_fake.py.
//
//   node ws_client.mjs --domain http://127.0.0.1:PORT --app-id cli_... --app-secret S
//       [--logger-level debug] [--handler-delay-ms N]
//
// Everything it says is one JSON object per line on stdout, for the test to read:
//   {"kind":"event","event_type":..,"event_id":..,"message_id":..,"text":..}  per event handled
//   {"kind":"ready"} / {"kind":"reconnecting"} / {"kind":"reconnected"} / {"kind":"error",..}
//   {"kind":"log","level":..,"msg":..}  the SDK's own log lines

import { parseArgs } from 'node:util'
import * as lark from '@larksuiteoapi/node-sdk'

const { values: args } = parseArgs({
  options: {
    domain: { type: 'string' },
    'app-id': { type: 'string' },
    'app-secret': { type: 'string' },
    'logger-level': { type: 'string', default: 'debug' },
    'handler-delay-ms': { type: 'string', default: '0' },
  },
})

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function text(parts) {
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')
}

// The SDK hands each log call its arguments as one array.
const logger = Object.fromEntries(['error', 'warn', 'info', 'debug', 'trace'].map(
  (level) => [level, (parts) => say({ kind: 'log', level, msg: text(parts) })]))

const delayMs = Number(args['handler-delay-ms'])

const dispatcher = new lark.EventDispatcher({
  logger,
  loggerLevel: lark.LoggerLevel.error,
}).register({
  'im.message.receive_v1': async (data) => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    let content = data.message?.content
    try {
      content = JSON.parse(content).text
    } catch {
      // not a text message: report the content as it came
    }
    say({
      kind: 'event',
      event_type: data.event_type,
      event_id: data.event_id,
      message_id: data.message?.message_id,
      text: content,
    })
  },
})

const client = new lark.WSClient({
  appId: args['app-id'],
  appSecret: args['app-secret'],
  domain: args.domain,
  logger,
  loggerLevel: lark.LoggerLevel[args['logger-level']],
  onReady: () => say({ kind: 'ready' }),
  onError: (err) => say({ kind: 'error', msg: String(err?.message ?? err) }),
  onReconnecting: () => say({ kind: 'reconnecting' }),
  onReconnected: () => say({ kind: 'reconnected' }),
})

client.start({ eventDispatcher: dispatcher })
say({ kind: 'started' })

process.on('SIGTERM', () => {
  client.close({ force: true })
  process.exit(0)
})

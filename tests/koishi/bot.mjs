// A real Koishi app for the integration tests (tests/integration/test_koishi.py): Koishi with
// its OneBot v11 adapter, one adapter bot per self id, answering "ping <x>" with
// "pong <x> from koishi as <self id>" (the quoted text and the self id prove the round trip
// went through the right bot), and "mention <x>" with a quote of the message, a mention of its
// sender and <x> (the adapter's reply and at segments, ids as strings), and "image <url>" with
// that image (an image segment with `file` the URL).
//
//   node bot.mjs --self-ids 10001,10002 [--token T]
//       reverse WebSocket: Koishi listens on --host:--port at --path, botgate dials in.
//   node bot.mjs --protocol ws --endpoint ws://host:port/onebot/v11/ws/{bot} \
//       --self-ids 10001 --bots feishu [--token T]
//       forward WebSocket: Koishi dials botgate; {bot} in the endpoint is replaced by each
//       self id's entry of --bots.
//
// It prints one line per fact the test waits for, on stdout:
//   "listening <port>", "online <self id>", "received <self id> <json>", "sent <self id> <id>".

import { parseArgs } from 'node:util'
import { App, h } from 'koishi'
// The adapter is CommonJS: its default export is the OneBotBot plugin.
import { OneBotBot as OneBot } from '@koishijs/plugin-adapter-onebot'

const { values: args } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'ws-reverse' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    path: { type: 'string', default: '/onebot' },
    endpoint: { type: 'string', default: '' },
    'self-ids': { type: 'string' },
    bots: { type: 'string', default: '' },
    token: { type: 'string', default: '' },
  },
})

const selfIds = (args['self-ids'] ?? '').split(',').filter(Boolean)
if (!selfIds.length) throw new Error('--self-ids is required')
const botNames = args.bots.split(',').filter(Boolean)

function say(...words) {
  process.stdout.write(words.join(' ') + '\n')
}

function botConfig(selfId, index) {
  const common = { selfId, token: args.token || undefined, responseTimeout: 10000 }
  if (args.protocol === 'ws-reverse') {
    return { ...common, protocol: 'ws-reverse', path: args.path }
  }
  if (args.protocol === 'ws') {
    if (!args.endpoint) throw new Error('--protocol ws needs --endpoint')
    const endpoint = args.endpoint.replace('{bot}', botNames[index] ?? selfId)
    // Reconnect quickly: the tests restart botgate under a connected Koishi.
    return { ...common, protocol: 'ws', endpoint, retryInterval: 1000, retryTimes: 30, retryLazy: 1000 }
  }
  throw new Error(`unknown --protocol ${args.protocol}`)
}

// Koishi's HTTP server (the reverse WebSocket's listener) starts only when a port is set.
const port = Number(args.port)
const app = new App(args.protocol === 'ws-reverse' ? { host: args.host, port, maxPort: port } : {})

selfIds.forEach((selfId, index) => app.plugin(OneBot, botConfig(selfId, index)))

app.on('bot-status-updated', (bot) => {
  if (bot.status === 'online') say('online', bot.selfId)
})

app.on('send', (session) => say('sent', session.selfId, session.messageId))

app.middleware(async (session, next) => {
  say('received', session.selfId, JSON.stringify({
    content: session.content, userId: session.userId, channelId: session.channelId,
    isDirect: session.isDirect, messageId: session.messageId,
  }))
  // In a group the message may start with a mention of the bot: parsed.content is without it.
  const content = session.parsed.content.trim()
  const ping = /^ping (.+)$/s.exec(content)
  if (ping) return `pong ${ping[1]} from koishi as ${session.selfId}`
  const mention = /^mention (.+)$/s.exec(content)
  if (mention) return [h.quote(session.messageId), h.at(session.userId), ' ' + mention[1]]
  const image = /^image (https?:\/\/\S+)$/.exec(content)
  if (image) return h.image(h.unescape(image[1]))
  return next()
})

process.on('SIGTERM', async () => {
  await app.stop()
  process.exit(0)
})

await app.start()
say('listening', args.protocol === 'ws-reverse' ? port : 0)

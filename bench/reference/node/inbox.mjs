// What both Node references do besides the SDK's work, as botgate does for each event: the ids
// seen so far kept in memory (dedup), and each new event inserted into SQLite (better-sqlite3,
// WAL, synchronous=NORMAL, a commit per event) before the answer goes out. Without a database
// (--no-db: the handler as the README shows it) they only count the events that reached the
// handler, which GET /stats reports ({"handled": N}) so that the benchmark can see the work done.

// Opens the inbox at `path` (its first columns named as the platform names an event's id and
// type) and returns store(id, type, body), which inserts an event unless its id was seen.
export async function openInbox(path, idColumn, typeColumn) {
  // Loaded only for an inbox: the README's handler has none.
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS inbox (${idColumn} TEXT PRIMARY KEY, ${typeColumn} TEXT, ` +
          'body TEXT, received_at REAL)');
  const insert = db.prepare('INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)');
  const seen = new Set();
  return (id, type, body) => {
    if (seen.has(id)) return;
    seen.add(id);
    insert.run(id, type, body, Date.now() / 1000);
  };
}

// The handled events' count, and the answer to GET /stats that reports it.
export function handledCounter() {
  let handled = 0;
  return {
    add: () => { handled += 1; },
    serve: (res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ handled }));
    },
  };
}

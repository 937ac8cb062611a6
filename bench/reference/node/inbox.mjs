// What both Node references do besides the SDK's work, as botgate does for each event: the ids
// seen so far kept in memory (dedup), and each new event inserted into SQLite (better-sqlite3,
// WAL, synchronous=NORMAL, a commit per event) before the answer goes out.

import Database from 'better-sqlite3';

// Opens the inbox at `path` (its first columns named as the platform names an event's id and
// type) and returns store(id, type, body), which inserts an event unless its id was seen.
export function openInbox(path, idColumn, typeColumn) {
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

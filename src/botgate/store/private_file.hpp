#pragma once
/// The database holds what botgate was told and what it will send (and, until sent, the reply
/// credentials: a WeCom webhook key lets anyone post into the group): only its owner may read it.

#include <string>

namespace botgate::store {

/// Creates `path` empty with mode 0600 when it does not exist, so that SQLite opens a file
/// nobody else can read (it gives its -wal and -journal files the database file's mode); a file
/// that exists, and its -wal, -journal, -shm and -key files, lose any group and other
/// permissions, with a log line. A failure is logged and left to the open that follows.
void make_private(const std::string& path);

}  // namespace botgate::store

#pragma once
/// The key that seals the reply credentials kept in a database (a WeCom group's webhook key, a
/// response_url, a Discord interaction token), so that a copy of the database and its WAL does
/// not give them away: their rows and the WAL's older page images hold only sealed values.

#include <string>

namespace botgate::store {

/// Where the key of the database at `database_path` is kept: `<database_path>-key`, beside the
/// database's own -wal and -shm files.
std::string store_key_path(const std::string& database_path);

/// The key (32 bytes) of the database at `database_path`: read from store_key_path(), or made
/// there (random, mode 0600) when the file does not exist. Throws std::runtime_error naming the
/// file when it cannot be read or written, or does not hold a key.
std::string load_or_create_store_key(const std::string& database_path);

}  // namespace botgate::store

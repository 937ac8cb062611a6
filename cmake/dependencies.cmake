# Every dependency comes from a Debian package; `make deps` installs them.
# A missing one fails here with the package to install.
macro(botgate_require found package)
  if(NOT ${found})
    message(FATAL_ERROR "missing dependency: install the Debian package '${package}' (make deps)")
  endif()
endmacro()

find_package(Boost 1.81 CONFIG COMPONENTS json system url)
botgate_require(Boost_FOUND "libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev")
find_package(OpenSSL 3)
botgate_require(OPENSSL_FOUND libssl-dev)
find_package(SQLite3)
botgate_require(SQLite3_FOUND libsqlite3-dev)
find_package(spdlog CONFIG)
botgate_require(spdlog_FOUND libspdlog-dev)
find_package(tomlplusplus CONFIG)
botgate_require(tomlplusplus_FOUND libtomlplusplus-dev)
find_package(CLI11 CONFIG)
botgate_require(CLI11_FOUND libcli11-dev)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 IMPORTED_TARGET re2)
botgate_require(RE2_FOUND libre2-dev)
# Ed25519 verification (Discord interactions, QQ webhooks): libsodium's takes about half the time
# of OpenSSL 3's (docs/performance.md).
pkg_check_modules(SODIUM IMPORTED_TARGET libsodium)
botgate_require(SODIUM_FOUND libsodium-dev)
find_package(pugixml CONFIG)
botgate_require(pugixml_FOUND libpugixml-dev)

# mimalloc is the botgate binary's malloc: the gateway allocates many small, short-lived
# objects per request (parsed JSON, strings, coroutine frames), where it is markedly faster than
# glibc's (see docs/performance.md). Sanitizer builds keep their own allocator.
if(NOT BOTGATE_SANITIZE)
  find_package(mimalloc 2.0 CONFIG)
  botgate_require(mimalloc_FOUND libmimalloc-dev)
endif()

# The Feishu/Lark long connection's frames (platforms/feishu/pbbp2.proto): protoc generates the
# codec, so botgate and the platform agree on the wire by schema, not by a hand-written parser.
find_package(Protobuf)
botgate_require(Protobuf_FOUND "libprotobuf-dev protobuf-compiler")

# The Redis store (store/redis_*): hiredis only formats commands and parses replies; the I/O is
# Asio's, so that TLS (rediss://) works with Debian's hiredis 0.14, which has none.
option(BOTGATE_WITH_REDIS "Build the Redis store (redis:// and rediss:// store URLs)" ON)
if(BOTGATE_WITH_REDIS)
  pkg_check_modules(HIREDIS IMPORTED_TARGET hiredis)
  botgate_require(HIREDIS_FOUND libhiredis-dev)
endif()

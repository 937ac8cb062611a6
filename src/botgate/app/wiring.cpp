#include "botgate/app/wiring.hpp"

#include "botgate/api/api_auth.hpp"
#include "botgate/api/api_token.hpp"
#include "botgate/api/console.hpp"
#include "botgate/api/dead_letter_api.hpp"
#include "botgate/api/events_api.hpp"
#include "botgate/api/health.hpp"
#include "botgate/api/log_api.hpp"
#include "botgate/api/messages_api.hpp"
#include "botgate/api/metrics_api.hpp"
#include "botgate/api/status_api.hpp"
#include "botgate/app/open_files.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/core/thread_name.hpp"
#include "botgate/handlers/echo.hpp"
#include "botgate/handlers/forward.hpp"
#include "botgate/handlers/rules.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/net/http_server.hpp"
#include "botgate/net/url.hpp"
#include "botgate/onebot/bot_link.hpp"
#include "botgate/onebot/forward_routes.hpp"
#include "botgate/onebot/forward_server.hpp"
#include "botgate/onebot/onebot_handler.hpp"
#include "botgate/onebot/reverse_client.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/store/sqlite_store.hpp"
#ifdef BOTGATE_WITH_REDIS
#include "botgate/store/redis_store.hpp"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace botgate::app {
namespace {

std::unique_ptr<Store> make_store(const Config& config) {
  if (auto path = store::sqlite_path_from_url(config.store.url)) {
    store::SqliteStoreOptions options;
    options.event_retention = std::chrono::seconds(config.api.event_retention_s);
    return std::make_unique<store::SqliteStore>(*path, options);
  }
#ifdef BOTGATE_WITH_REDIS
  if (auto url = store::parse_redis_url(config.store.url)) {
    store::RedisStoreOptions options;
    options.instance = config.store.instance;
    options.ca_file = config.store.ca_file;
    options.event_retention = std::chrono::seconds(config.api.event_retention_s);
    return std::make_unique<store::RedisStore>(*url, options);
  }
#endif
  // The configuration's check refused it already; the URL is not repeated (a password).
  throw ConfigError(config.file, 0, "store.url", "not a store URL this build can open");
}

}  // namespace

struct Gateway::Impl {
  Impl(const Config& cfg, const platforms::PlatformRegistry& platforms)
      : config(cfg), io(threads_for(cfg)), registry(platforms) {
    store = make_store(config);
    build_chain();
    RuntimeOptions runtime_options;
    runtime_options.stream_stall = std::chrono::seconds(config.api.stream_stall_s);
    runtime = std::make_unique<Runtime>(io, *store, chain, runtime_options);
    for (const BotSettings& settings : config.bots) add_bot(settings);
    add_builtin_bots();
    // With [api] listen the console and the API have a server of their own, and the public
    // one ([server] listen) serves only the webhooks and the health checks.
    net::Router& api_routes = config.api.listen.empty() ? router : api_router;
    api::add_health_routes(router, *runtime, api_access);
    const auto started_at = std::chrono::system_clock::now();
    api::add_status_api(api_routes, *runtime, api_access,
                        {registry.configurable_names(), started_at});
    api::add_metrics_api(api_routes, *runtime, api_access,
                         {config.metrics.public_access, started_at});
    api::add_log_api(api_routes, runtime->message_log(), api_access);
    api::add_dead_letter_api(api_routes, *runtime, api_access);
    api::add_messages_api(api_routes, *runtime, api_access);
    api::add_events_api(api_routes, *runtime, api_access);
    api::add_console(api_routes, *runtime, api_access, console_bot());
    if (config.onebot.serve) {
      // On the API listener, beside the event stream: the frameworks' other way in.
      onebot::add_forward_routes(api_routes, config.onebot.access_token, forward_servers);
    }
    router.add_answering("/webhook/{name}", {},
                         [this](const HttpRequest& request,
                                std::string name) -> asio::awaitable<HttpAnswer> {
                           co_return co_await runtime->on_webhook(std::move(name), request);
                         });
  }

  /// The bots that platforms declare for themselves (the console's sandbox): no [[bot]] table,
  /// and a callback the runtime takes only through the API.
  void add_builtin_bots() {
    for (const platforms::PlatformDescriptor* platform : registry.with_builtin_bot()) {
      BotSettings settings;
      settings.name = platform->builtin_bot->name;
      settings.platform = platform->name;
      auto strand = runtime->make_bot_strand();
      platforms::PlatformServices services{strand, http_client_for(config.proxy_url), *store,
                                           config.proxy_url, registry.configurable_names()};
      BotParts parts = platform->make(settings, services);
      parts.webhook_public = false;
      add_onebot(settings.name, platform->name, strand, parts, /*builtin=*/true);
      runtime->add_bot(settings.name, platform->name, strand, std::move(parts));
    }
  }

  /// The console's chat goes to the built-in bot (botgate registers one, the sandbox's; were
  /// there more, the first by platform name). None: its route answers 404, as for no bot.
  std::string console_bot() const {
    const auto platforms = registry.with_builtin_bot();
    return platforms.empty() ? std::string() : platforms.front()->builtin_bot->name;
  }

  /// The API token (configured, or made at the first start and kept in the store), read before
  /// the servers start: runs the io_context until the store has answered.
  Result<api::ApiToken> load_api_token() {
    // On a context of its own, run until the store has let go of it too: on `io`, the store
    // thread's last release of its work could stop `io` after this returned, and `run()` would
    // then return at once (botgate stopped right after it started).
    asio::io_context once;
    std::optional<Result<api::ApiToken>> loaded;
    asio::co_spawn(once, api::load_api_token(*store, config.api.token),
                   [&loaded](std::exception_ptr e, Result<api::ApiToken> token) {
                     if (e) {
                       loaded = Error{errc::store_failed, "reading the API token failed"};
                     } else {
                       loaded = std::move(token);
                     }
                   });
    once.run();
    if (!loaded) return Error{errc::store_failed, "the store did not answer"};
    return std::move(*loaded);
  }

  /// Binds `server` and lets the API accept the Host values of its address.
  Result<void> start_api_server(net::HttpServer& server, const std::string& listen) {
    if (auto started = server.start(); !started) return started;
    if (auto host_port = net::split_host_port(listen)) {
      api_access.add_listen(host_port->first, server.port());
    }
    return {};
  }

  static int threads_for(const Config& cfg) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(cfg.server.threads == 0 ? cores : cfg.server.threads);
  }

  void build_chain() {
    std::vector<handlers::Rule> rules;
    for (const RuleConfig& rc : config.rules) {
      if (auto error = handlers::rule_pattern_error(rc.match); !error.empty()) {
        throw ConfigError(config.file, rc.line, "rule.match", "not a valid RE2 pattern: " + error);
      }
      rules.push_back({rc.match, rc.reply, rc.platforms, rc.bots, rc.mention});
    }
    if (!rules.empty()) chain.add(std::make_unique<handlers::RulesHandler>(std::move(rules)));
    if (config.onebot.enabled()) {
      // Its bots get their connections as they are added (add_onebot).
      auto handler = std::make_unique<onebot::OneBotHandler>(
          *store, std::map<std::string, onebot::BotLink*>{});
      onebot_handler = handler.get();
      chain.add(std::move(handler));
    }
    if (auto forward = make_forward_handler()) chain.add(std::move(forward));
    if (config.echo.enabled) chain.add(std::make_unique<handlers::EchoHandler>(config.echo.prefix));
  }

  /// The [forward] targets, each bound to the bots it serves (configured and built-in).
  std::unique_ptr<handlers::ForwardHandler> make_forward_handler() {
    if (config.forwards.empty()) return nullptr;
    std::vector<std::pair<std::string, std::string>> bots;  // name, platform
    for (const BotSettings& settings : config.bots) bots.emplace_back(settings.name, settings.platform);
    for (const platforms::PlatformDescriptor* platform : registry.with_builtin_bot()) {
      bots.emplace_back(platform->builtin_bot->name, platform->name);
    }
    std::map<std::string, std::size_t> target_of_bot;
    for (const auto& [name, platform] : bots) {
      if (const ForwardConfig* f = forward_for(config.forwards, name, platform)) {
        target_of_bot[name] = static_cast<std::size_t>(f - config.forwards.data());
      }
    }
    std::vector<handlers::ForwardTarget> targets;
    for (const ForwardConfig& f : config.forwards) {
      handlers::ForwardTarget target;
      target.url = f.url;
      target.secret = f.secret;
      target.timeout = std::chrono::milliseconds(f.timeout_ms);
      target.max_attempts = f.max_attempts;
      target.max_age = std::chrono::seconds(f.max_age_s);
      targets.push_back(std::move(target));
    }
    return std::make_unique<handlers::ForwardHandler>(io.get_executor(), std::move(targets),
                                                      std::move(target_of_bot));
  }

  net::HttpClient& http_client_for(const std::string& proxy) {
    auto& client = http_clients[proxy];
    if (!client) {
      net::HttpClientOptions options;
      options.proxy_url = proxy;
      options.strand_per_exchange = threads_for(config) > 1;
      client = std::make_unique<net::HttpClient>(io.get_executor(), options);
    }
    return *client;
  }

  void add_bot(const BotSettings& settings) {
    const platforms::PlatformDescriptor* platform = registry.find(settings.platform);
    const auto line_it = config.bot_lines.find(settings.name);
    const int line = line_it == config.bot_lines.end() ? 0 : line_it->second;
    if (platform == nullptr) {
      throw ConfigError(config.file, line, "platform", "unknown platform '" + settings.platform + "'");
    }
    auto strand = runtime->make_bot_strand();
    const std::string proxy = settings.proxy.empty() ? config.proxy_url : settings.proxy;
    platforms::PlatformServices services{strand, http_client_for(proxy), *store, proxy,
                                         registry.configurable_names()};
    BotParts parts;
    try {
      parts = platform->make(settings, services);
    } catch (const BotSkipped& e) {
      skipped.push_back("bot '" + settings.name + "' skipped: " + e.variable() + " is not set");
      spdlog::warn("{}", skipped.back());
      return;
    } catch (const std::invalid_argument& e) {
      throw ConfigError(config.file, line, "bot '" + settings.name + "'", e.what());
    }
    if (settings.inbox_concurrency > 0) parts.inbox_concurrency = settings.inbox_concurrency;
    add_onebot(settings.name, settings.platform, strand, parts);
    const bool has_webhook = parts.webhook != nullptr;
    runtime->add_bot(settings.name, settings.platform, strand, std::move(parts));
    if (has_webhook) {
      spdlog::info("bot {} ({}): callback URL path /webhook/{}", settings.name, settings.platform,
                   settings.name);
    } else {
      spdlog::info("bot {} ({}): events over the connection it opens (no callback URL)",
                   settings.name, settings.platform);
    }
  }

  /// With [onebot]: bot `name`'s OneBot side when [onebot] bots binds it (named there, or, with
  /// none named, served by no [forward] target): its link for the OneBot handler, a connection
  /// to the framework (reverse_url) and the forward WebSocket server (serve), added to its
  /// parts so that the runtime runs and stops them. A built-in bot (the console's sandbox) is
  /// bound only when named, in `bots` or `self_ids`: a framework set up for the team's bots
  /// would refuse its unknown self id, and botgate would dial it again and again.
  void add_onebot(const std::string& name, const std::string& platform,
                  asio::any_io_executor strand, BotParts& parts, bool builtin = false) {
    if (onebot_handler == nullptr) return;
    const OneBotConfig& c = config.onebot;
    const bool named = std::find(c.bots.begin(), c.bots.end(), name) != c.bots.end();
    const bool bound = !c.bots.empty() ? named
                       : builtin       ? c.self_ids.contains(name)
                                       : forward_for(config.forwards, name, platform) == nullptr;
    if (!bound) return;
    const auto id = c.self_ids.find(name);
    onebot::BotIdentity identity{
        name, platform, id == c.self_ids.end() ? onebot_default_self_id(name) : id->second,
        BOTGATE_VERSION};
    auto link = std::make_unique<onebot::BotLink>(strand, *runtime, *store, identity);
    if (!c.reverse_url.empty()) {
      onebot::ReverseClientOptions options;
      options.identity = identity;
      options.url = c.reverse_url;
      options.access_token = c.access_token;
      options.ws.user_agent = std::string("botgate/") + BOTGATE_VERSION + " OneBot/11";
      spdlog::info("bot {} ({}): OneBot v11 self id {}, dialling {}", name, platform,
                   identity.self_id, c.reverse_url);
      auto client = std::make_unique<onebot::ReverseClient>(strand, link->actions(),
                                                            std::move(options));
      link->set_reverse(client.get());
      parts.sources.push_back(std::move(client));
    }
    if (c.serve) {
      spdlog::info("bot {} ({}): OneBot v11 self id {}, forward WebSocket /onebot/v11/ws/{}", name,
                   platform, identity.self_id, name);
      auto server = std::make_unique<onebot::ForwardServer>(*link);
      link->set_forward(server.get());
      forward_servers[name] = server.get();
      parts.sources.push_back(std::move(server));
    }
    onebot_handler->serve(name, link.get());
    onebot_links.push_back(std::move(link));
  }

  const Config& config;
  asio::io_context io;
  platforms::PlatformRegistry registry;
  std::unique_ptr<Store> store;
  HandlerChain chain;
  onebot::OneBotHandler* onebot_handler = nullptr;  // in `chain`, with [onebot]
  /// Each OneBot bot's link, which its connections (in the runtime's bots) refer to: declared
  /// before the runtime, so destroyed after it.
  std::vector<std::unique_ptr<onebot::BotLink>> onebot_links;
  std::map<std::string, onebot::ForwardServer*> forward_servers;  // [onebot] serve, by bot
  std::unique_ptr<Runtime> runtime;
  std::map<std::string, std::unique_ptr<net::HttpClient>> http_clients;
  net::Router router;
  net::Router api_router;  // used only with [api] listen
  api::ApiAccess api_access;
  std::vector<std::string> skipped;  // bots the platforms skipped for an unset variable
  bool started = false;  // run(), check_online() or send_one() began: the chain is read-only
};

namespace {

platforms::PlatformRegistry botgate_platforms() {
  platforms::PlatformRegistry registry;
  platforms::register_all_platforms(registry);
  return registry;
}

}  // namespace

Gateway::Gateway(const Config& config) : Gateway(config, botgate_platforms()) {}
Gateway::Gateway(const Config& config, const platforms::PlatformRegistry& platforms)
    : impl_(std::make_unique<Impl>(config, platforms)) {}
Gateway::~Gateway() = default;

const std::vector<std::string>& Gateway::skipped() const { return impl_->skipped; }

void Gateway::add_handler(std::unique_ptr<Handler> handler) {
  if (impl_->started) {
    throw std::logic_error("Gateway::add_handler after the gateway started");
  }
  impl_->chain.add(std::move(handler));
}

int Gateway::run() {
  impl_->started = true;
  auto& io = impl_->io;
  const auto started = std::chrono::steady_clock::now();
  net::HttpServerOptions options;
  options.listen = impl_->config.server.listen;
  options.max_body_bytes = impl_->config.server.max_body_bytes;
  options.strand_per_connection = Impl::threads_for(impl_->config) > 1;
  const ApiConfig& api_config = impl_->config.api;
  auto token = impl_->load_api_token();
  if (!token) {
    spdlog::error("cannot read or keep the API token in the store: {}", token.error().message());
    return 1;
  }
  impl_->api_access.set_token(token->value);
  impl_->api_access.add_allowed_hosts(api_config.allowed_hosts);
  const OpenFileLimit files = raise_open_file_limit();
  options.max_connections = connection_cap(impl_->config.server.max_connections, files.soft,
                                           impl_->config.bots.size());
  spdlog::info("open files: limit {} (was {}, hard {}); at most {} connections", files.soft,
               files.before, files.hard, options.max_connections);
  if (impl_->config.server.max_connections > options.max_connections) {
    spdlog::warn("server.max_connections = {} is more than the open-file limit allows: {}",
                 impl_->config.server.max_connections, options.max_connections);
  }
  net::HttpServer server(io, impl_->router, options);
  std::optional<net::HttpServer> api_server;
  Result<void> started_ok;
  if (api_config.listen.empty()) {
    started_ok = impl_->start_api_server(server, options.listen);
  } else {
    started_ok = server.start();
    if (started_ok) {
      net::HttpServerOptions api_options = options;
      api_options.listen = api_config.listen;
      api_server.emplace(io, impl_->api_router, api_options);
      started_ok = impl_->start_api_server(*api_server, api_options.listen);
    }
  }
  if (!started_ok) {
    spdlog::error("{}", started_ok.error().detail);
    return 1;
  }
  impl_->runtime->start();
  spdlog::info("botgate listening on {} ({} bots, {} threads, started in {} ms)",
               options.listen, impl_->config.bots.size(), Impl::threads_for(impl_->config),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started).count());

  const std::string& console_listen =
      api_config.listen.empty() ? options.listen : api_config.listen;
  const auto console_host = net::split_host_port(console_listen);
  const std::uint16_t console_port = api_server ? api_server->port() : server.port();
  const std::string host = console_host ? console_host->first : std::string("127.0.0.1");
  // Logged whatever log.level says (at info, or at the level that still shows): it is how the
  // operator gets into the console.
  const auto level = std::max(spdlog::level::info, spdlog::get_level());
  if (token->generated) {
    // The one log line that holds a secret, at every start (as Jupyter prints its URL): the
    // token was made by botgate, so this line is how the operator learns it, also after a
    // restart or with a new browser. The log is the operator's, as the store file that holds the
    // same token is; the token is in the URL's fragment, which the browser never sends.
    spdlog::log(level, "console: {} (API token made by botgate, kept in the store; set [api] "
                       "token to choose one)",
                api::console_url(host, console_port, token->value));
  } else {
    spdlog::log(level, "console: {} (API token: [api] token)",
                api::console_url(host, console_port, ""));
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain(io);
  // Declared out here: each wait of the timer below calls it again after the signal handler
  // has returned.
  std::chrono::steady_clock::time_point deadline;
  std::function<void(const boost::system::error_code&)> poll =
      [&](const boost::system::error_code&) {
        const bool drained = impl_->runtime->stopped() && server.requests_in_flight() == 0;
        if (drained || std::chrono::steady_clock::now() > deadline) {
          server.close();
          if (api_server) api_server->close();
          // One more turn of the loop lets the listener and the connections close.
          drain.expires_after(std::chrono::milliseconds(20));
          drain.async_wait([&](const boost::system::error_code&) { io.stop(); });
          return;
        }
        drain.expires_after(std::chrono::milliseconds(20));
        drain.async_wait(poll);
      };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping (accepted messages stay queued in the store)", signal);
    // Draining: callbacks that arrive from now on get 503, so the platform delivers them again;
    // those in flight finish.
    server.stop();
    if (api_server) api_server->stop();
    impl_->runtime->stop();
    // Workers finish the item in hand; give them a bounded time, then close and stop the loop.
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    poll({});
  });

  std::vector<std::thread> threads;
  const int count = Impl::threads_for(impl_->config);
  for (int i = 1; i < count; ++i) {
    threads.emplace_back([&io] {
      name_this_thread("botgate-io");
      io.run();
    });
  }
  io.run();
  for (auto& t : threads) t.join();
  spdlog::info("botgate stopped");
  return 0;
}

int Gateway::check_online() {
  impl_->started = true;
  int failures = 0;
  auto& io = impl_->io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const BotSettings& bot : impl_->config.bots) {
          auto prepared = co_await impl_->runtime->prepare_bot(bot.name);
          if (prepared) {
            std::cout << "bot " << bot.name << " (" << bot.platform << "): ok\n";
          } else {
            ++failures;
            std::cout << "bot " << bot.name << " (" << bot.platform
                      << "): FAILED: " << prepared.error().message() << "\n";
          }
        }
      },
      [&](std::exception_ptr e) {
        if (e) ++failures;
        impl_->io.stop();
      });
  io.run();
  return failures == 0 ? 0 : 1;
}

int Gateway::send_one(const std::string& bot, const std::string& chat_id, OutgoingMessage message) {
  impl_->started = true;
  if (!impl_->runtime->has_bot(bot)) {
    std::cerr << "botgate: no enabled bot named '" << bot << "'\n";
    return 2;
  }
  int status = 1;
  auto& io = impl_->io;
  impl_->runtime->start();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        message.bot = bot;
        message.chat_id = chat_id;
        message.chat_type = ChatType::group;
        auto id = co_await impl_->runtime->send(std::move(message));
        if (!id) {
          std::cerr << "botgate: cannot queue the message: " << id.error().message() << "\n";
          co_return;
        }
        asio::steady_timer timer(io);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
          auto state = co_await impl_->runtime->message_status(*id);
          if (state && *state && (*state)->state == OutboxState::sent) {
            std::cout << "sent: " << (*state)->platform_message_id << "\n";
            status = 0;
            co_return;
          }
          if (state && *state && (*state)->state == OutboxState::failed) {
            std::cerr << "botgate: send failed: " << (*state)->last_error << "\n";
            co_return;
          }
          timer.expires_after(std::chrono::milliseconds(100));
          co_await timer.async_wait(asio::use_awaitable);
        }
        std::cerr << "botgate: not sent within 60 s; it stays queued and `botgate run` sends it\n";
      },
      [&](std::exception_ptr) {
        impl_->runtime->stop();
        io.stop();
      });
  io.run();
  return status;
}

}  // namespace botgate::app

#include "botgate/api/messages_api.hpp"

#include "botgate/api/api_answers.hpp"
#include "botgate/api/send_request.hpp"

#include <boost/json/serialize.hpp>

namespace botgate::api {
namespace json = boost::json;
namespace {

asio::awaitable<HttpResponse> post_message(Runtime& runtime, const HttpRequest& request) {
  auto parsed = parse_send_request(request.body());
  if (const auto* refused = std::get_if<FieldError>(&parsed)) {
    co_return json_error(http::status::bad_request, "bad_request", refused->detail());
  }
  SendRequest& send = std::get<SendRequest>(parsed);
  if (!runtime.has_bot(send.message.bot)) {
    co_return json_error(http::status::not_found, "unknown_bot",
                         "bot: no bot named '" + send.message.bot + "'");
  }
  if (!send.reply_to_event.empty()) {
    auto target = co_await runtime.reply_target(send.reply_to_event);
    if (!target) co_return failure_answer("read the event to answer", target.error());
    // One answer for an event that was never taken with 202, one kept past its 24 hours and
    // one of another bot: the client learns nothing about the other bots' events.
    if (!*target || (*target)->bot != send.message.bot) {
      co_return json_error(http::status::not_found, "not_found",
                           "reply_to_event: bot '" + send.message.bot +
                               "' keeps no event with that id (an event is kept for 24 hours "
                               "after its forward service answered 202)");
    }
    send.message.in_reply_to(**target);
  }
  if (send.message.stream) {
    auto id = co_await runtime.open_stream(std::move(send.message), std::move(send.client_key));
    if (!id) co_return failure_answer("open a streamed message", id.error());
    co_return json_answer(http::status::accepted, json::object{{"id", *id}, {"stream", "open"}});
  }
  auto id = co_await runtime.send(std::move(send.message), std::move(send.client_key));
  if (!id) co_return failure_answer("queue a message", id.error());
  co_return json_answer(http::status::accepted, json::object{{"id", *id}});
}

asio::awaitable<HttpResponse> patch_message(Runtime& runtime, const HttpRequest& request,
                                            const std::string& param) {
  const auto id = parse_id(param);
  if (!id) {
    co_return json_error(http::status::bad_request, "bad_request",
                         "id: not a message id (a positive number)");
  }
  auto parsed = parse_stream_change(request.body());
  if (const auto* refused = std::get_if<FieldError>(&parsed)) {
    co_return json_error(http::status::bad_request, "bad_request", refused->detail());
  }
  auto grown = co_await runtime.grow_stream(*id, std::move(std::get<StreamChange>(parsed)));
  if (!grown) {
    const Error& error = grown.error();
    if (error.is(errc::not_found)) {
      co_return json_error(http::status::not_found, "not_found", "id: " + error.detail);
    }
    if (error.is(errc::conflict)) {
      co_return json_error(http::status::conflict, "stream_ended", error.detail);
    }
    if (error.is(errc::invalid_argument)) {
      co_return json_error(http::status::payload_too_large, "stream_too_long", error.detail);
    }
    co_return failure_answer("grow a streamed message", error);
  }
  co_return json_answer(http::status::ok,
                        json::object{{"id", *id},
                                     {"stream", to_string(grown->end)},
                                     {"length", grown->text.size()}});
}

asio::awaitable<HttpResponse> get_message(Runtime& runtime, const std::string& param) {
  const auto id = parse_id(param);
  if (!id) {
    co_return json_error(http::status::bad_request, "bad_request",
                         "id: not a message id (a positive number)");
  }
  auto status = co_await runtime.message_status(*id);
  if (!status) co_return failure_answer("read a message's status", status.error());
  if (!*status) {
    co_return json_error(http::status::not_found, "not_found",
                         "id: no message " + std::to_string(*id));
  }
  co_return json_answer(http::status::ok, message_status_json(*id, **status));
}

asio::awaitable<HttpResponse> delete_message(Runtime& runtime, const std::string& param) {
  const auto id = parse_id(param);
  if (!id) {
    co_return json_error(http::status::bad_request, "bad_request",
                         "id: not a message id (a positive number)");
  }
  auto recall = co_await runtime.recall_message(*id);
  if (!recall) {
    const Error& error = recall.error();
    if (error.is(errc::not_found)) {
      co_return json_error(http::status::not_found, "not_found", "id: " + error.detail);
    }
    if (error.is(errc::platform_rejected)) {
      co_return json_error(http::status::unprocessable_entity, "cannot_recall", error.detail);
    }
    if (error.is(errc::invalid_argument)) {
      co_return json_error(http::status::conflict, "nothing_to_recall", error.detail);
    }
    co_return failure_answer("queue a recall", error);
  }
  co_return json_answer(http::status::accepted, json::object{{"id", *recall}, {"recall_of", *id}});
}

}  // namespace

json::object message_status_json(std::int64_t id, const OutboxStatus& status) {
  json::object out;
  out["id"] = id;
  out["bot"] = status.bot;
  switch (status.state) {
    case OutboxState::queued: out["state"] = status.attempts > 0 ? "retrying" : "queued"; break;
    case OutboxState::sent: out["state"] = "sent"; break;
    case OutboxState::failed: out["state"] = "failed"; break;
  }
  out["attempts"] = status.attempts;
  if (status.state == OutboxState::sent && !status.platform_message_id.empty()) {
    out["platform_message_id"] = status.platform_message_id;
  }
  if (status.state != OutboxState::sent && !status.last_error.empty()) {
    out["error"] = status.last_error;
  }
  if (status.recall) {
    if (status.recall->message != 0) {
      out["recall_of"] = status.recall->message;
    } else {
      out["recall_of_platform_message_id"] = status.recall->platform_message_id;
    }
  }
  if (status.stream) out["stream"] = to_string(*status.stream);
  if (status.parts.size() > 1) {
    json::array parts;
    for (const OutboxPart& part : status.parts) {
      json::object p{{"id", part.id},
                     {"state", part.state == OutboxState::sent     ? "sent"
                               : part.state == OutboxState::failed ? "failed"
                                                                   : "queued"}};
      if (!part.platform_message_id.empty()) p["platform_message_id"] = part.platform_message_id;
      parts.push_back(std::move(p));
    }
    out["parts"] = std::move(parts);
  }
  return out;
}

void add_messages_api(net::Router& router, Runtime& runtime, const ApiAccess& access) {
  router.add("/api/v1/messages", {http::verb::post},
             with_api_token(access, [&runtime](const HttpRequest& request,
                                               std::string) -> asio::awaitable<HttpResponse> {
               co_return co_await post_message(runtime, request);
             }));
  router.add("/api/v1/messages/{id}", {http::verb::get, http::verb::delete_, http::verb::patch},
             with_api_token(access, [&runtime](const HttpRequest& request,
                                               std::string id) -> asio::awaitable<HttpResponse> {
               if (request.method() == http::verb::delete_) {
                 co_return co_await delete_message(runtime, id);
               }
               if (request.method() == http::verb::patch) {
                 co_return co_await patch_message(runtime, request, id);
               }
               co_return co_await get_message(runtime, id);
             }));
}

}  // namespace botgate::api

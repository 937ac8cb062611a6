#pragma once
/// Reading and writing URL query strings: the parameters of a callback's request target
/// (WeCom's msg_signature, timestamp, nonce, echostr) and the values of an API call's query.

#include <optional>
#include <string>
#include <string_view>

namespace botgate::net {

/// The percent-decoded value of the first parameter `name` in the query of `target` ("/path?a=1").
/// A "+" stays a "+": platforms percent-encode base64 ("%2B"), and reading "+" as a space (form
/// encoding) would corrupt a literal one. A parameter without "=" has an empty value. Absent, or
/// a query that is not well-formed (a bad %-escape): nullopt.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

/// `text` with every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~) percent-encoded,
/// for a query value.
std::string percent_encode(std::string_view text);

}  // namespace botgate::net

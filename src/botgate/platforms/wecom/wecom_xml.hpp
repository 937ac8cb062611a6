#pragma once
/// The XML of WeCom callbacks (<xml><Encrypt>..</Encrypt></xml> and the decrypted messages),
/// read into a small owned tree so that no parser type leaks out of this file.
///
/// Hostile XML is refused: a document with a DOCTYPE declaration, and with it any ENTITY
/// declaration (billion laughs, external entities such as SYSTEM "file:///etc/passwd"), is
/// malformed_payload, and no entity but the predefined ones is ever expanded. WeCom never sends
/// a DTD. Message text that contains "<!DOCTYPE" (in CDATA, or escaped) is only text.

#include "botgate/core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace botgate::wecom {

/// One element: its name, its own text (text and CDATA children, joined; invalid UTF-8 replaced
/// with U+FFFD) and its elements.
struct XmlElement {
  std::string name;
  std::string text;
  std::vector<XmlElement> children;

  /// The first child element called `name`, or nullptr.
  const XmlElement* child(std::string_view name) const;
  /// The text of the element at `path` below this one ("From/UserId"); empty when absent.
  std::string text_at(std::string_view path) const;
  /// The element at `path` below this one ("From/UserId"), or nullptr.
  const XmlElement* find(std::string_view path) const;
};

/// Parses `document` and returns its root element. A DOCTYPE declaration, XML that does not
/// parse, or elements nested deeper than 32: malformed_payload.
Result<XmlElement> parse_xml(std::string_view document);

}  // namespace botgate::wecom

#include "botgate/platforms/wecom/wecom_xml.hpp"

#include "botgate/core/utf8.hpp"

#include <pugixml.hpp>

#include <algorithm>

namespace botgate::wecom {
namespace {

// WeCom's documents are two levels deep (<xml><From><UserId>); anything far deeper is not WeCom's
// and would only make the copy below recurse.
constexpr int kMaxDepth = 32;

bool copy(const pugi::xml_node& from, XmlElement& to, int depth) {
  if (depth > kMaxDepth) return false;
  to.name = from.name();
  for (const pugi::xml_node& node : from.children()) {
    switch (node.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        to.text += node.value();
        break;
      case pugi::node_element: {
        XmlElement child;
        if (!copy(node, child, depth + 1)) return false;
        to.children.push_back(std::move(child));
        break;
      }
      default:
        break;
    }
  }
  // pugixml passes bytes through unchecked. Invalid UTF-8 in a message would make its stored
  // event unreadable (the JSON parser that reads it back refuses it) and the message lost:
  // replace each bad sequence with U+FFFD instead.
  if (!is_valid_utf8(to.text)) to.text = to_valid_utf8(to.text);
  return true;
}

}  // namespace

const XmlElement* XmlElement::child(std::string_view child_name) const {
  const auto it = std::find_if(children.begin(), children.end(),
                               [&](const XmlElement& c) { return c.name == child_name; });
  return it == children.end() ? nullptr : &*it;
}

const XmlElement* XmlElement::find(std::string_view path) const {
  const XmlElement* at = this;
  while (at != nullptr && !path.empty()) {
    const auto slash = path.find('/');
    at = at->child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return at;
}

std::string XmlElement::text_at(std::string_view path) const {
  const XmlElement* at = find(path);
  return at == nullptr ? std::string() : at->text;
}

Result<XmlElement> parse_xml(std::string_view document) {
  pugi::xml_document doc;
  // parse_doctype keeps a DOCTYPE declaration as a node so that it can be refused below; pugixml
  // accepts one only in the prolog or epilog (inside an element "<!DOCTYPE" does not parse), and
  // entity declarations exist only inside one. parse_escapes reads only the five predefined
  // entities and character references: nothing is ever expanded from a DTD or fetched. Text
  // that merely contains "<!DOCTYPE" (a CDATA Content, an escaped "&lt;!DOCTYPE") is text.
  const unsigned options =
      pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol | pugi::parse_doctype;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(document.data(), document.size(), options, pugi::encoding_utf8);
  if (!parsed) return Error{errc::malformed_payload, "XML does not parse"};
  for (const pugi::xml_node& node : doc.children()) {
    // A DTD (billion laughs, external entities such as SYSTEM "file:///etc/passwd"); WeCom
    // never sends one.
    if (node.type() == pugi::node_doctype) {
      return Error{errc::malformed_payload, "XML with a DOCTYPE declaration"};
    }
  }
  const pugi::xml_node root = doc.document_element();
  if (!root) return Error{errc::malformed_payload, "XML without a root element"};
  // pugixml reads fragments with several top-level elements; a document has one.
  int roots = 0;
  for (const pugi::xml_node& node : doc.children()) roots += node.type() == pugi::node_element;
  if (roots != 1) return Error{errc::malformed_payload, "XML with more than one root element"};
  XmlElement out;
  if (!copy(root, out, 1)) return Error{errc::malformed_payload, "XML nested too deeply"};
  return out;
}

}  // namespace botgate::wecom

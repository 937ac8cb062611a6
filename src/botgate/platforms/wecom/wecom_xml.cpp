#include "botgate/platforms/wecom/wecom_xml.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>

namespace botgate::wecom {
namespace {

// WeCom's documents are two levels deep (<xml><From><UserId>); anything far deeper is not WeCom's
// and would only make the copy below recurse.
constexpr int kMaxDepth = 32;

/// True when `text` holds "<!DOCTYPE" or "<!ENTITY" in any case (whitespace allowed after "<!").
bool declares_dtd(std::string_view text) {
  for (std::size_t at = text.find("<!"); at != std::string_view::npos;
       at = text.find("<!", at + 2)) {
    std::size_t i = at + 2;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
    std::string word;
    while (i < text.size() && word.size() < 7 &&
           std::isalpha(static_cast<unsigned char>(text[i])) != 0) {
      word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(text[i]))));
      ++i;
    }
    if (word == "DOCTYPE" || word.starts_with("ENTITY")) return true;
  }
  return false;
}

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
  if (declares_dtd(document)) {
    return Error{errc::malformed_payload, "XML with a DOCTYPE or ENTITY declaration"};
  }
  pugi::xml_document doc;
  // No parse_doctype, and parse_escapes reads only the five predefined entities and character
  // references: nothing is ever expanded from a DTD or fetched.
  const unsigned options = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(document.data(), document.size(), options, pugi::encoding_utf8);
  if (!parsed) return Error{errc::malformed_payload, "XML does not parse"};
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

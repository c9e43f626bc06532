#pragma once
// Text that came from a server (a reason phrase, an OAuth2 `error`, a document's id, a parser's
// complaint about a document) on its way to a log line, an error message, a table or a terminal.

#include <cstddef>
#include <string>

namespace oura::core {

// `text` made safe for a log line: control characters (a CR or LF could forge a log line, an
// ESC sequence could repaint the terminal; C0, DEL) become \xNN, and it is cut at `limit`
// bytes ("..." added).
std::string printable(const std::string& text, std::size_t limit = 100);

}  // namespace oura::core

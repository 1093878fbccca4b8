// Text placed in HTML: the status page (core/status_page.h) writes every value through escape().
#pragma once

#include <string>
#include <string_view>

namespace wo::html {

// `in` as HTML text or attribute value: & < > " ' become entities, and invalid UTF-8 and NUL bytes are
// replaced first (wo::text::clean), so no byte sequence from a database row can end an element or an
// attribute, or make the browser reject the page.
std::string escape(std::string_view in);

}  // namespace wo::html

// TLS settings for connections to the API server (docs/client.md, "cpprestsdk behaviours the client
// works around": TLS).
#pragma once

#include <cpprest/http_client.h>

#include "config.h"

namespace wo::kube {

// An http_client_config that trusts only config.ca_pem (a fresh X509 store per connection, so the
// system roots are never used), presents the client certificate and key from memory, lets OpenSSL check
// the host against the certificate's SANs (IP SAN for IP hosts, DNS SAN otherwise; never the subject CN),
// requires TLS 1.2+, and sends SNI only for DNS names (RFC 6066 forbids IP literals in SNI).
web::http::client::http_client_config tls_http_config(const Config& config);

}  // namespace wo::kube

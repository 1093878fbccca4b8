#include "tls.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ssl.hpp>

namespace wo::kube {

web::http::client::http_client_config tls_http_config(const Config& config) {
  web::http::client::http_client_config cfg;
  cfg.set_validate_certificates(true);
  const std::string verify_name = server_host(config.server);
  const bool ip = is_ip_literal(verify_name);
  cfg.set_tlsext_sni_enabled(!ip);

  // Captured by value: cpprest calls this for every new connection, possibly after config changes elsewhere.
  const std::string ca = config.ca_pem, cert = config.client_cert_pem, key = config.client_key_pem;
  cfg.set_ssl_context_callback([ca, cert, key, verify_name, ip](boost::asio::ssl::context& ctx) {
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_cert_store(native, X509_STORE_new());  // drop the system roots cpprest loaded
    ctx.add_certificate_authority(boost::asio::buffer(ca));
    if (!cert.empty()) {
      ctx.use_certificate_chain(boost::asio::buffer(cert));
      ctx.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem);
    }
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // cpprest's own rfc2818 check falls back to the subject CN; OpenSSL's check below does not, and a
    // failure here makes the chain unverified, which cpprest's callback then refuses.
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), verify_name.size());
    }
  });
  return cfg;
}

}  // namespace wo::kube

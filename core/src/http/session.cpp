// See session.hpp.
#include "http/session.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>
#include <openssl/ssl.h>

namespace oura::core {

bool isLoopbackHost(const std::string& host) {
  if (Poco::icompare(host, "localhost") == 0) return true;
  Poco::Net::IPAddress address;
  return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

Poco::Net::Context::Ptr makeTlsContext(const std::string& ca_file) {
  Poco::Net::Context::Params params;
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.loadDefaultCAs = ca_file.empty();
  params.caLocation = ca_file;
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // OpenSSL 3: an unclean close is then a plain EOF, which a Content-Length check turns into a
  // truncated-body error instead of a silently short body.
  SSL_CTX_set_options(context->sslContext(), SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  return context;
}

std::unique_ptr<Poco::Net::HTTPClientSession> makeSession(const Poco::URI& uri,
                                                          const Poco::Net::Context::Ptr& context,
                                                          std::chrono::milliseconds connect_timeout,
                                                          std::chrono::milliseconds read_timeout) {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  const std::string scheme = Poco::toLower(uri.getScheme());
  if (scheme == "https") {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
  } else if (scheme == "http") {
    session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  } else {
    throw Poco::InvalidArgumentException("not an http:// or https:// URL: " + uri.toString());
  }
  const Poco::Timespan connect(
      std::chrono::duration_cast<std::chrono::microseconds>(connect_timeout).count());
  const Poco::Timespan read(
      std::chrono::duration_cast<std::chrono::microseconds>(read_timeout).count());
  session->setTimeout(connect, read, read);
  return session;
}

}  // namespace oura::core

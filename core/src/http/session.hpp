#pragma once
// Opening HTTP(S) client sessions the one way the program does it: TLS verification on
// (VERIFY_STRICT, the system CAs or a configured CA bundle), SSL_OP_IGNORE_UNEXPECTED_EOF, plain
// http:// only to loopback hosts. Used by the API client and the OAuth2 client.

#include <Poco/Net/Context.h>
#include <Poco/URI.h>

#include <chrono>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPClientSession;
}

namespace oura::core {

// True for "localhost" and loopback IP addresses (127.0.0.0/8, ::1).
bool isLoopbackHost(const std::string& host);

// A client TLS context that verifies the peer: `ca_file` (PEM) when given, else the system CAs.
// Throws Poco::Exception when the CA file cannot be used.
Poco::Net::Context::Ptr makeTlsContext(const std::string& ca_file);

// An unconnected session to `uri`'s scheme, host and port with the given timeouts. `context` is
// used for https:// (it must not be null then). Throws Poco::Exception for another scheme.
std::unique_ptr<Poco::Net::HTTPClientSession> makeSession(const Poco::URI& uri,
                                                          const Poco::Net::Context::Ptr& context,
                                                          std::chrono::milliseconds connect_timeout,
                                                          std::chrono::milliseconds read_timeout);

}  // namespace oura::core

// HTTP(S) for the azure-keyvault store (see azure_http.hpp).
#include "azure_http.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/NumberParser.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <oura_sdk/errors.hpp>

namespace oura::plugins::azure_keyvault {

bool isLoopbackHost(const std::string& host) {
  if (Poco::icompare(host, "localhost") == 0) return true;
  Poco::Net::IPAddress address;
  return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

Endpoint parseEndpoint(const std::string& key, const std::string& url, bool plain_http_anywhere) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw sdk::ConfigError(key + ": invalid URL '" + url + "': " + e.displayText());
  }
  Endpoint out;
  out.key = key;
  const std::string scheme = Poco::toLower(uri.getScheme());
  if (scheme != "https" && scheme != "http") {
    throw sdk::ConfigError(key + ": '" + url + "' must start with https://");
  }
  out.https = scheme == "https";
  out.host = uri.getHost();
  if (out.host.empty()) throw sdk::ConfigError(key + ": '" + url + "' has no host");
  if (!out.https && !plain_http_anywhere && !isLoopbackHost(out.host)) {
    throw sdk::ConfigError(key + ": refusing plain http:// for '" + url +
                           "': tokens would travel unencrypted; use https:// (http:// is only "
                           "allowed for 127.0.0.1, ::1 and localhost)");
  }
  if (!uri.getQuery().empty() || !uri.getFragment().empty() ||
      (!uri.getPath().empty() && uri.getPath() != "/")) {
    throw sdk::ConfigError(key + ": '" + url +
                           "' must be scheme://host[:port] only (no path, query or fragment)");
  }
  out.port = uri.getPort();
  out.url = scheme + "://" + uri.getAuthority();
  return out;
}

HttpClient::HttpClient(const std::string& ca_file, std::chrono::seconds timeout)
    : timeout_(timeout) {
  Poco::Net::Context::Params params;
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.loadDefaultCAs = ca_file.empty();
  params.caLocation = ca_file;
  try {
    context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  } catch (const Poco::Exception& e) {
    throw sdk::ConfigError("ca_file: cannot set up TLS" +
                           (ca_file.empty() ? std::string() : " with CA file " + ca_file) + ": " +
                           e.displayText());
  }
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // OpenSSL 3: an unclean close becomes a plain EOF, caught by the Content-Length check.
  SSL_CTX_set_options(context_->sslContext(), SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

Response HttpClient::exchange(const Endpoint& endpoint, const std::string& method,
                              const std::string& path_and_query,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body, const std::string& content_type) {
  Response out;
  bool request_started = false;
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (endpoint.https) {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(endpoint.host, endpoint.port,
                                                                context_);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(endpoint.host, endpoint.port);
    }
    const Poco::Timespan timeout(static_cast<long>(timeout_.count()), 0);
    session->setTimeout(timeout, timeout, timeout);
    Poco::Net::HTTPRequest request(method, path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(false);
    request.set("Accept", "application/json");
    request.set("User-Agent", "oura-collector azure-keyvault");
    for (const auto& [name, value] : headers) request.set(name, value);
    const bool has_body = !body.empty() || method == Poco::Net::HTTPRequest::HTTP_PUT ||
                          method == Poco::Net::HTTPRequest::HTTP_POST;
    if (has_body) {
      request.setContentType(content_type.empty() ? "application/json" : content_type);
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    try {
      std::ostream& os = session->sendRequest(request);
      request_started = true;
      os << body;
      os.flush();
    } catch (const Poco::Net::ConnectionRefusedException&) {
      throw;  // nothing went out
    } catch (const Poco::Net::HostNotFoundException&) {
      throw;
    } catch (const Poco::Exception&) {
      request_started = request_started || session->connected();
      throw;
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    Poco::StreamCopier::copyToString(in, out.body);
    if (in.bad()) throw Poco::IOException("the response stream failed while reading the body");
    if (response.hasContentLength() &&
        static_cast<Poco::Int64>(out.body.size()) < response.getContentLength64()) {
      throw Poco::IOException("the response body was cut short");
    }
    out.status = static_cast<int>(response.getStatus());
    if (response.has("Retry-After")) out.retry_after = response.get("Retry-After");
    out.www_authenticate = response.get("WWW-Authenticate", "");
  } catch (const Poco::Net::SSLException& e) {
    out = Response{};
    out.error = "TLS: " + e.displayText();
    out.certificate = e.displayText().find("certificate") != std::string::npos;
    out.maybe_sent = request_started;
  } catch (const Poco::Exception& e) {
    out = Response{};
    out.error = e.displayText();
    out.maybe_sent = request_started;
  } catch (const std::exception& e) {
    out = Response{};
    out.error = e.what();
    out.maybe_sent = request_started;
  }
  return out;
}

Backoff::Backoff(int max_attempts, std::chrono::milliseconds base, std::chrono::milliseconds cap)
    : max_attempts_(std::max(1, max_attempts)), base_(base), cap_(cap) {}

bool Backoff::retryable(const Response& r) {
  if (r.status == 0) return !r.certificate;
  return r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 ||
         r.status == 504;
}

std::optional<std::chrono::milliseconds> Backoff::parseRetryAfter(const std::string& value) {
  const std::string text = Poco::trim(value);
  unsigned seconds = 0;
  if (Poco::NumberParser::tryParseUnsigned(text, seconds)) {
    return std::chrono::milliseconds(std::int64_t{seconds} * 1000);
  }
  Poco::DateTime when;
  int tz = 0;
  if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, text, when, tz)) {
    const auto delta = (when.timestamp() - Poco::Timestamp()) / 1000;  // microseconds -> ms
    return std::chrono::milliseconds(std::max<Poco::Timestamp::TimeDiff>(0, delta));
  }
  return std::nullopt;
}

std::chrono::milliseconds Backoff::wait(int attempt, const Response& response) {
  if (response.retry_after) {
    if (auto after = parseRetryAfter(*response.retry_after)) return std::min(*after, cap_);
  }
  const int shift = std::min(attempt - 1, 20);
  const auto ceiling = std::min<std::int64_t>(cap_.count(), base_.count() << shift);
  std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(0, ceiling));
  return std::chrono::milliseconds(pick(rng_));
}

std::string excerpt(const std::string& body) {
  constexpr std::size_t kChars = 200;
  if (body.empty()) return "(empty body)";
  std::string out;
  for (unsigned char c : body.substr(0, kChars)) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c < 0x20 || c == 0x7f) return "(" + std::to_string(body.size()) + " bytes, not text)";
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(static_cast<char>(c));
  }
  if (body.size() > kChars) out += "...";
  return out;
}

}  // namespace oura::plugins::azure_keyvault

#include "cli/metrics.hpp"

#include "cli/atomic_file.hpp"

#include "http/session.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/NumberParser.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace oura::core {

namespace {

// A label value with \, " and newline escaped (exposition format).
std::string labelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << value;
  return out.str();
}

// Seconds since the epoch of 00:00 UTC of "YYYY-MM-DD".
std::optional<double> dayTimestamp(const std::string& day) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(day.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  return static_cast<double>(
      std::chrono::sys_days(ymd).time_since_epoch() / std::chrono::seconds(1));
}

class Writer {
 public:
  // One metric family: HELP and TYPE once, then its samples.
  void family(const std::string& name, const std::string& type, const std::string& help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << "\n";
    name_ = name;
  }
  void sample(const std::vector<std::pair<std::string, std::string>>& labels, double value) {
    out_ << name_;
    if (!labels.empty()) {
      out_ << '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        out_ << (i ? "," : "") << labels[i].first << "=\"" << labelValue(labels[i].second) << '"';
      }
      out_ << '}';
    }
    out_ << ' ' << number(value) << "\n";
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::string name_;
};

const char* kOutcomes[] = {"ok", "failed", "not_authorised", "upgrade_required", "login_needed",
                           "interrupted"};

}  // namespace

std::string renderMetrics(const RunMetrics& m) {
  Writer w;
  const std::vector<std::pair<std::string, std::string>> run = {{"account", m.account},
                                                                {"command", m.command}};
  w.family("oura_collector_last_run_exit_code", "gauge",
           "Exit code of the last run (0 ok, 1 partial, 69 unavailable, 75 interrupted, 77 login "
           "needed, 78 configuration error).");
  w.sample(run, m.exit_code);
  w.family("oura_collector_last_run_duration_seconds", "gauge", "Duration of the last run.");
  w.sample(run, m.finished_at - m.started_at);
  w.family("oura_collector_last_run_timestamp_seconds", "gauge",
           "When the last run finished, seconds since the Unix epoch.");
  w.sample(run, m.finished_at);

  struct Figure {
    const char* name;
    const char* help;
    double (*get)(const CollectionSummary&);
  };
  static const Figure figures[] = {
      {"oura_collector_collection_last_run_requests", "HTTP requests sent for the collection by the last run (every attempt).",
       [](const CollectionSummary& c) { return static_cast<double>(c.requests); }},
      {"oura_collector_collection_last_run_retries", "Retried requests of the collection in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.retries); }},
      {"oura_collector_collection_last_run_rate_limited_responses", "429 Too Many Requests answers for the collection in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.rate_limited); }},
      {"oura_collector_collection_last_run_documents", "Documents fetched and mapped for the collection by the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.documents); }},
      {"oura_collector_collection_last_run_rows", "Rows of all streams handed to the sinks for the collection by the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.rows); }},
      {"oura_collector_collection_last_run_rows_inserted", "Rows the sinks inserted for the collection in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.inserted); }},
      {"oura_collector_collection_last_run_rows_updated", "Rows the sinks updated for the collection in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.updated); }},
      {"oura_collector_collection_last_run_skipped_documents", "Documents that could not be mapped in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.skipped); }},
      {"oura_collector_collection_last_run_warnings", "Lenient-parsing warnings of the collection in the last run.",
       [](const CollectionSummary& c) { return static_cast<double>(c.warnings); }},
      {"oura_collector_collection_last_run_duration_seconds", "Time the collection took in the last run.",
       [](const CollectionSummary& c) { return c.duration_seconds; }},
  };
  const auto labels = [&](const std::string& collection) {
    return std::vector<std::pair<std::string, std::string>>{
        {"account", m.account}, {"command", m.command}, {"collection", collection}};
  };
  if (m.summary && !m.summary->collections.empty()) {
    for (const Figure& f : figures) {
      w.family(f.name, "gauge", f.help);
      for (const CollectionSummary& c : m.summary->collections) w.sample(labels(c.collection), f.get(c));
    }
    w.family("oura_collector_collection_last_run_outcome", "gauge",
             "Outcome of the collection in the last run: 1 for its outcome, 0 for the others.");
    for (const CollectionSummary& c : m.summary->collections) {
      for (const char* outcome : kOutcomes) {
        auto l = labels(c.collection);
        l.emplace_back("outcome", outcome);
        w.sample(l, outcomeName(c.outcome) == std::string(outcome) ? 1 : 0);
      }
    }
  }
  if (!m.last_success.empty()) {
    w.family("oura_collector_collection_last_success_timestamp_seconds", "gauge",
             "When the collection last ended ok, seconds since the Unix epoch.");
    for (const auto& [collection, at] : m.last_success) {
      w.sample({{"account", m.account}, {"collection", collection}}, at);
    }
  }
  if (!m.synced_through.empty()) {
    w.family("oura_collector_collection_synced_through_timestamp_seconds", "gauge",
             "The last day fully synced, as 00:00 UTC of that day in seconds since the Unix "
             "epoch.");
    for (const auto& [collection, day] : m.synced_through) {
      if (const auto at = dayTimestamp(day)) {
        w.sample({{"account", m.account}, {"collection", collection}}, *at);
      }
    }
  }
  if (m.tokens) {
    const std::vector<std::pair<std::string, std::string>> account = {{"account", m.account}};
    if (m.tokens->expires_at) {
      w.family("oura_collector_token_expiry_timestamp_seconds", "gauge",
               "When the stored access token expires (a refresh is needed), seconds since the "
               "Unix epoch.");
      w.sample(account, static_cast<double>(*m.tokens->expires_at));
      w.family("oura_collector_token_refresh_needed_in_seconds", "gauge",
               "Seconds from the end of the last run until the access token expires and a "
               "refresh is needed (negative: expired).");
      w.sample(account, static_cast<double>(*m.tokens->expires_at) - std::floor(m.finished_at));
    }
    if (m.tokens->refreshed_at) {
      w.family("oura_collector_token_last_refresh_timestamp_seconds", "gauge",
               "When the tokens were last refreshed (or logged in), seconds since the Unix epoch.");
      w.sample(account, static_cast<double>(*m.tokens->refreshed_at));
    }
    w.family("oura_collector_token_refresh_rejected", "gauge",
             "1 when the token endpoint rejected the refresh token (a login is needed), else 0.");
    w.sample(account, m.tokens->refresh_rejected_at ? 1 : 0);
  }
  return w.text();
}

std::map<std::string, double> previousSuccesses(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines(text);
  const std::string name = "oura_collector_collection_last_success_timestamp_seconds{";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const std::size_t start = line.find("collection=\"");
    const std::size_t close = line.rfind('}');
    if (start == std::string::npos || close == std::string::npos) continue;
    const std::size_t end = line.find('"', start + 12);
    double value = 0;
    if (end == std::string::npos ||
        !Poco::NumberParser::tryParseFloat(line.substr(close + 2), value)) {
      continue;
    }
    out[line.substr(start + 12, end - start - 12)] = value;
  }
  return out;
}

void writeMetricsFile(const std::string& path, const std::string& text) {
  // Renamed over the target: node_exporter never reads it half-written.
  const std::string problem = replaceFile(path, text);
  if (!problem.empty()) throw std::runtime_error("--metrics-file: " + problem);
}

void checkPushgatewayUrl(const std::string& url) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument("--pushgateway: not a URL: '" + url + "' (" + e.message() + ")");
  }
  if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty() ||
      !uri.getRawQuery().empty() || !uri.getFragment().empty()) {
    throw std::invalid_argument("--pushgateway: expected an http:// or https:// URL with a host "
                                "and no query, like http://pushgateway:9091, not '" + url + "'");
  }
}

void pushMetrics(const std::string& base_url, const std::string& account,
                 const std::string& command, const std::string& text) {
  checkPushgatewayUrl(base_url);
  Poco::URI uri(base_url);
  std::string path = uri.getPath();
  while (!path.empty() && path.back() == '/') path.pop_back();
  // A grouping-key value that is not a plain word travels base64url-encoded (label@base64).
  const bool plain = !account.empty() && account.find_first_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string::npos;
  std::string account_segment = "account/" + account;
  if (!plain) {
    std::ostringstream encoded;
    Poco::Base64Encoder encoder(encoded, Poco::BASE64_URL_ENCODING);
    encoder << account;
    encoder.close();
    account_segment = "account@base64/" + (account.empty() ? std::string("=") : encoded.str());
  }
  path += "/metrics/job/oura-collector/" + account_segment + "/command/" + command;
  Poco::Net::Context::Ptr context;
  if (uri.getScheme() == "https") context = makeTlsContext("");
  auto session = makeSession(uri, context, std::chrono::seconds(10), std::chrono::seconds(30));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_PUT, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("text/plain; version=0.0.4; charset=utf-8");
  request.setContentLength(static_cast<std::streamsize>(text.size()));
  try {
    session->sendRequest(request) << text;
    Poco::Net::HTTPResponse response;
    std::istream& body = session->receiveResponse(response);
    std::string answer;
    Poco::StreamCopier::copyToString(body, answer);
    if (response.getStatus() / 100 != 2) {
      if (answer.size() > 200) answer.resize(200);
      throw std::runtime_error("--pushgateway: PUT " + uri.getScheme() + "://" +
                               uri.getAuthority() + path + ": HTTP " +
                               std::to_string(response.getStatus()) + " " + answer);
    }
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("--pushgateway: PUT " + uri.getScheme() + "://" + uri.getAuthority() +
                             path + ": " + e.displayText());
  }
}

}  // namespace oura::core

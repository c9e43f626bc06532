// Launcher for the fake Oura API server (see fake_oura.hpp and tests/fakes/README.md).
#include "fake_oura.hpp"

#include <Poco/JSON/Parser.h>

#include <stdexcept>

#include "python_fake.hpp"

namespace oura::test {

namespace {

const std::string kListeningPrefix = "listening on http://127.0.0.1:";

}  // namespace

FakeOura::FakeOura(std::vector<std::string> extra_args) {
  const std::string script = envOr("OURA_FAKE_SERVER", "");
  if (script.empty()) {
    throw std::runtime_error("OURA_FAKE_SERVER is not set (run the test through ctest)");
  }
  for (std::size_t i = 0; i + 1 < extra_args.size(); ++i) {
    if (extra_args[i] == "--token") token_ = extra_args[i + 1];
  }
  std::vector<std::string> args{"--port", "0", "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<PythonFake>("the fake Oura server", script, args);
  const std::string& line = process_->firstLine();
  if (line.rfind(kListeningPrefix, 0) == 0) {
    try {
      port_ = std::stoi(line.substr(kListeningPrefix.size()));
    } catch (const std::exception&) {
      port_ = 0;
    }
  }
  if (port_ <= 0) process_->failedToStart();
}

FakeOura::~FakeOura() = default;

int FakeOura::port() const { return port_; }

std::string FakeOura::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FakeOura::token() const { return token_; }

std::string FakeOura::serverStderr() const { return process_->serverStderr(); }

Poco::JSON::Array::Ptr FakeOura::documents(const std::string& collection, const std::string& start_date,
                                           const std::string& end_date) {
  const std::string path =
      "/_fake/documents?collection=" + collection + "&start_date=" + start_date + "&end_date=" + end_date;
  auto value = fakeGetJson(baseUrl(), path);
  return value.extract<Poco::JSON::Array::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::stats() {
  auto value = fakeGetJson(baseUrl(), "/_fake/stats");
  return value.extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::oauth() {
  auto value = fakeGetJson(baseUrl(), "/_fake/oauth");
  return value.extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::seedTokens() {
  const std::string body = fakePost(baseUrl(), "/_fake/oauth", R"({"seed": true})");
  return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("issued");
}

void FakeOura::post(const std::string& control_path, const std::string& json_body) {
  fakePost(baseUrl(), control_path, json_body);
}

void FakeOura::reset() { post("/_fake/reset", "{}"); }

}  // namespace oura::test

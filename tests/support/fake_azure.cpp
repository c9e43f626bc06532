// Launcher for the fake Azure services (see fake_azure.hpp and tests/fakes/README.md).
#include "fake_azure.hpp"

#include <sstream>
#include <stdexcept>

#include "python_fake.hpp"

namespace oura::test {

FakeAzure::FakeAzure(const std::string& dir, std::vector<std::string> extra_args)
    : certificate_(makeTestCertificate(dir, "fake-azure", "IP:127.0.0.1")) {
  const std::string source = envOr("OURA_SOURCE_DIR", "");
  if (source.empty()) throw std::runtime_error("OURA_SOURCE_DIR is not set (run through ctest)");
  std::vector<std::string> args{"--quiet", "--cert", certificate_.cert, "--key", certificate_.key};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<PythonFake>("the fake Azure services",
                                          source + "/tests/fakes/fake_azure.py", args);
  // "listening on https://127.0.0.1:P http://127.0.0.1:Q"
  std::istringstream words(process_->firstLine());
  std::string listening, on;
  words >> listening >> on >> https_url_ >> http_url_;
  if (listening != "listening" || https_url_.rfind("https://127.0.0.1:", 0) != 0 ||
      http_url_.rfind("http://127.0.0.1:", 0) != 0) {
    process_->failedToStart();
  }
}

FakeAzure::~FakeAzure() = default;

std::string FakeAzure::serverStderr() const { return process_->serverStderr(); }

Poco::JSON::Object::Ptr FakeAzure::stats() {
  return fakeGetJson(http_url_, "/_fake/stats").extract<Poco::JSON::Object::Ptr>();
}

void FakeAzure::post(const std::string& control_path, const std::string& json_body) {
  fakePost(http_url_, control_path, json_body);
}

}  // namespace oura::test

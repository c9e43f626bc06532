// Launcher for the fake Azure services (see fake_azure.hpp and tests/fakes/README.md).
#include "fake_azure.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <csignal>
#include <unistd.h>

namespace oura::test {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(5);

std::string pythonInterpreter() {
  const std::string configured = envOr("OURA_PYTHON", "");
  if (!configured.empty()) return configured;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

struct FakeAzure::Impl {
  std::optional<Poco::ProcessHandle> process;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  std::thread out_reader;
  std::thread err_reader;
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string first_line;
  bool line_done = false;
  bool out_eof = false;
  std::string err_text;

  void readStdout() {
    Poco::PipeInputStream in(out_pipe);
    char c = 0;
    while (in.get(c)) {
      std::lock_guard lock(mutex);
      if (line_done) continue;
      if (c == '\n') {
        line_done = true;
        changed.notify_all();
      } else {
        first_line.push_back(c);
      }
    }
    std::lock_guard lock(mutex);
    out_eof = true;
    changed.notify_all();
  }

  void readStderr() {
    Poco::PipeInputStream in(err_pipe);
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      std::lock_guard lock(mutex);
      err_text.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
  }

  void stop() {
    if (process) {
      try {
        ::kill(process->id(), SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
        bool exited = process->tryWait() != -1;
        while (!exited && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          exited = process->tryWait() != -1;
        }
        if (!exited) {
          Poco::Process::kill(*process);
          process->wait();
        }
      } catch (const Poco::Exception&) {
        // already reaped
      }
      process.reset();
    }
    if (out_reader.joinable()) out_reader.join();
    if (err_reader.joinable()) err_reader.join();
  }
};

FakeAzure::FakeAzure(const std::string& dir, std::vector<std::string> extra_args)
    : impl_(std::make_unique<Impl>()),
      certificate_(makeTestCertificate(dir, "fake-azure", "IP:127.0.0.1")) {
  const std::string source = envOr("OURA_SOURCE_DIR", "");
  if (source.empty()) throw std::runtime_error("OURA_SOURCE_DIR is not set (run through ctest)");
  Poco::Process::Args args{source + "/tests/fakes/fake_azure.py", "--quiet", "--cert",
                           certificate_.cert, "--key", certificate_.key};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  try {
    impl_->process = Poco::Process::launch(pythonInterpreter(), args, nullptr, &impl_->out_pipe,
                                           &impl_->err_pipe);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot start the fake Azure services: " + e.displayText());
  }
  impl_->out_reader = std::thread([impl = impl_.get()] { impl->readStdout(); });
  impl_->err_reader = std::thread([impl = impl_.get()] { impl->readStderr(); });
  std::string line;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait_for(lock, kStartTimeout,
                            [this] { return impl_->line_done || impl_->out_eof; });
    line = impl_->line_done ? impl_->first_line : std::string();
  }
  // "listening on https://127.0.0.1:P http://127.0.0.1:Q"
  std::istringstream words(line);
  std::string listening, on;
  words >> listening >> on >> https_url_ >> http_url_;
  if (listening != "listening" || https_url_.rfind("https://127.0.0.1:", 0) != 0 ||
      http_url_.rfind("http://127.0.0.1:", 0) != 0) {
    impl_->stop();
    throw std::runtime_error("the fake Azure services did not start (first line: '" + line +
                             "'); stderr:\n" + serverStderr());
  }
}

FakeAzure::~FakeAzure() { impl_->stop(); }

std::string FakeAzure::serverStderr() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->err_text;
}

Poco::JSON::Object::Ptr FakeAzure::stats() {
  const HttpResult result = httpRequest(http_url_, "/_fake/stats");
  if (result.status != 200) {
    throw std::runtime_error("GET /_fake/stats answered " + std::to_string(result.status));
  }
  Poco::JSON::Parser parser;
  return parser.parse(result.body).extract<Poco::JSON::Object::Ptr>();
}

void FakeAzure::post(const std::string& control_path, const std::string& json_body) {
  const HttpResult result = httpRequest(http_url_, control_path, {}, "POST", json_body);
  if (result.status != 200) {
    throw std::runtime_error("POST " + control_path + " answered " +
                             std::to_string(result.status) + ": " + result.body);
  }
}

}  // namespace oura::test

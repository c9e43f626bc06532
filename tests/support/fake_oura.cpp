// Launcher for the fake Oura API server (see fake_oura.hpp and tests/fakes/README.md).
#include "fake_oura.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <csignal>
#include <unistd.h>

namespace oura::test {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(5);
const std::string kListeningPrefix = "listening on http://127.0.0.1:";

// $OURA_PYTHON, else Debian's /usr/bin/python3 (a version-manager shim on PATH can add a second
// to every start), else python3 from PATH.
std::string pythonInterpreter() {
  const std::string configured = envOr("OURA_PYTHON", "");
  if (!configured.empty()) return configured;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

struct FakeOura::Impl {
  std::optional<Poco::ProcessHandle> process;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  std::thread out_reader;
  std::thread err_reader;

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string first_line;   // the "listening on" line, once read
  bool line_done = false;   // first_line complete
  bool out_eof = false;     // the server closed stdout (it exited)
  std::string err_text;     // everything the server wrote to stderr

  void readStdout() {
    Poco::PipeInputStream in(out_pipe);
    char c = 0;
    while (in.get(c)) {
      std::lock_guard lock(mutex);
      if (line_done) continue;  // drain anything after the first line
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

  // Terminates the server (SIGTERM; SIGKILL after a grace period), reaps it and joins the
  // reader threads.
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
        // Already reaped or gone: nothing left to stop.
      }
      process.reset();
    }
    if (out_reader.joinable()) out_reader.join();
    if (err_reader.joinable()) err_reader.join();
  }
};

FakeOura::FakeOura(std::vector<std::string> extra_args) : impl_(std::make_unique<Impl>()) {
  const std::string script = envOr("OURA_FAKE_SERVER", "");
  if (script.empty()) {
    throw std::runtime_error("OURA_FAKE_SERVER is not set (run the test through ctest)");
  }
  for (std::size_t i = 0; i + 1 < extra_args.size(); ++i) {
    if (extra_args[i] == "--token") token_ = extra_args[i + 1];
  }
  Poco::Process::Args args{script, "--port", "0", "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  try {
    impl_->process = Poco::Process::launch(pythonInterpreter(), args, nullptr, &impl_->out_pipe,
                                           &impl_->err_pipe);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot start the fake Oura server: " + e.displayText());
  }
  impl_->out_reader = std::thread([impl = impl_.get()] { impl->readStdout(); });
  impl_->err_reader = std::thread([impl = impl_.get()] { impl->readStderr(); });

  std::string line;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait_for(lock, kStartTimeout, [this] { return impl_->line_done || impl_->out_eof; });
    line = impl_->line_done ? impl_->first_line : std::string();
  }
  if (line.rfind(kListeningPrefix, 0) == 0) {
    try {
      port_ = std::stoi(line.substr(kListeningPrefix.size()));
    } catch (const std::exception&) {
      port_ = 0;
    }
  }
  if (port_ <= 0) {
    impl_->stop();
    throw std::runtime_error("the fake Oura server did not start (first line: '" + line + "'); its stderr:\n" +
                             serverStderr());
  }
}

FakeOura::~FakeOura() { impl_->stop(); }

int FakeOura::port() const { return port_; }

std::string FakeOura::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FakeOura::token() const { return token_; }

std::string FakeOura::serverStderr() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->err_text;
}

namespace {

Poco::Dynamic::Var parseJson(const std::string& what, const HttpResult& result) {
  if (result.status != 200) {
    throw std::runtime_error(what + " answered " + std::to_string(result.status) + ": " + result.body);
  }
  try {
    Poco::JSON::Parser parser;
    return parser.parse(result.body);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(what + " returned invalid JSON: " + e.displayText());
  }
}

}  // namespace

Poco::JSON::Array::Ptr FakeOura::documents(const std::string& collection, const std::string& start_date,
                                           const std::string& end_date) {
  const std::string path =
      "/_fake/documents?collection=" + collection + "&start_date=" + start_date + "&end_date=" + end_date;
  auto value = parseJson("GET " + path, httpRequest(baseUrl(), path));
  return value.extract<Poco::JSON::Array::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::stats() {
  auto value = parseJson("GET /_fake/stats", httpRequest(baseUrl(), "/_fake/stats"));
  return value.extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::oauth() {
  auto value = parseJson("GET /_fake/oauth", httpRequest(baseUrl(), "/_fake/oauth"));
  return value.extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr FakeOura::seedTokens() {
  const HttpResult result = httpRequest(baseUrl(), "/_fake/oauth", {}, "POST", R"({"seed": true})");
  if (result.status != 200) {
    throw std::runtime_error("POST /_fake/oauth answered " + std::to_string(result.status) + ": " +
                             result.body);
  }
  return parseJson("POST /_fake/oauth", result).extract<Poco::JSON::Object::Ptr>()->getObject("issued");
}

void FakeOura::post(const std::string& control_path, const std::string& json_body) {
  const HttpResult result = httpRequest(baseUrl(), control_path, {}, "POST", json_body);
  if (result.status != 200) {
    throw std::runtime_error("POST " + control_path + " answered " + std::to_string(result.status) + ": " +
                             result.body);
  }
}

void FakeOura::reset() { post("/_fake/reset", "{}"); }

}  // namespace oura::test

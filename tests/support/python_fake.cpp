// The process side of the Python fakes (see python_fake.hpp).
#include "python_fake.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

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

struct PythonFake::Impl {
  std::optional<Poco::ProcessHandle> process;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  std::thread out_reader;
  std::thread err_reader;

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string first_line;  // the first stdout line, once read
  bool line_done = false;  // first_line complete
  bool out_eof = false;    // the fake closed stdout (it exited)
  std::string err_text;    // everything the fake wrote to stderr

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

PythonFake::PythonFake(std::string what, const std::string& script,
                       const std::vector<std::string>& args)
    : what_(std::move(what)), impl_(std::make_unique<Impl>()) {
  Poco::Process::Args argv{script};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    impl_->process = Poco::Process::launch(pythonInterpreter(), argv, nullptr, &impl_->out_pipe,
                                           &impl_->err_pipe);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot start " + what_ + ": " + e.displayText());
  }
  impl_->out_reader = std::thread([impl = impl_.get()] { impl->readStdout(); });
  impl_->err_reader = std::thread([impl = impl_.get()] { impl->readStderr(); });
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait_for(lock, kStartTimeout,
                          [this] { return impl_->line_done || impl_->out_eof; });
  if (impl_->line_done) first_line_ = impl_->first_line;
}

PythonFake::~PythonFake() { stop(); }

void PythonFake::stop() { impl_->stop(); }

std::string PythonFake::serverStderr() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->err_text;
}

void PythonFake::failedToStart() {
  stop();
  throw std::runtime_error(what_ + " did not start (first line: '" + first_line_ +
                           "'); its stderr:\n" + serverStderr());
}

Poco::Dynamic::Var fakeGetJson(const std::string& base_url, const std::string& path) {
  const HttpResult result = httpRequest(base_url, path);
  if (result.status != 200) {
    throw std::runtime_error("GET " + path + " answered " + std::to_string(result.status) + ": " +
                             result.body);
  }
  try {
    Poco::JSON::Parser parser;
    return parser.parse(result.body);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("GET " + path + " returned invalid JSON: " + e.displayText());
  }
}

std::string fakePost(const std::string& base_url, const std::string& control_path,
                     const std::string& json_body) {
  const HttpResult result = httpRequest(base_url, control_path, {}, "POST", json_body);
  if (result.status != 200) {
    throw std::runtime_error("POST " + control_path + " answered " + std::to_string(result.status) +
                             ": " + result.body);
  }
  return result.body;
}

}  // namespace oura::test

// Test support: running programs, environment, temp folders, plain HTTP (see test_support.hpp).
#include "test_support.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace oura::test {

namespace {

// Writing to a child that has exited must fail with an error, not kill the test with SIGPIPE.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::string readAll(Poco::Pipe pipe) {
  Poco::PipeInputStream in(pipe);
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return text;
}

}  // namespace

CommandResult runCommand(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& extra_env, const std::string& stdin_text) {
  ignoreSigpipe();
  Poco::Pipe in_pipe;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  Poco::Process::Env env(extra_env.begin(), extra_env.end());
  Poco::Process::Args process_args(args.begin(), args.end());

  CommandResult result;
  try {
    Poco::ProcessHandle handle =
        Poco::Process::launch(program, process_args, &in_pipe, &out_pipe, &err_pipe, env);
    std::thread err_reader([&result, err_pipe] { result.err = readAll(err_pipe); });
    std::thread in_writer([in_pipe, &stdin_text]() mutable {
      try {
        std::size_t done = 0;
        while (done < stdin_text.size()) {
          const int written = in_pipe.writeBytes(stdin_text.data() + done, static_cast<int>(stdin_text.size() - done));
          if (written <= 0) break;
          done += static_cast<std::size_t>(written);
        }
      } catch (const Poco::Exception&) {
        // The child closed its stdin early; what it did not read is its business.
      }
      in_pipe.close(Poco::Pipe::CLOSE_WRITE);
    });
    result.out = readAll(out_pipe);
    in_writer.join();
    err_reader.join();
    result.exit_code = handle.wait();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot run " + program + ": " + e.displayText());
  }
  return result;
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string makeTempDir() {
  std::string pattern = envOr("TMPDIR", "/tmp") + "/oura-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary folder from " + pattern);
  }
  return pattern;
}

std::string writeFile(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << content;
  file.close();
  if (!file) {
    throw std::runtime_error("cannot write " + path);
  }
  return path;
}

HttpResult httpRequest(const std::string& base_url, const std::string& path_and_query,
                       const std::map<std::string, std::string>& headers, const std::string& method,
                       const std::string& body, const std::string& content_type) {
  const Poco::URI uri(base_url);
  HttpResult result;
  try {
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    if (!body.empty() || method == Poco::Net::HTTPRequest::HTTP_POST) {
      request.setContentType(content_type);
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(in, result.body);
    result.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) {
      result.headers[Poco::toLower(name)] = value;
    }
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(method + " " + base_url + path_and_query + " failed: " + e.displayText());
  }
  return result;
}

}  // namespace oura::test

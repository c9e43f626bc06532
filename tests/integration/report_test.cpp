// `oura-collector report` end to end: a scrape from the fake server into a real PostgreSQL, then
// the report from the database alone (no token in the environment, no request to the fake), and
// the page rendered by headless Chromium (Debian's `chromium`): the screenshot is not blank, the
// browser logs no console message (errors, Content-Security-Policy violations), and no request
// of the page reaches the network (a recording proxy on loopback sees every request the browser
// makes; a canary page proves it would see the page's).
// Set OURA_REPORT_SCREENSHOT=FILE to keep the screenshot.
#include "fake_oura.hpp"
#include "test_support.hpp"
#include "token_store_support.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string manifestFor(const std::string& db, const std::string& base_url, const std::string& port) {
  std::string m = "[collector]\naccount = \"report\"\nplugin_dirs = [\"" + envOr("OURA_PLUGIN_DIR", "") +
                  "\"]\nsql_dir = \"" + envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                  base_url + "\"\n[token_store]\nplugin = \"env\"\n[token_store.config]\n"
                  "variable = \"OURA_E2E_TOKEN\"\n";
  for (const char* endpoint : {"daily", "sleep", "heart"}) {
    m += std::string("[[endpoints]]\nplugin = \"") + endpoint + "\"\n";
  }
  m += "[[sinks]]\nplugin = \"postgres\"\nname = \"db\"\n[sinks.config]\nhost = \"" +
       envOr("PGHOST", "") + "\"\nport = " + port + "\ndbname = \"" + db + "\"\nuser = \"" +
       envOr("PGUSER", "postgres") + "\"\nsslmode = \"disable\"\n";
  return m;
}

// An HTTP proxy on loopback that answers 502 to everything and records each request line, so
// the test sees every request Chromium sends (page or browser), plain or CONNECT.
class RecordingProxy {
 public:
  RecordingProxy() : server_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    server_.setReceiveTimeout(Poco::Timespan(0, 200000));
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingProxy() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return server_.address().port(); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      if (!server_.poll(Poco::Timespan(0, 100000), Poco::Net::Socket::SELECT_READ)) continue;
      try {
        Poco::Net::StreamSocket client = server_.acceptConnection();
        client.setReceiveTimeout(Poco::Timespan(2, 0));
        char buffer[2048];
        const int n = client.receiveBytes(buffer, sizeof buffer);
        if (n > 0) {
          std::string text(buffer, static_cast<std::size_t>(n));
          std::lock_guard lock(mutex_);
          requests_.push_back(text.substr(0, text.find("\r\n")));
        }
        const std::string answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        client.sendBytes(answer.data(), static_cast<int>(answer.size()));
        client.close();
      } catch (const Poco::Exception&) {
      }
    }
  }

  Poco::Net::ServerSocket server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

struct Rendered {
  CommandResult chromium;
  std::vector<std::string> proxied;  // request lines the proxy saw
};

Rendered renderInChromium(const std::string& html, const std::string& screenshot) {
  RecordingProxy proxy;
  const std::string profile = oura::test::makeTempDir();
  Rendered r;
  r.chromium = oura::test::runCommand(
      "chromium",
      {"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--no-first-run",
       "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
       "--proxy-server=http://127.0.0.1:" + std::to_string(proxy.port()),
       "--proxy-bypass-list=<-loopback>", "--window-size=1200,2400",
       "--screenshot=" + screenshot, "file://" + html});
  // Requests still in flight when the browser ended are in the proxy's backlog.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  r.proxied = proxy.requests();
  std::filesystem::remove_all(profile);
  return r;
}

// Chromium's own background services (time, component updates, sign-in), which run even with
// --disable-background-networking; every other host would be the page's.
bool chromiumsOwn(const std::string& request_line) {
  return std::regex_search(request_line,
                           std::regex(R"(^\S+ (https?://)?[a-z0-9.-]*\.(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)(:443)?[/ ])"));
}

// Share of pixels that are not the page's white, and distinct colours (python3-pil).
std::pair<double, int> screenshotStats(const std::string& png) {
  CommandResult r = oura::test::runCommand(
      "/usr/bin/python3",
      {"-c",
       "import sys; from PIL import Image\n"
       "im = Image.open(sys.argv[1]).convert('RGB'); px = list(im.getdata())\n"
       "print(sum(1 for p in px if p != (255, 255, 255)) / len(px), len(set(px)))",
       png});
  if (r.exit_code != 0) throw std::runtime_error("reading " + png + ": " + r.err);
  std::istringstream in(r.out);
  double share = 0;
  int colours = 0;
  in >> share >> colours;
  return {share, colours};
}

TEST(Report, FromTheDatabaseOnlyRenderedByHeadlessChromium) {
  oura::test::TestDatabase db("oura_report_");
  FakeOura fake({"--first-day", "2023-12-01", "--last-day", "2024-01-31"});
  const std::string dir = oura::test::makeTempDir();
  const std::string manifest = oura::test::writeFile(
      dir, "manifest.toml", manifestFor(db.name(), fake.baseUrl(), envOr("PGPORT", "5432")));
  const std::string binary = envOr("OURA_BINARY", "oura-collector");
  CommandResult scrape = oura::test::runCommand(
      binary, {"--config", manifest, "scrape", "--since", "2023-12-22", "--until", "2024-01-20"},
      {{"OURA_E2E_TOKEN", fake.token()}});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
  const int requests_before = fake.stats()->getValue<int>("total");

  // No token anywhere: the report reads the database only.
  const std::string html = dir + "/report.html";
  CommandResult report = oura::test::runCommand(
      binary, {"--config", manifest, "report", "--days", "30", "--until", "2024-01-20",
               "--output", html});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), requests_before) << "report asked Oura";
  EXPECT_NE(report.err.find("2023-12-22 to 2024-01-20 (30 days with data)"), std::string::npos)
      << report.err;
  const std::string page = readFile(html);
  EXPECT_NE(page.find("Oura report: report, 2023-12-22 to 2024-01-20"), std::string::npos);
  EXPECT_NE(page.find("Collector health"), std::string::npos);
  EXPECT_NE(page.find("<td>daily_sleep</td>"), std::string::npos);
  EXPECT_GE(std::count(page.begin(), page.end(), '\n'), 20);
  EXPECT_EQ(page.find("no data in this period"), std::string::npos) << "a chart without data";
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
  // --output - : the same page on stdout, for a pipe (e.g. into a mail).
  CommandResult piped = oura::test::runCommand(
      binary, {"--config", manifest, "report", "--until", "2024-01-20", "--output", "-"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(piped.out.find("Oura report: report, 2023-12-22 to 2024-01-20"), std::string::npos);

  // Headless Chromium: a screenshot with something on it, no console message, no request of the
  // page through the proxy.
  const std::string shot = envOr("OURA_REPORT_SCREENSHOT", dir + "/report.png");
  Rendered rendered = renderInChromium(html, shot);
  ASSERT_EQ(rendered.chromium.exit_code, 0) << rendered.chromium.err;
  ASSERT_TRUE(std::filesystem::exists(shot)) << rendered.chromium.err;
  const auto [ink, colours] = screenshotStats(shot);
  std::cout << "report screenshot: " << shot << ", " << ink * 100 << " % not white, " << colours
            << " colours, " << std::filesystem::file_size(shot) << " bytes\n";
  EXPECT_GT(ink, 0.05) << "the screenshot is (nearly) blank";
  EXPECT_GT(colours, 50) << "the screenshot has hardly any colours: charts missing";
  std::smatch console;
  EXPECT_FALSE(std::regex_search(rendered.chromium.err, console, std::regex(R"(:CONSOLE[^\n]*)")))
      << "console message: " << console.str();
  for (const std::string& request : rendered.proxied) {
    EXPECT_TRUE(chromiumsOwn(request)) << "the page requested: " << request;
  }

  // The same check on a page that does reach out proves the proxy and the console check see it.
  const std::string canary = oura::test::writeFile(
      dir, "canary.html",
      "<!DOCTYPE html><html><body><img src=\"http://canary.invalid/x.png\"></body></html>");
  Rendered leaked = renderInChromium(canary, dir + "/canary.png");
  bool seen = false;
  for (const std::string& request : leaked.proxied) seen = seen || request.find("canary.invalid") != std::string::npos;
  EXPECT_TRUE(seen) << "the proxy did not see the canary page's request";
  if (!HasFailure()) std::filesystem::remove_all(dir);  // else left for inspection
}

TEST(Report, UsageAndUnavailableDatabase) {
  const std::string dir = oura::test::makeTempDir();
  // A port nothing listens on: the database is unreachable (69), after the usage checks (64).
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string port = std::to_string(closed.address().port());
  closed.close();
  const std::string manifest = oura::test::writeFile(
      dir, "manifest.toml", manifestFor("nowhere", "http://127.0.0.1:9", port));
  const std::string binary = envOr("OURA_BINARY", "oura-collector");
  CommandResult no_output = oura::test::runCommand(binary, {"--config", manifest, "report"});
  EXPECT_EQ(no_output.exit_code, 64) << no_output.err;
  EXPECT_NE(no_output.err.find("--output"), std::string::npos) << no_output.err;
  CommandResult bad_folder = oura::test::runCommand(
      binary, {"--config", manifest, "report", "--output", dir + "/missing/report.html"});
  EXPECT_EQ(bad_folder.exit_code, 64) << bad_folder.err;
  CommandResult bad_until = oura::test::runCommand(
      binary, {"--config", manifest, "report", "--until", "2024-13-01", "--output", dir + "/r.html"});
  EXPECT_EQ(bad_until.exit_code, 64) << bad_until.err;
  CommandResult unreachable = oura::test::runCommand(
      binary, {"--config", manifest, "report", "--output", dir + "/r.html"});
  EXPECT_EQ(unreachable.exit_code, 69) << unreachable.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.html"));
  std::filesystem::remove_all(dir);
}

}  // namespace

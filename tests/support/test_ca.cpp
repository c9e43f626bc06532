// A test CA made by the openssl tool (see test_ca.hpp).
#include "test_ca.hpp"

#include <stdexcept>

#include "test_support.hpp"

namespace oura::test {

TestCertificate makeTestCertificate(const std::string& dir, const std::string& name,
                                    const std::string& san) {
  TestCertificate made{dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  CommandResult result;
  try {
    result = runCommand("openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                    made.key, "-out", made.cert, "-days", "2", "-subj",
                                    "/CN=" + name, "-addext", "subjectAltName=" + san});
  } catch (const std::exception& e) {
    throw std::runtime_error(
        "the openssl command line tool is missing (Debian package openssl): " +
        std::string(e.what()));
  }
  if (result.exit_code != 0) throw std::runtime_error("openssl req failed: " + result.err);
  return made;
}

}  // namespace oura::test

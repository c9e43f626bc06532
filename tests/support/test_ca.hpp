// A test CA for HTTPS servers on loopback: a self-signed certificate made by the `openssl`
// command line tool at test time, served by the test's server and trusted by the client through
// configuration (a `ca_file` key) — TLS verification stays on.
#pragma once

#include <string>

namespace oura::test {

/// A PEM certificate and its private key in a test's folder.
struct TestCertificate {
  std::string cert;  ///< `dir`/`name`.pem: the certificate, also the CA file a client trusts
  std::string key;   ///< `dir`/`name`.key: its unencrypted RSA private key
};

/// Makes a self-signed certificate valid for two days for subject CN=`name` with the
/// subjectAltName `san` ("IP:127.0.0.1", "DNS:other.example", ...), with
/// `openssl req -x509 -newkey rsa:2048 -nodes`.
/// @throws std::runtime_error with openssl's stderr when openssl is missing or fails (tests fail,
///   never skip: .ci/install-deps installs the openssl package).
TestCertificate makeTestCertificate(const std::string& dir, const std::string& name,
                                    const std::string& san);

}  // namespace oura::test

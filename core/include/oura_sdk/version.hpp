#pragma once
/// @file version.hpp
/// The plugin SDK's API version and the build fingerprint that the loader compares before it
/// trusts a plugin's descriptor.

#include <boost/version.hpp>
#include <Poco/Version.h>

#include <cstdint>

namespace oura::sdk {

/// The SDK API version. Bump it on every change to a class or struct in `oura_sdk/` that a
/// plugin compiled against the old headers would misread. The loader refuses a plugin whose
/// descriptor carries another value.
inline constexpr std::uint32_t kApiVersion = 4;

/// The first word of every plugin descriptor: "OURA" in ASCII. A shared library whose alias
/// points at anything else is "not an oura-collector plugin".
inline constexpr std::uint32_t kDescriptorMagic = 0x4F555241u;

#define OURA_SDK_STR2(x) #x
#define OURA_SDK_STR(x) OURA_SDK_STR2(x)

/// The build fingerprint: compiler, C++ standard library ABI, Boost and Poco versions. Expanded
/// in the translation unit that uses it, so a plugin carries the values it was compiled with and
/// the loader compares them with the program's own (`buildFingerprint()`).
#define OURA_SDK_BUILD_FINGERPRINT                                                          \
  "compiler=" __VERSION__ ";cxx11abi=" OURA_SDK_STR(_GLIBCXX_USE_CXX11_ABI) ";boost=" \
      BOOST_LIB_VERSION ";poco=" OURA_SDK_STR(POCO_VERSION)

/// The fingerprint of the SDK library itself (what the program was built with).
/// @return a static string such as
///   "compiler=12.2.0;cxx11abi=1;boost=1_74;poco=0x010B0000".
const char* buildFingerprint() noexcept;

}  // namespace oura::sdk

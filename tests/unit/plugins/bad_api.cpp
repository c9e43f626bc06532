// Declares an SDK API version one above the program's: the loader must refuse it.
#include "dummy_sink.hpp"

namespace {
const oura::sdk::PluginDescriptor descriptor{oura::sdk::kDescriptorMagic,
                                             oura::sdk::kApiVersion + 1,
                                             OURA_SDK_BUILD_FINGERPRINT,
                                             oura::sdk::PluginKind::Sink,
                                             "bad-api",
                                             "0.0.1",
                                             "wrong API version",
                                             &oura_test::DummySink::configSchema,
                                             &oura_test::createDummySink};
}  // namespace

BOOST_DLL_ALIAS(descriptor, oura_plugin_v1)

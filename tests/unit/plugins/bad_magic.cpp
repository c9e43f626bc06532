// Exports oura_plugin_v1 pointing at something that is not a descriptor.
#include "dummy_sink.hpp"

namespace {
const oura::sdk::PluginDescriptor descriptor{0x12345678u,
                                             oura::sdk::kApiVersion,
                                             OURA_SDK_BUILD_FINGERPRINT,
                                             oura::sdk::PluginKind::Sink,
                                             "bad-magic",
                                             "0.0.1",
                                             "wrong magic",
                                             &oura_test::DummySink::configSchema,
                                             &oura_test::createDummySink};
}  // namespace

BOOST_DLL_ALIAS(descriptor, oura_plugin_v1)

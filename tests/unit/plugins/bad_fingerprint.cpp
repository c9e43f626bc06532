// Carries a build fingerprint of another toolchain: the loader must refuse it.
#include "dummy_sink.hpp"

namespace {
const oura::sdk::PluginDescriptor descriptor{
    oura::sdk::kDescriptorMagic,
    oura::sdk::kApiVersion,
    "compiler=0.0.0 other;cxx11abi=0;boost=1_00;poco=0x00000000",
    oura::sdk::PluginKind::Sink,
    "bad-fingerprint",
    "0.0.1",
    "wrong build fingerprint",
    &oura_test::DummySink::configSchema,
    &oura_test::createDummySink};
}  // namespace

BOOST_DLL_ALIAS(descriptor, oura_plugin_v1)

// Installed as oura-endpoint-mislabeled.so, but its descriptor says it is a sink.
#include "dummy_sink.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::Sink, "mislabeled", "0.0.1", "a sink in an endpoint's file",
            oura_test::DummySink)

#include "stdout_sink.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::Sink, "stdout", "0.1.0",
            "writes rows as JSON Lines to standard output or a file (dry runs)",
            oura::plugins::StdoutSink)

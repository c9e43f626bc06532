#include "postgres_sink.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::Sink, "postgres", "0.1.0",
            "stores rows in PostgreSQL tables oura.<stream> (upserts, sample streams, deletion "
            "marks, sync state, run lock)",
            oura::plugins::postgres::PostgresSink)

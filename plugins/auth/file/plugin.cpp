#include "file_store.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::TokenStore, "file", "0.1.0",
            "OAuth2 tokens in a JSON file of mode 0600, replaced atomically, refresh lock by flock",
            oura::plugins::FileTokenStore)

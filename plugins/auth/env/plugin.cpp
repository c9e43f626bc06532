#include "env_store.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::TokenStore, "env", "0.1.0",
            "read-only: the access token comes from an environment variable",
            oura::plugins::EnvTokenStore)

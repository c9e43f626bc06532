#include "postgres_store.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::TokenStore, "postgres", "0.1.0",
            "OAuth2 tokens in the PostgreSQL table oura_auth.tokens (compare-and-set on a "
            "generation), refresh lock by session advisory lock",
            oura::plugins::postgres::PostgresTokenStore)

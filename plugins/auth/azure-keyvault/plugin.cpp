#include "keyvault_store.hpp"

OURA_PLUGIN(oura::sdk::PluginKind::TokenStore, "azure-keyvault", "0.1.0",
            "OAuth2 tokens in an Azure Key Vault secret (client secret, managed identity or "
            "workload identity)",
            oura::plugins::azure_keyvault::KeyVaultTokenStore)

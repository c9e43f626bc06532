// oura-schema-sql [PLUGIN_DIR]: prints the PostgreSQL DDL (CREATE TABLE, COMMENT ON, CREATE
// INDEX) of every stream of every endpoint plugin in PLUGIN_DIR (default $OURA_PLUGIN_DIR), in a
// deterministic order, to stdout. sql/001_init.sql holds this output after its hand-written
// head; a later migration that adds a stream takes its DDL from here (changed columns are
// hand-written ALTERs). Exit codes: 0 printed, 64 usage, 78 a plugin failed to load, 70 a
// stream schema cannot become a table.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>

#include "plugin_host/loader.hpp"
#include "schema_ddl.hpp"

int main(int argc, char** argv) {
  if (argc > 2 ||
      (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0))) {
    std::cerr << "usage: oura-schema-sql [PLUGIN_DIR]   (default: $OURA_PLUGIN_DIR)\n"
                 "Prints the DDL of every endpoint plugin's stream tables to stdout.\n";
    return argc > 2 ? 64 : 0;
  }
  std::string dir;
  if (argc == 2) {
    dir = argv[1];
  } else if (const char* env = std::getenv("OURA_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    std::cerr << "oura-schema-sql: give the plugin folder as the argument or in OURA_PLUGIN_DIR\n";
    return 64;
  }
  try {
    oura::core::PluginLoader loader({dir});
    const auto endpoints = oura::schema_sql::loadEndpoints(loader);
    if (endpoints.empty()) {
      std::cerr << "oura-schema-sql: no endpoint plugin (oura-endpoint-*.so) in " << dir << "\n";
      return 78;
    }
    std::cout << oura::schema_sql::generate(endpoints);
    std::cout.flush();
    return std::cout ? 0 : 70;
  } catch (const std::invalid_argument& e) {
    std::cerr << "oura-schema-sql: " << e.what() << "\n";
    return 70;
  } catch (const std::exception& e) {
    std::cerr << "oura-schema-sql: " << e.what() << "\n";
    return 78;
  }
}

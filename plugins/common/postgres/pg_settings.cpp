#include "pg_settings.hpp"

#include <oura_sdk/errors.hpp>
#include <set>

namespace oura::plugins::postgres {

using sdk::ConfigKey;
using sdk::ConfigType;
using sdk::ConfigValue;

sdk::ConfigSchema connectionConfigKeys() {
  return {
      ConfigKey{"host", ConfigType::String, false, ConfigValue{std::string("localhost")},
                "server host name or address, or a Unix socket folder (a value starting with "
                "'/', e.g. /run/postgresql)",
                "OURA_DB_HOST"},
      ConfigKey{"port", ConfigType::Integer, false, ConfigValue{std::int64_t{5432}},
                "server port (TCP; for a socket folder, the number in the socket's file name)",
                "OURA_DB_PORT"},
      ConfigKey{"dbname", ConfigType::String, false, ConfigValue{std::string("oura")},
                "database name", "OURA_DB_NAME"},
      ConfigKey{"user", ConfigType::String, false, ConfigValue{std::string("oura")},
                "role to connect as", "OURA_DB_USER"},
      ConfigKey{"password", ConfigType::Secret, false, std::nullopt,
                "the role's password, as a reference { env = \"NAME\" } or { file = \"PATH\" } "
                "(never inline); absent: libpq's own lookup (~/.pgpass, PGPASSWORD) or no "
                "password (peer/trust/certificate authentication)",
                "OURA_DB_PASSWORD"},
      ConfigKey{"sslmode", ConfigType::String, false, ConfigValue{std::string("prefer")},
                "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full "
                "(use verify-full with sslrootcert for a server across a network)"},
      ConfigKey{"sslrootcert", ConfigType::String, false, std::nullopt,
                "file of the CA certificate(s) that signed the server's certificate (for "
                "verify-ca / verify-full); absent: libpq's default ~/.postgresql/root.crt"},
      ConfigKey{"connect_timeout", ConfigType::Integer, false, ConfigValue{std::int64_t{10}},
                "seconds to wait for a connection (0: wait forever)"},
      ConfigKey{"application_name", ConfigType::String, false,
                ConfigValue{std::string("oura-collector")},
                "application_name of the session, shown in pg_stat_activity"},
  };
}

ConnectionSettings connectionSettingsFrom(const sdk::PluginConfig& c) {
  static const std::set<std::string> modes{"disable", "allow",     "prefer",
                                           "require", "verify-ca", "verify-full"};
  ConnectionSettings s;
  s.host = c.getString("host");
  s.dbname = c.getString("dbname");
  s.user = c.getString("user");
  s.sslmode = c.getString("sslmode");
  s.application_name = c.getString("application_name");
  if (c.has("password") && !c.getString("password").empty()) s.password = c.getString("password");
  if (c.has("sslrootcert")) s.sslrootcert = c.getString("sslrootcert");
  const std::int64_t port = c.getInt("port");
  const std::int64_t timeout = c.getInt("connect_timeout");

  if (s.host.empty()) throw sdk::ConfigError("host: must not be empty");
  if (port < 1 || port > 65535) {
    throw sdk::ConfigError("port: must be between 1 and 65535, got " + std::to_string(port));
  }
  if (s.dbname.empty()) throw sdk::ConfigError("dbname: must not be empty");
  if (s.user.empty()) throw sdk::ConfigError("user: must not be empty");
  if (!modes.count(s.sslmode)) {
    throw sdk::ConfigError(
        "sslmode: must be disable, allow, prefer, require, verify-ca or verify-full, got \"" +
        s.sslmode + "\"");
  }
  if (s.sslrootcert && s.sslrootcert->empty()) {
    throw sdk::ConfigError("sslrootcert: must be a file path (or left out)");
  }
  if (timeout < 0 || timeout > 3600) {
    throw sdk::ConfigError("connect_timeout: must be between 0 and 3600 seconds, got " +
                           std::to_string(timeout));
  }
  s.port = static_cast<int>(port);
  s.connect_timeout = static_cast<int>(timeout);
  return s;
}

std::int64_t advisoryLockKey(const std::string& name) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

std::string LockHolder::describe() const {
  std::string who = "PostgreSQL session pid " + std::to_string(pid);
  if (!application_name.empty()) who += ", application " + application_name;
  if (!client_addr.empty()) who += ", from " + client_addr;
  if (!backend_start.empty()) who += ", connected since " + backend_start;
  return who;
}

namespace {

// A lock in pg_locks by (classid, objid, objsubid) in the current database.
std::optional<LockHolder> holderOf(Connection& c, std::uint32_t classid, std::uint32_t objid,
                                   int objsubid) {
  Result holder = c.exec(
      "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, ''), "
      "coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '') "
      "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND "
      "l.objid = $2::oid AND l.objsubid = $3::int AND l.database = (SELECT oid FROM "
      "pg_catalog.pg_database WHERE datname = current_database()) LIMIT 1",
      {std::to_string(classid), std::to_string(objid), std::to_string(objsubid)});
  if (holder.rows() == 0) return std::nullopt;
  LockHolder h;
  h.pid = std::stoi(holder.value(0, 0));
  h.application_name = holder.value(0, 1);
  h.client_addr = holder.value(0, 2);
  h.backend_start = holder.value(0, 3);
  return h;
}

}  // namespace

std::optional<LockHolder> advisoryLockHolder(Connection& c, std::int64_t key) {
  // A bigint key shows as classid = high half, objid = low half, objsubid = 1.
  const auto ukey = static_cast<std::uint64_t>(key);
  return holderOf(c, static_cast<std::uint32_t>(ukey >> 32),
                  static_cast<std::uint32_t>(ukey & 0xffffffffu), 1);
}

AdvisoryKeyPair tokenRefreshLockKey(const std::string& account) {
  const auto h = static_cast<std::uint64_t>(advisoryLockKey(account));
  return AdvisoryKeyPair{0x4F415554, static_cast<std::int32_t>(static_cast<std::uint32_t>(h))};
}

std::optional<LockHolder> advisoryLockHolder(Connection& c, AdvisoryKeyPair key) {
  // A two-int key shows as classid = first, objid = second, objsubid = 2.
  return holderOf(c, static_cast<std::uint32_t>(key.space), static_cast<std::uint32_t>(key.id), 2);
}

}  // namespace oura::plugins::postgres

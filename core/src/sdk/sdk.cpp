// Out-of-line destructors, small enum helpers and the logger: everything of the SDK that must
// live in exactly one place (the shared SDK library) so plugins and the program agree on it.
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>
#include <oura_sdk/logger.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>
#include <oura_sdk/sink.hpp>
#include <oura_sdk/token_store.hpp>
#include <oura_sdk/version.hpp>

#include <Poco/Logger.h>

#include <stdexcept>

namespace oura::sdk {

const char* buildFingerprint() noexcept { return OURA_SDK_BUILD_FINGERPRINT; }

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;
ConfigError::ConfigError(const std::string& message) : Error(message) {}
ConfigError::~ConfigError() = default;
MappingError::MappingError(const std::string& message) : Error(message) {}
MappingError::~MappingError() = default;
LoginNeededError::LoginNeededError(const std::string& message) : Error(message) {}
LoginNeededError::~LoginNeededError() = default;
UnavailableError::UnavailableError(const std::string& message) : Error(message) {}
UnavailableError::~UnavailableError() = default;
RunLockedError::RunLockedError(const std::string& message) : Error(message) {}
RunLockedError::~RunLockedError() = default;
HttpError::HttpError(int status, std::string url, const std::string& message)
    : Error(message), status_(status), url_(std::move(url)) {}
HttpError::~HttpError() = default;

Logger::Logger(const std::string& name) : name_(name), logger_(&Poco::Logger::get(name)) {}
Logger::~Logger() = default;
void Logger::debug(const std::string& message) const { logger_->debug(message); }
void Logger::info(const std::string& message) const { logger_->information(message); }
void Logger::warning(const std::string& message) const { logger_->warning(message); }
void Logger::error(const std::string& message) const { logger_->error(message); }
bool Logger::debugEnabled() const { return logger_->debug(); }

Plugin::Plugin() = default;
Plugin::~Plugin() = default;
EndpointPlugin::~EndpointPlugin() = default;
RowEmitter::~RowEmitter() = default;
SinkPlugin::~SinkPlugin() = default;
TokenStore::~TokenStore() = default;

void SinkPlugin::open(const std::string&, const std::vector<const CollectionSpec*>&) {}
void SinkPlugin::rememberBackfill(const std::string&, const std::string&, const DayWindow&) {}

std::optional<DayWindow> SinkPlugin::pendingBackfill(const std::string&, const std::string&) {
  return std::nullopt;
}

std::optional<std::string> SinkPlugin::syncedThrough(const std::string&, const std::string&) {
  return std::nullopt;
}
void SinkPlugin::close() {}
std::vector<int> SinkPlugin::migrate(const std::vector<Migration>&) { return {}; }
std::optional<int> SinkPlugin::schemaVersion() { return std::nullopt; }
std::uint64_t SinkPlugin::purge(const std::string&) {
  throw Error("this sink keeps no data to purge");
}
void SinkPlugin::recordRun(const RunRecord&) {}
std::optional<std::vector<CollectionStatus>> SinkPlugin::status(const std::string&) {
  return std::nullopt;
}
std::optional<std::vector<DaySummary>> SinkPlugin::daySummaries(const std::string&,
                                                                const std::string&,
                                                                const std::string&) {
  return std::nullopt;
}
bool SinkPlugin::readRaw(const std::string&, const CollectionSpec&,
                         const std::function<void(const std::string&)>&) {
  return false;
}
bool SinkPlugin::readRejected(const std::string&, const CollectionSpec&,
                              const std::function<void(const RejectedDocument&)>&) {
  return false;
}

bool TokenStore::save(const TokenSet&, std::int64_t) {
  throw Error("token store '" + describe() + "' is read-only");
}
void TokenStore::checkWritable() {
  if (!writable()) throw Error("token store '" + describe() + "' is read-only");
}
std::unique_ptr<TokenLock> TokenStore::lock(std::chrono::milliseconds) {
  return std::make_unique<TokenLock>();
}
void TokenStore::clear() { throw Error("token store '" + describe() + "' is read-only"); }
TokenLock::TokenLock() = default;
TokenLock::~TokenLock() = default;
TokenLockTimeout::TokenLockTimeout(const std::string& message) : Error(message) {}
TokenLockTimeout::~TokenLockTimeout() = default;

const char* toString(PluginKind kind) noexcept {
  switch (kind) {
    case PluginKind::Endpoint: return "endpoint";
    case PluginKind::Sink: return "sink";
    case PluginKind::TokenStore: return "auth";
  }
  return "unknown";
}

const char* toString(SyncStrategy strategy) noexcept {
  switch (strategy) {
    case SyncStrategy::DateWindow: return "date_window";
    case SyncStrategy::DateTimeWindow: return "datetime_window";
    case SyncStrategy::Snapshot: return "snapshot";
    case SyncStrategy::FullRefetch: return "full_refetch";
  }
  return "unknown";
}

const char* toString(ConfigType type) noexcept {
  switch (type) {
    case ConfigType::String: return "string";
    case ConfigType::Integer: return "integer";
    case ConfigType::Float: return "float";
    case ConfigType::Boolean: return "boolean";
    case ConfigType::StringList: return "array of strings";
    case ConfigType::Secret: return "secret reference";
  }
  return "unknown";
}

const char* toSqlType(ColumnType type) noexcept {
  switch (type) {
    case ColumnType::Text: return "text";
    case ColumnType::Integer: return "bigint";
    case ColumnType::Real: return "double precision";
    case ColumnType::Boolean: return "boolean";
    case ColumnType::Date: return "date";
    case ColumnType::Timestamptz: return "timestamptz";
    case ColumnType::Jsonb: return "jsonb";
  }
  return "unknown";
}

std::size_t StreamSchema::columnIndex(const std::string& column) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return i;
  }
  throw std::out_of_range("stream " + name + " has no column " + column);
}

}  // namespace oura::sdk

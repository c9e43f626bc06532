#include "cli/exit_codes.hpp"

#include "http/rate_limiter.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/token_store.hpp>

#include <Poco/Exception.h>

namespace oura::core {

int exitCode(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::None: return kExitOk;
    case ErrorKind::Partial: return kExitPartial;
    case ErrorKind::Usage: return kExitUsage;
    case ErrorKind::Unavailable: return kExitUnavailable;
    case ErrorKind::Internal: return kExitInternal;
    case ErrorKind::Interrupted: return kExitInterrupted;
    case ErrorKind::LoginNeeded: return kExitLoginNeeded;
    case ErrorKind::Config: return kExitConfig;
  }
  return kExitInternal;
}

const char* exitName(int code) noexcept {
  switch (code) {
    case kExitOk: return "ok";
    case kExitPartial: return "partial";
    case kExitUsage: return "usage";
    case kExitUnavailable: return "unavailable";
    case kExitInterrupted: return "interrupted";
    case kExitLoginNeeded: return "login_needed";
    case kExitConfig: return "config";
    default: return "internal";
  }
}

Failure classify(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {e.kind(), "", e.what()};
  } catch (const sdk::ConfigError& e) {
    return {ErrorKind::Config, "configuration error: ", e.what()};
  } catch (const sdk::LoginNeededError& e) {
    return {ErrorKind::LoginNeeded, "login needed: ", e.what()};
  } catch (const sdk::UnavailableError& e) {
    return {ErrorKind::Unavailable, "", e.what()};
  } catch (const sdk::TokenLockTimeout& e) {
    return {ErrorKind::Interrupted, "", std::string(e.what()) + "; try again"};
  } catch (const sdk::RunLockedError& e) {
    return {ErrorKind::Interrupted, "", std::string(e.what()) + "; try again"};
  } catch (const StopRequested& e) {
    // SIGINT/SIGTERM during a network wait outside a collection (a token request).
    return {ErrorKind::Interrupted, "", std::string(e.what()) + "; run again"};
  } catch (const sdk::Error& e) {
    // A plugin's error that is not a bug: a store or database that failed (disk full, I/O).
    return {ErrorKind::Unavailable, "", e.what()};
  } catch (const Poco::Exception& e) {
    return {ErrorKind::Internal, "internal error: ", e.displayText()};
  } catch (const std::exception& e) {
    return {ErrorKind::Internal, "internal error: ", e.what()};
  }
}

}  // namespace oura::core

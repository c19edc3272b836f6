// abi_rules.hpp - the rules of cagr_plugin.h that every answer of a plugin must keep, checked before
// the host uses the answer: a plugin that breaks one is refused naming its file, the call and the
// rule, instead of the host running on a negative device count, a NULL name or a NaN cost.
#pragma once

#include <cstdint>
#include <string>

#include "plugin.hpp"

namespace cagr {

// An answer of a plugin that breaks a rule of the ABI.
class AbiViolation : public Error {
 public:
  explicit AbiViolation(const std::string& message) : Error(CAGR_ERROR_INTERNAL, message) {}
};

// Longest string a plugin may hand back (names, reasons, messages): a string without a NUL within
// it is taken as not terminated (the ABI's strings are C strings).
constexpr size_t kMaxPluginString = 4096;
// More devices than any machine has: a count above it is garbage, not hardware.
constexpr int64_t kMaxDevices = 4096;
// More variants than any op needs.
constexpr int64_t kMaxVariants = 1024;

// Checks the answers of one call of the plugin in file `path`. Each check throws
// AbiViolation("<path>: <call> broke the ABI: <rule>") when the answer breaks it.
class AnswerRules {
 public:
  AnswerRules(std::string path, std::string call) : path_(std::move(path)), call_(std::move(call)) {}

  [[noreturn]] void broken(const std::string& rule) const;

  // A C string: NUL-terminated within kMaxPluginString bytes; NULL only where `may_be_null` (then "").
  std::string string(const char* s, const char* field, bool may_be_null) const;
  // A name shown in reports and used in file names: a string as above, 1..256 printable characters.
  std::string name(const char* s, const char* field) const;
  // An integer in lo..hi.
  int64_t count(int64_t value, int64_t lo, int64_t hi, const char* field) const;
  // A cost hint or measure: finite and >= 0.
  double non_negative(double value, const char* field) const;
  // A handle an OK answer must give.
  void handle(const void* p, const char* field) const;

 private:
  std::string path_;
  std::string call_;
};

// A plugin's error message as the host reports it: "(no message)" where the plugin gave NULL, "",
// or a string that breaks the rules above.
std::string plugin_message(const char* s);

}  // namespace cagr

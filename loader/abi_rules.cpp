// abi_rules.cpp - checking a plugin's answers against cagr_plugin.h's rules.
#include "abi_rules.hpp"

#include <cmath>
#include <cstring>

namespace cagr {

void AnswerRules::broken(const std::string& rule) const {
  throw AbiViolation(path_ + ": " + call_ + " broke the ABI: " + rule);
}

std::string AnswerRules::string(const char* s, const char* field, bool may_be_null) const {
  if (s == nullptr) {
    if (may_be_null) return "";
    broken(std::string(field) + " is NULL (a C string is required)");
  }
  // strnlen reads at most the bound, so an unterminated string costs a bounded read, not a crash
  // (unless it ends at an unmapped page: the probe in a child process is there for that).
  const size_t length = strnlen(s, kMaxPluginString);
  if (length == kMaxPluginString)
    broken(std::string(field) + " is not NUL-terminated within " + std::to_string(kMaxPluginString) + " bytes");
  return std::string(s, length);
}

std::string AnswerRules::name(const char* s, const char* field) const {
  const std::string text = string(s, field, false);
  if (text.empty() || text.size() > 256) broken(std::string(field) + " must be 1..256 characters, has " + std::to_string(text.size()));
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) broken(std::string(field) + " holds a control character (code " + std::to_string(c) + ")");
  }
  return text;
}

int64_t AnswerRules::count(int64_t value, int64_t lo, int64_t hi, const char* field) const {
  if (value < lo || value > hi)
    broken(std::string(field) + " = " + std::to_string(value) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return value;
}

double AnswerRules::non_negative(double value, const char* field) const {
  if (!std::isfinite(value) || value < 0) broken(std::string(field) + " = " + std::to_string(value) + " (must be finite and >= 0)");
  return value;
}

void AnswerRules::handle(const void* p, const char* field) const {
  if (p == nullptr) broken("returned OK without " + std::string(field));
}

std::string plugin_message(const char* s) {
  if (s == nullptr) return "(no message)";
  const size_t length = strnlen(s, kMaxPluginString);
  if (length == 0 || length == kMaxPluginString) return "(no message)";
  return std::string(s, length);
}

}  // namespace cagr

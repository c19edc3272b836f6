// command_line.cpp - parsing and help for the tools' gflags flags.
#include "command_line.hpp"

#include <gflags/gflags.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "math_precision.hpp"

namespace cagr::cli {

namespace {

std::set<std::string>& given_set() {
  static std::set<std::string> flags;
  return flags;
}

std::vector<std::string>& given_list() {
  static std::vector<std::string> arguments;
  return arguments;
}

std::string dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

bool belongs(const gflags::CommandLineFlagInfo& info, const ToolHelp& help) {
  return info.filename.find(help.flags_defined_in) != std::string::npos;
}

std::vector<gflags::CommandLineFlagInfo> tool_flags(const ToolHelp& help) {
  std::vector<gflags::CommandLineFlagInfo> all, mine;
  gflags::GetAllFlags(&all);
  for (auto& f : all)
    if (belongs(f, help)) mine.push_back(std::move(f));
  return mine;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_flag(const std::string& typed, const std::string& name, const ToolHelp& help) {
  std::string best;
  size_t best_distance = 3;  // suggest only close ones
  for (const auto& f : tool_flags(help)) {
    const size_t d = std::min(edit_distance(name, f.name),
                              f.name.rfind(name, 0) == 0 && name.size() >= 3 ? size_t{1} : size_t{99});
    if (d < best_distance) best_distance = d, best = f.name;
  }
  std::string message = typed + ": unknown flag";
  if (!best.empty()) message += " (did you mean --" + dashed(best) + "?)";
  return message + "; " + help.name + " --help lists the flags";
}

std::string kind_of_value(const std::string& type) {
  if (type == "int32" || type == "int64") return "a whole number";
  if (type == "uint32" || type == "uint64") return "a whole number, 0 or more";
  if (type == "double") return "a number";
  if (type == "bool") return "true or false";
  return "a value";
}

// Splits `text` into lines of at most `width` characters at spaces.
std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

void add_entry(std::string& out, const std::string& left, const std::string& text) {
  constexpr size_t kColumn = 30, kWidth = 100;
  const std::vector<std::string> lines = wrap(text, kWidth - kColumn);
  std::string first = "  " + left;
  if (first.size() + 2 > kColumn) {
    out += first + "\n";
    first.clear();
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string head = i == 0 ? first : std::string();
    out += head + std::string(kColumn - head.size(), ' ') + lines[i] + "\n";
  }
  if (lines.empty()) out += first + "\n";
}

}  // namespace

Action parse(int argc, char** argv, const ToolHelp& help) {
  given_set().clear();
  given_list().clear();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--" || arg.size() < 2 || arg[0] != '-')
      throw UsageError("'" + arg + "': unexpected argument (" + help.name + " takes only --flags; " + help.name +
                       " --help lists them)");
    const std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name = underscored(body.substr(0, equals));
    const bool has_value = equals != std::string::npos;
    std::string value = has_value ? body.substr(equals + 1) : std::string();
    if (!has_value && (name == "h" || name == "help" || name == "helpfull" || name == "helpshort" || name == "?"))
      return Action::help;
    if (!has_value && name == "version") return Action::version;

    gflags::CommandLineFlagInfo info;
    std::string flag = name;
    bool negated = false;
    if (!gflags::GetCommandLineFlagInfo(flag.c_str(), &info) || !belongs(info, help)) {
      // --noNAME turns a boolean off.
      if (name.rfind("no", 0) == 0 && gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) && belongs(info, help) &&
          info.type == "bool" && !has_value) {
        flag = name.substr(2);
        negated = true;
      } else {
        throw UsageError(unknown_flag(arg.substr(0, arg.find('=')), name, help));
      }
    }
    const std::string shown = "--" + dashed(flag);
    if (negated) {
      value = "false";
    } else if (info.type == "bool") {
      if (!has_value) value = "true";
    } else if (!has_value) {
      if (i + 1 >= argc) throw UsageError(shown + " needs a value (" + shown + "=" + kind_of_value(info.type) + ")");
      value = argv[++i];
    }
    if (gflags::SetCommandLineOption(flag.c_str(), value.c_str()).empty())
      throw UsageError(shown + "=" + value + ": not " + kind_of_value(info.type));
    given_set().insert(flag);
    given_list().push_back(shown + "=" + value);
  }
  return Action::run;
}

bool given(const std::string& flag) { return given_set().count(flag) > 0; }

const std::vector<std::string>& given_arguments() { return given_list(); }

std::string help_text(const ToolHelp& help) {
  std::string out = help.name + " - " + help.summary + "\n\nUsage:\n";
  for (const std::string& line : help.usage) out += "  " + help.name + " " + line + "\n";

  std::map<std::string, const FlagHelp*> described;
  for (const FlagHelp& f : help.flags) described[f.flag] = &f;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> groups;  // group -> (left, text)
  std::vector<std::string> order = help.groups;
  const auto flags = tool_flags(help);
  // In the order ToolHelp lists them, then any flag it does not list, by name.
  std::vector<const gflags::CommandLineFlagInfo*> sorted;
  for (const FlagHelp& f : help.flags)
    for (const auto& info : flags)
      if (info.name == f.flag) sorted.push_back(&info);
  for (const auto& info : flags)
    if (!described.count(info.name)) sorted.push_back(&info);
  for (const auto* info : sorted) {
    const auto it = described.find(info->name);
    const std::string group = it != described.end() ? it->second->group : "Other";
    if (std::find(order.begin(), order.end(), group) == order.end()) order.push_back(group);
    std::string left = "--" + dashed(info->name);
    std::string text = info->description;
    if (info->type == "bool") {
      if (info->default_value == "true") text += " (on by default; --no" + dashed(info->name) + " turns it off)";
    } else {
      const std::string metavar = it != described.end() && !it->second->metavar.empty() ? it->second->metavar : "VALUE";
      left += "=" + metavar;
      // A description that speaks of its default itself ("default: ...") keeps its own words.
      if (!info->default_value.empty() && text.find("default") == std::string::npos) text += " (default " + info->default_value + ")";
    }
    groups[group].emplace_back(left, text);
  }
  if (!order.empty())
    for (const auto& [left, text] : help.information) groups[order.back()].emplace_back(left, text);
  for (const std::string& group : order) {
    if (groups[group].empty()) continue;
    out += "\n" + group + ":\n";
    for (const auto& [left, text] : groups[group]) add_entry(out, left, text);
  }
  out += "\nFlag names take - or _ alike; a value is given as --flag=VALUE or --flag VALUE; --noFLAG turns a boolean off.\n";
  if (!help.epilogue.empty()) out += "\n" + help.epilogue;
  return out;
}

ProgressLine::ProgressLine(std::string tool, bool enabled)
    : tool_(std::move(tool)), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0), start_(Clock::now()), delay_(1000) {
  if (const char* delay = std::getenv("CAGR_PROGRESS_DELAY_MS")) delay_ = std::chrono::milliseconds(std::atol(delay));
}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(const std::string& text) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (now - start_ < delay_) return;
  if (shown_ && now - last_ < (tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10000))) return;
  last_ = now;
  shown_ = true;
  if (tty_) std::fprintf(stderr, "\r%-100.100s", (tool_ + ": " + text).c_str());
  else std::fprintf(stderr, "%s: %s\n", tool_.c_str(), text.c_str());
  std::fflush(stderr);
}

void ProgressLine::clear(bool keep) {
  if (shown_ && tty_) std::fprintf(stderr, keep ? "\n" : "\r%-100s\r", "");
  shown_ = false;
}

cagr_math_precision math_precision(const std::string& flag, const std::string& value) {
  const auto p = abi::math_precision_named(value);
  if (!p) throw UsageError("--" + flag + "=" + value + ": expected " + abi::math_precision_choices());
  return *p;
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

}  // namespace cagr::cli

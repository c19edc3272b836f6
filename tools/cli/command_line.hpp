// command_line.hpp - the command lines of CAGR's programs (cagr-run, cagr-zoo, cagr-gen) as users
// expect them: -h/--help prints the tool's own flags, grouped and explained, and exits 0;
// --version is the tool's; an unknown flag, a missing or malformed value, or a stray argument is
// refused with one line naming it (and the nearest flag for a typo). Values are stored in the
// tools' gflags flags, so each tool keeps its DEFINE_* flags.
#pragma once

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cagr_plugin.h"

namespace cagr::cli {

// A command line the tool cannot run: the message names the argument. Exit status 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct FlagHelp {
  std::string flag;     // the gflags name, with underscores
  std::string group;    // one of ToolHelp::groups
  std::string metavar;  // the value's placeholder ("FILE", "N"); "" for booleans
};

struct ToolHelp {
  std::string name;                     // "cagr-run"
  std::string summary;                  // one line: what the tool does
  std::vector<std::string> usage;       // usage lines, without the name's indentation
  std::vector<std::string> groups;      // group titles, in the order printed
  std::vector<FlagHelp> flags;          // every flag of the tool (others go to "Other")
  std::string flags_defined_in;         // flags defined in a file whose path holds this belong to the tool
  std::vector<std::pair<std::string, std::string>> information;  // extra lines of the last group: --version, --help
  std::string epilogue;                 // examples and notes, printed last
};

enum class Action { run, help, version };

// Sets the tool's flags from argv. Returns help for -h, --help (and gflags' --helpfull,
// --helpshort), version for --version; otherwise run. Throws UsageError.
Action parse(int argc, char** argv, const ToolHelp& help);

// The --help text: summary, usage, each group's flags with their description and default, then
// the epilogue.
std::string help_text(const ToolHelp& help);

// A flag's comma-separated list ("cpu,opencl", "64,2048"), empty items dropped.
std::vector<std::string> comma_list(const std::string& text);

// A --precision flag's value (f32, tf32, bf16, int8: ABI 1.3's math precision); throws UsageError naming
// the flag and the values for anything else.
cagr_math_precision math_precision(const std::string& flag, const std::string& value);

// Whether `flag` (gflags name) was given on the command line parsed by parse().
bool given(const std::string& flag);

// The flags given on the command line, as typed normalised to --name=value (for reports).
const std::vector<std::string>& given_arguments();

// A progress line on stderr for long work: rewritten in place on a terminal (at most 4 times a
// second), else one line every 10 s; nothing until the work has taken a second (the environment
// variable CAGR_PROGRESS_DELAY_MS changes that delay; the tests set 0).
class ProgressLine {
 public:
  ProgressLine(std::string tool, bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(const std::string& text);
  // Ends the line: on a terminal erases it (or, with `keep`, leaves it and moves to the next line).
  void clear(bool keep = false);

 private:
  using Clock = std::chrono::steady_clock;
  std::string tool_;
  bool enabled_, tty_, shown_ = false;
  Clock::time_point start_, last_;
  std::chrono::milliseconds delay_;
};

}  // namespace cagr::cli

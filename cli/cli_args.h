// Minimal argument handling shared by the subcommands: --name VALUE options, bare flags,
// --help. Unknown options are errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace opsledger::cli {

class Args {
 public:
  // `valued`: options that take a value; `flags`: options that do not.
  Args(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool help() const { return help_; }
  std::optional<std::string> get(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_set_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }
  // Parses an unsigned integer option; sets error and returns nullopt when malformed.
  std::optional<std::uint64_t> get_u64(const std::string& name);

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_set_;
  std::vector<std::string> positional_;
  std::string error_;
  bool help_ = false;
};

}  // namespace opsledger::cli

#include "cli/cli_args.h"

#include <charconv>

namespace opsledger::cli {

Args::Args(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
    } else if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      std::string value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      if (valued.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argc) {
            error_ = "--" + name + " needs a value";
            return;
          }
          value = argv[++i];
        }
        values_[name] = value;
      } else if (flags.count(name) && !inline_value) {
        flags_set_.insert(name);
      } else {
        error_ = "unknown option --" + name;
        return;
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint64_t> Args::get_u64(const std::string& name) {
  auto v = get(name);
  if (!v) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) {
    error_ = "--" + name + " must be an unsigned integer";
    return std::nullopt;
  }
  return n;
}

}  // namespace opsledger::cli

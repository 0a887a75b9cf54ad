// A small command-line reader for cantina-cli's subcommands: flags with values,
// repeatable flags, switches and positional arguments, with clear errors.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cantina::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `with_value` lists the flags that take a value (e.g. "--config", "-n"),
  // `switches` those that do not. Anything else starting with '-' is an error.
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& with_value,
       const std::vector<std::string>& switches);

  std::optional<std::string> value(const std::string& flag) const;  // last given
  std::vector<std::string> values(const std::string& flag) const;   // all given
  bool has(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::multimap<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Parses a non-negative integer argument or throws UsageError naming `flag`.
unsigned long parse_count(const std::string& flag, const std::string& text);

}  // namespace cantina::cli

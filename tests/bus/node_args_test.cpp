#define BOOST_TEST_MODULE node_args
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "cantina/bus/node_args.h"

using cantina::bus::NodeArgs;

namespace {

constexpr const char* kUsage = "usage: prog [--config FILE] [--static DIR]\n  Does things.\n";

// One run of NodeArgs::parse over `words` (without the program name).
struct Run {
  explicit Run(const std::vector<std::string>& words,
               NodeArgs::MissingValue missing = NodeArgs::MissingValue::unknown_argument)
      : args("prog", kUsage, missing) {
    args.option("--static", &static_dir);
    std::vector<const char*> argv{"prog"};
    for (const std::string& word : words) argv.push_back(word.c_str());
    status = args.parse(static_cast<int>(argv.size()), argv.data(), out, err);
  }

  std::string static_dir = "built-in";
  NodeArgs args;
  std::ostringstream out, err;
  std::optional<int> status;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(node_args)

BOOST_AUTO_TEST_CASE(without_arguments_the_program_goes_on_with_the_defaults) {
  Run run({});
  BOOST_TEST(!run.status.has_value());
  BOOST_TEST(run.args.config_path() == cantina::bus::default_config_path());
  BOOST_TEST(run.static_dir == "built-in");
  BOOST_TEST(run.out.str().empty());
  BOOST_TEST(run.err.str().empty());
}

BOOST_AUTO_TEST_CASE(takes_the_config_and_the_programs_own_options_last_one_winning) {
  Run run({"--static", "/srv/page", "--config", "a.toml", "--config", "b.toml"});
  BOOST_TEST(!run.status.has_value());
  BOOST_TEST(run.args.config_path() == "b.toml");
  BOOST_TEST(run.static_dir == "/srv/page");
  BOOST_TEST(run.err.str().empty());
}

BOOST_AUTO_TEST_CASE(a_value_may_look_like_an_option) {
  Run run({"--config", "--help"});
  BOOST_TEST(!run.status.has_value());
  BOOST_TEST(run.args.config_path() == "--help");
  BOOST_TEST(run.out.str().empty());
}

BOOST_AUTO_TEST_CASE(help_prints_the_usage_on_stdout_and_exits_0) {
  for (const char* help : {"-h", "--help"}) {
    Run run({"--config", "x.toml", help, "--bogus"});
    BOOST_TEST(run.status.value_or(-1) == 0);
    BOOST_TEST(run.out.str() == kUsage);
    BOOST_TEST(run.err.str().empty());
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_argument_prints_it_and_the_usage_on_stderr_and_exits_2) {
  for (const char* unknown : {"--bogus", "positional", "--config=x.toml", "--", "-"}) {
    Run run({unknown, "--help"});
    BOOST_TEST(run.status.value_or(-1) == 2);
    BOOST_TEST(run.err.str() == std::string("prog: unknown argument ") + unknown + "\n" + kUsage);
    BOOST_TEST(run.out.str().empty());
  }
}

BOOST_AUTO_TEST_CASE(an_option_without_its_value_is_an_unknown_argument_in_that_mode) {
  for (const char* option : {"--config", "--static"}) {
    Run run({option});
    BOOST_TEST(run.status.value_or(-1) == 2);
    BOOST_TEST(run.err.str() == std::string("prog: unknown argument ") + option + "\n" + kUsage);
  }
}

BOOST_AUTO_TEST_CASE(an_option_without_its_value_needs_a_value_in_that_mode) {
  for (const char* option : {"--config", "--static"}) {
    Run run({option}, NodeArgs::MissingValue::needs_a_value);
    BOOST_TEST(run.status.value_or(-1) == 2);
    BOOST_TEST(run.err.str() == std::string("prog: ") + option + " needs a value\n");
    BOOST_TEST(run.out.str().empty());
  }
  Run help_last({"--static", "dir", "--help"}, NodeArgs::MissingValue::needs_a_value);
  BOOST_TEST(help_last.status.value_or(-1) == 0);
  BOOST_TEST(help_last.static_dir == "dir");
}

BOOST_AUTO_TEST_SUITE_END()

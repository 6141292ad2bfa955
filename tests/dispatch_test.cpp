// Parsing ahead of the batch (engine/dispatch.h, engine/parse_ahead.h): a line parsed on
// another thread, while the batch runs, is answered exactly as a line parsed in the batch; and
// `opsledger apply`'s reader thread keeps input order across many batches.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/parse_ahead.h"
#include "tests/test_support.h"

using namespace opsledger;
using namespace opsledger::test;
namespace json = boost::json;

namespace {

// Starts over ten identities with faulty lines of every early kind between them.
std::vector<std::string> mixed_lines(std::size_t n) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < n; ++i) {
    switch (i % 7) {
      case 0:
        lines.emplace_back("not json");
        break;
      case 1:
        lines.emplace_back("{\"cmd\":\"start\",\"request_id\":\"x\xff\"}");  // not UTF-8
        break;
      case 2:
        lines.emplace_back(R"({"cmd":"no_such_command"})");
        break;
      case 3:
        lines.emplace_back("[1,2]");
        break;
      default: {
        auto c = start_cmd("r" + std::to_string(i % 50), i % 2 ? "inventory.sync" : "directory_groups.sync");
        lines.push_back(json::serialize(c));
      }
    }
  }
  return lines;
}

}  // namespace

TEST_CASE("parsing ahead gives the lines in order, as parsed one by one", "[dispatch]") {
  auto n = GENERATE(std::size_t{1}, ParseAhead::kThreadFrom - 1, ParseAhead::kThreadFrom, std::size_t{1601});
  CAPTURE(n);
  auto lines = mixed_lines(n);
  std::vector<std::string_view> views(lines.begin(), lines.end());
  ParseAhead parsed(views);
  REQUIRE(parsed.size() == lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CAPTURE(i, lines[i]);
    ParsedLine one = parse_line(lines[i]);
    const ParsedLine& ahead = parsed.at(i);
    CHECK(ahead.error.has_value() == one.error.has_value());
    if (one.error) CHECK(ahead.error->render() == one.error->render());
    CHECK(ahead.command == one.command);
    CHECK(ahead.body_digest == one.body_digest);
    CHECK(ahead.start.has_value() == one.start.has_value());
    CHECK(ahead.request_id == one.request_id);
  }
}

TEST_CASE("a parse ahead given up early stops and joins its thread", "[dispatch]") {
  auto lines = mixed_lines(20004);  // the last a start
  std::vector<std::string_view> views(lines.begin(), lines.end());
  {
    ParseAhead parsed(views);
    CHECK(parsed.at(0).error.has_value());  // "not json"
  }  // destroyed while its thread is still parsing: a thread left joinable would terminate
     // the test, one reading freed lines is caught by the sanitizer build
  ParseAhead again(views);
  CHECK(again.at(views.size() - 1).command.is_object());
}

TEST_CASE("a large batch answers exactly as its commands sent one by one", "[dispatch][batch]") {
  auto lines = mixed_lines(700);  // above the size from which the batch's lines are parsed ahead on a thread
  std::vector<std::string_view> views(lines.begin(), lines.end());
  TestDb batched, single;
  seed_contoso(batched);
  seed_contoso(single);
  auto answers = batched.engine().execute_batch(views);
  REQUIRE(answers.size() == lines.size());
  std::size_t decided = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CAPTURE(i, lines[i]);
    CHECK(answers[i] == single.engine().execute(lines[i]));
    if (answers[i].find("\"decision\"") != std::string::npos) ++decided;
  }
  CHECK(decided > 0);
  CHECK(batched.digest() == single.digest());
}

TEST_CASE("apply answers every line in input order across many batches", "[dispatch][cli]") {
  TempDir dir;
  // More lines than one batch holds, so the reader hands over several parsed batches.
  std::ostringstream in;
  in << R"({"cmd":"register_workspace","workspace_id":1,"name":"W"})" << "\n";
  constexpr int kLines = 40000;
  for (int i = 0; i < kLines; ++i) {
    if (i % 3 == 0)
      in << "{broken " << i << "\n";
    else
      in << R"({"cmd":"register_workspace","workspace_id":1,"name":"W","request_id":"q)" << i << "\"}\n";
  }
  std::ofstream(dir.sub("in")) << in.str();
  std::string cmd = std::string(OPSLEDGER_CLI) + " apply --nosync --db " + dir.sub("db") + " < " + dir.sub("in") +
                    " > " + dir.sub("out") + " 2> " + dir.sub("err");
  int rc = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(rc) == 2);  // some lines were rejected
  std::ifstream out(dir.sub("out"));
  std::string line;
  int n = -1;
  while (std::getline(out, line)) {
    if (n >= 0) {
      CAPTURE(n, line);
      if (n % 3 == 0)
        CHECK(line.find("\"code\":\"invalid_json\"") != std::string::npos);
      else
        CHECK(line.rfind("{\"ok\":true", 0) == 0);
    }
    ++n;
  }
  CHECK(n == kLines);
}

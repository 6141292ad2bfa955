// libFuzzer entry point for one target of tests/fuzz/targets.h, chosen at compile time by
// OPSLEDGER_FUZZ_TARGET (tests/fuzz/CMakeLists.txt builds one executable per target).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/targets.h"

#define OPSLEDGER_STR2(x) #x
#define OPSLEDGER_STR(x) OPSLEDGER_STR2(x)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem =
      opsledger::fuzz::OPSLEDGER_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "opsledger fuzz target %s: %s\n", OPSLEDGER_STR(OPSLEDGER_FUZZ_TARGET), problem.c_str());
    std::abort();
  }
  return 0;
}

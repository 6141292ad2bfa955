// A C++20 program built against an installed opsledger through pkg-config: every public
// header, the C++ API.
#include <opsledger/engine.h>
#include <opsledger/opsledger.h>
#include <opsledger/status.h>

#include <cstdio>
#include <memory>

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  opsledger::Options options;
  options.durability = opsledger::Durability::nosync;
  std::unique_ptr<opsledger::Engine> engine;
  opsledger::Status s = opsledger::Engine::open(argv[1], options, engine);
  if (!s) {
    std::fprintf(stderr, "open failed: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("answer %s\n", engine->execute(R"({"cmd":"state_digest"})").c_str());
  return 0;
}

// What the audit subcommands share: opening an existing database (never creating one),
// progress on a terminal, and the common option handling.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"
#include "engine/replay.h"

namespace opsledger::cli {

struct OpenDb {
  std::unique_ptr<lmdb::Env> env;
  Dbis dbis;
};

// Opens the opsledger database in `dir`. Unlike `apply`, never creates one: a missing or
// empty directory is an error (returned as text in `error`, env left null).
OpenDb open_existing(const std::string& dir, std::string& error);

// A progress reporter that writes "\r<what>: done/total events" to stderr when stderr is
// a terminal, and nothing otherwise. end() finishes the line.
class TermProgress {
 public:
  explicit TermProgress(std::string what);
  Progress callback();
  void end();

 private:
  std::string what_;
  bool tty_ = false;
  bool shown_ = false;
};

}  // namespace opsledger::cli

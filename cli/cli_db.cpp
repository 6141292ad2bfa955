#include "cli/cli_db.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "engine/projection_layout.h"

namespace opsledger::cli {

OpenDb open_existing(const std::string& dir, std::string& error) {
  OpenDb db;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::path(dir) / "data.mdb", ec)) {
    error = "no opsledger database in " + dir;
    return db;
  }
  try {
    db.env = std::make_unique<lmdb::Env>(dir, lmdb::Env::Options{});
    lmdb::Txn txn(*db.env, false);
    unsigned layout = projection_layout(txn);
    if (layout > kProjectionLayout) throw std::runtime_error(newer_layout_refusal(layout));
    if (layout != kProjectionLayout)
      throw std::runtime_error("its projections are of layout " + std::to_string(layout) + ", not this build's " +
                               std::to_string(kProjectionLayout) +
                               "; open it once with the engine (opsledger apply --db DIR < /dev/null) to rebuild "
                               "them from the log");
    db.dbis = open_dbis(txn, false);
    txn.commit();  // keeps the database handles open for the environment
  } catch (const std::exception& e) {
    db.env.reset();
    error = "cannot open " + dir + ": " + e.what();
  }
  return db;
}

TermProgress::TermProgress(std::string what) : what_(std::move(what)), tty_(isatty(2) == 1) {}

Progress TermProgress::callback() {
  if (!tty_) return {};
  return [this](std::uint64_t done, std::uint64_t total) {
    std::fprintf(stderr, "\r%s: %llu/%llu events", what_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total));
    shown_ = true;
  };
}

void TermProgress::end() {
  if (shown_) std::fprintf(stderr, "\n");
  shown_ = false;
}

}  // namespace opsledger::cli

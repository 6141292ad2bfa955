#include "projections/state_digest.h"

#include "events/bytes.h"

namespace opsledger {

void frame_row(std::string& out, std::string_view key, std::string_view value) {
  ByteWriter w(out);
  w.str(key);
  w.u32(static_cast<std::uint32_t>(value.size()));
  w.raw(value);
}

void StateDigester::frame_name(std::size_t table) {
  ByteWriter(pending_).str(table_name(static_cast<Table>(table)));
  flush_when_full();
}

void StateDigester::flush_when_full() {
  if (pending_.size() < kFlushAt) return;
  hash_.update(pending_);
  pending_.clear();
}

bool StateDigester::begin_table(Table t) {
  auto index = static_cast<std::size_t>(t);
  if (index < next_table_) return false;
  for (; next_table_ <= index; ++next_table_) frame_name(next_table_);
  return true;
}

void StateDigester::row(std::string_view key, std::string_view value) {
  frame_row(pending_, key, value);
  flush_when_full();
}

void StateDigester::framed(std::string_view rows) {
  if (rows.size() < kFlushAt) {
    pending_.append(rows);
    flush_when_full();
    return;
  }
  hash_.update(pending_);
  pending_.clear();
  hash_.update(rows);
}

std::string StateDigester::finish() {
  for (; next_table_ < kTableCount; ++next_table_) frame_name(next_table_);
  hash_.update(pending_);
  pending_.clear();
  return hash_.finish();
}

std::string state_digest(const Store& store) {
  StateDigester d;
  for (std::size_t i = 0; i < kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    d.begin_table(t);
    store.scan(t, {}, [&](std::string_view k, std::string_view v) {
      d.row(k, v);
      return true;
    });
  }
  return d.finish();
}

}  // namespace opsledger

// What a command handler works with: the projection store inside the current write
// transaction, the log appender, the engine clock for this command, and the answer type.
//
// Handlers follow validate → read → apply: parse every field first (Fields), then check
// idempotency (replay), then read what the decision needs from the store, then append the
// event; append() applies it to the projections with the same code replay uses.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "engine/event_log.h"
#include "engine/lmdb_store.h"
#include "events/events.h"

namespace opsledger {

struct Answer {
  boost::json::object body;
  // The whole answer already rendered as JSON text: start decisions, the hot path, are
  // written directly. When set, `body` is empty and unused.
  std::string text;
  bool ok() const;
  std::string render() const&;
  std::string render() &&;  // moves `text` out when set
  // The members as an object to add to (parses `text` into `body` first when set).
  boost::json::object& members();
  // Adds "durability":"nosync" as the answer's last member.
  void mark_nosync();
  static Answer success();                  // {"ok":true}
  static Answer success(std::uint64_t seq);  // {"ok":true,"seq":N}
  static Answer error(std::string_view code, std::string_view message, std::string_view field = {});
};

class CommandContext {
 public:
  CommandContext(lmdb::Txn& txn, const Dbis& dbis, LogAppender& log, TimeUs now_us)
      : own_store_(txn, dbis), store_(own_store_), txn_(txn), dbis_(dbis), log_(log), now_us_(now_us) {}
  // Reads and writes the projections through `store` (a batch's BatchStore over `txn`).
  CommandContext(Store& store, lmdb::Txn& txn, const Dbis& dbis, LogAppender& log, TimeUs now_us)
      : own_store_(txn, dbis), store_(store), txn_(txn), dbis_(dbis), log_(log), now_us_(now_us) {}

  Store& store() { return store_; }
  const lmdb::Txn& txn() const { return txn_; }
  const Dbis& dbis() const { return dbis_; }
  TimeUs now_us() const { return now_us_; }
  std::uint64_t last_seq() const { return log_.tail().seq; }

  // The command's request_id and the digest of its body (set by the dispatcher).
  void set_request(std::string request_id, std::string digest) {
    request_id_ = std::move(request_id);
    request_digest_ = std::move(digest);
  }
  const std::string& request_id() const { return request_id_; }

  // Idempotency: when this request_id was recorded before, the recorded answer (same
  // body) or request_id_reused (different body); nullopt for a new request.
  std::optional<Answer> replay();

  // Appends the event (stamped `at`, by `actor`), applies it to the projections, and
  // returns its seq.
  std::uint64_t append(const Event& event, TimeUs at_us, const Actor& actor);
  bool appended() const { return appended_; }

 private:
  LmdbStore own_store_;
  Store& store_;
  lmdb::Txn& txn_;
  const Dbis& dbis_;
  LogAppender& log_;
  TimeUs now_us_;
  std::string request_id_, request_digest_;
  bool appended_ = false;
};

// The answer an event gives, fresh or replayed: {"ok":true,"seq":N,...}.
Answer answer_for(const Event& event, std::uint64_t seq);

}  // namespace opsledger

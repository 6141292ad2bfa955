// Projection layouts. The projections are derived from the log, so a build that changes
// how they are stored rebuilds them from the log when it opens an older database.
//
//   layout 1  runs' history in `p.run_history` (run + seq -> "")
//   layout 2  runs' history as touch chains: `p.run_touches` and `p.run_last_touch`
//             (projections/run_touches.h); `requests` rows hold the seq and the digest of
//             the request's body (40 bytes)
//   layout 3  `requests` rows hold the seq alone: the digest is read from the recorded
//             event's envelope when the request_id comes again
//   layout 4  a run in two rows: `runs` what its start fixed, `p.run_state` what its
//             transitions change (projections/records.h); this build
//
// From layout 3 on, the number is recorded in the LMDB database `layout` (key
// "projections", decimal ASCII). Layouts 1 and 2 recorded nothing: 1 is told by its
// `p.run_history` table, 2 by the missing record. A layout newer than this build's is
// refused (the engine's open answers corrupt), never rebuilt into an older one.
#pragma once

#include <string>

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"

namespace opsledger {

inline constexpr unsigned kProjectionLayout = 4;

// The layout of the projections in the database seen by `txn`. Throws DecodeError when the
// recorded layout cannot be read.
unsigned projection_layout(lmdb::Txn& txn);

// Why a database of `layout` (greater than kProjectionLayout) is refused, for the engine's
// open and the tools alike.
std::string newer_layout_refusal(unsigned layout);

// In `txn` (a write transaction, `dbis` opened with create): removes the tables of older
// layouts and the snapshots (states of the old layout), rebuilds every projection from the
// log and records kProjectionLayout. Throws DecodeError when the log does not replay.
void upgrade_projections(lmdb::Txn& txn, const Dbis& dbis);

}  // namespace opsledger

// Projection layouts. The projections are derived from the log, so a build that changes
// which tables hold them rebuilds them from the log when it opens an older database.
//
//   layout 1  runs' history in `p.run_history` (run + seq -> "")
//   layout 2  runs' history as touch chains: `p.run_touches` and `p.run_last_touch`
//             (projections/run_touches.h); this build
#pragma once

#include "engine/lmdb.h"
#include "engine/lmdb_store.h"

namespace opsledger {

// Whether the database seen by `txn` holds projections of layout 1.
bool has_layout1_projections(lmdb::Txn& txn);

// In `txn` (a write transaction, `dbis` opened with create): removes the layout-1 table and
// the snapshots (states of the old layout), then rebuilds every projection from the log.
// Throws DecodeError when the log does not replay.
void upgrade_projections(lmdb::Txn& txn, const Dbis& dbis);

}  // namespace opsledger

// The CSV form of `import_legacy_run` (SPEC section 11): a header row naming the fields,
// then one legacy run per row. Pure functions over parsed records (cli/csv_reader.h), so
// the mapping is testable without a database. docs/ledgers.md describes the format.
//
// Columns: kind, legacy_id, workspace_id, tenant_id, status, started_at, completed_at
// (all required in the header), operation_run_id (optional), and one optional column per
// count key, named `total` or `counts.total` (and so on for every count key).
// Cells: an empty unquoted cell means the field is absent; a quoted empty cell ("") is an
// empty string. Integer columns (ids and counts) that hold a decimal integer become JSON
// numbers; anything else is passed on as a string, so the engine rejects it naming the
// field, exactly as it would a JSON command.
#pragma once

#include <string>
#include <vector>

#include "cli/csv_reader.h"

namespace opsledger::cli {

struct LegacyColumn {
  std::string key;   // the command field: "kind", "legacy_id", …, or "counts.total"
  bool integer = false;
  bool count = false;  // a key inside `counts`
};

struct LegacyHeader {
  std::vector<LegacyColumn> columns;  // one per CSV column, in order
  std::string error;                  // non-empty: the header is unusable; says why
};

LegacyHeader parse_legacy_header(const CsvRecord& header);

// One data row as an import_legacy_run command (JSON text), or why it cannot be one.
struct LegacyRow {
  std::string command;        // set when error_code is empty
  std::string error_code;     // malformed_csv or invalid_utf8
  std::string error_message;
  std::string error_field;    // the column's field, when one cell is at fault
};

LegacyRow legacy_row_command(const LegacyHeader& header, const CsvRecord& row);

}  // namespace opsledger::cli

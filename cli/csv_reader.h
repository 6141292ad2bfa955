// A small RFC 4180 CSV reader over text already in memory. It does no I/O and keeps no
// state beyond its position, so it can be tested and fuzzed on its own.
//
// Grammar (RFC 4180, with the leniencies named here):
//   file    = [BOM] record *(terminator record) [terminator]
//   record  = field *("," field)
//   field   = quoted / unquoted
//   quoted  = '"' *(any byte except '"' / '""') '"'     ; may span lines; "" is one quote
//   unquoted= *(any byte except ',' '"' CR LF)
//   terminator = CRLF / LF
// Blank lines (nothing between two terminators) are skipped, not records. A UTF-8 byte
// order mark at the start is skipped. Whether a field was quoted is reported, so a caller
// can tell an empty quoted field ("") from an empty unquoted one (PostgreSQL's CSV uses
// the difference for '' versus NULL).
//
// A malformed record — a quote inside an unquoted field, a character after a closing
// quote, a bare CR outside quotes, a record longer than kCsvRecordBytesMax, a quoted field
// still open at the end of the text — is returned with `error` set and no fields; reading
// resumes after the end of the physical line where the fault was found (an open quote
// consumes the rest of the text). The reader never throws on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opsledger::cli {

inline constexpr std::size_t kCsvRecordBytesMax = 65536;

struct CsvField {
  std::string value;
  bool quoted = false;
  bool operator==(const CsvField&) const = default;
};

struct CsvRecord {
  std::vector<CsvField> fields;  // empty when error is set
  std::uint64_t line = 0;        // the physical line (1-based) on which the record starts
  std::string error;             // non-empty: the record is malformed; says why
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view text);
  // The next record; false when the text holds no more records.
  bool next(CsvRecord& out);
  // Bytes consumed so far (for progress).
  std::size_t position() const { return pos_; }

 private:
  void skip_blank_lines();
  void skip_rest_of_line();
  bool at(std::size_t i, char c) const { return i < text_.size() && text_[i] == c; }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 1;
};

// Every record of `text`, in order (a convenience over CsvReader for tests and fuzzing).
std::vector<CsvRecord> parse_csv(std::string_view text);

}  // namespace opsledger::cli

#include "cli/csv_reader.h"

namespace opsledger::cli {

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

void CsvReader::skip_blank_lines() {
  for (;;) {
    if (at(pos_, '\n')) {
      pos_ += 1;
    } else if (at(pos_, '\r') && at(pos_ + 1, '\n')) {
      pos_ += 2;
    } else {
      return;
    }
    ++line_;
  }
}

void CsvReader::skip_rest_of_line() {
  while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
  if (pos_ < text_.size()) {
    ++pos_;
    ++line_;
  }
}

bool CsvReader::next(CsvRecord& out) {
  out.fields.clear();
  out.error.clear();
  skip_blank_lines();
  if (pos_ >= text_.size()) return false;
  out.line = line_;
  const std::size_t start = pos_;
  enum class State { field_start, unquoted, quoted, after_quote } state = State::field_start;
  CsvField field;
  auto malformed = [&](std::string why) {
    out.fields.clear();
    out.error = std::move(why) + " (line " + std::to_string(line_) + ")";
    skip_rest_of_line();
    return true;
  };
  auto end_field = [&] {
    out.fields.push_back(std::move(field));
    field = CsvField{};
    state = State::field_start;
  };
  std::uint64_t quote_line = line_;
  auto too_long = [] { return "a record longer than " + std::to_string(kCsvRecordBytesMax) + " bytes"; };
  while (pos_ < text_.size()) {
    // Every byte consumed so far is content: a terminator ends the record at once.
    if (pos_ - start > kCsvRecordBytesMax) return malformed(too_long());
    const char c = text_[pos_];
    switch (state) {
      case State::field_start:
        if (c == '"') {
          field.quoted = true;
          quote_line = line_;
          state = State::quoted;
          ++pos_;
          continue;
        }
        state = State::unquoted;
        [[fallthrough]];
      case State::unquoted:
        if (c == ',') {
          end_field();
          ++pos_;
        } else if (c == '\n' || (c == '\r' && at(pos_ + 1, '\n'))) {
          end_field();
          pos_ += c == '\n' ? 1 : 2;
          ++line_;
          return true;
        } else if (c == '\r') {
          return malformed("a carriage return outside quotes");
        } else if (c == '"') {
          return malformed("a quote inside an unquoted field (quote the whole field and double the quote)");
        } else {
          field.value.push_back(c);
          ++pos_;
        }
        continue;
      case State::quoted:
        if (c == '"') {
          if (at(pos_ + 1, '"')) {
            field.value.push_back('"');
            pos_ += 2;
          } else {
            state = State::after_quote;
            ++pos_;
          }
          continue;
        }
        if (c == '\n') ++line_;
        field.value.push_back(c);
        ++pos_;
        continue;
      case State::after_quote:
        if (c == ',') {
          end_field();
          ++pos_;
        } else if (c == '\n' || (c == '\r' && at(pos_ + 1, '\n'))) {
          end_field();
          pos_ += c == '\n' ? 1 : 2;
          ++line_;
          return true;
        } else {
          return malformed("a character after a closing quote");
        }
        continue;
    }
  }
  if (pos_ - start > kCsvRecordBytesMax) return malformed(too_long());
  if (state == State::quoted) {
    out.fields.clear();
    out.error = "a quoted field opened on line " + std::to_string(quote_line) + " is not closed before the end of the file";
    return true;
  }
  end_field();
  return true;
}

std::vector<CsvRecord> parse_csv(std::string_view text) {
  std::vector<CsvRecord> records;
  CsvReader reader(text);
  CsvRecord r;
  while (reader.next(r)) records.push_back(r);
  return records;
}

}  // namespace opsledger::cli

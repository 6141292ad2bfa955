// The bodies of the fuzz targets (tests/fuzz/fuzz_entry.cpp wraps each one for libFuzzer;
// tests/fuzz_regression_test.cpp replays the committed corpora and every crash input
// through the same functions in the normal test suite).
//
// Each takes arbitrary bytes and returns "" when the code under test handled them as its
// contract says, or a description of what broke. A crash, a sanitizer report, an
// allocation beyond libFuzzer's limit or a non-empty answer is a finding.
#pragma once

#include <string>
#include <string_view>

namespace opsledger::fuzz {

// The JSON-lines command path: the input is split at '\n' into at most 16 lines, executed
// in order by execute_line in one write transaction on a small seeded database (nosync),
// and the transaction is aborted afterwards, so every input starts from the same state.
// Checks: every answer is a JSON object with a boolean `ok`; a rejection carries a string
// error code and message and appends nothing and changes no projection; the projections'
// last applied seq follows the log; the live projections equal a replay of the log; no
// exception escapes (other than LMDB's own storage errors).
std::string command_lines(std::string_view input);

// The event envelope and payload decoders. First byte even: the rest is a stored envelope
// (decode_envelope, envelope_hash_ok, then decode_payload of its payload). Odd: the rest is
// u16 event type, u16 schema version (little-endian), then payload bytes for
// decode_payload. Decoding may only succeed or throw DecodeError; a decoded payload
// re-encodes to bytes that decode to the same event, renders as JSON, and applying it to
// an empty state may only throw, never crash.
std::string envelope(std::string_view input);

// The snapshot loader. Bytes 1..8: the key seq the value is stored under (little-endian).
// First byte even: the rest is a stored snapshot value (the checksum usually stops it).
// Odd: the rest is the archive itself; the harness writes the header and a correct
// checksum in front of it, as a forger could, so the Boost.Serialization decoder sees
// hostile bytes.
// decode_snapshot must never throw; the value cut into pieces of (first byte >> 1) + 1
// bytes must come to the same verdict and problem; a snapshot it accepts re-encodes and
// decodes to the same state and digest.
std::string snapshot(std::string_view input);

// The legacy CSV reader and row mapping: parse_csv never throws; every sound record,
// written back with every field quoted, parses to the same values; the first record read
// as a legacy header and every later record mapped to a command gives either an error or
// a command that is a JSON object.
std::string csv(std::string_view input);

}  // namespace opsledger::fuzz

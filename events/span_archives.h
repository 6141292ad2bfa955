// Two cereal archives that read and write cereal's PortableBinary format straight from and
// into memory, without std::istream / std::ostream: the same bytes as
// cereal::PortableBinary{In,Out}putArchive with its default options (a leading byte saying
// whether the numbers that follow are little-endian — always 1 here, as cereal writes by
// default on every host — fixed-width little-endian numbers, a u32 class version before
// the first object of each versioned class), so logs written by either read with either.
// The reader also takes cereal's big-endian variant (leading byte 0) and swaps.
//
// Why: the event codec builds one archive per event. Over a stream, each one constructs a
// std::istream (a locale and its facets) and reads every field through a virtual call; a
// rebuild decodes millions of events. cereal supports archives of one's own (derive from
// cereal::InputArchive / OutputArchive and give the primitive load/save functions); these
// are that, for a byte range.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/details/util.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace opsledger {

namespace span_archive_detail {
inline constexpr bool kHostIsLittleEndian = std::endian::native == std::endian::little;
}  // namespace span_archive_detail

class SpanOutputArchive : public cereal::OutputArchive<SpanOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  // Appends to `out`; writes the endianness byte at once, as PortableBinaryOutputArchive
  // does (defined below, after the primitive save functions it uses).
  explicit SpanOutputArchive(std::string& out);

  // Writes `size` bytes of elements `DataSize` bytes wide, each little-endian.
  template <std::size_t DataSize>
  void saveBinary(const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    if constexpr (DataSize == 1 || span_archive_detail::kHostIsLittleEndian) {
      out_.append(p, size);
      return;
    }
    for (std::size_t i = 0; i < size; i += DataSize)
      for (std::size_t b = 0; b < DataSize; ++b) out_.push_back(p[i + DataSize - 1 - b]);
  }

 private:
  std::string& out_;
};

class SpanInputArchive : public cereal::InputArchive<SpanInputArchive, cereal::AllowEmptyClassElision> {
 public:
  // Reads `in` (which must outlive the archive); reads the endianness byte at once
  // (defined below, after the primitive load functions it uses).
  explicit SpanInputArchive(std::string_view in);

  template <std::size_t DataSize>
  void loadBinary(void* data, std::size_t size) {
    if (size > in_.size() - pos_)
      throw cereal::Exception("Failed to read " + std::to_string(size) + " bytes: " +
                              std::to_string(in_.size() - pos_) + " left");
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
    if (DataSize > 1 && swap_) {
      auto* p = static_cast<unsigned char*>(data);
      for (std::size_t i = 0; i < size; i += DataSize)
        for (std::size_t b = 0; b < DataSize / 2; ++b) std::swap(p[i + b], p[i + DataSize - 1 - b]);
    }
  }

  std::size_t bytes_left() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool swap_ = false;
};

}  // namespace opsledger

namespace cereal {

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(opsledger::SpanOutputArchive& ar, const T& t) {
  static_assert(!std::is_floating_point_v<T>, "no floating point in events");
  ar.template saveBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(opsledger::SpanInputArchive& ar, T& t) {
  static_assert(!std::is_floating_point_v<T>, "no floating point in events");
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(opsledger::SpanInputArchive, opsledger::SpanOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, NameValuePair<T>& t) {
  ar(t.value);
}
template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(opsledger::SpanInputArchive, opsledger::SpanOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, SizeTag<T>& t) {
  ar(t.size);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(opsledger::SpanOutputArchive& ar, const BinaryData<T>& bd) {
  using Elem = std::remove_pointer_t<T>;
  static_assert(!std::is_floating_point_v<Elem>, "no floating point in events");
  ar.template saveBinary<sizeof(Elem)>(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(opsledger::SpanInputArchive& ar, BinaryData<T>& bd) {
  using Elem = std::remove_pointer_t<T>;
  static_assert(!std::is_floating_point_v<Elem>, "no floating point in events");
  ar.template loadBinary<sizeof(Elem)>(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace cereal

namespace opsledger {

inline SpanOutputArchive::SpanOutputArchive(std::string& out)
    : cereal::OutputArchive<SpanOutputArchive, cereal::AllowEmptyClassElision>(this), out_(out) {
  std::uint8_t little = 1;  // saveBinary writes every number little-endian
  (*this)(little);
}

inline SpanInputArchive::SpanInputArchive(std::string_view in)
    : cereal::InputArchive<SpanInputArchive, cereal::AllowEmptyClassElision>(this), in_(in) {
  std::uint8_t little = 0;
  (*this)(little);
  if (little > 1) throw cereal::Exception("bad endianness byte");
  swap_ = (little == 1) != span_archive_detail::kHostIsLittleEndian;
}

}  // namespace opsledger

CEREAL_SETUP_ARCHIVE_TRAITS(opsledger::SpanInputArchive, opsledger::SpanOutputArchive)

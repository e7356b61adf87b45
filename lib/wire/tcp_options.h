// TCP options: parsing every kind the stack knows, and writing them in Linux's exact layout.
//
// Parsing (RFC 9293 3.2, RFC 7323, RFC 2018): EOL(0) ends the list, NOP(1) is one byte, every other
// kind is kind, length, data; unknown kinds are skipped by their length. Known kinds must have
// their length: MSS 4, window scale 3, SACK-permitted 2, SACK 2+8n (n 1..4), timestamps 10.
// Duplicates: the last one wins (as in Linux). Nothing is read outside the given span.
//
// Policy is the TCP layer's job, not this one's: MSS/window scale/SACK-permitted only count on a
// SYN; an MSS of 0 is ignored by Linux; a window scale above 14 is clamped to 14 by Linux (RFC 7323
// 2.3). TcpOptions keeps the raw values.
//
// Writing reproduces Linux's tcp_options_write() order, padded with NOPs to a multiple of 4:
//   mss                  02 04 MM MM
//   sackOK + timestamps  04 02 08 0a TTTT EEEE     (sackOK rides in the timestamps' padding)
//   timestamps alone     01 01 08 0a TTTT EEEE
//   sackOK alone         01 01 04 02
//   window scale         01 03 03 WW
//   SACK blocks          01 01 05 LL  L1 R1 ...
// so a SYN is <mss,sackOK,TS,nop,wscale> (20 bytes), a SYN-ACK to a SYN without timestamps is
// <mss,nop,nop,sackOK,nop,wscale> (12 bytes), an established segment <nop,nop,TS> (12 bytes) then
// <nop,nop,sack ...>. Options left empty in TcpOptions are left out.
//
// Thread-safety: pure functions over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "wire/result.h"

namespace synwave::wire {

inline constexpr std::size_t kTcpMaxOptionsLen = 40;
inline constexpr std::uint8_t kTcpMaxWindowScale = 14;  // Linux TCP_MAX_WSCALE

enum class TcpOptionKind : std::uint8_t {
  kEol = 0,
  kNop = 1,
  kMss = 2,
  kWindowScale = 3,
  kSackPermitted = 4,
  kSack = 5,
  kTimestamps = 8,
};

struct TcpTimestamps {
  std::uint32_t val = 0;
  std::uint32_t ecr = 0;
  friend bool operator==(const TcpTimestamps&, const TcpTimestamps&) = default;
};

// One SACK block: sequence numbers [left, right).
struct SackBlock {
  std::uint32_t left = 0;
  std::uint32_t right = 0;
  friend bool operator==(const SackBlock&, const SackBlock&) = default;
};

// The options of one segment as a plain value, both parsed and to be written.
struct TcpOptions {
  static constexpr std::size_t kMaxSackBlocks = 4;

  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;  // raw shift count, not clamped
  bool sack_permitted = false;
  std::optional<TcpTimestamps> timestamps;
  std::array<SackBlock, kMaxSackBlocks> sack_blocks{};
  std::uint8_t sack_count = 0;  // blocks in use, 0..kMaxSackBlocks

  std::span<const SackBlock> sacks() const { return std::span(sack_blocks).first(sack_count); }
  // Appends a block; false when kMaxSackBlocks are already there.
  bool add_sack(SackBlock block);

  // Equal when the options in use are equal (unused SACK slots are ignored).
  friend bool operator==(const TcpOptions& a, const TcpOptions& b);
};

enum class TcpOptionError : std::uint8_t {
  kMissingLength,      // a kind other than EOL/NOP is the last byte: no length byte
  kLengthTooShort,     // length byte < 2
  kPastEnd,            // length runs past the end of the options
  kWrongLength,        // a known kind with a length it cannot have
  kTooManySackBlocks,  // a SACK option with more than 4 blocks
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(TcpOptionError::kCount)>
    kTcpOptionErrorNames = {"option_missing_length", "option_length_too_short", "option_past_end",
                            "option_wrong_length", "too_many_sack_blocks"};

constexpr std::string_view error_name(TcpOptionError e) {
  return kTcpOptionErrorNames[static_cast<std::size_t>(e)];
}

// Strict: any malformed option refuses the whole list.
Parsed<TcpOptions, TcpOptionError> parse_tcp_options(std::span<const std::uint8_t> options);

// Linux's tcp_parse_options(): a known kind with a wrong length is skipped; a missing or short
// length, or one running past the end, stops parsing and keeps what came before; more than 4 SACK
// blocks keeps the first 4. The first problem met, if any, is stored in *first_error.
TcpOptions parse_tcp_options_lenient(std::span<const std::uint8_t> options,
                                     std::optional<TcpOptionError>* first_error = nullptr);

// SACK blocks that fit next to the other options of an established segment (40 bytes in all).
constexpr std::size_t max_sack_blocks(bool with_timestamps) {
  return with_timestamps ? 3 : 4;
}

// Bytes write_tcp_options() writes for `options` (a multiple of 4; may exceed 40, see below).
std::size_t tcp_options_len(const TcpOptions& options);

// Writes `options` in Linux's layout at the start of `out`; returns tcp_options_len(options).
// Errors: kOptionsTooLong beyond 40 bytes or more than kMaxSackBlocks; kBufferTooSmall.
Built write_tcp_options(const TcpOptions& options, std::span<std::uint8_t> out);

}  // namespace synwave::wire

// ICMP for IPv4 (RFC 792): echo, and the error messages the stack sends.
//
//   type code checksum(2) rest_of_header(4) data        (echo: rest = id(2) seq(2))
//
// The checksum covers the whole ICMP message. Thread-safety: plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "wire/result.h"

namespace synwave::wire {

inline constexpr std::size_t kIcmpHeaderLen = 8;

enum class IcmpType : std::uint8_t {
  kEchoReply = 0,
  kDestUnreachable = 3,
  kEchoRequest = 8,
  kTimeExceeded = 11,
};

// Codes of kDestUnreachable the stack uses.
enum class IcmpUnreachable : std::uint8_t {
  kProtocol = 2,
  kPort = 3,
  kFragmentationNeeded = 4,  // rest_of_header carries the next-hop MTU in its low 16 bits
};

enum class IcmpError : std::uint8_t {
  kTruncated,    // fewer than 8 bytes
  kBadChecksum,  // the checksum over the message does not verify
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(IcmpError::kCount)>
    kIcmpErrorNames = {"truncated", "bad_checksum"};

constexpr std::string_view error_name(IcmpError e) {
  return kIcmpErrorNames[static_cast<std::size_t>(e)];
}

// A validated ICMP message: the IPv4 payload, whole.
class IcmpView {
 public:
  IcmpView() = default;
  static Parsed<IcmpView, IcmpError> parse(std::span<const std::uint8_t> message,
                                           ChecksumCheck check = ChecksumCheck::kVerify);

  IcmpType type() const { return static_cast<IcmpType>(message_[0]); }
  std::uint8_t code() const { return message_[1]; }
  std::uint16_t checksum() const;
  std::uint32_t rest_of_header() const;
  bool is_echo_request() const { return type() == IcmpType::kEchoRequest && code() == 0; }
  // Echo request/reply fields (any type: they are bytes 4..7).
  std::uint16_t echo_id() const;
  std::uint16_t echo_seq() const;
  // Everything after the 8-byte header (echo payload, or the quoted packet of an error).
  std::span<const std::uint8_t> data() const { return message_.subspan(kIcmpHeaderLen); }
  std::span<const std::uint8_t> bytes() const { return message_; }

 private:
  explicit IcmpView(std::span<const std::uint8_t> message) : message_(message) {}
  std::span<const std::uint8_t> message_;
};

// An ICMP header as a plain value.
struct IcmpRepr {
  IcmpType type = IcmpType::kEchoReply;
  std::uint8_t code = 0;
  std::uint32_t rest_of_header = 0;
  friend bool operator==(const IcmpRepr&, const IcmpRepr&) = default;

  static IcmpRepr from(const IcmpView& view);
  static IcmpRepr echo(IcmpType type, std::uint16_t id, std::uint16_t seq);

  // `message` is the whole ICMP message: the header is written at its start and the bytes after
  // it (already in place) are the data; the checksum covers all of `message`.
  // Returns message.size(), or kBufferTooSmall when it is shorter than 8 bytes.
  Built emit(std::span<std::uint8_t> message) const;
};

// Writes into `out` the echo reply to `request` (same id, seq and payload, type 0): the whole
// message, request.bytes().size() bytes. `out` may be the request's own bytes (an in-place reply).
Built build_echo_reply(const IcmpView& request, std::span<std::uint8_t> out);

// Writes an ICMP error message (dest unreachable, time exceeded) quoting `quote` (by RFC 1812 the
// offending IPv4 header and at least 8 bytes of its payload; the caller chooses how much).
Built build_icmp_error(IcmpType type, std::uint8_t code, std::uint32_t rest_of_header,
                       std::span<const std::uint8_t> quote, std::span<std::uint8_t> out);

}  // namespace synwave::wire

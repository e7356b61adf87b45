// UDP over IPv4 (RFC 768).
//
//   src_port(2) dst_port(2) length(2) checksum(2) payload
//
// The checksum covers the IPv4 pseudo-header, the header and the payload; zero means "none".
// Thread-safety: plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/addr.h"
#include "wire/result.h"

namespace synwave::wire {

inline constexpr std::size_t kUdpHeaderLen = 8;

enum class UdpError : std::uint8_t {
  kTruncated,    // fewer than 8 bytes
  kBadLength,    // length field < 8 or beyond the IPv4 payload
  kBadChecksum,  // non-zero checksum that does not verify
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(UdpError::kCount)>
    kUdpErrorNames = {"truncated", "bad_length", "bad_checksum"};

constexpr std::string_view error_name(UdpError e) {
  return kUdpErrorNames[static_cast<std::size_t>(e)];
}

// A validated UDP datagram, trimmed to its length field (bytes after it, inside the IPv4 payload,
// are ignored, as Linux does).
class UdpView {
 public:
  UdpView() = default;
  // `datagram` is the IPv4 payload; src/dst are the IPv4 addresses (for the pseudo-header).
  static Parsed<UdpView, UdpError> parse(std::span<const std::uint8_t> datagram, Ipv4Addr src,
                                         Ipv4Addr dst,
                                         ChecksumCheck check = ChecksumCheck::kVerify);

  std::uint16_t src_port() const;
  std::uint16_t dst_port() const;
  std::uint16_t length() const { return static_cast<std::uint16_t>(datagram_.size()); }
  std::uint16_t checksum() const;
  bool has_checksum() const { return checksum() != 0; }
  std::span<const std::uint8_t> payload() const { return datagram_.subspan(kUdpHeaderLen); }
  std::span<const std::uint8_t> bytes() const { return datagram_; }

 private:
  explicit UdpView(std::span<const std::uint8_t> datagram) : datagram_(datagram) {}
  std::span<const std::uint8_t> datagram_;
};

struct UdpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  friend bool operator==(const UdpRepr&, const UdpRepr&) = default;

  static UdpRepr from(const UdpView& view) { return UdpRepr{view.src_port(), view.dst_port()}; }

  // `datagram` is the whole datagram: the header is written at its start, the bytes after it
  // (already in place) are the payload, and the length field is datagram.size(). kCompute writes
  // the checksum (0xffff when it computes to zero); kOffload writes the folded pseudo-header sum.
  // Returns datagram.size(); kBufferTooSmall below 8 bytes, kTooLong above 65535.
  Built emit(std::span<std::uint8_t> datagram, Ipv4Addr src, Ipv4Addr dst,
             ChecksumFill fill = ChecksumFill::kCompute) const;
};

}  // namespace synwave::wire

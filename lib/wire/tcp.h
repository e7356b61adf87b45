// TCP headers over IPv4 (RFC 9293 3.1).
//
//   src_port(2) dst_port(2) seq(4) ack(4) offset/flags(2) window(2) checksum(2) urgent(2) options
//
// The checksum covers the IPv4 pseudo-header, the header and the payload. Options are exposed as
// bytes; parse them with parse_tcp_options() (wire/tcp_options.h).
// Thread-safety: plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/addr.h"
#include "wire/result.h"
#include "wire/tcp_options.h"

namespace synwave::wire {

inline constexpr std::size_t kTcpMinHeaderLen = 20;
inline constexpr std::size_t kTcpMaxHeaderLen = 60;

// The eight flag bits of byte 13.
struct TcpFlags {
  static constexpr std::uint8_t kFin = 0x01;
  static constexpr std::uint8_t kSyn = 0x02;
  static constexpr std::uint8_t kRst = 0x04;
  static constexpr std::uint8_t kPsh = 0x08;
  static constexpr std::uint8_t kAck = 0x10;
  static constexpr std::uint8_t kUrg = 0x20;
  static constexpr std::uint8_t kEce = 0x40;
  static constexpr std::uint8_t kCwr = 0x80;

  std::uint8_t bits = 0;

  constexpr bool fin() const { return (bits & kFin) != 0; }
  constexpr bool syn() const { return (bits & kSyn) != 0; }
  constexpr bool rst() const { return (bits & kRst) != 0; }
  constexpr bool psh() const { return (bits & kPsh) != 0; }
  constexpr bool ack() const { return (bits & kAck) != 0; }
  constexpr bool urg() const { return (bits & kUrg) != 0; }
  constexpr bool ece() const { return (bits & kEce) != 0; }
  constexpr bool cwr() const { return (bits & kCwr) != 0; }
  // True when every bit of `mask` is set.
  constexpr bool has(std::uint8_t mask) const { return (bits & mask) == mask; }
  friend constexpr bool operator==(TcpFlags, TcpFlags) = default;
};

// tcpdump's notation, in its order F S R P . U E W: "S", "S.", "P.", "F.", "R.";
// "none" when no flag is set. For logs and test messages.
std::string format_tcp_flags(TcpFlags flags);

enum class TcpError : std::uint8_t {
  kTruncated,      // fewer than 20 bytes, or fewer than the data offset says
  kBadDataOffset,  // data offset < 5
  kBadChecksum,    // checksum over pseudo-header and segment does not verify
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(TcpError::kCount)>
    kTcpErrorNames = {"truncated", "bad_data_offset", "bad_checksum"};

constexpr std::string_view error_name(TcpError e) {
  return kTcpErrorNames[static_cast<std::size_t>(e)];
}

// A validated TCP segment.
class TcpView {
 public:
  TcpView() = default;
  // `segment` is the IPv4 payload (already trimmed to the IPv4 total length); src/dst are the IPv4
  // addresses (for the pseudo-header).
  static Parsed<TcpView, TcpError> parse(std::span<const std::uint8_t> segment, Ipv4Addr src,
                                         Ipv4Addr dst,
                                         ChecksumCheck check = ChecksumCheck::kVerify);

  std::uint16_t src_port() const;
  std::uint16_t dst_port() const;
  std::uint32_t seq() const;
  std::uint32_t ack() const;
  std::uint8_t data_offset() const { return segment_[12] >> 4; }  // in 32-bit words, 5..15
  std::size_t header_len() const { return std::size_t{data_offset()} * 4; }
  TcpFlags flags() const { return TcpFlags{segment_[13]}; }
  std::uint16_t window() const;
  std::uint16_t checksum() const;
  std::uint16_t urgent() const;
  std::span<const std::uint8_t> options() const {
    return segment_.subspan(kTcpMinHeaderLen, header_len() - kTcpMinHeaderLen);
  }
  std::span<const std::uint8_t> payload() const { return segment_.subspan(header_len()); }
  // Sequence space the segment occupies: payload bytes, plus one for SYN, plus one for FIN.
  std::size_t seq_len() const;
  std::span<const std::uint8_t> bytes() const { return segment_; }

 private:
  explicit TcpView(std::span<const std::uint8_t> segment) : segment_(segment) {}
  std::span<const std::uint8_t> segment_;
};

// A TCP header as a plain value, options included (written in Linux's layout).
struct TcpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  TcpFlags flags;
  std::uint16_t window = 0;
  std::uint16_t urgent = 0;
  TcpOptions options;
  friend bool operator==(const TcpRepr&, const TcpRepr&) = default;

  // The view's header with already parsed options (see parse_tcp_options()).
  static TcpRepr from(const TcpView& view, const TcpOptions& options);

  std::size_t header_len() const { return kTcpMinHeaderLen + tcp_options_len(options); }

  // `segment` is the whole segment: the header (with options) is written at its start and the bytes
  // after header_len() (already in place) are the payload. kCompute writes the checksum; kOffload
  // writes the folded pseudo-header sum for the NIC. Returns segment.size(). Errors:
  // kOptionsTooLong, kBufferTooSmall (segment shorter than header_len()), kTooLong (> 65515).
  Built emit(std::span<std::uint8_t> segment, Ipv4Addr src, Ipv4Addr dst,
             ChecksumFill fill = ChecksumFill::kCompute) const;
};

}  // namespace synwave::wire

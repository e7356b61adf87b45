// IPv4 headers (RFC 791).
//
//   ver/ihl tos total_len(2) id(2) flags/frag_off(2) ttl proto checksum(2) src(4) dst(4) [options]
//
// Thread-safety: views and reprs are plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/addr.h"
#include "wire/result.h"

namespace synwave::wire {

inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::size_t kIpv4MaxHeaderLen = 60;

enum class IpProtocol : std::uint8_t { kIcmp = 1, kTcp = 6, kUdp = 17 };

enum class Ipv4Error : std::uint8_t {
  kTruncated,        // fewer than 20 bytes, or fewer than the IHL says
  kBadVersion,       // version != 4
  kBadHeaderLength,  // IHL < 5
  kBadTotalLength,   // total length < header length, or > the bytes received
  kBadChecksum,      // header checksum does not verify
  kFragment,         // MF set or fragment offset != 0 (the stack does not reassemble)
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(Ipv4Error::kCount)>
    kIpv4ErrorNames = {"truncated",        "bad_version",  "bad_header_length",
                       "bad_total_length", "bad_checksum", "fragment"};

constexpr std::string_view error_name(Ipv4Error e) {
  return kIpv4ErrorNames[static_cast<std::size_t>(e)];
}

// Whether parse() refuses fragments (kFragment) or lets them through (see is_fragment()).
enum class FragmentPolicy : std::uint8_t { kReject, kAccept };

// A validated IPv4 packet, trimmed to its total length (Ethernet padding after it is dropped).
// Checks, in this order: truncated, bad_version, bad_header_length, truncated (options beyond the
// buffer), bad_total_length, bad_checksum, fragment.
class Ipv4View {
 public:
  Ipv4View() = default;
  static Parsed<Ipv4View, Ipv4Error> parse(std::span<const std::uint8_t> packet,
                                           ChecksumCheck check = ChecksumCheck::kVerify,
                                           FragmentPolicy fragments = FragmentPolicy::kReject);

  std::uint8_t version() const { return 4; }
  std::size_t header_len() const { return static_cast<std::size_t>(packet_[0] & 0x0f) * 4; }
  std::uint8_t dscp() const { return packet_[1] >> 2; }
  std::uint8_t ecn() const { return packet_[1] & 0x03; }
  std::uint16_t total_len() const { return static_cast<std::uint16_t>(packet_.size()); }
  std::uint16_t identification() const;
  bool dont_fragment() const { return (packet_[6] & 0x40) != 0; }
  bool more_fragments() const { return (packet_[6] & 0x20) != 0; }
  // The fragment offset in bytes (the field counts 8-byte units).
  std::uint16_t fragment_offset() const;
  bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
  std::uint8_t ttl() const { return packet_[8]; }
  IpProtocol protocol() const { return static_cast<IpProtocol>(packet_[9]); }
  std::uint16_t checksum() const;
  Ipv4Addr src() const;
  Ipv4Addr dst() const;
  // Raw option bytes (empty when IHL is 5).
  std::span<const std::uint8_t> options() const {
    return packet_.subspan(kIpv4MinHeaderLen, header_len() - kIpv4MinHeaderLen);
  }
  std::span<const std::uint8_t> header() const { return packet_.first(header_len()); }
  std::span<const std::uint8_t> payload() const { return packet_.subspan(header_len()); }
  // The whole packet, header and payload, exactly total_len() bytes.
  std::span<const std::uint8_t> bytes() const { return packet_; }

 private:
  explicit Ipv4View(std::span<const std::uint8_t> packet) : packet_(packet) {}
  std::span<const std::uint8_t> packet_;
};

// An option-less IPv4 header as a plain value. Reprs built from a view drop its options.
struct Ipv4Repr {
  Ipv4Addr src;
  Ipv4Addr dst;
  IpProtocol protocol = IpProtocol::kTcp;
  std::size_t payload_len = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;  // DSCP << 2 | ECN
  std::uint16_t identification = 0;
  bool dont_fragment = true;
  friend bool operator==(const Ipv4Repr&, const Ipv4Repr&) = default;

  static Ipv4Repr from(const Ipv4View& view);
  static constexpr std::size_t header_len() { return kIpv4MinHeaderLen; }
  // Writes the 20-byte header at the start of `out` (the payload is not touched); the checksum is
  // computed (kCompute) or left zero for the NIC (kOffload). Errors: kBufferTooSmall, kTooLong when
  // 20 + payload_len > 65535.
  Built emit(std::span<std::uint8_t> out, ChecksumFill fill = ChecksumFill::kCompute) const;
};

}  // namespace synwave::wire

// The frames a flood sends (synwave-flood, synwave-loadgen --flood-rate): one template per kind,
// built once with the wire builders, and the few per-packet fields (source address and port,
// sequence numbers, IP id, timestamps) written into a copy of it with both checksums finished
// from precomputed sums.
//
// Checksums: the template's IPv4 and TCP sums are taken with every per-packet field zero, so a
// packet's checksum is that sum plus the 16-bit words of its own fields, folded and complemented
// (RFC 1071: the one's-complement sum does not depend on the order of the words). A handful of
// additions per packet, cheaper than handing the work to a NIC, and the same on every port.
//
// Pure: no DPDK, no clock; safe to use from any thread on distinct objects.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/addr.h"

namespace synwave::flood {

enum class Kind : std::uint8_t { kSyn, kAck, kRst, kFin, kMix };

// "syn", "ack", "rst", "fin", "mix".
std::string_view kind_name(Kind kind);
std::optional<Kind> parse_kind(std::string_view text);

// What is the same in every packet of a flood.
struct FrameParams {
  MacAddr src_mac;
  MacAddr dst_mac;
  Ipv4Addr dst;
  std::uint16_t dst_port = 0;
  std::uint16_t mss = 1460;  // the SYN's MSS option (Linux: MTU - 40)
  std::uint8_t ttl = 64;
};

// What changes from packet to packet.
struct FrameFields {
  Ipv4Addr src;
  std::uint16_t src_port = 0;
  std::uint16_t ip_id = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;     // ACK and FIN|ACK only (zero on the wire otherwise)
  std::uint32_t ts_val = 0;  // where the kind carries timestamps
  std::uint32_t ts_ecr = 0;  // ACK and FIN|ACK only (a SYN's echo is zero)
};

// One kind's frame. Single kinds only (kMix picks one of the four per packet).
//   syn  SYN with Linux's SYN options, in Linux's order: MSS, SACK-permitted, timestamps,
//        NOP, window scale 7; window 64240, DF set (74 bytes)
//   ack  ACK with NOP, NOP, timestamps; window 502 (66 bytes)
//   rst  RST alone, no options, window 0 (54 bytes)
//   fin  FIN|ACK with NOP, NOP, timestamps; window 502 (66 bytes)
class FrameTemplate {
 public:
  static constexpr std::size_t kMaxFrameLen = 14 + 20 + 60;

  FrameTemplate(Kind kind, const FrameParams& params);

  std::size_t size() const { return size_; }
  Kind kind() const { return kind_; }
  // Writes the whole frame for `fields` into `out` (at least size() bytes), checksums included.
  // Returns size().
  std::size_t write(std::span<std::uint8_t> out, const FrameFields& fields) const;

 private:
  Kind kind_;
  std::array<std::uint8_t, kMaxFrameLen> bytes_{};
  std::size_t size_ = 0;
  std::size_t ts_offset_ = 0;  // of the timestamp option's value in the frame; 0 without one
  bool has_ack_ = false;
  std::uint32_t ip_sum_ = 0;   // IPv4 header, src and id zero, checksum field zero
  std::uint32_t tcp_sum_ = 0;  // pseudo-header (src zero) + TCP header with its fields zero
};

// A small, fast random stream (SplitMix64): the per-packet fields need speed, not secrecy.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// Draws the per-packet fields: a source address inside `sources` (neither its network nor its
// broadcast address when it has more than two), a source port in 1024..65535, and random
// sequence numbers, IP id and timestamps.
class FieldSource {
 public:
  FieldSource(Ipv4Prefix sources, std::uint64_t seed);
  FrameFields next();
  // A uniform draw in [0, n) from the same stream (n > 0).
  std::uint32_t below(std::uint32_t n);

 private:
  Ipv4Prefix sources_;
  std::uint64_t hosts_;       // usable host numbers
  std::uint32_t first_host_;  // 1 when network and broadcast are skipped, else 0
  Random random_;
};

}  // namespace synwave::flood

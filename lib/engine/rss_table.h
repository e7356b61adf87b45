// Receive-side scaling as a NIC does it: the Toeplitz hash of an IPv4 flow under a 40-byte key,
// and the redirection table (RETA) whose entry hash % size names the receive queue.
//
// The engine uses it three ways: to pick, for an active open, a source port whose reply the NIC
// delivers to the opening engine's queue; to steer in software, on ports without RSS, each frame
// to the engine that owns its flow; and in tests, against the Microsoft RSS specification's
// vectors. Immutable after construction: every engine reads it without locks.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "base/addr.h"

namespace synwave {

inline constexpr std::size_t kRssKeyBytes = 40;
using RssKey = std::array<std::uint8_t, kRssKeyBytes>;

// One 16-bit pattern repeated: the hash of (a, b, pa, pb) equals that of (b, a, pb, pa), so both
// directions of a flow land on one queue (Woo and Park, "Scalable TCP session monitoring with
// symmetric receive-side scaling").
inline constexpr RssKey kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

class RssTable {
 public:
  // `reta`: queue ids, a power-of-two count (NICs have 64, 128 or 512 entries); anything else
  // is an InvalidArgument error.
  static absl::StatusOr<RssTable> create(const RssKey& key, std::vector<std::uint16_t> reta);

  // The entries a NIC sets by default, and software steering uses: queue i % queues.
  static std::vector<std::uint16_t> round_robin_reta(unsigned queues, std::size_t entries = 128);

  // The Toeplitz hash of an IPv4 TCP/UDP packet from src:sport to dst:dport (what the NIC
  // computes with the "IPv4 TCP" hash type), or of the addresses alone (the "IPv4" hash type).
  std::uint32_t hash(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const;
  std::uint32_t hash(Ipv4Addr src, Ipv4Addr dst) const;

  // The queue a packet from src:sport to dst:dport is received on.
  std::uint16_t queue_of(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const {
    return reta_[hash(src, dst, sport, dport) & reta_mask_];
  }

  // The same hash by DPDK's rte_softrss_be (one step per set input bit): the reference the
  // tables are tested against, and the baseline of bench/steering_bench.
  std::uint32_t reference_hash(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const;

  const RssKey& key() const { return key_; }
  std::span<const std::uint16_t> reta() const { return reta_; }

 private:
  RssTable(const RssKey& key, std::vector<std::uint16_t> reta);

  static constexpr std::size_t kInputBytes = 12;  // IPv4 source, destination, ports

  RssKey key_;
  // The key as host-order 32-bit words, as rte_softrss_be() wants it (rte_convert_rss_key).
  std::array<std::uint32_t, kRssKeyBytes / 4> key_words_{};
  // Toeplitz is linear in its input: the hash is the XOR, over the input's bytes, of what each
  // byte contributes at its position. contribution_[p][v]: byte value v at position p (12 KiB):
  // 12 lookups per packet instead of a step per set bit (bench/steering_bench: 4.3 ns against
  // rte_softrss_be's 29.8 ns).
  std::vector<std::array<std::uint32_t, 256>> contribution_;
  std::vector<std::uint16_t> reta_;
  std::uint32_t reta_mask_;
};

}  // namespace synwave

// Real packets for the wire tests, and small helpers.
//
// Captured from Linux 6.x on the loopback device of a private network namespace (tcpdump -xx), IPv4
// header onwards, addresses 198.18.0.1 -> 198.18.0.1. Loopback leaves TCP/UDP checksums partial
// (checksum offload: the folded pseudo-header sum, noted below as "partial"); they were replaced by
// the full checksum tcpdump computed ("incorrect -> 0x...") so that the packets verify.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/addr.h"

namespace synwave::wire::testing {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : hex) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

constexpr Ipv4Addr ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return Ipv4Addr{std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d};
}

inline constexpr Ipv4Addr kLo = ip(198, 18, 0, 1);

// connect(): SYN 55504 > 8080, seq 3555965065, win 65495,
// <mss 65495,sackOK,TS val 2325791317 ecr 0,nop,wscale 10>. TCP checksum 0xf005 (partial 0x8c55).
inline constexpr std::string_view kLinuxSyn =
    "4500 003c e97f 4000 4006 c515 c612 0001 c612 0001 d8d0 1f90 d3f3 b889 0000 0000 a002 ffd7"
    "f005 0000 0204 ffd7 0402 080a 8aa0 c255 0000 0000 0103 030a";

// The listener's SYN-ACK: seq 746442316 ack 3555965066 win 65483,
// <mss 65495,sackOK,TS val 4001972397 ecr 2325791317,nop,wscale 10>. Checksum 0xc5ff.
inline constexpr std::string_view kLinuxSynAck =
    "4500 003c 0000 4000 4006 ae95 c612 0001 c612 0001 1f90 d8d0 2c7d ce4c d3f3 b88a a012 ffcb"
    "c5ff 0000 0204 ffd7 0402 080a ee89 40ad 8aa0 c255 0103 030a";

// Data: [P.] seq 1:6 (3555965066) ack 746442317 win 64, <nop,nop,TS val 2325791317 ecr
// 4001972397>, payload "hello". Checksum 0xaa9f (partial 0x8c52).
inline constexpr std::string_view kLinuxPsh =
    "4500 0039 e981 4000 4006 c516 c612 0001 c612 0001 d8d0 1f90 d3f3 b88a 2c7d ce4d 8018 0040"
    "aa9f 0000 0101 080a 8aa0 c255 ee89 40ad 6865 6c6c 6f";

// net.ipv4.tcp_timestamps=0, tcp_ecn=1: SYN [SEW] 52386 > 8080 seq 3782528095 win 65495,
// <mss 65495,nop,nop,sackOK,nop,wscale 10>. Checksum 0x4e24 (partial 0x8c4d).
inline constexpr std::string_view kLinuxSynNoTs =
    "4500 0034 f643 4000 4006 b859 c612 0001 c612 0001 cca2 1f90 e174 cc5f 0000 0000 80c2 ffd7"
    "4e24 0000 0204 ffd7 0101 0402 0103 030a";

// Its SYN-ACK [S.E]: seq 1379971504 ack 3782528096, same options. Checksum 0x4aa2.
inline constexpr std::string_view kLinuxSynAckNoTs =
    "4500 0034 0000 4000 4006 ae9d c612 0001 c612 0001 1f90 cca2 5240 b1b0 e174 cc60 8052 ffd7"
    "4aa2 0000 0204 ffd7 0101 0402 0103 030a";

// sendto(): UDP 59204 > 9999, "synwave udp" (11 bytes). Checksum 0xd760 (partial 0x8c4b).
inline constexpr std::string_view kLinuxUdp =
    "4500 0027 4833 4000 4011 666c c612 0001 c612 0001 e744 270f 0013 d760 7379 6e77 6176 6520"
    "7564 70";

// The kernel's answer to it: ICMP port unreachable (tos 0xc0), quoting the datagram as sent
// (its UDP checksum still partial).
inline constexpr std::string_view kLinuxPortUnreachable =
    "45c0 0043 7f62 0000 4001 6e71 c612 0001 c612 0001 0303 d45d 0000 0000 4500 0027 4833 4000"
    "4011 666c c612 0001 c612 0001 e744 270f 0013 8c4b 7379 6e77 6176 6520 7564 70";

// ping -c 1: echo request id 8536 (0x2158) seq 1, 56 bytes of data (timeval + 0x10..0x37).
inline constexpr std::string_view kPingEchoRequest =
    "4500 0054 7f6e 4000 4001 2f14 c612 0001 c612 0001 0800 e431 2158 0001 fa96 026b 0000 0000"
    "2aa0 0c00 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b"
    "2c2d 2e2f 3031 3233 3435 3637";

// The kernel's echo reply to it.
inline constexpr std::string_view kPingEchoReply =
    "4500 0054 7f6f 0000 4001 6f13 c612 0001 c612 0001 0000 ec31 2158 0001 fa96 026b 0000 0000"
    "2aa0 0c00 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b"
    "2c2d 2e2f 3031 3233 3435 3637";

// The IPv4 payload (bytes after a 20-byte header) of one of the packets above.
inline std::vector<std::uint8_t> l4_of(std::string_view packet_hex) {
  std::vector<std::uint8_t> ip_packet = from_hex(packet_hex);
  return std::vector<std::uint8_t>(ip_packet.begin() + 20, ip_packet.end());
}

}  // namespace synwave::wire::testing

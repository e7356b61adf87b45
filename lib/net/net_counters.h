// The network layer's counters: why frames were dropped, and what went in and out.
//
// Malformed headers are counted by the wire layer's own error enums (CounterSet<Ipv4Error> and
// so on, named "<protocol>_<error>"); NetDrop counts the reasons that come from the stack's rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synwave {

enum class NetDrop : std::uint8_t {
  kEthNotForUs,            // destination MAC neither ours, broadcast nor multicast
  kEthUnsupportedType,     // an EtherType the stack does not speak (IPv6, LLDP, ...)
  kEthVlanTagged,          // VLAN-tagged frame: no VLAN is configured on the port
  kArpNotForUs,            // a request for an address that is not ours
  kArpAddressConflict,     // someone else claims our address (counted, not fought)
  kArpInvalidSender,       // sender address broadcast, multicast or zero MAC
  kIpv4NotForUs,           // destination neither our address nor broadcast to our subnet
  kIpv4InvalidSource,      // source is broadcast, multicast, loopback or our own address
  kIpv4TtlZero,            // RFC 791: a datagram with TTL 0 is destroyed
  kIpv4UnsupportedProtocol,// no handler for the protocol yet
  kNotContiguous,          // headers and payload span several mbuf segments
  kIcmpNotEcho,            // ICMP types other than echo request are not acted upon
  kIcmpBroadcastEcho,      // echo to a broadcast address (Linux icmp_echo_ignore_broadcasts=1)
  kArpQueueFull,           // the per-next-hop queue was full while resolving
  kArpTableFull,           // no room for a new neighbour
  kArpUnresolved,          // the next hop never answered: frames waiting for it are dropped
  kNoRoute,                // destination off-link and no gateway configured
  kNoMbuf,                 // the mempool was empty when the stack needed a frame
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(NetDrop::kCount)>
    kNetDropNames = {"eth_not_for_us",          "eth_unsupported_type", "eth_vlan_tagged",
                     "arp_not_for_us",          "arp_address_conflict", "arp_invalid_sender",
                     "ipv4_not_for_us",         "ipv4_invalid_source",  "ipv4_ttl_zero",
                     "ipv4_unsupported_protocol", "not_contiguous", "icmp_not_echo",
                     "icmp_broadcast_echo",     "arp_queue_full",       "arp_table_full",
                     "arp_unresolved",          "no_route",             "no_mbuf"};

enum class NetStat : std::uint8_t {
  kRxFrames,
  kArpRequestsIn,
  kArpRepliesIn,
  kArpRequestsOut,
  kArpRepliesOut,
  kArpGratuitousOut,
  kIpv4In,
  kIpv4Out,
  kIcmpEchoRequestsIn,
  kIcmpEchoRepliesOut,
  kArpLearnedFromEngines,  // mappings another engine learned from ARP and shared (several engines)
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(NetStat::kCount)>
    kNetStatNames = {"rx_frames",          "arp_requests_in",   "arp_replies_in",
                     "arp_requests_out",   "arp_replies_out",   "arp_gratuitous_out",
                     "ipv4_in",            "ipv4_out",          "icmp_echo_requests_in",
                     "icmp_echo_replies_out", "arp_learned_from_engines"};

}  // namespace synwave

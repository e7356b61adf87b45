// A NetStack on a real mempool, with frames in and out as byte vectors and time set by the test.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "net/net_stack.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace synwave::testing {

using Bytes = std::vector<std::uint8_t>;

inline const MacAddr kStackMac = *parse_mac("02:00:00:00:00:02");
inline const MacAddr kPeerMac = *parse_mac("02:00:00:00:00:01");
inline const MacAddr kGatewayMac = *parse_mac("02:00:00:00:00:fe");
inline const Ipv4Addr kStackIp = *parse_ipv4("198.18.0.2");
inline const Ipv4Addr kPeerIp = *parse_ipv4("198.18.0.1");
inline const Ipv4Addr kGatewayIp = *parse_ipv4("198.18.0.254");
inline const Ipv4Addr kFarIp = *parse_ipv4("198.19.5.5");

class NetFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = "net_test_" + std::to_string(counter_++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    tx_ = std::make_unique<TxBatch>(&NetFixture::capture, this);
    NetStack::Params params{.mac = kStackMac, .ipv4 = kStackIp, .prefix_len = 24,
                            .gateway = kGatewayIp, .mtu = 1500, .arp = arp_config(),
                            .sysctl = Sysctl{}, .pool = pool_};
    stack_ = std::make_unique<NetStack>(params, *tx_);
  }

  void TearDown() override {
    stack_->stop();
    tx_->flush();
    take_sent();
    stack_.reset();
    tx_.reset();
    // Every frame the test or the stack allocated went back: the leak check for every test.
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "mbufs leaked";
    rte_mempool_free(pool_);
  }

  virtual ArpConfig arp_config() const { return ArpConfig{.queue_len = 4}; }

  // Hands `frame` to the stack as if received at `now`, and flushes what it sends.
  void receive(const Bytes& frame, Instant now = Instant{}) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size())), frame.data(), frame.size());
    stack_->input(m, now);
    tx_->flush();
  }

  void poll(Instant now) {
    stack_->poll(now);
    tx_->flush();
  }

  // An IPv4 packet (header + payload) in an mbuf with headroom, as the upper layers will hand over.
  rte_mbuf* ip_packet(Ipv4Addr dst, std::size_t payload_len = 8) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(20 + payload_len)));
    std::memset(p, 0xab, 20 + payload_len);
    wire::Ipv4Repr ip{.src = kStackIp, .dst = dst, .protocol = wire::IpProtocol::kUdp, .payload_len = payload_len};
    EXPECT_TRUE(ip.emit({p, 20}).ok());
    return m;
  }

  // Frames sent since the last call, as bytes.
  std::vector<Bytes> take_sent() {
    std::vector<Bytes> frames;
    for (rte_mbuf* m : sent_) {
      const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
      frames.emplace_back(p, p + rte_pktmbuf_data_len(m));
      rte_pktmbuf_free(m);
    }
    sent_.clear();
    return frames;
  }

  std::uint64_t drops(NetDrop reason) const { return stack_->drops().get(reason); }

  static Bytes ethernet(const MacAddr& dst, const MacAddr& src, wire::EtherType type, const Bytes& payload) {
    Bytes frame(wire::kEthernetHeaderLen + payload.size());
    EXPECT_TRUE((wire::EthernetRepr{.dst = dst, .src = src, .ethertype = type}.emit(frame)).ok());
    std::copy(payload.begin(), payload.end(), frame.begin() + wire::kEthernetHeaderLen);
    return frame;
  }

  static Bytes arp(const wire::ArpRepr& repr) {
    Bytes bytes(wire::kArpLen);
    EXPECT_TRUE(repr.emit(bytes).ok());
    return bytes;
  }

  static Bytes ipv4(Ipv4Addr src, Ipv4Addr dst, wire::IpProtocol protocol, const Bytes& payload,
                    std::uint8_t ttl = 64) {
    Bytes packet(20 + payload.size());
    wire::Ipv4Repr repr{.src = src, .dst = dst, .protocol = protocol, .payload_len = payload.size(), .ttl = ttl};
    EXPECT_TRUE(repr.emit(packet).ok());
    std::copy(payload.begin(), payload.end(), packet.begin() + 20);
    return packet;
  }

  static Bytes echo_request(std::uint16_t id, std::uint16_t seq, const Bytes& data) {
    Bytes message(wire::kIcmpHeaderLen + data.size());
    std::copy(data.begin(), data.end(), message.begin() + wire::kIcmpHeaderLen);
    EXPECT_TRUE(wire::IcmpRepr::echo(wire::IcmpType::kEchoRequest, id, seq).emit(message).ok());
    return message;
  }

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<TxBatch> tx_;
  std::unique_ptr<NetStack> stack_;
  std::vector<rte_mbuf*> sent_;

 private:
  static std::uint16_t capture(void* context, rte_mbuf** frames, std::uint16_t count) {
    auto* self = static_cast<NetFixture*>(context);
    self->sent_.insert(self->sent_.end(), frames, frames + count);
    return count;
  }
  static inline int counter_ = 0;
};

}  // namespace synwave::testing

#include "flood/flood_frames.h"

#include <cassert>
#include <cstring>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace synwave::flood {
namespace {

constexpr std::size_t kEth = wire::kEthernetHeaderLen;
constexpr std::size_t kIp = wire::kIpv4MinHeaderLen;
// Field offsets in the frame.
constexpr std::size_t kIpId = kEth + 4;
constexpr std::size_t kIpChecksum = kEth + 10;
constexpr std::size_t kIpSrc = kEth + 12;
constexpr std::size_t kTcpSrcPort = kEth + kIp;
constexpr std::size_t kTcpSeq = kEth + kIp + 4;
constexpr std::size_t kTcpAck = kEth + kIp + 8;
constexpr std::size_t kTcpChecksum = kEth + kIp + 16;

constexpr std::uint32_t words(std::uint32_t v) { return (v >> 16) + (v & 0xffff); }

// The offset of the timestamp option's value within `options`, or nullopt.
std::optional<std::size_t> timestamp_offset(std::span<const std::uint8_t> options) {
  for (std::size_t i = 0; i < options.size();) {
    const std::uint8_t kind = options[i];
    if (kind == static_cast<std::uint8_t>(wire::TcpOptionKind::kEol)) break;
    if (kind == static_cast<std::uint8_t>(wire::TcpOptionKind::kNop)) {
      ++i;
      continue;
    }
    if (i + 1 >= options.size() || options[i + 1] < 2) break;
    if (kind == static_cast<std::uint8_t>(wire::TcpOptionKind::kTimestamps)) return i + 2;
    i += options[i + 1];
  }
  return std::nullopt;
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kSyn: return "syn";
    case Kind::kAck: return "ack";
    case Kind::kRst: return "rst";
    case Kind::kFin: return "fin";
    case Kind::kMix: return "mix";
  }
  return "?";
}

std::optional<Kind> parse_kind(std::string_view text) {
  for (Kind k : {Kind::kSyn, Kind::kAck, Kind::kRst, Kind::kFin, Kind::kMix})
    if (text == kind_name(k)) return k;
  return std::nullopt;
}

FrameTemplate::FrameTemplate(Kind kind, const FrameParams& params) : kind_(kind) {
  assert(kind != Kind::kMix);
  wire::TcpRepr tcp{.src_port = 0, .dst_port = params.dst_port};
  switch (kind) {
    case Kind::kSyn:
      // Linux's SYN: tcp_syn_options() with MSS, SACK-permitted, timestamps and wscale 7
      // (the default tcp_rmem max of 6 MiB), window 64240 (44 * 1460, tcp_select_initial_window).
      tcp.flags = wire::TcpFlags{wire::TcpFlags::kSyn};
      tcp.window = 64240;
      tcp.options.mss = params.mss;
      tcp.options.sack_permitted = true;
      tcp.options.timestamps = wire::TcpTimestamps{};
      tcp.options.window_scale = 7;
      break;
    case Kind::kAck:
    case Kind::kFin:
      tcp.flags = wire::TcpFlags{static_cast<std::uint8_t>(
          kind == Kind::kFin ? wire::TcpFlags::kFin | wire::TcpFlags::kAck : wire::TcpFlags::kAck)};
      tcp.window = 502;  // 64256 >> 7, as an established Linux connection advertises
      tcp.options.timestamps = wire::TcpTimestamps{};
      has_ack_ = true;
      break;
    case Kind::kRst:
    case Kind::kMix:
      tcp.flags = wire::TcpFlags{wire::TcpFlags::kRst};
      break;
  }
  const std::size_t tcp_len = tcp.header_len();
  size_ = kEth + kIp + tcp_len;
  const std::span<std::uint8_t> frame(bytes_.data(), size_);

  const wire::EthernetRepr eth{.dst = params.dst_mac, .src = params.src_mac, .ethertype = wire::EtherType::kIpv4};
  const wire::Ipv4Repr ip{.src = Ipv4Addr{0},
                          .dst = params.dst,
                          .protocol = wire::IpProtocol::kTcp,
                          .payload_len = tcp_len,
                          .ttl = params.ttl,
                          .identification = 0,
                          .dont_fragment = true};
  [[maybe_unused]] auto e = eth.emit(frame);
  [[maybe_unused]] auto i = ip.emit(frame.subspan(kEth));
  [[maybe_unused]] auto t = tcp.emit(frame.subspan(kEth + kIp), Ipv4Addr{0}, params.dst);
  assert(e.ok() && i.ok() && t.ok());

  wire::store_be16(&bytes_[kIpChecksum], 0);
  wire::store_be16(&bytes_[kTcpChecksum], 0);
  ip_sum_ = wire::checksum_partial(frame.subspan(kEth, kIp));
  tcp_sum_ = wire::checksum_partial(frame.subspan(kEth + kIp),
                                    wire::pseudo_header_sum(Ipv4Addr{0}, params.dst,
                                                            static_cast<std::uint8_t>(wire::IpProtocol::kTcp),
                                                            static_cast<std::uint16_t>(tcp_len)));
  if (auto ts = timestamp_offset(frame.subspan(kEth + kIp + wire::kTcpMinHeaderLen)))
    ts_offset_ = kEth + kIp + wire::kTcpMinHeaderLen + *ts;
}

std::size_t FrameTemplate::write(std::span<std::uint8_t> out, const FrameFields& f) const {
  assert(out.size() >= size_);
  std::uint8_t* p = out.data();
  std::memcpy(p, bytes_.data(), size_);
  wire::store_be16(p + kIpId, f.ip_id);
  wire::store_be32(p + kIpSrc, f.src.value);
  wire::store_be16(p + kIpChecksum, wire::checksum_finish(ip_sum_ + words(f.src.value) + f.ip_id));

  std::uint32_t sum = tcp_sum_ + words(f.src.value) + f.src_port + words(f.seq);
  wire::store_be16(p + kTcpSrcPort, f.src_port);
  wire::store_be32(p + kTcpSeq, f.seq);
  if (has_ack_) {
    wire::store_be32(p + kTcpAck, f.ack);
    sum += words(f.ack);
  }
  if (ts_offset_ != 0) {
    wire::store_be32(p + ts_offset_, f.ts_val);
    sum += words(f.ts_val);
    if (has_ack_) {
      wire::store_be32(p + ts_offset_ + 4, f.ts_ecr);
      sum += words(f.ts_ecr);
    }
  }
  wire::store_be16(p + kTcpChecksum, wire::checksum_finish(sum));
  return size_;
}

FieldSource::FieldSource(Ipv4Prefix sources, std::uint64_t seed)
    : sources_(sources), hosts_(sources.size()), first_host_(0), random_(seed) {
  if (sources.length <= 30) {  // skip the network and broadcast addresses
    hosts_ -= 2;
    first_host_ = 1;
  }
}

std::uint32_t FieldSource::below(std::uint32_t n) {
  return static_cast<std::uint32_t>(((random_.next() & 0xffffffffu) * n) >> 32);
}

FrameFields FieldSource::next() {
  const std::uint64_t a = random_.next();
  const std::uint64_t b = random_.next();
  const std::uint64_t c = random_.next();
  FrameFields f;
  const std::uint64_t host = first_host_ + (((a & 0xffffffffu) * hosts_) >> 32);
  f.src = Ipv4Addr{sources_.network.value | static_cast<std::uint32_t>(host)};
  f.src_port = static_cast<std::uint16_t>(1024 + ((((a >> 32) & 0xffffu) * 64512) >> 16));
  f.ip_id = static_cast<std::uint16_t>(a >> 48);
  f.seq = static_cast<std::uint32_t>(b);
  f.ack = static_cast<std::uint32_t>(b >> 32);
  f.ts_val = static_cast<std::uint32_t>(c);
  f.ts_ecr = static_cast<std::uint32_t>(c >> 32);
  return f;
}

}  // namespace synwave::flood

#include "wire/tcp.h"

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace synwave::wire {
namespace {

constexpr auto kProtoTcp = static_cast<std::uint8_t>(IpProtocol::kTcp);

}  // namespace

std::string format_tcp_flags(TcpFlags flags) {
  static constexpr struct {
    std::uint8_t bit;
    char letter;
  } kLetters[] = {{TcpFlags::kFin, 'F'}, {TcpFlags::kSyn, 'S'}, {TcpFlags::kRst, 'R'},
                  {TcpFlags::kPsh, 'P'}, {TcpFlags::kAck, '.'}, {TcpFlags::kUrg, 'U'},
                  {TcpFlags::kEce, 'E'}, {TcpFlags::kCwr, 'W'}};
  std::string text;
  for (const auto& l : kLetters)
    if (flags.has(l.bit)) text += l.letter;
  return text.empty() ? "none" : text;
}

Parsed<TcpView, TcpError> TcpView::parse(std::span<const std::uint8_t> segment, Ipv4Addr src,
                                         Ipv4Addr dst, ChecksumCheck check) {
  if (segment.size() < kTcpMinHeaderLen) return TcpError::kTruncated;
  const std::size_t header_len = static_cast<std::size_t>(segment[12] >> 4) * 4;
  if (header_len < kTcpMinHeaderLen) return TcpError::kBadDataOffset;
  if (header_len > segment.size()) return TcpError::kTruncated;
  if (check == ChecksumCheck::kVerify) {
    // An IPv4 payload is at most 65515 bytes, so the length fits the pseudo-header's 16 bits.
    const auto length = static_cast<std::uint16_t>(segment.size());
    const std::uint32_t sum =
        checksum_partial(segment, pseudo_header_sum(src, dst, kProtoTcp, length));
    if (segment.size() > 0xffff || checksum_finish(sum) != 0) return TcpError::kBadChecksum;
  }
  return TcpView(segment);
}

std::uint16_t TcpView::src_port() const {
  return load_be16(segment_.data());
}
std::uint16_t TcpView::dst_port() const {
  return load_be16(segment_.data() + 2);
}
std::uint32_t TcpView::seq() const {
  return load_be32(segment_.data() + 4);
}
std::uint32_t TcpView::ack() const {
  return load_be32(segment_.data() + 8);
}
std::uint16_t TcpView::window() const {
  return load_be16(segment_.data() + 14);
}
std::uint16_t TcpView::checksum() const {
  return load_be16(segment_.data() + 16);
}
std::uint16_t TcpView::urgent() const {
  return load_be16(segment_.data() + 18);
}
std::size_t TcpView::seq_len() const {
  const TcpFlags f = flags();
  return payload().size() + (f.syn() ? 1 : 0) + (f.fin() ? 1 : 0);
}

TcpRepr TcpRepr::from(const TcpView& view, const TcpOptions& options) {
  TcpRepr repr;
  repr.src_port = view.src_port();
  repr.dst_port = view.dst_port();
  repr.seq = view.seq();
  repr.ack = view.ack();
  repr.flags = view.flags();
  repr.window = view.window();
  repr.urgent = view.urgent();
  repr.options = options;
  return repr;
}

Built TcpRepr::emit(std::span<std::uint8_t> segment, Ipv4Addr src, Ipv4Addr dst,
                    ChecksumFill fill) const {
  const std::size_t options_len = tcp_options_len(options);
  if (options_len > kTcpMaxOptionsLen || options.sack_count > TcpOptions::kMaxSackBlocks)
    return BuildError::kOptionsTooLong;
  const std::size_t header = kTcpMinHeaderLen + options_len;
  if (segment.size() < header) return BuildError::kBufferTooSmall;
  if (segment.size() > 0xffff - 20) return BuildError::kTooLong;
  std::uint8_t* p = segment.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  p[12] = static_cast<std::uint8_t>((header / 4) << 4);
  p[13] = flags.bits;
  store_be16(p + 14, window);
  store_be16(p + 16, 0);
  store_be16(p + 18, urgent);
  const Built written = write_tcp_options(options, segment.subspan(kTcpMinHeaderLen, options_len));
  if (!written) return written.error();
  const auto length = static_cast<std::uint16_t>(segment.size());
  const std::uint32_t pseudo = pseudo_header_sum(src, dst, kProtoTcp, length);
  if (fill == ChecksumFill::kOffload)
    store_be16(p + 16, checksum_fold(pseudo));
  else
    store_be16(p + 16, checksum_finish(checksum_partial(segment, pseudo)));
  return segment.size();
}

}  // namespace synwave::wire

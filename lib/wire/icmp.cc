#include "wire/icmp.h"

#include <cstring>

#include "wire/bytes.h"
#include "wire/checksum.h"

namespace synwave::wire {

Parsed<IcmpView, IcmpError> IcmpView::parse(std::span<const std::uint8_t> message,
                                            ChecksumCheck check) {
  if (message.size() < kIcmpHeaderLen) return IcmpError::kTruncated;
  if (check == ChecksumCheck::kVerify && internet_checksum(message) != 0)
    return IcmpError::kBadChecksum;
  return IcmpView(message);
}

std::uint16_t IcmpView::checksum() const {
  return load_be16(message_.data() + 2);
}
std::uint32_t IcmpView::rest_of_header() const {
  return load_be32(message_.data() + 4);
}
std::uint16_t IcmpView::echo_id() const {
  return load_be16(message_.data() + 4);
}
std::uint16_t IcmpView::echo_seq() const {
  return load_be16(message_.data() + 6);
}

IcmpRepr IcmpRepr::from(const IcmpView& view) {
  return IcmpRepr{view.type(), view.code(), view.rest_of_header()};
}

IcmpRepr IcmpRepr::echo(IcmpType type, std::uint16_t id, std::uint16_t seq) {
  return IcmpRepr{type, 0, static_cast<std::uint32_t>(id) << 16 | seq};
}

Built IcmpRepr::emit(std::span<std::uint8_t> message) const {
  if (message.size() < kIcmpHeaderLen) return BuildError::kBufferTooSmall;
  std::uint8_t* p = message.data();
  p[0] = static_cast<std::uint8_t>(type);
  p[1] = code;
  store_be16(p + 2, 0);
  store_be32(p + 4, rest_of_header);
  store_be16(p + 2, internet_checksum(message));
  return message.size();
}

Built build_echo_reply(const IcmpView& request, std::span<std::uint8_t> out) {
  const std::span<const std::uint8_t> in = request.bytes();
  if (out.size() < in.size()) return BuildError::kBufferTooSmall;
  const IcmpRepr reply =
      IcmpRepr::echo(IcmpType::kEchoReply, request.echo_id(), request.echo_seq());
  // memmove: `out` may alias the request.
  std::memmove(out.data() + kIcmpHeaderLen, in.data() + kIcmpHeaderLen, in.size() - kIcmpHeaderLen);
  return reply.emit(out.first(in.size()));
}

Built build_icmp_error(IcmpType type, std::uint8_t code, std::uint32_t rest_of_header,
                       std::span<const std::uint8_t> quote, std::span<std::uint8_t> out) {
  const std::size_t len = kIcmpHeaderLen + quote.size();
  if (out.size() < len) return BuildError::kBufferTooSmall;
  if (!quote.empty()) std::memmove(out.data() + kIcmpHeaderLen, quote.data(), quote.size());
  return IcmpRepr{type, code, rest_of_header}.emit(out.first(len));
}

}  // namespace synwave::wire

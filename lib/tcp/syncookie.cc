#include "tcp/syncookie.h"

#include <string_view>

#include "wire/bytes.h"

namespace synwave::tcp {
SynCookies::SynCookies(const std::array<std::uint8_t, 16>& secret) {
  const SipHashKey root = SipHashKey::from_bytes(secret);
  keys_[0] = {siphash24_label(root, "synwave-syncookie-key-0-lo"), siphash24_label(root, "synwave-syncookie-key-0-hi")};
  keys_[1] = {siphash24_label(root, "synwave-syncookie-key-1-lo"), siphash24_label(root, "synwave-syncookie-key-1-hi")};
}

std::uint32_t SynCookies::counter(Instant now) {
  const std::int64_t ns = to_ns(now);
  const std::int64_t period = std::chrono::duration_cast<std::chrono::nanoseconds>(kPeriod).count();
  std::int64_t q = ns / period;
  if (ns % period < 0) --q;  // floor
  return static_cast<std::uint32_t>(q);
}

std::uint8_t SynCookies::mss_index(std::uint16_t mss) {
  auto i = static_cast<std::uint8_t>(kMssTable.size() - 1);
  for (; i > 0; --i)
    if (mss >= kMssTable[i]) break;
  return i;
}

std::uint32_t SynCookies::hash(const CookieTuple& t, std::uint32_t count, int which) const {
  std::array<std::uint8_t, 16> msg;
  wire::store_be32(&msg[0], t.remote.value);
  wire::store_be32(&msg[4], t.local.value);
  wire::store_be32(&msg[8], static_cast<std::uint32_t>(t.remote_port) << 16 | t.local_port);
  wire::store_be32(&msg[12], count);
  return static_cast<std::uint32_t>(siphash24(keys_[static_cast<std::size_t>(which)], msg));
}

Seq SynCookies::make(const CookieTuple& t, Seq syn_seq, std::uint8_t mss_index, std::uint32_t count) const {
  // Linux secure_tcp_syn_cookie.
  const std::uint32_t cookie = hash(t, 0, 0) + syn_seq.raw() + (count << kCookieBits) +
                               ((hash(t, count, 1) + mss_index) & kCookieMask);
  return Seq(cookie);
}

std::optional<std::uint16_t> SynCookies::check(const CookieTuple& t, Seq cookie, Seq syn_seq,
                                               std::uint32_t count) const {
  // Linux check_tcp_syn_cookie: strip H0 and the SYN's sequence number, leaving
  // (count << 24) + (H1 + data) mod 2^24.
  const std::uint32_t c = cookie.raw() - (hash(t, 0, 0) + syn_seq.raw());
  const std::uint32_t diff = (count - (c >> kCookieBits)) & (0xffffffffu >> kCookieBits);
  if (diff >= kMaxAge) return std::nullopt;
  const std::uint32_t data = (c - hash(t, count - diff, 1)) & kCookieMask;
  if (data >= kMssTable.size()) return std::nullopt;
  return kMssTable[data];
}

std::uint32_t SynCookies::init_timestamp(std::uint32_t ts_now, const CookieTsOptions& o) {
  std::uint32_t options = o.wscale_ok ? (o.snd_wscale & kTsOptWscaleMask) : kTsOptWscaleMask;
  if (o.sack_ok) options |= kTsOptSack;
  if (o.ecn_ok) options |= kTsOptEcn;
  // Linux computes this on a 64-bit clock; on 32 bits "above ts_now" is the modular comparison.
  std::uint32_t ts = (ts_now >> kTsBits) << kTsBits;
  ts |= options;
  if (static_cast<std::int32_t>(ts - ts_now) > 0) ts -= 1u << kTsBits;
  return ts;
}

CookieTsOptions SynCookies::decode_timestamp(std::uint32_t tsecr) {
  CookieTsOptions o;
  o.sack_ok = (tsecr & kTsOptSack) != 0;
  o.ecn_ok = (tsecr & kTsOptEcn) != 0;
  if ((tsecr & kTsOptWscaleMask) != kTsOptWscaleMask) {
    o.wscale_ok = true;
    o.snd_wscale = static_cast<std::uint8_t>(tsecr & kTsOptWscaleMask);
  }
  return o;
}

}  // namespace synwave::tcp

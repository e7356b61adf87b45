// SYN cookies as Linux makes and checks them (net/ipv4/syncookies.c: cookie_v4_init_sequence,
// __cookie_v4_check, cookie_init_timestamp, cookie_timestamp_decode).
//
// A listener that keeps no half-open entry answers a SYN with a SYN-ACK whose ISN is a cookie:
//
//   cookie = H0(saddr, daddr, sport, dport, 0) + sseq + (count << 24)
//            + ((H1(saddr, daddr, sport, dport, count) + mss_index) mod 2^24)
//
// where (saddr, sport) is the peer, (daddr, dport) us, sseq the SYN's sequence number, count the
// minute counter (`counter()`, Linux's tcp_cookie_time(): time / 60 s) and H0, H1 the low 32 bits
// of SipHash-2-4 under two keys of 128 bits each (Linux: siphash_4u32 with syncookie_secret[0] and
// [1]), over the 16 bytes saddr | daddr | sport << 16 | dport | count, each a big-endian 32-bit
// word. The completing ACK carries cookie + 1 in its acknowledgment number and sseq + 1 in its
// sequence number; `check()` strips H0 and sseq, reads the counter back from the top 8 bits and
// accepts it when it is the current counter or the one before (Linux's MAX_SYNCOOKIE_AGE = 2:
// `diff >= 2` is refused, so a cookie lives between 60 and 120 s), then strips H1 and accepts the
// remainder only when it is a valid index into Linux's MSS table {536, 1300, 1440, 1460}.
//
// When the SYN carried timestamps, the SYN-ACK's TSval (before the connection's offset is added)
// carries in its low 6 bits what the ISN has no room for: the peer's window scale (0..14, or 0xf
// for "no window scaling"), SACK-permitted (bit 4) and ECN (bit 5; synwave negotiates no ECN, so
// never set). The ACK echoes it in TSecr. Without timestamps the connection gets neither window
// scaling nor SACK, as in Linux.
//
// The keys are derived from the stack's 128-bit secret (TcpStack::Params::isn_secret, a getrandom()
// draw per start in production) as SipHash(secret, "synwave-syncookie-key-N-half"), so cookies need
// no secret of their own and tests are deterministic.
//
// Thread-safety: immutable after construction; every member is const and pure. Cost: two SipHash
// runs over 16 bytes to make a cookie, two to check one; no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/addr.h"
#include "base/time.h"
#include "tcp/seq.h"
#include "tcp/siphash.h"

namespace synwave::tcp {

// The 4-tuple a cookie is bound to, named from the peer's side as Linux's cookie_hash() is.
struct CookieTuple {
  Ipv4Addr remote;             // saddr of the SYN
  Ipv4Addr local;              // daddr of the SYN
  std::uint16_t remote_port = 0;
  std::uint16_t local_port = 0;
};

// The options the SYN-ACK's timestamp carries (Linux's TS_OPT_* bits).
struct CookieTsOptions {
  bool wscale_ok = false;
  std::uint8_t snd_wscale = 0;  // the peer's shift, 0..14, when wscale_ok
  bool sack_ok = false;
  bool ecn_ok = false;
  friend constexpr bool operator==(const CookieTsOptions&, const CookieTsOptions&) = default;
};

class SynCookies {
 public:
  // Linux's msstab: the MSS a cookie can express.
  static constexpr std::array<std::uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};
  static constexpr Duration kPeriod = std::chrono::seconds(60);  // TCP_SYNCOOKIE_PERIOD
  static constexpr std::uint32_t kMaxAge = 2;                    // MAX_SYNCOOKIE_AGE
  static constexpr unsigned kCookieBits = 24;                    // COOKIEBITS
  static constexpr std::uint32_t kCookieMask = (1u << kCookieBits) - 1;
  static constexpr unsigned kTsBits = 6;                         // TSBITS
  static constexpr std::uint32_t kTsMask = (1u << kTsBits) - 1;
  static constexpr std::uint32_t kTsOptWscaleMask = 0xf;         // TS_OPT_WSCALE_MASK (0xf: none)
  static constexpr std::uint32_t kTsOptSack = 1u << 4;           // TS_OPT_SACK
  static constexpr std::uint32_t kTsOptEcn = 1u << 5;            // TS_OPT_ECN

  // `secret`: the stack's 128-bit secret (see above). Never fails.
  explicit SynCookies(const std::array<std::uint8_t, 16>& secret);

  // Linux's tcp_cookie_time(): whole periods of 60 s since the engine clock's epoch, modulo 2^32
  // (floor division, so negative instants count down).
  static std::uint32_t counter(Instant now);

  // The index into kMssTable for a peer MSS (the largest entry not above it; 0 below 1300), as
  // __cookie_v4_init_sequence chooses it.
  static std::uint8_t mss_index(std::uint16_t mss);

  // The cookie (our ISN) for a SYN with sequence number `syn_seq` on `tuple`, encoding
  // `mss_index` (< 4) and the counter `count`. Deterministic.
  Seq make(const CookieTuple& tuple, Seq syn_seq, std::uint8_t mss_index, std::uint32_t count) const;
  Seq make(const CookieTuple& tuple, Seq syn_seq, std::uint8_t mss_index, Instant now) const {
    return make(tuple, syn_seq, mss_index, counter(now));
  }

  // Linux check_tcp_syn_cookie + __cookie_v4_check: `cookie` is SEG.ACK - 1, `syn_seq` SEG.SEQ - 1
  // of the completing segment. Returns the MSS from kMssTable, or nullopt when the cookie is not
  // ours, is for another 4-tuple or SYN, or is older than the previous counter.
  std::optional<std::uint16_t> check(const CookieTuple& tuple, Seq cookie, Seq syn_seq, std::uint32_t count) const;
  std::optional<std::uint16_t> check(const CookieTuple& tuple, Seq cookie, Seq syn_seq, Instant now) const {
    return check(tuple, cookie, syn_seq, counter(now));
  }

  // Linux cookie_init_timestamp: the SYN-ACK's TSval (before the per-connection offset) for a
  // millisecond clock reading `ts_now`: its high bits, the options in the low 6 bits, and never
  // above `ts_now` (later timestamps of the connection use the plain clock).
  static std::uint32_t init_timestamp(std::uint32_t ts_now, const CookieTsOptions& options);

  // The options a TSecr (with the offset already removed) carries back (the bit layout only; the
  // sysctl checks of cookie_timestamp_decode are the caller's).
  static CookieTsOptions decode_timestamp(std::uint32_t tsecr);

 private:
  std::uint32_t hash(const CookieTuple& tuple, std::uint32_t count, int which) const;

  std::array<SipHashKey, 2> keys_;
};

}  // namespace synwave::tcp

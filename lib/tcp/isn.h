// Initial sequence numbers (RFC 6528) and per-connection timestamp offsets, as Linux makes them.
//
// RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is
// a clock and F a keyed pseudo-random function. We follow Linux (net/core/secure_seq.c,
// secure_tcp_seq() and seq_scale()):
//
//   F = the low 32 bits of SipHash-2-4(secret, local ip | remote ip | local port | remote port),
//       the 12-byte message in network byte order;
//   M = now_ns >> 6, i.e. a clock ticking every 64 ns, truncated to 32 bits.
//
// Why 64 ns and not RFC 793's 4 us: RFC 793's 250 kHz clock was sized for 2 Mb/s links; a faster
// clock keeps a new incarnation's ISN ahead of an old incarnation's sequence space at today's
// rates, while 64 ns still makes the 32-bit clock wrap only every 2^32 * 64 ns = ~275 s, more than
// one 2-minute MSL. `now` is the engine's Instant (nanoseconds since its epoch), not wall time: the
// secret must be fresh for every run anyway (an unpredictable 128-bit value, for example from
// getrandom()), so a clock restarting from zero reveals nothing.
//
// Timestamp offsets (Linux secure_tcp_ts_off()): ts_offset = the low 32 bits of
// SipHash-2-4(ts_key, local ip | remote ip), added to every TSval of the connection so that
// timestamps reveal neither the host's uptime nor a relation between peers (RFC 7323 section 7.1).
// Linux keeps a second random key for it; here ts_key is derived from the one secret as
// (SipHash(secret, "synwave-tcp-ts-key-0"), SipHash(secret, "synwave-tcp-ts-key-1")).
//
// Thread-safety: immutable after construction; every member is const and pure, so one generator
// may be shared by all threads (or each engine may hold a copy).
#pragma once

#include <array>
#include <cstdint>

#include "base/addr.h"
#include "base/time.h"
#include "tcp/seq.h"
#include "tcp/siphash.h"

namespace synwave::tcp {

class IsnGenerator {
 public:
  // Period of the clock part M: the ISN grows by exactly 1 per tick for a given 4-tuple.
  static constexpr Duration kClockTick = Duration(64);

  // `secret` must be unpredictable to peers (a CSPRNG draw per run); tests pass fixed values.
  explicit IsnGenerator(std::array<std::uint8_t, 16> secret);

  // The ISN for a connection from (local, local_port) to (remote, remote_port) opened at `now`.
  // Deterministic: equal arguments and secret give equal results. Never fails.
  Seq next(Ipv4Addr local, std::uint16_t local_port, Ipv4Addr remote, std::uint16_t remote_port,
           Instant now) const;

  // The offset to add to this host's TCP timestamps on connections between local and remote.
  // Independent of ports and time. Never fails.
  std::uint32_t ts_offset(Ipv4Addr local, Ipv4Addr remote) const;

 private:
  SipHashKey isn_key_;
  SipHashKey ts_key_;
};

}  // namespace synwave::tcp

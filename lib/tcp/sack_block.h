// A range of sequence numbers [start, end), as carried in a SACK option (RFC 2018 section 3) and
// kept by the receiver's reassembly queue and the sender's SACK scoreboard.
//
// The TCP-layer twin of wire::SackBlock (which holds raw host-order integers): here both edges are
// Seq, so comparisons wrap correctly at 2^32. Valid (non-empty) when start < end.
//
// Thread-safety: a plain value.
#pragma once

#include <cstdint>

#include "tcp/seq.h"

namespace synwave::tcp {

struct SackBlock {
  Seq start;  // first byte
  Seq end;    // one past the last byte

  // Bytes in the block (0 when end is not after start).
  constexpr std::uint32_t length() const {
    return start < end ? static_cast<std::uint32_t>(end - start) : 0;
  }
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) = default;
};

}  // namespace synwave::tcp

// Keys of the connection tables: a TCP connection's four-tuple and a listening socket's address.
#pragma once

#include <cstdint>
#include <type_traits>

#include "base/addr.h"

namespace synwave {

// The identity of one connection, seen from this host; every field in host byte order.
//
// The raw 12 bytes are the hash key, so the layout has no padding (asserted below): two tuples
// that compare equal always have equal bytes, with no uninitialised garbage between fields.
struct FourTuple {
  Ipv4Addr local;
  Ipv4Addr remote;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;

  friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};
static_assert(sizeof(FourTuple) == 12, "FourTuple is hashed as 12 raw bytes");
static_assert(std::has_unique_object_representations_v<FourTuple>,
              "FourTuple must have no padding bytes: its bytes are the hash key");

// A listening socket's local address: `addr` 0.0.0.0 means any address of this host.
struct ListenKey {
  Ipv4Addr addr;
  std::uint16_t port = 0;

  friend constexpr bool operator==(const ListenKey&, const ListenKey&) = default;
  constexpr bool is_wildcard() const { return addr.value == 0; }
};

// The outcome of a table update; the data path's error convention (no Status, no exceptions).
enum class TableResult : std::uint8_t {
  kOk,
  kExists,    // insert: the key is already present (its value is left unchanged)
  kFull,      // insert: no free entry
  kNotFound,  // erase: the key is not present
  kInvalid,   // a null value, or an internal error of the underlying table
};

}  // namespace synwave

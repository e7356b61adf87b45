// Whether a flood may be aimed at a destination: the one check every flood tool runs before its
// EAL starts, so a refused flood sends nothing.
#pragma once

#include "absl/status/status.h"
#include "base/addr.h"
#include "config/config.h"

namespace synwave::flood {

// OK when `target` lies in the config's [flood] allowed_destinations, is neither the first
// port's own address nor its subnet's broadcast, and has a next hop (on the port's subnet, or a
// gateway, or `have_dst_mac`). Otherwise an error whose message says why and that nothing was sent.
absl::Status check_flood_target(const Config& config, Ipv4Addr target, bool have_dst_mac);

}  // namespace synwave::flood

#include "flood/flood_target.h"

#include <string>

namespace synwave::flood {
namespace {

std::string join_prefixes(const std::vector<Ipv4Prefix>& prefixes) {
  std::string out;
  for (const auto& p : prefixes) out += (out.empty() ? "" : ", ") + format_ipv4_prefix(p);
  return out;
}

}  // namespace

absl::Status check_flood_target(const Config& config, Ipv4Addr target, bool have_dst_mac) {
  bool permitted = false;
  for (const auto& prefix : config.flood.allowed_destinations) permitted = permitted || prefix.contains(target);
  if (!permitted) {
    return absl::PermissionDeniedError("refused: " + format_ipv4(target) + " is outside the allowed destinations (" +
                                       join_prefixes(config.flood.allowed_destinations) +
                                       "; [flood] allowed_destinations in " + config.source + "); nothing was sent");
  }
  const PortConfig& own = config.ports.front();
  if (target == own.ipv4 || (own.prefix_len <= 30 && same_subnet(target, own.ipv4, own.prefix_len) &&
                             (target.value | netmask(own.prefix_len)) == 0xffffffffu)) {
    return absl::PermissionDeniedError("refused: " + format_ipv4(target) +
                                       " is this port's own or broadcast address; nothing was sent");
  }
  if (!have_dst_mac && !own.gateway && !same_subnet(target, own.ipv4, own.prefix_len)) {
    return absl::FailedPreconditionError(format_ipv4(target) + " is not on " + format_ipv4(own.ipv4) + "/" +
                                         std::to_string(own.prefix_len) +
                                         " and [port.0] has no gateway: no next hop (set one, or --dst-mac)");
  }
  return absl::OkStatus();
}

}  // namespace synwave::flood

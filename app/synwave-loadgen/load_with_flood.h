// The application synwave-loadgen runs when --flood-rate is given: the load generator and the
// flood side-load on one engine, the flood's clock starting when the load begins.
#pragma once

#include "engine/application.h"
#include "flood_side_load.h"
#include "load_generator.h"

namespace synwave::loadgen {

class LoadWithFlood : public Application {
 public:
  LoadWithFlood(LoadGenerator& load, FloodSideLoad& flood) : load_(load), flood_(flood) {}

  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override { load_.start(tcp, now); }
  void poll(Instant now) override {
    load_.poll(now);
    if (load_.started()) flood_.poll(now, load_.started_at());
  }
  void stop() override {
    flood_.stop();
    load_.stop();
  }

 private:
  LoadGenerator& load_;
  FloodSideLoad& flood_;
};

}  // namespace synwave::loadgen

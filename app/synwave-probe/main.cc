// synwave-probe: drives synwave's socket API on a real engine from line commands, and reports
// what happens as line events. Integration tests use it to play one end of a TCP conversation
// against the Linux kernel; it is also a handy tool for poking at a running stack by hand.
//
//   commands (stdin)                       events (stdout)
//   listen PORT [BACKLOG] [reuse]          listening S | error listen ERRNO
//   connect IP PORT [LOCAL_PORT]           connecting S | connected S LOCAL_PORT | error S ERRNO
//   send S TEXT                            sent S N | error S ERRNO
//   shutdown S rd|wr|both                  shutdown S | error S ERRNO
//   close S                                closed S | error S ERRNO
//   abort S                                (SO_LINGER 0, then close) closed S
//   state S                                state S NAME
//   echo on|off                            (echo what accepted sockets receive)
//   autoclose on|off                       (close a socket once its peer's FIN is read)
//   quit                                   (stop the daemon)
//   --                                     accepted L S IP:PORT, recv S TEXT, eof S
#include <getopt.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ctl/telemetry.h"
#include "engine/application.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"

namespace {

std::string errno_name(int e) {
  const char* name = strerrorname_np(e < 0 ? -e : e);
  return name ? name : std::to_string(e);
}

// Commands arrive on a reader thread and are handed to the engine thread through this queue;
// the engine checks an atomic flag first, so an idle queue costs one load per iteration.
class CommandQueue {
 public:
  void push(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
    pending_.store(true, std::memory_order_release);
  }
  bool pop(std::string& line) {
    if (!pending_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mutex_);
    if (lines_.empty()) {
      pending_.store(false, std::memory_order_relaxed);
      return false;
    }
    line = std::move(lines_.front());
    lines_.pop_front();
    if (lines_.empty()) pending_.store(false, std::memory_order_relaxed);
    return true;
  }

 private:
  std::mutex mutex_;
  std::deque<std::string> lines_;
  std::atomic<bool> pending_{false};
};

class Probe : public synwave::Application {
 public:
  explicit Probe(CommandQueue& commands) : commands_(commands) {}

  void start(std::span<synwave::tcp::TcpStack* const> tcp, synwave::Instant) override { tcp_ = tcp.front(); }

  void poll(synwave::Instant) override {
    std::string line;
    while (commands_.pop(line)) run(line);
    int ready[64];
    for (std::size_t n; (n = tcp_->take_ready(ready)) > 0;)
      for (std::size_t i = 0; i < n; ++i) on_ready(ready[i]);
  }

 private:
  using Tcp = synwave::tcp::TcpStack;

  static void emit(const std::string& event) {
    std::fputs((event + "\n").c_str(), stdout);
    std::fflush(stdout);
  }

  void on_ready(int s) {
    const std::uint32_t r = tcp_->readiness(s);
    if (listeners_.count(s)) {
      synwave::tcp::Endpoint peer;
      for (int c; (c = tcp_->accept(s, &peer)) >= 0;) {
        emit("accepted " + std::to_string(s) + " " + std::to_string(c) + " " + synwave::format_ipv4(peer.addr) +
             ":" + std::to_string(peer.port));
        on_ready(c);
      }
      return;
    }
    if ((r & synwave::tcp::kConnected) && connecting_.erase(s)) {
      emit("connected " + std::to_string(s) + " " + std::to_string(tcp_->local_endpoint(s)->port));
    }
    if (r & synwave::tcp::kError) {
      int error = 0;
      tcp_->getsockopt(s, synwave::tcp::SockOpt::kError, &error);
      if (error != 0) {
        connecting_.erase(s);
        emit("error " + std::to_string(s) + " " + errno_name(error));
      }
    }
    if (r & synwave::tcp::kReadable) drain(s);
  }

  void drain(int s) {
    std::uint8_t buf[2048];
    for (;;) {
      const long n = tcp_->recv(s, buf);
      if (n > 0) {
        std::string text(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
        emit("recv " + std::to_string(s) + " " + text);
        if (echo_) tcp_->send(s, std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n == 0 && !eof_reported_.count(s)) {
        eof_reported_.insert({s, true});
        emit("eof " + std::to_string(s));
        if (autoclose_) {
          tcp_->close(s);
          emit("closed " + std::to_string(s));
        }
      } else if (n < 0 && n != -EAGAIN && n != -EBADF) {
        emit("error " + std::to_string(s) + " " + errno_name(static_cast<int>(n)));
      }
      return;
    }
  }

  void run(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "listen") {
      int port = 0, backlog = 128;
      std::string reuse;
      in >> port >> backlog >> reuse;
      const int s = tcp_->socket();
      if (reuse == "reuse") tcp_->setsockopt(s, synwave::tcp::SockOpt::kReuseAddr, 1);
      int r = tcp_->bind(s, {synwave::Ipv4Addr{0}, static_cast<std::uint16_t>(port)});
      if (r == 0) r = tcp_->listen(s, backlog);
      if (r < 0) {
        tcp_->close(s);
        return emit("error listen " + errno_name(r));
      }
      listeners_.insert({s, true});
      emit("listening " + std::to_string(s));
    } else if (cmd == "connect") {
      std::string ip;
      int port = 0, local_port = 0;
      in >> ip >> port >> local_port;
      auto addr = synwave::parse_ipv4(ip);
      if (!addr) return emit("error connect EINVAL");
      const int s = tcp_->socket();
      if (local_port != 0) tcp_->bind(s, {synwave::Ipv4Addr{0}, static_cast<std::uint16_t>(local_port)});
      const int r = tcp_->connect(s, {*addr, static_cast<std::uint16_t>(port)});
      if (r != -EINPROGRESS) {
        tcp_->close(s);
        return emit("error connect " + errno_name(r));
      }
      connecting_.insert({s, true});
      emit("connecting " + std::to_string(s));
    } else if (cmd == "send") {
      int s = -1;
      in >> s;
      std::string text;
      std::getline(in >> std::ws, text);
      const long n = tcp_->send(s, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
      emit(n >= 0 ? "sent " + std::to_string(s) + " " + std::to_string(n)
                  : "error " + std::to_string(s) + " " + errno_name(static_cast<int>(n)));
    } else if (cmd == "shutdown") {
      int s = -1;
      std::string how;
      in >> s >> how;
      const auto h = how == "rd" ? synwave::tcp::Shutdown::kRead
                     : how == "wr" ? synwave::tcp::Shutdown::kWrite : synwave::tcp::Shutdown::kBoth;
      const int r = tcp_->shutdown(s, h);
      emit(r == 0 ? "shutdown " + std::to_string(s) : "error " + std::to_string(s) + " " + errno_name(r));
    } else if (cmd == "close" || cmd == "abort") {
      int s = -1;
      in >> s;
      if (cmd == "abort") tcp_->setsockopt(s, synwave::tcp::SockOpt::kLinger, 0);
      const int r = tcp_->close(s);
      listeners_.erase(s);
      emit(r == 0 ? "closed " + std::to_string(s) : "error " + std::to_string(s) + " " + errno_name(r));
    } else if (cmd == "state") {
      int s = -1;
      in >> s;
      auto st = tcp_->state(s);
      emit("state " + std::to_string(s) + " " + (st ? std::string(synwave::tcp::rfc_name(*st)) : "NONE"));
    } else if (cmd == "echo") {
      std::string v;
      in >> v;
      echo_ = v == "on";
      emit("echo " + v);
    } else if (cmd == "autoclose") {
      std::string v;
      in >> v;
      autoclose_ = v == "on";
      emit("autoclose " + v);
    } else if (cmd == "quit") {
      synwave::request_stop();
    } else if (!cmd.empty()) {
      emit("error unknown-command " + cmd);
    }
  }

  CommandQueue& commands_;
  Tcp* tcp_ = nullptr;
  std::map<int, bool> listeners_, connecting_, eof_reported_;
  bool echo_ = false;
  bool autoclose_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  for (int opt; (opt = getopt_long(argc, argv, "c:h", kOptions, nullptr)) != -1;) {
    if (opt == 'c') {
      config_path = optarg;
    } else {
      std::fputs("Usage: synwave-probe --config FILE   (commands on stdin; see the source's header)\n",
                 opt == 'h' ? stdout : stderr);
      return opt == 'h' ? 0 : 2;
    }
  }
  if (config_path.empty()) {
    std::fputs("synwave-probe: --config FILE is required\n", stderr);
    return 2;
  }
  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-probe: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-probe: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  CommandQueue commands;
  Probe probe(commands);
  stack.engines().front()->set_application(&probe);
  synwave::publish_telemetry(&stack);

  // stdin is read on its own thread; end of input stops the probe.
  std::thread reader([&commands] {
    for (std::string line; std::getline(std::cin, line);) commands.push(line);
    commands.push("quit");
  });
  reader.detach();

  std::printf("ready %s\n", synwave::format_mac(stack.ports().front().mac).c_str());
  std::fflush(stdout);
  stack.run(stop);
  synwave::withdraw_telemetry();
  int status = 0;
  for (const synwave::PoolReport& pool : stack.shutdown()) {
    if (pool.in_use != 0) {
      std::printf("leak %s %u\n", pool.name.c_str(), pool.in_use);
      status = 3;
    }
  }
  std::printf("stopped\n");
  std::fflush(stdout);
  std::_Exit(status);  // the reader thread may still block on stdin
}

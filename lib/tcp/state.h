// TCP connection states (RFC 9293 section 3.3.2) and the questions the code asks about them.
//
// Code asks named questions (can_send_data(), fin_received()) instead of comparing enum order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synwave::tcp {

enum class State : std::uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kClosing,
  kTimeWait,
  kCloseWait,
  kLastAck,
  kCount
};

inline constexpr std::size_t kStateCount = static_cast<std::size_t>(State::kCount);

// The names netstat prints (and seed 000's one-liner counts), e.g. "ESTABLISHED", "TIME_WAIT".
inline constexpr std::array<std::string_view, kStateCount> kNetstatNames = {
    "CLOSE",     "LISTEN",  "SYN_SENT",  "SYN_RECV",   "ESTABLISHED", "FIN_WAIT1",
    "FIN_WAIT2", "CLOSING", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK"};
// The names `ss -tan` prints, e.g. "ESTAB", "TIME-WAIT".
inline constexpr std::array<std::string_view, kStateCount> kSsNames = {
    "UNCONN",     "LISTEN",  "SYN-SENT",  "SYN-RECV",   "ESTAB",   "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSING", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK"};
// RFC 9293's names, for logs and test messages.
inline constexpr std::array<std::string_view, kStateCount> kRfcNames = {
    "CLOSED",     "LISTEN",  "SYN_SENT",  "SYN_RCVD",   "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK"};

constexpr std::string_view netstat_name(State s) {
  return kNetstatNames[static_cast<std::size_t>(s)];
}
constexpr std::string_view ss_name(State s) {
  return kSsNames[static_cast<std::size_t>(s)];
}
constexpr std::string_view rfc_name(State s) {
  return kRfcNames[static_cast<std::size_t>(s)];
}

// The handshake is over: the connection has been ESTABLISHED at some point.
constexpr bool is_synchronized(State s) {
  switch (s) {
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kClosing:
    case State::kTimeWait:
    case State::kCloseWait:
    case State::kLastAck:
      return true;
    default:
      return false;
  }
}

// The application may still queue data: our FIN has not been queued.
constexpr bool can_send_data(State s) {
  return s == State::kEstablished || s == State::kCloseWait;
}

// The peer may still send data: its FIN has not arrived.
constexpr bool can_receive_data(State s) {
  return s == State::kEstablished || s == State::kFinWait1 || s == State::kFinWait2;
}

// The peer's FIN has been received (so a read past the queued data returns end of stream).
constexpr bool fin_received(State s) {
  return s == State::kCloseWait || s == State::kLastAck || s == State::kClosing ||
         s == State::kTimeWait;
}

// Our FIN has been queued or sent.
constexpr bool fin_queued(State s) {
  return s == State::kFinWait1 || s == State::kFinWait2 || s == State::kClosing ||
         s == State::kTimeWait || s == State::kLastAck;
}

}  // namespace synwave::tcp

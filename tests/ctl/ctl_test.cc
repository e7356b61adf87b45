#include "ctl/ctl_format.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace synwave::ctl {
namespace {

Json parse(std::string_view text) {
  std::string error;
  std::optional<Json> j = parse_json(text, &error);
  EXPECT_TRUE(j.has_value()) << text << ": " << error;
  return j.value_or(Json{});
}

TEST(ParseJson, ReadsTheTelemetryGreeting) {
  const Json j = parse(R"({"version":"DPDK 22.11.11","pid":4242,"max_output_len":16384})");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j.members.size(), 3u);
  EXPECT_EQ(j.find("version")->text, "DPDK 22.11.11");
  EXPECT_EQ(j.find("pid")->as_int(), 4242);
  EXPECT_EQ(j.find("max_output_len")->as_uint(), 16384u);
  EXPECT_EQ(j.find("absent"), nullptr);
}

TEST(ParseJson, KeepsMemberOrderAndNesting) {
  const Json j = parse(R"( { "b" : [1, -2, 3.5, true, false, null, "x"], "a": {"c": {}} } )");
  ASSERT_EQ(j.members.size(), 2u);
  EXPECT_EQ(j.members[0].first, "b");
  EXPECT_EQ(j.members[1].first, "a");
  const Json& b = *j.find("b");
  ASSERT_EQ(b.items.size(), 7u);
  EXPECT_EQ(b.items[0].as_uint(), 1u);
  EXPECT_EQ(b.items[1].as_int(), -2);
  EXPECT_FALSE(b.items[1].as_uint().has_value());
  EXPECT_FALSE(b.items[2].as_int().has_value());  // not an integer
  EXPECT_EQ(b.items[2].text, "3.5");
  EXPECT_TRUE(b.items[3].boolean);
  EXPECT_EQ(b.items[4].kind, Json::Kind::kBool);
  EXPECT_TRUE(b.items[5].is_null());
  EXPECT_EQ(b.items[6].text, "x");
  EXPECT_TRUE(j.find("a")->find("c")->is_object());
}

TEST(ParseJson, DecodesEscapes) {
  const Json j = parse(R"(["a\"b\\c\/d\n\t", "\u00e9\u20ac", "\ud83d\ude00"])");
  EXPECT_EQ(j.items[0].text, "a\"b\\c/d\n\t");
  EXPECT_EQ(j.items[1].text, "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(j.items[2].text, "\xf0\x9f\x98\x80");
}

TEST(ParseJson, HandlesLargeCounters) {
  const Json j = parse(R"({"n":18446744073709551615,"over":18446744073709551616})");
  EXPECT_EQ(j.find("n")->as_uint(), 18446744073709551615u);
  EXPECT_FALSE(j.find("n")->as_int().has_value());
  EXPECT_FALSE(j.find("over")->as_uint().has_value());
}

TEST(ParseJson, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "01", "-", "1.", "1e",
                          "\"abc", "\"\\x\"", "\"\\ud800\"", "tru", "{} x", "{'a':1}", "\"a\nb\"",
                          "{\"a\":1,}"}) {
    std::string error;
    EXPECT_FALSE(parse_json(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(ParseJson, BoundsNesting) {
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  std::string error;
  EXPECT_FALSE(parse_json(deep, &error).has_value());
  EXPECT_NE(error.find("deep"), std::string::npos) << error;
}

TEST(TelemetryValue, UnwrapsTheCommand) {
  const Json answer = parse(R"({"/synwave/tcp/states":{"LISTEN":1}})");
  ASSERT_NE(telemetry_value(answer, "/synwave/tcp/states"), nullptr);
  EXPECT_EQ(telemetry_value(answer, "/synwave/tcp/states")->find("LISTEN")->as_uint(), 1u);
  EXPECT_EQ(telemetry_value(answer, "/synwave/counters"), nullptr);
  EXPECT_TRUE(telemetry_value(parse(R"({"/synwave/x":null})"), "/synwave/x")->is_null());
}

TEST(RuntimeDir, FollowsDpdkTelemetryPy) {
  EXPECT_EQ(runtime_dir("synwave", true, nullptr, "/run/user/1000"), "/var/run/dpdk/synwave");
  EXPECT_EQ(runtime_dir("sw-x", false, nullptr, "/run/user/1000"), "/run/user/1000/dpdk/sw-x");
  EXPECT_EQ(runtime_dir("sw-x", false, nullptr, nullptr), "/var/run/dpdk/sw-x");
  EXPECT_EQ(runtime_dir("p", true, "/run", nullptr), "/run/dpdk/p");
}

TEST(FormatStates, PrintsNonEmptyStatesSortedLikeSeed000) {
  const Json states = parse(
      R"({"LISTEN":1,"SYN_SENT":0,"SYN_RECV":0,"ESTABLISHED":245,"FIN_WAIT1":0,"FIN_WAIT2":0,)"
      R"("CLOSING":0,"TIME_WAIT":3,"CLOSE_WAIT":134,"LAST_ACK":0})");
  EXPECT_EQ(format_states(states), "CLOSE_WAIT 134\nESTABLISHED 245\nLISTEN 1\nTIME_WAIT 3\n");
  EXPECT_EQ(format_states(parse(R"({"LISTEN":0})")), "");
  EXPECT_FALSE(format_states(parse(R"({"LISTEN":"x"})")).has_value());
  EXPECT_FALSE(format_states(parse("[1]")).has_value());
}

TEST(FormatTransitions, UsesArrowsAndSkipsZeros) {
  const Json t = parse(R"({"CLOSED/LISTEN":1,"SYN_RCVD/ESTABLISHED":3,"ESTABLISHED/CLOSE_WAIT":3,"CLOSED/SYN_SENT":0})");
  EXPECT_EQ(format_transitions(t),
            "CLOSED->LISTEN 1\nESTABLISHED->CLOSE_WAIT 3\nSYN_RCVD->ESTABLISHED 3\n");
}

TEST(FormatCounters, NonZeroUnlessAll) {
  const Json c = parse(R"({"rx_frames":12,"drop_tcp_no_socket":0,"tcp_segments_in":9})");
  EXPECT_EQ(format_counters(c, false), "rx_frames 12\ntcp_segments_in 9\n");
  EXPECT_EQ(format_counters(c, true), "rx_frames 12\ndrop_tcp_no_socket 0\ntcp_segments_in 9\n");
  EXPECT_FALSE(format_counters(parse(R"({"a":-1})"), true).has_value());
}

TEST(SsDuration, MatchesSsPrintMsTimer) {
  EXPECT_EQ(ss_duration(200), "200ms");
  EXPECT_EQ(ss_duration(5), "005ms");
  EXPECT_EQ(ss_duration(1500), "1.500ms");
  EXPECT_EQ(ss_duration(9999), "9.999ms");
  EXPECT_EQ(ss_duration(10500), "10sec");
  EXPECT_EQ(ss_duration(59000), "59sec");
  EXPECT_EQ(ss_duration(60000), "1min");
  EXPECT_EQ(ss_duration(123456), "2min3sec");
  EXPECT_EQ(ss_duration(7'200'000), "120min");
  EXPECT_EQ(ss_duration(0), "0ms");
  EXPECT_EQ(ss_duration(-3), "0ms");
}

TEST(ConnectionsPage, ParsesAPageAndFormatsRowsLikeSs) {
  const Json value = parse(
      R"({"total":3,"offset":0,"next":2,)"
      R"("0":{"state":"LISTEN","local":"0.0.0.0:8080","remote":"0.0.0.0:0","recv_q":0,"send_q":128,)"
      R"("timer":"off","expires_ms":0,"retransmits":0,"engine":0},)"
      R"("1":{"state":"SYN-SENT","local":"198.18.0.2:40000","remote":"198.18.0.1:9","recv_q":0,"send_q":0,)"
      R"("timer":"on","expires_ms":200,"retransmits":1,"engine":1}})");
  std::string error;
  const auto page = parse_connections_page(value, &error);
  ASSERT_TRUE(page.has_value()) << error;
  EXPECT_EQ(page->total, 3u);
  EXPECT_EQ(page->next, 2u);
  ASSERT_EQ(page->connections.size(), 2u);
  EXPECT_EQ(page->connections[1].engine, 1u);

  EXPECT_EQ(connections_header(), "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Timer");
  EXPECT_EQ(format_connection(page->connections[0]),
            "LISTEN     0      128    0.0.0.0:8080        0.0.0.0:*");
  EXPECT_EQ(format_connection(page->connections[1]),
            "SYN-SENT   0      0      198.18.0.2:40000    198.18.0.1:9      timer:(on,200ms,1)");
  Connection tw{.state = "TIME-WAIT", .local = "198.18.0.2:8080", .remote = "198.18.0.1:51234",
                .timer = "timewait", .expires_ms = 59'400};
  EXPECT_EQ(format_connection(tw),
            "TIME-WAIT  0      0      198.18.0.2:8080     198.18.0.1:51234  timer:(timewait,59sec,0)");
  // Columns line up with the header.
  EXPECT_EQ(format_connection(tw).find("198.18.0.2"), connections_header().find("Local"));
  EXPECT_EQ(format_connection(tw).find("198.18.0.1"), connections_header().find("Peer"));
  EXPECT_EQ(format_connection(tw).find("timer"), connections_header().find("Timer"));
}

TEST(ConnectionsPage, RejectsIncompleteAnswers) {
  EXPECT_FALSE(parse_connections_page(parse(R"({"next":0})")).has_value());
  EXPECT_FALSE(parse_connections_page(parse(R"({"total":1,"next":1,"0":{"state":"ESTAB"}})")).has_value());
  EXPECT_FALSE(parse_connections_page(parse(R"({"total":1,"next":1,"0":7})")).has_value());
  const auto empty = parse_connections_page(parse(R"({"total":0,"offset":0,"next":0})"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->connections.empty());
}

// An established connection's entry as the daemon writes it, ss -i fields included.
constexpr const char* kEstablishedPage =
    R"({"total":1,"offset":0,"next":1,)"
    R"("0":{"state":"ESTAB","local":"198.18.0.2:8080","remote":"198.18.0.1:51756","recv_q":0,)"
    R"("send_q":14480,"timer":"on","expires_ms":204,"retransmits":0,"engine":0,)"
    R"("srtt_us":31,"rttvar_us":15,"rto_ms":204,"mss":1448,"cwnd":10,"ssthresh":7,)"
    R"("total_retransmits":5,"congestion":"cubic","snd_wscale":7,"rcv_wscale":7,"sack":1,)"
    R"("timestamps":1}})";

TEST(ConnectionsPage, ParsesTheSsInfoFields) {
  std::string error;
  const auto page = parse_connections_page(parse(kEstablishedPage), &error);
  ASSERT_TRUE(page.has_value()) << error;
  ASSERT_EQ(page->connections.size(), 1u);
  const Connection& c = page->connections[0];
  ASSERT_TRUE(c.info.has_value());
  EXPECT_TRUE(c.info->timestamps);
  EXPECT_TRUE(c.info->sack);
  EXPECT_EQ(c.info->congestion, "cubic");
  EXPECT_EQ(c.info->snd_wscale, 7u);
  EXPECT_EQ(c.info->rcv_wscale, 7u);
  EXPECT_EQ(c.info->rto_ms, 204u);
  EXPECT_EQ(c.info->srtt_us, 31u);
  EXPECT_EQ(c.info->rttvar_us, 15u);
  EXPECT_EQ(c.info->mss, 1448u);
  EXPECT_EQ(c.info->cwnd, 10u);
  EXPECT_EQ(c.info->ssthresh, 7u);
  EXPECT_EQ(c.info->total_retransmits, 5u);
  // The first line is ss -tan -o's, unchanged by the extra fields.
  EXPECT_EQ(format_connection(c),
            "ESTAB      0      14480  198.18.0.2:8080     198.18.0.1:51756  timer:(on,204ms,0)");
  EXPECT_EQ(format_tcp_info(c),
            "\t ts sack cubic wscale:7,7 rto:204 rtt:0.031/0.015 mss:1448 cwnd:10 ssthresh:7 retrans:0/5");
}

TEST(ConnectionsPage, InfoFieldsAreAllOrNothing) {
  // None: an older daemon; the connection has no info and conns still lists it.
  const auto old = parse_connections_page(parse(
      R"({"total":1,"next":1,"0":{"state":"ESTAB","local":"1.2.3.4:1","remote":"1.2.3.5:2","recv_q":0,)"
      R"("send_q":0,"timer":"off","expires_ms":0,"retransmits":0,"engine":0}})"));
  ASSERT_TRUE(old.has_value());
  EXPECT_FALSE(old->connections[0].info.has_value());
  EXPECT_EQ(format_tcp_info(old->connections[0]), "\t");

  // Some but not all, or of the wrong kind: the answer is malformed.
  auto without = [](const std::string& member) {
    std::string text = kEstablishedPage;
    const std::size_t at = text.find("\"" + member + "\":");
    const std::size_t end = text.find_first_of(",}", at);
    text.erase(at, end - at + (text[end] == ',' ? 1 : 0));
    if (text[at - 1] == ',' && text[at] == '}') text.erase(at - 1, 1);
    return text;
  };
  for (const char* member : {"srtt_us", "rttvar_us", "rto_ms", "mss", "cwnd", "ssthresh",
                             "total_retransmits", "congestion", "snd_wscale", "rcv_wscale", "sack",
                             "timestamps"}) {
    std::string error;
    EXPECT_FALSE(parse_connections_page(parse(without(member)), &error).has_value()) << member;
    EXPECT_NE(error.find(member), std::string::npos) << error;
  }
  std::string text = kEstablishedPage;
  text.replace(text.find("\"sack\":1"), 8, "\"sack\":2");
  EXPECT_FALSE(parse_connections_page(parse(text)).has_value());
  text = kEstablishedPage;
  text.replace(text.find("\"cwnd\":10"), 9, "\"cwnd\":-1");
  EXPECT_FALSE(parse_connections_page(parse(text)).has_value());
  text = kEstablishedPage;
  text.replace(text.find("\"cubic\""), 7, "7");
  EXPECT_FALSE(parse_connections_page(parse(text)).has_value());
}

Connection with_info(TcpInfo info, std::uint64_t retransmits = 0) {
  return Connection{.state = "ESTAB", .local = "198.18.0.2:8080", .remote = "198.18.0.1:1",
                    .timer = "off", .retransmits = retransmits, .info = std::move(info)};
}

TEST(FormatTcpInfo, FollowsSsTcpStatsPrint) {
  // A fresh connection: no RTT sample, no ssthresh, no retransmission, no options.
  EXPECT_EQ(format_tcp_info(with_info({.congestion = "cubic", .rto_ms = 1000, .mss = 1448, .cwnd = 10})),
            "\t cubic rto:1000 mss:1448 cwnd:10");
  // Options come first, in ss's order: ts, sack, the algorithm, wscale.
  EXPECT_EQ(format_tcp_info(with_info({.timestamps = true, .congestion = "reno", .snd_wscale = 9,
                                       .rcv_wscale = 7})),
            "\t ts reno wscale:9,7");
  EXPECT_EQ(format_tcp_info(with_info({.sack = true})), "\t sack");
  // Scaling one way only still shows; 0,0 cannot be told from no scaling and is left out.
  EXPECT_EQ(format_tcp_info(with_info({.snd_wscale = 0, .rcv_wscale = 7})), "\t wscale:0,7");
  EXPECT_EQ(format_tcp_info(with_info({})), "\t");
  // rtt:%g/%g in ms: three decimals for microseconds, six significant digits, no trailing zeros.
  EXPECT_EQ(format_tcp_info(with_info({.srtt_us = 31, .rttvar_us = 15})), "\t rtt:0.031/0.015");
  EXPECT_EQ(format_tcp_info(with_info({.srtt_us = 12'345, .rttvar_us = 500})), "\t rtt:12.345/0.5");
  EXPECT_EQ(format_tcp_info(with_info({.srtt_us = 200'000, .rttvar_us = 0})), "\t rtt:200/0");
  EXPECT_EQ(format_tcp_info(with_info({.srtt_us = 1'234'567, .rttvar_us = 1})), "\t rtt:1234.57/0.001");
  // ss hides an RTO of exactly 3 s, and an unset (or infinite) ssthresh.
  EXPECT_EQ(format_tcp_info(with_info({.rto_ms = 3000})), "\t");
  EXPECT_EQ(format_tcp_info(with_info({.rto_ms = 120'000})), "\t rto:120000");
  EXPECT_EQ(format_tcp_info(with_info({.cwnd = 1, .ssthresh = 0})), "\t cwnd:1");
  EXPECT_EQ(format_tcp_info(with_info({.ssthresh = 0xFFFF})), "\t");
  EXPECT_EQ(format_tcp_info(with_info({.ssthresh = 2})), "\t ssthresh:2");
  // retrans:current/total, shown when either is non-zero.
  EXPECT_EQ(format_tcp_info(with_info({.total_retransmits = 3})), "\t retrans:0/3");
  EXPECT_EQ(format_tcp_info(with_info({.total_retransmits = 3}, 2)), "\t retrans:2/3");
  EXPECT_EQ(format_tcp_info(with_info({}, 1)), "\t retrans:1/0");
}

// --- the shim's applications ----------------------------------------------------------------

TEST(ConnectionsPage, OwnerPrintedLikeSsP) {
  const auto page = parse_connections_page(parse(
      R"({"total":1,"offset":0,"next":1,"0":{"state":"ESTAB","local":"198.18.0.2:80","remote":"198.18.0.1:40000",)"
      R"("recv_q":0,"send_q":0,"timer":"off","expires_ms":0,"retransmits":0,"engine":0,"app":3,"app_pid":4242}})"));
  ASSERT_TRUE(page.has_value());
  Connection c = page->connections[0];
  EXPECT_EQ(c.app, 3u);
  EXPECT_EQ(c.app_pid, 4242);
  c.app_name = "synwave-httpd";
  EXPECT_EQ(format_connection(c),
            "ESTAB      0      0      198.18.0.2:80       198.18.0.1:40000 users:((\"synwave-httpd\",pid=4242,app=3))");
}

TEST(FormatApps, OneLinePerApplicationThenTotals) {
  const Json apps = parse(
      R"({"attached_total":3,"refused_total":1,"detached_total":2,"faults_total":0,)"
      R"("app3":{"pid":4242,"uid":0,"gid":0,"name":"synwave-httpd","phase":"live","max_sockets":4096,)"
      R"("region_bytes":539492352,"sockets":2,"requests":10,"bad_requests":0,"events":7,"event_overflows":0,)"
      R"("wakeups":5,"accepted":1,"bytes_in":74,"bytes_out":183,"resets_on_exit":0,"closed_on_exit":0,"faulted":0}})");
  const auto text = format_apps(apps);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text,
            "APP  PID      UID    NAME             STATE  SOCKETS  ACCEPTED  BYTES-IN    BYTES-OUT   REQUESTS  BAD  "
            "OVERFLOWS  WAKEUPS  EXIT-RST  EXIT-FIN\n"
            "3    4242     0      synwave-httpd    live   2        1         74          183         10        0    "
            "0          5        0         0\n"
            "attached 3 refused 1 detached 2 faults 0\n");
  const auto names = app_names(apps);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].first, 3u);
  EXPECT_EQ(names[0].second, "synwave-httpd");
  EXPECT_FALSE(format_apps(parse(R"({"app1":{"pid":1}})")).has_value());  // fields missing
  EXPECT_FALSE(format_apps(parse("[]")).has_value());
}

// --- neighbours and engines ------------------------------------------------------------------

TEST(FormatNeigh, OneLinePerNeighbourWithItsEnginesLikeIpNeigh) {
  // Two engines that agree on 198.18.0.1, rows in no particular order; sorted by port, then
  // address as a number (198.18.0.10 after 198.18.0.9), not as text.
  const Json neigh = parse(
      R"([{"engine":1,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":1234},)"
      R"({"engine":0,"port":1,"ip":"10.0.0.1","mac":"02:00:00:00:01:01","state":"STALE","remaining_ms":-5},)"
      R"({"engine":0,"port":0,"ip":"198.18.0.10","mac":"02:00:00:00:00:0a","state":"REACHABLE","remaining_ms":10},)"
      R"({"engine":0,"port":0,"ip":"198.18.0.9","mac":"00:00:00:00:00:00","state":"INCOMPLETE","remaining_ms":700},)"
      R"({"engine":0,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":1200}])");
  EXPECT_EQ(format_neigh(neigh),
            "198.18.0.1 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0,1\n"
            "198.18.0.9 dev port0 INCOMPLETE engines 0\n"
            "198.18.0.10 dev port0 lladdr 02:00:00:00:00:0a REACHABLE engines 0\n"
            "10.0.0.1 dev port1 lladdr 02:00:00:00:01:01 STALE engines 0\n");
  EXPECT_EQ(format_neigh(parse("[]")), "");
  // Rows as the daemon publishes them, in an object keyed "e<engine>_<n>": the same lines.
  EXPECT_EQ(format_neigh(parse(
                R"({"e1_0":{"engine":1,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":1},)"
                R"("e0_0":{"engine":0,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":1}})")),
            "198.18.0.1 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0,1\n");
  EXPECT_EQ(format_neigh(parse("{}")), "");
}

TEST(FormatNeigh, EnginesThatDisagreeGetALineEach) {
  // Engine 2 has not heard the new MAC yet; engine 3 still resolves (its MAC is meaningless
  // while INCOMPLETE, so two incomplete engines with different zeros still share a line).
  const Json neigh = parse(
      R"([{"engine":2,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:99","state":"STALE","remaining_ms":0},)"
      R"({"engine":3,"port":0,"ip":"198.18.0.1","mac":"00:00:00:00:00:00","state":"INCOMPLETE","remaining_ms":5},)"
      R"({"engine":1,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":9},)"
      R"({"engine":4,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:05","state":"INCOMPLETE","remaining_ms":5},)"
      R"({"engine":0,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":9}])");
  EXPECT_EQ(format_neigh(neigh),
            "198.18.0.1 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0,1\n"
            "198.18.0.1 dev port0 lladdr 02:00:00:00:00:99 STALE engines 2\n"
            "198.18.0.1 dev port0 INCOMPLETE engines 3,4\n");
  // The same MAC, another state: its own line too.
  EXPECT_EQ(format_neigh(parse(
                R"([{"engine":1,"port":0,"ip":"1.2.3.4","mac":"02:00:00:00:00:01","state":"STALE","remaining_ms":0},)"
                R"({"engine":0,"port":0,"ip":"1.2.3.4","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":3}])")),
            "1.2.3.4 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0\n"
            "1.2.3.4 dev port0 lladdr 02:00:00:00:00:01 STALE engines 1\n");
}

TEST(FormatNeigh, RejectsMalformedAnswers) {
  const std::string good =
      R"({"engine":0,"port":0,"ip":"198.18.0.1","mac":"02:00:00:00:00:01","state":"REACHABLE","remaining_ms":1})";
  ASSERT_TRUE(format_neigh(parse("[" + good + "]")).has_value());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return parse("[" + text + "]");
  };
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("engine":0)", R"("engine":-1)"},
           {R"("engine":0,)", ""},
           {R"("port":0)", R"("port":"0")"},
           {R"("ip":"198.18.0.1")", R"("ip":"198.18.0")"},
           {R"("ip":"198.18.0.1")", R"("ip":"198.18.0.256")"},
           {R"("ip":"198.18.0.1")", R"("ip":"198.18.0.1.2")"},
           {R"("ip":"198.18.0.1")", R"("ip":"198.18..1")"},
           {R"("ip":"198.18.0.1")", R"("ip":"fe80::1")"},
           {R"("ip":"198.18.0.1")", R"("ip":7)"},
           {R"("mac":"02:00:00:00:00:01")", R"("mac":null)"},
           {R"("state":"REACHABLE")", R"("state":"")"},
           {R"(,"remaining_ms":1)", ""},
           {R"("remaining_ms":1)", R"("remaining_ms":1.5)"}}) {
    EXPECT_FALSE(format_neigh(with(from, to)).has_value()) << from << " -> " << to;
  }
  EXPECT_FALSE(format_neigh(parse("[7]")).has_value());
  EXPECT_FALSE(format_neigh(parse(good)).has_value());  // a row, not a list of rows
  EXPECT_FALSE(format_neigh(parse(R"({"e0_0":7})")).has_value());
  EXPECT_FALSE(format_neigh(parse("7")).has_value());
}

// An engine's entry as the daemon writes it (every EngineStat, then connections and opens).
std::string engine_entry(int lcore, std::uint64_t busy_ns, std::uint64_t idle_ns, std::uint64_t rx,
                         std::uint64_t in, std::uint64_t out, std::uint64_t connections, std::uint64_t opens) {
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  return R"({"lcore":)" + std::to_string(lcore) + R"(,"loops":1000,"idle_loops":900,"rx_packets":)" + n(rx) +
         R"(,"busy_ns":)" + n(busy_ns) + R"(,"idle_ns":)" + n(idle_ns) + R"(,"steered_out":)" + n(out) +
         R"(,"steered_in":)" + n(in) +
         R"(,"steer_ring_full":0,"steer_no_port":0,"neighbours_shared":1,"neighbour_ring_full":0,)"
         R"("impairment_rx_dropped":0,"impairment_rx_duplicated":0,"impairment_rx_reordered":0,)"
         R"("impairment_rx_delayed":0,"impairment_rx_overflow":0,"impairment_tx_dropped":0,)"
         R"("impairment_tx_duplicated":0,"impairment_tx_reordered":0,"impairment_tx_delayed":0,)"
         R"("impairment_tx_overflow":0,"impairment_tx_ring_full":0,"connections":)" + n(connections) +
         R"(,"opens":)" + n(opens) + "}";
}

TEST(FormatEngines, OneRowPerEngineInIdOrderThenTotals) {
  // engine10 after engine2 (ids compared as numbers); 1/3 busy is 33.3, 2/3 is 66.7.
  const Json engines = parse("{\"engine10\":" + engine_entry(11, 0, 0, 0, 0, 0, 0, 0) +
                             ",\"engine0\":" + engine_entry(1, 1'000, 2'000, 1234567, 10, 20, 3, 250) +
                             ",\"engine2\":" + engine_entry(3, 2'000, 1'000, 89, 20, 10, 0, 7) + "}");
  EXPECT_EQ(format_engines(engines),
            "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens\n"
            "0      1     33.3   1234567      10           20           3           250\n"
            "2      3     66.7   89           20           10           0           7\n"
            "10     11    -      0            0            0            0           0\n"
            "total  -     50.0   1234656      30           30           3           257\n");
}

TEST(FormatEngines, OneEngineAndEdgeCases) {
  EXPECT_EQ(format_engines(parse("{\"engine0\":" + engine_entry(1, 5, 999'995, 42, 0, 0, 1, 1) + "}")),
            "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens\n"
            "0      1     0.0    42           0            0            1           1\n"
            "total  -     0.0    42           0            0            1           1\n");
  EXPECT_EQ(format_engines(parse("{\"engine0\":" + engine_entry(1, 999'999, 1, 1, 0, 0, 0, 0) + "}")),
            "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens\n"
            "0      1     100.0  1            0            0            0           0\n"
            "total  -     100.0  1            0            0            0           0\n");
  // Nothing yet: busy% unknown everywhere.
  EXPECT_EQ(format_engines(parse("{\"engine0\":" + engine_entry(1, 0, 0, 0, 0, 0, 0, 0) + "}")),
            "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens\n"
            "0      1     -      0            0            0            0           0\n"
            "total  -     -      0            0            0            0           0\n");
  // Huge busy and idle times do not overflow the percentage.
  const auto big = format_engines(parse(
      "{\"engine0\":" + engine_entry(1, 18'000'000'000'000'000'000u, 18'000'000'000'000'000'000u, 0, 0, 0, 0, 0) + "}"));
  ASSERT_TRUE(big.has_value());
  EXPECT_NE(big->find("\n0      1     50.0   "), std::string::npos) << *big;
  // Columns line up with the header.
  const std::string text = *format_engines(parse("{\"engine0\":" + engine_entry(1, 1, 1, 7, 8, 9, 10, 11) + "}"));
  const std::string header = text.substr(0, text.find('\n'));
  const std::string row = text.substr(header.size() + 1, text.find('\n', header.size() + 1) - header.size() - 1);
  EXPECT_EQ(row.find("7"), header.find("rx_packets"));
  EXPECT_EQ(row.find("8"), header.find("steered_in"));
  EXPECT_EQ(row.find("9"), header.find("steered_out"));
  EXPECT_EQ(row.find("10"), header.find("connections"));
  EXPECT_EQ(row.find("11"), header.find("opens"));
  EXPECT_EQ(row.find("50.0"), header.find("busy%"));
  // No engines at all: the header and an empty total.
  EXPECT_EQ(format_engines(parse("{}")),
            "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens\n"
            "total  -     -      0            0            0            0           0\n");
}

TEST(FormatEngines, RejectsMalformedAnswers) {
  const std::string good = engine_entry(1, 1, 1, 1, 1, 1, 1, 1);
  ASSERT_TRUE(format_engines(parse("{\"engine0\":" + good + "}")).has_value());
  EXPECT_FALSE(format_engines(parse("[]")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"engine0\":7}")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"engine\":" + good + "}")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"enginex\":" + good + "}")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"engine-1\":" + good + "}")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"total\":" + good + "}")).has_value());
  EXPECT_FALSE(format_engines(parse("{\"engine1\":" + good + ",\"engine01\":" + good + "}")).has_value());
  for (const char* member : {"\"lcore\":1", "\"busy_ns\":1", "\"idle_ns\":1", "\"rx_packets\":1", "\"steered_in\":1",
                             "\"steered_out\":1", "\"connections\":1", "\"opens\":1"}) {
    const std::string name = std::string(member).substr(0, std::string(member).find(':'));
    std::string missing = good;
    missing.replace(missing.find(member), std::string(member).size(), "\"renamed\":1");
    EXPECT_FALSE(format_engines(parse("{\"engine0\":" + missing + "}")).has_value()) << member;
    std::string negative = good;
    negative.replace(negative.find(member), std::string(member).size(), name + ":-1");
    if (name != "\"lcore\"") {  // an lcore is an int; the counts are unsigned
      EXPECT_FALSE(format_engines(parse("{\"engine0\":" + negative + "}")).has_value()) << member;
    }
    std::string text = good;
    text.replace(text.find(member), std::string(member).size(), name + ":\"1\"");
    EXPECT_FALSE(format_engines(parse("{\"engine0\":" + text + "}")).has_value()) << member;
  }
}

}  // namespace
}  // namespace synwave::ctl

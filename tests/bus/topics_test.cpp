#define BOOST_TEST_MODULE topics
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "cantina/bus/topics.h"

using namespace cantina::bus::topics;

BOOST_AUTO_TEST_SUITE(topics)

BOOST_AUTO_TEST_CASE(builds_topics_from_service_ids) {
  BOOST_TEST(log_topic("music_controller") == "/log/music_controller");
  BOOST_TEST(status_topic("logging_service") == "/service/status/logging_service");
  BOOST_TEST(set_log_level_topic("gpt_service") == "/control/log_level/gpt_service");
  BOOST_TEST(log_level_changed_topic("gpt_service") == "/control/log_level_changed/gpt_service");
  BOOST_TEST(kDashboardLog == "/dashboard/log");
  BOOST_TEST(kLoggingStats == "/logging/stats");
  BOOST_TEST(receipt_topic(0x0123456789abcdefULL) == "/receipt/0123456789abcdef");
  BOOST_TEST(receipt_topic(1) == "/receipt/0000000000000001");
  BOOST_TEST(is_receipt_topic(receipt_topic(0xfedcba9876543210ULL)));
}

BOOST_AUTO_TEST_CASE(extracts_the_service_from_a_topic) {
  BOOST_TEST(service_of("/log/music_controller", kLogPrefix).value() == "music_controller");
  BOOST_TEST(!service_of("/dashboard/log", kLogPrefix).has_value());
  BOOST_TEST(!service_of("/log/", kLogPrefix).has_value());
  BOOST_TEST(!service_of("/log/bad service", kLogPrefix).has_value());
}

BOOST_AUTO_TEST_CASE(tells_single_records_from_batches_by_topic) {
  BOOST_TEST(log_batch_topic("music_controller") == "/log/music_controller/batch");
  auto single = parse_log_topic("/log/music_controller");
  BOOST_REQUIRE(single.has_value());
  BOOST_TEST(single->service == "music_controller");
  BOOST_TEST(!single->batch);
  auto batch = parse_log_topic("/log/music_controller/batch");
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch->service == "music_controller");
  BOOST_TEST(batch->batch);
  BOOST_TEST(!parse_log_topic("/log//batch").has_value());
  BOOST_TEST(!parse_log_topic("/log/a/b/batch").has_value());
  BOOST_TEST(!parse_log_topic("/dashboard/log").has_value());
}

BOOST_AUTO_TEST_CASE(tells_single_dashboard_entries_from_batches_by_topic) {
  BOOST_TEST(kDashboardLogBatch == "/dashboard/log/batch");
  BOOST_TEST(kDashboardLogBatch.starts_with(kDashboardLog));  // one subscription gets both forms
  BOOST_REQUIRE(parse_dashboard_topic("/dashboard/log").has_value());
  BOOST_TEST(!parse_dashboard_topic("/dashboard/log")->batch);
  BOOST_REQUIRE(parse_dashboard_topic("/dashboard/log/batch").has_value());
  BOOST_TEST(parse_dashboard_topic("/dashboard/log/batch")->batch);
  BOOST_TEST(!parse_dashboard_topic("/dashboard/logs").has_value());
  BOOST_TEST(!parse_dashboard_topic("/dashboard/log/batch/x").has_value());
  BOOST_TEST(!parse_dashboard_topic("/log/dashboard").has_value());
}

BOOST_AUTO_TEST_CASE(validates_service_ids) {
  BOOST_TEST(is_valid_service_id("eye_light_controller"));
  BOOST_TEST(is_valid_service_id("node-2.local"));
  BOOST_TEST(!is_valid_service_id(""));
  BOOST_TEST(!is_valid_service_id("a/b"));
  BOOST_TEST(!is_valid_service_id("with space"));
  BOOST_TEST(!is_valid_service_id(std::string(129, 'a')));
  BOOST_TEST(is_valid_service_id(std::string(128, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

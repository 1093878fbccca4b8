#include "api/names.h"

#include <gtest/gtest.h>

#include <string>

namespace wo::api {
namespace {

TEST(Names, DnsLabel) {
  EXPECT_TRUE(is_dns_label("a"));
  EXPECT_TRUE(is_dns_label("sync-registry"));
  EXPECT_TRUE(is_dns_label(std::string(63, 'a')));
  EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns_label(""));
  EXPECT_FALSE(is_dns_label("-a"));
  EXPECT_FALSE(is_dns_label("a-"));
  EXPECT_FALSE(is_dns_label("A"));
  EXPECT_FALSE(is_dns_label("a.b"));
}

TEST(Names, JobName) {
  EXPECT_TRUE(is_job_name("campaigns.sync-registry"));
  EXPECT_TRUE(is_job_name("janitor"));
  EXPECT_TRUE(is_job_name("a.b.c"));
  EXPECT_FALSE(is_job_name("Campaigns.Sync"));
  EXPECT_FALSE(is_job_name("campaigns..sync"));
  EXPECT_FALSE(is_job_name(".campaigns"));
  EXPECT_FALSE(is_job_name("campaigns."));
  EXPECT_FALSE(is_job_name("campaigns_sync"));
  EXPECT_FALSE(is_job_name("campaigns sync"));
  EXPECT_FALSE(is_job_name(std::string(30, 'a') + "." + std::string(33, 'b')));  // 64 characters
  EXPECT_TRUE(is_job_name(std::string(30, 'a') + "." + std::string(32, 'b')));   // 63 characters
}

TEST(Names, DnsSubdomain) {
  EXPECT_TRUE(is_dns_subdomain("my-secret"));
  EXPECT_TRUE(is_dns_subdomain("a.b-c"));
  EXPECT_FALSE(is_dns_subdomain("My-Secret"));
  EXPECT_FALSE(is_dns_subdomain(std::string(254, 'a')));
}

TEST(Names, QualifiedName) {
  EXPECT_TRUE(is_qualified_name("cpu"));
  EXPECT_TRUE(is_qualified_name("example.com/gpu"));
  EXPECT_TRUE(is_qualified_name("app.kubernetes.io/name"));
  EXPECT_TRUE(is_qualified_name("Team_Name.x"));
  EXPECT_FALSE(is_qualified_name("/x"));
  EXPECT_FALSE(is_qualified_name("Example.com/x"));
  EXPECT_FALSE(is_qualified_name("a/b/c"));
  EXPECT_FALSE(is_qualified_name("x-"));
  EXPECT_FALSE(is_qualified_name(""));
}

TEST(Names, LabelValue) {
  EXPECT_TRUE(is_label_value(""));
  EXPECT_TRUE(is_label_value("team-a"));
  EXPECT_TRUE(is_label_value("v1.2_3"));
  EXPECT_FALSE(is_label_value("a b"));
  EXPECT_FALSE(is_label_value("-a"));
  EXPECT_FALSE(is_label_value(std::string(64, 'a')));
}

TEST(Names, EnvVarName) {
  EXPECT_TRUE(is_env_var_name("WORKER_DATABASE_URL"));
  EXPECT_TRUE(is_env_var_name("_x"));
  EXPECT_TRUE(is_env_var_name("a.b-c"));
  EXPECT_FALSE(is_env_var_name("1X"));
  EXPECT_FALSE(is_env_var_name("A=B"));
  EXPECT_FALSE(is_env_var_name(""));
  EXPECT_FALSE(is_env_var_name("A B"));
}

TEST(Names, ConditionReason) {
  EXPECT_TRUE(is_condition_reason("OOMKilled"));
  EXPECT_TRUE(is_condition_reason("Reason_1"));
  EXPECT_FALSE(is_condition_reason("1Reason"));
  EXPECT_FALSE(is_condition_reason("Crash Loop"));
  EXPECT_FALSE(is_condition_reason("Reason:"));
  EXPECT_FALSE(is_condition_reason(""));
}

}  // namespace
}  // namespace wo::api

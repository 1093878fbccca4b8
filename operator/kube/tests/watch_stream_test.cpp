// The streaming line reader against a local chunked HTTP server: lines arrive as they are sent (never
// waiting for the end of the stream), split lines are joined, a cut connection is an error.
#include <cpprest/http_client.h>
#include <gtest/gtest.h>

#include <future>

#include "chunked_server.h"
#include "kube/watch.h"

namespace wo::kube {
namespace {

using testing::ChunkedServer;

web::http::http_response open(ChunkedServer& server) {
  web::http::client::http_client client(server.url());
  return client.request(web::http::methods::GET, "/watch").get();  // completes at the headers
}

TEST(LineReader, DeliversEachLineAsItArrives) {
  ChunkedServer server;
  server.send_chunk("first line\n");
  auto resp = open(server);
  LineReader reader(resp.body());
  std::string line;
  ASSERT_TRUE(reader.next(line));  // the stream is still open: this proves nothing waited for its end
  EXPECT_EQ(line, "first line");

  auto next = std::async(std::launch::async, [&] {
    std::string l;
    return reader.next(l) ? l : std::string("<eof>");
  });
  server.send_chunk("second ");  // half a line: the reader must wait for the rest
  server.send_chunk("line\nthird");
  EXPECT_EQ(next.get(), "second line");
  server.send_chunk(" line\n");
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "third line");
  server.send_chunk("unterminated");
  server.finish();
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "unterminated");
  EXPECT_FALSE(reader.next(line));
}

TEST(LineReader, LargeLinesAcrossManyChunks) {
  ChunkedServer server;
  auto resp = open(server);
  LineReader reader(resp.body());
  const std::string big(size_t{300} * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 7000) server.send_chunk(big.substr(i, 7000));
  server.send_chunk("\nsmall\n");
  server.finish();
  std::string line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, big);
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "small");
  EXPECT_FALSE(reader.next(line));
}

TEST(LineReader, ACutConnectionIsAnError) {
  ChunkedServer server;
  auto resp = open(server);
  LineReader reader(resp.body());
  server.send_chunk("{\"partial\":");
  server.cut();
  std::string line;
  EXPECT_ANY_THROW(while (reader.next(line)){});
}

TEST(WatchStream, DecodesEventsAndRejectsGarbage) {
  ChunkedServer server;
  auto client = std::make_shared<web::http::client::http_client>(server.url());
  auto resp = client->request(web::http::methods::GET, "/watch").get();
  WatchStream stream(client, resp, "watch test");
  server.send_chunk(R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
                    "\n\n");
  server.send_chunk(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})"
                    "\n");
  server.send_chunk("not json\n");
  WatchEvent ev;
  ASSERT_TRUE(stream.next(ev));
  EXPECT_EQ(ev.type, "ADDED");
  EXPECT_EQ(meta_string(ev.object, "name"), "a");
  ASSERT_TRUE(stream.next(ev));
  EXPECT_EQ(ev.type, "BOOKMARK");
  EXPECT_EQ(meta_string(ev.object, "resourceVersion"), "9");
  EXPECT_THROW(stream.next(ev), TransportError);
}

TEST(WatchStream, CancellationStopsABlockedRead) {
  ChunkedServer server;
  web::http::client::http_client client(server.url());
  pplx::cancellation_token_source cts;
  auto resp = client.request(web::http::methods::GET, "/watch", cts.get_token()).get();
  LineReader reader(resp.body());
  auto blocked = std::async(std::launch::async, [&] {
    std::string l;
    try {
      while (reader.next(l)) {
      }
      return std::string("eof");
    } catch (const std::exception&) {
      return std::string("error");
    }
  });
  cts.cancel();
  EXPECT_EQ(blocked.get(), "error");
}

}  // namespace
}  // namespace wo::kube

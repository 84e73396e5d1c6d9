// A loopback HTTP/1.1 server for tests whose responses are scripts: a handler writes the
// status line, headers and body in as many pieces as it likes, and may act between pieces
// (advance a SimulatedClock, then write the next chunk), or hold the connection open until
// the client gives up. One connection at a time; every response closes its connection.

#ifndef CANDOR_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_
#define CANDOR_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace candor::testing {

struct ScriptedRequest {
  std::string method;
  std::string target;
  std::string headers;  // The raw header block.
  std::string body;
};

class ScriptedConnection {
 public:
  explicit ScriptedConnection(int fd) : fd_(fd) {}
  // Sends bytes now; false once the client has gone.
  bool Write(std::string_view bytes);
  // Blocks until the client closes the connection (or sends anything more).
  void AwaitClientClose();

 private:
  int fd_;
};

class ScriptedHttpServer {
 public:
  using Handler = std::function<void(const ScriptedRequest&, ScriptedConnection&)>;
  // Listens on 127.0.0.1 on a free port and serves `handler` on a thread of its own.
  explicit ScriptedHttpServer(Handler handler);
  ~ScriptedHttpServer();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void Loop();

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace candor::testing

#endif  // CANDOR_TESTS_TESTING_SCRIPTED_HTTP_SERVER_H_

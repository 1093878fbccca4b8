// Helpers for the kube and runtime tests: temporary directories, certificates made with the openssl
// command at test time, a child process with a readable stdout. Waiting on conditions is common/testing/wait.h.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace wo::kube::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes content to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
std::string base64(const std::string& data);
// Runs a shell command; throws std::runtime_error with its output when it fails.
void shell(const std::string& command);

// A CA and certificates it signs, as PEM files in dir: <name>.crt and <name>.key.
struct Pki {
  explicit Pki(const TempDir& dir);
  // san: an openssl subjectAltName value ("IP:127.0.0.1,DNS:localhost") or "" for none.
  void issue(const std::string& name, const std::string& common_name, const std::string& san, bool client = false);
  std::string ca_pem() const;
  std::string crt(const std::string& name) const;  // file paths
  std::string key(const std::string& name) const;
  const TempDir& dir;
};

// A child process (argv[0] looked up in PATH) whose stdout can be read line by line; killed on destruction.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Reads stdout until a line containing needle; returns it. Throws on EOF or timeout.
  std::string wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
  void kill(int signal = 9);
  pid_t pid() const { return pid_; }
  // Every line read so far (for failure messages).
  const std::string& transcript() const { return transcript_; }

 private:
  std::string transcript_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffered_;
};

// A listening TCP socket on 127.0.0.1 with a free port; returns the fd and sets port. Throws on failure.
int listen_on_loopback(uint16_t& port);

}  // namespace wo::kube::testing

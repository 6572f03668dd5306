#include "diviml/core/child_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

namespace diviml {

namespace {

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::string ChildOutcome::describe(double limit_s) const {
  switch (kind) {
    case Kind::kDone:
      return "finished";
    case Kind::kCrashed:
      return "crashed (signal " + std::to_string(signal) + ")";
    case Kind::kKilled:
      return "did not stop by its limit of " + std::to_string(limit_s) + " s and was killed";
    case Kind::kNoChild:
      return "could not be started in a child process";
  }
  return "failed";
}

ChildOutcome run_in_child(const std::function<std::string()>& work, double limit_s) {
  ChildOutcome outcome;
  int fds[2];
  if (::pipe(fds) != 0) return outcome;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return outcome;
  }
  if (pid == 0) {
    ::close(fds[0]);
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
    std::string out;
    try {
      out = work();
    } catch (...) {
      ::_exit(2);  // the work's own exceptions are its to catch; this is a crash to the parent
    }
    const bool ok = write_all(fds[1], out);
    ::close(fds[1]);
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  const auto t0 = std::chrono::steady_clock::now();
  char buf[1 << 16];
  bool killed = false;
  while (true) {
    const double left = limit_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // EOF: the child is done (or died)
    outcome.output.append(buf, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (killed) {
    outcome.kind = ChildOutcome::Kind::kKilled;
  } else if (WIFSIGNALED(wstatus)) {
    outcome.kind = ChildOutcome::Kind::kCrashed;
    outcome.signal = WTERMSIG(wstatus);
  } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    outcome.kind = ChildOutcome::Kind::kCrashed;
  } else {
    outcome.kind = ChildOutcome::Kind::kDone;
    return outcome;
  }
  outcome.output.clear();
  return outcome;
}

}  // namespace diviml

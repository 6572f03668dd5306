// One status line on the terminal during a long solve: elapsed / limit, the solver and its
// phase, the best plan so far, the bound, the gap, and a phase's count (split: module solves
// done / total). On a terminal it is redrawn in place a few times a second and erased at the
// end, so nothing of it stays in the output; forced onto a file or pipe (`--progress`), it
// writes a plain line per change, at most one a second.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "diviml/solve/context.hpp"

namespace diviml {

// What the line shows, gathered from the progress events of one solve.
struct StatusState {
  std::string prefix;  // e.g. "compare 2/5"
  std::string solver, phase;
  double best = kInf;  // least incumbent seen
  double bound = 0;    // greatest bound seen
  int done = -1, total = -1;
  void add(const Progress& p);
};

// The text of the line (no newline), at `elapsed_s` of a solve limited to `limit_s`, the value
// in microseconds, shortened to `width` columns (0: no limit).
std::string status_text(const StatusState& state, double elapsed_s, double limit_s, std::size_t width = 0);

class StatusLine {
 public:
  // `in_place`: redraw one line (carriage return, erase to its end); else plain lines.
  StatusLine(std::FILE* out, bool in_place, double limit_s);
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // A new solve (compare: the next solver) under `prefix`; the clock restarts.
  void begin(const std::string& prefix);
  // Thread-safe: a progress sink may call it from any thread.
  void update(const Progress& p);
  // Ends the line: erased in place, or nothing more written. Idempotent.
  void stop();

 private:
  void draw_locked(bool force);
  void tick();

  std::FILE* out_;
  bool in_place_;
  double limit_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  StatusState state_;
  std::chrono::steady_clock::time_point start_, last_plain_;  // last_plain_: the last line drawn
  std::string last_text_;
  bool stopping_ = false, drawn_ = false;
  std::thread ticker_;
};

// Whether a stream is a terminal (isatty on its descriptor).
bool is_terminal(std::FILE* stream);

}  // namespace diviml

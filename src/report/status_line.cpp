#include "diviml/report/status_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace diviml {
namespace {

std::string us_text(double us) {
  char buf[48];
  if (us >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3f s", us / 1e6);
  else if (us >= 1e3)
    std::snprintf(buf, sizeof buf, "%.3f ms", us / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f us", us);
  return buf;
}

// Columns of the terminal behind `stream`, 0 when unknown.
std::size_t columns(std::FILE* stream) {
  winsize ws{};
  if (ioctl(fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

}  // namespace

void StatusState::add(const Progress& p) {
  solver = p.solver;
  phase = p.message;
  if (std::isfinite(p.incumbent)) best = std::min(best, p.incumbent);
  if (p.bound > 0 && std::isfinite(p.bound)) bound = std::max(bound, p.bound);
  // A count belongs to its phase: an event without one ends it.
  done = p.done;
  total = p.total;
}

std::string status_text(const StatusState& s, double elapsed_s, double limit_s, std::size_t width) {
  char buf[64];
  std::string text = s.prefix.empty() ? "" : s.prefix + " ";
  text += s.solver.empty() ? "solving" : s.solver;
  if (std::isfinite(limit_s) && limit_s < 1e11)
    std::snprintf(buf, sizeof buf, " %.1f / %.0f s", elapsed_s, limit_s);
  else
    std::snprintf(buf, sizeof buf, " %.1f s", elapsed_s);
  text += buf;
  if (!s.phase.empty()) {
    text += " | " + s.phase;
    if (s.total > 0) text += " " + std::to_string(std::max(0, s.done)) + "/" + std::to_string(s.total);
  }
  text += " | best " + (std::isfinite(s.best) ? us_text(s.best) : std::string("-"));
  text += " | bound " + (s.bound > 0 ? us_text(s.bound) : std::string("-"));
  if (std::isfinite(s.best) && s.bound > 0 && s.best > 0) {
    std::snprintf(buf, sizeof buf, " | gap %.1f%%", 100.0 * std::max(0.0, (s.best - s.bound) / s.best));
    text += buf;
  }
  if (width > 1 && text.size() >= width) text = text.substr(0, width - 1);
  return text;
}

StatusLine::StatusLine(std::FILE* out, bool in_place, double limit_s)
    : out_(out), in_place_(in_place), limit_s_(limit_s) {
  start_ = std::chrono::steady_clock::now();
  last_plain_ = start_ - std::chrono::hours(1);  // the first line is drawn at once
  ticker_ = std::thread([this] { tick(); });
}

StatusLine::~StatusLine() { stop(); }

void StatusLine::begin(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = StatusState{};
  state_.prefix = prefix;
  start_ = std::chrono::steady_clock::now();
  draw_locked(true);
}

void StatusLine::update(const Progress& p) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return;
  const double best = state_.best, bound = state_.bound;
  state_.add(p);
  // Shown at once: a better plan, a better bound, the end of a counted phase.
  draw_locked(state_.best < best || state_.bound > bound || (p.total > 0 && p.done == p.total));
}

void StatusLine::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (in_place_ && drawn_) {
      std::fputs("\r\033[K", out_);
      std::fflush(out_);
    }
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void StatusLine::draw_locked(bool force) {
  if (stopping_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (in_place_) {
    // Events can come by the thousand (split's modules): at most 20 redraws a second.
    if (!force && std::chrono::duration<double>(now - last_plain_).count() < 0.05) return;
    last_plain_ = now;
    std::string text = status_text(state_, elapsed, limit_s_, columns(out_));
    std::fprintf(out_, "\r\033[K%s", text.c_str());
    std::fflush(out_);
    drawn_ = true;
    return;
  }
  // Plain lines: a change of what is known (not of the clock), at most one a second.
  std::string key = status_text(state_, 0, limit_s_);
  if (key == last_text_) return;
  if (!force && std::chrono::duration<double>(now - last_plain_).count() < 1.0) return;
  last_text_ = key;
  last_plain_ = now;
  std::fprintf(out_, "%s\n", status_text(state_, elapsed, limit_s_).c_str());
  std::fflush(out_);
}

void StatusLine::tick() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(in_place_ ? 200 : 1000));
    if (stopping_) break;
    draw_locked(false);
  }
}

bool is_terminal(std::FILE* stream) { return isatty(fileno(stream)) == 1; }

}  // namespace diviml

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "diviml/report/status_line.hpp"

using namespace diviml;

namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  return text;
}

}  // namespace

TEST(StatusText, ShowsElapsedBestBoundGapAndCount) {
  StatusState s;
  s.prefix = "compare 2/3";
  s.add(Progress{"split", "static lower bound", kInf, 600.0});
  s.add(Progress{"split", "exact module solves", kInf, 0, 3, 12});
  s.add(Progress{"split", "exact module solves", 1000.0, 500.0, 4, 12});  // a weaker bound is not kept
  const std::string t = status_text(s, 2.25, 10);
  EXPECT_EQ(t, "compare 2/3 split 2.2 / 10 s | exact module solves 4/12 | best 1.000 ms | bound 600.0 us | gap 40.0%");
  // An event without a count ends the phase's count; a worse incumbent does not replace the best.
  s.add(Progress{"split", "stitched", 1200.0, 0});
  EXPECT_EQ(status_text(s, 3, 10),
            "compare 2/3 split 3.0 / 10 s | stitched | best 1.000 ms | bound 600.0 us | gap 40.0%");
  // Nothing known yet, no limit; and cut to the terminal's width.
  StatusState empty;
  EXPECT_EQ(status_text(empty, 0.5, 1e300), "solving 0.5 s | best - | bound -");
  EXPECT_EQ(status_text(s, 3, 10, 20).size(), 19u);
}

TEST(StatusLine, InPlaceRedrawsOneLineAndErasesIt) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    StatusLine line(f, true, 5);
    line.update(Progress{"heft", "done", 42.0, 40.0});
    line.stop();
    line.stop();  // idempotent
  }
  const std::string text = read_all(f);
  std::fclose(f);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_NE(text.find("\r\033[Kheft 0.0 / 5 s | done | best 42.0 us | bound 40.0 us | gap 4.8%"), std::string::npos);
  ASSERT_GE(text.size(), 4u);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");  // nothing of it stays
}

TEST(StatusLine, PlainLinesWithoutCarriageReturns) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    StatusLine line(f, false, 5);
    line.begin("compare 1/2");
    line.update(Progress{"fastest", "done", 42.0, 0});
    line.begin("compare 2/2");
  }
  const std::string text = read_all(f);
  std::fclose(f);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos);
  EXPECT_NE(text.find("compare 1/2 solving 0.0 / 5 s | best - | bound -\n"), std::string::npos);
  EXPECT_NE(text.find("compare 2/2 solving 0.0 / 5 s | best - | bound -\n"), std::string::npos);
}

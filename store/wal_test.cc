#include "store/wal.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace candor::store {
namespace {

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("candor_wal_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> ReplayAll(absl::Status* status = nullptr) {
    std::vector<std::string> out;
    absl::Status s = Wal::Replay(dir_.string(), [&](uint32_t, std::string_view r) {
      out.emplace_back(r);
      return absl::OkStatus();
    });
    if (status != nullptr)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(WalTest, RecordsSurviveReopenInOrder) {
  {
    auto wal = Wal::Open({dir_.string(), 1 << 20, true});
    ASSERT_TRUE(wal.ok());
    for (int i = 0; i < 100; ++i) (*wal)->Append(absl::StrCat("record-", i));
    ASSERT_TRUE((*wal)->Commit().ok());
  }
  const auto records = ReplayAll();
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(records[42], "record-42");
  // Reopening starts a new segment after the existing one.
  auto wal = Wal::Open({dir_.string(), 1 << 20, true});
  ASSERT_TRUE(wal.ok());
  EXPECT_EQ((*wal)->current_segment(), 2u);
}

TEST_F(WalTest, SegmentsRollAndTruncate) {
  auto wal = Wal::Open({dir_.string(), 4096, false});
  ASSERT_TRUE(wal.ok());
  const std::string payload(1000, 'x');
  for (int i = 0; i < 20; ++i) {
    (*wal)->Append(payload);
    ASSERT_TRUE((*wal)->Commit().ok());
  }
  EXPECT_GT((*wal)->num_segments(), 4);
  const uint32_t cur = (*wal)->current_segment();
  ASSERT_TRUE((*wal)->TruncateBefore(cur).ok());
  EXPECT_EQ((*wal)->num_segments(), 1);
  EXPECT_LT(ReplayAll().size(), 5u);
}

TEST_F(WalTest, TornTailIsCutAndCorruptionElsewhereIsDataLoss) {
  {
    auto wal = Wal::Open({dir_.string(), 1 << 20, true});
    ASSERT_TRUE(wal.ok());
    (*wal)->Append("first");
    (*wal)->Append("second");
    ASSERT_TRUE((*wal)->Commit().ok());
  }
  const std::string seg = (dir_ / Wal::SegmentName(1)).string();
  const auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 3);  // A torn write of the last record.
  auto records = ReplayAll();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::filesystem::file_size(seg), 8 + 5u);
  // A later segment exists now; flipping a byte in the first is corruption, not a torn tail.
  {
    auto wal = Wal::Open({dir_.string(), 1 << 20, true});
    ASSERT_TRUE(wal.ok());
    (*wal)->Append("third");
    ASSERT_TRUE((*wal)->Commit().ok());
  }
  {
    const int fd = ::open(seg.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "Z", 1, 9), 1);
    ::close(fd);
  }
  absl::Status s;
  ReplayAll(&s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
}

TEST_F(WalTest, ConcurrentCommitsShareSyncs) {
  auto wal = Wal::Open({dir_.string(), 1 << 20, true});
  ASSERT_TRUE(wal.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        (*wal)->Append(absl::StrCat(t, ":", i));
        ASSERT_TRUE((*wal)->Commit().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE((*wal)->syncs(), 200u);
  wal->reset();
  EXPECT_EQ(ReplayAll().size(), 200u);
}

}  // namespace
}  // namespace candor::store

#include "store/series_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::store {

void SeriesWriter::Add(std::vector<Label> labels, int64_t t_ms, double value) {
  std::string key;
  for (const Label& l : labels) absl::StrAppend(&key, l.name, "\x1f", l.value, "\x1e");
  auto it = refs_.find(key);
  if (it == refs_.end()) {
    absl::StatusOr<LabelSet> set = LabelSet::FromUnsorted(std::move(labels));
    absl::StatusOr<SeriesRef> ref =
        set.ok() ? store_.GetOrCreateSeries(*set) : absl::StatusOr<SeriesRef>(set.status());
    if (!ref.ok()) {
      ++errors_;
      if (first_error_.ok()) first_error_ = ref.status();
      return;
    }
    it = refs_.emplace(std::move(key), *ref).first;
  }
  batch_.Add(it->second, t_ms, value);
}

SeriesWriter::Result SeriesWriter::Commit() {
  Result r;
  r.errors = errors_;
  r.status = first_error_;
  if (!batch_.empty()) {
    absl::StatusOr<CommitResult> result = store_.Commit(batch_);
    if (!result.ok()) {
      r.errors += batch_.size();
      if (r.status.ok()) r.status = result.status();
    } else {
      r.written = batch_.size() - result->rejected;
      r.errors += result->rejected;
      if (result->rejected > 0 && r.status.ok()) {
        r.status = absl::OutOfRangeError(
            absl::StrCat(result->rejected, " samples refused by the series store: ",
                         result->rejects.empty() ? "" : result->rejects[0].message));
      }
    }
  }
  batch_.Clear();
  errors_ = 0;
  first_error_ = absl::OkStatus();
  return r;
}

}  // namespace candor::store

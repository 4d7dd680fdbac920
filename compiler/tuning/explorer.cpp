#include "compiler/tuning/explorer.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace troupe::compiler {

namespace {

bool usable(double score) {
  return std::isfinite(score);
}

} // namespace

sa_explorer::sa_explorer(search_space space, uint64_t seed, sa_options options)
    : space_(std::move(space)), options_(options), rng_(seed) {
  if (space_.size() == 0)
    throw compile_error("sa_explorer: the search space is empty");
  options_.chains = std::max<size_t>(1, options_.chains);
}

uint64_t sa_explorer::neighbor(uint64_t index) {
  // The index's digits, least significant (last knob) first.
  size_t n = space_.knobs.size();
  std::vector<uint64_t> digits(n);
  uint64_t rest = index;
  for (size_t i = n; i-- > 0;) {
    digits[i] = rest % space_.knobs[i].values.size();
    rest /= space_.knobs[i].values.size();
  }
  std::vector<size_t> movable;
  for (size_t i = 0; i < n; ++i)
    if (space_.knobs[i].values.size() > 1)
      movable.push_back(i);
  if (movable.empty())
    return index;
  auto k = movable[std::uniform_int_distribution<size_t>(0, movable.size() - 1)(rng_)];
  auto radix = space_.knobs[k].values.size();
  // Another value of knob k: shift by 1..radix-1.
  auto shift = std::uniform_int_distribution<uint64_t>(1, radix - 1)(rng_);
  digits[k] = (digits[k] + shift) % radix;
  uint64_t result = 0;
  for (size_t i = 0; i < n; ++i)
    result = result * space_.knobs[i].values.size() + digits[i];
  return result;
}

std::vector<uint64_t> sa_explorer::random_unmeasured(size_t n, const std::set<uint64_t>& measured,
                                                     std::set<uint64_t>& taken) {
  std::vector<uint64_t> out;
  uint64_t total = space_.size();
  std::uniform_int_distribution<uint64_t> pick(0, total - 1);
  // Rejection sampling while the space is mostly free; enumeration when
  // it runs out of luck (a small or nearly measured space).
  for (size_t tries = 0; out.size() < n && tries < 32 * n; ++tries) {
    auto i = pick(rng_);
    if (measured.count(i) || taken.count(i))
      continue;
    taken.insert(i);
    out.push_back(i);
  }
  if (out.size() < n && total <= (uint64_t{1} << 24)) {
    std::vector<uint64_t> free;
    for (uint64_t i = 0; i < total; ++i)
      if (!measured.count(i) && !taken.count(i))
        free.push_back(i);
    std::shuffle(free.begin(), free.end(), rng_);
    for (size_t i = 0; i < free.size() && out.size() < n; ++i) {
      taken.insert(free[i]);
      out.push_back(free[i]);
    }
  }
  return out;
}

std::vector<uint64_t> sa_explorer::diverse_pick(const std::vector<std::pair<double, uint64_t>>& ranked,
                                               size_t n) const {
  size_t pool = std::min(ranked.size(), 3 * n);
  std::vector<tuning_config> configs;
  configs.reserve(pool);
  for (size_t i = 0; i < pool; ++i)
    configs.push_back(space_.at(ranked[i].second));
  std::vector<std::set<int64_t>> covered(space_.knobs.size());
  std::vector<bool> picked(pool, false);
  std::vector<uint64_t> out;
  auto knobs = static_cast<double>(std::max<size_t>(1, space_.knobs.size()));
  while (out.size() < n && out.size() < pool) {
    size_t best = pool;
    double best_value = -HUGE_VAL;
    for (size_t i = 0; i < pool; ++i) {
      if (picked[i])
        continue;
      double fresh = 0;
      for (size_t k = 0; k < configs[i].size(); ++k)
        fresh += covered[k].count(configs[i][k]) ? 0.0 : 1.0;
      double value = 1.0 - static_cast<double>(i) / static_cast<double>(pool)
                     + options_.diversity * fresh / knobs;
      if (value > best_value) {  // ties: the better ranked
        best_value = value;
        best = i;
      }
    }
    picked[best] = true;
    for (size_t k = 0; k < configs[best].size(); ++k)
      covered[k].insert(configs[best][k]);
    out.push_back(ranked[best].second);
  }
  return out;
}

std::vector<tuning_config> sa_explorer::propose(size_t batch, const config_scorer& score,
                                                const std::set<uint64_t>& measured) {
  std::set<uint64_t> taken;
  std::vector<uint64_t> chosen;
  auto to_configs = [&](const std::vector<uint64_t>& indices) {
    std::vector<tuning_config> configs;
    configs.reserve(indices.size());
    for (auto i : indices)
      configs.push_back(space_.at(i));
    return configs;
  };
  if (batch == 0)
    return {};
  if (!score)
    return to_configs(random_unmeasured(batch, measured, taken));

  // Scores of this round (the model is fixed within a round): each config
  // is scored once, in batches of the chains' proposals.
  std::map<uint64_t, double> scored;
  auto score_all = [&](const std::vector<uint64_t>& indices) {
    std::vector<uint64_t> fresh;
    std::set<uint64_t> queued;
    for (auto i : indices)
      if (!scored.count(i) && queued.insert(i).second)
        fresh.push_back(i);
    if (!fresh.empty()) {
      auto values = score(to_configs(fresh));
      if (values.size() != fresh.size())
        throw compile_error(fmt::format("sa_explorer: the scorer returned {} scores for {} configs",
                                        values.size(), fresh.size()));
      for (size_t j = 0; j < fresh.size(); ++j)
        scored[fresh[j]] = std::isnan(values[j]) ? -HUGE_VAL : values[j];
    }
    std::vector<double> out;
    out.reserve(indices.size());
    for (auto i : indices)
      out.push_back(scored[i]);
    return out;
  };

  if (chains_.empty()) {
    std::uniform_int_distribution<uint64_t> pick(0, space_.size() - 1);
    for (size_t c = 0; c < options_.chains; ++c)
      chains_.push_back(pick(rng_));
  }
  auto current = score_all(chains_);
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (auto s : current)
    if (usable(s)) {
      lo = std::min(lo, s);
      hi = std::max(hi, s);
    }
  double spread = hi > lo ? hi - lo : 1.0;

  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<uint64_t> next(chains_.size());
  for (size_t step = 0; step < options_.steps; ++step) {
    double progress = options_.steps > 1
                        ? static_cast<double>(step) / static_cast<double>(options_.steps - 1)
                        : 1.0;
    double temperature =
      spread * (options_.start_temperature
                + (options_.end_temperature - options_.start_temperature) * progress);
    for (size_t c = 0; c < chains_.size(); ++c)
      next[c] = neighbor(chains_[c]);
    auto proposed = score_all(next);
    for (size_t c = 0; c < chains_.size(); ++c) {
      double u = coin(rng_);
      if (!usable(proposed[c]))
        continue;
      bool accept = !usable(current[c]) || proposed[c] >= current[c]
                    || (temperature > 0 && u < std::exp((proposed[c] - current[c]) / temperature));
      if (accept) {
        chains_[c] = next[c];
        current[c] = proposed[c];
      }
    }
  }

  // The best distinct unmeasured configs the walk scored, then random ones.
  std::vector<std::pair<double, uint64_t>> ranked;
  for (auto& [index, s] : scored)
    if (usable(s) && !measured.count(index))
      ranked.emplace_back(s, index);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  auto random_share =
    static_cast<size_t>(std::lround(options_.epsilon * static_cast<double>(batch)));
  size_t by_model = batch - std::min(batch, random_share);
  for (auto index : diverse_pick(ranked, by_model)) {
    taken.insert(index);
    chosen.push_back(index);
  }
  auto fill = random_unmeasured(batch - chosen.size(), measured, taken);
  chosen.insert(chosen.end(), fill.begin(), fill.end());
  return to_configs(chosen);
}

} // namespace troupe::compiler

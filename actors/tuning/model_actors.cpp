#include "actors/tuning/model_actors.hpp"

#include <limits>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/cost_model.hpp"
#include "compiler/tuning/explorer.hpp"
#include "compiler/tuning/features.hpp"
#include "compiler/tuning/measure_protocol.hpp"

namespace troupe::tuning {

namespace {

/// Features of each config of one task, computed once (lowering a
/// candidate takes milliseconds; annealing revisits configs often). Empty
/// for configs the template refuses.
class feature_cache {
public:
  explicit feature_cache(compiler::tuning_task task)
    : task_(std::move(task)), space_(compiler::space_of(task_)) {}

  const std::vector<float>& of(const compiler::tuning_config& config) {
    auto index = space_.index_of(config);
    auto found = cache_.find(index);
    if (found != cache_.end())
      return found->second;
    std::vector<float> features;
    try {
      features = compiler::extract_features(compiler::build_candidate(task_, config));
    } catch (const compiler::compile_error&) {
      // an invalid config: no features
    }
    return cache_.emplace(index, std::move(features)).first->second;
  }

  const compiler::search_space& space() const { return space_; }

private:
  compiler::tuning_task task_;
  compiler::search_space space_;
  std::map<uint64_t, std::vector<float>> cache_;
};

struct cost_model_state {
  std::unique_ptr<feature_cache> features;
  /// Other tasks' features, for transferred records (by task name).
  std::map<std::string, std::unique_ptr<feature_cache>> transferred;
  /// The features of `task`'s configs.
  feature_cache& features_of(const compiler::tuning_task& task) {
    auto name = task.name();
    if (name == own_name)
      return *features;
    auto& cache = transferred[name];
    if (!cache)
      cache = std::make_unique<feature_cache>(task);
    return *cache;
  }
  std::string own_name;
  std::unique_ptr<compiler::cost_model> model;
  static inline const char* name = "tuning_cost_model";
};

struct explorer_state {
  std::unique_ptr<feature_cache> features;
  std::unique_ptr<compiler::sa_explorer> annealer;
  std::unique_ptr<compiler::cost_model> model;
  /// Measured or proposed configs, and those the template refuses (never
  /// proposed: a refusal would cost a trial and teach nothing).
  std::set<uint64_t> measured;
  /// The template's own config, proposed first by a model-guided search.
  std::optional<compiler::tuning_config> default_config;
  bool random = false;
  static inline const char* name = "tuning_explorer";
};

} // namespace

std::string config_to_json(const compiler::tuning_config& config) {
  return nlohmann::json(config).dump();
}

compiler::tuning_config config_from_json(const std::string& text) {
  return nlohmann::json::parse(text).get<compiler::tuning_config>();
}

cost_model_actor spawn_cost_model(caf::actor_system& sys, compiler::tuning_task task,
                                  uint64_t seed) {
  auto behavior = [task, seed](cost_model_actor::stateful_pointer<cost_model_state> self)
      -> cost_model_actor::behavior_type {
    self->state.features = std::make_unique<feature_cache>(task);
    self->state.own_name = task.name();
    compiler::cost_model_options options;
    options.seed = seed;
    self->state.model = std::make_unique<compiler::cost_model>(options);
    return {
      [self](train_atom, const std::vector<std::string>& records) -> caf::result<uint64_t> {
        // Records of other tasks (transfer) rank among themselves: one
        // group per run of consecutive records of one task.
        std::vector<std::vector<float>> rows;
        std::vector<double> throughput;
        std::vector<size_t> groups;
        std::string group_task;
        for (auto& line : records) {
          auto [record_task, result] = compiler::record_from_json(line);
          std::vector<float> features;
          try {
            features = self->state.features_of(record_task).of(result.config);
          } catch (const std::exception&) {
            continue;  // a config of another space: nothing to learn from
          }
          if (features.empty())
            continue;  // the template refuses it: nothing to learn from
          if (groups.empty() || record_task.name() != group_task) {
            groups.push_back(0);
            group_task = record_task.name();
          }
          ++groups.back();
          rows.push_back(std::move(features));
          throughput.push_back(result.ok() ? result.gflops : 0.0);
        }
        if (rows.size() < 2)
          return uint64_t{0};
        try {
          self->state.model->train(rows, throughput, groups);
        } catch (const std::exception& e) {
          return caf::make_error(caf::sec::runtime_error, std::string("training failed: ") + e.what());
        }
        return static_cast<uint64_t>(rows.size());
      },
      [self](model_atom) -> std::string {
        return self->state.model->trained() ? self->state.model->save() : std::string{};
      },
    };
  };
  return sys.spawn<caf::detached>(behavior);
}

explorer_actor spawn_explorer(caf::actor_system& sys, compiler::tuning_task task, uint64_t seed,
                              bool random) {
  auto behavior = [task, seed, random](explorer_actor::stateful_pointer<explorer_state> self)
      -> explorer_actor::behavior_type {
    auto& st = self->state;
    st.features = std::make_unique<feature_cache>(task);
    st.annealer = std::make_unique<compiler::sa_explorer>(st.features->space(), seed);
    st.model = std::make_unique<compiler::cost_model>();
    st.random = random;
    auto& space = st.features->space();
    for (uint64_t i = 0; i < space.size(); ++i)
      if (!compiler::config_refusal(task, space.at(i)).empty())
        st.measured.insert(i);
    if (!random)
      st.default_config = compiler::default_config(task);
    return {
      [self](model_atom, const std::string& bytes) -> bool {
        if (bytes.empty() || self->state.random)
          return false;
        self->state.model->load(bytes);
        return true;
      },
      [self](propose_atom, uint64_t batch) -> std::vector<std::string> {
        auto& st = self->state;
        std::function<std::vector<double>(const std::vector<compiler::tuning_config>&)> score;
        if (!st.random && st.model->trained())
          score = [&st](const std::vector<compiler::tuning_config>& configs) {
            std::vector<double> scores(configs.size(), -std::numeric_limits<double>::infinity());
            std::vector<std::vector<float>> rows;
            std::vector<size_t> valid;
            for (size_t i = 0; i < configs.size(); ++i) {
              auto& features = st.features->of(configs[i]);
              if (!features.empty()) {
                rows.push_back(features);
                valid.push_back(i);
              }
            }
            if (!rows.empty()) {
              auto predicted = st.model->predict(rows);
              for (size_t k = 0; k < valid.size(); ++k)
                scores[valid[k]] = predicted[k];
            }
            return scores;
          };
        std::vector<compiler::tuning_config> configs;
        if (st.default_config && batch > 0) {
          auto index = st.features->space().index_of(*st.default_config);
          if (!st.measured.count(index)) {
            configs.push_back(*st.default_config);
            st.measured.insert(index);
            --batch;
          }
          st.default_config.reset();
        }
        for (auto& config : st.annealer->propose(static_cast<size_t>(batch), score, st.measured))
          configs.push_back(config);
        std::vector<std::string> out;
        for (auto& config : configs) {
          st.measured.insert(st.features->space().index_of(config));
          out.push_back(config_to_json(config));
        }
        return out;
      },
      [self](measure_atom, const std::vector<std::string>& configs) -> uint64_t {
        for (auto& text : configs)
          self->state.measured.insert(self->state.features->space().index_of(config_from_json(text)));
        return static_cast<uint64_t>(self->state.measured.size());
      },
    };
  };
  // Scoring lowers candidates (milliseconds each): its own thread.
  return sys.spawn<caf::detached>(behavior);
}

} // namespace troupe::tuning

#include "actors/serving/app.hpp"

#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/earliest_timer.hpp"
#include "actors/serving/lateness_envelope.hpp"
#include "actors/serving/selection_policy.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

using clock_type = std::chrono::steady_clock;

/// Pending deadlines in time order, by gathering id.
using deadline_queue = std::multimap<clock_type::time_point, uint64_t>;

struct gathering;

/// Called once all chosen models answered, or at the deadline.
using gather_done = std::function<void(gathering&)>;

/// The outputs of the chosen models for one or more rows (a batch request's
/// rows that share the chosen models): each model gets one request with all
/// of its rows that missed the cache.
struct gathering {
  std::vector<size_t> chosen;
  size_t rows = 1;
  std::vector<model_answer> answers;  // [row * chosen.size() + slot]
  std::vector<std::string> errors;    // why a model has no answer for a row
  size_t outstanding = 0;             // requests still in flight
  clock_type::time_point deadline;
  deadline_queue::iterator deadline_entry;
  gather_done done;

  size_t at(size_t row, size_t slot) const { return row * chosen.size() + slot; }

  std::vector<model_answer> row_answers(size_t row) const {
    auto first = answers.begin() + static_cast<std::ptrdiff_t>(at(row, 0));
    return {first, first + static_cast<std::ptrdiff_t>(chosen.size())};
  }

  std::vector<std::string> row_errors(size_t row) const {
    auto first = errors.begin() + static_cast<std::ptrdiff_t>(at(row, 0));
    return {first, first + static_cast<std::ptrdiff_t>(chosen.size())};
  }
};

/// Rows of one gathering bound for one replica, waiting to be sent.
struct outbound_rows {
  uint64_t id;
  size_t slot;
  size_t m;
  std::shared_ptr<query_inputs> inputs;  // the rows, in order
  std::vector<size_t> rows;              // their rows in the gathering
  std::vector<uint64_t> hashes;
  size_t first;
  size_t attempt;
  /// The rows were moved into the request (see give_rows_away): no other
  /// replica can be tried with them.
  bool rows_given_away = false;
};

/// Whether `part`'s rows may be moved into its request rather than copied:
/// only when nothing can need them again, i.e. the model has one replica
/// (no retry elsewhere) and no other model's request shares them. Copying
/// a 512-row batch cost an allocation and a copy per row.
bool give_rows_away(const outbound_rows& part, size_t replicas) {
  return replicas == 1 && part.inputs.use_count() == 1;
}

struct app_state {
  app_spec spec;
  std::vector<app_model> models;
  std::vector<size_t> next_replica;
  std::shared_ptr<prediction_cache> cache;
  app_metric_handles metrics;
  std::shared_ptr<serving_metrics> all_metrics;  // null: no metrics
  uint64_t weights_generation = 0;  // under which this actor publishes its weights
  state_store_actor store;
  std::shared_ptr<selection_policy> policy;
  std::mt19937_64 rng;
  std::unordered_map<uint64_t, gathering> pending;
  /// One timer for all deadlines, armed for the earliest one: a timer per
  /// query would cost a wake-up of CAF's clock thread per query (two, with
  /// its cancellation), more than a small model's prediction.
  deadline_queue deadlines;
  earliest_timer timer;
  std::shared_ptr<std::atomic<uint64_t>> query_ids;
  uint64_t next_gathering = 1;
  std::chrono::microseconds answer_margin{0};
  /// How late the deadline timer has fired lately; deadlines move earlier by it.
  lateness_envelope timer_lateness;
  /// Rows waiting for the send_rows message, by model and replica: every
  /// query that was already in the mailbox when the first of them came
  /// travels to a replica in one group, instead of one message each way per
  /// query.
  std::vector<std::vector<std::vector<outbound_rows>>> outbox;
  bool send_armed = false;
  static inline const char* name = "troupe.app";
};

using app_pointer = app_actor::stateful_pointer<app_state>;

void count(prometheus::Counter* c, double n) {
  if (c && n > 0)
    c->Increment(n);
}

void count(prometheus::Counter* c) {
  if (c)
    c->Increment();
}

void finish(app_pointer self, uint64_t id) {
  auto& st = self->state;
  auto i = st.pending.find(id);
  if (i == st.pending.end())
    return;  // already answered (deadline and last answer raced)
  auto g = std::move(i->second);
  st.pending.erase(i);
  st.deadlines.erase(g.deadline_entry);
  g.done(g);
}

/// Arms the timer for the earliest pending deadline.
void arm_deadline_timer(app_pointer self) {
  auto& st = self->state;
  if (!st.deadlines.empty())
    st.timer.arm(self, st.deadlines.begin()->first);
}

/// A deadline timer fired: answers every query whose deadline has come.
void on_deadline_timer(app_pointer self, uint64_t token) {
  auto& st = self->state;
  st.timer.fired(token);
  auto now = clock_type::now();
  if (!st.deadlines.empty() && st.deadlines.begin()->first <= now)
    st.timer_lateness.observe(
      std::chrono::duration_cast<std::chrono::microseconds>(now - st.deadlines.begin()->first));
  std::vector<uint64_t> due;
  for (auto i = st.deadlines.begin(); i != st.deadlines.end() && i->first <= now; ++i)
    due.push_back(i->second);
  for (auto id : due)
    finish(self, id);
  arm_deadline_timer(self);
}

/// Model `slot` answered `rows` (outputs in their order), or failed for
/// all of them (`outputs` null, `why` says why).
void on_answers(app_pointer self, uint64_t id, size_t slot, const std::vector<size_t>& rows,
                model_outputs* outputs, const std::string& why) {
  auto& st = self->state;
  auto i = st.pending.find(id);
  if (i == st.pending.end())
    return;  // arrived after the deadline: the rows were answered without it
  auto& g = i->second;
  for (size_t k = 0; k < rows.size(); ++k) {
    if (outputs)
      g.answers[g.at(rows[k], slot)] = std::move((*outputs)[k]);
    else
      g.errors[g.at(rows[k], slot)] = why;
  }
  if (--g.outstanding == 0)
    finish(self, id);
}

/// Asks model `m` for `inputs` (the gathering's `rows`) through replica
/// `attempt` (counting from the round-robin start). The rows wait in the
/// replica's outbox until send_rows, which sends every query's rows for a
/// replica as one group; on an error each part tries the next replica while
/// time is left, so that a crashed container's queries go to the others.
void ask_replica(app_pointer self, uint64_t id, size_t slot, size_t m,
                 std::shared_ptr<query_inputs> inputs, std::vector<size_t> rows,
                 std::vector<uint64_t> hashes, size_t first, size_t attempt) {
  auto& st = self->state;
  auto& model = st.models[m];
  auto i = st.pending.find(id);
  if (i == st.pending.end())
    return;
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(i->second.deadline
                                                                    - clock_type::now());
  if (left.count() <= 0) {
    on_answers(self, id, slot, rows, nullptr, model.id + " had no time left");
    return;
  }
  auto r = (first + attempt) % model.replicas.size();
  if (st.outbox.size() != st.models.size())
    st.outbox.resize(st.models.size());
  if (st.outbox[m].size() != model.replicas.size())
    st.outbox[m].resize(model.replicas.size());
  st.outbox[m][r].push_back(
    outbound_rows{id, slot, m, std::move(inputs), std::move(rows), std::move(hashes), first, attempt});
  if (!st.send_armed) {
    // Behind everything already in the mailbox: the queries there join
    // this group before it goes.
    st.send_armed = true;
    self->send(self, send_rows_atom::value);
  }
}

/// Why a model's answer cannot be used: it answered `got` outputs for
/// `asked` queries.
std::string wrong_answer_count(const std::string& model, size_t got, size_t asked) {
  return model + " answered " + std::to_string(got) + " outputs for " + std::to_string(asked)
         + " queries";
}

/// `part` got `outputs` (in its rows' order).
void on_part_outputs(app_pointer self, const outbound_rows& part, model_outputs& outputs) {
  auto& st = self->state;
  if (outputs.size() != part.rows.size()) {
    on_answers(self, part.id, part.slot, part.rows, nullptr,
               wrong_answer_count(st.models[part.m].id, outputs.size(), part.rows.size()));
    return;
  }
  if (!st.cache) {
    on_answers(self, part.id, part.slot, part.rows, &outputs, {});
    return;
  }
  // Answer first, then fill the cache: the answer (rendered here) reaches
  // the HTTP thread while the cache takes the rows (~0.2 us a row, 0.1 ms
  // for a batch request). Nothing runs in this actor in between, so no
  // query can miss a row that is about to be cached.
  auto cached = outputs;  // on_answers moves the outputs into the answers
  on_answers(self, part.id, part.slot, part.rows, &outputs, {});
  st.cache->put_many(st.models[part.m].id, part.hashes, cached);
}

/// `part` failed with `err`: the next replica while there is one (and the
/// error was not the deadline), else the rows go without this model.
void on_part_error(app_pointer self, outbound_rows& part, const caf::error& err) {
  auto& model = self->state.models[part.m];
  if (!is(err, errc::timeout) && part.attempt + 1 < model.replicas.size()
      && !part.rows_given_away) {
    ask_replica(self, part.id, part.slot, part.m, std::move(part.inputs), std::move(part.rows),
                std::move(part.hashes), part.first, part.attempt + 1);
    return;
  }
  on_answers(self, part.id, part.slot, part.rows, nullptr, model.id + ": " + describe(err));
}

/// Sends each replica's waiting rows: one query alone, several as a group
/// with the budget of the most urgent. A failed group fails each of its
/// parts, which then try the next replica on their own.
void send_rows(app_pointer self) {
  auto& st = self->state;
  st.send_armed = false;
  auto now = clock_type::now();
  for (size_t m = 0; m < st.outbox.size(); ++m) {
    for (size_t r = 0; r < st.outbox[m].size(); ++r) {
      if (st.outbox[m][r].empty())
        continue;
      auto parts = std::make_shared<std::vector<outbound_rows>>(std::move(st.outbox[m][r]));
      st.outbox[m][r].clear();
      // Parts whose gathering ended meanwhile (deadline) are not sent.
      std::vector<size_t> sent;  // which parts go, in order
      int64_t budget = std::numeric_limits<int64_t>::max();
      size_t total = 0;
      for (size_t k = 0; k < parts->size(); ++k) {
        auto i = st.pending.find((*parts)[k].id);
        if (i == st.pending.end())
          continue;
        sent.push_back(k);
        budget = std::min<int64_t>(
          budget,
          std::chrono::duration_cast<std::chrono::microseconds>(i->second.deadline - now).count());
        total += (*parts)[k].inputs->size();
      }
      if (total == 0)
        continue;
      auto& replica = st.models[m].replicas[r];
      // No request timeout: the app's deadline timer bounds the wait (it
      // answers the rows without this model), and a batcher that is gone
      // bounces the request with an error at once. A timeout here would
      // cost two clock events per request.
      if (total == 1) {
        auto k = sent.front();
        auto& part = (*parts)[k];
        query_input row;
        if (give_rows_away(part, st.models[m].replicas.size())) {
          part.rows_given_away = true;
          row = std::move(part.inputs->front());
        } else {
          row = part.inputs->front();
        }
        self->request(replica, caf::infinite, predict_atom::value, std::move(row), budget)
          .then(
            [self, parts, k](std::string& output) {
              model_outputs outputs{std::move(output)};
              on_part_outputs(self, (*parts)[k], outputs);
            },
            [self, parts, k](caf::error& err) { on_part_error(self, (*parts)[k], err); });
        continue;
      }
      query_inputs group;
      group.reserve(total);
      for (auto k : sent) {
        auto& part = (*parts)[k];
        if (give_rows_away(part, st.models[m].replicas.size())) {
          part.rows_given_away = true;
          if (sent.size() == 1)
            group = std::move(*part.inputs);
          else
            group.insert(group.end(), std::make_move_iterator(part.inputs->begin()),
                         std::make_move_iterator(part.inputs->end()));
        } else {
          group.insert(group.end(), part.inputs->begin(), part.inputs->end());
        }
      }
      self->request(replica, caf::infinite, predict_atom::value, std::move(group), budget)
        .then(
          [self, parts, sent, total](model_outputs& outputs) {
            if (outputs.size() != total) {
              auto& model = self->state.models[(*parts)[sent.front()].m];
              auto why = wrong_answer_count(model.id, outputs.size(), total);
              for (auto k : sent)
                on_answers(self, (*parts)[k].id, (*parts)[k].slot, (*parts)[k].rows, nullptr,
                           why);
              return;
            }
            size_t at = 0;
            for (auto k : sent) {
              auto& part = (*parts)[k];
              auto n = part.rows.size();
              model_outputs mine(std::make_move_iterator(outputs.begin() + static_cast<long>(at)),
                                 std::make_move_iterator(outputs.begin()
                                                         + static_cast<long>(at + n)));
              at += n;
              on_part_outputs(self, part, mine);
            }
          },
          [self, parts, sent](caf::error& err) {
            for (auto k : sent)
              on_part_error(self, (*parts)[k], err);
          });
    }
  }
}

/// Collects the outputs of `chosen` models for `inputs` by `deadline`, then
/// calls `done` (at once when the cache has them all).
void gather(app_pointer self, query_inputs inputs_in, std::vector<size_t> chosen,
            clock_type::time_point deadline, gather_done done) {
  auto& st = self->state;
  auto id = st.next_gathering++;
  // Held once for every model that missed on every row (the usual case),
  // and kept for retries on another replica.
  auto inputs = std::make_shared<query_inputs>(std::move(inputs_in));
  std::vector<uint64_t> hashes;
  hashes.reserve(inputs->size());
  for (auto& input : *inputs)
    hashes.push_back(hash_input(input));
  gathering g;
  g.chosen = std::move(chosen);
  g.rows = inputs->size();
  g.answers.resize(g.rows * g.chosen.size());
  g.errors.resize(g.rows * g.chosen.size());
  g.deadline = deadline;
  g.done = std::move(done);
  struct request {
    size_t slot;
    std::vector<size_t> rows;
  };
  std::vector<request> requests;
  for (size_t slot = 0; slot < g.chosen.size(); ++slot) {
    auto& model = st.models[g.chosen[slot]];
    request r{slot, {}};
    std::vector<std::optional<std::string>> hits;
    if (st.cache)
      hits = st.cache->get_many(model.id, hashes);
    size_t hit_count = 0;
    for (size_t row = 0; row < g.rows; ++row) {
      if (st.cache && hits[row]) {
        ++hit_count;
        g.answers[g.at(row, slot)] = std::move(*hits[row]);
        continue;
      }
      if (model.replicas.empty())
        g.errors[g.at(row, slot)] = model.id + " has no replicas";
      else
        r.rows.push_back(row);
    }
    if (st.cache) {
      count(st.metrics.cache_hits, static_cast<double>(hit_count));
      count(st.metrics.cache_misses, static_cast<double>(g.rows - hit_count));
    }
    if (!r.rows.empty())
      requests.push_back(std::move(r));
  }
  g.outstanding = requests.size();
  if (requests.empty()) {
    g.done(g);
    return;
  }
  auto chosen_models = g.chosen;
  g.deadline_entry = st.deadlines.emplace(deadline, id);
  st.pending.emplace(id, std::move(g));
  arm_deadline_timer(self);
  for (auto& r : requests) {
    std::shared_ptr<query_inputs> subset;
    std::vector<uint64_t> subset_hashes;
    if (r.rows.size() == inputs->size()) {
      subset = inputs;
      subset_hashes = hashes;
    } else {
      query_inputs some;
      for (auto row : r.rows) {
        some.push_back((*inputs)[row]);
        subset_hashes.push_back(hashes[row]);
      }
      subset = std::make_shared<query_inputs>(std::move(some));
    }
    auto m = chosen_models[r.slot];
    auto first = st.next_replica[m]++;
    ask_replica(self, id, r.slot, m, std::move(subset), std::move(r.rows),
                std::move(subset_hashes), first, 0);
  }
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string result;
  for (auto& p : parts) {
    if (p.empty())
      continue;
    if (!result.empty())
      result += sep;
    result += p;
  }
  return result;
}

/// Answers `inputs` (query ids `ids`), all with the models `chosen`,
/// through `deliver(row, p)`.
void predict_rows(app_pointer self, query_inputs inputs, std::vector<size_t> chosen,
                  std::vector<uint64_t> ids, std::function<void(size_t, prediction)> deliver,
                  clock_type::time_point arrived) {
  auto& st = self->state;
  auto deadline = arrived + std::chrono::microseconds{st.spec.slo_us} - st.answer_margin
                  - st.timer_lateness.value();
  gather(self, std::move(inputs), std::move(chosen), deadline,
         [self, arrived, ids = std::move(ids), deliver = std::move(deliver)](gathering& g) {
           auto& st = self->state;
           auto latency_us = static_cast<double>(
             std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - arrived)
               .count());
           count(st.metrics.queries, static_cast<double>(g.rows));
           observe_latency(st.metrics.latency_us, latency_us, g.rows);
           // One row's answers at a time, moved out of the gathering (it
           // ends with this call), into a buffer reused for every row.
           std::vector<model_answer> answers(g.chosen.size());
           for (size_t row = 0; row < g.rows; ++row) {
             prediction p;
             p.query_id = ids[row];
             for (size_t slot = 0; slot < g.chosen.size(); ++slot) {
               answers[slot] = std::move(g.answers[g.at(row, slot)]);
               if (!answers[slot])
                 p.models_missing.push_back(st.models[g.chosen[slot]].id);
             }
             if (auto combined = st.policy->combine(g.chosen, answers)) {
               p.output = std::move(combined->output);
               p.confidence = combined->confidence;
               p.models_used.reserve(combined->used.size());
               for (auto m : combined->used)
                 p.models_used.push_back(st.models[m].id);
               if (!p.models_missing.empty())
                 count(st.metrics.partial);
             } else {
               p.output = st.spec.default_output;
               p.is_default = true;
               p.confidence = 0;
               auto why = join(g.row_errors(row), "; ");
               p.default_explanation = "no model answered within the SLO of "
                                       + std::to_string(st.spec.slo_us) + " us"
                                       + (why.empty() ? std::string{} : " (" + why + ")");
               count(st.metrics.defaults);
             }
             deliver(row, std::move(p));
           }
         });
}

/// Answers every row of `inputs` through one call of `done` (the rows in
/// order). The policy chooses per row, as for single queries; rows with the
/// same choice travel together, one request per model.
void predict_many(app_pointer self, query_inputs inputs,
                  std::function<void(predictions)> done, clock_type::time_point arrived) {
  auto& st = self->state;
  if (inputs.empty()) {
    done(predictions{});
    return;
  }
  if (inputs.size() == 1) {  // a single query: no grouping to do
    predict_rows(self, std::move(inputs), st.policy->choose(st.rng),
                 {st.query_ids->fetch_add(1) + 1},
                 [done = std::move(done)](size_t, prediction p) {
                   predictions ps;
                   ps.push_back(std::move(p));
                   done(std::move(ps));
                 },
                 arrived);
    return;
  }
  struct batch {
    predictions results;
    size_t remaining;
    std::function<void(predictions)> done;
  };
  auto b = std::make_shared<batch>(batch{predictions(inputs.size()), inputs.size(),
                                         std::move(done)});
  std::map<std::vector<size_t>, std::vector<size_t>> rows_by_choice;
  if (st.policy->chooses_alike()) {
    std::vector<size_t> all(inputs.size());
    std::iota(all.begin(), all.end(), 0);
    rows_by_choice.emplace(st.policy->choose(st.rng), std::move(all));
  } else {
    for (size_t i = 0; i < inputs.size(); ++i)
      rows_by_choice[st.policy->choose(st.rng)].push_back(i);
  }
  // Query ids in row order, whatever the grouping.
  auto first_id = st.query_ids->fetch_add(inputs.size()) + 1;
  for (auto& [chosen, rows] : rows_by_choice) {
    query_inputs group;
    std::vector<uint64_t> ids;
    group.reserve(rows.size());
    for (auto i : rows) {
      group.push_back(std::move(inputs[i]));
      ids.push_back(first_id + i);
    }
    predict_rows(self, std::move(group), chosen, std::move(ids),
                 [b, rows = rows](size_t k, prediction p) {
                   b->results[rows[k]] = std::move(p);
                   if (--b->remaining == 0)
                     b->done(std::move(b->results));
                 },
                 arrived);
  }
}

/// The policy's weights, normalized to sum to 1, into the per-model gauges.
void publish_weights(app_pointer self) {
  auto& st = self->state;
  if (!st.all_metrics)
    return;
  auto weights = st.policy->weights();
  double total = 0;
  for (auto w : weights)
    total += w;
  std::vector<std::pair<std::string, double>> shares;
  for (size_t m = 0; m < st.models.size() && m < weights.size(); ++m)
    shares.emplace_back(st.models[m].id, total > 0 ? weights[m] / total : 0);
  st.all_metrics->set_policy_weights(st.spec.name, st.weights_generation, shares);
}

void persist_policy(app_pointer self, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  if (!st.store) {
    rp.deliver(true);
    return;
  }
  self->request(st.store, std::chrono::seconds{10}, caf::put_atom::value,
                policy_state_key(st.spec.name), st.policy->save())
    .then([rp](caf::ok_atom) mutable { rp.deliver(true); },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

app_actor::behavior_type app_impl(app_pointer self, app_options options,
                                  std::shared_ptr<selection_policy> policy) {
  auto& st = self->state;
  st.spec = std::move(options.spec);
  st.models = std::move(options.models);
  st.next_replica.assign(st.models.size(), 0);
  st.cache = std::move(options.cache);
  if (options.metrics)
    st.metrics = options.metrics->for_app(st.spec.name);
  st.store = std::move(options.store);
  st.policy = std::move(policy);
  if (options.metrics) {
    st.all_metrics = options.metrics;
    st.weights_generation = options.metrics->claim_policy_weights(st.spec.name);
  }
  publish_weights(self);
  st.rng.seed(options.seed);
  st.query_ids = options.query_ids ? options.query_ids
                                   : std::make_shared<std::atomic<uint64_t>>(0);
  // Room to send the answer after the deadline; a tenth of the SLO, at most 1 ms.
  st.answer_margin = std::chrono::microseconds{std::min<int64_t>(1000, st.spec.slo_us / 10)};
  // Timers firing late take at most a further tenth of the SLO.
  st.timer_lateness = lateness_envelope{std::chrono::microseconds{st.spec.slo_us / 10}};
  return {
    [self](predict_atom, query_input& input) -> caf::result<prediction> {
      auto rp = self->make_response_promise<prediction>();
      auto& st = self->state;
      query_inputs one;
      one.push_back(std::move(input));
      predict_rows(self, std::move(one), st.policy->choose(st.rng), {st.query_ids->fetch_add(1) + 1},
                   [rp](size_t, prediction p) mutable { rp.deliver(std::move(p)); },
                   clock_type::now());
      return rp;
    },
    [self](predict_atom, query_inputs& inputs) -> caf::result<predictions> {
      auto rp = self->make_response_promise<predictions>();
      predict_many(self, std::move(inputs),
                   [rp](predictions ps) mutable { rp.deliver(std::move(ps)); },
                   clock_type::now());
      return rp;
    },
    [self](predict_atom, query_inputs& inputs, prediction_sink_ptr& sink) {
      if (!sink)
        return;
      auto arrived = sink->arrived();
      predict_many(self, std::move(inputs),
                   [sink](predictions ps) { sink->deliver(std::move(ps)); }, arrived);
    },
    [self](feedback_atom, feedback& fb) -> caf::result<bool> {
      auto& st = self->state;
      count(st.metrics.feedback);
      auto rp = self->make_response_promise<bool>();
      auto models = st.policy->feedback_models(st.rng);
      if (models.empty()) {
        rp.deliver(true);
        return rp;
      }
      auto deadline = clock_type::now() + std::chrono::microseconds{st.spec.slo_us};
      gather(self, query_inputs{fb.input}, models, deadline,
             [self, rp, label = fb.label](gathering& g) {
               self->state.policy->learn(g.chosen, g.answers, label);
               publish_weights(self);
               persist_policy(self, rp);
             });
      return rp;
    },
    [self](stats_atom) -> caf::result<batcher_stats_list> {
      auto& st = self->state;
      auto rp = self->make_response_promise<batcher_stats_list>();
      struct collect {
        batcher_stats_list stats;
        size_t remaining = 0;
        caf::typed_response_promise<batcher_stats_list> rp;
      };
      auto c = std::make_shared<collect>();
      c->rp = rp;
      for (auto& m : st.models)
        c->remaining += m.replicas.size();
      if (c->remaining == 0) {
        rp.deliver(batcher_stats_list{});
        return rp;
      }
      auto one_done = [c] {
        if (--c->remaining == 0)
          c->rp.deliver(std::move(c->stats));
      };
      for (auto& m : st.models)
        for (auto& replica : m.replicas)
          self->request(replica, std::chrono::seconds{2}, stats_atom::value)
            .then([c, one_done](batcher_stats& s) {
                    c->stats.push_back(std::move(s));
                    one_done();
                  },
                  [one_done](caf::error&) { one_done(); });
      return rp;
    },
    [self](deadline_atom, uint64_t token) { on_deadline_timer(self, token); },
    [self](send_rows_atom) { send_rows(self); },
  };
}

} // namespace

std::string policy_state_key(const std::string& app) {
  return "serving/policy/" + app;
}

caf::expected<app_actor> spawn_app(caf::actor_system& sys, app_options options) {
  auto policy = make_policy(options.spec.policy, options.models.size());
  if (!policy)
    return make_error(errc::invalid_argument,
                      "app '" + options.spec.name + "': " + describe(policy.error()));
  if (!options.policy_state.empty()) {
    if (auto err = (*policy)->restore(options.policy_state))
      return make_error(errc::invalid_argument, "app '" + options.spec.name
                                                  + "': cannot restore its policy state: "
                                                  + describe(err));
  }
  return sys.spawn(app_impl, std::move(options),
                   std::shared_ptr<selection_policy>{std::move(*policy)});
}

} // namespace troupe::serving

#include "apps/serve_start.hpp"

namespace troupe {

void add_serve_start_options(CLI::App* s, serve_start_options& o) {
  s->add_option("--host", o.host, "address to listen on")->capture_default_str();
  s->add_option("--port", o.port, "query port (POST /<app>/predict); 0: free")
    ->capture_default_str();
  s->add_option("--admin-port", o.admin_port, "admin API port; 0: free")->capture_default_str();
  s->add_option("--store", o.store,
                "directory of the RocksDB store holding apps, models and policy state")
    ->capture_default_str();
  s->add_option("--threads", o.threads, "HTTP I/O threads")->capture_default_str();
  s->add_option("--cache-mb", o.cache_mb, "prediction cache size in MiB; 0: off")
    ->capture_default_str();
  s->add_option("--body-limit", o.body_limit, "largest request body in bytes (larger: 413)")
    ->capture_default_str();
  s->add_option("--idle-timeout", o.idle_timeout_s,
                "seconds a kept-alive query connection may wait for its next request "
                "before it is closed (above a load balancer's own idle timeout)")
    ->check(CLI::Range(1u, 86'400u))
    ->capture_default_str();
  s->add_option("--request-timeout-ms", o.request_timeout_ms,
                "milliseconds the pipeline may take to answer a query before the "
                "server answers 504 (apps normally answer by their SLO first)")
    ->check(CLI::Range(1u, 3'600'000u))
    ->capture_default_str();
  s->add_option("--work-dir", o.work_dir,
                "where container processes keep logs (default: STORE/containers)");
  s->add_option("--ready-file", o.ready_file,
                "write {host, port, admin_port, pid} here as JSON once serving");
  s->add_option("--log-level", o.log_level, "trace|debug|info|warn|error|off")
    ->capture_default_str();
  s->add_option("--scheduler-threads", o.scheduler_threads,
                "actor scheduler worker threads; 0: one per core")
    ->capture_default_str();
  s->add_option("--model-threads", o.model_threads,
                "OpenBLAS threads for in-process models (TorchScript); 0: the cores less "
                "the HTTP I/O threads, at least 1. OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, "
                "if set, decide instead")
    ->check(CLI::Range(0u, 4096u))
    ->capture_default_str();
  s->add_option("--seed", o.seed,
                "host:port of a cluster member; models may then run replicas on the "
                "cluster's model hosts");
}

std::vector<std::string> serve_start_args(const serve_start_options& o) {
  std::vector<std::string> args{"--host",       o.host,
                                "--port",       std::to_string(o.port),
                                "--admin-port", std::to_string(o.admin_port),
                                "--store",      o.store,
                                "--threads",    std::to_string(o.threads),
                                "--cache-mb",   std::to_string(o.cache_mb),
                                "--body-limit", std::to_string(o.body_limit),
                                "--idle-timeout", std::to_string(o.idle_timeout_s),
                                "--request-timeout-ms", std::to_string(o.request_timeout_ms),
                                "--log-level",  o.log_level,
                                "--scheduler-threads", std::to_string(o.scheduler_threads),
                                "--model-threads", std::to_string(o.model_threads)};
  if (!o.work_dir.empty())
    args.insert(args.end(), {"--work-dir", o.work_dir});
  if (!o.ready_file.empty())
    args.insert(args.end(), {"--ready-file", o.ready_file});
  if (!o.seed.empty())
    args.insert(args.end(), {"--seed", o.seed});
  return args;
}

} // namespace troupe

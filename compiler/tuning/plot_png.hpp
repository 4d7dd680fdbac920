// A PNG chart of tuning progress: best GFLOP/s so far against trials, one
// line per search (model-guided, random), with tick labels. Drawn into an
// RGB raster and written with zlib; no plotting library needed.
#pragma once

#include <string>
#include <vector>

namespace troupe::compiler {

struct plot_series {
  std::string label;               ///< shown in the legend (digits and a-z)
  std::vector<double> best_so_far;  ///< one value per trial
  unsigned rgb = 0x1f77b4;
};

/// Writes a `width` x `height` PNG to `path`; throws std::runtime_error when
/// it cannot.
void write_progress_png(const std::string& path, const std::vector<plot_series>& series,
                        const std::string& title, int width = 640, int height = 400);

} // namespace troupe::compiler

#include "compiler/tuning/plot_png.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace troupe::compiler {

namespace {

// 3x5 glyphs: digits, '.', '-', and lower-case letters drawn as their
// upper-case shapes; unknown characters are blank.
const char* glyph(char c) {
  switch (c) {
    case '0': return "111101101101111";
    case '1': return "010110010010111";
    case '2': return "111001111100111";
    case '3': return "111001111001111";
    case '4': return "101101111001001";
    case '5': return "111100111001111";
    case '6': return "111100111101111";
    case '7': return "111001001001001";
    case '8': return "111101111101111";
    case '9': return "111101111001111";
    case '.': return "000000000000010";
    case '-': return "000000111000000";
    case '/': return "001001010100100";
    case 'a': return "010101111101101";
    case 'b': return "110101110101110";
    case 'c': return "111100100100111";
    case 'd': return "110101101101110";
    case 'e': return "111100110100111";
    case 'f': return "111100110100100";
    case 'g': return "111100101101111";
    case 'h': return "101101111101101";
    case 'i': return "111010010010111";
    case 'k': return "101101110101101";
    case 'l': return "100100100100111";
    case 'm': return "101111111101101";
    case 'n': return "110101101101101";
    case 'o': return "111101101101111";
    case 'p': return "111101111100100";
    case 'r': return "110101110101101";
    case 's': return "111100111001111";
    case 't': return "111010010010010";
    case 'u': return "101101101101111";
    case 'x': return "101101010101101";
    case 'y': return "101101010010010";
    default: return "000000000000000";
  }
}

class canvas {
public:
  canvas(int w, int h) : w_(w), h_(h), pixels_(static_cast<size_t>(w * h * 3), 255) {}

  void set(int x, int y, unsigned rgb) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_)
      return;
    auto i = static_cast<size_t>((y * w_ + x) * 3);
    pixels_[i] = static_cast<uint8_t>(rgb >> 16);
    pixels_[i + 1] = static_cast<uint8_t>(rgb >> 8);
    pixels_[i + 2] = static_cast<uint8_t>(rgb);
  }

  void line(int x0, int y0, int x1, int y1, unsigned rgb, int thickness = 1) {
    int steps = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    for (int s = 0; s <= steps; ++s) {
      int x = steps ? x0 + (x1 - x0) * s / steps : x0;
      int y = steps ? y0 + (y1 - y0) * s / steps : y0;
      for (int dx = 0; dx < thickness; ++dx)
        for (int dy = 0; dy < thickness; ++dy)
          set(x + dx, y + dy, rgb);
    }
  }

  void text(int x, int y, const std::string& s, unsigned rgb, int scale = 2) {
    for (char c : s) {
      auto* g = glyph(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      for (int row = 0; row < 5; ++row)
        for (int col = 0; col < 3; ++col)
          if (g[row * 3 + col] == '1')
            for (int dx = 0; dx < scale; ++dx)
              for (int dy = 0; dy < scale; ++dy)
                set(x + col * scale + dx, y + row * scale + dy, rgb);
      x += 4 * scale;
    }
  }

  void write(const std::string& path) const {
    std::vector<uint8_t> raw;
    raw.reserve(pixels_.size() + static_cast<size_t>(h_));
    for (int y = 0; y < h_; ++y) {
      raw.push_back(0);  // filter: none
      auto row = pixels_.begin() + static_cast<std::ptrdiff_t>(y * w_ * 3);
      raw.insert(raw.end(), row, row + w_ * 3);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<uint8_t> packed(size);
    if (compress2(packed.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK)
      throw std::runtime_error("cannot compress the PNG image");
    packed.resize(size);
    std::ofstream out(path, std::ios::binary);
    if (!out)
      throw std::runtime_error("cannot write " + path);
    static const uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out.write(reinterpret_cast<const char*>(signature), 8);
    std::vector<uint8_t> header;
    put32(header, static_cast<uint32_t>(w_));
    put32(header, static_cast<uint32_t>(h_));
    header.insert(header.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
    chunk(out, "IHDR", header);
    chunk(out, "IDAT", packed);
    chunk(out, "IEND", {});
    if (!out)
      throw std::runtime_error("cannot write " + path);
  }

private:
  static void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int shift = 24; shift >= 0; shift -= 8)
      v.push_back(static_cast<uint8_t>(x >> shift));
  }

  static void chunk(std::ofstream& out, const char* type, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> bytes;
    put32(bytes, static_cast<uint32_t>(data.size()));
    bytes.insert(bytes.end(), type, type + 4);
    bytes.insert(bytes.end(), data.begin(), data.end());
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, bytes.data() + 4, static_cast<uInt>(bytes.size() - 4)));
    put32(bytes, crc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  int w_, h_;
  std::vector<uint8_t> pixels_;
};

std::string format_number(double v) {
  char text[32];
  if (v >= 100 || v == std::floor(v))
    std::snprintf(text, sizeof text, "%.0f", v);
  else
    std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

} // namespace

void write_progress_png(const std::string& path, const std::vector<plot_series>& series,
                        const std::string& title, int width, int height) {
  canvas c(width, height);
  const int left = 70, right = 20, top = 40, bottom = 50;
  int plot_w = width - left - right, plot_h = height - top - bottom;
  size_t trials = 1;
  double top_value = 1e-9;
  for (auto& s : series) {
    trials = std::max(trials, s.best_so_far.size());
    for (double v : s.best_so_far)
      top_value = std::max(top_value, v);
  }
  top_value *= 1.1;
  auto px = [&](double trial) {
    return left + static_cast<int>(trial / static_cast<double>(std::max<size_t>(trials - 1, 1)) * plot_w);
  };
  auto py = [&](double value) { return top + plot_h - static_cast<int>(value / top_value * plot_h); };
  // Grid, axes and tick labels.
  for (int t = 0; t <= 4; ++t) {
    double value = top_value * t / 4;
    c.line(left, py(value), left + plot_w, py(value), 0xdddddd);
    c.text(8, py(value) - 5, format_number(value), 0x333333);
    double trial = static_cast<double>(trials - 1) * t / 4;
    c.text(px(trial) - 8, top + plot_h + 10, format_number(std::round(trial + 1)), 0x333333);
  }
  c.line(left, top, left, top + plot_h, 0x000000, 2);
  c.line(left, top + plot_h, left + plot_w, top + plot_h, 0x000000, 2);
  c.text(left, 12, title, 0x000000);
  c.text(left + plot_w / 2 - 40, height - 18, "trials", 0x333333);
  int legend_y = top + 8;
  for (auto& s : series) {
    for (size_t i = 1; i < s.best_so_far.size(); ++i)
      c.line(px(static_cast<double>(i - 1)), py(s.best_so_far[i - 1]), px(static_cast<double>(i)),
             py(s.best_so_far[i]), s.rgb, 2);
    c.line(left + plot_w - 150, legend_y + 4, left + plot_w - 130, legend_y + 4, s.rgb, 3);
    c.text(left + plot_w - 124, legend_y, s.label, 0x000000);
    legend_y += 16;
  }
  c.write(path);
}

} // namespace troupe::compiler

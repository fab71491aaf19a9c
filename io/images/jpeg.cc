#include "io/images/jpeg.h"

#include <turbojpeg.h>

#include <memory>

namespace hpcnas {
namespace {

// One decompressor per thread: a TurboJPEG handle is not safe to share.
tjhandle ThreadDecompressor() {
  struct Handle {
    tjhandle handle = tjInitDecompress();
    ~Handle() {
      if (handle != nullptr) tjDestroy(handle);
    }
  };
  thread_local Handle h;
  return h.handle;
}

Status DecodeError(tjhandle handle, const std::string& name) {
  return Status::InvalidInput("cannot decode JPEG " + name + ": " + tjGetErrorStr2(handle));
}

const unsigned char* Data(std::string_view bytes) { return reinterpret_cast<const unsigned char*>(bytes.data()); }

struct Header {
  int width = 0;
  int height = 0;
  int colorspace = 0;
};

StatusOr<Header> ReadHeader(std::string_view bytes, const std::string& name) {
  tjhandle handle = ThreadDecompressor();
  if (handle == nullptr) return Status::Internal("tjInitDecompress failed");
  if (bytes.size() < 4 || static_cast<unsigned char>(bytes[0]) != 0xFF || static_cast<unsigned char>(bytes[1]) != 0xD8) {
    return Status::InvalidInput("cannot decode JPEG " + name + ": not a JPEG file (no start-of-image marker)");
  }
  Header h;
  int subsampling = 0;
  if (tjDecompressHeader3(handle, Data(bytes), bytes.size(), &h.width, &h.height, &subsampling, &h.colorspace) != 0) {
    return DecodeError(handle, name);
  }
  return h;
}

}  // namespace

StatusOr<JpegInfo> ReadJpegInfo(std::string_view bytes, const std::string& name) {
  HPCNAS_ASSIGN_OR_RETURN(Header header, ReadHeader(bytes, name));
  return JpegInfo{header.width, header.height};
}

JpegScale ChooseJpegScale(int region_width, int region_height, int min_width, int min_height) {
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  JpegScale best;
  for (int i = 0; i < count; ++i) {
    const JpegScale s{factors[i].num, factors[i].denom};
    if (s.num * best.denom >= best.num * s.denom) continue;  // not smaller than the best so far
    if (s.Apply(region_width) >= min_width && s.Apply(region_height) >= min_height) best = s;
  }
  return best;
}

StatusOr<RgbImage> DecodeJpeg(std::string_view bytes, const std::string& name, JpegScale scale) {
  HPCNAS_ASSIGN_OR_RETURN(Header header, ReadHeader(bytes, name));
  tjhandle handle = ThreadDecompressor();
  RgbImage image;
  image.width = scale.Apply(header.width);
  image.height = scale.Apply(header.height);
  const bool cmyk = header.colorspace == TJCS_CMYK || header.colorspace == TJCS_YCCK;
  const int channels = cmyk ? 4 : 3;
  std::vector<std::uint8_t> pixels(static_cast<size_t>(image.width) * image.height * channels);
  // flags 0: accurate integer IDCT and fancy upsampling, as djpeg by default.
  if (tjDecompress2(handle, Data(bytes), bytes.size(), pixels.data(), image.width, 0, image.height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0) {
    return DecodeError(handle, name);
  }
  if (!cmyk) {
    image.rgb = std::move(pixels);
    return image;
  }
  // CMYK JPEGs (Adobe, a few dozen in ImageNet) store inverted inks: R = C * K / 255.
  image.rgb.resize(static_cast<size_t>(image.width) * image.height * 3);
  for (size_t i = 0, n = static_cast<size_t>(image.width) * image.height; i < n; ++i) {
    const unsigned k = pixels[i * 4 + 3];
    for (int c = 0; c < 3; ++c) image.rgb[i * 3 + c] = static_cast<std::uint8_t>((pixels[i * 4 + c] * k + 127) / 255);
  }
  return image;
}

}  // namespace hpcnas

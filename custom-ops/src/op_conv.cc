// op_conv.cc — TbnConv: ONNX Conv (1-D or 2-D, NCHW) whose weight is the tile. Attribute
// lengths and ranges are checked at creation; the geometry against X at each run.
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

namespace {

int spatial_of(const TileAttrs &a) {
  if (a.shape.size() != 3 && a.shape.size() != 4)
    fail("weight_shape " + dims_str(a.shape) + " must be 3-D or 4-D (1-D or 2-D conv)");
  return static_cast<int>(a.shape.size()) - 2;
}

int64_t conv_in(const TileAttrs &a) { return a.numel / a.shape[0]; }

}  // namespace

ConvKernel::ConvKernel(const OrtKernelInfo *info)
    : attrs_(info, TBN_OP_CONV),
      spatial_(spatial_of(attrs_)),
      weight_(info, attrs_, attrs_.shape[0], conv_in(attrs_), 1, TBN_INPUT_BITS) {
  const int64_t default_group = TBN_DEFAULT_GROUP;
  const size_t s = static_cast<size_t>(spatial_);
  group_ = attr_int(info, TBN_ATTR_GROUP, &default_group);
  if (group_ < 1 || attrs_.shape[0] % group_ != 0)
    fail("group = " + std::to_string(group_) + " does not divide the " + std::to_string(attrs_.shape[0]) +
         " output channels");
  check(tbn_auto_pad_parse(attr_string(info, TBN_ATTR_AUTO_PAD, TBN_DEFAULT_AUTO_PAD).c_str(), &auto_pad_),
        "auto_pad");
  has_kernel_ = ints_attr(info, TBN_ATTR_KERNEL_SHAPE, s, 1, &kernel_);
  has_strides_ = ints_attr(info, TBN_ATTR_STRIDES, s, 1, &strides_);
  has_dilations_ = ints_attr(info, TBN_ATTR_DILATIONS, s, 1, &dilations_);
  has_pads_ = ints_attr(info, TBN_ATTR_PADS, 2 * s, 0, &pads_);
  if (has_kernel_)
    for (size_t i = 0; i < s; i++)
      if (kernel_[i] != attrs_.shape[2 + i])
        fail("kernel_shape " + dims_str(kernel_) + " does not match weight_shape " + dims_str(attrs_.shape));
}

void ConvKernel::compute(OrtKernelContext *ctx) const {
  const TensorView x = input(ctx, 0);
  if (x.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) fail("X must be a float tensor");
  if (x.dims.size() != static_cast<size_t>(spatial_ + 2))
    fail("X " + dims_str(x.dims) + " must have rank " + std::to_string(spatial_ + 2));
  x.numel();  // rejects negative or overflowing dims
  bool has_b = false;
  const TensorView b = input(ctx, 3, &has_b);
  if (has_b && (b.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || b.dims.size() != 1 || b.dims[0] != attrs_.shape[0]))
    fail("B " + dims_str(b.dims) + " must be a float vector of " + std::to_string(attrs_.shape[0]) + " values");
  tbn_conv_geom g;
  const tbn_status st = tbn_conv_geometry(spatial_, x.dims.data(), attrs_.shape.data(), group_,
                                          has_kernel_ ? kernel_.data() : nullptr, has_strides_ ? strides_.data() : nullptr,
                                          has_dilations_ ? dilations_.data() : nullptr, has_pads_ ? pads_.data() : nullptr,
                                          auto_pad_, &g);
  if (st != TBN_OK)
    fail("X " + dims_str(x.dims) + " with weight_shape " + dims_str(attrs_.shape) + ", group " + std::to_string(group_) +
         ": " + tbn_status_str(st));
  std::vector<int64_t> ydims = {g.n, g.oc};
  if (spatial_ == 2) ydims.push_back(g.out[0]);
  ydims.push_back(g.out[1]);
  const TensorView y = output(ctx, 0, ydims);
  if (g.n == 0) return;
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  check(tbn_conv_workspace(m, &g, par.max_tasks, &bytes), attrs_.op);
  const WorkspacePool::Lease ws = pool_.acquire(bytes);
  check(tbn_conv_run(m, &g, static_cast<const float *>(x.data), has_b ? static_cast<const float *>(b.data) : nullptr,
                     static_cast<float *>(y.data), ws.data(), ws.size(), &par),
        attrs_.op);
}

}  // namespace tbn

/* tbn_op_schema.h — the ai.tbn op contract as the C/C++ side sees it (C99-compatible).
 * Mirrors src/tbn/format.ts (the source of truth); test/native-ops/schema.test.ts parses
 * this file and fails when a name, an input order, an attribute or a default differs.
 * Lists are comma-separated, in order. Version 2 appends the fused epilogue to TbnGemm,
 * TbnMatMul and TbnConv (optional inputs scale, shift, residual; attributes activation,
 * activation_alpha, activation_beta) and adds TbnConvNhwc (TbnConv on channels-last tensors).
 * Version 3 adds TbnConvMaxPool (TbnConv and its epilogue, then MaxPool: attributes pool_*). */
#ifndef TBN_OP_SCHEMA_H
#define TBN_OP_SCHEMA_H

#define TBN_DOMAIN "ai.tbn"
#define TBN_OPSET_VERSION 3
/* Oldest op version the library reads (files written before the fused epilogue). */
#define TBN_OPSET_VERSION_MIN 1

#define TBN_OP_DECODE "TbnDecode"
#define TBN_OP_GEMM "TbnGemm"
#define TBN_OP_MATMUL "TbnMatMul"
#define TBN_OP_CONV "TbnConv"
#define TBN_OP_CONV_NHWC "TbnConvNhwc"
#define TBN_OP_CONV_MAX_POOL "TbnConvMaxPool"
/* First op version of the ops added after version 1. */
#define TBN_CONV_NHWC_SINCE 2
#define TBN_CONV_MAX_POOL_SINCE 3

#define TBN_DECODE_INPUTS "bits,scales"
#define TBN_GEMM_INPUTS "A,bits,scales,C,scale,shift,residual"
#define TBN_MATMUL_INPUTS "A,bits,scales,scale,shift,residual"
#define TBN_CONV_INPUTS "X,bits,scales,B,scale,shift,residual"
#define TBN_CONV_NHWC_INPUTS "X,bits,scales,B,scale,shift,residual"
#define TBN_CONV_MAX_POOL_INPUTS "X,bits,scales,B,scale,shift,residual"

#define TBN_DECODE_OUTPUTS "W"
#define TBN_GEMM_OUTPUTS "Y"
#define TBN_MATMUL_OUTPUTS "Y"
#define TBN_CONV_OUTPUTS "Y"
#define TBN_CONV_NHWC_OUTPUTS "Y"
#define TBN_CONV_MAX_POOL_OUTPUTS "Y"

/* Input positions shared by every op: the tile bits (uint8) and the scales (the op's float type
 * T, like every other input and the output: float, float16 or bfloat16). */
#define TBN_INPUT_BITS_DECODE 0
#define TBN_INPUT_SCALES_DECODE 1
#define TBN_INPUT_BITS 1
#define TBN_INPUT_SCALES 2
/* The first epilogue input (scale; then shift, residual) of each fused op (version 2). */
#define TBN_INPUT_EPILOGUE_GEMM 4
#define TBN_INPUT_EPILOGUE_MATMUL 3
#define TBN_INPUT_EPILOGUE_CONV 4

#define TBN_ATTR_WEIGHT_SHAPE "weight_shape"
#define TBN_ATTR_P "p"
#define TBN_ATTR_TILE_AXIS "tile_axis"
#define TBN_ATTR_ALPHA "alpha"
#define TBN_ATTR_BETA "beta"
#define TBN_ATTR_TRANS_A "transA"
#define TBN_ATTR_TRANS_B "transB"
#define TBN_ATTR_AUTO_PAD "auto_pad"
#define TBN_ATTR_DILATIONS "dilations"
#define TBN_ATTR_GROUP "group"
#define TBN_ATTR_KERNEL_SHAPE "kernel_shape"
#define TBN_ATTR_PADS "pads"
#define TBN_ATTR_STRIDES "strides"
#define TBN_ATTR_ACTIVATION "activation"
#define TBN_ATTR_ACTIVATION_ALPHA "activation_alpha"
#define TBN_ATTR_ACTIVATION_BETA "activation_beta"
#define TBN_ATTR_POOL_KERNEL_SHAPE "pool_kernel_shape"
#define TBN_ATTR_POOL_STRIDES "pool_strides"
#define TBN_ATTR_POOL_PADS "pool_pads"
#define TBN_ATTR_POOL_CEIL_MODE "pool_ceil_mode"

/* name:KIND[=default] per op; an attribute without a default is always written by tbn. */
#define TBN_DECODE_ATTRS "weight_shape:INTS,p:INT,tile_axis:INT=0"
#define TBN_GEMM_ATTRS                                                                                 \
  "weight_shape:INTS,p:INT,tile_axis:INT=0,alpha:FLOAT=1,beta:FLOAT=1,transA:INT=0,transB:INT=0," \
  "activation:INT=0,activation_alpha:FLOAT,activation_beta:FLOAT"
#define TBN_MATMUL_ATTRS "weight_shape:INTS,p:INT,tile_axis:INT=0,activation:INT=0,activation_alpha:FLOAT,activation_beta:FLOAT"
#define TBN_CONV_ATTRS                                                                                   \
  "weight_shape:INTS,p:INT,tile_axis:INT=0,auto_pad:STRING=NOTSET,dilations:INTS,group:INT=1,kernel_shape:INTS," \
  "pads:INTS,strides:INTS,activation:INT=0,activation_alpha:FLOAT,activation_beta:FLOAT"
#define TBN_CONV_NHWC_ATTRS                                                                              \
  "weight_shape:INTS,p:INT,tile_axis:INT=0,auto_pad:STRING=NOTSET,dilations:INTS,group:INT=1,kernel_shape:INTS," \
  "pads:INTS,strides:INTS,activation:INT=0,activation_alpha:FLOAT,activation_beta:FLOAT"
#define TBN_CONV_MAX_POOL_ATTRS                                                                          \
  "weight_shape:INTS,p:INT,tile_axis:INT=0,auto_pad:STRING=NOTSET,dilations:INTS,group:INT=1,kernel_shape:INTS," \
  "pads:INTS,strides:INTS,activation:INT=0,activation_alpha:FLOAT,activation_beta:FLOAT,"                 \
  "pool_kernel_shape:INTS,pool_strides:INTS,pool_pads:INTS,pool_ceil_mode:INT=0"

/* activation codes (tbn_act in tbn_kernels.h); LeakyRelu reads activation_alpha, Clip reads
 * activation_alpha (min) and activation_beta (max). */
#define TBN_ACTIVATIONS "none,Relu,LeakyRelu,Clip,HardSwish,Sigmoid,SiLU,Gelu,GeluTanh"

#define TBN_DEFAULT_TILE_AXIS 0
#define TBN_DEFAULT_ALPHA 1.0f
#define TBN_DEFAULT_BETA 1.0f
#define TBN_DEFAULT_TRANS_A 0
#define TBN_DEFAULT_TRANS_B 0
#define TBN_DEFAULT_AUTO_PAD "NOTSET"
#define TBN_DEFAULT_GROUP 1
#define TBN_DEFAULT_ACTIVATION 0
#define TBN_DEFAULT_POOL_CEIL_MODE 0

#endif

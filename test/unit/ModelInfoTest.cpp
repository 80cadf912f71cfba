//===- ModelInfoTest.cpp - Parsing moec_model_info and binding dims -------===//

#include "core/ModelInfo.h"

#include <gtest/gtest.h>

using namespace moec::rt;

namespace {

ModelInfo parse(const char *text) {
  ModelInfo info;
  EXPECT_EQ(parseModelInfo(text, info), "") << text;
  return info;
}

std::string parseError(const char *text) {
  ModelInfo info;
  return parseModelInfo(text, info);
}

TEST(ModelInfoTest, ParsesEveryKindOfDimension) {
  ModelInfo info = parse("target host\n"
                         "input tokens int64 batch,?,7\n"
                         "input scale float64 -\n"
                         "output y bfloat16 batch,0\n");
  EXPECT_EQ(info.target, "host");
  ASSERT_EQ(info.inputs.size(), 2u);
  ASSERT_EQ(info.outputs.size(), 1u);
  const TensorSpec &tokens = info.inputs[0];
  EXPECT_EQ(tokens.name, "tokens");
  EXPECT_EQ(tokens.dtype, DType::Int64);
  ASSERT_EQ(tokens.dims.size(), 3u);
  EXPECT_EQ(tokens.dims[0].size, Dim::kDynamic);
  EXPECT_TRUE(tokens.dims[0].isNamed());
  EXPECT_EQ(tokens.dims[1].name, "?");
  EXPECT_FALSE(tokens.dims[1].isNamed());
  EXPECT_EQ(tokens.dims[2].size, 7);
  EXPECT_EQ(tokens.shapeString(), "[batch, ?, 7]");
  EXPECT_TRUE(info.inputs[1].dims.empty());
  EXPECT_EQ(info.inputs[1].shapeString(), "[]");
  EXPECT_EQ(info.outputs[0].dtype, DType::BFloat16);
}

TEST(ModelInfoTest, NamesMayStartWithADigit) {
  ModelInfo info = parse("target host\ninput x float32 2*s0,12a,007\n");
  const std::vector<Dim> &dims = info.inputs.at(0).dims;
  EXPECT_EQ(dims.at(0).name, "2*s0");
  EXPECT_EQ(dims.at(1).name, "12a");
  EXPECT_EQ(dims.at(2).size, 7);
}

TEST(ModelInfoTest, ToleratesBlankLinesAndExtraSpaces) {
  ModelInfo info = parse("\n  target   sm_90 \r\n\ninput\tx\tuint8\t3\n");
  EXPECT_EQ(info.target, "sm_90");
  EXPECT_EQ(info.inputs.at(0).dtype, DType::UInt8);
}

TEST(ModelInfoTest, EveryDTypeNameParses) {
  for (int d = 0; d < kNumDTypes; ++d) {
    std::string text = "target host\ninput x " + std::string(dtypeName(DType(d))) + " 1\n";
    EXPECT_EQ(parse(text.c_str()).inputs.at(0).dtype, DType(d));
  }
}

TEST(ModelInfoTest, MalformedInfoNamesTheLine) {
  EXPECT_EQ(parseError("input x float32 1\n"), "no 'target' record");
  EXPECT_EQ(parseError("target host\ntarget host\n"), "line 2: expected one 'target <name>'");
  EXPECT_EQ(parseError("target host\ninput x float32\n"),
            "line 2: expected 'input <name> <dtype> <dims>'");
  EXPECT_EQ(parseError("target host\noutput x complex64 1\n"), "line 2: unknown dtype 'complex64'");
  EXPECT_EQ(parseError("target host\ninput x float32 1,,2\n"), "line 2: empty dimension in '1,,2'");
  EXPECT_EQ(parseError("target host\ninput x float32 99999999999999999999\n"),
            "line 2: dimension '99999999999999999999' is too large");
  EXPECT_EQ(parseError("target host\nweights w\n"), "line 2: unknown record 'weights'");
  EXPECT_EQ(parseError("target host\ninput x int8 1\ninput x int8 1\n"),
            "the name 'x' is used twice");
}

class ShapeBinderTest : public ::testing::Test {
protected:
  ModelInfo info = parse("target host\n"
                         "input x float32 n,4\n"
                         "input mask bool n,?\n"
                         "input s int32 -\n");
  ShapeBinder binder;
};

TEST_F(ShapeBinderTest, AcceptsConsistentShapes) {
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float32, {5, 4}), "");
  EXPECT_EQ(binder.bind(info.inputs[1], DType::Bool, {5, 123}), "");
  EXPECT_EQ(binder.bind(info.inputs[2], DType::Int32, {}), "");
}

TEST_F(ShapeBinderTest, ZeroIsAValidDynamicSize) {
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float32, {0, 4}), "");
  EXPECT_EQ(binder.bind(info.inputs[1], DType::Bool, {0, 0}), "");
}

TEST_F(ShapeBinderTest, WrongDType) {
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float64, {5, 4}),
            "input 'x': dtype float64 does not match the model's float32");
}

TEST_F(ShapeBinderTest, WrongRank) {
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float32, {20}),
            "input 'x': rank 1 (shape [20]) does not match the model's rank 2 [n, 4]");
  EXPECT_EQ(binder.bind(info.inputs[2], DType::Int32, {1}),
            "input 's': rank 1 (shape [1]) does not match the model's rank 0 []");
}

TEST_F(ShapeBinderTest, StaticDimensionContradicted) {
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float32, {5, 7}),
            "input 'x': dimension 1 is 7 but the model requires 4 [n, 4]");
}

TEST_F(ShapeBinderTest, NamedDimensionBoundTwice) {
  ASSERT_EQ(binder.bind(info.inputs[0], DType::Float32, {5, 4}), "");
  EXPECT_EQ(binder.bind(info.inputs[1], DType::Bool, {6, 2}),
            "input 'mask': dimension 0 is 6 but 'n' is already 5 (from input 'x')");
}

TEST(ShapeBinder, RepeatedNameWithinOneInput) {
  ModelInfo info = parse("target host\ninput square float32 n,n\n");
  ShapeBinder binder;
  EXPECT_EQ(binder.bind(info.inputs[0], DType::Float32, {3, 4}),
            "input 'square': dimension 1 is 4 but 'n' is already 3 (from input 'square')");
}

} // namespace

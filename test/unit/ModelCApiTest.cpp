//===- ModelCApiTest.cpp - moec_model.h over the stand-in model -----------===//
//
// Linked with test/lib/runtime/Inputs/relu_matmul_model.c: y = relu(x @ w),
// x float32 [n, 4], y float32 [n, 3], w = arange(12).reshape(4, 3) / 10.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/moec_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

class ModelCApiTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(moec_model_create(2, &model), MOEC_OK) << moec_last_error(); }
  void TearDown() override { moec_model_destroy(model); }

  moec_model *model = nullptr;
};

TEST_F(ModelCApiTest, DescribesInputsAndOutputs) {
  EXPECT_STREQ(moec_model_target(model), "host");
  ASSERT_EQ(moec_model_count(model, MOEC_INPUT), 1u);
  ASSERT_EQ(moec_model_count(model, MOEC_OUTPUT), 1u);
  EXPECT_STREQ(moec_model_name(model, MOEC_INPUT, 0), "x");
  EXPECT_STREQ(moec_model_name(model, MOEC_OUTPUT, 0), "y");
  EXPECT_EQ(moec_model_dtype(model, MOEC_INPUT, 0), MOEC_FLOAT32);
  EXPECT_EQ(moec_model_rank(model, MOEC_OUTPUT, 0), 2);
  EXPECT_EQ(moec_model_dim(model, MOEC_INPUT, 0, 0), -1);
  EXPECT_STREQ(moec_model_dim_name(model, MOEC_INPUT, 0, 0), "n");
  EXPECT_EQ(moec_model_dim(model, MOEC_INPUT, 0, 1), 4);
  EXPECT_EQ(moec_model_dim_name(model, MOEC_INPUT, 0, 1), nullptr);
  EXPECT_STREQ(moec_dtype_name(MOEC_BFLOAT16), "bfloat16");
}

TEST_F(ModelCApiTest, OutOfRangeQueries) {
  EXPECT_EQ(moec_model_name(model, MOEC_INPUT, 1), nullptr);
  EXPECT_EQ(moec_model_dtype(model, MOEC_OUTPUT, 7), -1);
  EXPECT_EQ(moec_model_rank(nullptr, MOEC_INPUT, 0), -1);
  EXPECT_EQ(moec_model_dim(model, MOEC_INPUT, 0, 2), -1);
  EXPECT_EQ(moec_model_dim(model, MOEC_INPUT, 0, -1), -1);
  EXPECT_EQ(moec_model_count(nullptr, MOEC_OUTPUT), 0u);
  EXPECT_EQ(moec_dtype_name(99), nullptr);
}

TEST_F(ModelCApiTest, ExecutesWithCallerTensors) {
  std::vector<float> x = {1, 0, 0, 0, 0, 0, 0, -1};
  int64_t shape[] = {2, 4};
  moec_tensor input = {MOEC_FLOAT32, 2, shape, x.data()};
  moec_tensor output = {};
  ASSERT_EQ(moec_model_execute(model, &input, 1, &output, 1), MOEC_OK) << moec_last_error();
  ASSERT_EQ(output.rank, 2);
  EXPECT_EQ(output.shape[0], 2);
  EXPECT_EQ(output.shape[1], 3);
  EXPECT_EQ(output.dtype, MOEC_FLOAT32);
  const float *y = static_cast<const float *>(output.data);
  std::vector<float> expected = {0.0f, 0.1f, 0.2f, 0.0f, 0.0f, 0.0f};
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(y[i], expected[i], 1e-6) << i;
  moec_tensor_release(&output);
  EXPECT_EQ(output.data, nullptr);
}

TEST_F(ModelCApiTest, RejectsBadInputsWithAMessage) {
  std::vector<double> x(8);
  int64_t shape[] = {2, 4}, wrongShape[] = {2, 5};
  moec_tensor output = {};
  moec_tensor doubles = {MOEC_FLOAT64, 2, shape, x.data()};
  EXPECT_EQ(moec_model_execute(model, &doubles, 1, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(moec_last_error(), "input 'x': dtype float64 does not match the model's float32");

  moec_tensor wrong = {MOEC_FLOAT32, 2, wrongShape, x.data()};
  EXPECT_EQ(moec_model_execute(model, &wrong, 1, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moec_last_error()).find("dimension 1 is 5"), std::string::npos);

  moec_tensor good = {MOEC_FLOAT32, 2, shape, x.data()};
  EXPECT_EQ(moec_model_execute(model, &good, 0, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(moec_model_execute(model, &good, 1, &output, 2), MOEC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(moec_model_execute(model, nullptr, 1, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  moec_tensor nullData = {MOEC_FLOAT32, 2, shape, nullptr};
  EXPECT_EQ(moec_model_execute(model, &nullData, 1, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  moec_tensor badDType = {42, 2, shape, x.data()};
  EXPECT_EQ(moec_model_execute(model, &badDType, 1, &output, 1), MOEC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(moec_model_create(1, nullptr), MOEC_ERROR_INVALID_ARGUMENT);
}

} // namespace

//===- SgemmTest.cpp - moec_rt_sgemm against a naive product --------------===//

#include "cpu/ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace moec::rt;

namespace {

struct Case {
  int64_t M, N, K;
  // Extra columns beyond the matrix in each row: non-unit leading dimensions.
  int64_t padA = 0, padB = 0, padC = 0;
};

void checkAgainstNaive(const Case &c, bool accumulate) {
  int64_t lda = c.K + c.padA, ldb = c.N + c.padB, ldc = c.N + c.padC;
  std::mt19937 random(c.M * 131 + c.N * 17 + c.K);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> A(c.M * lda), B(c.K * ldb), C(c.M * ldc);
  for (float &v : A)
    v = uniform(random);
  for (float &v : B)
    v = uniform(random);
  for (float &v : C)
    v = uniform(random);
  std::vector<float> original = C;

  moec_rt_sgemm(c.M, c.N, c.K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);

  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      float before = original[i * ldc + j];
      if (j >= c.N) {
        ASSERT_EQ(C[i * ldc + j], before) << "padding written at " << i << "," << j;
        continue;
      }
      double expected = accumulate ? before : 0.0;
      for (int64_t k = 0; k < c.K; ++k)
        expected += double(A[i * lda + k]) * B[k * ldb + j];
      ASSERT_NEAR(C[i * ldc + j], expected, 1e-5 * (c.K + 1))
          << c.M << "x" << c.N << "x" << c.K << " at " << i << "," << j;
    }
  }
}

class SgemmTest : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override { setThreadCount(GetParam()); }
};

TEST_P(SgemmTest, MatchesNaiveProduct) {
  std::vector<Case> cases = {
      {1, 1, 1},          {17, 33, 65},          {12, 32, 256},         {13, 31, 257},
      {3, 200, 5},        {300, 7, 9},           {64, 64, 600},         {25, 70, 33, 3, 5, 7},
      {1, 1000, 3, 1, 1}, {290, 2100, 20, 0, 0}, {5, 5, 5, 100, 1, 50},
  };
  for (const Case &c : cases) {
    checkAgainstNaive(c, /*accumulate=*/false);
    checkAgainstNaive(c, /*accumulate=*/true);
  }
}

TEST_P(SgemmTest, DoesNotReadCUnlessAccumulating) {
  std::vector<float> A(4 * 3, 1.0f), B(3 * 5, 2.0f), C(4 * 5, NAN);
  moec_rt_sgemm(4, 5, 3, A.data(), 3, B.data(), 5, C.data(), 5, 0);
  for (float v : C)
    EXPECT_EQ(v, 6.0f);
}

TEST_P(SgemmTest, EmptyDimensions) {
  std::vector<float> A(4, 1.0f), B(4, 1.0f), C(4, 3.0f);
  moec_rt_sgemm(2, 2, 0, A.data(), 1, B.data(), 2, C.data(), 2, 1);
  EXPECT_EQ(C, std::vector<float>(4, 3.0f));
  moec_rt_sgemm(2, 2, 0, A.data(), 1, B.data(), 2, C.data(), 2, 0);
  EXPECT_EQ(C, std::vector<float>(4, 0.0f));
  moec_rt_sgemm(0, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2, 0);
  moec_rt_sgemm(2, 0, 2, A.data(), 2, B.data(), 2, C.data(), 2, 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, SgemmTest, ::testing::Values(1, 2, 3));

} // namespace

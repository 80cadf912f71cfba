# Sourced by scripts/test-sanitized.sh and scripts/test.sh: how the programs of build-sanitize/
# (MOEC_SANITIZE) run under lit, so that any sanitizer report fails the test that ran into it.
# Uninstrumented programs (Python, onnxruntime, upstream mlir-opt) ignore these variables.
sanitizers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# abort_on_error: a report ends the process with SIGABRT, which no test mistakes for the
# exit status it expects (ASan's default, 1, looks like moec's own error exits under `not`).
common="abort_on_error=1:halt_on_error=1:print_stacktrace=1"
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs in inline code, which is
# instrumented in our objects and not in libMLIR; memory that libMLIR then hands out from such
# a slab reads as poisoned in our code ("use-after-poison" in every attribute storage). ASan's
# own checks of every heap, stack and global access stay on.
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="$common"
export LSAN_OPTIONS="suppressions=$sanitizers_dir/lsan.supp:print_suppressions=0"
export ASAN_SYMBOLIZER_PATH="$(llvm-config-22 --bindir)/llvm-symbolizer"
# The part of the sanitized suite that CI leaves out (docs/reliability.md, "Sanitizers"): the two
# long campaigns (ONNX's node tests compiled and run, the libonnx-testdata models imported),
# which take most of its time, and the fuzzers, built with ASan and UBSan in every build.
sanitized_ci_filter_out="^moec(-unit)?-sanitized :: .*(onnx-node-conformance|onnx-testdata|real-exports|tools/fuzz/)"

//===- Commands.h - moec's commands besides compiling ---------------------===//
//
// `moec plan` and `moec profile` (docs/sharding.md): each parses its own command line,
// argv[1] being the command's name, and returns moec's exit code.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_TOOLS_MOEC_COMMANDS_H
#define MOEC_TOOLS_MOEC_COMMANDS_H

#include "moec/Compiler/ShardingPlan.h"

#include "llvm/Support/CommandLine.h"

#include <optional>

/// The exit codes of moec's commands: a command line that cannot be run, and bad input
/// (a model, a profile or a value that cannot be used), as docs/moec.md gives them.
constexpr int exitBadCommandLine = 1;
constexpr int exitBadInput = 2;

/// `moec plan`: what sharding the experts over N ranks would cost.
int runPlanCommand(int argc, char **argv);

/// `moec profile`: the tokens each expert gets when the model runs on sample inputs.
int runProfileCommand(int argc, char **argv);

/// Parses `moec COMMAND ARGS...` with the options of `category` alone.
void parseCommandLine(int argc, char **argv, llvm::cl::OptionCategory &category,
                      llvm::StringRef overview);

/// The MoE layers of the model at `path`, raised; nullopt after printing its errors, with
/// the exit code in `exitCode`.
std::optional<moec::ModelShape> raiseModelShape(llvm::StringRef path, int &exitCode);

#endif // MOEC_TOOLS_MOEC_COMMANDS_H

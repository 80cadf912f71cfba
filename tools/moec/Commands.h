//===- Commands.h - moec's commands besides compiling ---------------------===//
//
// `moec plan` and `moec profile` (docs/sharding.md): each parses its own command line,
// argv[1] being the command's name.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_TOOLS_MOEC_COMMANDS_H
#define MOEC_TOOLS_MOEC_COMMANDS_H

/// `moec plan`: what sharding the experts over N ranks would cost. Returns the exit code.
int runPlanCommand(int argc, char **argv);

#endif // MOEC_TOOLS_MOEC_COMMANDS_H

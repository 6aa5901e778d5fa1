#pragma once
// Reads a password for the operator commands: from standard input (--password-stdin, one line)
// or from a prompt on the terminal with echo off. Never from the command line, where other users
// of the machine could read it in the process list.
#include <optional>
#include <string>

namespace nidan::cli {

// One line from stdin without its line ending; nullopt at end of input.
std::optional<std::string> read_password_stdin();
// Prompts on /dev/tty (twice when confirm is set); nullopt at end of input. Throws
// std::runtime_error with a one-line reason when there is no terminal or the two entries differ,
// so the caller reports it as its only error line.
std::optional<std::string> prompt_password(const char* prompt, bool confirm);

}  // namespace nidan::cli

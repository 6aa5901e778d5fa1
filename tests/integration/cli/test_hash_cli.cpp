// Runs the real `nidan hash calibrate` with a small target and checks what it prints for
// consistency, never for speed (machines are noisy): the [hash] lines it offers load as the
// config, its figures agree with each other, and bad option values are refused by name.
#define BOOST_TEST_MODULE hash_cli
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nidan_test/process.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan_test;

namespace {

const std::vector<std::string> small{"--target-ms", "20", "--memory-kib", "8192"};

command_result calibrate(std::vector<std::string> args, const std::string& config_file = source_dir() + "/conf/nidan.toml") {
    args.insert(args.begin(), {"hash", "calibrate"});
    args.insert(args.end(), {"--config", config_file});
    return run_nidan(args);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The "key = integer" lines: the TOML to paste. Everything else must be a comment.
std::map<std::string, long> toml_keys(const std::string& out) {
    static const std::regex key_line(R"(([a-z_]+) = ([0-9]+))");
    std::map<std::string, long> keys;
    for (const auto& line : lines_of(out)) {
        std::smatch m;
        if (std::regex_match(line, m, key_line)) keys[m[1]] = std::stol(m[2]);
        else BOOST_TEST((line.empty() || line.starts_with("#")), "not TOML: " << line);
    }
    return keys;
}

// The number after `prefix` on the line that starts with it.
std::optional<double> figure(const std::string& out, const std::string& prefix) {
    for (const auto& line : lines_of(out))
        if (line.starts_with(prefix)) return std::stod(line.substr(prefix.size()));
    return std::nullopt;
}

// conf/nidan.toml with its [hash] memory_kib and iterations replaced by everything the command
// printed, pasted under [hash] as its output says.
std::string config_with_pasted(const std::string& pasted) {
    std::ifstream in(source_dir() + "/conf/nidan.toml");
    std::string out, section;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("[")) section = line;
        if (section == "[hash]" && (line.starts_with("memory_kib =") || line.starts_with("iterations ="))) continue;
        out += line + "\n";
        if (line == "[hash]") out += pasted;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(prints_config_lines_and_consistent_figures) {
    // --threads wins over hash.threads; the --set cost is the "configured now" one.
    const auto r = calibrate({"--target-ms", "20", "--memory-kib", "8192", "--threads", "3", "--set", "hash.threads=5",
                              "--set", "hash.memory_kib=8192", "--set", "hash.iterations=3"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const auto keys = toml_keys(r.out);
    BOOST_TEST(keys.size() == 2U);
    BOOST_TEST(keys.at("memory_kib") == 8192);  // as given: 8192 is the floor, never lowered below
    BOOST_TEST(keys.at("iterations") >= 1);
    BOOST_TEST(keys.at("iterations") <= 100);

    const auto ms = figure(r.out, "# measured: ");
    const auto per_core = figure(r.out, "# whole logins/s per core: ");
    const auto three = figure(r.out, "# with threads = 3: ");
    BOOST_TEST_REQUIRE(ms.has_value());
    BOOST_TEST_REQUIRE(per_core.has_value());
    BOOST_TEST_REQUIRE(three.has_value());
    BOOST_TEST(*ms > 0);
    // Printed to 0.1: within the rounding of both figures.
    BOOST_TEST(std::abs(*per_core - 1000 / *ms) <= 0.01 * *per_core + 0.1);
    BOOST_TEST(std::abs(*three - 3 * *per_core) <= 0.2);
    BOOST_TEST(r.out.find("# configured now (memory_kib = 8192, iterations = 3): ") != std::string::npos, r.out);

    // Progress on stderr names each measurement; the first is t = 1 at the given memory.
    BOOST_TEST(r.err.find("nidan hash: memory_kib = 8192, iterations = 1: ") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(its_output_pasted_under_hash_is_the_config) {
    const auto r = calibrate(small);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const auto keys = toml_keys(r.out);
    temp_dir dir;
    const auto file = (dir / "nidan.toml").string();
    std::ofstream(file) << config_with_pasted(r.out);
    // Loading that file, the command reports those values as the configured ones.
    const auto again = calibrate(small, file);
    BOOST_TEST_REQUIRE(again.exit_code == 0, again.err);
    const std::string configured = "# configured now (memory_kib = " + std::to_string(keys.at("memory_kib")) +
                                   ", iterations = " + std::to_string(keys.at("iterations")) + "): ";
    BOOST_TEST(again.out.find(configured) != std::string::npos, again.out);
    // Without --threads: the config's hash.threads.
    BOOST_TEST(again.out.find("# with threads = 2: ") != std::string::npos, again.out);
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_naming_the_option) {
    const std::vector<std::vector<std::string>> bad{
        {"--target-ms", "0"},       {"--target-ms", "abc"},      {"--target-ms=-5"},     {"--target-ms", "99999999999"},
        {"--target-ms", "10001"},   {"--target-ms", "20ms"},     {"--memory-kib", "4"},  {"--memory-kib", "9999999"},
        {"--memory-kib", "lots"},   {"--threads", "0"},          {"--threads", "257"},   {"--threads", "2.5"},
        {"--target-ms"},
    };
    for (const auto& args : bad) {
        const auto r = calibrate(args);
        const std::string option = args.front().substr(0, args.front().find('='));
        BOOST_TEST(r.exit_code == 2, args.front());
        BOOST_TEST(r.err.find("nidan hash: " + option) != std::string::npos, r.err);
        BOOST_TEST(r.out.empty());
    }
    const auto stray = calibrate({"--target-ms", "20", "extra"});
    BOOST_TEST(stray.exit_code == 2);
    BOOST_TEST(stray.err.find("unexpected argument: extra") != std::string::npos);
    BOOST_TEST(run_nidan({"hash"}).exit_code == 2);
    BOOST_TEST(run_nidan({"hash", "tune"}).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(help_names_the_options_and_the_default_target) {
    const auto r = run_nidan({"hash", "calibrate", "--help"});
    BOOST_TEST(r.exit_code == 0);
    for (const auto* text : {"--target-ms N", "default 500", "--memory-kib M", "--threads T", "--config FILE"})
        BOOST_TEST(r.out.find(text) != std::string::npos, text);
    BOOST_TEST(run_nidan({"help"}).out.find("nidan hash calibrate") != std::string::npos);
}

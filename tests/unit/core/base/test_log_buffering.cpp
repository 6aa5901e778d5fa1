#define BOOST_TEST_MODULE log_buffering
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/base/error.hpp"
#include "core/base/log.hpp"
#include "nidan_test/temp_dir.hpp"

using namespace nidan;
using namespace std::chrono_literals;

namespace {

std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool holds(const std::filesystem::path& file, const std::string& what) {
    return read_all(file).find(what) != std::string::npos;
}

log_config file_config(const nidan_test::temp_dir& dir, std::chrono::milliseconds interval) {
    log_config c;
    c.file = dir / "main.log";
    c.flush_interval = interval;
    return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gathered_lines_wait_for_a_flush_and_a_warning_writes_them_at_once) {
    nidan_test::temp_dir dir;
    // An interval longer than the test: only an explicit flush or a warning writes.
    log::init(file_config(dir, 60s));
    log::access("http.request").add("path", "/first");
    log::info("app.note").add("n", 1);
    BOOST_TEST(!holds(dir / "main.log", "path=/first"));
    log::flush();
    BOOST_TEST(holds(dir / "main.log", "path=/first"));
    BOOST_TEST(holds(dir / "main.log", "event=app.note n=1"));

    log::access("http.request").add("path", "/second");
    BOOST_TEST(!holds(dir / "main.log", "path=/second"));
    log::warn("app.trouble");
    // The warning and everything before it, in order.
    const auto text = read_all(dir / "main.log");
    BOOST_TEST(text.find("path=/second") != std::string::npos);
    BOOST_TEST(text.find("path=/second") < text.find("event=app.trouble"));
    log::init(log_config{});
}

BOOST_AUTO_TEST_CASE(the_interval_writes_gathered_lines_without_being_asked) {
    nidan_test::temp_dir dir;
    log::init(file_config(dir, 100ms));
    log::access("http.request").add("path", "/periodic");
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        std::this_thread::sleep_for(20ms);
        seen = holds(dir / "main.log", "path=/periodic");
    }
    BOOST_TEST(seen);
    log::init(log_config{});
}

BOOST_AUTO_TEST_CASE(an_interval_of_zero_writes_each_line_at_once) {
    nidan_test::temp_dir dir;
    log::init(file_config(dir, 0ms));
    log::access("http.request").add("path", "/now");
    BOOST_TEST(holds(dir / "main.log", "path=/now"));
    log::init(log_config{});
}

BOOST_AUTO_TEST_CASE(audit_records_never_wait_in_memory) {
    nidan_test::temp_dir dir;
    auto c = file_config(dir, 60s);
    log::init(c);
    // Sharing the main log: the record and the lines gathered before it are written at once.
    log::access("http.request").add("path", "/before");
    log::audit("login.ok").add("id", "taro");
    BOOST_TEST(holds(dir / "main.log", "event=login.ok id=taro"));
    BOOST_TEST(holds(dir / "main.log", "path=/before"));

    c.audit_file = dir / "audit.log";
    log::init(c);
    log::audit("login.failed").add("id", "hanako");
    BOOST_TEST(holds(dir / "audit.log", "event=login.failed id=hanako"));
    log::init(log_config{});
}

BOOST_AUTO_TEST_CASE(replacing_the_streams_writes_what_the_old_ones_gathered) {
    nidan_test::temp_dir dir;
    log::init(file_config(dir, 60s));
    log::access("http.request").add("path", "/old");
    log::init(log_config{});
    BOOST_TEST(holds(dir / "main.log", "path=/old"));
}

BOOST_AUTO_TEST_CASE(a_new_log_file_is_not_readable_by_others) {
    nidan_test::temp_dir dir;
    log::init(file_config(dir, 0ms));
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat((dir / "main.log").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0640u);
    log::init(log_config{});
}

BOOST_AUTO_TEST_CASE(a_log_file_that_cannot_be_opened_names_its_key) {
    nidan_test::temp_dir dir;
    log_config c;
    c.file = dir.path();  // a folder
    try {
        log::init(c);
        BOOST_FAIL("a folder was accepted as log.file");
    } catch (const config_error& e) {
        BOOST_TEST(std::string(e.what()).find("log.file") != std::string::npos, e.what());
    }
    c.file.clear();
    c.audit_file = dir / "missing-folder" / "audit.log";
    try {
        log::init(c);
        BOOST_FAIL("an audit file in a missing folder was accepted");
    } catch (const config_error& e) {
        BOOST_TEST(std::string(e.what()).find("log.audit_file") != std::string::npos, e.what());
    }
}

#include "storage/backend.hpp"

#include <exception>
#include <future>

#include "core/base/error.hpp"

namespace nidan::storage {
namespace {

// Runs one piece of work through `submit` and waits for its completion. An exception the work
// threw is rethrown as it was (the CLI's own errors keep their type); any other failure is
// thrown as the completion's error code.
template <class View, class Submit>
void run_and_wait(const std::function<void(View&)>& work, Submit submit) {
    std::exception_ptr thrown;
    std::promise<std::error_code> finished;
    auto result = finished.get_future();
    const bool accepted = submit(
        [&work, &thrown](View& v) {
            try {
                work(v);
            } catch (...) {
                thrown = std::current_exception();
                throw;
            }
        },
        [&finished](std::error_code ec) { finished.set_value(ec); });
    if (!accepted) throw std::system_error(make_error_code(errc::overloaded), "storage write queue");
    const auto ec = result.get();
    if (thrown) std::rethrow_exception(thrown);
    if (ec) throw std::system_error(ec);
}

}  // namespace

std::error_code error_code_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::system_error& s) {
        return s.code();
    } catch (...) {
        return make_error_code(errc::storage_unavailable);
    }
}

void read_now(backend& b, const read_work& work) {
    run_and_wait<const record_view>(work, [&b](read_work w, completion done) {
        b.read(std::move(w), std::move(done));
        return true;
    });
}

void write_now(backend& b, const write_work& work) {
    run_and_wait<record_store>(work, [&b](write_work w, completion done) { return b.write(std::move(w), std::move(done)); });
}

}  // namespace nidan::storage
